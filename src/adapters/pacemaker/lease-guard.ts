// The lease guard (DESIGN.md §4): a small process beside the site agent that
// revokes each of the site's grants in the CIB when its deadline comes, so a
// grant never outlives its lease even when the agent is killed, hangs or
// crashes. booth leaves a stale `granted` in a dead daemon's CIB until
// something restarts it; this closes that hole for everything but a crash of
// the whole node (then the CIB's node is gone too, and the other site waits
// out acquire-after; docs/operations.md).
//
// It reads the agent's guard record (lease-guard-file.ts) on every change
// (inotify) and at least every pollMs, keeps one timer on the earliest
// deadline, and at a deadline re-reads the record and revokes every grant
// whose deadline has passed, all of them together: one read of the CIB and
// one `cibadmin --modify` (CrmTicketSink.revokeLostAll), so the last of N
// revokes due at once does not land N crm_ticket calls late. A deadline that
// comes due while a revoke is in progress starts its own revoke at once, up
// to leaseGuardRevokesInFlightMax of them: it never waits behind a slow one.
// It times its own CIB operations (guard-timing.ts) and enforces a grant
// earlier than the agent's deadline when they have become slower than the
// agent's lead allows for — what an agent that is down cannot see. It never writes
// the record: the agent learns that a deadline passed when its next guard
// update is refused (skipped) and writes the grant again if its lease allows.
//
// A grant write of the same generation the agent started before the deadline
// can land after the guard's revoke (simulator seed 29 with --many-tickets:
// 240 ms after it): the CIB shows the ticket granted again under a deadline
// the guard has enforced. So while the record still holds an enforced
// deadline, the guard checks it again — once when such a write could have
// landed (2 × its slowest measured CIB operation after its revoke), then every
// probe interval — with the same revokeAll, which revokes only a ticket still
// granted at that generation, and stops once the key leaves the record.
//
// The agent starts it detached (ensureLeaseGuard) and checks on it; it exits
// on its own once the agent is gone and no grant is armed.

import { spawn } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { MonotonicClock } from '../../ports/ports.js';
import { readGuardFile, writeFileAtomic, type GuardRecord } from './lease-guard-file.js';
import { GuardTiming, guardProbeEveryMinMs, guardProbeMultiple } from './guard-timing.js';
import { errorFields } from '../../errors.js';

export interface GuardLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Longest time between two reads of the guard record, ms (inotify usually wakes the guard first). */
export const leaseGuardPollMsDefault = 500;
/** Delay before retrying a revoke that failed, ms. */
export const leaseGuardRetryMsDefault = 200;

/**
 * Revokes that may run at once. A deadline that comes due while a revoke is in progress starts its
 * own at once (a revoke held behind a slow one lands late: simulator seed 129 with --many-tickets);
 * the bound keeps a CIB that has stalled from gathering a crowd of clients, each one slowing it more.
 */
export const leaseGuardRevokesInFlightMax = 4;

export interface LeaseGuardOptions {
  readonly guardPath: string;
  readonly boot: string;
  readonly clock: MonotonicClock;
  /**
   * Revokes every ticket named, together (one CIB update); resolves with each one's outcome: ok false
   * (and why) where it could not. A ticket missing from the answer counts as not revoked.
   */
  readonly revokeAll: (due: ReadonlyArray<GuardRevoke>) => Promise<ReadonlyMap<string, RevokeOutcome>>;
  /**
   * A cheap read of the CIB the guard times while grants are armed and the agent is gone or silent
   * (guard-timing.ts: it counts as half a revoke). Absent: the guard times only its revokes.
   */
  readonly probe?: () => Promise<unknown>;
  readonly log: GuardLogger;
  /** Longest time between two reads of the record, in ms. Default leaseGuardPollMsDefault. */
  readonly pollMs?: number;
  /** Delay before retrying a revoke that failed, in ms. Default leaseGuardRetryMsDefault. */
  readonly retryMs?: number;
  /** Revokes that may run at once. Default leaseGuardRevokesInFlightMax. */
  readonly revokesInFlightMax?: number;
  /** Whether the agent still runs; with none armed and the agent gone, the guard stops. */
  readonly agentAlive?: () => boolean;
}

/** One grant the guard revokes: due now, or (`recheck`) a deadline it enforced already, checked again for a grant written after its revoke. */
export interface GuardRevoke {
  readonly ticket: string;
  readonly generation: number;
  readonly rec: GuardRecord;
  readonly recheck?: boolean;
}

/** What a revoke of the lease guard came to: `changed` false, nothing to revoke; `takenOver`, left to another agent of this site. */
export interface RevokeOutcome {
  readonly ok: boolean;
  readonly error?: string;
  readonly changed?: boolean;
  readonly takenOver?: boolean;
}

