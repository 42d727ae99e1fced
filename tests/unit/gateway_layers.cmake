# SPDX-License-Identifier: MIT
# The gateway's layers only call down (gateway/CMakeLists.txt): nm over each layer's library and the
# includes of each layer's folder. The negative control runs the same check with two layers swapped
# and must fail, so the check is known to bite. The codec's parser, encoder and decoder belong to the
# codec pipe (the one parser of each LAN stream); the second negative control gives them to another layer.
set(lh_gw_owns --owns lh_parser_=pipe --owns lh_wan_enc_=pipe --owns lh_wan_dec_=pipe)
set(lh_gw_layers
	base=$<TARGET_FILE:lhgw_base>
	wan=$<TARGET_FILE:lhgw_wan>
	pipe=$<TARGET_FILE:lhgw_pipe>
	mig=$<TARGET_FILE:lhgw_mig>
	control=$<TARGET_FILE:lhgateway_control>
	control:daemon=$<TARGET_FILE:lhgateway_core>)
add_test(NAME gateway_layers
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/unit/gateway_layers/check-layers
		--src ${PROJECT_SOURCE_DIR}/gateway --nm ${CMAKE_NM} ${lh_gw_owns} ${lh_gw_layers})
set_tests_properties(gateway_layers PROPERTIES LABELS unit TIMEOUT 60)
add_test(NAME gateway_layers_owns_negative
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/unit/gateway_layers/check-layers
		--src ${PROJECT_SOURCE_DIR}/gateway --nm ${CMAKE_NM} --owns lh_parser_=mig ${lh_gw_layers})
set_tests_properties(gateway_layers_owns_negative PROPERTIES LABELS unit TIMEOUT 60 WILL_FAIL TRUE)
add_test(NAME gateway_layers_negative
	COMMAND Python3::Interpreter ${LH_TESTS_DIR}/unit/gateway_layers/check-layers
		--src ${PROJECT_SOURCE_DIR}/gateway --nm ${CMAKE_NM}
		base=$<TARGET_FILE:lhgw_base> mig=$<TARGET_FILE:lhgw_mig> wan=$<TARGET_FILE:lhgw_wan>)
set_tests_properties(gateway_layers_negative PROPERTIES LABELS unit TIMEOUT 60 WILL_FAIL TRUE)
