// Reads a booth.conf (plus tollbooth's own `tollbooth-*` keys) into a
// ConfigDocument: every value typed and tagged with the line it came from,
// every problem collected. Lexical rules: line-tokenizer.ts; value syntax:
// values.ts; relations and ranges: validate.ts.
//
// What booth does and we do too (booth 1.x read_config; reference booth.md §6):
//   - unknown keys are errors; keys and values are at most 64 bytes;
//   - global keys may appear anywhere, also between tickets;
//   - per-ticket keys apply to the most recent `ticket` line and are an error
//     before the first one;
//   - `ticket = __defaults__` opens a block whose expire, timeout, retries,
//     weights and mode are copied into every ticket defined AFTER it (booth
//     copies at the `ticket` line); other keys there have no effect;
//   - `site`/`arbitrator` lines define members in order, at most 16;
//   - a repeated `transport` is an error, other repeated keys override.
// Where booth would silently do something surprising (an inline `# comment`
// swallowed into a value, `__defaults__` after tickets, ignored extra words)
// we read it the same way and add a warning.
import { parseMemberAddress, memberAddressBytesMax, type ParsedAddress } from './address.js';
import { defaultLimits } from '../core/config.js';
import { historyRecordsLimit, historyRecordsMaxDefault } from '../core/tickets/ticket-table.js';
import type { AttrPrereq, MemberKind, TicketHandler, TicketMode } from './formation-config.js';
import { tokenizeConfigLine } from './line-tokenizer.js';
import { configProblem, type ConfigProblem, type ConfigProblemSeverity } from './problems.js';
import { isTimingPresetName, timingPresetDefault, timingPresetNames, type TimingPresetName } from './presets.js';
import { adminKeyCountMax, alertTimeoutMsDefault, alertTimeoutMsMax, alertTimeoutMsMin, clockDriftPpmMaxDefault, tollboothKeys, tollboothValueBytesMax } from './tollbooth-keys.js';
import {
  parseAtoi,
  parseAttrPrereq,
  parseConfigTime,
  parseDecimal,
  parseGroupName,
  parseHandler,
  parsePublicKey,
  parseRetries,
  parseTicketMode,
  parseWeights,
  type ValueResult,
} from './values.js';

/** No formation config comes near this; a bigger file is a mistake (or an attack on the reader). */
export const configFileBytesMax = 1024 * 1024;

/**
 * booth reads lines with fgets into a 1024-byte buffer that also holds the
 * terminating NUL, so at most 1023 bytes of a line (newline excluded) are
 * read as one line; longer lines would be split in two.
 */
export const configLineBytesMax = 1023;

/** booth's BOOTH_NAME_LEN: the longest key and the longest value booth accepts. */
export const boothKeyBytesMax = 64;
export const boothValueBytesMax = 64;

/** booth's MAX_NODES: sites and arbitrators together. */
export const memberCountMax = 16;

/** booth keeps ticket names in a 64-byte buffer with the terminating NUL. */
export const ticketNameBytesMax = 63;

/** booth keeps the config name in a 64-byte buffer with the terminating NUL. */
export const formationNameBytesMax = 63;

/** booth has no limit; ours is the core's table limit (src/core/config.ts defaultLimits.ticketCountMax). */
export const ticketCountMax = defaultLimits.ticketCountMax;

/** booth has no limit; each prerequisite is checked on every election. */
export const attrPrereqCountMax = 64;

/** The name of booth's defaults block (`ticket = __defaults__`). */
export const defaultsTicketName = '__defaults__';

/** booth's built-in defaults (booth.h, config.c, booth.md §6). */
export const boothDefaults = {
  transport: 'UDP',
  port: 9929,
  maxTimeSkewMs: 600_000,
  siteUser: 'hacluster',
  siteGroup: 'haclient',
  arbitratorUser: 'nobody',
  arbitratorGroup: 'nobody',
  debugLevel: 0,
  expireMs: 600_000,
  timeoutMs: 5_000,
  retries: 10,
  acquireAfterMs: 0,
  mode: 'automatic',
} as const;

