// Checks src/core/raft-log.ts: the in-memory Raft log and its bookkeeping of
// what the store must write. Example tests pin each rule — leader append in
// order, the follower's append after the consistency check (skip matching
// entries, truncate at the first conflict, never truncate a committed entry:
// Raft §5.3, and the AssertionError that guards it), the up-to-date check of
// Raft §5.4.1, compaction and snapshot installation, and takeUnstable's
// `truncateFrom`. A model test then plays random leaders at a follower (logs
// built as Raft builds them: each new leader keeps a prefix of an earlier
// leader's log and appends entries of its own, higher term), sometimes as a
// snapshot instead of entries, carries out every takeUnstable on a dumb store
// (a Map: take the snapshot, drop keys ≥ truncateFrom, then write), and
// requires the store to equal the log above the snapshot after every step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, Snapshot } from '../../../src/core/messages.js';
import { RaftLog } from '../../../src/core/registry/raft-log.js';
import { AssertionError, index, memberId, term } from '../../../src/core/types.js';

const members = [
  { id: memberId('site-a'), kind: 'site' as const },
  { id: memberId('arb'), kind: 'arbitrator' as const },
];

function snap(i: number, t: number): Snapshot {
  return { index: index(i), term: term(t), members, table: { tickets: [], history: [] } };
}

function entry(i: number, t: number): Entry {
  return { index: index(i), term: term(t), data: { type: 'noop' } };
}

/** Entries fromIndex.. with the given terms. */
function entries(fromIndex: number, terms: readonly number[]): Entry[] {
  return terms.map((t, k) => entry(fromIndex + k, t));
}

/** A log with entries 1.. of the given terms, already taken as persisted. */
function stableLog(terms: readonly number[]): RaftLog {
  const log = new RaftLog(snap(0, 0), []);
  for (const e of entries(1, terms)) log.append(e);
  log.takeUnstable();
  return log;
}

function termsOf(log: RaftLog): number[] {
  return log.entriesAfter(log.snapshot.index).map((e) => e.term);
}

describe('construction and lookup', () => {
  it('starts empty after its snapshot', () => {
    const log = new RaftLog(snap(0, 0), []);
    expect(log.firstIndex()).toBe(1);
    expect(log.lastIndex()).toBe(0);
    expect(log.lastTerm()).toBe(0);
    expect(log.hasUnstable()).toBe(false);
  });

  it('keeps only the stored entries above the snapshot', () => {
    const log = new RaftLog(snap(3, 2), entries(1, [1, 1, 2, 2, 3]));
    expect(log.firstIndex()).toBe(4);
    expect(log.lastIndex()).toBe(5);
    expect(log.entriesAfter(3).map((e) => e.index)).toEqual([4, 5]);
    expect(log.hasUnstable()).toBe(false);
  });

  it('refuses stored entries with a gap after the snapshot', () => {
    expect(() => new RaftLog(snap(3, 2), [entry(5, 2)])).toThrow(AssertionError);
    expect(() => new RaftLog(snap(0, 0), [entry(1, 1), entry(3, 1)])).toThrow(AssertionError);
  });

  it('answers termAt for the snapshot, entries, compacted and future indexes', () => {
    const log = new RaftLog(snap(3, 2), entries(4, [2, 3]));
    expect(log.termAt(3)).toBe(2); // the snapshot's own index
    expect(log.termAt(4)).toBe(2);
    expect(log.termAt(5)).toBe(3);
    expect(log.termAt(2)).toBeUndefined(); // compacted away
    expect(log.termAt(6)).toBeUndefined(); // beyond the end
    expect(log.entry(3)).toBeUndefined();
    expect(log.entry(5)?.term).toBe(3);
  });

  it('slices from an index, clamped to the snapshot, at most countMax entries', () => {
    const log = new RaftLog(snap(2, 1), entries(3, [1, 2, 2, 3]));
    expect(log.slice(4, 2).map((e) => e.index)).toEqual([4, 5]);
    expect(log.slice(1, 10).map((e) => e.index)).toEqual([3, 4, 5, 6]);
    expect(log.slice(7, 10)).toEqual([]);
    expect(log.entriesAfter(4).map((e) => e.index)).toEqual([5, 6]);
  });
});

