# SPDX-License-Identifier: MIT
# Codec I: parser unit tests (synthetic vectors), and the same invariants on real captures.
add_library(lh_test_vectors STATIC ${LH_TESTS_DIR}/unit/codec/vecgen.c)
target_link_libraries(lh_test_vectors PUBLIC lhcodec_lib)
target_include_directories(lh_test_vectors PUBLIC ${LH_TESTS_DIR}/unit/codec)

add_executable(test_parser ${LH_TESTS_DIR}/unit/codec/test_parser.c ${LH_TESTS_DIR}/unit/codec/test_parser_bad.c)
target_link_libraries(test_parser PRIVATE lh_test_vectors lh::xxhash)
add_test(NAME codec_parser_vectors COMMAND test_parser)
set_tests_properties(codec_parser_vectors PROPERTIES LABELS unit TIMEOUT 300)

add_executable(lh_gen_vectors ${LH_TESTS_DIR}/unit/codec/gen_vectors.c)
target_link_libraries(lh_gen_vectors PRIVATE lh_test_vectors)

# Return-path scanner (the gateway's "destination accepted" signal): real byte sequences, every split.
add_executable(test_rp ${LH_TESTS_DIR}/unit/codec/test_rp.c)
target_link_libraries(test_rp PRIVATE lhcodec_lib)
add_test(NAME codec_rp_scanner COMMAND test_rp)
set_tests_properties(codec_rp_scanner PROPERTIES LABELS unit TIMEOUT 60)

# Layering of the codec library (its objects, read with nm): the encoder and the decoder never call each
# other, both sit on the shared modules; and no code outside codec/ includes codec/ paths.
add_test(NAME codec_layers
	COMMAND bash ${LH_TESTS_DIR}/unit/codec/check-codec-layers.sh ${CMAKE_NM} ${PROJECT_SOURCE_DIR}
		"$<TARGET_OBJECTS:lhcodec_lib>")
set_tests_properties(codec_layers PROPERTIES LABELS unit TIMEOUT 60)
