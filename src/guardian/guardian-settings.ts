// The quorum guardian's site-local settings (DESIGN.md §5). They name one
// site's cluster nodes, so they do not belong in the formation config (which
// is identical, and fingerprinted, on every member of every site): the site
// agent reads them from its own file, `tollbooth site-agent --quorum-guardian
// FILE`, and `tollbooth quorum status|plan --guardian FILE` reads the same
// file so that the CLI and the agent decide with the same settings.
//
// Syntax: booth.conf's `key = value` lines, split by the same tokenizer
// (line-tokenizer.ts: `#` comments, optional quotes). Strict: an unknown key,
// a scalar key given twice, a value that does not parse, and a relation that
// does not hold (a promotable node without a node helper, fewer than 3 target
// voters, …) are errors, each naming file, line and reason
// (ConfigProblem); every problem of the file is reported in one go.
//
//   auto = yes|no                     act on a plan (default no: report only)
//   target-voters = N                 voters the site wants (default: the
//                                     running nodelist's size); 3..256
//   grace = TIME                      a voter must be lost this long (60 s)
//   require-fencing = yes|no          only replace a fenced voter (yes)
//   promotable = NAME ZONE ADDR[,ADDR…]   a remote node that may be promoted,
//                                     its zone (`-` for none) and its corosync
//                                     link addresses (link 0, 1, …); repeated
//   prefer-zones = ZONE[ ZONE…]       zones to promote from first, in order
//   interval = TIME                   how often the cluster is observed (5 s)
//   verify-timeout = TIME             how long a promoted node may take to
//                                     join (120 s)
//   retry-after = TIME                pause after a failed promotion (300 s)
//   corosync-conf = PATH              the local corosync.conf the new
//                                     nodelist is derived from
//   node-helper = NODE HOST:PORT      where NODE's helper listens; one per
//                                     core node and promotable remote node
//   helper-timeout = TIME             deadline of one helper call (120 s)
//   helper-site = LABEL               the site label helpers expect
//                                     (default: the site agent's address)
// TIME is booth's: whole seconds, or milliseconds with `ms`.

import { isHostName, parseIpv4, parseIpv6 } from '../config/address.js';
import { ConfigFileReadError, ConfigFileTooLargeError } from '../config/errors.js';
import { tokenizeConfigLine } from '../config/line-tokenizer.js';
import { configProblem, formatConfigProblem, hasConfigErrors, sortConfigProblems, type ConfigProblem } from '../config/problems.js';
import { readRegularFileSync, RegularFileError } from '../config/regular-file.js';
import { parseConfigTime } from '../config/values.js';
import { TollboothError } from '../errors.js';

/** A guardian file is a few lines per node; anything near this is a mistake. */
export const guardianConfBytesMax = 256 * 1024;
/** As booth.conf (booth-conf.ts configLineBytesMax). */
export const guardianConfLineBytesMax = 1023;
/** corosync-conf.ts corosyncNodeCountMax: more nodes than a nodelist may hold are never needed. */
export const guardianNodeCountMax = 256;
/** corosync's link numbers 0..7. */
export const guardianLinkCountMax = 8;
/** Fewer than 3 voters cannot lose one and stay quorate (two_node aside, which the guardian does not manage). */
export const targetVotersMin = 3;
export const intervalMsMin = 100;
/** Shortest verify-timeout accepted, ms (R takes about 3 s to join). */
export const verifyTimeoutMsMin = 1_000;
/** Shortest helper-timeout accepted, ms. */
export const helperTimeoutMsMin = 1_000;
export const helperSiteCharsMax = 256;

export const guardianDefaults = {
  auto: false,
  graceMs: 60_000,
  requireFencing: true,
  intervalMs: 5_000,
  verifyTimeoutMs: 120_000,
  retryAfterMs: 300_000,
  corosyncConf: '/etc/corosync/corosync.conf',
  helperTimeoutMs: 120_000,
} as const;

export interface PromotableNode {
  readonly name: string;
  /** '' when the file says `-`. */
  readonly zone: string;
  /** corosync link number → address (ring0_addr, ring1_addr, …). */
  readonly addrs: ReadonlyMap<number, string>;
  readonly line: number;
}

