// The project's live-cluster lab: real corosync + Pacemaker clusters in Linux
// namespaces on this machine, for tests that need the real thing (crm_ticket
// over the live CIB IPC, resources really starting and stopping, remote
// nodes, crashes, WAN partitions). Needs root, iproute2, util-linux
// (nsenter, unshare) and the Debian packages corosync, pacemaker,
// pacemaker-cli-utils and nftables; remote nodes also need `apt-get download`
// to work once (see lab/remoted.ts). No systemd, no docker.
//
// Layout (reference/pacemaker.md §7 describes the technique):
//  - a cluster is one bridge living in its own network namespace
//    (`PREFIX-NAME-br`) and one network namespace per node
//    (`PREFIX-NAME-node1`, …, `PREFIX-NAME-remote1`, …), each linked to the
//    bridge by a veth pair (eth0 in the node, SUBNET.0/24). Nothing is created
//    in the host's own network namespace, so a lab cannot disturb the machine
//    and deleting its namespaces removes every interface it made.
//  - each node runs lab/node-init.sh as PID 1 of fresh mount/UTS/IPC/PID
//    namespaces (lab/ns-host.ts); state lives in TMPDIR/tollbooth-lab/PREFIX/NAME/NODE.
//  - a WAN (startWan) is another bridge namespace; `attach` gives a cluster
//    node a second interface (wan0) on it, `addNamespace` adds a standalone
//    host (an arbitrator). Partitions are nftables rules in the endpoints'
//    namespaces, so the clusters' own links are never touched.
// Every start first removes leftovers of an interrupted run with the same
// prefix and name; cleanupStaleLabs(prefix) removes all of a prefix. So two
// test files that may run at the same time (two people on one machine) must
// use different prefixes. Subnets may repeat across prefixes: every address
// lives inside the lab's own namespaces. TOLLBOOTH_LAB_KEEP=1 keeps the state
// directories (logs) after stop().
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, readFile, readlink, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { parseCrmMon, type CrmMonState } from './lab/crm-mon.js';
import { cmdlineOf, initScript, knownPidNamespaces, NsHost, type ExecOptions, type SpawnOptions } from './lab/ns-host.js';
import { ensureRemoted } from './lab/remoted.js';
import { elapsedMs, LabError, must, run, waitFor, type RunResult, type WaitOptions } from './lab/run.js';

export { LabError, waitFor, type RunResult, type WaitOptions } from './lab/run.js';
export { onlineNodes, parseCrmMon, placements, ticket, type CrmMonState } from './lab/crm-mon.js';
export type { ExecOptions, SpawnOptions } from './lab/ns-host.js';

/** Where node state and logs live: TMPDIR/tollbooth-lab/PREFIX/NAME/NODE. */
/**
 * A site's configuration for the live tests: one ocf:pacemaker:Dummy `svc`
 * (monitored every 5 s) that runs only where `ticket` is granted
 * (`rsc_ticket` loss-policy=stop), loaded with startCluster's `cib`.
 */
export function dummyUnderTicket(ticket: string): string {
  return `<configuration>
  <resources>
    <primitive id="svc" class="ocf" provider="pacemaker" type="Dummy">
      <operations><op id="svc-monitor" name="monitor" interval="5s"/></operations>
    </primitive>
  </resources>
  <constraints>
    <rsc_ticket id="svc-needs-ticketA" rsc="svc" ticket="${ticket}" loss-policy="stop"/>
  </constraints>
</configuration>`;
}

export const labRoot = join(tmpdir(), 'tollbooth-lab');
export const defaultPrefix = 'tbl';

const namePattern = /^[a-z][a-z0-9]{0,11}$/;
/** Most core or remote nodes in one cluster (2 cores on this machine; 3+2 is the largest tested). */
const nodesPerClusterMax = 9;
const coreHostBase = 10;
const remoteHostBase = 50;
const wanHostBase = 10;
/** Most endpoints on one WAN (hosts .10 to .249). */
const wanEndpointsMax = 240;
/** The nftables table the lab owns in each WAN endpoint's namespace. */
const nftTable = 'tollbooth_lab';

/** Scopes (PREFIX-NAME) started by this process and not yet stopped: a second start with the same scope would wipe the first. */
const activeScopes = new Set<string>();

function checkName(what: string, value: string): void {
  if (!namePattern.test(value)) {
    throw new LabError('BAD_OPTIONS', `${what} '${value}' must match ${namePattern.source} (it goes into namespace and interface names)`);
  }
}

