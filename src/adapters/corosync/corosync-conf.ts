// corosync.conf, read strictly and rewritten losslessly, for the quorum
// guardian's executor (DESIGN.md §5; reference/pacemaker.md §6.1): the one
// change it makes is to drop a lost voter from `nodelist` and add a promoted
// pacemaker_remote node to it, on every live core member, before
// `corosync-cfgtool -R`.
//
// The grammar is corosync's own (corosync exec/coroparse.c, parse_section):
// one statement per line; blank and `#` lines are ignored; a line holding `{`
// opens a section named by what precedes it; otherwise a line holding `:` is
// `key: value` split at the first colon, both sides trimmed of spaces and
// tabs; a line holding `}` closes the section. Lines are read 512 bytes at a
// time, so a longer line would be cut in two by corosync. We accept a strict
// subset and refuse anything corosync would read differently from how it
// looks: text after `{` or around `}`, a `{` inside a value, a key with
// white space, a line longer than corosync reads in one go, control
// characters, an unclosed or extra brace, a key given twice in one section
// (corosync keeps the last silently), more than one totem/quorum/nodelist.
//
// Lossless: the document keeps every original line (comments, blank lines,
// indentation, CRLF endings) and serializeCorosyncConf(parse(text)) === text.
// A nodelist change rewrites only the lines of the node blocks it drops (all
// the lines from `node {` to its `}`, comments inside included) and appends
// new blocks, indented like their siblings, just before the nodelist's `}`.
// Comments outside the dropped blocks are kept, even one that was "about"
// a dropped node (we cannot know what a comment refers to).

import { createHash } from 'node:crypto';
import { printable } from '../../config/printable.js';
import { TollboothError } from '../../errors.js';
import type { PromotionNodelist } from '../../ports/guardian.js';

/** Largest corosync.conf we read (a real one is a few KiB). */
export const corosyncConfBytesMax = 1024 * 1024;
/** corosync reads a line with fgets(line, 512): 510 characters plus "\r\n" fit, a longer one is split. */
export const corosyncConfLineCharsMax = 510;
/** Deepest nesting (quorum { device { net { … } } } is 3). */
export const corosyncConfDepthMax = 8;
/** Most nodes in a nodelist we handle (corosync/knet's own limit is lower). */
export const corosyncNodeCountMax = 256;
/** knet node ids are 16-bit (knet_node_id_t); 0 is invalid. */
export const knetNodeIdMax = 65_535;
/** Link numbers are 0..7 (ring0_addr..ring7_addr; KNET_MAX_LINK is 8). */
export const corosyncLinkCountMax = 8;

export type CorosyncConfErrorCode =
  /** A line corosync would read otherwise than it looks, or cannot read. */
  | 'CONF_SYNTAX'
  /** Well-formed, but not a config we can work with (duplicate node ids, missing nodelist, ...). */
  | 'CONF_INVALID'
  /** A requested nodelist change cannot be made safely. */
  | 'CONF_CHANGE';

/** A problem in a corosync.conf, naming the file, the line (1-based; 0 = the file as a whole) and the reason. */
export class CorosyncConfError extends TollboothError<CorosyncConfErrorCode> {
  constructor(
    code: CorosyncConfErrorCode,
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    // The reason may quote the file (a value with C1 or bidi controls passes the line check): escaped for terminals.
    super(code, printable(`${file}${line > 0 ? `:${line}` : ''}: ${reason}`), { details: { file, line, reason: printable(reason) } });
  }
}

// ───────────── the document ─────────────

/** One statement or trivia line; `raw` is the line exactly as read (without its "\n"). */
export type ConfItem = ConfSection | ConfPair | ConfTrivia;

export interface ConfTrivia {
  readonly kind: 'trivia';
  /** A blank line or a comment. */
  readonly raw: string;
  readonly line: number;
}

export interface ConfPair {
  readonly kind: 'pair';
  readonly key: string;
  readonly value: string;
  readonly raw: string;
  readonly line: number;
}

export interface ConfSection {
  readonly kind: 'section';
  readonly name: string;
  readonly items: readonly ConfItem[];
  /** The `name {` line. */
  readonly raw: string;
  /** The `}` line. */
  readonly closeRaw: string;
  readonly line: number;
  readonly closeLine: number;
}

