#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Outage from a `ping -D -i 0.01` log: the longest stretch, by send time (reply time minus
# RTT), during which no request was answered. Prints JSON: outage_ms, lost, answered.
import json, re, sys

pat = re.compile(r'^\[(\d+\.\d+)\] .*icmp_seq=(\d+) .*time=([\d.]+) ms')
answered = {}
for line in open(sys.argv[1]):
    m = pat.match(line)
    if m:
        answered.setdefault(int(m.group(2)), float(m.group(1)) - float(m.group(3)) / 1000)
seqs = sorted(answered)
if len(seqs) < 2:
    sys.exit('too few ping replies in %s' % sys.argv[1])
gap, lost, at = 0.0, 0, None
for a, b in zip(seqs, seqs[1:]):
    g = answered[b] - answered[a]
    if g > gap:
        gap, lost, at = g, b - a - 1, answered[a]
interval = (answered[seqs[-1]] - answered[seqs[0]]) / (seqs[-1] - seqs[0])
print(json.dumps({'outage_ms': round((gap - interval) * 1000, 1), 'lost': lost, 'gap_start': at,
                  'answered': len(seqs), 'first_seq': seqs[0], 'last_seq': seqs[-1],
                  'interval_ms': round(interval * 1000, 2)}))
