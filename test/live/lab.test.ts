// Checks the live lab (test/live/lab.ts) against REAL corosync + Pacemaker,
// the groundwork for the live tests of issues 4 and 6. Two sites — A with two
// corosync nodes, B with one — each run an ocf:pacemaker:Dummy resource `svc`
// under `rsc_ticket ticketA loss-policy=stop`, loaded with cibadmin; a WAN
// links node1 of each site and an arbitrator namespace. We grant ticketA with
// crm_ticket inside A's node1 (over the live CIB IPC) and wait until crm_mon
// shows svc Started at A and its Dummy state file appears in that node's
// private /run; we revoke it and wait until svc is stopped; B never runs svc.
// Over the WAN, tiny TCP echo servers run in each endpoint: every endpoint
// reaches every other, `cut(a, b)` blocks exactly that pair, `cut(a)` cuts a
// off the whole WAN while its cluster link stays up, and `heal` restores
// everything. Then a 3-core + 2-remote cluster starts (issue 6's shape):
// remote nodes online with their connections Started, crm_mon and crm_ticket
// work on a remote node, a crashed core node is seen offline and rejoins
// after startNode. Every teardown must leave no namespace, no process of the
// lab and no interface in the host's own namespace. Needs root and the Debian
// packages corosync, pacemaker, pacemaker-cli-utils and nftables; it FAILS
// (never skips) without them. Waits are polls with deadlines, never fixed
// sleeps.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dummyUnderTicket,
  cleanupStaleLabs,
  labLeftovers,
  onlineNodes,
  placements,
  startCluster,
  startWan,
  ticket,
  waitFor,
  type Cluster,
  type ExecOptions,
  type RunResult,
  type Wan,
  type WanEndpoint,
  type WanHost,
} from './lab.js';
import { must, run } from './lab/run.js';

const prefix = 'tbl';
const echoPort = 7070;
/** Generous deadlines: the machine has 2 cores and other work may run. */
const startTimeoutMs = 120_000;
const actionTimeoutMs = 60_000;

const svcCib = dummyUnderTicket('ticketA');

/** Timings for the report printed at the end (ms). */
const timings: Record<string, number> = {};

