#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# longhaulctl against fake_longhauld (real control server, canned replies): tables, --json, URIs, exit codes.
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

FAKE, CTL = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(sock, *args):
    p = subprocess.run([CTL, "-s", sock, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def write_config(d):
    path = os.path.join(d, "g.conf")
    with open(path, "w") as f:
        f.write(f"""[gateway]
name = site-a
[wan]
listen = 198.18.0.1:7000
cert = {path}
key = {path}
ca = {path}
peer_name = site-b
[route vm1]
listen = 198.18.1.1:4444
to = 198.19.0.10:4444
mac = 52:54:00:12:34:56
ip = 198.18.5.5
[segment lan]
bridge = br0
vni = 42
local = 198.18.0.1
remote = 198.19.0.1
""")
    return path


MIG_TABLE = """\
ID  DIR  ROUTE  PHASE               CH  FROM-HV  ON-WAN     RATIO  RATE          ELAPSED
7   out  vm1    streaming            3  1.5 GiB  192.0 MiB   8.0x  931.0 Mbit/s  0:00:12
2   out  db     failed (integrity)   1    512 B        0 B      -    0.0 Mbit/s  1:02:05
3   in   web    done (unconfirmed)   1  4.0 KiB    1.0 KiB   4.0x    0.5 Mbit/s  0:01:01
migration 2 (db): checksum mismatch on channel 0; destination reset
migration 3 (web): unconfirmed: no return path; destination QEMU closed main cleanly after the EOF
"""

STATUS = """\
gateway     site-a (running)
wan         session 00000000c0ffee01, 7/8 streams up
wan bytes   sent 3.0 GiB, received 1.0 MiB
wan faults  4 frames resent, 1 streams lost, 0 peers refused
migrations  1 active, 12 completed, 1 failed

ROUTE  URI                  TO                DYNAMIC  MIGRATIONS
vm1    tcp:198.18.1.1:4444  198.19.0.10:4444  no       3
"""


def test_with_fake(d):
    sock = os.path.join(d, "ctl.sock")
    fake = subprocess.Popen([FAKE, sock, write_config(d)], stdout=subprocess.PIPE, text=True)
    try:
        check(fake.stdout.readline().strip() == "ready", "fake daemon started")
        check(oct(os.stat(sock).st_mode & 0o777) == "0o600", "socket mode 0600")

        rc, out, err = run(sock, "status")
        check(rc == 0 and out == STATUS, f"status table: rc {rc}\n{out}{err}")
        rc, out, _ = run(sock, "status", "--json")
        check(rc == 0 and json.loads(out)["wan"]["streams_up"] == 7 and out.count("\n") == 1, "status --json")

        rc, out, err = run(sock, "migrations")
        check(rc == 0 and out == MIG_TABLE, f"migrations table: rc {rc}\n{out}{err}")
        rc, out, _ = run(sock, "migrations", "--json")
        lines = out.splitlines()
        check(rc == 0 and len(lines) == 1, "migrations --json is one line")
        reply = json.loads(lines[0])
        check(reply["ok"] is True and [m["id"] for m in reply["migrations"]] == [7, 2, 3],
              "migrations --json passes the daemon's reply through")

        rc, out, err = run(sock, "migrate", "add", "--name", "vm2", "--to", "gw-b.example:5555",
                           "--mac", "52:54:00:00:00:01", "--mac", "52:54:00:00:00:02",
                           "--ip", "198.18.9.9")
        check(rc == 0 and out == "tcp:198.18.1.1:40001\n", f"migrate add prints the URI: {out!r} {err}")
        rc, out, _ = run(sock, "migrate", "add", "--name", "vm2", "--to", "[2001:db8::1]:5555",
                         "--listen", "198.18.1.2:4500", "--mac", "52:54:00:00:00:01", "--json")
        r = json.loads(out)
        check(rc == 0 and r["uri"] == "tcp:198.18.1.2:4500" and r["macs"] == 1 and r["ips"] == 0,
              f"migrate add --listen --json: {out}")
        rc, out, err = run(sock, "migrate", "add", "--name", "taken", "--to", "a:1")
        check(rc == 1 and out == "" and 'route "taken" already exists' in err,
              f"refused migrate add: rc {rc} {err}")
        for bad in (["--name", "x"], ["--to", "a:1"], ["--name", "x", "--to", "nohost"],
                    ["--name", "x", "--to", "a:1", "--listen", "name:1"],
                    ["--name", "x", "--to", "a:1", "--mac", "zz"],
                    ["--name", "x", "--to", "a:1", "--ip", "1.2.3"],
                    ["--name", "x", "--to", "a:1", "--bogus"], ["--name", "x", "--to", "a:1", "extra"]):
            rc, out, err = run(sock, "migrate", "add", *bad)
            check(rc == 2 and err.startswith("longhaulctl: "), f"usage error for {bad}: rc {rc}")

        rc, out, _ = run(sock, "migrate", "del", "vm1")
        check(rc == 0 and out == "route vm1 removed\n", "migrate del")
        rc, out, err = run(sock, "migrate", "del", "nope")
        check(rc == 1 and 'no route "nope"' in err, "migrate del of an unknown route")
        rc, _, _ = run(sock, "migrate", "del")
        check(rc == 2, "migrate del without a name")

        rc, out, _ = run(sock, "reload")
        check(rc == 0 and out == "reloaded\n", f"reload: {out}")
        rc, out, _ = run(sock, "drain")
        check(rc == 0 and out.startswith("draining: 1 migrations still active"), "drain")
        rc, out, _ = run(sock, "status")
        check("site-a (draining)" in out, "status after drain")

        rc, out, _ = run(sock, "show-config")
        check(rc == 0 and "[gateway]\nname = site-a\n" in out and "[route vm1]\nlisten = 198.18.1.1:4444\n"
              "to = 198.19.0.10:4444\nmac = 52:54:00:12:34:56\nip = 198.18.5.5\n" in out
              and "[segment lan]\nbridge = br0\ndevice = lhvx42\nvni = 42\n" in out
              and "streams = 8\n" in out and "# peer is not set\n" in out, f"show-config:\n{out}")
        rc, out, _ = run(sock, "show-config", "--json")
        check(rc == 0 and json.loads(out)["config"]["wan"]["streams"] == 8, "show-config --json")

        rc, out, _ = run(sock, "watch", "--count", "3", "--interval", "0.1")
        check(rc == 0 and out.count("--- ") == 3 and out.count("7   out  vm1") == 3, f"watch:\n{out}")
        rc, out, _ = run(sock, "watch", "--count", "2", "--interval", "0.1", "--json")
        rates = [json.loads(l)["migrations"][0]["rate_mbit"] for l in out.splitlines()]
        check(rc == 0 and len(rates) == 2 and rates[0] != rates[1], "watch --json asks each time")
        for bad in (["--count", "0"], ["--interval", "0"], ["--count"], ["--what"]):
            rc, _, _ = run(sock, "watch", *bad)
            check(rc == 2, f"watch usage error {bad}")
        rc, _, _ = run(sock, "frobnicate")
        check(rc == 2, "unknown command")
        rc, _, _ = run(sock, "status", "extra")
        check(rc == 2, "status with an extra argument")
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    check(not os.path.exists(sock), "daemon removed its socket")


def serve_once(sock_path, reply):
    """A broken daemon: answers every connection with `reply` and closes."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(20)

    def loop():
        try:
            conn, _ = srv.accept()
            conn.recv(65536)
            conn.sendall(reply)
            conn.close()
        except OSError:
            pass
        srv.close()
    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def test_broken_daemons(d):
    for i, reply in enumerate([b"not json\n", b'{"status":1}\n', b"", b'{"ok":true'],):
        path = os.path.join(d, f"broken{i}.sock")
        t = serve_once(path, reply)
        rc, out, err = run(path, "status")
        check(rc == 3 and err.startswith("longhaulctl: "), f"broken reply {reply!r}: rc {rc} {err}")
        t.join(timeout=10)
    rc, _, err = run(os.path.join(d, "absent.sock"), "status")
    check(rc == 3 and "cannot reach longhauld" in err, "no daemon -> exit 3")
    p = subprocess.run([CTL, "help"], capture_output=True, text=True)
    check(p.returncode == 0 and "exit status" in p.stdout, "help")
    p = subprocess.run([CTL], capture_output=True, text=True)
    check(p.returncode == 2, "no command")


d = tempfile.mkdtemp(prefix="lh-ctltest-")
try:
    test_with_fake(d)
    test_broken_daemons(d)
finally:
    shutil.rmtree(d, ignore_errors=True)
if failures:
    print(f"test_longhaulctl: {len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("test_longhaulctl: all checks passed")
