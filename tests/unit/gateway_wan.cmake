# SPDX-License-Identifier: MIT
# The WAN transport (sequence, ack, replay, reorder, HELLO, keepalive) over a fake link: no sockets, no TLS,
# fake time. The transport's socket-free sources are compiled into the test with the fake stream I/O
# (tests/unit/gateway_wan/fake_link.c implements what gateway/wan/wan.h asks of the I/O, and the clock).
set(LH_WAN_CORE_SOURCES
	${PROJECT_SOURCE_DIR}/gateway/wan/wan_session.c
	${PROJECT_SOURCE_DIR}/gateway/wan/wan_link.c
	${PROJECT_SOURCE_DIR}/gateway/wan/wan_proto.c
	${LH_TESTS_DIR}/unit/gateway_wan/fake_link.c)
add_executable(test_gw_wan_session ${LH_TESTS_DIR}/unit/gateway_wan/test_wan_session.c ${LH_WAN_CORE_SOURCES})
target_include_directories(test_gw_wan_session PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(test_gw_wan_session PRIVATE lhgw_base lh::ssl lhnetstate)
add_test(NAME gateway_wan_session COMMAND test_gw_wan_session)
set_tests_properties(gateway_wan_session PROPERTIES LABELS unit TIMEOUT 30)

# The [wan] key permission rule (gateway/wan/wan_tls.c: wan_keyperm_judge): a pure function of mode and groups.
add_executable(test_gw_keyperm ${LH_TESTS_DIR}/unit/gateway_wan/test_keyperm.c)
target_link_libraries(test_gw_keyperm PRIVATE lhgw_wan lhgw_base lh::ssl)
add_test(NAME gateway_wan_keyperm COMMAND test_gw_keyperm)
set_tests_properties(gateway_wan_keyperm PROPERTIES LABELS unit TIMEOUT 30)

# Admission of incoming WAN connections (gateway/wan/wan_admit.c: per-source and global caps on pending
# handshakes) and the refusal log's once-a-second rule (gateway/base/ratelog.c): pure.
add_executable(test_gw_wan_admit ${LH_TESTS_DIR}/unit/gateway_wan/test_admit.c)
target_link_libraries(test_gw_wan_admit PRIVATE lhgw_wan lhgw_base lhnetstate)
add_test(NAME gateway_wan_admit COMMAND test_gw_wan_admit)
set_tests_properties(gateway_wan_admit PROPERTIES LABELS unit TIMEOUT 30)
