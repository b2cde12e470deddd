// Runs the TicketSink compliance suite (./ticket-sink-compliance.ts) against
// the file stand-in (FileTicketSink) in a temp directory: `inspect` reads a
// ticket the way the CLI and the integration tests do (readTicketState: the
// ticket file with the guard record's deadline), and a broken medium is the
// ticket directory replaced by a plain file, so that every write fails.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
