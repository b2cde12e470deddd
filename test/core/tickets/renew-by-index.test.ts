// Renewals by index (docs/protocol.md §3, issue 15 item 4). What the safety
// argument rests on, piece by piece: the ticket table names every ticket an
// entry after a given index changed (a property over random entry sequences:
// every ticket whose state differs between the table at i and at the end is
// named, removals included; "cannot tell" before the index it was loaded at
// or beyond what it kept), and knows who holds what; the leader's answer
// refuses every changed ticket, renews the rest of the sender's (not those it
// gave up), and refuses the whole renewal when the index is ahead of it, too
// old, or the refusals too many; the site renews exactly what it held at the
// index less what was refused, with the D it held there, and takes a refusal
// of the whole renewal as no answer; the site link lists its tickets to a
// leader until that leader marks an answer in the current term, and lists
// again to retry a renewal refused whole.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import { renewRefusalsMax, type Cause, type EntryData, type RaftMessage, type RenewItem, type RenewRefusal } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import { SiteHolder } from '../../../src/core/tickets/site-holder.js';
import { SiteLink } from '../../../src/core/tickets/site-link.js';
import { changesKeptMax } from '../../../src/core/tickets/change-log.js';
import { answerByIndex } from '../../../src/core/tickets/renew-by-index.js';
import { RenewalBook } from '../../../src/core/tickets/site-renewals.js';
import { TicketTable, type TableLimits, type TicketState } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, term, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const siteB = memberId('site-b');
const cause: Cause = { by: 'admin', commandId: 'c', force: false };
const limits: TableLimits = { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: 4 };
const shipped = (since: number): number => since;

function def(name: string, leaseDurationMs = 10_000): TicketDef {
  return { name, mode: 'automatic', leaseDurationMs, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };
}

/** A table of `names` with entries applied from index 1 on; returns it and the next index. */
function tableWith(names: readonly string[], entries: readonly EntryData[]): { table: TicketTable; next: number } {
  const table = TicketTable.fromDefs(names.map((n) => def(n)), limits);
  entries.forEach((e, k) => expect(table.apply(e, index(k + 1))).toEqual({ ok: true }));
  return { table, next: entries.length + 1 };
}

const grant = (ticket: string, site: typeof siteA, gen: number): EntryData => ({ type: 'grant', ticket, site, expectedGeneration: generation(gen), cause });

/** renewOne as the lease office does it for tickets the table gives the sender: every one renewed. */
function renewAll(renewed: string[]): (item: RenewItem) => RenewRefusal | null {
  return (item) => {
    renewed.push(item.name);
    return null;
  };
}

