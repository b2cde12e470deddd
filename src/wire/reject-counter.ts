// Counts rejected inbound frames per peer and reason, and decides which
// rejects get a log line (DESIGN.md §7: bad input is dropped and counted).
//
// Both maps are fed by remote input, so both are bounded: reasons form a fixed
// set, and at most `rejectPeersMax` peers get their own counters — later
// peers share one `otherPeersKey` bucket. Peers named in `pinnedPeers` (the
// formation's members) are tracked from the start, so a flood of made-up
// peer ids cannot push a real member's counters into the shared bucket.
//
// Logging is rate-limited per (peer bucket, reason): the first reject is
// logged, then at most one line per `logIntervalMs`, each carrying how many
// rejects were suppressed since the previous line. A flood thus costs one log
// line per interval, not one per frame, and nothing is silently lost. The
// clock is passed in (`nowMs`, monotonic) so tests need no timers.
import { envelopeRejectReasons, type EnvelopeRejectReason } from './envelope.js';
import { replayRejectReasons, type ReplayRejectReason } from './replay-window.js';
import { TollboothError } from '../errors.js';

/** Reasons only a transport can see, because they concern the connection a frame came over. */
export const transportRejectReasons = [
  /** The envelope verifies, but its sender is not the authenticated peer that delivered it (and relaying is not in use). */
  'sender-mismatch',
  /** A connection from a key that is not in the formation config, refused by the connection gater. */
  'unknown-peer',
  /** A frame of another kind than 'admin' from a peer authenticated with an admin key (DESIGN.md §7). */
  'admin-kind-only',
  /**
   * A 'relay' frame whose payload is not a well-formed signed frame of this
   * formation, carries another kind than registry traffic, or asks us to pass
   * on a frame its deliverer did not write (relays are one hop).
   */
  'bad-relay',
  /**
   * Over the delivering peer's budget for the frame's kind (inbound-budget.ts):
   * refused before its signature is verified, so a flood costs little.
   */
  'rate-limited',
  /** A stream whose first frame is not a hello (protocol-version.ts): the stream is closed. */
  'no-hello',
  /** A hello without a well-formed protocol version, or a second hello on one stream: the link is refused. */
  'bad-hello',
  /** A hello with a protocol version this member does not interoperate with, and every frame after it: the link is refused. */
  'incompatible-version',
] as const;
export type TransportRejectReason = (typeof transportRejectReasons)[number];

/**
 * Every reason a frame can be dropped for: the envelope's, the replay
 * window's, 'invalid-message' for a payload that the caller's protocol
 * validation refused after decoding, and the transport's own.
 */
export const rejectReasons = [...envelopeRejectReasons, ...replayRejectReasons, 'invalid-message', ...transportRejectReasons] as const;
export type RejectReason = EnvelopeRejectReason | ReplayRejectReason | 'invalid-message' | TransportRejectReason;

export const rejectPeersMaxDefault = 64;
export const rejectLogIntervalMsDefault = 10_000;
/** Bucket for peers beyond rejectPeersMax. Parenthesised so it cannot collide with a libp2p peer id or a member id in practice. */
export const otherPeersKey = '(other)';
/** Longer peer strings are cut, so one key cannot hold much memory. */
export const peerKeyCharsMax = 128;

export interface RejectCounterOptions {
  /** Distinct peers with their own counters, pinned ones included. Default rejectPeersMaxDefault. */
  readonly rejectPeersMax?: number;
  /** Minimum time between two log lines for one peer bucket and reason. Default rejectLogIntervalMsDefault. */
  readonly logIntervalMs?: number;
  /** Peers that always get their own counters (the formation's members). */
  readonly pinnedPeers?: Iterable<string>;
}

export type RejectLogDecision =
  | {
      readonly log: true;
      /** Where the reject was counted: the peer itself or otherPeersKey. */
      readonly bucket: string;
      /** Rejects of this bucket and reason not logged since the previous line. */
      readonly suppressedCount: number;
      /** Running total for this bucket and reason. */
      readonly count: number;
    }
  | { readonly log: false; readonly bucket: string; readonly count: number };

export interface RejectCountEntry {
  readonly peer: string;
  readonly reason: RejectReason;
  readonly count: number;
}

export type RejectCounterErrorCode = 'REJECT_COUNTER_CONFIG' | 'REJECT_COUNTER_CLOCK';

export class RejectCounterError extends TollboothError<RejectCounterErrorCode> {}

interface ReasonState {
  count: number;
  /** When the last line for this bucket and reason was logged. */
  lastLogMs: number;
  suppressedCount: number;
}

export class RejectCounter {
  #rejectPeersMax: number;
  readonly logIntervalMs: number;
  readonly #peers = new Map<string, Map<RejectReason, ReasonState>>();
  readonly #other = new Map<RejectReason, ReasonState>();
  #total = 0;

