# SPDX-License-Identifier: MIT
# netstate unit tests: netlink message bytes, reply parsing, announcement frames/rounds,
# ARP/ND learning, segment configuration.
foreach(t nlmsg nlparse announce learn segment_cfg)
	add_executable(test_netstate_${t} ${LH_TESTS_DIR}/unit/netstate/test_${t}.c)
	target_link_libraries(test_netstate_${t} PRIVATE lhnetstate)
	add_test(NAME netstate_${t} COMMAND test_netstate_${t})
	set_tests_properties(netstate_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()
