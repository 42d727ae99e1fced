#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# [wan] peer as a DNS name, resolved off the event loop (private network and mount namespaces, root): the name
# is dialed at the address /etc/hosts gives; once it stops resolving, the last good address is dialed (logged);
# a name that never resolves is logged and the control socket answers meanwhile.
# Usage: test_dns_peer.sh LONGHAULD LONGHAULCTL
set -u
LONGHAULD=$1 CTL=$2
fail=0
check() { # check "what" command...
	local what=$1; shift
	if ! "$@"; then echo "FAIL: $what" >&2; fail=1; fi
}
D=$(mktemp -d /tmp/lh-dnsp-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/k.pem" \
	-out "$D/c.pem" -subj /CN=site-a -days 2 2>/dev/null || { echo "openssl failed" >&2; exit 1; }
conf() { # conf PEER
	cat > "$D/g.conf" <<CONF
[gateway]
name = site-a
control_socket = $D/ctl.sock
state_dir = $D/state
lan_address = 198.18.0.1
log_level = debug
[wan]
peer = $1:7000
cert = $D/c.pem
key = $D/k.pem
ca = $D/c.pem
peer_name = site-b
CONF
}
# start: longhauld in its own namespaces, /etc/hosts replaced by $D/hosts (edited in place, the same inode)
start() {
	rm -f "$D/ctl.sock"
	unshare -n -m sh -c "mount --bind '$D/hosts' /etc/hosts && ip link set lo up && ip addr add 198.18.0.1/32 dev lo \
		&& exec timeout 60 '$LONGHAULD' -d --config '$D/g.conf'" 2> "$D/log" &
	pid=$!
	for _ in $(seq 50); do [ -S "$D/ctl.sock" ] && break; sleep 0.1; done
}
stop() {
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
}
wait_log() { # wait_log SECONDS PATTERN
	for _ in $(seq $(($1 * 10))); do grep -q "$2" "$D/log" && return 0; sleep 0.1; done
	return 1
}
ctl() { "$CTL" -s "$D/ctl.sock" "$@"; }

# 1. resolves, then stops resolving: the last good address is dialed
printf '127.0.0.1 localhost\n198.18.0.2 lhpeer.test\n' > "$D/hosts"
conf lhpeer.test
start
# nothing routes 198.18.0.2 in the namespace: the connect fails at once, which shows the address was dialed
check "the name is dialed at its address" wait_log 10 "connect stream .*: Network is unreachable"
printf '127.0.0.1 localhost\n' > "$D/hosts"
check "a failed resolution dials the last good address" \
	wait_log 20 "cannot resolve peer lhpeer.test (.*): dialing its last good address 198.18.0.2"
check "status answers meanwhile" timeout 2 "$CTL" -s "$D/ctl.sock" status >/dev/null
check "logged once per run of failures" test "$(grep -c 'dialing its last good address' "$D/log")" -eq 1
printf '127.0.0.1 localhost\n198.18.0.2 lhpeer.test\n' > "$D/hosts"
check "resolving again is logged" wait_log 20 "peer lhpeer.test resolves again"
stop
[ $fail -ne 0 ] && { echo "--- longhauld log (1)" >&2; cat "$D/log" >&2; }

# 2. a name that never resolves: logged, no address to dial, the daemon serves its control socket
conf nohost.test
start
check "an unresolvable peer is logged" wait_log 10 "cannot resolve peer nohost.test"
check "status answers" timeout 2 "$CTL" -s "$D/ctl.sock" status >/dev/null
check "nothing dialed" sh -c "! grep -q 'connect stream' '$D/log'"
stop
if [ $fail -ne 0 ]; then
	echo "--- longhauld log" >&2; cat "$D/log" >&2
	exit 1
fi
echo "test_dns_peer: all checks passed"
