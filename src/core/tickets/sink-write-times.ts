// How long this site's sink (CIB) writes take, as the host measured them, and
// what that means for the revoke lead (issue 12 item 6; lease.ts
// effectiveRevokeLeadMs). docs/protocol.md §4 assumes a write lands within
// half the revoke lead; under CPU starvation CIB writes took seconds. The
// holder keeps every lead at twice the slowest recent write, up to what the
// lease leaves room for, and reports when the writes cross a lead or that
// ceiling. "Recent" is the last 16 writes and the last 10 minutes: a lead
// falls only once its slow write is both (issue 15: a guard update of 10 000
// tickets, several cibadmin calls timed as one write, aged out after 16
// quicker writes, came back slow, and each rise rewrote every grant). Pure and
// synchronous, as the rest of the core: the caller brings the time.

import { revokeLeadCeilingMs } from '../lease.js';
import type { TicketState } from './ticket-table.js';

/**
 * Sink writes remembered: with lease-length guard periods (one update per half of the time left)
 * sixteen writes span a few minutes of a quiet site, and a load that builds up shows in them before
 * it can make a revoke late.
 */
export const writeSamplesKept = 16;

/**
 * ... and a write is remembered this long too, ms, however many writes follow it. A site's slow writes come
 * back with its guard updates (one per half of the time a deadline has left: seconds to a minute), so a lead
 * raised by one stays up while they recur instead of falling and rising again, each rise moving every deadline
 * earlier and writing every grant again (docs/operations.md §7, "thousands of tickets at one site"). A lead
 * that only ever falls later than with the 16 writes alone is only more conservative (docs/protocol.md §3).
 */
export const writeSampleWindowMs = 600_000;

/**
 * Writes of the window kept apart at most (each slower than every later one). Beyond that, a write joins the
 * last entry, which keeps its slower time and takes the later time stamp: that write is held longer — until
 * the window's oldest entries have gone, at most twice the window — never shorter.
 */
export const writeWindowEntriesMax = 64;

/**
 * How the sink's writes compare with the revoke leads of the tickets held here: within half of every configured
 * lead ('normal'), slower so that some lead is raised ('raised'), or slower than half of what some
 * ticket's lease lets its lead grow to ('beyond': §4's assumption does not hold there).
 */
export type SinkSpeed = 'normal' | 'raised' | 'beyond';

export interface SinkSpeedChange {
  readonly speed: SinkSpeed;
  readonly slowestWriteMs: number;
}

export class SinkWriteTimes {
  /** Durations of the latest writes, oldest first. */
  private readonly samples: number[] = [];
  /**
   * The sliding maximum of the last writeSampleWindowMs: writes no later one has equalled or exceeded, slowest
   * (and oldest) first; `at` is when the write was noted.
   */
  private readonly window: Array<{ ms: number; at: number }> = [];
  private speed: SinkSpeed = 'normal';
  private readonly changes: SinkSpeedChange[] = [];

  constructor(
    /** The least of a lease a raised lead leaves to hold the ticket in (lease.ts usableLeaseMinMs). */
    private readonly usableMinMs: number,
  ) {}

  /**
   * The slowest of the last writeSamplesKept writes and of the writes noted in the writeSampleWindowMs before
   * the latest one (0 before the first). It changes only in note(): the holder looks at the leads again then.
   */
  slowestMs(): number {
    let max = this.window[0]?.ms ?? 0;
    for (const x of this.samples) if (x > max) max = x;
    return max;
  }

  /**
   * Records one write's duration, finished at `now`; true when the slowest changed (the held tickets' leads
   * must be looked at again). `tickets` — the tickets held here — is only iterated then, to classify the speed.
   */
  note(writeMs: number | undefined, tickets: Iterable<TicketState>, now: number): boolean {
    if (writeMs === undefined || !Number.isFinite(writeMs) || writeMs < 0) return false;
    const before = this.slowestMs();
    this.samples.push(writeMs);
    if (this.samples.length > writeSamplesKept) this.samples.shift();
    this.noteInWindow(writeMs, now);
    const slowest = this.slowestMs();
    if (slowest === before) return false;
    const speed = this.classify(2 * slowest, tickets);
    if (speed !== this.speed) {
      this.speed = speed;
      this.changes.push({ speed, slowestWriteMs: slowest });
    }
    return true;
  }

  /** Adds a write to the window's sliding maximum and lets go of what is older than the window. */
  private noteInWindow(writeMs: number, now: number): void {
    const w = this.window;
    while (w.length > 0 && now - w[0]!.at >= writeSampleWindowMs) w.shift();
    while (w.length > 0 && w[w.length - 1]!.ms <= writeMs) w.pop();
    const last = w[w.length - 1];
    if (last !== undefined && w.length >= writeWindowEntriesMax) last.at = Math.max(last.at, now);
    else w.push({ ms: writeMs, at: now });
  }

  /** Speed changes since the last call. */
  takeChanges(): SinkSpeedChange[] {
    return this.changes.splice(0);
  }

  private classify(leadNeededMs: number, tickets: Iterable<TicketState>): SinkSpeed {
    let speed: SinkSpeed = 'normal';
    for (const t of tickets) {
      if (leadNeededMs > revokeLeadCeilingMs(t.def.revokeLeadMs, t.def.leaseDurationMs, this.usableMinMs)) return 'beyond';
      if (leadNeededMs > t.def.revokeLeadMs) speed = 'raised';
    }
    return speed;
  }
}
