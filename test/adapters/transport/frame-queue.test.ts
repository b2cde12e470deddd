// The per-peer send queue both transports share (transport-support.ts
// FrameQueue): registry frames (raft, relay) leave before gossip and admin
// frames, each class in its own order; the bound covers both, and when it is
// reached the oldest non-registry frame makes room (the one being pushed, if
// no older one waits), a registry frame only when nothing else waits.
import { describe, expect, it } from 'vitest';
import { FrameQueue, frameClassOf } from '../../../src/adapters/transport/transport-support.js';

describe('FrameQueue', () => {
  it('classes frames by envelope kind', () => {
    expect(['raft', 'relay', 'gossip', 'admin', 'admin-reply'].map((k) => frameClassOf(k as Parameters<typeof frameClassOf>[0]))).toEqual([
      'registry',
      'registry',
      'other',
      'other',
      'other',
    ]);
  });

  it('hands out registry frames first, each class in order', () => {
    const q = new FrameQueue<string>(10);
    q.push('g1');
    q.push('r1', 'registry');
    q.push('g2');
    q.push('r2', 'registry');
    expect(q.take(3)).toEqual(['r1', 'r2', 'g1']);
    expect(q.take(3)).toEqual(['g2']);
    expect(q.length).toBe(0);
  });

  it('when full drops the oldest other frame, then the pushed other frame, a registry frame last', () => {
    const q = new FrameQueue<string>(3);
    expect(q.push('g1') + q.push('r1', 'registry') + q.push('g2')).toBe(0);
    expect(q.push('r2', 'registry')).toBe(1); // g1 goes
    expect(q.push('r3', 'registry')).toBe(1); // g2 goes
    expect(q.push('g3')).toBe(1); // only registry frames wait: g3 itself is dropped
    expect(q.push('r4', 'registry')).toBe(1); // r1 goes
    expect(q.take(10)).toEqual(['r2', 'r3', 'r4']);
    expect(q.clear()).toBe(0);
  });
});
