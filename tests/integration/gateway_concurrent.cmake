# SPDX-License-Identifier: MIT
# Two migrations at once through one longhauld pair, one with a stalled destination: the other completes
# byte-identical at full speed (per-migration credit), then the stalled one completes too. Captures fixture.
add_test(NAME gateway_loopback_concurrent
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/integration/gateway/concurrent-test
		--longhauld $<TARGET_FILE:longhauld> --captures ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(gateway_loopback_concurrent PROPERTIES
	FIXTURES_REQUIRED captures LABELS integration TIMEOUT 300)
