// How long this site's sink (CIB) writes take, as the host measured them, and
// what that means for the revoke lead (issue 12 item 6; lease.ts
// effectiveRevokeLeadMs). docs/protocol.md §4 assumes a write lands within
// half the revoke lead; under CPU starvation CIB writes took seconds. The
// holder keeps every lead at twice the slowest recent write, up to what the
// lease leaves room for, and reports when the writes cross a lead or that
// ceiling. Pure and synchronous, as the rest of the core.

import { revokeLeadCeilingMs } from '../lease.js';
import type { TicketState } from './ticket-table.js';

/**
 * Sink writes remembered: with lease-length guard periods (one update per half of the time left)
 * sixteen writes span a few minutes of a quiet site, and a load that builds up shows in them before
 * it can make a revoke late.
 */
export const writeSamplesKept = 16;

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
  private speed: SinkSpeed = 'normal';
  private readonly changes: SinkSpeedChange[] = [];

  constructor(
    /** The least of a lease a raised lead leaves to hold the ticket in (lease.ts usableLeaseMinMs). */
    private readonly usableMinMs: number,
  ) {}

  /** The slowest of the latest writes (0 before the first). */
  slowestMs(): number {
    let max = 0;
    for (const x of this.samples) if (x > max) max = x;
    return max;
  }

  /**
   * Records one write's duration; true when the slowest changed (the held tickets' leads must be looked
   * at again). `tickets` — the tickets held here — is only iterated then, to classify the speed.
   */
  note(writeMs: number | undefined, tickets: Iterable<TicketState>): boolean {
    if (writeMs === undefined || !Number.isFinite(writeMs) || writeMs < 0) return false;
    const before = this.slowestMs();
    this.samples.push(writeMs);
    if (this.samples.length > writeSamplesKept) this.samples.shift();
    const slowest = this.slowestMs();
    if (slowest === before) return false;
    const speed = this.classify(2 * slowest, tickets);
    if (speed !== this.speed) {
      this.speed = speed;
      this.changes.push({ speed, slowestWriteMs: slowest });
    }
    return true;
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
