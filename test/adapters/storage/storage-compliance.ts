// The compliance suite of the Storage port (src/runtime/ports.ts), run against
// every implementation — LevelStorage and its in-memory twin — so that the
// twin cannot drift from the real thing (STYLE.md, from js-libp2p). A
// StorageMedium stands for what survives a restart (a directory, a
// MemoryDisk): tests open a storage on it, close it and open another to play a
// restart, and edit its raw records while nothing is open to play damage.
//
// It checks: an empty store loads as null; a batch round-trips, also across a
// reopen, in the order of ready.ts (hard state, snapshot dropping the entries
// it covers, truncation at truncateFrom, entries); the documented record
// layout (storage-format.ts), pinned byte for byte; deep copies both ways;
// batches that would break the store are refused whole; abort, close and the
// one-open-at-a-time lock; every kind of damage is reported as a named error
// naming the key, from load() and from persist() alike; a 10,000-ticket
// snapshot. A model test last: a RaftLog driven through random leader
// appends, conflicts, compactions, snapshot installs and restarts, each
// takeUnstable() persisted, must load back as exactly the log's content — so
// every batch the core can produce is accepted.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  StorageBatchError,
  StorageClosedError,
  StorageCorruptError,
  StorageLockedError,
  StorageVersionError,
} from '../../../src/adapters/storage/storage-errors.js';
import { initialHardState, logKey, storageKeys } from '../../../src/adapters/storage/storage-format.js';
import type { Entry, Snapshot } from '../../../src/core/messages.js';
import { RaftLog } from '../../../src/core/registry/raft-log.js';
import type { HardState, PersistBatch, PersistedState } from '../../../src/core/ready.js';
import { term } from '../../../src/core/types.js';
import type { AbortOptions, Storage } from '../../../src/ports/ports.js';
import { attrEntry, batch, entries, entry, hardState, snapshot, table } from '../fixtures/storage-values.js';

/** What survives a restart. records() and edit() are used only while no storage is open on it. */
export interface StorageMedium {
  /** What the implementation's errors name (the directory, the disk's name). */
  readonly location: string;
  open(options?: AbortOptions): Promise<Storage>;
  /** The raw records, sorted by key. */
  records(): Promise<Array<[string, string]>>;
  /** Raw edits: a string puts the record, null deletes it. */
  edit(changes: Readonly<Record<string, string | null>>): Promise<void>;
  dispose(): Promise<void>;
}

function state(hs: HardState, snap: Snapshot | null, es: readonly Entry[]): PersistedState {
  return { hardState: hs, snapshot: snap, entries: es };
}

/** Persists batches through the core's own log, as the pump would (test-side model of RaftLog users). */
function fromUnstable(log: RaftLog, hs: HardState | null): PersistBatch {
  const u = log.takeUnstable();
  return { hardState: hs, snapshot: u.snapshot, truncateFrom: u.truncateFrom, entries: u.entries };
}

