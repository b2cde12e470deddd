// The holder side keeps its lease guard's recorded deadline inside the lease as
// the sink slows down (docs/protocol.md §4; simulator seed 368 with
// --many-tickets): a slower write moves the recorded deadline earlier by
// writing the grant again (a grant write arms the guard with its deadline);
// while renewals go unanswered the holder writes its grants again every few
// write times, so its measurement of the sink is never a lease old; and a
// grant refused because its deadline passed before the write could start is
// followed by the revoke at once. SiteHolder driven directly, with the
// default rules' lease arithmetic.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { EntryData } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import { SiteHolder, type GuardUpdate, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { sinkProbeWriteMultiple, type SinkProbeTiming } from '../../../src/core/tickets/sink-probe.js';
import { writeSamplesKept } from '../../../src/core/tickets/sink-write-times.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const leaseMs = 10_000;
const leadMs = 400;
const probeTiming: SinkProbeTiming = { unansweredMs: 1_000, everyMinMs: 200 };
const names = ['t', 'b1', 'b2'];

function def(name: string): TicketDef {
  return { name, mode: 'automatic', leaseDurationMs: leaseMs, acquireAfterMs: 0, revokeLeadMs: leadMs, weights: {} };
}

/** A holder of three tickets renewed at 0 (lease end 10 000) whose grants the host confirmed, and a way to drive it. */
function holding(): {
  holder: SiteHolder;
  at: (now: number) => { effects: TicketEffect[]; guard: GuardUpdate[] };
  confirm: (effects: readonly TicketEffect[], now: number, writeMs: number) => void;
  renew: (now: number) => void;
} {
  const table = TicketTable.fromDefs(names.map(def), { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
  names.forEach((n, k) => {
    const e: EntryData = { type: 'grant', ticket: n, site: siteA, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'test' } };
    expect(table.apply(e, index(k + 1))).toEqual({ ok: true });
  });
  const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [], ms(0), 1, probeTiming);
  holder.syncWithTable(table.all(), ms(0));
  const seq = holder.recordRenewal(null, [], ms(0));
  holder.onRenewed(seq, { granted: names.map((name) => ({ name, generation: generation(1), leaseDurationMs: leaseMs })), refused: [] }, (n) => table.get(n), ms(0));
  const at = (now: number): { effects: TicketEffect[]; guard: GuardUpdate[] } => {
    const effects: TicketEffect[] = [];
    const guard: GuardUpdate[] = [];
    holder.reconcile((n) => table.get(n), () => table.all(), ms(now), effects, guard);
    return { effects, guard };
  };
  const confirm = (effects: readonly TicketEffect[], now: number, writeMs: number): void => {
    for (const e of effects) holder.onEffectResult(e.id, true, ms(now), [], writeMs);
  };
  const renew = (now: number): void => {
    const seq = holder.recordRenewal(null, [], ms(now));
    holder.onRenewed(seq, { granted: names.map((name) => ({ name, generation: generation(1), leaseDurationMs: leaseMs })), refused: [] }, (n) => table.get(n), ms(now));
  };
  const first = at(0).effects;
  expect(first.map((e) => [e.ticket, e.granted, e.revokeBy])).toEqual(names.map((n) => [n, true, leaseMs - leadMs]));
  confirm(first, 10, 5);
  return { holder, at, confirm, renew };
}

describe('the recorded guard deadline follows the revoke lead down', () => {
  it('writes every grant again with the earlier deadline once a slower write raises the lead', () => {
    const { holder, at } = holding();
    expect(at(20).effects).toEqual([]);
    // Some write (an effect since superseded) took 600 ms: the lead is 1 200 ms now, the recorded 9 600 too late.
    holder.onEffectResult(9_999, true, ms(30), [], 600);
    const again = at(30).effects;
    expect(again.map((e) => [e.ticket, e.granted, e.revokeBy])).toEqual(names.map((n) => [n, true, leaseMs - 2 * 600]));
    // Faster writes later do not move it back: the slowest of the recent writes sets the lead.
    holder.onEffectResult(again[0]!.id, true, ms(100), [], 10);
    expect(at(100).effects).toEqual([]);
  });
});

describe('a slow write that comes back (issue 15: a guard update of 10 000 tickets)', () => {
  it('keeps the lead it raised through quicker writes, so the next guard update as slow writes no grant again', () => {
    const { holder, at, confirm, renew } = holding();
    const guardUpdate = (now: number, doneAt: number, writeMs: number): void => {
      const { effects, guard } = at(now);
      expect(effects).toEqual([]);
      expect(guard).toHaveLength(1);
      holder.onEffectResult(guard[0]!.id, true, ms(doneAt), [], writeMs);
    };
    // A renewal at 5 000 (lease end 15 000) moves the deadlines later in one guard update, which takes 600 ms:
    // the lead is 1 200 ms, and the grants are written again with the earlier deadline.
    renew(5_000);
    guardUpdate(5_000, 5_600, 600);
    const pulled = at(5_600).effects;
    expect(pulled.map((e) => e.revokeBy)).toEqual(names.map(() => 15_000 - 2 * 600));
    confirm(pulled, 5_700, 10);
    // Sixteen quick writes within writeSampleWindowMs: the lead stays at 1 200 ms.
    for (let i = 0; i < writeSamplesKept; i++) holder.onEffectResult(9_999, true, ms(6_000 + i), [], 10);
    expect(holder.slowestWriteMs()).toBe(600);
    // The next guard update, as slow, moves the deadlines with that lead: nothing to write again.
    renew(10_000);
    guardUpdate(10_000, 10_600, 600);
    expect(at(10_600).effects).toEqual([]);
  });
});

