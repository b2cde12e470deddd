// The holder side's lease guard updates and sink read-backs (site-holder.ts;
// DESIGN.md §4): when a deadline is moved later, what an update's outcome
// means for the grants it covered, and which confirmed writes a read of the
// sink shows lost. Pure; split out of site-holder.ts to keep it within the
// file-size limit.

import { holderRevokeAt } from '../lease.js';
import { assert, ms, type Generation, type Ms } from '../types.js';
import { assertGuardInsideLease } from './holder-checks.js';
import type { HeldTicket } from './held-ticket.js';
import type { CibTicketState, GuardExtension } from './holder-effects.js';

/** One ticket of a guard update in flight: the deadline it was sent with. */
export interface GuardSent {
  readonly name: string;
  readonly revokeBy: Ms;
}

/**
 * The entries of a guard update: every confirmed grant whose deadline can move later (`want`: the
 * deadline its lease allows now, null when it may not stay granted), not only the one that came
 * due — renewals answer all tickets together, so their deadlines stay aligned and the next update
 * again covers them all. Marks each as issued with its new deadline.
 */
export function guardExtensions(held: Iterable<HeldTicket>, want: (h: HeldTicket) => { revokeBy: Ms; revokeLeadMs: number } | null): { extend: GuardExtension[]; sent: GuardSent[] } {
  const extend: GuardExtension[] = [];
  const sent: GuardSent[] = [];
  for (const h of held) {
    const cur = h.issued;
    if (cur === null || !cur.granted || !cur.confirmed || h.leaseEnd === null || cur.revokeBy === null) continue;
    const w = want(h);
    if (w === null || w.revokeBy <= cur.revokeBy) continue;
    // An extension only moves a deadline of the same grant later, and never past the lease.
    assertGuardInsideLease(w.revokeBy, h.leaseEnd, w.revokeLeadMs, h.name);
    assert(cur.generation === h.gen, `guard extension of ${h.name} for generation ${cur.generation} while holding ${h.gen}`);
    h.issued = { ...cur, revokeBy: w.revokeBy };
    extend.push({ ticket: h.name, generation: cur.generation, revokeBy: w.revokeBy, leaseEnd: h.leaseEnd });
    sent.push({ name: h.name, revokeBy: w.revokeBy });
  }
  return { extend, sent };
}

/**
 * Each renewal moves the guard deadline forward, but writing the CIB on every
 * renewal would make Pacemaker's CIB churn: extend once half of the time the
 * guard had left when last written has passed.
 */
export function guardNeedsExtending(cur: number | null, want: number | null, now: Ms): boolean {
  if (want === null) return false;
  if (cur === null) return true;
  if (want <= cur) return false;
  return cur - now < (want - now) / 2;
}

/**
 * The host's outcome of a guard update. A ticket it skipped (its old deadline had passed, so the guard
 * may have revoked it) or an update that failed leaves the guard's deadline for that grant unknown:
 * where nothing newer was issued since, the grant is written again in full (a full write re-arms the
 * guard) — at once after a skip, after `retryMs` after a failure. Returns the tickets to look at again.
 */
export function onGuardResult(
  batch: readonly GuardSent[],
  ok: boolean,
  skipped: readonly string[],
  held: ReadonlyMap<string, HeldTicket>,
  now: Ms,
  retryMs: number,
  forget: (h: HeldTicket) => void,
): string[] {
  const lost = ok ? new Set(skipped) : null;
  const again: string[] = [];
  for (const { name, revokeBy } of batch) {
    const h = held.get(name);
    // Every ticket of the batch is looked at again: a lead raised meanwhile may move its deadline earlier (SiteHolder.issue).
    if (h !== undefined) again.push(name);
    if (lost !== null && !lost.has(name)) continue;
    if (h?.issued?.granted !== true || h.issued.revokeBy !== revokeBy) continue;
    forget(h);
    h.retryAt = lost !== null ? now : ms(now + retryMs);
  }
  return again;
}

/**
 * The sink as the host read it back: a write confirmed before the read began that the sink does not
 * show (a grant the lease guard or an admin revoked; a revoke undone by hand) is handed to `lost` —
 * the holder forgets it and writes it again, or gives the ticket up if its lease no longer allows.
 * Returns the grants found lost.
 */
export function sinkLost(states: readonly CibTicketState[], readStartedAt: Ms, held: Iterable<HeldTicket>, lost: (h: HeldTicket) => void): Array<{ ticket: string; generation: Generation }> {
  const byName = new Map(states.map((c) => [c.name, c]));
  const grants: Array<{ ticket: string; generation: Generation }> = [];
  for (const h of held) {
    const cur = h.issued;
    if (cur === null || !cur.confirmed || cur.confirmedAt === null || cur.confirmedAt > readStartedAt) continue;
    const c = byName.get(h.name);
    const holds = c !== undefined && c.granted && c.generation === cur.generation;
    if (holds === cur.granted) continue;
    if (cur.granted) grants.push({ ticket: h.name, generation: cur.generation });
    lost(h);
  }
  return grants;
}

/**
 * The next instant a ticket's desired CIB state can change without any input (SiteHolder's wake-ups;
 * +∞: none): a retry, its revoke time, its guard's half time, or the end of its acquire-after wait.
 * `leadMs`: its revoke lead now (null: the ticket is not in the table).
 */
export function nextWakeAt(h: HeldTicket, leadMs: number | null, now: Ms): number {
  let at = Number.POSITIVE_INFINITY;
  if (h.issued === null && h.retryAt > now) at = h.retryAt;
  if (leadMs !== null && h.gen !== null && h.leaseEnd !== null) {
    const revokeAt = holderRevokeAt(h.leaseEnd, leadMs);
    if (h.issued?.granted === true && revokeAt > now) {
      at = Math.min(at, revokeAt);
      // A confirmed grant's guard deadline is extended once half its remaining time has passed (guardNeedsExtending, guardExtensions).
      const cur = h.issued.revokeBy;
      if (h.issued.confirmed && cur !== null && cur < revokeAt) at = Math.min(at, Math.max(now + 1, 2 * cur - revokeAt + 1));
    } else if (h.acquireReadyAt > now && h.acquireReadyAt < revokeAt) at = Math.min(at, h.acquireReadyAt);
  }
  return at;
}
