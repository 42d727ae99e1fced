# SPDX-License-Identifier: MIT
# The appliance install (README.md "Install"): cmake --install into a DESTDIR, man pages, the systemd unit,
# longhaul-certs + the example config through longhauld --check, then the .deb through cpack, dpkg -i and
# dpkg --purge. Needs root (dpkg); RUN_SERIAL since it installs a package on the machine for a few seconds.
add_test(NAME security_install COMMAND bash ${LH_TESTS_DIR}/integration/install/install-test.sh ${CMAKE_BINARY_DIR})
set_tests_properties(security_install PROPERTIES
	LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