describe('sink probes while renewals go unanswered', () => {
  it('write the grants again once the renewals went unanswered for a while, then every few write times, each at the lead the last write gave', () => {
    const { holder, at, confirm } = holding();
    // A renewal sent at 500 that is never answered.
    holder.recordRenewal(null, [], ms(500));
    // Before unansweredMs has passed since the last answer (at 0): nothing.
    expect(at(900).effects).toEqual([]);
    expect(holder.nextDeadline(ms(900))).toBe(probeTiming.unansweredMs);
    const probe = at(1_000).effects;
    expect(probe.map((e) => [e.ticket, e.granted, e.revokeBy])).toEqual(names.map((n) => [n, true, leaseMs - leadMs]));
    // The probe's write took 700 ms: the lead is 1 400 ms now, and the grants are written again with the earlier deadline.
    confirm(probe, 1_700, 700);
    const pulled = at(1_700).effects;
    expect(pulled.map((e) => [e.ticket, e.granted, e.revokeBy])).toEqual(names.map((n) => [n, true, leaseMs - 2 * 700]));
    confirm(pulled, 2_300, 600);
    // The next probe comes sinkProbeWriteMultiple slowest writes after the last timed write, not before.
    const next = 2_300 + sinkProbeWriteMultiple * 700;
    expect(holder.nextDeadline(ms(2_300))).toBe(next);
    expect(at(next - 1).effects).toEqual([]);
    expect(at(next).effects.map((e) => [e.ticket, e.revokeBy])).toEqual(names.map((n) => [n, leaseMs - 2 * 700]));
  });

  it('write no grant whose deadline a write as slow as the slowest recent one would reach: its revoke would wait behind it (simulator seed 83)', () => {
    const { holder, at, confirm } = holding();
    holder.recordRenewal(null, [], ms(500));
    confirm(at(1_000).effects, 1_700, 700);
    // The 700 ms write raised the lead to 1 400 ms: the grants are written again with the deadline 8 600.
    const pulled = at(1_700).effects;
    expect(pulled.map((e) => e.revokeBy)).toEqual(names.map(() => leaseMs - 2 * 700));
    confirm(pulled, 2_300, 700);
    const probe = 2_300 + sinkProbeWriteMultiple * 700;
    const probed = at(probe).effects;
    expect(probed.map((e) => e.revokeBy)).toEqual(names.map(() => leaseMs - 2 * 700));
    confirm(probed, probe + 200, 200);
    // The next probe comes 500 ms before the deadline, less than the slowest write (700 ms): no write, and the revoke goes at the deadline.
    const late = probe + 200 + sinkProbeWriteMultiple * 700;
    expect(holder.nextDeadline(ms(probe + 200))).toBe(late);
    expect(at(late).effects).toEqual([]);
    expect(at(leaseMs - 2 * 700).effects.map((e) => [e.ticket, e.granted])).toEqual(names.map((n) => [n, false]));
  });

  it('do not start while renewals are answered', () => {
    const { holder, at } = holding();
    expect(holder.hasUnanswered()).toBe(false);
    expect(at(5_000).effects).toEqual([]);
  });
});

describe('a fresh incarnation that found grants in its CIB', () => {
  it('writes them again at once at their recorded deadlines, and extends no deadline before a write of its own was timed', () => {
    const table = TicketTable.fromDefs([def('t')], { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
    const e: EntryData = { type: 'grant', ticket: 't', site: siteA, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'test' } };
    expect(table.apply(e, index(1))).toEqual({ ok: true });
    // Restarted at 50 000 with t granted in the CIB, its guard deadline 53 000.
    const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [{ name: 't', granted: true, generation: generation(1), revokeBy: ms(53_000) }], ms(50_000), 1, probeTiming);
    holder.syncWithTable(table.all(), ms(50_000));
    const seq = holder.recordRenewal(null, [], ms(50_000));
    holder.onRenewed(seq, { granted: [{ name: 't', generation: generation(1), leaseDurationMs: leaseMs }], refused: [] }, (n) => table.get(n), ms(50_010));
    const effects: TicketEffect[] = [];
    const guard: GuardUpdate[] = [];
    holder.reconcile((n) => table.get(n), () => table.all(), ms(50_010), effects, guard);
    // The lease now allows 59 600, but the write goes at the recorded 53 000, and no guard update yet.
    expect(effects.map((x) => [x.ticket, x.granted, x.revokeBy, x.leaseEnd])).toEqual([['t', true, 53_000, 60_000]]);
    expect(guard).toEqual([]);
    // The write took 800 ms: the deadline moves later only now, and with the lead that write gave (1 600 ms).
    holder.onEffectResult(effects[0]!.id, true, ms(50_810), [], 800);
    const later: GuardUpdate[] = [];
    holder.extendGuard((n) => table.get(n), ms(50_810), later);
    expect(later.map((u) => u.extend)).toEqual([[{ ticket: 't', generation: 1, revokeBy: 60_000 - 1_600, leaseEnd: 60_000 }]]);
  });
});

describe('a grant refused as expired', () => {
  it('is followed by the revoke at once, not after the retry delay', () => {
    const { holder, at } = holding();
    holder.recordRenewal(null, [], ms(500));
    const probe = at(1_000).effects;
    // The host could not start the probe's writes before their deadline (9 600) had passed.
    for (const e of probe) holder.onEffectResult(e.id, false, ms(9_600));
    const revokes = at(9_600).effects;
    expect(revokes.map((e) => [e.ticket, e.granted])).toEqual(names.map((n) => [n, false]));
  });
});
