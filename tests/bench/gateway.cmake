# SPDX-License-Identifier: MIT
# Gateway benchmark: direct QEMU vs through the longhauld pair on the wan-lab (1 Gbit/s, 100 ms, 0.1 % loss;
# direct capped at 3 minutes and reported as a bound), plus loopback throughput with incompressible bytes.
# Prints a table; it measures and does not fail on a missed target.
add_test(NAME bench_gateway
	COMMAND ${LH_TESTS_DIR}/bench/record ${CMAKE_BINARY_DIR}/bench-results bench_gateway
		${Python3_EXECUTABLE} ${LH_TESTS_DIR}/bench/gateway/bench-gateway
		--longhauld $<TARGET_FILE:longhauld> --wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab
		--guest-dir ${CMAKE_BINARY_DIR}/guest --direct-cap 180)
set_tests_properties(bench_gateway PROPERTIES
	FIXTURES_REQUIRED guest RESOURCE_LOCK "qemu_guest;wanlab_gwb" LABELS bench TIMEOUT 1200
	ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")

# The same lab without loss (1 Gbit/s, 100 ms): direct completes here, so the pair is judged against it
# (time <= 0.5 x direct, downtime <= direct + 1 RTT + 20 ms). Lab only, direct capped at 2 minutes.
add_test(NAME bench_gateway_lossless
	COMMAND ${LH_TESTS_DIR}/bench/record ${CMAKE_BINARY_DIR}/bench-results bench_gateway_lossless
		${Python3_EXECUTABLE} ${LH_TESTS_DIR}/bench/gateway/bench-gateway
		--longhauld $<TARGET_FILE:longhauld> --wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab
		--guest-dir ${CMAKE_BINARY_DIR}/guest --profile 1g-100ms --only lab --direct-cap 120)
set_tests_properties(bench_gateway_lossless PROPERTIES
	FIXTURES_REQUIRED guest RESOURCE_LOCK "qemu_guest;wanlab_gwb" LABELS bench TIMEOUT 900
	ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")