export interface NodeHelperAddress {
  readonly node: string;
  readonly host: string;
  readonly port: number;
  readonly line: number;
}

export interface QuorumGuardianSettings {
  readonly file: string;
  readonly auto: boolean;
  /** null: the running nodelist's size. */
  readonly targetVoters: number | null;
  readonly graceMs: number;
  readonly requireFencing: boolean;
  readonly promotable: readonly PromotableNode[];
  readonly preferZones: readonly string[];
  readonly intervalMs: number;
  readonly verifyTimeoutMs: number;
  readonly retryAfterMs: number;
  readonly corosyncConf: string;
  readonly helpers: readonly NodeHelperAddress[];
  readonly helperTimeoutMs: number;
  /** null: the site agent's address. */
  readonly helperSite: string | null;
}

export interface GuardianConfLoadResult {
  /** Best effort when problems has errors. */
  readonly settings: QuorumGuardianSettings;
  readonly problems: readonly ConfigProblem[];
}

/** A guardian file with errors, for callers that insist on a usable one. */
export class QuorumGuardianConfError extends TollboothError<'QUORUM_GUARDIAN_CONF_INVALID'> {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    const errors = problems.filter((p) => p.severity === 'error');
    super('QUORUM_GUARDIAN_CONF_INVALID', `quorum guardian settings ${file} have ${errors.length} error(s):\n${errors.map(formatConfigProblem).join('\n')}`, {
      details: { file, errorCount: errors.length },
    });
  }
}

const nodeNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const zonePattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

const scalarKeys = [
  'auto',
  'target-voters',
  'grace',
  'require-fencing',
  'prefer-zones',
  'interval',
  'verify-timeout',
  'retry-after',
  'corosync-conf',
  'helper-timeout',
  'helper-site',
] as const;
const repeatedKeys = ['promotable', 'node-helper'] as const;
const knownKeys: readonly string[] = [...scalarKeys, ...repeatedKeys];

function parseYesNo(text: string): boolean | string {
  if (text === 'yes') return true;
  if (text === 'no') return false;
  return `expected yes or no, got "${text}"`;
}

/** A corosync link address: an IPv4 or IPv6 literal or a host name. */
export function isLinkAddress(text: string): boolean {
  if (parseIpv4(text) !== null || parseIpv6(text) !== null) return true;
  return !/^[0-9.]+$/.test(text) && text.length <= 253 && isHostName(text);
}

/** `HOST:PORT`, `[IPV6]:PORT`; null when it is not one. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):([0-9]{1,5})$/.exec(text);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return null;
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined ? parseIpv6(host) === null : !isLinkAddress(host)) return null;
  return { host, port };
}

/**
 * Parses the text of a guardian file. `file` labels the problems. Never
 * throws for a problem in the text: every one comes back in `problems`.
 */
