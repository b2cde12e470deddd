// The helper's side of SWIM's indirect probe (§3.1) with Lifeguard's nack: a
// member asked by a requester (ping-req) to ping a target pings it, forwards
// the target's ack to the requester under the requester's seq, or sends a
// nack when the requester's deadline is near. Bounded (pendingRelaysMax):
// the requester of a refused ping-req sees a missed nack.

import type { MemberId } from '../types.js';

/** A ping-req being served: our ping to `target` under our own seq, on behalf of `requester`. */
export interface Relay {
  readonly requester: MemberId;
  readonly requesterSeq: number;
  readonly target: MemberId;
  /** When our ping left. Unit ms, local monotonic time. */
  readonly sentAt: number;
  /** When the nack is due if the target has not answered. Unit ms, local monotonic time. */
  readonly nackAt: number;
}

export class PingReqRelays {
  /** By the seq of our ping to the target. */
  private readonly relays = new Map<number, Relay>();

  constructor(private readonly capacity: number) {}

  /** No room for another ping-req (limits.pendingRelaysMax). */
  get full(): boolean {
    return this.relays.size >= this.capacity;
  }

  open(seq: number, relay: Relay): void {
    this.relays.set(seq, relay);
  }

  /** The relay that an ack under `seq` from `from` completes (the target answered), removed; undefined if none. */
  answered(seq: number, from: MemberId): Relay | undefined {
    const r = this.relays.get(seq);
    if (r === undefined || from !== r.target) return undefined;
    this.relays.delete(seq);
    return r;
  }

  /** The relays whose nack is due at `now`, removed, in the order they were opened. */
  due(now: number): Relay[] {
    const out: Relay[] = [];
    for (const [seq, r] of this.relays) {
      if (now < r.nackAt) continue;
      this.relays.delete(seq);
      out.push(r);
    }
    return out;
  }

  /** The earliest nack due; +∞ with none. */
  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.relays.values()) next = Math.min(next, r.nackAt);
    return next;
  }
}
