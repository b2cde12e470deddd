// Pieces both transports share, so the in-memory twin cannot drift from the
// libp2p one in what it bounds and counts: the logger they need, the bounded
// per-peer send queue, and the accounting of outbound frames that were
// dropped (DESIGN.md §7 and TIGER_STYLE: every queue has a named limit, and
// nothing is lost silently).
/** What a transport needs from a logger; pino's Logger fits. */
export interface TransportLogger {
  /** A frame this member could not send at all (too large): a bug or a formation beyond its limits. Default: warn. */
  error?(obj: object, msg: string): void;
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
  /** A frame to a peer whose hello this member refused (an incompatible protocol version; libp2p-transport.ts). */
  'incompatible',
  /** Queued for a member that setPeers dropped (removed from the formation; libp2p-transport.ts). */
  'peer-removed',
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
  readonly #known: Set<string>;
  #total = 0;

  constructor(knownPeers: Iterable<string>) {
    this.#known = new Set(knownPeers);
  }

  /** Counts this peer on its own from now on (a member added at runtime). */
  know(peer: string): void {
    this.#known.add(peer);
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

/**
 * The class of an outbound frame. Registry frames (raft, and relayed raft)
 * keep the leader's lease and the tickets' leases alive; gossip and admin
 * frames can wait (issue 12, item 4: Raft traffic ahead of gossip in every
 * queue).
 */
export type FrameClass = 'registry' | 'other';

/** The class of a frame of this envelope kind. */
export function frameClassOf(kind: 'raft' | 'gossip' | 'relay' | 'admin' | 'admin-reply' | 'hello'): FrameClass {
  return kind === 'raft' || kind === 'relay' ? 'registry' : 'other';
}

/**
 * Frames waiting for one peer, in two FIFOs: registry frames are taken
 * before any other, each class in its own order. Bounded by framesMax
 * together; when full, the oldest non-registry frame makes room (the frame
 * being pushed, if it is one and no older one waits), and a registry frame
 * only when nothing else waits. push() returns how many frames it pushed out
 * (0 or 1).
 */
export class FrameQueue<T> {
  #registry: T[] = [];
  #other: T[] = [];

  constructor(readonly framesMax: number) {
    if (!Number.isSafeInteger(framesMax) || framesMax < 1) throw new RangeError(`sendQueueFramesMax must be a positive integer, got ${framesMax}`);
  }

  push(item: T, frameClass: FrameClass = 'other'): number {
    let evicted = 0;
    if (this.length >= this.framesMax) {
      evicted = 1;
      if (this.#other.length > 0) this.#other.shift();
      else if (frameClass === 'other') return evicted;
      else this.#registry.shift();
    }
    (frameClass === 'registry' ? this.#registry : this.#other).push(item);
    return evicted;
  }

  /** Removes and returns up to `count` frames from the front: registry frames first. */
  take(count: number): T[] {
    const first = this.#registry.splice(0, count);
    return first.length < count ? first.concat(this.#other.splice(0, count - first.length)) : first;
  }

  /** Empties the queue; returns how many frames were in it. */
  clear(): number {
    const n = this.length;
    this.#registry = [];
    this.#other = [];
    return n;
  }

  get length(): number {
    return this.#registry.length + this.#other.length;
  }
}
