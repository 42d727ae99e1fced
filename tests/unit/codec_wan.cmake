# SPDX-License-Identifier: MIT
# Unit tests of the WAN encoding (codec/lh_wan.h): round trips, page decisions, bad frames.
add_executable(test_codec_wan
	${LH_TESTS_DIR}/unit/codec_wan/test_wan.c
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_transforms.c
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_foreign.c
	${LH_TESTS_DIR}/unit/codec_wan/wan_harness.c
	${LH_TESTS_DIR}/unit/codec_wan/synth.c)
target_include_directories(test_codec_wan PRIVATE ${LH_TESTS_DIR}/unit/codec_wan)
target_link_libraries(test_codec_wan PRIVATE lhcodec_lib)
add_test(NAME codec_wan_unit COMMAND test_codec_wan)
set_tests_properties(codec_wan_unit PROPERTIES LABELS unit TIMEOUT 300)

# synthgen: writes synthetic QEMU streams (CLI tests, fuzz seeds, benchmark without captures).
add_executable(lh_synthgen
	${LH_TESTS_DIR}/unit/codec_wan/synthgen.c
	${LH_TESTS_DIR}/unit/codec_wan/synth.c)
target_include_directories(lh_synthgen PRIVATE ${LH_TESTS_DIR}/unit/codec_wan)

# The lhcodec tool end to end: two VMs through one store, decode, cmp.
add_test(NAME codec_wan_cli
	COMMAND ${CMAKE_COMMAND} -E env LHCODEC=$<TARGET_FILE:lhcodec> SYNTHGEN=$<TARGET_FILE:lh_synthgen>
		bash ${LH_TESTS_DIR}/unit/codec_wan/cli_test.sh ${CMAKE_CURRENT_BINARY_DIR}/codec_wan_cli)
set_tests_properties(codec_wan_cli PROPERTIES LABELS unit TIMEOUT 300)
