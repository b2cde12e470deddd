// Runtime validation of the core's protocol messages (DESIGN.md §7: bad input
// of any kind is dropped and counted, never reaches the core).
//
// decodeEnvelope() proves who sent a payload, not what it is: a signed frame
// from a member running a buggy or newer build can still carry a payload of
// the wrong shape. parseMessage() is the gate between that JSON and the core's
// `Message` type: it checks every field of every message type (and the nested
// Entry, EntryData, Snapshot, TicketDef, SiteHealth…) for its JSON type, its
// enum values, and its bounds, and returns a reason instead of throwing.
//
// Three choices, and why:
//  - The result is a fresh object built from the checked fields only. Extra
//    keys are tolerated (a newer sender may add optional fields) but never
//    passed on, so nothing unchecked reaches the core, and maps fed by remote
//    input (ticket weights, attributes) are built with a null prototype, so a
//    key such as "__proto__" or "toString" is plain data.
//  - The bounds are at least as wide as anything a correct member can send
//    (the config and the core enforce tighter ones: ticket names of 63 bytes,
//    64 entries per append, 256-character attributes). A bound tighter than
//    what the leader may legitimately replicate would make followers refuse
//    one log entry forever and wedge replication, which is worse than the
//    bound's protection. The frame size (messageBytesMax) caps the total.
//  - Only values a JSON parser can produce pass: safe integers for terms,
//    indexes, generations and times; well-formed Unicode without NUL (names
//    end up in crm_ticket argv, where NUL cannot be passed); no functions,
//    no undefined, no inherited properties.
import {
  siteHealthRumorKind,
  ticketRumorKind,
  type Cause,
  type Entry,
  type EntryData,
  renewAllRefusals,
  renewRefusalsMax,
  type ForcedRemovalNote,
  type RaftMessage,
  type RenewGrant,
  type RenewItem,
  type RenewRefusal,
  type Requester,
  type SiteHealth,
  type Snapshot,
  type TicketRumor,
} from '../core/messages.js';
import { historyRecordsLimit, type HistoryRecord, type TableSnapshot, type TicketState } from '../core/tickets/ticket-table.js';
import { swimMessageTypes, swimStates, type MemberUpdate, type Rumor, type SwimMessage } from '../core/gossip/messages.js';
import { claimSignatureChars } from './claim-signer.js';
import {
  generation,
  index,
  memberId,
  ms,
  term,
  type Generation,
  type Index,
  type Member,
  type MemberId,
  type MemberKind,
  type Ms,
  type Term,
  type TicketDef,
  type TicketMode,
} from '../core/types.js';
import { Buffer } from 'node:buffer';
import { envelopeOverheadBytesMax, memberIdBytesMax } from './envelope.js';
import { defaultLimits, type CoreTiming } from '../core/config.js';

/** The drift bound's ceiling (core/config.ts validateCoreConfig: [0, 100000] ppm). */
const clockDriftPpmLimit = 100_000;
import { TollboothError } from '../errors.js';

export interface MessageSchemaLimits {
  /** Members in a config entry or snapshot (and weights per ticket). */
  readonly membersMax: number;
  /** Tickets in a snapshot, renewal, renewal reply or unrunnable list. */
  readonly ticketsMax: number;
  /** Entries in one append (the core sends entriesPerAppendMax, default 64). */
  readonly entriesMax: number;
  /** History records in a snapshot (a table keeps at most historyRecordsLimit; members before protocol 1.1 accepted 1024). */
  readonly historyRecordsMax: number;
  /** Attributes per ticket (core default attrsPerTicketMax 64). */
  readonly attrsPerTicketMax: number;
  /** UTF-16 code units in an attribute name or value, as the core counts them (default attrCharsMax 256). */
  readonly attrCharsMax: number;
  /** UTF-8 bytes in a ticket name (booth and validateTicketDef allow 63). */
  readonly ticketNameBytesMax: number;
  /** UTF-16 code units in an admin command id. */
  readonly commandIdCharsMax: number;
  /** Membership updates plus rumors in one gossip message (the core reads at most itemsPerMessageMax, 64). */
  readonly gossipItemsMax: number;
  /** Characters of snapshot text in one snapshot-chunk (the core sends at most its snapshotChunkBytesMax). */
  readonly snapshotChunkBytesMax: number;
}

export const messageSchemaLimitsDefault: MessageSchemaLimits = {
  membersMax: 256,
  ticketsMax: defaultLimits.ticketCountMax,
  entriesMax: 4096,
  historyRecordsMax: historyRecordsLimit,
  attrsPerTicketMax: 1024,
  attrCharsMax: 4096,
  ticketNameBytesMax: 128,
  commandIdCharsMax: 256,
  gossipItemsMax: 64,
  snapshotChunkBytesMax: defaultLimits.snapshotChunkBytesMax,
};

/** Characters of a snapshot digest (snapshot-codec.ts: SHA-256 in hex is 64). */
export const snapshotDigestCharsMax = 128;
/** What a snapshot chunk's data may hold: base64 (snapshot-codec.ts), so each character is one byte on the wire. */
const base64Text = /^[A-Za-z0-9+/=]*$/;

