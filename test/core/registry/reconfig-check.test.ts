import { describe, expect, it } from 'vitest';
import { silentMajorityRefusal } from '../../../src/core/registry/reconfig-check.js';
import { memberId, type Member, type MemberId } from '../../../src/core/types.js';

const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => memberId(x));
const members = (n: number, nonVoters: readonly MemberId[] = []): Member[] =>
  ids.slice(0, n).map((id) => ({ id, kind: 'site', ...(nonVoters.includes(id) ? { voter: false } : {}) }));
const heardAllBut = (...silent: MemberId[]) => (id: MemberId): boolean => !silent.includes(id);

describe('the strict reconfiguration check (reconfig-check.ts)', () => {
  it('passes while the voters left that were heard are a majority of them', () => {
    // Five voters, two silent, one of the heard ones leaves: 2 heard of 4 left is not a majority (3)...
    const [a, b, c, d, e] = ids as [MemberId, MemberId, MemberId, MemberId, MemberId];
    const withoutC = members(5).filter((m) => m.id !== c);
    expect(silentMajorityRefusal(withoutC, c, heardAllBut(d, e))).toMatch(/4 voters need 3.*d, e/);
    // ...but removing one of the silent ones leaves 3 heard of 4.
    expect(silentMajorityRefusal(members(5).filter((m) => m.id !== d), d, heardAllBut(d, e))).toBeNull();
    // One silent of five: any member may go.
    expect(silentMajorityRefusal(members(5).filter((m) => m.id !== a), a, heardAllBut(e))).toBeNull();
    expect(silentMajorityRefusal(members(5).filter((m) => m.id !== b), b, heardAllBut(b))).toBeNull();
  });

  it('counts a joining non-voter toward nothing', () => {
    const [, b, c, d] = ids as [MemberId, MemberId, MemberId, MemberId];
    // Replace c by d (a non-voter, heard) while b is silent: a alone of {a, b} is no majority.
    const next = members(4, [d]).filter((m) => m.id !== c);
    expect(silentMajorityRefusal(next, c, heardAllBut(b))).toMatch(/2 voters need 2.*b answered no heartbeat/);
    expect(silentMajorityRefusal(next, c, heardAllBut())).toBeNull();
  });
});
