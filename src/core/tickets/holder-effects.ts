// What the holder side hands the host (DESIGN.md §4): the desired CIB state of
// each ticket, lease guard updates, and what the CIB held at start-up. Types
// only; site-holder.ts produces them and re-exports them.

import type { Generation, MemberId, Ms } from '../types.js';

/**
 * The desired state of one ticket in this site's CIB. The host makes the CIB
 * match it (crm_ticket grant/revoke/standby and booth's attributes) and reports
 * the outcome with an `effect-result` report carrying the same `id`.
 */
export interface TicketEffect {
  readonly id: number;
  readonly ticket: string;
  readonly granted: boolean;
  readonly standby: boolean;
  /** The ticket's generation, written as booth's `term` attribute (S2). */
  readonly generation: Generation;
  /** The registry's holder, written as booth's `owner` attribute. */
  readonly owner: MemberId | null;
  /**
   * While granted: the local monotonic time at which the grant must be gone
   * from the CIB. A lease guard that outlives the agent enforces it (issue 4).
   */
  readonly revokeBy: Ms | null;
  /**
   * While granted: the holder's lease end that revokeBy was computed from (same clock), recorded
   * beside it for the lease guard, which times its own CIB writes and enforces the grant earlier
   * when they have become slower than the lead allows for (lease-guard's guard-timing.ts).
   */
  readonly leaseEnd?: Ms;
  readonly attrs: Readonly<Record<string, string>>;
  /**
   * A start-up revoke: the first write of a ticket this incarnation found not
   * granted to it in the sink (it only sets booth's attributes and clears a
   * stray grant). The host may write it after every other effect (issue 15
   * item 5: 10,000 of them at start-up held every grant back). Absent: false.
   */
  readonly background?: true;
}

/**
 * Moves the lease guard's deadlines later for tickets whose grant is already in
 * the CIB, all in one write (DESIGN.md §4). Renewals cover every held ticket
 * at once, so one update per guard period replaces a CIB write per ticket.
 * The host applies an entry only where the guard holds a grant of that
 * generation and only if it moves the deadline later, and reports the outcome
 * with an `effect-result` report carrying the update's `id`.
 */
export interface GuardUpdate {
  readonly id: number;
  readonly extend: readonly GuardExtension[];
}

export interface GuardExtension {
  readonly ticket: string;
  readonly generation: Generation;
  /** The new deadline on the local monotonic clock; never earlier than the one it replaces. */
  readonly revokeBy: Ms;
  /** The holder's lease end the deadline was computed from (TicketEffect.leaseEnd). */
  readonly leaseEnd?: Ms;
}

/** What the CIB held when the agent started (read by the host before the core is built). */
export interface CibTicketState {
  readonly name: string;
  readonly granted: boolean;
  readonly generation: Generation;
  /** The lease guard's deadline for this grant, if one is armed. */
  readonly revokeBy: Ms | null;
  /**
   * booth's `expires` of a grant, on the local monotonic clock, less a slack for the wall clocks of
   * the site's nodes (the host converts it): the latest an agent of this site that wrote the grant,
   * maybe on another node, may leave it there. Absent or null: unknown.
   */
  readonly expiresAt?: Ms | null;
  /**
   * What else the sink shows of the ticket, where the sink reads it; absent: unknown.
   * - Of a ticket not granted (the file sink), everything a revoke writes, owner included: a start-up
   *   revoke that would write exactly this is not written (sink-at-start.ts). Without `owner` it is
   *   not used for that.
   * - Of a grant (the crm_ticket sink, whose owner is booth's numeric site id: no `owner`), its booth
   *   `standby` and geo attributes (every attribute that is not booth's or Pacemaker's own): what a
   *   take-over writes with the grant before its table shows the ticket (site-takeover.ts). Without
   *   it such a take-over writes nothing until the table does.
   */
  readonly shown?: CibTicketShown;
  /**
   * A ticket state this formation did not write (the crm_ticket sink: one without this formation's
   * `booth-cfg-name`, such as a ticket granted by hand), named by a complete start-up read only so that
   * the ticket's start-up revoke is written (sink-at-start.ts): never taken as this site's grant or held.
   */
  readonly notOurs?: true;
}

/** CibTicketState.shown: standby, geo attributes and (where the sink names members) the owner. */
export interface CibTicketShown {
  readonly standby: boolean;
  readonly owner?: MemberId | null;
  readonly attrs: Readonly<Record<string, string>>;
}