export function storageCompliance(name: string, makeMedium: () => Promise<StorageMedium>): void {
  describe(`Storage compliance: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      // Storages first (newest first), then the media they live on.
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function medium(): Promise<StorageMedium> {
      const m = await makeMedium();
      cleanups.push(() => m.dispose());
      return m;
    }

    async function open(m: StorageMedium): Promise<Storage> {
      const s = await m.open();
      cleanups.push(() => s.close());
      return s;
    }

    async function reopen(m: StorageMedium, s: Storage): Promise<Storage> {
      await s.close();
      return open(m);
    }

    /** A medium holding the given batches, with no storage open on it. */
    async function seeded(batches: readonly PersistBatch[]): Promise<StorageMedium> {
      const m = await medium();
      const s = await open(m);
      for (const b of batches) await s.persist(b);
      await s.close();
      return m;
    }

    /** Opens, loads, closes: what a restarted member would find. */
    async function loadFresh(m: StorageMedium): Promise<PersistedState | null> {
      const s = await open(m);
      try {
        return await s.load();
      } finally {
        await s.close();
      }
    }

    describe('empty store', () => {
      it('loads as null, again and after a reopen', async () => {
        const m = await medium();
        let s = await open(m);
        expect(await s.load()).toBeNull();
        expect(await s.load()).toBeNull();
        s = await reopen(m, s);
        expect(await s.load()).toBeNull();
        await s.close();
        expect(await m.records()).toEqual([]);
      });

      it('starts with the initial hard state when the first batch has none', async () => {
        const m = await medium();
        const s = await open(m);
        await s.persist(batch({ entries: entries(1, [1, 1]) }));
        expect(await s.load()).toEqual(state(initialHardState, null, entries(1, [1, 1])));
        expect(initialHardState).toEqual(hardState(0, 0));
      });

      it('is no longer empty after any batch, even one with nothing in it', async () => {
        const m = await medium();
        const s = await open(m);
        await s.persist(batch({}));
        expect(await s.load()).toEqual(state(initialHardState, null, []));
      });
    });

    describe('round trip', () => {
      it('gives back hard state and entries, before and after a reopen', async () => {
        const m = await medium();
        let s = await open(m);
        const es = [attrEntry(1, 1, 'a'), attrEntry(2, 1, 'b'), attrEntry(3, 2, 'c')];
        await s.persist(batch({ hardState: hardState(2, 1, 'site-a'), entries: es, truncateFrom: 1 }));
        const expected = state(hardState(2, 1, 'site-a'), null, es);
        expect(await s.load()).toEqual(expected);
        s = await reopen(m, s);
        expect(await s.load()).toEqual(expected);
      });

      it('keeps the entries when a batch carries only a hard state, and takes the newest hard state', async () => {
        const m = await medium();
        let s = await open(m);
        await s.persist(batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1]) }));
        await s.persist(batch({ hardState: hardState(2, 2, 'site-b') }));
        await s.persist(batch({ hardState: hardState(3, 3) }));
        s = await reopen(m, s);
        expect(await s.load()).toEqual(state(hardState(3, 3), null, entries(1, [1, 1, 1])));
      });

      it('appends batch after batch, with indexes past 9, 99 and 999 in numeric order', async () => {
        const m = await medium();
        let s = await open(m);
        const all: Entry[] = [];
        for (let from = 1; from <= 1200; from += 100) {
          const es = entries(from, Array.from({ length: 100 }, () => 1));
          all.push(...es);
          await s.persist(batch({ entries: es, truncateFrom: from }));
        }
        s = await reopen(m, s);
        const loaded = await s.load();
        expect(loaded?.entries.map((e) => e.index)).toEqual(all.map((e) => e.index));
      });

      it('applies persists issued together one after the other, in call order', async () => {
        const m = await medium();
        const s = await open(m);
        await Promise.all([
          s.persist(batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1]) })),
          s.persist(batch({ truncateFrom: 2, entries: entries(2, [2]) })),
          s.persist(batch({ hardState: hardState(2, 2), entries: entries(3, [2, 2]) })),
        ]);
        expect(await s.load()).toEqual(state(hardState(2, 2), null, entries(1, [1, 2, 2, 2])));
      });

      it('stores the documented layout, record for record', async () => {
        const m = await seeded([
          batch({ hardState: hardState(3, 1, 'site-a'), entries: entries(1, [1, 2, 3]), truncateFrom: 1 }),
          batch({ snapshot: snapshot(1, 1, { tickets: [], history: [] }) }),
        ]);
        expect(await m.records()).toEqual([
          ['meta/format-version', '1'],
          ['raft/hard-state', '{"term":3,"votedFor":"site-a","commit":1}'],
          ['raft/log/0000000000000002', '{"index":2,"term":2,"data":{"type":"noop"}}'],
          ['raft/log/0000000000000003', '{"index":3,"term":3,"data":{"type":"noop"}}'],
          [
            'raft/snapshot',
            '{"index":1,"term":1,"members":[{"id":"site-a","kind":"site"},{"id":"site-b","kind":"site"},{"id":"arb","kind":"arbitrator"}],' +
              '"table":{"tickets":[],"history":[]}}',
          ],
        ]);
      });
    });

    describe('truncation', () => {
      it('drops the entries at and after truncateFrom before writing the batch (a follower conflict)', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) })]);
        let s = await open(m);
        await s.persist(batch({ truncateFrom: 6, entries: entries(6, [2, 2, 2]) }));
        const expected = state(hardState(1, 0), null, entries(1, [1, 1, 1, 1, 1, 2, 2, 2]));
        expect(await s.load()).toEqual(expected);
        s = await reopen(m, s);
        expect(await s.load()).toEqual(expected);
        await s.close();
        const keys = (await m.records()).map(([k]) => k);
        expect(keys).not.toContain(logKey(9));
        expect(keys).not.toContain(logKey(10));
      });

      it('drops the tail when the batch has no entries', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1, 1]) })]);
        const s = await open(m);
        await s.persist(batch({ truncateFrom: 2 }));
        expect(await s.load()).toEqual(state(hardState(1, 0), null, entries(1, [1])));
      });

      it('changes nothing when truncateFrom is past the end', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1]) })]);
        const s = await open(m);
        await s.persist(batch({ truncateFrom: 9 }));
        await s.persist(batch({ truncateFrom: 3, entries: entries(3, [1]) }));
        expect(await s.load()).toEqual(state(hardState(1, 0), null, entries(1, [1, 1, 1])));
      });

      it('overwrites the entries a batch rewrites, truncation or not', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1]) })]);
        const s = await open(m);
        await s.persist(batch({ entries: [attrEntry(2, 1, 'again')] }));
        expect((await s.load())?.entries).toEqual([entry(1, 1), attrEntry(2, 1, 'again'), entry(3, 1)]);
      });
    });

    describe('snapshots', () => {
      it('stores the snapshot and drops the entries it covers (compaction)', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 6), entries: entries(1, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) })]);
        let s = await open(m);
        await s.persist(batch({ snapshot: snapshot(6, 1) }));
        const expected = state(hardState(1, 6), snapshot(6, 1), entries(7, [1, 1, 1, 1]));
        expect(await s.load()).toEqual(expected);
        s = await reopen(m, s);
        expect(await s.load()).toEqual(expected);
        await s.close();
        const logKeys = (await m.records()).map(([k]) => k).filter((k) => k.startsWith(storageKeys.logPrefix));
        expect(logKeys).toEqual([7, 8, 9, 10].map(logKey));
      });

      it('replaces an older snapshot and may repeat the same index', async () => {
        const m = await seeded([batch({ hardState: hardState(2, 4), entries: entries(1, [1, 1, 2, 2, 2]) })]);
        const s = await open(m);
        await s.persist(batch({ snapshot: snapshot(2, 1) }));
        await s.persist(batch({ snapshot: snapshot(4, 2) }));
        await s.persist(batch({ snapshot: snapshot(4, 2, table(3)) }));
        expect(await s.load()).toEqual(state(hardState(2, 4), snapshot(4, 2, table(3)), entries(5, [2])));
      });

      it('drops every entry when the snapshot is past the last one, then takes entries after it', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1]) })]);
        const s = await open(m);
        await s.persist(batch({ hardState: hardState(3, 8), snapshot: snapshot(8, 3) }));
        expect(await s.load()).toEqual(state(hardState(3, 8), snapshot(8, 3), []));
        await s.persist(batch({ truncateFrom: 9, entries: entries(9, [3, 3]) }));
        expect(await s.load()).toEqual(state(hardState(3, 8), snapshot(8, 3), entries(9, [3, 3])));
      });

      it("replaces the whole log with a leader's snapshot (truncateFrom just after it) and new entries, in one batch", async () => {
        const m = await seeded([batch({ hardState: hardState(1, 2), entries: entries(1, [1, 1, 1, 1, 1, 1]) })]);
        const s = await open(m);
        await s.persist(batch({ hardState: hardState(4, 4), snapshot: snapshot(4, 3), truncateFrom: 5, entries: entries(5, [4, 4]) }));
        expect(await s.load()).toEqual(state(hardState(4, 4), snapshot(4, 3), entries(5, [4, 4])));
      });

      it('takes a snapshot, a truncation below it and entries above it together (compaction over rewritten entries)', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1, 1, 1, 1, 1]) })]);
        const s = await open(m);
        await s.persist(batch({ snapshot: snapshot(4, 2), truncateFrom: 3, entries: entries(5, [2, 2]) }));
        expect(await s.load()).toEqual(state(hardState(1, 0), snapshot(4, 2), entries(5, [2, 2])));
      });

      it('round-trips a snapshot of 10,000 tickets', async () => {
        const m = await medium();
        let s = await open(m);
        const big = snapshot(100, 5, table(10_000));
        await s.persist(batch({ hardState: hardState(5, 100), snapshot: big, entries: entries(101, [5, 5]) }));
        s = await reopen(m, s);
        const loaded = await s.load();
        expect(loaded?.snapshot?.table.tickets).toHaveLength(10_000);
        expect(loaded).toEqual(state(hardState(5, 100), big, entries(101, [5, 5])));
      });
    });

    describe('copies', () => {
      it("neither the caller's batch nor a loaded state shares memory with the store", async () => {
        const m = await medium();
        const s = await open(m);
        const e = attrEntry(1, 1, 'original');
        const b = batch({ hardState: hardState(1, 0), entries: [e] });
        const pending = s.persist(b);
        // Changed right after the call, before the persist has resolved: the store keeps what was passed.
        (e.data as { value: string }).value = 'changed';
        (b.hardState as { term: number }).term = 99;
        (b.entries as Entry[]).push(entry(2, 1));
        await pending;
        const loaded = await s.load();
        expect(loaded).toEqual(state(hardState(1, 0), null, [attrEntry(1, 1, 'original')]));
        (loaded!.entries as Entry[]).pop();
        (loaded!.hardState as { term: number }).term = 7;
        expect(await s.load()).toEqual(state(hardState(1, 0), null, [attrEntry(1, 1, 'original')]));
      });
    });

    describe('refused batches: nothing is written', () => {
      const base = [
        batch({ hardState: hardState(1, 2), entries: entries(1, [1, 1, 1, 1, 1]) }),
        batch({ snapshot: snapshot(2, 1) }),
      ];
      const bigint = JSON.parse('{"type":"attr-set","ticket":"t","key":"k","value":"v","cause":{"by":"auto","reason":"initial"}}') as Record<
        string,
        unknown
      >;
      bigint.value = 10n;
      const refusals: Array<[string, PersistBatch, RegExp]> = [
        ['a hole after the last entry', batch({ entries: entries(7, [1]) }), /entry 7 would leave a hole after the last stored entry 5/],
        ['entries not contiguous within the batch', batch({ entries: [entry(6, 1), entry(8, 1)] }), /not contiguous: 8 follows 6/],
        ['an entry at or below the snapshot', batch({ truncateFrom: 2, entries: entries(2, [1, 1]) }), /entry 2 is at or below the snapshot at index 2/],
        ['a snapshot going backwards', batch({ snapshot: snapshot(1, 1) }), /snapshot at index 1 is older than the stored one at 2/],
        ['an entry index of 0', batch({ entries: [entry(0, 1)] }), /index must be a positive safe integer, got 0/],
        ['a fractional entry index', batch({ entries: [entry(5.5, 1)] }), /index must be a positive safe integer, got 5.5/],
        ['a NaN hard state term', batch({ hardState: hardState(NaN, 1) }), /hard state: term must be a non-negative safe integer, got NaN/],
        ['truncateFrom 0', batch({ truncateFrom: 0 }), /truncateFrom must be a positive safe integer, got 0/],
        ['an unknown entry type', batch({ entries: [entry(6, 1, { type: 'bogus' } as unknown as Entry['data'])] }), /data must be an object with a known type, got "bogus"/],
        ['a value that is not JSON', batch({ entries: [entry(6, 1, bigint as unknown as Entry['data'])] }), /entry #0 of the batch cannot be encoded as JSON/],
      ];
      it.each(refusals)('refuses %s', async (_what, bad, reason) => {
        const m = await seeded(base);
        const s = await open(m);
        const before = await s.load();
        const err: unknown = await s.persist(bad).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageBatchError);
        expect(err).toMatchObject({ code: 'STORAGE_BATCH_INVALID', location: m.location });
        expect((err as Error).message).toMatch(reason);
        expect(await s.load()).toEqual(before);
        // The store goes on as before: the next valid batch is taken.
        await s.persist(batch({ truncateFrom: 6, entries: entries(6, [1]) }));
        expect((await s.load())?.entries.map((e) => e.index)).toEqual([3, 4, 5, 6]);
      });
    });

    describe('abort, close and the lock', () => {
      it('rejects with the abort reason and writes nothing when the signal is already aborted', async () => {
        const m = await seeded([batch({ hardState: hardState(1, 0), entries: entries(1, [1]) })]);
        const s = await open(m);
        const aborted = AbortSignal.abort();
        await expect(s.persist(batch({ hardState: hardState(9, 9) }), { signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
        await expect(s.load({ signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
        const reason = new Error('member stopping');
        const controller = new AbortController();
        controller.abort(reason);
        await expect(s.persist(batch({ entries: entries(2, [1]) }), { signal: controller.signal })).rejects.toBe(reason);
        expect(await s.load()).toEqual(state(hardState(1, 0), null, entries(1, [1])));
      });

      it('refuses use after close, and close is idempotent', async () => {
        const m = await medium();
        const s = await open(m);
        await s.persist(batch({ hardState: hardState(1, 0) }));
        await s.close();
        await s.close();
        const loadErr = s.load();
        const persistErr = s.persist(batch({ hardState: hardState(2, 0) }));
        await expect(loadErr).rejects.toBeInstanceOf(StorageClosedError);
        await expect(persistErr).rejects.toMatchObject({ code: 'STORAGE_CLOSED', location: m.location });
        expect(await loadFresh(m)).toEqual(state(hardState(1, 0), null, []));
      });

      it('finishes a persist already issued before close() resolves', async () => {
        const m = await medium();
        const s = await open(m);
        const pending = s.persist(batch({ hardState: hardState(1, 0), entries: entries(1, [1]) }));
        await s.close();
        await pending;
        expect(await loadFresh(m)).toEqual(state(hardState(1, 0), null, entries(1, [1])));
      });

      it('admits one open storage at a time, naming the location in the error', async () => {
        const m = await medium();
        const first = await open(m);
        await first.persist(batch({ hardState: hardState(1, 0) }));
        const err: unknown = await m.open().then(
          (s) => s.close().then(() => null),
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageLockedError);
        expect(err).toMatchObject({ code: 'STORAGE_LOCKED', location: m.location });
        expect((err as Error).message).toContain(m.location);
        // The first one is unaffected, and once it is closed the store opens again.
        expect((await first.load())?.hardState).toEqual(hardState(1, 0));
        await first.close();
        expect(await loadFresh(m)).toEqual(state(hardState(1, 0), null, []));
      });
    });

    describe('damaged stores: a named error naming the key, from load() and persist() alike', () => {
      const base = [batch({ hardState: hardState(2, 3, 'site-a'), entries: [attrEntry(1, 1, 'a'), attrEntry(2, 1, 'b'), attrEntry(3, 2, 'c'), attrEntry(4, 2, 'd'), attrEntry(5, 2, 'e')] })];
      const withSnapshot = [...base, batch({ snapshot: snapshot(2, 1) })];
      type Damage = [string, readonly PersistBatch[], Record<string, string | null>, { code: string; key: string }, RegExp];
      const corrupt = (key: string): { code: string; key: string } => ({ code: 'STORAGE_CORRUPT', key });
      const damages: Damage[] = [
        ['hard state that is not JSON', base, { [storageKeys.hardState]: '{"term":2,"vot' }, corrupt(storageKeys.hardState), /not valid JSON/],
        ['hard state missing', base, { [storageKeys.hardState]: null }, corrupt(storageKeys.hardState), /missing/],
        ['hard state of the wrong shape', base, { [storageKeys.hardState]: '{"term":-1,"votedFor":null,"commit":0}' }, corrupt(storageKeys.hardState), /term must be a non-negative safe integer, got -1/],
        ['a hole in the log', base, { [logKey(3)]: null }, corrupt(logKey(4)), /entries 3…3 are missing \(it follows entry 2\)/],
        ['an entry under another index', base, { [logKey(3)]: JSON.stringify(attrEntry(4, 2, 'd')) }, corrupt(logKey(3)), /holds entry 4, not entry 3/],
        ['an entry that is not JSON', base, { [logKey(5)]: '' }, corrupt(logKey(5)), /not valid JSON/],
        ['an entry of an unknown type', base, { [logKey(2)]: '{"index":2,"term":1,"data":{"type":"explode"}}' }, corrupt(logKey(2)), /known type, got "explode"/],
        ['a log that does not start at 1 without a snapshot', base, { [logKey(1)]: null }, corrupt(logKey(2)), /entries 1…1 are missing \(the log must start right after the snapshot at index 0\)/],
        ['a log that does not start right after the snapshot', withSnapshot, { [logKey(3)]: null }, corrupt(logKey(4)), /entries 3…3 are missing \(the log must start right after the snapshot at index 2\)/],
        ['an entry below the snapshot', withSnapshot, { [logKey(2)]: JSON.stringify(entry(2, 1)) }, corrupt(logKey(2)), /entry 2 is at or below the snapshot at index 2/],
        ['a snapshot that is not JSON', withSnapshot, { [storageKeys.snapshot]: '{"index":' }, corrupt(storageKeys.snapshot), /not valid JSON/],
        ['a snapshot of the wrong shape', withSnapshot, { [storageKeys.snapshot]: '{"index":2,"term":1,"members":[],"table":{}}' }, corrupt(storageKeys.snapshot), /tickets and history arrays/],
        ['the format version missing', base, { [storageKeys.formatVersion]: null }, corrupt(storageKeys.formatVersion), /missing, although the store holds other records/],
        ['a format version that is not a number', base, { [storageKeys.formatVersion]: '"one"' }, corrupt(storageKeys.formatVersion), /not a format version number: "\\"one\\""/],
        ['an unexpected key', base, { 'raft/leader-hint': '"site-b"' }, corrupt('raft/leader-hint'), /unexpected key in a version 1 store/],
        ['a malformed log key', base, { 'raft/log/12': JSON.stringify(entry(12, 2)) }, corrupt('raft/log/12'), /unexpected key/],
        ['an unknown format version (a newer tollbooth)', base, { [storageKeys.formatVersion]: '2', 'raft/new-thing': '{}' }, { code: 'STORAGE_VERSION_UNSUPPORTED', key: storageKeys.formatVersion }, /has format version 2 at key meta\/format-version; this tollbooth reads version 1/],
      ];
      it.each(damages)('reports %s', async (_what, seed, changes, expected, reason) => {
        const m = await seeded(seed);
        await m.edit(changes);
        const s = await open(m);
        for (const attempt of [() => s.load(), () => s.persist(batch({ hardState: hardState(9, 9) }))]) {
          const err: unknown = await attempt().then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(expected.code === 'STORAGE_CORRUPT' ? StorageCorruptError : StorageVersionError);
          expect(err).toMatchObject({ ...expected, location: m.location });
          const message = (err as Error).message;
          expect(message).toContain(expected.key);
          expect(message).toContain(m.location);
          expect(message).toMatch(reason);
        }
        await s.close();
        // Nothing was written over the damage.
        expect(Object.fromEntries(await m.records())).toMatchObject(Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== null)));
      });
    });

    describe('model: every batch the core log produces loads back as the log', () => {
      type Op =
        | { kind: 'append'; count: number }
        | { kind: 'conflict'; back: number; count: number }
        | { kind: 'compact'; at: number }
        | { kind: 'install'; at: number; keep: boolean }
        | { kind: 'restart' };
      const op: fc.Arbitrary<Op> = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 4 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('conflict' as const), back: fc.nat(), count: fc.integer({ min: 0, max: 4 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), at: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('install' as const), at: fc.nat(), keep: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
      );
      // Each step: some ops on the log, then (flush) one batch with what they left unstable.
      const step = fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 3 }), withHardState: fc.boolean() });

      it('after each batch and each restart, load() equals the log above its snapshot', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 15 }), async (steps) => {
            const m = await makeMedium();
            let s = await m.open();
            try {
              const log = new RaftLog(snapshot(0, 0), []);
              let currentTerm = 1;
              let storedHardState: HardState = initialHardState;
              let storedSnapshot: Snapshot | null = null;
              let persistedOnce = false;
              for (const { ops, withHardState } of steps) {
                for (const o of ops) {
                  const snapIndex = log.snapshot.index;
                  const span = log.lastIndex() - snapIndex; // entries above the snapshot
                  switch (o.kind) {
                    case 'append':
                      for (let k = 0; k < o.count; k++) log.append(entry(log.lastIndex() + 1, currentTerm));
                      break;
                    case 'conflict': {
                      // A new leader whose log matches ours up to prev: the rest is rewritten in its term.
                      currentTerm += 1;
                      const prev = snapIndex + (o.back % (span + 1));
                      log.appendFromLeader(prev, entries(prev + 1, Array.from({ length: o.count }, () => currentTerm)), snapIndex);
                      break;
                    }
                    case 'compact': {
                      const at = snapIndex + (o.at % (span + 1));
                      log.compact(snapshot(at, log.termAt(at)!));
                      break;
                    }
                    case 'install': {
                      const at = snapIndex + 1 + (o.at % (span + 3));
                      const t = o.keep ? log.termAt(at) : undefined;
                      if (t === undefined) currentTerm += 1;
                      log.install(snapshot(at, t ?? term(currentTerm)));
                      break;
                    }
                    case 'restart':
                      await s.close();
                      s = await m.open();
                      break;
                  }
                }
                const hs = withHardState ? hardState(currentTerm, log.snapshot.index) : null;
                const b = fromUnstable(log, hs);
                await s.persist(b);
                persistedOnce = true;
                if (hs !== null) storedHardState = hs;
                if (b.snapshot !== null) storedSnapshot = b.snapshot;
                const expected = state(storedHardState, storedSnapshot, log.entriesAfter(log.snapshot.index));
                expect(await s.load()).toEqual(expected);
              }
              await s.close();
              s = await m.open();
              expect(await s.load()).toEqual(
                persistedOnce ? state(storedHardState, storedSnapshot, log.entriesAfter(log.snapshot.index)) : null,
              );
            } finally {
              await s.close();
              await m.dispose();
            }
          }),
          { numRuns: 40, seed: 0x5709a6e },
        );
      });
    });
  });
}

