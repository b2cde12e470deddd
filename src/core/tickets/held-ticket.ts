// One ticket as the site's holder side (site-holder.ts) keeps it: the
// generation the table gives this site, its lease, and the last CIB effect
// handed out. Pure; split out of site-holder.ts to keep it within the file-size limit.

import { ms, type Generation, type MemberId, type Ms } from '../types.js';
import type { TicketEffect } from './holder-effects.js';
import type { SharedLease } from './lease-cohort.js';

/** The last effect handed out for a ticket, and whether the host confirmed it. */
export interface Issued extends Omit<TicketEffect, 'ticket'> {
  confirmed: boolean;
  /** When the host confirmed the write: a sink read begun later must show it. */
  confirmedAt: Ms | null;
}

export class HeldTicket {
  /** The generation this site holds according to the committed table; null when not the holder. */
  gen: Generation | null = null;
  /** The CIB grant may not be written before this (acquire-after, DESIGN.md §2). */
  acquireReadyAt: Ms = ms(0);
  /** The longest D an answer gave this generation. */
  leaseMsHigh = 0;
  /** The last effect handed out (null: unknown CIB state, issue one). */
  issued: Issued | null = null;
  retryAt: Ms = ms(0);
  /** A generation given up that the leader should hear about once the CIB revoke is confirmed. */
  releaseGen: Generation | null = null;
  /** Released voluntarily (handlers failing, no local quorum): do not renew this generation. */
  releasedGen: Generation | null = null;
  /** Nothing issued yet by this incarnation, and the sink did not show it granted here at start-up (TicketEffect.background). */
  startup = true;
  /**
   * Answers to renewals with a seq below this no longer extend the lease: they
   * were sent before a release, which the leader may honour (its seqFloor rule).
   */
  answerSeqFloor = 0;
  /**
   * While set, this ticket's lease end (and the latest one an answer gave it) is the end of the
   * lease it shares with every ticket the same answer renewed with the same D (lease-cohort.ts):
   * a later answer that renews the same tickets moves them all at once. Any write of its own
   * lease end takes the ticket out first, keeping the value it had.
   */
  private shared: SharedLease | null = null;
  private ownEnd: Ms | null = null;
  private ownEndHigh: Ms | null = null;

  constructor(readonly name: string) {}

  /** Lease end on the local clock, from the send time of the newest answered renewal. */
  get leaseEnd(): Ms | null {
    return this.shared === null ? this.ownEnd : this.shared.end;
  }

  set leaseEnd(end: Ms | null) {
    this.leave();
    this.ownEnd = end;
  }

  /** The latest lease end an answer gave this generation (kept across a release). */
  get leaseEndHigh(): Ms | null {
    return this.shared === null ? this.ownEndHigh : this.shared.end;
  }

  set leaseEndHigh(end: Ms | null) {
    this.leave();
    this.ownEndHigh = end;
  }

  /** The shared lease this ticket's end is, if any. */
  get sharedLease(): SharedLease | null {
    return this.shared;
  }

  /** From now on this ticket's lease end is `s.end`: only for a ticket an answer just gave exactly that end. */
  join(s: SharedLease): void {
    this.leave();
    this.shared = s;
    s.joined(this.leaseMsHigh);
  }

  private leave(): void {
    const s = this.shared;
    if (s === null) return;
    this.ownEnd = s.end;
    this.ownEndHigh = s.end;
    this.shared = null;
    s.left += 1;
  }
}

/** A ticket nothing is known of yet. */
export function newHeldTicket(name: string): HeldTicket {
  return new HeldTicket(name);
}

/**
 * A grant found in the CIB at start-up: it came from a real renewal before a restart (or from an agent of this
 * site on another node); its guard deadline (`revokeBy`, null: none live) is the only safe memory of that lease.
 */
export function foundGranted(h: HeldTicket, generation: Generation, owner: MemberId, revokeBy: Ms | null, now: Ms): void {
  h.issued = { id: 0, granted: true, standby: false, generation, owner, revokeBy, attrs: {}, confirmed: true, confirmedAt: now };
  h.gen = null;
  h.acquireReadyAt = now;
  h.leaseEnd = null;
  h.startup = false;
}

/** Generations given up whose CIB revoke is confirmed, taken out of `owed`: the leader hears of them (SiteHolder.takeReleases). */
export function releasesDue(owed: Set<string>, held: ReadonlyMap<string, HeldTicket>): Array<{ name: string; generation: Generation; seqFloor: number }> {
  const out: Array<{ name: string; generation: Generation; seqFloor: number }> = [];
  for (const name of [...owed]) {
    const h = held.get(name);
    if (h === undefined || h.releaseGen === null) {
      owed.delete(name);
      continue;
    }
    if (h.issued === null || !h.issued.confirmed || h.issued.granted) continue;
    out.push({ name, generation: h.releaseGen, seqFloor: h.answerSeqFloor });
    h.releaseGen = null;
    owed.delete(name);
  }
  return out;
}
