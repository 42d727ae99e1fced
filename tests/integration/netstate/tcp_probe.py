#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# One long-lived TCP connection across the guest's move. server: echoes each line and logs
# when it received it; client: sends a numbered line every --interval s and logs echo times.
# Both stop by themselves after --seconds (the client also on SIGINT/SIGTERM) and write a JSON
# summary with per-line times.
import argparse, json, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['server', 'client'])
ap.add_argument('--addr', required=True)
ap.add_argument('--port', type=int, default=7007)
ap.add_argument('--seconds', type=float, default=10)
ap.add_argument('--interval', type=float, default=0.02)
ap.add_argument('--out', required=True)
args = ap.parse_args()
end = time.time() + args.seconds
log = {'mode': args.mode, 'times': [], 'error': None}

def finish():
    with open(args.out, 'w') as f:
        json.dump(log, f)
    sys.exit(0)

if args.mode == 'server':
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(1)
    ls.settimeout(args.seconds)
    try:
        c, peer = ls.accept()
    except OSError as e:
        log['error'] = 'accept: %s' % e
        finish()
    log['peer'] = '%s:%d' % peer
    buf = b''
    while time.time() < end:
        c.settimeout(max(0.01, end - time.time()))
        try:
            d = c.recv(4096)
        except socket.timeout:
            break
        except OSError as e:
            log['error'] = 'recv: %s' % e
            break
        if not d:
            log['closed_by_peer'] = True  # the client's normal end
            c.close()
            break
        buf += d
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            log['times'].append(time.time())
            c.sendall(b'echo ' + line + b'\n')
    finish()

def stop_early(signum, frame):
    """SIGINT/SIGTERM: end the run now, still with an orderly close and a summary."""
    global end
    end = 0


import signal
signal.signal(signal.SIGINT, stop_early)
signal.signal(signal.SIGTERM, stop_early)
s = socket.create_connection((args.addr, args.port), timeout=5)
log['local'] = '%s:%d' % s.getsockname()
s.setblocking(False)
seq, buf, nxt = 0, b'', time.time()
import select
while time.time() < end:
    now = time.time()
    if now >= nxt:
        try:
            s.send(b'%d\n' % seq)  # small lines: never blocks in practice; errors end the run
        except BlockingIOError:
            pass
        except OSError as e:
            log['error'] = 'send: %s' % e
            break
        seq += 1
        nxt = now + args.interval
    r, _, _ = select.select([s], [], [], max(0, min(nxt, end) - time.time()))
    if r:
        try:
            d = s.recv(65536)
        except OSError as e:
            log['error'] = 'recv: %s' % e
            break
        if not d:
            log['error'] = 'peer closed'
            break
        buf += d
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            log['times'].append(time.time())
log['sent'] = seq
# Orderly close: half-close, then read the last echoes until the server closes (bounded).
if not log['error']:
    s.setblocking(True)
    s.settimeout(2)
    try:
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except OSError as e:
        log['error'] = 'close: %s' % e
finish()
