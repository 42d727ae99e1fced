#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""qemu-move.py: a real QEMU guest moves between two sites of the WAN lab, netstate cutover on completion.

Intent: the issue-6 proof with a real guest instead of a veth stand-in. The test guest (tests/guest,
lh.ip=...) runs in QEMU on a tap on site A's bridge; a client host on the same bridge pings it every
10 ms; the guest is live-migrated (precopy, over the lab's 100 ms WAN) to a QEMU on a tap on site B's
bridge; the two bridges are one VXLAN segment (lhnetctl segment up, VTEPs = the sites' WAN addresses).
When the destination reports `running`, the test does what longhauld does at cutover, with no gateway
in between: `lhnetctl cutover --role destination` at B and `--role source` at A.

With --longhauld (the product path): a longhauld pair carries the migration (QEMU -> gateway A ->
WAN -> gateway B -> QEMU, return-path on) and the gateways do everything themselves: each makes its
`[segment lan]` exist at startup (no lhnetctl), gateway A learns the guest's IP from ARP on its bridge
(the route registers only the guest's MAC), sends the identity to B in MIGRATION_OPEN, gateway B cuts
over when its QEMU sent SHUT 0 after the integrity gate, gateway A when its migration is done. A client
TCP connection to an echo server inside the guest (lh.echo) must survive the move.

QEMU's own post-migration announcements (RARP self-announce, and virtio-net's guest announce, which
makes the guest send GARPs) are switched off by default (--qemu-announce off), so that what restores
the path is netstate's cutover and nothing else; --qemu-announce on keeps QEMU's defaults.

Asserted: the migration completes and the guest's memory verifies at B (LH-MEMCHECK); ping outage <=
guest pause (source STOP -> destination RESUME, QMP event timestamps) + 100 ms; site A's FDB has the
guest MAC on the VXLAN port and at B's VTEP, site B's on its tap only; the client's ARP entry is the
guest MAC; B's bridge sends the announcement rounds (GARP request + reply, RARP, gateway GARP) at
0/50/200/450/800 ms. Printed: QEMU's reported downtime, the pause, the outage, what arrived from the
guest's tap after the resume.

usage: qemu-move.py --lhnetctl P --wan-lab P --guest-dir D [--work W] [--qemu-announce on|off] [--longhauld P]
Root; namespaces only; 198.18.0.0/15. Exit 77 (skip) without root, QEMU or the guest image.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
import lhqemu  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import gwpair  # noqa: E402

LAB = "nsq"
VNI, BR = 4250, "gbr"
VX = f"lhvx{VNI}"
CLIENT_IP, GUEST_IP, GW_IP = "198.18.110.10", "198.18.110.20", "198.18.110.1"
GUEST_MAC, GW_MAC = "52:54:00:4c:48:03", "02:00:00:4c:48:fe"
ROUNDS = "0,50,200,450,800"
CLIENT_NS = f"lhnsq{os.getpid()}-c"
ECHO_PORT = 7007
WAN_PORT, ROUTE_PORT, DST_PORT = 7000, 7100, 7200


def segment_conf(local, remote):
    return "\n".join(["[segment lan]", f"bridge = {BR}", f"vni = {VNI}", f"local = {local}", f"remote = {remote}",
                      f"announce_rounds = {ROUNDS}", f"gateway_ip = {GW_IP}", f"gateway_mac = {GW_MAC}", ""])


def log(msg):
    print(f"qemu-move: {msg}", file=sys.stderr, flush=True)


def sh(*argv, check=True, timeout=60):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise OSError(f"{' '.join(argv)}: rc={r.returncode} {r.stderr.strip()} {r.stdout.strip()}")
    return r


def nsx(ns, *argv, check=True):
    return sh("ip", "netns", "exec", ns, *argv, check=check)


def fdb_of(ns):
    """Bridge/VXLAN FDB entries for the guest MAC on BR's ports: sorted 'IF master|self [dst IP]'."""
    out = json.loads(sh("bridge", "-n", ns, "-j", "fdb", "show", "br", BR).stdout or "[]")
    rows = []
    for e in out:
        if e.get("mac", "").lower() == GUEST_MAC:
            kind = "self" if "self" in e.get("flags", []) or "master" not in e else "master"
            rows.append(" ".join([e["ifname"], kind] + ([f"dst {e['dst']}"] if "dst" in e else [])))
    return sorted(rows)


def event_time(qmp, name):
    """Wall-clock time of the last QMP event `name` (QEMU stamps events with gettimeofday)."""
    qmp.execute("query-status")  # drains events queued before this reply
    ev = [e for e in qmp.events if e.get("event") == name]
    if not ev:
        return None
    ts = ev[-1]["timestamp"]
    return ts["seconds"] + ts["microseconds"] / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lhnetctl", required=True)
    ap.add_argument("--wan-lab", required=True)
    ap.add_argument("--guest-dir", required=True)
    ap.add_argument("--work", default=None)
    ap.add_argument("--qemu-announce", choices=("on", "off"), default="off")
    ap.add_argument("--cutover", choices=("on", "off"), default="on",
                    help="off: a control run, no lhnetctl cutover; only the outage is reported")
    ap.add_argument("--longhauld", default=None, help="migrate through a longhauld pair, which cuts over")
    opts = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root for network namespaces")
        return 77
    if not shutil.which(lhqemu.QEMU) or not os.path.exists(os.path.join(opts.guest_dir, "guest.json")):
        print(f"SKIP: no {lhqemu.QEMU} or no guest image in {opts.guest_dir}")
        return 77
    lhqemu.exit_on_signals()
    work = opts.work or f"/tmp/lh-qemu-move-{os.getpid()}"
    os.makedirs(work, exist_ok=True)
    for f in os.listdir(work):
        if f.endswith((".pcap", ".log", ".json")):
            os.unlink(os.path.join(work, f))
    lhnetctl = os.path.abspath(opts.lhnetctl)
    wan_lab = [os.path.abspath(opts.wan_lab)]
    procs, guests, gws = [], [], []
    via_gw = bool(opts.longhauld)
    failures = []

    def check(what, ok, detail=""):
        if ok:
            log(f"ok: {what}")
        else:
            failures.append(what)
            log(f"FAIL: {what} {detail}")

    def bg(ns, argv, out):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=out, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    try:
        sh(*wan_lab, "down", "--lab", LAB, check=False)  # a lab left by a killed run keeps old bridges
        sh(*wan_lab, "up", "--lab", LAB, "--profile", "100ms", "--mtu", "1600")
        st = json.loads(sh(*wan_lab, "status", "--lab", LAB, "--json").stdout)
        a, b = st["sites"][0], st["sites"][1]
        ns_a, ns_b, vtep_a, vtep_b = a["netns"], b["netns"], a["wan_addr"], b["wan_addr"]
        log(f"lab {LAB}: {ns_a} VTEP {vtep_a}, {ns_b} VTEP {vtep_b}, RTT {st['rtt_ms']} ms, WAN MTU {st['mtu']}")

        # Site bridges (one VXLAN segment) and a tap per site for the guest's NIC.
        for ns, tap, local, remote in ((ns_a, "tap0", vtep_a, vtep_b), (ns_b, "tap1", vtep_b, vtep_a)):
            sh("ip", "-n", ns, "link", "add", BR, "type", "bridge")
            sh("ip", "-n", ns, "tuntap", "add", tap, "mode", "tap")
            for dev in (BR, tap):
                nsx(ns, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", tap, "master", BR)
            for dev in (BR, tap):
                sh("ip", "-n", ns, "link", "set", dev, "up")
            if not via_gw:
                nsx(ns, lhnetctl, "segment", "up", "--bridge", BR, "--vni", str(VNI), "--local", local,
                    "--remote", remote)
        if via_gw:
            # The gateways make the segment exist themselves, and carry the migration.
            certs = gwpair.make_certs(os.path.join(work, "certs"))
            # both gateways drop root after start-up ([gateway] user, issue 18): the cutover must still work
            # with only CAP_NET_ADMIN + CAP_NET_RAW (their state directories below must be reachable)
            os.chmod(work, 0o711)
            gw_b = gwpair.Gateway("gw-b", work, os.path.abspath(opts.longhauld), certs, peer_name="gw-a",
                                  netns=ns_b, wan_listen=f"{vtep_b}:{WAN_PORT}", streams=4, store_mb=256,
                                  log_level="info", extra_conf=segment_conf(vtep_b, vtep_a),
                                  metrics=f"{b['lan_addr']}:9100", user="nobody")
            gw_a = gwpair.Gateway("gw-a", work, os.path.abspath(opts.longhauld), certs, peer_name="gw-b",
                                  netns=ns_a, wan_peer=f"{vtep_b}:{WAN_PORT}", streams=4, store_mb=256, user="nobody",
                                  log_level="info", extra_conf=segment_conf(vtep_a, vtep_b) + "\n".join([
                                      "[route vm]", f"listen = {a['lan_addr']}:{ROUTE_PORT}",
                                      f"to = {b['lan_addr']}:{DST_PORT}", f"mac = {GUEST_MAC}", ""]))
            gws += [gw_b.start(), gw_a.start()]
            gw_a.wait_log(r"stream \d+ up", 20, count=4)
            for g in gws:
                g.wait_log(r"segment lan: vni %d on %s via %s ready" % (VNI, BR, VX), 10)
                g.wait_log(r"running as nobody", 10)
                with open("/proc/%d/status" % g.proc.pid) as f:
                    st = dict(ln.rstrip("\n").split(":\t", 1) for ln in f if ":\t" in ln)
                uid, capeff = st.get("Uid", "").split()[1:2], st.get("CapEff", "")
                print(f"{g.name}: running with uid {uid[0] if uid else '?'}, CapEff {capeff} "
                      "(0x3000: CAP_NET_ADMIN + CAP_NET_RAW)", flush=True)
                if not uid or uid[0] == "0" or int(capeff, 16) != 0x3000:
                    raise RuntimeError(f"{g.name} did not drop root to nobody with only the two capabilities")
        sh("ip", "netns", "add", CLIENT_NS)
        sh("ip", "-n", CLIENT_NS, "link", "set", "lo", "up")
        sh("ip", "link", "add", "eth0", "netns", CLIENT_NS, "type", "veth", "peer", "name", "cport", "netns", ns_a)
        nsx(ns_a, "sysctl", "-qw", "net.ipv6.conf.cport.disable_ipv6=1")
        sh("ip", "-n", ns_a, "link", "set", "cport", "master", BR, "up")
        sh("ip", "-n", CLIENT_NS, "addr", "add", f"{CLIENT_IP}/24", "dev", "eth0")
        sh("ip", "-n", CLIENT_NS, "link", "set", "eth0", "up")

        info = lhqemu.load_guest_info(opts.guest_dir)
        nic = f"virtio-net-pci,netdev=n0,mac={GUEST_MAC}"
        if opts.qemu_announce == "off":
            nic += ",guest_announce=off"
        lh = {"mem": 64, "seed": 11, "dirty": 256, "ip": f"{GUEST_IP}/24", "echo": ECHO_PORT}

        def guest(name, ns, tap, incoming=None):
            g = lhqemu.Guest(name, work, info, mem_mb=256, lh=lh, incoming=incoming, netns=ns,
                             extra_args=["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
                                         "-device", nic])
            guests.append(g)
            return g.start()
        dst = guest("dst", ns_b, "tap1", incoming="defer")
        src = guest("src", ns_a, "tap0")
        src.wait_serial(r"LH-NET up eth0", 120, fail_pattern=r"LH-NET FAIL|Kernel panic")
        src.wait_serial(r"LH-READY", 120)
        r = nsx(CLIENT_NS, "ping", "-c", "3", "-i", "0.2", "-W", "2", GUEST_IP, check=False)
        check("client reaches the guest at site A before the move", r.returncode == 0, r.stdout[-200:])
        if via_gw:
            learned = 0
            for _ in range(50):
                learned = gw_a.control("status")["segments"][0]["learned"]
                if learned:
                    break
                time.sleep(0.1)
            check("gateway A learned the guest's IP from ARP on its bridge", learned >= 1,
                  json.dumps(gw_a.control("status").get("segments")))
        log(f"before: site B fdb for the guest MAC: {fdb_of(ns_b)}")

        pcap_out, pcap_in = os.path.join(work, "dest-out.pcap"), os.path.join(work, "dest-in.pcap")
        # Frames B's bridge sends (lhnetctl's rounds) and frames it receives (QEMU's or the guest's own).
        dumps = []
        for direction, path in (("out", pcap_out), ("in", pcap_in)):
            err = open(os.path.join(work, f"tcpdump-{direction}.log"), "w")
            dumps.append((bg(ns_b, ["tcpdump", "-i", BR, "-n", "-U", "--immediate-mode", "-Z", "root",
                                    "-Q", direction, "-w", path, "arp or rarp or icmp6"], err), err))
        for _ in range(50):
            if all("listening on" in open(e.name).read() for _, e in dumps):
                break
            time.sleep(0.1)
        ping_log = open(os.path.join(work, "ping.log"), "w")
        ping = bg(CLIENT_NS, ["ping", "-D", "-i", "0.01", "-W", "2", "-w", "240", GUEST_IP], ping_log)
        tcp_out = os.path.join(work, "tcp-client.json")
        if via_gw:
            tcp = bg(CLIENT_NS, ["python3", os.path.join(HERE, "tcp_probe.py"), "client", "--addr", GUEST_IP,
                                 "--port", str(ECHO_PORT), "--seconds", "60", "--out", tcp_out],
                     open(os.path.join(work, "tcp-client.log"), "w"))
        time.sleep(2)

        params = {} if opts.qemu_announce == "on" else {"announce-rounds": 0}
        if via_gw:
            lhqemu.prepare_pair(src, dst, {"return-path": True}, params, dst_uri=f"tcp:{b['lan_addr']}:{DST_PORT}")
            uri = f"tcp:{a['lan_addr']}:{ROUTE_PORT}"
        else:
            port = lhqemu.prepare_pair(src, dst, {}, params, dst_uri=f"tcp:{vtep_b}:0")
            uri = f"tcp:{vtep_b}:{port}"
        if opts.qemu_announce == "off":
            dst.qmp.set_parameters({"announce-rounds": 0})
        log(f"migrating over the WAN: {uri}" + (" (through the gateway pair)" if via_gw else ""))
        t_mig = time.time()
        src.qmp.migrate(uri)
        deadline = time.monotonic() + 240
        while dst.qmp.status() != "running":
            if time.monotonic() > deadline:
                raise lhqemu.Timeout("destination not running within 240 s")
            time.sleep(0.005)
        t_seen = time.time()
        if opts.cutover == "on" and not via_gw:
            # What longhauld does when the migration completes: both gateways at once.
            outs = {}
            for role, ns, remote, rounds in (("destination", ns_b, vtep_a, ROUNDS), ("source", ns_a, vtep_b, "0")):
                outs[role] = os.path.join(work, f"cutover-{role}.json")
                argv = [lhnetctl, "cutover", "--role", role, "--bridge", BR, "--dev", VX, "--mac", GUEST_MAC,
                        "--ip", GUEST_IP, "--remote-vtep", remote, "--rounds", rounds]
                if role == "destination":
                    argv += ["--gateway-ip", GW_IP, "--gateway-mac", GW_MAC]
                with open(outs[role], "w") as f:
                    outs[role] = (bg(ns, argv, f), outs[role])
            for role, (p, path) in outs.items():
                rc = p.wait(timeout=30)
                check(f"{role} cutover", rc == 0, open(path).read())
                log(f"{role} cutover: {open(path).read().strip()}")

        res = lhqemu.finish_migration(src, dst, 60)
        log(f"migration: {json.dumps(res)}")
        check("migration completed, guest running at B with its memory verified",
              res["migration"]["status"] == "completed" and res["dest_loaded"] and res["memcheck"]["passed"])
        t_stop, t_resume = event_time(src.qmp, "STOP"), event_time(dst.qmp, "RESUME")
        time.sleep(1.5)
        if via_gw:
            tcp.send_signal(signal.SIGINT)
            tcp.wait(timeout=10)
        ping.send_signal(signal.SIGINT)
        ping.wait(timeout=10)
        time.sleep(0.2)
        for p, err in dumps:
            p.terminate()
            p.wait(timeout=10)
            err.close()
        ping_log.close()

        out = json.loads(sh("python3", os.path.join(HERE, "outage.py"), ping_log.name).stdout)
        pause_ms = (t_resume - t_stop) * 1000 if t_stop and t_resume else None
        print(f"MEASURED (QEMU guest, WAN lab {LAB}, RTT 100 ms, QEMU announce {opts.qemu_announce}): "
              f"migration {res['migration']['total_time_ms']} ms total, QEMU downtime {res['migration']['downtime_ms']} ms, "
              f"guest pause (src STOP -> dst RESUME) {pause_ms and round(pause_ms)} ms, "
              f"cutover started {round((t_seen - t_resume) * 1000) if t_resume else '?'} ms after RESUME, "
              f"ping outage {out['outage_ms']} ms ({json.dumps(out)})"
              + (" [through the longhauld pair, cutover by the gateways]" if via_gw else ""), flush=True)
        if via_gw:
            cuts = {}
            for g, role in ((gw_a, "source"), (gw_b, "destination")):
                migs = g.control("migrations")["migrations"]
                cuts[role] = migs[-1].get("cutover") if migs else None
                log(f"{g.name} migration: {json.dumps(migs[-1] if migs else None)}")
            check("gateway B cut over as destination: FDB made local, every round sent",
                  cuts["destination"] and cuts["destination"]["role"] == "destination"
                  and cuts["destination"]["rounds_sent"] == len(ROUNDS.split(","))
                  and not cuts["destination"].get("error"), json.dumps(cuts["destination"]))
            check("gateway A cut over as source: guest MAC pointed at B's VTEP",
                  cuts["source"] and cuts["source"]["role"] == "source" and cuts["source"]["fdb_changes"] >= 1
                  and not cuts["source"].get("error"), json.dumps(cuts["source"]))
            check("gateway B: destination accepted by SHUT 0 after the gate",
                  "destination accepted the migration (SHUT 0" in gw_b.log())
            met = nsx(ns_b, "python3", "-c", "import sys, json; sys.path.insert(0, %r); import gwpair; "
                      "print(json.dumps(gwpair.Gateway.metrics(None, %r)))"
                      % (os.path.join(HERE, "..", "gateway"), f"{b['lan_addr']}:9100")).stdout
            met = json.loads(met)
            check("gateway B's metrics count the cutover and its frames",
                  met.get("longhaul_cutovers_total") == 1 and met.get("longhaul_cutover_errors_total") == 0
                  and met.get("longhaul_announce_frames_total") == cuts["destination"]["frames_sent"],
                  json.dumps({k: v for k, v in met.items() if "cutover" in k or "announce" in k}))
            try:
                tc = json.load(open(tcp_out))
            except (OSError, ValueError) as e:
                tc = {"error": f"no summary: {e}", "times": []}
            after = [x for x in tc["times"] if x > (t_resume or t_seen) + 0.5]
            first = min((x for x in tc["times"] if x > (t_resume or t_seen)), default=None)
            print(f"MEASURED TCP: one connection {tc.get('local')} -> {GUEST_IP}:{ECHO_PORT}, "
                  f"{len(tc['times'])} echoes, {len(after)} after the move, first echo "
                  f"{round((first - (t_resume or t_seen)) * 1000) if first else 'never'} ms after RESUME, "
                  f"error {tc.get('error')}", flush=True)
            check("the client's TCP connection survived the move (echoes both ways afterwards, no reset)",
                  not tc.get("error") and len(after) >= 5)
        if opts.cutover == "off":
            log("control run (no cutover): outage reported, not judged")
        else:
            check(f"outage {out['outage_ms']} ms <= guest pause {pause_ms and round(pause_ms)} ms + 100 ms",
                  pause_ms is not None and out["recovered"] and out["outage_ms"] <= pause_ms + 100)
            fa, fb = fdb_of(ns_a), fdb_of(ns_b)
            log(f"site A fdb: {fa}; site B fdb: {fb}")
            check("site A: guest MAC -> VXLAN port and -> B's VTEP", fa == sorted([f"{VX} master", f"{VX} self dst {vtep_b}"]))
            check("site B: guest MAC on tap1 only", fb == ["tap1 master"])
            bneigh = sh("ip", "-n", ns_b, "neigh", "show", GUEST_IP, "dev", BR).stdout.strip()
            check(f"site B's bridge has a neighbour entry for the guest ({bneigh})",
                  f"lladdr {GUEST_MAC}" in bneigh.lower())
            neigh = sh("ip", "-n", CLIENT_NS, "neigh", "show", GUEST_IP, "dev", "eth0").stdout.strip()
            check(f"client ARP entry is the guest MAC ({neigh})", f"lladdr {GUEST_MAC}" in neigh.lower())
            r = sh("python3", os.path.join(HERE, "check_announce.py"), pcap_out, "--mac", GUEST_MAC, "--ip", GUEST_IP,
                   "--rounds", ROUNDS, "--gateway-ip", GW_IP, "--gateway-mac", GW_MAC,
                   "--resume-at", str(t_resume or t_seen), check=False)
            log(f"rounds sent by B's bridge: {r.stdout.strip()} {r.stderr.strip()}")
            check("announcement rounds from B's bridge (GARP req+reply, RARP, gateway GARP) at 0/50/200/450/800 ms",
                  r.returncode == 0)
        # What B's bridge received from the guest's side: QEMU's RARPs, the guest's GARPs (when on).
        r = sh("python3", os.path.join(HERE, "check_announce.py"), pcap_in, "--mac", GUEST_MAC, "--ip", GUEST_IP,
               "--list", "--resume-at", str(t_resume or t_seen), check=False)
        own = [f for f in json.loads(r.stdout or "[]") if f["at_ms"] > -1000]
        log(f"announcements received from the guest's tap around the move (ms after RESUME): {own}")
        if opts.qemu_announce == "off":
            check("with QEMU's announcements off, none came from the guest's tap", not own)
    except (lhqemu.Timeout, lhqemu.QMPError, AssertionError, OSError, subprocess.TimeoutExpired) as e:
        failures.append(f"{type(e).__name__}: {e}")
        log(f"FAIL: {type(e).__name__}: {e}")
    finally:
        for g in guests:
            g.stop("test end")
        for g in gws:
            g.stop()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        sh("ip", "netns", "del", CLIENT_NS, check=False)
        sh(*wan_lab, "down", "--lab", LAB, check=False)
    log(("PASS" if not failures else f"FAIL: {failures}") + f" (artifacts in {work})")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
