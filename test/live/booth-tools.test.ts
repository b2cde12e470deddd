// pcs against a live Pacemaker cluster whose site agent runs from the
// installed package as booth's resource (issue 14, items 3 and 4): what
// test/packaging/deb.test.ts cannot run on CIB files. The package is built
// (packaging/deb/build-deb.ts) and installed with `dpkg -i`; a one-node lab
// cluster (test/live/lab.ts) runs the group crmsh's geo bootstrap and `pcs
// booth create` make — an ocf:heartbeat:IPaddr2 floating address and an
// ocf:pacemaker:booth-site primitive with config=/etc/booth/booth.conf —, so
// Pacemaker starts the installed agent, which runs the installed
// /usr/sbin/tollbooth site-agent on the floating address, feeding the live
// CIB through crm_ticket. The formation's other site and its arbitrator run
// in the same node's network namespace on loopback addresses, also from the
// installed package: the site as /usr/sbin/tollbooth site-agent, the
// arbitrator as booth's daemon entry point, `/usr/sbin/boothd daemon -S -c
// /etc/booth/booth.conf` (booth@.service's command; its loopback identity and
// paths after `--`), so every member and every CLI call of the formation runs
// the installed program. Inside the node, Debian's real pcs then runs `pcs booth
// restart` (it finds the booth-site primitive in the live CIB and restarts it
// with crm_resource: the agent process is replaced, its ticket stays with the
// site and is granted in the CIB again), `pcs booth ticket revoke|grant T`
// without a site (pcs reads the IP grouped with booth-site and runs `booth
// -s IP`), and `pcs status --full` (the ticket as Pacemaker shows it). It
// holds the package test's lock (/etc/booth/booth.conf and the package are
// the machine's), and purges the package at the end. Each operation's
// outcome is printed as a works/fails table. Waits are polls with deadlines.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeb } from '../../packaging/deb/build-deb.js';
import { releasePackageTestLock, tryTakePackageTestLock } from '../support/package-test-lock.js';
import { cleanupStaleLabs, startCluster, waitFor, type Cluster, type RunResult } from './lab.js';
import { LiveFormation, type RunningMember } from './formation.js';
import { run } from './lab/run.js';

const repo = resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
const havePcs = existsSync('/usr/sbin/pcs') && existsSync('/usr/bin/dpkg-deb') && existsSync('/usr/lib/ocf/resource.d/heartbeat/IPaddr2');
const prefix = 'tbt';
const subnet = '10.94.1';
const floatingIp = `${subnet}.100`;
const boothConf = '/etc/booth/booth.conf';
const installedTollbooth = '/usr/sbin/tollbooth';
/** Budget of one pcs run inside the node (Python start-up, crm_resource --restart waits for stop and start). */
const pcsMs = 180_000;
const grantWaitMs = 120_000;

const table: Array<[string, string, string]> = [];
const record = (what: string, works: boolean | string, note: string): void => {
  table.push([what, typeof works === 'string' ? works : works ? 'works' : 'fails', note]);
};
const firstLine = (r: RunResult): string => ((r.stderr + r.stdout).split('\n').find((l) => l.trim() !== '') ?? '').trim();

