// Runs seeds and sums them up in the JSON summary the issue specifies.

import { drawParams } from './params.js';
import { mutants } from './mutants.js';
import { World, type RunResult } from './world.js';
import type { Invariant } from './checker.js';

export function runSeed(seed: number, mutant?: string): RunResult {
  const factory = mutant === undefined ? undefined : mutants[mutant];
  if (mutant !== undefined && factory === undefined) throw new Error(`unknown mutant ${mutant}; known: ${Object.keys(mutants).join(', ')}`);
  const world = new World(drawParams(seed), factory);
  return world.run();
}

export interface Summary {
  seeds: number;
  mutant: string | null;
  simulatedHours: number;
  events: number;
  violations: Record<Invariant, number>;
  livenessFailures: number;
  failoverMs: { p50: number; p99: number; max: number; count: number };
  failoverBoundMs: number;
  falseFailovers: number;
  minGuardGapMs: number | null;
  failingSeeds: number[];
}

export function failed(r: RunResult): boolean {
  return r.violations.length > 0 || r.livenessFailures.length > 0 || r.falseFailovers > 0;
}

export function summarize(results: readonly RunResult[], mutant: string | null): Summary {
  const violations: Record<Invariant, number> = { S1: 0, S2: 0, S3: 0, S4: 0, electionSafety: 0, stateMachineSafety: 0, assertion: 0 };
  let simulatedMs = 0;
  let events = 0;
  let liveness = 0;
  let falseFailovers = 0;
  let minGap = Number.POSITIVE_INFINITY;
  const fo: number[] = [];
  let bound = 0;
  const failing: number[] = [];
  for (const r of results) {
    for (const [k, v] of Object.entries(r.counts)) violations[k as Invariant] += v;
    simulatedMs += r.simulatedMs;
    events += r.events;
    liveness += r.livenessFailures.length;
    falseFailovers += r.falseFailovers;
    minGap = Math.min(minGap, r.minGuardGapMs);
    for (const f of r.failovers) {
      fo.push(f.ms);
      bound = Math.max(bound, f.boundMs);
    }
    if (failed(r)) failing.push(r.seed);
  }
  fo.sort((a, b) => a - b);
  const q = (p: number): number => (fo.length === 0 ? 0 : Math.round(fo[Math.min(fo.length - 1, Math.floor(p * fo.length))]!));
  return {
    seeds: results.length,
    mutant,
    simulatedHours: Math.round((simulatedMs / 3_600_000) * 100) / 100,
    events,
    violations,
    livenessFailures: liveness,
    failoverMs: { p50: q(0.5), p99: q(0.99), max: fo.length === 0 ? 0 : Math.round(fo[fo.length - 1]!), count: fo.length },
    failoverBoundMs: Math.round(bound),
    falseFailovers,
    minGuardGapMs: Number.isFinite(minGap) ? Math.round(minGap * 10) / 10 : null,
    failingSeeds: failing,
  };
}
