// bench/rss-breakdown.ts on processes of this machine: the node binary's resident pages, attributed to
// symbol groups through pagemap and `nm`, must add up to what smaps says of the binary, and a process that
// has run V8's optimizing compiler must show it where an idle one does not; a heap snapshot is summed by kind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { heapSummary, residentBreakdown } from '../../bench/rss-breakdown.js';

/** A node child that prints `ready` once `code` has run, and stays until killed. */
async function child(code: string, flags: readonly string[] = []): Promise<{ pid: number; stop: () => Promise<void> }> {
  const p = spawn(process.execPath, [...flags, '-e', `${code}; console.log('ready'); setInterval(() => {}, 1000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout });
  await once(lines, 'line');
  return {
    pid: p.pid!,
    stop: async () => {
      p.kill();
      await once(p, 'exit');
    },
  };
}

const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

describe('rss-breakdown', () => {
  it('attributes every resident page of the node binary, and sees the optimizing compiler once it has run', async () => {
    const idle = await child('0');
    // A hot loop: TurboFan compiles it (forced, so that a busy machine cannot keep it in the interpreter).
    const hot = await child('function f(x) { return x * 2 + 1; } %PrepareFunctionForOptimization(f); f(1); f(2); %OptimizeFunctionOnNextCall(f); f(3)', ['--allow-natives-syntax']);
    try {
      for (const pid of [idle.pid, hot.pid]) {
        const r = await residentBreakdown(pid);
        expect(r.rssMiB).toBeGreaterThan(r.anonymousMiB);
        expect(r.files['node']).toBeGreaterThan(10);
        expect(Math.abs(sum(r.nodeBinary) - r.files['node']!)).toBeLessThan(0.6);
      }
      const turbofan = (r: { nodeBinary: Readonly<Record<string, number>> }): number => r.nodeBinary['V8 optimizing compiler (TurboFan)'] ?? 0;
      expect(turbofan(await residentBreakdown(hot.pid))).toBeGreaterThan(turbofan(await residentBreakdown(idle.pid)) + 0.5);
    } finally {
      await idle.stop();
      await hot.stop();
    }
  }, 120_000);

  it('sums a heap snapshot by kind, naming the largest string', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollbooth-heap-'));
    try {
      const c = await child(`globalThis.big = JSON.parse(JSON.stringify('x'.repeat(3 * 1024 * 1024))); require('v8').writeHeapSnapshot(${JSON.stringify(join(dir, 's.heapsnapshot'))})`);
      await c.stop();
      expect(await readdir(dir)).toEqual(['s.heapsnapshot']);
      const s = heapSummary(join(dir, 's.heapsnapshot'));
      expect(s['largest string']).toBeGreaterThanOrEqual(3);
      expect(s['strings']).toBeGreaterThanOrEqual(s['largest string']!);
      expect(s['total']).toBeGreaterThan(s['strings']!);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
