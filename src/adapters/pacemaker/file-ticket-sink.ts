// The file-backed ticket sink: the STAND-IN for the Pacemaker feed until the
// crm_ticket sink lands (issue 4). One JSON file per ticket under
// <dir>/<encoded name>.json, written atomically (temp file, fsync, rename,
// fsync of the directory; applyBatch renames all of its files before one fsync
// of the directory: lease-guard-file.ts writeFilesAtomic). A grant is only
// valid until `revokeBy` on the CLOCK_MONOTONIC of the boot named in `bootId`:
// readers (tests, the CLI) must treat a grant past its deadline, or from
// another boot, as revoked.
// Deadlines move later without rewriting ticket files: the lease guard record
// (<dir>/lease-guard, src/adapters/lease-guard-file.ts) holds each grant's
// current deadline, armed before the grant is written and extended in one
// write per guard update; readTicketState combines the two. readAll (the
// pump's read-back) watches the directory and reads only the files reported
// changed, and looks at every file (a stat each) at least every fullSweepMs.

import { statSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CibTicketState, GuardUpdate, TicketEffect } from '../../core/tickets/site-holder.js';
import { assert, generation, memberId, ms } from '../../core/types.js';
import type { AbortOptions, EffectOutcome, MonotonicClock, SinkStartRead, TicketSink } from '../../ports/ports.js';
import { DirectoryChanges } from './directory-changes.js';
import { LeaseGuardFile, readGuardFile, syncDirectory, writeFileAtomic, writeFilesAtomic, type GuardRecord, type SyncDirectory } from './lease-guard-file.js';

/** Ticket files written at once by applyBatch (the pump's per-ticket writers had 32 in flight): 50,000 at once ran out of file descriptors (EMFILE). */
export const fileWritesInFlightMax = 32;

/**
 * readAll looks at every ticket file at least this often (a stat each, a read of those that changed);
 * in between, only at the files the directory watch reported changed (src/adapters/pacemaker/
 * directory-changes.ts). The pump reads back every 30 s (sinkReadBackIntervalMs) and after each guard
 * update: a change whose watch event was lost is seen at the first read-back 30 s after the last sweep.
 */
export const fullSweepMs = 30_000;

/** Ticket files a full sweep looks at between turns of the event loop. */
const sweepChunk = 500;

/** The lease guard record's file name inside the ticket directory. */
export const guardFileName = 'lease-guard';

export interface FileTicketState {
  readonly ticket: string;
  readonly granted: boolean;
  readonly standby: boolean;
  readonly generation: number;
  readonly owner: string | null;
  /** CLOCK_MONOTONIC ms of `bootId` by which the grant is void. */
  readonly revokeBy: number | null;
  readonly bootId: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Wall-clock time of the write, for people only. */
  readonly writtenAt: string;
}

export class FileTicketSink implements TicketSink {
  private guardFile: Promise<LeaseGuardFile> | null = null;
  /**
   * readAll's last reading of each ticket file, by file name, with the file's identity then (inode, size,
   * change and modification times in ns): a file whose identity is the same is not read and parsed again.
   * Every write replaces the file (a new inode); an edit in place changes its times.
   */
  private readonly lastRead = new Map<string, { readonly identity: string; readonly state: FileTicketState | null }>();
  /** Which ticket files changed since the last readAll, as the directory watch saw it. */
  private readonly changes: DirectoryChanges;
  /** When readAll last looked at every ticket file (clock ms); null before the first. */
  private lastSweepAt: number | null = null;
  /** The last readAll: whether it looked at every ticket file, and how many it looked at (tests, bench). */
  lastReadAll: { readonly sweep: boolean; readonly examined: number } | null = null;

  constructor(
    private readonly dir: string,
    private readonly boot: string,
    private readonly clock: MonotonicClock,
    /** The directory fsync of applyBatch's writes, one per batch (tests pass one that counts). */
    private readonly syncDir: SyncDirectory = syncDirectory,
  ) {
    this.changes = new DirectoryChanges(dir);
  }

  static fileName(ticket: string): string {
    return `${encodeURIComponent(ticket)}.json`;
  }

  private guard(): Promise<LeaseGuardFile> {
    this.guardFile ??= LeaseGuardFile.open(join(this.dir, guardFileName), this.boot);
    return this.guardFile;
  }

