// A site whose ticket sink cannot take a grant gives the ticket up, so that
// the registry moves it to a site that can (issue 12, item 5). Found from
// outside: with its state directory full, a site on the file sink renewed its
// lease for 60 s while every write failed (284 failures) — the write-failure
// rule lived in the health monitor, which the agent started only when some
// probe (quorum, handlers, runnability) was configured. Real processes on
// loopback (file sinks): the holder's ticket directory is replaced by a plain
// file, so every grant and guard write fails there; the ticket must move to
// the other site. Every wait is an event with a deadline.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import type { TicketView } from '../../src/runtime/admin-service.js';
import { callLed, formationWaitMs } from '../support/led-calls.js';

const tsxCommand = [process.execPath, '--import', 'tsx', 'bin/tollbooth.ts'];

describe('a site whose sink cannot take a grant', () => {
  let f: LoopbackFormation;

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, command: tsxCommand, tickets: [{ name: 'auto', expireS: 4, acquireAfterS: 0 }] });
    await f.startAll();
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    await f.stop();
  });

  it('gives the ticket up, and the registry moves it to the other site', async () => {
    const holder = await until('the ticket granted at exactly one site', formationWaitMs, async () => {
      const at = await f.grantedAt('auto');
      return at.length === 1 ? at[0]! : null;
    });
    const other = f.sites.find((s) => s !== holder)!;
    // Every write of the holder's file sink (grants, revokes, the lease guard record) now fails.
    const dir = join(holder.dir, 'tickets');
    await rm(dir, { recursive: true, force: true });
    await writeFile(dir, 'not a directory\n');
    const arbitrator: LoopbackMember = f.members.find((m) => m.kind === 'arbitrator')!;
    await until('the registry to move the ticket to the other site', 90_000, async () => {
      const r = await f.call(arbitrator, { op: 'list' });
      const t = r.ok ? (r.data as TicketView[]).find((v) => v.name === 'auto') : undefined;
      return t?.holder === other.address ? true : null;
    });
    await until('the other site to hold the grant in its sink', formationWaitMs, async () => ((await f.grantedAt('auto')).includes(other) ? true : null));
    // The formation still answers (after an election, should a loaded machine have brought one).
    expect((await callLed(f, arbitrator, { op: 'list' })).ok).toBe(true);
  }, 5 * 60_000);
});