describe('the table names every ticket changed after an index', () => {
  const names = ['a', 'b', 'c'];
  const entry = fc.oneof(
    fc.record({ t: fc.constantFrom(...names), s: fc.constantFrom(siteA, siteB), g: fc.nat(4) }).map(({ t, s, g }) => grant(t, s, g)),
    fc.record({ t: fc.constantFrom(...names), g: fc.nat(4) }).map(({ t, g }): EntryData => ({ type: 'revoke', ticket: t, expectedGeneration: generation(g), cause })),
    fc.record({ t: fc.constantFrom(...names), b: fc.boolean() }).map(({ t, b }): EntryData => ({ type: 'standby', ticket: t, standby: b, cause })),
    fc.record({ t: fc.constantFrom(...names), v: fc.constantFrom('x', 'y') }).map(({ t, v }): EntryData => ({ type: 'attr-set', ticket: t, key: 'k', value: v, cause })),
    fc.record({ t: fc.constantFrom(...names), d: fc.constantFrom(5_000, 10_000) }).map(({ t, d }): EntryData => ({ type: 'ticket-change', def: def(t, d), cause })),
    fc.constantFrom(...names).map((t): EntryData => ({ type: 'ticket-add', def: def(t), cause })),
    fc.constantFrom(...names).map((t): EntryData => ({ type: 'ticket-remove', ticket: t, cause })),
    fc.constant<EntryData>({ type: 'noop' }),
  );

  it('property: a ticket whose state at i differs from the end is named by changedAfter(i); heldBy matches the holders', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (seq) => {
        const table = TicketTable.fromDefs(names.map((n) => def(n)), limits);
        const states: Array<Map<string, TicketState>> = [new Map([...table.all()].map((t) => [t.def.name, t]))];
        seq.forEach((e, k) => {
          table.apply(e, index(k + 1));
          states.push(new Map([...table.all()].map((t) => [t.def.name, t])));
        });
        const end = states.at(-1)!;
        expect(table.appliedIndex).toBe(seq.length);
        for (let i = 0; i < states.length; i++) {
          const changed = table.changedAfter(i, changesKeptMax)!;
          for (const n of names) if (states[i]!.get(n) !== end.get(n)) expect(changed.has(n), `${n} after ${i}`).toBe(true);
        }
        for (const s of [siteA, siteB]) expect([...table.heldBy(s)].sort()).toEqual([...end.values()].filter((t) => t.holder === s).map((t) => t.def.name).sort());
      }),
    );
  });

  it('property: grantsChangedAfter(i) gives each changed ticket its holder, generation and D at i', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (seq) => {
        const table = TicketTable.fromDefs(names.map((n) => def(n)), limits);
        const states: Array<Map<string, TicketState>> = [new Map([...table.all()].map((t) => [t.def.name, t]))];
        seq.forEach((e, k) => {
          table.apply(e, index(k + 1));
          states.push(new Map([...table.all()].map((t) => [t.def.name, t])));
        });
        for (let i = 0; i < states.length; i++) {
          const at = table.grantsChangedAfter(i, changesKeptMax)!;
          expect(new Set(at.keys())).toEqual(table.changedAfter(i, changesKeptMax));
          for (const [n, g] of at) {
            const t = states[i]!.get(n);
            expect(g, `${n} at ${i}`).toEqual(t === undefined ? null : { holder: t.holder, generation: t.generation, leaseDurationMs: t.def.leaseDurationMs });
          }
        }
      }),
    );
  });

  it('property (the answer\'s proof, docs/protocol.md §4 (5)): every ticket the sender held at i that the answer does not refuse is the sender\'s at the end at the same generation and D', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), fc.constantFrom(siteA, siteB), (seq, site) => {
        const table = TicketTable.fromDefs(names.map((n) => def(n)), limits);
        const states: Array<Map<string, TicketState>> = [new Map([...table.all()].map((t) => [t.def.name, t]))];
        seq.forEach((e, k) => {
          table.apply(e, index(k + 1));
          states.push(new Map([...table.all()].map((t) => [t.def.name, t])));
        });
        const end = states.at(-1)!;
        for (let i = 0; i < states.length; i++) {
          const renewed: string[] = [];
          const a = answerByIndex(site, i, [], { table, renewOne: renewAll(renewed), refusesChangesAfter: shipped });
          const refused = new Set(a.refused.map((r) => r.name));
          for (const t of states[i]!.values()) {
            if (t.holder !== site || refused.has(t.def.name)) continue;
            const now = end.get(t.def.name);
            expect(now?.holder, `${t.def.name} held at ${i}`).toBe(site);
            expect(now?.generation).toBe(t.generation);
            expect(now?.def.leaseDurationMs).toBe(t.def.leaseDurationMs);
            // …and the leader renewed it (extended its view) by this very answer.
            expect(renewed).toContain(t.def.name);
          }
        }
      }),
    );
  });

  it('cannot tell before the index it was loaded at, beyond what it kept, or past a bound', () => {
    const { table } = tableWith(['a', 'b'], [grant('a', siteA, 0)]);
    const loaded = TicketTable.fromSnapshot(structuredClone(table.snapshot()), limits, undefined, index(1));
    expect(loaded.appliedIndex).toBe(1);
    expect([...loaded.heldBy(siteA)]).toEqual(['a']);
    expect(loaded.changedAfter(0, 10)).toBeNull();
    expect(loaded.changedAfter(1, 10)).toEqual(new Set());
    loaded.apply(grant('b', siteB, 0), index(2));
    expect(loaded.changedAfter(1, 10)).toEqual(new Set(['b']));
    expect(loaded.changedAfter(1, 0)).toBeNull();
    // Without the index it was loaded at, it cannot tell anything.
    expect(TicketTable.fromSnapshot(table.snapshot(), limits).changedAfter(5, 10)).toBeNull();
    // Many changes: the oldest are forgotten, and an index older than what is kept cannot be answered.
    const busy = TicketTable.fromDefs([def('a')], limits);
    for (let i = 1; i <= 3 * changesKeptMax; i++) busy.apply({ type: 'attr-set', ticket: 'a', key: 'k', value: String(i), cause }, index(i));
    expect(busy.changedAfter(0, 10 * changesKeptMax)).toBeNull();
    expect(busy.changedAfter(3 * changesKeptMax - changesKeptMax, changesKeptMax)).toEqual(new Set(['a']));
  });
});