export function parseQuorumGuardianConf(text: string, file: string): GuardianConfLoadResult {
  const problems: ConfigProblem[] = [];
  const error = (line: number, message: string, key?: string): void => {
    problems.push(configProblem(file, line, 'error', message, key));
  };
  const warn = (line: number, message: string, key?: string): void => {
    problems.push(configProblem(file, line, 'warning', message, key));
  };

  const seen = new Map<string, number>();
  let auto: boolean = guardianDefaults.auto;
  let targetVoters: number | null = null;
  let graceMs: number = guardianDefaults.graceMs;
  let requireFencing: boolean = guardianDefaults.requireFencing;
  let intervalMs: number = guardianDefaults.intervalMs;
  let verifyTimeoutMs: number = guardianDefaults.verifyTimeoutMs;
  let retryAfterMs: number = guardianDefaults.retryAfterMs;
  let corosyncConf: string = guardianDefaults.corosyncConf;
  let helperTimeoutMs: number = guardianDefaults.helperTimeoutMs;
  let helperSite: string | null = null;
  let preferZones: { zones: string[]; line: number } = { zones: [], line: 0 };
  const promotable: PromotableNode[] = [];
  const helpers: NodeHelperAddress[] = [];

  const time = (line: number, key: string, value: string, minMs: number): number | null => {
    const r = parseConfigTime(value);
    if (!r.ok) {
      error(line, `${key}: ${r.reason}`, key);
      return null;
    }
    if (r.value < minMs) {
      error(line, `${key}: ${r.value} ms is below the minimum of ${minMs} ms`, key);
      return null;
    }
    return r.value;
  };

  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (Buffer.byteLength(raw) > guardianConfLineBytesMax) {
      error(n, `line longer than ${guardianConfLineBytesMax} bytes`);
      return;
    }
    if (/[\u0000-\u0008\u000e-\u001f\u007f]/.test(raw)) {
      error(n, 'control character in line');
      return;
    }
    const tok = tokenizeConfigLine(raw);
    if (tok.kind === 'blank') return;
    if (tok.kind === 'invalid') {
      error(n, tok.reason);
      return;
    }
    const { key, value } = tok;
    if (!tok.quoted && /[ \t]#/.test(value)) {
      // booth.conf's rule: a `#` after a bare value is part of it. Refused rather than misread.
      error(n, `${key}: a "#" after a bare value is part of the value (booth.conf rules); put the comment on its own line or quote the value`, key);
      return;
    }
    if (!knownKeys.includes(key)) {
      error(n, `unknown key "${key}" (known: ${knownKeys.join(', ')})`, key);
      return;
    }
    if ((scalarKeys as readonly string[]).includes(key)) {
      const prev = seen.get(key);
      if (prev !== undefined) {
        error(n, `${key} is already given on line ${prev}`, key);
        return;
      }
      seen.set(key, n);
    }
    const words = value.split(/[ \t]+/).filter((w) => w !== '');
    switch (key) {
      case 'auto':
      case 'require-fencing': {
        const b = parseYesNo(value);
        if (typeof b === 'string') error(n, `${key}: ${b}`, key);
        else if (key === 'auto') auto = b;
        else requireFencing = b;
        break;
      }
      case 'target-voters': {
        if (!/^[0-9]{1,4}$/.test(value)) {
          error(n, `target-voters: "${value}" is not a whole number`, key);
          break;
        }
        const v = Number(value);
        if (v < targetVotersMin || v > guardianNodeCountMax) {
          error(n, `target-voters: ${v} is outside ${targetVotersMin}..${guardianNodeCountMax} (fewer than ${targetVotersMin} voters cannot lose one and keep quorum)`, key);
          break;
        }
        if (v % 2 === 0) warn(n, `target-voters: ${v} is even; ${v} voters tolerate no more failures than ${v - 1}`, key);
        targetVoters = v;
        break;
      }
      case 'grace':
        graceMs = time(n, key, value, 0) ?? graceMs;
        break;
      case 'interval':
        intervalMs = time(n, key, value, intervalMsMin) ?? intervalMs;
        break;
      case 'verify-timeout':
        verifyTimeoutMs = time(n, key, value, verifyTimeoutMsMin) ?? verifyTimeoutMs;
        break;
      case 'retry-after':
        retryAfterMs = time(n, key, value, 0) ?? retryAfterMs;
        break;
      case 'helper-timeout':
        helperTimeoutMs = time(n, key, value, helperTimeoutMsMin) ?? helperTimeoutMs;
        break;
      case 'corosync-conf':
        if (!value.startsWith('/')) error(n, `corosync-conf: "${value}" is not an absolute path`, key);
        else corosyncConf = value;
        break;
      case 'helper-site':
        if (value === '' || value.length > helperSiteCharsMax || /\s/.test(value)) error(n, `helper-site: must be 1..${helperSiteCharsMax} characters without blanks`, key);
        else helperSite = value;
        break;
      case 'prefer-zones': {
        const zones = value.split(/[ \t,]+/).filter((w) => w !== '');
        const bad = zones.find((z) => !zonePattern.test(z));
        if (zones.length === 0) error(n, 'prefer-zones: no zone given', key);
        else if (bad !== undefined) error(n, `prefer-zones: "${bad}" is not a zone name (${zonePattern.source})`, key);
        else if (new Set(zones).size !== zones.length) error(n, 'prefer-zones: a zone is named twice', key);
        else preferZones = { zones, line: n };
        break;
      }
      case 'promotable': {
        if (words.length !== 3) {
          error(n, `promotable: expected "NAME ZONE ADDR[,ADDR...]", got ${words.length} word(s)`, key);
          break;
        }
        const [name, zone, list] = words as [string, string, string];
        if (!nodeNamePattern.test(name)) {
          error(n, `promotable: "${name}" is not a node name`, key);
          break;
        }
        if (zone !== '-' && !zonePattern.test(zone)) {
          error(n, `promotable: "${zone}" is not a zone name (or - for none)`, key);
          break;
        }
        const addrList = list.split(',');
        if (addrList.length > guardianLinkCountMax) {
          error(n, `promotable: ${addrList.length} link addresses; corosync has at most ${guardianLinkCountMax} links`, key);
          break;
        }
        const badAddr = addrList.find((a) => !isLinkAddress(a));
        if (badAddr !== undefined) {
          error(n, `promotable: "${badAddr}" is not an IP address or host name`, key);
          break;
        }
        if (new Set(addrList).size !== addrList.length) {
          error(n, `promotable: ${name} has the same address on two links`, key);
          break;
        }
        const dup = promotable.find((p) => p.name === name);
        if (dup !== undefined) {
          error(n, `promotable: ${name} is already listed on line ${dup.line}`, key);
          break;
        }
        const clash = promotable.find((p) => [...p.addrs.values()].some((a) => addrList.includes(a)));
        if (clash !== undefined) {
          error(n, `promotable: an address of ${name} is already ${clash.name}'s (line ${clash.line})`, key);
          break;
        }
        if (promotable.length >= guardianNodeCountMax) {
          error(n, `promotable: more than ${guardianNodeCountMax} nodes`, key);
          break;
        }
        promotable.push({ name, zone: zone === '-' ? '' : zone, addrs: new Map(addrList.map((a, link): [number, string] => [link, a])), line: n });
        break;
      }
      case 'node-helper': {
        if (words.length !== 2) {
          error(n, `node-helper: expected "NODE HOST:PORT", got ${words.length} word(s)`, key);
          break;
        }
        const [node, endpoint] = words as [string, string];
        if (!nodeNamePattern.test(node)) {
          error(n, `node-helper: "${node}" is not a node name`, key);
          break;
        }
        const hp = parseHostPort(endpoint);
        if (hp === null) {
          error(n, `node-helper: "${endpoint}" is not HOST:PORT (IPv6 as [ADDR]:PORT)`, key);
          break;
        }
        const dup = helpers.find((h) => h.node === node);
        if (dup !== undefined) {
          error(n, `node-helper: ${node} already has a helper on line ${dup.line}`, key);
          break;
        }
        if (helpers.length >= guardianNodeCountMax) {
          error(n, `node-helper: more than ${guardianNodeCountMax} helpers`, key);
          break;
        }
        helpers.push({ node, ...hp, line: n });
        break;
      }
    }
  });

  // ───── relations ─────
  const helperNames = new Set(helpers.map((h) => h.node));
  for (const p of promotable) {
    if (!helperNames.has(p.name)) error(p.line, `promotable: ${p.name} has no node-helper line (the promotion writes its corosync.conf and starts its cluster stack through it)`, 'promotable');
  }
  const linkCounts = new Set(promotable.map((p) => p.addrs.size));
  if (linkCounts.size > 1) {
    const first = promotable[0]!;
    const odd = promotable.find((p) => p.addrs.size !== first.addrs.size)!;
    error(odd.line, `promotable: ${odd.name} has ${odd.addrs.size} link address(es), ${first.name} (line ${first.line}) ${first.addrs.size}; corosync needs the same links on every node`, 'promotable');
  }
  const zones = new Set(promotable.map((p) => p.zone));
  for (const z of preferZones.zones) {
    if (!zones.has(z)) warn(preferZones.line, `prefer-zones: no promotable node is in zone ${z}`, 'prefer-zones');
  }
  if (auto) {
    const autoLine = seen.get('auto') ?? 0;
    if (promotable.length === 0) error(autoLine, 'auto = yes but no promotable node is listed: there is nothing to promote', 'auto');
    if (!requireFencing) {
      warn(
        seen.get('require-fencing') ?? autoLine,
        'require-fencing = no with auto = yes: a voter that is only cut off (not dead) may come back after it was replaced; it can no longer join (it is out of the nodelist), but it keeps running what it ran until it notices',
        'require-fencing',
      );
    }
  }
  if (graceMs < intervalMs && seen.has('grace')) {
    warn(seen.get('grace')!, `grace (${graceMs} ms) is shorter than interval (${intervalMs} ms): a loss is only seen every interval, so the effective grace is at least one interval`, 'grace');
  }

  return {
    settings: {
      file,
      auto,
      targetVoters,
      graceMs,
      requireFencing,
      promotable,
      preferZones: preferZones.zones,
      intervalMs,
      verifyTimeoutMs,
      retryAfterMs,
      corosyncConf,
      helpers,
      helperTimeoutMs,
      helperSite,
    },
    problems: sortConfigProblems(problems),
  };
}

