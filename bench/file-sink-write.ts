// `npx tsx bench/file-sink-write.ts [--tickets 10000] [--rounds 3]`: how long
// the file ticket sink takes to write N tickets the way the pump hands them
// over during a placement (FileTicketSink.applyBatch, sinkBatchEffectsMax at a
// time; issue 15): N grants, then N revokes of them, in a temporary directory
// under the system's (real files, real fsyncs). Prints the wall and CPU time
// per batch and the files written per second (median of the rounds), and the
// load average before and after.

import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketSink } from '../src/adapters/pacemaker/file-ticket-sink.js';
import type { TicketEffect } from '../src/core/tickets/site-holder.js';
import type { MonotonicClock } from '../src/ports/ports.js';
import { sinkBatchEffectsMax } from '../src/runtime/pump.js';
import { median, round } from './stats.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const n = option('--tickets', 10_000);
const rounds = option('--rounds', 3);
const clock = { now: () => 1_000_000 } as MonotonicClock;
const effect = (i: number, granted: boolean): TicketEffect =>
  ({ id: i, ticket: `ticket-${i}`, granted, standby: false, generation: granted ? 1 : 2, owner: 'site-a', revokeBy: granted ? 4_600_000 : null, attrs: {} }) as unknown as TicketEffect;

async function writeAll(sink: FileTicketSink, granted: boolean): Promise<{ wallMs: number; cpuMs: number; batchMs: number[] }> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const batchMs: number[] = [];
  for (let i = 0; i < n; i += sinkBatchEffectsMax) {
    const started = performance.now();
    const out = await sink.applyBatch(Array.from({ length: Math.min(sinkBatchEffectsMax, n - i) }, (_, k) => effect(i + k, granted)));
    if (!out.every((o) => o.ok)) throw new Error(`a write failed: ${out.find((o) => !o.ok)?.error}`);
    batchMs.push(performance.now() - started);
  }
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000, batchMs };
}

const loadBefore = loadavg()[0]!;
const grants: Array<{ wallMs: number; cpuMs: number; batchMs: number[] }> = [];
const revokes: typeof grants = [];
for (let r = 0; r < rounds; r++) {
  const root = await mkdtemp(join(tmpdir(), 'tollbooth-sink-write-'));
  try {
    const sink = new FileTicketSink(join(root, 'tickets'), 'bench-boot', clock);
    grants.push(await writeAll(sink, true));
    revokes.push(await writeAll(sink, false));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
const line = (what: string, runs: typeof grants): string => {
  const wall = median(runs.map((x) => x.wallMs));
  return `${what}: ${n} files in ${round(wall, 0)} ms wall (${round(n / (wall / 1000), 0)} files/s), CPU ${round(median(runs.map((x) => x.cpuMs)), 0)} ms, per batch of ${sinkBatchEffectsMax} median ${round(median(runs.flatMap((x) => x.batchMs)), 0)} ms`;
};
console.log(line('grants', grants));
console.log(line('revokes', revokes));
console.log(`load average ${loadBefore.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}, ${rounds} rounds (median)`);
