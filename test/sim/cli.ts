// npm run sim -- --seeds N [--seed S] [--mutant NAME] [--json] [--first F]
// Runs the deterministic simulator over seeds F..F+N-1 (or one seed S). Exits
// non-zero when any seed violates an invariant or misses a liveness bound, and
// prints the exact command that replays each failing seed.
import '../../src/polyfills.js';
import { mutantNames } from './mutants.js';
import { failed, runSeed, summarize } from './run.js';
import type { RunResult } from './world.js';

function usage(msg: string): never {
  process.stderr.write(`sim: ${msg}\nusage: npm run sim -- [--seeds N] [--first F] [--seed S] [--mutant NAME] [--json] [--keep-going]\nmutants: ${mutantNames.join(', ')}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let seeds = 100;
let first = 1;
let only: number | null = null;
let mutant: string | undefined;
let json = false;
let keepGoing = false;
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
  } else if (a === '--json') json = true;
  else if (a === '--keep-going') keepGoing = true;
  else usage(`unknown argument "${a}"`);
}

const list = only !== null ? [only] : Array.from({ length: seeds }, (_, i) => first + i);
const results: RunResult[] = [];
const started = Date.now();
for (const seed of list) {
  const r = runSeed(seed, mutant);
  results.push(r);
  if (failed(r)) {
    const replay = `npm run sim -- --seed ${seed}${mutant === undefined ? '' : ` --mutant ${mutant}`}`;
    const what = [...r.violations.map((v) => `${v.invariant} at ${Math.round(v.atMs)} ms: ${v.detail}`), ...r.livenessFailures.map((l) => `liveness: ${l}`)];
    if (r.falseFailovers > 0) what.push(`${r.falseFailovers} false failover(s) in a ${'fault-free or loss-only'} run`);
    process.stderr.write(`FAIL seed ${seed}${mutant === undefined ? '' : ` (mutant ${mutant})`}\n  ${what.slice(0, 5).join('\n  ')}\n  replay: ${replay}\n`);
    // A mutant needs only one catch; stop there unless asked to go on.
    if (mutant !== undefined && !keepGoing) break;
  } else if (!json && list.length <= 20) {
    process.stdout.write(`ok seed ${seed}: ${Math.round(r.simulatedMs / 1000)} s simulated, ${r.events} events\n`);
  }
}
const summary = summarize(results, mutant ?? null);
const wallMs = Date.now() - started;
if (json) process.stdout.write(`${JSON.stringify({ ...summary, wallMs })}\n`);
else {
  process.stdout.write(
    `${summary.seeds} seeds, ${summary.simulatedHours} simulated hours in ${(wallMs / 1000).toFixed(1)} s; violations ${JSON.stringify(summary.violations)}; ` +
      `liveness failures ${summary.livenessFailures}; false failovers ${summary.falseFailovers}; failover p50 ${summary.failoverMs.p50} ms, p99 ${summary.failoverMs.p99} ms, max ${summary.failoverMs.max} ms (bound ${summary.failoverBoundMs} ms); min guard gap ${summary.minGuardGapMs} ms\n`,
  );
}
process.exitCode = summary.failingSeeds.length > 0 ? 1 : 0;
