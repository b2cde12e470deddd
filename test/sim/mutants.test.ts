// Negative controls: each mutant is the real core with one deliberate bug
// (test/sim/mutants.ts). The same simulator and checker that pass the real
// core must catch every one within 2,000 seeds; a checker that cannot fail
// would let these through. Each search tries the seed that caught the mutant
// last first (test/sim/mutant-pins.ts), then the rest in order.
import { describe, expect, it } from 'vitest';
import { simTestTimeoutMs } from './seed-blocks.js';
import { safetyMutantNames } from './mutants.js';
import { mutantViolation, runSeed } from './run.js';
import { drawParams } from './params.js';
import { mutantPins, searchPinnedFirst } from './mutant-pins.js';

const seedsMax = 2000;
/** A mutant's run ends at its first violation: the catch is all a negative control needs (world.ts HostOptions). */
const untilCaught = { sinkReadBack: true, stopAtViolation: true } as const;
/** Seeds searched for the lost-majority mutant (about one in ten draws the fault). */
const lostMajoritySeedsMax = 1000;

describe('simulator negative controls', () => {
  for (const name of safetyMutantNames) {
    it(`catches the mutant ${name}`, () => {
      const caught = searchPinnedFirst(name, seedsMax, (seed) => {
        const v = mutantViolation(seed, name);
        return v === undefined ? undefined : `${v.invariant}: ${v.detail}`;
      });
      expect(caught, `mutant ${name} survived ${seedsMax} seeds`).not.toBeNull();
      expect(caught!.what).not.toBe('');
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

  // Issue 12, item 6: a site whose CIB writes slow down past half the revoke lead (a ramp, as CPU
  // starvation builds up). With the lead kept at the configured value a revoke lands after the lease
  // ended; the real core raises it to twice the slowest recent write and passes the same seeds.
  it('catches a holder that keeps the configured revoke lead while its CIB slows down (fixed-revoke-lead)', () => {
    let caught: string | undefined;
    let seed = 1;
    for (; seed <= 300 && caught === undefined; seed++) {
      const r = runSeed(seed, 'fixed-revoke-lead', { cibRamp: true }, untilCaught);
      if (r.violations.length > 0) caught = `${r.violations[0]!.invariant}: ${r.violations[0]!.detail}`;
    }
    expect(caught, 'fixed-revoke-lead survived 300 seeds with a slow-CIB ramp').toMatch(/^S1: /);
    for (let s = 1; s < seed; s++) expect(runSeed(s, undefined, { cibRamp: true }).violations, `seed ${s} with a ramp`).toEqual([]);
  }, simTestTimeoutMs);

  // Issue 15 item 4 (docs/protocol.md §3, renewals by index): a leader that refuses no ticket changed after
  // the renewal's index renews as of its own table. A holder cut off while its ticket fails over comes back
  // with its old index; its renewal is answered before it learns of the failover, so it extends its old
  // lease and grants the ticket again beside the new holder. The draws hit that within a few dozen seeds.
  it('catches a leader that does not refuse the tickets changed after a renewal\'s index (renew-uncovered)', () => {
    let caught: string | undefined;
    let seed = 1;
    for (; seed <= 300 && caught === undefined; seed++) {
      const r = runSeed(seed, 'renew-uncovered', {}, untilCaught);
      if (r.violations.length > 0) caught = `${r.violations[0]!.invariant}: ${r.violations[0]!.detail}`;
    }
    expect(caught, 'renew-uncovered survived 300 seeds').toMatch(/^S[12]: /);
    expect(runSeed(seed - 1).violations, `the real core on seed ${seed - 1}`).toEqual([]);
  }, simTestTimeoutMs);

  // Issue 11 item 5 (docs/operations.md §8, disaster recovery): a majority lost for good, then the runbook on the
  // survivor — `member remove X --force --confirm-fenced` until accepted, then `grant --force` of what the lost
  // members held, which the runbook calls safe once accepted. Accepted before the lost holder's lease ran out in
  // the survivor's view, that grant lands while the lost site's Pacemaker still has the ticket (its lease guard
  // revokes it only at the lease's end): S1. Only the seeds that draw the fault are run.
  it('catches a forced removal accepted before the fenced members\' leases ran out (confirm-fenced-early)', () => {
    let caught: string | undefined;
    let seed = 0;
    let runs = 0;
    for (seed = 1; seed <= lostMajoritySeedsMax && caught === undefined; seed++) {
      if (!drawParams(seed).faults.includes('lost-majority')) continue;
      runs += 1;
      const r = runSeed(seed, 'confirm-fenced-early', {}, untilCaught);
      if (r.violations.length > 0) caught = `${r.violations[0]!.invariant}: ${r.violations[0]!.detail}`;
    }
    expect(caught, `confirm-fenced-early survived ${runs} lost-majority seeds of 1–${lostMajoritySeedsMax}`).toMatch(/^S1: /);
    const real = runSeed(seed - 1);
    expect(real.violations, `the real core on seed ${seed - 1}`).toEqual([]);
    expect(real.forcedRemoval.acceptedAfterMs.length, `the real core's forced removal on seed ${seed - 1}`).toBe(1);
  }, simTestTimeoutMs);

  // DESIGN.md §2, the registry a replicated state machine: a ticket definition in an entry checked against the
  // latest configuration in the member's log instead of the one at the entry. After a lost majority the survivor
  // removes the lost members (a config entry); when it replays its log after a restart, a ticket-change whose
  // weights named one of them is refused there alone, and it keeps the old lease duration (seed 599 with batch
  // grants: S1). The checker sees the refusal itself: an entry applied differently (stateMachineSafety).
  it('catches a member that checks an entry\'s ticket definition against a later configuration (def-check-latest-config)', () => {
    let caught: string | undefined;
    let seed = 0;
    let runs = 0;
    for (seed = 1; seed <= lostMajoritySeedsMax && caught === undefined; seed++) {
      if (!drawParams(seed).faults.includes('lost-majority')) continue;
      runs += 1;
      const r = runSeed(seed, 'def-check-latest-config', {}, untilCaught);
      if (r.violations.length > 0) caught = `${r.violations[0]!.invariant}: ${r.violations[0]!.detail}`;
    }
    expect(caught, `def-check-latest-config survived ${runs} lost-majority seeds of 1–${lostMajoritySeedsMax}`).toMatch(/^(stateMachineSafety|S1): /);
    expect(runSeed(seed - 1).violations, `the real core on seed ${seed - 1}`).toEqual([]);
  }, simTestTimeoutMs);

  // Issue 15 item 5 (docs/protocol.md §3, batch grants): a leader that batches tickets whose last lease is
  // still running in its view fails a live holder's ticket over beside it. Forced: every member speaks 1.2
  // and several automatic tickets, so that placements and failovers go as grant-batch entries.
  it('catches a leader that batches grants of tickets whose lease has not run out (batch-grants-live)', () => {
    const caught = searchPinnedFirst('batch-grants-live', 300, (seed) => {
      const v = mutantViolation(seed, 'batch-grants-live', { batchGrants: true, manyTickets: true });
      return v === undefined ? undefined : `${v.invariant}: ${v.detail}`;
    });
    expect(caught?.what, 'batch-grants-live survived 300 seeds').toMatch(/^S1: /);
    expect(runSeed(caught!.seed, undefined, { batchGrants: true, manyTickets: true }).violations, `the real core on seed ${caught!.seed}`).toEqual([]);
  }, simTestTimeoutMs);

  it('the real core passes the seeds that catch the mutants', () => {
    const pinned = new Set(safetyMutantNames.map((name) => mutantPins[name]).filter((seed): seed is number => seed !== undefined));
    for (const seed of pinned) expect(runSeed(seed).violations, `the real core on seed ${seed}`).toEqual([]);
  }, simTestTimeoutMs);
});
