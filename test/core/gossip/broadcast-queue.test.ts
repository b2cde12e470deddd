// SWIM's retransmit queue (src/core/gossip/broadcast-queue.ts): bounded, one
// entry per key, chosen by priority, then fewest transmissions, then most
// recent; each entry leaves after its transmission limit, and when full the
// entry that would go out last is dropped. Checked by hand-computed orders.
import { describe, expect, it } from 'vitest';
import { BroadcastQueue, memberUpdatePriority, type QueueItem } from '../../../src/core/gossip/broadcast-queue.js';
import { memberId } from '../../../src/core/types.js';

const m1 = memberId('m1');

function item(i: number): QueueItem {
  return { t: 'rumor', rumor: { kind: 'ticket', key: `k${i}`, version: 1, origin: m1, payload: i, sig: 'sig' } };
}

function keys(items: readonly QueueItem[]): string[] {
  return items.map((x) => (x.t === 'rumor' ? x.rumor.key : x.update.member));
}

describe('broadcast queue', () => {
  it('is bounded, keeps the most urgent entries and sends each at most its limit', () => {
    const q = new BroadcastQueue(8);
    for (let i = 0; i < 100; i++) q.push(`k${i}`, item(i), 0, 2);
    expect(q.size).toBe(8);
    // Newest first among equals.
    expect(keys(q.take(3, () => false))).toEqual(['k99', 'k98', 'k97']);
    // Full: the entry that would go out last is dropped (lowest priority,
    // most transmissions, oldest: k97). Higher priority goes before all, then
    // fewer transmissions, then newer.
    q.push('urgent', item(1000), memberUpdatePriority, 2);
    expect(q.size).toBe(8);
    expect(keys(q.take(3, () => false))).toEqual(['k1000', 'k96', 'k95']);
    // Each entry leaves the queue after `limit` transmissions: what is left is
    // k1000, k95, k96, k98, k99 once more and k92–k94 twice.
    const left: string[] = [];
    while (q.size > 0) left.push(...keys(q.take(4, () => false)));
    expect(left.sort()).toEqual(['k1000', 'k92', 'k92', 'k93', 'k93', 'k94', 'k94', 'k95', 'k96', 'k98', 'k99']);
  });

  it('replaces the entry of the same key, and leaves skipped entries uncounted', () => {
    const q = new BroadcastQueue(8);
    q.push('a', item(1), 0, 1);
    q.push('a', item(2), 0, 1);
    expect(q.size).toBe(1);
    expect(keys(q.take(4, (key) => key === 'a'))).toEqual([]);
    expect(q.has('a')).toBe(true);
    expect(keys(q.take(4, () => false))).toEqual(['k2']);
    expect(q.has('a')).toBe(false);
  });
});

describe('broadcast queue: who has a rumor', () => {
  const m2 = memberId('m2');
  const m3 = memberId('m3');

  it('passes each entry\'s known holders to skip and done, and drops the entries done says every member has', () => {
    const q = new BroadcastQueue(8);
    q.push('a', item(1), 0, 8, m2);
    q.push('b', item(2), 0, 8);
    // m3 sent us b at version 1 (ours): it has it; an older version would not say so.
    q.noteKnown('b', 1, m3);
    q.noteKnown('a', 0, m3);
    const seen = new Map<string, string[]>();
    q.take(4, (key, _item, knownBy) => {
      seen.set(key, [...(knownBy ?? [])].sort());
      return false;
    });
    expect(Object.fromEntries(seen)).toEqual({ a: ['m2'], b: ['m3'] });
    // Every member (m2, m3) has b: it leaves without being sent; a goes out.
    const all = (_key: string, _item: QueueItem, knownBy: ReadonlySet<string> | null): boolean => knownBy?.has(m2) === true && knownBy.has(m3);
    q.noteKnown('b', 1, m2);
    expect(keys(q.take(4, () => false, all))).toEqual(['k1']);
    expect(q.has('b')).toBe(false);
    expect(q.has('a')).toBe(true);
  });
});
