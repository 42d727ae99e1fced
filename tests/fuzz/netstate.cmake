# SPDX-License-Identifier: MIT
# netstate libFuzzer harnesses: ARP/ND frames, rtnetlink replies, [segment] values.
# Each links the parser sources it exercises, compiled with the sanitizers.
if(LH_HAVE_LIBFUZZER)
	set(ns_dir ${PROJECT_SOURCE_DIR}/netstate)
	set(ns_fuzz_learn_src ${ns_dir}/learn.c ${ns_dir}/common.c)
	set(ns_fuzz_nlparse_src ${ns_dir}/nlparse.c ${ns_dir}/common.c)
	set(ns_fuzz_segcfg_src ${ns_dir}/segment_cfg.c ${ns_dir}/common.c ${ns_dir}/announce_sched.c ${ns_dir}/announce_frames.c)
	foreach(f learn nlparse segcfg)
		add_executable(fuzz_netstate_${f} ${LH_TESTS_DIR}/fuzz/netstate/fuzz_${f}.c
			${ns_fuzz_${f}_src})
		target_include_directories(fuzz_netstate_${f} PRIVATE ${PROJECT_SOURCE_DIR})
		target_link_libraries(fuzz_netstate_${f} PRIVATE lh::mnl)
		target_compile_options(fuzz_netstate_${f} PRIVATE
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
		target_link_options(fuzz_netstate_${f} PRIVATE
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
		# New inputs go to a corpus in the build tree; the committed seeds stay read-only.
		set(corpus ${CMAKE_BINARY_DIR}/fuzz/netstate-${f}-corpus)
		add_test(NAME fuzz_netstate_${f}
			COMMAND sh -c "mkdir -p '${corpus}' && exec '$<TARGET_FILE:fuzz_netstate_${f}>' -max_total_time=30 -timeout=10 -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1 '${corpus}' '${LH_TESTS_DIR}/fuzz/netstate/corpus/${f}'")
		set_tests_properties(fuzz_netstate_${f} PROPERTIES LABELS fuzz TIMEOUT 120)
	endforeach()
endif()
