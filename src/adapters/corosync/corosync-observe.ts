// The quorum guardian's eyes (DESIGN.md §5): runs the real corosync and
// Pacemaker tools on a core member, parses their output strictly, and builds
// the policy's input (GuardianObservation, src/core/guardian/quorum-guardian.ts).
//
// Sources (reference/pacemaker.md §6.4; outputs captured from the lab under
// test/adapters/fixtures/corosync/, Debian 12: corosync 3.1.7, Pacemaker 2.1.5):
//   corosync-quorumtool -s -p   votequorum's view: quorate, expected/total
//                               votes, the members of this partition (-p
//                               adds the Qdevice column; corosync has no
//                               fully machine-readable form). Exit 0 when
//                               quorate, 2 when not, 1 when corosync is not
//                               running ("Cannot initialize CMAP service").
//   corosync-cmapctl -b nodelist  the RUNNING nodelist: the voters votequorum
//                               counts, which may differ from corosync.conf
//                               on disk until `corosync-cfgtool -R`.
//   crm_mon -1 --output-as=xml --fence-history=2
//                               Pacemaker's view: DC and with_quorum, every
//                               node (online, unclean, type member|remote),
//                               the ocf:pacemaker:remote connection
//                               resources, stonith-enabled, and successful
//                               fence events (level 2 adds successes).
//   crm_node -l                 the controller's peer cache ("ID NAME
//                               member|lost"); after a promotion the lost
//                               voter must be gone from it.
//
// Strict means: every line or element we rely on must have the shape we
// captured, or the observation fails with CorosyncObserveError (BAD_OUTPUT)
// naming the command and the reason; lines we do not use may carry extra
// keys (a newer corosync adds some) but never change what we read. The
// guardian never acts on an observation it could not fully read.
//
// Loss times: corosync and Pacemaker do not say since when a node is gone,
// so MembershipTracker remembers when it first saw each voter lost (on the
// caller's monotonic clock). After an agent restart the grace period starts
// again — the safe direction.

import type { GuardianObservation, QuorumView } from '../../core/guardian/quorum-guardian.js';
import type {
  ClusterSnapshot,
  CmapNode,
  CmapNodelist,
  CoreMemberDetail,
  CrmMonNode,
  CrmMonRemoteResource,
  CrmMonStatus,
  CrmNodeEntry,
  FenceEvent,
  GuardianInput,
  GuardianInputSettings,
  QuorumtoolMember,
  QuorumtoolStatus,
  RemoteNodeDetail,
} from '../../ports/guardian.js';
import { readExit, type ToolName } from '../exit-codes.js';
import { firstChild, parseXmlDocument, XmlSyntaxError, type XmlElement } from '../xml-cursor.js';
import { commandLine, describeFailedRun, runFailureCode, stderrExcerpt, systemProcessRunner, type ProcessRunner, type RunFailureCode } from '../process-runner.js';
import { TollboothError } from '../../errors.js';

// ───────────── errors ─────────────

export type CorosyncObserveErrorCode =
  /** A tool printed something we do not understand. */
  | 'BAD_OUTPUT'
  /** corosync or Pacemaker is not running here (or this is a remote node). */
  | 'NOT_RUNNING'
  /** The cluster uses something the guardian does not handle (a quorum provider other than votequorum, weighted votes). */
  | 'UNSUPPORTED'
  /** A tool failed otherwise. */
  | 'FAILED'
  /** The tool did not end with an exit code (process-runner.ts). */
  | RunFailureCode;

export class CorosyncObserveError extends TollboothError<CorosyncObserveErrorCode> {
  constructor(
    code: CorosyncObserveErrorCode,
    /** The command (or parser) concerned, e.g. `corosync-quorumtool -s -p`. */
    readonly source: string,
    message: string,
  ) {
    super(code, `${code}: ${source}: ${message}`, { details: { source } });
  }
}

function bad(source: string, message: string): never {
  throw new CorosyncObserveError('BAD_OUTPUT', source, message);
}

