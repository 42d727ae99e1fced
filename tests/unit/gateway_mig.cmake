# SPDX-License-Identifier: MIT
# The migration roles' state machines (gateway/mig/states.c) against their documentation (gateway/mig/STATES.md).
add_executable(test_gw_states ${LH_TESTS_DIR}/unit/gateway_mig/test_states.c ${PROJECT_SOURCE_DIR}/gateway/mig/states.c)
target_include_directories(test_gw_states PRIVATE ${PROJECT_SOURCE_DIR})
add_test(NAME gateway_mig_states COMMAND test_gw_states ${PROJECT_SOURCE_DIR}/gateway/mig/STATES.md)
set_tests_properties(gateway_mig_states PROPERTIES LABELS unit TIMEOUT 60)
