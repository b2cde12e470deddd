// What every measurement shares: real formations of the compiled CLI on
// loopback (src/cli/loopback-formation.ts), stopped and removed however the
// bench ends — normally, on an error, or on SIGINT/SIGTERM — and waits on
// events with deadlines (STYLE.md: no fixed sleeps).

import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, rmSync, statSync, readdirSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runningLeaseGuard } from '../src/adapters/pacemaker/lease-guard.js';
import { LoopbackFormation, type LoopbackMember, type LoopbackOptions } from '../src/cli/loopback-formation.js';
import type { AdminRequest, AdminResponse, TicketView } from '../src/runtime/admin-service.js';
import type { PeerStatus } from '../src/ports/ports.js';
import { nowMs } from './clock.js';

const execFileP = promisify(execFile);

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The build under test; TOLLBOOTH_BENCH_CLI names another one (bench/run.ts). */
export const cliPath = process.env['TOLLBOOTH_BENCH_CLI'] ?? join(repoRoot, 'dist', 'bin', 'tollbooth.js');
/** The compiled CLI, as an operator runs it (no tsx in the measured processes). */
export const cliCommand: readonly string[] = [process.execPath, cliPath];

/**
 * The Node flags of the CLI's `#!/usr/bin/env -S node …` line (bin/tollbooth.ts): an installed
 * member runs with them, so the bench's members do too.
 */
export function shebangNodeFlags(script: string = cliPath): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env\s+(?:-S\s+)?node((?:\s+--\S+)*)\s*$/.exec(first);
  if (m === null) throw new Error(`${script}: first line ${JSON.stringify(first)} is not a node shebang`);
  return m[1]!.split(/\s+/).filter((x) => x !== '');
}

/**
 * Bound on how long one member may take to exit after SIGTERM before it gets SIGKILL. A member logs
 * 'stopped' at once but its process can linger until pending forwarded-request timers run out
 * (forwardTimeoutMs, 5 s, src/runtime/admin-service.ts): the grace covers that.
 */
const stopGraceMs = 8000;

export class BenchAborted extends Error {
  override readonly name = 'BenchAborted';
}

export interface MemberStatusData {
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commit: number;
  readonly lastIndex: number;
  readonly pid: number;
  readonly tickets: TicketView[];
}

export interface PeersData {
  readonly self: string;
  readonly peers: PeerStatus[];
  /** The member's SWIM view (null without gossip); queueLength: entries its gossip rounds still have to send. */
  readonly gossip: { readonly queueLength: number } | null;
}

