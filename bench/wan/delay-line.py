#!/usr/bin/python3
# A WAN delay line in user space, for kernels without sch_netem (this
# machine's has none: `tc qdisc add ... netem` says "Specified qdisc kind is
# unknown"). bench/wan-net.ts runs it in the router namespace between the
# members and routes every forwarded packet into its TUN device; it gives each
# IPv4 packet back to the kernel (written into the same device, whose packets
# the main routing table forwards to the destination member) after
#   delay ± jitter (uniform), kept in order per (source, destination) pair,
# or drops it with probability loss. Each packet crosses the router once, so
# a round trip costs 2 × delay and each direction loses `loss` on its own,
# like netem on both ends of a link. Packets, not bytes: TCP above sees the
# real round trip (its RTO, retransmissions and congestion window are those
# of a WAN), unlike a TCP relay that terminates the connection.
#
# Python's standard library only (Debian's /usr/bin/python3): Node cannot
# issue the TUNSETIFF ioctl.
#
# stdin: one line per request; "stats" answers one JSON line on stdout with
# the counters; end of input stops the program. The first stdout line,
# {"ready": true, ...}, says the device exists.

import argparse
import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
# Largest packet read from the device: its MTU is 1500, GSO is off (no TUNSETOFFLOAD).
PACKET_BYTES_MAX = 65535
# Packets held at once; past it a packet is dropped and counted (a WAN's queue is finite too).
QUEUE_PACKETS_MAX = 100_000


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument('--tun', required=True)
    p.add_argument('--delay-ms', type=float, required=True)
    p.add_argument('--jitter-ms', type=float, default=0.0)
    p.add_argument('--loss-pct', type=float, default=0.0)
    p.add_argument('--seed', type=int, default=1)
    a = p.parse_args()
    if a.delay_ms < 0 or a.jitter_ms < 0 or a.jitter_ms > a.delay_ms or not 0 <= a.loss_pct < 100:
        print(f'delay-line: need 0 <= jitter <= delay and 0 <= loss < 100 (got delay {a.delay_ms}, jitter {a.jitter_ms}, loss {a.loss_pct})', file=sys.stderr)
        return 2
    rng = random.Random(a.seed)
    # The delay is the emulated network, not the system under test: keep it on time on a loaded host.
    try:
        os.nice(-10)
    except PermissionError:
        pass

    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', a.tun.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)

    held = []  # heap of (release time, sequence number, packet)
    last_release = {}  # (src, dst) -> release time of the last packet held for that pair
    seq = 0
    stats = {'seen': 0, 'dropped': 0, 'overflow': 0, 'sent': 0, 'notIpv4': 0, 'lateMsMax': 0.0}
    print(json.dumps({'ready': True, 'tun': a.tun, 'pid': os.getpid()}), flush=True)
    pending_in = b''
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            release, _, pkt = heapq.heappop(held)
            stats['lateMsMax'] = max(stats['lateMsMax'], (now - release) * 1000)
            try:
                os.write(fd, pkt)
                stats['sent'] += 1
            except OSError:
                # The kernel refused it (no route any more, device going down): a lost packet.
                stats['dropped'] += 1
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
        readable, _, _ = select.select([fd, stdin], [], [], timeout)
        if stdin in readable:
            chunk = os.read(stdin, 4096)
            if chunk == b'':
                return 0
            pending_in += chunk
            while b'\n' in pending_in:
                line, pending_in = pending_in.split(b'\n', 1)
                if line.strip() == b'stats':
                    print(json.dumps({**stats, 'held': len(held)}), flush=True)
        if fd in readable:
            # Drain what is there: one select per packet would cost a system call each.
            for _ in range(256):
                try:
                    pkt = os.read(fd, PACKET_BYTES_MAX)
                except BlockingIOError:
                    break
                now = time.monotonic()
                stats['seen'] += 1
                if len(pkt) < 20 or pkt[0] >> 4 != 4:
                    # IPv6 and the like are not emulated: the members talk IPv4. Dropped, counted.
                    stats['notIpv4'] += 1
                    continue
                if rng.random() * 100 < a.loss_pct:
                    stats['dropped'] += 1
                    continue
                if len(held) >= QUEUE_PACKETS_MAX:
                    stats['overflow'] += 1
                    continue
                delay = a.delay_ms + (rng.uniform(-a.jitter_ms, a.jitter_ms) if a.jitter_ms > 0 else 0.0)
                pair = pkt[12:20]
                release = max(now + delay / 1000, last_release.get(pair, 0.0))
                last_release[pair] = release
                seq += 1
                heapq.heappush(held, (release, seq, pkt))


if __name__ == '__main__':
    sys.exit(main())