const uint = /^(0|[1-9][0-9]{0,9})$/;
function parseUint(source: string, what: string, text: string): number {
  if (!uint.test(text)) bad(source, `${what} is not a whole number: ${JSON.stringify(text)}`);
  return Number(text);
}

// ───────────── corosync-quorumtool ─────────────



const quorumtoolSource = 'corosync-quorumtool -s -p';
const quorumInfoKeys = new Set(['Date', 'Quorum provider', 'Nodes', 'Node ID', 'Ring ID', 'Quorate']);
const votequorumKeys = new Set(['Expected votes', 'Highest expected', 'Total votes', 'Quorum', 'Flags']);

/** Splits the output into its titled blocks ("Quorum information" / dashes / lines). */
function quorumtoolBlocks(stdout: string, source: string): Map<string, string[]> {
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const blocks = new Map<string, string[]>();
  let i = 0;
  while (i < lines.length) {
    if (lines[i] === '') {
      i++;
      continue;
    }
    const title = lines[i]!;
    const rule = lines[i + 1];
    if (rule === undefined || !/^-+$/.test(rule) || rule.length !== title.length) bad(source, `line ${i + 1}: expected a block title underlined with dashes, got ${JSON.stringify(title)}`);
    if (blocks.has(title)) bad(source, `block ${JSON.stringify(title)} twice`);
    const body: string[] = [];
    i += 2;
    while (i < lines.length && lines[i] !== '') body.push(lines[i++]!);
    blocks.set(title, body);
  }
  return blocks;
}

