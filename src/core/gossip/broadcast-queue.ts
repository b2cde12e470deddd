// The retransmit queue of SWIM's infection-style dissemination (SWIM §4.1;
// memberlist's queue.go): what rides on the next messages, and how often.

import { assert, type MemberId } from '../types.js';
import type { MemberUpdate } from './messages.js';
import type { StoredRumor } from './rumors.js';

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
export type QueueItem = { readonly t: 'update'; readonly update: MemberUpdate } | { readonly t: 'rumor'; readonly rumor: StoredRumor };

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
  /** Where the entry sits in the drop order (DropOrder's array). */
  at: number;
}

/** Whether an entry is still worth sending (to one member, or at all), seeing who is known to have it. */
export type EntryTest = (key: string, item: QueueItem, knownBy: ReadonlySet<MemberId> | null) => boolean;

/**
 * SWIM's bounded retransmit queue (memberlist's TransmitLimitedQueue in
 * spirit): one entry per key (a newer update about the same member or rumor
 * key replaces the older one), each sent in at most `limit` messages, chosen
 * by priority, then fewest transmissions, then most recent. Full: the entry
 * that would be chosen last is dropped — found in a heap (DropOrder), not by a
 * scan of the queue: a leader publishing 10,000 ticket rumors into a queue of
 * 4,096 scanned it on each of the last 5,904 pushes (docs/benchmarks.md,
 * "## 10 000 tickets").
 */
export class BroadcastQueue {
  private readonly entries = new Map<string, QueueEntry>();
  private readonly dropOrder = new DropOrder();
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
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(old);
    const e: QueueEntry = { key, item, priority, limit, order: this.order++, transmits: 0, knownBy: knownBy === undefined ? null : new Set([knownBy]), at: -1 };
    this.entries.set(key, e);
    this.dropOrder.add(e);
    if (this.entries.size > this.capacity) this.remove(this.dropOrder.last()!);
    assert(this.entries.size <= this.capacity && this.dropOrder.size === this.entries.size, 'broadcast queue over capacity or out of step with its drop order');
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
        this.remove(e);
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
      if (e.transmits >= e.limit) this.remove(e);
      else this.dropOrder.movedLater(e);
    }
    return chosen.map((e) => e.item);
  }

  private remove(e: QueueEntry): void {
    this.entries.delete(e.key);
    this.dropOrder.remove(e);
  }
}

/**
 * The queue's entries in a binary heap whose root is the entry chosen last
 * (the greatest under `before`): the one to drop when the queue is full.
 * Each entry knows its place (`at`), so that removing one or moving it after
 * a transmission costs O(log n). `before` is a strict total order (`order` is
 * unique), so the root is the same entry a scan would find.
 */
class DropOrder {
  private readonly heap: QueueEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  last(): QueueEntry | undefined {
    return this.heap[0];
  }

  add(e: QueueEntry): void {
    e.at = this.heap.length;
    this.heap.push(e);
    this.up(e.at);
  }

  remove(e: QueueEntry): void {
    const i = e.at;
    assert(this.heap[i] === e, 'queue entry not in the drop order');
    const tail = this.heap.pop()!;
    e.at = -1;
    if (tail === e) return;
    this.heap[i] = tail;
    tail.at = i;
    this.up(i);
    this.down(tail.at);
  }

  /** `e` now goes out later than before (one more transmission): it moves towards the root. */
  movedLater(e: QueueEntry): void {
    this.up(e.at);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[p]!, h[i]!)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      let m = i;
      if (l < h.length && before(h[m]!, h[l]!)) m = l;
      if (l + 1 < h.length && before(h[m]!, h[l + 1]!)) m = l + 1;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.at = j;
    b.at = i;
  }
}

/** True when `a` goes out before `b`. */
function before(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.transmits !== b.transmits) return a.transmits < b.transmits;
  return a.order > b.order;
}
