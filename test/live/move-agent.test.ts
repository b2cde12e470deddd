// Moving a site's agent between the nodes of its site without shared storage
// (issue 11 item 4; docs/operations.md "move the agent"), on REAL Pacemaker
// clusters (test/live/lab.ts). Site A is a cluster of two nodes that runs the
// OCF agent packaging/ocf/tollbooth (ocf:tollbooth:tollbooth, installed in
// each of A's nodes by a bind mount over /usr/lib/ocf/resource.d) in a group
// after an ocf:heartbeat:IPaddr2 floating address — the site's address in the
// formation — on the WAN; state_dir is node-local (/var/lib/pacemaker of each
// node). Site B is a one-node cluster whose agent runs directly; the
// arbitrator runs in a WAN namespace. Each site runs an ocf:pacemaker:Dummy
// `svc` under `rsc_ticket ticketA loss-policy=stop`.
//
// With ticketA held by site A (moved there if the formation placed it at B),
// the group is moved with `crm_resource --move` from node1 to node2 — node2
// has never run the agent: its state directory is absent — and then back to
// node1, whose state directory is present but stale (left from its first
// tenure). Each time, until the old node's lease guard has passed its deadline
// (its log says it left the grant to the new node's agent), the test asserts,
// from both clusters' own state (crm_mon polled in each, every ~50 ms):
//  - site A's CIB shows ticketA granted in every reading, and svc Started;
//  - site B's CIB never shows ticketA granted, nor svc active;
//  - svc was not restarted: its start operations in A's CIB (crm_resource
//    --list-operations) are the same as before the move;
//  - booth's `term` in A's CIB (the registry generation) did not change, and
//    the new node's agent lists ticketA as held by A at that generation;
//  - site A is re-admitted as a new incarnation (another incarnation in the
//    committed configuration, as site B sees it) and votes again.
// It prints the hand-over times (the move command to the agent Started on the
// new node, and to the new agent's own grant write) for docs/operations.md.
// Needs root and the lab's Debian packages plus resource-agents (IPaddr2); it
// FAILS (never skips) without them. Waits are polls with deadlines.
import { cp, mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStaleLabs, dummyUnderTicket, placements, startCluster, startWan, ticket, waitFor, type Cluster, type Wan, type WanHost } from './lab.js';
import { LiveFormation, tollboothScript, type RunningMember } from './formation.js';

const repo = resolve(import.meta.dirname, '../..');
const prefix = 'tbm';
const ticketName = 'ticketA';
/** Long enough that a move (stop, IP, start, re-admission) fits well inside one lease. */
const expireS = 40;
const acquireAfterS = 2;
const port = 9939;
const wanSubnet = '10.96.100';
const floatingIp = `${wanSubnet}.100`;
const probeGapMs = 50;
const startTimeoutMs = 180_000;
const moveTimeoutMs = 120_000;
/** Node-local paths (inside each node's own bind mounts and /run). */
const stateDir = '/var/lib/pacemaker/tollbooth-state';
const agentLog = '/var/log/pacemaker/tollbooth-agent.log';
const socket = '/run/tollbooth/booth.sock';

const svcCib = dummyUnderTicket(ticketName);

interface Reading {
  readonly t0: number;
  readonly t1: number;
  readonly granted: boolean | null;
  readonly svc: readonly string[];
}

/** Polls crm_mon in one node of a cluster, one probe after another. */
class Poller {
  readonly readings: Reading[] = [];
  private stopping = false;
  private loop: Promise<void> | null = null;
  constructor(
    private readonly cluster: Cluster,
    private readonly node: string,
  ) {}
  start(): void {
    this.loop ??= (async () => {
      while (!this.stopping) {
        const t0 = performance.now();
        try {
          const s = await this.cluster.crmMon({ node: this.node, timeoutMs: 10_000 });
          this.readings.push({ t0, t1: performance.now(), granted: ticket(s, ticketName)?.granted ?? false, svc: placements(s, 'svc').filter((p) => p.role === 'Started').map((p) => p.node) });
        } catch {
          this.readings.push({ t0, t1: performance.now(), granted: null, svc: [] });
        }
        await new Promise((r) => setTimeout(r, probeGapMs));
      }
    })();
  }
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
  since(t: number): Reading[] {
    return this.readings.filter((r) => r.t0 >= t && r.granted !== null);
  }
}

