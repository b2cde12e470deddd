// Where an automatic ticket goes: a pure choice among eligible sites by
// configured weight (higher first), then a site that does not lead the
// registry (losing it then costs no election on top of the lease,
// docs/protocol.md §3), then by formation order. A site is
// eligible when the leader heard from it recently, from the store incarnation
// the configuration admits as a voter, and it reports itself healthy and able
// to run the ticket's resources (DESIGN.md §2).

import type { SiteHealth } from '../messages.js';
import { incarnationOf, votes, type Member, type MemberId, type TicketDef } from '../types.js';

export interface SiteView {
  readonly lastHeardAt: number;
  readonly health: SiteHealth;
  /** The store incarnation the site's message carried (docs/protocol.md §10; absent in the message: 0). */
  readonly inc: number;
}

export function isEligible(
  site: MemberId,
  ticket: string,
  view: SiteView | undefined,
  now: number,
  aliveWindowMs: number,
  member: Member | undefined,
): boolean {
  if (view === undefined || member === undefined) return false;
  if (now - view.lastHeardAt > aliveWindowMs) return false;
  // A store the configuration does not admit (one that missed the bootstrap, lost its store, or an agent
  // started on another node) or a non-voter still catching up learns of a grant only once admitted and
  // caught up: a snapshot under loss can take longer than the lease, which then fails over from a site
  // that never heard of it (sim seed 234 --many-tickets at e4e26c7: site2 missed the bootstrap, was granted t1,
  // and installed the snapshot that carried the grant 0.4 s after the leader's view of its lease ended).
  if (view.inc !== incarnationOf(member) || !votes(member)) return false;
  return view.health.quorate && view.health.handlersOk && !view.health.unrunnable.includes(ticket);
}

export function chooseSite(
  def: TicketDef,
  members: readonly Member[],
  eligible: (site: MemberId) => boolean,
  exclude: MemberId | null,
  leader: MemberId | null = null,
): MemberId | null {
  let best: { id: MemberId; weight: number; order: number } | null = null;
  members.forEach((m, order) => {
    if (m.kind !== 'site' || m.id === exclude || !eligible(m.id)) return;
    // Own keys only: a site named like an Object.prototype member must not inherit a weight.
    const weight = Object.hasOwn(def.weights, m.id) ? (def.weights[m.id] ?? 0) : 0;
    if (best === null || weight > best.weight || (weight === best.weight && best.id === leader)) best = { id: m.id, weight, order };
  });
  return best === null ? null : (best as { id: MemberId }).id;
}
