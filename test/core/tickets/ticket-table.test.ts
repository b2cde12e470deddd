// Checks src/core/ticket-table.ts, the registry's replicated state machine.
// Example tests apply each entry type and check the resulting ticket state
// and history record; grant and revoke are compare-and-set on the generation,
// so a stale one must change nothing at all (state and history alike); the
// limits (ticketCountMax, attrsPerTicketMax, historyRecordsMax) hold. A
// property test applies random entry sequences to a table and requires: the
// generation of every ticket never decreases and grows by exactly one on each
// applied grant or revoke (S2), a rejected entry leaves the snapshot
// unchanged, and a table rebuilt from any intermediate snapshot applies the
// rest of the sequence to the same final state (snapshot round trip).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../../src/core/config.js';
import type { Cause, EntryData } from '../../../src/core/messages.js';
import { historyRecordsMaxDefault as historyRecordsMax, TicketTable, type TableLimits } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, type TicketDef } from '../../../src/core/types.js';

const siteA = memberId('site-a');
const siteB = memberId('site-b');
const admin: Cause = { by: 'admin', commandId: 'cmd-1', force: false };
const auto: Cause = { by: 'auto', reason: 'initial' };

function def(name: string, mode: TicketDef['mode'] = 'automatic'): TicketDef {
  return { name, mode, leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };
}

const limits: TableLimits = { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax };

function table(names: readonly string[] = ['ticket-a'], l: TableLimits = limits): TicketTable {
  return TicketTable.fromDefs(names.map((n) => def(n)), l);
}

function grant(ticket: string, site: typeof siteA, expected: number): EntryData {
  return { type: 'grant', ticket, site, expectedGeneration: generation(expected), cause: auto };
}

function revoke(ticket: string, expected: number): EntryData {
  return { type: 'revoke', ticket, expectedGeneration: generation(expected), cause: admin };
}

describe('initial state', () => {
  it('starts every ticket unheld, at generation 0, managed, active, without attributes', () => {
    const t = table(['a', 'b']);
    expect(t.size).toBe(2);
    expect(t.names()).toEqual(['a', 'b']);
    expect(t.get('a')).toMatchObject({ holder: null, generation: 0, standby: false, managed: true, attrs: {} });
    expect(t.historyOf()).toEqual([]);
  });
});

