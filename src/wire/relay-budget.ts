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

export interface RelayBudgetOptions {
  /** Sustained frames per second relayed for one member. */
  readonly framesPerSecond: number;
  /** Frames one member may have relayed in a burst (bucket size). */
  readonly burstFrames: number;
  /** Distinct members tracked; more are refused. */
  readonly peersMax: number;
}

/**
 * Defaults sized for registry traffic between two members that lost their
 * link: a leader's heartbeats (every 50 ms on the loopback preset) and
 * commit notices one way, acknowledgements and renewals the other, a
 * snapshot now and then — well under 100 frames a second — with room for a
 * burst of replication after a heal.
 */
export const relayBudgetDefaults: RelayBudgetOptions = { framesPerSecond: 200, burstFrames: 400, peersMax: 256 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RelayBudget {
  readonly #options: RelayBudgetOptions;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RelayBudgetOptions = relayBudgetDefaults) {
    for (const [field, v] of Object.entries(options)) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`relay budget ${field} must be positive, got ${v}`);
    }
    this.#options = options;
  }

  /** Spends one frame of `peer`'s budget at `nowMs`; false when none is left (or too many peers). */
  take(peer: string, nowMs: number): boolean {
    const o = this.#options;
    let b = this.#buckets.get(peer);
    if (b === undefined) {
      if (this.#buckets.size >= o.peersMax) return false;
      b = { tokens: o.burstFrames, at: nowMs };
      this.#buckets.set(peer, b);
    }
    // A clock that went backwards (it must not) refills nothing.
    const elapsed = Math.max(0, nowMs - b.at);
    b.tokens = Math.min(o.burstFrames, b.tokens + (elapsed * o.framesPerSecond) / 1000);
    b.at = Math.max(b.at, nowMs);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
