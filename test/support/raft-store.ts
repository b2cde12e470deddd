// The in-memory Raft store that the test hosts (the simulator and the
// interaction harness) give each member: it keeps exactly what completed
// persist steps wrote, so a crash loses everything else.
import type { Entry, Snapshot } from '../../src/core/messages.js';
import type { HardState, PersistBatch, PersistedState } from '../../src/core/ready.js';

export interface RaftStore {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: Map<number, Entry>;
}

export function emptyRaftStore(): RaftStore {
  return { hardState: null, snapshot: null, entries: new Map() };
}

/** Applies one persist batch with the store semantics of src/core/ready.ts. */
export function persistInto(s: RaftStore, p: PersistBatch | null): void {
  if (p === null) return;
  if (p.hardState !== null) s.hardState = p.hardState;
  if (p.snapshot !== null) {
    s.snapshot = p.snapshot;
    for (const k of [...s.entries.keys()]) if (k <= p.snapshot.index) s.entries.delete(k);
  }
  if (p.truncateFrom !== null) for (const k of [...s.entries.keys()]) if (k >= p.truncateFrom) s.entries.delete(k);
  for (const e of p.entries) s.entries.set(e.index, e);
  if (s.hardState === null) s.hardState = { term: 0 as HardState['term'], votedFor: null, commit: 0 as HardState['commit'] };
}

/** What a restarting member finds; undefined before its first persist. */
export function loadFrom(s: RaftStore): PersistedState | undefined {
  if (s.hardState === null) return undefined;
  return { hardState: s.hardState, snapshot: s.snapshot, entries: [...s.entries.values()].sort((a, b) => a.index - b.index) };
}
