// The leases one renewal answer gave (issue 15, 10 000 tickets at rest): every
// ticket an answer renewed with the same D gets the same lease end, measured
// from the renewal's send time (DESIGN.md §2), so the tickets share it — one
// SharedLease per D — instead of each keeping a copy. The next answer to a
// renewal by index that renews exactly the same tickets again, with nothing
// about any of them changed in between, moves each shared end once: work per
// answer in the number of distinct D, not of tickets. Any other answer is
// applied ticket by ticket (renewEach), as before, and starts a new cohort.
// A ticket leaves its shared lease whenever its own lease end is written
// (held-ticket.ts), keeping the value it had; a cohort any ticket left is
// never moved whole again. Pure; site-holder.ts owns the current cohort.

import { assert, ms, type Ms } from '../types.js';
import type { HeldTicket } from './held-ticket.js';
import type { HeldAtIndex } from './site-renewals.js';

type LeaseEndFn = (sentAt: number, receivedAt: number, leaseDurationMs: number) => number;

/** The lease end of every ticket of a cohort renewed with one D; with the bounds of the wake-ups of those parked on it. */
export class SharedLease {
  /** Tickets that left (their own lease end was written): the cohort is no longer moved whole. */
  left = 0;
  /** The least leaseMsHigh of the tickets that joined: the check that an end moves back only when D shrank. */
  private msHighMin = Number.POSITIVE_INFINITY;
  /**
   * Parked tickets (SiteHolder.park: granted, no wake-up of their own): the largest revoke lead and
   * the least 2 × guard deadline + lead + 1, so that end − lead and that − end (SiteHolder.scheduleWake)
   * bound every parked ticket's next wake-up from below, whatever the end moves to.
   */
  private leadMax = Number.NEGATIVE_INFINITY;
  private keyMin = Number.POSITIVE_INFINITY;

  constructor(
    public end: Ms,
    readonly leaseMs: number,
  ) {}

  joined(leaseMsHigh: number): void {
    this.msHighMin = Math.min(this.msHighMin, leaseMsHigh);
  }

  /** A granted ticket whose wake-ups this lease keeps: its revoke lead, and its guard deadline if confirmed. */
  park(leadMs: number, guardRevokeBy: number | null): void {
    this.leadMax = Math.max(this.leadMax, leadMs);
    if (guardRevokeBy !== null) this.keyMin = Math.min(this.keyMin, 2 * guardRevokeBy + leadMs + 1);
  }

  /** No earlier than this, a parked ticket can need a look: its revoke time, or half its guard time passed. */
  wakeAt(): number {
    return Math.min(this.end - this.leadMax, this.keyMin - this.end);
  }

  unpark(): void {
    this.leadMax = Number.NEGATIVE_INFINITY;
    this.keyMin = Number.POSITIVE_INFINITY;
  }

  /** An answer renewing every ticket of this lease: the end it gives them (never earlier unless D shrank, the per-ticket rule). */
  extend(sentAt: Ms, now: Ms, leaseEnd: LeaseEndFn): void {
    const end = ms(leaseEnd(sentAt, now, this.leaseMs));
    assert(sentAt <= now && end <= now + this.leaseMs, `shared lease end (${end}) past the answer at ${now} plus ${this.leaseMs} ms`);
    assert(end >= this.end || this.leaseMs < this.msHighMin, `shared lease end moving back from ${this.end} to ${end}`);
    if (end > this.end) this.end = end;
  }
}

export class LeaseCohort {
  private readonly leases = new Map<number, SharedLease>();
  /** Every ticket that joined (some may have left since). */
  readonly names: string[] = [];
  /** The held list of the renewal by index this cohort is, when the answer renewed every ticket of it: extendWhole's key. */
  private whole: readonly HeldAtIndex[] | null = null;

