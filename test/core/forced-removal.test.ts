// Losing a majority for good (issue 11 item 5; src/core/forced-removal.ts,
// docs/operations.md §8 (disaster recovery)). A formation of two sites and no arbitrator (booth
// issue #60) runs and grants a manual ticket; the holder dies and the survivor
// alone has no majority. `member remove DEAD --force --confirm-fenced` on the
// survivor is refused while a lease the dead member may hold can still run in
// the survivor's view — the survivor's own vote block stretched by the drift
// bound, to the millisecond — and accepted after: the survivor leads a
// formation of one, the history says who and why, and the ticket can be
// granted there. The dead member restarted with its old store is refused (its
// votes come from a non-member) and never leads, until `member add` takes it
// back. With three voters and two lost, each lost voter must be confirmed and
// the wait counts from the latest confirmation. Real Members on virtual time
// with an in-memory network that delivers every message after 1 ms.
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig } from '../../src/core/config.js';
import { leaderViewEnd } from '../../src/core/lease.js';
import { defaultRules, type MemberRules } from '../../src/core/rules.js';
import type { AdminCommand } from '../../src/core/ready.js';
import { memberId, type Member as MemberInfo, type MemberId } from '../../src/core/types.js';
import { emptyRaftStore, type RaftStore } from '../support/raft-store.js';
import { VirtualNet, type CommandResult } from '../support/virtual-net.js';

const s1 = memberId('site1');
const s2 = memberId('site2');
const a1 = memberId('arb1');
const leaseMs = 10_000;
const driftPpm = 500;
const twoSites: MemberInfo[] = [
  { id: s1, kind: 'site' },
  { id: s2, kind: 'site' },
];

function config(self: MemberId, members: MemberInfo[]): CoreConfig {
  return {
    self,
    members,
    tickets: [{ name: 't1', mode: 'manual', leaseDurationMs: leaseMs, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} }],
    timing: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, renewIntervalMs: 500, renewRetryMs: 200, clockDriftPpmMax: driftPpm, effectRetryMs: 200, siteAliveWindowMs: 1500 },
    limits: defaultLimits,
  };
}

type Result = CommandResult;

/** The shared virtual network, with this file's config per member and, optionally, broken rules. */
class Net extends VirtualNet {
  constructor(
    members: MemberInfo[],
    private readonly rules: MemberRules = defaultRules,
  ) {
    super();
    members.forEach((m, i) => this.restart(m.id, members, i + 1, emptyRaftStore()));
  }

  /** Starts `id` on `store` (its old one: a restart from what it persisted). */
  restart(id: MemberId, members: MemberInfo[], seed: number, store: RaftStore): void {
    this.start(config(id, members), seed, store, { rules: this.rules });
  }

  leaderOf(id: MemberId): MemberId | null {
    return this.member(id).status().leader;
  }
}

const forced = (id: string, member: MemberId): AdminCommand => ({ id, type: 'member-remove', member, force: true, confirmFenced: true });
const leftMsOf = (r: Result | undefined): number => Number(/can still run for (\d+) ms/.exec(r?.message ?? '')?.[1]);

/** Two sites, no arbitrator; t1 granted to site1 (which leads or not, as the election went). */
function twoSiteFormation(): Net {
  const net = new Net(twoSites);
  net.run(5000);
  const leader = net.leaderOf(s1)!;
  expect(leader).not.toBeNull();
  net.command(leader, { id: 'g', type: 'grant', ticket: 't1', site: s1, force: false });
  net.run(net.now + 1000);
  expect(net.result('g')).toMatchObject({ ok: true });
  expect(net.member(s1).holderView('t1')).toMatchObject({ granted: true });
  return net;
}

describe('two sites without an arbitrator', () => {
  it('runs: a ticket is granted, and losing either site stops the registry (a majority of two is two)', () => {
    const net = twoSiteFormation();
    net.nodes.get(s1)!.down = true;
    net.run(net.now + 5000);
    expect(net.member(s2).status().role).not.toBe('leader');
    expect(net.command(s2, { id: 'g2', type: 'grant', ticket: 't1', site: s2, force: false })).toMatchObject({ ok: false, code: 'not-leader' });
  });
});

