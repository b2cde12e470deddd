// Checks src/core/placement.ts: which sites are eligible for an automatic
// ticket, and which one gets it. Example tests pin the eligibility rules (a
// site heard within the alive window, inclusive at the edge, from the store
// incarnation the configuration admits as a voter, reporting local quorum,
// passing handlers and able to run the ticket) and the choice (higher
// weight first, then a site that does not lead the registry, then formation
// order, never the excluded site, never an arbitrator even with a weight). A
// property test compares chooseSite with a dumb reference — filter, then sort
// by (−weight, leads, formation order), take the first — over random
// formations, weights, leaders and eligibility.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SiteHealth } from '../../../src/core/messages.js';
import { chooseSite, isEligible, type SiteView } from '../../../src/core/tickets/placement.js';
import { memberId, type Member, type MemberId, type TicketDef } from '../../../src/core/types.js';

const healthy: SiteHealth = { quorate: true, handlersOk: true, unrunnable: [] };
const window = 1500;

function view(lastHeardAt: number, health: Partial<SiteHealth> = {}, inc = 0): SiteView {
  return { lastHeardAt, health: { ...healthy, ...health }, inc };
}

function ticket(weights: Record<string, number> = {}): TicketDef {
  return { name: 'ticket-a', mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights };
}

const site = (id: string): Member => ({ id: memberId(id), kind: 'site' });
const arbitrator = (id: string): Member => ({ id: memberId(id), kind: 'arbitrator' });
const all = (): boolean => true;

describe('isEligible', () => {
  const a = memberId('site-a');
  const admitted = site('site-a');

  it('needs a view: a site never heard from is not eligible', () => {
    expect(isEligible(a, 'ticket-a', undefined, 1000, window, admitted)).toBe(false);
  });

  it('needs the site heard within the alive window (inclusive)', () => {
    expect(isEligible(a, 'ticket-a', view(1000), 1000, window, admitted)).toBe(true);
    expect(isEligible(a, 'ticket-a', view(1000), 1000 + window, window, admitted)).toBe(true);
    expect(isEligible(a, 'ticket-a', view(1000), 1000 + window + 1, window, admitted)).toBe(false);
  });

  it('needs local quorum and passing handlers', () => {
    expect(isEligible(a, 'ticket-a', view(1000, { quorate: false }), 1000, window, admitted)).toBe(false);
    expect(isEligible(a, 'ticket-a', view(1000, { handlersOk: false }), 1000, window, admitted)).toBe(false);
  });

  it('needs a configured site', () => {
    expect(isEligible(a, 'ticket-a', view(1000), 1000, window, undefined)).toBe(false);
  });

  // Sim seed 234 --many-tickets: site2 missed the bootstrap (its joins' answers were lost), renewed as the
  // incarnation its empty store drew, and the leader granted it t1; it was admitted, caught up by a snapshot
  // under 20 % loss for 7.4 s, and the leader's view of the lease it never knew it had ran out first.
  it('needs the site heard from the incarnation the configuration admits, as a voter (docs/protocol.md §10)', () => {
    expect(isEligible(a, 'ticket-a', view(1000, {}, 5), 1000, window, admitted)).toBe(false);
    expect(isEligible(a, 'ticket-a', view(1000, {}, 5), 1000, window, { ...admitted, incarnation: 5 })).toBe(true);
    expect(isEligible(a, 'ticket-a', view(1000, {}, 0), 1000, window, { ...admitted, incarnation: 5 })).toBe(false);
    expect(isEligible(a, 'ticket-a', view(1000, {}, 5), 1000, window, { ...admitted, incarnation: 5, voter: false })).toBe(false);
  });

  it('excludes only the tickets reported unrunnable', () => {
    const v = view(1000, { unrunnable: ['ticket-b'] });
    expect(isEligible(a, 'ticket-a', v, 1000, window, admitted)).toBe(true);
    expect(isEligible(a, 'ticket-b', v, 1000, window, admitted)).toBe(false);
  });
});

