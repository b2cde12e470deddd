// One suspicion's timer (src/core/gossip/suspicion.ts), Lifeguard's
// LHA-Suspicion: it runs for the longest timeout while nobody confirms,
// shrinks with each independent confirmation (counted from its start) down
// to the shortest after K of them, reads the formation size at each change,
// and a pause of this process moves it later by the pause. Expected values
// come from swim-math.ts's formulas, checked there against the paper.
import { describe, expect, it } from 'vitest';
import { swimPresets } from '../../../src/core/gossip/config.js';
import { Suspicion, suspicionTimeoutFor } from '../../../src/core/gossip/suspicion.js';
import { suspicionBoundsMs } from '../../../src/core/gossip/swim-math.js';
import { memberId } from '../../../src/core/types.js';

const lan = swimPresets.lan;
const a = memberId('a');
const b = memberId('b');
const c = memberId('c');
const d = memberId('d');

describe('suspicion (Lifeguard LHA-Suspicion)', () => {
  it('starts at the longest timeout and falls to the shortest after K confirmations', () => {
    const n = 7;
    const { minMs, maxMs } = suspicionBoundsMs(n, lan.probeIntervalMs, lan.suspicionMultiplier, lan.suspicionMaxMultiplier);
    const s = new Suspicion(lan, 4, a, 1_000, n);
    expect(s.incarnation).toBe(4);
    expect(s.deadlineAt).toBe(1_000 + maxMs);
    const deadlines: number[] = [];
    for (const accuser of [b, c, d]) {
      s.confirm(accuser, n);
      deadlines.push(s.deadlineAt);
    }
    expect(deadlines[0]).toBeLessThan(1_000 + maxMs);
    expect(deadlines[1]).toBeLessThan(deadlines[0]!);
    expect(deadlines[2]).toBe(1_000 + minMs);
    expect([...s.origins]).toEqual([a, b, c, d]);
    expect(suspicionTimeoutFor(lan, n, 3)).toBe(minMs);
  });

  it('with two members nobody can confirm, so it keeps the longest timeout', () => {
    const { maxMs } = suspicionBoundsMs(2, lan.probeIntervalMs, lan.suspicionMultiplier, lan.suspicionMaxMultiplier);
    expect(new Suspicion(lan, 0, a, 0, 2).deadlineAt).toBe(maxMs);
  });

  it('a pause moves the deadline later by the pause, and later confirmations count from the moved start', () => {
    const s = new Suspicion(lan, 0, a, 0, 4);
    const before = s.deadlineAt;
    s.postpone(5_000);
    expect(s.deadlineAt).toBe(before + 5_000);
    s.confirm(b, 4);
    expect(s.deadlineAt).toBe(5_000 + suspicionTimeoutFor(lan, 4, 1));
  });
});
