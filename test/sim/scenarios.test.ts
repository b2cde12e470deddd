// The gossip scenario families of issue 5 (test/sim/params.ts), on the real
// core: bridge (one link cut both ways, usually between the leader and the
// holder), one-way (a link that delivers in one direction only),
// five-member-ring (2, 3 and 4 cut from 5, which keeps its link to 1) and
// lossy (up to 30 % loss, no partitions). In every one each member keeps a
// path to a majority, directly or through one relay, so:
//  - no automatic failover may happen while the scenario holds (L2), on any
//    seed, and the safety invariants hold as everywhere;
//  - every ticket change reaches every member's local view (`list --local`).
// Negative controls on the bridge at 0 % loss, where the real core shows no
// false suspicion and no false failover at all: the `no-relay` mutant (gossip
// finds relays, the registry does not use them) must fail tickets over, and
// `no-indirect-probe` must suspect members behind the cut link; neither may
// break safety. SIM_SCENARIO_SEEDS sets the seeds per family.
import { describe, expect, it } from 'vitest';
import { simTestTimeoutMs } from './seed-blocks.js';
import { gossipMutantNames } from './mutants.js';
import { scenarioNames } from './params.js';
import { failed, runSeed, summarize } from './run.js';

const seedsPerFamily = Number(process.env.SIM_SCENARIO_SEEDS ?? 60);
const controlSeeds = 20;

describe('simulator: gossip scenarios on the real core', () => {
  for (const scenario of scenarioNames) {
    it(`${scenario}: no false failover, safety holds, every change converges (${seedsPerFamily} seeds)`, () => {
      const results = Array.from({ length: seedsPerFamily }, (_, i) => runSeed(i + 1, undefined, { scenario }));
      const bad = results.filter(failed).map((r) => ({
        seed: r.seed,
        replay: `npm run sim -- --seed ${r.seed} --scenario ${scenario}`,
        violations: r.violations.slice(0, 3),
        liveness: r.livenessFailures.slice(0, 3),
        falseFailovers: r.falseFailovers,
      }));
      expect(bad).toEqual([]);
      const s = summarize(results, null, scenario);
      expect(s.falseFailovers).toBe(0);
      expect(s.convergenceMs.count).toBeGreaterThan(0);
      expect(s.convergenceMs.unconverged).toBe(0);
      if (scenario !== 'lossy') expect(s.relay.sent).toBeGreaterThan(0);
    }, simTestTimeoutMs);
  }
});

describe('simulator: gossip negative controls (bridge, 0 % loss)', () => {
  const run = (mutant?: string) => summarize(
    Array.from({ length: controlSeeds }, (_, i) => runSeed(i + 1, mutant, { scenario: 'bridge', lossRate: 0 })),
    mutant ?? null,
    'bridge',
    0,
  );

  it('the real core: no false suspicion, no false failover', () => {
    const s = run();
    expect(Object.values(s.violations).reduce((a, b) => a + b, 0)).toBe(0);
    expect(s.falseFailovers).toBe(0);
    expect(s.falseSuspicions.count).toBe(0);
  }, simTestTimeoutMs);

  it('no-relay fails tickets over while a path exists', () => {
    const s = run('no-relay');
    expect(Object.values(s.violations).reduce((a, b) => a + b, 0)).toBe(0);
    expect(s.falseFailovers).toBeGreaterThan(0);
  }, simTestTimeoutMs);

  it('no-indirect-probe suspects members behind a cut link', () => {
    const s = run('no-indirect-probe');
    expect(Object.values(s.violations).reduce((a, b) => a + b, 0)).toBe(0);
    expect(s.falseSuspicions.count).toBeGreaterThan(0);
  }, simTestTimeoutMs);

  it('lists exactly the gossip mutants', () => {
    expect([...gossipMutantNames].sort()).toEqual(['no-indirect-probe', 'no-relay']);
  }, simTestTimeoutMs);
});
