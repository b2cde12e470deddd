// The compliance suite of the TicketSink port (src/ports/ports.ts), run
// against every implementation — the crm_ticket sink on a real CIB file and
// the file stand-in — so that the stand-in, which the demo and the
// integration tests use, cannot drift from the sink production runs
// (STYLE.md, from js-libp2p; as storage-compliance.ts and
// transport-compliance.ts do for their ports).
//
// A SinkMedium stands for what the sink writes to (a CIB file with its guard
// record, a ticket directory): the suite opens a sink on it, opens another to
// play a restart, reads a ticket back WITHOUT the sink (`inspect`: cibadmin,
// or the ticket file as the CLI reads it), and breaks it to play a failing
// write. Time is a clock the suite sets by hand.
//
// It checks: readAll on an empty medium, and after grants and revokes, also
// from a sink opened afresh, and its start-up read (readAtStart) then; what a grant, a revoke and standby leave behind
// as another reader sees it, attributes included; extendGuard moves a
// deadline only later, and skips — naming them in `skipped` — a ticket with
// no grant, a grant of another generation, and a grant whose deadline has
// passed; a grant whose deadline has passed is not written; a grant without
// a deadline is refused as a programmer error (it throws); after a reboot no
// deadline comes back; applying an effect or a guard update twice changes
// nothing more; a broken medium makes apply and extendGuard resolve with
// ok: false and an error, never throw. applyBatch (many tickets in one
// write): one outcome per effect, in order; grants, revokes, standby and
// attributes of many tickets land as apply's would, deadlines armed; a grant
// whose deadline passed fails alone and the rest are written; on a broken
// medium every effect fails.
import { afterEach, describe, expect, it } from 'vitest';
import type { CibTicketState, GuardExtension, TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { AssertionError, generation, memberId, ms, type Ms } from '../../../src/core/types.js';
import type { MonotonicClock, TicketSink } from '../../../src/ports/ports.js';

/** A monotonic clock the suite moves by hand. */
export class HandClock implements MonotonicClock {
  constructor(public t: number) {}
  now(): Ms {
    return ms(this.t);
  }
}

/** One ticket as a reader other than the sink sees it; null when the medium has no state for it. */
export interface InspectedTicket {
  readonly granted: boolean;
  readonly standby: boolean;
  readonly generation: number;
  /** Geo attributes only (not booth's or Pacemaker's own). */
  readonly attrs: Readonly<Record<string, string>>;
}

export interface SinkMedium {
  /** The clock every sink opened on this medium uses (effect.revokeBy is on it). */
  readonly clock: HandClock;
  /** A new sink on the medium, as after a restart of the agent (same boot). */
  open(): Promise<TicketSink>;
  /** A new sink on the medium after a reboot: the monotonic clock restarted, so no deadline of before is known. */
  openAfterReboot(): Promise<TicketSink>;
  /** Reads one ticket without the sink. */
  inspect(ticket: string): Promise<InspectedTicket | null>;
  /** Makes every later write to the ticket state and to the guard record fail. */
  break(): Promise<void>;
  dispose(): Promise<void>;
}

/** Monotonic time at which every test starts. */
export const start = 5_000_000;
/** Lease deadlines in the tests: well after `start`, so only the tests that mean to pass them do. */
const leaseMs = 30_000;

function grant(over: Partial<TicketEffect> = {}): TicketEffect {
  return {
    id: 1,
    ticket: 'ticketA',
    granted: true,
    standby: false,
    generation: generation(7),
    owner: memberId('site-a'),
    revokeBy: ms(start + leaseMs),
    attrs: {},
    ...over,
  };
}

function revoke(over: Partial<TicketEffect> = {}): TicketEffect {
  return grant({ granted: false, owner: null, revokeBy: null, ...over });
}

function ext(ticket: string, gen: number, revokeBy: number): GuardExtension {
  return { ticket, generation: generation(gen), revokeBy: ms(revokeBy) };
}

const byName = (a: { readonly name: string }, b: { readonly name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * What every sink reads back; `expiresAt` (booth's `expires`) and a grant's `shown` (its standby and attributes:
 * what a take-over of a grant written on another node needs, the CIB's alone) are checked in crm-ticket-sink.test.ts.
 */
async function readAll(sink: TicketSink): Promise<CibTicketState[]> {
  // `shown` of a ticket not granted (all of it, owner included: the file sink's only) is checked in file-ticket-sink.test.ts.
  return (await sink.readAll()).map(({ expiresAt: _cibOnly, shown: _sinkSpecific, ...c }) => c).sort(byName);
}

export function describeTicketSinkCompliance(name: string, makeMedium: () => Promise<SinkMedium>): void {
  describe(`TicketSink compliance: ${name}`, () => {
    const media: SinkMedium[] = [];
    afterEach(async () => {
      for (const m of media.splice(0)) await m.dispose();
    });

    async function medium(): Promise<SinkMedium> {
      const m = await makeMedium();
      media.push(m);
      expect(m.clock.now()).toBe(start);
      return m;
    }

    it('reads nothing from an empty medium', async () => {
      const m = await medium();
      expect(await (await m.open()).readAll()).toEqual([]);
      expect(await m.inspect('ticketA')).toBeNull();
    });

    it('reads back grants (with their deadline) and revokes (with their generation), also from a sink opened afresh', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      expect(await sink.apply(revoke({ ticket: 'ticketB', generation: generation(3) }))).toEqual({ ok: true });
      const want = [
        { name: 'ticketA', granted: true, generation: 7, revokeBy: start + leaseMs },
        { name: 'ticketB', granted: false, generation: 3, revokeBy: null },
      ];
      expect(await readAll(sink)).toEqual(want);
      expect(await readAll(await m.open())).toEqual(want);
      // The start-up read of a sink opened afresh: the same tickets, and (nothing else on the medium) complete.
      const atStart = await (await m.open()).readAtStart();
      expect(atStart.complete).toBe(true);
      expect(atStart.tickets.map(({ expiresAt: _cibOnly, shown: _sinkSpecific, ...c }) => c).sort(byName)).toEqual(want);
    });

    it('a grant, then a revoke of a later generation, as another reader sees them', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      expect(await m.inspect('ticketA')).toEqual({ granted: true, standby: false, generation: 7, attrs: {} });
      expect(await sink.apply(revoke({ generation: generation(8) }))).toEqual({ ok: true });
      expect(await m.inspect('ticketA')).toEqual({ granted: false, standby: false, generation: 8, attrs: {} });
      expect(await readAll(sink)).toEqual([{ name: 'ticketA', granted: false, generation: 8, revokeBy: null }]);
    });

    it('standby is set with a grant and cleared by a later effect; the grant stays', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant({ standby: true }))).toEqual({ ok: true });
      expect(await m.inspect('ticketA')).toMatchObject({ granted: true, standby: true });
      expect(await sink.apply(grant({ standby: false }))).toEqual({ ok: true });
      expect(await m.inspect('ticketA')).toMatchObject({ granted: true, standby: false });
      expect(await sink.apply(revoke({ standby: true }))).toEqual({ ok: true });
      expect(await m.inspect('ticketA')).toMatchObject({ granted: false, standby: true });
    });

    it('writes the geo attributes of the effect, and removes those gone from it', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant({ attrs: { a: '1', note: 'a "quoted" <value> & more' } }))).toEqual({ ok: true });
      expect((await m.inspect('ticketA'))?.attrs).toEqual({ a: '1', note: 'a "quoted" <value> & more' });
      expect(await sink.apply(grant({ attrs: { a: '2' } }))).toEqual({ ok: true });
      expect((await m.inspect('ticketA'))?.attrs).toEqual({ a: '2' });
    });

    it('extendGuard moves a deadline later, never earlier; an earlier one is ignored, not skipped', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      expect(await sink.extendGuard({ id: 2, extend: [ext('ticketA', 7, start + 40_000)] })).toEqual({ ok: true, skipped: [] });
      expect(await readAll(sink)).toEqual([{ name: 'ticketA', granted: true, generation: 7, revokeBy: start + 40_000 }]);
      expect(await sink.extendGuard({ id: 3, extend: [ext('ticketA', 7, start + 35_000)] })).toEqual({ ok: true, skipped: [] });
      expect(await readAll(sink)).toEqual([{ name: 'ticketA', granted: true, generation: 7, revokeBy: start + 40_000 }]);
      // The moved deadline is what a sink opened afresh finds (the agent's restart), and the grant is unchanged.
      expect(await readAll(await m.open())).toEqual([{ name: 'ticketA', granted: true, generation: 7, revokeBy: start + 40_000 }]);
      expect(await m.inspect('ticketA')).toEqual({ granted: true, standby: false, generation: 7, attrs: {} });
    });

    it('extendGuard skips, and names, a ticket with no grant, a grant of another generation, and a grant whose deadline passed', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      expect(await sink.apply(grant({ ticket: 'ticketB', revokeBy: ms(start + 1_000) }))).toEqual({ ok: true });
      expect(await sink.apply(revoke({ ticket: 'ticketC' }))).toEqual({ ok: true });
      m.clock.t = start + 1_000; // ticketB's deadline: the lease guard may have revoked it
      const r = await sink.extendGuard({
        id: 2,
        extend: [ext('ticketA', 6, start + 60_000), ext('ticketB', 7, start + 60_000), ext('ticketC', 7, start + 60_000), ext('never', 7, start + 60_000)],
      });
      expect(r.ok).toBe(true);
      expect([...(r.skipped ?? [])].sort()).toEqual(['never', 'ticketA', 'ticketB', 'ticketC']);
      expect(await readAll(sink)).toEqual([
        { name: 'ticketA', granted: true, generation: 7, revokeBy: start + leaseMs },
        { name: 'ticketB', granted: true, generation: 7, revokeBy: start + 1_000 },
        { name: 'ticketC', granted: false, generation: 7, revokeBy: null },
      ]);
    });

    it('does not write a grant whose deadline has passed: ok false, nothing changed', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(revoke({ generation: generation(6) }))).toEqual({ ok: true });
      m.clock.t = start + leaseMs;
      const r = await sink.apply(grant());
      expect(r.ok).toBe(false);
      expect(r.error).toEqual(expect.any(String));
      expect(await m.inspect('ticketA')).toMatchObject({ granted: false, generation: 6 });
      expect(await readAll(sink)).toEqual([{ name: 'ticketA', granted: false, generation: 6, revokeBy: null }]);
    });

    it('applying an effect or a guard update twice leaves the same state', async () => {
      const m = await medium();
      const sink = await m.open();
      const e = grant({ standby: true, attrs: { a: '1' } });
      expect(await sink.apply(e)).toEqual({ ok: true });
      const once = { all: await readAll(sink), seen: await m.inspect('ticketA') };
      expect(await sink.apply(e)).toEqual({ ok: true });
      expect({ all: await readAll(sink), seen: await m.inspect('ticketA') }).toEqual(once);
      const u = { id: 2, extend: [ext('ticketA', 7, start + 50_000)] };
      expect(await sink.extendGuard(u)).toEqual({ ok: true, skipped: [] });
      expect(await sink.extendGuard(u)).toEqual({ ok: true, skipped: [] });
      expect(await readAll(sink)).toEqual([{ name: 'ticketA', granted: true, generation: 7, revokeBy: start + 50_000 }]);
      const r = revoke({ generation: generation(8) });
      expect(await sink.apply(r)).toEqual({ ok: true });
      expect(await sink.apply(r)).toEqual({ ok: true });
      expect(await m.inspect('ticketA')).toEqual({ granted: false, standby: false, generation: 8, attrs: {} });
    });

    it('after a reboot, no grant comes back with a deadline (those were on the old boot\'s clock)', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      expect(await sink.apply(revoke({ ticket: 'ticketB', generation: generation(3) }))).toEqual({ ok: true });
      const after = await readAll(await m.openAfterReboot());
      expect(after.map((t) => [t.name, t.generation, t.revokeBy])).toEqual([
        ['ticketA', 7, null],
        ['ticketB', 3, null],
      ]);
      // Whether ticketA still reads as granted depends on the medium: the CIB outlives the node's boot
      // (granted, so the core revokes it), a ticket file of another boot is void by its own rule (not granted).
      expect(after[1]?.granted).toBe(false);
    });

    it('a grant without a deadline is a programmer error: it throws and writes nothing', async () => {
      const m = await medium();
      const sink = await m.open();
      await expect(sink.apply(grant({ revokeBy: null }))).rejects.toThrow(AssertionError);
      expect(await m.inspect('ticketA')).toBeNull();
      expect(await sink.readAll()).toEqual([]);
    });

    it('applyBatch writes many tickets as apply would, one outcome per effect, in order', async () => {
      const m = await medium();
      const sink = await m.open();
      const names = Array.from({ length: 12 }, (_, i) => `t${i}`);
      const grants = names.map((ticket, i) => grant({ id: 100 + i, ticket, revokeBy: ms(start + leaseMs + i), standby: i === 3, attrs: i === 4 ? { note: 'a "quoted" <value> & more' } : {} }));
      expect(await sink.applyBatch(grants)).toEqual(grants.map((e) => ({ id: e.id, ok: true })));
      expect(await m.inspect('t3')).toEqual({ granted: true, standby: true, generation: 7, attrs: {} });
      expect(await m.inspect('t4')).toEqual({ granted: true, standby: false, generation: 7, attrs: { note: 'a "quoted" <value> & more' } });
      const want = names.map((name, i) => ({ name, granted: true, generation: 7, revokeBy: start + leaseMs + i })).sort(byName);
      expect(await readAll(sink)).toEqual(want);
      expect(await readAll(await m.open())).toEqual(want);
      // Half of them revoked at a later generation, in one batch; the others untouched.
      const revokes = names.filter((_, i) => i % 2 === 0).map((ticket, i) => revoke({ id: 200 + i, ticket, generation: generation(8) }));
      expect(await sink.applyBatch(revokes)).toEqual(revokes.map((e) => ({ id: e.id, ok: true })));
      expect(await readAll(await m.open())).toEqual(
        names.map((name, i) => (i % 2 === 0 ? { name, granted: false, generation: 8, revokeBy: null } : { name, granted: true, generation: 7, revokeBy: start + leaseMs + i })).sort(byName),
      );
      expect(await m.inspect('t3')).toEqual({ granted: true, standby: true, generation: 7, attrs: {} });
      expect(await sink.applyBatch([])).toEqual([]);
    });

    it('applyBatch: a grant whose deadline passed fails alone; the rest of the batch is written', async () => {
      const m = await medium();
      const sink = await m.open();
      m.clock.t = start + 1_000;
      const batch = [grant({ id: 1, ticket: 'a' }), grant({ id: 2, ticket: 'late', revokeBy: ms(start + 1_000) }), revoke({ id: 3, ticket: 'b', generation: generation(2) })];
      const r = await sink.applyBatch(batch);
      expect(r.map((o) => [o.id, o.ok])).toEqual([
        [1, true],
        [2, false],
        [3, true],
      ]);
      expect(r[1]?.error).toMatch(/deadline/);
      expect(await m.inspect('late')).toBeNull();
      expect(await readAll(sink)).toEqual([
        { name: 'a', granted: true, generation: 7, revokeBy: start + leaseMs },
        { name: 'b', granted: false, generation: 2, revokeBy: null },
      ]);
    });

    it('applyBatch on a broken medium: every effect fails with an error, nothing throws', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      await m.break();
      const r = await sink.applyBatch([grant({ id: 1, revokeBy: ms(start + 40_000) }), revoke({ id: 2, ticket: 'ticketB', generation: generation(8) }), grant({ id: 3, ticket: 'ticketC' })]);
      expect(r.map((o) => o.id)).toEqual([1, 2, 3]);
      for (const o of r) {
        expect(o.ok, `effect ${o.id}`).toBe(false);
        expect(o.error).toMatch(/\S/);
      }
    });

    it('a broken medium: apply and extendGuard resolve with ok false and an error, never throw', async () => {
      const m = await medium();
      const sink = await m.open();
      expect(await sink.apply(grant())).toEqual({ ok: true });
      await m.break();
      for (const e of [grant({ revokeBy: ms(start + 40_000) }), revoke({ generation: generation(8) }), grant({ ticket: 'ticketB' })]) {
        const r = await sink.apply(e);
        expect(r.ok, `${e.ticket} granted=${e.granted}`).toBe(false);
        expect(r.error).toMatch(/\S/);
      }
      const u = await sink.extendGuard({ id: 2, extend: [ext('ticketA', 7, start + 50_000)] });
      expect(u.ok).toBe(false);
      expect(u.error).toMatch(/\S/);
    });
  });
}
