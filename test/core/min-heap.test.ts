// The wake-up heaps of the core (src/core/min-heap.ts): MinHeap keeps every
// entry; EarliestPerKeyHeap keeps at most the earliest pending entry per key.
import { describe, expect, it } from 'vitest';
import { EarliestPerKeyHeap, MinHeap } from '../../src/core/min-heap.js';

function drain(h: { pop(): string | undefined; peekTime(): number | undefined }): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let t = h.peekTime(); t !== undefined; t = h.peekTime()) out.push([t, h.pop()!]);
  return out;
}

describe('wake-up heaps', () => {
  it('MinHeap gives every entry back in time order', () => {
    const h = new MinHeap();
    for (const [t, k] of [[30, 'a'], [10, 'b'], [20, 'a'], [10, 'c']] as const) h.push(t, k);
    expect(drain(h).map(([t]) => t)).toEqual([10, 10, 20, 30]);
  });

  it('EarliestPerKeyHeap drops a later push of a pending key, keeps an earlier one, and takes pushes again once the key woke', () => {
    const h = new EarliestPerKeyHeap();
    h.push(30, 'a');
    h.push(40, 'a'); // later than the pending 30: dropped
    h.push(35, 'a'); // dropped too
    h.push(20, 'b');
    expect(h.size).toBe(2);
    h.push(10, 'a'); // earlier: kept (the 30 stays as an extra wake-up)
    expect(drain(h)).toEqual([[10, 'a'], [20, 'b'], [30, 'a']]);
    // Nothing pending: a key woken can be scheduled at any time again.
    h.push(50, 'a');
    h.push(45, 'b');
    expect(drain(h)).toEqual([[45, 'b'], [50, 'a']]);
    // Re-scheduling every key at every step keeps one entry per key, not one per step.
    for (let step = 0; step < 100; step++) for (const k of ['a', 'b', 'c']) h.push(1_000 + step, k);
    expect(h.size).toBe(3);
  });
});
