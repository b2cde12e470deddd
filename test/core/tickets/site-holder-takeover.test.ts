// The hand-over of a grant between two nodes of one site (docs/protocol.md
// §10, docs/operations.md "move the agent"): the site agent starts on another
// node with a store that knows nothing of the grant its predecessor wrote into
// the site's CIB (an empty store, or a stale one), and finds it there with a
// live booth `expires` but no deadline of its own guard. The SiteHolder must
// neither revoke it (the resources would stop) nor write it before the
// registry confirms the site holds that generation; confirmed (an answered
// renewal of it) and shown by the table, it writes the grant again with its own
// deadline — granted → granted, so nothing restarts — and never a revoke in
// between; refused, or unanswered until `expires`, it revokes as before. Held
// past `expires` on the registry's word, it asks the host to read the sink
// back, and a read without the grant (the old node's guard revoked it at
// `expires`) ends the take-over. Confirmed while the table still lags, and
// with the grant's standby and attributes read from the sink, it writes the
// grant again at once with its own deadline (a later `expires`, at which the
// old node's guard stands down) rather than wait for the table.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { Cause, EntryData } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import { SiteHolder, type CibTicketState, type GuardUpdate, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { TicketTable, type TableLimits } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type Generation, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const siteB = memberId('site-b');
const cause: Cause = { by: 'admin', commandId: 'c', force: false };
const limits: TableLimits = { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: 4 };
const leaseMs = 10_000;
const def: TicketDef = { name: 'T', mode: 'automatic', leaseDurationMs: leaseMs, acquireAfterMs: 3_000, revokeLeadMs: 500, weights: {} };
const hooks = { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead };

/** The committed table after `entries`: empty (a fresh store's bootstrap table) or with grants. */
function tableAfter(entries: readonly EntryData[]): TicketTable {
  const table = TicketTable.fromDefs([def], limits);
  entries.forEach((e, k) => expect(table.apply(e, index(k + 1))).toEqual({ ok: true }));
  return table;
}
const grantTo = (site: typeof siteA, expected: number): EntryData => ({ type: 'grant', ticket: 'T', site, expectedGeneration: generation(expected), cause });

/**
 * A holder started at `now` that finds T granted in the CIB at generation `gen`, `expires` at `expiresAt`, no guard
 * record; `cib`: the grant's standby and attributes as the sink read them (`shown`; absent: a sink that does not say).
 */
function startedOnOtherNode(gen: Generation, now: number, expiresAt: number, cib: Partial<CibTicketState> = {}): SiteHolder {
  return new SiteHolder(siteA, 4, 200, hooks, 1_000, [{ name: 'T', granted: true, generation: gen, revokeBy: null, expiresAt: ms(expiresAt), ...cib }], ms(now), 1);
}

function reconcile(holder: SiteHolder, table: TicketTable, now: number, guard: GuardUpdate[] = []): TicketEffect[] {
  const out: TicketEffect[] = [];
  holder.reconcile((n) => table.get(n), () => table.all(), ms(now), out, guard);
  return out;
}

/** An answered renewal (sent at `sentAt`, answered 50 ms later) that renews T at `gen`. */
function answer(h: SiteHolder, table: TicketTable, gen: Generation, sentAt: number): void {
  const seq = h.recordRenewal(null, [], ms(sentAt));
  h.onRenewed(seq, { granted: [{ name: 'T', generation: gen, leaseDurationMs: leaseMs }], refused: [] }, (n) => table.get(n), ms(sentAt + 50));
}

