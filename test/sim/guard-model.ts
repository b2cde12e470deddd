// The simulator's lease guard process, one per node (src/adapters/pacemaker/
// lease-guard.ts): it outlives its agent, times its own CIB operations with
// the real guard's rules (guard-timing.ts: every revoke it makes, and while
// grants are armed and the agent is gone or silent a probe, one read that
// counts as half a revoke), and enforces each grant at min(revokeBy,
// leaseEnd − 2 × its slowest recent measurement), with at most
// leaseGuardRevokesInFlightMax revokes at once, none waiting behind another.
// While the record keeps a deadline it enforced, it checks it again (a grant
// of that generation written after its revoke is revoked again): first 2 × its
// slowest measurement after the revoke, then every max(guardProbeEveryMinMs,
// guardProbeMultiple × slowest), as the real guard.
// world.ts draws the CIB's latencies and applies the revokes; this keeps the
// guard's own state and answers what is due and when it next must look.

import { GuardTiming, guardProbeEveryMinMs, guardProbeMultiple } from '../../src/adapters/pacemaker/guard-timing.js';
import { leaseGuardRevokesInFlightMax } from '../../src/adapters/pacemaker/lease-guard.js';

/** One grant in the guard record: the deadline (local ms), the lease end it came from, the incarnation that wrote it. */
export interface SimGuardRecord {
  generation: number;
  guardAt: number;
  /** The holder's lease end (local ms) the deadline was computed from; absent in older agents' records. */
  leaseEnd?: number;
  incarnation: number;
  /** booth's `expires` (wall seconds) the agent wrote with this deadline: a later one at the same generation is another node's take-over. */
  expiresSec?: number;
}

export const guardKey = (ticket: string, rec: SimGuardRecord): string => `${ticket}@${rec.generation}@${rec.guardAt}`;

export class SimGuard {
  readonly timing = new GuardTiming();
  probing = false;
  revokesRunning = 0;
  /** True time of the pending wake-up event, if any. */
  wakeAt: number | null = null;
  /** Enforced deadlines still in the record, by key: the local time of the next check again (none while one runs). */
  readonly recheckAt = new Map<string, number>();

  /** After a revoke (`first`) or a check again of `key` ended at local time `local`: when to check again. */
  noteChecked(key: string, first: boolean, local: number): void {
    const slowest = this.timing.slowestMs(local);
    this.recheckAt.set(key, local + (first ? 2 * slowest : Math.max(guardProbeEveryMinMs, guardProbeMultiple * slowest)));
  }

  /** Forgets the checks again of keys no longer in the record (nothing at idle). */
  forgetGone(records: ReadonlyMap<string, SimGuardRecord>): void {
    const current = new Set([...records].map(([t, r]) => guardKey(t, r)));
    for (const key of this.recheckAt.keys()) if (!current.has(key)) this.recheckAt.delete(key);
  }

  /** Whether another revoke may start now. */
  mayRevoke(): boolean {
    return this.revokesRunning < leaseGuardRevokesInFlightMax;
  }

  /** Records the armed deadlines (not enforced yet) as the guard reads them at local time `local`. */
  observe(records: ReadonlyMap<string, SimGuardRecord>, enforced: ReadonlySet<string>, local: number): void {
    const armed = new Map<string, number>();
    for (const [ticket, rec] of records) {
      const key = guardKey(ticket, rec);
      if (!enforced.has(key)) armed.set(key, rec.guardAt);
    }
    this.timing.observe(armed, local);
  }

  /** When (local ms) the guard enforces this deadline of `ticket`. */
  enforceAt(ticket: string, rec: SimGuardRecord, agentAlive: boolean, local: number): number {
    return this.timing.enforceAt({ revokeBy: rec.guardAt, ...(rec.leaseEnd === undefined ? {} : { leaseEnd: rec.leaseEnd }) }, guardKey(ticket, rec), agentAlive, local);
  }

  /**
   * The next local time the guard must look without an input: the earliest deadline not enforced (not
   * those already due while the bound holds them: a revoke's end looks again), or a probe.
   */
  nextLook(records: ReadonlyMap<string, SimGuardRecord>, enforced: ReadonlySet<string>, agentAlive: boolean, local: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [ticket, rec] of records) {
      if (enforced.has(guardKey(ticket, rec))) continue;
      const at = this.enforceAt(ticket, rec, agentAlive, local);
      if (at <= local && !this.mayRevoke()) continue;
      next = Math.min(next, at);
    }
    if (this.mayRevoke()) for (const at of this.recheckAt.values()) next = Math.min(next, at);
    const probe = this.probing ? null : this.timing.nextProbeAt(agentAlive, local);
    return probe === null ? next : Math.min(next, probe);
  }

  probeDue(agentAlive: boolean, local: number): boolean {
    if (this.probing) return false;
    const at = this.timing.nextProbeAt(agentAlive, local);
    return at !== null && at <= local;
  }
}