describe('leader append', () => {
  it('appends in order and marks the new entries unstable', () => {
    const log = new RaftLog(snap(0, 0), []);
    log.append(entry(1, 1));
    log.append(entry(2, 1));
    expect(log.lastIndex()).toBe(2);
    expect(log.lastTerm()).toBe(1);
    expect(log.hasUnstable()).toBe(true);
    const u = log.takeUnstable();
    expect(u.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(u.truncateFrom).toBe(1);
    expect(u.snapshot).toBeNull();
  });

  it('throws AssertionError on an out-of-order append', () => {
    const log = stableLog([1, 1]);
    expect(() => log.append(entry(4, 1))).toThrow(AssertionError);
    expect(() => log.append(entry(2, 1))).toThrow(AssertionError);
    expect(log.lastIndex()).toBe(2);
  });
});

describe('follower append (Raft §5.3)', () => {
  it('skips entries it already has with the same term, writing nothing', () => {
    const log = stableLog([1, 1, 2]);
    const last = log.appendFromLeader(0, entries(1, [1, 1, 2]), 0);
    expect(last).toBe(3);
    expect(log.hasUnstable()).toBe(false);
  });

  it('keeps entries beyond a matching batch (a stale, shorter append truncates nothing)', () => {
    const log = stableLog([1, 1, 1, 1, 1]);
    expect(log.appendFromLeader(1, entries(2, [1]), 0)).toBe(2);
    expect(termsOf(log)).toEqual([1, 1, 1, 1, 1]);
    expect(log.hasUnstable()).toBe(false);
  });

  it('appends new entries at the end and returns the last index that now matches', () => {
    const log = stableLog([1, 1]);
    expect(log.appendFromLeader(2, entries(3, [2, 2]), 0)).toBe(4);
    expect(termsOf(log)).toEqual([1, 1, 2, 2]);
    const u = log.takeUnstable();
    expect(u.truncateFrom).toBe(3);
    expect(u.entries.map((e) => e.index)).toEqual([3, 4]);
  });

  it('returns prevIndex for an empty append (a heartbeat)', () => {
    const log = stableLog([1, 1, 1]);
    expect(log.appendFromLeader(2, [], 0)).toBe(2);
    expect(log.hasUnstable()).toBe(false);
  });

  it('truncates at the first conflict and replaces the rest', () => {
    const log = stableLog([1, 1, 2, 2, 2]);
    expect(log.appendFromLeader(2, entries(3, [3, 3]), 2)).toBe(4);
    expect(termsOf(log)).toEqual([1, 1, 3, 3]);
    const u = log.takeUnstable();
    // The store must drop its old entries 3..5 before writing the new 3..4.
    expect(u.truncateFrom).toBe(3);
    expect(u.entries.map((e) => [e.index, e.term])).toEqual([
      [3, 3],
      [4, 3],
    ]);
  });

  it('truncates at a conflict that follows matching entries in the same batch', () => {
    const log = stableLog([1, 1, 2, 2]);
    expect(log.appendFromLeader(1, entries(2, [1, 2, 4]), 1)).toBe(4);
    expect(termsOf(log)).toEqual([1, 1, 2, 4]);
    expect(log.takeUnstable().truncateFrom).toBe(4);
  });

  it('refuses to truncate a committed entry: AssertionError', () => {
    const log = stableLog([1, 1, 2, 2]);
    expect(() => log.appendFromLeader(1, entries(2, [1, 3]), 3)).toThrow(AssertionError);
    expect(() => log.appendFromLeader(2, entries(3, [3]), 3)).toThrow(AssertionError);
    // Conflict just above the commit index is allowed.
    expect(log.appendFromLeader(3, entries(4, [3]), 3)).toBe(4);
    expect(termsOf(log)).toEqual([1, 1, 2, 3]);
  });

  it('passes over entries that a snapshot already covers', () => {
    const log = new RaftLog(snap(3, 2), entries(4, [2]));
    expect(log.appendFromLeader(1, entries(2, [1, 2, 2, 3]), 3)).toBe(5);
    expect(log.termAt(5)).toBe(3);
    expect(log.firstIndex()).toBe(4);
  });
});

describe('up-to-date check (Raft §5.4.1)', () => {
  // "If the logs have last entries with different terms, then the log with the
  // later term is more up-to-date. If the logs end with the same term, then
  // whichever log is longer is more up-to-date."
  const ours = (): RaftLog => stableLog([1, 1, 2, 2]); // ends at (4, 2)

  it.each([
    { lastIndex: 1, lastTerm: 3, upToDate: true, why: 'later last term, shorter log' },
    { lastIndex: 9, lastTerm: 1, upToDate: false, why: 'earlier last term, longer log' },
    { lastIndex: 5, lastTerm: 2, upToDate: true, why: 'same last term, longer log' },
    { lastIndex: 4, lastTerm: 2, upToDate: true, why: 'same last term, same length' },
    { lastIndex: 3, lastTerm: 2, upToDate: false, why: 'same last term, shorter log' },
    { lastIndex: 0, lastTerm: 0, upToDate: false, why: 'an empty log' },
  ])('$why → $upToDate', ({ lastIndex, lastTerm, upToDate }) => {
    expect(ours().isUpToDate(lastIndex, lastTerm)).toBe(upToDate);
  });

  it('uses the snapshot term when every entry is compacted', () => {
    const log = new RaftLog(snap(5, 3), []);
    expect(log.isUpToDate(5, 3)).toBe(true);
    expect(log.isUpToDate(4, 3)).toBe(false);
    expect(log.isUpToDate(1, 4)).toBe(true);
  });

  it('is a total preorder on (lastTerm, lastIndex): compared lexicographically', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 8 }), fc.nat(10), fc.nat(5), (terms, i, t) => {
        const sorted = [...terms].sort((a, b) => a - b); // a log's terms never decrease
        const log = stableLog(sorted);
        const mine: [number, number] = [log.lastTerm(), log.lastIndex()];
        const lexGe = t > mine[0] || (t === mine[0] && i >= mine[1]);
        expect(log.isUpToDate(i, t)).toBe(lexGe);
      }),
    );
  });
});