interface Due extends GuardRevoke {
  readonly key: string;
}

const keyOf = (ticket: string, rec: GuardRecord): string => `${ticket}@${rec.generation}@${rec.revokeBy}`;

export class LeaseGuard {
  private records = new Map<string, GuardRecord>();
  /** Deadlines already enforced, as `ticket@generation@revokeBy`. */
  private readonly done = new Set<string>();
  /** Deadlines whose revoke is in progress. */
  private readonly inFlight = new Set<string>();
  /** Deadlines whose revoke failed: not tried again before this time. */
  private readonly retryAt = new Map<string, number>();
  /**
   * Enforced deadlines still in the record, by key: when the guard next checks that no grant written
   * after its revoke stands (a write of the agent in flight at the deadline can land after it).
   */
  private readonly recheckAt = new Map<string, number>();
  /** Enforced deadlines whose first check again (when a write in flight could have landed) is still to come. */
  private readonly firstRecheck = new Set<string>();
  private revokesRunning = 0;
  private probing = false;
  private timer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private stopped = false;
  /** A read of the record and what it makes due, one at a time; the revokes it starts run on their own. */
  private busy = false;
  private again = false;
  private readonly finished: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  /** The guard's own measure of its CIB (guard-timing.ts). */
  readonly timing = new GuardTiming();
  /** Revokes carried out (for logs and tests). */
  revoked = 0;
  /** Deadlines left alone because another agent of this site took the grant over. */
  tookOver = 0;
  /** Grants revoked again: written after the guard had enforced their deadline. */
  revokedAgain = 0;

  constructor(private readonly o: LeaseGuardOptions) {}

  async start(): Promise<void> {
    try {
      this.watcher = watch(dirname(this.o.guardPath), (_e, name) => {
        if (name === basename(this.o.guardPath)) this.kick();
      });
      this.watcher.on('error', () => undefined); // the poll covers a lost watch
    } catch {
      this.watcher = null;
    }
    this.poller = setInterval(() => this.kick(), this.o.pollMs ?? leaseGuardPollMsDefault);
    await this.check();
  }