describe('chooseSite', () => {
  const members = [site('site-a'), site('site-b'), arbitrator('arb'), site('site-c')];

  it('takes the first site in formation order when weights tie', () => {
    expect(chooseSite(ticket(), members, all, null)).toBe('site-a');
  });

  it('prefers the higher weight; missing sites weigh 0', () => {
    expect(chooseSite(ticket({ 'site-c': 5, 'site-b': 3 }), members, all, null)).toBe('site-c');
    expect(chooseSite(ticket({ 'site-a': -1 }), members, all, null)).toBe('site-b');
  });

  it('breaks a tie between equal non-zero weights by formation order', () => {
    expect(chooseSite(ticket({ 'site-c': 5, 'site-b': 5 }), members, all, null)).toBe('site-b');
  });

  it('breaks a tie away from the site that leads the registry (losing it then costs no election), never against the weights', () => {
    expect(chooseSite(ticket(), members, all, null, memberId('site-a'))).toBe('site-b');
    expect(chooseSite(ticket({ 'site-c': 5, 'site-b': 5 }), members, all, null, memberId('site-b'))).toBe('site-c');
    expect(chooseSite(ticket({ 'site-a': 1 }), members, all, null, memberId('site-a'))).toBe('site-a');
    // The leader is the only eligible site: it takes the ticket.
    expect(chooseSite(ticket(), members, (s) => s === 'site-c', null, memberId('site-c'))).toBe('site-c');
  });

  it('skips ineligible sites, even the heaviest', () => {
    const eligible = (s: MemberId): boolean => s !== 'site-c';
    expect(chooseSite(ticket({ 'site-c': 9, 'site-b': 1 }), members, eligible, null)).toBe('site-b');
  });

  it('never chooses the excluded site (the holder being failed over from)', () => {
    expect(chooseSite(ticket({ 'site-a': 9 }), members, all, memberId('site-a'))).toBe('site-b');
    expect(chooseSite(ticket(), [site('site-a'), arbitrator('arb')], all, memberId('site-a'))).toBeNull();
  });

  it('never chooses an arbitrator, whatever the weights say (S3)', () => {
    const weighted = ticket({ arb: 100 });
    expect(chooseSite(weighted, members, all, null)).toBe('site-a');
    expect(chooseSite(weighted, [arbitrator('arb')], all, null)).toBeNull();
  });

  it('returns null when no site is eligible', () => {
    expect(chooseSite(ticket(), members, () => false, null)).toBeNull();
  });
});

// ───────────── property: against a dumb reference ─────────────

const formation = fc
  .array(fc.record({ kind: fc.constantFrom<Member['kind']>('site', 'site', 'arbitrator'), weight: fc.option(fc.integer({ min: -3, max: 3 })), eligible: fc.boolean() }), {
    maxLength: 8,
  })
  .map((rows) => rows.map((r, i) => ({ ...r, id: memberId(`m${i}`) })));

describe('property: chooseSite against a reference', () => {
  it('picks the first of the eligible, non-excluded sites sorted by (−weight, leads the registry, formation order)', () => {
    fc.assert(
      fc.property(formation, fc.option(fc.nat(8)), fc.option(fc.nat(8)), (rows, excludePick, leaderPick) => {
        const members: Member[] = rows.map((r) => ({ id: r.id, kind: r.kind }));
        const weights: Record<string, number> = {};
        for (const r of rows) if (r.weight !== null) weights[r.id] = r.weight;
        const exclude = excludePick === null ? null : memberId(`m${excludePick}`);
        const leader = leaderPick === null ? null : memberId(`m${leaderPick}`);
        const eligible = (s: MemberId): boolean => rows.find((r) => r.id === s)!.eligible;

        const candidates = rows
          .map((r, order) => ({ ...r, order, w: r.weight ?? 0 }))
          .filter((r) => r.kind === 'site' && r.eligible && r.id !== exclude)
          .sort((x, y) => y.w - x.w || Number(x.id === leader) - Number(y.id === leader) || x.order - y.order);
        const expected = candidates[0]?.id ?? null;

        expect(chooseSite(ticket(weights), members, eligible, exclude, leader)).toBe(expected);
      }),
    );
  });
});
