// Relay routes (DESIGN.md §3.2): how to reach a member whose direct link
// our latest probe found broken. What our probes learn — the direct link's
// state, and which helpers forwarded a member's ack to us (peer.via) — is
// recorded on the Peer; this file chooses a route from it and keeps it honest.

import type { MemberId } from '../types.js';
import type { Peer } from './peer.js';

/** How to reach a member: directly, or through one that reaches it (relay, DESIGN.md §3.2). */
export type Route = { readonly direct: true } | { readonly via: MemberId };

/**
 * How to send to `peer` now, with `freshFromMs` the oldest report "helper
 * reached it" still usable (now − the reach window). The latest direct probe
 * decides; before the first there is no evidence against the direct path,
 * which stays the default.
 *
 * Otherwise: the helpers that reached it for us within the reach window, the
 * most recent first, preferring one our own latest probe reached directly.
 * A helper whose last probe failed is ranked lower, not excluded: under loss
 * one lost probe marks a working link 'failed' until the next probe of it,
 * which Lifeguard's health multiplier can stretch to many seconds. A report
 * older than the window is not used: the helper may have lost its way since
 * (in the simulator's five-member-ring scenario, reports from before the cut
 * kept routes through members that no longer reached the target). With no
 * usable report the route is null and the registry tries through every
 * member not known dead (Member.send).
 */
export function routeToPeer(peer: Peer, peers: ReadonlyMap<MemberId, Peer>, freshFromMs: number): Route | null {
  if (peer.direct !== 'failed') return { direct: true };
  let best: { via: MemberId; at: number; ok: boolean } | null = null;
  for (const [helper, at] of peer.via) {
    if (at < freshFromMs) continue;
    const h = peers.get(helper);
    if (h === undefined || h.state === 'dead') continue;
    const ok = h.direct !== 'failed';
    if (best === null || (ok && !best.ok) || (ok === best.ok && (at > best.at || (at === best.at && helper < best.via)))) best = { via: helper, at, ok };
  }
  return best === null ? null : { via: best.via };
}

/**
 * Helpers we asked to reach `target` that did not forward its ack within
 * the period: their earlier reports that they reach it no longer count (the
 * reach window alone kept routes through members cut off since, for over a
 * minute in the simulator's five-member-ring scenario). One lost message can
 * drop a good route; the next successful probe through it restores it, and
 * meanwhile the registry tries through every member (Member.send).
 */
export function forgetUnconfirmedRoutes(
  peers: ReadonlyMap<MemberId, Peer>,
  target: MemberId,
  helpers: readonly MemberId[],
  reached: ReadonlySet<MemberId>,
): void {
  const peer = peers.get(target);
  if (peer === undefined) return;
  for (const h of helpers) if (!reached.has(h)) peer.via.delete(h);
}

/**
 * A helper answered one of our ping-reqs (forwarded ack or nack): it got our
 * request and its answer got back, so our direct link to it works both ways.
 */
export function helperAnswered(peers: ReadonlyMap<MemberId, Peer>, helper: MemberId): void {
  const h = peers.get(helper);
  if (h !== undefined) h.direct = 'ok';
}
