// npm run sim -- --seeds N [--seed S] [--mutant NAME] [--scenario NAME] [--loss P] [--guard-late P] [--no-read-back] [--no-guard-recheck] [--many-tickets|--no-many-tickets] [--batch-grants|--no-batch-grants] [--live-changes] [--json] [--first F]
// Runs the deterministic simulator over seeds F..F+N-1 (or one seed S): the
// random fault mix, or one gossip scenario family (params.ts) with --scenario;
// --loss forces every link's loss rate (a fraction, e.g. 0.3); --guard-late forces
// the share of guard-record writes that land after their old deadline;
// --many-tickets forces the extra automatic tickets that make placements and failovers move several
// at once (params.ts batchTickets; the default draw gives them to about half of the seeds, CI's too),
// --no-many-tickets leaves them out (the default draw as it was before they joined it).
// Each seed draws whether every member speaks protocol 1.2 (batch grants, as the
// daemon then runs; 85 %) or one speaks 1.1; --batch-grants and --no-batch-grants force it.
// --no-read-back is the stranded-grant check's negative control (the host
// does not read its CIB back after a guard update); --no-guard-recheck that of
// grantsAfterGuard (the lease guard never checks an enforced deadline again). Exits non-zero
// when any seed violates an invariant, misses a liveness bound or (in
// fault-free, loss-only and scenario runs) fails a ticket over falsely, and
// prints the exact command that replays each failing seed.
import '../../src/polyfills.js';
import { gossipMutantNames, mutantNames } from './mutants.js';
import { scenarioNames, type ScenarioName } from './params.js';
import { failed, runSeed, summarize } from './run.js';
import type { RunResult } from './world.js';