describe('compaction and snapshots', () => {
  it('compact drops the prefix, keeps the rest and hands the snapshot to the store', () => {
    const log = stableLog([1, 1, 2, 2, 3]);
    log.compact(snap(3, 2));
    expect(log.firstIndex()).toBe(4);
    expect(log.lastIndex()).toBe(5);
    expect(log.termAt(3)).toBe(2);
    expect(log.termAt(2)).toBeUndefined();
    expect(log.hasUnstable()).toBe(true);
    const u = log.takeUnstable();
    expect(u.snapshot?.index).toBe(3);
    expect(u.entries).toEqual([]);
    expect(u.truncateFrom).toBeNull(); // nothing above the snapshot changed
    expect(log.hasUnstable()).toBe(false);
  });

  it('compact never goes backwards', () => {
    const log = stableLog([1, 1, 2]);
    log.compact(snap(2, 1));
    expect(() => log.compact(snap(1, 1))).toThrow(AssertionError);
  });

  it('install keeps the suffix that agrees with the snapshot (Raft §7)', () => {
    const log = stableLog([1, 1, 2, 2, 3]);
    log.install(snap(3, 2));
    expect(log.lastIndex()).toBe(5);
    expect(termsOf(log)).toEqual([2, 3]);
    const u = log.takeUnstable();
    expect(u.snapshot?.index).toBe(3);
    expect(u.truncateFrom).toBeNull();
  });

  it('install drops the whole log when it disagrees, and tells the store to drop everything after the snapshot', () => {
    const log = stableLog([1, 1, 2, 2, 3]);
    log.install(snap(4, 4));
    expect(log.lastIndex()).toBe(4);
    expect(log.lastTerm()).toBe(4);
    const u = log.takeUnstable();
    expect(u.snapshot?.index).toBe(4);
    expect(u.entries).toEqual([]);
    expect(u.truncateFrom).toBe(5);
  });

  it('install beyond the end of the log drops the log too', () => {
    const log = stableLog([1, 1]);
    log.install(snap(6, 2));
    expect(log.lastIndex()).toBe(6);
    expect(log.takeUnstable().truncateFrom).toBe(7);
  });

  it('install followed by appends still drops every stale stored entry', () => {
    const log = stableLog([1, 1, 1, 1, 1, 1, 1, 1]);
    log.install(snap(4, 2));
    log.appendFromLeader(4, entries(5, [2]), 4);
    const u = log.takeUnstable();
    expect(u.truncateFrom).toBe(5);
    expect(u.entries.map((e) => [e.index, e.term])).toEqual([[5, 2]]);
  });
});

