// Checks src/wire/reject-counter.ts: rejects are counted per peer and reason;
// the number of peers with their own counters is capped, later peers land in
// the shared "(other)" bucket, and pinned peers always keep their own; the
// log decision lets through the first reject and then at most one per
// interval for each peer bucket and reason, reporting how many it held back.
// Time is a plain number passed in, so the tests step it by hand.
import { describe, expect, it } from 'vitest';
import {
  envelopeRejectReasons,
  otherPeersKey,
  peerKeyCharsMax,
  RejectCounter,
  RejectCounterError,
  rejectReasons,
  replayRejectReasons,
  transportRejectReasons,
} from '../../src/wire/index.js';
import { randomInt, seededRandom } from './helpers.js';

describe('counting', () => {
  it('counts per peer and reason', () => {
    const counter = new RejectCounter();
    counter.record('p1', 'bad-signature', 0);
    counter.record('p1', 'bad-signature', 1);
    counter.record('p1', 'oversize', 2);
    counter.record('p2', 'bad-signature', 3);
    expect(counter.countOf('p1', 'bad-signature')).toBe(2);
    expect(counter.countOf('p1', 'oversize')).toBe(1);
    expect(counter.countOf('p2', 'bad-signature')).toBe(1);
    expect(counter.countOf('p2', 'oversize')).toBe(0);
    expect(counter.countOf('nobody', 'oversize')).toBe(0);
    expect(counter.total).toBe(4);
    expect(counter.snapshot()).toEqual([
      { peer: 'p1', reason: 'bad-signature', count: 2 },
      { peer: 'p1', reason: 'oversize', count: 1 },
      { peer: 'p2', reason: 'bad-signature', count: 1 },
    ]);
  });

  it('caps tracked peers; the rest share the "(other)" bucket', () => {
    const counter = new RejectCounter({ rejectPeersMax: 2 });
    expect(counter.record('p1', 'truncated', 0).bucket).toBe('p1');
    expect(counter.record('p2', 'truncated', 0).bucket).toBe('p2');
    expect(counter.record('p3', 'truncated', 0).bucket).toBe(otherPeersKey);
    expect(counter.record('p4', 'truncated', 0).bucket).toBe(otherPeersKey);
    expect(counter.record('p1', 'truncated', 0).bucket).toBe('p1');
    expect(counter.trackedPeerCount).toBe(2);
    expect(counter.countOf(otherPeersKey, 'truncated')).toBe(2);
    expect(counter.countOf('p3', 'truncated')).toBe(0);
    expect(counter.snapshot()).toContainEqual({ peer: otherPeersKey, reason: 'truncated', count: 2 });
  });

  it('stays bounded under a flood of made-up peer ids, and pinned members keep their own counters', () => {
    const counter = new RejectCounter({ rejectPeersMax: 8, pinnedPeers: ['site-a', 'site-b'] });
    const random = seededRandom(11);
    for (let i = 0; i < 10_000; i += 1) {
      const reason = rejectReasons[randomInt(random, rejectReasons.length)]!;
      counter.record(`fake-${i}-${'x'.repeat(randomInt(random, 300))}`, reason, i);
    }
    counter.record('site-a', 'bad-signature', 10_000);
    expect(counter.trackedPeerCount).toBe(8);
    expect(counter.countOf('site-a', 'bad-signature')).toBe(1);
    expect(counter.total).toBe(10_001);
    // Memory: at most (rejectPeersMax + 1) buckets × the fixed set of reasons.
    expect(counter.snapshot().length).toBeLessThanOrEqual(9 * rejectReasons.length);
    for (const entry of counter.snapshot()) expect(entry.peer.length).toBeLessThanOrEqual(peerKeyCharsMax);
  });

  it('pin() gives a member added at runtime its own counters even once the made-up peers filled every slot', () => {
    const counter = new RejectCounter({ rejectPeersMax: 4, pinnedPeers: ['site-a'] });
    for (let i = 0; i < 100; i += 1) counter.record(`fake-${i}`, 'bad-signature', i);
    expect(counter.trackedPeerCount).toBe(4);
    counter.pin('site-new');
    counter.pin('site-new');
    expect(counter.rejectPeersMax).toBe(5);
    counter.record('site-new', 'bad-signature', 100);
    expect(counter.countOf('site-new', 'bad-signature')).toBe(1);
    // The room left for others is what it was: still full.
    expect(counter.record('fake-new', 'bad-signature', 101).bucket).toBe(otherPeersKey);
  });

  it('cuts long peer strings to peerKeyCharsMax', () => {
    const counter = new RejectCounter();
    const long = 'p'.repeat(1000);
    expect(counter.record(long, 'oversize', 0).bucket).toBe('p'.repeat(peerKeyCharsMax));
    expect(counter.countOf(long, 'oversize')).toBe(1);
  });

  it('its reasons are those of the envelope, the replay window and the transport, plus invalid-message', () => {
    expect(new Set(rejectReasons)).toEqual(
      new Set([...envelopeRejectReasons, ...replayRejectReasons, 'invalid-message', ...transportRejectReasons]),
    );
  });

  it('refuses bad options and a non-finite clock with a coded error', () => {
    const codeOf = (action: () => unknown): string | undefined => {
      try {
        action();
      } catch (error) {
        expect(error).toBeInstanceOf(RejectCounterError);
        return (error as RejectCounterError).code;
      }
      return undefined;
    };
    expect(codeOf(() => new RejectCounter({ rejectPeersMax: -1 }))).toBe('REJECT_COUNTER_CONFIG');
    expect(codeOf(() => new RejectCounter({ logIntervalMs: Number.NaN }))).toBe('REJECT_COUNTER_CONFIG');
    expect(codeOf(() => new RejectCounter({ rejectPeersMax: 1, pinnedPeers: ['a', 'b'] }))).toBe('REJECT_COUNTER_CONFIG');
    expect(codeOf(() => new RejectCounter().record('p', 'oversize', Number.NaN))).toBe('REJECT_COUNTER_CLOCK');
  });
});

