#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Intent: a guest keeps its MAC/IP, its TCP connection and its peers' reachability when it moves
# from site A to site B over a VXLAN stretch with 100 ms RTT; the outage stays within the
# (simulated) migration downtime + 100 ms, FDBs end right, and the destination sends its
# GARP/NA/RARP rounds with the right addresses at the right offsets.
#
# usage: cutover-move.sh LHNETCTL [WORKDIR]      (root; namespaces only; 198.18.0.0/15 + 2001:2::/48)
set -euo pipefail

LHNETCTL=$(readlink -f "${1:?usage: cutover-move.sh LHNETCTL [WORKDIR]}")
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
WORK=${2:-$(mktemp -d /tmp/lh-netstate-XXXXXX)}
rm -f "$WORK"/*.json "$WORK"/*.log "$WORK"/*.pcap "$WORK"/relay.ready 2>/dev/null || true
mkdir -p "$WORK"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }

LAB=lhns$$
NS_A=$LAB-a NS_B=$LAB-b NS_WAN=$LAB-wan NS_CLIENT=$LAB-client NS_GUEST=$LAB-guest
VNI=4242 VXDEV=lhvx4242
# WAN: each site reaches the delay relay on its own /30 (see udp_delay_relay.py).
A_VTEP=198.18.0.1 A_RELAY=198.18.0.2 B_RELAY=198.18.0.5 B_VTEP=198.18.0.6
CLIENT_IP=198.18.10.10 GUEST_IP=198.18.10.20 GUEST_IP6=2001:2::20 CLIENT_IP6=2001:2::10
GUEST_MAC=52:54:00:4c:48:01
GW_IP=198.18.10.1 GW_MAC=02:00:00:4c:48:fe STALE_GW_MAC=02:00:00:4c:48:99
ROUNDS=0,50,200,450,800
STOP_AND_COPY_S=0.25            # simulated stop-and-copy; the port moves add a little more
pids=()
last_pid=

log() { echo "cutover-move: $*" >&2; }
fail() { echo "cutover-move: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Starts a command in a namespace in the background; `ip netns exec` execs it, so the pid in
# $last_pid (also recorded for cleanup) is the command's own.
nsbg() { local ns=$1; shift; ip netns exec "$ns" "$@" & last_pid=$!; pids+=($last_pid); }

# --- lab topology (one function; to be replaced by `wan-lab up --profile 100ms`) ---
lab_up() {
	local ns
	for ns in $NS_A $NS_B $NS_WAN $NS_CLIENT $NS_GUEST; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	# WAN links (MTU 1600: VXLAN's 50 bytes never fragment a 1500-byte guest frame)
	ip link add wan0 netns "$NS_A" mtu 1600 type veth peer name wa netns "$NS_WAN" mtu 1600
	ip link add wan0 netns "$NS_B" mtu 1600 type veth peer name wb netns "$NS_WAN" mtu 1600
	ip -n "$NS_A" addr add $A_VTEP/30 dev wan0
	ip -n "$NS_WAN" addr add $A_RELAY/30 dev wa
	ip -n "$NS_B" addr add $B_VTEP/30 dev wan0
	ip -n "$NS_WAN" addr add $B_RELAY/30 dev wb
	for ns in $NS_A $NS_B; do
		ip -n "$ns" link set wan0 up
		ip -n "$ns" link add br0 type bridge
		ip -n "$ns" link set br0 up
	done
	ip -n "$NS_WAN" link set wa up
	ip -n "$NS_WAN" link set wb up
	rm -f "$WORK/relay.ready"
	nsbg "$NS_WAN" python3 "$HERE/udp_delay_relay.py" --a $A_RELAY --a-peer $A_VTEP \
		--b $B_RELAY --b-peer $B_VTEP --delay-ms 50 --seconds 90 --ready "$WORK/relay.ready"
	for _ in $(seq 100); do [ -e "$WORK/relay.ready" ] && return 0; sleep 0.1; done
	fail "WAN delay relay did not start"
}

lab_down() {
	local ns
	for ns in $NS_A $NS_B $NS_WAN $NS_CLIENT $NS_GUEST; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	lab_down
}
trap cleanup EXIT

# A host port on a site bridge: veth with one end in NS (named eth0), the other on the bridge.
attach_host() { # NS SITE_NS PORTNAME
	ip link add eth0 netns "$1" type veth peer name "$3" netns "$2"
	ip -n "$2" link set "$3" master br0
	ip -n "$2" link set "$3" up
	ip -n "$1" link set eth0 up
}

lab_up
log "segments up"
nsx $NS_A "$LHNETCTL" segment up --bridge br0 --vni $VNI --local $A_VTEP --remote $A_RELAY \
	> "$WORK/seg-a.json"
nsx $NS_B "$LHNETCTL" segment up --bridge br0 --vni $VNI --local $B_VTEP --remote $B_RELAY \
	> "$WORK/seg-b.json"
again=$(nsx $NS_A "$LHNETCTL" segment up --bridge br0 --vni $VNI --local $A_VTEP --remote $A_RELAY)
grep -q '"changed":0' <<<"$again" || fail "segment up is not idempotent: $again"

attach_host $NS_CLIENT $NS_A cport
attach_host $NS_GUEST $NS_A gport
ip -n $NS_GUEST link set eth0 address $GUEST_MAC
# veth leaves TCP checksums to "hardware" (CHECKSUM_PARTIAL); through the userspace WAN relay
# nobody would fill them in, so the hosts compute them themselves, as with a real NIC path.
nsx $NS_CLIENT ethtool -K eth0 tx off >/dev/null
nsx $NS_GUEST ethtool -K eth0 tx off >/dev/null
ip -n $NS_CLIENT addr add $CLIENT_IP/24 dev eth0
ip -n $NS_CLIENT addr add $CLIENT_IP6/64 dev eth0 nodad
ip -n $NS_GUEST addr add $GUEST_IP/24 dev eth0
ip -n $NS_GUEST addr add $GUEST_IP6/64 dev eth0 nodad

# The guest talks first: its broadcast ARP crosses the VXLAN, so site B learns the guest MAC
# on its VXLAN port, the state that blackholes the guest after a move unless cutover clears it.
# Learning from ARP/ND on site A's bridge while the guest and the client first talk.
nsbg $NS_A "$LHNETCTL" learn --bridge br0 --seconds 2 > "$WORK/learn-a.json"
learn_pid=$last_pid
sleep 0.5
nsx $NS_GUEST ping -c 1 -W 2 $CLIENT_IP >/dev/null || fail "guest cannot reach client before the move"
nsx $NS_CLIENT ping -c 1 -W 2 $GUEST_IP6 >/dev/null || fail "client cannot reach guest (IPv6) before the move"
learned=0  # the broadcast needs the WAN's one-way 50 ms to reach site B
for _ in $(seq 40); do
	bridge -n $NS_B fdb show br br0 | grep -qi "$GUEST_MAC dev $VXDEV" && { learned=1; break; }
	sleep 0.05
done
wait $learn_pid || fail "lhnetctl learn failed"
for b in "\"mac\":\"$GUEST_MAC\",\"ip\":\"$GUEST_IP\"" "\"mac\":\"$GUEST_MAC\",\"ip\":\"$GUEST_IP6\""; do
	grep -q "$b" "$WORK/learn-a.json" || fail "learn did not see $b: $(cat "$WORK/learn-a.json")"
done
log "ok: learned the guest's IPv4 and IPv6 bindings from ARP/ND: $(cat "$WORK/learn-a.json")"
[ $learned = 1 ] ||
	{ bridge -n $NS_B fdb show >&2; fail "site B did not learn the guest MAC over VXLAN (precondition)"; }

nsbg $NS_GUEST python3 "$HERE/tcp_probe.py" server --addr $GUEST_IP --seconds 12 --out "$WORK/tcp-server.json"
tcp_server=$last_pid
for _ in $(seq 100); do nsx $NS_GUEST ss -Hltn "sport = :7007" | grep -q . && break; sleep 0.1; done
nsbg $NS_CLIENT python3 "$HERE/tcp_probe.py" client --addr $GUEST_IP --seconds 9 --out "$WORK/tcp-client.json"
tcp_client=$last_pid
nsbg $NS_CLIENT ping -D -i 0.01 -W 2 -w 8 $GUEST_IP > "$WORK/ping.log" 2>&1
ping_pid=$last_pid
nsbg $NS_B tcpdump -i br0 -n -U --immediate-mode -Z root -w "$WORK/dest-br0.pcap" \
	'arp or rarp or icmp6' 2> "$WORK/tcpdump.err"
tcpdump_pid=$last_pid
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.err" && break; sleep 0.1; done
sleep 2

log "moving the guest A -> B"
t_down=$(now)
ip -n $NS_A link set gport down
ip -n $NS_A link set gport netns $NS_B
sleep $STOP_AND_COPY_S
ip -n $NS_B link set gport master br0
ip -n $NS_B link set gport up
# A stale gateway MAC in the guest (a known post-migration outage cause). Seeded now because
# the veth stand-in's carrier loss flushed the guest's neighbour table (a real QEMU guest keeps it).
ip -n $NS_GUEST neigh replace $GW_IP lladdr $STALE_GW_MAC dev eth0 nud stale
t_cut=$(now)
nsbg $NS_B "$LHNETCTL" cutover --role destination --bridge br0 --dev $VXDEV --mac $GUEST_MAC \
	--ip $GUEST_IP --ip $GUEST_IP6 --remote-vtep $B_RELAY --rounds $ROUNDS \
	--gateway-ip $GW_IP --gateway-mac $GW_MAC > "$WORK/cutover-dst.json"
dst_pid=$last_pid
nsx $NS_A "$LHNETCTL" cutover --role source --bridge br0 --dev $VXDEV --mac $GUEST_MAC \
	--ip $GUEST_IP --remote-vtep $A_RELAY --rounds 0 > "$WORK/cutover-src.json" ||
	fail "source cutover: $(cat "$WORK/cutover-src.json")"
wait $dst_pid || fail "destination cutover: $(cat "$WORK/cutover-dst.json")"
downtime_ms=$(awk -v a="$t_down" -v b="$t_cut" 'BEGIN { printf "%.0f", (b - a) * 1000 }')

wait $ping_pid || true
wait $tcp_client || true
wait $tcp_server || true
sleep 0.2
kill $tcpdump_pid 2>/dev/null || true
wait $tcpdump_pid 2>/dev/null || true

# --- checks ---
rc=0
check() { if ! eval "$2"; then echo "cutover-move: FAIL: $1" >&2; rc=1; else log "ok: $1"; fi; }

log "source cutover: $(cat "$WORK/cutover-src.json")"
log "destination cutover: $(cat "$WORK/cutover-dst.json")"
check "source moved the guest MAC (self + master)" "grep -q '\"changed\":2' '$WORK/cutover-src.json'"
# Either the cutover removed site B's stale "MAC behind VXLAN" entry, or the guest spoke first
# (IPv6 DAD after carrier-up) and site B had already relearned it locally; fdb-moves.sh covers
# the removal deterministically.
if grep -q "\"kind\":\"removed\",\"what\":\"fdb $GUEST_MAC on $VXDEV master\"" "$WORK/cutover-dst.json"; then
	log "destination cutover removed the MAC learned over VXLAN"
else
	check "destination found the MAC already local" "grep -q 'master: not on $VXDEV' '$WORK/cutover-dst.json'"
fi
second=$(nsx $NS_A "$LHNETCTL" cutover --role source --bridge br0 --dev $VXDEV --mac $GUEST_MAC \
	--remote-vtep $A_RELAY --rounds 0)
check "a repeated source cutover changes nothing (no flapping)" "grep -q '\"changed\":0' <<<'$second'"

outage_json=$(python3 "$HERE/outage.py" "$WORK/ping.log")
outage_ms=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["outage_ms"])' "$outage_json")
echo "MEASURED: downtime ${downtime_ms} ms, ping outage ${outage_ms} ms ($outage_json)"
check "outage ${outage_ms} ms <= downtime ${downtime_ms} ms + 100 ms" \
	"awk -v o=$outage_ms -v d=$downtime_ms 'BEGIN { exit !(o <= d + 100) }'"

check "TCP: same connection, data both ways after the move" \
	"python3 - '$WORK/tcp-client.json' '$WORK/tcp-server.json' $t_cut <<'PY'
import json, sys
c, s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
after_c = [x for x in c['times'] if x > t + 0.5]
after_s = [x for x in s['times'] if x > t + 0.5]
print('tcp: client error=%s echoes=%d (after move %d), server error=%s lines=%d (after move %d), peer %s / local %s'
      % (c['error'], len(c['times']), len(after_c), s['error'], len(s['times']), len(after_s), s.get('peer'), c.get('local')), file=sys.stderr)
sys.exit(0 if not c['error'] and not s['error'] and after_c and after_s and s.get('peer') == c.get('local') else 1)
PY"

client_neigh=$(ip -n $NS_CLIENT neigh show $GUEST_IP dev eth0)
check "client ARP entry for the guest is the guest MAC ($client_neigh)" "grep -qi 'lladdr $GUEST_MAC' <<<'$client_neigh'"
client_neigh6=$(ip -n $NS_CLIENT -6 neigh show $GUEST_IP6 dev eth0)
check "client ND entry for the guest is the guest MAC ($client_neigh6)" "grep -qi 'lladdr $GUEST_MAC' <<<'$client_neigh6'"
fdb_a=$(bridge -n $NS_A fdb show | grep -i "$GUEST_MAC" || true)
fdb_b=$(bridge -n $NS_B fdb show | grep -i "$GUEST_MAC" || true)
log "site A fdb: $(tr '\n' ';' <<<"$fdb_a")"
log "site B fdb: $(tr '\n' ';' <<<"$fdb_b")"
check "site A: guest MAC -> VXLAN port and -> VTEP $A_RELAY" \
	"grep -q 'dev $VXDEV master br0' <<<'$fdb_a' && grep -q 'dev $VXDEV dst $A_RELAY self' <<<'$fdb_a'"
check "site B: guest MAC on its local port only" \
	"grep -q 'dev gport master br0' <<<'$fdb_b' && ! grep -q '$VXDEV' <<<'$fdb_b'"
gw_neigh=$(ip -n $NS_GUEST neigh show $GW_IP dev eth0)
check "guest's stale gateway entry corrected by the gateway GARP ($gw_neigh)" "grep -qi 'lladdr $GW_MAC' <<<'$gw_neigh'"
check "announcement rounds in the destination capture" \
	"python3 '$HERE/check_announce.py' '$WORK/dest-br0.pcap' --mac $GUEST_MAC --ip $GUEST_IP --ip $GUEST_IP6 \
		--rounds $ROUNDS --gateway-ip $GW_IP --gateway-mac $GW_MAC >&2"

down=$(nsx $NS_A "$LHNETCTL" segment down --bridge br0 --vni $VNI --local $A_VTEP)
check "segment down removes the VXLAN device it created" "grep -q '\"kind\":\"removed\"' <<<'$down'"
[ $rc = 0 ] && log "PASS (artifacts in $WORK)"
exit $rc
