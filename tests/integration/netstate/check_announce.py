#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Checks a pcap taken on the destination bridge: GARP request+reply per IPv4, unsolicited NA
# (override set, solicited clear, valid checksum) per IPv6, RARP per MAC, optional gateway GARP
# unicast to the guest, grouped into rounds at the expected offsets. Exit 1 with reasons.
# --strict: every ARP/RARP/ICMPv6 frame sent from the guest MAC must be one of those announcements
# (the guest itself stayed silent). --expect-silent: there must be no such frame at all (a move
# without cutover). Both look only at --window FROM,TO (epoch seconds; default the whole capture):
# the guest's own IPv6 NUD probes, seconds later, are normal and outside the move's window.
# --resume-at EPOCH reports how long after the guest resumed round 0 (or its first frame) went out.
# --list only prints every announcement-shaped frame (any sender) with its time after --resume-at.
import argparse, ipaddress, json, struct, sys

ap = argparse.ArgumentParser()
ap.add_argument('pcap')
ap.add_argument('--mac', required=True)
ap.add_argument('--ip', action='append', default=[])
ap.add_argument('--rounds', default='0,50,200,450,800')
ap.add_argument('--gateway-ip')
ap.add_argument('--gateway-mac')
ap.add_argument('--tolerance-ms', type=float, default=25.0)
ap.add_argument('--resume-at', type=float)
ap.add_argument('--strict', action='store_true')
ap.add_argument('--expect-silent', action='store_true')
ap.add_argument('--window', default='0,inf')
ap.add_argument('--list', action='store_true')
args = ap.parse_args()

mac = bytes.fromhex(args.mac.replace(':', ''))
v4 = [ipaddress.ip_address(a).packed for a in args.ip if ':' not in a]
v6 = [ipaddress.ip_address(a).packed for a in args.ip if ':' in a]
offsets = [float(x) for x in args.rounds.split(',')]
gw_ip = ipaddress.ip_address(args.gateway_ip).packed if args.gateway_ip else None
gw_mac = bytes.fromhex(args.gateway_mac.replace(':', '')) if args.gateway_mac else None

