# SPDX-License-Identifier: MIT
"""capture_relay: a TCP relay between a source and a destination QEMU that tees every migration connection.

Each accepted source connection is classified by its first bytes (qemu-migration-format.md §4.1, §8):
  51 45 56 4D "QEVM"   -> main       tee: main.bin   (reverse direction = return path: main.rp.bin)
  11 22 33 44          -> multifd    tee: multifd-<channel id>.bin (id = byte 24 of the 64-byte init packet)
  anything else        -> other      tee: other-<n>.bin (postcopy preempt, recovery main, ...)
and gets its own destination connection, opened strictly in the order main -> multifd... -> other (old
destinations tell channels apart by connection order only). The bytes read for classification are forwarded
as soon as the destination connection is up. Each connection is pumped in both directions by its own
threads, so one stalled channel never blocks another (the destination runs multifd in lock-step).

Inside a test's own network namespace only (tests/lib/in-netns). Also a CLI:
python3 capture_relay.py --listen 198.18.254.1:0 --dest 198.18.254.1:P --out DIR
"""
import argparse
import os
import socket
import sys
import threading
import time

QEVM = b"QEVM"
MULTIFD_MAGIC = bytes.fromhex("11223344")
MULTIFD_ID_OFFSET = 24
CHUNK = 256 * 1024


class Conn:
    """One relayed source connection and its statistics."""

    def __init__(self, relay, sock, arrival):
        self.relay = relay
        self.src = sock
        self.dst = None
        self.arrival = arrival
        self.kind = None          # "main" | "multifd" | "other"
        self.channel = None       # multifd channel id
        self.name = None          # file stem
        self.connect_order = None
        self.bytes_fwd = 0        # source -> destination
        self.bytes_rev = 0        # destination -> source
        self.first_bytes = b""
        self.error = None
        self.done = threading.Event()

    def stats(self):
        files = []
        if self.name:
            files.append({"path": f"{self.name}.bin", "direction": "src->dst", "bytes": self.bytes_fwd})
            if self.bytes_rev or self.kind == "main":
                files.append({"path": f"{self.name}.rp.bin", "direction": "dst->src", "bytes": self.bytes_rev})
        return {"arrival": self.arrival, "kind": self.kind, "channel": self.channel, "name": self.name,
                "connect_order": self.connect_order, "bytes_src_to_dst": self.bytes_fwd,
                "bytes_dst_to_src": self.bytes_rev, "first_bytes": self.first_bytes[:32].hex(),
                "files": files, "error": self.error}


