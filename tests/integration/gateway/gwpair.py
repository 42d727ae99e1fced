# SPDX-License-Identifier: MIT
"""gwpair: run a longhauld pair for tests (configs, certificates, start/stop by pid, log waits).

Standard library only. Every daemon is killed by its own pid when the pair stops (use as a context manager).
A gateway can run inside a network namespace (netns=NAME: started with `ip netns exec NAME`).
"""
import ctypes
import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IN_NETNS = os.path.join(HERE, "..", "..", "lib", "in-netns")
# Loopback pairs run only inside a network namespace of their own, on an address from 198.18.0.0/15
# (tests/lib/in-netns sets LH_TEST_HOST); require_private_netns() re-runs a script there.
HOST = os.environ.get("LH_TEST_HOST", "")


def require_private_netns(names=()):
    """Re-exec the running script under tests/lib/in-netns unless it already runs there. names: DNS names that
    resolve to HOST in there (its own /etc/hosts)."""
    if not os.environ.get("LH_TEST_HOST"):
        import sys
        if names:
            os.environ["LH_TEST_HOST_NAMES"] = " ".join(names)
        os.execv(IN_NETNS, [IN_NETNS, sys.executable] + sys.argv)


def _die_with_parent():
    """Runs in the child before exec: the daemon gets SIGKILL if the test harness dies (timeout, kill)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port(host=None):
    s = socket.socket()
    s.bind((host or HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_certs(dirpath):
    subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), dirpath], check=True)
    return dirpath


class Gateway:
    def __init__(self, name, workdir, longhauld, certs, cert=None, peer_name=None, wan_listen=None,
                 wan_peer=None, streams=4, routes=(), env=None, netns=None, store_mb=256, extra_wan="",
                 log_level="debug", metrics=None, extra_conf="", outage_budget_s=None, user=None):
        self.name = name
        self.workdir = workdir
        self.longhauld = longhauld
        self.netns = netns
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.log_path = os.path.join(workdir, name + ".log")
        self.ctl = os.path.join(workdir, name + ".sock")
        self.conf = os.path.join(workdir, name + ".conf")
        cert = cert or name
        self.audit = os.path.join(workdir, name + ".audit")
        lines = ["[gateway]", "name = " + name, "control_socket = " + self.ctl, "log_level = " + log_level,
                 "audit_log = " + self.audit, "state_dir = " + os.path.join(workdir, name + ".state")] + (
            ["metrics_listen = " + metrics] if metrics else []) + (
            ["user = " + user] if user else []) + ["",
                 "[wan]", "streams = %d" % streams,
                 "cert = %s/%s.pem" % (certs, cert), "key = %s/%s.key" % (certs, cert),
                 "ca = %s/ca.pem" % certs, "peer_name = " + peer_name, "rtt_ms = 100", "bdp_mbit = 1000"]
        if wan_listen:
            lines.append("listen = " + wan_listen)
        if wan_peer:
            lines.append("peer = " + wan_peer)
        if outage_budget_s:  # seconds without any WAN stream before the session fails (default 300)
            lines.append("outage_budget_s = %d" % outage_budget_s)
        if extra_wan:
            lines.append(extra_wan)
        lines += ["", "[codec]", "store_mb = %d" % store_mb, ""]
        for rname, listen, to, *more in routes:  # more: further lines of the route, e.g. "mac = ..."
            lines += ["[route %s]" % rname, "listen = " + listen, "to = " + to] + list(more) + [""]
        if extra_conf:  # more sections, e.g. [segment NAME] or a [route] with mac/ip/segment
            lines += [extra_conf, ""]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        self.proc = None
        self.metrics_addr = metrics

    def start(self):
        cmd = [self.longhauld, "-d", "--config", self.conf]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=self.env,
                                     preexec_fn=_die_with_parent)
        return self

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout, count=1):
        end = time.time() + timeout
        while time.time() < end:
            if len(re.findall(pattern, self.log())) >= count:
                return True
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s) while waiting for %r" % (self.name, self.proc.returncode,
                                                                            pattern))
            time.sleep(0.05)
        raise TimeoutError("%s: no %r in %.0f s; log tail:\n%s" % (self.name, pattern, timeout,
                                                                    self.log()[-3000:]))

    def control(self, cmd, args=None, timeout=5.0):
        import json
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.ctl)
        req = {"cmd": cmd}
        if args:
            req["args"] = args
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        return json.loads(buf)

    def metrics(self, hostport, timeout=5.0):
        """Scrapes GET /metrics; returns {name: value} for unlabelled series."""
        host, port = hostport.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        s.close()
        out = {}
        for line in buf.decode(errors="replace").split("\r\n\r\n", 1)[-1].splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def stop(self, sig=signal.SIGINT, timeout=5.0, holder=True):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if holder:
            self.stop_holder()

    def stop_holder(self):
        """The fd holder our longhauld started (base/FDHOLD.md) keeps what it holds for minutes after a
        daemon is gone: a test that is over ends it, by the pid it wrote."""
        pidfile = os.path.join(self.workdir, self.name + ".state", "holder.sock.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        self.logf.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
