# SPDX-License-Identifier: MIT
# Third-party libraries, found through pkg-config. Each becomes an imported
# target lh::<name>. Debian 12's libev-dev ships no libev.pc, so libev alone
# falls back to a header + library search.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LH_ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LH_XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(LH_MNL REQUIRED IMPORTED_TARGET libmnl)
pkg_check_modules(LH_SSL REQUIRED IMPORTED_TARGET openssl>=3.0)
pkg_check_modules(LH_CAP REQUIRED IMPORTED_TARGET libcap)
add_library(lh::zstd ALIAS PkgConfig::LH_ZSTD)
add_library(lh::xxhash ALIAS PkgConfig::LH_XXHASH)
add_library(lh::mnl ALIAS PkgConfig::LH_MNL)
add_library(lh::ssl ALIAS PkgConfig::LH_SSL)
add_library(lh::cap ALIAS PkgConfig::LH_CAP)

pkg_check_modules(LH_EV IMPORTED_TARGET libev)
if(LH_EV_FOUND)
	add_library(lh::ev ALIAS PkgConfig::LH_EV)
else()
	find_path(LH_EV_INCLUDE ev.h REQUIRED)
	find_library(LH_EV_LIBRARY ev REQUIRED)
	add_library(lh_ev_imported INTERFACE)
	target_include_directories(lh_ev_imported INTERFACE ${LH_EV_INCLUDE})
	target_link_libraries(lh_ev_imported INTERFACE ${LH_EV_LIBRARY})
	add_library(lh::ev ALIAS lh_ev_imported)
endif()
