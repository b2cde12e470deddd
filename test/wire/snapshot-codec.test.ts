// Checks src/wire/snapshot-codec.ts, the bytes of a chunked snapshot transfer:
// a table of ticketCountMax tickets (the largest a config allows) survives
// encode → decode unchanged, and its encoding is ASCII base64 (one character
// per frame byte); a decoded snapshot encodes to the same text and digest
// (so a new leader holding the snapshot it received resumes another leader's
// transfer); and decode refuses, never throws on, text that is not base64,
// not UTF-8 JSON, or not a snapshot. The large case once overflowed the stack
// in a base64 regex: it runs at full size here. Every field of the table
// survives, the audit history's times and causes included.
import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../src/core/config.js';
import type { Snapshot } from '../../src/core/messages.js';
import { TicketTable } from '../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, term, type TicketDef } from '../../src/core/types.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';

function snapshotOf(tickets: number): Snapshot {
  const defs: TicketDef[] = Array.from({ length: tickets }, (_, i) => ({
    name: `t${String(i).padStart(5, '0')}`,
    mode: i % 2 === 0 ? 'manual' : 'automatic',
    leaseDurationMs: 30_000,
    acquireAfterMs: 0,
    revokeLeadMs: 5_000,
    weights: { 'site-a': 1 },
  }));
  const table = TicketTable.fromDefs(defs, { ticketCountMax: tickets, attrsPerTicketMax: 4 });
  table.apply({ type: 'attr-set', ticket: 't00001', key: 'ünï', value: 'cödé', cause: { by: 'admin', commandId: 'c1', force: false } }, index(2));
  return { index: index(256), term: term(3), members: [{ id: memberId('site-a'), kind: 'site' }], table: table.snapshot() };
}

describe('snapshot codec', () => {
  it(`round-trips a snapshot of ${defaultLimits.ticketCountMax} tickets as ASCII base64`, () => {
    const s = snapshotOf(defaultLimits.ticketCountMax);
    const text = snapshotCodec.encode(s);
    expect(/^[A-Za-z0-9+/]*={0,2}$/.test(text)).toBe(true);
    const back = snapshotCodec.decode(text);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(JSON.parse(JSON.stringify(back.snapshot))).toEqual(JSON.parse(JSON.stringify(s)));
    // What a follower installed encodes exactly as the leader's: same text, same digest.
    const again = snapshotCodec.encode(back.snapshot);
    expect(again === text).toBe(true);
    expect(snapshotCodec.digest(again)).toBe(snapshotCodec.digest(text));
  });

  // docs/protocol.md §10: a snapshot that dropped them would re-admit an old incarnation at the member installing it.
  it('keeps each member\'s incarnation, voter flag and key', () => {
    const key = 'B'.repeat(43) + '=';
    const members = [{ id: memberId('site-a'), kind: 'site' as const, incarnation: 9 }, { id: memberId('arb-b'), kind: 'arbitrator' as const, voter: false, key }];
    const s: Snapshot = { index: index(3), term: term(1), members, table: TicketTable.fromDefs([], defaultLimits).snapshot() };
    const back = snapshotCodec.decode(snapshotCodec.encode(s));
    expect(back).toMatchObject({ ok: true, snapshot: { members } });
  });

  // Issue 13 item 3: the audit history travels whole in a snapshot (time, requester, detail). Before it,
  // the encoding also dropped the committed config version, timings and a shortened lease still owed:
  // a follower that installed such a snapshot and then led would have honoured the shorter lease (S1).
  it('keeps the history\'s times and causes, the config version, the timings and a lease still owed', () => {
    const def: TicketDef = { name: 'db', mode: 'automatic', leaseDurationMs: 60_000, acquireAfterMs: 0, revokeLeadMs: 5_000, weights: {} };
    const timing = { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, renewIntervalMs: 500, renewRetryMs: 200, clockDriftPpmMax: 500, effectRetryMs: 200, siteAliveWindowMs: 1500 };
    const table = TicketTable.fromDefs([def], defaultLimits, timing);
    const site = memberId('site-a');
    const requester = { via: 'socket', member: site, uid: 0, user: 'root', pid: 77, claimedUser: 'alice' } as const;
    table.apply({ type: 'grant', ticket: 'db', site, expectedGeneration: generation(0), cause: { by: 'auto', reason: 'initial', detail: 'held nowhere: placed on site-a' } }, index(2), 1_765_000_000_000);
    table.apply({ type: 'ticket-change', def: { ...def, leaseDurationMs: 30_000 }, cause: { by: 'admin', commandId: 'c1', force: false, requester } }, index(3), 1_765_000_000_500);
    table.apply({ type: 'standby', ticket: 'db', standby: true, cause: { by: 'admin', commandId: 'c2', force: false, requester: { via: 'admin-key', member: site, keyId: 'admin:AbCdEfGhIjKlMnOp' } } }, index(4));
    const s: Snapshot = { index: index(4), term: term(1), members: [{ id: site, kind: 'site' }], table: table.snapshot() };
    expect(s.table).toMatchObject({ configVersion: 1, timing, tickets: [{ leaseDurationHonouredMs: 60_000 }] });
    const back = snapshotCodec.decode(snapshotCodec.encode(s));
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(JSON.parse(JSON.stringify(back.snapshot))).toEqual(JSON.parse(JSON.stringify(s)));
    expect(back.snapshot.table.history.map((h) => h.wallMs)).toEqual([1_765_000_000_000, 1_765_000_000_500, undefined]);
    expect(back.snapshot.table.history[1]?.cause).toEqual({ by: 'admin', commandId: 'c1', force: false, requester });
  });

  it('the digest is SHA-256 in hex and tells texts apart', () => {
    const text = snapshotCodec.encode(snapshotOf(3));
    expect(snapshotCodec.digest(text)).toMatch(/^[0-9a-f]{64}$/);
    expect(snapshotCodec.digest(`${text.slice(0, -4)}AAAA`)).not.toBe(snapshotCodec.digest(text));
  });

  it('decode refuses what is not an encoded snapshot, without throwing', () => {
    const b64 = (x: string): string => Buffer.from(x, 'utf8').toString('base64');
    expect(snapshotCodec.decode('not base64!')).toEqual({ ok: false, reason: 'not base64' });
    expect(snapshotCodec.decode('abc')).toEqual({ ok: false, reason: 'not base64' });
    expect(snapshotCodec.decode(Buffer.from([0xff, 0xfe, 0xfd]).toString('base64'))).toEqual({ ok: false, reason: 'not UTF-8' });
    expect(snapshotCodec.decode(b64('{"index":'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) as unknown });
    expect(snapshotCodec.decode(b64('{"index":1,"term":1,"members":[],"table":{"tickets":[{}],"history":[]}}'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^snapshot\.table\.tickets\[0\]\.[a-z]*: missing/) as unknown,
    });
  });
});
