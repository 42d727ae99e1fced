#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Outage from a `ping -D -i 0.01` log: the longest stretch, by send time (reply time minus
# RTT), during which no request was answered. When the last requests were never answered (the
# path never came back), the stretch runs to the last request sent and "recovered" is false.
# Requests sent within the last round trip before ping was stopped are in flight, not lost: after a
# move to the far site the round trip is the WAN's (100 ms, ~8 requests), so they are not counted.
# Prints JSON: outage_ms, lost, answered, recovered.
import json, re, sys

pat = re.compile(r'^\[(\d+\.\d+)\] .*icmp_seq=(\d+) .*time=([\d.]+) ms')
sent_pat = re.compile(r'^(\d+) packets transmitted')
answered, rtt, transmitted = {}, {}, None
for line in open(sys.argv[1]):
    m = pat.match(line)
    if m:
        answered.setdefault(int(m.group(2)), float(m.group(1)) - float(m.group(3)) / 1000)
        rtt.setdefault(int(m.group(2)), float(m.group(3)) / 1000)
    m = sent_pat.match(line)
    if m:
        transmitted = int(m.group(1))
seqs = sorted(answered)
if len(seqs) < 2:
    sys.exit('too few ping replies in %s' % sys.argv[1])
gap, lost, at = 0.0, 0, None
for a, b in zip(seqs, seqs[1:]):
    g = answered[b] - answered[a]
    if g > gap:
        gap, lost, at = g, b - a - 1, answered[a]
interval = (answered[seqs[-1]] - answered[seqs[0]]) / (seqs[-1] - seqs[0])
outage, recovered = gap - interval, True
if transmitted is not None and transmitted > seqs[-1]:
    # icmp_seq runs 1..transmitted; the unanswered tail ends with the last request sent.
    in_flight = int(max(rtt[s] for s in seqs[-10:]) / interval) + 1
    tail = (transmitted - seqs[-1] - in_flight) * interval
    if tail > 0 and tail > outage:
        outage, lost, at, recovered = tail, transmitted - seqs[-1], answered[seqs[-1]], False
print(json.dumps({'outage_ms': round(outage * 1000, 1), 'lost': lost, 'gap_start': at,
                  'recovered': recovered, 'answered': len(seqs), 'transmitted': transmitted,
                  'first_seq': seqs[0], 'last_seq': seqs[-1], 'interval_ms': round(interval * 1000, 2)}))
