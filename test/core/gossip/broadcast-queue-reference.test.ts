// The broadcast queue's drop order (src/core/gossip/broadcast-queue.ts) against
// the queue it replaced. The queue finds the entry to drop when full in a heap
// instead of scanning every entry (a leader publishing 10,000 ticket rumors
// into a queue of 4,096 scanned it 5,904 times in one turn); its behaviour
// must be the same. ScanQueue below is the queue as it was at e87f86e: its
// push and its scan for the entry to drop copied as they were, its take
// written as the plain sort it amounts to; random sequences of pushes (small capacities, few keys, so that
// replacements, evictions, transmission limits and noteKnown all happen
// often), noteKnown calls and takes with random skip and done predicates go
// to both, and every take must give the same items in the same order, and
// size and has() must agree after every step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BroadcastQueue, type EntryTest, type QueueItem } from '../../../src/core/gossip/broadcast-queue.js';
import { memberId, type MemberId } from '../../../src/core/types.js';

// ─────────────── the queue as it was (e87f86e), the reference ───────────────

/** One entry, as the old queue kept it (the new one adds its place in the heap). */
type ScanEntry = { readonly key: string; readonly item: QueueItem; readonly priority: number; readonly limit: number; readonly order: number; transmits: number; knownBy: Set<MemberId> | null };

class ScanQueue {
  private readonly entries = new Map<string, ScanEntry>();
  private order = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  push(key: string, item: QueueItem, priority: number, limit: number, knownBy?: MemberId): void {
    this.entries.delete(key);
    this.entries.set(key, { key, item, priority, limit, order: this.order++, transmits: 0, knownBy: knownBy === undefined ? null : new Set([knownBy]) });
    if (this.entries.size > this.capacity) {
      let worst: ScanEntry | null = null;
      for (const e of this.entries.values()) if (worst === null || scanBefore(worst, e)) worst = e;
      if (worst !== null) this.entries.delete(worst.key);
    }
  }

  noteKnown(key: string, version: number, member: MemberId): void {
    const e = this.entries.get(key);
    if (e !== undefined && e.item.t === 'rumor' && e.item.rumor.version <= version) (e.knownBy ??= new Set()).add(member);
  }

  /** The old take's choice, written as the plain sort it amounts to: done entries leave, the rest by `scanBefore`, the first `count` not skipped. */
  take(count: number, skip: EntryTest, done?: EntryTest): QueueItem[] {
    for (const e of [...this.entries.values()]) if (done?.(e.key, e.item, e.knownBy) === true) this.entries.delete(e.key);
    const eligible = [...this.entries.values()].filter((e) => !skip(e.key, e.item, e.knownBy));
    const chosen = eligible.sort((a, b) => (scanBefore(a, b) ? -1 : 1)).slice(0, count);
    for (const e of chosen) if (++e.transmits >= e.limit) this.entries.delete(e.key);
    return chosen.map((e) => e.item);
  }
}

function scanBefore(a: ScanEntry, b: ScanEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.transmits !== b.transmits) return a.transmits < b.transmits;
  return a.order > b.order;
}

// ─────────────────────────────── the check ───────────────────────────────

const members = ['m1', 'm2', 'm3'].map(memberId);
const keyCount = 12;

type Op =
  | { readonly op: 'push'; readonly key: number; readonly priority: number; readonly limit: number; readonly version: number; readonly knownBy: number | null }
  | { readonly op: 'note'; readonly key: number; readonly version: number; readonly member: number }
  | { readonly op: 'take'; readonly count: number; readonly skipKeys: number; readonly doneKeys: number; readonly skipKnownBy: number | null; readonly doneWhenAllKnow: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('push' as const), key: fc.nat(keyCount - 1), priority: fc.constantFrom(50, 60, 100), limit: fc.integer({ min: 1, max: 4 }), version: fc.nat(3), knownBy: fc.option(fc.nat(2)) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('note' as const), key: fc.nat(keyCount - 1), version: fc.nat(3), member: fc.nat(2) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      count: fc.nat(5),
      // Bit masks over the keys: which ones skip (resp. done) says yes to.
      skipKeys: fc.nat(2 ** keyCount - 1),
      doneKeys: fc.oneof(fc.constant(0), fc.nat(2 ** keyCount - 1)),
      skipKnownBy: fc.option(fc.nat(2)),
      doneWhenAllKnow: fc.boolean(),
    }),
  },
);