describe('member remove --force --confirm-fenced', () => {
  it('is refused while a leader is known, without --force, for itself and for a non-member', () => {
    const net = twoSiteFormation();
    expect(net.command(s2, forced('f1', s1))).toMatchObject({ ok: false, code: 'not-fenced' });
    expect(net.command(s2, { ...forced('f2', s1), force: false } as AdminCommand)).toMatchObject({ ok: false, code: 'invalid' });
    net.nodes.get(s1)!.down = true;
    net.run(net.now + 3000);
    expect(net.command(s2, forced('f3', s2))).toMatchObject({ ok: false, code: 'invalid' });
    expect(net.command(s2, forced('f4', memberId('nobody')))).toMatchObject({ ok: false, code: 'no-such-member' });
    expect(net.member(s2).status().members.map((m) => m.id)).toEqual([s1, s2]);
  });

  it('waits out the dead member\'s lease in the survivor\'s view, then the survivor goes on alone; the old store is refused until re-added', () => {
    const net = twoSiteFormation();
    const diedAt = net.now;
    net.nodes.get(s1)!.down = true;
    net.run(net.now + 3000);
    expect(net.leaderOf(s2)).toBeNull();
    // The survivor vouched for the last leader until its vote block ends; a lease answered before then runs D·(1+ρ)/(1−ρ) more.
    // It heard its last append before the death, or, leading, sent it before CheckQuorum stepped it down (two
    // of its election-timeout windows at most); it vouches for that leader one election timeout more (election.ts).
    const refused = net.command(s2, forced('early', s1));
    expect(refused).toMatchObject({ ok: false, code: 'lease-running' });
    const waitEnd = net.now + leftMsOf(refused);
    expect(waitEnd).toBeGreaterThanOrEqual(leaderViewEnd(diedAt + 1000, leaseMs, driftPpm));
    expect(waitEnd).toBeLessThanOrEqual(leaderViewEnd(diedAt + 3 * 1000, leaseMs, driftPpm));
    expect(net.member(s2).status().members.map((m) => m.id)).toEqual([s1, s2]);
    net.run(waitEnd - 1);
    expect(net.command(s2, forced('still-early', s1))).toMatchObject({ ok: false, code: 'lease-running' });
    net.run(waitEnd + 1);
    const ok = net.command(s2, forced('ok', s1));
    expect(ok?.ok, ok?.message).toBe(true);
    expect(net.member(s2).status()).toMatchObject({ role: 'leader', leader: s2 });
    expect(net.member(s2).status().members.map((m) => m.id)).toEqual([s2]);
    expect(net.member(s2).history('t1').at(-1)).toMatchObject({ change: 'forced removal of site1, confirmed fenced', cause: { by: 'admin', commandId: 'ok', force: true } });
    // The ticket moves to the survivor by admin command (a manual ticket): guarded, after the new leader's own wait.
    expect(net.command(s2, { id: 'move', type: 'grant', ticket: 't1', site: s2, force: false })).toBeUndefined();
    net.run(net.now + leaseMs * 1.1);
    expect(net.result('move')).toMatchObject({ ok: true });
    expect(net.member(s2).ticket('t1')).toMatchObject({ holder: s2 });

    // The dead member comes back with its old store: a non-member's votes count for nothing; it never leads.
    const term = net.member(s2).status().term;
    net.restart(s1, twoSites, 11, net.nodes.get(s1)!.store);
    net.run(net.now + 5000);
    expect(net.member(s1).status().role).not.toBe('leader');
    expect(net.member(s2).status()).toMatchObject({ role: 'leader', term });
    expect(net.events.some((x) => x.at === s2 && x.e.type === 'message-ignored' && x.e.from === s1 && x.e.reason === 'not a member')).toBe(true);
    expect(net.member(s1).holderView('t1')).toMatchObject({ granted: false });
    // Re-added, it catches up and votes again.
    net.command(s2, { id: 'back', type: 'member-add', member: { id: s1, kind: 'site' } });
    net.run(net.now + 3000);
    expect(net.result('back')).toMatchObject({ ok: true });
    expect(net.member(s2).status().members).toEqual([{ id: s2, kind: 'site' }, { id: s1, kind: 'site' }]);
    expect(net.member(s1).status().members.map((m) => m.id)).toEqual([s2, s1]);
  });

  it('is refused on an arbitrator: a formation of it alone would hold no tickets', () => {
    const net = new Net([{ id: s1, kind: 'site' }, { id: a1, kind: 'arbitrator' }]);
    net.run(5000);
    net.nodes.get(s1)!.down = true;
    net.run(net.now + 3000);
    expect(net.command(a1, forced('arb', s1))).toMatchObject({ ok: false, code: 'invalid' });
    expect(net.member(a1).status().members.map((m) => m.id)).toEqual([s1, a1]);
  });

  it('with three voters and two lost: every lost voter is confirmed, and the wait counts from the latest confirmation', () => {
    const three: MemberInfo[] = [...twoSites, { id: a1, kind: 'arbitrator' }];
    const net = new Net(three);
    net.run(5000);
    net.nodes.get(s1)!.down = true;
    net.nodes.get(a1)!.down = true;
    net.run(net.now + 3000);
    const first = net.command(s2, forced('c1', s1));
    expect(first).toMatchObject({ ok: false, code: 'not-fenced' });
    expect(first?.message).toContain('arb1 still votes');
    net.run(net.now + 4000);
    const confirmedAt = net.now;
    const second = net.command(s2, forced('c2', a1));
    expect(second).toMatchObject({ ok: false, code: 'lease-running' });
    expect(net.now + leftMsOf(second)).toBe(leaderViewEnd(confirmedAt, leaseMs, driftPpm));
    net.run(leaderViewEnd(confirmedAt, leaseMs, driftPpm));
    const ok = net.command(s2, forced('c3', a1));
    expect(ok?.ok, ok?.message).toBe(true);
    expect(ok?.message).toContain('forced removal of site1, arb1');
    expect(net.member(s2).status().members.map((m) => m.id)).toEqual([s2]);
  });

  // Confirmations are kept in memory on purpose (docs/protocol.md §10, "Confirmations are not persisted"). The
  // survivor restarted from its store (a real Member rebuilt from what it persisted) has forgotten them: every lost
  // voter is confirmed again, and the wait then counts from the later confirmation — never earlier than before the
  // restart. And a confirmation lapses once a leader is heard again: the next incident confirms afresh.
  it('a restarted survivor asks for every confirmation again, and its wait only moves later; a leader heard again voids them', () => {
    const three: MemberInfo[] = [...twoSites, { id: a1, kind: 'arbitrator' }];
    const net = new Net(three);
    net.run(5000);
    net.nodes.get(s1)!.down = true;
    net.nodes.get(a1)!.down = true;
    net.run(net.now + 3000);
    expect(net.command(s2, forced('c1', s1))?.message).toContain('arb1 still votes');
    net.run(net.now + 2000);
    const before = net.command(s2, forced('c2', a1));
    expect(before).toMatchObject({ ok: false, code: 'lease-running' });
    const endBefore = net.now + leftMsOf(before);

    net.restart(s2, three, 21, net.nodes.get(s2)!.store);
    net.run(net.now + 500);
    // site1's confirmation did not survive the restart: nothing is written until it is given again.
    expect(net.command(s2, forced('c3', a1))?.message).toContain('site1 still votes');
    net.run(net.now + 1000);
    const again = net.command(s2, forced('c4', s1));
    expect(again).toMatchObject({ ok: false, code: 'lease-running' });
    const endAfter = net.now + leftMsOf(again);
    expect(endAfter).toBe(leaderViewEnd(net.now, leaseMs, driftPpm));
    expect(endAfter).toBeGreaterThan(endBefore);
    net.run(endAfter - 1);
    expect(net.command(s2, forced('c5', a1))).toMatchObject({ ok: false, code: 'lease-running' });

    // The lost members come back before the wait ends: a leader is elected, and the confirmations lapse.
    net.nodes.get(s1)!.down = false;
    net.nodes.get(a1)!.down = false;
    net.run(net.now + 5000);
    expect(net.command(s2, forced('c6', a1))).toMatchObject({ ok: false, code: 'not-fenced' });
    net.nodes.get(s1)!.down = true;
    net.nodes.get(a1)!.down = true;
    net.run(net.now + 5000);
    expect(net.command(s2, forced('c7', a1))?.message).toContain('site1 still votes');
  });

  // Defence in depth, and what each wait is for. The "fenced" member here is only cut off (the admin's
  // confirmation is wrong): it keeps its lease, renewed by itself as leader while its leader lease held.
  // With the forced removal's lease wait broken (the mutant confirm-fenced-early) the survivor, leading
  // alone, still waits a lease from taking office before granting elsewhere, as every new leader does
  // (DESIGN.md §2): no double holder. With that wait broken too, the survivor grants while the cut-off
  // site still holds: both checks stand between an early confirmation and a violation of S1.
  const earlyRecovery = (rules: MemberRules): { overlapMs: number; forcedAtMs: number } => {
    const net = new Net(twoSites, rules);
    net.run(5000);
    net.command(net.leaderOf(s1)!, { id: 'g', type: 'grant', ticket: 't1', site: s1, force: false });
    net.run(net.now + 1000);
    net.isolated.add(s1);
    let forcedAtMs = -1;
    let overlapMs = 0;
    const granted = (id: MemberId): boolean => net.member(id).holderView('t1')?.granted === true;
    for (const end = net.now + 3 * leaseMs; net.now < end; ) {
      net.run(net.now + 10);
      if (forcedAtMs < 0 && net.command(s2, forced(`f${net.now}`, s1))?.ok === true) {
        forcedAtMs = net.now;
        net.command(s2, { id: 'move', type: 'grant', ticket: 't1', site: s2, force: false });
      }
      if (granted(s1) && granted(s2)) overlapMs += 10;
    }
    return { overlapMs, forcedAtMs };
  };

  it('an early confirmation is still covered by the new leader\'s wait; with both waits broken, two sites hold the ticket', () => {
    const real = earlyRecovery(defaultRules);
    const early = earlyRecovery({ ...defaultRules, fencedLeasesEnd: () => Number.NEGATIVE_INFINITY });
    const bothBroken = earlyRecovery({ ...defaultRules, fencedLeasesEnd: () => Number.NEGATIVE_INFINITY, viewOnTakingOffice: (nowMs) => nowMs });
    expect(real.forcedAtMs).toBeGreaterThan(early.forcedAtMs);
    expect(early.forcedAtMs).toBeGreaterThan(0);
    expect(real.overlapMs).toBe(0);
    expect(early.overlapMs).toBe(0);
    expect(bothBroken.overlapMs).toBeGreaterThan(0);
  });
});
