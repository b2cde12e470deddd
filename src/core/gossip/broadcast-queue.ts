// The retransmit queue of SWIM's infection-style dissemination (SWIM §4.1;
// memberlist's queue.go): what rides on the next messages, and how often.

import { assert, type MemberId } from '../types.js';
import type { MemberUpdate, Rumor } from './messages.js';

/** Priority of membership updates in the queue; rumor kinds choose theirs relative to it. */
export const memberUpdatePriority = 100;

/** The queue key of a membership update: a newer update about the member replaces the older one. */
export function memberQueueKey(member: MemberId): string {
  return `m:${member}`;
}

/** The queue key of a rumor: a newer value for (kind, key) replaces the older one. */
export function rumorQueueKey(kind: string, key: string): string {
  return `r:${kind}\u0000${key}`;
}

/** One entry of the retransmit queue: a membership update or a rumor. */
export type QueueItem = { readonly t: 'update'; readonly update: MemberUpdate } | { readonly t: 'rumor'; readonly rumor: Rumor };

interface QueueEntry {
  readonly key: string;
  readonly item: QueueItem;
  readonly priority: number;
  readonly limit: number;
  /** Insertion order: newer entries go first among equals. */
  readonly order: number;
  transmits: number;
  /** Members known to have this rumor (it came from them): it is not sent to them. */
  knownBy: Set<MemberId> | null;
}

/** Whether an entry is still worth sending (to one member, or at all), seeing who is known to have it. */
export type EntryTest = (key: string, item: QueueItem, knownBy: ReadonlySet<MemberId> | null) => boolean;

/**
 * SWIM's bounded retransmit queue (memberlist's TransmitLimitedQueue in
 * spirit): one entry per key (a newer update about the same member or rumor
 * key replaces the older one), each sent in at most `limit` messages, chosen
 * by priority, then fewest transmissions, then most recent. Full: the entry
 * that would be chosen last is dropped.
 */
export class BroadcastQueue {
  private readonly entries = new Map<string, QueueEntry>();
  private order = 0;

  constructor(private readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, 'queue capacity must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Queues `item` under `key` (replacing what was there); `knownBy`: a member known to have it already. */
  push(key: string, item: QueueItem, priority: number, limit: number, knownBy?: MemberId): void {
    this.entries.delete(key);
    this.entries.set(key, { key, item, priority, limit, order: this.order++, transmits: 0, knownBy: knownBy === undefined ? null : new Set([knownBy]) });
    if (this.entries.size > this.capacity) {
      let worst: QueueEntry | null = null;
      for (const e of this.entries.values()) if (worst === null || before(worst, e)) worst = e;
      if (worst !== null) this.entries.delete(worst.key);
    }
  }

  /** `member` sent us the rumor queued under `key` at `version`: if ours is no newer, it is not sent to that member again. */
  noteKnown(key: string, version: number, member: MemberId): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.item.t === 'rumor' && e.item.rumor.version <= version) (e.knownBy ??= new Set()).add(member);
  }

  /**
   * Takes up to `count` items for one message, counting a transmission for
   * each; items for which `skip` is true are left alone and not counted, and
   * those for which `done` is true (every member has them) leave the queue.
   */
  take(count: number, skip: EntryTest, done?: EntryTest): QueueItem[] {
    const chosen: QueueEntry[] = [];
    for (const e of this.entries.values()) {
      if (done?.(e.key, e.item, e.knownBy) === true) {
        this.entries.delete(e.key);
        continue;
      }
      if (skip(e.key, e.item, e.knownBy)) continue;
      // Insertion into a sorted list of at most `count` (M is small).
      let i = chosen.length;
      while (i > 0 && before(e, chosen[i - 1]!)) i--;
      if (i < count) {
        chosen.splice(i, 0, e);
        if (chosen.length > count) chosen.pop();
      }
    }
    for (const e of chosen) {
      e.transmits += 1;
      if (e.transmits >= e.limit) this.entries.delete(e.key);
    }
    return chosen.map((e) => e.item);
  }
}

/** True when `a` goes out before `b`. */
function before(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.transmits !== b.transmits) return a.transmits < b.transmits;
  return a.order > b.order;
}
