// Batch grants (docs/protocol.md §3, protocol 1.2; issue 15 item 5): the
// entries the leader proposes for the automatic grants of one placement pass,
// and how the ticket table applies a grant-batch — each item as the grant it
// stands for, with its own compare-and-set.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { Cause, EntryData } from '../../../src/core/messages.js';
import { autoGrantEntries, grantsPerEntryMax, ticketsOf, type AutoGrant } from '../../../src/core/tickets/batch-grants.js';
import { SiteHolder, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const siteB = memberId('site-b');
const initial = (site: string): AutoGrant['cause'] => ({ by: 'auto', reason: 'initial', detail: `held nowhere: placed on ${site}` });
const failover: AutoGrant['cause'] = { by: 'auto', reason: 'failover', detail: 'the lease of site-a (generation 1) ran out in the leader\'s view' };

function auto(n: number, cause: (i: number) => AutoGrant['cause'] = () => initial('site-a')): AutoGrant[] {
  return Array.from({ length: n }, (_, i) => ({ ticket: `t${i}`, site: siteA, expectedGeneration: generation(0), cause: cause(i) }));
}

function def(name: string): TicketDef {
  return { name, mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };
}

describe('autoGrantEntries', () => {
  it('puts every automatic grant of a pass into batches of at most grantsPerEntryMax, one reason each', () => {
    const grants = auto(2 * grantsPerEntryMax + 3, (i) => (i % 2 === 0 ? initial('site-a') : failover));
    const entries = autoGrantEntries(grants, true);
    expect(entries.every((e) => e.type === 'grant-batch')).toBe(true);
    const batches = entries.filter((e): e is Extract<EntryData, { type: 'grant-batch' }> => e.type === 'grant-batch');
    expect(batches.every((b) => b.grants.length <= grantsPerEntryMax)).toBe(true);
    expect(batches.map((b) => b.grants.length).reduce((a, b) => a + b, 0)).toBe(grants.length);
    for (const b of batches) {
      const reason = (b.cause as Extract<Cause, { by: 'auto' }>).reason;
      expect(b.grants.every((g) => grants.find((x) => x.ticket === g.ticket)!.cause.reason === reason)).toBe(true);
    }
    // Every ticket exactly once, with its site and expected generation.
    expect(batches.flatMap((b) => b.grants).map((g) => g.ticket).sort()).toEqual(grants.map((g) => g.ticket).sort());
  });

  it('keeps a lone grant of a kind as a grant entry (its cause says more)', () => {
    const grants = [...auto(1), { ticket: 'x', site: siteB, expectedGeneration: generation(3), cause: failover }];
    expect(autoGrantEntries(grants, true)).toEqual([
      { type: 'grant', ticket: 't0', site: siteA, expectedGeneration: 0, cause: initial('site-a') },
      { type: 'grant', ticket: 'x', site: siteB, expectedGeneration: 3, cause: failover },
    ]);
  });

  it('without batches (a member older than 1.2), one grant entry per ticket', () => {
    const entries = autoGrantEntries(auto(5), false);
    expect(entries.map((e) => e.type)).toEqual(['grant', 'grant', 'grant', 'grant', 'grant']);
  });

  it('names the tickets an entry changes, a batch item by item', () => {
    const [batch] = autoGrantEntries(auto(3), true);
    expect(ticketsOf(batch!)).toEqual(['t0', 't1', 't2']);
    expect(ticketsOf({ type: 'revoke', ticket: 'r', expectedGeneration: generation(1), cause: failover })).toEqual(['r']);
    expect(ticketsOf({ type: 'noop' })).toEqual([]);
  });
});

describe('TicketTable applies a grant-batch', () => {
  const limits = { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax };

  it('applies each item as a grant: a new generation and a history record each; a stale item changes nothing', () => {
    const table = TicketTable.fromDefs(['a', 'b', 'c'].map(def), limits);
    expect(table.apply({ type: 'grant', ticket: 'b', site: siteB, expectedGeneration: generation(0), cause: failover }, index(1))).toEqual({ ok: true });
    const cause: Cause = { by: 'auto', reason: 'initial', detail: '3 tickets held nowhere, placed in one batch' };
    const batch: EntryData = {
      type: 'grant-batch',
      grants: [
        { ticket: 'a', site: siteA, expectedGeneration: generation(0) },
        { ticket: 'b', site: siteA, expectedGeneration: generation(0) }, // b moved to generation 1 meanwhile
        { ticket: 'gone', site: siteA, expectedGeneration: generation(0) },
        { ticket: 'c', site: siteB, expectedGeneration: generation(0) },
      ],
      cause,
    };
    expect(table.apply(batch, index(2))).toEqual({ ok: true, skipped: ['b', 'gone'] });
    expect(table.get('a')).toMatchObject({ holder: siteA, generation: 1, managed: true });
    expect(table.get('b')).toMatchObject({ holder: siteB, generation: 1 });
    expect(table.get('c')).toMatchObject({ holder: siteB, generation: 1 });
    expect(table.historyOf().filter((h) => h.index === 2).map((h) => [h.ticket, h.holder, h.generation, h.change])).toEqual([
      ['a', siteA, 1, 'grant'],
      ['c', siteB, 1, 'grant'],
    ]);
    expect([...table.heldBy(siteB)].sort()).toEqual(['b', 'c']);
    // What a renewal by index needs: the batch's tickets count as changed after index 1.
    expect([...(table.changedAfter(1, 100) ?? [])].sort()).toEqual(['a', 'c']);
  });
});

describe('SiteHolder start-up revokes (TicketEffect.background)', () => {
  const hooks = { leaseEnd: (sentAt: number, _r: number, d: number) => sentAt + d, revokeLead: (lead: number) => lead };

  it('marks the first write of a ticket the sink did not show granted here, and nothing else', () => {
    const limits = { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax };
    const table = TicketTable.fromDefs(['a', 'b'].map(def), limits);
    // b was granted here before a restart (the sink read shows it): its write is no start-up revoke.
    const holder = new SiteHolder(siteA, 8, 200, hooks, 1000, [{ name: 'b', granted: true, generation: generation(1), revokeBy: ms(5000) }], ms(0), 1);
    holder.syncWithTable(table.all(), ms(0));
    const first: TicketEffect[] = [];
    holder.reconcile((n) => table.get(n), () => table.all(), ms(0), first, []);
    expect(first.map((e) => [e.ticket, e.granted, e.background ?? false]).sort()).toEqual([
      ['a', false, true],
      ['b', false, false],
    ]);
    // A failed start-up revoke is written again as an ordinary effect.
    holder.onEffectResult(first.find((e) => e.ticket === 'a')!.id, false, ms(1));
    const again: TicketEffect[] = [];
    holder.reconcile((n) => table.get(n), () => table.all(), ms(500), again, []);
    expect(again.map((e) => [e.ticket, e.background ?? false])).toEqual([['a', false]]);
  });
});
