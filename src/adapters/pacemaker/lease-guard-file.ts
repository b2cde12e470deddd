// The lease guard's record of this site's grants (DESIGN.md §4): for each
// ticket granted in the CIB, the generation and the deadline on this boot's
// CLOCK_MONOTONIC by which the grant must be gone. One JSON file, written
// atomically (temp file, fsync, rename, fsync of the directory), so a reader
// sees the whole old or the whole new record. The site agent writes it; the
// lease guard process (src/adapters/lease-guard.ts) reads it and revokes on
// time even when the agent is dead.
//
// Writes are group-committed: changes asked for while a write is in progress
// go into the next write together, so 10 000 tickets granted at once cost a
// handful of writes, and one renewal's extension of every ticket costs one.

import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TollboothError } from '../../errors.js';

export interface GuardRecord {
  readonly generation: number;
  /** CLOCK_MONOTONIC ms of the file's boot by which the grant must be revoked. */
  readonly revokeBy: number;
  /**
   * booth's `expires` (Unix s) the agent writes into the CIB with this deadline. A grant the CIB
   * shows with a later `expires` at the same term was written since by another agent of this site
   * (the group moved to another node, which armed its own guard first): the guard stands down
   * instead of revoking it. Absent in records of older agents: never stands down.
   */
  readonly expiresSec?: number;
  /**
   * The holder's lease end the agent computed `revokeBy` from, on the same clock: the guard enforces
   * the grant earlier than `revokeBy` when its own CIB operations have become slower than the agent's
   * lead allows for (guard-timing.ts). Absent in records of older agents: enforced at `revokeBy`.
   */
  readonly leaseEnd?: number;
}

/** The record of one grant, with the optional fields only where present. */
function recordOf(e: GuardRecord): GuardRecord {
  return { generation: e.generation, revokeBy: e.revokeBy, ...(e.expiresSec === undefined ? {} : { expiresSec: e.expiresSec }), ...(e.leaseEnd === undefined ? {} : { leaseEnd: e.leaseEnd }) };
}

interface GuardFileContent {
  readonly format: 'tollbooth-lease-guard';
  readonly version: 1;
  readonly bootId: string;
  /** Wall-clock time of the write, for people only. */
  readonly writtenAt: string;
  readonly tickets: Readonly<Record<string, GuardRecord>>;
}

export class GuardFileError extends TollboothError<'GUARD_FILE_INVALID'> {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('GUARD_FILE_INVALID', `${path}: ${message}`, { details: { path } });
  }
}

type Change =
  | { readonly kind: 'arm'; readonly entries: ReadonlyArray<{ readonly ticket: string; readonly rec: GuardRecord }> }
  | { readonly kind: 'disarm'; readonly tickets: readonly string[] }
  | {
      readonly kind: 'extend';
      readonly entries: ReadonlyArray<{ readonly ticket: string } & GuardRecord>;
      readonly now: () => number;
      readonly skipped: string[];
      /** Per ticket, the deadline this write moved the record to (later; an entry at or before the record's changes nothing). */
      readonly advanced: Map<string, number>;
    };

export class LeaseGuardFile {
  private records = new Map<string, GuardRecord>();
  private waiting: Array<{ change: Change; done: (err: Error | null) => void }> = [];
  private writing = false;

  private constructor(
    readonly path: string,
    private readonly boot: string,
  ) {}

  /** Opens the record; entries from another boot (deadlines on a clock that restarted) are dropped. */
  static async open(path: string, boot: string): Promise<LeaseGuardFile> {
    const g = new LeaseGuardFile(path, boot);
    g.records = await readGuardFile(path, boot);
    return g;
  }

  get(ticket: string): GuardRecord | undefined {
    return this.records.get(ticket);
  }

  all(): ReadonlyMap<string, GuardRecord> {
    return this.records;
  }

  /** Records a grant's deadline; resolves once durable. Call before writing the grant. */
  arm(ticket: string, generation: number, revokeBy: number, expiresSec?: number, leaseEnd?: number): Promise<void> {
    return this.armAll([{ ticket, generation, revokeBy, ...(expiresSec === undefined ? {} : { expiresSec }), ...(leaseEnd === undefined ? {} : { leaseEnd }) }]);
  }

