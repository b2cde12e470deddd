// The `peers` view (DESIGN.md §3.4): who is alive, suspect or dead, with
// round-trip times and routes, as SwimNode.view() reports it to the CLI.

import { ms, type MemberId, type Ms } from '../types.js';
import type { SwimState } from './messages.js';
import type { DirectProbe, Peer } from './peer.js';
import type { Route } from './routes.js';

export interface PeerView {
  readonly id: MemberId;
  readonly state: SwimState;
  readonly incarnation: number;
  /** Smoothed round trip of direct pings (ours, and ours on others' behalf); null before the first. */
  readonly rttMs: number | null;
  /** routeTo(id). */
  readonly route: Route | null;
  /** The direct link as our latest probe found it (peer.ts DirectProbe). */
  readonly directProbe: DirectProbe;
  /** Members whose suspicion of this one we have seen (suspect only). */
  readonly suspectedBy: readonly MemberId[];
  /** When the current suspicion runs out here (suspect only). */
  readonly suspicionEndsAt: Ms | null;
}

export interface SwimView {
  readonly self: MemberId;
  readonly incarnation: number;
  /** Lifeguard health score, 0 (healthy) … healthScoreMax. */
  readonly healthScore: number;
  /** Factor on the probe period and timeout: healthScore + 1. */
  readonly healthMultiplier: number;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly queueLength: number;
  readonly peers: readonly PeerView[];
}

/** One peer as the view shows it, with the route routeTo() gives for it. */
export function peerView(p: Peer, route: Route | null): PeerView {
  return {
    id: p.id,
    state: p.state,
    incarnation: p.incarnation,
    rttMs: p.rttMs,
    route,
    directProbe: p.direct,
    suspectedBy: p.suspicion === null ? [] : [...p.suspicion.origins],
    suspicionEndsAt: p.suspicion === null ? null : ms(p.suspicion.deadlineAt),
  };
}