/** Lengths of a history record's `change` text ("attr-set <name>"): the name plus a short verb. */
const changeVerbCharsMax = 32;
/** An automatic cause's detail (lease-office.ts placeTickets: a sentence naming a member twice). */
const causeDetailCharsMax = 512;
/** A user name (NSS allows long ones; useradd's limit is 32) or the name a client claims. */
const userNameCharsMax = 256;
/** A uid or pid: 32 bits on Linux. */
const uint32Max = 0xffff_ffff;
/** An admin key's id (`admin:` and 16 characters of base64, libp2p-transport.ts adminSenderPrefix), with room. */
const adminKeyIdCharsMax = 64;

export type ParseResult<T> = { readonly ok: true; readonly msg: T } | { readonly ok: false; readonly reason: string };

/** Thrown inside the parser only; parseMessage turns it into a result. */
class Invalid extends TollboothError<'MESSAGE_INVALID'> {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super('MESSAGE_INVALID', `${path}: ${problem}`, { details: { path, problem } });
  }
}

type Json = Readonly<Record<string, unknown>>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return `string(${value.length})`;
  if (typeof value === 'number') return Number.isFinite(value) ? `number ${value}` : String(value);
  return typeof value;
}

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Invalid(path, `expected an object, got ${describe(value)}`);
  }
  return value as Json;
}

/** Own properties only: an inherited `toString` is not a field. */
function field(obj: Json, key: string, path: string): unknown {
  if (!Object.hasOwn(obj, key)) throw new Invalid(`${path}.${key}`, 'missing');
  return obj[key];
}

/**
 * Parses each item of a bounded array. Indexes are read one by one, never
 * with map/forEach, which skip the holes of a sparse array: a hole must be
 * refused like any other missing value, not passed on as a hole.
 */
function list<T>(value: unknown, path: string, lengthMax: number, item: (v: unknown, at: string) => T): T[] {
  if (!Array.isArray(value)) throw new Invalid(path, `expected an array, got ${describe(value)}`);
  const items = value as readonly unknown[];
  if (items.length > lengthMax) throw new Invalid(path, `${items.length} items, limit ${lengthMax}`);
  const out: T[] = [];
  for (let i = 0; i < items.length; i += 1) out.push(item(items[i], `${path}[${i}]`));
  return out;
}

/** An optional field: absent (undefined) or parsed. */
function optional<T>(obj: Json, key: string, path: string, parse: (v: unknown, at: string) => T): T | undefined {
  return Object.hasOwn(obj, key) ? parse(obj[key], `${path}.${key}`) : undefined;
}

/** The optional incarnation tag of a message that counts toward a majority (absent: 0, and left out). */
function incTag(obj: Json, path: string): { inc?: number } {
  const inc = optional(obj, 'inc', path, uint);
  return inc === undefined || inc === 0 ? {} : { inc };
}

/** A join answer's optional fields (docs/protocol.md §10): the answering store's incarnation, and `vouch` (true or absent). */
function joinVouch(obj: Json, path: string): { ownInc?: number; vouch?: true } {
  const ownInc = optional(obj, 'ownInc', path, uint);
  const vouch = optional(obj, 'vouch', path, boolean);
  if (vouch === false) throw new Invalid(`${path}.vouch`, 'expected true or no field, got false');
  return { ...(ownInc === undefined ? {} : { ownInc }), ...(vouch === true ? { vouch } : {}) };
}

/** Base64 of an Ed25519 public key's 32 raw bytes: 44 characters, one '=' of padding. */
const publicKeyBase64 = /^[A-Za-z0-9+/]{43}=$/;

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new Invalid(path, `expected a boolean, got ${describe(value)}`);
  return value;
}

/** A non-negative safe integer: exact in a JS number and in every member's arithmetic. */
function uint(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Invalid(path, `expected an integer in [0, 2^53 − 1], got ${describe(value)}`);
  }
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Invalid(path, `expected a finite number, got ${describe(value)}`);
  return value;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const controlChar = /[\u0000-\u001f\u007f]/;
const textEncoder = new TextEncoder();

/** Well-formed Unicode (so UTF-8 round-trips), no NUL, within `charsMax` UTF-16 code units. */
function text(value: unknown, path: string, charsMax: number, allowEmpty = true): string {
  if (typeof value !== 'string') throw new Invalid(path, `expected a string, got ${describe(value)}`);
  if (value.length > charsMax) throw new Invalid(path, `${value.length} characters, limit ${charsMax}`);
  if (!allowEmpty && value.length === 0) throw new Invalid(path, 'must not be empty');
  if (value.includes('\0')) throw new Invalid(path, 'contains NUL');
  if (loneSurrogate.test(value)) throw new Invalid(path, 'not well-formed Unicode (lone surrogate)');
  return value;
}

/** A name: non-empty, no control characters, at most `bytesMax` bytes of UTF-8. */
function name(value: unknown, path: string, bytesMax: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, and at least one: check the cheap bound first.
  const s = text(value, path, bytesMax, false);
  if (controlChar.test(s)) throw new Invalid(path, 'contains a control character');
  const bytes = textEncoder.encode(s).byteLength;
  if (bytes > bytesMax) throw new Invalid(path, `${bytes} bytes of UTF-8, limit ${bytesMax}`);
  return s;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new Invalid(path, `expected one of ${allowed.join('|')}, got ${describe(value)}`);
  }
  return value as T;
}

