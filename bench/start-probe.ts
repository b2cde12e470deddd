// A member's start, measured the way docs/benchmarks.md ("Where a member's
// start goes") does: one site agent started alone (lan preset; after the first
// start, on an existing store), its admin socket polled every 2 ms, and at the
// first answer the process's on-CPU time read from /proc/PID/task/*/schedstat
// (the main thread's and all threads'). Also read when the socket's file
// appears (bind, just before it listens): the first answer can come later
// than that when the event loop is busy right after (the transport's start
// imports the libp2p stack then), so the two tell loading before the socket
// from what the first client waits for. Builds alternate start by start, so a
// machine whose load drifts hurts each build alike.
//
//   npx tsx bench/start-probe.ts [--starts N] [--json] [--node-flags "FLAGS"] BUILD_JS [BUILD_JS ...]
//
// BUILD_JS is a built dist/bin/tollbooth.js (a copy of dist/ elsewhere in the
// repository still finds node_modules). Output: per build, medians of the
// main thread's CPU, all threads' CPU and wall time to the first answer, and
// wall time to the 'member ready' line.

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LoopbackFormation, type LoopbackMember } from '../src/cli/loopback-formation.js';
import { nowMs } from './clock.js';
import { shebangNodeFlags } from './harness.js';
import { median, round } from './stats.js';

interface Sample {
  /** Main thread's CPU and wall time when the socket's file appeared. */
  bindCpuMs: number;
  bindMs: number;
  mainCpuMs: number;
  allCpuMs: number;
  socketMs: number;
  readyMs: number;
}

const pollMs = 2;
const deadlineMs = 30_000;

/** On-CPU nanoseconds of one task, the first field of its schedstat. */
function taskCpuNs(pid: number, tid: string): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

function cpuOf(pid: number): { main: number; all: number } {
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) all += taskCpuNs(pid, tid);
  return { main: taskCpuNs(pid, String(pid)) / 1e6, all: all / 1e6 };
}

async function readyCount(log: string): Promise<number> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.includes('"member ready"')).length;
}

async function startOnce(f: LoopbackFormation, m: LoopbackMember): Promise<Sample> {
  const before = await readyCount(m.log);
  // A socket file left by a killed run would read as bound at once.
  rmSync(m.socket, { force: true });
  const t0 = nowMs();
  const proc = f.start(m);
  const pid = proc.pid!;
  let bound: { bindCpuMs: number; bindMs: number } | null = null;
  let sample: Omit<Sample, 'readyMs'> | null = null;
  let readyMs: number | null = null;
  while (sample === null || readyMs === null) {
    if (proc.exitCode !== null) throw new Error(`member exited with ${proc.exitCode}; see ${m.log}`);
    if (nowMs() - t0 > deadlineMs) throw new Error(`no answer within ${deadlineMs} ms; see ${m.log}`);
    if (bound === null && existsSync(m.socket)) bound = { bindMs: nowMs() - t0, bindCpuMs: cpuOf(pid).main };
    if (sample === null && bound !== null) {
      const ok = await f.call(m, { op: 'status' }, 1000).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) {
        const socketMs = nowMs() - t0;
        const cpu = cpuOf(pid);
        sample = { ...bound, mainCpuMs: cpu.main, allCpuMs: cpu.all, socketMs };
      }
    }
    if (readyMs === null && (await readyCount(m.log)) > before) readyMs = nowMs() - t0;
    if (sample === null || readyMs === null) await new Promise((r) => setTimeout(r, pollMs));
  }
  await f.kill(m, 'SIGTERM');
  return { ...sample, readyMs };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let starts = 7;
  let json = false;
  let nodeFlags: string[] = [];
  const builds: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--starts') starts = Number(args[++i]);
    else if (args[i] === '--json') json = true;
    else if (args[i] === '--node-flags') nodeFlags = args[++i]!.split(/\s+/).filter((x) => x !== '');
    else builds.push(resolve(args[i]!));
  }
  if (builds.length === 0) throw new Error('usage: start-probe.ts [--starts N] [--json] BUILD_JS [BUILD_JS ...]');
  const formations = await Promise.all(
    builds.map((b) =>
      LoopbackFormation.create({
        sites: 2,
        arbitrators: 1,
        preset: 'lan',
        tickets: [{ name: 'probe', expireS: 10, acquireAfterS: 0 }],
        command: [process.execPath, ...shebangNodeFlags(b), ...nodeFlags, b],
      }),
    ),
  );
  const samples: Sample[][] = builds.map(() => []);
  try {
    // A first start per build writes its store; it is not counted.
    for (const f of formations) await startOnce(f, f.members[0]!);
    for (let i = 0; i < starts; i++) {
      for (let j = 0; j < builds.length; j++) samples[j]!.push(await startOnce(formations[j]!, formations[j]!.members[0]!));
    }
  } finally {
    for (const f of formations) await f.stop();
  }
  const out = builds.map((b, j) => {
    const xs = samples[j]!;
    const med = (k: keyof Sample): number => round(median(xs.map((s) => s[k])), 0);
    return {
      build: b,
      bindCpuMs: med('bindCpuMs'),
      bindMs: med('bindMs'),
      mainCpuMs: med('mainCpuMs'),
      allCpuMs: med('allCpuMs'),
      socketMs: med('socketMs'),
      readyMs: med('readyMs'),
      socketMsAll: xs.map((s) => round(s.socketMs, 0)),
      mainCpuMsAll: xs.map((s) => round(s.mainCpuMs, 0)),
      bindCpuMsAll: xs.map((s) => round(s.bindCpuMs, 0)),
    };
  });
  if (json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else {
    for (const o of out) {
      process.stdout.write(
        `${o.build}: socket bound at ${o.bindMs} ms wall, ${o.bindCpuMs} ms main-thread CPU; first answer: main-thread CPU ${o.mainCpuMs} ms, all threads ${o.allCpuMs} ms, wall to answer ${o.socketMs} ms, to 'member ready' ${o.readyMs} ms` +
          ` (wall ${o.socketMsAll.join(' ')}; main CPU ${o.mainCpuMsAll.join(' ')}; at bind ${o.bindCpuMsAll.join(' ')})\n`,
      );
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`start-probe: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