async function requireLab(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the live lab needs root (network namespaces, mounts)');
  const missing: string[] = [];
  for (const tool of ['corosync', 'pacemakerd', 'crm_mon', 'crm_ticket', 'cibadmin', 'nft', 'nsenter', 'unshare', 'ip']) {
    if ((await run(['sh', '-c', `command -v ${tool}`])).code !== 0) missing.push(tool);
  }
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: apt-get update && apt-get install -y corosync pacemaker pacemaker-cli-utils nftables iproute2 util-linux`,
    );
  }
}

/**
 * Interfaces in the host's own network namespace named like the lab's (the
 * lab creates all of its links inside its namespaces, so there must be none;
 * other interfaces are not compared: someone else may add some meanwhile).
 */
async function hostLabLinks(): Promise<string[]> {
  const r = await must(['ip', '-o', 'link', 'show']);
  return r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? '')
    .filter((n) => /^(v(node|remote)\d+|w\d+|br0|wan0)$/.test(n))
    .sort();
}

/** A TCP server on 0.0.0.0:PORT that answers "ok\n" and closes; prints "listening" once bound. */
const echoServer = `require('node:net').createServer((s) => s.end('ok\\n')).listen(${echoPort}, '0.0.0.0', () => console.log('listening'));`;

/** Connects to HOST:PORT; exit 0 if it read "ok", 1 on error or after 750 ms (a dropped SYN gets no answer). */
const echoProbe = `const s = require('node:net').connect({ host: process.argv[1], port: ${echoPort} });
let got = '';
s.setTimeout(750, () => process.exit(1));
s.on('data', (d) => { got += d; });
s.on('end', () => process.exit(got === 'ok\\n' ? 0 : 1));
s.on('error', () => process.exit(1));`;

async function waitListening(child: ChildProcess, what: string): Promise<void> {
  let out = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  await waitFor(() => out.includes('listening'), { timeoutMs: 15_000, intervalMs: 50, what: `${what} to listen` });
}

describe('two sites and an arbitrator on a WAN', () => {
  let siteA: Cluster | undefined;
  let siteB: Cluster | undefined;
  let wan: Wan | undefined;
  let arb: WanHost | undefined;
  let aEnd: WanEndpoint;
  let bEnd: WanEndpoint;

  beforeAll(async () => {
    await requireLab();
    await cleanupStaleLabs(prefix);
    wan = await startWan({ name: 'wan', prefix, subnet: '10.91.100' });
    const t0 = performance.now();
    const [a, b] = await Promise.allSettled([
      startCluster({ name: 'sitea', prefix, subnet: '10.91.1', nodes: 2, cib: svcCib, startTimeoutMs }),
      startCluster({ name: 'siteb', prefix, subnet: '10.91.2', nodes: 1, cib: svcCib, startTimeoutMs }),
    ]);
    if (a.status === 'fulfilled') siteA = a.value;
    if (b.status === 'fulfilled') siteB = b.value;
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    timings['two sites (2 + 1 nodes) online, in parallel'] = Math.round(performance.now() - t0);
    timings['site A (2 nodes) online'] = siteA!.timings.onlineMs;
    timings['site B (1 node) online'] = siteB!.timings.onlineMs;
    aEnd = await wan.attach(siteA!, 'node1');
    bEnd = await wan.attach(siteB!, 'node1');
    arb = await wan.addNamespace('arb');
  }, 2 * startTimeoutMs);

  afterAll(async () => {
    // Safety net: the last test stops everything and checks it; stop() is idempotent.
    const results = await Promise.allSettled([siteA?.stop({ graceMs: 0 }), siteB?.stop({ graceMs: 0 }), wan?.stop()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }, 60_000);

  it('runs svc nowhere while ticketA is not granted', async () => {
    for (const site of [siteA!, siteB!]) {
      const s = await site.crmMon();
      expect(s.resources.find((r) => r.id === 'svc')?.agent).toBe('ocf:pacemaker:Dummy');
      expect(placements(s, 'svc')).toEqual([]);
      expect(ticket(s, 'ticketA')?.granted ?? false).toBe(false);
    }
  });

  it('grant in site A (crm_ticket over the live CIB) starts svc there, for real', async () => {
    const t0 = performance.now();
    const g = await siteA!.exec('node1', ['crm_ticket', '-t', 'ticketA', '-g', '--force']);
    expect(g).toMatchObject({ code: 0 });
    const where = await siteA!.waitFor(
      async () => {
        const s = await siteA!.crmMon();
        const p = placements(s, 'svc');
        return ticket(s, 'ticketA')?.granted === true && p.length === 1 && p[0]!.role === 'Started' ? p[0]!.node : undefined;
      },
      { timeoutMs: actionTimeoutMs, what: 'svc Started at site A' },
    );
    timings['grant -> svc Started (crm_mon)'] = Math.round(performance.now() - t0);
    expect(siteA!.coreNodes).toContain(where);
    // The Dummy agent's state file lives in that node's private /run only.
    expect((await siteA!.exec(where, ['test', '-e', '/run/Dummy-svc.state'])).code).toBe(0);
    const other = siteA!.coreNodes.find((n) => n !== where)!;
    expect((await siteA!.exec(other, ['test', '-e', '/run/Dummy-svc.state'])).code).toBe(1);
    // Site B has its own CIB: its ticketA is untouched and its svc stays stopped.
    const b = await siteB!.crmMon();
    expect(placements(b, 'svc')).toEqual([]);
    expect(ticket(b, 'ticketA')?.granted ?? false).toBe(false);
  });

  it('revoke in site A stops svc', async () => {
    const t0 = performance.now();
    const r = await siteA!.exec('node1', ['crm_ticket', '-t', 'ticketA', '-r', '--force']);
    expect(r).toMatchObject({ code: 0 });
    await siteA!.waitFor(
      async () => {
        const s = await siteA!.crmMon();
        return ticket(s, 'ticketA')?.granted === false && placements(s, 'svc').length === 0;
      },
      { timeoutMs: actionTimeoutMs, what: 'svc stopped at site A' },
    );
    timings['revoke -> svc stopped (crm_mon)'] = Math.round(performance.now() - t0);
    for (const n of siteA!.coreNodes) expect((await siteA!.exec(n, ['test', '-e', '/run/Dummy-svc.state'])).code).toBe(1);
  });

  describe('WAN reachability and partitions', () => {
    const servers: ChildProcess[] = [];
    /** exec inside an endpoint: a cluster node or the arbitrator. */
    let probe: (from: string, to: string) => Promise<boolean>;

    beforeAll(async () => {
      const where: Record<string, (argv: string[]) => ChildProcess> = {
        [aEnd.name]: (argv) => siteA!.spawn('node1', argv),
        [bEnd.name]: (argv) => siteB!.spawn('node1', argv),
        [arb!.name]: (argv) => arb!.spawn(argv),
        'sitea.node2': (argv) => siteA!.spawn('node2', argv),
      };
      for (const [name, spawnIn] of Object.entries(where)) {
        const child = spawnIn([process.execPath, '-e', echoServer]);
        servers.push(child);
        await waitListening(child, `echo server in ${name}`);
      }
      const execIn = (name: string, argv: string[], options: ExecOptions): Promise<RunResult> => {
        if (name === aEnd.name) return siteA!.exec('node1', argv, options);
        if (name === bEnd.name) return siteB!.exec('node1', argv, options);
        if (name === arb!.name) return arb!.exec(argv, options);
        throw new Error(`no endpoint ${name}`);
      };
      probe = async (from, to) => {
        const address = to === 'sitea.node2' ? siteA!.address('node2') : wan!.endpoint(to).address;
        const r = await execIn(from, [process.execPath, '-e', echoProbe, address], { timeoutMs: 15_000 });
        return r.code === 0;
      };
    });

    afterAll(() => {
      for (const s of servers) s.kill('SIGKILL');
    });

    /** Every ordered pair of the three WAN endpoints with whether it should connect. */
    async function matrix(): Promise<string[]> {
      const names = [aEnd.name, bEnd.name, arb!.name];
      const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to) => [from, to] as const));
      return Promise.all(pairs.map(async ([from, to]) => `${from} -> ${to}: ${(await probe(from, to)) ? 'ok' : 'blocked'}`));
    }

    it('node1 of each site and the arbitrator reach each other by IP', async () => {
      expect(aEnd.address).toBe('10.91.100.11');
      expect(bEnd.address).toBe('10.91.100.12');
      expect(arb!.address).toBe('10.91.100.13');
      expect(await matrix()).toEqual([
        'sitea.node1 -> siteb.node1: ok',
        'sitea.node1 -> arb: ok',
        'siteb.node1 -> sitea.node1: ok',
        'siteb.node1 -> arb: ok',
        'arb -> sitea.node1: ok',
        'arb -> siteb.node1: ok',
      ]);
      // The clusters' own networks are not routed over the WAN.
      expect(await probe(bEnd.name, 'sitea.node2')).toBe(false);
    });

    it('cut(a, b) blocks exactly that pair, both ways; heal(a, b) restores it', async () => {
      await wan!.cut(aEnd, bEnd);
      expect(await matrix()).toEqual([
        'sitea.node1 -> siteb.node1: blocked',
        'sitea.node1 -> arb: ok',
        'siteb.node1 -> sitea.node1: blocked',
        'siteb.node1 -> arb: ok',
        'arb -> sitea.node1: ok',
        'arb -> siteb.node1: ok',
      ]);
      await wan!.heal(aEnd, bEnd);
      expect((await matrix()).filter((r) => r.endsWith('blocked'))).toEqual([]);
    });

    it('cut(a) isolates a from the whole WAN while its cluster link stays up; heal(a) restores it', async () => {
      await wan!.cut(aEnd);
      expect(await matrix()).toEqual([
        'sitea.node1 -> siteb.node1: blocked',
        'sitea.node1 -> arb: blocked',
        'siteb.node1 -> sitea.node1: blocked',
        'siteb.node1 -> arb: ok',
        'arb -> sitea.node1: blocked',
        'arb -> siteb.node1: ok',
      ]);
      expect(await probe(aEnd.name, 'sitea.node2')).toBe(true);
      const s = await siteA!.crmMon();
      expect(onlineNodes(s).sort()).toEqual(['node1', 'node2']);
      await wan!.heal(aEnd);
      expect((await matrix()).filter((r) => r.endsWith('blocked'))).toEqual([]);
    });

    it('heal() with no argument undoes every cut at once', async () => {
      await wan!.cut(arb!);
      await wan!.cut(aEnd, bEnd);
      expect((await matrix()).filter((r) => r.endsWith('blocked'))).toHaveLength(6);
      await wan!.heal();
      expect((await matrix()).filter((r) => r.endsWith('blocked'))).toEqual([]);
    });
  });

  it('teardown removes every namespace, process and interface it made', async () => {
    const t0 = performance.now();
    await Promise.all([siteA!.stop(), siteB!.stop()]);
    timings['stop sites A and B (ordered stop, in parallel)'] = Math.round(performance.now() - t0);
    const t1 = performance.now();
    await wan!.stop();
    timings['stop WAN + arbitrator'] = Math.round(performance.now() - t1);
    expect(await labLeftovers(prefix)).toEqual({ namespaces: [], processes: [] });
    expect(await hostLabLinks()).toEqual([]);
    // stop() is idempotent.
    await siteA!.stop();
    await wan!.stop();
  }, 60_000);
});

describe('3 core nodes + 2 remote nodes (issue 6 shape)', () => {
  let site: Cluster | undefined;

  afterAll(async () => {
    await site?.stop({ graceMs: 0 });
  }, 60_000);

  it('starts with every node online, the remote connections Started, and the CLI working on a remote node', async () => {
    await requireLab();
    site = await startCluster({
      name: 'sitec',
      prefix,
      subnet: '10.91.3',
      nodes: 3,
      remotes: 2,
      // Quicker crash detection than corosync's default (token 3000 + 650 per node above 2).
      totemOpts: { token: 1000 },
      startTimeoutMs,
    });
    timings['3 core + 2 remote online'] = site.timings.onlineMs;
    expect(site.coreNodes).toEqual(['node1', 'node2', 'node3']);
    expect(site.remoteNodes).toEqual(['remote1', 'remote2']);

    const s = await site.crmMon();
    expect(s.quorate).toBe(true);
    expect(s.nodes.map((n) => `${n.name}:${n.type}:${n.online}`)).toEqual([
      'node1:member:true',
      'node2:member:true',
      'node3:member:true',
      'remote1:remote:true',
      'remote2:remote:true',
    ]);
    for (const r of site.remoteNodes) expect(placements(s, r).map((p) => p.role)).toEqual(['Started']);

    // pacemaker-remoted proxies the CIB to the remote node's CLI.
    const fromRemote = await site.crmMon({ node: 'remote1' });
    expect(onlineNodes(fromRemote)).toHaveLength(5);
    expect(await site.exec('remote2', ['crm_ticket', '-t', 'ticketR', '-g', '--force'])).toMatchObject({ code: 0 });
    expect((await site.exec('node1', ['crm_ticket', '-t', 'ticketR', '-G', 'granted'])).stdout.trim()).toBe('true');
    // remote nodes run no corosync.
    expect((await site.exec('remote1', ['corosync-cfgtool', '-s'])).code).not.toBe(0);
    expect(await hostLabLinks()).toEqual([]);
  }, 2 * startTimeoutMs);

  it('killNode crashes a core node (seen offline, still quorate) and startNode brings it back', async () => {
    const t0 = performance.now();
    await site!.killNode('node3');
    expect(site!.isUp('node3')).toBe(false);
    await site!.waitFor(
      async () => {
        const s = await site!.crmMon();
        return s.quorate && !onlineNodes(s).includes('node3');
      },
      { timeoutMs: actionTimeoutMs, what: 'node3 offline in sitec, still quorate' },
    );
    timings['crash -> node offline (token 1000 ms)'] = Math.round(performance.now() - t0);
    await expect(site!.exec('node3', ['true'])).rejects.toThrow(/NODE_DOWN/);

    const t1 = performance.now();
    await site!.startNode('node3');
    await site!.waitFor(async () => onlineNodes(await site!.crmMon()).includes('node3'), {
      timeoutMs: actionTimeoutMs,
      what: 'node3 online again in sitec',
    });
    timings['startNode -> node online again'] = Math.round(performance.now() - t1);
  }, 2 * actionTimeoutMs);

  it('losing quorum shows in the CIB root that gates the site health probes, as crm_mon reports it', async () => {
    // src/runtime/site-health.ts runs crm_mon only when `cibadmin -Q --xpath /cib --no-children`
    // changed since its last full round: that holds only if a quorum change always rewrites the root.
    const root = async (): Promise<string> => {
      const r = await site!.exec('node1', ['cibadmin', '-Q', '--xpath', '/cib', '--no-children']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const quorate = await root();
    expect(quorate).toMatch(/have-quorum="(1|true)"/);
    expect((await site!.crmMon()).quorate).toBe(true);
    await site!.killNode('node2');
    await site!.killNode('node3');
    await site!.waitFor(async () => !(await site!.crmMon()).quorate, { timeoutMs: actionTimeoutMs, what: 'node1 alone: no quorum in crm_mon' });
    const lost = await root();
    expect(lost).toMatch(/have-quorum="(0|false)"/);
    expect(lost).not.toBe(quorate);
    await site!.startNode('node2');
    await site!.startNode('node3');
    await site!.waitFor(async () => (await site!.crmMon()).quorate, { timeoutMs: actionTimeoutMs, what: 'quorum back in sitec' });
    const back = await root();
    expect(back).toMatch(/have-quorum="(1|true)"/);
    expect(back).not.toBe(lost);
  }, 3 * actionTimeoutMs);

  it('stop leaves nothing behind', async () => {
    const t0 = performance.now();
    await site!.stop();
    timings['stop 3 core + 2 remote (ordered)'] = Math.round(performance.now() - t0);
    expect(await labLeftovers(prefix)).toEqual({ namespaces: [], processes: [] });
  }, 60_000);
});

afterAll(() => {
  console.log(`live lab timings (ms):\n${Object.entries(timings).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
});