function keyValues(body: readonly string[], known: ReadonlySet<string>, block: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of body) {
    const m = /^([A-Za-z][A-Za-z ]*?):[ ]*(.*?)[ ]*$/.exec(line);
    if (m === null) bad(source, `${block}: expected "Key: value", got ${JSON.stringify(line)}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (out.has(key)) bad(source, `${block}: ${key} twice`);
    // Keys a newer corosync may add are kept out of what we read, not rejected.
    if (known.has(key)) out.set(key, value);
  }
  for (const k of known) if (!out.has(k) && k !== 'Date') bad(source, `${block}: no ${k} line`);
  return out;
}

/** Parses the "Membership information" table of `-s` or `-l` (with or without `-p`). */
export function parseQuorumtoolMembers(body: readonly string[], source: string): { members: QuorumtoolMember[]; qdeviceVotes: number | null } {
  const header = body[0];
  if (header === undefined) bad(source, 'membership table without a header');
  const withQdevice = /^\s*Nodeid\s+Votes\s+Qdevice\s+Name$/.test(header);
  if (!withQdevice && !/^\s*Nodeid\s+Votes\s+Name$/.test(header)) bad(source, `unexpected membership header ${JSON.stringify(header)}`);
  const row = withQdevice ? /^\s*([0-9]+|0x[0-9a-f]+)\s+([0-9]+)\s+(\S+)\s+(\S+)( \(local\))?$/ : /^\s*([0-9]+|0x[0-9a-f]+)\s+([0-9]+)\s+()(\S+)( \(local\))?$/;
  const members: QuorumtoolMember[] = [];
  let qdeviceVotes: number | null = null;
  const seen = new Set<number>();
  for (const line of body.slice(1)) {
    // A quorum device's row: "0  1  Qdevice" (no Qdevice column value).
    const qd = /^\s*0\s+([0-9]+)\s+Qdevice$/.exec(line);
    if (qd !== null) {
      qdeviceVotes = parseUint(source, 'Qdevice votes', qd[1]!);
      continue;
    }
    const m = row.exec(line);
    if (m === null) bad(source, `unexpected membership row ${JSON.stringify(line)}`);
    const idText = m[1]!;
    const nodeid = idText.startsWith('0x') ? parseInt(idText, 16) : parseUint(source, 'Nodeid', idText);
    if (nodeid === 0 || seen.has(nodeid)) bad(source, `nodeid ${nodeid} is zero or repeated`);
    seen.add(nodeid);
    members.push({ nodeid, votes: parseUint(source, 'Votes', m[2]!), qdevice: withQdevice ? m[3]! : null, name: m[4]!, local: m[5] !== undefined });
  }
  return { members, qdeviceVotes };
}

/** Parses `corosync-quorumtool -l` or `-l -p` (the membership table alone). */
export function parseQuorumtoolList(stdout: string, source = 'corosync-quorumtool -l -p'): QuorumtoolMember[] {
  const blocks = quorumtoolBlocks(stdout, source);
  const body = blocks.get('Membership information');
  if (body === undefined || blocks.size !== 1) bad(source, 'expected exactly a "Membership information" block');
  return parseQuorumtoolMembers(body, source).members;
}

/** Parses `corosync-quorumtool -s` or `-s -p` (exit code 0 or 2: both print the status). */
export function parseQuorumtoolStatus(stdout: string, source = quorumtoolSource): QuorumtoolStatus {
  const blocks = quorumtoolBlocks(stdout, source);
  const info = blocks.get('Quorum information');
  if (info === undefined) bad(source, 'no "Quorum information" block');
  const q = keyValues(info, quorumInfoKeys, 'Quorum information', source);
  const provider = q.get('Quorum provider')!;
  if (provider !== 'corosync_votequorum') {
    throw new CorosyncObserveError('UNSUPPORTED', source, `quorum provider ${provider}: the guardian needs corosync_votequorum`);
  }
  const quorateText = q.get('Quorate')!;
  if (quorateText !== 'Yes' && quorateText !== 'No') bad(source, `Quorate is ${JSON.stringify(quorateText)}`);
  const vqBody = blocks.get('Votequorum information');
  if (vqBody === undefined) bad(source, 'no "Votequorum information" block');
  const vq = keyValues(vqBody, votequorumKeys, 'Votequorum information', source);
  const quorumMatch = /^([0-9]+)( Activity blocked)?$/.exec(vq.get('Quorum')!);
  if (quorumMatch === null) bad(source, `Quorum is ${JSON.stringify(vq.get('Quorum'))}`);
  const flagsText = vq.get('Flags')!;
  const flags = flagsText === '' ? [] : flagsText.split(/ +/);
  for (const f of flags) if (!/^[A-Za-z0-9]+$/.test(f)) bad(source, `flag ${JSON.stringify(f)}`);
  const membership = blocks.get('Membership information');
  if (membership === undefined) bad(source, 'no "Membership information" block');
  const { members, qdeviceVotes } = parseQuorumtoolMembers(membership, source);
  for (const title of blocks.keys()) {
    if (title !== 'Quorum information' && title !== 'Votequorum information' && title !== 'Membership information') bad(source, `unexpected block ${JSON.stringify(title)}`);
  }
  const status: QuorumtoolStatus = {
    provider,
    nodeCount: parseUint(source, 'Nodes', q.get('Nodes')!),
    localNodeId: parseUint(source, 'Node ID', q.get('Node ID')!),
    ringId: q.get('Ring ID')!,
    quorate: quorateText === 'Yes',
    expectedVotes: parseUint(source, 'Expected votes', vq.get('Expected votes')!),
    highestExpected: parseUint(source, 'Highest expected', vq.get('Highest expected')!),
    totalVotes: parseUint(source, 'Total votes', vq.get('Total votes')!),
    quorum: parseUint(source, 'Quorum', quorumMatch[1]!),
    activityBlocked: quorumMatch[2] !== undefined,
    flags,
    members,
    qdeviceVotes,
  };
  // Cross-checks between the blocks: they are printed from one snapshot.
  if (status.nodeCount !== members.length) bad(source, `Nodes is ${status.nodeCount} but the table lists ${members.length}`);
  if (status.quorate !== flags.includes('Quorate')) bad(source, `Quorate: ${quorateText} disagrees with Flags: ${flagsText}`);
  const local = members.filter((m) => m.local);
  if (local.length !== 1 || local[0]!.nodeid !== status.localNodeId) bad(source, `the (local) row does not match Node ID ${status.localNodeId}`);
  const sum = members.reduce((s, m) => s + m.votes, 0) + (qdeviceVotes ?? 0);
  if (sum !== status.totalVotes) bad(source, `Total votes ${status.totalVotes} but the rows add up to ${sum}`);
  return status;
}

// ───────────── corosync-cmapctl -b nodelist ─────────────



/** Parses `corosync-cmapctl -b nodelist` (lines `nodelist.node.N.key (type) = value`). */
export function parseCmapNodelist(stdout: string, source = 'corosync-cmapctl -b nodelist'): CmapNodelist {
  let localIndex: number | null = null;
  const raw = new Map<number, Map<string, string>>();
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const local = /^nodelist\.local_node_pos \(u32\) = ([0-9]+)$/.exec(line);
    if (local !== null) {
      localIndex = parseUint(source, 'local_node_pos', local[1]!);
      continue;
    }
    const m = /^nodelist\.node\.([0-9]+)\.([A-Za-z0-9_]+) \((str|u8|u16|u32|u64|i8|i16|i32|i64)\) = (.*)$/.exec(line);
    if (m === null) bad(source, `unexpected line ${JSON.stringify(line)}`);
    const index = parseUint(source, 'node index', m[1]!);
    const entry = raw.get(index) ?? new Map<string, string>();
    if (entry.has(m[2]!)) bad(source, `node ${index}: ${m[2]} twice`);
    entry.set(m[2]!, m[4]!);
    raw.set(index, entry);
  }
  const nodes: CmapNode[] = [];
  const indexes = [...raw.keys()].sort((a, b) => a - b);
  indexes.forEach((index, position) => {
    if (index !== position) bad(source, `node indexes are not 0..${indexes.length - 1}`);
    const e = raw.get(index)!;
    const idText = e.get('nodeid');
    const name = e.get('name');
    if (idText === undefined || name === undefined) bad(source, `node ${index} lacks nodeid or name`);
    const addrs = new Map<number, string>();
    for (const [k, v] of e) {
      const ring = /^ring([0-9])_addr$/.exec(k);
      if (ring !== null) addrs.set(Number(ring[1]), v);
    }
    const votesText = e.get('quorum_votes');
    nodes.push({ index, nodeid: parseUint(source, 'nodeid', idText), name: name, addrs, votes: votesText === undefined ? 1 : parseUint(source, 'quorum_votes', votesText) });
  });
  if (nodes.length === 0) bad(source, 'empty nodelist');
  if (localIndex !== null && localIndex >= nodes.length) bad(source, `local_node_pos ${localIndex} outside the nodelist`);
  return { localIndex, nodes };
}

// ───────────── crm_node -l ─────────────


/** Parses `crm_node -l`: `ID NAME member|lost` per line. */
export function parseCrmNodeList(stdout: string, source = 'crm_node -l'): CrmNodeEntry[] {
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: CrmNodeEntry[] = [];
  for (const line of lines) {
    const m = /^([0-9]+) (\S+) (member|lost)$/.exec(line);
    if (m === null) bad(source, `unexpected line ${JSON.stringify(line)}`);
    out.push({ id: parseUint(source, 'node id', m[1]!), name: m[2]!, state: m[3] as 'member' | 'lost' });
  }
  return out;
}

// ───────────── Pacemaker's XML output, through the one reader ─────────────

/** Bounds on the XML read from one tool run (crm_mon of a big cluster is well below them). */
export const toolXmlLimits = { charsMax: 16 * 1024 * 1024, depthMax: 32, elementCountMax: 200_000 } as const;

/**
 * Reads a tool's XML with the project's strict reader (xml-cursor.ts: no
 * DOCTYPE, no unknown entity, bounded depth, size and element count);
 * anything it refuses is BAD_OUTPUT naming `source` and what was wrong.
 */
export function parseXml(text: string, source: string): XmlElement {
  try {
    return parseXmlDocument(text, toolXmlLimits);
  } catch (err) {
    if (err instanceof XmlSyntaxError) bad(source, err.message);
    throw err;
  }
}

// ───────────── crm_mon -1 --output-as=xml ─────────────





const crmMonSource = 'crm_mon -1 --output-as=xml';

function boolAttr(el: XmlElement, key: string, source: string, missing?: boolean): boolean {
  const v = el.attrs.get(key);
  if (v === undefined) {
    if (missing !== undefined) return missing;
    bad(source, `<${el.name}> has no ${key}`);
  }
  if (v === 'true') return true;
  if (v === 'false') return false;
  return bad(source, `<${el.name} ${key}=${JSON.stringify(v)}> is not true/false`);
}

function strAttr(el: XmlElement, key: string, source: string): string {
  const v = el.attrs.get(key);
  if (v === undefined || v === '') bad(source, `<${el.name}> has no ${key}`);
  return v;
}

/**
 * Parses crm_mon's XML. A result whose status is not OK, that carries
 * <errors> (crm_mon on a remote node whose proxy is not up prints `code="0"`
 * with "Could not connect to the CIB"), or that lacks summary or nodes, is
 * refused: NOT_RUNNING when it says it could not connect, BAD_OUTPUT else.
 */
export function parseCrmMonXml(stdout: string, source = crmMonSource): CrmMonStatus {
  const root = parseXml(stdout, source);
  if (root.name !== 'pacemaker-result') bad(source, `root element <${root.name}>`);
  const status = firstChild(root, 'status');
  if (status === null) bad(source, 'no <status>');
  const errors = firstChild(status, 'errors')?.children.map((e) => e.text.trim()) ?? [];
  if (status.attrs.get('code') !== '0' || errors.length > 0) {
    const what = `status ${status.attrs.get('code') ?? '?'} ${status.attrs.get('message') ?? ''}${errors.length > 0 ? `: ${errors.join('; ')}` : ''}`;
    if (errors.some((e) => /Could not connect/.test(e))) throw new CorosyncObserveError('NOT_RUNNING', source, what);
    bad(source, what);
  }
  const summary = firstChild(root, 'summary');
  const nodesEl = firstChild(root, 'nodes');
  if (summary === null || nodesEl === null) bad(source, 'no <summary> or <nodes>');
  const dcEl = firstChild(summary, 'current_dc');
  if (dcEl === null) bad(source, 'no <current_dc>');
  const dcPresent = boolAttr(dcEl, 'present', source);
  const options = firstChild(summary, 'cluster_options');
  if (options === null) bad(source, 'no <cluster_options>');

  const nodes: CrmMonNode[] = [];
  const names = new Set<string>();
  for (const n of nodesEl.children) {
    if (n.name !== 'node') bad(source, `<${n.name}> inside <nodes>`);
    const type = strAttr(n, 'type', source);
    if (type !== 'member' && type !== 'remote' && type !== 'ping') bad(source, `node type ${JSON.stringify(type)}`);
    const name = strAttr(n, 'name', source);
    if (names.has(name)) bad(source, `node ${name} twice`);
    names.add(name);
    nodes.push({
      name,
      id: strAttr(n, 'id', source),
      type: type,
      online: boolAttr(n, 'online', source),
      standby: boolAttr(n, 'standby', source),
      maintenance: boolAttr(n, 'maintenance', source),
      pending: boolAttr(n, 'pending', source),
      unclean: boolAttr(n, 'unclean', source),
      shutdown: boolAttr(n, 'shutdown', source),
      health: n.attrs.get('health') ?? null,
      guestOf: n.attrs.get('id_as_resource') ?? null,
    });
  }

  // Remote connection resources may sit at the top level or in a group; walk all.
  const remoteResources: CrmMonRemoteResource[] = [];
  const resourceIds: string[] = [];
  const walk = (el: XmlElement): void => {
    for (const c of el.children) {
      if (c.name === 'resource' || c.name === 'group' || c.name === 'clone' || c.name === 'bundle') resourceIds.push(strAttr(c, 'id', source));
      if (c.name === 'resource' && c.attrs.get('resource_agent') === 'ocf:pacemaker:remote') {
        remoteResources.push({
          id: strAttr(c, 'id', source),
          role: strAttr(c, 'role', source),
          active: boolAttr(c, 'active', source),
          failed: boolAttr(c, 'failed', source),
          managed: boolAttr(c, 'managed', source),
          blocked: boolAttr(c, 'blocked', source),
          orphaned: boolAttr(c, 'orphaned', source),
          runningOn: c.children.filter((x) => x.name === 'node').map((x) => strAttr(x, 'name', source)),
        });
      } else if (c.name === 'group' || c.name === 'clone' || c.name === 'bundle') {
        walk(c);
      }
    }
  };
  const resources = firstChild(root, 'resources');
  if (resources !== null) walk(resources);

  const fenceEvents: FenceEvent[] = [];
  for (const e of firstChild(root, 'fence_history')?.children ?? []) {
    if (e.name !== 'fence_event') bad(source, `<${e.name}> inside <fence_history>`);
    const st = strAttr(e, 'status', source);
    if (st !== 'success' && st !== 'failed' && st !== 'pending') bad(source, `fence_event status ${JSON.stringify(st)}`);
    fenceEvents.push({ target: strAttr(e, 'target', source), action: strAttr(e, 'action', source), status: st, completed: e.attrs.get('completed') ?? null });
  }

  return {
    dc: { present: dcPresent, name: dcPresent ? strAttr(dcEl, 'name', source) : null, withQuorum: dcPresent ? boolAttr(dcEl, 'with_quorum', source) : false },
    pacemakerdState: firstChild(root, 'pacemakerd')?.attrs.get('state') ?? null,
    stonithEnabled: boolAttr(options, 'stonith-enabled', source),
    noQuorumPolicy: options.attrs.get('no-quorum-policy') ?? null,
    nodes,
    remoteResources,
    resourceIds,
    fenceEvents,
  };
}

// ───────────── one observation ─────────────


export type ObserveBinary = 'corosync-quorumtool' | 'corosync-cmapctl' | 'crm_mon' | 'crm_node';

export interface ObserveOptions {
  /** Runs the tools. Default: the real one (tests inject a fake that replays recorded outputs). */
  readonly runner?: ProcessRunner;
  /** Paths of the tools; default: looked up on PATH. */
  readonly binaries?: Partial<Record<ObserveBinary, string>>;
  /** Per-command deadline. Default observeCommandTimeoutMsDefault. */
  readonly commandTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Deadline of one observing command, ms (each takes 10–25 ms, pacemaker.md §2.3). */
export const observeCommandTimeoutMsDefault = 10_000;
/** Largest output read from one observing command, bytes (crm_mon of a big cluster). */
export const observeOutputBytesMax = 8 * 1024 * 1024;

async function runTool(o: ObserveOptions, tool: ObserveBinary & ToolName, args: readonly string[]): Promise<string> {
  const source = [tool, ...args].join(' ');
  const r = await (o.runner ?? systemProcessRunner).run({
    tool,
    file: o.binaries?.[tool] ?? tool,
    argv: args,
    timeoutMs: o.commandTimeoutMs ?? observeCommandTimeoutMsDefault,
    outputBytesMax: observeOutputBytesMax,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  if (r.kind !== 'exited') throw new CorosyncObserveError(runFailureCode(r), source, describeFailedRun(r));
  // quorumtool's "not quorate" (exit 2) still prints the full status.
  const { meaning, name } = readExit(tool, r.exitCode, r.stderr);
  if (meaning === 'ok' || meaning === 'not-quorate') return r.stdout;
  const stderr = stderrExcerpt(r);
  // Measured: quorumtool/cmapctl without corosync print "Cannot initialize CMAP service" (rc 1);
  // crm_node on a remote node "Could not connect to controller: Remote I/O error" (rc 1).
  const what = `${commandLine(r)} exited ${r.exitCode} (${name})${stderr === '' ? '' : `: ${stderr}`}`;
  if (meaning === 'not-running' || meaning === 'not-connected') throw new CorosyncObserveError('NOT_RUNNING', source, what);
  throw new CorosyncObserveError('FAILED', source, what);
}

/** Runs the four tools (sequentially: a 2-core host, and 10–25 ms each) and parses their output. */
export async function observeCluster(o: ObserveOptions): Promise<ClusterSnapshot> {
  // Exit 2 means "not quorate" and still prints the full status.
  const quorum = parseQuorumtoolStatus(await runTool(o, 'corosync-quorumtool', ['-s', '-p']));
  const nodelist = parseCmapNodelist(await runTool(o, 'corosync-cmapctl', ['-b', 'nodelist']));
  const mon = parseCrmMonXml(await runTool(o, 'crm_mon', ['-1', '--output-as=xml', '--fence-history=2']));
  const peers = parseCrmNodeList(await runTool(o, 'crm_node', ['-l']));
  return { quorum, nodelist, mon, peers };
}

// ───────────── from a snapshot to the guardian's input ─────────────





/**
 * Remembers when each voter was first seen lost, so that the policy can
 * apply its grace period. One per agent process; times are the caller's
 * monotonic milliseconds. Bounded by the nodelist (at most
 * corosyncNodeCountMax names, forgotten when they leave it).
 */
export class MembershipTracker {
  readonly #lostSince = new Map<string, number>();

  /** Builds the guardian's input from one snapshot taken at `nowMs`. */
  input(snapshot: ClusterSnapshot, nowMs: number, settings: GuardianInputSettings = {}): GuardianInput {
    const { quorum, nodelist, mon, peers } = snapshot;
    const source = 'observation';
    if (nodelist.nodes.some((n) => n.votes !== 1)) {
      throw new CorosyncObserveError('UNSUPPORTED', source, 'a nodelist entry has quorum_votes other than 1; the guardian counts one vote per voter');
    }
    const byId = new Map(nodelist.nodes.map((n) => [n.nodeid, n]));
    for (const m of quorum.members) {
      if (!byId.has(m.nodeid)) bad(source, `corosync member ${m.nodeid} (${m.name}) is not in the running nodelist`);
    }
    const memberIds = new Set(quorum.members.map((m) => m.nodeid));
    const monByName = new Map(mon.nodes.map((n) => [n.name, n]));

    const core: CoreMemberDetail[] = [];
    for (const n of nodelist.nodes) {
      const up = memberIds.has(n.nodeid);
      if (up) this.#lostSince.delete(n.name);
      else if (!this.#lostSince.has(n.name)) this.#lostSince.set(n.name, nowMs);
      const pcmk = monByName.get(n.name) ?? null;
      const lostSinceMs = up ? undefined : this.#lostSince.get(n.name);
      core.push({
        name: n.name,
        state: up ? 'up' : 'lost',
        ...(lostSinceMs === undefined ? {} : { lostSinceMs }),
        fenced: !up && isFenced(n.name, pcmk, mon),
        nodeid: n.nodeid,
        addrs: n.addrs,
        pacemaker: pcmk,
      });
    }
    const inNodelist = new Set(nodelist.nodes.map((n) => n.name));
    for (const name of [...this.#lostSince.keys()]) if (!inNodelist.has(name)) this.#lostSince.delete(name);

    const zoneOf = settings.zoneOf ?? (() => '');
    const remotes: RemoteNodeDetail[] = [];
    for (const n of mon.nodes) {
      if (n.type !== 'remote' || n.guestOf !== null || inNodelist.has(n.name)) continue;
      const resource = mon.remoteResources.find((r) => r.id === n.name) ?? null;
      const why: string[] = [];
      if (!n.online) why.push('offline');
      if (n.unclean) why.push('unclean');
      if (n.standby) why.push('standby');
      if (n.maintenance) why.push('maintenance');
      if (n.pending) why.push('pending');
      if (n.shutdown) why.push('shutting down');
      if (n.health === 'red') why.push('health red');
      if (resource === null) why.push('no ocf:pacemaker:remote resource of that name');
      else {
        if (!resource.active || resource.role !== 'Started') why.push(`connection ${resource.role}`);
        if (resource.failed) why.push('connection failed');
        if (!resource.managed) why.push('connection unmanaged');
        if (resource.blocked) why.push('connection blocked');
      }
      remotes.push({ name: n.name, online: n.online, healthy: why.length === 0, zone: zoneOf(n.name), resource, unhealthyBecause: why });
    }

    const signals: string[] = [];
    if (settings.changeInProgress === true) signals.push('a membership change of ours is running');
    if (!mon.dc.present) signals.push('no DC elected');
    if (mon.pacemakerdState !== null && mon.pacemakerdState !== 'running') signals.push(`pacemakerd is ${mon.pacemakerdState}`);
    for (const c of core) if (c.pacemaker?.pending === true) signals.push(`${c.name} is joining (pending)`);
    for (const r of mon.remoteResources) {
      if (r.orphaned) signals.push(`remote connection ${r.id} is orphaned (being removed)`);
      if (r.role === 'Starting' || r.role === 'Stopping' || r.role === 'Migrating') signals.push(`remote connection ${r.id} is ${r.role}`);
    }
    for (const c of core) {
      if (c.state === 'up' && c.pacemaker === null) signals.push(`${c.name} is a corosync member Pacemaker does not list yet`);
    }
    const stalePeers = peers.filter((p) => !inNodelist.has(p.name)).map((p) => p.name);

    // Both corosync and Pacemaker must say quorate: they can disagree for a
    // moment after a membership change, and then we do not act.
    const quorumView: QuorumView = {
      quorate: quorum.quorate && mon.dc.present && mon.dc.withQuorum,
      expectedVotes: quorum.expectedVotes,
      totalVotes: quorum.totalVotes,
    };
    const observation: GuardianObservation = {
      core: core.map(({ name, state, lostSinceMs, fenced }) => ({ name, state, ...(lostSinceMs === undefined ? {} : { lostSinceMs }), fenced })),
      remotes: remotes.map(({ name, online, healthy, zone }) => ({ name, online, healthy, zone })),
      quorum: quorumView,
      nowMs,
      changeInProgress: signals.length > 0,
    };
    return { observation, core, remotes, changeSignals: signals, stalePeers, snapshot };
  }

  /** When `name` was first seen lost, if it is lost. */
  lostSince(name: string): number | undefined {
    return this.#lostSince.get(name);
  }
}

/**
 * Whether Pacemaker confirms `name` fenced: fencing is enabled, the node is
 * offline and not unclean (after a loss Pacemaker marks it unclean until a
 * fence succeeds), and its most recent fence event succeeded. A node that
 * merely shut down cleanly is not "fenced". With stonith-enabled=false a node
 * is never fenced, so requireFencing must then be off.
 */
export function isFenced(name: string, node: CrmMonNode | null, mon: CrmMonStatus): boolean {
  if (!mon.stonithEnabled || node === null || node.online || node.unclean) return false;
  const events = mon.fenceEvents.filter((e) => e.target === name && (e.action === 'reboot' || e.action === 'off' || e.action === 'poweroff'));
  if (events.some((e) => e.status === 'pending')) return false;
  // The latest completed event decides (a failed attempt after a success means
  // the node was seen again and fencing failed). `completed` is printed in one
  // fixed "YYYY-MM-DD HH:MM:SS" form, so it sorts as text.
  const done = events.filter((e) => e.completed !== null).sort((a, b) => (a.completed! < b.completed! ? 1 : a.completed! > b.completed! ? -1 : 0));
  return done.length > 0 && done[0]!.status === 'success';
}
