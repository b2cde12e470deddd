// What a site writes at start-up for tickets it does not hold (tickets/sink-at-start.ts, SiteHolder.issue;
// issue 15): nothing for a ticket its sink's complete start-up read shows exactly as the revoke would write it,
// or does not name while the table has it at generation 0 with no holder (but the first, whose write times the
// sink); a revoke for any difference (owner, generation, standby, attributes: booth's `-r` at every site) and
// when the placement moves on; still a revoke of a grant the sink shows (S1), and of a ticket whose state this
// formation did not write (notOurs: granted or revoked by hand), while such a state of a ticket outside the table
// is left alone.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { Cause, EntryData } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import type { CibTicketState } from '../../../src/core/tickets/holder-effects.js';
import { SiteHolder, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const siteB = memberId('site-b');
const cause: Cause = { by: 'auto', reason: 'initial', detail: 'test' };

function def(name: string): TicketDef {
  return { name, mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };
}

interface Setup {
  table: TicketTable;
  holder: SiteHolder;
  at: (now: number) => TicketEffect[];
  apply: (e: EntryData, i: number) => void;
  /** The start-up reconcile: with a complete read, one revoke of the first ticket (it times the sink), confirmed. */
  start: () => void;
}

function setup(names: readonly string[], cib: readonly CibTicketState[], complete: boolean): Setup {
  const table = TicketTable.fromDefs(names.map(def), { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
  const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, cib, ms(0), 1, { unansweredMs: 1_000, everyMinMs: 200 }, complete);
  const at = (now: number): TicketEffect[] => {
    holder.syncWithTable(table.all(), ms(now));
    const effects: TicketEffect[] = [];
    holder.reconcile((n) => table.get(n), () => table.all(), ms(now), effects, []);
    return effects;
  };
  const apply = (e: EntryData, i: number): void => {
    expect(table.apply(e, index(i))).toEqual({ ok: true });
  };
  const start = (): void => {
    const first = at(0);
    expect(first.map((e) => [e.ticket, e.granted, e.background])).toEqual([[names[0], false, true]]);
    holder.onEffectResult(first[0]!.id, true, ms(50), [], 40);
    expect(at(50)).toEqual([]);
  };
  return { table, holder, at, apply, start };
}

const quiet = { standby: false, owner: null, attrs: {} };
/** A ticket the read shows not granted, with all of it (`shown`) unless null. */
const revoked = (name: string, gen: number, shown: CibTicketState['shown'] | null = quiet): CibTicketState => ({ name, granted: false, generation: generation(gen), revokeBy: null, ...(shown === null ? {} : { shown }) });

describe('a site writes at start-up only what changes its sink', () => {
  it('writes no start-up revoke for a ticket its complete start-up read shows as the table has it, or does not name', () => {
    const { start } = setup(['first', 'absent', 'revoked'], [revoked('first', 0), revoked('revoked', 0)], true);
    start();
  });

  it('writes a start-up revoke where the read shows a different owner, generation, standby flag or attributes, or not all of it', () => {
    const names = ['first', 'owner', 'gen', 'standby', 'attrs', 'unknown', 'same'];
    const cib = [
      revoked('first', 0),
      revoked('owner', 0, { ...quiet, owner: siteB }),
      revoked('gen', 3),
      revoked('standby', 0, { ...quiet, standby: true }),
      revoked('attrs', 0, { ...quiet, attrs: { k: 'v' } }),
      revoked('unknown', 0, null),
      revoked('same', 0),
    ];
    const { at } = setup(names, cib, true);
    expect(at(0).map((e) => [e.ticket, e.granted, e.generation, e.owner, e.standby, e.attrs, e.background])).toEqual(
      ['first', 'owner', 'gen', 'standby', 'attrs', 'unknown'].map((t) => [t, false, 0, null, false, {}, true]),
    );
  });

  it('writes a revoke naming the holder when a ticket not granted here is placed at another site, and a revoke once it was granted here', () => {
    const { at, apply, holder, table, start } = setup(['t0', 't1', 't2'], [], true);
    start();
    apply({ type: 'grant', ticket: 't1', site: siteB, expectedGeneration: generation(0), cause }, 1);
    const placed = at(100);
    expect(placed.map((e) => [e.ticket, e.granted, e.generation, e.owner])).toEqual([['t1', false, 1, siteB]]);
    holder.onEffectResult(placed[0]!.id, true, ms(110), [], 10);
    expect(at(150)).toEqual([]);
    // Placed here: only the grant, once the lease comes (the sink shows it revoked), then the revoke when the ticket moves on.
    apply({ type: 'grant', ticket: 't2', site: siteA, expectedGeneration: generation(0), cause }, 2);
    expect(at(200)).toEqual([]);
    const seq = holder.recordRenewal(null, [], ms(300));
    holder.onRenewed(seq, { granted: [{ name: 't2', generation: generation(1), leaseDurationMs: 10_000 }], refused: [] }, (n) => table.get(n), ms(300));
    const [grant] = at(300);
    expect(grant).toMatchObject({ ticket: 't2', granted: true, generation: 1 });
    holder.onEffectResult(grant!.id, true, ms(310), [], 10);
    apply({ type: 'revoke', ticket: 't2', expectedGeneration: generation(1), cause: { by: 'admin', commandId: 'c1', force: false } }, 3);
    expect(at(400).map((e) => [e.ticket, e.granted, e.generation])).toEqual([['t2', false, 2]]);
  });

  it('still writes an attribute or a standby flag of a ticket not granted here', () => {
    const { at, apply, start } = setup(['t0', 't1'], [], true);
    start();
    apply({ type: 'attr-set', ticket: 't1', key: 'k', value: 'v', cause }, 1);
    expect(at(100).map((e) => [e.ticket, e.granted, e.attrs])).toEqual([['t1', false, { k: 'v' }]]);
  });

  it('writes the start-up revoke of a ticket whose state this formation did not write (notOurs), and leaves such a state of a ticket outside the table alone', () => {
    const notOurs = (name: string, granted: boolean): CibTicketState => ({ name, granted, generation: generation(0), revokeBy: null, notOurs: true });
    const cib = [revoked('first', 0), notOurs('byHand', true), notOurs('offByHand', false), notOurs('outside', true), notOurs('outsideOff', false)];
    const { at, holder } = setup(['first', 'byHand', 'offByHand', 'absent'], cib, true);
    expect(at(0).map((e) => [e.ticket, e.granted, e.generation, e.owner, e.background ?? false]).sort()).toEqual([
      ['byHand', false, 0, null, true],
      ['first', false, 0, null, true],
      ['offByHand', false, 0, null, true],
    ]);
    // Not taken as this site's grant: nothing to renew, no grant found.
    expect(holder.renewItems()).toEqual([]);
  });

  it('revokes a grant the start-up read shows (S1), and writes start-up revokes when the read is not complete', () => {
    const { at } = setup(['held', 'unlisted', 'listed'], [{ name: 'held', granted: true, generation: generation(2), revokeBy: null }, revoked('listed', 0)], false);
    expect(at(0).map((e) => [e.ticket, e.granted, e.background ?? false]).sort()).toEqual([
      ['held', false, false],
      ['listed', false, true],
      ['unlisted', false, true],
    ]);
    const complete = setup(['held'], [{ name: 'held', granted: true, generation: generation(2), revokeBy: null }], true);
    expect(complete.at(0).map((e) => [e.ticket, e.granted])).toEqual([['held', false]]);
  });
});