  async readAll(_options?: AbortOptions): Promise<CibTicketState[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const guard = await this.guard();
    const changes = await this.changes.take();
    const now = this.clock.now();
    const sweep = !changes.complete || this.lastSweepAt === null || now - this.lastSweepAt >= fullSweepMs;
    let examined = 0;
    if (sweep) {
      this.lastSweepAt = now;
      const names = new Set((await readdir(this.dir)).filter(isTicketFile));
      for (const f of [...this.lastRead.keys()]) if (!names.has(f)) this.lastRead.delete(f);
      for (const f of names) {
        // A file the watch reported is read again even if its identity looks the same (a write in the same clock tick).
        await this.examine(f, changes.names.has(f));
        examined += 1;
        if (examined % sweepChunk === 0) await new Promise((r) => setImmediate(r));
      }
    } else {
      for (const f of changes.names) {
        if (!isTicketFile(f)) continue;
        await this.examine(f, true);
        examined += 1;
      }
    }
    this.lastReadAll = { sweep, examined };
    const out: CibTicketState[] = [];
    for (const { state: file } of this.lastRead.values()) {
      if (file === null) continue;
      const s = withGuard(file, guard.get(file.ticket));
      const sameBoot = s.bootId === this.boot;
      out.push({
        name: s.ticket,
        granted: s.granted && sameBoot,
        generation: generation(s.generation),
        revokeBy: sameBoot && s.revokeBy !== null ? ms(s.revokeBy) : null,
        // All a revoke writes besides, of a file that is one: a start-up revoke that would write the same is not written.
        ...shownOf(s),
      });
    }
    return out;
  }

  /** readAll's: it names every ticket file and all of each (a file without all a revoke writes, without `shown`). */
  async readAtStart(options?: AbortOptions): Promise<SinkStartRead> {
    return { tickets: await this.readAll(options), complete: true };
  }

  /**
   * One ticket file: read again if `force` or if its identity changed since the last reading (lastRead);
   * forgotten if it is gone. The stat is synchronous: a full sweep makes 10 000 of them, which take a
   * tenth of the CPU of as many stat promises (sweepChunk at a time between turns of the event loop).
   */
  private async examine(f: string, force: boolean): Promise<void> {
    const path = join(this.dir, f);
    let identity: string;
    try {
      const st = statSync(path, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) {
        this.lastRead.delete(f);
        return;
      }
      identity = `${st.ino}:${st.size}:${st.ctimeNs}:${st.mtimeNs}`;
    } catch {
      this.lastRead.delete(f);
      return;
    }
    const known = this.lastRead.get(f);
    if (!force && known !== undefined && known.identity === identity) return;
    const state = await readTicketFile(path);
    this.lastRead.set(f, { identity, state });
  }

  /** Stops watching the ticket directory (readAll watches it from its first call). */
  close(): void {
    this.changes.close();
  }

