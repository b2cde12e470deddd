// Runs seeds and sums them up in the JSON summary the issue specifies.

import { drawParams, type DrawOptions, type ScenarioName } from './params.js';
import { mutants } from './mutants.js';
import { EventStorm, World, type AgentMoveFigures, type HostOptions, type RunResult } from './world.js';
import type { Invariant, Violation } from './checker.js';

export function runSeed(seed: number, mutant?: string, options: DrawOptions = {}, host?: HostOptions): RunResult {
  const factory = mutant === undefined ? undefined : mutants[mutant];
  if (mutant !== undefined && factory === undefined) throw new Error(`unknown mutant ${mutant}; known: ${Object.keys(mutants).join(', ')}`);
  const world = new World(drawParams(seed, options), factory, host);
  return world.run();
}

/**
 * A mutant search's try of one seed: the first violation, or undefined when none was seen — also when
 * the run stormed before one (EventStorm: the search goes on to the next seed).
 */
export function mutantViolation(seed: number, mutant: string, options: DrawOptions = {}): Violation | undefined {
  try {
    return runSeed(seed, mutant, options, { sinkReadBack: true, stopAtViolation: true }).violations[0];
  } catch (err) {
    if (err instanceof EventStorm) return undefined;
    throw err;
  }
}

export interface Summary {
  seeds: number;
  mutant: string | null;
  scenario: ScenarioName | null;
  /** The loss rate forced with --loss, or null when each seed drew its own. */
  lossRate: number | null;
  simulatedHours: number;
  events: number;
  violations: Record<Invariant, number>;
  livenessFailures: number;
  failoverMs: { p50: number; p99: number; max: number; count: number };
  failoverBoundMs: number;
  falseFailovers: number;
  /**
   * Automatic failovers away from a holder that only message loss could have kept from renewing
   * (RunResult.movedFromReachable), in every fault class: counted, and the seeds they happened in.
   */
  movedFromReachable: { count: number; seeds: number[] };
  /** Committed grant-batch entries and the tickets they named (issue 15 item 5: the batch path ran). */
  grantBatches: { entries: number; tickets: number };
  /** Suspicions of running members reachable within two hops, per member-hour of the counted phase (issue 5). */
  falseSuspicions: { count: number; perMemberHour: number; memberHours: number };
  /** Scenario runs: from a commit changing a ticket's holder or generation until every member's local view shows it. */
  convergenceMs: { p50: number; p99: number; max: number; count: number; unconverged: number };
  /** Registry messages the cores sent through a relay, and relayed frames the relay dropped. */
  relay: { sent: number; dropped: number };
  minGuardGapMs: number | null;
  /**
   * CIB revokes landing after the holder's own lease end (RunResult.lateRevokes): how many, in which
   * seeds, the latest by how much, and whose; those of a guard whose agent was lost counted apart.
   */
  lateRevokes: { count: number; seeds: number[]; maxLateMs: number; byGuard: number; byAgent: number; agentLost: { count: number; seeds: number[]; maxLateMs: number } };
  /**
   * Grants written after their site's guard had enforced the deadline (RunResult.grantsAfterGuard):
   * landed, revoked again by the guard's checks again, and those that stood past the holder's lease
   * end (in which seeds, the longest, and how many no revoke ended by the run's end).
   */
  grantsAfterGuard: { landed: number; revokedAgain: number; stood: { count: number; seeds: number[]; maxStoodMs: number; neverRevoked: number } };
  /** Late guard writes, grants found lost by the read-back, and the longest a running agent believed in a grant its CIB lacked. */
  guardLate: { writes: number; grantsLost: number; maxStrandedMs: number };
  /** Members of a new formation re-admitted as a new incarnation though they never lost their store (RunResult.startRejoins), and in which seeds. */
  startRejoins: { count: number; seeds: number[] };
  failingSeeds: number[];
  /** Config changes (issue 11): proposed on a held ticket, by kind; committed, by entry type. */
  configChanges: { proposedHeld: Record<string, number>; committed: Record<string, number> };
  /** A majority lost for good (issue 11 item 5): runs, forced removals accepted, refusals before, time from the loss to acceptance, --force grants after. */
  forcedRemoval: { runs: number; accepted: number; refused: number; acceptedAfterMs: { p50: number; max: number }; forceGrants: number; lostEntries: number; generationsReused: number; seedsWithLoss: number[] };
  /**
   * Agent moves between the nodes of a site (issue 11 item 4): fast and slow, the grants held and those kept
   * (written again by the new node's agent, never revoked); the old guards that stood down; the grants fast
   * moves lost, and of those how many in a quiet formation (no cut, slow link or other member's fault since the move), with their seeds.
   */
  agentMoves: { fast: AgentMoveFigures; slow: AgentMoveFigures; guardStoodDown: number; fastNotKept: { count: number; quiet: number; seeds: number[] } };
  /** Member replacements (issue 11 item 3): proposed, of a holding site, committed, new members started, refusals by code. */
  replaces: { proposed: number; holding: number; committed: number; started: number; refused: Record<string, number> };
}

