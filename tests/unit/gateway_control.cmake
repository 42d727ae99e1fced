# SPDX-License-Identifier: MIT
# Gateway control plane unit tests: config, JSON, control socket, metrics, audit, longhaulctl.
foreach(t config json control)
	add_executable(test_gw_${t} ${LH_TESTS_DIR}/unit/gateway_control/test_${t}.c)
	target_link_libraries(test_gw_${t} PRIVATE lhgateway_control)
	add_test(NAME gateway_${t} COMMAND test_gw_${t})
	set_tests_properties(gateway_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()