describe('takeUnstable', () => {
  it('hands each change out once', () => {
    const log = new RaftLog(snap(0, 0), []);
    log.append(entry(1, 1));
    expect(log.takeUnstable().entries).toHaveLength(1);
    const again = log.takeUnstable();
    expect(again).toEqual({ snapshot: null, entries: [], truncateFrom: null });
  });

  it('reports the lowest rewritten index when several changes accumulate', () => {
    const log = stableLog([1, 1, 1, 1]);
    log.appendFromLeader(3, entries(4, [2, 2]), 0); // rewrites from 4
    log.appendFromLeader(1, entries(2, [3]), 0); // then from 2
    const u = log.takeUnstable();
    expect(u.truncateFrom).toBe(2);
    expect(u.entries.map((e) => [e.index, e.term])).toEqual([[2, 3]]);
  });
});

// ───────────── model test: the store follows the log exactly ─────────────

interface Store {
  snapshotIndex: number;
  entries: Map<number, number>; // index → term
}

function persist(store: Store, u: ReturnType<RaftLog['takeUnstable']>): void {
  // Entries at or below the snapshot are ignored on load (RaftLog's constructor), so they may stay.
  if (u.snapshot !== null) store.snapshotIndex = u.snapshot.index;
  if (u.truncateFrom !== null) for (const k of [...store.entries.keys()]) if (k >= u.truncateFrom) store.entries.delete(k);
  for (const e of u.entries) store.entries.set(e.index, e.term);
}

function storeAboveSnapshot(store: Store, from: number): Array<[number, number]> {
  return [...store.entries.entries()].filter(([k]) => k > from).sort((a, b) => a[0] - b[0]);
}

const op = fc.record({
  base: fc.nat(),
  keepFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  newEntries: fc.integer({ min: 0, max: 4 }),
  prevPick: fc.nat(),
  deliverCount: fc.integer({ min: 0, max: 6 }),
  /** Sometimes the leader sends a snapshot of its log instead of entries. */
  installAt: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
});

describe('model: random leaders, follower log and store agree', () => {
  it('after every append, the store (truncate, then write) equals the log', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const leaders: number[][] = []; // leaders[k][i-1] = term of entry i in leader k's log
        const follower = new RaftLog(snap(0, 0), []);
        const store: Store = { snapshotIndex: 0, entries: new Map() };
        ops.forEach((o, k) => {
          // Leader k (term k+1) keeps a prefix of an earlier leader's log and appends its own entries.
          const base = leaders.length === 0 ? [] : leaders[o.base % leaders.length]!;
          const kept = base.slice(0, Math.floor(o.keepFraction * base.length));
          const leader = [...kept, ...Array.from({ length: o.newEntries }, () => k + 1)];
          leaders.push(leader);
          const termOf = (i: number): number | undefined => (i === 0 ? 0 : leader[i - 1]);
          if (o.installAt !== null) {
            const at = o.installAt % (leader.length + 1);
            // A member installs only snapshots beyond its commit index (here: its snapshot).
            if (at <= follower.snapshot.index) return;
            follower.install(snap(at, termOf(at)!));
            persist(store, follower.takeUnstable());
            expect(store.snapshotIndex).toBe(at);
            expect(storeAboveSnapshot(store, at)).toEqual(follower.entriesAfter(at).map((e) => [e.index, e.term]));
            return;
          }
          const committed = follower.snapshot.index; // what a snapshot covers is committed
          const prev = committed + (o.prevPick % (Math.max(0, Math.min(follower.lastIndex(), leader.length) - committed) + 1));
          if (follower.termAt(prev) !== termOf(prev)) return; // the consistency check fails: nothing changes
          const batch = leader.slice(prev, prev + o.deliverCount).map((t, j) => entry(prev + 1 + j, t));
          const last = follower.appendFromLeader(prev, batch, committed);
          expect(last).toBe(prev + batch.length);
          for (let i = committed; i <= last; i++) expect(follower.termAt(i)).toBe(termOf(i));
          persist(store, follower.takeUnstable());
          expect(storeAboveSnapshot(store, committed)).toEqual(follower.entriesAfter(committed).map((e) => [e.index, e.term]));
        });
      }),
      { numRuns: 500 },
    );
  });
});