export interface CorosyncConfDocument {
  readonly file: string;
  readonly items: readonly ConfItem[];
  /** Whether the text ended with a line break (kept on output). */
  readonly finalNewline: boolean;
}

const namePattern = /^[A-Za-z0-9_.-]+$/;
const sectionLine = /^[ \t]*([^ \t{}:#][^{}:]*?)[ \t]*\{[ \t]*$/;
const closeLine = /^[ \t]*\}[ \t]*$/;

/** Reads a corosync.conf strictly; throws CorosyncConfError naming file, line and reason. */
export function parseCorosyncConf(text: string, file = 'corosync.conf'): CorosyncConfDocument {
  if (Buffer.byteLength(text) > corosyncConfBytesMax) {
    throw new CorosyncConfError('CONF_SYNTAX', file, 0, `larger than ${corosyncConfBytesMax} bytes`);
  }
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  if (text === '') lines.length = 0;

  interface Open {
    name: string;
    raw: string;
    line: number;
    items: ConfItem[];
    keys: Set<string>;
  }
  const root: Open = { name: '', raw: '', line: 0, items: [], keys: new Set() };
  const stack: Open[] = [root];
  const fail = (line: number, reason: string): never => {
    throw new CorosyncConfError('CONF_SYNTAX', file, line, reason);
  };

  lines.forEach((raw, i) => {
    const n = i + 1;
    const content = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (content.length > corosyncConfLineCharsMax) fail(n, `line longer than ${corosyncConfLineCharsMax} characters (corosync would split it)`);
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(content)) fail(n, 'control character in line');
    const top = stack[stack.length - 1]!;
    const trimmed = content.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
    if (trimmed === '' || trimmed.startsWith('#')) {
      top.items.push({ kind: 'trivia', raw, line: n });
      return;
    }
    if (content.includes('{')) {
      const m = sectionLine.exec(content);
      if (m === null) fail(n, 'a line with "{" must be "name {" and nothing else');
      const name = m![1]!;
      if (!namePattern.test(name)) fail(n, `section name ${JSON.stringify(name)} is not a plain name`);
      if (stack.length > corosyncConfDepthMax) fail(n, `sections nested deeper than ${corosyncConfDepthMax}`);
      stack.push({ name, raw, line: n, items: [], keys: new Set() });
      return;
    }
    const colon = content.indexOf(':');
    if (colon >= 0) {
      const key = content.slice(0, colon).replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
      const value = content.slice(colon + 1).replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
      if (!namePattern.test(key)) fail(n, `key ${JSON.stringify(key)} is not a plain name`);
      if (stack.length === 1) fail(n, `key ${key} outside any section`);
      if (top.keys.has(key)) fail(n, `key ${key} given twice in section ${top.name} (corosync would keep only the last)`);
      top.keys.add(key);
      top.items.push({ kind: 'pair', key, value, raw, line: n });
      return;
    }
    if (content.includes('}')) {
      if (!closeLine.test(content)) fail(n, 'a line with "}" must hold nothing else');
      if (stack.length === 1) fail(n, 'unexpected "}" (no open section)');
      const done = stack.pop()!;
      const parent = stack[stack.length - 1]!;
      parent.items.push({ kind: 'section', name: done.name, items: done.items, raw: done.raw, closeRaw: raw, line: done.line, closeLine: n });
      return;
    }
    fail(n, 'expected "name {", "key: value", "}", a comment or a blank line');
  });
  if (stack.length > 1) {
    const open = stack[stack.length - 1]!;
    fail(open.line, `section ${open.name} is never closed`);
  }
  for (const name of ['totem', 'quorum', 'nodelist']) {
    const found = root.items.filter((it) => it.kind === 'section' && it.name === name) as ConfSection[];
    if (found.length > 1) fail(found[1]!.line, `a second ${name} section (first at line ${found[0]!.line})`);
  }
  return { file, items: root.items, finalNewline };
}

