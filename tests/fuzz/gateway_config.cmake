# SPDX-License-Identifier: MIT
# gw-control libFuzzer harnesses: config parser, control requests (dispatcher + JSON), metrics HTTP head,
# the outcome store file (gateway/mig/OUTCOMES.md), the fd holder's messages (gateway/base/FDHOLD.md), the state
# file (gateway/mig/STATEFILE.md).
# Each runs 30 s from the committed seeds; new inputs go to a corpus in the build tree.
if(LH_HAVE_LIBFUZZER)
	set(gw_dir ${PROJECT_SOURCE_DIR}/gateway)
	set(gw_fuzz_config_src ${gw_dir}/base/config.c ${gw_dir}/base/config_show.c ${gw_dir}/base/allow.c ${gw_dir}/base/json.c ${gw_dir}/base/log.c
		${PROJECT_SOURCE_DIR}/netstate/common.c ${PROJECT_SOURCE_DIR}/netstate/segment_cfg.c
		${PROJECT_SOURCE_DIR}/netstate/announce_sched.c ${PROJECT_SOURCE_DIR}/netstate/announce_frames.c)
	set(gw_fuzz_request_src ${gw_dir}/control/control.c ${gw_dir}/base/json.c ${gw_dir}/base/json_req.c ${gw_dir}/base/log.c)
	set(gw_fuzz_http_src ${gw_dir}/base/json.c ${gw_dir}/base/log.c)
	set(gw_fuzz_outcomes_src ${gw_dir}/mig/outcome.c ${gw_dir}/base/file.c ${gw_dir}/base/json.c ${gw_dir}/base/log.c)
	set(gw_fuzz_fdhold_src ${gw_dir}/base/fdhold.c ${gw_dir}/base/log.c)
	set(gw_fuzz_statefile_src ${gw_dir}/mig/keep.c ${gw_dir}/base/file.c ${gw_dir}/base/json.c
		${gw_dir}/base/json_req.c ${gw_dir}/base/log.c)
	foreach(f config request http outcomes fdhold statefile)
		add_executable(fuzz_gateway_${f} ${LH_TESTS_DIR}/fuzz/gateway_config/fuzz_${f}.c
			${gw_fuzz_${f}_src})
		target_include_directories(fuzz_gateway_${f} PRIVATE ${PROJECT_SOURCE_DIR})
		target_link_libraries(fuzz_gateway_${f} PRIVATE lh::ev m)
		target_compile_options(fuzz_gateway_${f} PRIVATE
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
		target_link_options(fuzz_gateway_${f} PRIVATE
			-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
		set(corpus ${CMAKE_BINARY_DIR}/fuzz/gateway-${f}-corpus)
		add_test(NAME fuzz_gateway_${f}
			COMMAND sh -c "mkdir -p '${corpus}' && exec '$<TARGET_FILE:fuzz_gateway_${f}>' -max_total_time=30 -timeout=10 -rss_limit_mb=1024 -max_len=8192 -print_final_stats=1 '${corpus}' '${LH_TESTS_DIR}/fuzz/gateway_config/corpus/${f}'")
		set_tests_properties(fuzz_gateway_${f} PROPERTIES LABELS fuzz TIMEOUT 120)
	endforeach()
endif()