class Parser {
  constructor(private readonly limits: MessageSchemaLimits) {}

  memberId(value: unknown, path: string): MemberId {
    return memberId(name(value, path, memberIdBytesMax));
  }

  ticketName(value: unknown, path: string): string {
    return name(value, path, this.limits.ticketNameBytesMax);
  }

  term(value: unknown, path: string): Term {
    return term(uint(value, path));
  }

  index(value: unknown, path: string): Index {
    return index(uint(value, path));
  }

  generation(value: unknown, path: string): Generation {
    return generation(uint(value, path));
  }

  ms(value: unknown, path: string): Ms {
    return ms(uint(value, path));
  }

  member(value: unknown, path: string): Member {
    const o = object(value, path);
    const kinds: readonly MemberKind[] = ['site', 'arbitrator'];
    const incarnation = optional(o, 'incarnation', path, uint);
    const voter = optional(o, 'voter', path, boolean);
    const key = optional(o, 'key', path, (v, at) => {
      const k = text(v, at, 44, false);
      if (!publicKeyBase64.test(k)) throw new Invalid(at, 'not the base64 of a 32-byte Ed25519 public key');
      return k;
    });
    return {
      id: this.memberId(field(o, 'id', path), `${path}.id`),
      kind: oneOf(field(o, 'kind', path), `${path}.kind`, kinds),
      ...(incarnation === undefined || incarnation === 0 ? {} : { incarnation }),
      ...(voter === undefined || voter ? {} : { voter: false }),
      ...(key === undefined ? {} : { key }),
    };
  }

  members(value: unknown, path: string): Member[] {
    return list(value, path, this.limits.membersMax, (m, at) => this.member(m, at));
  }

  forcedNote(value: unknown, path: string): ForcedRemovalNote {
    const o = object(value, path);
    const requester = optional(o, 'requester', path, (v, at) => this.requester(v, at));
    return {
      removed: list(field(o, 'removed', path), `${path}.removed`, this.limits.membersMax, (m, at) => this.memberId(m, at)),
      commandId: text(field(o, 'commandId', path), `${path}.commandId`, this.limits.commandIdCharsMax),
      ...(requester === undefined ? {} : { requester }),
    };
  }

  cause(value: unknown, path: string): Cause {
    const o = object(value, path);
    const by = oneOf(field(o, 'by', path), `${path}.by`, ['admin', 'auto'] as const);
    // requester and detail: added in protocol 1.1, optional (absent in entries of older leaders).
    if (by === 'admin') {
      const requester = optional(o, 'requester', path, (v, at) => this.requester(v, at));
      return {
        by,
        commandId: text(field(o, 'commandId', path), `${path}.commandId`, this.limits.commandIdCharsMax),
        force: boolean(field(o, 'force', path), `${path}.force`),
        ...(requester === undefined ? {} : { requester }),
      };
    }
    const detail = optional(o, 'detail', path, (v, at) => text(v, at, causeDetailCharsMax));
    return { by, reason: oneOf(field(o, 'reason', path), `${path}.reason`, ['initial', 'failover'] as const), ...(detail === undefined ? {} : { detail }) };
  }

  /** Who asked for an admin command (core/messages.ts Requester). */
  requester(value: unknown, path: string): Requester {
    const o = object(value, path);
    const via = oneOf(field(o, 'via', path), `${path}.via`, ['socket', 'admin-key'] as const);
    const member = this.memberId(field(o, 'member', path), `${path}.member`);
    if (via === 'admin-key') return { via, member, keyId: name(field(o, 'keyId', path), `${path}.keyId`, adminKeyIdCharsMax) };
    const id32 = (key: string): number => {
      const v = uint(field(o, key, path), `${path}.${key}`);
      if (v > uint32Max) throw new Invalid(`${path}.${key}`, `${v} exceeds ${uint32Max}`);
      return v;
    };
    const user = field(o, 'user', path);
    const claimedUser = optional(o, 'claimedUser', path, (v, at) => name(v, at, userNameCharsMax));
    return {
      via,
      member,
      uid: id32('uid'),
      user: user === null ? null : name(user, `${path}.user`, userNameCharsMax),
      pid: id32('pid'),
      ...(claimedUser === undefined ? {} : { claimedUser }),
    };
  }

