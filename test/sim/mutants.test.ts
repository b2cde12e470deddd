// Negative controls: each mutant is the real core with one deliberate bug
// (test/sim/mutants.ts). The same simulator and checker that pass the real
// core must catch every one within 2,000 seeds; a checker that cannot fail
// would let these through.
import { describe, expect, it } from 'vitest';
import { simTestTimeoutMs } from './seed-blocks.js';
import { safetyMutantNames } from './mutants.js';
import { runSeed } from './run.js';

const seedsMax = 2000;

describe('simulator negative controls', () => {
  for (const name of safetyMutantNames) {
    it(`catches the mutant ${name}`, () => {
      let caughtAt: number | null = null;
      let what = '';
      for (let seed = 1; seed <= seedsMax && caughtAt === null; seed++) {
        const r = runSeed(seed, name);
        if (r.violations.length > 0) {
          caughtAt = seed;
          what = `${r.violations[0]!.invariant}: ${r.violations[0]!.detail}`;
        }
      }
      expect(caughtAt, `mutant ${name} survived ${seedsMax} seeds`).not.toBeNull();
      expect(what).not.toBe('');
    }, simTestTimeoutMs);
  }

  // Issue 12, item 1: the stranded-grant check (world.ts sampleStranded) must see a host that never
  // learns of a revoke it did not make. Without the sink read-back, late guard writes strand grants.
  it('catches a host without the sink read-back (a stranded grant)', () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 200 && caught === undefined; seed++) {
      caught = runSeed(seed, undefined, { guardLateRate: 0.3 }, { sinkReadBack: false }).livenessFailures.find((l) => l.includes('while its CIB did not'));
    }
    expect(caught, 'no stranded grant seen in 200 seeds without the read-back').toBeDefined();
  });

  it('the real core passes the seeds that catch the mutants', () => {
    for (const seed of [1, 11, 13, 33, 125, 163]) expect(runSeed(seed).violations).toEqual([]);
  }, simTestTimeoutMs);
});