/** The text of a document: every kept line as it was read, new lines as generated. */
export function serializeCorosyncConf(doc: CorosyncConfDocument): string {
  const out: string[] = [];
  const walk = (items: readonly ConfItem[]): void => {
    for (const it of items) {
      if (it.kind === 'section') {
        out.push(it.raw);
        walk(it.items);
        out.push(it.closeRaw);
      } else {
        out.push(it.raw);
      }
    }
  };
  walk(doc.items);
  if (out.length === 0) return '';
  return out.join('\n') + (doc.finalNewline ? '\n' : '');
}

/** sha256 (hex) of a config text, as the node helper's write-nodelist action carries it. */
export function corosyncConfSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

// ───────────── what the guardian needs from it ─────────────

export interface CorosyncNode {
  /** Position in the nodelist (cmap's nodelist.node.<index>). */
  readonly index: number;
  readonly nodeid: number;
  /** `name`; Pacemaker needs it (the lab and pcs always write it). */
  readonly name: string;
  /** ringN_addr by link number. */
  readonly addrs: ReadonlyMap<number, string>;
  /** `quorum_votes`, default 1. */
  readonly votes: number;
  readonly line: number;
}

export interface CorosyncQuorumOptions {
  readonly provider: string | null;
  /** An explicit `expected_votes`, which overrides the nodelist's sum. */
  readonly expectedVotes: number | null;
  readonly twoNode: boolean;
  readonly waitForAll: boolean;
  readonly lastManStanding: boolean;
  readonly autoTieBreaker: boolean;
  readonly allowDownscale: boolean;
  /** A `device` section (qdevice) is configured. */
  readonly device: boolean;
}

export interface CorosyncConfSummary {
  readonly clusterName: string | null;
  /** `totem.transport`, default knet (corosync 3). */
  readonly transport: string;
  /** `totem.config_version`, if set. */
  readonly configVersion: string | null;
  /** Link numbers used by the nodelist, ascending. */
  readonly links: readonly number[];
  readonly quorum: CorosyncQuorumOptions;
  readonly nodes: readonly CorosyncNode[];
  /** Sum of the nodes' votes: the expected votes unless quorum.expected_votes overrides it. */
  readonly nodelistVotes: number;
}

function sectionsNamed(items: readonly ConfItem[], name: string): ConfSection[] {
  return items.filter((it): it is ConfSection => it.kind === 'section' && it.name === name);
}

function pairOf(items: readonly ConfItem[], key: string): ConfPair | undefined {
  return items.find((it): it is ConfPair => it.kind === 'pair' && it.key === key);
}

const uintPattern = /^(0|[1-9][0-9]{0,9})$/;
/** An IPv4/IPv6 literal (with an optional zone) or a host name: what a ringN_addr may be. */
const addressPattern = /^[A-Za-z0-9:][A-Za-z0-9_.:%-]{0,252}$/;

function flag(doc: CorosyncConfDocument, items: readonly ConfItem[], key: string): boolean {
  const p = pairOf(items, key);
  if (p === undefined) return false;
  if (p.value !== '0' && p.value !== '1') throw new CorosyncConfError('CONF_INVALID', doc.file, p.line, `quorum.${key} must be 0 or 1, got ${JSON.stringify(p.value)}`);
  return p.value === '1';
}

/**
 * The parts of a config the guardian relies on, checked: a nodelist whose
 * nodes each have a unique positive nodeid (16-bit under knet), a unique
 * plain name, the same set of ringN_addr links, unique addresses and integer
 * votes. Throws CorosyncConfError (CONF_INVALID) naming the line otherwise.
 */
