// Where an automatic ticket goes: a pure choice among eligible sites by
// configured weight (higher first), then a site that does not lead the
// registry (losing it then costs no election on top of the lease,
// docs/protocol.md §3), then by formation order. A site is
// eligible when the leader heard from it recently and it reports itself
// healthy and able to run the ticket's resources (DESIGN.md §2).

import type { SiteHealth } from '../messages.js';
import type { Member, MemberId, TicketDef } from '../types.js';

export interface SiteView {
  readonly lastHeardAt: number;
  readonly health: SiteHealth;
}

export function isEligible(
  site: MemberId,
  ticket: string,
  view: SiteView | undefined,
  now: number,
  aliveWindowMs: number,
): boolean {
  if (view === undefined) return false;
  if (now - view.lastHeardAt > aliveWindowMs) return false;
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
