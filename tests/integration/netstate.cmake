# SPDX-License-Identifier: MIT
# netstate integration tests (root, network namespaces, 198.18.0.0/15 only):
#   netstate_fdb_moves     netlink operations against the real kernel, one namespace
#   netstate_cutover_move  a guest moves between two VXLAN-stretched sites of the WAN lab
#                          (lab `nst`, 100 ms RTT), once with lhnetctl cutover and once without:
#                          outage, TCP survival, FDB/ARP state, GARP/NA/RARP rounds in a pcap
#   netstate_qemu_move     the same with a real QEMU guest migrated over the lab (lab `nsq`)
#   netstate_gateway_move  the product path: the guest migrates through a longhauld pair, which makes the
#                          segment exist, learns the guest's IP and cuts over by itself; TCP must survive
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(ns_it ${LH_TESTS_DIR}/integration/netstate)
add_test(NAME netstate_fdb_moves COMMAND bash ${ns_it}/fdb-moves.sh $<TARGET_FILE:lhnetctl>)
add_test(NAME netstate_cutover_move
	COMMAND bash ${ns_it}/cutover-move.sh $<TARGET_FILE:lhnetctl>
		${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab
		${CMAKE_BINARY_DIR}/integration/netstate-cutover-move)
set_tests_properties(netstate_fdb_moves netstate_cutover_move PROPERTIES
	LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
set_tests_properties(netstate_cutover_move PROPERTIES ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")
# The same proof with a real QEMU guest (tests/guest image, lh.ip) on taps, live-migrated over the
# lab (`nsq`) and cut over by lhnetctl when the destination runs; QEMU's own announcements off.
add_test(NAME netstate_qemu_move
	COMMAND Python3::Interpreter ${ns_it}/qemu-move.py --lhnetctl $<TARGET_FILE:lhnetctl>
		--wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab --guest-dir ${CMAKE_BINARY_DIR}/guest
		--work ${CMAKE_BINARY_DIR}/integration/netstate-qemu-move)
set_tests_properties(netstate_qemu_move PROPERTIES
	LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE
	FIXTURES_REQUIRED guest RESOURCE_LOCK qemu_guest ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")

# The product path (issue 6 + 5): the same guest move through a longhauld pair (lab `nsq`); the gateways
# ensure the segment, learn the guest IP from ARP, and cut over when the destination QEMU accepted.
add_test(NAME netstate_gateway_move
	COMMAND Python3::Interpreter ${ns_it}/qemu-move.py --lhnetctl $<TARGET_FILE:lhnetctl>
		--longhauld $<TARGET_FILE:longhauld>
		--wan-lab ${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab --guest-dir ${CMAKE_BINARY_DIR}/guest
		--work ${CMAKE_BINARY_DIR}/integration/netstate-gateway-move)
set_tests_properties(netstate_gateway_move PROPERTIES
	LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE
	FIXTURES_REQUIRED guest RESOURCE_LOCK qemu_guest ENVIRONMENT "LH_WANEM=$<TARGET_FILE:lh-wanem>")