  /** Records the deadlines of many grants in one durable write (a batch of sink writes); resolves once durable. */
  armAll(entries: ReadonlyArray<{ readonly ticket: string } & GuardRecord>): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.change({
      kind: 'arm',
      entries: entries.map((e) => ({ ticket: e.ticket, rec: recordOf(e) })),
    });
  }

  /** Forgets a grant; resolves once durable. Call after the revoke is written. */
  disarm(ticket: string): Promise<void> {
    return this.disarmAll([ticket]);
  }

  /** Forgets many grants in one durable write; resolves once durable. Tickets with no record (and none being armed) cost nothing. */
  disarmAll(tickets: readonly string[]): Promise<void> {
    const arming = new Set<string>();
    for (const w of this.waiting) if (w.change.kind === 'arm') for (const e of w.change.entries) arming.add(e.ticket);
    const armed = tickets.filter((t) => this.records.has(t) || arming.has(t));
    if (armed.length === 0) return Promise.resolve();
    return this.change({ kind: 'disarm', tickets: armed });
  }

  /**
   * Moves deadlines later where a grant of that generation is recorded;
   * resolves with the tickets skipped: no such grant, or a deadline that had
   * passed by the time the new one was durable. The lease guard process reads
   * the record when a deadline comes and revokes if it still finds that
   * deadline there: an extension that lands after the old deadline may come
   * too late, so its grant must be written again in full (issue 12: judged at
   * the time of asking, a slow write let the guard revoke a grant that the
   * agent then believed intact, and renewed, for minutes). `now` is the
   * monotonic clock the deadlines are on (CLOCK_MONOTONIC ms).
   */
  async extend(entries: ReadonlyArray<{ ticket: string } & GuardRecord>, now: () => number): Promise<string[]> {
    return (await this.extendMoved(entries, now)).skipped;
  }

  /**
   * As extend, and also the deadlines the write moved later (`moved`: ticket → the recorded deadline
   * now; none of them skipped): only those need booth's `expires` rewritten in the CIB
   * (crm-ticket-sink.ts extendGuard).
   */
  async extendMoved(entries: ReadonlyArray<{ ticket: string } & GuardRecord>, now: () => number): Promise<{ skipped: string[]; moved: Map<string, number> }> {
    const skipped: string[] = [];
    const advanced = new Map<string, number>();
    const change: Change = { kind: 'extend', entries, now, skipped, advanced };
    await this.change(change);
    // Old deadlines of the grants this write judged: the write counts only if it landed before them.
    const landedAt = now();
    for (const [ticket, before] of this.movedBy.get(change) ?? []) if (before <= landedAt) skipped.push(ticket);
    this.movedBy.delete(change);
    for (const t of skipped) advanced.delete(t);
    return { skipped, moved: advanced };
  }

  /** Per extend request, the deadline each moved grant had before the write (read when the request resolves). */
  private readonly movedBy = new Map<Change, Map<string, number>>();

  private change(change: Change): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ change, done: (err) => (err === null ? resolve() : reject(err)) });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        const next = new Map(this.records);
        for (const { change: c } of batch) {
          if (c.kind === 'arm') for (const e of c.entries) next.set(e.ticket, e.rec);
          else if (c.kind === 'disarm') for (const t of c.tickets) next.delete(t);
          else {
            const moved = new Map<string, number>();
            this.movedBy.set(c, moved);
            const now = c.now();
            for (const e of c.entries) {
              const cur = next.get(e.ticket);
              if (cur === undefined || cur.generation !== e.generation || cur.revokeBy <= now) c.skipped.push(e.ticket);
              else {
                // Judged again once the write is durable (extend()): the deadline in force until then.
                moved.set(e.ticket, Math.min(cur.revokeBy, moved.get(e.ticket) ?? Number.POSITIVE_INFINITY));
                if (e.revokeBy > cur.revokeBy) {
                  next.set(e.ticket, recordOf(e));
                  c.advanced.set(e.ticket, e.revokeBy);
                }
              }
            }
          }
        }
        let err: Error | null = null;
        try {
          await writeGuardFile(this.path, this.boot, next);
          this.records = next;
        } catch (e) {
          err = e instanceof Error ? e : new Error(String(e));
        }
        for (const w of batch) {
          if (err !== null) this.movedBy.delete(w.change);
          w.done(err);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}

