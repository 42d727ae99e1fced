#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Judges tcp_probe.py's two summaries around a move: the same connection (server's peer is the
# client's local address), no error on either side, and lines both ways more than 0.5 s after
# the guest resumed. Prints one line of figures; exit 1 when the connection did not survive.
import json, sys

if len(sys.argv) != 4:
    sys.exit('usage: tcp_check.py CLIENT.json SERVER.json RESUME_EPOCH')
c, s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
after_c = [x for x in c['times'] if x > t + 0.5]
after_s = [x for x in s['times'] if x > t + 0.5]
# The first line the guest received after resuming: how long TCP itself was cut off.
first_s = min((x for x in s['times'] if x > t), default=None)
print('tcp: client error=%s echoes=%d (after move %d), server error=%s lines=%d (after move %d), '
      'first line at guest %s after resume, peer %s / local %s'
      % (c['error'], len(c['times']), len(after_c), s['error'], len(s['times']), len(after_s),
         ('%.0f ms' % ((first_s - t) * 1000)) if first_s else 'never', s.get('peer'), c.get('local')),
      file=sys.stderr)
sys.exit(0 if not c['error'] and not s['error'] and after_c and after_s and s.get('peer') == c.get('local') else 1)