export type TicketKey =
  | 'expire'
  | 'acquire-after'
  | 'renewal-freq'
  | 'timeout'
  | 'retries'
  | 'weights'
  | 'before-acquire-handler'
  | 'attr-prereq'
  | 'mode'
  | typeof tollboothKeys.revokeLead;

export type GlobalKey =
  | 'transport'
  | 'port'
  | 'name'
  | 'authfile'
  | 'maxtimeskew'
  | 'site-user'
  | 'site-group'
  | 'arbitrator-user'
  | 'arbitrator-group'
  | 'debug'
  | typeof tollboothKeys.adminGroup
  | typeof tollboothKeys.clockDriftPpmMax
  | typeof tollboothKeys.preset
  | typeof tollboothKeys.alertHandler
  | typeof tollboothKeys.alertTimeout
  | typeof tollboothKeys.historyRecords;

/** Keys that may appear several times, each line adding an entry. */
type ListKey = 'site' | 'arbitrator' | 'ticket' | typeof tollboothKeys.memberKey | typeof tollboothKeys.adminKey;

type KeySpec = { readonly scope: 'global' | 'list' | 'ticket'; readonly origin: 'booth' | 'tollbooth' };

const keySpecs: ReadonlyMap<string, KeySpec> = new Map<GlobalKey | ListKey | TicketKey, KeySpec>([
  ['transport', { scope: 'global', origin: 'booth' }],
  ['port', { scope: 'global', origin: 'booth' }],
  ['name', { scope: 'global', origin: 'booth' }],
  ['authfile', { scope: 'global', origin: 'booth' }],
  ['maxtimeskew', { scope: 'global', origin: 'booth' }],
  ['site-user', { scope: 'global', origin: 'booth' }],
  ['site-group', { scope: 'global', origin: 'booth' }],
  ['arbitrator-user', { scope: 'global', origin: 'booth' }],
  ['arbitrator-group', { scope: 'global', origin: 'booth' }],
  ['debug', { scope: 'global', origin: 'booth' }],
  ['site', { scope: 'list', origin: 'booth' }],
  ['arbitrator', { scope: 'list', origin: 'booth' }],
  ['ticket', { scope: 'list', origin: 'booth' }],
  ['expire', { scope: 'ticket', origin: 'booth' }],
  ['acquire-after', { scope: 'ticket', origin: 'booth' }],
  ['renewal-freq', { scope: 'ticket', origin: 'booth' }],
  ['timeout', { scope: 'ticket', origin: 'booth' }],
  ['retries', { scope: 'ticket', origin: 'booth' }],
  ['weights', { scope: 'ticket', origin: 'booth' }],
  ['before-acquire-handler', { scope: 'ticket', origin: 'booth' }],
  ['attr-prereq', { scope: 'ticket', origin: 'booth' }],
  ['mode', { scope: 'ticket', origin: 'booth' }],
  [tollboothKeys.memberKey, { scope: 'list', origin: 'tollbooth' }],
  [tollboothKeys.adminKey, { scope: 'list', origin: 'tollbooth' }],
  [tollboothKeys.adminGroup, { scope: 'global', origin: 'tollbooth' }],
  [tollboothKeys.clockDriftPpmMax, { scope: 'global', origin: 'tollbooth' }],
  [tollboothKeys.preset, { scope: 'global', origin: 'tollbooth' }],
  [tollboothKeys.revokeLead, { scope: 'ticket', origin: 'tollbooth' }],
  // Local to each member and left out of the fingerprint (tollbooth-keys.ts says why).
  [tollboothKeys.alertHandler, { scope: 'global', origin: 'tollbooth' }],
  [tollboothKeys.alertTimeout, { scope: 'global', origin: 'tollbooth' }],
  [tollboothKeys.historyRecords, { scope: 'global', origin: 'tollbooth' }],
]);

/** The keys a `__defaults__` block hands on: booth's five, plus our revoke lead (tollbooth-keys.ts). */
const inheritedTicketKeys: readonly TicketKey[] = ['expire', 'timeout', 'retries', 'weights', 'mode', tollboothKeys.revokeLead];