function usage(msg: string): never {
  process.stderr.write(`sim: ${msg}\nusage: npm run sim -- [--seeds N] [--first F] [--seed S] [--mutant NAME] [--scenario NAME] [--loss P] [--guard-late P] [--no-read-back] [--no-guard-recheck] [--many-tickets|--no-many-tickets] [--batch-grants|--no-batch-grants] [--live-changes] [--json] [--keep-going]\nmutants: ${mutantNames.join(', ')}\nscenarios: ${scenarioNames.join(', ')}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let seeds = 100;
let first = 1;
let only: number | null = null;
let mutant: string | undefined;
let json = false;
let keepGoing = false;
let scenario: ScenarioName | undefined;
let lossRate: number | undefined;
let guardLateRate: number | undefined;
let sinkReadBack = true;
let guardRecheck = true;
let manyTickets: boolean | undefined;
/** --live-changes: the member-replace and agent-move faults in their share of the mixed seeds (params.ts DrawOptions.liveChanges). */
let liveChanges = false;
let batchGrants: boolean | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const val = (): string => {
    const v = args[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  const int = (v: string): number => {
    if (!/^\d+$/.test(v)) usage(`${a} takes a whole number, not "${v}"`);
    return Number(v);
  };
  if (a === '--seeds') seeds = int(val());
  else if (a === '--first') first = int(val());
  else if (a === '--seed') only = int(val());
  else if (a === '--mutant') {
    mutant = val();
    if (!mutantNames.includes(mutant)) usage(`unknown mutant "${mutant}"`);
  } else if (a === '--scenario') {
    const v = val();
    if (!(scenarioNames as readonly string[]).includes(v)) usage(`unknown scenario "${v}"`);
    scenario = v as ScenarioName;
  } else if (a === '--loss') lossRate = fraction(a, val());
  else if (a === '--guard-late') guardLateRate = fraction(a, val());
  else if (a === '--no-read-back') sinkReadBack = false;
  else if (a === '--no-guard-recheck') guardRecheck = false;
  else if (a === '--many-tickets') manyTickets = true;
  else if (a === '--live-changes') liveChanges = true;
  else if (a === '--no-many-tickets') manyTickets = false;
  else if (a === '--batch-grants') batchGrants = true;
  else if (a === '--no-batch-grants') batchGrants = false;
  else if (a === '--json') json = true;
  else if (a === '--keep-going') keepGoing = true;
  else usage(`unknown argument "${a}"`);
}

function fraction(flag: string, v: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(v)) usage(`${flag} takes a fraction in [0, 1], not "${v}"`);
  return Number(v);
}

const list = only !== null ? [only] : Array.from({ length: seeds }, (_, i) => first + i);
const results: RunResult[] = [];
const started = Date.now();
const options = {
  ...(scenario === undefined ? {} : { scenario }),
  ...(lossRate === undefined ? {} : { lossRate }),
  ...(guardLateRate === undefined ? {} : { guardLateRate }),
  ...(manyTickets === undefined ? {} : { manyTickets }),
  ...(batchGrants === undefined ? {} : { batchGrants }),
  ...(liveChanges ? { liveChanges } : {}),
};
const extra = `${mutant === undefined ? '' : ` --mutant ${mutant}`}${scenario === undefined ? '' : ` --scenario ${scenario}`}${lossRate === undefined ? '' : ` --loss ${lossRate}`}${guardLateRate === undefined ? '' : ` --guard-late ${guardLateRate}`}${sinkReadBack ? '' : ' --no-read-back'}${guardRecheck ? '' : ' --no-guard-recheck'}${manyTickets === undefined ? '' : manyTickets ? ' --many-tickets' : ' --no-many-tickets'}${batchGrants === undefined ? '' : batchGrants ? ' --batch-grants' : ' --no-batch-grants'}${liveChanges ? ' --live-changes' : ''}`;
// A gossip mutant is a liveness control: it is expected to fail over falsely, so the run goes on.
const stopAtFirst = mutant !== undefined && !gossipMutantNames.includes(mutant) && !keepGoing;
for (const seed of list) {
  const r = runSeed(seed, mutant, options, { sinkReadBack, guardRecheck });
  results.push(r);
  if (failed(r)) {
    const replay = `npm run sim -- --seed ${seed}${extra}`;
    const what = [...r.violations.map((v) => `${v.invariant} at ${Math.round(v.atMs)} ms: ${v.detail}`), ...r.livenessFailures.map((l) => `liveness: ${l}`)];
    if (r.falseFailovers > 0) what.push(`${r.falseFailovers} false failover(s) in a ${r.scenario === null ? 'fault-free or loss-only' : `${r.scenario} scenario`} run`);
    process.stderr.write(`FAIL seed ${seed}${mutant === undefined ? '' : ` (mutant ${mutant})`}\n  ${what.slice(0, 5).join('\n  ')}\n  replay: ${replay}\n`);
    // A safety mutant needs only one catch; stop there unless asked to go on.
    if (stopAtFirst) break;
  } else if (!json && list.length <= 20) {
    process.stdout.write(`ok seed ${seed}: ${Math.round(r.simulatedMs / 1000)} s simulated, ${r.events} events\n`);
  }
}
const summary = summarize(results, mutant ?? null, scenario ?? null, lossRate ?? null);
const wallMs = Date.now() - started;
if (json) process.stdout.write(`${JSON.stringify({ ...summary, wallMs })}\n`);
else {
  process.stdout.write(
    `${summary.seeds} seeds, ${summary.simulatedHours} simulated hours in ${(wallMs / 1000).toFixed(1)} s; violations ${JSON.stringify(summary.violations)}; ` +
      `liveness failures ${summary.livenessFailures}; false failovers ${summary.falseFailovers}; moved from a reachable holder ${summary.movedFromReachable.count}${summary.movedFromReachable.seeds.length === 0 ? '' : ` (seeds ${summary.movedFromReachable.seeds.join(' ')})`}; failover p50 ${summary.failoverMs.p50} ms, p99 ${summary.failoverMs.p99} ms, max ${summary.failoverMs.max} ms (bound ${summary.failoverBoundMs} ms); min guard gap ${summary.minGuardGapMs} ms; ` +
      `late revokes ${summary.lateRevokes.count}${summary.lateRevokes.count === 0 ? '' : ` (max ${summary.lateRevokes.maxLateMs} ms late; guard ${summary.lateRevokes.byGuard}, agent ${summary.lateRevokes.byAgent}; seeds ${summary.lateRevokes.seeds.join(' ')})`}` +
      `, with the agent lost ${summary.lateRevokes.agentLost.count}${summary.lateRevokes.agentLost.count === 0 ? '' : ` (max ${summary.lateRevokes.agentLost.maxLateMs} ms; seeds ${summary.lateRevokes.agentLost.seeds.join(' ')})`}; ` +
      `grants after the guard's revoke ${summary.grantsAfterGuard.landed} (revoked again ${summary.grantsAfterGuard.revokedAgain}; stood past the lease ${summary.grantsAfterGuard.stood.count}${summary.grantsAfterGuard.stood.count === 0 ? '' : `, max ${summary.grantsAfterGuard.stood.maxStoodMs} ms, never revoked ${summary.grantsAfterGuard.stood.neverRevoked}; seeds ${summary.grantsAfterGuard.stood.seeds.join(' ')}`}); ` +
      `members of a new formation re-admitted ${summary.startRejoins.count}${summary.startRejoins.count === 0 ? '' : ` (seeds ${summary.startRejoins.seeds.join(' ')})`}; ` +
      `false suspicions ${summary.falseSuspicions.count} (${summary.falseSuspicions.perMemberHour} per member-hour); ` +
      `convergence p50 ${summary.convergenceMs.p50} ms, p99 ${summary.convergenceMs.p99} ms, max ${summary.convergenceMs.max} ms (${summary.convergenceMs.count} changes, ${summary.convergenceMs.unconverged} unconverged); relayed ${summary.relay.sent}; ` +
      `agent moves: fast ${summary.agentMoves.fast.moves} (grants ${summary.agentMoves.fast.grants}, kept ${summary.agentMoves.fast.kept}, revoked ${summary.agentMoves.fast.revoked}${summary.agentMoves.fastNotKept.count === 0 ? '' : `, ${summary.agentMoves.fastNotKept.quiet} of them quiet; seeds ${summary.agentMoves.fastNotKept.seeds.join(' ')}`}), slow ${summary.agentMoves.slow.moves} (grants ${summary.agentMoves.slow.grants}, kept ${summary.agentMoves.slow.kept}, revoked ${summary.agentMoves.slow.revoked}), old guards stood down ${summary.agentMoves.guardStoodDown}; ` +
      `member replacements ${summary.replaces.proposed} (of a holder ${summary.replaces.holding}, committed ${summary.replaces.committed}, new members started ${summary.replaces.started}, refusals ${JSON.stringify(summary.replaces.refused)})\n`,
  );
}
process.exitCode = summary.failingSeeds.length > 0 ? 1 : 0;