describe('rate-limited logging', () => {
  it('logs the first reject, holds back the rest of the interval, then logs with the held-back count', () => {
    const counter = new RejectCounter({ logIntervalMs: 1000 });
    expect(counter.record('p', 'bad-signature', 5000)).toEqual({ log: true, bucket: 'p', suppressedCount: 0, count: 1 });
    expect(counter.record('p', 'bad-signature', 5001)).toEqual({ log: false, bucket: 'p', count: 2 });
    expect(counter.record('p', 'bad-signature', 5999)).toEqual({ log: false, bucket: 'p', count: 3 });
    expect(counter.record('p', 'bad-signature', 6000)).toEqual({ log: true, bucket: 'p', suppressedCount: 2, count: 4 });
    expect(counter.record('p', 'bad-signature', 6500)).toMatchObject({ log: false });
    // Quiet for a long time: the next reject logs at once, with what was held back.
    expect(counter.record('p', 'bad-signature', 60_000)).toEqual({ log: true, bucket: 'p', suppressedCount: 1, count: 6 });
  });

  it('limits each peer and reason separately', () => {
    const counter = new RejectCounter({ logIntervalMs: 1000 });
    expect(counter.record('p', 'bad-signature', 0).log).toBe(true);
    expect(counter.record('p', 'oversize', 1).log).toBe(true);
    expect(counter.record('q', 'bad-signature', 2).log).toBe(true);
    expect(counter.record('p', 'bad-signature', 3).log).toBe(false);
  });

  it('a flood costs one line per interval, and no reject goes unaccounted', () => {
    const counter = new RejectCounter({ logIntervalMs: 1000, rejectPeersMax: 0 });
    let lines = 0;
    let reported = 0;
    for (let nowMs = 0; nowMs < 10_000; nowMs += 1) {
      const decision = counter.record(`peer-${nowMs}`, 'truncated', nowMs);
      if (decision.log) {
        lines += 1;
        reported += 1 + decision.suppressedCount;
      }
    }
    expect(lines).toBe(10);
    // Everything after the last line is still pending suppression.
    expect(reported + 999).toBe(10_000);
    expect(counter.countOf(otherPeersKey, 'truncated')).toBe(10_000);
  });

  it('with logIntervalMs 0 every reject is logged', () => {
    const counter = new RejectCounter({ logIntervalMs: 0 });
    for (let i = 0; i < 5; i += 1) expect(counter.record('p', 'duplicate', 7).log).toBe(true);
  });
});
