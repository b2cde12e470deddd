// Checks the lease arithmetic of src/core/lease.ts (DESIGN.md §2) against a
// dumb reference that simulates clocks in real time. Each clock is affine:
// it reads `offset + t·(10⁶ + ratePpm)/10⁶` at real time t, with ratePpm
// anywhere in [−ρ·10⁶, +ρ·10⁶]. Real times are exact rationals (BigInt), so
// the boundary cases — clock rates at the very edge of the bound, zero delay —
// are decided exactly, not within a floating-point tolerance.
//
// Two safety properties are checked for any rates, offsets, send time and
// message delay ≥ 0 (the receipt is taken at a whole-millisecond reading of
// the receiver's clock, at or after the message's arrival):
//  1. the leader's view of a ticket lease (leaderViewEnd from its receipt
//     time), in real time, never ends before the holder's lease
//     (holderLeaseEnd from its send time) ends in real time;
//  2. the leader lease (leaderLeaseDurationMs from the send time of an
//     acknowledged heartbeat) ends in real time no later than the voter's
//     refusal window (electionTimeout on the voter's clock from its receipt).
// Negative controls then show that the property tests can fail: without the
// drift stretch (leader view r + D, leader lease = electionTimeout) fast-check
// finds counterexamples, so the properties are not vacuous.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  driftFraction,
  driftStretch,
  holderLeaseEnd,
  holderRevokeAt,
  leaderLeaseDurationMs,
  leaderViewEnd,
  effectiveRevokeLeadMs,
  revokeLeadCeilingMs,
  usableLeaseMinMs,
} from '../../src/core/lease.js';

// ───────────── exact rationals, just enough for the reference ─────────────

interface Q {
  readonly n: bigint;
  /** Always > 0. */
  readonly d: bigint;
}

const q = (n: bigint | number, d: bigint | number = 1n): Q => {
  const den = BigInt(d);
  return den < 0n ? { n: -BigInt(n), d: -den } : { n: BigInt(n), d: den };
};
const add = (a: Q, b: Q): Q => q(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Q, b: Q): Q => q(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Q, b: Q): Q => q(a.n * b.n, a.d * b.d);
const div = (a: Q, b: Q): Q => q(a.n * b.d, a.d * b.n);
const cmp = (a: Q, b: Q): number => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};
const ceilQ = (a: Q): bigint => {
  const f = a.n / a.d; // truncates toward zero
  return a.n > f * a.d ? f + 1n : f;
};
const toNumber = (a: Q): number => Number(a.n) / Number(a.d);
/** A whole-millisecond reading handed to the code under test, and back. */
const exactInt = (x: number): Q => {
  expect(Number.isSafeInteger(x), `${x} is not a safe integer`).toBe(true);
  return q(BigInt(x));
};

const ppmPerUnit = 1_000_000n;

/** A monotonic clock whose rate is within ±ρ of real time. */
class Clock {
  constructor(
    readonly offsetMs: number,
    readonly ratePpm: number,
  ) {}

  private rate(): Q {
    return q(ppmPerUnit + BigInt(this.ratePpm), ppmPerUnit);
  }

  /** What the clock reads at real time t. */
  readingAt(t: Q): Q {
    return add(q(this.offsetMs), mul(t, this.rate()));
  }

  /** The real time at which the clock reads `reading`. */
  realAt(reading: Q): Q {
    return div(sub(reading, q(this.offsetMs)), this.rate());
  }

  /** The first whole-millisecond reading at or after real time t, plus `extraMs` of further delay. */
  receiptReading(t: Q, extraMs: number): number {
    return Number(ceilQ(this.readingAt(t))) + extraMs;
  }
}

// ───────────── generators ─────────────

/** ρ·10⁶ in the range validateCoreConfig accepts, with the edges and the presets drawn often. */
const driftPpm = fc.oneof(fc.constantFrom(0, 1, 500, 10_000, 100_000), fc.integer({ min: 0, max: 100_000 }));

const clockWithin = (rhoPpm: number): fc.Arbitrary<Clock> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 1_000_000_000 }),
      fc.oneof(fc.constantFrom(-rhoPpm, rhoPpm, 0), fc.integer({ min: -rhoPpm, max: rhoPpm })),
    )
    .map(([offset, rate]) => new Clock(offset, rate));

/** Extra delay in whole milliseconds of the receiver's clock; zero is drawn often. */
const extraDelayMs = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60_000 }));

const holderLeaderCase = driftPpm.chain((rhoPpm) =>
  fc.record({
    rhoPpm: fc.constant(rhoPpm),
    holder: clockWithin(rhoPpm),
    leader: clockWithin(rhoPpm),
    sentAt: fc.integer({ min: 0, max: 1_000_000_000 }),
    extraMs: extraDelayMs,
    leaseDurationMs: fc.oneof(fc.constantFrom(1, 10_000, 600_000), fc.integer({ min: 1, max: 10_000_000 })),
  }),
);