export function summarizeCorosyncConf(doc: CorosyncConfDocument): CorosyncConfSummary {
  const invalid = (line: number, reason: string): never => {
    throw new CorosyncConfError('CONF_INVALID', doc.file, line, reason);
  };
  const totem = sectionsNamed(doc.items, 'totem')[0];
  if (totem === undefined) invalid(0, 'no totem section');
  const transport = pairOf(totem!.items, 'transport')?.value ?? 'knet';
  const nodelist = sectionsNamed(doc.items, 'nodelist')[0];
  if (nodelist === undefined) invalid(0, 'no nodelist section (the guardian needs an explicit nodelist)');
  const quorumSection = sectionsNamed(doc.items, 'quorum')[0];
  const qItems = quorumSection?.items ?? [];
  const expected = pairOf(qItems, 'expected_votes');
  if (expected !== undefined && !uintPattern.test(expected.value)) invalid(expected.line, `quorum.expected_votes is not a whole number: ${JSON.stringify(expected.value)}`);
  const quorum: CorosyncQuorumOptions = {
    provider: pairOf(qItems, 'provider')?.value ?? null,
    expectedVotes: expected === undefined ? null : Number(expected.value),
    twoNode: flag(doc, qItems, 'two_node'),
    waitForAll: flag(doc, qItems, 'wait_for_all'),
    lastManStanding: flag(doc, qItems, 'last_man_standing'),
    autoTieBreaker: flag(doc, qItems, 'auto_tie_breaker'),
    allowDownscale: flag(doc, qItems, 'allow_downscale'),
    device: sectionsNamed(qItems, 'device').length > 0,
  };

  const nodes: CorosyncNode[] = [];
  const ids = new Map<number, number>();
  const names = new Map<string, number>();
  const addrs = new Map<string, number>();
  let linkSet: string | null = null;
  for (const it of nodelist!.items) {
    if (it.kind === 'trivia') continue;
    if (it.kind === 'pair') invalid(it.line, `key ${it.key} directly in nodelist (only node sections belong there)`);
    const sec = it as ConfSection;
    if (sec.name !== 'node') invalid(sec.line, `section ${sec.name} in nodelist (only node sections belong there)`);
    if (nodes.length >= corosyncNodeCountMax) invalid(sec.line, `more than ${corosyncNodeCountMax} nodes`);
    let nodeid: number | null = null;
    let name: string | null = null;
    let votes = 1;
    const a = new Map<number, string>();
    for (const p of sec.items) {
      if (p.kind === 'trivia') continue;
      if (p.kind === 'section') invalid(p.line, `section ${p.name} inside a node`);
      const pair = p as ConfPair;
      const ring = /^ring([0-9])_addr$/.exec(pair.key);
      if (pair.key === 'nodeid') {
        if (!uintPattern.test(pair.value) || Number(pair.value) === 0) invalid(pair.line, `nodeid must be a positive whole number, got ${JSON.stringify(pair.value)}`);
        nodeid = Number(pair.value);
        if (transport === 'knet' && nodeid > knetNodeIdMax) invalid(pair.line, `nodeid ${nodeid} above ${knetNodeIdMax}, the knet limit`);
      } else if (pair.key === 'name') {
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(pair.value)) invalid(pair.line, `node name ${JSON.stringify(pair.value)} is not a plain host name`);
        name = pair.value;
      } else if (pair.key === 'quorum_votes') {
        if (!uintPattern.test(pair.value)) invalid(pair.line, `quorum_votes must be a whole number, got ${JSON.stringify(pair.value)}`);
        votes = Number(pair.value);
      } else if (ring !== null) {
        const link = Number(ring[1]);
        if (link >= corosyncLinkCountMax) invalid(pair.line, `link ${link} above ${corosyncLinkCountMax - 1}`);
        if (pair.value === '') invalid(pair.line, `${pair.key} is empty`);
        const prev = addrs.get(pair.value);
        if (prev !== undefined) invalid(pair.line, `address ${pair.value} already used at line ${prev}`);
        addrs.set(pair.value, pair.line);
        a.set(link, pair.value);
      }
    }
    if (nodeid === null) invalid(sec.line, 'node without nodeid');
    if (name === null) invalid(sec.line, 'node without name (Pacemaker needs node names)');
    if (a.size === 0) invalid(sec.line, `node ${name} without any ringN_addr`);
    const prevId = ids.get(nodeid!);
    if (prevId !== undefined) invalid(sec.line, `nodeid ${nodeid} already used at line ${prevId}`);
    const prevName = names.get(name!);
    if (prevName !== undefined) invalid(sec.line, `node name ${name} already used at line ${prevName}`);
    ids.set(nodeid!, sec.line);
    names.set(name!, sec.line);
    const links = [...a.keys()].sort((x, y) => x - y).join(',');
    if (linkSet !== null && links !== linkSet) invalid(sec.line, `node ${name} has links ${links}, the others ${linkSet} (corosync needs the same links on every node)`);
    linkSet = links;
    nodes.push({ index: nodes.length, nodeid: nodeid!, name: name!, addrs: a, votes, line: sec.line });
  }
  if (nodes.length === 0) invalid(nodelist!.line, 'the nodelist has no nodes');
  return {
    clusterName: pairOf(totem!.items, 'cluster_name')?.value ?? null,
    transport,
    configVersion: pairOf(totem!.items, 'config_version')?.value ?? null,
    links: linkSet === null ? [] : linkSet.split(',').map(Number),
    quorum,
    nodes,
    nodelistVotes: nodes.reduce((s, x) => s + x.votes, 0),
  };
}

