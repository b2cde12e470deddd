// Shared lease ends at the holder (lease-cohort.ts; issue 15, 10,000 tickets at rest): an answer
// to a renewal by index that renews the same list again moves every ticket's lease end at once,
// instead of ticket by ticket. These tests check that it gives exactly the lease ends, CIB effects
// and guard updates that answering ticket by ticket gives — a holder renewing by index against one
// renewing by list, driven through the same times — and that an answer never moves the lease of a
// ticket it did not renew: one it refused, or one given up after the renewal was sent.
// SiteHolder driven directly, with the default rules' lease arithmetic.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { EntryData, RenewRefusal } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import { SiteHolder, type GuardUpdate, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const leaseMs = 10_000;
const leadMs = 400;
const names = ['t1', 't2', 't3'];

function def(name: string, lease = leaseMs): TicketDef {
  return { name, mode: 'automatic', leaseDurationMs: lease, acquireAfterMs: 0, revokeLeadMs: leadMs, weights: {} };
}

/** A table that gives every ticket to site A, and a holder of site A synced with it. */
function setup(defs: TicketDef[] = names.map((n) => def(n)), leaseEnd = defaultRules.holderLeaseEnd): { holder: SiteHolder; table: TicketTable } {
  const table = TicketTable.fromDefs(defs, { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
  defs.forEach((d, k) => {
    const e: EntryData = { type: 'grant', ticket: d.name, site: siteA, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'test' } };
    expect(table.apply(e, index(k + 1))).toEqual({ ok: true });
  });
  const holder = new SiteHolder(siteA, 4, 200, { leaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [], ms(0), 1, { unansweredMs: 1_000, everyMinMs: 200 });
  holder.syncWithTable(table.all(), ms(0));
  return { holder, table };
}

/** Sends a renewal by index at `sentAt`; the returned function answers it (refusing `refused`) at `now`. */
function sendByIndex(holder: SiteHolder, table: TicketTable, sentAt: number): (now: number, refused?: Array<{ name: string; reason: RenewRefusal }>) => void {
  const r = holder.renewalByIndex(table);
  if (r === null) throw new Error('no renewal by index');
  const seq = holder.recordRenewal(r.since, r.held, ms(sentAt));
  return (now, refused = []) => void holder.onRenewed(seq, { granted: [], refused, since: r.since }, (n) => table.get(n), ms(now));
}

/** Sends a renewal listing every held ticket at `sentAt`; the returned function answers it, granting them all. */
function sendList(holder: SiteHolder, table: TicketTable, sentAt: number): (now: number) => void {
  const items = holder.renewItems();
  const seq = holder.recordRenewal(null, [], ms(sentAt));
  return (now) => void holder.onRenewed(seq, { granted: items.map((i) => ({ ...i, leaseDurationMs: table.get(i.name)!.def.leaseDurationMs })), refused: [] }, (n) => table.get(n), ms(now));
}

function reconcile(holder: SiteHolder, table: TicketTable, now: number): { effects: TicketEffect[]; guard: GuardUpdate[] } {
  const effects: TicketEffect[] = [];
  const guard: GuardUpdate[] = [];
  holder.reconcile((n) => table.get(n), () => table.all(), ms(now), effects, guard);
  return { effects, guard };
}

function leaseEnds(holder: SiteHolder, of: readonly string[] = names): Array<number | null> {
  return of.map((n) => holder.view(n)?.leaseEnd ?? null);
}

describe('a renewal by index answered whole', () => {
  it('gives the lease ends, effects and guard updates that answering ticket by ticket gives', () => {
    // t3 with a shorter D: one shared lease per D.
    const defs = [def('t1'), def('t2'), def('t3', 8_000)];
    // The lease ends the holder renewing by index works out, per answer.
    const leaseEndCalls: number[] = [];
    const byIndex = setup(defs, (sentAt, receivedAt, d) => {
      if (leaseEndCalls.length === 0 || sentAt !== lastSentAt) leaseEndCalls.push(0);
      lastSentAt = sentAt;
      leaseEndCalls[leaseEndCalls.length - 1]! += 1;
      return defaultRules.holderLeaseEnd(sentAt, receivedAt, d);
    });
    let lastSentAt = -1;
    const byList = setup(defs);
    const sides = [
      { ...byIndex, send: (at: number) => sendByIndex(byIndex.holder, byIndex.table, at) },
      { ...byList, send: (at: number) => sendList(byList.holder, byList.table, at) },
    ];
    const pending = sides.map(() => [] as Array<{ at: number; run: () => void }>);
    const log = sides.map(() => [] as Array<{ now: number; effects?: unknown[]; guard?: unknown[]; ends?: unknown[] }>);
    let guardUpdates = 0;
    for (let now = 0; now <= 40_000; now += 10) {
      sides.forEach((side, k) => {
        // A renewal every second, answered 20 ms later; effects and guard updates confirmed 50 ms after they are handed out.
        if (now % 1_000 === 0) {
          const answer = side.send(now);
          pending[k]!.push({ at: now + 20, run: () => answer(now + 20) });
        }
        for (const p of pending[k]!.filter((x) => x.at === now)) p.run();
        pending[k] = pending[k]!.filter((x) => x.at !== now);
        if (now % 1_000 === 20 || now >= side.holder.nextDeadline(ms(now - 10))) {
          const { effects, guard } = reconcile(side.holder, side.table, now);
          guardUpdates += k === 0 ? guard.length : 0;
          log[k]!.push({ now, effects: effects.map(({ id: _id, ...e }) => e), guard: guard.map((g) => g.extend) });
          for (const e of [...effects, ...guard]) pending[k].push({ at: now + 50, run: () => side.holder.onEffectResult(e.id, true, ms(now + 50)) });
        }
        log[k]!.push({ now, ends: leaseEnds(side.holder) });
      });
    }
    // Only the times at which something was handed out, and the lease ends: the two sides may look at tickets at different times.
    const handedOut = (l: Array<{ effects?: unknown[]; guard?: unknown[] }>): unknown[] => l.filter((x) => x.effects === undefined || x.effects.length + (x.guard ?? []).length > 0);
    expect(handedOut(log[0]!)).toEqual(handedOut(log[1]!));
    expect(guardUpdates).toBeGreaterThan(3);
    // The last answer (to the renewal of 39 000) moved them all.
    expect(leaseEnds(byIndex.holder)).toEqual([39_000 + 10_000, 39_000 + 10_000, 39_000 + 8_000]);
    // Once a whole answer formed the cohort, each answer works out one lease end per D, not one per ticket.
    expect(leaseEndCalls.slice(2)).toEqual(leaseEndCalls.slice(2).map(() => 2));
    expect(leaseEndCalls.length).toBe(40);
  });

  it('moves no lease of a ticket the answer refused', () => {
    const { holder, table } = setup();
    sendByIndex(holder, table, 0)(20);
    reconcile(holder, table, 20);
    expect(leaseEnds(holder)).toEqual([10_000, 10_000, 10_000]);
    // The same list again (nothing changed), but the leader refuses t2.
    sendByIndex(holder, table, 1_000)(1_020, [{ name: 't2', reason: 'change-pending' }]);
    expect(leaseEnds(holder)).toEqual([11_000, 10_000, 11_000]);
    // And again, refusing nothing: every lease moves.
    sendByIndex(holder, table, 2_000)(2_020);
    expect(leaseEnds(holder)).toEqual([12_000, 12_000, 12_000]);
    sendByIndex(holder, table, 3_000)(3_020);
    expect(leaseEnds(holder)).toEqual([13_000, 13_000, 13_000]);
  });

  it('moves no lease of a ticket given up after the renewal was sent, nor after it comes back', () => {
    const { holder, table } = setup();
    sendByIndex(holder, table, 0)(20);
    sendByIndex(holder, table, 1_000)(1_020);
    expect(leaseEnds(holder)).toEqual([11_000, 11_000, 11_000]);
    // t2 cannot run here: given up between a renewal and its answer, then runnable again before the answer.
    const answer = sendByIndex(holder, table, 2_000);
    holder.setBlocked(new Set(['t2']));
    holder.setBlocked(new Set());
    answer(2_020);
    // The answer was to a renewal sent before the release: it does not renew t2 (the seq floor).
    expect(leaseEnds(holder)).toEqual([12_000, null, 12_000]);
    sendByIndex(holder, table, 3_000)(3_020);
    expect(leaseEnds(holder)).toEqual([13_000, 13_000, 13_000]);
  });
});
