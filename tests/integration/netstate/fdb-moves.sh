#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Intent: lhnetctl's netlink operations do exactly what they report against the real kernel:
# segment up is idempotent and reconciles the flood list, foreign devices are never adopted or
# removed, destination cutover removes a MAC learned over VXLAN, source cutover points it at the
# remote VTEP once (a repeat changes nothing). One namespace, no traffic.
#
# usage: fdb-moves.sh LHNETCTL      (root)
set -euo pipefail
LHNETCTL=$(readlink -f "${1:?usage: fdb-moves.sh LHNETCTL}")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }
NS=lhfdb$$
MAC=52:54:00:4c:48:02
trap 'ip netns del $NS 2>/dev/null || true' EXIT
fail() { echo "fdb-moves: FAIL: $*" >&2; exit 1; }
ctl() { ip netns exec $NS "$LHNETCTL" "$@"; }
expect() { # DESCRIPTION JSON PATTERN...
	local what=$1 json=$2; shift 2
	for p in "$@"; do grep -q -- "$p" <<<"$json" || fail "$what: no \`$p' in $json"; done
	echo "fdb-moves: ok: $what"
}

ip netns add $NS
ip -n $NS link add br0 type bridge
ip -n $NS link set br0 up
ip -n $NS link add gport type dummy 2>/dev/null || ip -n $NS link add gport type veth peer name gpeer
ip -n $NS link set gport master br0 up

out=$(ctl segment up --bridge br0 --vni 7 --local 198.18.0.1 --remote 198.18.0.2 --remote 198.18.0.3)
expect "segment up creates" "$out" '"kind":"created","what":"vxlan lhvx7' '"created","what":"flood 198.18.0.3' '"changed":5'
ip -n $NS -d link show lhvx7 | grep -q 'nolearning' || fail "VXLAN learning is on"
out=$(ctl segment up --bridge br0 --vni 7 --local 198.18.0.1 --remote 198.18.0.2)
expect "segment up reconciles the flood list" "$out" '"removed","what":"flood 198.18.0.3' '"changed":1'
[ "$(bridge -n $NS fdb show dev lhvx7 | grep -c '^00:00:00:00:00:00')" = 1 ] || fail "flood list not 1 entry"
out=$(ctl segment up --bridge br0 --vni 8 --local 198.18.0.1 --remote 198.18.0.2 --dev lhvx7) && fail "vni change accepted"
expect "segment up refuses a VNI change" "$out" 'has vni 7, config says 8'

ip -n $NS link add foreign type vxlan id 9 local 198.18.0.1 dstport 4789
out=$(ctl segment up --bridge br0 --vni 9 --local 198.18.0.1 --remote 198.18.0.2 --dev foreign) && fail "foreign adopted"
expect "segment up refuses a device it did not create" "$out" 'not created by longhaul'
out=$(ctl segment down --bridge br0 --vni 9 --local 198.18.0.1 --dev foreign) && fail "foreign removed"
ip -n $NS link show foreign >/dev/null || fail "foreign device removed"
echo "fdb-moves: ok: segment down leaves a foreign device alone"

# The guest MAC learned behind VXLAN (dynamic bridge entry + VXLAN entry), as before a move here.
bridge -n $NS fdb add $MAC dev lhvx7 master dynamic
bridge -n $NS fdb add $MAC dev lhvx7 dst 198.18.0.2 self
out=$(ctl cutover --role destination --bridge br0 --dev lhvx7 --mac $MAC --ip 198.18.10.30 \
	--remote-vtep 198.18.0.2 --rounds 0)
expect "destination makes the MAC local" "$out" '"removed","what":"fdb '$MAC' dst 198.18.0.2 on lhvx7 self"' \
	'"removed","what":"fdb '$MAC' on lhvx7 master"' '"frames_sent":3'
bridge -n $NS fdb show | grep -qi "$MAC" && fail "entries left: $(bridge -n $NS fdb show | grep -i $MAC)"

# Now the guest sits on gport here and leaves: source cutover.
bridge -n $NS fdb add $MAC dev gport master static  # (dummy ports never reach forwarding state for dynamic adds)
out=$(ctl cutover --role source --bridge br0 --dev lhvx7 --mac $MAC --remote-vtep 198.18.0.2)
expect "source points the MAC at the remote VTEP" "$out" '"created","what":"fdb '$MAC' dst 198.18.0.2 on lhvx7 self"' \
	'"updated","what":"fdb '$MAC' on lhvx7 master"' '"changed":2'
bridge -n $NS fdb show | grep -i "$MAC" | grep -q 'dev gport' && fail "MAC still on gport"
out=$(ctl cutover --role source --bridge br0 --dev lhvx7 --mac $MAC --remote-vtep 198.18.0.2)
expect "a repeated source cutover changes nothing" "$out" '"changed":0'
out=$(ctl cutover --role source --bridge br0 --dev lhvx7 --mac $MAC --remote-vtep 198.18.0.4)
expect "a new destination replaces the VTEP in one step" "$out" '"updated","what":"fdb '$MAC' dst 198.18.0.4' '"changed":1'

out=$(ctl cutover --role source --bridge br0 --dev nosuch --mac $MAC --remote-vtep 198.18.0.2) && fail "missing device accepted"
expect "a failed netlink call reports the kernel's error" "$out" '"ok":false' 'get link nosuch'

out=$(ctl segment down --bridge br0 --vni 7 --local 198.18.0.1)
expect "segment down removes what it created" "$out" '"removed","what":"vxlan lhvx7'
echo "fdb-moves: PASS"