/** The newest file under `dir` (recursively), by mtime; 0 when there is none. */
function newestMtimeMs(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Why dist/ cannot be used as is (missing, or older than a source file); null when it is current. */
export function distProblem(): string | null {
  if (!existsSync(cliPath)) return `${cliPath} is missing`;
  const built = statSync(cliPath).mtimeMs;
  const sources = Math.max(...['src', 'site-agent', 'arbitrator', 'bin'].map((d) => newestMtimeMs(join(repoRoot, d))));
  return sources > built ? `${cliPath} is older than the sources` : null;
}

/**
 * Builds dist/ as `npm run build` does (tsc, then packaging/bundle.ts) when it is missing or older than
 * the sources. A build named by TOLLBOOTH_BENCH_CLI is run as it is: building would write this
 * checkout's dist/, not that build (and tsc alone left dist/ unbundled).
 */
export async function ensureBuilt(b: Bench): Promise<void> {
  const problem = distProblem();
  if (problem === null) return;
  if (process.env['TOLLBOOTH_BENCH_CLI'] !== undefined) {
    b.say(`${problem}; TOLLBOOTH_BENCH_CLI names it: run as it is`);
    return;
  }
  b.say(`${problem}: building (npm run build)`);
  await execFileP('npm', ['run', 'build'], { cwd: repoRoot, timeout: 300_000 });
}

export class Bench {
  readonly controller = new AbortController();
  private readonly live = new Set<LoopbackFormation>();
  private readonly created = new Set<LoopbackFormation>();
  private readonly releasing = new Map<LoopbackFormation, Promise<void>>();
  private readonly t0 = nowMs();
  /** Members that did not exit within stopGraceMs of SIGTERM and were killed. */
  sigkills = 0;

  constructor(
    private readonly quiet: boolean,
    /** Keep formation directories (configs, logs, state) for inspection; processes are stopped all the same. */
    private readonly keep = false,
  ) {
    // Last line of defence: whatever happens, no member outlives the bench and no directory stays —
    // also for a formation released while a step was still starting a member in it.
    process.on('exit', () => {
      for (const f of this.created) {
        for (const m of f.members) m.proc?.kill('SIGKILL');
        if (!this.keep) rmSync(f.root, { recursive: true, force: true });
      }
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  say(line: string): void {
    if (this.quiet) return;
    process.stdout.write(`[${((nowMs() - this.t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  }

  checkAborted(): void {
    if (this.signal.aborted) throw new BenchAborted('interrupted');
  }

  /** A formation of the compiled CLI; `nodeFlags` go before the script on every member's command line (e.g. --cpu-prof). */
  async formation(o: Omit<LoopbackOptions, 'command'>, nodeFlags: readonly string[] = []): Promise<LoopbackFormation> {
    this.checkAborted();
    const f = await LoopbackFormation.create({ ...o, command: [process.execPath, ...shebangNodeFlags(), ...nodeFlags, cliPath] });
    this.created.add(f);
    if (this.signal.aborted) {
      // Interrupted while the directory was being written: nothing was started in it yet.
      if (!this.keep) await rm(f.root, { recursive: true, force: true });
      throw new BenchAborted('interrupted');
    }
    this.live.add(f);
    return f;
  }

  /** Stops every member (SIGTERM, then SIGKILL after a grace period) and removes the formation's directory. */
  release(f: LoopbackFormation): Promise<void> {
    // Idempotent: an interrupt and the measurement's own clean-up may both ask for it.
    let p = this.releasing.get(f);
    if (p === undefined) {
      p = this.doRelease(f);
      this.releasing.set(f, p);
    }
    return p;
  }

  private async doRelease(f: LoopbackFormation): Promise<void> {
    const t = nowMs();
    const killed = (await Promise.all(f.members.map((m) => stopMember(f, m)))).filter((k) => k).length;
    this.sigkills += killed;
    // Lease guards (crm_ticket sites) outlive their agents by design: the formation takes them down with it.
    for (const m of f.sites) {
      const pid = await runningLeaseGuard(m.dir);
      try {
        if (pid !== null) process.kill(pid, 'SIGTERM');
      } catch {
        // It exited on its own meanwhile.
      }
    }
    this.say(`formation stopped in ${((nowMs() - t) / 1000).toFixed(1)} s${killed > 0 ? ` (${killed} member(s) needed SIGKILL)` : ''}`);
    if (this.keep) this.say(`kept ${f.root}`);
    else await rm(f.root, { recursive: true, force: true });
    this.live.delete(f);
  }

  /** Stops every member but keeps the directory (state, logs) for a restart. */
  async stopMembers(f: LoopbackFormation): Promise<void> {
    this.sigkills += (await Promise.all(f.members.map((m) => stopMember(f, m)))).filter((k) => k).length;
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.live].map((f) => this.release(f)));
  }

  /** Polls `probe` until it returns non-null; errors count as "not yet". Throws on deadline or abort. */
  async waitFor<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>, everyMs = 50): Promise<T> {
    const end = nowMs() + deadlineMs;
    let lastError = '';
    for (;;) {
      this.checkAborted();
      let v: T | null = null;
      try {
        v = await probe();
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (v !== null) return v;
      if (nowMs() >= end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${lastError === '' ? '' : ` (last error: ${lastError})`}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

/** Stops one member; true when it had to be killed. */
async function stopMember(f: LoopbackFormation, m: LoopbackMember): Promise<boolean> {
  const p: ChildProcess | null = m.proc;
  if (p === null) return false;
  const exited = f.kill(m, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), stopGraceMs)));
  let killed = false;
  if ((await Promise.race([exited, late])) === 'late') {
    p.kill('SIGKILL');
    killed = true;
    await exited;
  }
  clearTimeout(timer);
  return killed;
}

// ───────────── admin calls, typed ─────────────

export async function callOk(f: LoopbackFormation, m: LoopbackMember, req: AdminRequest, timeoutMs = 10_000): Promise<AdminResponse> {
  const r = await f.call(m, req, timeoutMs);
  if (!r.ok) throw new Error(`${m.address} ${req.op}: ${r.code ?? ''} ${r.message}`);
  return r;
}

export async function statusOf(f: LoopbackFormation, m: LoopbackMember, timeoutMs = 10_000): Promise<MemberStatusData> {
  return (await callOk(f, m, { op: 'status' }, timeoutMs)).data as MemberStatusData;
}

export async function peersOf(f: LoopbackFormation, m: LoopbackMember): Promise<PeersData> {
  return (await callOk(f, m, { op: 'peers' })).data as PeersData;
}

/** The registry leader as every live member reports it; null until they agree on one. */
/**
 * Waits until replication is done: every member has the leader's last index committed, twice in a
 * row (200 ms apart); returns that leader. `statusTimeoutMs`: how long each status call may take.
 */
export function replicatedLeader(b: Bench, f: LoopbackFormation, statusTimeoutMs?: number): Promise<LoopbackMember> {
  let previous = -1;
  return b.waitFor('the registry log to be replicated and committed everywhere', 60_000, async () => {
    const l = await agreedLeader(f);
    if (l === null) return null;
    const sts = await Promise.all(f.members.map((m) => statusOf(f, m, statusTimeoutMs)));
    const last = sts.find((s) => s.role === 'leader')?.lastIndex ?? -1;
    const settled = last >= 0 && sts.every((s) => s.commit === last && s.lastIndex === last);
    const same = settled && last === previous;
    previous = settled ? last : -1;
    return same ? l : null;
  }, 200);
}

export async function agreedLeader(f: LoopbackFormation): Promise<LoopbackMember | null> {
  const live = f.members.filter((m) => m.proc !== null);
  const leaders = await Promise.all(live.map(async (m) => (await statusOf(f, m)).leader));
  const first = leaders[0];
  if (first === null || first === undefined || leaders.some((l) => l !== first)) return null;
  return f.member(first);
}

export function pidOf(m: LoopbackMember): number {
  const pid = m.proc?.pid;
  if (pid === undefined) throw new Error(`${m.address} is not running`);
  return pid;
}
