# SPDX-License-Identifier: MIT
# Codec I: parser throughput on the real captures (a benchmark that prints figures; it does not time-fail).
add_executable(bench_parse ${LH_TESTS_DIR}/bench/codec/bench_parse.c)
target_link_libraries(bench_parse PRIVATE lhcodec_lib)
add_test(NAME bench_parse COMMAND ${LH_TESTS_DIR}/bench/record ${CMAKE_BINARY_DIR}/bench-results bench_parse
	$<TARGET_FILE:bench_parse> ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(bench_parse PROPERTIES LABELS bench TIMEOUT 600 FIXTURES_REQUIRED captures)
