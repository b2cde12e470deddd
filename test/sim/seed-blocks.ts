// Shared by the seed test files: runs a block of seeds and returns what failed,
// with the command that replays each failure.
import { failed, runSeed, summarize, type Summary } from './run.js';
import type { DrawOptions } from './params.js';

export function runBlock(first: number, last: number, options: DrawOptions = {}): { bad: unknown[]; summary: Summary } {
  const results = [];
  for (let s = first; s <= last; s++) results.push(runSeed(s, undefined, options));
  const bad = results.filter(failed).map((r) => ({
    seed: r.seed,
    replay: `npm run sim -- --seed ${r.seed}${options.liveChanges === true ? ' --live-changes' : ''}`,
    violations: r.violations.slice(0, 3),
    liveness: r.livenessFailures.slice(0, 3),
    falseFailovers: r.falseFailovers,
  }));
  return { bad, summary: summarize(results, null) };
}

/**
 * Wall-clock budget of one simulator test. A run is deterministic and bounded
 * in virtual time, so it always ends; the budget only guards against a hang.
 * What it costs in wall time is CPU: a block takes 30–80 s on an idle 2-core
 * machine and several times that beside other work, which the default
 * testTimeout (120 s) does not allow for.
 */
export const simTestTimeoutMs = 30 * 60_000;

/** Seeds run in CI: SIM_SEEDS (default 1000), split in two halves so both cores work. */
export const seedsTotal = Number(process.env.SIM_SEEDS ?? 1000);

/** Seeds run in CI with the live-change faults (member replace, agent moves) in their share too: SIM_LIVE_SEEDS (default 300). */
export const liveSeedsTotal = Number(process.env.SIM_LIVE_SEEDS ?? 300);

type Describe = (name: string, fn: () => void) => void;
type It = (name: string, fn: () => void, timeoutMs: number) => void;
type Expect = (v: unknown) => { toEqual(x: unknown): void; toBe(x: unknown): void; toBeGreaterThan(x: number): void };

/** Declares the seed tests of one half (each half is its own file, so vitest runs them on both cores). */
export function defineSeedTests(half: 1 | 2, describe: Describe, it: It, expect: Expect): void {
  const mid = Math.ceil(seedsTotal / 2);
  defineSeedBlocks(half === 1 ? 1 : mid + 1, half === 1 ? mid : seedsTotal, {}, describe, it, expect);
}

/** Declares seeds lo–hi in four blocks, drawn with `options`. */
export function defineSeedBlocks(lo: number, hi: number, options: DrawOptions, describe: Describe, it: It, expect: Expect): void {
  const blocks = 4;
  const what = options.liveChanges === true ? 'with live formation changes ' : '';
  describe(`simulator: the real core under faults ${what}(seeds ${lo}–${hi})`, () => {
    for (let b = 0; b < blocks; b++) {
      const first = lo + Math.floor((b * (hi - lo + 1)) / blocks);
      const last = lo - 1 + Math.floor(((b + 1) * (hi - lo + 1)) / blocks);
      it(`seeds ${first}–${last} keep every invariant and converge`, () => {
        const { bad, summary } = runBlock(first, last, options);
        expect(bad).toEqual([]);
        expect(summary.minGuardGapMs === null || summary.minGuardGapMs > 0).toBe(true);
        expect(summary.failoverMs.count).toBeGreaterThan(0);
      }, simTestTimeoutMs);
    }
  });
}
