// What Pacemaker's scheduler does with what the crm_ticket sink writes, on a
// CIB file with the REAL crm_ticket and crm_simulate (pacemaker-cli-utils):
// the lab CIB (fixtures/cib-tickets.xml) ties svcA to ticketA with
// loss-policy=stop, the promoted role of db-clone to ticketA with
// loss-policy=demote, and svcB to ticketB with loss-policy=fence. A grant
// written by the sink starts the constrained resources (and promotes db); a
// revoke written by the sink stops svcA, demotes db and fences svcB's node;
// standby stops them without fencing, and activate starts them again.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CrmTicketSink } from '../../../src/adapters/pacemaker/crm-ticket-sink.js';
import { LeaseGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { SystemClock } from '../../../src/adapters/system-clock.js';
import type { TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { generation, memberId, ms } from '../../../src/core/types.js';

const run = promisify(execFile);
const fixture = join(import.meta.dirname, '..', 'fixtures', 'cib-tickets.xml');
const clock = new SystemClock();

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

/** Runs the scheduler on `cib` (bringing the nodes online first when asked), writes the result to `out`; returns the transition summary lines. */
async function simulate(cib: string, out: string, online = false): Promise<string[]> {
  const args = ['-x', cib, ...(online ? ['-u', 'node1', '-u', 'node2', '-u', 'node3'] : []), '-S', '-O', out];
  const { stdout } = await run('crm_simulate', args);
  const summary = stdout.slice(stdout.indexOf('Transition Summary:'), stdout.indexOf('Executing Cluster Transition:'));
  return summary
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l.startsWith('* '));
}

function effect(ticket: string, granted: boolean, over: Partial<TicketEffect> = {}): TicketEffect {
  return { id: 1, ticket, granted, standby: false, generation: generation(3), owner: granted ? memberId('192.0.2.1') : null, revokeBy: granted ? ms(clock.now() + 600_000) : null, attrs: {}, ...over };
}

async function lab(): Promise<{ cib: (n: number) => string; sinkFor: (cib: string) => Promise<CrmTicketSink> }> {
  dir = await mkdtemp(join(tmpdir(), 'scheduler-'));
  await copyFile(fixture, join(dir, 'cib0.xml'));
  return {
    cib: (n) => join(dir, `cib${n}.xml`),
    sinkFor: async (cib) =>
      new CrmTicketSink({ siteId: 560592995, boothCfgName: 'booth', env: { CIB_file: cib }, clock, guard: await LeaseGuardFile.open(join(dir, 'lease-guard'), 'b') }),
  };
}

describe('the scheduler reacts to what the sink writes (real crm_simulate)', () => {
  it('grant starts the constrained resources and promotes; revoke stops (stop), demotes (demote) and fences (fence)', async () => {
    const l = await lab();
    const s0 = await l.sinkFor(l.cib(0));
    expect(await s0.apply(effect('ticketA', true))).toEqual({ ok: true });
    expect(await s0.apply(effect('ticketB', true))).toEqual({ ok: true });
    const up = await simulate(l.cib(0), l.cib(1), true);
    expect(up).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\* Start svcA \( node\d \)$/) as string,
        expect.stringMatching(/^\* Start svcB \( node\d \)$/) as string,
        expect.stringMatching(/^\* Promote db:\d \( Stopped -> Promoted node\d \)$/) as string,
      ]),
    );
    const svcBNode = /Start svcB \( (node\d) \)/.exec(up.join('\n'))![1]!;

    const s1 = await l.sinkFor(l.cib(1));
    expect(await s1.apply(effect('ticketA', false, { generation: generation(4) }))).toEqual({ ok: true });
    expect(await s1.apply(effect('ticketB', false, { generation: generation(4) }))).toEqual({ ok: true });
    const down = await simulate(l.cib(1), l.cib(2));
    expect(down).toContain(`* Fence (reboot) ${svcBNode} 'deadman ticket was lost'`);
    expect(down).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\* Stop svcA \( node\d \)/) as string,
        expect.stringMatching(/^\* Demote db:\d \( Promoted -> Unpromoted node\d \)$/) as string,
      ]),
    );
    // Demoted, not stopped: the unpromoted instances keep running.
    expect(down.some((x) => /^\* Stop db/.test(x))).toBe(false);
  });

  it('standby stops the resources without fencing (no loss-policy), activate starts them again', async () => {
    const l = await lab();
    const s0 = await l.sinkFor(l.cib(0));
    await s0.apply(effect('ticketB', true));
    const up = await simulate(l.cib(0), l.cib(1), true);
    expect(up).toEqual(expect.arrayContaining([expect.stringMatching(/^\* Start svcB \( node\d \)$/) as string]));

    const s1 = await l.sinkFor(l.cib(1));
    expect(await s1.apply(effect('ticketB', true, { standby: true }))).toEqual({ ok: true });
    const standby = await simulate(l.cib(1), l.cib(2));
    expect(standby).toEqual(expect.arrayContaining([expect.stringMatching(/^\* Stop svcB \( node\d \)/) as string]));
    expect(standby.some((x) => x.startsWith('* Fence'))).toBe(false);

    const s2 = await l.sinkFor(l.cib(2));
    expect(await s2.apply(effect('ticketB', true, { standby: false }))).toEqual({ ok: true });
    const active = await simulate(l.cib(2), l.cib(3));
    expect(active).toEqual(expect.arrayContaining([expect.stringMatching(/^\* Start svcB \( node\d \)$/) as string]));
  });
});