def read_pcap(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    scale = {0xa1b2c3d4: 1e-6, 0xa1b23c4d: 1e-9}.get(magic)
    if scale is None or struct.unpack('<I', data[20:24])[0] != 1:
        sys.exit('%s: not a little-endian Ethernet pcap' % path)
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack('<IIII', data[off:off + 16])
        out.append((sec + frac * scale, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out

def csum6(src, dst, msg):
    s = sum(struct.unpack('!8H', src)) + sum(struct.unpack('!8H', dst)) + len(msg) + 58
    if len(msg) % 2:
        msg += b'\0'
    s += sum(struct.unpack('!%dH' % (len(msg) // 2), msg))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s  # 0xffff when the stored checksum is right

def classify(f):
    """Returns a label for an announcement frame about this guest, or None."""
    if len(f) < 42:
        return None
    dst, src, et = f[0:6], f[6:12], struct.unpack('!H', f[12:14])[0]
    if et in (0x0806, 0x8035):
        htype, ptype, hl, pl, op = struct.unpack('!HHBBH', f[14:22])
        sha, spa, tha, tpa = f[22:28], f[28:32], f[32:38], f[38:42]
        if (htype, ptype, hl, pl) != (1, 0x0800, 6, 4):
            return None
        if et == 0x8035 and op == 3 and sha == mac and tha == mac and src == mac and dst == b'\xff' * 6:
            return 'rarp'
        if et == 0x0806 and spa == tpa and spa in v4 and sha == mac and src == mac and dst == b'\xff' * 6:
            if op == 1 and tha == b'\0' * 6:
                return 'garp-request %s' % ipaddress.ip_address(spa)
            if op == 2 and tha == mac:
                return 'garp-reply %s' % ipaddress.ip_address(spa)
        if gw_ip and et == 0x0806 and spa == tpa == gw_ip and sha == gw_mac and src == gw_mac and dst == mac:
            return 'gateway-garp-%s' % ('request' if op == 1 else 'reply')
        return None
    if et == 0x86dd and len(f) >= 86 and f[20] == 58 and f[54] == 136:
        ip6, icmp = f[14:54], f[54:54 + struct.unpack('!H', f[18:20])[0]]
        target = icmp[8:24]
        if target not in v6 or src != mac:
            return None
        flags = icmp[4]
        ok = (ip6[7] == 255 and dst == b'\x33\x33\0\0\0\x01' and ip6[24:40] == ipaddress.ip_address('ff02::1').packed
              and flags & 0x20 and not flags & 0x40 and icmp[24:26] == b'\x02\x01' and icmp[26:32] == mac
              and csum6(ip6[8:24], ip6[24:40], bytes(icmp)) == 0xffff)
        return ('na %s' % ipaddress.ip_address(target)) if ok else 'bad-na'
    return None

win_from, win_to = (float(x) for x in args.window.split(','))

def is_answer(f):
    """An ARP reply to one asker, or a solicited NA: the guest answering, not speaking first."""
    et = struct.unpack('!H', f[12:14])[0]
    if et == 0x0806 and len(f) >= 42:
        return struct.unpack('!H', f[20:22])[0] == 2 and f[28:32] != f[38:42]
    return (et == 0x86dd and len(f) >= 59 and f[20] == 58 and f[54] == 136 and bool(f[58] & 0x40))

def from_guest(t, f):
    """An ARP/RARP/IPv6 frame the guest sent of its own accord inside the window."""
    return (win_from <= t <= win_to and len(f) >= 14 and f[6:12] == mac and
            struct.unpack('!H', f[12:14])[0] in (0x0806, 0x8035, 0x86dd) and not is_answer(f))

captured = read_pcap(args.pcap)
def describe(f):
    et = struct.unpack('!H', f[12:14])[0]
    if et == 0x0800 and len(f) >= 34:
        proto, ihl = f[23], (f[14] & 15) * 4
        if proto == 6 and len(f) >= 14 + ihl + 14:
            sport, dport, seq = struct.unpack('!HHI', f[14 + ihl:22 + ihl])
            return 'ipv4 tcp %d>%d seq %d' % (sport, dport, seq)
        return 'ipv4 proto %d' % proto
    return 'ethertype 0x%04x' % et

if args.list:
    # Every announcement-shaped frame about the guest, by time after --resume-at (or the first one).
    base = args.resume_at if args.resume_at is not None else (captured[0][0] if captured else 0)
    print(json.dumps([{'at_ms': round((t - base) * 1000, 1), 'kind': classify(f)}
                      for t, f in captured if classify(f)]))
    sys.exit(0)
if args.expect_silent:
    own = [(t, f) for t, f in captured if from_guest(t, f)]
    out = {'frames_captured': len(captured), 'own_arp_rarp_ipv6_from_guest_in_window': len(own)}
    if args.resume_at is not None:
        # What the guest sent first after resuming: the frame that relearns the bridges.
        first = next(((t, f) for t, f in captured if t > args.resume_at and f[6:12] == mac), None)
        out['first_guest_frame_after_resume'] = (
            {'after_ms': round((first[0] - args.resume_at) * 1000, 1), 'what': describe(first[1])}
            if first else None)
    print(json.dumps(out))
    sys.exit(1 if own else 0)
frames = [(t, classify(f)) for t, f in captured]
problems = []
if args.strict:
    other = [t for t, f in captured if from_guest(t, f) and not classify(f)]
    if other:
        problems.append('%d ARP/RARP/IPv6 frames the guest sent of its own accord' % len(other))
frames = [(t, k) for t, k in frames if k]
if not frames:
    sys.exit('no announcement frames in %s' % args.pcap)
if any(k == 'bad-na' for _, k in frames):
    problems.append('an NA for the guest has wrong flags/addresses/checksum')
want = sorted(['rarp'] + ['garp-request %s' % ipaddress.ip_address(a) for a in v4] +
              ['garp-reply %s' % ipaddress.ip_address(a) for a in v4] +
              ['na %s' % ipaddress.ip_address(a) for a in v6] +
              (['gateway-garp-reply', 'gateway-garp-request'] if gw_ip else []))
# Rounds: frames closer than 20 ms to the previous one belong to the same round.
rounds, t0 = [], frames[0][0]
for t, k in frames:
    if rounds and (t - rounds[-1]['last']) < 0.02:
        rounds[-1]['kinds'].append(k)
        rounds[-1]['last'] = t
    else:
        rounds.append({'at_ms': (t - t0) * 1000, 'last': t, 'kinds': [k]})
if len(rounds) != len(offsets):
    problems.append('%d rounds seen, %d expected' % (len(rounds), len(offsets)))
for i, r in enumerate(rounds):
    if sorted(r['kinds']) != want:
        problems.append('round %d has %s, want %s' % (i, sorted(r['kinds']), want))
    if i < len(offsets) and abs(r['at_ms'] - (offsets[i] - offsets[0])) > args.tolerance_ms:
        problems.append('round %d at %.1f ms, want %.0f +- %.0f' % (i, r['at_ms'], offsets[i] - offsets[0], args.tolerance_ms))
summary = {'rounds': [{'at_ms': round(r['at_ms'], 1), 'frames': len(r['kinds'])} for r in rounds],
           'frame_kinds_per_round': want, 'problems': problems}
if args.resume_at is not None:
    summary['round0_after_resume_ms'] = round((t0 - args.resume_at) * 1000, 1)
print(json.dumps(summary))
sys.exit(1 if problems else 0)
