// The registry's durable store (the Storage port) on LevelDB through
// classic-level. DESIGN.md §2: log and hard state are persisted before any
// message that depends on them is sent, so every persist is ONE LevelDB batch
// written with `sync: true` — one fdatasync, all or nothing after a crash
// (shared/reference/stack.md, LevelDB items 10–11 and the crash test there).
//
// The record layout, the checks on write and on read live in
// storage-format.ts, shared with the in-memory twin (memory-storage.ts).
//
// LevelDB deletes keys one by one (a batch has no range delete), so the store
// keeps the shape of its log (snapshot index, last index) in memory to know
// which keys a snapshot or a truncation drops. The shape comes from a full,
// checked read of the store (the first load(), or the first persist() if no
// load came before), and from each batch after that. LevelDB's LOCK file makes
// this process the only writer, and persists run one at a time in call order,
// so the shape in memory stays the shape on disk. After a failed write it is no
// longer known; the store then refuses writes until it is reopened (fail-stop,
// as the pump stops the member on a failed persist).

import { ClassicLevel } from 'classic-level';
import type { PersistBatch, PersistedState } from '../../core/ready.js';
import type { AbortOptions, Storage } from '../../ports/ports.js';
import { StorageClosedError, StorageLockedError, StorageOpenError, StorageWriteError } from './storage-errors.js';
import { decodeStore, encodeBatch, planPersist, type StoreShape } from './storage-format.js';

type Db = ClassicLevel<string, string>;

export class LevelStorage implements Storage {
  /** The store's directory, as given to open(). */
  readonly location: string;
  private readonly db: Db;
  /** undefined until the store has been read once; null for an empty store. */
  private shape: StoreShape | null | undefined = undefined;
  /** Operations run one at a time, in call order: the tail of that queue. */
  private queue: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private failure: StorageWriteError | null = null;

  private constructor(location: string, db: Db) {
    this.location = location;
    this.db = db;
  }

  /**
   * Opens the store in directory `location`, creating it (and its parents,
   * as classic-level does) if missing. Fails with StorageLockedError while
   * another LevelStorage, here or in another process, has it open.
   */
  static async open(location: string, options: AbortOptions = {}): Promise<LevelStorage> {
    options.signal?.throwIfAborted();
    const db: Db = new ClassicLevel<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open({ createIfMissing: true, errorIfExists: false });
    } catch (err) {
      // classic-level wraps LevelDB's status: LEVEL_DATABASE_NOT_OPEN, caused by LEVEL_LOCKED ("IO error: lock
      // <dir>/LOCK: already held by process" within this process, "…: Resource temporarily unavailable" from another).
      throw levelCode(err) === 'LEVEL_LOCKED' ? new StorageLockedError(location, err) : new StorageOpenError(location, err);
    }
    const storage = new LevelStorage(location, db);
    if (options.signal?.aborted === true) {
      await storage.close();
      options.signal.throwIfAborted();
    }
    return storage;
  }

  load(options: AbortOptions = {}): Promise<PersistedState | null> {
    return this.enqueue(options, async () => (await this.read()).state);
  }

  /**
   * Writes the batch as one synced LevelDB batch, after the ones persisted
   * before it. The batch is checked and encoded at once (the caller may reuse
   * its objects as soon as this returns). Honours `signal` until the write
   * starts; once started it runs to the end, and resolves only when the batch
   * is on disk.
   */
  async persist(batch: PersistBatch, options: AbortOptions = {}): Promise<void> {
    if (this.closing !== null) throw new StorageClosedError(this.location);
    options.signal?.throwIfAborted();
    const encoded = encodeBatch(this.location, batch);
    await this.enqueue(options, async () => {
      if (this.failure !== null) throw this.failure;
      const shape = this.shape === undefined ? (await this.read()).shape : this.shape;
      const plan = planPersist(this.location, shape, encoded);
      try {
        await this.db.batch([...plan.ops], { sync: true });
      } catch (err) {
        this.shape = undefined;
        this.failure = new StorageWriteError(this.location, err);
        throw this.failure;
      }
      this.shape = plan.shape;
    });
  }

  /** Waits for the operations already queued, then closes the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.queue.then(() => this.db.close());
    return this.closing;
  }

  private async read(): Promise<ReturnType<typeof decodeStore>> {
    const records = await this.db.iterator().all();
    const decoded = decodeStore(this.location, records);
    this.shape = decoded.shape;
    return decoded;
  }

  private enqueue<T>(options: AbortOptions, work: () => Promise<T>): Promise<T> {
    if (this.closing !== null) return Promise.reject(new StorageClosedError(this.location));
    const { signal } = options;
    const run = this.queue.then(() => {
      signal?.throwIfAborted();
      return work();
    });
    // The caller sees this operation's outcome through `run`; the queue only keeps the order.
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** The most specific LEVEL_* code of a classic-level error (the cause's, when there is one). */
function levelCode(err: unknown): string | undefined {
  const codeOf = (e: unknown): string | undefined =>
    typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
  const cause = err instanceof Error ? err.cause : undefined;
  return codeOf(cause) ?? codeOf(err);
}