describe('a grant an agent of this site wrote on another node (the hand-over)', () => {
  const held = tableAfter([grantTo(siteA, 0)]);
  const gen = held.get('T')!.generation;

  it('is held untouched until the registry confirms its generation, then written again with a deadline — never revoked', () => {
    const fresh = tableAfter([]); // an empty store: the table does not know the grant yet
    const h = startedOnOtherNode(gen, 1_000, 9_000);
    h.syncWithTable(fresh.all(), ms(1_000));
    expect(reconcile(h, fresh, 1_000)).toEqual([]);
    // The renewal names the CIB's generation, as a list.
    expect(h.renewItems()).toEqual([{ name: 'T', generation: gen }]);
    expect(h.renewalByIndex(fresh)).toBeNull();
    const seq = h.recordRenewal(null, [], ms(1_100));
    h.onRenewed(seq, { granted: [{ name: 'T', generation: gen, leaseDurationMs: leaseMs }], refused: [] }, (n) => fresh.get(n), ms(1_150));
    // Confirmed, but the table still lags: still nothing written.
    expect(reconcile(h, fresh, 1_200)).toEqual([]);
    // The table catches up: the grant is written again (granted, same generation) with this store's deadline, no acquire-after.
    h.syncWithTable(held.all(), ms(1_300));
    const effects = reconcile(h, held, 1_300);
    expect(effects).toHaveLength(1);
    expect(effects[0]).toMatchObject({ ticket: 'T', granted: true, generation: gen, owner: siteA });
    expect(effects[0]!.revokeBy).toBe(1_100 + leaseMs - def.revokeLeadMs);
    h.onEffectResult(effects[0]!.id, true, ms(1_350));
    expect(h.view('T')).toMatchObject({ granted: true, confirmed: true, gen });
  });

  it('a stale store whose table already names this site waits for the answer too, and keeps the grant', () => {
    const h = startedOnOtherNode(gen, 1_000, 9_000);
    h.syncWithTable(held.all(), ms(1_000));
    // Without the hold, a lease not yet renewed would revoke here.
    expect(reconcile(h, held, 1_000)).toEqual([]);
    const seq = h.recordRenewal(null, [], ms(1_100));
    h.onRenewed(seq, { granted: [{ name: 'T', generation: gen, leaseDurationMs: leaseMs }], refused: [] }, (n) => held.get(n), ms(1_150));
    const effects = reconcile(h, held, 1_200);
    expect(effects.map((e) => e.granted)).toEqual([true]);
  });

  it('is revoked at once when the registry says another site or generation holds the ticket', () => {
    const moved = tableAfter([grantTo(siteA, 0), grantTo(siteB, gen)]);
    const h = startedOnOtherNode(gen, 1_000, 9_000);
    h.syncWithTable(moved.all(), ms(1_000));
    expect(reconcile(h, moved, 1_000)).toEqual([]);
    const seq = h.recordRenewal(null, [], ms(1_100));
    h.onRenewed(seq, { granted: [], refused: [{ name: 'T', reason: 'not-holder' }] }, (n) => moved.get(n), ms(1_150));
    const effects = reconcile(h, moved, 1_200);
    expect(effects.map((e) => ({ granted: e.granted, generation: e.generation }))).toEqual([{ granted: false, generation: moved.get('T')!.generation }]);
  });

  it('is revoked when its expires comes without an answer (slower than the lease: revoked and granted again, as before)', () => {
    const fresh = tableAfter([]);
    const h = startedOnOtherNode(gen, 1_000, 4_000);
    h.syncWithTable(fresh.all(), ms(1_000));
    expect(reconcile(h, fresh, 3_999)).toEqual([]);
    expect(h.nextDeadline(ms(3_999))).toBeLessThanOrEqual(4_000);
    expect(reconcile(h, fresh, 4_000).map((e) => e.granted)).toEqual([false]);
  });

  it('is revoked at once when its expires has already passed, as a grant without any deadline always was', () => {
    const fresh = tableAfter([]);
    const h = startedOnOtherNode(gen, 5_000, 4_000);
    h.syncWithTable(fresh.all(), ms(5_000));
    expect(reconcile(h, fresh, 5_000).map((e) => e.granted)).toEqual([false]);
  });

  describe('held past `expires` on the registry\'s word while the table lags (sim seed 249 --live-changes)', () => {
    // Until then the hold, extended by every answer, never learnt that the old node's guard had revoked
    // the grant at `expires`: the new agent believed in it for 14.6 s, renewing a ticket it did not run.
    const fresh = tableAfter([]);
    const start = (): SiteHolder => {
      const h = startedOnOtherNode(gen, 1_000, 4_000);
      h.syncWithTable(fresh.all(), ms(1_000));
      expect(reconcile(h, fresh, 1_000)).toEqual([]);
      const seq = h.recordRenewal(null, [], ms(1_100));
      h.onRenewed(seq, { granted: [{ name: 'T', generation: gen, leaseDurationMs: leaseMs }], refused: [] }, (n) => fresh.get(n), ms(1_150));
      expect(reconcile(h, fresh, 1_200)).toEqual([]);
      return h;
    };

    it('asks for a read of the sink once `expires` has passed, and again every retry delay while the hold lasts', () => {
      const h = start();
      expect(reconcile(h, fresh, 3_999)).toEqual([]);
      expect(h.wantsSinkRead()).toBe(false);
      expect(h.nextDeadline(ms(3_999))).toBeLessThanOrEqual(4_000);
      expect(reconcile(h, fresh, 4_000)).toEqual([]);
      expect(h.takeSinkRead()).toBe(true);
      expect(h.wantsSinkRead()).toBe(false);
      expect(h.nextDeadline(ms(4_000))).toBeLessThanOrEqual(4_200);
      expect(reconcile(h, fresh, 4_200)).toEqual([]);
      expect(h.takeSinkRead()).toBe(true);
    });

    it('a read that still shows the grant keeps the hold; the table arriving then adopts it', () => {
      const h = start();
      expect(reconcile(h, fresh, 4_000)).toEqual([]);
      expect(h.takeSinkRead()).toBe(true);
      expect(h.onSinkState([{ name: 'T', granted: true, generation: gen, revokeBy: null, expiresAt: ms(4_000) }], ms(4_050), ms(4_100))).toEqual([]);
      expect(reconcile(h, fresh, 4_100)).toEqual([]);
      expect(h.renewItems()).toEqual([{ name: 'T', generation: gen }]);
      h.syncWithTable(held.all(), ms(4_300));
      expect(reconcile(h, held, 4_300).map((e) => ({ granted: e.granted, generation: e.generation }))).toEqual([{ granted: true, generation: gen }]);
    });

    it('a read without the grant ends the take-over: the ticket is then one this site does not hold', () => {
      const h = start();
      expect(reconcile(h, fresh, 4_000)).toEqual([]);
      expect(h.takeSinkRead()).toBe(true);
      expect(h.onSinkState([{ name: 'T', granted: false, generation: gen, revokeBy: null }], ms(4_050), ms(4_100))).toEqual([{ ticket: 'T', generation: gen }]);
      expect(h.view('T')).toMatchObject({ granted: false });
      // No longer renewed at the CIB's generation (the leader's lease runs out and it grants as always), nor held untouched.
      expect(h.renewItems()).toEqual([]);
      expect(h.renewalByIndex(fresh)).not.toBeNull();
      expect(reconcile(h, fresh, 4_100).map((e) => e.granted)).toEqual([false]);
      expect(h.wantsSinkRead()).toBe(false);
      // The table catching up later gives it as any grant: after acquire-after, not adopted.
      h.syncWithTable(held.all(), ms(5_000));
      expect(reconcile(h, held, 5_000).filter((e) => e.granted)).toEqual([]);
    });
  });

  describe('of a ticket the new store does not know yet (added by `config apply`, the snapshot still on the way)', () => {
    // Seed 249 --live-changes: held only until `expires` although confirmed, then revoked as a ticket missing from the table.
    const defU: TicketDef = { ...def, name: 'U' };
    const usableMinMs = 5_000;
    const known = TicketTable.fromDefs([def, defU], limits);
    expect(known.apply({ type: 'grant', ticket: 'U', site: siteA, expectedGeneration: generation(0), cause }, index(1))).toEqual({ ok: true });
    const genU = known.get('U')!.generation;
    const unknown = tableAfter([]);
    // T, not held here, gets its start-up revoke: only U matters.
    const onU = (h: SiteHolder, table: TicketTable, now: number): TicketEffect[] => reconcile(h, table, now).filter((e) => e.ticket === 'U');
    const start = (): SiteHolder => {
      const h = new SiteHolder(siteA, 4, 200, hooks, usableMinMs, [{ name: 'U', granted: true, generation: genU, revokeBy: null, expiresAt: ms(4_000) }], ms(1_000), 1);
      h.syncWithTable(unknown.all(), ms(1_000));
      expect(onU(h, unknown, 1_000)).toEqual([]);
      const seq = h.recordRenewal(null, [], ms(1_100));
      h.onRenewed(seq, { granted: [{ name: 'U', generation: genU, leaseDurationMs: leaseMs }], refused: [] }, (n) => unknown.get(n), ms(1_150));
      return h;
    };

    it('is held on the registry\'s word past `expires` and kept when the table arrives', () => {
      const h = start();
      expect(onU(h, unknown, 4_000)).toEqual([]);
      h.syncWithTable(known.all(), ms(5_000));
      const effects = onU(h, known, 5_000);
      expect(effects.map((e) => ({ granted: e.granted, generation: e.generation, revokeBy: e.revokeBy }))).toEqual([{ granted: true, generation: genU, revokeBy: 1_100 + leaseMs - def.revokeLeadMs }]);
    });

    it('is revoked once the confirmed lease less the largest lead a definition may have runs out without the table', () => {
      const h = start();
      // lease − usableMinMs is the largest valid revoke lead: held until s + usableMinMs.
      expect(h.nextDeadline(ms(4_000))).toBeLessThanOrEqual(1_100 + usableMinMs);
      expect(onU(h, unknown, 1_100 + usableMinMs - 1)).toEqual([]);
      expect(onU(h, unknown, 1_100 + usableMinMs).map((e) => e.granted)).toEqual([false]);
    });
  });
  describe('confirmed while the table lags, the sink having said its standby and attributes (the old node\'s deadline before the table)', () => {
    // Until then the grant was written again only once the table showed it: a table that came after the old node's
    // guard deadline (booth's `expires`) lost the grant to that guard (--live-changes seeds 1–300: 240 of 432 fast-move
    // grants revoked). Written on the registry's answer, `expires` moves later and the old guard stands down.
    const fresh = tableAfter([]);
    const cib = { shown: { standby: true, attrs: { geo: 'x' } } };

    it('writes the grant again at once: same generation, the CIB\'s standby and attributes, this store\'s deadline — no revoke', () => {
      const h = startedOnOtherNode(gen, 1_000, 9_000, cib);
      h.syncWithTable(fresh.all(), ms(1_000));
      expect(reconcile(h, fresh, 1_000)).toEqual([]);
      answer(h, fresh, gen, 1_100);
      const effects = reconcile(h, fresh, 1_200);
      expect(effects).toEqual([
        { id: effects[0]!.id, ticket: 'T', granted: true, standby: true, generation: gen, owner: siteA, revokeBy: 1_100 + leaseMs - def.revokeLeadMs, leaseEnd: 1_100 + leaseMs, attrs: { geo: 'x' } },
      ]);
      h.onEffectResult(effects[0]!.id, true, ms(1_250), [], 50);
      // Nothing more while the table lags and the deadline has time left; still renewed at the CIB's generation.
      expect(reconcile(h, fresh, 1_300)).toEqual([]);
      expect(h.renewItems()).toEqual([{ name: 'T', generation: gen }]);
      // The table arrives with the same standby and attributes: adopted, nothing written again (no second CIB write).
      const shown = tableAfter([grantTo(siteA, 0), { type: 'standby', ticket: 'T', standby: true, cause }, { type: 'attr-set', ticket: 'T', key: 'geo', value: 'x', cause }]);
      h.syncWithTable(shown.all(), ms(1_400));
      expect(reconcile(h, shown, 1_400)).toEqual([]);
      expect(h.view('T')).toMatchObject({ granted: true, confirmed: true, gen, leaseEnd: 1_100 + leaseMs });
    });

    it('writes it again as a guard update would move the deadline: not on every answer, once half its time has passed', () => {
      const h = startedOnOtherNode(gen, 1_000, 9_000, cib);
      h.syncWithTable(fresh.all(), ms(1_000));
      answer(h, fresh, gen, 1_100);
      const first = reconcile(h, fresh, 1_200);
      expect(first.map((e) => e.revokeBy)).toEqual([10_600]);
      // Not while that write is in flight.
      answer(h, fresh, gen, 1_300);
      expect(reconcile(h, fresh, 1_400)).toEqual([]);
      h.onEffectResult(first[0]!.id, true, ms(1_450), [], 50);
      answer(h, fresh, gen, 2_000);
      expect(reconcile(h, fresh, 2_100)).toEqual([]);
      // Half the time the deadline had left (10 600 − 6 000 < (13 600 − 6 000) / 2) has passed: written again, later.
      answer(h, fresh, gen, 5_950);
      expect(reconcile(h, fresh, 6_000).map((e) => ({ granted: e.granted, generation: e.generation, revokeBy: e.revokeBy }))).toEqual([{ granted: true, generation: gen, revokeBy: 5_950 + leaseMs - def.revokeLeadMs }]);
    });

    it('writes nothing that would end the grant before its `expires`: the hold keeps it that long untouched', () => {
      const h = startedOnOtherNode(gen, 1_000, 12_000, cib);
      h.syncWithTable(fresh.all(), ms(1_000));
      answer(h, fresh, gen, 1_100);
      // 10 600 is before `expires` (12 000): nothing written.
      expect(reconcile(h, fresh, 1_200)).toEqual([]);
      // A later answer moves the deadline past it: written.
      answer(h, fresh, gen, 3_000);
      expect(reconcile(h, fresh, 3_100).map((e) => ({ granted: e.granted, revokeBy: e.revokeBy }))).toEqual([{ granted: true, revokeBy: 3_000 + leaseMs - def.revokeLeadMs }]);
    });

    it('writes nothing for a ticket it may not run here, nor without the sink\'s standby and attributes (they would be overwritten)', () => {
      const blocked = startedOnOtherNode(gen, 1_000, 9_000, cib);
      blocked.syncWithTable(fresh.all(), ms(1_000));
      blocked.setBlocked(new Set(['T']));
      answer(blocked, fresh, gen, 1_100);
      expect(reconcile(blocked, fresh, 1_200).filter((e) => e.granted)).toEqual([]);
      const unsaid = startedOnOtherNode(gen, 1_000, 9_000);
      unsaid.syncWithTable(fresh.all(), ms(1_000));
      answer(unsaid, fresh, gen, 1_100);
      expect(reconcile(unsaid, fresh, 1_200)).toEqual([]);
    });

    it('a write that fails is tried again after the retry delay, while the hold lasts', () => {
      const h = startedOnOtherNode(gen, 1_000, 9_000, cib);
      h.syncWithTable(fresh.all(), ms(1_000));
      answer(h, fresh, gen, 1_100);
      const first = reconcile(h, fresh, 1_200);
      h.onEffectResult(first[0]!.id, false, ms(1_300));
      expect(reconcile(h, fresh, 1_300)).toEqual([]);
      expect(h.nextDeadline(ms(1_300))).toBeLessThanOrEqual(1_500);
      expect(reconcile(h, fresh, 1_500).map((e) => ({ granted: e.granted, generation: e.generation }))).toEqual([{ granted: true, generation: gen }]);
    });
  });
});