  ticketDef(value: unknown, path: string): TicketDef {
    const o = object(value, path);
    const modes: readonly TicketMode[] = ['automatic', 'manual'];
    const rawWeights = object(field(o, 'weights', path), `${path}.weights`);
    const weightKeys = Object.keys(rawWeights);
    if (weightKeys.length > this.limits.membersMax) {
      throw new Invalid(`${path}.weights`, `${weightKeys.length} entries, limit ${this.limits.membersMax}`);
    }
    const weights = Object.create(null) as Record<string, number>;
    for (const key of weightKeys) {
      const at = `${path}.weights[${JSON.stringify(key.slice(0, 80))}]`;
      this.memberId(key, at);
      weights[key] = finite(rawWeights[key], at);
    }
    return {
      name: this.ticketName(field(o, 'name', path), `${path}.name`),
      mode: oneOf(field(o, 'mode', path), `${path}.mode`, modes),
      leaseDurationMs: uint(field(o, 'leaseDurationMs', path), `${path}.leaseDurationMs`),
      acquireAfterMs: uint(field(o, 'acquireAfterMs', path), `${path}.acquireAfterMs`),
      revokeLeadMs: uint(field(o, 'revokeLeadMs', path), `${path}.revokeLeadMs`),
      weights,
    };
  }

  attrKey(value: unknown, path: string): string {
    return text(value, path, this.limits.attrCharsMax, false);
  }

  attrValue(value: unknown, path: string): string {
    return text(value, path, this.limits.attrCharsMax);
  }

  entryData(value: unknown, path: string): EntryData {
    const o = object(value, path);
    const types = ['noop', 'config', 'grant', 'grant-batch', 'revoke', 'standby', 'attr-set', 'attr-delete', 'ticket-add', 'ticket-remove', 'ticket-change'] as const;
    const type = oneOf(field(o, 'type', path), `${path}.type`, types);
    const get = (key: string): unknown => field(o, key, path);
    const at = (key: string): string => `${path}.${key}`;
    switch (type) {
      case 'noop':
        return { type };
      case 'config':
      {
        const forced = optional(o, 'forced', path, (v, p) => this.forcedNote(v, p));
        return { type, members: this.members(get('members'), at('members')), ...(forced === undefined ? {} : { forced }) };
      }
      case 'grant':
        return {
          type,
          ticket: this.ticketName(get('ticket'), at('ticket')),
          site: this.memberId(get('site'), at('site')),
          expectedGeneration: this.generation(get('expectedGeneration'), at('expectedGeneration')),
          cause: this.cause(get('cause'), at('cause')),
        };
      case 'grant-batch': {
        // Protocol 1.2: a batch no longer than a table (ticketsMax), each item checked as a grant is.
        const grants = list(get('grants'), at('grants'), this.limits.ticketsMax, (g, p) => {
          const item = object(g, p);
          return {
            ticket: this.ticketName(field(item, 'ticket', p), `${p}.ticket`),
            site: this.memberId(field(item, 'site', p), `${p}.site`),
            expectedGeneration: this.generation(field(item, 'expectedGeneration', p), `${p}.expectedGeneration`),
          };
        });
        if (grants.length === 0) throw new Invalid(at('grants'), 'a grant batch names at least one ticket');
        return { type, grants, cause: this.cause(get('cause'), at('cause')) };
      }
      case 'revoke':
        return {
          type,
          ticket: this.ticketName(get('ticket'), at('ticket')),
          expectedGeneration: this.generation(get('expectedGeneration'), at('expectedGeneration')),
          cause: this.cause(get('cause'), at('cause')),
        };
      case 'standby':
        return {
          type,
          ticket: this.ticketName(get('ticket'), at('ticket')),
          standby: boolean(get('standby'), at('standby')),
          cause: this.cause(get('cause'), at('cause')),
        };
      case 'attr-set':
        return {
          type,
          ticket: this.ticketName(get('ticket'), at('ticket')),
          key: this.attrKey(get('key'), at('key')),
          value: this.attrValue(get('value'), at('value')),
          cause: this.cause(get('cause'), at('cause')),
        };
      case 'attr-delete':
        return {
          type,
          ticket: this.ticketName(get('ticket'), at('ticket')),
          key: this.attrKey(get('key'), at('key')),
          cause: this.cause(get('cause'), at('cause')),
        };
      case 'ticket-add':
      case 'ticket-change':
        return { type, def: this.ticketDef(get('def'), at('def')), cause: this.cause(get('cause'), at('cause')) };
      case 'ticket-remove':
        return { type, ticket: this.ticketName(get('ticket'), at('ticket')), cause: this.cause(get('cause'), at('cause')) };
    }
  }

  entry(value: unknown, path: string): Entry {
    const o = object(value, path);
    const wallMs = optional(o, 'wallMs', path, uint);
    return {
      index: this.index(field(o, 'index', path), `${path}.index`),
      term: this.term(field(o, 'term', path), `${path}.term`),
      data: this.entryData(field(o, 'data', path), `${path}.data`),
      ...(wallMs === undefined ? {} : { wallMs }),
    };
  }

