// Checks the arithmetic of SWIM and Lifeguard (src/core/swim-math.ts) against
// the formulas as the papers write them, coded here the dumb way: Lifeguard's
// suspicion timeout max(min, max − (max − min)·log(C+1)/log(K+1)) with base-2
// logarithms (the ratio does not depend on the base, so a base mix-up in the
// module would show), the retransmit limit λ·⌈log2(n+1)⌉ by counting binary
// digits, the health score by replaying deltas one step at a time. fast-check
// draws the inputs; a few hand-picked cases pin numbers an operator would
// look up (lan preset, 5 members: 4 s to 24 s).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/core/random.js';
import {
  adjustHealthScore,
  expectedConfirmations,
  healthMultiplier,
  nackTimeoutMs,
  pickDistinct,
  probeHealthDelta,
  reachWindowMs,
  retransmitLimit,
  shuffled,
  smoothedRttMs,
  suspicionBoundsMs,
  suspicionTimeoutMs,
} from '../../../src/core/gossip/swim-math.js';

/** Lifeguard LHA-Suspicion as printed, with log2 on purpose. */
function referenceTimeout(min: number, max: number, c: number, k: number): number {
  if (k <= 0) return max;
  const raw = max - ((max - min) * Math.log2(c + 1)) / Math.log2(k + 1);
  return Math.max(min, Math.floor(raw));
}

/** ⌈log2(n + 1)⌉ by counting the binary digits of n (n + 1 ≤ 2^d ⇔ n < 2^d). */
function bits(n: number): number {
  return n.toString(2).length;
}

describe('suspicion timeout (Lifeguard LHA-Suspicion)', () => {
  it('equals the reference formula for any bounds, confirmations and K', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 10 }),
        (min, extra, c, k) => {
          const max = min + extra;
          const got = suspicionTimeoutMs(min, max, c, k);
          const want = referenceTimeout(min, max, c, k);
          // Floating point: the two log bases may round differently by one ms.
          expect(Math.abs(got - want)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('starts at max, shrinks with every confirmation, and is min from K confirmations on', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 1, max: 8 }), (min, extra, k) => {
        const max = min + extra;
        expect(suspicionTimeoutMs(min, max, 0, k)).toBe(max);
        for (let c = 1; c <= k; c++) expect(suspicionTimeoutMs(min, max, c, k)).toBeLessThanOrEqual(suspicionTimeoutMs(min, max, c - 1, k));
        expect(suspicionTimeoutMs(min, max, k, k)).toBe(min);
        expect(suspicionTimeoutMs(min, max, k + 5, k)).toBe(min);
      }),
    );
  });

  it('keeps max when nobody could confirm (K = 0)', () => {
    expect(suspicionTimeoutMs(4_000, 24_000, 0, 0)).toBe(24_000);
    expect(suspicionTimeoutMs(4_000, 24_000, 3, 0)).toBe(24_000);
  });

  it('lan preset, 5 members: 24 s alone, 4 s after three confirmations', () => {
    const { minMs, maxMs } = suspicionBoundsMs(5, 1_000, 4, 6);
    expect([minMs, maxMs]).toEqual([4_000, 24_000]);
    const k = expectedConfirmations(5, 3);
    expect(k).toBe(3);
    expect([0, 1, 2, 3].map((c) => suspicionTimeoutMs(minMs, maxMs, c, k))).toEqual([24_000, 14_000, 8_150, 4_000]);
  });

  it('bounds scale with log10(n) from 10 members on, and never below one', () => {
    expect(suspicionBoundsMs(1, 1_000, 4, 6).minMs).toBe(4_000);
    expect(suspicionBoundsMs(9, 1_000, 4, 6).minMs).toBe(4_000);
    expect(suspicionBoundsMs(100, 1_000, 4, 6)).toEqual({ minMs: 8_000, maxMs: 48_000 });
  });

  it('expects at most n − 2 confirmations', () => {
    expect([2, 3, 4, 5, 9].map((n) => expectedConfirmations(n, 3))).toEqual([0, 1, 2, 3, 3]);
  });
});

describe('retransmit limit (SWIM λ·log n)', () => {
  it('is λ·⌈log2(n + 1)⌉', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 100_000 }), (lambda, n) => {
        expect(retransmitLimit(lambda, n)).toBe(lambda * bits(n));
      }),
    );
    expect([1, 3, 4, 7, 8, 15].map((n) => retransmitLimit(4, n))).toEqual([4, 8, 12, 12, 16, 16]);
  });
});

describe('local health awareness (Lifeguard LHA-Probe)', () => {
  it('scores stay within [0, S] and the multiplier is score + 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 50 }), (smax, deltas) => {
        let s = 0;
        for (const d of deltas) {
          const next = adjustHealthScore(s, d, smax);
          // Reference: step one point at a time, stopping at the walls.
          let r = s;
          for (let i = 0; i < Math.abs(d); i++) r = Math.min(smax, Math.max(0, r + Math.sign(d)));
          expect(next).toBe(r);
          s = next;
          expect(healthMultiplier(s)).toBe(s + 1);
        }
      }),
    );
  });

  it('an ack lowers the score; missed nacks, or a silent probe without helpers, raise it', () => {
    expect(probeHealthDelta({ acked: true, helpers: 3, nacks: 0, targetDead: false })).toBe(-1);
    expect(probeHealthDelta({ acked: false, helpers: 3, nacks: 3, targetDead: false })).toBe(0);
    expect(probeHealthDelta({ acked: false, helpers: 3, nacks: 1, targetDead: false })).toBe(2);
    expect(probeHealthDelta({ acked: false, helpers: 0, nacks: 0, targetDead: false })).toBe(1);
    expect(probeHealthDelta({ acked: false, helpers: 0, nacks: 0, targetDead: true })).toBe(0);
  });
});

describe('small helpers', () => {
  it('smoothed RTT takes the first sample and then moves by 1/8 of the error', () => {
    expect(smoothedRttMs(null, 40)).toBe(40);
    expect(smoothedRttMs(40, 120)).toBe(50);
  });

  it('reach window covers multiplier rounds of n − 1 periods, stretched by health', () => {
    expect(reachWindowMs(1_000, 5, 3, 0)).toBe(12_000);
    expect(reachWindowMs(1_000, 5, 3, 1)).toBe(24_000);
    expect(reachWindowMs(1_000, 1, 3, 0)).toBe(3_000);
  });

  it('nack timeout is a fraction of the remaining window, at least 1 ms', () => {
    expect(nackTimeoutMs(500, 80)).toBe(400);
    expect(nackTimeoutMs(0, 80)).toBe(1);
  });

  it('shuffles are permutations, reproducible from the seed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer(), { maxLength: 30 }), fc.integer(), (items, seed) => {
        const a = shuffled(items, new SeededRandom(seed));
        expect([...a].sort((x, y) => x - y)).toEqual([...items].sort((x, y) => x - y));
        expect(shuffled(items, new SeededRandom(seed))).toEqual(a);
        const picked = pickDistinct([...new Set(items)], 3, new SeededRandom(seed));
        expect(new Set(picked).size).toBe(picked.length);
        expect(picked.length).toBe(Math.min(3, new Set(items).size));
      }),
    );
  });
});
