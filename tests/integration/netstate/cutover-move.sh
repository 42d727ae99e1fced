#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Intent: a guest keeps its MAC/IP, its TCP connection and its peers' reachability when it moves
# from site A to site B of the WAN lab (100 ms RTT) over a VXLAN stretch, and that is netstate's
# doing: the same move is made twice, once with `lhnetctl cutover` at both sites and once without
# (control). With netstate the ping outage stays within the migration downtime + 100 ms, the TCP
# connection carries data both ways afterwards, the client's ARP/ND entries and both bridges' FDBs
# end right, and the destination's GARP/NA/RARP rounds have the right addresses and offsets.
#
# Topology (per run i, all inside the lab `nst`; see README.md next to this script):
#   lab site A (nst-a)                                    lab site B (nst-b)
#     gbrI (dedicated bridge) -- lhvxVNI ==== VXLAN over wan0, 100 ms RTT ==== lhvxVNI -- gbrI
#      |  \                                                                    |
#   client  gIa                                                               gIb
#             \____ upa --+                                         +-- upb __/
#                          vp (vport bridge, own namespace) --- gv == eth0 guest
# The guest's eth0 never loses carrier and keeps its neighbour table, as a migrated QEMU guest does.
# The move: upa leaves vp (stop-and-copy starts; site A's port gIa stays up, as the paused source
# tap stays attached), DOWNTIME_S later upb joins vp (the guest resumes at B). The vport's uplinks
# do not learn, so vp is a wire to whichever uplink is attached. The guest sends nothing by itself.
#
# usage: cutover-move.sh LHNETCTL WAN_LAB [WORKDIR]   (root; LH_WANEM may name lh-wanem)
#        addresses: 198.18.0.0/15 and 2001:2::/48 only
set -euo pipefail

