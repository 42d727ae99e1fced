# SPDX-License-Identifier: MIT
# WAN encoding: decoder fuzzer (forged frames) and round-trip fuzzer (streams -> encode -> decode -> equal).
if(LH_HAVE_LIBFUZZER)
	foreach(h IN ITEMS decode roundtrip)
		add_executable(fuzz_wan_${h} ${LH_TESTS_DIR}/fuzz/codec_wan/fuzz_wan_${h}.c)
		target_link_libraries(fuzz_wan_${h} PRIVATE lhcodec_fuzzlib)
		if(h STREQUAL "decode")
			# it forges frames (frame.h, wan_hash.h): the codec's internal headers
			target_link_libraries(fuzz_wan_${h} PRIVATE lhcodec_internal)
		endif()
		target_link_options(fuzz_wan_${h} PRIVATE -fsanitize=fuzzer)
		# the committed seeds stay read-only: new inputs go to a scratch corpus in the build dir
		set(corpus ${CMAKE_BINARY_DIR}/fuzz/wan-${h}-corpus)
		add_test(NAME fuzz_wan_${h}
			COMMAND sh -c "rm -rf '${corpus}' && mkdir -p '${corpus}' && exec $<TARGET_FILE:fuzz_wan_${h}> -max_total_time=40 -timeout=20 -rss_limit_mb=2048 -max_len=200000 -print_final_stats=1 '${corpus}' '${LH_TESTS_DIR}/fuzz/codec_wan/corpus/${h}'")
		set_tests_properties(fuzz_wan_${h} PROPERTIES LABELS fuzz TIMEOUT 180)
	endforeach()
endif()