export interface MemberLine {
  readonly kind: MemberKind;
  /** As written. */
  readonly address: string;
  readonly parsed: ParsedAddress;
  readonly line: number;
}

export interface MemberKeyLine {
  /** As written; matched to a member by address identity (address.ts). */
  readonly address: string;
  readonly publicKey: Uint8Array;
  readonly line: number;
}

export interface AdminKeyLine {
  readonly publicKey: Uint8Array;
  readonly line: number;
}

/** One `ticket` block after `__defaults__` were copied in, as booth holds it. */
export interface TicketBlock {
  readonly name: string;
  readonly line: number;
  mode: TicketMode;
  expireMs: number;
  acquireAfterMs: number;
  /** null: not set, booth's default expire / 2 applies. */
  renewalFreqMs: number | null;
  timeoutMs: number;
  retries: number;
  /** As written (at most 16), indexed like the members. */
  weights: number[];
  beforeAcquireHandler: TicketHandler | null;
  attrPrereqs: AttrPrereq[];
  /** null: not set, the preset's default applies (capped). */
  revokeLeadMs: number | null;
  /** The line each explicitly set key got its value from: the ticket's block or `__defaults__`. */
  readonly valueLines: Partial<Record<TicketKey, number>>;
}

/** A parsed booth.conf: typed values tagged with their lines, before defaults that depend on other values. */
export interface ConfigDocument {
  readonly fileName: string;
  transport: 'UDP' | 'SCTP';
  port: number;
  /** null: not set, the file name gives it. */
  name: string | null;
  authFile: string | null;
  maxTimeSkewMs: number;
  siteUser: string;
  siteGroup: string;
  arbitratorUser: string;
  arbitratorGroup: string;
  debugLevel: number;
  readonly members: MemberLine[];
  readonly memberKeys: MemberKeyLine[];
  readonly adminKeys: AdminKeyLine[];
  adminGroup: string | null;
  clockDriftPpmMax: number;
  presetName: TimingPresetName;
  /** `tollbooth-alert-handler`; null when not set. */
  alertHandler: TicketHandler | null;
  /** `tollbooth-alert-timeout`, ms. */
  alertTimeoutMs: number;
  /** `tollbooth-history-records`. */
  historyRecordsMax: number;
  readonly tickets: TicketBlock[];
  /** The line each global key was last set on. */
  readonly valueLines: Partial<Record<GlobalKey, number>>;
}

export interface ParsedBoothConf {
  readonly document: ConfigDocument;
  readonly problems: ConfigProblem[];
}