  async extendGuard(update: GuardUpdate, _options?: AbortOptions): Promise<{ ok: boolean; error?: string; skipped?: string[] }> {
    try {
      const skipped = await (await this.guard()).extend(update.extend, () => this.clock.now());
      return { ok: true, skipped };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * As apply for many tickets: one guard record write arms every grant before any ticket file is
   * written, the files are written group-committed (writeFilesAtomic: each temp file written and
   * fsync'd, fileWritesInFlightMax at once, then all renamed, then one fsync of the directory), and
   * one guard record write disarms the revokes that were written. Each file stands alone (a crash
   * leaves each the old or the new one, whole), so each effect's outcome is its own file's.
   */
  async applyBatch(effects: readonly TicketEffect[], _options?: AbortOptions): Promise<EffectOutcome[]> {
    assert(new Set(effects.map((e) => e.ticket)).size === effects.length, 'a batch holds at most one effect per ticket');
    const out = new Map<number, EffectOutcome>();
    const now = this.clock.now();
    const live: TicketEffect[] = [];
    for (const e of effects) {
      assert(!e.granted || e.revokeBy !== null, 'a granted effect carries revokeBy');
      if (e.granted && e.revokeBy !== null && e.revokeBy <= now) out.set(e.id, { id: e.id, ok: false, error: `refusing to grant ${e.ticket}: its revoke deadline passed ${now - e.revokeBy} ms ago` });
      else live.push(e);
    }
    let guard: LeaseGuardFile;
    try {
      guard = await this.guard();
      // The guard learns of the grants before any is written, and forgets a revoked one only once it is.
      await guard.armAll(live.filter((e) => e.granted).map((e) => ({ ticket: e.ticket, generation: e.generation, revokeBy: e.revokeBy!, ...(e.leaseEnd === undefined ? {} : { leaseEnd: e.leaseEnd }) })));
    } catch (err) {
      for (const e of live) out.set(e.id, { id: e.id, ok: false, error: (err as Error).message });
      return effects.map((e) => out.get(e.id)!);
    }
    const written = await writeFilesAtomic(
      this.dir,
      live.map((e) => ({ name: FileTicketSink.fileName(e.ticket), text: `${JSON.stringify(this.fileState(e))}\n` })),
      fileWritesInFlightMax,
      this.syncDir,
    );
    const revoked: string[] = [];
    for (const [i, e] of live.entries()) {
      const err = written[i]!;
      out.set(e.id, err === null ? { id: e.id, ok: true } : { id: e.id, ok: false, error: err.message });
      if (err === null && !e.granted) revoked.push(e.ticket);
    }
    try {
      await guard.disarmAll(revoked);
    } catch (err) {
      const byTicket = new Map(effects.map((e) => [e.ticket, e]));
      for (const t of revoked) {
        const e = byTicket.get(t)!;
        out.set(e.id, { id: e.id, ok: false, error: (err as Error).message });
      }
    }
    return effects.map((e) => out.get(e.id)!);
  }

  private fileState(e: TicketEffect): FileTicketState {
    return {
      ticket: e.ticket,
      granted: e.granted,
      standby: e.standby,
      generation: e.generation,
      owner: e.owner,
      revokeBy: e.revokeBy,
      bootId: this.boot,
      attrs: e.attrs,
      writtenAt: new Date().toISOString(),
    };
  }

  async apply(e: TicketEffect, _options?: AbortOptions): Promise<{ ok: boolean; error?: string }> {
    // As the crm_ticket sink: a grant past its deadline is not written (ready.ts), even if the host's own
    // check let it through a moment earlier; it would arm the guard with a deadline already gone.
    // A grant without a deadline would be one the guard never revokes: a programmer error, as there.
    assert(!e.granted || e.revokeBy !== null, 'a granted effect carries revokeBy');
    const now = this.clock.now();
    if (e.granted && e.revokeBy !== null && e.revokeBy <= now) {
      return { ok: false, error: `refusing to grant ${e.ticket}: its revoke deadline passed ${now - e.revokeBy} ms ago` };
    }
    const state = this.fileState(e);
    try {
      const guard = await this.guard();
      // The guard learns of a grant before it is written, and forgets it only once the revoke is.
      if (e.granted && e.revokeBy !== null) await guard.arm(e.ticket, e.generation, e.revokeBy, undefined, e.leaseEnd);
      await writeFileAtomic(join(this.dir, FileTicketSink.fileName(e.ticket)), `${JSON.stringify(state)}\n`);
      if (!e.granted) await guard.disarm(e.ticket);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}

/** CibTicketState.shown of a file not granted, if it holds all a revoke writes (a file edited by hand may not). */
function shownOf(s: FileTicketState): Pick<CibTicketState, 'shown'> {
  const attrs = s.attrs as unknown;
  const wellFormed = typeof s.standby === 'boolean' && (s.owner === null || typeof s.owner === 'string') && typeof attrs === 'object' && attrs !== null && Object.values(attrs).every((v) => typeof v === 'string');
  return s.granted || !wellFormed ? {} : { shown: { standby: s.standby, owner: s.owner === null ? null : memberId(s.owner), attrs: s.attrs } };
}

/** A ticket file's name (not the guard record, not a temp file of writeFileAtomic). */
function isTicketFile(f: string): boolean {
  return f.endsWith('.json') && !f.startsWith('.');
}

/** Reads one ticket file; null when it is missing or not a ticket file (reported by the caller's checks). */
export async function readTicketFile(path: string): Promise<FileTicketState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const s = JSON.parse(text) as FileTicketState;
    if (typeof s.ticket !== 'string' || typeof s.granted !== 'boolean' || typeof s.generation !== 'number') return null;
    return s;
  } catch {
    return null;
  }
}

/** Whether a ticket file grants the ticket now (deadline and boot checked). */
export function grantedNow(s: FileTicketState | null, nowMonotonicMs: number, boot: string): boolean {
  return s !== null && s.granted && s.bootId === boot && s.revokeBy !== null && nowMonotonicMs < s.revokeBy;
}

/** A ticket file with its deadline as the guard record has moved it (same generation only). */
function withGuard(s: FileTicketState, rec: GuardRecord | undefined): FileTicketState {
  if (!s.granted || rec === undefined || rec.generation !== s.generation) return s;
  if (s.revokeBy !== null && s.revokeBy >= rec.revokeBy) return s;
  return { ...s, revokeBy: rec.revokeBy };
}

/** One ticket's state as a reader should judge it: its file, with the deadline from the guard record. */
export async function readTicketState(dir: string, ticket: string): Promise<FileTicketState | null> {
  const s = await readTicketFile(join(dir, FileTicketSink.fileName(ticket)));
  if (s === null) return null;
  let rec: GuardRecord | undefined;
  try {
    rec = (await readGuardFile(join(dir, guardFileName), s.bootId)).get(ticket);
  } catch {
    rec = undefined; // unreadable guard record: the file's own deadline, which is never later
  }
  return withGuard(s, rec);
}