function checkSubnet(subnet: string): void {
  const parts = subnet.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new LabError('BAD_OPTIONS', `subnet '${subnet}' must be three octets, e.g. '10.91.1' (a /24)`);
  }
}

function claimScope(prefix: string, name: string): string {
  const scope = `${prefix}-${name}`;
  if (activeScopes.has(scope)) throw new LabError('BAD_OPTIONS', `a lab ${scope} is already running in this process`);
  activeScopes.add(scope);
  return scope;
}

async function userIds(): Promise<{ hacluster: number; haclient: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const group = await readFile('/etc/group', 'utf8');
  const uid = /^hacluster:[^:]*:(\d+):/m.exec(passwd)?.[1];
  const gid = /^haclient:[^:]*:(\d+):/m.exec(group)?.[1];
  if (uid === undefined || gid === undefined) {
    throw new LabError('BAD_OPTIONS', 'user hacluster / group haclient missing: apt-get install pacemaker corosync pacemaker-cli-utils');
  }
  return { hacluster: Number(uid), haclient: Number(gid) };
}

async function addNetns(netns: string): Promise<void> {
  await must(['ip', 'netns', 'add', netns]);
  await must(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
}

async function delNetns(netns: string): Promise<void> {
  // rc 1 when it is already gone: that is the state we want.
  const r = await run(['ip', 'netns', 'del', netns]);
  if (r.code !== 0 && !/No such file|Cannot remove/.test(r.stderr)) {
    throw new LabError('COMMAND_FAILED', `ip netns del ${netns}: ${r.stderr.trim()}`, { exitCode: r.code, stderr: r.stderr });
  }
}

async function addBridgeNetns(netns: string): Promise<void> {
  await addNetns(netns);
  await must(['ip', '-n', netns, 'link', 'add', 'br0', 'type', 'bridge']);
  await must(['ip', '-n', netns, 'link', 'set', 'br0', 'up']);
}

/** A veth pair: `port` on the bridge in `bridgeNetns`, `ifname` with `address`/24 in `netns`. */
async function linkToBridge(bridgeNetns: string, port: string, netns: string, ifname: string, address: string): Promise<void> {
  await must(['ip', '-n', bridgeNetns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', netns]);
  await must(['ip', '-n', bridgeNetns, 'link', 'set', port, 'master', 'br0', 'up']);
  await must(['ip', '-n', netns, 'addr', 'add', `${address}/24`, 'dev', ifname]);
  await must(['ip', '-n', netns, 'link', 'set', ifname, 'up']);
}

/** Removes a cluster's or WAN's state directory (unless TOLLBOOTH_LAB_KEEP=1), and the prefix's once it is empty. */
async function removeStateDir(dir: string, prefix: string): Promise<void> {
  if (process.env.TOLLBOOTH_LAB_KEEP === '1') return;
  await rm(dir, { recursive: true, force: true });
  await rmdir(join(labRoot, prefix)).catch((e: unknown) => {
    // Another lab of this prefix still has its directory there, or it is gone already.
    const code = (e as { code?: unknown }).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw e;
  });
}

async function listNetns(): Promise<string[]> {
  const r = await must(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

async function labInitPids(dirPrefix: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await cmdlineOf(Number(entry));
    if (argv.includes(initScript) && argv.some((a) => a.startsWith(dirPrefix))) pids.push(Number(entry));
  }
  return pids;
}

async function processesIn(pidNamespaces: ReadonlySet<string>): Promise<number[]> {
  const pids: number[] = [];
  if (pidNamespaces.size === 0) return pids;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ns = await readlink(`/proc/${entry}/ns/pid`).catch(() => null);
    if (ns !== null && pidNamespaces.has(ns)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Removes what an interrupted run left behind: kills the inits of nodes under
 * TMPDIR/tollbooth-lab/PREFIX[/NAME] (which kills everything in their PID
 * namespaces), deletes the network namespaces PREFIX-[NAME-]*, removes the
 * state directories. With `name`, only that cluster or WAN.
 */
export async function cleanupStaleLabs(prefix: string = defaultPrefix, name?: string): Promise<{ killed: number; namespaces: string[] }> {
  checkName('prefix', prefix);
  if (name !== undefined) checkName('name', name);
  const dirPrefix = name === undefined ? `${join(labRoot, prefix)}/` : `${join(labRoot, prefix, name)}/`;
  const nsPrefix = name === undefined ? `${prefix}-` : `${prefix}-${name}-`;
  const pids = await labInitPids(dirPrefix);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'ESRCH') throw e;
    }
  }
  await waitFor(async () => (await labInitPids(dirPrefix)).length === 0, {
    timeoutMs: 10_000,
    intervalMs: 50,
    what: `stale ${nsPrefix}* inits to die`,
  });
  const namespaces = (await listNetns()).filter((n) => n.startsWith(nsPrefix));
  for (const ns of namespaces) await delNetns(ns);
  await rm(name === undefined ? join(labRoot, prefix) : join(labRoot, prefix, name), { recursive: true, force: true });
  return { killed: pids.length, namespaces };
}

/** What of a prefix is still there: namespaces, inits, and processes in any PID namespace this process created. */
export async function labLeftovers(prefix: string = defaultPrefix): Promise<{ namespaces: string[]; processes: number[] }> {
  const namespaces = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  const pids = new Set([...(await labInitPids(`${join(labRoot, prefix)}/`)), ...(await processesIn(knownPidNamespaces()))]);
  return { namespaces, processes: [...pids].sort((a, b) => a - b) };
}

// ---------------------------------------------------------------------------
// Clusters

export interface ClusterOptions {
  /** Cluster (site) name: [a-z][a-z0-9]{0,11}. */
  readonly name: string;
  /** Namespace prefix, default 'tbl'. Two labs with different prefixes never touch each other. */
  readonly prefix?: string;
  /** First three octets of the cluster's /24, e.g. '10.91.1': core nodes get .11, .12, …, remote nodes .51, … */
  readonly subnet: string;
  /** Corosync members (node1 … nodeN), 1 to 9. */
  readonly nodes: number;
  /** pacemaker_remote nodes (remote1 … remoteM), 0 to 9. Default 0. */
  readonly remotes?: number;
  /**
   * A `<configuration>` fragment (resources, constraints, …) loaded with
   * `cibadmin --modify` once the cluster is up.
   */
  readonly cib?: string;
  /** Extra lines of corosync's quorum section, e.g. { last_man_standing: 1, auto_tie_breaker: 1 }. two_node is set for 2 nodes. */
  readonly quorumOpts?: Readonly<Record<string, string | number>>;
  /** Extra lines of corosync's totem section, e.g. { token: 1000 } for quicker crash detection. */
  readonly totemOpts?: Readonly<Record<string, string | number>>;
  /** Pacemaker's dc-deadtime, seeded into the CIB so the first election is quick. Default '2s'. */
  readonly dcDeadtime?: string;
  /** Deadline for "DC elected, quorate, all nodes online" (and for loading `cib`). Default 120 000 ms. */
  readonly startTimeoutMs?: number;
  /** Attach these nodes to a WAN once the cluster is up (see Wan.attach). */
  readonly wan?: { readonly wan: Wan; readonly nodes: readonly string[] };
  /** Where the unpacked pacemaker-remoted is cached. Default /var/cache/tollbooth-lab. */
  readonly remotedCacheDir?: string;
}

export interface ClusterTimings {
  /** Namespaces made and every init ready (daemons launched). */
  readonly launchMs: number;
  /** Start of startCluster to DC elected, quorate and all nodes online. */
  readonly onlineMs: number;
  /** Time spent loading `cib` (0 without one). */
  readonly cibMs: number;
}

export interface StopOptions {
  /**
   * How long each node may take for an ordered stop (SIGTERM: pacemakerd,
   * then corosync) before its init is SIGKILLed. 0 = SIGKILL at once. Default 15 000 ms.
   */
  readonly graceMs?: number;
}

function corosyncConf(clusterName: string, members: readonly { name: string; id: number; address: string }[], options: ClusterOptions): string {
  const lines = (o: Readonly<Record<string, string | number>> | undefined): string =>
    Object.entries(o ?? {})
      .map(([k, v]) => `    ${k}: ${v}\n`)
      .join('');
  const nodes = members
    .map((m) => `    node {\n        name: ${m.name}\n        nodeid: ${m.id}\n        ring0_addr: ${m.address}\n    }\n`)
    .join('');
  return (
    `totem {\n    version: 2\n    cluster_name: ${clusterName}\n    transport: knet\n    crypto_cipher: none\n    crypto_hash: none\n${lines(options.totemOpts)}}\n` +
    'logging {\n    to_stderr: no\n    to_logfile: yes\n    logfile: /var/log/corosync/corosync.log\n    to_syslog: no\n    timestamp: on\n}\n' +
    `quorum {\n    provider: corosync_votequorum\n${members.length === 2 ? '    two_node: 1\n' : ''}${lines(options.quorumOpts)}}\n` +
    `nodelist {\n${nodes}}\n`
  );
}

function seedCib(remotes: readonly { name: string; address: string }[], dcDeadtime: string): string {
  const primitives = remotes
    .map(
      (r) => `
      <primitive id="${r.name}" class="ocf" provider="pacemaker" type="remote">
        <instance_attributes id="${r.name}-ia">
          <nvpair id="${r.name}-server" name="server" value="${r.address}"/>
          <nvpair id="${r.name}-reconnect" name="reconnect_interval" value="5s"/>
        </instance_attributes>
        <operations>
          <op id="${r.name}-monitor" name="monitor" interval="5s" timeout="15s"/>
        </operations>
      </primitive>`,
    )
    .join('');
  // No fencing in the lab (pacemaker.md §7); a seeded cib.xml without a .sig
  // is accepted and lets dc-deadtime apply to the very first election.
  return `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="${dcDeadtime}"/>
        <nvpair id="opt-cluster-recheck" name="cluster-recheck-interval" value="1min"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>${primitives}
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
`;
}

export class Cluster {
  readonly name: string;
  readonly prefix: string;
  /** Where node state and logs are (TMPDIR/tollbooth-lab/PREFIX/NAME). */
  readonly dir: string;
  readonly bridgeNetns: string;
  timings: ClusterTimings = { launchMs: 0, onlineMs: 0, cibMs: 0 };
  private readonly hosts = new Map<string, NsHost>();
  private readonly addresses = new Map<string, string>();
  /** Namespaces created so far, in order (stop deletes exactly these). */
  private readonly namespaces: string[] = [];
  private stopped = false;
  private readonly scope: string;

  /** Use startCluster. */
  constructor(
    readonly options: ClusterOptions,
    scope: string,
  ) {
    this.name = options.name;
    this.prefix = options.prefix ?? defaultPrefix;
    this.dir = join(labRoot, this.prefix, this.name);
    this.bridgeNetns = `${this.prefix}-${this.name}-br`;
    this.scope = scope;
  }

  /** All node names: node1 … nodeN, then remote1 … remoteM. */
  get nodeNames(): string[] {
    return [...this.hosts.keys()];
  }

  get coreNodes(): string[] {
    return [...this.hosts.values()].filter((h) => h.role === 'core').map((h) => h.name);
  }

  get remoteNodes(): string[] {
    return [...this.hosts.values()].filter((h) => h.role === 'remote').map((h) => h.name);
  }

  /** The node's address on the cluster network. */
  address(node: string): string {
    const a = this.addresses.get(node);
    if (a === undefined) throw new LabError('BAD_OPTIONS', `cluster ${this.name} has no node ${node}`);
    return a;
  }

  /** Name of the node's network namespace (for Wan.attach and debugging). */
  netnsOf(node: string): string {
    return this.host(node).netns;
  }

  /** The node's init runs (false after killNode/stopNode). */
  isUp(node: string): boolean {
    return this.host(node).up;
  }

  private host(node: string): NsHost {
    const h = this.hosts.get(node);
    if (h === undefined) throw new LabError('BAD_OPTIONS', `cluster ${this.name} has no node ${node}`);
    return h;
  }

  /** Runs argv inside the node (nsenter into all its namespaces). Non-zero exit codes are returned, not thrown. */
  async exec(node: string, argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    return await this.host(node).exec(argv, options);
  }

  /**
   * Starts a long-running process inside the node (e.g. the site agent, so
   * that its crm_ticket talks to this node's CIB over IPC). Its kill()
   * reaches the program itself; it dies when the node is killed or stopped.
   */
  spawn(node: string, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.host(node).spawn(argv, options);
  }

  /** The first core node that is up (where crm_mon and cibadmin run by default). */
  firstUpCore(): string {
    const h = [...this.hosts.values()].find((x) => x.role === 'core' && x.up);
    if (h === undefined) throw new LabError('NODE_DOWN', `no core node of ${this.name} is up`);
    return h.name;
  }

  /** `crm_mon -1 --output-as=xml` in `node` (default: the first core node that is up), parsed. */
  async crmMon(options: { node?: string; timeoutMs?: number } = {}): Promise<CrmMonState> {
    const node = options.node ?? this.firstUpCore();
    const r = await this.exec(node, ['crm_mon', '-1', '--output-as=xml'], { timeoutMs: options.timeoutMs ?? 15_000 });
    if (r.code !== 0) {
      throw new LabError('COMMAND_FAILED', `crm_mon on ${this.name}/${node} exited ${r.code}: ${r.stderr.trim()}`, {
        exitCode: r.code,
        stderr: r.stderr,
      });
    }
    return parseCrmMon(r.stdout);
  }

  /** Polls `probe` with a deadline (see waitFor); `what` should name the cluster. */
  waitFor<T>(probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions): Promise<T> {
    return waitFor(probe, options);
  }

  /** Merges a `<configuration>` fragment into the live CIB (`cibadmin --modify`). */
  async loadCib(xml: string, options: { node?: string; timeoutMs?: number } = {}): Promise<void> {
    const node = options.node ?? this.firstUpCore();
    const r = await this.exec(node, ['cibadmin', '--modify', '--xml-text', xml], { timeoutMs: options.timeoutMs ?? 30_000 });
    if (r.code !== 0) {
      throw new LabError('COMMAND_FAILED', `cibadmin --modify on ${this.name}/${node} exited ${r.code}: ${r.stderr.trim()}`, {
        exitCode: r.code,
        stderr: r.stderr,
      });
    }
  }

  /** Crash: SIGKILL of the node's init, which kills its whole PID namespace. Its network namespace stays (startNode can boot it again). */
  async killNode(node: string): Promise<void> {
    await this.host(node).stop(0);
  }

  /** Ordered stop of one node (pacemakerd, then corosync), SIGKILL after graceMs. */
  async stopNode(node: string, options: StopOptions = {}): Promise<void> {
    await this.host(node).stop(options.graceMs ?? 15_000);
  }

  /**
   * Boots a node again after killNode/stopNode, with its persistent state
   * (CIB, corosync.conf) and a fresh /run. Resolves once its daemons are
   * launched; wait for it to rejoin with crmMon.
   */
  async startNode(node: string): Promise<void> {
    this.assertRunning();
    await this.host(node).start();
  }

  private assertRunning(): void {
    if (this.stopped) throw new LabError('STOPPED', `cluster ${this.name} was stopped`);
  }

  /** Last lines of each node's init and daemon logs, for failure messages. */
  async logTail(lines = 15): Promise<string> {
    const parts: string[] = [];
    for (const h of this.hosts.values()) {
      for (const f of ['log/init.log', 'log/pacemaker/pacemaker.log', 'log/corosync/corosync.log']) {
        const text = await readFile(join(h.dir, f), 'utf8').catch(() => null);
        if (text === null) continue;
        parts.push(`--- ${this.name}/${h.name} ${f}\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`);
      }
    }
    return parts.join('\n');
  }

  /**
   * Removes everything the cluster made: stops every node (remote nodes
   * first, ordered stop within graceMs, then SIGKILL), deletes its network
   * namespaces (and with them the bridge and veths), removes its state
   * directory unless TOLLBOOTH_LAB_KEEP=1. Idempotent; safe after a partial start.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const graceMs = options.graceMs ?? 15_000;
    try {
      const hosts = [...this.hosts.values()];
      await Promise.all(hosts.filter((h) => h.role === 'remote').map((h) => h.stop(graceMs)));
      await Promise.all(hosts.filter((h) => h.role !== 'remote').map((h) => h.stop(graceMs)));
      for (const ns of [...this.namespaces].reverse()) await delNetns(ns);
      await removeStateDir(this.dir, this.prefix);
    } finally {
      activeScopes.delete(this.scope);
    }
  }

  /** @internal startCluster's work, on an object stop() can always clean up. */
  async boot(): Promise<void> {
    const o = this.options;
    const t0 = performance.now();
    const remoteCount = o.remotes ?? 0;
    const remoted = remoteCount > 0 ? await ensureRemoted(o.remotedCacheDir) : '';
    const ids = await userIds();

    const members = Array.from({ length: o.nodes }, (_, i) => ({
      name: `node${i + 1}`,
      id: i + 1,
      address: `${o.subnet}.${coreHostBase + i + 1}`,
    }));
    const remotes = Array.from({ length: remoteCount }, (_, j) => ({
      name: `remote${j + 1}`,
      address: `${o.subnet}.${remoteHostBase + j + 1}`,
    }));

    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    const authkey = randomBytes(4096);
    const conf = corosyncConf(`${this.prefix}-${this.name}`, members, o);
    const cib = seedCib(remotes, o.dcDeadtime ?? '2s');
    for (const m of [...members.map((x) => ({ ...x, role: 'core' as const })), ...remotes.map((x) => ({ ...x, role: 'remote' as const }))]) {
      const dir = join(this.dir, m.name);
      for (const sub of ['etc-corosync', 'etc-pacemaker', 'lib-corosync', 'lib-pacemaker/cib', 'log']) {
        await mkdir(join(dir, sub), { recursive: true });
      }
      const key = join(dir, 'etc-pacemaker/authkey');
      await writeFile(key, authkey, { mode: 0o640 });
      await chown(key, 0, ids.haclient);
      if (m.role === 'core') {
        await writeFile(join(dir, 'etc-corosync/corosync.conf'), conf);
        const cibFile = join(dir, 'lib-pacemaker/cib/cib.xml');
        await writeFile(cibFile, cib, { mode: 0o600 });
        await chown(cibFile, ids.hacluster, ids.haclient);
        await chown(join(dir, 'lib-pacemaker/cib'), ids.hacluster, ids.haclient);
        await chown(join(dir, 'lib-pacemaker'), ids.hacluster, ids.haclient);
      }
      const netns = `${this.prefix}-${this.name}-${m.name}`;
      this.hosts.set(m.name, new NsHost(m.name, m.role, netns, dir, m.role === 'remote' ? { TBL_REMOTED: remoted } : {}));
      this.addresses.set(m.name, m.address);
    }

    this.namespaces.push(this.bridgeNetns);
    await addBridgeNetns(this.bridgeNetns);
    for (const h of this.hosts.values()) {
      this.namespaces.push(h.netns);
      await addNetns(h.netns);
      await linkToBridge(this.bridgeNetns, `v${h.name}`, h.netns, 'eth0', this.address(h.name));
    }

    await Promise.all([...this.hosts.values()].map((h) => h.start()));
    const launchMs = elapsedMs(t0);

    const want = o.nodes + remoteCount;
    const timeoutMs = o.startTimeoutMs ?? 120_000;
    await waitFor(
      async () => {
        const s = await this.crmMon({ node: 'node1' });
        // A remote node shows online="true" while its connection resource is
        // still "Starting": wait for the connection to be Started as well.
        const remotesUp = remotes.every((r) => s.resources.some((x) => x.id === r.name && x.role === 'Started' && x.active));
        return s.dc !== null && s.quorate && s.nodes.filter((n) => n.online).length === want && remotesUp;
      },
      { timeoutMs, what: `cluster ${this.name}: DC elected, quorate, ${want} nodes online, remote connections started` },
    );
    const onlineMs = elapsedMs(t0);

    let cibMs = 0;
    if (o.cib !== undefined) {
      const t1 = performance.now();
      await this.loadCib(o.cib, { timeoutMs });
      cibMs = elapsedMs(t1);
    }
    this.timings = { launchMs, onlineMs, cibMs };
    for (const node of o.wan?.nodes ?? []) await o.wan!.wan.attach(this, node);
  }
}

/**
 * Starts a cluster and resolves once a DC is elected, the cluster is quorate,
 * every node (core and remote) is online and `cib` is loaded. On any failure
 * everything started is removed and the error carries the nodes' log tails.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const prefix = options.prefix ?? defaultPrefix;
  checkName('prefix', prefix);
  checkName('cluster name', options.name);
  checkSubnet(options.subnet);
  const remotes = options.remotes ?? 0;
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > nodesPerClusterMax) {
    throw new LabError('BAD_OPTIONS', `nodes must be 1..${nodesPerClusterMax}, got ${options.nodes}`);
  }
  if (!Number.isInteger(remotes) || remotes < 0 || remotes > nodesPerClusterMax) {
    throw new LabError('BAD_OPTIONS', `remotes must be 0..${nodesPerClusterMax}, got ${remotes}`);
  }
  const scope = claimScope(prefix, options.name);
  const cluster = new Cluster(options, scope);
  try {
    await cleanupStaleLabs(prefix, options.name);
    await cluster.boot();
    return cluster;
  } catch (e) {
    const logs = await cluster.logTail().catch((le: unknown) => `(no logs: ${String(le)})`);
    await cluster.stop({ graceMs: 0 });
    throw new LabError('INIT_FAILED', `cluster ${options.name} did not start: ${e instanceof Error ? e.message : String(e)}\n${logs}`, {
      cause: e,
    });
  }
}

// ---------------------------------------------------------------------------
// WAN

export interface WanOptions {
  /** [a-z][a-z0-9]{0,11}; must differ from every cluster name of the same prefix. */
  readonly name: string;
  readonly prefix?: string;
  /** First three octets of the WAN's /24, e.g. '10.91.100'; endpoints get .11, .12, … in attach order. */
  readonly subnet: string;
}

/** Something on the WAN: a cluster node (`CLUSTER.NODE`) or a standalone host. */
export interface WanEndpoint {
  readonly name: string;
  /** Its address on the WAN. */
  readonly address: string;
}

interface EndpointRecord extends WanEndpoint {
  readonly netns: string;
}

/** A standalone host on the WAN (e.g. an arbitrator): its own namespaces, no cluster. */
export class WanHost implements WanEndpoint {
  /** Use Wan.addNamespace. */
  constructor(
    readonly name: string,
    readonly address: string,
    private readonly host: NsHost,
  ) {}

  get netns(): string {
    return this.host.netns;
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    return this.host.exec(argv, options);
  }

  /** Like Cluster.spawn: kill() reaches the program; it dies with the host. */
  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.host.spawn(argv, options);
  }

  /** Crash the host: every process in it dies; its network stays. */
  async kill(): Promise<void> {
    await this.host.stop(0);
  }

  /** Boot it again after kill(). */
  async start(): Promise<void> {
    await this.host.start();
  }
}

export class Wan {
  readonly name: string;
  readonly prefix: string;
  readonly subnet: string;
  readonly bridgeNetns: string;
  readonly dir: string;
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly hosts = new Map<string, NsHost>();
  /** Attached cluster nodes (their wan0 is removed on stop). */
  private readonly attached: EndpointRecord[] = [];
  private readonly namespaces: string[] = [];
  /** Cut pairs, as 'a\0b' with a < b. */
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<string>();
  private nextHost = wanHostBase + 1;
  private stopped = false;

  /** Use startWan. */
  constructor(
    options: WanOptions,
    private readonly scope: string,
  ) {
    this.name = options.name;
    this.prefix = options.prefix ?? defaultPrefix;
    this.subnet = options.subnet;
    this.bridgeNetns = `${this.prefix}-${this.name}-br`;
    this.dir = join(labRoot, this.prefix, this.name);
  }

  /** @internal */
  async boot(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
    this.namespaces.push(this.bridgeNetns);
    await addBridgeNetns(this.bridgeNetns);
  }

  private allocate(name: string): string {
    this.assertRunning();
    if (this.endpoints.has(name)) throw new LabError('BAD_OPTIONS', `WAN ${this.name} already has an endpoint ${name}`);
    if (this.endpoints.size >= wanEndpointsMax) throw new LabError('BAD_OPTIONS', `WAN ${this.name} is full (${wanEndpointsMax})`);
    const address = `${this.subnet}.${this.nextHost}`;
    this.nextHost += 1;
    return address;
  }

  private assertRunning(): void {
    if (this.stopped) throw new LabError('STOPPED', `WAN ${this.name} was stopped`);
  }

  /**
   * Gives a cluster node a second interface, wan0, on this WAN. The endpoint
   * is named `CLUSTER.NODE`. The link belongs to the node's network namespace,
   * so it survives killNode/startNode.
   */
  async attach(cluster: Cluster, node: string): Promise<WanEndpoint> {
    const name = `${cluster.name}.${node}`;
    const address = this.allocate(name);
    const netns = cluster.netnsOf(node);
    const rec = { name, address, netns };
    this.endpoints.set(name, rec);
    this.attached.push(rec);
    await linkToBridge(this.bridgeNetns, `w${this.endpoints.size}`, netns, 'wan0', address);
    return { name, address };
  }

  /** A standalone host on the WAN (network namespace `PREFIX-WAN-NAME`, its own init). */
  async addNamespace(name: string): Promise<WanHost> {
    checkName('WAN host name', name);
    const address = this.allocate(name);
    const netns = `${this.prefix}-${this.name}-${name}`;
    const host = new NsHost(name, 'bare', netns, join(this.dir, name));
    this.endpoints.set(name, { name, address, netns });
    this.hosts.set(name, host);
    this.namespaces.push(netns);
    await addNetns(netns);
    await linkToBridge(this.bridgeNetns, `w${this.endpoints.size}`, netns, 'wan0', address);
    await mkdir(host.dir, { recursive: true });
    await host.start();
    return new WanHost(name, address, host);
  }

  /** The endpoint called `name` (`CLUSTER.NODE` or a standalone host's name). */
  endpoint(name: string | WanEndpoint): WanEndpoint {
    return this.record(name);
  }

  private record(name: string | WanEndpoint): EndpointRecord {
    const key = typeof name === 'string' ? name : name.name;
    const r = this.endpoints.get(key);
    if (r === undefined) throw new LabError('BAD_OPTIONS', `WAN ${this.name} has no endpoint ${key}`);
    return r;
  }

  /**
   * Partition: with `b`, traffic between a and b is dropped (both ways, in
   * both namespaces); without, `a` is cut off the whole WAN (its wan0 drops
   * everything) while its cluster link stays up. Established connections
   * stall too (no conntrack exception). Cuts add up until healed.
   */
  async cut(a: string | WanEndpoint, b?: string | WanEndpoint): Promise<void> {
    this.assertRunning();
    const ra = this.record(a);
    if (b === undefined) {
      this.isolated.add(ra.name);
      await this.apply([ra]);
      return;
    }
    const rb = this.record(b);
    if (ra.name === rb.name) throw new LabError('BAD_OPTIONS', `cannot cut ${ra.name} from itself`);
    this.cuts.add(pairKey(ra.name, rb.name));
    await this.apply([ra, rb]);
  }

  /**
   * Undoes cuts: heal(a, b) the a–b cut; heal(a) a's isolation and every cut
   * involving a; heal() everything.
   */
  async heal(a?: string | WanEndpoint, b?: string | WanEndpoint): Promise<void> {
    this.assertRunning();
    const touched = new Set<string>();
    const drop = (key: string): void => {
      this.cuts.delete(key);
      for (const n of key.split('\0')) touched.add(n);
    };
    if (a === undefined) {
      for (const key of [...this.cuts]) drop(key);
      for (const n of this.isolated) touched.add(n);
      this.isolated.clear();
    } else if (b === undefined) {
      const ra = this.record(a);
      for (const key of [...this.cuts]) if (key.split('\0').includes(ra.name)) drop(key);
      this.isolated.delete(ra.name);
      touched.add(ra.name);
    } else {
      drop(pairKey(this.record(a).name, this.record(b).name));
    }
    await this.apply([...touched].map((n) => this.record(n)));
  }

  /** Rewrites the nftables table of each endpoint from the current cuts, atomically (one `nft -f`). */
  private async apply(records: readonly EndpointRecord[]): Promise<void> {
    for (const r of records) {
      const peers = [...this.cuts]
        .map((k) => k.split('\0'))
        .filter((p) => p.includes(r.name))
        .map((p) => this.record(p[0] === r.name ? p[1]! : p[0]!).address);
      const isolated = this.isolated.has(r.name);
      let script = `table inet ${nftTable}\ndelete table inet ${nftTable}\n`;
      if (isolated || peers.length > 0) {
        const set = `{ ${peers.join(', ')} }`;
        script +=
          `table inet ${nftTable} {\n` +
          `  chain input {\n    type filter hook input priority 0; policy accept;\n` +
          (isolated ? '    iifname "wan0" drop\n' : '') +
          (peers.length > 0 ? `    ip saddr ${set} drop\n` : '') +
          '  }\n' +
          `  chain output {\n    type filter hook output priority 0; policy accept;\n` +
          (isolated ? '    oifname "wan0" drop\n' : '') +
          (peers.length > 0 ? `    ip daddr ${set} drop\n` : '') +
          '  }\n}\n';
      }
      await must(['nsenter', `--net=/run/netns/${r.netns}`, 'nft', '-f', '-'], { input: script });
    }
  }

  /**
   * Removes the WAN: its standalone hosts (killed: nothing there needs an
   * orderly stop), their namespaces, the bridge, and the wan0 link and
   * nftables table in every attached cluster node that still exists.
   * Idempotent; safe after a partial start.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await Promise.all([...this.hosts.values()].map((h) => h.stop(0)));
      const live = new Set(await listNetns());
      for (const r of this.attached) {
        if (!live.has(r.netns)) continue;
        // The node's cluster may be gone meanwhile: its namespace then goes with the link; rc ignored on purpose.
        await run(['ip', '-n', r.netns, 'link', 'del', 'wan0']);
        await run(['nsenter', `--net=/run/netns/${r.netns}`, 'nft', 'delete', 'table', 'inet', nftTable]);
      }
      for (const ns of [...this.namespaces].reverse()) await delNetns(ns);
      await removeStateDir(this.dir, this.prefix);
    } finally {
      activeScopes.delete(this.scope);
    }
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\0${b}` : `${b}\0${a}`;
}

/** Starts an empty WAN (a bridge in its own namespace); add hosts with attach/addNamespace. */
export async function startWan(options: WanOptions): Promise<Wan> {
  const prefix = options.prefix ?? defaultPrefix;
  checkName('prefix', prefix);
  checkName('WAN name', options.name);
  checkSubnet(options.subnet);
  const scope = claimScope(prefix, options.name);
  const wan = new Wan(options, scope);
  try {
    await cleanupStaleLabs(prefix, options.name);
    await wan.boot();
    return wan;
  } catch (e) {
    await wan.stop();
    throw e;
  }
}