  ticketState(value: unknown, path: string): TicketState {
    const o = object(value, path);
    const holder = field(o, 'holder', path);
    const rawAttrs = object(field(o, 'attrs', path), `${path}.attrs`);
    const attrKeys = Object.keys(rawAttrs);
    if (attrKeys.length > this.limits.attrsPerTicketMax) {
      throw new Invalid(`${path}.attrs`, `${attrKeys.length} entries, limit ${this.limits.attrsPerTicketMax}`);
    }
    const attrs = Object.create(null) as Record<string, string>;
    for (const key of attrKeys) {
      const at = `${path}.attrs[${JSON.stringify(key.slice(0, 80))}]`;
      this.attrKey(key, at);
      attrs[key] = this.attrValue(rawAttrs[key], at);
    }
    const def = this.ticketDef(field(o, 'def', path), `${path}.def`);
    let honoured: number | undefined;
    if (Object.hasOwn(o, 'leaseDurationHonouredMs')) {
      // Present only while a shortened lease is still owed (ticket-table.ts): longer than the def's, or it means nothing.
      honoured = uint(o.leaseDurationHonouredMs, `${path}.leaseDurationHonouredMs`);
      if (honoured <= def.leaseDurationMs) throw new Invalid(`${path}.leaseDurationHonouredMs`, `${honoured} must exceed def.leaseDurationMs ${def.leaseDurationMs}`);
    }
    return {
      def,
      holder: holder === null ? null : this.memberId(holder, `${path}.holder`),
      generation: this.generation(field(o, 'generation', path), `${path}.generation`),
      standby: boolean(field(o, 'standby', path), `${path}.standby`),
      managed: boolean(field(o, 'managed', path), `${path}.managed`),
      attrs,
      ...(honoured === undefined ? {} : { leaseDurationHonouredMs: honoured }),
    };
  }

  historyRecord(value: unknown, path: string): HistoryRecord {
    const o = object(value, path);
    const holder = field(o, 'holder', path);
    const wallMs = optional(o, 'wallMs', path, uint);
    return {
      index: this.index(field(o, 'index', path), `${path}.index`),
      ticket: this.ticketName(field(o, 'ticket', path), `${path}.ticket`),
      change: text(field(o, 'change', path), `${path}.change`, this.limits.attrCharsMax + changeVerbCharsMax),
      holder: holder === null ? null : this.memberId(holder, `${path}.holder`),
      generation: this.generation(field(o, 'generation', path), `${path}.generation`),
      cause: this.cause(field(o, 'cause', path), `${path}.cause`),
      ...(wallMs === undefined ? {} : { wallMs }),
    };
  }

  table(value: unknown, path: string): TableSnapshot {
    const o = object(value, path);
    // configVersion and timing are absent in snapshots older than them (ticket-table.ts): optional, checked when present.
    const version = Object.hasOwn(o, 'configVersion') ? uint(o.configVersion, `${path}.configVersion`) : undefined;
    const timing = Object.hasOwn(o, 'timing') ? this.timing(o.timing, `${path}.timing`) : undefined;
    return {
      tickets: list(field(o, 'tickets', path), `${path}.tickets`, this.limits.ticketsMax, (t, at) => this.ticketState(t, at)),
      history: list(field(o, 'history', path), `${path}.history`, this.limits.historyRecordsMax, (h, at) => this.historyRecord(h, at)),
      ...(version === undefined ? {} : { configVersion: version }),
      ...(timing === undefined ? {} : { timing }),
    };
  }

  /** Formation timings as committed (core/config.ts CoreTiming): each a positive integer of ms, the drift bound in [0, 100000] ppm. */
  timing(value: unknown, path: string): CoreTiming {
    const o = object(value, path);
    const positive = (key: string): number => {
      const v = uint(field(o, key, path), `${path}.${key}`);
      if (v === 0) throw new Invalid(`${path}.${key}`, 'must be positive');
      return v;
    };
    const drift = uint(field(o, 'clockDriftPpmMax', path), `${path}.clockDriftPpmMax`);
    if (drift > clockDriftPpmLimit) throw new Invalid(`${path}.clockDriftPpmMax`, `${drift} exceeds ${clockDriftPpmLimit}`);
    return {
      heartbeatIntervalMs: positive('heartbeatIntervalMs'),
      electionTimeoutMs: positive('electionTimeoutMs'),
      renewIntervalMs: positive('renewIntervalMs'),
      renewRetryMs: positive('renewRetryMs'),
      clockDriftPpmMax: drift,
      effectRetryMs: positive('effectRetryMs'),
      siteAliveWindowMs: positive('siteAliveWindowMs'),
    };
  }

  snapshot(value: unknown, path: string): Snapshot {
    const o = object(value, path);
    return {
      index: this.index(field(o, 'index', path), `${path}.index`),
      term: this.term(field(o, 'term', path), `${path}.term`),
      members: this.members(field(o, 'members', path), `${path}.members`),
      table: this.table(field(o, 'table', path), `${path}.table`),
    };
  }

  health(value: unknown, path: string): SiteHealth {
    const o = object(value, path);
    return {
      quorate: boolean(field(o, 'quorate', path), `${path}.quorate`),
      handlersOk: boolean(field(o, 'handlersOk', path), `${path}.handlersOk`),
      unrunnable: list(field(o, 'unrunnable', path), `${path}.unrunnable`, this.limits.ticketsMax, (n, at) => this.ticketName(n, at)),
    };
  }

  renewItems(value: unknown, path: string): RenewItem[] {
    return list(value, path, this.limits.ticketsMax, (item, at) => {
      const o = object(item, at);
      return { name: this.ticketName(field(o, 'name', at), `${at}.name`), generation: this.generation(field(o, 'generation', at), `${at}.generation`) };
    });
  }

