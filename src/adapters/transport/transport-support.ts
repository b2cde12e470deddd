// Pieces both transports share, so the in-memory twin cannot drift from the
// libp2p one in what it bounds and counts: the logger they need, the bounded
// per-peer send queue, and the accounting of outbound frames that were
// dropped (DESIGN.md §7 and TIGER_STYLE: every queue has a named limit, and
// nothing is lost silently).
/** What a transport needs from a logger; pino's Logger fits. */
export interface TransportLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** Frames waiting for one peer. Past it the oldest is dropped: the protocol prefers fresh messages to old ones. */
export const sendQueueFramesMaxDefault = 1024;

/** Why an outbound frame never left this member. Stable strings: they appear in logs and metrics. */
export const dropReasons = [
  /** The peer was not connected when the frame was sent, or the connection went down with the frame queued. */
  'not-connected',
  /** The peer's queue was full; the oldest frame made room. */
  'queue-full',
  /** Addressed to a member that is not a configured peer (or to this member itself). */
  'unknown-peer',
  /** The message could not be encoded (too large, not JSON, or `from` is not this member): a bug at the caller. */
  'encode-failed',
  /** The sequence numbers of this epoch are used up; restart with a new epoch. */
  'sequence-exhausted',
  /** Writing to the peer's stream failed (the connection broke mid-write). */
  'write-failed',
  /** The transport is not started. */
  'stopped',
  /** Discarded by the test fault hook. */
  'fault',
  /**
   * A frame another member asked us to relay, not passed on: our own route
   * to its recipient is not direct (relays never chain), or the recipient is
   * not a member (counted against the recipient).
   */
  'relay-refused',
  /** A frame to relay over the requesting member's budget (counted against the requester). */
  'relay-budget',
] as const;
export type DropReason = (typeof dropReasons)[number];

export interface DropCountEntry {
  readonly peer: string;
  readonly reason: DropReason;
  readonly count: number;
}

/**
 * Dropped outbound frames per peer and reason. Keys come from our own
 * callers, but an 'unknown-peer' drop names whatever the caller passed, so
 * peers beyond the configured ones share one bucket.
 */
export class DropCounter {
  readonly #counts = new Map<string, Map<DropReason, number>>();
  readonly #known: ReadonlySet<string>;
  #total = 0;

  constructor(knownPeers: Iterable<string>) {
    this.#known = new Set(knownPeers);
  }

  record(peer: string, reason: DropReason, frames = 1): void {
    if (frames <= 0) return;
    const key = this.#known.has(peer) ? peer : '(other)';
    let reasons = this.#counts.get(key);
    if (reasons === undefined) {
      reasons = new Map();
      this.#counts.set(key, reasons);
    }
    reasons.set(reason, (reasons.get(reason) ?? 0) + frames);
    this.#total += frames;
  }

  /** Frames dropped for this peer (all reasons, or one). */
  countOf(peer: string, reason?: DropReason): number {
    const reasons = this.#counts.get(peer);
    if (reasons === undefined) return 0;
    if (reason !== undefined) return reasons.get(reason) ?? 0;
    let sum = 0;
    for (const n of reasons.values()) sum += n;
    return sum;
  }

  get total(): number {
    return this.#total;
  }

  snapshot(): DropCountEntry[] {
    const out: DropCountEntry[] = [];
    for (const [peer, reasons] of this.#counts) for (const [reason, count] of reasons) out.push({ peer, reason, count });
    return out;
  }
}

/** A FIFO of frames with a fixed bound; push() returns how many old frames it pushed out (0 or 1). */
export class FrameQueue<T> {
  #items: T[] = [];

  constructor(readonly framesMax: number) {
    if (!Number.isSafeInteger(framesMax) || framesMax < 1) throw new RangeError(`sendQueueFramesMax must be a positive integer, got ${framesMax}`);
  }

  push(item: T): number {
    let evicted = 0;
    if (this.#items.length >= this.framesMax) {
      this.#items.shift();
      evicted = 1;
    }
    this.#items.push(item);
    return evicted;
  }

  /** Removes and returns up to `count` frames from the front. */
  take(count: number): T[] {
    return this.#items.splice(0, count);
  }

  /** Empties the queue; returns how many frames were in it. */
  clear(): number {
    const n = this.#items.length;
    this.#items = [];
    return n;
  }

  get length(): number {
    return this.#items.length;
  }
}
