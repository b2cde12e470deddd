// A token bucket per peer (TIGER_STYLE: a limit on everything fed by remote
// input): each peer's bucket refills at `framesPerSecond` up to
// `burstFrames`, and a frame passes only if it can take a whole token. The
// relay budget (relay-budget.ts) and the per-kind inbound budgets
// (inbound-budget.ts) are both made of it.
//
// Keyed by authenticated peers only, so it holds at most `peersMax` entries;
// a key beyond that is refused rather than remembered. The clock is passed
// in (monotonic ms), so tests need no timers.

export interface PeerBudgetOptions {
  /** Sustained frames per second for one peer. */
  readonly framesPerSecond: number;
  /** Frames one peer may send in a burst (bucket size). */
  readonly burstFrames: number;
  /** Distinct peers tracked; more are refused. */
  readonly peersMax: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class PeerBudget {
  readonly options: PeerBudgetOptions;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: PeerBudgetOptions) {
    for (const [field, v] of Object.entries(options)) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`budget ${field} must be positive, got ${v}`);
    }
    this.options = options;
  }

  /** Spends one frame of `peer`'s budget at `nowMs`; false when none is left (or too many peers). */
  take(peer: string, nowMs: number): boolean {
    const o = this.options;
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
