// Per-sender replay protection over envelope sequence numbers (DESIGN.md §7).
//
// Each sender numbers its envelopes with a strictly increasing sequence; each
// receiver keeps, per sender, the highest number accepted and a bitmap of the
// `windowSize` numbers just below it (the IPsec/DTLS anti-replay window, RFC
// 4303 §3.4.3). A number already in the bitmap is a duplicate; one below the
// window is too old; anything else is accepted, so reordering by the network
// (or by a relay path, DESIGN.md §3) within the window costs nothing.
//
// Only frames whose signature verified may be fed to accept(): a forged frame
// must not be able to move the window forward and lock out the real sender.
//
// Sequence numbers across restarts — the scheme:
//
//   seq = epoch · 2^32 + counter
//
// The sender keeps `epoch` in its store. At start-up it increments the epoch
// and persists it (synced) *before* sending anything, then counts `counter`
// up from 0 in memory (SequenceSource). Why this scheme:
//   - Every number sent after a restart is above every number sent before it,
//     because the epoch is durable before first use, whatever the crash point.
//     A sender that started again from 0 would instead be locked out, its
//     numbers rejected as duplicates or too old until it passed its old
//     high-water mark.
//   - It costs one synced write per start (and one per 2^32 messages), not one
//     per message as persisting the counter itself would.
//   - Receivers need no reset rule: the first frame of a new epoch is more
//     than windowSize ahead, so the window slides past everything older and
//     all frames of earlier epochs are rejected as too old.
//   - Both parts stay exact in a JS number: epoch < 2^21 keeps seq ≤ 2^53 − 1.
//     2^21 restarts is about two million; 2^32 messages per epoch is 50 days at
//     1 000 messages/s, after which the sender bumps the epoch again.
//
// The receiver's window lives in memory. After the *receiver* restarts it
// knows no window, so a frame recorded before that restart, from the sender's
// current epoch, can be accepted once more. Frames of older epochs can be
// kept out with raiseFloor(sender, epoch · 2^32), the epoch being one the
// receiver persisted when it first saw it (a write per sender restart, not per
// message). The protocol layers above tolerate that one duplicate: Raft
// assumes a network that may duplicate messages, and its term check discards
// stale ones.

import { TollboothError } from '../errors.js';

export const replayWindowSizeDefault = 1024;
/** Bounds memory per sender at windowSize/8 bytes; 2^16 is 8 KiB per sender. */
export const replayWindowSizeMax = 65_536;
/** Senders tracked at once. Only authenticated senders reach the window, so this bounds a formation's size. */
export const replaySendersMaxDefault = 256;

export const sequenceCounterLimit = 2 ** 32;
/** Largest epoch with epoch · 2^32 + (2^32 − 1) ≤ 2^53 − 1. */
export const sequenceEpochMax = 2 ** 21 - 1;

export const replayRejectReasons = [
  /** This sequence number was already accepted from this sender. */
  'duplicate',
  /** Below the window (or below the sender's floor): cannot tell whether it is a replay, so it is refused. */
  'too-old',
  /** A new sender would exceed sendersMax; its frame is refused rather than evicting another sender's window. */
  'sender-limit',
] as const;
export type ReplayRejectReason = (typeof replayRejectReasons)[number];

export type ReplayVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ReplayRejectReason; readonly detail: string };

export type ReplayErrorCode = 'REPLAY_CONFIG' | 'REPLAY_SEQUENCE_RANGE' | 'SEQUENCE_COUNTER_EXHAUSTED' | 'SEQUENCE_EPOCH_EXHAUSTED';

export class ReplayWindowError extends TollboothError<ReplayErrorCode> {}

/** Composes a sequence number from its persisted epoch and in-memory counter. */
export function sequenceNumber(epoch: number, counter: number): number {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > sequenceEpochMax) {
    throw new ReplayWindowError('SEQUENCE_EPOCH_EXHAUSTED', `epoch must be an integer in [0, ${sequenceEpochMax}], got ${epoch}`);
  }
  if (!Number.isSafeInteger(counter) || counter < 0 || counter >= sequenceCounterLimit) {
    throw new ReplayWindowError('SEQUENCE_COUNTER_EXHAUSTED', `counter must be an integer in [0, 2^32), got ${counter}`);
  }
  return epoch * sequenceCounterLimit + counter;
}

/** The epoch of a sequence number: the floor a receiver may persist per sender. */
export function sequenceEpoch(seq: number): number {
  return Math.floor(seq / sequenceCounterLimit);
}

/**
 * The sender's side: hands out seq = epoch · 2^32 + counter. The caller must
 * have persisted `epoch` (synced), greater than any epoch used before, before
 * constructing this. When the counter runs out next() throws
 * SEQUENCE_COUNTER_EXHAUSTED: persist epoch + 1 and make a new source.
 */
export class SequenceSource {
  readonly epoch: number;
  #counter = 0;

  /**
   * `counterStart` lets a sender with no store begin mid-epoch: the remote
   * admin client (src/cli/remote-admin.ts) starts at its wall-clock time in
   * microseconds, split into epoch and counter.
   */
  constructor(epoch: number, counterStart = 0) {
    // Validates the epoch and start once, so next() can only fail on the counter.
    sequenceNumber(epoch, counterStart);
    this.epoch = epoch;
    this.#counter = counterStart;
  }

