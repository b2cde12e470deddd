// When a holder writes its grants again only to time its sink (docs/protocol.md
// §4, simulator seed 368 with --many-tickets). The revoke lead is twice the
// slowest recent sink write (sink-write-times.ts), and the holder measures
// only when it writes. A holder whose renewals go unanswered writes nothing
// between its last guard update and its revoke — up to a whole lease — while
// its CIB may slow down (the simulator's ramp took a site from 0.2 to 0.9 s a
// write in 12 s): its revoke, and the guard's at the recorded deadline,
// started with a lead measured seconds before and landed after the lease end.
// So while renewals go unanswered and a grant is held, the holder writes its
// grants again (one batch write, what a revoke of them all costs) every few
// write times; a slower write raises the lead, and the next reconcile writes
// the grants again with the earlier deadline (SiteHolder.issue). A fresh
// incarnation that found grants in its CIB knows nothing of its sink yet: it
// writes them again at once (at the recorded deadlines), and moves no
// deadline later before a write of its own was timed (simulator seed 296 with
// --many-tickets: a restarted agent extended its guard with the configured
// lead while its first write, 393 ms, was under way, then crashed; the
// guard's revokes took 701 ms against a 471 ms lead). Pure.

import type { CoreTiming } from '../config.js';
import { ms, type Ms } from '../types.js';

/** When probes start (renewals unanswered this long) and how often they come at most. */
export interface SinkProbeTiming {
  readonly unansweredMs: number;
  readonly everyMinMs: number;
}

/**
 * A probing holder writes its sink at most once per this many of its slowest recent writes — the
 * probes keep the sink busy a quarter of the time at most — and at least that often: the lead is
 * twice the slowest write, so a write time that grows by less than that within four writes' time
 * stays covered by the latest measurement.
 */
export const sinkProbeWriteMultiple = 4;

/**
 * A site's probe timing: probes start once two renewal intervals passed without an answer (one lost
 * renewal is routine, and a connected holder's guard updates time the sink anyway), and come no more
 * often than renewals are retried then.
 */
export function sinkProbeTiming(t: Pick<CoreTiming, 'renewIntervalMs' | 'renewRetryMs'>): SinkProbeTiming {
  return { unansweredMs: 2 * t.renewIntervalMs, everyMinMs: t.renewRetryMs };
}

/** The holder's probe clock: when a renewal was last answered, a write last timed, a probe last looked. */
export class SinkProbe {
  private lastAnsweredAt: Ms;
  private lastWriteAt: Ms = ms(Number.NEGATIVE_INFINITY);
  private lastProbeAt: Ms = ms(Number.NEGATIVE_INFINITY);

  constructor(
    private readonly timing: SinkProbeTiming,
    now: Ms,
  ) {
    this.lastAnsweredAt = now;
  }

  answered(now: Ms): void {
    this.lastAnsweredAt = now;
  }

  /** The host reported the outcome of a sink write (timed or not: an untimed one took next to nothing). */
  wrote(now: Ms): void {
    this.lastWriteAt = now;
  }

  /** A probe looked now (whether or not it found grants to write). */
  probed(now: Ms): void {
    this.lastProbeAt = now;
  }

  private everyMs(slowestWriteMs: number): number {
    return Math.max(this.timing.everyMinMs, sinkProbeWriteMultiple * slowestWriteMs);
  }

  /** Whether this incarnation has timed a sink write yet: before that its revoke lead is a guess. */
  timed(): boolean {
    return this.lastWriteAt > Number.NEGATIVE_INFINITY;
  }

  /** Whether a probe is due now: nothing timed yet, or renewals outstanding for a while. */
  due(now: Ms, slowestWriteMs: number, unanswered: boolean): boolean {
    const at = this.nextAt(slowestWriteMs, unanswered);
    return at !== null && now >= at;
  }

  /** The earliest time a probe can come due without an input (null: none can). */
  nextAt(slowestWriteMs: number, unanswered: boolean): number | null {
    if (!this.timed()) return this.lastProbeAt + this.everyMs(slowestWriteMs);
    if (!unanswered) return null;
    return Math.max(this.lastAnsweredAt + this.timing.unansweredMs, Math.max(this.lastWriteAt, this.lastProbeAt) + this.everyMs(slowestWriteMs));
  }
}
