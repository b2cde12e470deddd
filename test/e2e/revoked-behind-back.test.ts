// A grant revoked behind the holder's back is noticed and written again
// (issue 12, item 1: "the agent must learn of every revoke it did not make").
// Found from outside: the lease guard revoked a grant while a slow guard
// update was in flight, the agent went on believing it granted and renewed it
// for minutes while the CIB said revoked and `tollbooth list` said held. The
// landing-time check in the guard record closes that race; this closes the
// class: after each guard update (and every sinkReadBackIntervalMs) the agent
// reads its sink back, and a confirmed grant that is gone is written again
// while the lease allows. Real processes on loopback with file sinks; the
// revoke is made by hand in the holder's ticket file, as crm_ticket -r would.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTicketSink } from '../../src/adapters/pacemaker/file-ticket-sink.js';
import { LoopbackFormation, until, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import { formationWaitMs } from '../support/led-calls.js';

const tsxCommand = [process.execPath, '--import', 'tsx', 'bin/tollbooth.ts'];

describe('a grant revoked behind the holder', () => {
  let f: LoopbackFormation;

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, command: tsxCommand, tickets: [{ name: 'auto', expireS: 6, acquireAfterS: 0 }] });
    await f.startAll();
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    await f.stop();
  });

  it('is written again by the holder, which keeps the ticket', async () => {
    const holder = await until('the ticket granted at exactly one site', formationWaitMs, async () => {
      const at = await f.grantedAt('auto');
      return at.length === 1 ? at[0]! : null;
    });
    const file = join(holder.dir, 'tickets', FileTicketSink.fileName('auto'));
    const read = async (): Promise<{ granted: boolean; generation: number }> => JSON.parse(await readFile(file, 'utf8')) as { granted: boolean; generation: number };
    const before = await read();
    expect(before.granted).toBe(true);
    await writeFile(file, `${JSON.stringify({ ...before, granted: false, revokeBy: null })}\n`);
    await until('the holder to write its grant again', formationWaitMs, async () => {
      const now = await read().catch(() => null);
      return now?.granted === true ? now : null;
    });
    const after = await read();
    // The same grant: no failover happened, the generation is unchanged.
    expect(after.generation).toBe(before.generation);
    expect((await f.grantedAt('auto')).map((m) => m.address)).toEqual([holder.address]);
  }, 3 * formationWaitMs);
});
