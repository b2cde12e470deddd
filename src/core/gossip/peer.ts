// What one member knows about another (memberlist's nodeState): its state and
// incarnation with the signed claim that set them, the suspicion running
// against it, and what our probes learned about the links to it. Also SWIM's
// precedence of claims (§4.2), which decides whether a claim changes the peer.

import type { MemberId } from '../types.js';
import type { MemberUpdate, SwimState } from './messages.js';
import type { Suspicion } from './suspicion.js';

/**
 * The direct link as last seen: 'failed' when our latest direct ping got no
 * ack in time, 'ok' after an ack (or an answer to our ping-req, which needs
 * both directions), 'untested' before either.
 */
export type DirectProbe = 'untested' | 'ok' | 'failed';

export interface Peer {
  readonly id: MemberId;
  /** Our view of it, set by the newest claim that overrode the previous one (classify). */
  state: SwimState;
  /** The incarnation that claim refers to. */
  incarnation: number;
  /** The signed claim that set the state; null for the bootstrap state (alive at 0, from config). */
  claim: MemberUpdate | null;
  /** The running suspicion while state is 'suspect'; null otherwise. */
  suspicion: Suspicion | null;
  /** Smoothed round trip of direct pings to it (ours, and ours on others' behalf); null before the first. */
  rttMs: number | null;
  direct: DirectProbe;
  /** Helper → when it last forwarded this member's ack to us. */
  readonly via: Map<MemberId, number>;
}

/** A member as the formation config introduces it: alive at incarnation 0, nothing known about its links. */
export function newPeer(id: MemberId): Peer {
  return { id, state: 'alive', incarnation: 0, claim: null, suspicion: null, rttMs: null, direct: 'untested', via: new Map() };
}

/** What a claim does to a peer: nothing (stale), replaces its state (newer), or confirms its suspicion. */
export type ClaimEffect = 'stale' | 'newer' | 'confirm';

/**
 * SWIM's precedence of claims about one member (§4.2), for a peer's current
 * (state, incarnation): alive(j) overrides anything at a lower incarnation;
 * suspect(j) overrides alive at j or lower and suspect or dead below j;
 * dead(j) overrides alive and suspect at j or lower. A suspect claim at the
 * current suspicion's incarnation from an accuser not yet counted is a
 * Lifeguard confirmation.
 */
export function classify(peer: Peer, u: MemberUpdate): ClaimEffect {
  const i = peer.incarnation;
  switch (u.state) {
    case 'alive':
      return u.incarnation > i ? 'newer' : 'stale';
    case 'suspect':
      if (peer.state === 'alive') return u.incarnation >= i ? 'newer' : 'stale';
      if (u.incarnation > i) return 'newer';
      if (peer.state === 'suspect' && u.incarnation === i && peer.suspicion !== null && !peer.suspicion.origins.has(u.origin)) return 'confirm';
      return 'stale';
    case 'dead':
      if (peer.state === 'dead') return u.incarnation > i ? 'newer' : 'stale';
      return u.incarnation >= i ? 'newer' : 'stale';
  }
}
