// Runs the Storage compliance suite against LevelStorage on real LevelDB
// directories under os.tmpdir(): raw records are read and edited by opening
// the directory with classic-level directly while no LevelStorage has it open.
// Then what only the real store has: the LOCK held by another process (a
// second agent on the same directory — a child process running
// fixtures/storage-writer.ts) is refused with StorageLockedError naming the
// directory, and the directory opens at once after that process is killed
// with SIGKILL; a directory that cannot be created (its parent is a file)
// fails with StorageOpenError naming it. Crash consistency is in
// level-storage-crash.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelStorage } from '../../../src/adapters/storage/level-storage.js';
import { describeCause, StorageLockedError, StorageOpenError } from '../../../src/adapters/storage/storage-errors.js';
import { WriterProcess } from '../fixtures/spawn-writer.js';
import { storageCompliance, type StorageMedium } from './storage-compliance.js';

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tollbooth-level-'));
  roots.push(root);
  return root;
}

/** Runs `work` on the directory opened with classic-level itself (no LevelStorage in between). */
async function withRawDb<T>(location: string, work: (db: ClassicLevel<string, string>) => Promise<T>): Promise<T> {
  const db = new ClassicLevel<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function levelMedium(): Promise<StorageMedium> {
  const root = await mkdtemp(join(tmpdir(), 'tollbooth-level-'));
  const location = join(root, 'registry');
  return {
    location,
    open: (options) => LevelStorage.open(location, options),
    records: () => withRawDb(location, (db) => db.iterator().all()),
    edit: (changes) =>
      withRawDb(location, (db) =>
        db.batch(
          Object.entries(changes).map(([key, value]) => (value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value })),
          { sync: true },
        ),
      ),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

storageCompliance('LevelStorage', levelMedium);

describe('LevelStorage on a real directory', () => {
  it('refuses a directory another process has open (LOCK), naming it, and opens it at once after that process is killed', async () => {
    const location = join(await tempRoot(), 'registry');
    const writer = new WriterProcess(location, 3);
    try {
      await writer.waitForAcks(1, 30_000);
      const err: unknown = await LevelStorage.open(location).then(
        async (s) => {
          await s.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageLockedError);
      expect(err).toMatchObject({ code: 'STORAGE_LOCKED', location });
      expect((err as Error).message).toContain(location);
      expect(describeCause((err as Error).cause)).toMatch(/IO error: lock .*\/LOCK/);
    } finally {
      const exit = await writer.kill9();
      expect(exit.signal).toBe('SIGKILL');
    }
    const s = await LevelStorage.open(location);
    try {
      const loaded = await s.load();
      expect(loaded?.hardState.commit).toBeGreaterThanOrEqual(1);
    } finally {
      await s.close();
    }
  });

  it('fails with StorageOpenError naming the directory when it cannot be created (its parent is a file)', async () => {
    const file = join(await tempRoot(), 'not-a-directory');
    await writeFile(file, 'x');
    const location = join(file, 'registry');
    const err: unknown = await LevelStorage.open(location).then(
      async (s) => {
        await s.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageOpenError);
    expect(err).toMatchObject({ code: 'STORAGE_OPEN_FAILED', location });
    expect((err as Error).message).toContain(location);
    expect((err as Error).message).toMatch(/ENOTDIR/);
  });
});