function keyOf(i: number): string {
  return `k${i}`;
}

function inMask(key: string, mask: number): boolean {
  return (mask & (1 << Number(key.slice(1)))) !== 0;
}

function predicates(o: Extract<Op, { op: 'take' }>): { skip: EntryTest; done: EntryTest } {
  const skip: EntryTest = (key, _item, knownBy) => inMask(key, o.skipKeys) || (o.skipKnownBy !== null && knownBy?.has(members[o.skipKnownBy]!) === true);
  const done: EntryTest = (key, _item, knownBy) => inMask(key, o.doneKeys) || (o.doneWhenAllKnow && members.every((m) => knownBy?.has(m) === true));
  return { skip, done };
}

/** Runs `ops` on both queues; returns the first step where they differ, or null. */
function firstDifference(capacity: number, ops: readonly Op[]): string | null {
  const heap = new BroadcastQueue(capacity);
  const scan = new ScanQueue(capacity);
  for (const [step, o] of ops.entries()) {
    if (o.op === 'push') {
      const item: QueueItem = { t: 'rumor', rumor: { kind: 'ticket', key: keyOf(o.key), version: o.version, origin: members[0]!, payload: step, sig: null } };
      const knownBy = o.knownBy === null ? undefined : members[o.knownBy]!;
      heap.push(keyOf(o.key), item, o.priority, o.limit, knownBy);
      scan.push(keyOf(o.key), item, o.priority, o.limit, knownBy);
    } else if (o.op === 'note') {
      heap.noteKnown(keyOf(o.key), o.version, members[o.member]!);
      scan.noteKnown(keyOf(o.key), o.version, members[o.member]!);
    } else {
      const { skip, done } = predicates(o);
      const a = heap.take(o.count, skip, done);
      const b = scan.take(o.count, skip, done);
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) return `step ${step}: take gave ${a.length} items, the reference ${b.length} (or others)`;
    }
    if (heap.size !== scan.size) return `step ${step}: size ${heap.size}, the reference ${scan.size}`;
    for (let k = 0; k < keyCount; k++) if (heap.has(keyOf(k)) !== scan.has(keyOf(k))) return `step ${step}: has(${keyOf(k)}) differs`;
  }
  return null;
}

describe('broadcast queue: the heap drop order behaves as the scan did', () => {
  it('gives the same items, sizes and keys as the scanning queue on random sequences', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(opArb, { maxLength: 300 }), (capacity, ops) => {
        expect(firstDifference(capacity, ops)).toBeNull();
      }),
      { seed: 15, numRuns: 600 },
    );
  });

  it('agrees over one long sequence: 5,000 pushes and about 1,250 takes of 16 into a queue of 5', () => {
    const ops: Op[] = [];
    let x = 1;
    const next = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let i = 0; i < 5_000; i++) {
      ops.push({ op: 'push', key: next(keyCount), priority: [50, 60, 100][next(3)]!, limit: 1 + next(8), version: next(4), knownBy: next(4) === 0 ? next(3) : null });
      if (next(4) === 0) ops.push({ op: 'take', count: 16, skipKeys: next(2 ** keyCount), doneKeys: next(8) === 0 ? next(2 ** keyCount) : 0, skipKnownBy: null, doneWhenAllKnow: false });
    }
    expect(firstDifference(5, ops)).toBeNull();
  });
});