  constructor(options: RejectCounterOptions = {}) {
    const rejectPeersMax = options.rejectPeersMax ?? rejectPeersMaxDefault;
    const logIntervalMs = options.logIntervalMs ?? rejectLogIntervalMsDefault;
    if (!Number.isSafeInteger(rejectPeersMax) || rejectPeersMax < 0) {
      throw new RejectCounterError('REJECT_COUNTER_CONFIG', `rejectPeersMax must be a non-negative integer, got ${rejectPeersMax}`);
    }
    if (!Number.isFinite(logIntervalMs) || logIntervalMs < 0) {
      throw new RejectCounterError('REJECT_COUNTER_CONFIG', `logIntervalMs must be a non-negative number, got ${logIntervalMs}`);
    }
    this.#rejectPeersMax = rejectPeersMax;
    this.logIntervalMs = logIntervalMs;
    for (const peer of options.pinnedPeers ?? []) this.#peers.set(peerKey(peer), new Map());
    if (this.#peers.size > rejectPeersMax) {
      throw new RejectCounterError(
        'REJECT_COUNTER_CONFIG',
        `${this.#peers.size} pinned peers exceed rejectPeersMax ${rejectPeersMax}`,
      );
    }
  }

  /**
   * Counts one rejected frame from `peer` (the transport peer that delivered
   * it, which for a relayed frame is the relay) and says whether to log it now.
   */
  record(peer: string, reason: RejectReason, nowMs: number): RejectLogDecision {
    if (!Number.isFinite(nowMs)) {
      // A NaN clock would suppress every line forever; fail loudly instead.
      throw new RejectCounterError('REJECT_COUNTER_CLOCK', `nowMs must be finite, got ${nowMs}`);
    }
    const { bucket, reasons } = this.#bucketOf(peer);
    let state = reasons.get(reason);
    this.#total += 1;
    if (state === undefined) {
      state = { count: 1, lastLogMs: nowMs, suppressedCount: 0 };
      reasons.set(reason, state);
      return { log: true, bucket, suppressedCount: 0, count: 1 };
    }
    state.count += 1;
    if (nowMs - state.lastLogMs >= this.logIntervalMs) {
      const suppressedCount = state.suppressedCount;
      state.lastLogMs = nowMs;
      state.suppressedCount = 0;
      return { log: true, bucket, suppressedCount, count: state.count };
    }
    state.suppressedCount += 1;
    return { log: false, bucket, count: state.count };
  }

  /** Distinct peers with their own counters at most (pinned ones raise it, see pin()). */
  get rejectPeersMax(): number {
    return this.#rejectPeersMax;
  }

  /**
   * Gives `peer` its own counters for good, as pinnedPeers does at
   * construction (a member added at runtime): the limit grows by one when
   * the peer was not tracked yet, so the room left for others stays the same.
   */
  pin(peer: string): void {
    const key = peerKey(peer);
    if (key === otherPeersKey || this.#peers.has(key)) return;
    this.#peers.set(key, new Map());
    this.#rejectPeersMax += 1;
  }

  /** Rejects counted for this peer (or otherPeersKey) and reason. */
  countOf(peer: string, reason: RejectReason): number {
    const key = peerKey(peer);
    const reasons = key === otherPeersKey ? this.#other : this.#peers.get(key);
    return reasons?.get(reason)?.count ?? 0;
  }

  /** All rejects counted so far. */
  get total(): number {
    return this.#total;
  }

  /** Peers with their own counters (pinned ones included), not counting the shared bucket. */
  get trackedPeerCount(): number {
    return this.#peers.size;
  }

  /** Every non-zero counter, for metrics and the CLI; the shared bucket appears as otherPeersKey. */
  snapshot(): RejectCountEntry[] {
    const entries: RejectCountEntry[] = [];
    const add = (peer: string, reasons: Map<RejectReason, ReasonState>): void => {
      for (const [reason, state] of reasons) entries.push({ peer, reason, count: state.count });
    };
    for (const [peer, reasons] of this.#peers) add(peer, reasons);
    add(otherPeersKey, this.#other);
    return entries;
  }

  #bucketOf(peer: string): { bucket: string; reasons: Map<RejectReason, ReasonState> } {
    const key = peerKey(peer);
    if (key === otherPeersKey) return { bucket: otherPeersKey, reasons: this.#other };
    let reasons = this.#peers.get(key);
    if (reasons === undefined) {
      if (this.#peers.size >= this.#rejectPeersMax) return { bucket: otherPeersKey, reasons: this.#other };
      reasons = new Map();
      this.#peers.set(key, reasons);
    }
    return { bucket: key, reasons };
  }
}

function peerKey(peer: string): string {
  return peer.length > peerKeyCharsMax ? peer.slice(0, peerKeyCharsMax) : peer;
}