  /** Resolves when the guard has stopped (stop(), or the agent gone with nothing armed). */
  get stoppedPromise(): Promise<void> {
    return this.finished.promise;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.poller !== null) clearInterval(this.poller);
    this.watcher?.close();
    this.finished.resolve();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    void this.check();
  }

  /** Reads the record, starts a revoke of what is due, and sets the timer on the next deadline. */
  private async check(): Promise<void> {
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.reload();
        this.dispatch();
      } while (this.again && !this.stopped);
      this.arm();
      const armed = [...this.records].some(([t, r]) => !this.done.has(keyOf(t, r)));
      if (!armed && this.revokesRunning === 0 && this.firstRecheck.size === 0 && this.o.agentAlive !== undefined && !this.o.agentAlive()) {
        this.o.log.info({}, 'the site agent is gone and every deadline is enforced: lease guard stopping');
        this.stop();
      }
    } finally {
      this.busy = false;
    }
  }

  /** The record file's identity when last read: the agent replaces it (rename) on every write. */
  private lastSeen = '';

  private async reload(): Promise<void> {
    try {
      // The poll and inotify both land here: parse only a file that was replaced since the last read.
      const st = await stat(this.o.guardPath).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      const seen = st === null ? 'missing' : `${st.ino}:${st.size}:${st.mtimeMs}`;
      if (seen === this.lastSeen) return;
      this.records = await readGuardFile(this.o.guardPath, this.o.boot);
      this.lastSeen = seen;
    } catch (err) {
      // An unreadable record: keep enforcing the last one read (its deadlines only get earlier relative to now).
      this.o.log.error({ ...errorFields(err), path: this.o.guardPath }, 'cannot read the lease guard record; enforcing the last one read');
    }
  }

  /** Starts one revoke of every deadline due now that none is revoking (within the bound), and a probe when one is due. */
  private dispatch(): void {
    const now = this.o.clock.now();
    // Forget enforced deadlines and failed ones that are no longer in the record.
    const current = new Set([...this.records].map(([t, r]) => keyOf(t, r)));
    for (const key of this.done) if (!current.has(key)) this.done.delete(key);
    for (const key of this.retryAt.keys()) if (!current.has(key)) this.retryAt.delete(key);
    for (const key of this.recheckAt.keys()) {
      if (current.has(key)) continue;
      this.recheckAt.delete(key);
      this.firstRecheck.delete(key);
    }
    const armed = new Map<string, number>();
    for (const [ticket, rec] of this.records) if (!this.done.has(keyOf(ticket, rec))) armed.set(keyOf(ticket, rec), rec.revokeBy);
    this.timing.observe(armed, now);
    const alive = this.o.agentAlive?.() ?? true;
    const due: Due[] = [];
    for (const [ticket, rec] of this.records) {
      const key = keyOf(ticket, rec);
      if (!armed.has(key) || this.inFlight.has(key) || (this.retryAt.get(key) ?? Number.NEGATIVE_INFINITY) > now) continue;
      if (this.timing.enforceAt(rec, key, alive, now) <= now) due.push({ ticket, generation: rec.generation, rec, key });
    }
    for (const [ticket, rec] of this.records) {
      const key = keyOf(ticket, rec);
      if (!this.inFlight.has(key) && (this.recheckAt.get(key) ?? Number.POSITIVE_INFINITY) <= now) due.push({ ticket, generation: rec.generation, rec, key, recheck: true });
    }
    if (due.length > 0 && this.revokesRunning < (this.o.revokesInFlightMax ?? leaseGuardRevokesInFlightMax)) this.revoke(due, now);
    const probeAt = this.o.probe === undefined || this.probing ? null : this.timing.nextProbeAt(alive, now);
    if (probeAt !== null && probeAt <= now) this.probe(now);
  }

  private revoke(due: readonly Due[], startedAt: number): void {
    for (const d of due) this.inFlight.add(d.key);
    this.revokesRunning += 1;
    const settle = (outcomes: ReadonlyMap<string, RevokeOutcome>, thrown: string): void => {
      const now = this.o.clock.now();
      this.revokesRunning -= 1;
      this.timing.note(now - startedAt, now);
      for (const d of due) {
        this.inFlight.delete(d.key);
        this.outcome(d, outcomes.get(d.ticket) ?? { ok: false, error: thrown }, now);
      }
      this.kick();
    };
    this.o.revokeAll(due).then(
      (outcomes) => settle(outcomes, 'no outcome for this ticket'),
      (err: unknown) => settle(new Map(), err instanceof Error ? err.message : String(err)),
    );
  }

  private outcome(d: Due, r: RevokeOutcome, now: number): void {
    const { ticket, rec, key } = d;
    if (d.recheck === true) return this.recheckOutcome(d, r, now);
    if (r.ok) {
      this.done.add(key);
      this.retryAt.delete(key);
      if (r.takenOver === true) {
        this.tookOver += 1;
        this.o.log.info({ ticket, generation: rec.generation, revokeBy: rec.revokeBy, expiresSec: rec.expiresSec }, 'lease deadline passed, but an agent of this site on another node took the grant over (a later expires at the same term): not revoked');
      } else if (r.changed !== false) {
        this.revoked += 1;
        this.o.log.warn(revokeFields(ticket, rec, now), 'lease deadline passed: ticket revoked by the lease guard');
      }
      if (r.takenOver !== true) {
        // A grant write in flight at the deadline lands within about one slow write: look then.
        this.recheckAt.set(key, now + 2 * this.timing.slowestMs(now));
        this.firstRecheck.add(key);
      }
    } else {
      this.o.log.error({ ticket, generation: rec.generation, error: r.error }, 'lease deadline passed but the revoke failed; retrying');
      this.retryAt.set(key, now + (this.o.retryMs ?? leaseGuardRetryMsDefault));
    }
  }

  /** What a check again of an enforced deadline found: a grant written after the revoke is revoked again. */
  private recheckOutcome({ ticket, rec, key }: Due, r: RevokeOutcome, now: number): void {
    if (!r.ok) {
      this.o.log.error({ ticket, generation: rec.generation, error: r.error }, 'checking an enforced lease deadline again failed; retrying');
      this.recheckAt.set(key, now + (this.o.retryMs ?? leaseGuardRetryMsDefault));
      return;
    }
    this.firstRecheck.delete(key);
    if (r.takenOver === true) {
      this.recheckAt.delete(key);
      return;
    }
    this.recheckAt.set(key, now + Math.max(guardProbeEveryMinMs, guardProbeMultiple * this.timing.slowestMs(now)));
    if (r.changed === false) return;
    this.revokedAgain += 1;
    const fields = {
      ...revokeFields(ticket, rec, now),
      found: 'granted again at the same generation after the guard had revoked it (a grant write that landed after the revoke)',
    };
    this.o.log.warn(fields, 'lease deadline already enforced, but the CIB showed the grant again: ticket revoked again by the lease guard');
  }

  private probe(startedAt: number): void {
    this.probing = true;
    const settle = (): void => {
      const now = this.o.clock.now();
      // A probe that failed took that long too: slowness either way.
      this.timing.noteProbe(now - startedAt, now);
      this.probing = false;
      this.kick();
    };
    this.o.probe!().then(settle, (err: unknown) => {
      this.o.log.warn({ ...errorFields(err) }, 'the lease guard could not read the CIB to time it');
      settle();
    });
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const now = this.o.clock.now();
    const alive = this.o.agentAlive?.() ?? true;
    let next = Number.POSITIVE_INFINITY;
    for (const [ticket, rec] of this.records) {
      const key = keyOf(ticket, rec);
      if (this.done.has(key) || this.inFlight.has(key)) continue;
      next = Math.min(next, Math.max(this.timing.enforceAt(rec, key, alive, now), this.retryAt.get(key) ?? Number.NEGATIVE_INFINITY));
    }
    for (const [key, at] of this.recheckAt) if (!this.inFlight.has(key)) next = Math.min(next, at);
    const probeAt = this.o.probe === undefined || this.probing ? null : this.timing.nextProbeAt(alive, now);
    if (probeAt !== null) next = Math.min(next, probeAt);
    if (!Number.isFinite(next)) return;
    const delay = Math.max(0, next - now);
    this.timer = setTimeout(() => this.kick(), Math.min(delay, 2 ** 31 - 1));
  }
}

