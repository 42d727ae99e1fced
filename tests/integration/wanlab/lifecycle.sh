#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lifecycle.sh: up is idempotent, labs coexist, status describes the topology, MTU 9000 and 3 sites work, down and failed ups leave nothing.
. "$(dirname "$0")/lib.sh"
L1=wl-life L2=wl-life2 L3=wl-life3

ns_gone() { [ ! -e "/run/netns/$1-wan" ] && [ ! -e "/run/netns/$1-a" ] && [ ! -e "/run/netns/$1-b" ] && [ ! -e "/run/longhaul-lab/$1" ]; }
# The minimum of 11 pings, not the mean or the median: this test checks that labs coexist at their own
# RTTs. The emulator never delivers early, so the fastest ping shows the configured delay, while the
# shared host's scheduler only ever adds to it (CI saw a 6 ms spike move a mean, and a busy host move
# the median of the jumbo lab to 10.6 ms). wanlab_rtt checks the emulator's precision with 40 pings.
ping_rtt() {
	in_site "$1" a ping -n -c 11 -i 0.05 "$2" | sed -n 's|.* time=\([0-9.]*\) ms|\1|p' | sort -n | head -n 1
}

lab_up "$L1" --rtt 30 >/dev/null
pid1=$(status_get "$L1" 'd["emulator_processes"][0]["pid"] if d["emulator_processes"] else 0')
lab_up "$L1" --rtt 30 2>&1 | grep -q 'already up' || fail "second identical up did not report 'already up'"
[ "$(status_get "$L1" 'd["emulator_processes"][0]["pid"] if d["emulator_processes"] else 0')" = "$pid1" ] ||
	fail "idempotent up restarted the emulator"
echo "idempotent up: same lab, same emulator pid $pid1"

# What other tests rely on: names and addresses from status, nothing guessed.
for site in 0 1; do
	ns=$(status_get "$L1" "d['sites'][$site]['netns']")
	lan=$(status_get "$L1" "d['sites'][$site]['lan_addr']")
	wan=$(status_get "$L1" "d['sites'][$site]['wan_addr']")
	br=$(status_get "$L1" "d['sites'][$site]['bridge']")
	[ "$(status_get "$L1" 'd["lab"]')" = "$L1" ] || fail "status lab name"
	ip -n "$ns" -br addr show "$br" | grep -qw "$lan/24" || fail "$ns: $lan not on $br"
	ip -n "$ns" -br addr show wan0 | grep -qw "$wan/24" || fail "$ns: $wan not on wan0"
	[[ $lan == 198.1[89].* && $wan == 198.1[89].* ]] || fail "addresses outside 198.18.0.0/15"
	[ "$(ip netns exec "$ns" sysctl -n net.ipv4.tcp_congestion_control)" = cubic ] || fail "$ns: congestion control is not cubic"
	ip netns exec "$ns" ethtool -k wan0 | grep -q '^tcp-segmentation-offload: off' || fail "$ns: TSO still on"
	ip netns exec "$ns" ethtool -k wan0 | grep -q '^generic-segmentation-offload: off' || fail "$ns: GSO still on"
	echo "site $site: netns $ns, bridge $br $lan, wan0 $wan, cubic, TSO/GSO off"
done

# A second lab at the same time, other RTT, jumbo WAN.
lab_up "$L2" --rtt 10 --mtu 9000 >/dev/null
r1=$(ping_rtt "$L1" "$(status_get "$L1" 'd["sites"][1]["lan_addr"]')")
r2=$(ping_rtt "$L2" "$(status_get "$L2" 'd["sites"][1]["lan_addr"]')")
echo "two labs at once: $L1 rtt $r1 ms (want 30), $L2 rtt $r2 ms (want 10)"
within "$r1" 28.5 31.5 || fail "$L1 RTT $r1"
within "$r2" 9.5 10.5 || fail "$L2 RTT $r2"
in_site "$L2" a ping -q -n -c 3 -i 0.1 -M do -s 8972 "$(status_get "$L2" 'd["sites"][1]["wan_addr"]')" >/dev/null ||
	fail "9000-byte frames do not cross the MTU 9000 WAN"
echo "MTU 9000: unfragmented 9000-byte pings cross the WAN"

# Three sites: every pair reachable at the requested RTT.
lab_up "$L3" --rtt 20 --sites 3 >/dev/null
r3=$(ping_rtt "$L3" "$(status_get "$L3" 'd["sites"][2]["lan_addr"]')")
echo "three sites: a -> c rtt $r3 ms (want 20)"
within "$r3" 19 21 || fail "3-site RTT $r3"
in_site "$L3" b ping -q -n -c 2 -i 0.1 "$(status_get "$L3" 'd["sites"][2]["lan_addr"]')" >/dev/null || fail "b -> c unreachable"
"$WAN_LAB" down --lab "$L3"
ns_gone "$L3" && [ ! -e "/run/netns/$L3-c" ] || fail "$L3 not fully removed"

# down removes namespaces, state and the emulator process; the other lab lives on.
"$WAN_LAB" down --lab "$L1"
ns_gone "$L1" || fail "$L1 namespaces or state left after down"
if [ "$pid1" != 0 ] && [ -e "/proc/$pid1" ] && [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" = lh-wanem ]; then
	fail "emulator $pid1 still running after down"
fi
[ "$(status_get "$L2" 'd["state"]')" = up ] || fail "$L2 was disturbed by $L1's down"
st=$("$WAN_LAB" status --lab "$L1" --json) && fail "status of a removed lab exits 0"
echo "$st" | grep -q '"state": "down"' || fail "status of a removed lab: $st"
echo "down: $L1 gone (namespaces, state, pid $pid1), $L2 still up"

# A failing up (emulator cannot start) cleans up after itself.
if LH_WANEM=/bin/false "$WAN_LAB" up --lab "$L3" --emulator userspace >/dev/null 2>&1; then
	fail "up with a broken emulator succeeded"
fi
ns_gone "$L3" || fail "failed up left namespaces or state"
echo "failed up: nothing left behind"
echo "PASS"