  /** A renew-resp's granted items: a renew item, and the D the leader dated its view with (absent from older leaders). */
  renewGrants(value: unknown, path: string): RenewGrant[] {
    return list(value, path, this.limits.ticketsMax, (item, at) => {
      const o = object(item, at);
      const g = { name: this.ticketName(field(o, 'name', at), `${at}.name`), generation: this.generation(field(o, 'generation', at), `${at}.generation`) };
      if (!Object.hasOwn(o, 'leaseDurationMs')) return g;
      const d = uint(o.leaseDurationMs, `${at}.leaseDurationMs`);
      if (d === 0) throw new Invalid(`${at}.leaseDurationMs`, 'must be positive');
      return { ...g, leaseDurationMs: d };
    });
  }

  refusals(value: unknown, path: string, lengthMax = this.limits.ticketsMax): Array<{ name: string; reason: RenewRefusal }> {
    const reasons: readonly RenewRefusal[] = ['not-holder', 'stale-generation', 'change-pending', 'no-such-ticket', 'superseded', 'changed'];
    return list(value, path, lengthMax, (item, at) => {
      const o = object(item, at);
      return { name: this.ticketName(field(o, 'name', at), `${at}.name`), reason: oneOf(field(o, 'reason', at), `${at}.reason`, reasons) };
    });
  }

  /** An answer to a renewal: by list, or by index (`since`, bounded by renewRefusalsMax, maybe refused whole). */
  renewResp(o: Json, path: string, msgTerm: Term): Extract<RaftMessage, { type: 'renew-resp' }> {
    const at = (key: string): string => `${path}.${key}`;
    const since = optional(o, 'since', path, (v, p) => this.index(v, p));
    const refusedAll = optional(o, 'refusedAll', path, (v, p) => oneOf(v, p, renewAllRefusals));
    if (refusedAll !== undefined && since === undefined) throw new Invalid(at('refusedAll'), 'only in an answer by index (since)');
    const byIndex = optional(o, 'renewsByIndex', path, boolean);
    if (byIndex === false) throw new Invalid(at('renewsByIndex'), 'true or absent');
    return {
      type: 'renew-resp',
      term: msgTerm,
      seq: uint(field(o, 'seq', path), at('seq')),
      granted: this.renewGrants(field(o, 'granted', path), at('granted')),
      refused: this.refusals(field(o, 'refused', path), at('refused'), since === undefined ? this.limits.ticketsMax : renewRefusalsMax),
      ...(since === undefined ? {} : { since }),
      ...(refusedAll === undefined ? {} : { refusedAll }),
      ...(byIndex === true ? { renewsByIndex: true as const } : {}),
    };
  }

  update(value: unknown, path: string): MemberUpdate {
    const o = object(value, path);
    return {
      member: this.memberId(field(o, 'member', path), `${path}.member`),
      incarnation: uint(field(o, 'incarnation', path), `${path}.incarnation`),
      state: oneOf(field(o, 'state', path), `${path}.state`, swimStates),
      origin: this.memberId(field(o, 'origin', path), `${path}.origin`),
      sig: text(field(o, 'sig', path), `${path}.sig`, claimSignatureChars),
    };
  }

  /** A rumor: the payload is checked per kind, so the core gets exactly the shape it publishes. */
  rumor(value: unknown, path: string): Rumor {
    const o = object(value, path);
    const kind = oneOf(field(o, 'kind', path), `${path}.kind`, [ticketRumorKind, siteHealthRumorKind] as const);
    const at = `${path}.payload`;
    const raw = field(o, 'payload', path);
    let key: string;
    let payload: unknown;
    if (kind === ticketRumorKind) {
      key = this.ticketName(field(o, 'key', path), `${path}.key`);
      const p = object(raw, at);
      const holder = field(p, 'holder', at);
      const leaseLeftMs = field(p, 'leaseLeftMs', at);
      const ticket: TicketRumor = {
        holder: holder === null ? null : this.memberId(holder, `${at}.holder`),
        generation: this.generation(field(p, 'generation', at), `${at}.generation`),
        standby: boolean(field(p, 'standby', at), `${at}.standby`),
        managed: boolean(field(p, 'managed', at), `${at}.managed`),
        removed: boolean(field(p, 'removed', at), `${at}.removed`),
        leaseLeftMs: leaseLeftMs === null ? null : uint(leaseLeftMs, `${at}.leaseLeftMs`),
      };
      payload = ticket;
    } else {
      key = this.memberId(field(o, 'key', path), `${path}.key`);
      payload = this.health(raw, at);
    }
    return {
      kind,
      key,
      version: uint(field(o, 'version', path), `${path}.version`),
      origin: this.memberId(field(o, 'origin', path), `${path}.origin`),
      payload,
      sig: text(field(o, 'sig', path), `${path}.sig`, claimSignatureChars),
    };
  }

