# SPDX-License-Identifier: MIT
# Codec I on real QEMU 10.0 captures (pc-q35-10.0 and pc-q35-7.2, plain, multifd, return path).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME codec_parser_captures COMMAND test_parser ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(codec_parser_captures PROPERTIES LABELS integration TIMEOUT 600 FIXTURES_REQUIRED captures)
add_test(NAME codec_stat_captures
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/integration/codec/check-captures
		$<TARGET_FILE:lhcodec> ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(codec_stat_captures PROPERTIES LABELS integration TIMEOUT 300 FIXTURES_REQUIRED captures)