/** What a revoke by the guard logs of its deadline: how late it came, and how much of the lease was left. */
function revokeFields(ticket: string, rec: GuardRecord, now: number): object {
  return { ticket, generation: rec.generation, revokeBy: rec.revokeBy, leaseEnd: rec.leaseEnd, lateMs: now - rec.revokeBy, leaseLeftMs: rec.leaseEnd === undefined ? undefined : rec.leaseEnd - now };
}

/** Where the guard of a state directory keeps its pid. */
export function leaseGuardPidPath(stateDir: string): string {
  return join(stateDir, 'lease-guard.pid');
}

/** The pid of the running guard of this state directory, or null. */
export async function runningLeaseGuard(stateDir: string): Promise<number | null> {
  let pid: number;
  try {
    pid = Number((await readFile(leaseGuardPidPath(stateDir), 'utf8')).trim());
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) return null;
  try {
    // A recycled pid belongs to another program: check its command line names this guard.
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmd.includes('lease-guard') && cmd.includes(stateDir) ? pid : null;
  } catch {
    return null;
  }
}

/** Records this process as the guard of the state directory. */
export async function writeLeaseGuardPid(stateDir: string): Promise<void> {
  await writeFileAtomic(leaseGuardPidPath(stateDir), `${process.pid}\n`);
}

/**
 * How long the agent waits for the lease guard it started to claim the state
 * directory. A node process starts in well under a second on an idle host and
 * in several on a loaded one; the agent grants nothing until the guard runs,
 * so waiting longer is safe, and giving up (exit 1) only restarts the wait.
 */
export const leaseGuardStartMsMax = 30_000;
const leaseGuardStartPollMs = 25;

export interface EnsureLeaseGuardOptions {
  readonly stateDir: string;
  /** argv that runs `tollbooth` (node and the script). */
  readonly tollbooth: readonly string[];
  /** Extra arguments for `tollbooth lease-guard`. */
  readonly args: readonly string[];
  readonly logPath: string;
}

/**
 * Starts the state directory's lease guard unless one runs: detached, in its
 * own session, so that it outlives the agent (kill -9 included). Resolves with
 * its pid once it has written its pid file.
 */
export async function ensureLeaseGuard(o: EnsureLeaseGuardOptions): Promise<{ pid: number; started: boolean }> {
  const running = await runningLeaseGuard(o.stateDir);
  if (running !== null) return { pid: running, started: false };
  const out = await open(o.logPath, 'a', 0o600);
  try {
    const [cmd, ...pre] = o.tollbooth;
    const child = spawn(cmd!, [...pre, 'lease-guard', '--state-dir', o.stateDir, '--agent-pid', String(process.pid), ...o.args], {
      detached: true,
      stdio: ['ignore', out.fd, out.fd],
    });
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start the lease guard');
    // Wait (bounded) until it has claimed the state directory.
    const deadline = performance.now() + leaseGuardStartMsMax;
    while (performance.now() < deadline) {
      if ((await runningLeaseGuard(o.stateDir)) === pid) return { pid, started: true };
      if (child.exitCode !== null) throw new Error(`the lease guard exited with code ${child.exitCode} at start; see ${o.logPath}`);
      await new Promise((r) => setTimeout(r, leaseGuardStartPollMs));
    }
    throw new Error(`the lease guard did not start within ${leaseGuardStartMsMax / 1000} s; see ${o.logPath}`);
  } finally {
    await out.close();
  }
}