describe.skipIf(!isRoot || !havePcs)('pcs against a live cluster running the installed package as booth-site', () => {
  let cluster: Cluster | null = null;
  let formation: LiveFormation;
  const running: RunningMember[] = [];
  let savedConf: string | null = null;
  let locked = false;
  let installed = false;
  /** When `dpkg -i` started (performance.now()), for the time to a held ticket. */
  let installStartMs = 0;
  const dir = join(repo, 'test-artifacts', 'live-booth-tools');

  const pcs = (args: readonly string[]): Promise<RunResult> => cluster!.exec('node1', ['/usr/sbin/pcs', ...args], { timeoutMs: pcsMs });
  /** The site's ticket as the live CIB has it: granted or not. */
  const grantedInCib = async (ticket: string): Promise<boolean> => (await cluster!.exec('node1', ['crm_ticket', '-t', ticket, '-G', 'granted'])).stdout.trim() === 'true';
  const agentPid = async (): Promise<number | null> => {
    // The OCF agent's pidfile: "PID STARTTIME BOOT_ID" (packaging/ocf/tollbooth).
    const r = await cluster!.exec('node1', ['/bin/sh', '-c', 'cat /run/resource-agents/tollbooth-booth-site.pid 2>/dev/null || true']);
    const n = Number(r.stdout.trim().split(' ')[0]);
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  /** The ticket's leader in booth list at siteA (a line's leader ends at a comma or the line's end). */
  const holder = async (ticket: string): Promise<string | null> => {
    const r = await cluster!.exec('node1', ['/usr/sbin/booth', 'list']);
    const m = new RegExp(`^ticket: ${ticket}, leader: ([^,\\s]+)`, 'm').exec(r.stdout);
    return m === null || m[1] === 'none' || m[1] === 'NONE' ? null : m[1]!;
  };

  beforeAll(async () => {
    await waitFor(
      tryTakePackageTestLock,
      { what: 'the package test lock', timeoutMs: 600_000, intervalMs: 1000 },
    );
    locked = true;
    const deb = buildDeb(join(repo, 'build'));
    installStartMs = performance.now();
    const inst = await run(['dpkg', '-i', deb], { timeoutMs: 300_000 });
    expect(inst.code, inst.stderr).toBe(0);
    installed = true;

    await cleanupStaleLabs(prefix);
    formation = await LiveFormation.create({
      dir,
      port: 29_400,
      preset: 'lan',
      // Every member and CLI call from the installed package, not from dist/.
      program: [installedTollbooth],
      sites: [
        { name: 'siteA', address: floatingIp },
        { name: 'siteB', address: '127.0.0.2' },
      ],
      arbitrators: [{ name: 'arb', address: '127.0.0.3' }],
      tickets: [
        { name: 'tkt', expireS: 20, acquireAfterS: 0 },
        // Manual: an automatic ticket would be placed again at once after the revoke.
        { name: 'man1', expireS: 20, acquireAfterS: 0, mode: 'manual' },
      ],
    });
    await mkdir('/etc/booth', { recursive: true });
    if (existsSync(boothConf)) {
      savedConf = `${boothConf}.tollbooth-live-${process.pid}`;
      await rename(boothConf, savedConf);
    }
    await copyFile(formation.configPath, boothConf);
    const a = formation.member('siteA');
    const cib = `
  <resources>
    <group id="g-booth">
      <primitive id="booth-ip" class="ocf" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="booth-ip-ia">
          <nvpair id="booth-ip-ip" name="ip" value="${floatingIp}"/>
          <nvpair id="booth-ip-mask" name="cidr_netmask" value="24"/>
        </instance_attributes>
        <operations><op id="booth-ip-mon" name="monitor" interval="10s" timeout="20s"/></operations>
      </primitive>
      <primitive id="booth-site" class="ocf" provider="pacemaker" type="booth-site">
        <instance_attributes id="booth-site-ia">
          <nvpair id="booth-site-config" name="config" value="${boothConf}"/>
          <nvpair id="booth-site-binary" name="binary" value="/usr/sbin/tollbooth"/>
          <nvpair id="booth-site-key" name="key" value="${a.key}"/>
          <nvpair id="booth-site-self" name="self" value="${floatingIp}"/>
          <nvpair id="booth-site-state" name="state_dir" value="${a.stateDir}"/>
          <nvpair id="booth-site-log" name="log" value="${a.log}"/>
        </instance_attributes>
        <operations>
          <op id="booth-site-start" name="start" interval="0" timeout="120s"/>
          <op id="booth-site-stop" name="stop" interval="0" timeout="120s"/>
          <op id="booth-site-mon" name="monitor" interval="10s" timeout="60s"/>
        </operations>
      </primitive>
    </group>
  </resources>`;
    cluster = await startCluster({ name: 'sitea', prefix, subnet, nodes: 1, cib, startTimeoutMs: 240_000 });
    const siteB = formation.member('siteB');
    running.push(formation.start(siteB, (argv) => cluster!.spawn('node1', [...argv, '--ticket-sink', 'file'])));
    // The arbitrator as booth@.service starts booth's daemon. node1 also has siteA's floating address,
    // so its identity is given (booth's own test setups force it the same way, with -D -s).
    const arb = formation.member('arb');
    const boothdArgv = ['/usr/sbin/boothd', 'daemon', '-S', '-c', boothConf, '--', '--self', arb.address, '-k', arb.key, '--state-dir', arb.stateDir, '--socket', arb.socket, '--log', arb.log];
    running.push(formation.start(arb, (argv) => cluster!.spawn('node1', argv), boothdArgv));
  }, 1_200_000);

  afterAll(async () => {
    for (const r of running) r.proc.kill('SIGTERM');
    await Promise.all(running.map((r) => r.exited));
    await cluster?.stop();
    if (locked) {
      if (savedConf !== null) await rename(savedConf, boothConf);
      else await rm(boothConf, { force: true });
      if (installed) {
        const purge = await run(['dpkg', '--purge', 'tollbooth'], { timeoutMs: 300_000 });
        record('dpkg --purge tollbooth', purge.code === 0, `exit ${purge.code}`);
      }
      await releasePackageTestLock();
    }
    const w = Math.max(0, ...table.map((r) => r[0].length));
    const v = Math.max(0, ...table.map((r) => r[1].length));
    process.stdout.write(`\npcs against a live cluster (this run):\n${table.map(([x, y, z]) => `  ${x.padEnd(w)}  ${y.padEnd(v)}  ${z}`).join('\n')}\n`);
  }, 600_000);

  it('the installed agent runs as booth-site and the formation grants tkt to a site', async () => {
    const t0 = performance.now();
    const at = await waitFor(async () => (await holder('tkt')) ?? null, { what: 'tkt granted to a site (booth list in node1)', timeoutMs: grantWaitMs, intervalMs: 500 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await formation.logTail(formation.member('siteA'))}\n${await cluster!.logTail()}`);
    });
    const now = performance.now();
    const arbStatus = await cluster!.exec('node1', ['/usr/sbin/boothd', 'status', '-c', 'booth'], { env: { TOLLBOOTH_SOCKET: formation.member('arb').socket } });
    record('arbitrator as /usr/sbin/boothd daemon -S -c /etc/booth/booth.conf', arbStatus.code === 0 && arbStatus.stdout.includes('booth_type=arbitrator'), `boothd status exit ${arbStatus.code}: ${arbStatus.stdout.trim().replace(/ booth_lockfile=\S+/, '')}`);
    expect(arbStatus.stdout).toContain('booth_type=arbitrator');
    record('booth-site resource running the installed tollbooth', true, `tkt held by ${at} ${((now - t0) / 1000).toFixed(1)} s after the cluster came up; ${((now - installStartMs) / 1000).toFixed(1)} s from dpkg -i (a one-node lab cluster started in between)`);
    expect(await agentPid()).not.toBeNull();
  }, grantWaitMs + 60_000);

  it('pcs booth ticket revoke|grant T without a site: pcs finds the IP grouped with booth-site', async () => {
    const rv = await pcs(['booth', 'ticket', 'revoke', 'man1']);
    const g = await pcs(['booth', 'ticket', 'grant', 'man1']);
    record('pcs booth ticket grant T (no site)', g.code === 0, `exit ${g.code}: ${firstLine(g)}`);
    expect(g.code, g.stdout + g.stderr).toBe(0);
    await waitFor(async () => ((await holder('man1')) === floatingIp && (await grantedInCib('man1')) ? true : null), { what: 'man1 granted to siteA and in its CIB', timeoutMs: grantWaitMs });
    const rv2 = await pcs(['booth', 'ticket', 'revoke', 'man1']);
    record('pcs booth ticket revoke T (no site)', rv2.code === 0, `exit ${rv2.code}: ${firstLine(rv2)} (a first revoke of the free ticket: exit ${rv.code})`);
    expect(rv2.code, rv2.stdout + rv2.stderr).toBe(0);
    await waitFor(async () => ((await holder('man1')) === null && !(await grantedInCib('man1')) ? true : null), { what: 'man1 revoked', timeoutMs: grantWaitMs });
  }, 4 * pcsMs);

  it('pcs booth restart: the agent is restarted through Pacemaker and the site keeps its ticket', async () => {
    // Make sure siteA holds tkt (the formation may have placed it at siteB).
    if ((await holder('tkt')) !== floatingIp) {
      expect((await cluster!.exec('node1', ['/usr/sbin/booth', 'revoke', '-w', 'tkt'], { timeoutMs: pcsMs })).code).toBe(0);
      const g = await cluster!.exec('node1', ['/usr/sbin/booth', 'grant', '-C', 'tkt'], { timeoutMs: pcsMs });
      expect(g.code, g.stderr).toBe(0);
    }
    await waitFor(async () => ((await grantedInCib('tkt')) ? true : null), { what: 'tkt granted in siteA\'s CIB', timeoutMs: grantWaitMs });
    const before = await agentPid();
    const t0 = performance.now();
    const r = await pcs(['booth', 'restart']);
    const ms = performance.now() - t0;
    record('pcs booth restart', r.code === 0, `exit ${r.code} after ${(ms / 1000).toFixed(1)} s: ${firstLine(r) || '(no output)'}`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = await waitFor(async () => {
      const p = await agentPid();
      return p !== null && p !== before ? p : null;
    }, { what: 'a new agent process', timeoutMs: grantWaitMs });
    expect(after).not.toBe(before);
    // The registry still names siteA: the restarted agent grants tkt in the CIB again.
    const back = performance.now();
    await waitFor(async () => ((await holder('tkt')) === floatingIp && (await grantedInCib('tkt')) ? true : null), { what: 'tkt granted in the CIB again', timeoutMs: grantWaitMs });
    record('pcs booth restart: ticket afterwards', true, `agent pid ${before} → ${after}; tkt still held by siteA, granted in the CIB ${((performance.now() - back) / 1000).toFixed(1)} s after pcs returned`);
  }, 2 * pcsMs + 2 * grantWaitMs);

  it('pcs status --full on the live cluster shows the booth group and the ticket', async () => {
    const r = await pcs(['status', '--full']);
    const line = r.stdout.split('\n').find((l) => /^\s*tkt\s/.test(l))?.trim() ?? '';
    const ok = r.stdout.includes('booth-site') && /granted/.test(line);
    record('pcs status --full (live)', r.code === 0 && ok, `exit ${r.code}; "${line}"`);
    expect(r.stdout).toMatch(/booth-site\s+\(ocf:pacemaker:booth-site\):\s+Started/);
    expect(line).toContain('granted');
  }, pcsMs);
});
