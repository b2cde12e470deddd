// The in-memory twin of LevelStorage, for tests and the simulator. It keeps
// the same string records (storage-format.ts) in a MemoryDisk, so it accepts,
// refuses and reads back exactly what LevelStorage does, and every load()
// parses fresh objects: neither the caller's batch nor a loaded state shares
// memory with what is stored. The compliance suite
// (test/adapters/storage-compliance.ts) runs against both.
//
// A MemoryDisk outlives the storages opened on it, like a directory: a test
// "restarts" a member by closing its storage and opening another on the same
// disk. Like LevelDB's LOCK, a disk admits one open storage at a time.
// Writes are applied synchronously, so there is no partial batch to crash into.

import type { PersistBatch, PersistedState } from '../../core/ready.js';
import type { AbortOptions, Storage } from '../../ports/ports.js';
import { StorageClosedError, StorageLockedError } from './storage-errors.js';
import { decodeStore, encodeBatch, planPersist, type StoreShape } from './storage-format.js';

/** What survives a restart: the records, as LevelDB would hold them. */
export class MemoryDisk {
  /** Key → JSON text. Tests may edit it (while no storage is open) to play a damaged store. */
  readonly records = new Map<string, string>();
  /** Set while a MemoryStorage has this disk open. */
  held = false;

  /** Named in errors, as a LevelStorage's directory is. */
  constructor(readonly name = 'memory') {}
}

export class MemoryStorage implements Storage {
  readonly location: string;
  private readonly disk: MemoryDisk;
  private shape: StoreShape | null | undefined = undefined;
  private closed = false;

  private constructor(disk: MemoryDisk) {
    this.disk = disk;
    this.location = disk.name;
  }

  /** Opens a storage on `disk` (a fresh one by default). Fails with StorageLockedError while another storage holds the disk. */
  static open(disk: MemoryDisk = new MemoryDisk(), options: AbortOptions = {}): Promise<MemoryStorage> {
    return settle(() => {
      options.signal?.throwIfAborted();
      if (disk.held) throw new StorageLockedError(disk.name);
      disk.held = true;
      return new MemoryStorage(disk);
    });
  }

  load(options: AbortOptions = {}): Promise<PersistedState | null> {
    return settle(() => {
      this.checkUsable(options);
      return this.read().state;
    });
  }

  persist(batch: PersistBatch, options: AbortOptions = {}): Promise<void> {
    return settle(() => {
      this.checkUsable(options);
      const encoded = encodeBatch(this.location, batch);
      const shape = this.shape === undefined ? this.read().shape : this.shape;
      const plan = planPersist(this.location, shape, encoded);
      for (const op of plan.ops) {
        if (op.type === 'put') this.disk.records.set(op.key, op.value);
        else this.disk.records.delete(op.key);
      }
      this.shape = plan.shape;
    });
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.disk.held = false;
    }
    return Promise.resolve();
  }

  private checkUsable(options: AbortOptions): void {
    if (this.closed) throw new StorageClosedError(this.location);
    options.signal?.throwIfAborted();
  }

  private read(): ReturnType<typeof decodeStore> {
    const decoded = decodeStore(this.location, this.disk.records);
    this.shape = decoded.shape;
    return decoded;
  }
}

/**
 * Runs `work` now and hands its outcome back as a promise, as an asynchronous
 * store would: a throw becomes a rejection with the very value thrown (an
 * abort signal's reason, say), as LevelStorage's rejections are.
 */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    resolve(work());
  });
}
