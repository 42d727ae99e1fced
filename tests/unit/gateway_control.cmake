# SPDX-License-Identifier: MIT
# Gateway control plane unit tests: config, JSON, control socket, metrics, audit, longhaulctl.
foreach(t config json control audit)
	add_executable(test_gw_${t} ${LH_TESTS_DIR}/unit/gateway_control/test_${t}.c)
	target_link_libraries(test_gw_${t} PRIVATE lhgateway_control)
	add_test(NAME gateway_${t} COMMAND test_gw_${t})
	set_tests_properties(gateway_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# The outcome store (gateway/mig/outcome.c): files in a temporary directory.
add_executable(test_gw_outcome ${LH_TESTS_DIR}/unit/gateway_control/test_outcome.c
	${PROJECT_SOURCE_DIR}/gateway/mig/outcome.c)
target_link_libraries(test_gw_outcome PRIVATE lhgw_base)
add_test(NAME gateway_outcome COMMAND test_gw_outcome)
set_tests_properties(gateway_outcome PROPERTIES LABELS unit TIMEOUT 60)

# test_metrics includes gateway/control/metrics.c itself (static request classifier), so it
# links the library without that file's symbols clashing: it uses only json/log from it.
add_executable(test_gw_metrics ${LH_TESTS_DIR}/unit/gateway_control/test_metrics.c
	${PROJECT_SOURCE_DIR}/gateway/base/json.c ${PROJECT_SOURCE_DIR}/gateway/base/log.c)
target_include_directories(test_gw_metrics PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_gw_metrics PRIVATE lh::ev m)
add_test(NAME gateway_metrics COMMAND test_gw_metrics)
set_tests_properties(gateway_metrics PROPERTIES LABELS unit TIMEOUT 60)

# longhaulctl against a stand-in daemon (the real control server with canned handlers).
add_executable(fake_longhauld ${LH_TESTS_DIR}/unit/gateway_control/fake_longhauld.c)
target_link_libraries(fake_longhauld PRIVATE lhgateway_control)
add_test(NAME gateway_longhaulctl
	COMMAND python3 ${LH_TESTS_DIR}/unit/gateway_control/test_longhaulctl.py
		$<TARGET_FILE:fake_longhauld> $<TARGET_FILE:longhaulctl>)
set_tests_properties(gateway_longhaulctl PROPERTIES LABELS unit TIMEOUT 120)

# longhaulctl against the real longhauld, in a private network namespace (root).
if(TARGET longhauld)
	add_test(NAME gateway_ctl_daemon
		COMMAND bash ${LH_TESTS_DIR}/unit/gateway_control/test_ctl_daemon.sh
			$<TARGET_FILE:longhauld> $<TARGET_FILE:longhaulctl>)
	set_tests_properties(gateway_ctl_daemon PROPERTIES LABELS integration TIMEOUT 120)
endif()

# The codec's auto level as the gateway drives it: queue fill and CPU load -> zstd level.
add_executable(test_gw_pressure ${LH_TESTS_DIR}/unit/gateway_control/test_pressure.c
	${PROJECT_SOURCE_DIR}/gateway/base/cpu_pressure.c)
# the project root for gateway/base/cpu_pressure.h; the codec's headers come from lhcodec_lib (public only)
target_include_directories(test_gw_pressure PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_gw_pressure PRIVATE lhcodec_lib m)
add_test(NAME gateway_pressure COMMAND test_gw_pressure)
set_tests_properties(gateway_pressure PROPERTIES LABELS unit TIMEOUT 60)

# The state file (gateway/mig/keep.c, STATEFILE.md): files in a temporary directory.
add_executable(test_gw_keep ${LH_TESTS_DIR}/unit/gateway_control/test_keep.c ${PROJECT_SOURCE_DIR}/gateway/mig/keep.c)
target_link_libraries(test_gw_keep PRIVATE lhgw_base)
add_test(NAME gateway_keep COMMAND test_gw_keep)
set_tests_properties(gateway_keep PROPERTIES LABELS unit TIMEOUT 60)

# The audit writer on a full 64 KiB tmpfs (root: mount; 77 = skipped): lost records counted, no partial line,
# writes resume when space is freed, reopen after a logrotate rename, a burst bounded by the queue.
add_executable(test_gw_audit_full ${LH_TESTS_DIR}/unit/gateway_control/test_audit_full.c)
target_link_libraries(test_gw_audit_full PRIVATE lhgateway_control)
add_test(NAME security_audit_full COMMAND test_gw_audit_full)
set_tests_properties(security_audit_full PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77)

# The resolver off the event loop (gateway/base/resolve.c): answers by ev_async, failures, cancel, free.
add_executable(test_gw_resolve ${LH_TESTS_DIR}/unit/gateway_control/test_resolve.c)
target_link_libraries(test_gw_resolve PRIVATE lhgw_base)
add_test(NAME gateway_resolve COMMAND test_gw_resolve)
set_tests_properties(gateway_resolve PROPERTIES LABELS unit TIMEOUT 60)

# [wan] peer as a name (private network and mount namespaces, root): dialed, last good address on a failure.
if(TARGET longhauld)
	add_test(NAME gateway_dns_peer
		COMMAND bash ${LH_TESTS_DIR}/unit/gateway_control/test_dns_peer.sh
			$<TARGET_FILE:longhauld> $<TARGET_FILE:longhaulctl>)
	set_tests_properties(gateway_dns_peer PROPERTIES LABELS integration TIMEOUT 120)
endif()