class CaptureRelay:
    def __init__(self, dest, out_dir, listen=None, connect_timeout=10.0, classify_timeout=30.0):
        self.dest = dest
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.connect_timeout = connect_timeout
        self.classify_timeout = classify_timeout
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(listen or (dest[0], 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.order_lock = threading.Lock()   # serialises destination connects
        self.main_up = threading.Event()      # main's destination connection exists
        self.connects = 0
        self.other_count = 0
        self.threads = []
        self.stopping = False
        self.errors = []

    # -- lifecycle --
    def start(self):
        t = threading.Thread(target=self._accept_loop, name="relay-accept", daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_idle(self, timeout):
        """Wait until every accepted connection has finished in both directions."""
        deadline = time.monotonic() + timeout
        for c in list(self.conns):
            if not c.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def stop(self, timeout=5.0):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in list(self.conns):
            if not c.done.wait(timeout):
                c.error = c.error or "still open when the relay stopped"
            for s in (c.src, c.dst):
                if s:
                    try:
                        s.close()
                    except OSError:
                        pass
        for t in self.threads:
            t.join(timeout)

    def stats(self):
        return [c.stats() for c in sorted(self.conns, key=lambda c: c.arrival)]

    # -- internals --
    def _accept_loop(self):
        self.lsock.settimeout(0.2)
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                c = Conn(self, s, len(self.conns))
                self.conns.append(c)
            t = threading.Thread(target=self._handle, args=(c,), name=f"relay-conn{c.arrival}", daemon=True)
            t.start()
            self.threads.append(t)

    def _read_at_least(self, sock, have, n, timeout):
        deadline = time.monotonic() + timeout
        while len(have) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                b = sock.recv(CHUNK)
            except socket.timeout:
                break
            if not b:
                break
            have += b
        sock.settimeout(None)
        return have

    def _connect_dest(self, c):
        with self.order_lock:
            d = socket.create_connection(self.dest, timeout=self.connect_timeout)
            d.settimeout(None)
            d.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1
            c.connect_order = self.connects
            c.dst = d

    def _handle(self, c):
        files = []
        try:
            first = self._read_at_least(c.src, b"", 4, self.classify_timeout)
            if len(first) < 4:
                raise ConnectionError(f"connection {c.arrival} sent only {len(first)} bytes before "
                                      f"closing/timeout; cannot classify")
            if first[:4] == QEVM:
                c.kind, c.name = "main", "main"
            elif first[:4] == MULTIFD_MAGIC:
                c.kind = "multifd"
                # The 64-byte init packet is written in one go; the channel id is byte 24.
                first = self._read_at_least(c.src, first, MULTIFD_ID_OFFSET + 1, self.classify_timeout)
                if len(first) <= MULTIFD_ID_OFFSET:
                    raise ConnectionError(f"multifd connection {c.arrival}: init packet cut at {len(first)} bytes")
                c.channel = first[MULTIFD_ID_OFFSET]
                c.name = f"multifd-{c.channel}"
            else:
                c.kind = "other"
                with self.lock:
                    c.name = f"other-{self.other_count}"
                    self.other_count += 1
            c.first_bytes = first
            if c.kind != "main" and not self.main_up.wait(self.classify_timeout):
                raise ConnectionError(f"{c.name}: main channel never arrived")
            if c.kind == "other":
                time.sleep(0.2)  # let multifd channels that arrived with it connect first
            self._connect_dest(c)
            if c.kind == "main":
                self.main_up.set()
            fwd_file = open(os.path.join(self.out_dir, f"{c.name}.bin"), "wb")
            files.append(fwd_file)
            rev_file = open(os.path.join(self.out_dir, f"{c.name}.rp.bin"), "wb") if c.kind == "main" else None
            if rev_file:
                files.append(rev_file)
            fwd_file.write(first)
            c.dst.sendall(first)
            c.bytes_fwd = len(first)
            rev = threading.Thread(target=self._pump, args=(c, c.dst, c.src, rev_file, "rev"),
                                   name=f"relay-rev{c.arrival}", daemon=True)
            rev.start()
            self._pump(c, c.src, c.dst, fwd_file, "fwd")
            rev.join()
        except (OSError, ConnectionError) as e:
            c.error = c.error or str(e)
            self.errors.append(f"{c.name or c.arrival}: {e}")
        finally:
            for f in files:
                f.close()
            c.done.set()
            if c.kind == "main":
                self.main_up.set()  # never leave other channels waiting on a failed main

    def _pump(self, c, frm, to, tee, direction):
        """Copy frm -> to until EOF, tee'ing into `tee` (or counting only); then half-close `to`."""
        try:
            while True:
                b = frm.recv(CHUNK)
                if not b:
                    break
                if tee is not None:
                    tee.write(b)
                elif direction == "rev" and c.kind != "main":
                    # Unexpected reverse bytes on a non-main channel: keep them too, named after the channel.
                    tee = open(os.path.join(self.out_dir, f"{c.name}.rp.bin"), "wb")
                    tee.write(b)
                to.sendall(b)
                if direction == "fwd":
                    c.bytes_fwd += len(b)
                else:
                    c.bytes_rev += len(b)
        except OSError as e:
            if not self.stopping:
                c.error = c.error or f"{direction}: {e}"
        finally:
            try:
                to.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if direction == "rev" and c.kind != "main" and tee is not None:
                tee.close()


def main():
    ap = argparse.ArgumentParser(description="Relay QEMU migration connections and tee each one to a file.")
    ap.add_argument("--listen", default="198.18.254.1:0", help="HOST:PORT to listen on (port 0: pick one)")
    ap.add_argument("--dest", required=True, help="HOST:PORT of the destination QEMU's -incoming")
    ap.add_argument("--out", required=True, help="directory for main.bin, multifd-N.bin, ...")
    ap.add_argument("--timeout", type=float, default=600, help="exit after this many seconds")
    args = ap.parse_args()
    lh, lp = args.listen.rsplit(":", 1)
    dh, dp = args.dest.rsplit(":", 1)
    relay = CaptureRelay((dh, int(dp)), args.out, listen=(lh, int(lp))).start()
    print(f"listening on {lh}:{relay.port}", flush=True)
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if relay.conns and all(c.done.is_set() for c in relay.conns):
                break
    except KeyboardInterrupt:
        pass
    relay.stop()
    for s in relay.stats():
        print(s)
    return 1 if relay.errors else 0


if __name__ == "__main__":
    sys.exit(main())
