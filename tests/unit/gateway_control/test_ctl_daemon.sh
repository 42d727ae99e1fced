#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# longhaulctl against the real longhauld (in a private network namespace): routes, errors, reload, drain, and
# the audit records of those actions (the client's uid and pid; the file reopened by a reload after a rename).
# Usage: test_ctl_daemon.sh LONGHAULD LONGHAULCTL   (root: needs unshare -n)
set -u
LONGHAULD=$1 CTL=$2
fail=0
check() { # check "what" command...
	local what=$1; shift
	if ! "$@"; then echo "FAIL: $what" >&2; fail=1; fi
}
D=$(mktemp -d /tmp/lh-ctld-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/k.pem" \
	-out "$D/c.pem" -subj /CN=site-a -days 2 2>/dev/null || { echo "openssl failed" >&2; exit 1; }
cat > "$D/g.conf" <<CONF
[gateway]
name = site-a
control_socket = $D/ctl.sock
state_dir = $D/state
audit_log = $D/audit.jsonl
lan_address = 198.18.0.1
[wan]
listen = 198.18.0.1:7000
cert = $D/c.pem
key = $D/k.pem
ca = $D/c.pem
peer_name = site-b
[route vm1]
listen = 198.18.0.1:4444
to = 198.19.0.10:4444
CONF

# The namespace lives as long as longhauld; only its own loopback carries 198.18.0.1.
unshare -n sh -c "ip link set lo up && ip addr add 198.18.0.1/32 dev lo && exec timeout 60 '$LONGHAULD' -d --config '$D/g.conf'" \
	2> "$D/log" &
pid=$!
for _ in $(seq 50); do [ -S "$D/ctl.sock" ] && break; sleep 0.1; done
check "control socket exists with mode 0600" test "$(stat -c %a "$D/ctl.sock" 2>/dev/null)" = 600

ctl() { "$CTL" -s "$D/ctl.sock" "$@"; }
out=$(ctl status); rc=$?
check "status rc 0" test $rc -eq 0
check "status names the gateway" grep -q '^gateway     site-a (running)$' <<<"$out"
check "status lists route vm1" grep -Eq '^vm1 +tcp:198\.18\.0\.1:4444 +198\.19\.0\.10:4444 +no +0$' <<<"$out"
check "no migrations" test "$(ctl migrations)" = "no migrations"
check "migrations --json" test "$(ctl migrations --json)" = '{"ok":true,"wan_down_s":0,"outage_budget_s":300,"migrations":[]}'

check "migrate add with --listen prints its URI" \
	test "$(ctl migrate add --name vm2 --to 198.19.0.11:4444 --listen 198.18.0.1:4500 --mac 52:54:00:00:00:02)" = "tcp:198.18.0.1:4500"
uri=$(ctl migrate add --name vm3 --to dest.example:4444)
check "migrate add without --listen: lan_address, kernel-chosen port ($uri)" grep -Eq '^tcp:198\.18\.0\.1:[1-9][0-9]*$' <<<"$uri"
err=$(ctl migrate add --name vm2 --to 198.19.0.11:1 2>&1 >/dev/null); rc=$?
check "duplicate route refused with exit 1 ($err)" test $rc -eq 1
err=$(ctl migrate del nope 2>&1); rc=$?
check "unknown route: exit 1 and a message ($err)" test $rc -eq 1 -a -n "$err"
check "migrate del" test "$(ctl migrate del vm3)" = "route vm3 removed"
check "status shows the dynamic route" grep -Eq '^vm2 +tcp:198\.18\.0\.1:4500 +198\.19\.0\.11:4444 +yes' <<<"$(ctl status)"

# logrotate-style: rename, then reload; the reload's own record is the first of the new file
mv "$D/audit.jsonl" "$D/audit.jsonl.1"
check "reload of a good file" test "$(ctl reload)" = "reloaded"
check "status: audit_lost 0" grep -q '"audit_lost":0' <<<"$(ctl status --json)"
echo "streams = 0" >> "$D/g.conf"
err=$(ctl reload 2>&1); rc=$?
check "reload of a bad file: exit 1 naming the error ($err)" test $rc -eq 1
check "the error names file and line" grep -q "g.conf:16: route vm1: unknown key .streams." <<<"$err"
# show-config is checked once longhauld registers it (CONTROL.md)
out=$(ctl show-config 2>&1); rc=$?
if ! grep -q 'unknown command "show-config"' <<<"$out"; then
	check "show-config" grep -q '^name = site-a$' <<<"$out"
fi

# logrotate sends SIGHUP: the audit log is reopened even though the config file now has an error
mv "$D/audit.jsonl" "$D/audit.jsonl.2"
lhd=$(pgrep -P "$pid" -x longhauld)
check "SIGHUP to longhauld ($lhd)" kill -HUP "$lhd"
for _ in $(seq 50); do [ -e "$D/audit.jsonl" ] && break; sleep 0.1; done
check "SIGHUP reopened the audit log" test -e "$D/audit.jsonl"
out=$(ctl drain); rc=$?
check "drain" test $rc -eq 0
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "longhauld exits after drain" sh -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null; pid=
check "socket removed" test ! -e "$D/ctl.sock"
# audit_has FILE EVENT ROUTE: a whole-JSON-lines file with that record, carrying uid 0 and a pid
audit_has() {
	python3 - "$@" <<'PY'
import json, sys
path, event, route = sys.argv[1:4]
recs = [json.loads(l) for l in open(path)]
sys.exit(0 if any(r["event"] == event and r.get("route", "") == route and r.get("uid") == 0
		  and r.get("pid", 0) > 0 for r in recs) else 1)
PY
}
check "audit: route-add of vm2 with uid and pid (rotated file)" audit_has "$D/audit.jsonl.1" route-add vm2
check "audit: route-del of vm3 with uid and pid" audit_has "$D/audit.jsonl.1" route-del vm3
check "audit: reload went to the reopened file" audit_has "$D/audit.jsonl.2" reload ""
check "audit: drain written at exit" audit_has "$D/audit.jsonl" drain ""
err=$(ctl status 2>&1); rc=$?
check "no daemon: exit 3" test $rc -eq 3
if [ $fail -ne 0 ]; then
	echo "--- longhauld log" >&2; cat "$D/log" >&2
	exit 1
fi
echo "test_ctl_daemon: all checks passed"
