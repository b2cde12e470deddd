// The deterministic simulator in CI: the real src/core over many seeds, each
// with its own formation size, timing, clock drift and fault mix, a safety
// phase with faults and a liveness phase after healing (see test/sim/world.ts).
// Every seed must keep S1–S4, election and state-machine safety, converge
// within its bound, fail over within the lease arithmetic's bound, and (in
// fault-free and loss-only runs) never move a ticket from a healthy holder.
// The seeds are split in blocks so vitest can run them on both cores; a
// failure names the seed and the command that replays it.
import { describe, expect, it } from 'vitest';
import { failed, runSeed, summarize } from './run.js';

const seedsTotal = Number(process.env.SIM_SEEDS ?? 1000);
const blocks = 4;
const perBlock = Math.ceil(seedsTotal / blocks);

describe('simulator: the real core under faults', () => {
  for (let b = 0; b < blocks; b++) {
    const first = 1 + b * perBlock;
    const last = Math.min(seedsTotal, first + perBlock - 1);
    it(`seeds ${first}–${last} keep every invariant and converge`, () => {
      const results = [];
      for (let s = first; s <= last; s++) results.push(runSeed(s));
      const bad = results.filter(failed).map((r) => ({
        seed: r.seed,
        replay: `npm run sim -- --seed ${r.seed}`,
        violations: r.violations.slice(0, 3),
        liveness: r.livenessFailures.slice(0, 3),
        falseFailovers: r.falseFailovers,
      }));
      expect(bad).toEqual([]);
      const sum = summarize(results, null);
      expect(sum.minGuardGapMs === null || sum.minGuardGapMs > 0).toBe(true);
      expect(sum.failoverMs.count).toBeGreaterThan(0);
    });
  }
});