  next(): number {
    const seq = sequenceNumber(this.epoch, this.#counter);
    this.#counter += 1;
    return seq;
  }

  /** How many numbers are left in this epoch. */
  get remaining(): number {
    return sequenceCounterLimit - this.#counter;
  }
}

export interface ReplayWindowOptions {
  /** Width of the window in sequence numbers; a multiple of 32. Default replayWindowSizeDefault. */
  readonly windowSize?: number;
  /** Distinct senders tracked. Default replaySendersMaxDefault. */
  readonly sendersMax?: number;
}

interface SenderWindow {
  /** Highest sequence number accepted, or -1 before the first. */
  highest: number;
  /** Numbers below this are too old (raiseFloor). */
  floor: number;
  /** Bit (seq mod windowSize) is set when seq in (highest − windowSize, highest] was accepted. */
  readonly bits: Uint32Array;
}

export class ReplayWindow {
  readonly windowSize: number;
  readonly sendersMax: number;
  readonly #senders = new Map<string, SenderWindow>();

  constructor(options: ReplayWindowOptions = {}) {
    const windowSize = options.windowSize ?? replayWindowSizeDefault;
    const sendersMax = options.sendersMax ?? replaySendersMaxDefault;
    if (!Number.isSafeInteger(windowSize) || windowSize < 32 || windowSize > replayWindowSizeMax || windowSize % 32 !== 0) {
      throw new ReplayWindowError('REPLAY_CONFIG', `windowSize must be a multiple of 32 in [32, ${replayWindowSizeMax}], got ${windowSize}`);
    }
    if (!Number.isSafeInteger(sendersMax) || sendersMax < 1) {
      throw new ReplayWindowError('REPLAY_CONFIG', `sendersMax must be a positive integer, got ${sendersMax}`);
    }
    this.windowSize = windowSize;
    this.sendersMax = sendersMax;
  }

  /** Whether accept() would take this number; changes nothing. */
  check(sender: string, seq: number): ReplayVerdict {
    checkSeq(seq);
    const window = this.#senders.get(sender);
    if (window === undefined) {
      if (this.#senders.size >= this.sendersMax) {
        return { ok: false, reason: 'sender-limit', detail: `already tracking ${this.sendersMax} senders` };
      }
      return { ok: true };
    }
    if (seq < window.floor) {
      return { ok: false, reason: 'too-old', detail: `seq ${seq} below the sender's floor ${window.floor}` };
    }
    if (window.highest < 0 || seq > window.highest) return { ok: true };
    if (window.highest - seq >= this.windowSize) {
      return { ok: false, reason: 'too-old', detail: `seq ${seq} is ${window.highest - seq} behind the highest, window ${this.windowSize}` };
    }
    if (testBit(window.bits, seq % this.windowSize)) {
      return { ok: false, reason: 'duplicate', detail: `seq ${seq} already accepted` };
    }
    return { ok: true };
  }

  /**
   * Checks and records one sequence number of an authenticated frame.
   * `seq` must be a non-negative safe integer (decodeEnvelope guarantees it).
   */
  accept(sender: string, seq: number): ReplayVerdict {
    const verdict = this.check(sender, seq);
    if (!verdict.ok) return verdict;
    const window = this.#windowOf(sender);
    if (seq > window.highest) {
      this.#advance(window, seq);
    }
    setBit(window.bits, seq % this.windowSize);
    return verdict;
  }

  /**
   * Refuses numbers below `seqMin` from this sender from now on, e.g. the
   * start of the last epoch this receiver persisted for it. Never lowers a floor.
   */
  raiseFloor(sender: string, seqMin: number): void {
    checkSeq(seqMin);
    const window = this.#senders.get(sender);
    if (window === undefined && this.#senders.size >= this.sendersMax) {
      throw new ReplayWindowError('REPLAY_CONFIG', `cannot track sender ${JSON.stringify(sender)}: sendersMax ${this.sendersMax} reached`);
    }
    const target = window ?? this.#windowOf(sender);
    target.floor = Math.max(target.floor, seqMin);
  }

  /** Highest accepted sequence number from this sender, if any. */
  highest(sender: string): number | undefined {
    const window = this.#senders.get(sender);
    return window === undefined || window.highest < 0 ? undefined : window.highest;
  }

  /** Drops a sender's window, e.g. when it leaves the formation (its key is gone, so no frame of it passes). */
  forget(sender: string): void {
    this.#senders.delete(sender);
  }

  get senderCount(): number {
    return this.#senders.size;
  }

  #windowOf(sender: string): SenderWindow {
    let window = this.#senders.get(sender);
    if (window === undefined) {
      window = { highest: -1, floor: 0, bits: new Uint32Array(this.windowSize / 32) };
      this.#senders.set(sender, window);
    }
    return window;
  }

  /** Slides the window up to `seq`, clearing the bits of the numbers it passes over. */
  #advance(window: SenderWindow, seq: number): void {
    const distance = window.highest < 0 ? this.windowSize : seq - window.highest;
    if (distance >= this.windowSize) {
      window.bits.fill(0);
    } else {
      for (let n = window.highest + 1; n <= seq; n += 1) clearBit(window.bits, n % this.windowSize);
    }
    window.highest = seq;
  }
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new ReplayWindowError('REPLAY_SEQUENCE_RANGE', `sequence number must be an integer in [0, 2^53 − 1], got ${seq}`);
  }
}

// `index` is below windowSize, so `index >>> 5` is a valid word and the `?? 0`
// only satisfies noUncheckedIndexedAccess.
function testBit(bits: Uint32Array, index: number): boolean {
  return (((bits[index >>> 5] ?? 0) >>> (index & 31)) & 1) === 1;
}

function setBit(bits: Uint32Array, index: number): void {
  bits[index >>> 5] = (bits[index >>> 5] ?? 0) | (1 << (index & 31));
}

function clearBit(bits: Uint32Array, index: number): void {
  bits[index >>> 5] = (bits[index >>> 5] ?? 0) & ~(1 << (index & 31));
}
