#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Lab WAN shim: relays VXLAN UDP between two sites with a fixed one-way delay (the kernel has no
# sch_netem). Listens on ADDR_A:PORT and ADDR_B:PORT; what arrives on one side leaves from the
# other side's socket towards that side's peer after DELAY ms. Stops by itself after --seconds.
import argparse, collections, select, socket, time

ap = argparse.ArgumentParser()
ap.add_argument('--a', required=True, help='relay address facing site A')
ap.add_argument('--a-peer', required=True, help='site A VTEP')
ap.add_argument('--b', required=True, help='relay address facing site B')
ap.add_argument('--b-peer', required=True, help='site B VTEP')
ap.add_argument('--port', type=int, default=4789)
ap.add_argument('--delay-ms', type=float, default=50.0)
ap.add_argument('--seconds', type=float, default=120.0)
ap.add_argument('--ready', help='file to create once both sockets are bound')
args = ap.parse_args()

def bound(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, args.port))
    return s

sa, sb = bound(args.a), bound(args.b)
if args.ready:
    open(args.ready, 'w').close()
# constant delay keeps FIFO order, so one queue per direction suffices
queues = {sa: collections.deque(), sb: collections.deque()}  # keyed by the socket that sends
out_peer = {sa: (args.a_peer, args.port), sb: (args.b_peer, args.port)}
other = {sa: sb, sb: sa}
delay = args.delay_ms / 1000.0
end = time.monotonic() + args.seconds
while True:
    now = time.monotonic()
    if now >= end:
        break
    for s, q in queues.items():
        while q and q[0][0] <= now:
            s.sendto(q.popleft()[1], out_peer[s])
    due = [q[0][0] for q in queues.values() if q]
    timeout = max(0.0, min(due) - now) if due else 0.2
    r, _, _ = select.select([sa, sb], [], [], min(timeout, end - now))
    for s in r:
        for _ in range(64):
            try:
                data = s.recv(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            queues[other[s]].append((time.monotonic() + delay, data))
