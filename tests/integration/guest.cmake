# SPDX-License-Identifier: MIT
# Test guest (memload in a busybox initramfs, booted on the host's Debian kernel under TCG) and the real
# QEMU migration captures the codec, bench and gateway tests read.
#
# Fixtures for other areas:
#   guest     ${CMAKE_BINARY_DIR}/guest/guest.json (kernel, initrd, append) - FIXTURES_REQUIRED guest
#   captures  ${CMAKE_BINARY_DIR}/captures/manifest.json + one dir per capture - FIXTURES_REQUIRED captures
# Tests that run QEMU take RESOURCE_LOCK qemu_guest (the host has 2 cores; TCG guests are CPU-bound).
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(LH_GUEST_SRC ${LH_TESTS_DIR}/guest)
set(LH_GUEST_DIR ${CMAKE_BINARY_DIR}/guest)
set(LH_CAPTURES_DIR ${CMAKE_BINARY_DIR}/captures)

# memload runs as the guest's only program: static, so the initramfs needs no libc.
add_executable(lh_memload ${LH_GUEST_SRC}/memload.c)
target_link_options(lh_memload PRIVATE -static)
target_include_directories(lh_memload PRIVATE ${LH_XXHASH_INCLUDE_DIRS})

# One guest image in DIR; ARGN: more build-image options.
function(lh_guest_image dir what)
	add_custom_command(
		OUTPUT ${dir}/initramfs.cpio.gz ${dir}/guest.json
		BYPRODUCTS ${dir}/kernel.path ${dir}/vmlinux
		COMMAND Python3::Interpreter ${LH_GUEST_SRC}/build-image
			--memload $<TARGET_FILE:lh_memload> --out ${dir} ${ARGN}
		DEPENDS lh_memload ${LH_GUEST_SRC}/build-image ${LH_GUEST_SRC}/init
		COMMENT "Building the ${what} in ${dir}"
		VERBATIM)
endfunction()

lh_guest_image(${LH_GUEST_DIR} "test guest image")
# The same guest booted as a bootloader would boot it: the bzImage, whose decompressor applies KASLR
# (PAGE_OFFSET moved by a random multiple of 1 GiB per boot), as on real hypervisors. PVH skips it.
set(LH_GUEST_BZ_DIR ${CMAKE_BINARY_DIR}/guest-bzimage)
lh_guest_image(${LH_GUEST_BZ_DIR} "bzImage (KASLR) test guest image" --no-pvh)
add_custom_target(guest DEPENDS ${LH_GUEST_DIR}/initramfs.cpio.gz ${LH_GUEST_DIR}/guest.json
	${LH_GUEST_BZ_DIR}/initramfs.cpio.gz ${LH_GUEST_BZ_DIR}/guest.json)

add_test(NAME guest_image COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target guest)
set_tests_properties(guest_image PROPERTIES
	FIXTURES_SETUP guest LABELS integration TIMEOUT 300)

# Default capture set (7 captures, ~1 min): 256 MiB guests, 64 MiB active, unlimited bandwidth.
add_test(NAME captures
	COMMAND Python3::Interpreter ${LH_GUEST_SRC}/capture-streams
		--guest-dir ${LH_GUEST_DIR} --out ${LH_CAPTURES_DIR})
set_tests_properties(captures PROPERTIES
	FIXTURES_SETUP captures FIXTURES_REQUIRED guest RESOURCE_LOCK qemu_guest
	LABELS integration TIMEOUT 900)

foreach(mode IN ITEMS direct-plain direct-multifd negative-stream negative-guest net)
	string(REPLACE "-" "_" name "guest_${mode}")
	add_test(NAME ${name}
		COMMAND Python3::Interpreter ${LH_GUEST_SRC}/migrate-selftest ${mode} --guest-dir ${LH_GUEST_DIR})
	set_tests_properties(${name} PROPERTIES
		FIXTURES_REQUIRED guest RESOURCE_LOCK qemu_guest LABELS integration TIMEOUT 300)
endforeach()
