// Checks src/core/tickets/grant-target.ts: a grant names only a site member of
// the configuration it is applied under. Simulator seed 173 --live-changes
// (before the fix): a guarded admin grant of t2 to site2 waited for the old
// holder's lease; meanwhile site2 was replaced (`member replace`, index 28),
// and the leader then proposed and applied the grant (index 31) to a member
// that no longer existed — the ticket stayed with it for ever. The leader now
// refuses the waiting command (`no-such-member`) and proposes nothing, and
// the table refuses a grant entry naming a site that left before it, alike on
// every member and after a restart from a snapshot.
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig } from '../../../src/core/config.js';
import type { Cause, EntryData } from '../../../src/core/messages.js';
import { TicketTable, type SiteMemberCheck } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, type Member, type MemberId, type TicketDef } from '../../../src/core/types.js';
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

describe('the table refuses a grant entry naming a site that is not a site member at its index', () => {
  const cause: Cause = { by: 'admin', commandId: 'c', force: false };
  const limits = { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax };
  // site2 left the configuration at index 28 (seed 173): grants from index 29 on may not name it.
  const isSiteAt: SiteMemberCheck = (site, at) => site !== s2 || at <= 28;
  const grant = (site: MemberId, expected: number): EntryData => ({ type: 'grant', ticket: 't1', site, expectedGeneration: generation(expected), cause });

  it('changes nothing for a grant or a batch item, and a table loaded from a snapshot refuses alike', () => {
    const table = TicketTable.fromSnapshot(TicketTable.fromDefs([t1, { ...t1, name: 't2' }], limits).snapshot(), limits, undefined, index(20), isSiteAt);
    expect(table.apply(grant(s2, 0), index(27))).toEqual({ ok: true });
    expect(table.apply({ type: 'revoke', ticket: 't1', expectedGeneration: generation(1), cause }, index(29))).toEqual({ ok: true });
    const before = structuredClone(table.snapshot());
    expect(table.apply(grant(s2, 2), index(31))).toEqual({ ok: false, reason: 'not-a-site-member' });
    expect(table.snapshot()).toEqual(before);
    const batch: EntryData = { type: 'grant-batch', grants: [{ ticket: 't1', site: s2, expectedGeneration: generation(2) }, { ticket: 't2', site: s1, expectedGeneration: generation(0) }], cause: { by: 'auto', reason: 'initial' } };
    const replayed = TicketTable.fromSnapshot(structuredClone(table.snapshot()), limits, undefined, index(31), isSiteAt);
    for (const t of [table, replayed]) {
      expect(t.apply(batch, index(32))).toEqual({ ok: true, skipped: ['t1'] });
      expect(t.get('t1')).toMatchObject({ holder: null, generation: 2 });
      expect(t.get('t2')).toMatchObject({ holder: s1, generation: 1 });
    }
    expect(replayed.snapshot()).toEqual(table.snapshot());
  });
});
