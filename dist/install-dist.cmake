# SPDX-License-Identifier: MIT
# Runs at install time (install(SCRIPT) in dist/CMakeLists.txt): writes the systemd unit and the example
# configuration with the final paths, then installs them. LH_DIST_SRC, LH_DIST_WORK, LH_SBINDIR and
# LH_SYSCONFDIR come from the install(CODE) before it.

# Where /etc is, as GNUInstallDirs' CMAKE_INSTALL_FULL_SYSCONFDIR would say for this prefix: an absolute
# CMAKE_INSTALL_SYSCONFDIR as given, /etc for the prefixes / and /usr (so the .deb's config is in
# /etc/longhaul), PREFIX/etc otherwise (/usr/local/etc/longhaul for a plain `cmake --install`).
if(IS_ABSOLUTE "${LH_SYSCONFDIR}")
	set(lh_etc "${LH_SYSCONFDIR}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr")
	set(lh_etc "/${LH_SYSCONFDIR}")
else()
	set(lh_etc "${CMAKE_INSTALL_PREFIX}/${LH_SYSCONFDIR}")
endif()
string(REGEX REPLACE "^//" "/" lh_etc "${lh_etc}")
if(IS_ABSOLUTE "${LH_SBINDIR}")
	set(LH_SBIN "${LH_SBINDIR}")
else()
	set(LH_SBIN "${CMAKE_INSTALL_PREFIX}/${LH_SBINDIR}")
endif()
set(LH_CONFDIR "${lh_etc}/longhaul")

configure_file("${LH_DIST_SRC}/longhauld.service.in" "${LH_DIST_WORK}/longhauld.service" @ONLY)
configure_file("${LH_DIST_SRC}/longhauld.conf.example.in" "${LH_DIST_WORK}/longhauld.conf.example" @ONLY)
# systemd reads units from PREFIX/lib/systemd/system for / , /usr and /usr/local alike (not LIBDIR: that
# is lib/x86_64-linux-gnu on Debian).
file(INSTALL "${LH_DIST_WORK}/longhauld.service" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
file(INSTALL "${LH_DIST_WORK}/longhauld.conf.example" DESTINATION "${LH_CONFDIR}")
