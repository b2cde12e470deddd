// Start-up time of a member process: spawn → admin socket answering, spawn →
// the 'member ready' log line, and the in-process figure that line carries
// (startupMs: from startMember() entry, so without Node's own boot and module
// loading). Members are started one at a time so that siblings starting in
// parallel do not share the two cores; the first round starts from empty
// state directories, later rounds restart on existing state (LevelDB, epoch
// file, ticket files).

import { readFile } from 'node:fs/promises';
import type { LoopbackFormation, LoopbackMember } from '../src/cli/loopback-formation.js';
import { nowMs } from './clock.js';
import { agreedLeader, type Bench } from './harness.js';
import { median, round } from './stats.js';

export interface StartupSample {
  readonly member: string;
  readonly kind: string;
  readonly round: number;
  /** Spawn → first answer on the admin socket. */
  readonly socketMs: number;
  /** Spawn → the 'member ready' line in the member's log. */
  readonly readyLogMs: number;
  /** The line's own startupMs. */
  readonly inProcessMs: number;
}

export interface StartupResult {
  readonly startupMs: number;
  readonly startupInProcessMs: number;
  readonly startupReadyLogMs: number;
  readonly firstStart: { socketMs: number; inProcessMs: number };
  readonly restart: { socketMs: number; inProcessMs: number };
  /** Per round: last member answering → every member names the same leader. */
  readonly leaderAfterMs: number[];
  readonly samples: StartupSample[];
}

const pollMs = 5;
const startDeadlineMs = 30_000;

async function readyLines(log: string): Promise<Array<{ startupMs: number }>> {
  let text: string;
  try {
    text = await readFile(log, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Array<{ startupMs: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"member ready"')) continue;
    const obj = JSON.parse(line) as { msg?: string; startupMs?: number };
    if (obj.msg === 'member ready' && typeof obj.startupMs === 'number') out.push({ startupMs: obj.startupMs });
  }
  return out;
}

async function startOne(b: Bench, f: LoopbackFormation, m: LoopbackMember, round: number): Promise<StartupSample> {
  b.checkAborted();
  const before = (await readyLines(m.log)).length;
  const t0 = nowMs();
  const proc = f.start(m);
  let socketAt: number | null = null;
  let readyAt: number | null = null;
  let inProcessMs = Number.NaN;
  while (socketAt === null || readyAt === null) {
    b.checkAborted();
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${m.address} exited during start-up; see ${m.log}`);
    if (nowMs() - t0 > startDeadlineMs) throw new Error(`${m.address} not ready within ${startDeadlineMs} ms; see ${m.log}`);
    if (socketAt === null) {
      const ok = await f.call(m, { op: 'status' }, 1000).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) socketAt = nowMs();
    }
    if (readyAt === null) {
      const lines = await readyLines(m.log);
      if (lines.length > before) {
        readyAt = nowMs();
        inProcessMs = lines[lines.length - 1]!.startupMs;
      }
    }
    if (socketAt === null || readyAt === null) await new Promise((r) => setTimeout(r, pollMs));
  }
  return { member: m.address, kind: m.kind, round, socketMs: socketAt - t0, readyLogMs: readyAt - t0, inProcessMs };
}

export async function measureStartup(b: Bench, rounds: number): Promise<StartupResult> {
  const f = await b.formation({ sites: 2, arbitrators: 1, tickets: [{ name: 'startup', expireS: 10, acquireAfterS: 0 }] });
  try {
    const samples: StartupSample[] = [];
    const leaderAfterMs: number[] = [];
    for (let pass = 0; pass < rounds; pass++) {
      for (const m of f.members) {
        const s = await startOne(b, f, m, pass);
        samples.push(s);
        b.say(
          `startup round ${pass + 1}/${rounds} ${m.kind} ${m.address}: socket answers after ${s.socketMs.toFixed(0)} ms, ` +
            `'member ready' logged after ${s.readyLogMs.toFixed(0)} ms (in-process ${s.inProcessMs} ms)`,
        );
      }
      // The members must also work together, not only answer: wait for an agreed leader before stopping them.
      const t = nowMs();
      const leader = await b.waitFor('an agreed registry leader', 30_000, () => agreedLeader(f), 20);
      const electedMs = nowMs() - t;
      leaderAfterMs.push(round(electedMs, 0));
      const t1 = nowMs();
      const killedBefore = b.sigkills;
      await b.stopMembers(f);
      b.say(
        `startup round ${pass + 1}/${rounds}: leader ${leader.address} agreed ${electedMs.toFixed(0)} ms after the last member answered; ` +
          `stopped with SIGTERM in ${((nowMs() - t1) / 1000).toFixed(1)} s${b.sigkills > killedBefore ? ` (${b.sigkills - killedBefore} needed SIGKILL)` : ''}`,
      );
    }
    const pick = (xs: StartupSample[], k: 'socketMs' | 'inProcessMs'): number => round(median(xs.map((s) => s[k])), 0);
    const first = samples.filter((s) => s.round === 0);
    const later = samples.filter((s) => s.round > 0);
    return {
      startupMs: pick(samples, 'socketMs'),
      startupInProcessMs: pick(samples, 'inProcessMs'),
      startupReadyLogMs: round(median(samples.map((s) => s.readyLogMs)), 0),
      firstStart: { socketMs: pick(first, 'socketMs'), inProcessMs: pick(first, 'inProcessMs') },
      restart: { socketMs: pick(later, 'socketMs'), inProcessMs: pick(later, 'inProcessMs') },
      leaderAfterMs,
      samples: samples.map((s) => ({ ...s, socketMs: round(s.socketMs), readyLogMs: round(s.readyLogMs) })),
    };
  } finally {
    await b.release(f);
  }
}