describe('each entry type', () => {
  it('noop changes nothing; config changes no ticket and counts one config version', () => {
    const t = table();
    const before = t.snapshot();
    expect(t.apply({ type: 'noop' }, index(1))).toEqual({ ok: true });
    expect(t.snapshot()).toEqual(before);
    expect(t.apply({ type: 'config', members: [] }, index(2))).toEqual({ ok: true });
    expect(t.snapshot()).toEqual({ ...before, configVersion: 1 });
  });

  it('grant sets the holder, bumps the generation and clears standby', () => {
    const t = table();
    t.apply({ type: 'standby', ticket: 'ticket-a', standby: true, cause: admin }, index(1));
    expect(t.apply(grant('ticket-a', siteA, 0), index(2))).toEqual({ ok: true });
    expect(t.get('ticket-a')).toMatchObject({ holder: siteA, generation: 1, standby: false, managed: true });
    expect(t.historyOf('ticket-a').at(-1)).toEqual({ index: 2, ticket: 'ticket-a', change: 'grant', holder: siteA, generation: 1, cause: auto });
  });

  it('revoke clears the holder, bumps the generation and unmanages the ticket (booth semantics)', () => {
    const t = table();
    t.apply(grant('ticket-a', siteA, 0), index(1));
    expect(t.apply(revoke('ticket-a', 1), index(2))).toEqual({ ok: true });
    expect(t.get('ticket-a')).toMatchObject({ holder: null, generation: 2, managed: false });
    expect(t.historyOf('ticket-a').at(-1)).toMatchObject({ change: 'revoke', holder: null, generation: 2, cause: admin });
  });

  it('a later grant manages the ticket again', () => {
    const t = table();
    t.apply(revoke('ticket-a', 0), index(1));
    expect(t.get('ticket-a')!.managed).toBe(false);
    t.apply(grant('ticket-a', siteB, 1), index(2));
    expect(t.get('ticket-a')).toMatchObject({ holder: siteB, generation: 2, managed: true });
  });

  it('standby and activate flip the flag without touching holder or generation', () => {
    const t = table();
    t.apply(grant('ticket-a', siteA, 0), index(1));
    t.apply({ type: 'standby', ticket: 'ticket-a', standby: true, cause: admin }, index(2));
    expect(t.get('ticket-a')).toMatchObject({ holder: siteA, generation: 1, standby: true });
    t.apply({ type: 'standby', ticket: 'ticket-a', standby: false, cause: admin }, index(3));
    expect(t.get('ticket-a')).toMatchObject({ holder: siteA, generation: 1, standby: false });
    expect(t.historyOf('ticket-a').map((h) => h.change)).toEqual(['grant', 'standby', 'activate']);
  });

  it('attr-set adds and overwrites; attr-delete removes, and refuses a missing key', () => {
    const t = table();
    t.apply({ type: 'attr-set', ticket: 'ticket-a', key: 'k', value: '1', cause: admin }, index(1));
    t.apply({ type: 'attr-set', ticket: 'ticket-a', key: 'k', value: '2', cause: admin }, index(2));
    expect(t.get('ticket-a')!.attrs).toEqual({ k: '2' });
    expect(t.apply({ type: 'attr-delete', ticket: 'ticket-a', key: 'k', cause: admin }, index(3))).toEqual({ ok: true });
    expect(t.get('ticket-a')!.attrs).toEqual({});
    expect(t.apply({ type: 'attr-delete', ticket: 'ticket-a', key: 'k', cause: admin }, index(4))).toEqual({ ok: false, reason: 'no-such-attribute' });
    expect(t.historyOf('ticket-a').map((h) => h.change)).toEqual(['attr-set k', 'attr-set k', 'attr-delete k']);
  });

  it('ticket-add adds an unheld ticket at the generation of its log index and refuses a duplicate', () => {
    const t = table();
    expect(t.apply({ type: 'ticket-add', def: def('ticket-b', 'manual'), cause: admin }, index(1))).toEqual({ ok: true });
    expect(t.get('ticket-b')).toMatchObject({ holder: null, generation: 1, managed: true });
    expect(t.get('ticket-b')!.def.mode).toBe('manual');
    expect(t.apply({ type: 'ticket-add', def: def('ticket-b'), cause: admin }, index(2))).toEqual({ ok: false, reason: 'ticket-exists' });
  });

  it('ticket-remove removes an unheld ticket, refuses a held one, and records the removal', () => {
    const t = table(['a', 'b']);
    t.apply(grant('b', siteA, 0), index(1));
    expect(t.apply({ type: 'ticket-remove', ticket: 'b', cause: admin }, index(2))).toEqual({ ok: false, reason: 'ticket-held' });
    expect(t.apply({ type: 'ticket-remove', ticket: 'a', cause: admin }, index(3))).toEqual({ ok: true });
    expect(t.get('a')).toBeUndefined();
    expect(t.names()).toEqual(['b']);
    expect(t.historyOf('a')).toEqual([{ index: 3, ticket: 'a', change: 'remove', holder: null, generation: 0, cause: admin }]);
  });

  it('ticket-change replaces the settings, keeps holder, generation and attributes, and counts a config version', () => {
    const t = table(['a']);
    t.apply(grant('a', siteA, 0), index(1));
    t.apply({ type: 'attr-set', ticket: 'a', key: 'k', value: 'v', cause: admin }, index(2));
    const longer: TicketDef = { ...def('a', 'manual'), leaseDurationMs: 20_000, weights: { 'site-b': 5 } };
    expect(t.apply({ type: 'ticket-change', def: longer, cause: admin }, index(3))).toEqual({ ok: true });
    expect(t.get('a')).toMatchObject({ holder: siteA, generation: 1, attrs: { k: 'v' }, def: longer });
    expect(t.get('a')!.leaseDurationHonouredMs).toBeUndefined();
    expect(t.configVersion).toBe(1);
    expect(t.historyOf('a').at(-1)!.change).toBe('change mode automatic→manual, expire 10000→20000 ms, weights');
  });

  it('a shortened lease of a held ticket stays owed at its old length until the generation changes', () => {
    const t = table(['a']);
    t.apply(grant('a', siteA, 0), index(1));
    const shorter: TicketDef = { ...def('a'), leaseDurationMs: 4_000 };
    t.apply({ type: 'ticket-change', def: shorter, cause: admin }, index(2));
    expect(t.get('a')!.leaseDurationHonouredMs).toBe(10_000);
    // A second, shorter still, change keeps the longest owed.
    t.apply({ type: 'ticket-change', def: { ...shorter, leaseDurationMs: 3_000 }, cause: admin }, index(3));
    expect(t.get('a')!.leaseDurationHonouredMs).toBe(10_000);
    // Round trip through a snapshot keeps it (a new leader honours it: lease-office.ts takeOffice).
    expect(TicketTable.fromSnapshot(t.snapshot(), limits).get('a')!.leaseDurationHonouredMs).toBe(10_000);
    t.apply(revoke('a', 1), index(4));
    expect(t.get('a')!.leaseDurationHonouredMs).toBeUndefined();
  });

  it('a ticket-change or ticket-add the formation check refuses changes nothing, version included', () => {
    const t = TicketTable.fromSnapshot(table(['a']).snapshot(), limits, (d) => (d.leaseDurationMs < 1_000 ? 'leaseDurationMs: too short' : null));
    const before = t.snapshot();
    expect(t.apply({ type: 'ticket-change', def: { ...def('a'), leaseDurationMs: 5 }, cause: admin }, index(1))).toEqual({ ok: false, reason: 'invalid: leaseDurationMs: too short' });
    expect(t.apply({ type: 'ticket-add', def: { ...def('b'), leaseDurationMs: 5 }, cause: admin }, index(2))).toEqual({ ok: false, reason: 'invalid: leaseDurationMs: too short' });
    expect(t.apply({ type: 'ticket-change', def: def('nope'), cause: admin }, index(3))).toEqual({ ok: false, reason: 'no-such-ticket' });
    expect(t.snapshot()).toEqual(before);
  });

  it('every ticket entry refuses an unknown ticket and changes nothing', () => {
    const t = table();
    const before = t.snapshot();
    const unknown: EntryData[] = [
      grant('nope', siteA, 0),
      revoke('nope', 0),
      { type: 'standby', ticket: 'nope', standby: true, cause: admin },
      { type: 'attr-set', ticket: 'nope', key: 'k', value: 'v', cause: admin },
      { type: 'attr-delete', ticket: 'nope', key: 'k', cause: admin },
      { type: 'ticket-remove', ticket: 'nope', cause: admin },
    ];
    for (const e of unknown) expect(t.apply(e, index(1)), e.type).toEqual({ ok: false, reason: 'no-such-ticket' });
    expect(t.snapshot()).toEqual(before);
  });
});

