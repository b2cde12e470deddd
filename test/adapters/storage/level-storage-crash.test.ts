// Crash consistency of LevelStorage under kill -9. Each round starts a child
// process (fixtures/storage-writer.ts under `node --import tsx`) that persists
// the deterministic Workload's batches into a fresh directory under
// os.tmpdir() and prints "ack n" once persist n has resolved. The test waits
// (with a deadline, no fixed sleep) until it has read N acks, sends SIGKILL,
// waits for the process to be gone and reads every ack it managed to print
// (A ≥ N), then reopens the directory with LevelStorage and loads it. Some
// rounds wait for "begin n" instead, printed once persist n has encoded its
// batch and the LevelDB write starts, so the kill lands inside that write.
//
// The store must hold exactly the state after some batch K with A ≤ K ≤ A+1:
// every acknowledged batch is there, and at most the one batch in flight at
// the kill, but then whole — never part of a batch. K is read from the hard
// state (each batch sets commit = its number); the expected state is computed
// by replaying batches 1…K into MemoryStorage, the twin that shares the
// format's rules, and must be equal field for field: hard state, snapshot and
// every entry. Entries are also checked to be contiguous above the snapshot.
// Rounds use several N, some chosen so the kill lands while a batch carrying
// a 10,000-ticket snapshot (megabytes, the longest write) is being encoded or
// written.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelStorage } from '../../../src/adapters/storage/level-storage.js';
import { MemoryStorage } from '../../../src/adapters/storage/memory-storage.js';
import type { PersistedState } from '../../../src/core/ready.js';
import { WriterProcess, type WriterExit } from '../fixtures/spawn-writer.js';
import { Workload, workloadDefaults } from '../fixtures/storage-workload.js';

const ackTimeoutMs = 60_000;
/** Far more batches than any round acknowledges before its kill; bounds the writer if a kill went astray. */
const batchesMax = 5_000;

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

/** What the store must hold after batches 1…k of the Workload. */
async function expectedAfter(k: number): Promise<PersistedState | null> {
  const model = await MemoryStorage.open();
  const workload = new Workload();
  for (let n = 1; n <= k; n++) await model.persist(workload.next());
  const state = await model.load();
  await model.close();
  return state;
}

// A round kills the writer once it has printed `ack n` (the next batch is being
// encoded or written), or `begin n` (batch n's LevelDB write is starting).
// Snapshot batches are those numbered a multiple of snapshotEvery, so
// `begin 20` and `begin 40` kill during a write of megabytes, and `ack 19`
// while the 20th batch's snapshot is being encoded.
const { snapshotEvery } = workloadDefaults;
const rounds: Array<['ack' | 'begin', number]> = [
  ['ack', 1],
  ['ack', snapshotEvery - 1],
  ['begin', snapshotEvery],
  ['begin', 2 * snapshotEvery],
  ['ack', 57],
  ['begin', 90],
  ['ack', 120],
];

describe('LevelStorage survives kill -9 of its process', () => {
  it.each(rounds)('killed at %s %i: every acknowledged batch, no partial one, a contiguous log', async (at, n) => {
    const root = await mkdtemp(join(tmpdir(), 'tollbooth-crash-'));
    roots.push(root);
    const location = join(root, 'registry');
    const writer = new WriterProcess(location, batchesMax);
    let exit: WriterExit;
    try {
      if (at === 'ack') await writer.waitForAcks(n, ackTimeoutMs);
      else await writer.waitForBegin(n, ackTimeoutMs);
    } finally {
      exit = await writer.kill9();
    }
    expect(exit.signal, `writer stderr:\n${writer.stderr}`).toBe('SIGKILL');
    const acked = exit.acks;
    expect(acked).toBeGreaterThanOrEqual(at === 'ack' ? n : n - 1);

    const storage = await LevelStorage.open(location);
    let loaded: PersistedState | null;
    try {
      loaded = await storage.load();
    } finally {
      await storage.close();
    }
    expect(loaded).not.toBeNull();
    const k = loaded!.hardState.commit;
    // Every acknowledged batch, and at most the one in flight at the kill.
    expect(k).toBeGreaterThanOrEqual(acked);
    expect(k).toBeLessThanOrEqual(acked + 1);
    // Whole batches only: the state is exactly the state after batch k.
    expect(loaded).toEqual(await expectedAfter(k));
    const snapshotIndex = loaded!.snapshot?.index ?? 0;
    loaded!.entries.forEach((e, i) => expect(e.index).toBe(snapshotIndex + 1 + i));
  });
});
