# SPDX-License-Identifier: MIT
# Gateway pair (longhauld) integration tests.
#   gateway_loopback_*: two daemons on loopback, a synthetic hypervisor pushing the captured QEMU streams
#                       (captures fixture), a recording sink as destination. No QEMU of their own.
#   gateway_qemu_*:     real QEMU source and destination in a two-site wan-lab (100 ms RTT, 0.1 % loss).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(LH_GW_TESTS ${LH_TESTS_DIR}/integration/gateway)

foreach(case IN ITEMS
		"transfer_plain:transfer:plain-10.0"
		"transfer_rp:transfer:rp-10.0"
		"transfer_multifd:transfer:multifd-10.0"
		"transfer_multifd72:transfer:multifd-7.2"
		"stream_killed:transfer:multifd-10.0:--kill-stream"
		"late_multifd:transfer:multifd-10.0:--late-multifd"
		"late_multifd72:transfer:multifd-7.2:--late-multifd"
		"late_multifd_stall:transfer:multifd-10.0:--late-multifd:--stall:1.5"
		"corrupt_frame:corrupt:rp-10.0"
		"refused:refused:rp-10.0"
		"section_abort:section_abort:multifd-10.0"
		"indoubt_recorded:indoubt:rp-10.0:--die-at:recorded"
		"indoubt_released:indoubt:rp-10.0:--die-at:released"
		"srccrash:srccrash:rp-10.0"
		"dest_name:transfer:multifd-10.0:--dest-name:lhdest.test"
		"dest_unresolved:dest_unresolved:rp-10.0")
	string(REPLACE ":" ";" case "${case}")
	list(GET case 0 name)
	list(SUBLIST case 1 -1 args)
	add_test(NAME gateway_loopback_${name}
		COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test ${args}
			--longhauld $<TARGET_FILE:longhauld> --captures ${CMAKE_BINARY_DIR}/captures)
	set_tests_properties(gateway_loopback_${name} PROPERTIES
		FIXTURES_REQUIRED captures LABELS integration TIMEOUT 180)
endforeach()

