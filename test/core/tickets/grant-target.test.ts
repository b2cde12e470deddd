// Checks src/core/tickets/grant-target.ts: a grant names only a site member of
// the configuration it is applied under. Simulator seed 173 --live-changes
// (before the fix): a guarded admin grant of t2 to site2 waited for the old
// holder's lease; meanwhile site2 was replaced (`member replace`, index 28),
// and the leader then proposed and applied the grant (index 31) to a member
// that no longer existed — the ticket stayed with it for ever. The leader now
// refuses the waiting command (`no-such-member`) and proposes nothing.
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig } from '../../../src/core/config.js';
import { memberId, type Member, type MemberId, type TicketDef } from '../../../src/core/types.js';
import { VirtualNet } from '../../support/virtual-net.js';

const [s1, s2, s3, s4] = ['site1', 'site2', 'site3', 'site4'].map(memberId) as [MemberId, MemberId, MemberId, MemberId];
const [a1, a2] = ['arb1', 'arb2'].map(memberId) as [MemberId, MemberId];
const leaseMs = 10_000;
const five: Member[] = [
  { id: s1, kind: 'site' },
  { id: s2, kind: 'site' },
  { id: s3, kind: 'site' },
  { id: a1, kind: 'arbitrator' },
  { id: a2, kind: 'arbitrator' },
];
const t1: TicketDef = { name: 't1', mode: 'manual', leaseDurationMs: leaseMs, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };

function config(self: MemberId, members: Member[]): CoreConfig {
  return {
    self,
    members,
    tickets: [t1],
    timing: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, renewIntervalMs: 500, renewRetryMs: 200, clockDriftPpmMax: 500, effectRetryMs: 200, siteAliveWindowMs: 1500 },
    limits: defaultLimits,
  };
}

function leaderOf(net: VirtualNet): MemberId {
  const leaders = [...net.nodes].filter(([, n]) => !n.down && n.member.status().role === 'leader');
  expect(leaders).toHaveLength(1);
  return leaders[0]![0];
}

describe('a guarded grant whose site is replaced while it waits', () => {
  it('is refused with no-such-member and never applied to the member that left', () => {
    const net = new VirtualNet();
    five.forEach((m, i) => net.start(config(m.id, five), i + 1));
    net.run(5000);
    const leader = leaderOf(net);
    const [holder, target] = [s1, s2, s3].filter((s) => s !== leader) as [MemberId, MemberId];
    net.command(leader, { id: 'g1', type: 'grant', ticket: 't1', site: holder, force: false });
    net.run(net.now + 2000);
    expect(net.result('g1')).toMatchObject({ ok: true });
    // The holder is cut off: the guarded grant must wait for its lease (about D) to run out.
    const cutAt = net.now;
    net.nodes.get(holder)!.down = true;
    net.command(leader, { id: 'g2', type: 'grant', ticket: 't1', site: target, force: false });
    net.run(net.now + 1000);
    expect(net.result('g2')).toBeUndefined();
    // Meanwhile the target site is replaced by a new one.
    const after: Member[] = [...five.filter((m) => m.id !== target), { id: s4, kind: 'site' }];
    net.start(config(s4, after), 14);
    net.command(leader, { id: 'swap', type: 'member-replace', old: target, member: { id: s4, kind: 'site' } });
    net.run(net.now + 3000);
    expect(net.result('swap')).toMatchObject({ ok: true });
    expect(net.nodes.get(leader)!.member.status().members.map((m) => m.id)).not.toContain(target);
    // Past the old holder's lease: the waiting command is answered, and t1 went nowhere.
    net.run(cutAt + 3 * leaseMs);
    expect(net.result('g2')).toMatchObject({ ok: false, code: 'no-such-member' });
    for (const [id, n] of net.nodes) {
      if (n.down || id === target) continue;
      expect(n.member.ticket('t1'), `${id}'s table`).toMatchObject({ holder: null });
      expect(n.member.history('t1').map((h) => `${h.change} ${h.holder ?? '-'}`), `${id}'s history`).toEqual([`grant ${holder}`, 'revoke -']);
    }
  });
});