describe('compare-and-set on the generation', () => {
  it('a stale grant changes nothing', () => {
    const t = table();
    t.apply(grant('ticket-a', siteA, 0), index(1));
    const before = t.snapshot();
    expect(t.apply(grant('ticket-a', siteB, 0), index(2))).toEqual({ ok: false, reason: 'stale-generation' });
    expect(t.apply(grant('ticket-a', siteB, 7), index(3))).toEqual({ ok: false, reason: 'stale-generation' });
    expect(t.snapshot()).toEqual(before);
    expect(t.get('ticket-a')).toMatchObject({ holder: siteA, generation: 1 });
  });

  it('a stale revoke changes nothing', () => {
    const t = table();
    t.apply(grant('ticket-a', siteA, 0), index(1));
    const before = t.snapshot();
    expect(t.apply(revoke('ticket-a', 0), index(2))).toEqual({ ok: false, reason: 'stale-generation' });
    expect(t.snapshot()).toEqual(before);
  });

  // Regression, found by these tests and fixed (S2, src/core/ticket-table.ts 'ticket-add'): a ticket removed and added
  // again under the same name restarts at generation 0, so the fencing token
  // written to the CIB as booth's `term` goes backwards (here 2 → 1) — S2 says
  // it only grows. Sites' CIBs still carry the old ticket (same name) with its
  // higher term after the remove, and anything that fences on `term` would
  // take the new grant for a stale one. A fix: keep the removed ticket's last
  // generation (e.g. a tombstone map in the table and its snapshot) and start
  // the re-added ticket above it.
  it('a ticket removed and added again never reuses a lower generation (S2)', () => {
    const t = table();
    t.apply(grant('ticket-a', siteA, 0), index(1));
    t.apply(revoke('ticket-a', 1), index(2));
    const last = t.get('ticket-a')!.generation;
    t.apply({ type: 'ticket-remove', ticket: 'ticket-a', cause: admin }, index(3));
    t.apply({ type: 'ticket-add', def: def('ticket-a'), cause: admin }, index(4));
    t.apply(grant('ticket-a', siteB, t.get('ticket-a')!.generation), index(5));
    expect(t.get('ticket-a')!.generation).toBeGreaterThan(last);
  });

  it('two grants raced against the same generation: only the first applies', () => {
    const t = table();
    expect(t.apply(grant('ticket-a', siteA, 0), index(1)).ok).toBe(true);
    expect(t.apply(grant('ticket-a', siteB, 0), index(2)).ok).toBe(false);
    expect(t.get('ticket-a')!.holder).toBe(siteA);
  });
});