type HolderLeaderCase = typeof holderLeaderCase extends fc.Arbitrary<infer T> ? T : never;

/**
 * Real-time margin between the leader's view and the holder's lease end
 * (≥ 0 is safe), for a given way of computing the leader's view.
 */
function viewMargin(c: HolderLeaderCase, view: (receivedAt: number, d: number, rhoPpm: number) => number): Q {
  const sendReal = c.holder.realAt(q(c.sentAt));
  const receivedAt = c.leader.receiptReading(sendReal, c.extraMs);
  const receiptReal = c.leader.realAt(q(receivedAt));
  expect(cmp(receiptReal, sendReal)).toBeGreaterThanOrEqual(0); // the message delay is never negative
  const holderEndReal = c.holder.realAt(exactInt(holderLeaseEnd(c.sentAt, c.leaseDurationMs)));
  const leaderEndReal = c.leader.realAt(exactInt(view(receivedAt, c.leaseDurationMs, c.rhoPpm)));
  return sub(leaderEndReal, holderEndReal);
}

const leaderVoterCase = driftPpm.chain((rhoPpm) =>
  fc.record({
    rhoPpm: fc.constant(rhoPpm),
    leader: clockWithin(rhoPpm),
    voter: clockWithin(rhoPpm),
    heartbeatSentAt: fc.integer({ min: 0, max: 1_000_000_000 }),
    extraMs: extraDelayMs,
    electionTimeoutMs: fc.oneof(fc.constantFrom(1, 1000, 3000, 30_000), fc.integer({ min: 1, max: 600_000 })),
  }),
);

type LeaderVoterCase = typeof leaderVoterCase extends fc.Arbitrary<infer T> ? T : never;

/**
 * Real-time margin between the voter's refusal window and the leader lease
 * (≥ 0 is safe: the leader's lease is over before the voter may vote again).
 */
function leaderLeaseMargin(c: LeaderVoterCase, lease: (electionTimeoutMs: number, rhoPpm: number) => number): Q {
  const sendReal = c.leader.realAt(q(c.heartbeatSentAt));
  const voterReceivedAt = c.voter.receiptReading(sendReal, c.extraMs);
  const voterRefusesUntilReal = c.voter.realAt(q(voterReceivedAt + c.electionTimeoutMs));
  const leaseEndReal = c.leader.realAt(exactInt(c.heartbeatSentAt + lease(c.electionTimeoutMs, c.rhoPpm)));
  return sub(voterRefusesUntilReal, leaseEndReal);
}

// ───────────── tests ─────────────

describe('the drift stretch', () => {
  it('is 1 without drift and (1+ρ)/(1−ρ) otherwise', () => {
    expect(driftFraction(500)).toBe(0.0005);
    expect(driftStretch(0)).toBe(1);
    expect(driftStretch(500)).toBeCloseTo(1.0005 / 0.9995, 15);
    expect(driftStretch(100_000)).toBeCloseTo(1.1 / 0.9, 15);
  });

  it('rounds each side towards safety (the leader view up, the leader lease down)', () => {
    // 10 000 ms × 1.0010005… = 10 010.005 ms: the view takes 10 011.
    expect(leaderViewEnd(0, 10_000, 500)).toBe(10_011);
    expect(leaderViewEnd(7, 10_000, 0)).toBe(10_007);
    // 1000 ms / 1.0010005… = 999.0005 ms: the lease takes 999.
    expect(leaderLeaseDurationMs(1000, 500)).toBe(999);
    expect(leaderLeaseDurationMs(1000, 0)).toBe(1000);
  });

  it('places the holder lease end and the revoke deadline on the holder clock', () => {
    expect(holderLeaseEnd(1_000, 10_000)).toBe(11_000);
    expect(holderRevokeAt(11_000, 500)).toBe(10_500);
  });
});

