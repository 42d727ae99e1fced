# SPDX-License-Identifier: MIT
# gw-control's part of the gateway (included by gateway/CMakeLists.txt, owned by gw-data):
# logging, config, JSON, control socket, metrics, audit, and the longhaulctl CLI.
#
# LH_GATEWAY_CONTROL_SOURCES: everything except longhaulctl's main. They are also
# built as the static library lhgateway_control (used by longhaulctl and the unit
# tests); longhauld can link it (target_link_libraries(lhgateway_core PUBLIC
# lhgateway_control)) or compile the list into lhgateway_core itself.
# Headers are included as "gateway/xxx.h" (include dir: the project root).
set(LH_GATEWAY_CONTROL_SOURCES
	${CMAKE_CURRENT_LIST_DIR}/log.c
	${CMAKE_CURRENT_LIST_DIR}/json.c
	${CMAKE_CURRENT_LIST_DIR}/control.c
	${CMAKE_CURRENT_LIST_DIR}/config.c
	${CMAKE_CURRENT_LIST_DIR}/config_show.c
	${CMAKE_CURRENT_LIST_DIR}/metrics.c
	${CMAKE_CURRENT_LIST_DIR}/audit.c)

add_library(lhgateway_control STATIC ${LH_GATEWAY_CONTROL_SOURCES})
target_include_directories(lhgateway_control PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(lhgateway_control PUBLIC lh::ev lhnetstate m)

add_executable(longhaulctl ${CMAKE_CURRENT_LIST_DIR}/longhaulctl.c)
target_link_libraries(longhaulctl PRIVATE lhgateway_control)
