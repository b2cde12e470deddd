// Runs the Storage compliance suite against MemoryStorage: a MemoryDisk is the
// medium (what survives a restart); raw records are read and edited on the
// disk's map directly, as the LevelDB suite does on the directory. A last test
// pins what is particular to the twin: every storage opened on a fresh disk
// starts empty and disks do not share records.
import { describe, expect, it } from 'vitest';
import { MemoryDisk, MemoryStorage } from '../../../src/adapters/storage/memory-storage.js';
import { batch, hardState } from '../fixtures/storage-values.js';
import { storageCompliance, type StorageMedium } from './storage-compliance.js';

let disks = 0;

function memoryMedium(): Promise<StorageMedium> {
  disks += 1;
  const disk = new MemoryDisk(`memory:disk-${disks}`);
  return Promise.resolve({
    location: disk.name,
    open: (options) => MemoryStorage.open(disk, options),
    records: () => Promise.resolve([...disk.records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    edit: (changes) => {
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) disk.records.delete(key);
        else disk.records.set(key, value);
      }
      return Promise.resolve();
    },
    dispose: () => Promise.resolve(),
  });
}

storageCompliance('MemoryStorage', memoryMedium);

describe('MemoryStorage', () => {
  it('opens on a fresh disk by default; disks share nothing', async () => {
    const a = await MemoryStorage.open();
    const b = await MemoryStorage.open();
    await a.persist(batch({ hardState: hardState(1, 0) }));
    expect(await b.load()).toBeNull();
    expect(a.location).toBe('memory');
    await a.close();
    await b.close();
  });
});