describe('limits', () => {
  it('ticket-add refuses beyond ticketCountMax', () => {
    const t = table(['a', 'b'], { ticketCountMax: 3, attrsPerTicketMax: 4 });
    expect(t.apply({ type: 'ticket-add', def: def('c'), cause: admin }, index(1))).toEqual({ ok: true });
    expect(t.apply({ type: 'ticket-add', def: def('d'), cause: admin }, index(2))).toEqual({ ok: false, reason: 'too-many-tickets' });
    expect(t.size).toBe(3);
    // Removing one makes room again.
    t.apply({ type: 'ticket-remove', ticket: 'a', cause: admin }, index(3));
    expect(t.apply({ type: 'ticket-add', def: def('d'), cause: admin }, index(4))).toEqual({ ok: true });
  });

  it('attr-set refuses a new key beyond attrsPerTicketMax but still overwrites existing keys', () => {
    const t = table(['a'], { ticketCountMax: 10, attrsPerTicketMax: 2 });
    t.apply({ type: 'attr-set', ticket: 'a', key: 'k1', value: 'v', cause: admin }, index(1));
    t.apply({ type: 'attr-set', ticket: 'a', key: 'k2', value: 'v', cause: admin }, index(2));
    expect(t.apply({ type: 'attr-set', ticket: 'a', key: 'k3', value: 'v', cause: admin }, index(3))).toEqual({ ok: false, reason: 'too-many-attributes' });
    expect(t.apply({ type: 'attr-set', ticket: 'a', key: 'k2', value: 'w', cause: admin }, index(4))).toEqual({ ok: true });
    expect(t.get('a')!.attrs).toEqual({ k1: 'v', k2: 'w' });
  });

  it('keeps at most historyRecordsMax history records, dropping the oldest', () => {
    const t = table();
    const n = historyRecordsMax + 10;
    for (let i = 1; i <= n; i++) t.apply({ type: 'standby', ticket: 'ticket-a', standby: i % 2 === 1, cause: admin }, index(i));
    const h = t.historyOf();
    expect(h).toHaveLength(historyRecordsMax);
    expect(h[0]!.index).toBe(n - historyRecordsMax + 1);
    expect(h.at(-1)!.index).toBe(n);
    expect(t.snapshot().history).toHaveLength(historyRecordsMax);
  });

  // Issue 13 item 3: `tollbooth-history-records` sets the retention; a snapshot from a leader that keeps more is cut to it.
  it('keeps the configured number of records, also from a longer snapshot', () => {
    const t = table(['ticket-a'], { ...limits, historyRecordsMax: 5 });
    for (let i = 1; i <= 8; i++) t.apply({ type: 'standby', ticket: 'ticket-a', standby: i % 2 === 1, cause: admin }, index(i));
    expect(t.historyOf().map((h) => h.index)).toEqual([4, 5, 6, 7, 8]);
    const smaller = TicketTable.fromSnapshot(t.snapshot(), { ...limits, historyRecordsMax: 3 });
    expect(smaller.historyOf().map((h) => h.index)).toEqual([6, 7, 8]);
    expect(TicketTable.fromSnapshot(t.snapshot(), limits).historyOf()).toHaveLength(5);
  });

  it('records the entry\'s wall time (the leader\'s) with the change, and none when the entry has none', () => {
    const t = table();
    t.apply(grant('ticket-a', siteA, 0), index(1), 1_765_000_000_000);
    t.apply({ type: 'standby', ticket: 'ticket-a', standby: true, cause: admin }, index(2));
    expect(t.historyOf()).toEqual([
      { index: 1, ticket: 'ticket-a', change: 'grant', holder: siteA, generation: 1, cause: auto, wallMs: 1_765_000_000_000 },
      { index: 2, ticket: 'ticket-a', change: 'standby', holder: siteA, generation: 1, cause: admin },
    ]);
  });
});

