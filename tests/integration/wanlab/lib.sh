# SPDX-License-Identifier: MIT
# lib.sh: helpers shared by the WAN lab tests: bring labs up, always tear them down, read status, compare figures.
set -euo pipefail

: "${WAN_LAB:?WAN_LAB must point at netem-scripts/wan-lab}"
: "${LH_WANEM:?LH_WANEM must point at the lh-wanem binary}"
export LH_WANEM

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "SKIP: needs root and iproute2 (network namespaces)"
	exit 77
fi

LABS=()
BG_PIDS=()

cleanup() {
	local p l
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
	for l in "${LABS[@]+"${LABS[@]}"}"; do "$WAN_LAB" down --lab "$l" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# lab_up LAB [wan-lab up options...]: registers LAB for teardown first.
lab_up() {
	local lab=$1; shift
	LABS+=("$lab")
	"$WAN_LAB" up --lab "$lab" "$@"
}

# status_get LAB EXPR: evaluates a Python expression over the status JSON `d`.
status_get() {
	"$WAN_LAB" status --lab "$1" --json |
		python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$2"
}

in_site() { local lab=$1 site=$2; shift 2; ip netns exec "$lab-$site" "$@"; }

# within VALUE LOW HIGH: true when LOW <= VALUE <= HIGH (floats).
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

calc() { awk "BEGIN { printf \"%.3f\", ($1) }"; }

# iperf3_server LAB SITE ADDR: one-shot server in the site, waits until it listens.
iperf3_server() {
	local lab=$1 site=$2 addr=$3 i
	in_site "$lab" "$site" timeout 120 iperf3 -s -1 -B "$addr" >/dev/null 2>&1 &
	BG_PIDS+=($!)
	for i in $(seq 50); do
		in_site "$lab" "$site" ss -Hltn "sport = :5201" | grep -q . && return 0
		sleep 0.1
	done
	fail "iperf3 server in $lab-$site did not start"
}

# wire_bytes LAB SITE: L2 bytes received on the site's WAN interface so far.
wire_bytes() { in_site "$1" "$2" cat /sys/class/net/wan0/statistics/rx_bytes; }
wire_packets() { in_site "$1" "$2" cat /sys/class/net/wan0/statistics/rx_packets; }
