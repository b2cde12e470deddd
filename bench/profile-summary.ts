// Summarises V8 CPU profiles (`node --cpu-prof`, e.g. from
// `npm run bench -- --only idle --node-flags "--cpu-prof --cpu-prof-dir=DIR"`)
// over a time range of each profile, so that start-up and shutdown can be
// left out: self time by package or source folder, by function, and the
// busiest call paths into our own code.
//
//   npx tsx bench/profile-summary.ts [--from-s 10] [--to-s 35] [--top 25] FILE.cpuprofile...

import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a frame's code lives: a package, a folder of ours, Node's internals, or V8's pseudo-frames. */
export function categoryOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:internal';
  const ours = /\/(dist\/)?(src\/[^/]+(?:\/[^/]+)?|site-agent|arbitrator|bin)\//.exec(url);
  if (ours !== null) return ours[2]!.replace(/\/[^/]+\.js$/, '');
  return url;
}

function summarize(path: string, fromS: number, toS: number, top: number): void {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    const sinceS = (t - p.startTime) / 1e6;
    if (sinceS < fromS || sinceS > toS) continue;
    // The delta before a sample is the time it stands for.
    const d = p.timeDeltas[i]!;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + d);
    totalUs += d;
  }
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  // Inclusive time of our own frames: what each of our functions costs, with everything it calls.
  const inclusiveOurs = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    const cat = categoryOf(cf.url, cf.functionName);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
    const fn = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(node_modules|dist)\//, '')}:${cf.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!/\/(src|site-agent|arbitrator|bin)\//.test(f.url) || f.url.includes('node_modules')) continue;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveOurs.set(key, (inclusiveOurs.get(key) ?? 0) + us);
    }
  }
  const busyUs = totalUs - (byCategory.get('(idle)') ?? 0);
  const line = (name: string, us: number): string => `  ${(us / 1000).toFixed(0).padStart(7)} ms  ${((100 * us) / Math.max(1, busyUs)).toFixed(1).padStart(5)} %  ${name}`;
  const windowS = totalUs / 1e6;
  process.stdout.write(`${path}: ${windowS.toFixed(1)} s sampled (${fromS}–${toS} s), busy ${(busyUs / 1000).toFixed(0)} ms = ${((100 * busyUs) / Math.max(1, totalUs)).toFixed(2)} % of one core\n`);
  process.stdout.write(' self time by package / folder (% of busy):\n');
  for (const [k, v] of [...byCategory].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${line(k, v)}\n`);
  process.stdout.write(' self time by function:\n');
  for (const [k, v] of [...byFunction].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${line(k, v)}\n`);
  process.stdout.write(' inclusive time of our functions:\n');
  for (const [k, v] of [...inclusiveOurs].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${line(k, v)}\n`);
}

function main(argv: readonly string[]): void {
  let fromS = 0;
  let toS = Number.POSITIVE_INFINITY;
  let top = 25;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--from-s') fromS = Number(argv[++i]);
    else if (a === '--to-s') toS = Number(argv[++i]);
    else if (a === '--top') top = Number(argv[++i]);
    else files.push(a);
  }
  if (files.length === 0) throw new Error('usage: profile-summary.ts [--from-s S] [--to-s S] [--top N] FILE.cpuprofile...');
  for (const f of files) summarize(f, fromS, toS, top);
}

main(process.argv.slice(2));
