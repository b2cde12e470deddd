// `tollbooth quorum …`: the quorum guardian from the command line (DESIGN.md §5).
//
//   tollbooth quorum status   observe this node's cluster (corosync-quorumtool,
//                             corosync-cmapctl, crm_mon, crm_node), run the
//                             guardian policy, print voters, remote nodes,
//                             votes and the decision (plan, or why not)
//   tollbooth quorum plan     the same, plus the steps a promotion would run
//                             now and the corosync.conf nodelist change —
//                             without doing anything
//   tollbooth quorum helper   run the node helper (src/adapters/node-helper.ts)
//
// Both reports run on a core member (remote nodes have no corosync). They
// are one-shot: nothing here knows since when a voter has been lost (the
// running site agent tracks that), so a lost voter counts as lost "now"
// unless --lost-for says otherwise, and the grace period shows as not over.
// Until the config keys are wired (tollbooth-quorum-*), the guardian's
// settings come from options. Exit codes as the admin commands
// (src/cli/admin-client.ts): 0 done, 1 refused/failed, 2 usage, 7 cluster
// not running here.

import { Command, InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';
import { CorosyncConfError, promotionNodelist, type PromotionNodelist } from '../adapters/corosync-conf.js';
import { CorosyncObserveError, execFileRunner, MembershipTracker, observeCluster, type CommandRunner, type GuardianInput } from '../adapters/corosync-observe.js';
import { defaultStartCommands, NodeHelperServer, type StackCommand } from '../adapters/node-helper.js';
import { decideQuorumGuardian, type GuardianConfig, type GuardianDecision } from '../core/quorum-guardian.js';
import { publicKeyFromBase64, publicKeyToRaw } from '../wire/signer.js';
import { exitNotRunning, exitOk, exitRefused, exitUsage } from './admin-client.js';

export interface QuorumReportOptions {
  readonly targetVoters?: number;
  readonly graceMs: number;
  readonly promotable: readonly string[];
  /** Zone of each remote node. */
  readonly zones: ReadonlyMap<string, string>;
  readonly preferZones: readonly string[];
  readonly requireFencing: boolean;
  /** Treat every lost voter as lost for at least this long (a one-shot run cannot know). */
  readonly lostForMs: number;
  /** Link addresses of promotable remote nodes, for the nodelist change (plan). */
  readonly remoteAddrs: ReadonlyMap<string, ReadonlyMap<number, string>>;
  readonly corosyncConfPath: string;
  readonly commandTimeoutMs: number;
}

export interface QuorumReport {
  readonly input: GuardianInput;
  readonly config: GuardianConfig;
  readonly decision: GuardianDecision;
  /** For `plan` with a plan: the steps and the nodelist change, or why it cannot be shown. */
  readonly promotion: PromotionPreview | null;
}

export interface PromotionPreview {
  readonly driver: string;
  readonly steps: readonly { readonly step: string; readonly node: string; readonly what: string }[];
  readonly nodelist: PromotionNodelist | null;
  readonly nodelistProblem: string | null;
}

export interface QuorumReportDeps {
  readonly runner: CommandRunner;
  readonly nowMs: () => number;
  readonly readText: (path: string) => Promise<string>;
}

/** Observes, decides and (for plan) previews; throws CorosyncObserveError when the cluster cannot be read. */
export async function quorumReport(o: QuorumReportOptions, deps: QuorumReportDeps, withPreview: boolean): Promise<QuorumReport> {
  const snapshot = await observeCluster({ runner: deps.runner, commandTimeoutMs: o.commandTimeoutMs });
  const tracker = new MembershipTracker();
  const now = deps.nowMs();
  // A one-shot run sees every lost voter for the first time now; --lost-for backdates that.
  const input = tracker.input(snapshot, now - o.lostForMs, { zoneOf: (n) => o.zones.get(n) ?? '' });
  const observation = { ...input.observation, nowMs: now };
  const config: GuardianConfig = {
    targetVoters: o.targetVoters ?? snapshot.nodelist.nodes.length,
    graceMs: o.graceMs,
    promotable: o.promotable,
    preferZones: o.preferZones,
    requireFencing: o.requireFencing,
    enabled: true,
  };
  const decision = decideQuorumGuardian(observation, config);
  let promotion: PromotionPreview | null = null;
  if (withPreview && decision.kind === 'plan') {
    const local = snapshot.nodelist.localIndex === null ? undefined : snapshot.nodelist.nodes[snapshot.nodelist.localIndex];
    const driver = local !== undefined && input.core.some((c) => c.name === local.name && c.state === 'up') ? local.name : input.core.find((c) => c.state === 'up')!.name;
    const live = input.core.filter((c) => c.state === 'up').map((c) => c.name);
    let nodelist: PromotionNodelist | null = null;
    let nodelistProblem: string | null = null;
    const addrs = o.remoteAddrs.get(decision.with);
    if (addrs === undefined) nodelistProblem = `no link address known for ${decision.with} (give --remote-addr ${decision.with}=ADDR)`;
    else {
      try {
        nodelist = promotionNodelist(await deps.readText(o.corosyncConfPath), o.corosyncConfPath, { replace: decision.replace, promote: decision.with, addrs });
      } catch (err) {
        if (!(err instanceof CorosyncConfError) && !(err instanceof Error && 'code' in err)) throw err;
        nodelistProblem = (err as Error).message;
      }
    }
    promotion = {
      driver,
      nodelist,
      nodelistProblem,
      steps: [
        { step: 'pre-check', node: driver, what: 'corosync-quorumtool: quorate, live voters a majority of the new nodelist' },
        { step: 'remove-remote-resource', node: driver, what: `stop and delete the ocf:pacemaker:remote resource ${decision.with}` },
        { step: 'purge-remote', node: driver, what: `crm_node --force --remove ${decision.with}` },
        { step: 'write-nodelist', node: [...live, decision.with].join(','), what: `corosync.conf without ${decision.replace}, with ${decision.with}${nodelist === null ? '' : ` (nodeid ${nodelist.newNodeId})`}` },
        { step: 'reload', node: driver, what: 'corosync-cfgtool -R' },
        { step: 'start-cluster-stack', node: decision.with, what: 'start corosync and Pacemaker' },
        { step: 'verify', node: driver, what: `expected votes ${decision.votersAfter}, total votes ${live.length + 1}, ${decision.with} an online Pacemaker member` },
        { step: 'purge-lost', node: driver, what: `crm_node --force --remove ${[decision.replace, ...input.stalePeers.filter((p) => p !== decision.replace)].join(', ')}` },
      ],
    };
  }
  return { input, config, decision, promotion };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** A line diff (longest common subsequence) of two small texts: lines prefixed "- ", "+ ", "  ". */
export function lineDiff(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push(`  ${x[i]}`);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${x[i++]}`);
    else out.push(`+ ${y[j++]}`);
  }
  return out;
}

/** The human-readable report. */
export function formatQuorumReport(r: QuorumReport, now: number): string {
  const { input, decision } = r;
  const q = input.snapshot.quorum;
  const mon = input.snapshot.mon;
  const lines: string[] = [];
  lines.push(
    `corosync: ${q.quorate ? 'quorate' : 'NOT quorate'}; expected votes ${q.expectedVotes}, total votes ${q.totalVotes}, quorum ${q.quorum}; flags ${q.flags.join(' ') || '-'}`,
  );
  lines.push(`pacemaker: DC ${mon.dc.name ?? 'none'}${mon.dc.present ? (mon.dc.withQuorum ? ', with quorum' : ', WITHOUT quorum') : ''}; stonith-enabled ${mon.stonithEnabled}`);
  lines.push('', 'voters (running corosync nodelist):');
  const coreRows = [['NAME', 'NODEID', 'STATE', 'LOST FOR', 'FENCED', 'ADDRESSES']];
  for (const c of input.core) {
    coreRows.push([
      c.name,
      String(c.nodeid),
      c.state,
      c.lostSinceMs === undefined ? '-' : `${Math.round((now - c.lostSinceMs) / 1000)}s+`,
      c.state === 'up' ? '-' : c.fenced ? 'yes' : 'no',
      [...c.addrs.entries()].map(([l, a]) => `link${l}=${a}`).join(' '),
    ]);
  }
  lines.push(table(coreRows));
  lines.push('', 'remote nodes:');
  if (input.remotes.length === 0) lines.push('  (none)');
  else {
    const rows = [['NAME', 'ONLINE', 'HEALTHY', 'ZONE', 'PROMOTABLE', 'NOTE']];
    for (const x of input.remotes) {
      rows.push([x.name, x.online ? 'yes' : 'no', x.healthy ? 'yes' : 'no', x.zone || '-', r.config.promotable.includes(x.name) ? 'yes' : 'no', x.unhealthyBecause.join(', ')]);
    }
    lines.push(table(rows));
  }
  if (input.changeSignals.length > 0) lines.push('', `change in progress: ${input.changeSignals.join('; ')}`);
  if (input.stalePeers.length > 0) lines.push('', `pacemaker still lists nodes outside the nodelist: ${input.stalePeers.join(', ')} (crm_node --force --remove)`);
  if (r.config.requireFencing && !mon.stonithEnabled) lines.push('', 'note: fencing is required but stonith-enabled=false: no lost voter will ever count as fenced');
  lines.push('', `guardian (target ${r.config.targetVoters} voters, grace ${r.config.graceMs} ms): ${decision.kind}${decision.kind === 'plan' ? '' : ` (${decision.reason})`}: ${decision.message}`);
  if (r.promotion !== null) {
    lines.push('', `would run (nothing was done), driven from ${r.promotion.driver}:`);
    r.promotion.steps.forEach((s, i) => lines.push(`  ${i + 1}. ${s.step.padEnd(22)} on ${s.node}: ${s.what}`));
    if (r.promotion.nodelist !== null) {
      lines.push('', 'corosync.conf change:');
      for (const l of lineDiff(r.promotion.nodelist.before.text, r.promotion.nodelist.after.text)) if (!l.startsWith('  ')) lines.push(`  ${l}`);
    } else if (r.promotion.nodelistProblem !== null) {
      lines.push('', `corosync.conf change not shown: ${r.promotion.nodelistProblem}`);
    }
  }
  return lines.join('\n');
}

/** The report as JSON-ready data (maps become objects). */
export function quorumReportJson(r: QuorumReport): unknown {
  const addrs = (m: ReadonlyMap<number, string>): Record<string, string> => Object.fromEntries([...m].map(([k, v]) => [`ring${k}_addr`, v]));
  return {
    quorum: r.input.snapshot.quorum,
    dc: r.input.snapshot.mon.dc,
    stonithEnabled: r.input.snapshot.mon.stonithEnabled,
    voters: r.input.core.map((c) => ({ name: c.name, nodeid: c.nodeid, state: c.state, fenced: c.fenced, addrs: addrs(c.addrs) })),
    remotes: r.input.remotes.map((x) => ({ name: x.name, online: x.online, healthy: x.healthy, zone: x.zone, unhealthyBecause: x.unhealthyBecause, promotable: r.config.promotable.includes(x.name) })),
    changeSignals: r.input.changeSignals,
    stalePeers: r.input.stalePeers,
    config: r.config,
    decision: r.decision,
    ...(r.promotion === null
      ? {}
      : {
          promotion: {
            driver: r.promotion.driver,
            steps: r.promotion.steps,
            nodelist: r.promotion.nodelist === null ? null : { beforeSha256: r.promotion.nodelist.before.sha256, afterSha256: r.promotion.nodelist.after.sha256, newNodeId: r.promotion.nodelist.newNodeId, after: r.promotion.nodelist.after.text },
            nodelistProblem: r.promotion.nodelistProblem,
          },
        }),
  };
}

// ───────────── option parsing ─────────────

const wholeMs = (v: string): number => {
  if (!/^\d{1,10}$/.test(v)) throw new InvalidArgumentError('expected a whole number of milliseconds');
  return Number(v);
};
const positiveInt = (v: string): number => {
  if (!/^\d{1,4}$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('expected a positive whole number');
  return Number(v);
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface ReportCliOptions {
  json?: boolean;
  targetVoters?: number;
  grace: number;
  promotable: string[];
  zone: string[];
  preferZone: string[];
  requireFencing: boolean;
  lostFor: number;
  remoteAddr: string[];
  corosyncConf: string;
  timeout: number;
}

class UsageError extends Error {}

function pairsOf(values: readonly string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(v);
    if (m === null) throw new UsageError(`${what} ${JSON.stringify(v)}: expected NAME=VALUE`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

function reportOptions(o: ReportCliOptions): QuorumReportOptions {
  const remoteAddrs = new Map<string, Map<number, string>>();
  for (const [name, list] of pairsOf(o.remoteAddr, '--remote-addr')) {
    remoteAddrs.set(name, new Map(list.split(',').map((a, i): [number, string] => [i, a])));
  }
  return {
    ...(o.targetVoters === undefined ? {} : { targetVoters: o.targetVoters }),
    graceMs: o.grace,
    promotable: o.promotable.flatMap((p) => p.split(',')).filter((p) => p !== ''),
    zones: pairsOf(o.zone, '--zone'),
    preferZones: o.preferZone,
    requireFencing: o.requireFencing,
    lostForMs: o.lostFor,
    remoteAddrs,
    corosyncConfPath: o.corosyncConf,
    commandTimeoutMs: o.timeout,
  };
}

function reportCommand(parent: Command, name: 'status' | 'plan', description: string): void {
  parent
    .command(name)
    .description(description)
    .option('--json', 'print the report as JSON')
    .option('--target-voters <n>', 'voters the site wants (tollbooth-quorum-target-voters; default: the nodelist size)', positiveInt)
    .option('--grace <ms>', 'how long a voter must be lost before it is replaced (tollbooth-quorum-grace)', wholeMs, 60_000)
    .option('--promotable <names>', 'remote nodes that may be promoted, comma-separated (tollbooth-quorum-promotable)', collect, [])
    .option('--zone <name=zone>', 'zone of a remote node (repeatable)', collect, [])
    .option('--prefer-zone <zone>', 'preferred zone, most preferred first (repeatable)', collect, [])
    .option('--no-require-fencing', 'replace lost voters that are not confirmed fenced (tollbooth-quorum-require-fencing=no)')
    .option('--lost-for <ms>', 'treat each lost voter as lost at least this long (a one-shot run cannot know)', wholeMs, 0)
    .option('--remote-addr <name=addr[,addr1...]>', 'corosync link addresses of a remote node (repeatable; plan)', collect, [])
    .option('--corosync-conf <path>', 'corosync.conf to derive the new nodelist from (plan)', '/etc/corosync/corosync.conf')
    .option('--timeout <ms>', 'deadline of each cluster command', wholeMs, 10_000)
    .action(async (o: ReportCliOptions) => {
      let report: QuorumReport;
      try {
        report = await quorumReport(reportOptions(o), { runner: execFileRunner(), nowMs: () => performance.now(), readText: (p) => readFile(p, 'utf8') }, name === 'plan');
      } catch (err) {
        process.stderr.write(`tollbooth quorum ${name}: ${(err as Error).message}\n`);
        process.exitCode = err instanceof UsageError ? exitUsage : err instanceof CorosyncObserveError && (err.code === 'NOT_RUNNING' || err.code === 'BINARY_MISSING') ? exitNotRunning : exitRefused;
        return;
      }
      process.stdout.write(o.json === true ? `${JSON.stringify(quorumReportJson(report))}\n` : `${formatQuorumReport(report, performance.now())}\n`);
      process.exitCode = exitOk;
    });
}

interface HelperCliOptions {
  site: string;
  node: string;
  listen: string;
  agentKey: string[];
  corosyncConf: string;
  startCommand: string[];
  window: number;
}

/** `--listen HOST:PORT` (IPv6 in brackets). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new UsageError(`--listen ${JSON.stringify(text)}: expected HOST:PORT`);
  return { host: m[1] ?? m[2]!, port };
}

/** Registers `quorum status`, `quorum plan` and `quorum helper` on the program. */
export function registerQuorumCommands(program: Command): void {
  const quorum = program.command('quorum').description('the quorum guardian: promote pacemaker_remote nodes to keep the site quorate');
  reportCommand(quorum, 'status', 'voters, remote nodes, votes and the guardian\'s decision for this cluster');
  reportCommand(quorum, 'plan', 'what the guardian would do now (steps and corosync.conf change), without doing it');
  quorum
    .command('helper')
    .description('run the node helper: the fixed promotion actions, for requests signed by the site agent key')
    .requiredOption('--site <label>', 'site label the requests must carry')
    .requiredOption('--node <name>', 'this node\'s name in corosync.conf / Pacemaker')
    .requiredOption('--listen <host:port>', 'TCP address to listen on')
    .requiredOption('--agent-key <base64>', 'Ed25519 public key of the site agent (repeatable)', collect, [])
    .option('--corosync-conf <path>', 'corosync.conf to write', '/etc/corosync/corosync.conf')
    .option('--start-command <argv>', 'start-cluster-stack command, words separated by spaces, no shell (repeatable; default systemctl stop pacemaker_remote, start corosync, start pacemaker)', collect, [])
    .option('--window <ms>', 'accepted clock difference for request timestamps', wholeMs, 30_000)
    .action(async (o: HelperCliOptions) => {
      let server: NodeHelperServer;
      try {
        const { host, port } = parseListen(o.listen);
        const startCommands: readonly StackCommand[] =
          o.startCommand.length === 0
            ? defaultStartCommands
            : o.startCommand.map((c) => {
                const words = c.split(/\s+/).filter((w) => w !== '');
                if (words.length === 0) throw new UsageError('--start-command is empty');
                return { binary: words[0]!, args: words.slice(1) };
              });
        server = new NodeHelperServer({
          site: o.site,
          node: o.node,
          host,
          port,
          agentKeys: o.agentKey.map((k) => publicKeyToRaw(publicKeyFromBase64(k))),
          corosyncConfPath: o.corosyncConf,
          startCommands,
          timestampWindowMs: o.window,
          logger: {
            info: (f, m) => process.stderr.write(`${JSON.stringify({ level: 'info', msg: m, ...f })}\n`),
            warn: (f, m) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg: m, ...f })}\n`),
          },
        });
        await server.start();
      } catch (err) {
        process.stderr.write(`tollbooth quorum helper: ${(err as Error).message}\n`);
        process.exitCode = err instanceof UsageError ? exitUsage : exitRefused;
        return;
      }
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await server.stop();
      process.exitCode = exitOk;
    });
}
