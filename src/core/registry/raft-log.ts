// The in-memory Raft log above the last snapshot, with bookkeeping of what
// must still be persisted: `unstableFrom` is the first index the store must
// (re)write, truncating anything it holds from there on.

import type { Entry, Snapshot } from '../messages.js';
import { assert, index, type Index, type Member, type Term } from '../types.js';

export class RaftLog {
  private entries: Entry[];
  private snap: Snapshot;
  private unstableFrom: Index | null = null;
  private snapshotUnstable = false;
  /** Set when an installed snapshot replaced the whole log: the store drops every entry after it. */
  private dropAllAfterSnapshot = false;

  /** `snapshotStored` false: the store holds no snapshot yet, and the first persist writes this one (the index-0 state). */
  constructor(snapshot: Snapshot, entries: readonly Entry[], snapshotStored = true) {
    this.snap = snapshot;
    this.snapshotUnstable = !snapshotStored;
    this.entries = entries.filter((e) => e.index > snapshot.index);
    for (let i = 0; i < this.entries.length; i++) {
      assert(this.entries[i]!.index === snapshot.index + 1 + i, 'log entries must be contiguous after the snapshot');
    }
  }

  get snapshot(): Snapshot {
    return this.snap;
  }

  firstIndex(): Index {
    return index(this.snap.index + 1);
  }

  lastIndex(): Index {
    return index(this.snap.index + this.entries.length);
  }

  lastTerm(): Term {
    const last = this.entries[this.entries.length - 1];
    return last === undefined ? this.snap.term : last.term;
  }

  /** The term at `i`, or undefined when `i` is compacted away (below the snapshot) or beyond the end. */
  termAt(i: number): Term | undefined {
    if (i === this.snap.index) return this.snap.term;
    if (i < this.snap.index) return undefined;
    return this.entries[i - this.snap.index - 1]?.term;
  }

  entry(i: number): Entry | undefined {
    if (i <= this.snap.index) return undefined;
    return this.entries[i - this.snap.index - 1];
  }

  /** Entries from `from` (inclusive), at most `countMax`. */
  slice(from: number, countMax: number): Entry[] {
    const start = Math.max(from, this.snap.index + 1) - this.snap.index - 1;
    return this.entries.slice(start, start + countMax);
  }

  entriesAfter(i: number): Entry[] {
    return this.slice(i + 1, Number.MAX_SAFE_INTEGER);
  }

  /** The configuration in force at `i` (latest config entry at or before it). */
  membersAt(i: number): readonly Member[] {
    assert(i >= this.snap.index, `configuration at ${i} asked for, below the snapshot at ${this.snap.index}`);
    let members = this.snap.members;
    for (const e of this.slice(this.firstIndex(), i - this.snap.index)) if (e.data.type === 'config') members = e.data.members;
    return members;
  }

  /** Raft dissertation §4.1: a server uses the latest configuration in its log, committed or not. */
  latestMembers(): readonly Member[] {
    let members = this.snap.members;
    for (const e of this.entriesAfter(this.snap.index)) if (e.data.type === 'config') members = e.data.members;
    return members;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIdx: number, lastTrm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTrm > myTerm || (lastTrm === myTerm && lastIdx >= this.lastIndex());
  }

  /** Leader append. */
  append(e: Entry): void {
    assert(e.index === this.lastIndex() + 1, `append out of order: ${e.index} after ${this.lastIndex()}`);
    this.entries.push(e);
    this.markUnstable(e.index);
  }

  /**
   * Follower append after the consistency check passed at prevIndex. Skips
   * entries already present with the same term; truncates at the first
   * conflict (Raft §5.3). Returns the index of the last entry now known to
   * match the leader's.
   */
  appendFromLeader(prevIndex: number, incoming: readonly Entry[], commitIndex: number): Index {
    let last = prevIndex;
    for (const e of incoming) {
      if (e.index <= this.snap.index) {
        last = e.index;
        continue;
      }
      const existing = this.termAt(e.index);
      if (existing === e.term) {
        last = e.index;
        continue;
      }
      if (existing !== undefined) {
        assert(e.index > commitIndex, `conflict at committed index ${e.index} (commit ${commitIndex})`);
        this.entries.length = e.index - this.snap.index - 1;
      }
      this.append(e);
      last = e.index;
    }
    return index(last);
  }

  /** Replaces the prefix up to `snapshot.index` by the snapshot (compaction of applied entries). */
  compact(snapshot: Snapshot): void {
    assert(snapshot.index >= this.snap.index, 'snapshot must not go backwards');
    this.entries = this.entries.filter((e) => e.index > snapshot.index);
    this.snap = snapshot;
    this.snapshotUnstable = true;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  install(snapshot: Snapshot): void {
    const keep = this.termAt(snapshot.index) === snapshot.term;
    this.entries = keep ? this.entries.filter((e) => e.index > snapshot.index) : [];
    this.snap = snapshot;
    this.snapshotUnstable = true;
    if (!keep) {
      this.unstableFrom = null;
      this.dropAllAfterSnapshot = true;
    }
  }

  private markUnstable(i: Index): void {
    if (this.unstableFrom === null || i < this.unstableFrom) this.unstableFrom = i;
  }

  /** What the store must write, then forgets it (the caller persists it before anything else happens). */
  takeUnstable(): { snapshot: Snapshot | null; entries: Entry[]; truncateFrom: Index | null } {
    const snapshot = this.snapshotUnstable ? this.snap : null;
    const entries = this.unstableFrom === null ? [] : this.entriesAfter(this.unstableFrom - 1);
    let truncateFrom = this.unstableFrom;
    if (this.dropAllAfterSnapshot) {
      const after = index(this.snap.index + 1);
      truncateFrom = truncateFrom === null || after < truncateFrom ? after : truncateFrom;
    }
    this.unstableFrom = null;
    this.snapshotUnstable = false;
    this.dropAllAfterSnapshot = false;
    return { snapshot, entries, truncateFrom };
  }

  hasUnstable(): boolean {
    return this.unstableFrom !== null || this.snapshotUnstable;
  }
}