describe('snapshots', () => {
  it('round-trip: a table rebuilt from a snapshot has the same state and history', () => {
    const t = table(['a', 'b']);
    t.apply(grant('a', siteA, 0), index(1));
    t.apply({ type: 'attr-set', ticket: 'b', key: 'k', value: 'v', cause: admin }, index(2));
    t.apply({ type: 'standby', ticket: 'a', standby: true, cause: admin }, index(3));
    const copy = TicketTable.fromSnapshot(t.snapshot(), limits);
    expect(copy.snapshot()).toEqual(t.snapshot());
    expect(copy.historyOf('a')).toEqual(t.historyOf('a'));
  });

  it('a snapshot is not changed by later entries applied to the table it came from', () => {
    const t = table();
    const snap = t.snapshot();
    const frozen = structuredClone(snap);
    t.apply(grant('ticket-a', siteA, 0), index(1));
    expect(snap).toEqual(frozen);
  });
});

// ───────────── property: random entry sequences ─────────────

const names = ['a', 'b', 'c'];
const sites = [siteA, siteB];

const entryData: fc.Arbitrary<EntryData> = fc.oneof(
  fc.record({ ticket: fc.constantFrom(...names), site: fc.constantFrom(...sites), gen: fc.nat(6) }).map(
    ({ ticket, site, gen }): EntryData => grant(ticket, site, gen),
  ),
  fc.record({ ticket: fc.constantFrom(...names), gen: fc.nat(6) }).map(({ ticket, gen }): EntryData => revoke(ticket, gen)),
  fc.record({ ticket: fc.constantFrom(...names), standby: fc.boolean() }).map(
    ({ ticket, standby }): EntryData => ({ type: 'standby', ticket, standby, cause: admin }),
  ),
  fc.record({ ticket: fc.constantFrom(...names), key: fc.constantFrom('x', 'y', 'z'), value: fc.string({ maxLength: 3 }) }).map(
    ({ ticket, key, value }): EntryData => ({ type: 'attr-set', ticket, key, value, cause: admin }),
  ),
  fc.record({ ticket: fc.constantFrom(...names), key: fc.constantFrom('x', 'y', 'z') }).map(
    ({ ticket, key }): EntryData => ({ type: 'attr-delete', ticket, key, cause: admin }),
  ),
  fc.constantFrom(...names).map((n): EntryData => ({ type: 'ticket-add', def: def(n), cause: admin })),
  fc.constantFrom(...names).map((n): EntryData => ({ type: 'ticket-remove', ticket: n, cause: admin })),
  fc.constant<EntryData>({ type: 'noop' }),
);

describe('property: random entry sequences', () => {
  const smallLimits: TableLimits = { ticketCountMax: 2, attrsPerTicketMax: 2 };

  it('generations never fall, grow by one per applied grant or revoke, and a refused entry changes nothing', () => {
    fc.assert(
      fc.property(fc.array(entryData, { maxLength: 60 }), (seq) => {
        const t = table(['a', 'b'], smallLimits);
        seq.forEach((data, k) => {
          const before = t.snapshot();
          const genBefore = 'ticket' in data ? t.get(data.ticket)?.generation : undefined;
          const outcome = t.apply(data, index(k + 1));
          if (!outcome.ok) {
            expect(t.snapshot()).toEqual(before);
            return;
          }
          expect(t.size).toBeLessThanOrEqual(smallLimits.ticketCountMax);
          for (const s of t.all()) expect(Object.keys(s.attrs).length).toBeLessThanOrEqual(smallLimits.attrsPerTicketMax);
          if (data.type === 'grant' || data.type === 'revoke') {
            expect(t.get(data.ticket)!.generation).toBe(genBefore! + 1);
          } else if ('ticket' in data && data.type !== 'ticket-remove') {
            expect(t.get(data.ticket)!.generation).toBe(genBefore);
          }
        });
      }),
    );
  });

  it('a table rebuilt from any intermediate snapshot ends in the same state', () => {
    fc.assert(
      fc.property(fc.array(entryData, { maxLength: 40 }), fc.nat(), (seq, cutPick) => {
        const cut = cutPick % (seq.length + 1);
        const whole = table(['a', 'b'], smallLimits);
        seq.forEach((d, k) => whole.apply(d, index(k + 1)));
        const first = table(['a', 'b'], smallLimits);
        seq.slice(0, cut).forEach((d, k) => first.apply(d, index(k + 1)));
        const rebuilt = TicketTable.fromSnapshot(structuredClone(first.snapshot()), smallLimits);
        seq.slice(cut).forEach((d, k) => rebuilt.apply(d, index(cut + k + 1)));
        expect(rebuilt.snapshot()).toEqual(whole.snapshot());
      }),
    );
  });
});
