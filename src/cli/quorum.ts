// `tollbooth quorum …`: the quorum guardian from the command line (DESIGN.md §5).
//
//   tollbooth quorum status   observe this node's cluster (corosync-quorumtool,
//                             corosync-cmapctl, crm_mon, crm_node), run the
//                             guardian policy, print voters, remote nodes,
//                             votes and the decision (plan, or why not)
//   tollbooth quorum plan     the same, plus the steps a promotion would run
//                             now and the corosync.conf nodelist change —
//                             without doing anything
//   tollbooth quorum helper   run the node helper (src/adapters/corosync/node-helper.ts)
//
// The guardian's settings come from the same site-local file the site agent
// reads (`-c/--guardian FILE`, src/guardian/guardian-settings.ts); options
// given on the command line override single settings (or stand in for the
// file). `status` first asks the running site agent over its admin socket
// (op `quorum`): its answer has the real loss times, the guardian's last
// decision and the last promotion's outcome. When no agent answers (or it
// runs no guardian), and always for `plan`, the report is a one-shot
// observation on this node, which must be a core member (remote nodes have
// no corosync): it cannot know since when a voter has been lost, so a lost
// voter counts as lost "now" unless --lost-for says otherwise. Exit codes as
// the admin commands (src/cli/admin-client.ts): 0 done, 1 refused/failed,
// 2 usage, 7 cluster not running here. The commands' options and help are
// defined in quorum-commands.ts, which imports this module only when one runs.

import type { Command } from 'commander';
import { AdminSocketError } from '../adapters/admin-socket.js';
import { corosyncConfBytesMax, CorosyncConfError, promotionNodelist } from '../adapters/corosync/corosync-conf.js';
import { CorosyncObserveError, MembershipTracker, observeCluster } from '../adapters/corosync/corosync-observe.js';
import type { GuardianInput, PromotionNodelist } from '../ports/guardian.js';
import { systemProcessRunner, type ProcessRunner } from '../adapters/process-runner.js';
import { defaultStartCommands, NodeHelperServer, type StackCommand } from '../adapters/corosync/node-helper.js';
import { decideQuorumGuardian, type GuardianConfig, type GuardianDecision } from '../core/guardian/quorum-guardian.js';
import { publicKeyFromBase64, publicKeyToRaw } from '../wire/signer.js';
import { loadQuorumGuardianFile, type QuorumGuardianSettings } from '../guardian/guardian-settings.js';
import { formatConfigProblem, hasConfigErrors } from '../config/problems.js';
import { readRegularTextFile } from '../config/regular-file.js';
import type { GuardianStatus, PromotionRecord } from '../guardian/guardian-loop.js';
import { call, exitNotRunning, exitOk, exitRefused, exitUsage } from './admin-client.js';
import { UsageError } from './usage-error.js';

/** `quorum status` asks the local agent first, for at most this long, ms; then it observes the cluster itself. */
const agentAskTimeoutMsMax = 5_000;

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
  /** Whether the guardian acts on a plan (shown only). */
  readonly auto?: boolean;
}

export interface QuorumReport {
  readonly input: GuardianInput;
  readonly config: GuardianConfig;
  readonly decision: GuardianDecision;
  /** For `plan` with a plan: the steps and the nodelist change, or why it cannot be shown. */
  readonly promotion: PromotionPreview | null;
  /** Whether the guardian acts on a plan (from the settings file); null when not known. */
  readonly auto: boolean | null;
}

export interface PromotionPreview {
  readonly driver: string;
  readonly steps: readonly { readonly step: string; readonly node: string; readonly what: string }[];
  readonly nodelist: PromotionNodelist | null;
  readonly nodelistProblem: string | null;
}

