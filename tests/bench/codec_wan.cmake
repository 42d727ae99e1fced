# SPDX-License-Identifier: MIT
# WAN encoding benchmark on real captures: two VMs of one image (seeds 1 and 2) at WAN-like bandwidth.
add_executable(bench_wan ${LH_TESTS_DIR}/bench/codec_wan/bench_wan.c)
target_link_libraries(bench_wan PRIVATE lhcodec_lib)

# Its own capture set: the default `captures` run at full speed, so precopy barely iterates.
# Seeds 1 and 2 use memload's default content model (half of the random pages private to each guest);
# seeds 3 and 4 (plain only) a second model with no private random pages, for the VM 2 size target;
# kaslr-seed3/4 the same guests booted from the bzImage (KASLR on, as a bootloader boots real guests).
set(LH_WAN_CAPTURES ${CMAKE_BINARY_DIR}/wan-captures)
add_test(NAME wan_captures
	COMMAND sh -c "for s in 1 2; do python3 '${LH_TESTS_DIR}/guest/capture-streams' --guest-dir '${CMAKE_BINARY_DIR}/guest' --out '${LH_WAN_CAPTURES}/seed'$s --seed $s --max-bandwidth 30 --which plain-10.0-file,multifd-10.0 || exit 1; done; for s in 3 4; do python3 '${LH_TESTS_DIR}/guest/capture-streams' --guest-dir '${CMAKE_BINARY_DIR}/guest' --out '${LH_WAN_CAPTURES}/seed'$s --seed $s --private 0 --max-bandwidth 30 --which plain-10.0-file || exit 1; done; for s in 3 4; do python3 '${LH_TESTS_DIR}/guest/capture-streams' --guest-dir '${CMAKE_BINARY_DIR}/guest-bzimage' --out '${LH_WAN_CAPTURES}/kaslr-seed'$s --seed $s --private 0 --max-bandwidth 30 --which plain-10.0-file || exit 1; done")
set_tests_properties(wan_captures PROPERTIES
	FIXTURES_SETUP wan_captures FIXTURES_REQUIRED guest RESOURCE_LOCK qemu_guest LABELS bench TIMEOUT 900)

add_test(NAME bench_wan
	COMMAND ${LH_TESTS_DIR}/bench/record ${CMAKE_BINARY_DIR}/bench-results bench_wan
		${Python3_EXECUTABLE} ${LH_TESTS_DIR}/bench/codec_wan/run-bench
		--bench $<TARGET_FILE:bench_wan> --lhcodec $<TARGET_FILE:lhcodec> ${LH_WAN_CAPTURES})
set_tests_properties(bench_wan PROPERTIES LABELS bench TIMEOUT 900 FIXTURES_REQUIRED wan_captures)

# End-to-end on real captures: lhcodec encode of both VMs (plain + multifd) through one store, decode, cmp.
add_test(NAME codec_wan_captures
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/bench/codec_wan/run-bench --roundtrip-only
		--lhcodec $<TARGET_FILE:lhcodec> ${LH_WAN_CAPTURES})
set_tests_properties(codec_wan_captures PROPERTIES LABELS integration TIMEOUT 600 FIXTURES_REQUIRED wan_captures)