/**
 * Reads and parses a guardian file. Throws ConfigFileReadError when it
 * cannot be read and ConfigFileTooLargeError above guardianConfBytesMax;
 * problems in the text come back in `problems`.
 */
export function loadQuorumGuardianFile(path: string): GuardianConfLoadResult {
  let bytes: Buffer;
  try {
    // Only a regular file, at most guardianConfBytesMax: a FIFO would block start-up (regular-file.ts).
    bytes = readRegularFileSync(path, guardianConfBytesMax).bytes;
  } catch (err) {
    if (err instanceof RegularFileError && err.code === 'FILE_TOO_LARGE') throw new ConfigFileTooLargeError(path, err.sizeBytes, guardianConfBytesMax);
    throw new ConfigFileReadError(path, err);
  }
  // Decoded line by line so that a bad byte sequence is reported at its line.
  const strict = new TextDecoder('utf-8', { fatal: true });
  const lenient = new TextDecoder('utf-8', { fatal: false });
  const lines: string[] = [];
  const decodeProblems: ConfigProblem[] = [];
  let start = 0;
  for (let n = 1; start <= bytes.length; n++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    const chunk = bytes.subarray(start, end);
    try {
      lines.push(strict.decode(chunk));
    } catch {
      decodeProblems.push(configProblem(path, n, 'error', 'the line is not valid UTF-8'));
      lines.push(lenient.decode(chunk));
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  const result = parseQuorumGuardianConf(lines.join('\n'), path);
  if (decodeProblems.length === 0) return result;
  return { settings: result.settings, problems: sortConfigProblems([...decodeProblems, ...result.problems]) };
}

/** The settings if no problem is an error; otherwise throws QuorumGuardianConfError. */
export function requireValidGuardianConf(result: GuardianConfLoadResult): QuorumGuardianSettings {
  if (hasConfigErrors(result.problems)) throw new QuorumGuardianConfError(result.settings.file, result.problems);
  return result.settings;
}

/**
 * Problems of the settings against the running corosync nodelist, found at
 * run time: voters without a node helper (a promotion writes their
 * corosync.conf), a target below the nodelist's size, link counts that differ
 * from the nodelist's. A promotable node that is a voter is not one: that is
 * what a promotion leaves behind. Plain sentences; the caller logs or prints
 * them.
 */
export function guardianSettingsAgainstNodelist(settings: QuorumGuardianSettings, voters: readonly { readonly name: string; readonly links: number }[]): string[] {
  const out: string[] = [];
  const helperNames = new Set(settings.helpers.map((h) => h.node));
  const missing = voters.filter((v) => !helperNames.has(v.name)).map((v) => v.name);
  if (missing.length > 0) out.push(`no node-helper line for voter(s) ${missing.join(', ')}: a promotion needs one on every live voter`);
  if (settings.targetVoters !== null && settings.targetVoters < voters.length) {
    out.push(`target-voters ${settings.targetVoters} is below the nodelist's ${voters.length} voters: the guardian never replaces a lost voter`);
  }
  const links = voters[0]?.links;
  if (links !== undefined) {
    for (const p of settings.promotable) if (p.addrs.size !== links) out.push(`promotable node ${p.name} has ${p.addrs.size} link address(es), the nodelist uses ${links}`);
  }
  return out;
}