LHNETCTL=$(readlink -f "${1:?usage: cutover-move.sh LHNETCTL WAN_LAB [WORKDIR]}")
WAN_LAB=$(readlink -f "${2:?usage: cutover-move.sh LHNETCTL WAN_LAB [WORKDIR]}")
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
WORK=${3:-$(mktemp -d /tmp/lh-netstate-XXXXXX)}
mkdir -p "$WORK"
rm -f "$WORK"/*.json "$WORK"/*.log "$WORK"/*.pcap "$WORK"/*.err 2>/dev/null || true
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; exit 77; }

LAB=nst
# Our own namespaces (client, guest, vport per run); the lab's are $LAB-a/-b/-wan.
P=lhnst$$
GUEST_MAC=52:54:00:4c:48:01
GW_IP_SUFFIX=1 GW_MAC=02:00:00:4c:48:fe STALE_GW_MAC=02:00:00:4c:48:99
ROUNDS=0,50,200,450,800
DOWNTIME_S=0.3                  # the simulated stop-and-copy: no uplink at all
PING_S=8 MOVE_AFTER_S=2
pids=()
my_ns=()
last_pid=

log() { echo "cutover-move: $*" >&2; }
fail() { echo "cutover-move: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# Starts a command in a namespace in the background; `ip netns exec` execs it, so the pid in
# $last_pid (also recorded for cleanup) is the command's own.
nsbg() { local ns=$1; shift; ip netns exec "$ns" "$@" & last_pid=$!; pids+=($last_pid); }
lab() { "$WAN_LAB" "$@" --lab $LAB; }

cleanup() {
	local p ns
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ns in "${my_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	lab down >/dev/null 2>&1 || true
}
trap cleanup EXIT

mkns() { ip netns add "$1"; my_ns+=("$1"); ip -n "$1" link set lo up; }
# No IPv6 on a port or a bridge that is not a host: it would send RS/MLD of its own.
no_ipv6() { nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"; }
# A port on bridge BR in namespace NS: veth PORT there, PEER (named PEERNAME) in PEERNS.
port_on() { # NS BR PORT PEERNS PEERNAME
	ip link add "$3" netns "$1" type veth peer name "$5" netns "$4"
	no_ipv6 "$1" "$3"
	ip -n "$1" link set "$3" master "$2"
	ip -n "$1" link set "$3" up
}

# --- the WAN lab: 100 ms RTT; WAN MTU 1600 so VXLAN's 50 bytes never fragment a 1500-byte frame
lab down >/dev/null 2>&1 || true   # a lab left by a killed run would keep its old bridges
lab up --profile 100ms --mtu 1600 >&2 || fail "wan-lab up"
status=$(lab status --json) || fail "wan-lab status"
read -r NS_A NS_B A_VTEP B_VTEP WAN_MTU < <(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); a, b = s["sites"][0], s["sites"][1]
print(a["netns"], b["netns"], a["wan_addr"], b["wan_addr"], s["mtu"])' "$status")
log "lab $LAB: $NS_A VTEP $A_VTEP, $NS_B VTEP $B_VTEP, RTT $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rtt_ms"])' "$status") ms, WAN MTU $WAN_MTU"
[ "$WAN_MTU" -ge 1550 ] || fail "WAN MTU $WAN_MTU cannot carry VXLAN frames of 1500-byte guests"

# --- one run: build segment i, move the guest, collect artifacts in $WORK/RUN-* -------------------
# Sets: R_DOWNTIME_MS, R_MOVE and R_RESUME (epoch), R_* names for the checks.
run_move() { # RUN(netstate|control|control-ping) I
	local run=$1 i=$2 vni=$((4240 + $2)) br=gbr$2 vx=lhvx$((4240 + $2)) w="$WORK/$1"
	local nc=$P-c$i ng=$P-g$i nv=$P-v$i net=198.18.$((99 + i))
	local client_ip=$net.10 guest_ip=$net.20 gw_ip=$net.$GW_IP_SUFFIX
	local client_ip6=2001:2:0:$((99 + i))::10 guest_ip6=2001:2:0:$((99 + i))::20
	local ns
	R_BR=$br R_VX=$vx R_PORT_B=g${i}b R_NC=$nc R_NG=$ng R_GUEST_IP=$guest_ip R_GUEST_IP6=$guest_ip6 R_GW_IP=$gw_ip

	for ns in $NS_A $NS_B; do
		ip -n "$ns" link add $br type bridge
		no_ipv6 "$ns" $br
		ip -n "$ns" link set $br up
	done
	nsx $NS_A "$LHNETCTL" segment up --bridge $br --vni $vni --local $A_VTEP --remote $B_VTEP \
		> "$w-seg-a.json" || fail "$run: segment up at A: $(cat "$w-seg-a.json")"
	nsx $NS_B "$LHNETCTL" segment up --bridge $br --vni $vni --local $B_VTEP --remote $A_VTEP \
		> "$w-seg-b.json" || fail "$run: segment up at B: $(cat "$w-seg-b.json")"
	if [ "$run" = netstate ]; then
		local again
		again=$(nsx $NS_A "$LHNETCTL" segment up --bridge $br --vni $vni --local $A_VTEP --remote $B_VTEP)
		grep -q '"changed":0' <<<"$again" || fail "segment up is not idempotent: $again"
	fi

	mkns $nc; mkns $ng; mkns $nv
	# The guest sends nothing by itself during the test: no IPv6 router solicitations (they
	# repeat with backoff while no router answers, and a flooded RS would relearn the bridges).
	for ns in all default; do nsx $ng sysctl -qw net.ipv6.conf.$ns.router_solicitations=0; done
	for ns in all default; do nsx $nv sysctl -qw net.ipv6.conf.$ns.disable_ipv6=1; done
	ip -n $nv link add vp type bridge
	ip -n $nv link set vp up
	port_on $NS_A $br c$i $nc eth0                        # the client, at site A
	port_on $NS_A $br g${i}a $nv upa                      # the guest's uplink to site A
	port_on $NS_B $br g${i}b $nv upb                      # ... and to site B (not in vp yet)
	ip link add gv netns $nv type veth peer name eth0 netns $ng
	for p in gv upa; do ip -n $nv link set $p master vp; done
	bridge -n $nv link set dev upa learning off
	for p in gv upa upb; do ip -n $nv link set $p up; done
	ip -n $ng link set eth0 address $GUEST_MAC
	ip -n $ng link set eth0 up
	ip -n $nc link set eth0 up
	# veth leaves TCP checksums to "hardware" (CHECKSUM_PARTIAL); the userspace WAN emulator
	# forwards copies, so the hosts compute them themselves, as with a real NIC path.
	nsx $nc ethtool -K eth0 tx off >/dev/null
	nsx $ng ethtool -K eth0 tx off >/dev/null
	# The client re-verifies its IPv6 neighbours only after 60 s: otherwise its NUD probe (from its
	# link-local address, ~5 s after the priming ping below) makes the guest probe back 5 s later,
	# which can land inside the move and would be the guest transmitting of its own accord.
	nsx $nc sysctl -qw net.ipv6.neigh.eth0.delay_first_probe_time=60
	ip -n $nc addr add $client_ip/24 dev eth0
	ip -n $nc addr add $client_ip6/64 dev eth0 nodad
	ip -n $ng addr add $guest_ip/24 dev eth0
	ip -n $ng addr add $guest_ip6/64 dev eth0 nodad
	# A stale gateway MAC in the guest's neighbour table (a known post-migration outage cause);
	# the guest keeps it across the move, the destination's gateway GARP must correct it.
	ip -n $ng neigh replace $gw_ip lladdr $STALE_GW_MAC dev eth0 nud stale

	# The guest talks first: its broadcast ARP crosses the VXLAN, so site B learns the guest MAC
	# on its VXLAN port, the state that blackholes the guest after a move unless cutover clears it.
	local learn_pid=
	if [ "$run" = netstate ]; then
		nsbg $NS_A "$LHNETCTL" learn --bridge $br --seconds 2 > "$w-learn-a.json"
		learn_pid=$last_pid
		sleep 0.5
	fi
	nsx $ng ping -c 1 -W 2 $client_ip >/dev/null || fail "$run: guest cannot reach client before the move"
	# IPv6 from the guest's side too: the guest's entry for the client is then confirmed
	# (REACHABLE, 15-45 s) and it sends no NUD probe of its own during the test.
	nsx $ng ping -c 1 -W 2 $client_ip6 >/dev/null || fail "$run: guest cannot reach client (IPv6) before the move"
	local learned=0 _  # the broadcast needs the WAN's one-way 50 ms to reach site B
	for _ in $(seq 40); do
		bridge -n $NS_B fdb show br $br | grep -qi "$GUEST_MAC dev $vx" && { learned=1; break; }
		sleep 0.05
	done
	[ $learned = 1 ] ||
		{ bridge -n $NS_B fdb show br $br >&2; fail "$run: site B did not learn the guest MAC over VXLAN (precondition)"; }
	if [ -n "$learn_pid" ]; then
		wait $learn_pid || fail "lhnetctl learn failed"
		local b
		for b in "\"mac\":\"$GUEST_MAC\",\"ip\":\"$guest_ip\"" "\"mac\":\"$GUEST_MAC\",\"ip\":\"$guest_ip6\""; do
			grep -q "$b" "$w-learn-a.json" || fail "learn did not see $b: $(cat "$w-learn-a.json")"
		done
		log "ok: learned the guest's IPv4 and IPv6 bindings from ARP/ND: $(cat "$w-learn-a.json")"
	fi

	# The guest's IPv6 start-up (DAD, then MLD reports repeated up to 1 s apart) must be over
	# before the move, or a flooded report would relearn the bridges in the guest's place.
	for _ in $(seq 50); do [ -z "$(ip -n $ng -6 addr show dev eth0 tentative)" ] && break; sleep 0.1; done
	sleep 2.5
	local tcp_server= tcp_client=
	if [ "$run" != control-ping ]; then
		nsbg $ng python3 "$HERE/tcp_probe.py" server --addr $guest_ip --seconds $((PING_S + 4)) --out "$w-tcp-server.json"
		tcp_server=$last_pid
		for _ in $(seq 100); do nsx $ng ss -Hltn "sport = :7007" | grep -q . && break; sleep 0.1; done
		nsbg $nc python3 "$HERE/tcp_probe.py" client --addr $guest_ip --seconds $((PING_S + 1)) --out "$w-tcp-client.json"
		tcp_client=$last_pid
	fi
	nsbg $nc ping -D -i 0.01 -W 2 -w $PING_S $guest_ip > "$w-ping.log" 2>&1
	local ping_pid=$last_pid
	# Promiscuous on the bridge: also sees what the bridge forwards, so every frame from the guest.
	nsbg $NS_B tcpdump -i $br -n -U --immediate-mode -Z root -w "$w-dest.pcap" \
		"arp or rarp or icmp6 or ether src $GUEST_MAC" 2> "$w-tcpdump.err"
	local tcpdump_pid=$last_pid
	for _ in $(seq 50); do grep -q 'listening on' "$w-tcpdump.err" && break; sleep 0.1; done
	sleep $MOVE_AFTER_S

	log "$run: moving the guest A -> B (downtime ${DOWNTIME_S}s)"
	local t_down t_resume dst_pid src_pid
	t_down=$(now)
	ip -n $nv link set upa nomaster            # stop-and-copy: the guest is gone from A
	sleep $DOWNTIME_S
	ip -n $nv link set upb master vp           # the guest resumes at B
	bridge -n $nv link set dev upb learning off
	t_resume=$(now)
	if [ "$run" = netstate ]; then
		# What longhauld does when the migration completes, at both gateways at once.
		nsbg $NS_B "$LHNETCTL" cutover --role destination --bridge $br --dev $vx --mac $GUEST_MAC \
			--ip $guest_ip --ip $guest_ip6 --remote-vtep $A_VTEP --rounds $ROUNDS \
			--gateway-ip $gw_ip --gateway-mac $GW_MAC > "$w-cutover-dst.json"
		dst_pid=$last_pid
		nsbg $NS_A "$LHNETCTL" cutover --role source --bridge $br --dev $vx --mac $GUEST_MAC \
			--ip $guest_ip --remote-vtep $B_VTEP --rounds 0 > "$w-cutover-src.json"
		src_pid=$last_pid
		wait $src_pid || fail "source cutover: $(cat "$w-cutover-src.json")"
		wait $dst_pid || fail "destination cutover: $(cat "$w-cutover-dst.json")"
	fi
	R_MOVE=$t_down
	R_DOWNTIME_MS=$(awk -v a="$t_down" -v b="$t_resume" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	R_RESUME=$t_resume

	wait $ping_pid || true
	[ -z "$tcp_client" ] || wait $tcp_client || true
	[ -z "$tcp_server" ] || wait $tcp_server || true
	sleep 0.2
	kill $tcpdump_pid 2>/dev/null || true
	wait $tcpdump_pid 2>/dev/null || true
}

outage_of() { # RUN -> JSON
	python3 "$HERE/outage.py" "$WORK/$1-ping.log"
}
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# FDB entries for the guest MAC on one site: "ifname master" / "ifname self dst IP" per line.
fdb_of() { # NS BRIDGE
	bridge -n "$1" -j fdb show br "$2" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e.get("mac", "").lower() == sys.argv[1].lower():
        kind = "self" if "self" in e.get("flags", []) or "master" not in e else "master"
        print(e["ifname"], kind, ("dst " + e["dst"]) if "dst" in e else "", e.get("master", ""))' "$GUEST_MAC"
}

rc=0
check() { if ! eval "$2"; then echo "cutover-move: FAIL: $1" >&2; rc=1; else log "ok: $1"; fi; }

# ================= run 1: with netstate's cutover at both sites ==================================
run_move netstate 1
W="$WORK/netstate"
ns_downtime=$R_DOWNTIME_MS ns_resume=$R_RESUME
# The move's window: from the stop to 1 s after the resume (the rounds end at +800 ms).
window() { awk -v a="$R_MOVE" -v b="$R_RESUME" 'BEGIN { printf "%.6f,%.6f", a, b + 1 }'; }
log "source cutover: $(cat "$W-cutover-src.json")"
log "destination cutover: $(cat "$W-cutover-dst.json")"
check "source moved the guest MAC (VXLAN self + bridge master)" "grep -q '\"changed\":2' '$W-cutover-src.json'"
check "destination removed the MAC learned over VXLAN (the guest stayed silent, so it was still there)" \
	"grep -q '\"kind\":\"removed\",\"what\":\"fdb $GUEST_MAC on $R_VX master\"' '$W-cutover-dst.json'"
second=$(nsx $NS_A "$LHNETCTL" cutover --role source --bridge $R_BR --dev $R_VX --mac $GUEST_MAC \
	--remote-vtep $B_VTEP --rounds 0)
check "a repeated source cutover changes nothing (no flapping)" "grep -q '\"changed\":0' <<<'$second'"

ns_outage_json=$(outage_of netstate)
ns_outage=$(jget "$ns_outage_json" outage_ms)
check "TCP: same connection, data both ways after the move" \
	"python3 '$HERE/tcp_check.py' '$W-tcp-client.json' '$W-tcp-server.json' $ns_resume"
client_neigh=$(ip -n $R_NC neigh show $R_GUEST_IP dev eth0)
check "client ARP entry for the guest is the guest MAC ($client_neigh)" "grep -qi 'lladdr $GUEST_MAC' <<<'$client_neigh'"
client_neigh6=$(ip -n $R_NC -6 neigh show $R_GUEST_IP6 dev eth0)
check "client ND entry for the guest is the guest MAC ($client_neigh6)" "grep -qi 'lladdr $GUEST_MAC' <<<'$client_neigh6'"
fdb_a=$(fdb_of $NS_A $R_BR) fdb_b=$(fdb_of $NS_B $R_BR)
log "site A fdb for $GUEST_MAC: $(tr '\n' ';' <<<"$fdb_a")"
log "site B fdb for $GUEST_MAC: $(tr '\n' ';' <<<"$fdb_b")"
check "site A: guest MAC -> VXLAN port (master) and -> VTEP $B_VTEP (self), nothing else" \
	"[ \"\$(sort <<<'$fdb_a' | tr -s ' ')\" = \"\$(printf '%s\n' '$R_VX master $R_BR' '$R_VX self dst $B_VTEP ' | sort | tr -s ' ')\" ]"
check "site B: guest MAC on its local port $R_PORT_B only" "[ \"\$(tr -s ' ' <<<'$fdb_b')\" = '$R_PORT_B master $R_BR' ]"
gw_neigh=$(ip -n $R_NG neigh show $R_GW_IP dev eth0)
check "guest's stale gateway entry corrected by the gateway GARP ($gw_neigh)" "grep -qi 'lladdr $GW_MAC' <<<'$gw_neigh'"
check "announcement rounds in the destination capture, and nothing else from the guest MAC during the move" \
	"python3 '$HERE/check_announce.py' '$W-dest.pcap' --mac $GUEST_MAC --ip $R_GUEST_IP --ip $R_GUEST_IP6 \
		--rounds $ROUNDS --gateway-ip $R_GW_IP --gateway-mac $GW_MAC --resume-at $ns_resume --strict --window $(window) >&2"
down=$(nsx $NS_A "$LHNETCTL" segment down --bridge $R_BR --vni 4241 --local $A_VTEP)
check "segment down removes the VXLAN device it created" "grep -q '\"kind\":\"removed\"' <<<'$down'"

# ================= runs 2 and 3: the same move, no cutover (control) =============================
# Without cutover, site A keeps sending the guest's frames to the paused port and site B keeps the
# guest's MAC on its VXLAN port: the path comes back only when the guest itself transmits. With
# TCP that happens when the guest retransmits data it had in flight (run 2); a guest that only
# answers pings never transmits first (run 3), so its outage lasts to the end of the ping.
control_run() { # RUN I -> sets C_OUTAGE C_OUTAGE_JSON C_DOWNTIME
	run_move "$1" "$2"
	W="$WORK/$1"
	C_DOWNTIME=$R_DOWNTIME_MS
	C_OUTAGE_JSON=$(outage_of "$1")
	C_OUTAGE=$(jget "$C_OUTAGE_JSON" outage_ms)
	check "$1: the guest sent no ARP/RARP/ND of its own during the move (B's capture)" \
		"python3 '$HERE/check_announce.py' '$W-dest.pcap' --mac $GUEST_MAC --expect-silent --resume-at $R_RESUME --window $(window) >&2"
	log "$1: site A fdb for $GUEST_MAC: $(fdb_of $NS_A $R_BR | tr '\n' ';')"
	log "$1: site B fdb for $GUEST_MAC: $(fdb_of $NS_B $R_BR | tr '\n' ';')"
	[ "$1" = control-ping ] || python3 "$HERE/tcp_check.py" "$W-tcp-client.json" "$W-tcp-server.json" "$R_RESUME" || true
}
control_run control 2
ct_downtime=$C_DOWNTIME ct_outage=$C_OUTAGE ct_outage_json=$C_OUTAGE_JSON
control_run control-ping 3
cp_downtime=$C_DOWNTIME cp_outage=$C_OUTAGE cp_outage_json=$C_OUTAGE_JSON

echo "MEASURED (WAN lab $LAB, RTT 100 ms): with netstate: downtime ${ns_downtime} ms, ping outage ${ns_outage} ms ($ns_outage_json)"
echo "MEASURED (control, no cutover, TCP + ping): downtime ${ct_downtime} ms, ping outage ${ct_outage} ms ($ct_outage_json)"
echo "MEASURED (control, no cutover, ping only): downtime ${cp_downtime} ms, ping outage ${cp_outage} ms ($cp_outage_json)"
check "with netstate: outage ${ns_outage} ms <= downtime ${ns_downtime} ms + 100 ms" \
	"awk -v o=$ns_outage -v d=$ns_downtime 'BEGIN { exit !(o <= d + 100) }'"
[ $rc = 0 ] && log "PASS (artifacts in $WORK)"
exit $rc
