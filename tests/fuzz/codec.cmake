# SPDX-License-Identifier: MIT
# Codec I: libFuzzer harness for the stream parser, seeded with the synthetic vectors.
if(LH_HAVE_LIBFUZZER)
	add_executable(fuzz_parser ${LH_TESTS_DIR}/fuzz/codec/fuzz_parser.c)
	target_link_libraries(fuzz_parser PRIVATE lhcodec_fuzzlib lh::xxhash)
	target_link_options(fuzz_parser PRIVATE -fsanitize=fuzzer)

	set(seeds ${CMAKE_BINARY_DIR}/fuzz/parser-seeds)
	set(corpus ${CMAKE_BINARY_DIR}/fuzz/parser-corpus)
	add_test(NAME fuzz_parser_seeds
		COMMAND sh -c "rm -rf '${seeds}' '${corpus}' && mkdir -p '${seeds}' '${corpus}' && $<TARGET_FILE:lh_gen_vectors> '${seeds}'")
	set_tests_properties(fuzz_parser_seeds PROPERTIES LABELS fuzz FIXTURES_SETUP parser_seeds)
	add_test(NAME fuzz_parser
		COMMAND fuzz_parser -max_total_time=60 -timeout=10 -rss_limit_mb=1024 -max_len=300000
			-print_final_stats=1 ${corpus} ${seeds})
	set_tests_properties(fuzz_parser PROPERTIES LABELS fuzz TIMEOUT 180 FIXTURES_REQUIRED parser_seeds)

	# Return-path scanner (gateway: destination's SHUT); no seeds needed, the format is 4-byte headers.
	add_executable(fuzz_rp ${LH_TESTS_DIR}/fuzz/codec/fuzz_rp.c)
	target_link_libraries(fuzz_rp PRIVATE lhcodec_fuzzlib)
	target_link_options(fuzz_rp PRIVATE -fsanitize=fuzzer)
	add_test(NAME fuzz_rp COMMAND fuzz_rp -max_total_time=15 -max_len=512 -print_final_stats=1)
	set_tests_properties(fuzz_rp PROPERTIES LABELS fuzz TIMEOUT 60)
endif()