export function failed(r: RunResult): boolean {
  return r.violations.length > 0 || r.livenessFailures.length > 0 || r.falseFailovers > 0;
}

export function summarize(results: readonly RunResult[], mutant: string | null, scenario: ScenarioName | null = null, lossRate: number | null = null): Summary {
  const violations: Record<Invariant, number> = { S1: 0, S2: 0, S3: 0, S4: 0, electionSafety: 0, stateMachineSafety: 0, assertion: 0 };
  let simulatedMs = 0;
  let events = 0;
  let liveness = 0;
  let falseFailovers = 0;
  const moved = { count: 0, seeds: [] as number[] };
  const grantBatches = { entries: 0, tickets: 0 };
  let minGap = Number.POSITIVE_INFINITY;
  let guardLateWrites = 0;
  const afterGuard = { landed: 0, revokedAgain: 0, stood: { count: 0, seeds: [] as number[], maxStoodMs: 0, neverRevoked: 0 } };
  let grantsLost = 0;
  const startRejoins = { count: 0, seeds: [] as number[] };
  let maxStrandedMs = 0;
  const late = { count: 0, seeds: [] as number[], maxLateMs: 0, byGuard: 0, byAgent: 0, agentLost: { count: 0, seeds: [] as number[], maxLateMs: 0 } };
  const fo: number[] = [];
  let bound = 0;
  const failing: number[] = [];
  let suspicions = 0;
  let memberHours = 0;
  const conv: number[] = [];
  const cfgHeld: Record<string, number> = {};
  const cfgCommitted: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.configChanges.proposedHeld)) cfgHeld[k] = (cfgHeld[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.configChanges.committed)) cfgCommitted[k] = (cfgCommitted[k] ?? 0) + v;
  }
  const forced = { runs: 0, refused: 0, forceGrants: 0, lostEntries: 0, generationsReused: 0, seedsWithLoss: [] as number[] };
  const acceptedAfter: number[] = [];
  for (const r of results) {
    forced.runs += r.forcedRemoval.runs;
    forced.refused += r.forcedRemoval.refused;
    forced.forceGrants += r.forcedRemoval.forceGrants;
    forced.lostEntries += r.forcedRemoval.lostEntries;
    forced.generationsReused += r.forcedRemoval.generationsReused;
    if (r.forcedRemoval.lostEntries + r.forcedRemoval.generationsReused > 0) forced.seedsWithLoss.push(r.seed);
    acceptedAfter.push(...r.forcedRemoval.acceptedAfterMs);
  }
  acceptedAfter.sort((a, b) => a - b);
  const moveFigures = (): AgentMoveFigures => ({ moves: 0, grants: 0, kept: 0, revoked: 0 });
  const add = (a: AgentMoveFigures, b: AgentMoveFigures): AgentMoveFigures => ({ moves: a.moves + b.moves, grants: a.grants + b.grants, kept: a.kept + b.kept, revoked: a.revoked + b.revoked });
  const moves = { fast: moveFigures(), slow: moveFigures(), guardStoodDown: 0, fastNotKept: { count: 0, quiet: 0, seeds: [] as number[] } };
  const replaces = { proposed: 0, holding: 0, committed: 0, started: 0, refused: {} as Record<string, number> };
  for (const r of results) {
    moves.fast = add(moves.fast, r.agentMoves.fast);
    moves.slow = add(moves.slow, r.agentMoves.slow);
    moves.guardStoodDown += r.agentMoves.guardStoodDown;
    moves.fastNotKept.count += r.agentMoves.fastNotKept.length;
    moves.fastNotKept.quiet += r.agentMoves.fastNotKept.filter((x) => x.quiet).length;
    if (r.agentMoves.fastNotKept.length > 0) moves.fastNotKept.seeds.push(r.seed);
    replaces.proposed += r.replaces.proposed;
    replaces.holding += r.replaces.holding;
    replaces.committed += r.replaces.committed;
    replaces.started += r.replaces.started;
    for (const [k, v] of Object.entries(r.replaces.refused)) replaces.refused[k] = (replaces.refused[k] ?? 0) + v;
  }
  let unconverged = 0;
  let relayed = 0;
  let relayDropped = 0;
  for (const r of results) {
    suspicions += r.gossip.falseSuspicions;
    memberHours += r.gossip.memberHours;
    conv.push(...r.gossip.convergenceMs);
    unconverged += r.gossip.unconverged;
    relayed += r.gossip.relayed;
    relayDropped += r.gossip.relayDropped;
    for (const [k, v] of Object.entries(r.counts)) violations[k as Invariant] += v;
    simulatedMs += r.simulatedMs;
    events += r.events;
    liveness += r.livenessFailures.length;
    falseFailovers += r.falseFailovers;
    moved.count += r.movedFromReachable.length;
    if (r.movedFromReachable.length > 0) moved.seeds.push(r.seed);
    grantBatches.entries += r.grantBatches.entries;
    grantBatches.tickets += r.grantBatches.tickets;
    minGap = Math.min(minGap, r.minGuardGapMs);
    // Split: with the agent that recorded the deadline lost, nothing could have measured the CIB (protocol.md §4).
    const lost = r.lateRevokes.filter((x) => x.by === 'guard, agent lost');
    const live = r.lateRevokes.filter((x) => x.by !== 'guard, agent lost');
    if (live.length > 0) late.seeds.push(r.seed);
    if (lost.length > 0) late.agentLost.seeds.push(r.seed);
    for (const x of lost) {
      late.agentLost.count += 1;
      late.agentLost.maxLateMs = Math.max(late.agentLost.maxLateMs, Math.ceil(x.lateMs));
    }
    for (const x of live) {
      late.count += 1;
      late.maxLateMs = Math.max(late.maxLateMs, Math.ceil(x.lateMs));
      if (x.by === 'guard') late.byGuard += 1;
      else late.byAgent += 1;
    }
    guardLateWrites += r.guardLate.writes;
    afterGuard.landed += r.grantsAfterGuard.landed;
    afterGuard.revokedAgain += r.grantsAfterGuard.revokedAgain;
    if (r.grantsAfterGuard.stood.length > 0) afterGuard.stood.seeds.push(r.seed);
    for (const x of r.grantsAfterGuard.stood) {
      afterGuard.stood.count += 1;
      afterGuard.stood.maxStoodMs = Math.max(afterGuard.stood.maxStoodMs, Math.ceil(x.stoodMs));
      if (x.revokedBy === null) afterGuard.stood.neverRevoked += 1;
    }
    grantsLost += r.guardLate.grantsLost;
    startRejoins.count += r.startRejoins;
    if (r.startRejoins > 0) startRejoins.seeds.push(r.seed);
    maxStrandedMs = Math.max(maxStrandedMs, r.guardLate.maxStrandedMs);
    for (const f of r.failovers) {
      fo.push(f.ms);
      bound = Math.max(bound, f.boundMs);
    }
    if (failed(r)) failing.push(r.seed);
  }
  fo.sort((a, b) => a - b);
  conv.sort((a, b) => a - b);
  const quantile = (xs: number[], p: number): number => (xs.length === 0 ? 0 : Math.round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!));
  const q = (p: number): number => quantile(fo, p);
  return {
    seeds: results.length,
    mutant,
    scenario,
    lossRate,
    simulatedHours: Math.round((simulatedMs / 3_600_000) * 100) / 100,
    events,
    violations,
    livenessFailures: liveness,
    failoverMs: { p50: q(0.5), p99: q(0.99), max: fo.length === 0 ? 0 : Math.round(fo[fo.length - 1]!), count: fo.length },
    failoverBoundMs: Math.round(bound),
    falseFailovers,
    movedFromReachable: moved,
    grantBatches,
    falseSuspicions: { count: suspicions, perMemberHour: memberHours === 0 ? 0 : Math.round((suspicions / memberHours) * 100) / 100, memberHours: Math.round(memberHours * 100) / 100 },
    convergenceMs: { p50: quantile(conv, 0.5), p99: quantile(conv, 0.99), max: conv.length === 0 ? 0 : Math.round(conv[conv.length - 1]!), count: conv.length, unconverged },
    relay: { sent: relayed, dropped: relayDropped },
    minGuardGapMs: Number.isFinite(minGap) ? Math.round(minGap * 10) / 10 : null,
    lateRevokes: late,
    grantsAfterGuard: afterGuard,
    guardLate: { writes: guardLateWrites, grantsLost, maxStrandedMs },
    startRejoins,
    failingSeeds: failing,
    configChanges: { proposedHeld: cfgHeld, committed: cfgCommitted },
    agentMoves: moves,
    replaces,
    forcedRemoval: { ...forced, accepted: acceptedAfter.length, acceptedAfterMs: { p50: quantile(acceptedAfter, 0.5), max: acceptedAfter.length === 0 ? 0 : Math.round(acceptedAfter[acceptedAfter.length - 1]!) } },
  };
}
