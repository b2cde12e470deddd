// Runs the TicketSink compliance suite (./ticket-sink-compliance.ts) against
// the file stand-in (FileTicketSink) in a temp directory: `inspect` reads a
// ticket the way the CLI and the integration tests do (readTicketState: the
// ticket file with the guard record's deadline), and a broken medium is the
// ticket directory replaced by a plain file, so that every write fails.
// readAll reads again only what changed; at rest, with many tickets, it looks
// at no file at all unless the directory watch reported one (an edit in place,
// a file replaced or removed), and at every file at each full sweep or when
// the watch was lost.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketSink, fullSweepMs, guardFileName, readTicketFile, readTicketState, type FileTicketState } from '../../../src/adapters/pacemaker/file-ticket-sink.js';
import { readGuardFile, syncDirectory } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { generation, memberId, ms } from '../../../src/core/types.js';
import type { TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { describeTicketSinkCompliance, HandClock, start, type SinkMedium } from './ticket-sink-compliance.js';

describeTicketSinkCompliance('FileTicketSink', async (): Promise<SinkMedium> => {
  const root = await mkdtemp(join(tmpdir(), 'file-ticket-sink-'));
  const dir = join(root, 'tickets');
  const clock = new HandClock(start);
  return {
    clock,
    open: () => Promise.resolve(new FileTicketSink(dir, 'test-boot', clock)),
    openAfterReboot: () => Promise.resolve(new FileTicketSink(dir, 'next-boot', clock)),
    inspect: async (ticket) => {
      const s = await readTicketState(dir, ticket);
      return s === null ? null : { granted: s.granted, standby: s.standby, generation: s.generation, attrs: s.attrs };
    },
    break: async () => {
      await rm(dir, { recursive: true, force: true });
      await writeFile(dir, 'not a directory\n');
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('FileTicketSink.readAll reads again only what changed', () => {
  it('sees an edit in place and a file removed, after reading the same files once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'file-ticket-sink-'));
    try {
      const dir = join(root, 'tickets');
      const clock = new HandClock(start);
      const sink = new FileTicketSink(dir, 'test-boot', clock);
      const grant = { id: 1, ticket: 'ticketA', granted: true, standby: false, generation: 3 as never, owner: null, revokeBy: (start + 30_000) as never, attrs: {} };
      expect((await sink.apply(grant)).ok).toBe(true);
      expect((await sink.apply({ ...grant, id: 2, ticket: 'ticketB' })).ok).toBe(true);
      const names = async (): Promise<string[]> => (await sink.readAll()).filter((t) => t.granted).map((t) => t.name).sort();
      expect(await names()).toEqual(['ticketA', 'ticketB']);
      // An admin's edit in place (same inode): the file says revoked now.
      const path = join(dir, FileTicketSink.fileName('ticketA'));
      const edited = { ...(JSON.parse(await readFile(path, 'utf8')) as object), granted: false, revokeBy: null };
      // Truncated and written again: the same inode.
      await writeFile(path, `${JSON.stringify(edited)}\n`);
      expect(await names()).toEqual(['ticketB']);
      await rm(join(dir, FileTicketSink.fileName('ticketB')));
      expect((await sink.readAll()).map((t) => t.name)).toEqual(['ticketA']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('FileTicketSink.readAll at rest looks only at what the directory watch reported', () => {
  it('many tickets: nothing looked at when nothing changed; an edit in place, a file replaced or removed is seen; every file at each full sweep', async () => {
    const root = await mkdtemp(join(tmpdir(), 'file-ticket-sink-'));
    const clock = new HandClock(start);
    const dir = join(root, 'tickets');
    const sink = new FileTicketSink(dir, 'test-boot', clock);
    try {
      const n = 300;
      const grant = (i: number): TicketEffect => ({ id: i, ticket: `t${i}`, granted: true, standby: false, generation: generation(3), owner: null, revokeBy: ms(start + 600_000), attrs: {} });
      const results = await sink.applyBatch(Array.from({ length: n }, (_, i) => grant(i)));
      expect(results.every((r) => r.ok)).toBe(true);
      const granted = async (): Promise<Set<string>> => new Set((await sink.readAll()).filter((t) => t.granted).map((t) => t.name));
      expect((await granted()).size).toBe(n);
      expect(sink.lastReadAll).toEqual({ sweep: true, examined: n });
      // At rest: not one file looked at, the same answer.
      expect((await granted()).size).toBe(n);
      expect(sink.lastReadAll).toEqual({ sweep: false, examined: 0 });

      // Someone else revokes t7 by editing its file in place (the same inode), as an admin might.
      const file = (t: string): string => join(dir, FileTicketSink.fileName(t));
      const revoked = async (t: string): Promise<string> => `${JSON.stringify({ ...(JSON.parse(await readFile(file(t), 'utf8')) as object), granted: false, revokeBy: null })}\n`;
      await writeFile(file('t7'), await revoked('t7'));
      const seen = async (what: string, done: (g: Set<string>) => boolean): Promise<void> => {
        // The watch's event is handled by the event loop: readAll is called until it is seen, within a deadline.
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          if (done(await granted())) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`readAll never saw ${what}`);
      };
      await seen('the edit in place', (g) => !g.has('t7') && g.size === n - 1);
      expect(sink.lastReadAll?.sweep).toBe(false);
      // Replaced (a new file renamed over it, as crm_ticket-like writers do) and removed.
      const tmp = join(dir, '.t8.json.tmp');
      await writeFile(tmp, await revoked('t8'));
      await rename(tmp, file('t8'));
      await rm(file('t9'));
      await seen('t8 replaced and t9 removed', (g) => !g.has('t8') && !g.has('t9') && g.size === n - 3);
      expect(sink.lastReadAll?.sweep).toBe(false);
      expect((await sink.readAll()).some((t) => t.name === 't9')).toBe(false);
      expect(sink.lastReadAll).toEqual({ sweep: false, examined: 0 });

      // Every fullSweepMs, every file is looked at whatever the watch said.
      clock.t += fullSweepMs;
      expect((await granted()).size).toBe(n - 3);
      expect(sink.lastReadAll).toEqual({ sweep: true, examined: n - 1 });

      // Without the watch (lost, failed: here closed), the next readAll looks at every file, and sees an edit made meanwhile.
      sink.close();
      await writeFile(file('t10'), await revoked('t10'));
      expect((await granted()).has('t10')).toBe(false);
      expect(sink.lastReadAll).toEqual({ sweep: true, examined: n - 1 });
      expect((await granted()).size).toBe(n - 4);
      expect(sink.lastReadAll).toEqual({ sweep: false, examined: 0 });
    } finally {
      sink.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('FileTicketSink.readAll shows all of a ticket not granted (CibTicketState.shown; tickets/sink-at-start.ts)', () => {
  it('gives standby, owner and attributes of a file not granted, nothing more of a grant or of a file without them', async () => {
    const root = await mkdtemp(join(tmpdir(), 'file-ticket-sink-'));
    try {
      const dir = join(root, 'tickets');
      const sink = new FileTicketSink(dir, 'test-boot', new HandClock(start));
      const revoke: TicketEffect = { id: 1, ticket: 'revoked', granted: false, standby: true, generation: generation(4), owner: memberId('site-b'), revokeBy: null, attrs: { k: 'v' } };
      expect((await sink.apply(revoke)).ok).toBe(true);
      expect((await sink.apply({ ...revoke, id: 2, ticket: 'granted', granted: true, standby: false, owner: memberId('site-a'), revokeBy: ms(start + 30_000), attrs: {} })).ok).toBe(true);
      // Written by hand without booth's attributes: not all of it is known, so a start-up revoke rewrites it.
      await writeFile(join(dir, FileTicketSink.fileName('bare')), `${JSON.stringify({ ticket: 'bare', granted: false, generation: 0 })}\n`);
      const byName = new Map((await sink.readAll()).map((t) => [t.name, t]));
      expect(byName.get('revoked')).toMatchObject({ granted: false, generation: 4, shown: { standby: true, owner: 'site-b', attrs: { k: 'v' } } });
      expect(byName.get('granted')?.granted).toBe(true);
      expect(byName.get('granted')?.shown).toBeUndefined();
      expect(byName.get('bare')?.shown).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('FileTicketSink.applyBatch group-commits its ticket files', () => {
  const grantOf = (i: number, gen = 1): TicketEffect => ({ id: i, ticket: `t${i}`, granted: true, standby: false, generation: generation(gen), owner: memberId('site-a'), revokeBy: ms(start + 30_000), attrs: { n: String(i) } });
  const revokeOf = (i: number): TicketEffect => ({ ...grantOf(i, 2), id: 1000 + i, granted: false, revokeBy: null });
  /** Runs `f` on a ticket directory inside a fresh temporary one, removed afterwards. */
  const inTicketDir = async (f: (dir: string) => Promise<void>): Promise<void> => {
    const root = await mkdtemp(join(tmpdir(), 'file-ticket-sink-'));
    try {
      await f(join(root, 'tickets'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };

  it('one fsync of the directory per batch, made when every file of the batch is whole and renamed (no temp file left)', () =>
    inTicketDir(async (dir) => {
      const seen: Array<{ temps: string[]; files: Array<FileTicketState | null> }> = [];
      const batch = Array.from({ length: 100 }, (_, i) => grantOf(i));
      const sync = async (d: string): Promise<void> => {
        expect(d).toBe(dir);
        const names = await readdir(dir);
        seen.push({ temps: names.filter((n) => n.endsWith('.tmp')), files: await Promise.all(batch.map((e) => readTicketFile(join(dir, FileTicketSink.fileName(e.ticket))))) });
        await syncDirectory(d);
      };
      const sink = new FileTicketSink(dir, 'test-boot', new HandClock(start), sync);
      const out = await sink.applyBatch(batch);
      expect(out.map((o) => o.ok)).toEqual(batch.map(() => true));
      expect(seen).toHaveLength(1);
      expect(seen[0]!.temps).toEqual([]);
      expect(seen[0]!.files.map((f) => [f?.ticket, f?.granted, f?.attrs['n']])).toEqual(batch.map((e) => [e.ticket, true, e.attrs['n']]));
      // A second batch: one more.
      expect((await sink.applyBatch(batch.slice(0, 10).map((e) => revokeOf(e.id)))).every((o) => o.ok)).toBe(true);
      expect(seen).toHaveLength(2);
    }));

  it('a failed directory fsync fails every file of the batch, and a revoke not known durable stays armed in the guard', () =>
    inTicketDir(async (dir) => {
      let failSync = false;
      const sync = async (d: string): Promise<void> => {
        if (failSync) throw new Error('EIO: directory fsync failed');
        await syncDirectory(d);
      };
      const sink = new FileTicketSink(dir, 'test-boot', new HandClock(start), sync);
      const grants = Array.from({ length: 5 }, (_, i) => grantOf(i));
      expect((await sink.applyBatch(grants)).every((o) => o.ok)).toBe(true);
      failSync = true;
      const out = await sink.applyBatch(grants.map((e) => revokeOf(e.id)));
      expect(out).toEqual(grants.map((e) => ({ id: 1000 + e.id, ok: false, error: 'EIO: directory fsync failed' })));
      const guard = await readGuardFile(join(dir, guardFileName), 'test-boot');
      expect([...guard.keys()].sort()).toEqual(grants.map((e) => e.ticket).sort());
    }));

  it('a file that cannot be renamed fails alone; the rest of the batch is written, with one directory fsync', () =>
    inTicketDir(async (dir) => {
      // A non-empty directory where t3's file goes: its rename fails (EISDIR / ENOTEMPTY).
      await mkdir(join(dir, FileTicketSink.fileName('t3'), 'x'), { recursive: true });
      let syncs = 0;
      const sink = new FileTicketSink(dir, 'test-boot', new HandClock(start), async (d) => {
        syncs += 1;
        await syncDirectory(d);
      });
      const batch = Array.from({ length: 6 }, (_, i) => grantOf(i));
      const out = await sink.applyBatch(batch);
      expect(out.map((o) => o.ok)).toEqual([true, true, true, false, true, true]);
      expect(syncs).toBe(1);
      expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      for (const e of batch.filter((e) => e.ticket !== 't3')) expect((await readTicketState(dir, e.ticket))?.granted).toBe(true);
    }));
});
