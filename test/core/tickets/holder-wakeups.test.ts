// A grant still waiting for the sink's writer is not woken again before its
// result comes: only a confirmed grant's guard deadline can be extended
// (guardExtensions), so the half-time wake of guardNeedsExtending is for
// confirmed grants only. With 10,000 grants queued behind a slow sink, the
// wake at now + 1 that an unconfirmed grant got once half its deadline had
// passed made the holder re-examine every one of them at every input and
// tick (docs/benchmarks.md, "A holder that spun on grants waiting for the writer").
// And a grant waiting for its lease behind a start-up revoke not yet written
// gets no revoke of its new generation first (one write per grant).
// SiteHolder driven directly, with the default rules' lease arithmetic.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { EntryData } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import { SiteHolder, type GuardUpdate, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const leaseMs = 10_000;
const leadMs = 400;
const names = ['t1', 't2'];

function def(name: string): TicketDef {
  return { name, mode: 'automatic', leaseDurationMs: leaseMs, acquireAfterMs: 0, revokeLeadMs: leadMs, weights: {} };
}

function setup(): { holder: SiteHolder; table: TicketTable; at: (now: number) => { effects: TicketEffect[]; guard: GuardUpdate[] }; renew: (now: number) => void } {
  const table = TicketTable.fromDefs(names.map(def), { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
  names.forEach((n, k) => {
    const e: EntryData = { type: 'grant', ticket: n, site: siteA, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'test' } };
    expect(table.apply(e, index(k + 1))).toEqual({ ok: true });
  });
  const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [], ms(0), 1, { unansweredMs: 1_000, everyMinMs: 200 });
  holder.syncWithTable(table.all(), ms(0));
  const renew = (now: number): void => {
    const seq = holder.recordRenewal(null, [], ms(now));
    holder.onRenewed(seq, { granted: names.map((name) => ({ name, generation: generation(1), leaseDurationMs: leaseMs })), refused: [] }, (n) => table.get(n), ms(now));
  };
  const at = (now: number): { effects: TicketEffect[]; guard: GuardUpdate[] } => {
    const effects: TicketEffect[] = [];
    const guard: GuardUpdate[] = [];
    holder.reconcile((n) => table.get(n), () => table.all(), ms(now), effects, guard);
    return { effects, guard };
  };
  return { holder, table, at, renew };
}

describe('wake-ups of grants waiting for the writer', () => {
  it('an unconfirmed grant renewed past half its written deadline is woken at its revoke deadline, not at once', () => {
    const { holder, at, renew } = setup();
    renew(0);
    const first = at(0).effects;
    expect(first.map((e) => [e.ticket, e.granted, e.revokeBy])).toEqual(names.map((n) => [n, true, leaseMs - leadMs]));
    // The writer has not answered; renewals go on. At 6 000 the written deadline (9 600) is less than half of
    // what the lease now allows (15 600) away: a confirmed grant would get a guard update, this one cannot.
    renew(6_000);
    const later = at(6_000);
    expect(later.effects).toEqual([]);
    expect(later.guard).toEqual([]);
    // The next wake is its revoke deadline under the lease the answer gave (15 600; lease-cohort.ts), not 6 001.
    expect(holder.nextDeadline(ms(6_000))).toBe(6_000 + leaseMs - leadMs);
    // Its result comes: confirmed, it gets the guard update at once.
    for (const e of first) holder.onEffectResult(e.id, true, ms(9_000), [], 50);
    const confirmed = at(9_000);
    expect(confirmed.effects).toEqual([]);
    expect(confirmed.guard.flatMap((g) => g.extend.map((x) => [x.ticket, x.revokeBy]))).toEqual(names.map((n) => [n, 6_000 + leaseMs - leadMs]));
  });
});

describe('a grant waiting for its lease behind a start-up revoke not yet written', () => {
  it('writes no revoke of the new generation first: the start-up revoke stays, then the grant', () => {
    const table = TicketTable.fromDefs([def('t1')], { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
    const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [], ms(0), 1, { unansweredMs: 1_000, everyMinMs: 200 });
    const at = (now: number): TicketEffect[] => {
      const effects: TicketEffect[] = [];
      holder.reconcile((n) => table.get(n), () => table.all(), ms(now), effects, []);
      return effects;
    };
    holder.syncWithTable(table.all(), ms(0));
    const startup = at(0);
    expect(startup.map((e) => [e.ticket, e.granted, e.generation, e.background])).toEqual([['t1', false, 0, true]]);
    // Granted here before the start-up revoke is written; no renewal answered yet.
    const grant: EntryData = { type: 'grant', ticket: 't1', site: siteA, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'test' } };
    expect(table.apply(grant, index(1))).toEqual({ ok: true });
    holder.syncWithTable(table.all(), ms(100));
    expect(at(100)).toEqual([]);
    // The lease comes: the grant, which supersedes the start-up revoke if it still waits.
    const seq = holder.recordRenewal(null, [], ms(200));
    holder.onRenewed(seq, { granted: [{ name: 't1', generation: generation(1), leaseDurationMs: leaseMs }], refused: [] }, (n) => table.get(n), ms(200));
    expect(at(200).map((e) => [e.ticket, e.granted, e.generation])).toEqual([['t1', true, 1]]);
  });

  it('issues the revoke of the new generation when the start-up revoke fails', () => {
    const table = TicketTable.fromDefs([def('t1')], { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
    const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [], ms(0), 1, { unansweredMs: 1_000, everyMinMs: 200 });
    const at = (now: number): TicketEffect[] => {
      const effects: TicketEffect[] = [];
      holder.reconcile((n) => table.get(n), () => table.all(), ms(now), effects, []);
      return effects;
    };
    holder.syncWithTable(table.all(), ms(0));
    const [startup] = at(0);
    const grant: EntryData = { type: 'grant', ticket: 't1', site: siteA, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'test' } };
    expect(table.apply(grant, index(1))).toEqual({ ok: true });
    holder.syncWithTable(table.all(), ms(100));
    expect(at(100)).toEqual([]);
    holder.onEffectResult(startup!.id, false, ms(150));
    // Retried after effectRetryMs (1 000), with the new generation.
    expect(at(150)).toEqual([]);
    expect(at(1_150).map((e) => [e.ticket, e.granted, e.generation])).toEqual([['t1', false, 1]]);
  });
});
