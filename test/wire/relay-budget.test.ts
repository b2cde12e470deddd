// The per-member relay budget (src/wire/relay-budget.ts): a token bucket per
// member that hands frames over for relaying. A burst up to the bucket size
// passes, then frames pass at the sustained rate; each member has its own
// bucket; members beyond peersMax are refused; a clock that goes backwards
// refills nothing. Time is passed in, so nothing sleeps.
import { describe, expect, it } from 'vitest';
import { RelayBudget } from '../../src/wire/relay-budget.js';

describe('RelayBudget', () => {
  it('passes a burst, then the sustained rate, per member', () => {
    const b = new RelayBudget({ framesPerSecond: 10, burstFrames: 5, peersMax: 4 });
    const passed = (peer: string, at: number, n: number): number => Array.from({ length: n }, () => b.take(peer, at)).filter(Boolean).length;
    expect(passed('a', 0, 8)).toBe(5);
    expect(passed('b', 0, 8)).toBe(5); // its own bucket
    expect(passed('a', 100, 3)).toBe(1); // 10/s: one more after 100 ms
    expect(passed('a', 1100, 20)).toBe(5); // refilled up to the burst, not beyond
    expect(passed('a', 500, 5)).toBe(0); // time going backwards refills nothing
  });

  it('tracks at most peersMax members', () => {
    const b = new RelayBudget({ framesPerSecond: 1, burstFrames: 1, peersMax: 2 });
    expect(b.take('a', 0)).toBe(true);
    expect(b.take('b', 0)).toBe(true);
    expect(b.take('c', 0)).toBe(false);
  });

  it('refuses nonsense limits', () => {
    expect(() => new RelayBudget({ framesPerSecond: 0, burstFrames: 1, peersMax: 1 })).toThrow(RangeError);
  });
});