describe('the leader answers a renewal by index', () => {
  it('refuses every ticket changed after the index, with the reason a list would give, and renews the rest of the sender\'s', () => {
    // a, b, c, d granted to site A at 1–4; then b revoked (5), c moved to B (6, 7), d's attribute set (8), e added (9).
    // d changed, but not its grant: renewed as a (below).
    const { table } = tableWith(['a', 'b', 'c', 'd'], [
      grant('a', siteA, 0),
      grant('b', siteA, 0),
      grant('c', siteA, 0),
      grant('d', siteA, 0),
      { type: 'revoke', ticket: 'b', expectedGeneration: generation(1), cause },
      { type: 'revoke', ticket: 'c', expectedGeneration: generation(1), cause },
      grant('c', siteB, 2),
      { type: 'attr-set', ticket: 'd', key: 'k', value: 'v', cause },
      { type: 'ticket-add', def: def('e'), cause },
    ]);
    const renewed: string[] = [];
    const a = answerByIndex(siteA, 4, [], { table, renewOne: renewAll(renewed), refusesChangesAfter: shipped });
    expect(a.refusedAll).toBeUndefined();
    expect(new Map(a.refused.map((r) => [r.name, r.reason]))).toEqual(
      new Map<string, RenewRefusal>([['b', 'not-holder'], ['c', 'not-holder'], ['e', 'not-holder']]),
    );
    expect(renewed.sort()).toEqual(['a', 'd']);
    // Caught up: nothing refused, both of its tickets renewed — but not one it gave up.
    const later: string[] = [];
    expect(answerByIndex(siteA, 9, ['d'], { table, renewOne: renewAll(later), refusesChangesAfter: shipped })).toEqual({ refused: [] });
    expect(later).toEqual(['a']);
  });

  it('a holder behind the leader keeps a ticket whose attribute, standby or other settings changed, but not one whose grant or D changed', () => {
    // Simulator: a holder waiting for a snapshot renews by its old index; an admin's attribute or
    // standby on its ticket must not make the leader refuse that ticket until its lease runs out.
    // a: attribute, standby, activate, acquire-after changed. b: its D halved. c: revoked and granted
    // to A again (a new generation). d: granted to A only after the index (A cannot know it holds it).
    const { table } = tableWith(['a', 'b', 'c', 'd'], [
      grant('a', siteA, 0),
      grant('b', siteA, 0),
      grant('c', siteA, 0),
      { type: 'attr-set', ticket: 'a', key: 'k', value: 'v', cause },
      { type: 'standby', ticket: 'a', standby: true, cause },
      { type: 'standby', ticket: 'a', standby: false, cause },
      { type: 'ticket-change', def: { ...def('a'), acquireAfterMs: 500 }, cause },
      { type: 'ticket-change', def: def('b', 5_000), cause },
      { type: 'revoke', ticket: 'c', expectedGeneration: generation(1), cause },
      grant('c', siteA, 2),
      grant('d', siteA, 0),
    ]);
    const renewed: string[] = [];
    const a = answerByIndex(siteA, 3, [], { table, renewOne: renewAll(renewed), refusesChangesAfter: shipped });
    expect(new Map(a.refused.map((r) => [r.name, r.reason]))).toEqual(new Map<string, RenewRefusal>([['b', 'changed'], ['c', 'changed'], ['d', 'changed']]));
    expect(renewed).toEqual(['a']);
    // Given up at the index (`except`): neither renewed nor counted as held.
    const none: string[] = [];
    expect(answerByIndex(siteA, 3, ['a'], { table, renewOne: renewAll(none), refusesChangesAfter: shipped }).refused.map((r) => r.name).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(none).toEqual([]);
    // The mutant's rule (refuse nothing changed after the index) would renew all four: the shipped rule is what refuses b, c and d.
    const all: string[] = [];
    answerByIndex(siteA, 3, [], { table, renewOne: renewAll(all), refusesChangesAfter: (_since, applied) => applied });
    expect(all.sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a removed ticket is refused as no-such-ticket', () => {
    const { table } = tableWith(['a'], [grant('a', siteA, 0), { type: 'revoke', ticket: 'a', expectedGeneration: generation(1), cause }, { type: 'ticket-remove', ticket: 'a', cause }]);
    expect(answerByIndex(siteA, 1, [], { table, renewOne: renewAll([]), refusesChangesAfter: shipped })).toEqual({
      refused: [{ name: 'a', reason: 'no-such-ticket' }],
    });
  });

  it('passes on renewOne\'s refusals, and refuses the whole renewal when the index is ahead, too old, or the refusals too many', () => {
    const { table } = tableWith(['a', 'b'], [grant('a', siteA, 0), grant('b', siteA, 0)]);
    const pending = (item: RenewItem): RenewRefusal | null => (item.name === 'b' ? 'change-pending' : null);
    expect(answerByIndex(siteA, 2, [], { table, renewOne: pending, refusesChangesAfter: shipped })).toEqual({ refused: [{ name: 'b', reason: 'change-pending' }] });
    expect(answerByIndex(siteA, 3, [], { table, renewOne: renewAll([]), refusesChangesAfter: shipped })).toEqual({ refused: [], refusedAll: 'index-ahead' });
    const loaded = TicketTable.fromSnapshot(table.snapshot(), limits, undefined, index(2));
    expect(answerByIndex(siteA, 1, [], { table: loaded, renewOne: renewAll([]), refusesChangesAfter: shipped })).toEqual({ refused: [], refusedAll: 'index-behind' });
    const many = Array.from({ length: renewRefusalsMax + 1 }, (_, i) => `t${i}`);
    const big = tableWith(many, many.map((n) => grant(n, siteA, 0))).table;
    const superseded = (): RenewRefusal => 'superseded';
    const end = big.appliedIndex;
    expect(answerByIndex(siteA, end, [], { table: big, renewOne: superseded, refusesChangesAfter: shipped })).toEqual({ refused: [], refusedAll: 'too-many-refusals' });
    expect(answerByIndex(siteA, 0, [], { table: big, renewOne: renewAll([]), refusesChangesAfter: shipped })).toEqual({ refused: [], refusedAll: 'index-behind' });
  });
});

describe('the site renews what it held at the index', () => {
  const held = [
    { name: 'a', generation: generation(3), leaseDurationMs: 10_000 },
    { name: 'b', generation: generation(1), leaseDurationMs: 20_000 },
  ];

  it('every ticket held at the index but the refused ones, with the D it held there', () => {
    const book = new RenewalBook(4, 100);
    const seq = book.record(index(7), held, ms(1_000));
    expect(seq).toBe(100);
    expect(book.nextSeq).toBe(101);
    const tableD = (): number => 99;
    const r = book.take(seq, { granted: [], refused: [{ name: 'b', reason: 'changed' }, { name: 'z', reason: 'not-holder' }], since: index(7) }, tableD);
    expect(r).toEqual({ sentAt: 1_000, renewed: [held[0]], held });
    expect(book.hasUnanswered()).toBe(false);
    // Answered once: a duplicate renews nothing.
    expect(book.take(seq, { granted: [], refused: [], since: index(7) }, tableD)).toBeNull();
  });

  it('a refusal of the whole renewal is no answer: it stays in flight and renews nothing', () => {
    const book = new RenewalBook(4, 1);
    const seq = book.record(index(7), held, ms(0));
    expect(book.take(seq, { granted: [], refused: [], since: index(7), refusedAll: 'index-behind' }, () => 1)).toBeNull();
    expect(book.hasUnanswered()).toBe(true);
    // An answer naming another index renews nothing held at this one.
    expect(book.take(seq, { granted: [], refused: [], since: index(6) }, () => 1)).toEqual({ sentAt: 0, renewed: [], held });
  });

  it('a list answer renews what it grants, with its D or else the table\'s; old renewals beyond the bound are forgotten', () => {
    const book = new RenewalBook(2, 1);
    const s1 = book.record(null, [], ms(0));
    const s2 = book.record(null, [], ms(10));
    const s3 = book.record(null, [], ms(20));
    expect(book.take(s1, { granted: [{ name: 'a', generation: generation(1) }], refused: [] }, () => 5_000)).toBeNull();
    const r = book.take(s3, { granted: [{ name: 'a', generation: generation(1) }, { name: 'b', generation: generation(2), leaseDurationMs: 7_000 }], refused: [] }, () => 5_000);
    expect(r?.renewed).toEqual([
      { name: 'a', generation: 1, leaseDurationMs: 5_000 },
      { name: 'b', generation: 2, leaseDurationMs: 7_000 },
    ]);
    // s2 was older than the answered s3: gone with it.
    expect(book.take(s2, { granted: [], refused: [] }, () => 1)).toBeNull();
  });
});

describe('the site link picks the form', () => {
  it('lists until the leader marks an answer in this term, then goes by index; a renewal refused whole is retried as a list', () => {
    const arb = memberId('arb');
    const { table } = tableWith(['a'], [grant('a', siteA, 0)]);
    const time = { now: ms(0) };
    let currentTerm = term(1);
    const sent: Array<Extract<RaftMessage, { type: 'renew' }>> = [];
    const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, [], time.now, 1);
    holder.syncWithTable(table.all(), time.now);
    const link = new SiteLink(
      {
        time,
        timing: { renewIntervalMs: 500, renewRetryMs: 200 },
        table: () => table,
        leader: () => arb,
        term: () => currentTerm,
        inc: () => 0,
        health: () => ({ quorate: true, handlersOk: true, unrunnable: [] }),
        send: (_to, msg) => void (msg.type === 'renew' && sent.push(msg)),
        probeRoute: () => undefined,
        event: () => undefined,
        drainSelfQueue: () => undefined,
      },
      holder,
    );
    const answer = (extra: Partial<Extract<RaftMessage, { type: 'renew-resp' }>>): void =>
      link.onRenewResp(arb, { type: 'renew-resp', term: currentTerm, seq: sent.at(-1)!.seq, granted: [], refused: [], renewsByIndex: true, ...extra });
    const form = (): string => {
      const m = sent.at(-1)!;
      return 'since' in m ? `since ${m.since}` : 'list';
    };

    link.sendRenewal();
    expect(form()).toBe('list');
    answer({ granted: [{ name: 'a', generation: generation(1), leaseDurationMs: 10_000 }] });
    expect(holder.view('a')?.leaseEnd).toBe(10_000);

    time.now = ms(500);
    link.sendRenewal();
    expect(form()).toBe('since 1');
    answer({ since: index(1) });
    expect(holder.view('a')?.leaseEnd).toBe(10_500);

    time.now = ms(1_000);
    link.sendRenewal();
    answer({ since: index(1), refusedAll: 'index-behind' });
    expect(holder.view('a')?.leaseEnd).toBe(10_500);
    expect(holder.hasUnanswered()).toBe(true);
    link.sendRenewal();
    expect(form()).toBe('list');
    link.sendRenewal();
    expect(form()).toBe('since 1');
    // A refused ticket is not renewed; a new term (a new leader, maybe of another build) is listed to first.
    time.now = ms(1_500);
    answer({ since: index(1), refused: [{ name: 'a', reason: 'changed' }] });
    expect(holder.view('a')?.leaseEnd).toBe(10_500);
    currentTerm = term(2);
    link.sendRenewal();
    expect(form()).toBe('list');
  });
});
