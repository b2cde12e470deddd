// Checks src/core/quorum.ts against a dumb reference, in the manner of etcd's
// quorum/quick_test.go. The reference knows nothing of halves or sorting: for
// small formations it enumerates voter subsets as bit masks. A group size is
// a majority when no two disjoint groups of that size exist (so any two such
// groups share a voter); the majority is the smallest such size; a vote has a
// majority when the "yes" voters alone form such a group, and is lost when
// the voters that have not refused could no longer form one. quorumValue is
// checked against "the largest minimum of any quorum-sized subset of the
// values". fast-check draws the inputs; a few hand-picked cases pin the
// numbers an operator would look up (3 voters → 2, 4 → 3, 5 → 3).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasMajority, majority, majorityImpossible, quorumValue } from '../../../src/core/registry/quorum.js';

/** Voter counts small enough to enumerate 2ⁿ × 2ⁿ subset pairs. */
const voterCountMax = 8;

function popcount(mask: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m &= m - 1) count++;
  return count;
}

/** Every subset (as a bit mask) of n voters with exactly `size` members. */
function subsetsOfSize(n: number, size: number): number[] {
  const out: number[] = [];
  for (let mask = 0; mask < 1 << n; mask++) if (popcount(mask) === size) out.push(mask);
  return out;
}

/** Reference: groups of `size` out of n voters always intersect (no two are disjoint). */
function groupsAlwaysIntersect(size: number, n: number): boolean {
  if (size > n) return true; // no group that large exists, so none can be disjoint from another
  const groups = subsetsOfSize(n, size);
  for (const a of groups) for (const b of groups) if ((a & b) === 0) return false;
  return true;
}

/** Reference majority: the smallest group size whose groups always intersect. */
function referenceMajority(n: number): number {
  for (let size = 1; ; size++) if (groupsAlwaysIntersect(size, n)) return size;
}

/** Reference quorumValue: the largest minimum over all subsets of `quorum` values. */
function referenceQuorumValue(values: readonly number[], quorum: number): number | undefined {
  if (quorum <= 0 || quorum > values.length) return undefined;
  let best: number | undefined;
  for (const mask of subsetsOfSize(values.length, quorum)) {
    let min = Number.POSITIVE_INFINITY;
    values.forEach((v, i) => {
      if ((mask & (1 << i)) !== 0) min = Math.min(min, v);
    });
    if (best === undefined || min > best) best = min;
  }
  return best;
}

const voterCount = fc.integer({ min: 0, max: voterCountMax });

describe('majority', () => {
  it('is the smallest group size of which any two groups share a voter', () => {
    fc.assert(
      fc.property(voterCount, (n) => {
        expect(majority(n)).toBe(referenceMajority(n));
      }),
    );
  });

  it('gives the numbers an operator expects', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('is more than half for any formation size, not only small ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => {
        const m = majority(n);
        expect(2 * m).toBeGreaterThan(n);
        expect(2 * (m - 1)).toBeLessThanOrEqual(n);
      }),
    );
  });
});

describe('hasMajority', () => {
  it('holds exactly when the granting voters form a group that meets every other such group', () => {
    fc.assert(
      fc.property(
        voterCount.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        ([n, granted]) => {
          expect(hasMajority(granted, n)).toBe(granted > 0 && groupsAlwaysIntersect(granted, n));
        },
      ),
    );
  });
});

describe('majorityImpossible', () => {
  it('holds exactly when no assignment of the undecided voters reaches a majority', () => {
    fc.assert(
      fc.property(
        voterCount.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        ([n, rejected]) => {
          // Dumb: try every way the voters that did not refuse could still answer.
          const open = n - rejected;
          let reachable = false;
          for (let mask = 0; mask < 1 << open; mask++) {
            if (popcount(mask) > 0 && groupsAlwaysIntersect(popcount(mask), n)) reachable = true;
          }
          expect(majorityImpossible(rejected, n)).toBe(!reachable);
        },
      ),
    );
  });

  it('never agrees with hasMajority on the same split of votes', () => {
    fc.assert(
      fc.property(
        voterCount.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        ([n, granted]) => {
          // granted yes and the rest no: exactly one of "won" and "lost" holds.
          expect(hasMajority(granted, n)).toBe(!majorityImpossible(n - granted, n));
        },
      ),
    );
  });
});

describe('quorumValue', () => {
  const values = fc.array(fc.integer({ min: -5, max: 20 }), { maxLength: voterCountMax });

  it('is the largest value that at least `quorum` of the values reach', () => {
    fc.assert(
      fc.property(values, fc.integer({ min: -1, max: voterCountMax + 1 }), (vs, quorum) => {
        expect(quorumValue(vs, quorum)).toBe(referenceQuorumValue(vs, quorum));
      }),
    );
  });

  it('with a majority quorum, never exceeds what some voter in every majority has', () => {
    // The commit rule's reason to exist: any majority contains a voter at or above the value.
    fc.assert(
      fc.property(values.filter((vs) => vs.length > 0), (vs) => {
        const q = quorumValue(vs, majority(vs.length))!;
        for (const group of subsetsOfSize(vs.length, majority(vs.length))) {
          expect(vs.some((v, i) => (group & (1 << i)) !== 0 && v >= q)).toBe(true);
        }
      }),
    );
  });

  it('does not reorder its input', () => {
    const vs = [3, 1, 2];
    expect(quorumValue(vs, 2)).toBe(2);
    expect(vs).toEqual([3, 1, 2]);
  });

  it('handles the leader-lease use: -Infinity for voters never heard from', () => {
    const never = Number.NEGATIVE_INFINITY;
    expect(quorumValue([100, never, never], 2)).toBe(never);
    expect(quorumValue([100, 90, never], 2)).toBe(90);
  });
});