describe('the leader never sees a ticket lease end before the holder does (real time)', () => {
  it('holds for any clock rates within ±ρ, send time and message delay', () => {
    fc.assert(
      fc.property(holderLeaderCase, (c) => {
        expect(cmp(viewMargin(c, leaderViewEnd), q(0))).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds at the worst case: holder clock slowest, leader clock fastest, zero delay', () => {
    for (const rhoPpm of [0, 1, 500, 10_000, 99_999, 100_000]) {
      for (const leaseDurationMs of [1, 999, 10_000, 123_457, 600_000]) {
        const c: HolderLeaderCase = {
          rhoPpm,
          holder: new Clock(0, -rhoPpm),
          leader: new Clock(0, rhoPpm),
          sentAt: 0,
          extraMs: 0,
          leaseDurationMs,
        };
        const margin = viewMargin(c, leaderViewEnd);
        expect(cmp(margin, q(0)), `ρ=${rhoPpm} ppm, D=${leaseDurationMs} ms`).toBeGreaterThanOrEqual(0);
        // The margin is the rounding of the view up to a whole millisecond, nothing more.
        expect(toNumber(margin)).toBeLessThan(1);
      }
    }
  });

  it('can fail: without the drift stretch (leader view r + D), fast-check finds a counterexample', () => {
    const result = fc.check(
      fc.property(holderLeaderCase, (c) => cmp(viewMargin(c, (r, d) => r + d), q(0)) >= 0),
      { numRuns: 2000, seed: 1 },
    );
    expect(result.failed).toBe(true);
    const [counterexample] = result.counterexample!;
    // Only drift can break it: a slow holder clock outlasts a view taken from a fast leader clock.
    expect(counterexample.rhoPpm).toBeGreaterThan(0);
    expect(counterexample.holder.ratePpm).toBeLessThan(counterexample.leader.ratePpm);
  });

  it('can fail: a leader measuring from its own receipt without stretch loses even with ρ = 1 ppm', () => {
    const c: HolderLeaderCase = {
      rhoPpm: 1,
      holder: new Clock(0, -1),
      leader: new Clock(0, 1),
      sentAt: 0,
      extraMs: 0,
      leaseDurationMs: 600_000,
    };
    expect(cmp(viewMargin(c, (r, d) => r + d), q(0))).toBeLessThan(0);
    expect(cmp(viewMargin(c, leaderViewEnd), q(0))).toBeGreaterThanOrEqual(0);
  });
});

describe('the leader lease ends before any acknowledging voter may vote again (real time)', () => {
  it('holds for any clock rates within ±ρ, heartbeat send time and delay', () => {
    fc.assert(
      fc.property(leaderVoterCase, (c) => {
        expect(cmp(leaderLeaseMargin(c, leaderLeaseDurationMs), q(0))).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds at the worst case: leader clock slowest, voter clock fastest, zero delay', () => {
    for (const rhoPpm of [0, 1, 500, 10_000, 100_000]) {
      for (const electionTimeoutMs of [1, 1000, 3001, 600_000]) {
        const c: LeaderVoterCase = {
          rhoPpm,
          leader: new Clock(0, -rhoPpm),
          voter: new Clock(0, rhoPpm),
          heartbeatSentAt: 0,
          extraMs: 0,
          electionTimeoutMs,
        };
        expect(cmp(leaderLeaseMargin(c, leaderLeaseDurationMs), q(0)), `ρ=${rhoPpm} ppm, ET=${electionTimeoutMs} ms`).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('can fail: a leader lease of the full election timeout is found unsafe by fast-check', () => {
    const result = fc.check(
      fc.property(leaderVoterCase, (c) => cmp(leaderLeaseMargin(c, (et) => et), q(0)) >= 0),
      { numRuns: 2000, seed: 1 },
    );
    expect(result.failed).toBe(true);
    const [counterexample] = result.counterexample!;
    expect(counterexample.leader.ratePpm).toBeLessThan(counterexample.voter.ratePpm);
  });
});

describe('the effective revoke lead (issue 12 item 6)', () => {
  const usableMin = usableLeaseMinMs(1000, 1000); // lan: 2 × 1000 + 1000 + 1
  it('is the configured lead until twice the slowest write exceeds it, then twice that write', () => {
    expect(usableMin).toBe(3001);
    expect(effectiveRevokeLeadMs(4500, 0, 10_000, usableMin)).toBe(4500);
    expect(effectiveRevokeLeadMs(4500, 2250, 10_000, usableMin)).toBe(4500);
    expect(effectiveRevokeLeadMs(4500, 2300, 30_000, usableMin)).toBe(4600);
    expect(effectiveRevokeLeadMs(4500, 2300.2, 30_000, usableMin)).toBe(4602);
  });

  it('stops at the ceiling that keeps 1.5 × lead within lease − usableMin, and never below the configured lead', () => {
    const ceiling = revokeLeadCeilingMs(1000, 10_000, usableMin);
    expect(ceiling).toBe(Math.floor(((10_000 - 3001) * 2) / 3));
    expect(effectiveRevokeLeadMs(1000, 60_000, 10_000, usableMin)).toBe(ceiling);
    expect(1.5 * ceiling).toBeLessThanOrEqual(10_000 - usableMin);
    // A lead already above the ceiling (a short lease) is kept, not shortened.
    expect(revokeLeadCeilingMs(4500, 10_000, usableMin)).toBe(4666);
    expect(revokeLeadCeilingMs(6000, 10_000, usableMin)).toBe(6000);
    expect(effectiveRevokeLeadMs(6000, 5000, 10_000, usableMin)).toBe(6000);
  });

  it('holds for every lease, lead and write time: within [lead, max(lead, ceiling)] and ≥ 2 × write below the ceiling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 1, max: 600_000 }), fc.double({ min: 0, max: 1_000_000, noNaN: true }), (lease, lead, write) => {
        const ceiling = revokeLeadCeilingMs(lead, lease, usableMin);
        const eff = effectiveRevokeLeadMs(lead, write, lease, usableMin);
        return eff >= lead && eff <= Math.max(lead, ceiling) && (eff === ceiling || eff >= 2 * write);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
