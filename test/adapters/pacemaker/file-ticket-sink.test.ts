// Runs the TicketSink compliance suite (./ticket-sink-compliance.ts) against
// the file stand-in (FileTicketSink) in a temp directory: `inspect` reads a
// ticket the way the CLI and the integration tests do (readTicketState: the
// ticket file with the guard record's deadline), and a broken medium is the
// ticket directory replaced by a plain file, so that every write fails.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketSink, readTicketState } from '../../../src/adapters/pacemaker/file-ticket-sink.js';
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
