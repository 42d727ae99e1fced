# SPDX-License-Identifier: MIT
# Unit tests of the WAN encoding (codec/include/lh_wan.h): round trips, page decisions, bad frames.
add_executable(test_codec_wan
	${LH_TESTS_DIR}/unit/codec_wan/test_wan.c
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_transforms.c
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_foreign.c
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_epoch.c
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_watch.c
	${LH_TESTS_DIR}/unit/codec_wan/wan_harness.c
	${LH_TESTS_DIR}/unit/codec_wan/synth.c)
target_include_directories(test_codec_wan PRIVATE ${LH_TESTS_DIR}/unit/codec_wan)
# the tests check frames and transforms byte by byte: they read the codec's internal headers
target_link_libraries(test_codec_wan PRIVATE lhcodec_lib lhcodec_internal)
add_test(NAME codec_wan_unit COMMAND test_codec_wan)
set_tests_properties(codec_wan_unit PROPERTIES LABELS unit TIMEOUT 300)
# every decode of those tests again through lh_wan_dec_announce (frames ahead on a second thread)
add_test(NAME codec_wan_unit_ahead COMMAND ${CMAKE_COMMAND} -E env LH_TEST_DEC_AHEAD=1 $<TARGET_FILE:test_codec_wan>)
set_tests_properties(codec_wan_unit_ahead PROPERTIES LABELS unit TIMEOUT 300)
# and every encode through an encoder with a zstd worker thread (LH_WAN_P_THREADS 2)
add_test(NAME codec_wan_unit_enc_threads COMMAND ${CMAKE_COMMAND} -E env LH_TEST_ENC_THREADS=2 $<TARGET_FILE:test_codec_wan>)
set_tests_properties(codec_wan_unit_enc_threads PROPERTIES LABELS unit TIMEOUT 300)

# the look-ahead decoder against the in-line one (same bytes, same errors) and its contract;
# built twice, the second time with ThreadSanitizer (it fails the test on a data race)
set(LH_WAN_AHEAD_TEST_SOURCES
	${LH_TESTS_DIR}/unit/codec_wan/test_wan_ahead.c
	${LH_TESTS_DIR}/unit/codec_wan/wan_harness.c
	${LH_TESTS_DIR}/unit/codec_wan/synth.c)
add_executable(test_codec_wan_ahead ${LH_WAN_AHEAD_TEST_SOURCES})
target_include_directories(test_codec_wan_ahead PRIVATE ${LH_TESTS_DIR}/unit/codec_wan)
target_link_libraries(test_codec_wan_ahead PRIVATE lhcodec_lib lhcodec_internal)
add_test(NAME codec_wan_ahead COMMAND test_codec_wan_ahead)
set_tests_properties(codec_wan_ahead PROPERTIES LABELS unit TIMEOUT 300)
if(LH_HAVE_LIBFUZZER)
	add_executable(test_codec_wan_ahead_tsan ${LH_WAN_AHEAD_TEST_SOURCES})
	target_include_directories(test_codec_wan_ahead_tsan PRIVATE ${LH_TESTS_DIR}/unit/codec_wan)
	target_link_libraries(test_codec_wan_ahead_tsan PRIVATE lhcodec_tsanlib lhcodec_internal)
	add_test(NAME codec_wan_ahead_tsan COMMAND ${CMAKE_COMMAND} -E env TSAN_OPTIONS=halt_on_error=1:exitcode=66
		$<TARGET_FILE:test_codec_wan_ahead_tsan>)
	set_tests_properties(codec_wan_ahead_tsan PROPERTIES LABELS unit TIMEOUT 600)
endif()

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