describe('moving the OCF agent between the nodes of a site (no shared storage)', () => {
  let wan: Wan | null = null;
  let siteA: Cluster | null = null;
  let siteB: Cluster | null = null;
  let arbHost: WanHost | null = null;
  let formation: LiveFormation;
  const running: RunningMember[] = [];
  let pollA: Poller;
  let pollB: Poller;
  const report: string[] = [];
  const dir = join(repo, 'test-artifacts', 'live-move-agent');

  const hostPath = (node: string, inNode: string): string => {
    for (const [from, to] of [['/var/lib/pacemaker', 'lib-pacemaker'], ['/var/log/pacemaker', 'log/pacemaker']] as const) {
      if (inNode.startsWith(from)) return join(siteA!.dir, node, to, inNode.slice(from.length));
    }
    throw new Error(`${inNode} is not under a node's own mount`);
  };
  const cliIn = async (node: string, args: readonly string[]): Promise<unknown> => {
    const r = await siteA!.exec(node, [process.execPath, tollboothScript, ...args, '--json', '--socket', socket], { timeoutMs: 20_000 });
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
    } catch {
      return null;
    }
  };
  const cibAttr = async (attr: string): Promise<string> => (await siteA!.exec('node1', ['crm_ticket', '-t', ticketName, '-G', attr])).stdout.trim();
  /** svc's start operations as A's CIB records them (one per node it ever started on, the latest call each). */
  const svcStarts = async (): Promise<string[]> => {
    const r = await siteA!.exec('node1', ['crm_resource', '--list-operations', '--resource', 'svc']);
    return r.stdout
      .split('\n')
      .filter((l) => /svc_start_0/.test(l))
      .map((l) => /node=(\S+?),.*call=(\d+)/.exec(l)?.slice(1).join(' call ') ?? l.trim())
      .sort();
  };
  const agentNode = async (): Promise<string | null> => {
    const s = await siteA!.crmMon({ node: 'node1' });
    return placements(s, 'tb-agent').find((p) => p.role === 'Started')?.node ?? null;
  };
  const logTails = async (): Promise<string> => {
    const parts: string[] = [];
    for (const node of ['node1', 'node2']) {
      for (const f of [agentLog, `${stateDir}/lease-guard.log`]) {
        const text = await readFile(hostPath(node, f), 'utf8').catch(() => '(none)');
        parts.push(`--- ${node} ${f}\n${text.trimEnd().split('\n').slice(-15).join('\n')}`);
      }
    }
    return `${parts.join('\n')}\n${await siteA!.logTail(10)}`;
  };

  beforeAll(async () => {
    await cleanupStaleLabs(prefix);
    wan = await startWan({ name: 'wan', prefix, subnet: wanSubnet });
    siteA = await startCluster({ name: 'sitea', prefix, subnet: '10.96.1', nodes: 2, cib: svcCib, startTimeoutMs });
    siteB = await startCluster({ name: 'siteb', prefix, subnet: '10.96.2', nodes: 1, cib: svcCib, startTimeoutMs });
    await wan.attach(siteA, 'node1');
    await wan.attach(siteA, 'node2');
    const b = await wan.attach(siteB, 'node1');
    arbHost = await wan.addNamespace('arb');
    formation = await LiveFormation.create({
      dir,
      port,
      preset: 'lan',
      sites: [
        { name: 'siteA', address: floatingIp },
        { name: 'siteB', address: b.address },
      ],
      arbitrators: [{ name: 'arb', address: arbHost.address }],
      tickets: [{ name: ticketName, expireS, acquireAfterS }],
    });
    // The OCF agent, in each of A's nodes only: a copy of the host's OCF tree plus ours, bind-mounted
    // in the node's own mount namespace (the host's /usr/lib/ocf is not touched).
    const ocfTree = join(dir, 'resource.d');
    await cp('/usr/lib/ocf/resource.d', ocfTree, { recursive: true });
    await mkdir(join(ocfTree, 'tollbooth'), { recursive: true });
    await cp(join(repo, 'packaging/ocf/tollbooth'), join(ocfTree, 'tollbooth', 'tollbooth'));
    await chmod(join(ocfTree, 'tollbooth', 'tollbooth'), 0o755);
    const launcher = join(dir, 'tollbooth');
    await writeFile(launcher, `#!/bin/sh\nexec '${process.execPath}' '${tollboothScript}' "$@"\n`, { mode: 0o755 });
    for (const node of ['node1', 'node2']) {
      const m = await siteA.exec(node, ['mount', '--bind', ocfTree, '/usr/lib/ocf/resource.d']);
      expect(m.code, m.stderr).toBe(0);
    }
    const a = formation.member('siteA');
    const param = (n: string, v: string): string => `<nvpair id="tb-agent-${n}" name="${n}" value="${v}"/>`;
    await siteA.loadCib(`<configuration>
  <resources>
    <group id="tb-site">
      <primitive id="tb-ip" class="ocf" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="tb-ip-ia">
          <nvpair id="tb-ip-ip" name="ip" value="${floatingIp}"/>
          <nvpair id="tb-ip-mask" name="cidr_netmask" value="24"/>
          <nvpair id="tb-ip-nic" name="nic" value="wan0"/>
        </instance_attributes>
        <operations><op id="tb-ip-mon" name="monitor" interval="10s" timeout="20s"/></operations>
      </primitive>
      <primitive id="tb-agent" class="ocf" provider="tollbooth" type="tollbooth">
        <instance_attributes id="tb-agent-ia">
          ${param('config', formation.configPath)}${param('binary', launcher)}${param('key', a.key)}${param('self', floatingIp)}
          ${param('state_dir', stateDir)}${param('socket', socket)}${param('log', agentLog)}
        </instance_attributes>
        <operations>
          <op id="tb-agent-start" name="start" interval="0" timeout="120s"/>
          <op id="tb-agent-stop" name="stop" interval="0" timeout="120s"/>
          <op id="tb-agent-mon" name="monitor" interval="10s" timeout="60s"/>
        </operations>
      </primitive>
    </group>
  </resources>
  <constraints>
    <rsc_location id="tb-site-starts-on-node1" rsc="tb-site" node="node1" score="50"/>
  </constraints>
</configuration>`);
    running.push(formation.start(formation.member('siteB'), (argv) => siteB!.spawn('node1', argv)));
    running.push(formation.start(formation.member('arb'), (argv) => arbHost!.spawn(argv)));
  }, 600_000);

  afterAll(async () => {
    await pollA?.stop();
    await pollB?.stop();
    for (const r of running) r.proc.kill('SIGTERM');
    await Promise.all(running.map((r) => r.exited));
    await siteA?.stop();
    await siteB?.stop();
    await wan?.stop();
    process.stdout.write(`\nmoving the agent (this run):\n${report.map((l) => `  ${l}`).join('\n')}\n`);
  }, 300_000);

  it('site A holds ticketA, granted in its CIB, svc Started there; never at B', async () => {
    await waitFor(async () => ((await agentNode()) === 'node1' ? true : null), { what: 'the agent Started on node1', timeoutMs: startTimeoutMs, intervalMs: 500 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await logTails()}`);
    });
    const a = formation.member('siteA');
    const heldBy = async (): Promise<string | null> => {
      const l = (await cliIn('node1', ['list'])) as { ok?: boolean; data?: Array<{ name: string; holder: string | null }> } | null;
      return l?.data?.find((t) => t.name === ticketName)?.holder ?? null;
    };
    const at = await waitFor(heldBy, { what: 'ticketA placed', timeoutMs: startTimeoutMs, intervalMs: 500 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await logTails()}\n${await formation.logTail(formation.member('siteB'))}`);
    });
    if (at !== floatingIp) {
      const mv = await siteA!.exec('node1', [process.execPath, tollboothScript, 'move', ticketName, '--to', floatingIp, '--socket', socket], { timeoutMs: moveTimeoutMs });
      expect(mv.code, mv.stdout + mv.stderr).toBe(0);
    }
    expect(a.address).toBe(floatingIp);
    await waitFor(async () => {
      const s = await siteA!.crmMon({ node: 'node1' });
      return ticket(s, ticketName)?.granted === true && placements(s, 'svc').some((p) => p.role === 'Started') ? true : null;
    }, { what: 'ticketA granted at A and svc Started there', timeoutMs: moveTimeoutMs, intervalMs: 500 });
    pollA = new Poller(siteA!, 'node1');
    pollB = new Poller(siteB!, 'node1');
    pollA.start();
    pollB.start();
  }, 2 * startTimeoutMs + moveTimeoutMs);

  /**
   * Moves the group to `to` with crm_resource --move and watches until the old
   * node's lease guard has passed its deadline (and left the grant alone).
   */
  const moveTo = async (from: string, to: string, what: string): Promise<void> => {
    const siteAAsSeenByB = async (): Promise<{ incarnation?: number; voter?: boolean } | null> => {
      const r = await formation.cliJson<{ data?: { members?: Array<{ id: string; incarnation?: number; voter?: boolean }> } }>(formation.member('siteB'), ['status']);
      return r.answer?.data?.members?.find((m) => m.id === floatingIp) ?? null;
    };
    const before = await siteAAsSeenByB();
    expect(before, 'site A in the committed configuration').not.toBeNull();
    expect(before!.voter ?? true, 'site A votes before the move').toBe(true);
    const termBefore = await cibAttr('term');
    const startsBefore = await svcStarts();
    expect(startsBefore.length).toBeGreaterThan(0);
    const oldGuardLog = hostPath(from, `${stateDir}/lease-guard.log`);
    const oldGuardLines = (await readFile(oldGuardLog, 'utf8').catch(() => '')).split('\n').length;
    const newLog = hostPath(to, agentLog);
    const newLogFrom = (await readFile(newLog, 'utf8').catch(() => '')).length;
    const t0 = performance.now();
    const mv = await siteA!.exec('node1', ['crm_resource', '--move', '--resource', 'tb-site', '--node', to], { timeoutMs: 60_000 });
    expect(mv.code, mv.stdout + mv.stderr).toBe(0);
    const started = await waitFor(async () => ((await agentNode()) === to ? performance.now() : null), { what: `the agent Started on ${to}`, timeoutMs: moveTimeoutMs, intervalMs: 100 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await logTails()}`);
    });
    // The new agent's own grant write (it arms its own guard first): its log line, after the move began.
    const written = await waitFor(async () => {
      const lines = (await readFile(newLog, 'utf8').catch(() => '')).slice(newLogFrom).split('\n');
      return lines.some((l) => l.includes('"msg":"ticket granted locally"') && l.includes('"granted":true')) ? performance.now() : null;
    }, { what: `the agent on ${to} to write the grant with its own deadline`, timeoutMs: expireS * 1000, intervalMs: 50 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await logTails()}`);
    });
    // The new agent is a new incarnation of site A: re-admitted by the leader, caught up, a voter again (docs/protocol.md §10).
    const readmitted = await waitFor(async () => {
      const m = await siteAAsSeenByB();
      return m !== null && (m.incarnation ?? 0) !== (before!.incarnation ?? 0) && (m.voter ?? true) ? performance.now() : null;
    }, { what: `site A re-admitted as a new incarnation and a voter again (was incarnation ${before!.incarnation ?? 0})`, timeoutMs: moveTimeoutMs, intervalMs: 200 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await logTails()}`);
    });
    // Until the old node's guard has passed its deadline and left the grant to the new agent.
    await waitFor(async () => {
      const lines = (await readFile(oldGuardLog, 'utf8').catch(() => '')).split('\n').slice(oldGuardLines - 1);
      return lines.some((l) => l.includes('took the grant over')) ? true : null;
    }, { what: `${from}'s lease guard to pass its deadline and leave the grant`, timeoutMs: (expireS + 30) * 1000, intervalMs: 200 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${await logTails()}`);
    });
    const guardDone = performance.now();
    // One more full round of readings after it.
    const after = performance.now();
    await waitFor(() => (pollA.since(after).length > 0 && pollB.since(after).length > 0 ? true : null), { what: 'a reading of both sites after the deadline', timeoutMs: 30_000, intervalMs: 50 });
    const a = pollA.since(t0);
    const b = pollB.since(t0);
    const notHeld = a.find((r) => r.granted !== true || r.svc.length !== 1);
    expect(notHeld, `site A: ticketA granted and svc Started in every reading (${a.length} readings)`).toBeUndefined();
    const atB = b.find((r) => r.granted === true || r.svc.length > 0);
    expect(atB, `site B: ticketA never granted (${b.length} readings)`).toBeUndefined();
    expect(await svcStarts(), 'svc not restarted (its start operations unchanged)').toEqual(startsBefore);
    expect(await cibAttr('term')).toBe(termBefore);
    expect(await cibAttr('granted')).toBe('true');
    const list = (await cliIn(to, ['list'])) as { data?: Array<{ name: string; holder: string | null; generation: number }> } | null;
    expect(list?.data?.find((t) => t.name === ticketName)).toMatchObject({ holder: floatingIp, generation: Number(termBefore) });
    report.push(
      `${what}: ${from} → ${to}: agent Started on ${to} ${((started - t0) / 1000).toFixed(1)} s after crm_resource --move, its own grant write at ${((written - t0) / 1000).toFixed(1)} s, re-admitted as a voter (new incarnation) by ${((readmitted - t0) / 1000).toFixed(1)} s; ${from}'s guard left the grant at ${((guardDone - t0) / 1000).toFixed(1)} s; ${a.length} readings at A all granted with svc Started, ${b.length} at B none granted; term ${termBefore} kept; svc starts ${JSON.stringify(startsBefore)} unchanged`,
    );
  };

  it('crm_resource --move to node2 (its state directory absent) keeps the ticket granted and svc running', async () => {
    await rm(hostPath('node2', stateDir), { recursive: true, force: true });
    await moveTo('node1', 'node2', 'state directory absent');
  }, moveTimeoutMs + (expireS + 90) * 1000);

  it('and back to node1 (its state directory present but stale, from its first tenure): the same', async () => {
    await moveTo('node2', 'node1', 'state directory present but stale');
  }, moveTimeoutMs + (expireS + 90) * 1000);
});
