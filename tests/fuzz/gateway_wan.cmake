# SPDX-License-Identifier: MIT
# The WAN transport's state under adversarial message sequences, over the fake link of the unit tests
# (tests/unit/gateway_wan): clang only, a finding (crash, UB, leak, broken invariant) fails the test.
if(LH_HAVE_LIBFUZZER)
	add_executable(fuzz_wan_transport ${LH_TESTS_DIR}/fuzz/gateway_wan/fuzz_wan_transport.c
		${PROJECT_SOURCE_DIR}/gateway/wan/wan_session.c
		${PROJECT_SOURCE_DIR}/gateway/wan/wan_link.c
		${PROJECT_SOURCE_DIR}/gateway/wan/wan_proto.c
		${LH_TESTS_DIR}/unit/gateway_wan/fake_link.c)
	target_include_directories(fuzz_wan_transport PRIVATE ${PROJECT_SOURCE_DIR} ${LH_TESTS_DIR}/unit/gateway_wan)
	target_link_libraries(fuzz_wan_transport PRIVATE lhgw_base lh::ssl lhnetstate)
	# a small reorder window and replay bound (> 256: replay_room keeps 256 in reserve), so inputs reach them
	target_compile_definitions(fuzz_wan_transport PRIVATE WAN_RING=512)
	target_compile_options(fuzz_wan_transport PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
	target_link_options(fuzz_wan_transport PRIVATE -fsanitize=fuzzer,address,undefined)
	# long operation sequences from the start (-len_control=0): the state worth reaching is deep.
	# the committed seeds stay read-only: new inputs go to a corpus in the build tree
	set(corpus ${CMAKE_BINARY_DIR}/fuzz/wan-transport-corpus)
	file(MAKE_DIRECTORY ${corpus})
	add_test(NAME fuzz_gateway_wan_transport
		COMMAND fuzz_wan_transport -max_total_time=30 -max_len=2048 -len_control=0 -timeout=10 -print_final_stats=1
			${corpus} ${LH_TESTS_DIR}/fuzz/gateway_wan/seed)
	set_tests_properties(fuzz_gateway_wan_transport PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
