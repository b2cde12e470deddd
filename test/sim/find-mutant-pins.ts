// Prints the table of test/sim/mutant-pins.ts: for every mutant that
// mutants.test.ts searches by seed, the first seed from 1 that catches it,
// with the searches' own options. Several minutes on an idle machine.
//   npx tsx test/sim/find-mutant-pins.ts
import '../../src/polyfills.js';
import { safetyMutantNames } from './mutants.js';
import { mutantViolation } from './run.js';
import type { DrawOptions } from './params.js';

const searches: Array<{ name: string; seedsMax: number; options?: DrawOptions }> = [
  ...safetyMutantNames.map((name) => ({ name, seedsMax: 2000 })),
  { name: 'batch-grants-live', seedsMax: 300, options: { batchGrants: true, manyTickets: true } },
];

const lines: string[] = [];
for (const { name, seedsMax, options } of searches) {
  const started = performance.now();
  let caught: number | null = null;
  for (let seed = 1; seed <= seedsMax && caught === null; seed++) {
    if (mutantViolation(seed, name, options) !== undefined) caught = seed;
  }
  process.stderr.write(`${name}: ${caught === null ? `not caught in ${seedsMax} seeds` : `seed ${caught}`} (${Math.round(performance.now() - started)} ms)\n`);
  if (caught !== null) lines.push(`  '${name}': ${caught},`);
}
process.stdout.write(`{\n${lines.join('\n')}\n}\n`);