/** The cluster guard's default slack for wall clocks that differ between the nodes (ms). */
export const cibGuardMarginMsDefault = 2_000;
/** How often the cluster guard reads the CIB, ms. */
export const cibGuardIntervalMsDefault = 1_000;

export interface CibExpiryGuardOptions {
  /** Our tickets in the CIB: id, granted, `expires` (Unix s) and `term`. */
  readonly read: () => Promise<ReadonlyArray<{ readonly ticket: string; readonly granted: boolean; readonly expiresSec: number | null; readonly term: number | null }>>;
  /** Revokes every ticket named, together (one CIB update); a ticket missing from the answer counts as not revoked. */
  readonly revokeAll: (overdue: ReadonlyArray<{ readonly ticket: string; readonly term: number | null }>) => Promise<ReadonlyMap<string, RevokeOutcome>>;
  /** Wall clock, Unix ms. */
  readonly wallMs: () => number;
  /** Slack for wall clocks that differ between the cluster's nodes, in ms. Default cibGuardMarginMsDefault. */
  readonly marginMs?: number;
  /** How often the CIB is read, in ms. Default cibGuardIntervalMsDefault. */
  readonly intervalMs?: number;
  readonly log: GuardLogger;
}

/**
 * The cluster-wide lease guard (`tollbooth lease-guard --cib`), run on every
 * node of a site: it revokes each of the formation's grants whose booth
 * `expires` (kept current by the agent with every guard update) lies more
 * than marginMs in the past. It covers what the node-local guard cannot: the
 * crash of the whole node the agent ran on, while the site's other nodes keep
 * the CIB and its grant. It reads wall clocks, which the protocol itself never
 * trusts: it only ever revokes, so a clock that runs fast ends a grant early
 * (safe) and one that runs slow ends it late (no worse than without it).
 */
export class CibExpiryGuard {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly finished: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  revoked = 0;

  constructor(private readonly o: CibExpiryGuardOptions) {}

  get stoppedPromise(): Promise<void> {
    return this.finished.promise;
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.finished.resolve();
  }

  /** One pass: revokes every overdue grant; resolves with the tickets it revoked. */
  async checkOnce(): Promise<string[]> {
    const out: string[] = [];
    let states;
    try {
      states = await this.o.read();
    } catch (err) {
      this.o.log.error(errorFields(err), 'cannot read the CIB tickets; trying again');
      return out;
    }
    const limitSec = (this.o.wallMs() - (this.o.marginMs ?? cibGuardMarginMsDefault)) / 1000;
    const overdue = states.flatMap((s) => (s.granted && s.expiresSec !== null && s.expiresSec < limitSec ? [{ ...s, expiresSec: s.expiresSec }] : []));
    if (overdue.length === 0) return out;
    let outcomes: ReadonlyMap<string, RevokeOutcome> = new Map();
    let thrown = 'no outcome for this ticket';
    try {
      outcomes = await this.o.revokeAll(overdue.map((s) => ({ ticket: s.ticket, term: s.term })));
    } catch (err) {
      thrown = err instanceof Error ? err.message : String(err);
    }
    for (const s of overdue) {
      const r = outcomes.get(s.ticket) ?? { ok: false, error: thrown };
      if (r.ok && r.changed !== false) {
        this.revoked += 1;
        out.push(s.ticket);
        // Warning with the reason: besides a crashed agent node, this is what reverts a grant made
        // behind the formation's back (`crm -F site ticket grant`, `crm_ticket -g --force`), which
        // leaves an old expires in place (issue 14, item 5; docs/operations.md).
        this.o.log.warn(
          {
            ticket: s.ticket,
            expires: s.expiresSec,
            term: s.term,
            reason: `granted in the CIB, but its expires passed ${Math.round((this.o.wallMs() / 1000 - s.expiresSec) * 10) / 10} s ago: no live lease of this formation backs the grant (the agent's node crashed, or the ticket was granted outside the formation, e.g. crm -F site ticket grant); grant with tollbooth grant, booth grant or pcs booth ticket grant`,
          },
          'CIB expires passed: ticket revoked by the cluster lease guard',
        );
      } else if (!r.ok) {
        this.o.log.error({ ticket: s.ticket, error: r.error }, 'CIB expires passed but the revoke failed; retrying');
      }
    }
    return out;
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    await this.checkOnce();
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.loop(), this.o.intervalMs ?? cibGuardIntervalMsDefault);
  }
}
