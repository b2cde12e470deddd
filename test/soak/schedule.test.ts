// The soak's fault schedule (test/soak/schedule.ts): one seed gives the same
// rounds every time, another seed other rounds; every round holds 1..max
// faults of distinct kinds drawn only from the kinds allowed, names only
// configured members, never stops and kills the same member in one round, and
// a partition always has two non-empty sides covering every member.
import { describe, expect, it } from 'vitest';
import { FaultSchedule, type FaultKind, type Round } from './schedule.js';

const members = ['sitea', 'siteb', 'sitec', 'arba', 'arbb'];
const kinds: FaultKind[] = ['partition', 'one-way', 'isolate', 'loss', 'slow-link', 'kill', 'pause', 'cpu-hog'];
const rounds = (seed: number, n: number): Round[] => {
  const s = new FaultSchedule({ seed, members, kinds });
  return Array.from({ length: n }, () => s.next());
};

describe('FaultSchedule', () => {
  it('replays one seed exactly, and another seed differs', () => {
    expect(rounds(42, 50)).toEqual(rounds(42, 50));
    expect(rounds(43, 50)).not.toEqual(rounds(42, 50));
  });

  it('draws well-formed rounds from the allowed kinds only', () => {
    const seen = new Set<string>();
    for (const r of rounds(7, 500)) {
      expect(r.faults.length).toBeGreaterThanOrEqual(1);
      expect(r.faults.length).toBeLessThanOrEqual(2);
      expect(new Set(r.faults.map((f) => f.kind)).size).toBe(r.faults.length);
      expect(r.holdMs).toBeGreaterThanOrEqual(4_000);
      expect(r.holdMs).toBeLessThanOrEqual(20_000);
      const processTargets = r.faults.filter((f) => f.kind === 'kill' || f.kind === 'pause').map((f) => ('member' in f ? f.member : ''));
      expect(new Set(processTargets).size).toBe(processTargets.length);
      for (const f of r.faults) {
        seen.add(f.kind);
        expect(kinds).toContain(f.kind);
        if ('member' in f) expect(members).toContain(f.member);
        if (f.kind === 'partition') {
          expect(f.groups[0].length).toBeGreaterThan(0);
          expect(f.groups[1].length).toBeGreaterThan(0);
          expect([...f.groups[0], ...f.groups[1]].sort()).toEqual([...members].sort());
        }
        if (f.kind === 'one-way') expect(f.to).not.toContain(f.from);
      }
    }
    expect([...seen].sort()).toEqual([...kinds].sort());
  });
});
