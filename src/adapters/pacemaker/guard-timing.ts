// The lease guard's own measure of its CIB (docs/protocol.md §4, "an agent
// that is down measures nothing"). The agent records each grant's deadline
// `revokeBy` = its lease end minus a revoke lead it keeps at twice its slowest
// recent CIB write (src/core/tickets/sink-write-times.ts). An agent that is
// down, paused or cut off measures nothing, and a CIB that slows meanwhile
// made the guard's revoke at `revokeBy` land after the lease (simulator seed
// 91 with --many-tickets: a 720 ms revoke against a 438 ms lead, 285 ms
// late). So the guard times its own CIB operations — every revoke it makes,
// and, while grants are armed and the agent is gone or silent, a probe — and
// enforces each grant at min(revokeBy, leaseEnd − 2 × its slowest recent
// measurement): never later than the agent asked, earlier when its CIB has
// become slower than the agent last knew. A record without `leaseEnd` (an
// older agent) is enforced at `revokeBy`, as before.
//
// The probe is a read of the tickets (`crm_ticket -q`, what a revoke of many
// tickets reads first), not a write: a write the guard makes must change
// nothing, and a no-op CIB write still costs every node a CIB update and
// wakes every subscriber. A revoke is one such read and one `cibadmin
// --modify`; under CPU starvation — what made writes take seconds — both are
// dominated by the same delays (starting a client, scheduling the CIB
// manager), so a probe counts as half a revoke: a read of r ms is a revoke of
// probeReadsPerRevoke × r. A CIB whose writes alone are slow (a slow
// corosync ring) shows in the revokes' own times, not in the probes'.
// Pure: the caller brings the time.

/** Measurements remembered (as the agent's sink-write-times.ts writeSamplesKept). */
export const guardSamplesKept = 16;
/**
 * A measurement older than this no longer counts: once the agent is back and moves its deadlines
 * with a lead it measured itself, a slowness the guard saw while it was gone must not keep ending
 * its grants early.
 */
export const guardSampleMaxAgeMs = 60_000;
/** The guard probes at most this often, ms. */
export const guardProbeEveryMinMs = 1_000;
/**
 * ... and at least once per this many of its slowest recent measurements: the probes keep the CIB
 * busy a quarter of the time at most, and a revoke time that grows by less than the factor 2 of the
 * lead within four revokes' time stays covered (sink-probe.ts sinkProbeWriteMultiple).
 */
export const guardProbeMultiple = 4;
/** A probe (one read) stands for this share of a revoke (a read and a write). */
export const probeReadsPerRevoke = 2;
/**
 * A running agent moves each deadline later once half of the time it had left has passed
 * (holder-guard.ts guardNeedsExtending): a deadline not moved by this share of the time between the
 * guard first seeing it and the deadline means the agent is silent (paused, hung, cut off).
 */
export const guardSilentShare = 3 / 4;

/** What the guard needs of one armed deadline. */
export interface TimedDeadline {
  readonly revokeBy: number;
  /** The holder's lease end on the same clock; absent in records of older agents. */
  readonly leaseEnd?: number;
}

export class GuardTiming {
  private samples: Array<{ at: number; ms: number }> = [];
  /** Per armed deadline (its key), when the guard first saw it, and its revokeBy. */
  private readonly seen = new Map<string, { at: number; revokeBy: number }>();
  private lastProbeAt = Number.NEGATIVE_INFINITY;

  /** One measured revoke (or what a probe stands for), ms, finished at `now`. */
  note(durationMs: number, now: number): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    this.samples.push({ at: now, ms: durationMs });
    if (this.samples.length > guardSamplesKept) this.samples.shift();
  }

  /** A probe read that took `readMs`, finished at `now`. */
  noteProbe(readMs: number, now: number): void {
    this.lastProbeAt = now;
    this.note(probeReadsPerRevoke * readMs, now);
  }

  /** The slowest measurement of the last guardSampleMaxAgeMs (0: none). */
  slowestMs(now: number): number {
    let max = 0;
    for (const s of this.samples) if (now - s.at <= guardSampleMaxAgeMs && s.ms > max) max = s.ms;
    return max;
  }

  /**
   * When the guard enforces this deadline (`key`, as observed): with the agent gone, at
   * min(revokeBy, leaseEnd − 2 × slowest); with it running, the same once the agent has left the
   * deadline unmoved past its silent point, never before that point — a running agent moves its
   * deadlines with a lead it measures itself, and a slowness the guard saw meanwhile must not end
   * the grants of an agent that is back (simulator seed 34 with --many-tickets: a 1.5 s revoke the
   * guard timed while the CIB ramped kept revoking a healed agent's grants 3 s early). Never later
   * than revokeBy.
   */
  enforceAt(d: TimedDeadline, key: string, agentAlive: boolean, now: number): number {
    if (d.leaseEnd === undefined) return d.revokeBy;
    const own = d.leaseEnd - 2 * this.slowestMs(now);
    if (!agentAlive) return Math.min(d.revokeBy, own);
    const s = this.seen.get(key);
    if (s === undefined) return d.revokeBy;
    return Math.min(d.revokeBy, Math.max(own, silentPoint(s)));
  }

  /** The deadlines armed now (not enforced yet), by key: new ones are seen from now, gone ones forgotten. */
  observe(armed: ReadonlyMap<string, number>, now: number): void {
    for (const key of this.seen.keys()) if (!armed.has(key)) this.seen.delete(key);
    for (const [key, revokeBy] of armed) if (!this.seen.has(key)) this.seen.set(key, { at: now, revokeBy });
  }

  /** When the agent counts as silent (guardSilentShare of some armed deadline's time passed without a move); +∞ with none armed. */
  silentFrom(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const s of this.seen.values()) at = Math.min(at, silentPoint(s));
    return at;
  }

  /**
   * When the next probe is due: only with deadlines armed, and only while the agent is gone or
   * silent; null when none is due without an input.
   */
  nextProbeAt(agentAlive: boolean, now: number): number | null {
    if (this.seen.size === 0) return null;
    const every = Math.max(guardProbeEveryMinMs, guardProbeMultiple * this.slowestMs(now));
    const paced = this.lastProbeAt + every;
    return agentAlive ? Math.max(paced, this.silentFrom()) : paced;
  }
}

/** When an agent that has not moved this deadline since the guard first saw it counts as silent. */
function silentPoint(s: { at: number; revokeBy: number }): number {
  return s.at + guardSilentShare * Math.max(0, s.revokeBy - s.at);
}