  swimMessage(value: unknown): SwimMessage {
    const path = 'msg';
    const o = object(value, path);
    const type = oneOf(field(o, 'type', path), `${path}.type`, swimMessageTypes);
    const get = (key: string): unknown => field(o, key, path);
    const at = (key: string): string => `${path}.${key}`;
    const updates = list(get('updates'), at('updates'), this.limits.gossipItemsMax, (u, where) => this.update(u, where));
    const rumors = list(get('rumors'), at('rumors'), this.limits.gossipItemsMax, (r, where) => this.rumor(r, where));
    if (updates.length + rumors.length > this.limits.gossipItemsMax) {
      throw new Invalid(path, `${updates.length + rumors.length} updates and rumors, limit ${this.limits.gossipItemsMax}`);
    }
    switch (type) {
      case 'ping':
      case 'ack':
      case 'nack':
        return { type, seq: uint(get('seq'), at('seq')), updates, rumors };
      case 'ping-req':
        return {
          type,
          seq: uint(get('seq'), at('seq')),
          target: this.memberId(get('target'), at('target')),
          timeoutMs: uint(get('timeoutMs'), at('timeoutMs')),
          updates,
          rumors,
        };
      case 'gossip':
        return { type, updates, rumors };
    }
  }

  message(value: unknown): RaftMessage {
    const path = 'msg';
    const o = object(value, path);
    const types = ['pre-vote', 'pre-vote-resp', 'vote', 'vote-resp', 'append', 'append-resp', 'snapshot-chunk', 'snapshot-resp', 'renew', 'renew-resp', 'released', 'join', 'join-resp', 'timeout-now'] as const;
    const type = oneOf(field(o, 'type', path), `${path}.type`, types);
    const get = (key: string): unknown => field(o, key, path);
    const at = (key: string): string => `${path}.${key}`;
    const msgTerm = this.term(get('term'), at('term'));
    switch (type) {
      case 'pre-vote':
      case 'vote':
        return {
          type,
          term: msgTerm,
          lastIndex: this.index(get('lastIndex'), at('lastIndex')),
          lastTerm: this.term(get('lastTerm'), at('lastTerm')),
          ...incTag(o, path),
          ...(type === 'vote' && optional(o, 'transfer', path, boolean) === true ? { transfer: true } : {}),
        };
      case 'pre-vote-resp':
      case 'vote-resp':
        return { type, term: msgTerm, granted: boolean(get('granted'), at('granted')), ...incTag(o, path) };
      case 'join':
        return { type, term: msgTerm, inc: uint(get('inc'), at('inc')) };
      case 'timeout-now':
        return { type, term: msgTerm };
      case 'join-resp': {
        const leader = get('leader');
        return {
          type,
          term: msgTerm,
          inc: uint(get('inc'), at('inc')),
          empty: boolean(get('empty'), at('empty')),
          leader: leader === null ? null : this.memberId(leader, at('leader')),
          ...joinVouch(o, path),
        };
      }
      case 'append':
        return {
          type,
          term: msgTerm,
          prevIndex: this.index(get('prevIndex'), at('prevIndex')),
          prevTerm: this.term(get('prevTerm'), at('prevTerm')),
          entries: list(get('entries'), at('entries'), this.limits.entriesMax, (e, where) => this.entry(e, where)),
          commit: this.index(get('commit'), at('commit')),
          sentAt: this.ms(get('sentAt'), at('sentAt')),
        };
      case 'append-resp':
        return {
          type,
          term: msgTerm,
          success: boolean(get('success'), at('success')),
          index: this.index(get('index'), at('index')),
          sentAt: this.ms(get('sentAt'), at('sentAt')),
          ...incTag(o, path),
        };
      case 'snapshot-chunk': {
        const data = text(get('data'), at('data'), this.limits.snapshotChunkBytesMax);
        if (!base64Text.test(data)) throw new Invalid(at('data'), 'not base64 text');
        return {
          type,
          term: msgTerm,
          index: this.index(get('index'), at('index')),
          lastTerm: this.term(get('lastTerm'), at('lastTerm')),
          totalBytes: uint(get('totalBytes'), at('totalBytes')),
          digest: text(get('digest'), at('digest'), snapshotDigestCharsMax, false),
          offset: uint(get('offset'), at('offset')),
          data,
          sentAt: this.ms(get('sentAt'), at('sentAt')),
        };
      }
      case 'snapshot-resp':
        return {
          type,
          term: msgTerm,
          index: this.index(get('index'), at('index')),
          lastTerm: this.term(get('lastTerm'), at('lastTerm')),
          digest: text(get('digest'), at('digest'), snapshotDigestCharsMax, false),
          offset: uint(get('offset'), at('offset')),
          sentAt: this.ms(get('sentAt'), at('sentAt')),
          ...incTag(o, path),
        };
      case 'renew':
        if (Object.hasOwn(o, 'since')) {
          // By index (protocol 1.1, docs/protocol.md §3): `since` and `except` instead of a list.
          if (Object.hasOwn(o, 'tickets')) throw new Invalid(at('tickets'), 'a renewal by index (since) lists no tickets');
          return {
            type,
            term: msgTerm,
            seq: uint(get('seq'), at('seq')),
            since: this.index(get('since'), at('since')),
            except: list(get('except'), at('except'), this.limits.ticketsMax, (n, p) => this.ticketName(n, p)),
            health: this.health(get('health'), at('health')),
            ...incTag(o, path),
          };
        }
        return {
          type,
          term: msgTerm,
          seq: uint(get('seq'), at('seq')),
          tickets: this.renewItems(get('tickets'), at('tickets')),
          health: this.health(get('health'), at('health')),
          ...incTag(o, path),
        };
      case 'renew-resp':
        return this.renewResp(o, path, msgTerm);
      case 'released':
        return {
          type,
          term: msgTerm,
          name: this.ticketName(get('name'), at('name')),
          generation: this.generation(get('generation'), at('generation')),
          health: this.health(get('health'), at('health')),
          seqFloor: uint(get('seqFloor'), at('seqFloor')),
          ...incTag(o, path),
        };
    }
  }
}