export interface QuorumReportDeps {
  readonly runner: ProcessRunner;
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
  return { input, config, decision, promotion, auto: o.auto ?? null };
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
  lines.push('', `guardian (target ${r.config.targetVoters} voters, grace ${r.config.graceMs} ms${r.auto === null ? '' : r.auto ? ', auto = yes' : ', auto = no: reports only'}): ${decision.kind}${decision.kind === 'plan' ? '' : ` (${decision.reason})`}: ${decision.message}`);
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
    auto: r.auto,
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

export interface ReportCliOptions {
  json?: boolean;
  guardian?: string;
  socket?: string;
  agent: boolean;
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

function pairsOf(values: readonly string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(v);
    if (m === null) throw new UsageError(`${what} ${JSON.stringify(v)}: expected NAME=VALUE`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** Reads the guardian file for the CLI; throws UsageError naming every error (file:line: reason). */
export function cliGuardianSettings(path: string): QuorumGuardianSettings {
  let loaded;
  try {
    loaded = loadQuorumGuardianFile(path);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (hasConfigErrors(loaded.problems)) throw new UsageError(`${path} has errors:\n${loaded.problems.filter((p) => p.severity === 'error').map(formatConfigProblem).join('\n')}`);
  return loaded.settings;
}

/**
 * The report's options: the guardian file's settings (when -c/--guardian is
 * given), each overridden by an option given on the command line; without a
 * file, the options and their defaults. `given(name)` says whether an option
 * came from the command line.
 */
export function reportOptions(o: ReportCliOptions, given: (option: string) => boolean, settings: QuorumGuardianSettings | null): QuorumReportOptions {
  const remoteAddrs = new Map<string, Map<number, string>>();
  for (const [name, list] of pairsOf(o.remoteAddr, '--remote-addr')) {
    remoteAddrs.set(name, new Map(list.split(',').map((a, i): [number, string] => [i, a])));
  }
  const cli: QuorumReportOptions = {
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
  if (settings === null) return cli;
  // The promotable list (names, zones, addresses) is replaced as a whole by any of its options.
  const promotableGiven = given('promotable') || given('zone') || given('remoteAddr');
  const targetVoters = given('targetVoters') ? o.targetVoters : (settings.targetVoters ?? undefined);
  return {
    ...(targetVoters === undefined ? {} : { targetVoters }),
    graceMs: given('grace') ? o.grace : settings.graceMs,
    promotable: promotableGiven ? cli.promotable : settings.promotable.map((p) => p.name),
    zones: promotableGiven ? cli.zones : new Map(settings.promotable.map((p) => [p.name, p.zone])),
    preferZones: given('preferZone') ? o.preferZone : settings.preferZones,
    requireFencing: given('requireFencing') ? o.requireFencing : settings.requireFencing,
    lostForMs: o.lostFor,
    remoteAddrs: promotableGiven ? remoteAddrs : new Map(settings.promotable.map((p) => [p.name, p.addrs])),
    corosyncConfPath: given('corosyncConf') ? o.corosyncConf : settings.corosyncConf,
    commandTimeoutMs: o.timeout,
    auto: settings.auto,
  };
}

const ago = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

function formatPromotion(p: PromotionRecord, now: number): string[] {
  const lines: string[] = [];
  const head = p.ok
    ? `${p.with} replaced ${p.replace} in ${ago(p.totalMs)}`
    : `${p.with} for ${p.replace} FAILED at ${p.failedStep ?? '?'} (${p.code ?? '?'}) after ${ago(p.totalMs)}: ${p.reason ?? ''}`;
  lines.push(`${head}; finished ${ago(Math.max(0, now - p.finishedAtUnixMs))} ago${p.driver === null ? '' : `, driven from ${p.driver}`}`);
  for (const st of p.steps) lines.push(`    ${st.ok ? 'ok  ' : 'FAIL'} ${st.step.padEnd(22)} ${st.node.padEnd(10)} ${String(Math.round(st.durationMs)).padStart(6)} ms  ${st.detail}`);
  if (p.final !== null) lines.push(`    corosync then: ${p.final.quorate ? 'quorate' : 'NOT quorate'}, expected votes ${p.final.expectedVotes}, total votes ${p.final.totalVotes}, members ${p.final.members.join(' ')}`);
  for (const w of p.warnings) lines.push(`    warning: ${w}`);
  return lines;
}

/** The running agent's guardian status, for people. */
export function formatGuardianStatus(st: GuardianStatus, answeredBy: string): string {
  const now = st.nowUnixMs;
  const lines: string[] = [];
  lines.push(`site agent ${answeredBy}: quorum guardian, auto = ${st.auto ? 'yes' : 'no (reports only)'}; settings ${st.settings.file}`);
  if (st.observeError !== null) lines.push(`cannot observe the cluster (${ago(now - st.observeError.atUnixMs)} ago): ${st.observeError.message}`);
  const o = st.observation;
  if (o === null) lines.push('no observation yet');
  else {
    lines.push(`observed ${st.observedAtUnixMs === null ? '?' : ago(Math.max(0, now - st.observedAtUnixMs))} ago (round ${st.rounds})`);
    lines.push(`corosync: ${o.quorate ? 'quorate' : 'NOT quorate'}; expected votes ${o.expectedVotes}, total votes ${o.totalVotes}, quorum ${o.votesNeeded}; flags ${o.flags.join(' ') || '-'}`);
    lines.push(`pacemaker: DC ${o.dc ?? 'none'}${o.dc === null ? '' : o.dcWithQuorum ? ', with quorum' : ', WITHOUT quorum'}; stonith-enabled ${o.stonithEnabled}`);
    lines.push('', 'voters (running corosync nodelist):');
    const rows = [['NAME', 'NODEID', 'STATE', 'LOST FOR', 'FENCED', 'ADDRESSES']];
    for (const v of o.voters) rows.push([v.name, String(v.nodeid), v.state, v.lostForMs === null ? '-' : ago(v.lostForMs), v.state === 'up' ? '-' : v.fenced ? 'yes' : 'no', v.addrs.join(' ')]);
    lines.push(table(rows));
    lines.push('', 'remote nodes:');
    if (o.remotes.length === 0) lines.push('  (none)');
    else {
      const r = [['NAME', 'ONLINE', 'HEALTHY', 'ZONE', 'PROMOTABLE', 'NOTE']];
      for (const x of o.remotes) r.push([x.name, x.online ? 'yes' : 'no', x.healthy ? 'yes' : 'no', x.zone || '-', x.promotable ? 'yes' : 'no', x.unhealthyBecause.join(', ')]);
      lines.push(table(r));
    }
    if (o.changeSignals.length > 0) lines.push('', `change in progress: ${o.changeSignals.join('; ')}`);
    if (o.stalePeers.length > 0) lines.push('', `pacemaker still lists nodes outside the nodelist: ${o.stalePeers.join(', ')}`);
    for (const p of o.settingsProblems) lines.push('', `settings: ${p}`);
  }
  const d = st.decision;
  const target = st.settings.targetVoters !== null ? `${st.settings.targetVoters} voters` : o === null ? 'the nodelist size' : `${o.voters.length} voters (the nodelist size)`;
  if (d !== null) {
    lines.push('', `guardian (target ${target}, grace ${st.settings.graceMs} ms): ${d.kind}${d.reason === null ? '' : ` (${d.reason})`}: ${d.message}; for ${ago(Math.max(0, now - d.sinceUnixMs))}`);
    if (d.held !== null) lines.push(`  not carried out: ${d.held}`);
  }
  if (st.promotion !== null) lines.push('', `promotion running: replace ${st.promotion.replace} with ${st.promotion.with}, driven from ${st.promotion.driver}, for ${ago(Math.max(0, now - st.promotion.startedAtUnixMs))}`);
  if (st.retryAfterUnixMs !== null) lines.push('', `no new promotion before ${ago(st.retryAfterUnixMs - now)} from now (retry-after, the last one failed)`);
  if (st.lastPromotion !== null) lines.push('', `last promotion: ${formatPromotion(st.lastPromotion, now).join('\n')}`);
  if (st.promotions.length > 1) lines.push(`(${st.promotions.length} promotions remembered; --json shows them all)`);
  return lines.join('\n');
}

/** The running agent's guardian status, or null when no agent answers or it runs no guardian (then why). */
export async function askAgentGuardian(socket: string, timeoutMs: number): Promise<{ status: GuardianStatus; answeredBy: string } | { why: string }> {
  try {
    const res = await call({ socket, json: true, timeoutMs }, { op: 'quorum' });
    if (!res.ok || res.data === null || typeof res.data !== 'object') return { why: `the site agent at ${socket} answered: ${res.message}` };
    return { status: res.data as GuardianStatus, answeredBy: res.answeredBy };
  } catch (err) {
    if (err instanceof AdminSocketError) return { why: `no site agent answered at ${socket}: ${err.message}` };
    throw err;
  }
}

/** `tollbooth quorum status|plan` (the definitions: quorum-commands.ts). */
export async function runQuorumReport(name: 'status' | 'plan', o: ReportCliOptions, self: Command): Promise<void> {
    let report: QuorumReport;
    let note: string | null = null;
    try {
      const settings = o.guardian === undefined ? null : cliGuardianSettings(o.guardian);
      if (name === 'status' && o.agent !== false) {
        const socket = o.socket ?? process.env.TOLLBOOTH_SOCKET ?? '/run/tollbooth/booth.sock';
        const agent = await askAgentGuardian(socket, Math.min(o.timeout, agentAskTimeoutMsMax));
        if ('status' in agent) {
          process.stdout.write(o.json === true ? `${JSON.stringify({ source: 'agent', answeredBy: agent.answeredBy, guardian: agent.status })}\n` : `${formatGuardianStatus(agent.status, agent.answeredBy)}\n`);
          process.exitCode = exitOk;
          return;
        }
        note = `${agent.why}; one-shot observation from this node (loss times unknown: --lost-for ${o.lostFor} ms)`;
      }
      const given = (option: string): boolean => self.getOptionValueSource(option) === 'cli';
      report = await quorumReport(reportOptions(o, given, settings), { runner: systemProcessRunner, nowMs: () => performance.now(), readText: (p) => readRegularTextFile(p, corosyncConfBytesMax) }, name === 'plan');
    } catch (err) {
      process.stderr.write(`tollbooth quorum ${name}: ${(err as Error).message}\n`);
      process.exitCode = err instanceof UsageError ? exitUsage : err instanceof CorosyncObserveError && (err.code === 'NOT_RUNNING' || err.code === 'BINARY_MISSING') ? exitNotRunning : exitRefused;
      return;
    }
    if (o.json === true) process.stdout.write(`${JSON.stringify({ source: 'one-shot', ...(note === null ? {} : { note }), ...(quorumReportJson(report) as object) })}\n`);
    else process.stdout.write(`${note === null ? '' : `(${note})\n\n`}${formatQuorumReport(report, performance.now())}\n`);
    process.exitCode = exitOk;
}

export interface HelperCliOptions {
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

/** `tollbooth quorum helper` (the definition: quorum-commands.ts). */
export async function runQuorumHelper(o: HelperCliOptions): Promise<void> {
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
}