// ───────────── the nodelist change ─────────────

export interface NewCorosyncNode {
  readonly name: string;
  /** Default: one above the highest nodeid in the nodelist (never reusing the dropped node's id). */
  readonly nodeid?: number;
  /** ringN_addr by link number; must cover exactly the links of the other nodes. */
  readonly addrs: ReadonlyMap<number, string>;
}

export interface NodelistChange {
  /** Names of nodes that leave the nodelist. */
  readonly remove: readonly string[];
  readonly add: readonly NewCorosyncNode[];
}

export interface NodelistChangeResult {
  readonly doc: CorosyncConfDocument;
  readonly text: string;
  readonly summary: CorosyncConfSummary;
  /** The nodeids given to the added nodes, in order. */
  readonly addedIds: readonly number[];
}

/** The next free nodeid: above every nodeid in the nodelist, so a dropped node's id is never reused. */
export function nextCorosyncNodeId(summary: CorosyncConfSummary): number {
  return Math.max(0, ...summary.nodes.map((n) => n.nodeid)) + 1;
}

/**
 * The same document with nodes dropped from and added to the nodelist, and
 * nothing else changed. Refuses (CONF_CHANGE) to drop an unknown node, to
 * add a duplicate name/id/address, to add a node whose links differ from the
 * others', and to leave the quorum settings inconsistent with the new
 * nodelist: an explicit expected_votes that no longer equals the nodelist's
 * votes, or two_node with other than two nodes.
 */