const defaultParser = new Parser(messageSchemaLimitsDefault);

/**
 * Checks a decoded JSON payload of a 'gossip' frame against the SwimMessage
 * union, rumor payloads per kind included. Never throws, like parseMessage.
 */
export function parseSwimMessage(json: unknown, limits?: MessageSchemaLimits): ParseResult<SwimMessage> {
  const parser = limits === undefined ? defaultParser : new Parser(limits);
  try {
    return { ok: true, msg: parser.swimMessage(json) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message.slice(0, reasonCharsMax) };
    return { ok: false, reason: `not plain JSON data (${error instanceof Error ? error.name : typeof error} thrown)` };
  }
}

/**
 * The largest `renew` a site holding every one of these tickets can send, as
 * frame bytes: every ticket listed with a generation of 16 digits, and named
 * again as unrunnable in its health. A renewal is one frame (it is answered
 * whole), so a formation whose tickets do not fit cannot be renewed: the
 * config check refuses it (src/config/validate.ts). The answer (`renew-resp`)
 * lists each ticket once, in fewer bytes.
 */
export function renewalFrameBytesMax(ticketNames: readonly string[]): number {
  const envelope = { type: 'renew', term: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, tickets: [], health: { quorate: false, handlersOk: false, unrunnable: [] } };
  let bytes = envelopeOverheadBytesMax + Buffer.byteLength(JSON.stringify(envelope), 'utf8');
  for (const name of ticketNames) {
    const quoted = Buffer.byteLength(JSON.stringify(name), 'utf8');
    // {"name":…,"generation":9007199254740991}, and …, in unrunnable
    bytes += quoted + Buffer.byteLength('{"name":,"generation":9007199254740991},', 'utf8') + quoted + 1;
  }
  return bytes;
}

/** Checks a decoded JSON value against the TicketDef shape (an admin request's ticket, issue 11). Never throws. */
export function parseTicketDef(json: unknown, path = 'def', limits?: MessageSchemaLimits): { ok: true; def: TicketDef } | { ok: false; reason: string } {
  const parser = limits === undefined ? defaultParser : new Parser(limits);
  try {
    return { ok: true, def: parser.ticketDef(json, path) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message.slice(0, reasonCharsMax) };
    return { ok: false, reason: `not plain JSON data (${error instanceof Error ? error.name : typeof error} thrown)` };
  }
}

/** Checks who asked for an admin command, as a member forwarding it to the leader says (admin-service.ts). Never throws. */
export function parseRequester(json: unknown, path = 'requester'): { ok: true; requester: Requester } | { ok: false; reason: string } {
  try {
    return { ok: true, requester: defaultParser.requester(json, path) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message.slice(0, reasonCharsMax) };
    return { ok: false, reason: `not plain JSON data (${error instanceof Error ? error.name : typeof error} thrown)` };
  }
}

/**
 * Checks a decoded JSON value against the Snapshot shape (an assembled snapshot,
 * snapshot-codec.ts). The result is built from the checked fields in a fixed
 * order, so equal snapshots serialise equally. Never throws.
 */
export function parseSnapshot(json: unknown, limits?: MessageSchemaLimits): { ok: true; snapshot: Snapshot } | { ok: false; reason: string } {
  const parser = limits === undefined ? defaultParser : new Parser(limits);
  try {
    return { ok: true, snapshot: parser.snapshot(json, 'snapshot') };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message.slice(0, reasonCharsMax) };
    return { ok: false, reason: `not plain JSON data (${error instanceof Error ? error.name : typeof error} thrown)` };
  }
}

/** Longest reason returned; the path to a deep field plus a short problem fits well within it. */
const reasonCharsMax = 200;

/**
 * Checks a decoded JSON payload against the RaftMessage union. Never throws: a
 * bad payload yields `{ ok: false, reason }` with the path of the first bad
 * field (e.g. `msg.entries[3].data.cause.by: expected one of admin|auto`).
 */
export function parseMessage(json: unknown, limits?: MessageSchemaLimits): ParseResult<RaftMessage> {
  const parser = limits === undefined ? defaultParser : new Parser(limits);
  try {
    return { ok: true, msg: parser.message(json) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, reason: error.message.slice(0, reasonCharsMax) };
    // Only a hostile non-JSON value (a Proxy, a throwing getter) can get here:
    // parseMessage is for JSON.parse output, but it must not throw on anything.
    return { ok: false, reason: `not plain JSON data (${error instanceof Error ? error.name : typeof error} thrown)` };
  }
}
