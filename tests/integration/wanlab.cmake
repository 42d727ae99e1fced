# SPDX-License-Identifier: MIT
# WAN lab (netem-scripts/): unit test of lh-wanem's link model, and the lab's
# proofs: RTT, throughput, loss, netem detection, emulator frame rate,
# lifecycle. Integration tests need root; each brings up its own lab
# (--lab wl-*) and tears it down on exit.
add_test(NAME wanlab_shaper COMMAND lh_wanem_shaper_test)
set_tests_properties(wanlab_shaper PROPERTIES LABELS unit TIMEOUT 30)

set(LH_WANLAB_TESTS ${CMAKE_CURRENT_LIST_DIR}/wanlab)
set(LH_WANLAB_ENV
	"WAN_LAB=${PROJECT_SOURCE_DIR}/netem-scripts/wan-lab"
	"LH_WANEM=$<TARGET_FILE:lh-wanem>"
	"LH_WANEM_BLAST=$<TARGET_FILE:lh-wanem-blast>")

# name | script and arguments | timeout (s)
function(lh_wanlab_test name timeout)
	add_test(NAME ${name} COMMAND bash ${ARGN})
	set_tests_properties(${name} PROPERTIES
		LABELS integration TIMEOUT ${timeout} RUN_SERIAL TRUE
		SKIP_RETURN_CODE 77 ENVIRONMENT "${LH_WANLAB_ENV}")
endfunction()

lh_wanlab_test(wanlab_rtt 90 ${LH_WANLAB_TESTS}/rtt.sh)
lh_wanlab_test(wanlab_throughput_100 90 ${LH_WANLAB_TESTS}/throughput.sh 100)
lh_wanlab_test(wanlab_throughput_1000 90 ${LH_WANLAB_TESTS}/throughput.sh 1000)
lh_wanlab_test(wanlab_loss 120 ${LH_WANLAB_TESTS}/loss.sh)
lh_wanlab_test(wanlab_detect 60 ${LH_WANLAB_TESTS}/detect.sh)
lh_wanlab_test(wanlab_emulator_pps 60 ${LH_WANLAB_TESTS}/pps.sh)
lh_wanlab_test(wanlab_lifecycle 90 ${LH_WANLAB_TESTS}/lifecycle.sh)
lh_wanlab_test(wanlab_cut 60 ${LH_WANLAB_TESTS}/cut.sh)
# The netem branch, in a TCG guest whose kernel has sch_netem (skips without QEMU).
lh_wanlab_test(wanlab_netem_guest 300 ${LH_WANLAB_TESTS}/netem-guest.sh)
