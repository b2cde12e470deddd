// `npx tsx bench/file-sink-readback.ts [--tickets 10000] [--rounds 5]`: the
// CPU and wall time of the file ticket sink's read-back (FileTicketSink.readAll,
// what the pump calls every 30 s and after each guard update) with N granted
// tickets (issue 15): at rest (nothing changed), after one ticket file was
// edited in place by someone else (the change must be seen), and a full
// sweep (the clock moved past fullSweepMs). The sink's clock is a hand
// clock; the files are real, in a temporary directory under the system's.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketSink } from '../src/adapters/pacemaker/file-ticket-sink.js';
import type { TicketEffect } from '../src/core/tickets/site-holder.js';
import type { MonotonicClock } from '../src/ports/ports.js';
import { median, round } from './stats.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const n = option('--tickets', 10_000);
const rounds = option('--rounds', 5);
const root = await mkdtemp(join(tmpdir(), 'tollbooth-readback-'));
const dir = join(root, 'tickets');
let now = 1_000_000;
const clock = { now: () => now } as MonotonicClock;
const sink = new FileTicketSink(dir, 'bench-boot', clock);
const effects = Array.from({ length: n }, (_, i) => ({ id: i, ticket: `ticket-${i}`, granted: true, standby: false, generation: 3, owner: null, revokeBy: now + 3_600_000, attrs: {} }) as unknown as TicketEffect);
for (let i = 0; i < effects.length; i += 1_000) await sink.applyBatch(effects.slice(i, i + 1_000));
await sink.readAll();

async function timed(before: () => Promise<void>): Promise<{ cpuMs: number; wallMs: number; granted: number }> {
  await before();
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const states = await sink.readAll();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall, granted: states.filter((s) => s.granted).length };
}

const cases: Record<string, () => Promise<void>> = {
  'at rest': () => Promise.resolve(),
  'one file edited in place': async () => {
    const path = join(dir, FileTicketSink.fileName(`ticket-${Math.floor(n / 2)}`));
    const s = JSON.parse(await readFile(path, 'utf8')) as { granted: boolean };
    await writeFile(path, `${JSON.stringify({ ...s, granted: !s.granted })}\n`);
  },
  'full sweep': () => {
    now += 31_000;
    return Promise.resolve();
  },
};
const figures: Record<string, unknown> = {};
for (const [name, before] of Object.entries(cases)) {
  const runs = [];
  for (let r = 0; r < rounds; r++) runs.push(await timed(before));
  const f = { cpuMsMedian: round(median(runs.map((x) => x.cpuMs)), 1), wallMsMedian: round(median(runs.map((x) => x.wallMs)), 1), granted: runs.map((x) => x.granted), last: (sink as { lastReadAll?: unknown }).lastReadAll ?? null };
  figures[name] = f;
  console.log(`${n} tickets, readAll ${name}: CPU median ${f.cpuMsMedian} ms, wall ${f.wallMsMedian} ms, granted ${f.granted.join('/')}`, f.last === null ? '' : JSON.stringify(f.last));
}
console.log(JSON.stringify({ tickets: n, rounds, figures }));
(sink as { close?: () => void }).close?.();
await rm(root, { recursive: true, force: true });
