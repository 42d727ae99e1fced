#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cut.sh: `wan-lab cut` is a black hole both ways (an open TCP connection is not reset, it resumes after `heal`),
# cut and heal are idempotent, a cut of one site isolates that site, status names the cut sites, `up` heals;
# `cut --tcp-port P` black-holes the connections on port P only, `cut --for S` restores by itself.
. "$(dirname "$0")/lib.sh"
lab=wl-cut
got=$(mktemp)
trap 'rm -f "$got"; cleanup' EXIT

reaches() { in_site "$lab" "$1" ping -q -n -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }
cut_is() { [ "$(status_get "$lab" '" ".join(d["cut"])')" = "$1" ] || fail "status cut: want '$1', got '$(status_get "$lab" 'd["cut"]')'"; }

lab_up "$lab" --rtt 20 >/dev/null
a=$(status_get "$lab" 'd["sites"][0]["lan_addr"]')
b=$(status_get "$lab" 'd["sites"][1]["lan_addr"]')
reaches a "$b" && reaches b "$a" || fail "no path before the cut"
cut_is ""

# A TCP connection across the WAN, open through a cut: one byte before, one during (held back), one after.
in_site "$lab" b python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 5299)); s.listen(1)
c, _ = s.accept(); c.settimeout(30); got = b""
while len(got) < 3:
    d = c.recv(16)
    if not d: break
    got += d
print(got.decode())' "$b" >"$got" 2>&1 &
BG_PIDS+=($!)
exec {tcp}> >(in_site "$lab" a python3 -c '
import socket, sys, time
for _ in range(50):
    try:
        c = socket.create_connection((sys.argv[1], 5299), timeout=2); break
    except OSError:
        time.sleep(0.1)
for line in sys.stdin:
    c.sendall(line.strip().encode())
time.sleep(5)' "$b")
echo x >&$tcp

"$WAN_LAB" cut --lab "$lab"
"$WAN_LAB" cut --lab "$lab" || fail "a second cut is not a no-op"
cut_is "a b"
reaches a "$b" && fail "a reaches b through the cut"
reaches b "$a" && fail "b reaches a through the cut"
echo y >&$tcp
sleep 1
"$WAN_LAB" heal --lab "$lab"
"$WAN_LAB" heal --lab "$lab" || fail "a second heal is not a no-op"
cut_is ""
reaches a "$b" && reaches b "$a" || fail "no path after heal"
echo z >&$tcp
exec {tcp}>&-
wait "${BG_PIDS[0]}" || true
[ "$(cat "$got")" = xyz ] || fail "the TCP connection did not carry on through the cut: '$(cat "$got")'"
echo "cut: no ping either way, the open TCP connection resumed after heal (xyz)"

# One site: it alone is cut off, both ways.
"$WAN_LAB" cut --lab "$lab" a
cut_is "a"
reaches a "$b" && fail "cut a: a reaches b"
reaches b "$a" && fail "cut a: b reaches a"
"$WAN_LAB" cut --lab "$lab" c 2>/dev/null && fail "cut of a site the lab does not have succeeded"
# up with the same parameters heals
"$WAN_LAB" up --lab "$lab" --rtt 20 2>&1 | grep -q 'already up' || fail "up on a cut lab rebuilt it"
cut_is ""
reaches a "$b" || fail "up did not heal the cut"
echo "cut of site a isolates it both ways; up heals"

# --for: restored by itself.
"$WAN_LAB" cut --lab "$lab" --for 2
reaches a "$b" && fail "cut --for 2: a reaches b at once"
sleep 2.5
cut_is ""
reaches a "$b" && reaches b "$a" || fail "cut --for 2 was not restored after 2 s"
echo "cut --for 2 restored itself"

# --tcp-port: two connections, one on port 5301 and one on 5302; only the first is black-holed, both ways.
in_site "$lab" b python3 -c '
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], port)); s.listen(1)
    c, _ = s.accept(); c.settimeout(40)
    while True:
        try:
            d = c.recv(16)
        except OSError:
            return
        if not d: return
        c.sendall(d)
ts = [threading.Thread(target=serve, args=(p,)) for p in (5301, 5302)]
[t.start() for t in ts]; [t.join() for t in ts]' "$b" >/dev/null 2>&1 &
BG_PIDS+=($!)
port_out=$(mktemp)
exec {pc}> >(in_site "$lab" a python3 -u -c '
import socket, sys, time
cs = {}
for port in (5301, 5302):
    for _ in range(50):
        try:
            cs[port] = socket.create_connection((sys.argv[1], port), timeout=2); break
        except OSError:
            time.sleep(0.1)
for line in sys.stdin:
    wait = float(line)
    for port, c in cs.items():
        c.settimeout(wait)
        c.sendall(b"p")
    for port, c in cs.items():
        try:
            ok = c.recv(16) == b"p"
        except OSError:
            ok = False
        print(port, "echo" if ok else "silent", flush=True)' "$b" >"$port_out")
echo 2 >&$pc
sleep 2.5
grep -q "5301 echo" "$port_out" && grep -q "5302 echo" "$port_out" || fail "no echo before the port cut: $(cat "$port_out")"
: >"$port_out"
"$WAN_LAB" cut --lab "$lab" --tcp-port 5301
cut_is "a:tcp:5301 b:tcp:5301"
echo 2 >&$pc
sleep 4.5
grep -q "5301 silent" "$port_out" || fail "port 5301 echoed through its cut: $(cat "$port_out")"
grep -q "5302 echo" "$port_out" || fail "port 5302 was cut too: $(cat "$port_out")"
reaches a "$b" || fail "a port cut stopped pings"
"$WAN_LAB" restore --lab "$lab"
cut_is ""
: >"$port_out"
echo 15 >&$pc
for _ in $(seq 150); do grep -q "5302" "$port_out" && break; sleep 0.1; done
grep -q "5301 echo" "$port_out" || fail "port 5301 did not resume after restore: $(cat "$port_out")"
exec {pc}>&-
rm -f "$port_out"
echo "cut --tcp-port 5301: that connection silent both ways, 5302 and ping untouched; it resumed after restore"
echo "PASS"
