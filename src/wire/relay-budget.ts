// How much a member relays for each other member (DESIGN.md §3.2: a member
// that cannot reach another directly sends its signed message through one
// that can). A relay forwards frames it did not write, so what it spends on
// them is bounded per requesting member (TIGER_STYLE: a limit on everything
// fed by remote input): a token bucket per peer, refilled at
// `framesPerSecond` up to `burstFrames`. A frame over budget is dropped and
// counted by the caller; the protocol above tolerates loss.
//
// Members only: the map is keyed by the authenticated member that handed the
// frame over, so it holds at most `peersMax` entries (the formation's size);
// a key beyond that is refused rather than remembered. The clock is passed
// in (monotonic ms), so tests need no timers.

import { PeerBudget, type PeerBudgetOptions } from './peer-budget.js';

export type RelayBudgetOptions = PeerBudgetOptions;

/**
 * Defaults sized for registry traffic between two members that lost their
 * link: a leader's heartbeats (every 50 ms on the loopback preset) and
 * commit notices one way, acknowledgements and renewals the other, a
 * snapshot now and then — well under 100 frames a second — with room for a
 * burst of replication after a heal.
 */
export const relayBudgetDefaults: RelayBudgetOptions = { framesPerSecond: 200, burstFrames: 400, peersMax: 256 };

/** The relay's bucket per member (peer-budget.ts), with relayBudgetDefaults unless told otherwise. */
export class RelayBudget extends PeerBudget {
  constructor(options: RelayBudgetOptions = relayBudgetDefaults) {
    super(options);
  }
}