/** Reads a guard file; a missing file is an empty record, entries of another boot are dropped. Throws GuardFileError when it is not a guard file. */
export async function readGuardFile(path: string, boot: string): Promise<Map<string, GuardRecord>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch (err) {
    throw new GuardFileError(path, `not JSON (${(err as Error).message})`);
  }
  const out = new Map<string, GuardRecord>();
  if (typeof c !== 'object' || c === null) throw new GuardFileError(path, 'not a lease guard record');
  const o = c as Partial<GuardFileContent>;
  if (o.format !== 'tollbooth-lease-guard' || o.version !== 1) throw new GuardFileError(path, 'not a version 1 lease guard record');
  if (typeof o.bootId !== 'string' || typeof o.tickets !== 'object' || o.tickets === null) throw new GuardFileError(path, 'bootId or tickets missing');
  if (o.bootId !== boot) return out;
  for (const [name, r] of Object.entries(o.tickets)) {
    if (!Number.isSafeInteger(r.generation) || r.generation < 0 || !Number.isFinite(r.revokeBy)) {
      throw new GuardFileError(path, `ticket ${JSON.stringify(name)} has an invalid generation or revokeBy`);
    }
    if (r.expiresSec !== undefined && !Number.isSafeInteger(r.expiresSec)) throw new GuardFileError(path, `ticket ${JSON.stringify(name)} has an invalid expiresSec`);
    if (r.leaseEnd !== undefined && !Number.isFinite(r.leaseEnd)) throw new GuardFileError(path, `ticket ${JSON.stringify(name)} has an invalid leaseEnd`);
    out.set(name, recordOf(r));
  }
  return out;
}

async function writeGuardFile(path: string, boot: string, records: ReadonlyMap<string, GuardRecord>): Promise<void> {
  const content: GuardFileContent = {
    format: 'tollbooth-lease-guard',
    version: 1,
    bootId: boot,
    writtenAt: new Date().toISOString(),
    tickets: Object.fromEntries(records),
  };
  await writeFileAtomic(path, `${JSON.stringify(content)}\n`);
}

/** Temp file, fsync, rename, fsync of the directory: after a crash the old or the new file, whole. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const [err] = await writeFilesAtomic(dirname(path), [{ name: basename(path), text }], 1);
  if (err !== null && err !== undefined) throw err;
}

/** One file of writeFilesAtomic: its name in the directory and its whole content. */
export interface AtomicFile {
  readonly name: string;
  readonly text: string;
}

/** The one fsync of a directory that makes writeFilesAtomic's renames durable (tests pass one that counts). */
export type SyncDirectory = (dir: string) => Promise<void>;

export async function syncDirectory(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * writeFileAtomic for many files of one directory, group-committed: every file is written to its temp
 * file and fsync'd (`inFlight` at once), then every temp file that is whole is renamed over its file,
 * then ONE fsync of the directory makes all the renames durable. After a crash each file is the old or
 * the new one, whole: a temp file is durable before its rename, and a rename replaces a file atomically.
 * A file counts as written only once the directory's fsync is done. Resolves with one outcome per file,
 * in order: null, or the error of its temp file, its rename or the directory's fsync; never rejects.
 */
export async function writeFilesAtomic(dir: string, files: readonly AtomicFile[], inFlight: number, sync: SyncDirectory = syncDirectory): Promise<Array<Error | null>> {
  const out: Array<Error | null> = files.map(() => null);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    return files.map(() => asError(err));
  }
  const temp = (i: number): string => join(dir, `.${files[i]!.name}.${process.pid}.tmp`);
  await eachAtMost(inFlight, files.length, async (i) => {
    try {
      await writeDurably(temp(i), files[i]!.text);
    } catch (err) {
      out[i] = asError(err);
      await rm(temp(i), { force: true }).catch(() => undefined);
    }
  });
  const renamed: number[] = [];
  await eachAtMost(inFlight, files.length, async (i) => {
    if (out[i] !== null) return;
    try {
      await rename(temp(i), join(dir, files[i]!.name));
      renamed.push(i);
    } catch (err) {
      out[i] = asError(err);
      await rm(temp(i), { force: true }).catch(() => undefined);
    }
  });
  if (renamed.length === 0) return out;
  try {
    await sync(dir);
  } catch (err) {
    for (const i of renamed) out[i] = asError(err);
  }
  return out;
}

/** A new file with `text`, fsync'd before it is closed. */
async function writeDurably(path: string, text: string): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Runs `f(0)` … `f(count - 1)`, at most `limit` at once (a slow one does not hold the next ones back). */
async function eachAtMost(limit: number, count: number, f: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await f(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
