# SPDX-License-Identifier: MIT
# Two migrations at once through one longhauld pair, one with a stalled destination: the other completes
# byte-identical at full speed (per-migration credit), then the stalled one completes too. Captures fixture.
add_test(NAME gateway_loopback_concurrent
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/integration/gateway/concurrent-test
		--longhauld $<TARGET_FILE:longhauld> --captures ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(gateway_loopback_concurrent PROPERTIES
	FIXTURES_REQUIRED captures LABELS integration TIMEOUT 300)

# Codec epoch barrier (WAN-PROTOCOL.md "Codec epochs"): one corrupted WAN frame of migration 1 while migration 2
# also has a codec stream open: both fail (integrity) at both gateways, the session survives, a third migration
# started after the barrier completes byte-identical. The control: the same with gw-a's HELLO flag off (an older
# peer) fails the session, as before the barrier.
foreach(case IN ITEMS epoch epoch-control)
	add_test(NAME gateway_loopback_concurrent_${case}
		COMMAND Python3::Interpreter ${LH_TESTS_DIR}/integration/gateway/concurrent-test --case ${case}
			--longhauld $<TARGET_FILE:longhauld> --captures ${CMAKE_BINARY_DIR}/captures)
	set_tests_properties(gateway_loopback_concurrent_${case} PROPERTIES
		FIXTURES_REQUIRED captures LABELS integration TIMEOUT 300)
endforeach()
