# SPDX-License-Identifier: MIT
"""lhqemu: start and drive QEMU test guests (TCG) for longhaul tests. Standard library only.

Every wait is bounded; every QEMU is killed by its pid when a test ends (use Guest as a context manager,
or call Guest.stop()). Typical use:

    info = lhqemu.load_guest_info(build_dir + "/guest")
    with lhqemu.Guest("src", workdir, info, machine="pc-q35-10.0", mem_mb=256,
                      lh={"mem": 64, "seed": 1}) as src:
        src.wait_serial(r"LH-READY", 60)
        src.qmp.set_capabilities({"multifd": True})
        src.qmp.migrate(f"tcp:{lhqemu.TEST_HOST}:4444")
        src.qmp.wait_migration(120)
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

QEMU = os.environ.get("LH_QEMU", "qemu-system-x86_64")

MIGRATION_DONE = ("completed", "failed", "cancelled")


def _die_with_parent():
    """Runs in the child before exec: SIGKILL QEMU if the harness dies, so no guest outlives a killed test."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def exit_on_signals():
    """Turn SIGTERM/SIGHUP (ctest timeout, CI cancel) into SystemExit so `finally` blocks stop guests."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


class QMPError(Exception):
    """A QMP command returned an error, or the monitor went away."""


class Timeout(Exception):
    """A bounded wait ran out."""


def load_guest_info(guest_dir):
    """guest.json written by tests/guest/build-image."""
    path = os.path.join(guest_dir, "guest.json")
    try:
        with open(path) as f:
            info = json.load(f)
    except OSError as e:
        raise FileNotFoundError(f"{path}: {e.strerror}; build the image first (cmake --build B --target guest)")
    for key in ("kernel", "initrd", "append"):
        if key not in info or (key != "append" and not os.path.exists(info[key])):
            raise FileNotFoundError(f"{path}: missing or dangling '{key}'")
    return info


def qemu_version(qemu=QEMU):
    out = subprocess.run([qemu, "--version"], capture_output=True, text=True, timeout=20).stdout
    m = re.search(r"version (\d+\.\d+\.\d+)", out)
    return m.group(1) if m else "unknown"


class QMP:
    """Minimal QMP client on a unix socket: one command at a time, events kept in self.events."""

    def __init__(self, path, timeout=30.0, oob=False):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Timeout(f"QMP socket {path} did not come up in {timeout}s")
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self.next_id = 1
        # QEMU can put an event ahead of the greeting: a client that connects while QEMU is still
        # starting may see the start's RESUME before the monitor has handled the connection (seen
        # in CI). Events are kept as usual; anything else before the greeting is still an error.
        while True:
            greeting = self._read_msg(max(0.01, deadline - time.monotonic()))
            if "event" not in greeting:
                break
            self.events.append(greeting)
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting {greeting}")
        # out-of-band execution: a postcopy destination's main loop can block on a missing page, so
        # migrate-recover and migrate-pause must overtake the queue (exec-oob)
        if oob and "oob" in greeting["QMP"].get("capabilities", []):
            self.execute("qmp_capabilities", {"enable": ["oob"]})
        else:
            self.execute("qmp_capabilities")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _read_msg(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"no QMP message within {timeout}s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise QMPError(f"QMP connection failed: {e}")
            if not chunk:
                raise QMPError("QMP connection closed (QEMU exited?)")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def execute(self, cmd, args=None, timeout=30.0, oob=False):
        """Run one command, return its "return" value; raise QMPError on an error reply.
        oob: as exec-oob (the monitor must have been opened with oob=True)."""
        msg = {"exec-oob" if oob else "execute": cmd, "id": self.next_id}
        self.next_id += 1
        if args:
            msg["arguments"] = args
        try:
            self.sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as e:
            raise QMPError(f"{cmd}: cannot send: {e}")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_msg(max(0.01, deadline - time.monotonic()))
            if "event" in reply:
                self.events.append(reply)
                continue
            if reply.get("id") != msg["id"]:
                continue
            if "error" in reply:
                raise QMPError(f"{cmd} {args or ''}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    # -- convenience wrappers --
    def status(self):
        return self.execute("query-status")["status"]

    def set_capabilities(self, caps):
        """caps: {"multifd": True, "return-path": True, "switchover-ack": True, ...}"""
        if caps:
            self.execute("migrate-set-capabilities", {
                "capabilities": [{"capability": k, "state": bool(v)} for k, v in caps.items()]})

    def set_parameters(self, params):
        """params: {"multifd-channels": 3, "max-bandwidth": bytes_per_s, ...}"""
        if params:
            self.execute("migrate-set-parameters", params)

    def set_max_bandwidth(self, mib_per_s):
        """Rate-limit precopy (MiB/s); None or 0 = effectively unlimited (QEMU's default is 128 MiB/s)."""
        bps = int(mib_per_s * 1024 * 1024) if mib_per_s else 100 * 1000 * 1000 * 1000
        self.set_parameters({"max-bandwidth": bps})

    def migrate(self, uri):
        self.execute("migrate", {"uri": uri})

    def migrate_incoming(self, uri):
        self.execute("migrate-incoming", {"uri": uri})

    def query_migrate(self):
        return self.execute("query-migrate")

    def wait_migration(self, timeout, poll=0.1):
        """Poll query-migrate until completed/failed/cancelled; on timeout cancel and raise."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.query_migrate()
            if info.get("status") in MIGRATION_DONE:
                return info
            if time.monotonic() > deadline:
                try:
                    self.execute("migrate_cancel")
                except QMPError:
                    pass
                raise Timeout(f"migration still '{info.get('status')}' after {timeout}s: {info}")
            time.sleep(poll)

    def wait_status(self, wanted, timeout, poll=0.1):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if st in wanted:
                return st
            if time.monotonic() > deadline:
                raise Timeout(f"guest status '{st}', wanted {wanted} within {timeout}s")
            time.sleep(poll)

    def incoming_port(self):
        """TCP port a destination listens on after migrate-incoming tcp:HOST:0."""
        for addr in self.query_migrate().get("socket-address", []):
            if addr.get("type") in ("inet", "tcp") and addr.get("port"):
                return int(addr["port"])
        raise QMPError("destination reports no listening socket-address")


class Guest:
    """One QEMU process running the test guest under TCG.

    incoming: None, "defer" (then call qmp.migrate_incoming) or a URI given to -incoming.
    lh: dict of memload options, appended as lh.KEY=VALUE to the kernel command line.
    extra_args: more QEMU arguments (e.g. -netdev/-device); netns: run inside `ip netns exec NS`.
    """

    def __init__(self, name, workdir, info, machine="pc-q35-10.0", mem_mb=256, lh=None, incoming=None,
                 extra_args=(), netns=None, qemu=QEMU, smp=1, oob=False):
        self.name = name
        self.oob = oob
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.serial_path = os.path.join(workdir, f"{name}.serial.log")
        self.stderr_path = os.path.join(workdir, f"{name}.qemu.log")
        # unix socket paths are limited to 108 bytes: keep the QMP socket in a short private dir.
        self.sockdir = tempfile.mkdtemp(prefix="lhq-")
        self.qmp_path = os.path.join(self.sockdir, "qmp")
        append = info["append"] + "".join(f" lh.{k}={v}" for k, v in (lh or {}).items())
        self.argv = ([] if not netns else ["ip", "netns", "exec", netns]) + [
            qemu, "-machine", machine, "-accel", "tcg", "-m", str(mem_mb), "-smp", str(smp),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", info["kernel"], "-initrd", info["initrd"], "-append", append,
            "-serial", f"file:{self.serial_path}",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]
        if incoming:
            self.argv += ["-incoming", incoming]
        self.argv += list(extra_args)
        self.proc = None
        self.qmp = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=30.0):
        for p in (self.serial_path,):
            if os.path.exists(p):
                os.unlink(p)
        with open(self.stderr_path, "w") as err:
            err.write(" ".join(self.argv) + "\n")
            err.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         preexec_fn=_die_with_parent)
        try:
            self.qmp = QMP(self.qmp_path, timeout, oob=self.oob)
        except Exception:
            self.stop("qmp did not come up")
            raise
        return self

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop("context exit")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def serial_text(self):
        try:
            with open(self.serial_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def lh_lines(self):
        return [ln.strip() for ln in self.serial_text().splitlines() if ln.strip().startswith("LH-")]

    def wait_serial(self, pattern, timeout, count=1, fail_pattern=r"LH-MEMCHECK FAIL|LH-ERROR|Kernel panic"):
        """Wait until `pattern` (regex) matched `count` serial lines; return the last match.
        Raises Timeout, or AssertionError as soon as a line matches fail_pattern (None: never)."""
        rx = re.compile(pattern)
        frx = re.compile(fail_pattern) if fail_pattern else None
        deadline = time.monotonic() + timeout
        while True:
            matches = []
            for line in self.serial_text().splitlines():
                if frx and frx.search(line):
                    raise AssertionError(f"{self.name}: serial shows failure: {line.strip()}")
                m = rx.search(line)
                if m:
                    matches.append(m)
            if len(matches) >= count:
                return matches[count - 1]
            if not self.alive():
                raise AssertionError(f"{self.name}: QEMU exited (rc={self.proc.returncode}) while waiting for "
                                     f"/{pattern}/; see {self.stderr_path}")
            if time.monotonic() > deadline:
                raise Timeout(f"{self.name}: /{pattern}/ x{count} not on serial within {timeout}s "
                              f"(last: {self.lh_lines()[-3:]})")
            time.sleep(0.1)

    def stop(self, reason="", timeout=5.0):
        """Quit QEMU (QMP quit, then SIGKILL by pid) and remove the socket dir. Safe to call twice."""
        if self.qmp:
            if self.alive():
                try:
                    self.qmp.execute("quit", timeout=timeout)
                except (QMPError, Timeout, OSError):
                    pass
            self.qmp.close()
            self.qmp = None
        if self.proc:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


# Tests talk TCP only inside a network namespace of their own, on an address from 198.18.0.0/15
# (tests/lib/in-netns sets LH_TEST_HOST). require_private_netns() re-runs a script there when it is not.
TEST_HOST = os.environ.get("LH_TEST_HOST", "")
IN_NETNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "in-netns")


def require_private_netns():
    """Re-exec the running script under tests/lib/in-netns unless it already runs there."""
    if not os.environ.get("LH_TEST_HOST"):
        os.execv(IN_NETNS, [IN_NETNS, sys.executable] + sys.argv)


def free_tcp_port(host=None):
    """An ephemeral port that was free a moment ago (prefer port 0 + asking the listener)."""
    with socket.socket() as s:
        s.bind((host or TEST_HOST, 0))
        return s.getsockname()[1]


def memcheck_after(guest, timeout=60.0, passes=2):
    """Wait for `passes` LH-MEMCHECK ok lines (the 2nd one covers a full pass done entirely on this QEMU).
    Returns (ok, lines): ok False if any FAIL line appeared or the wait timed out."""
    try:
        guest.wait_serial(r"LH-MEMCHECK ok", timeout, count=passes)
        ok = True
    except (Timeout, AssertionError):
        ok = False
    lines = [ln for ln in guest.lh_lines() if ln.startswith("LH-MEMCHECK")]
    if any("FAIL" in ln for ln in lines):
        ok = False
    return ok, lines


def migration_summary(info):
    """The interesting, JSON-friendly part of a query-migrate reply."""
    ram = info.get("ram", {})
    keep = ("transferred", "total", "duplicate", "normal", "normal-bytes", "dirty-sync-count",
            "precopy-bytes", "multifd-bytes", "pages-per-second", "mbps", "dirty-pages-rate")
    return {
        "status": info.get("status"),
        "total_time_ms": info.get("total-time"),
        "downtime_ms": info.get("downtime"),
        "setup_time_ms": info.get("setup-time"),
        "ram": {k: ram[k] for k in keep if k in ram},
        "error": info.get("error-desc"),
    }


def prepare_pair(src, dst, caps=None, params=None, dst_uri=None):
    """Set the same capabilities (and multifd-channels) on both ends, the rest of params on the source,
    then start the destination listening. Returns the destination's TCP port (None for non-TCP URIs)."""
    params = dict(params or {})
    dst_uri = dst_uri or f"tcp:{TEST_HOST}:0"
    src.qmp.set_capabilities(caps)
    if dst is not None:
        dst.qmp.set_capabilities(caps)
        if "multifd-channels" in params:
            dst.qmp.set_parameters({"multifd-channels": params["multifd-channels"]})
        dst.qmp.migrate_incoming(dst_uri)
    src.qmp.set_parameters(params)
    if dst is not None and dst_uri.startswith("tcp:"):
        return dst.qmp.incoming_port()
    return None


def finish_migration(src, dst, timeout, memcheck_timeout=60.0):
    """Wait for the source to complete, then check both ends. Returns a JSON-friendly result dict:
    source status (postmigrate expected), destination loaded (status running) and its LH-MEMCHECK."""
    t0 = time.monotonic()
    info = src.qmp.wait_migration(timeout)
    res = {"migration": migration_summary(info), "migrate_s": round(time.monotonic() - t0, 2)}
    res["source_status"] = src.qmp.status()
    if dst is None:
        return res
    t1 = time.monotonic()
    try:
        dinfo = dst.qmp.wait_migration(30)
        res["dest_migration_status"] = dinfo.get("status")
        res["dest_status"] = dst.qmp.wait_status(("running",), 30)
    except (Timeout, QMPError) as e:
        res["dest_status"] = f"error: {e}"
    res["dest_loaded"] = res.get("dest_status") == "running"
    ok, lines = memcheck_after(dst, memcheck_timeout) if res["dest_loaded"] else (False, [])
    res["memcheck"] = {"passed": ok, "lines": lines[-6:]}
    res["verify_s"] = round(time.monotonic() - t1, 2)
    return res