  /** `h` was just given `end` by an answer renewing it with D `leaseMs`: from now on it shares that end. */
  add(h: HeldTicket, end: Ms, leaseMs: number): void {
    let s = this.leases.get(leaseMs);
    if (s === undefined) this.leases.set(leaseMs, (s = new SharedLease(end, leaseMs)));
    assert(s.end === end && h.leaseEnd === end && h.leaseEndHigh === end, `ticket ${h.name} joining a shared lease end ${s.end} with its own ${h.leaseEnd}`);
    h.join(s);
    this.names.push(h.name);
  }

  /** Whether `s` is one of this cohort's leases. */
  owns(s: SharedLease | null): s is SharedLease {
    return s !== null && this.leases.get(s.leaseMs) === s;
  }

  /**
   * An answer that renewed `renewed` whole: if that is this cohort's list (the same renewal by index,
   * sent again with nothing changed) and no ticket left, every lease moves as renewEach would move
   * each of its tickets, and this returns true; else false, and nothing changed.
   */
  extendWhole(renewed: readonly HeldAtIndex[], sentAt: Ms, now: Ms, leaseEnd: LeaseEndFn): boolean {
    if (this.whole === null || renewed !== this.whole) return false;
    for (const s of this.leases.values()) if (s.left > 0) return false;
    for (const s of this.leases.values()) s.extend(sentAt, now, leaseEnd);
    return true;
  }

  /** The earliest time a ticket parked on this cohort can need a look (+∞: none parked). */
  wakeAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const s of this.leases.values()) at = Math.min(at, s.wakeAt());
    return at;
  }

  /** Every parked ticket is about to be looked at (and parked again if it still can be). */
  unparkAll(): void {
    for (const s of this.leases.values()) s.unpark();
  }

  seal(held: readonly HeldAtIndex[]): void {
    this.whole = held;
  }
}

/** What an answer renews (site-renewals.ts RenewalBook.take). */
export interface TakenRenewal {
  readonly sentAt: Ms;
  readonly renewed: readonly HeldAtIndex[];
  readonly held: readonly HeldAtIndex[];
}

/**
 * Applies an answer ticket by ticket: each ticket held at the generation renewed, not given up, and
 * not released since the renewal was sent gets the lease end measured from the send time, if later
 * than its own; those that moved are added to `moved` and join the returned cohort, which can be
 * moved whole by the next answer when every ticket of a renewal by index joined.
 */
export function renewEach(
  p: TakenRenewal,
  seq: number,
  held: ReadonlyMap<string, HeldTicket>,
  inTable: (name: string) => boolean,
  now: Ms,
  leaseEnd: LeaseEndFn,
  moved: Set<string>,
): LeaseCohort {
  const cohort = new LeaseCohort();
  let whole = p.renewed === p.held;
  for (const g of p.renewed) {
    const h = held.get(g.name);
    if (h === undefined || !inTable(g.name) || h.gen !== g.generation || h.releasedGen === g.generation || seq < h.answerSeqFloor) {
      // (A seq below the floor: sent before a release the leader may already have honoured.)
      whole = false;
      continue;
    }
    const leaseMs = g.leaseDurationMs; // the D the leader dated its view with (RenewGrant, or held at the index)
    const end = ms(leaseEnd(p.sentAt, now, leaseMs));
    // A lease runs at most D past the answer: it is measured from a time no later than the answer's arrival.
    assert(p.sentAt <= now && end <= now + leaseMs, `lease end of ${g.name} (${end}) past the answer at ${now} plus ${leaseMs} ms`);
    // Answers come in send order (older renewals dropped, seq floor): an end moves back only if a ticket-change shortened D.
    assert(h.leaseEndHigh === null || end >= h.leaseEndHigh || leaseMs < h.leaseMsHigh, `lease end of ${g.name} moving back from ${h.leaseEndHigh} to ${end}`);
    h.leaseMsHigh = Math.max(h.leaseMsHigh, leaseMs);
    if (h.leaseEnd === null || end > h.leaseEnd) {
      h.leaseEnd = end;
      h.leaseEndHigh = end;
      moved.add(g.name);
      cohort.add(h, end, leaseMs);
    } else whole = false;
  }
  if (whole) cohort.seal(p.held);
  return cohort;
}