export function changeNodelist(doc: CorosyncConfDocument, change: NodelistChange): NodelistChangeResult {
  const refuse = (line: number, reason: string): never => {
    throw new CorosyncConfError('CONF_CHANGE', doc.file, line, reason);
  };
  const before = summarizeCorosyncConf(doc);
  const nodelist = sectionsNamed(doc.items, 'nodelist')[0]!;
  const removeSet = new Set(change.remove);
  if (removeSet.size !== change.remove.length) refuse(0, 'a node is named twice for removal');
  for (const name of change.remove) {
    if (!before.nodes.some((n) => n.name === name)) refuse(nodelist.line, `node ${name} is not in the nodelist`);
  }
  const kept = before.nodes.filter((n) => !removeSet.has(n.name));

  // Layout of generated blocks: copy the first node block's indentation.
  const firstNode = nodelist.items.find((it): it is ConfSection => it.kind === 'section');
  const nodeIndent = firstNode === undefined ? '    ' : /^[ \t]*/.exec(firstNode.raw)![0];
  const firstPair = firstNode?.items.find((it): it is ConfPair => it.kind === 'pair');
  const keyIndent = firstPair === undefined ? `${nodeIndent}    ` : /^[ \t]*/.exec(firstPair.raw)![0];
  const keyOrder = firstNode === undefined ? ['ring0_addr', 'name', 'nodeid'] : firstNode.items.filter((it): it is ConfPair => it.kind === 'pair').map((p) => p.key);
  const eol = nodelist.raw.endsWith('\r') ? '\r' : '';

  let nextId = nextCorosyncNodeId(before);
  const usedIds = new Set(kept.map((n) => n.nodeid));
  const usedNames = new Set(kept.map((n) => n.name));
  const usedAddrs = new Set(kept.flatMap((n) => [...n.addrs.values()]));
  const addedIds: number[] = [];
  const newBlocks: ConfSection[] = [];
  for (const add of change.add) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(add.name)) refuse(0, `node name ${JSON.stringify(add.name)} is not a plain host name`);
    if (usedNames.has(add.name)) refuse(0, `node ${add.name} is already in the nodelist`);
    const id = add.nodeid ?? nextId;
    if (!Number.isSafeInteger(id) || id < 1 || (before.transport === 'knet' && id > knetNodeIdMax)) refuse(0, `nodeid ${id} for ${add.name} is out of range`);
    if (usedIds.has(id)) refuse(0, `nodeid ${id} for ${add.name} is already used`);
    if (before.nodes.some((n) => n.nodeid === id && removeSet.has(n.name))) refuse(0, `nodeid ${id} belonged to a dropped node; give the new node a fresh id`);
    const links = [...add.addrs.keys()].sort((x, y) => x - y);
    if (links.join(',') !== before.links.join(',')) refuse(0, `node ${add.name} has links ${links.join(',') || 'none'}, the nodelist uses ${before.links.join(',')}`);
    for (const [link, addr] of add.addrs) {
      if (!addressPattern.test(addr)) refuse(0, `address ${JSON.stringify(addr)} of ${add.name} on link ${link} is not an IP address or host name`);
      if (usedAddrs.has(addr)) refuse(0, `address ${addr} of ${add.name} is already used`);
      usedAddrs.add(addr);
    }
    usedIds.add(id);
    usedNames.add(add.name);
    nextId = Math.max(nextId, id + 1);
    addedIds.push(id);

    const values = new Map<string, string>([
      ['name', add.name],
      ['nodeid', String(id)],
      ...[...add.addrs].map(([link, addr]): [string, string] => [`ring${link}_addr`, addr]),
    ]);
    const order = [...keyOrder.filter((k) => values.has(k)), ...[...values.keys()].filter((k) => !keyOrder.includes(k)).sort()];
    const pairs: ConfPair[] = order.map((k) => ({ kind: 'pair', key: k, value: values.get(k)!, raw: `${keyIndent}${k}: ${values.get(k)!}${eol}`, line: 0 }));
    newBlocks.push({ kind: 'section', name: 'node', items: pairs, raw: `${nodeIndent}node {${eol}`, closeRaw: `${nodeIndent}}${eol}`, line: 0, closeLine: 0 });
  }

  const nodeItems: ConfItem[] = nodelist.items.filter((it) => {
    if (it.kind !== 'section') return true;
    const name = pairOf(it.items, 'name')?.value;
    return name === undefined || !removeSet.has(name);
  });
  nodeItems.push(...newBlocks);
  const newNodelist: ConfSection = { ...nodelist, items: nodeItems };
  const items = doc.items.map((it) => (it === nodelist ? newNodelist : it));
  const text = serializeCorosyncConf({ ...doc, items });
  // Re-read what we produced: the result must be a config we would accept.
  const reparsed = parseCorosyncConf(text, doc.file);
  const after = summarizeCorosyncConf(reparsed);

  const q = after.quorum;
  if (q.expectedVotes !== null && q.expectedVotes !== after.nodelistVotes) {
    refuse(0, `quorum.expected_votes is ${q.expectedVotes} but the new nodelist has ${after.nodelistVotes} votes; remove expected_votes or change it with the nodelist`);
  }
  if (q.twoNode && after.nodes.length !== 2) refuse(0, `two_node is set but the new nodelist has ${after.nodes.length} nodes`);
  return { doc: reparsed, text, summary: after, addedIds };
}

/**
 * corosync.conf before and after replacing voter `replace` by `promote`
 * (with its link addresses), from the current text. Throws CorosyncConfError.
 */
export function promotionNodelist(currentText: string, file: string, change: { readonly replace: string; readonly promote: string; readonly addrs: ReadonlyMap<number, string> }): PromotionNodelist {
  const doc = parseCorosyncConf(currentText, file);
  const before = summarizeCorosyncConf(doc);
  const r = changeNodelist(doc, { remove: [change.replace], add: [{ name: change.promote, addrs: change.addrs }] });
  return {
    before: { text: currentText, sha256: corosyncConfSha256(currentText), voters: before.nodes.map((n) => n.name) },
    after: { text: r.text, sha256: corosyncConfSha256(r.text), voters: r.summary.nodes.map((n) => n.name) },
    newNodeId: r.addedIds[0]!,
  };
}