/** Parses the text of a booth.conf. Never throws on bad input: problems are returned. */
export function parseBoothConf(text: string, fileName: string): ParsedBoothConf {
  const parser = new BoothConfParser(fileName);
  parser.parse(text);
  return { document: parser.document, problems: parser.problems };
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function newTicketBlock(name: string, line: number): TicketBlock {
  return {
    name,
    line,
    mode: boothDefaults.mode,
    expireMs: boothDefaults.expireMs,
    acquireAfterMs: boothDefaults.acquireAfterMs,
    renewalFreqMs: null,
    timeoutMs: boothDefaults.timeoutMs,
    retries: boothDefaults.retries,
    weights: [],
    beforeAcquireHandler: null,
    attrPrereqs: [],
    revokeLeadMs: null,
    valueLines: {},
  };
}

class BoothConfParser {
  readonly problems: ConfigProblem[] = [];
  readonly document: ConfigDocument;
  private readonly defaults: TicketBlock = newTicketBlock(defaultsTicketName, 0);
  /** The block per-ticket keys go to; may be a rejected ticket, whose keys are still checked. */
  private current: TicketBlock | null = null;
  /** Keys set in the current block, for "overrides line N" warnings. */
  private currentKeyLines = new Map<TicketKey, number>();
  /** The line of each ticket defined so far: a duplicate is found without a scan (50 000 tickets made that 38 s). */
  private readonly ticketLines = new Map<string, number>();
  private line = 0;

  constructor(private readonly fileName: string) {
    this.document = {
      fileName,
      transport: boothDefaults.transport,
      port: boothDefaults.port,
      name: null,
      authFile: null,
      maxTimeSkewMs: boothDefaults.maxTimeSkewMs,
      siteUser: boothDefaults.siteUser,
      siteGroup: boothDefaults.siteGroup,
      arbitratorUser: boothDefaults.arbitratorUser,
      arbitratorGroup: boothDefaults.arbitratorGroup,
      debugLevel: boothDefaults.debugLevel,
      members: [],
      memberKeys: [],
      adminKeys: [],
      adminGroup: null,
      clockDriftPpmMax: clockDriftPpmMaxDefault,
      presetName: timingPresetDefault,
      alertHandler: null,
      alertTimeoutMs: alertTimeoutMsDefault,
      historyRecordsMax: historyRecordsMaxDefault,
      tickets: [],
      valueLines: {},
    };
  }

  parse(text: string): void {
    const sizeBytes = byteLength(text);
    if (sizeBytes > configFileBytesMax) {
      this.report(0, 'error', `the file has ${sizeBytes} bytes; a config may have at most ${configFileBytesMax}`);
      return;
    }
    const lines = text.split('\n');
    for (const [index, rawLine] of lines.entries()) {
      this.line = index + 1;
      this.parseLine(rawLine);
    }
  }

  private parseLine(rawLine: string): void {
    const lineBytes = byteLength(rawLine);
    if (lineBytes > configLineBytesMax) {
      this.report(this.line, 'error', `the line has ${lineBytes} bytes; booth reads at most ${configLineBytesMax} per line`);
      return;
    }
    if (rawLine.includes('\0')) {
      this.report(this.line, 'error', 'the line contains a NUL byte');
      return;
    }
    if (this.line === 1 && rawLine.startsWith('\uFEFF')) {
      this.report(this.line, 'error', 'the file starts with a byte-order mark, which booth cannot read; save it as plain UTF-8');
      return;
    }
    const token = tokenizeConfigLine(rawLine);
    if (token.kind === 'blank') return;
    if (token.kind === 'invalid') {
      this.report(this.line, 'error', token.reason);
      return;
    }
    const { key, value, quoted } = token;
    const spec = keySpecs.get(key);
    if (spec === undefined) {
      this.report(this.line, 'error', `unknown key "${key}"${unknownKeyHint(key)}`, key);
      return;
    }
    const valueBytesMax = spec.origin === 'booth' ? boothValueBytesMax : tollboothValueBytesMax;
    if (byteLength(key) > boothKeyBytesMax) {
      this.report(this.line, 'error', `the key is longer than ${boothKeyBytesMax} bytes`, key);
      return;
    }
    if (byteLength(value) > valueBytesMax) {
      this.report(this.line, 'error', `the value of "${key}" is longer than ${valueBytesMax} bytes`, key);
      return;
    }
    if (!quoted && /[\t\n\v\f\r ]#/.test(value)) {
      this.report(
        this.line,
        'warning',
        `the value of "${key}" contains " #": booth reads all of the line after "=" as the value, so this is not a comment; put the comment on its own line`,
        key,
      );
    }
    if (spec.scope === 'ticket') this.ticketKey(key as TicketKey, value);
    else if (spec.scope === 'list') this.listKey(key as ListKey, value);
    else this.globalKey(key as GlobalKey, value);
  }

  private report(line: number, severity: ConfigProblemSeverity, message: string, key?: string): void {
    this.problems.push(configProblem(this.fileName, line, severity, message, key));
  }

  /** Reports a failed value as an error, or a note on an accepted one as a warning; returns the value if accepted. */
  private accept<T>(key: string, result: ValueResult<T>): T | undefined {
    if (!result.ok) {
      this.report(this.line, 'error', `${key}: ${result.reason}`, key);
      return undefined;
    }
    if (result.note !== undefined) this.report(this.line, 'warning', `${key}: ${result.note}`, key);
    return result.value;
  }

  private noteGlobalLine(key: GlobalKey): void {
    const previous = this.document.valueLines[key];
    if (previous !== undefined) {
      this.report(this.line, 'warning', `"${key}" was already set on line ${previous}; this line overrides it`, key);
    }
    this.document.valueLines[key] = this.line;
  }

  private globalKey(key: GlobalKey, value: string): void {
    const doc = this.document;
    switch (key) {
      case 'transport': {
        const previous = doc.valueLines.transport;
        if (previous !== undefined) {
          this.report(this.line, 'error', `"transport" may be given once; it was already given on line ${previous}`, key);
          return;
        }
        const upper = value.toUpperCase();
        if (upper !== 'UDP' && upper !== 'SCTP') {
          this.report(this.line, 'error', `transport: "${value}" is not UDP or SCTP`, key);
          return;
        }
        if (upper === 'SCTP') {
          this.report(this.line, 'warning', 'transport: booth never implemented SCTP; tollbooth ignores this key and uses its own transport', key);
        }
        doc.transport = upper;
        doc.valueLines.transport = this.line;
        return;
      }
      case 'port': {
        const port = this.accept(key, parseAtoi(value));
        if (port === undefined) return;
        this.noteGlobalLine(key);
        doc.port = port;
        return;
      }
      case 'name':
        this.noteGlobalLine(key);
        if (value === '') {
          this.report(this.line, 'warning', 'name: empty; as booth does, the file name gives the formation name', key);
          doc.name = null;
        } else {
          doc.name = value;
        }
        return;
      case 'authfile':
        this.noteGlobalLine(key);
        doc.authFile = value === '' ? null : value;
        return;
      case 'maxtimeskew': {
        const seconds = this.accept(key, parseAtoi(value));
        if (seconds === undefined) return;
        this.noteGlobalLine(key);
        doc.maxTimeSkewMs = seconds * 1000;
        return;
      }
      case 'site-user':
      case 'site-group':
      case 'arbitrator-user':
      case 'arbitrator-group': {
        this.noteGlobalLine(key);
        this.report(
          this.line,
          'warning',
          `${key}: booth ignores this key (a bug copies the wrong variable, booth.md §6); tollbooth uses the value, which differs from booth if it is not the default`,
          key,
        );
        if (key === 'site-user') doc.siteUser = value;
        else if (key === 'site-group') doc.siteGroup = value;
        else if (key === 'arbitrator-user') doc.arbitratorUser = value;
        else doc.arbitratorGroup = value;
        return;
      }
      case 'debug': {
        const level = this.accept(key, parseAtoi(value));
        if (level === undefined) return;
        this.noteGlobalLine(key);
        doc.debugLevel = level;
        return;
      }
      case tollboothKeys.adminGroup: {
        const group = this.accept(key, parseGroupName(value));
        if (group === undefined) return;
        this.noteGlobalLine(key);
        doc.adminGroup = group;
        return;
      }
      case tollboothKeys.clockDriftPpmMax: {
        const ppm = this.accept(key, parseDecimal(value));
        if (ppm === undefined) return;
        this.noteGlobalLine(key);
        doc.clockDriftPpmMax = ppm;
        return;
      }
      case tollboothKeys.preset: {
        if (!isTimingPresetName(value)) {
          this.report(this.line, 'error', `${key}: "${value}" is not one of ${timingPresetNames.join(', ')}`, key);
          return;
        }
        this.noteGlobalLine(key);
        doc.presetName = value;
        return;
      }
      case tollboothKeys.alertHandler: {
        const handler = this.accept(key, parseHandler(value));
        if (handler === undefined) return;
        this.noteGlobalLine(key);
        doc.alertHandler = handler;
        return;
      }
      case tollboothKeys.alertTimeout: {
        const ms = this.accept(key, parseConfigTime(value));
        if (ms === undefined) return;
        if (ms < alertTimeoutMsMin || ms > alertTimeoutMsMax) {
          this.report(this.line, 'error', `${key}: ${ms} ms is outside ${alertTimeoutMsMin} ms – ${alertTimeoutMsMax / 1000} s`, key);
          return;
        }
        this.noteGlobalLine(key);
        doc.alertTimeoutMs = ms;
        return;
      }
      case tollboothKeys.historyRecords: {
        const n = this.accept(key, parseDecimal(value));
        if (n === undefined) return;
        if (n < 1 || n > historyRecordsLimit) {
          this.report(this.line, 'error', `${key}: ${n} is outside 1 – ${historyRecordsLimit}`, key);
          return;
        }
        this.noteGlobalLine(key);
        doc.historyRecordsMax = n;
        return;
      }
    }
  }

  private listKey(key: ListKey, value: string): void {
    switch (key) {
      case 'site':
      case 'arbitrator':
        this.member(key, value);
        return;
      case 'ticket':
        this.ticket(value);
        return;
      case tollboothKeys.memberKey: {
        const words = value.split(/[\t\n\v\f\r ]+/).filter((word) => word !== '');
        const [address, keyText] = words;
        if (words.length !== 2 || address === undefined || keyText === undefined) {
          this.report(this.line, 'error', `${key}: expected "<member address> <base64 Ed25519 public key>"`, key);
          return;
        }
        const publicKey = this.accept(key, parsePublicKey(keyText));
        if (publicKey !== undefined) this.document.memberKeys.push({ address, publicKey, line: this.line });
        return;
      }
      case tollboothKeys.adminKey: {
        if (this.document.adminKeys.length >= adminKeyCountMax) {
          this.report(this.line, 'error', `${key}: more than ${adminKeyCountMax} admin keys`, key);
          return;
        }
        const publicKey = this.accept(key, parsePublicKey(value));
        if (publicKey !== undefined) this.document.adminKeys.push({ publicKey, line: this.line });
        return;
      }
    }
  }

  private member(kind: MemberKind, value: string): void {
    const members = this.document.members;
    if (members.length >= memberCountMax) {
      this.report(this.line, 'error', `${kind}: more than ${memberCountMax} members; booth allows at most ${memberCountMax} site and arbitrator lines`, kind);
      return;
    }
    if (byteLength(value) > memberAddressBytesMax) {
      this.report(this.line, 'error', `${kind}: the address is longer than ${memberAddressBytesMax} bytes`, kind);
      return;
    }
    const parsed = parseMemberAddress(value);
    if (parsed === null) {
      this.report(this.line, 'error', `${kind}: "${value}" is not an IPv4 address, an IPv6 address or a host name`, kind);
      return;
    }
    members.push({ kind, address: value, parsed, line: this.line });
  }

  private ticket(name: string): void {
    this.currentKeyLines = new Map();
    const tickets = this.document.tickets;
    if (name === defaultsTicketName) {
      const first = tickets[0];
      if (first !== undefined) {
        this.report(
          this.line,
          'warning',
          `"${defaultsTicketName}" comes after ticket "${first.name}" (line ${first.line}): booth applies it only to the tickets that follow; put it before the first ticket`,
          'ticket',
        );
      }
      this.current = this.defaults;
      return;
    }
    // Every ticket starts as a copy of what __defaults__ passes on, as booth's add_ticket does.
    const block = newTicketBlock(name, this.line);
    const defaults = this.defaults;
    block.mode = defaults.mode;
    block.expireMs = defaults.expireMs;
    block.timeoutMs = defaults.timeoutMs;
    block.retries = defaults.retries;
    block.weights = [...defaults.weights];
    block.revokeLeadMs = defaults.revokeLeadMs;
    for (const key of inheritedTicketKeys) {
      const line = defaults.valueLines[key];
      if (line !== undefined) block.valueLines[key] = line;
    }
    // A rejected ticket still collects its keys, so that they are checked and
    // do not cascade into "key before the first ticket" errors.
    this.current = block;

    const reason = this.ticketNameProblem(name);
    if (reason !== null) {
      this.report(this.line, 'error', reason, 'ticket');
      return;
    }
    if (tickets.length >= ticketCountMax) {
      this.report(this.line, 'error', `more than ${ticketCountMax} tickets`, 'ticket');
      return;
    }
    tickets.push(block);
    this.ticketLines.set(name, block.line);
  }

  private ticketNameProblem(name: string): string | null {
    if (name === '') return 'ticket: the name is empty';
    if (byteLength(name) > ticketNameBytesMax) return `ticket: the name "${name}" is longer than ${ticketNameBytesMax} bytes`;
    if (!/^[A-Za-z0-9/-]+$/.test(name)) {
      const detail = name.includes('_') ? ' ("_" is not allowed)' : '';
      return `ticket: the name "${name}" may contain only letters, digits, "-" and "/"${detail}`;
    }
    if (!/^[A-Za-z]/.test(name) || name.includes('/')) {
      return `ticket: the name "${name}" is not usable in the CIB: ticket ids there are XML IDs (start with a letter; no "/")`;
    }
    const earlier = this.ticketLines.get(name);
    if (earlier !== undefined) return `ticket: "${name}" is already defined on line ${earlier}`;
    return null;
  }

  private ticketKey(key: TicketKey, value: string): void {
    const block = this.current;
    if (block === null) {
      this.report(this.line, 'error', `"${key}" is a per-ticket key; it must follow a "ticket" line`, key);
      return;
    }
    const isDefaults = block === this.defaults;
    if (isDefaults && !inheritedTicketKeys.includes(key)) {
      this.report(
        this.line,
        'warning',
        `"${key}" in ${defaultsTicketName} has no effect: only ${inheritedTicketKeys.join(', ')} are passed on to later tickets`,
        key,
      );
    }
    const applied = this.applyTicketValue(block, key, value);
    if (!applied) return;
    const previous = this.currentKeyLines.get(key);
    if (previous !== undefined && key !== 'attr-prereq') {
      const where = isDefaults ? defaultsTicketName : `ticket "${block.name}"`;
      this.report(this.line, 'warning', `"${key}" was already set for ${where} on line ${previous}; this line overrides it`, key);
    }
    this.currentKeyLines.set(key, this.line);
    block.valueLines[key] = this.line;
  }

  /** Stores the value in the block; false if it was rejected (and reported). */
  private applyTicketValue(block: TicketBlock, key: TicketKey, value: string): boolean {
    switch (key) {
      case 'expire':
      case 'timeout':
      case 'renewal-freq':
      case 'acquire-after':
      case tollboothKeys.revokeLead: {
        const ms = this.accept(key, parseConfigTime(value));
        if (ms === undefined) return false;
        if (key === 'expire') block.expireMs = ms;
        else if (key === 'timeout') block.timeoutMs = ms;
        else if (key === 'renewal-freq') block.renewalFreqMs = ms;
        else if (key === 'acquire-after') block.acquireAfterMs = ms;
        else block.revokeLeadMs = ms;
        return true;
      }
      case 'retries': {
        const retries = this.accept(key, parseRetries(value));
        if (retries === undefined) return false;
        block.retries = retries;
        return true;
      }
      case 'weights': {
        const weights = this.accept(key, parseWeights(value));
        if (weights === undefined) return false;
        block.weights = weights;
        return true;
      }
      case 'before-acquire-handler': {
        const handler = this.accept(key, parseHandler(value));
        if (handler === undefined) return false;
        block.beforeAcquireHandler = handler;
        return true;
      }
      case 'attr-prereq': {
        if (block.attrPrereqs.length >= attrPrereqCountMax) {
          this.report(this.line, 'error', `attr-prereq: more than ${attrPrereqCountMax} for one ticket`, key);
          return false;
        }
        const prereq = this.accept(key, parseAttrPrereq(value));
        if (prereq === undefined) return false;
        block.attrPrereqs.push(prereq);
        return true;
      }
      case 'mode': {
        const mode = this.accept(key, parseTicketMode(value));
        if (mode === undefined) return false;
        block.mode = mode;
        return true;
      }
    }
  }
}

/** A hint for common slips: a tollbooth key without its prefix, `_` for `-`, booth's documented-only key. */
function unknownKeyHint(key: string): string {
  if (key === 'exclude_site') return ': booth documents it but never implemented it';
  const candidates = [`tollbooth-${key}`, key.replaceAll('_', '-'), `tollbooth-${key.replaceAll('_', '-')}`];
  const match = candidates.find((candidate) => candidate !== key && keySpecs.has(candidate));
  return match === undefined ? '' : ` (did you mean "${match}"?)`;
}
