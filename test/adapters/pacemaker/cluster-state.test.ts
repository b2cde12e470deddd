// crm_mon's view of the site's own cluster: the real crm_mon on a CIB file (no
// cluster behind it: no DC, so no quorum) and recorded live-shaped outputs
// (a DC with and without quorum; active primitives inside a group and a
// promotable clone), plus every malformed answer we refuse.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ClusterStateError, parseClusterState, readCibVersion, readClusterState } from '../../../src/adapters/pacemaker/cluster-state.js';

const run = promisify(execFile);
const fixture = join(import.meta.dirname, '..', 'fixtures', 'cib-tickets.xml');

const live = (dc: string, resources: string): string => `<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">
  <summary>
    <stack type="corosync"/>
    ${dc}
    <nodes_configured number="2"/>
  </summary>
  <nodes>
    <node name="node1" id="1" online="true" type="member"/>
  </nodes>
  <resources>
${resources}
  </resources>
  <status code="0" message="OK"/>
</pacemaker-result>
`;

describe('the site cluster state from crm_mon', () => {
  it('a CIB file (the real crm_mon): no DC, so no quorum, and nothing active', async () => {
    const s = await readClusterState({ env: { CIB_file: fixture } });
    expect(s).toEqual({ quorate: false, dc: null, active: [] });
    // The same text parsed directly.
    const { stdout } = await run('crm_mon', ['-1', '--output-as=xml'], { env: { ...process.env, CIB_file: fixture } });
    expect(parseClusterState(stdout).quorate).toBe(false);
  });

  it('a DC with quorum, and active primitives with their parents, roles and nodes', () => {
    const s = parseClusterState(
      live(
        '<current_dc present="true" version="2.1.5" name="node1" id="1" with_quorum="true"/>',
        `    <group id="g" number_resources="2" managed="true" disabled="false">
      <resource id="ip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true" nodes_running_on="1"><node name="node1" id="1" cached="true"/></resource>
      <resource id="svc" resource_agent="ocf:pacemaker:Dummy" role="Stopped" active="false" nodes_running_on="0"/>
    </group>
    <clone id="db-clone" multi_state="true" unique="false">
      <resource id="db" resource_agent="ocf:pacemaker:Stateful" role="Promoted" active="true" nodes_running_on="1"><node name="node1" id="1" cached="true"/></resource>
    </clone>`,
      ),
    );
    expect(s).toEqual({
      quorate: true,
      dc: 'node1',
      active: [
        { id: 'ip', parents: ['g'], role: 'Started', nodes: ['node1'] },
        { id: 'db', parents: ['db-clone'], role: 'Promoted', nodes: ['node1'] },
      ],
    });
  });

  it('a DC without quorum is not quorate', () => {
    expect(parseClusterState(live('<current_dc present="true" name="node1" id="1" with_quorum="false"/>', '')).quorate).toBe(false);
  });

  it('refuses output it does not understand, saying what is wrong', () => {
    expect(() => parseClusterState('not xml')).toThrow(ClusterStateError);
    expect(() => parseClusterState('not xml')).toThrow(/BAD_OUTPUT: crm_mon output is not XML/);
    expect(() => parseClusterState('<other/>')).toThrow(/root <other>, not <pacemaker-result>/);
    expect(() => parseClusterState('<pacemaker-result><summary/></pacemaker-result>')).toThrow(/no <summary><current_dc>/);
    expect(() => parseClusterState('<pacemaker-result><status code="102" message="Not connected"/></pacemaker-result>')).toThrow(/FAILED: crm_mon status 102: Not connected/);
  });

  it('names a missing binary', async () => {
    await expect(readClusterState({ binary: '/nonexistent/crm_mon' })).rejects.toThrow(/BINARY_MISSING/);
  });
});

describe('a ticket\'s resources and where they are active', () => {
  it('names the rsc_ticket resources and reports the active ones (real cibadmin, crm_ticket, crm_simulate, crm_mon)', async () => {
    const { mkdtemp, copyFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { ticketResources } = await import('../../../src/adapters/pacemaker/cluster-state.js');
    const d = await mkdtemp(join(tmpdir(), 'ticket-resources-'));
    try {
      const before = join(d, 'before.xml');
      const after = join(d, 'after.xml');
      await copyFile(fixture, before);
      // Nodes offline, nothing granted: the resources are known, none is active.
      expect(await ticketResources('ticketA', { env: { CIB_file: before } })).toEqual({ resources: ['db-clone', 'svcA'], active: [] });
      // Grant ticketA, bring the nodes up and let the scheduler run: svcA starts, db is promoted somewhere.
      await run('crm_ticket', ['-t', 'ticketA', '-g', '--force'], { env: { ...process.env, CIB_file: before } });
      await run('crm_simulate', ['-x', before, '-u', 'node1', '-u', 'node2', '-u', 'node3', '-S', '-O', after]);
      const r = await ticketResources('ticketA', { env: { CIB_file: after } });
      expect(r.resources).toEqual(['db-clone', 'svcA']);
      expect(r.active.map((a) => a.id)).toContain('svcA');
      expect(r.active.find((a) => a.id === 'svcA')).toMatchObject({ role: 'Started', parents: [], nodes: [expect.stringMatching(/^node[123]$/) as string] });
      expect(r.active.filter((a) => a.parents.includes('db-clone')).length).toBeGreaterThan(0);
      // ticketB's resource is not ticketA's.
      expect(r.active.map((a) => a.id)).not.toContain('svcB');
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('the CIB version (the root element alone) that gates the health probes', () => {
  it('changes with every CIB write and with quorum or DC, and matches what crm_mon reads (real cibadmin, crm_ticket, crm_mon)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cib-version-'));
    try {
      const cib = join(dir, 'cib.xml');
      await copyFile(fixture, cib);
      const env = { CIB_file: cib };
      const v1 = await readCibVersion({ env });
      expect(v1).toContain('epoch=');
      expect(v1).toContain('num_updates=');
      // Reading changes nothing.
      expect(await readCibVersion({ env })).toBe(v1);
      // A ticket granted in the CIB (what a runnability answer depends on) is a write: a new version.
      await run('crm_ticket', ['-t', 'some-ticket', '-g', '--force'], { env: { ...process.env, ...env } });
      const v2 = await readCibVersion({ env });
      expect(v2).not.toBe(v1);
      // A DC with quorum appears (what crm_mon's quorum comes from), then quorum goes: each a new version.
      const text = await readFile(cib, 'utf8');
      await writeFile(cib, text.replace('<cib ', '<cib dc-uuid="1" '));
      const v3 = await readCibVersion({ env });
      expect((await readClusterState({ env })).quorate).toBe(true);
      await writeFile(cib, text.replace('<cib ', '<cib dc-uuid="1" ').replace('have-quorum="1"', 'have-quorum="0"'));
      const v4 = await readCibVersion({ env });
      expect((await readClusterState({ env })).quorate).toBe(false);
      expect(new Set([v1, v2, v3, v4]).size).toBe(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names what is wrong when the CIB cannot be read', async () => {
    await expect(readCibVersion({ env: { CIB_file: '/nonexistent/cib.xml' } })).rejects.toThrow(ClusterStateError);
    await expect(readCibVersion({ cibadmin: '/nonexistent/cibadmin' })).rejects.toThrow(/not found/);
  });
});
