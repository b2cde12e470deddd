// The benchmark's emulated WAN (bench/wan-net.ts: member namespaces behind a
// router whose user-space delay line holds each packet) gives the round trip,
// jitter and loss it is asked for, as TCP between two members sees them: a
// TCP ping (one byte echoed, 150 times in a row) measures the round trip —
// never below RTT − 2 × jitter, the median near RTT — and the pings that
// needed a retransmission (one segment of the two lost: ≈ 1 − 0.95² ≈ 10 %)
// stand out by a retransmission timeout. The delay line's own counters show
// the loss rate per packet. A cut member is unreachable until healed.
// Needs root, /dev/net/tun and /usr/bin/python3 (skipped otherwise).

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WanNet } from '../../bench/wan-net.js';
import { startEcho, tcpPing } from '../../bench/wan/tcp-ping.js';

const canRun = process.getuid?.() === 0 && existsSync('/dev/net/tun') && existsSync('/usr/bin/python3');
const profile = { rttMs: 100, jitterMs: 10, lossPct: 5 };
const pings = 150;
/** A ping slower than this had a segment retransmitted: TCP's retransmission timeout is ≥ 200 ms on Linux. */
const retransmittedAboveMs = profile.rttMs + 150;

describe.skipIf(!canRun)('bench WAN emulator', () => {
  let wan: WanNet;
  let echo: { stop: () => void };

  beforeAll(async () => {
    // A fixed seed: the delay line's loss draws are the same every run.
    wan = await WanNet.start(2, profile, { seed: 1, prefix: `tbwantest${process.pid}` });
    echo = await startEcho(wan, 1);
  });

  afterAll(async () => {
    echo?.stop();
    await wan?.stop();
  });

  it('gives the round trip, jitter and loss asked for, as a TCP ping sees them', async () => {
    const before = await wan.stats();
    const r = await tcpPing(wan, 0, 1, pings, 10_000);
    const after = await wan.stats();
    expect(r.error).toBeNull();
    expect(r.timedOut).toBe(false);
    expect(r.rtts).toHaveLength(pings);
    const sorted = [...r.rtts].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    // Never faster than the wire allows: each direction holds delay − jitter at least.
    expect(sorted[0]!).toBeGreaterThanOrEqual(profile.rttMs - 2 * profile.jitterMs - 1);
    // The median round trip is the profile's, give or take a loaded host's scheduling.
    expect(median).toBeGreaterThanOrEqual(profile.rttMs - 10);
    expect(median).toBeLessThanOrEqual(profile.rttMs + 60);
    const retransmitted = r.rtts.filter((x) => x > retransmittedAboveMs).length / pings;
    expect(retransmitted).toBeGreaterThanOrEqual(0.03);
    expect(retransmitted).toBeLessThanOrEqual(0.2);
    const seen = after.seen - before.seen;
    const lossPct = (100 * (after.dropped - before.dropped)) / seen;
    expect(seen).toBeGreaterThanOrEqual(2 * pings);
    expect(lossPct).toBeGreaterThanOrEqual(3);
    expect(lossPct).toBeLessThanOrEqual(8);
  });

  it('cuts a member off the WAN, and heals it', async () => {
    await wan.cut(0);
    const cut = await tcpPing(wan, 0, 1, 1, 2000);
    expect(cut.rtts).toHaveLength(0);
    await wan.heal(0);
    const healed = await tcpPing(wan, 0, 1, 3, 10_000);
    expect(healed.rtts).toHaveLength(3);
  });
});
