// Lifeguard's local health score (src/core/gossip/awareness.ts): it starts
// healthy, stays within [0, healthScoreMax] whatever deltas arrive, and
// stretches a duration by score + 1.
import { describe, expect, it } from 'vitest';
import { Awareness } from '../../../src/core/gossip/awareness.js';

describe('awareness (Lifeguard LHA-Probe)', () => {
  it('starts healthy, stays within its bounds and scales durations by score + 1', () => {
    const a = new Awareness(8);
    expect([a.score, a.multiplier, a.scale(1_000)]).toEqual([0, 1, 1_000]);
    a.apply(-1);
    expect(a.score).toBe(0);
    a.apply(3);
    expect([a.score, a.multiplier, a.scale(500)]).toEqual([3, 4, 2_000]);
    for (let i = 0; i < 20; i++) a.apply(1);
    expect([a.score, a.scale(1_000)]).toEqual([8, 9_000]);
  });
});