# Issue 18, LAN side: a route's allow list, a migration's channels only from its first channel's address,
# intruders (a second QEVM, silent sockets) refused without reaching the destination or disturbing the transfer
# (byte-exact), refusals counted and logged at most once a second; a wildcard listen fails --check.
add_test(NAME security_lan_intruder
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test lan_intruder multifd-10.0
		--longhauld $<TARGET_FILE:longhauld> --captures ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(security_lan_intruder PROPERTIES FIXTURES_REQUIRED captures LABELS integration TIMEOUT 180)

# Issue 18: migrate add --from IP: only that hypervisor connects, and the route goes once its migration ended.
add_test(NAME security_oneshot_route
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test oneshot --longhauld $<TARGET_FILE:longhauld>)
set_tests_properties(security_oneshot_route PROPERTIES LABELS integration TIMEOUT 60)

# Issue 18: a source gateway that ignores the credit (LH_TEST_IGNORE_CREDIT) into a destination that never reads:
# the receiver fails that migration naming the credit; its RSS grows no more than in a well-behaved transfer.
add_test(NAME security_credit_ignored
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test credit_ignored --longhauld $<TARGET_FILE:longhauld>)
set_tests_properties(security_credit_ignored PROPERTIES LABELS integration TIMEOUT 240)
# ... and [wan] allow_dest refuses a destination outside it, [wan] max_incoming bounds incoming migrations.
add_test(NAME security_dest_limits
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test dest_limits --longhauld $<TARGET_FILE:longhauld>)
set_tests_properties(security_dest_limits PROPERTIES LABELS integration TIMEOUT 120)
# Issue 18, WAN side: idle connections and rogue-CA TLS handshakes from another address flood the destination's
# WAN listener while a transfer runs and one stream is killed: the streams are back within 5 s, the transfer is
# byte-exact, status answers within 1 s, the listener's refusals cost a few log lines a second at most.
add_test(NAME security_handshake_flood
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test handshake_flood multifd-10.0
		--longhauld $<TARGET_FILE:longhauld> --captures ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(security_handshake_flood PROPERTIES FIXTURES_REQUIRED captures LABELS integration TIMEOUT 120)

# Issue 18, WAN side: [wan] allow resets other addresses before any TLS; out of descriptors, the WAN and control
# listeners rest 100 ms at a time instead of spinning (gw-b's CPU time), logged at most once a second. No captures.
add_test(NAME security_wan_listener
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test wan_listener --longhauld $<TARGET_FILE:longhauld>)
set_tests_properties(security_wan_listener PROPERTIES LABELS integration TIMEOUT 90)

foreach(case IN ITEMS refuse daemon opaque unparsable peer_restart version)
	add_test(NAME gateway_loopback_${case}
		COMMAND Python3::Interpreter ${LH_GW_TESTS}/loopback-test ${case} --longhauld $<TARGET_FILE:longhauld>)
	set_tests_properties(gateway_loopback_${case} PROPERTIES LABELS integration TIMEOUT 120)
endforeach()

# WAN credentials (CONFIG.md [wan]): key permissions, expiry warnings, wrong name, CRL, SIGHUP renewal. No captures.
add_test(NAME security_credentials
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/credentials-test --longhauld $<TARGET_FILE:longhauld>)
set_tests_properties(security_credentials PROPERTIES LABELS integration TIMEOUT 120)

# Real QEMU through the pair in the wan-lab (lab "gwt", 100 ms RTT, 0.1 % loss), return-path on.
# postcopy/preempt migrate twice (without, then with the priority lane) and print the destination's postcopy
# blocktime for both (LATENCY lines); killall kills every WAN stream at once mid-migration.
foreach(mode IN ITEMS plain multifd postcopy preempt killstream killall badcert corrupt)
	add_test(NAME gateway_qemu_${mode}
		COMMAND Python3::Interpreter ${LH_GW_TESTS}/qemu-lab-test ${mode}
			--longhauld $<TARGET_FILE:longhauld> --wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab
			--guest-dir ${CMAKE_BINARY_DIR}/guest)
	set_tests_properties(gateway_qemu_${mode} PROPERTIES
		FIXTURES_REQUIRED guest RESOURCE_LOCK "qemu_guest;wanlab_gwt" LABELS integration TIMEOUT 600
		ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")
endforeach()

# Whatever fails, the guest runs at exactly one site (real QEMU, lab "gwv"): the destination gateway dies at its
# QEMU's recorded SHUT 0 or right after releasing the end of stream, and restarts (the source holds in doubt and
# asks); the source gateway dies right after the end of stream left (the fd holder keeps its QEMU's sockets);
# either gateway killed mid-precopy; the WAN cut (wan-lab cut, past [wan] outage_budget_s = 2 s) at the same two
# moments as the destination's deaths (LH_TEST_STOP_AT holds it there while the test cuts), then healed: the source
# holds in doubt during the cut and asks once a new session is up. Both QEMUs' STOP/RESUME events are followed
# from start to end. corrupt-epoch: two guests on two routes, a WAN frame of the slowed first migration corrupted
# once the second is done (codec epoch barrier): the second and a retry of the first after the barrier are done
# with LH-MEMCHECK ok, the first fails (integrity) at both gateways and its guest stays at A.
foreach(mode IN ITEMS die-recorded die-released die-src-eof kill-src kill-dst cut-recorded cut-released
		corrupt-epoch)
	string(REPLACE "-" "_" name "gateway_verdict_${mode}")
	add_test(NAME ${name}
		COMMAND Python3::Interpreter ${LH_GW_TESTS}/verdict-lab-test ${mode}
			--longhauld $<TARGET_FILE:longhauld> --longhaulctl $<TARGET_FILE:longhaulctl>
			--wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab --guest-dir ${CMAKE_BINARY_DIR}/guest)
	set_tests_properties(${name} PROPERTIES
		FIXTURES_REQUIRED guest RESOURCE_LOCK "qemu_guest;wanlab_gwv" LABELS integration TIMEOUT 400
		ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")
endforeach()

# Page-request latency through the pair under bulk load, synthetic hypervisor (no QEMU), with and without the
# priority lane: 100 ms RTT, 0.1 % loss, 100 Mbit/s. Locks qemu_guest too: it measures time on a shared CPU.
add_test(NAME gateway_lab_prio
	COMMAND Python3::Interpreter ${LH_GW_TESTS}/prio-lab-test
		--longhauld $<TARGET_FILE:longhauld> --wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab
		--captures ${CMAKE_BINARY_DIR}/captures)
set_tests_properties(gateway_lab_prio PROPERTIES
	FIXTURES_REQUIRED captures RESOURCE_LOCK "qemu_guest;wanlab_gwt" LABELS integration TIMEOUT 400
	ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")

# Fuzzer for the WAN protocol decoders (peer input), clang only; a finding fails the test.
if(LH_HAVE_LIBFUZZER)
	add_executable(fuzz_wan_proto ${LH_GW_TESTS}/fuzz_wan_proto.c)
	target_include_directories(fuzz_wan_proto PRIVATE ${PROJECT_SOURCE_DIR})
	target_link_libraries(fuzz_wan_proto PRIVATE lhnetstate)
	target_compile_options(fuzz_wan_proto PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
	target_link_options(fuzz_wan_proto PRIVATE -fsanitize=fuzzer,address,undefined)
	# new inputs go to a corpus in the build tree, never into the seed directory
	file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz_wan_proto_corpus)
	add_test(NAME fuzz_gateway_wan_proto
		COMMAND fuzz_wan_proto -max_total_time=30 -max_len=4096
			${CMAKE_CURRENT_BINARY_DIR}/fuzz_wan_proto_corpus ${LH_GW_TESTS}/fuzz_seed)
	set_tests_properties(fuzz_gateway_wan_proto PROPERTIES LABELS fuzz TIMEOUT 120)
endif()

# WAN faults through the pair (issue 17's fault matrix; real QEMU 10, lab "gwf", 100 ms RTT, 100 Mbit/s): the WAN
# black-holed (wan-lab cut) for 5, 30 and 120 s mid-precopy (completes within the time without a cut + the cut
# + 5 s), for 30 s past a 20 s [wan] outage_budget_s (fails, guest at A, destination QEMU gone), one WAN
# connection black-holed (detected within 2 s, no stall over 3 s), 2 % loss + 20 ms jitter, and a 30 s cut in
# postcopy (completes); in postcopy, gateway B killed and restarted, and a 30 s cut past a 20 s budget: both
# QEMUs pause, then the migration is recovered through the pair (migrate-recover at B, migrate resume=true at
# A) and completes at B; B's restart brings its paused migration back from the state file. Each prints its row
# of the matrix (case, outcome, total time, downtime, longest stall).
foreach(case IN ITEMS precopy-cut-5 precopy-cut-30 precopy-cut-120 precopy-overbudget blackhole-stream lossy
		postcopy-cut-30 postcopy-kill-dst postcopy-overbudget)
	string(REPLACE "-" "_" name "fault_${case}")
	add_test(NAME ${name}
		COMMAND Python3::Interpreter ${LH_GW_TESTS}/fault-lab-test ${case}
			--longhauld $<TARGET_FILE:longhauld> --longhaulctl $<TARGET_FILE:longhaulctl>
			--wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab --guest-dir ${CMAKE_BINARY_DIR}/guest)
	set_tests_properties(${name} PROPERTIES
		FIXTURES_REQUIRED guest RESOURCE_LOCK "qemu_guest;wanlab_gwf" LABELS integration TIMEOUT 600
		ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")
endforeach()
