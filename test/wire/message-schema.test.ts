// Checks src/wire/message-schema.ts, the gate between a decoded payload and
// the core. One valid sample of every Message type (covering every EntryData
// type, both Cause kinds, a Snapshot with tickets, attributes, weights and
// history, SiteHealth, every RenewRefusal) must survive a JSON round trip
// unchanged. Then, mechanically, every field of every sample is broken: its
// value swapped for one of another JSON type, and (outside the free-form
// weight and attribute maps) its key deleted; each such payload must be
// refused with a reason naming the field's path. Bounds are probed one by
// one (lengths, counts, safe integers, Unicode, control characters). Finally
// random inputs — fast-check's arbitrary values with a fixed seed, and
// mutations of the samples drawn from the seeded PRNG in ./helpers.ts —
// must never make parseMessage throw, and whatever it accepts must be a
// fixed point of parse ∘ JSON round trip.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RaftMessage as Message } from '../../src/core/messages.js';
import { messageSchemaLimitsDefault, parseMessage } from '../../src/wire/index.js';
import { parseSnapshot } from '../../src/wire/message-schema.js';
import { randomInt, seededRandom } from './helpers.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const adminCause = { by: 'admin', commandId: 'cmd-1', force: false };
const autoCause = { by: 'auto', reason: 'failover' };
// Issue 13 item 3 (protocol 1.1): who asked, and why the registry acted, for the audit history.
const socketCause = { by: 'admin', commandId: 'cmd-2', force: false, requester: { via: 'socket', member: 'siteA', uid: 65534, user: 'nobody', pid: 4242, claimedUser: 'alice' } };
const keyCause = { by: 'admin', commandId: 'cmd-3', force: true, requester: { via: 'admin-key', member: 'siteB', keyId: 'admin:AbCdEfGhIjKlMnOp' } };
const detailCause = { by: 'auto', reason: 'failover', detail: "the lease of siteA (generation 3) ran out in the leader's view" };
const def = {
  name: 'ticketA',
  mode: 'automatic',
  leaseDurationMs: 10_000,
  acquireAfterMs: 0,
  revokeLeadMs: 2000,
  weights: { siteA: 10, siteB: -2.5 },
};

/** Fields a member older than them never sends or stores: optional on the wire and in snapshots. */
function isOptional(path: ReadonlyArray<string | number>, type: string): boolean {
  const last = path[path.length - 1];
  // An answer's by-index fields (protocol 1.1): absent in every answer of a 1.0 leader.
  if (type === 'renew-resp' && path.length === 1 && (last === 'since' || last === 'renewsByIndex')) return true;
  if (last === 'configVersion' || last === 'leaseDurationHonouredMs' || last === 'timing') return true;
  // A join answer's vouch for a late member's bootstrap (docs/protocol.md §10).
  if (type === 'join-resp' && (last === 'ownInc' || last === 'vouch')) return true;
  // Protocol 1.1 (issue 13): the history's time and who caused an entry.
  if (last === 'wallMs' || last === 'requester' || last === 'detail' || last === 'claimedUser') return true;
  return last === 'leaseDurationMs' && path.includes('granted');
}

const entryDatas: JsonValue[] = [
  { type: 'noop' },
  { type: 'config', members: [{ id: 'siteA', kind: 'site' }, { id: 'arb', kind: 'arbitrator' }] },
  { type: 'grant', ticket: 'ticketA', site: 'siteA', expectedGeneration: 4, cause: adminCause },
  { type: 'revoke', ticket: 'ticketA', expectedGeneration: 5, cause: autoCause },
  { type: 'standby', ticket: 'ticketA', standby: true, cause: { by: 'admin', commandId: 'c2', force: true } },
  { type: 'attr-set', ticket: 'ticketA', key: 'owner-note', value: '', cause: adminCause },
  { type: 'attr-delete', ticket: 'ticketA', key: 'owner-note', cause: adminCause },
  { type: 'ticket-add', def, cause: { by: 'auto', reason: 'initial' } },
  { type: 'ticket-remove', ticket: 'ticketB', cause: adminCause },
  { type: 'ticket-change', def: { ...def, leaseDurationMs: 5_000 }, cause: adminCause },
  { type: 'grant', ticket: 'ticketA', site: 'siteB', expectedGeneration: 6, cause: socketCause },
  { type: 'grant', ticket: 'ticketA', site: 'siteA', expectedGeneration: 7, cause: keyCause },
  { type: 'grant', ticket: 'ticketA', site: 'siteB', expectedGeneration: 8, cause: detailCause },
  // Protocol 1.2 (docs/protocol.md §3, batch grants).
  { type: 'grant-batch', grants: [{ ticket: 'ticketA', site: 'siteA', expectedGeneration: 9 }, { ticket: 'ticketB', site: 'siteB', expectedGeneration: 0 }], cause: detailCause },
];

// 'snapshot' is no message (snapshots travel in chunks): it stands for an
// assembled snapshot, checked by parseSnapshot (see parseAny).
const samples: Record<Message['type'] | 'snapshot' | 'renew (by index)' | 'renew-resp (by index)', JsonValue> = {
  'pre-vote': { type: 'pre-vote', term: 5, lastIndex: 10, lastTerm: 4 },
  'pre-vote-resp': { type: 'pre-vote-resp', term: 5, granted: false },
  vote: { type: 'vote', term: 6, lastIndex: 0, lastTerm: 0 },
  'vote-resp': { type: 'vote-resp', term: 6, granted: true },
  join: { type: 'join', term: 0, inc: 12345 },
  'timeout-now': { type: 'timeout-now', term: 4 },
  'join-resp': { type: 'join-resp', term: 3, inc: 12345, empty: false, leader: 'siteA', ownInc: 0, vouch: true },
  append: {
    type: 'append',
    term: 7,
    prevIndex: 11,
    prevTerm: 7,
    // Every other entry with the leader's wall time (protocol 1.1), the rest without (older leaders).
    entries: entryDatas.map((data, i) => ({ index: 12 + i, term: 7, data, ...(i % 2 === 0 ? { wallMs: 1_765_000_000_000 + i } : {}) })),
    commit: 11,
    sentAt: 123_456,
  },
  'append-resp': { type: 'append-resp', term: 7, success: true, index: 20, sentAt: 123_456 },
  'snapshot-chunk': {
    type: 'snapshot-chunk',
    term: 8,
    index: 40,
    lastTerm: 8,
    totalBytes: 4096,
    digest: 'ab'.repeat(32),
    offset: 1024,
    data: 'eyJpbmRleCI6NDB9+/==',
    sentAt: 99,
  },
  'snapshot-resp': { type: 'snapshot-resp', term: 8, index: 40, lastTerm: 8, digest: 'ab'.repeat(32), offset: 2048, sentAt: 99 },
  snapshot: {
    type: 'snapshot',
    snapshot: {
      index: 40,
      term: 8,
      members: [{ id: 'siteA', kind: 'site' }, { id: 'siteB', kind: 'site' }, { id: 'arb', kind: 'arbitrator' }],
      table: {
        tickets: [
          { def, holder: 'siteA', generation: 3, standby: false, managed: true, attrs: { a: '1', 'b c': 'ünï' } },
          { def: { ...def, name: 'ticketB', mode: 'manual', weights: {} }, holder: null, generation: 0, standby: true, managed: false, attrs: {} },
          { def: { ...def, name: 'ticketC', leaseDurationMs: 5_000 }, holder: 'siteB', generation: 2, standby: false, managed: true, attrs: {}, leaseDurationHonouredMs: 10_000 },
        ],
        history: [
          { index: 30, ticket: 'ticketA', change: 'grant', holder: 'siteA', generation: 3, cause: adminCause },
          { index: 31, ticket: 'ticketB', change: 'attr-set b c', holder: null, generation: 0, cause: autoCause },
          { index: 32, ticket: 'ticketA', change: 'revoke', holder: null, generation: 4, cause: socketCause, wallMs: 1_765_000_000_000 },
          { index: 33, ticket: 'ticketA', change: 'grant', holder: 'siteB', generation: 5, cause: detailCause, wallMs: 1_765_000_000_123 },
          { index: 34, ticket: 'ticketA', change: 'grant', holder: 'siteA', generation: 6, cause: keyCause },
        ],
        configVersion: 3,
        timing: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, renewIntervalMs: 1000, renewRetryMs: 500, clockDriftPpmMax: 500, effectRetryMs: 1000, siteAliveWindowMs: 3000 },
      },
    },
  },
  renew: {
    type: 'renew',
    term: 9,
    seq: 77,
    tickets: [{ name: 'ticketA', generation: 3 }],
    health: { quorate: true, handlersOk: false, unrunnable: ['ticketB'] },
  },
  'renew (by index)': {
    type: 'renew',
    term: 9,
    seq: 78,
    since: 1234,
    except: ['ticketB'],
    health: { quorate: true, handlersOk: true, unrunnable: ['ticketB'] },
  },
  'renew-resp (by index)': {
    type: 'renew-resp',
    term: 9,
    seq: 78,
    granted: [],
    refused: [
      { name: 'ticketB', reason: 'changed' },
      { name: 'ticketC', reason: 'superseded' },
    ],
    since: 1234,
    renewsByIndex: true,
  },
  'renew-resp': {
    type: 'renew-resp',
    term: 9,
    seq: 77,
    granted: [{ name: 'ticketA', generation: 3, leaseDurationMs: 10_000 }, { name: 'ticketF', generation: 1 }],
    refused: [
      { name: 'ticketB', reason: 'not-holder' },
      { name: 'ticketC', reason: 'stale-generation' },
      { name: 'ticketD', reason: 'change-pending' },
      { name: 'ticketE', reason: 'no-such-ticket' },
    ],
  },
  released: {
    type: 'released',
    term: 9,
    name: 'ticketA',
    generation: 3,
    health: { quorate: false, handlersOk: true, unrunnable: [] },
    seqFloor: 78,
  },
};

const clone = (value: JsonValue): JsonValue => JSON.parse(JSON.stringify(value)) as JsonValue;

type Path = ReadonlyArray<string | number>;

interface Leaf {
  readonly path: Path;
  readonly value: JsonValue;
  /** Inside a weights or attrs map, whose keys are data rather than fields. */
  readonly inMap: boolean;
}

/** Every value in the tree (objects and arrays too), with its path. */
function walk(value: JsonValue, path: Path = [], inMap = false): Leaf[] {
  const out: Leaf[] = path.length === 0 ? [] : [{ path, value, inMap }];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...walk(v, [...path, i], false)));
  else if (value !== null && typeof value === 'object') {
    const isMap = path[path.length - 1] === 'weights' || path[path.length - 1] === 'attrs';
    for (const [k, v] of Object.entries(value)) out.push(...walk(v, [...path, k], isMap));
  }
  return out;
}

function setAt(root: JsonValue, path: Path, value: JsonValue | undefined): JsonValue {
  const copy = clone(root);
  let node = copy as Record<string | number, JsonValue>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, JsonValue>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** A value of another JSON type than `value`: never acceptable where `value` was. */
function otherType(value: JsonValue): JsonValue {
  if (value === null) return 7;
  if (Array.isArray(value)) return {};
  switch (typeof value) {
    case 'number':
      return String(value);
    case 'string':
      return 7;
    case 'boolean':
      return value ? 1 : 0;
    default:
      return [];
  }
}

/** parseMessage, or parseSnapshot for the stand-in { type: 'snapshot', snapshot } (reasons then start msg.snapshot). */
function parseAny(json: unknown): ReturnType<typeof parseMessage> | { ok: true; msg: unknown } {
  const o = json as { type?: unknown; snapshot?: unknown } | null;
  if (typeof o !== 'object' || o === null || o.type !== 'snapshot') return parseMessage(json);
  if (!Object.hasOwn(o, 'snapshot')) return { ok: false, reason: 'msg.snapshot: missing' };
  const r = parseSnapshot(o.snapshot);
  return r.ok ? { ok: true, msg: { type: 'snapshot', snapshot: r.snapshot } } : { ok: false, reason: `msg.${r.reason}` };
}

function reasonOf(json: unknown): string {
  const result = parseAny(json);
  return result.ok ? 'accepted' : result.reason;
}

describe('valid messages', () => {
  for (const [type, sample] of Object.entries(samples)) {
    it(`${type} survives a JSON round trip unchanged`, () => {
      const result = parseAny(clone(sample));
      expect(result).toEqual({ ok: true, msg: sample });
    });
  }

  it('the samples cover every entry type and every message type', () => {
    expect([...new Set(entryDatas.map((d) => (d as { type: string }).type))].sort()).toEqual(
      ['attr-delete', 'attr-set', 'config', 'grant', 'grant-batch', 'noop', 'revoke', 'standby', 'ticket-add', 'ticket-remove', 'ticket-change'].sort(),
    );
    expect(Object.keys(samples)).toHaveLength(17);
  });

  // docs/protocol.md §3, batch grants: at least one item, each checked as a grant's fields are.
  it('refuses a grant batch without items or with a bad item, naming where', () => {
    const batch = (grants: unknown): string => reasonOf({ ...(samples.append as object), entries: [{ index: 1, term: 1, data: { type: 'grant-batch', grants, cause: autoCause } }] });
    expect(batch([])).toMatch(/data\.grants: a grant batch names at least one ticket/);
    expect(batch([{ ticket: 'ticketA', site: 'siteA', expectedGeneration: -1 }])).toMatch(/data\.grants\[0\]\.expectedGeneration: /);
    expect(batch([{ ticket: 'ticketA', expectedGeneration: 1 }])).toMatch(/data\.grants\[0\]/);
    expect(batch('ticketA')).toMatch(/data\.grants: expected an array/);
  });

  // docs/protocol.md §10: incarnations are optional (absent: 0, as members before them sent).
  it('takes the optional incarnation tags and member fields, and leaves out their defaults', () => {
    const tagged = { type: 'vote-resp', term: 6, granted: true, inc: 281474976710655 };
    expect(parseMessage(tagged)).toEqual({ ok: true, msg: tagged });
    expect(parseMessage({ ...tagged, inc: 0 })).toEqual({ ok: true, msg: { type: 'vote-resp', term: 6, granted: true } });
    expect(reasonOf({ ...tagged, inc: -1 })).toMatch(/^msg\.inc: /);
    expect(reasonOf({ ...(samples['append-resp'] as object), inc: 'x' })).toMatch(/^msg\.inc: /);
    const key = 'A'.repeat(43) + '=';
    const members = [{ id: 'siteA', kind: 'site', incarnation: 77 }, { id: 'arb2', kind: 'arbitrator', voter: false, key }, { id: 'siteB', kind: 'site', voter: true, incarnation: 0 }];
    const r = parseMessage({ ...(samples.append as object), entries: [{ index: 1, term: 1, data: { type: 'config', members } }] });
    expect(r.ok && r.msg.type === 'append' && r.msg.entries[0]!.data).toEqual({ type: 'config', members: [members[0], members[1], { id: 'siteB', kind: 'site' }] });
    const bad = (m: object): string => reasonOf({ ...(samples.append as object), entries: [{ index: 1, term: 1, data: { type: 'config', members: [m] } }] });
    expect(bad({ id: 'a', kind: 'site', key: 'short=' })).toMatch(/members\[0\]\.key: not the base64/);
    expect(bad({ id: 'a', kind: 'site', voter: 'no' })).toMatch(/members\[0\]\.voter: /);
    expect(bad({ id: 'a', kind: 'site', incarnation: 1.5 })).toMatch(/members\[0\]\.incarnation: /);
    expect(reasonOf({ ...(samples['join-resp'] as object), vouch: false })).toMatch(/^msg\.vouch: expected true or no field/);
    expect(reasonOf({ ...(samples['join-resp'] as object), ownInc: -1 })).toMatch(/^msg\.ownInc: /);
  });

  it('tolerates extra keys but does not pass them on', () => {
    const withExtra = { ...(samples.renew as object), future: 1, health: { quorate: true, handlersOk: true, unrunnable: [], zone: 'x' } };
    const result = parseMessage(withExtra);
    expect(result.ok).toBe(true);
    expect(result.ok && Object.keys(result.msg)).not.toContain('future');
    expect(result.ok && result.msg.type === 'renew' && Object.keys(result.msg.health)).toEqual(['quorate', 'handlersOk', 'unrunnable']);
  });

  it('takes the widest legal values: 2^53 − 1, 64-byte member ids, empty lists', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(reasonOf({ type: 'pre-vote', term: max, lastIndex: max, lastTerm: max })).toBe('accepted');
    const id = 'é'.repeat(32); // 64 bytes of UTF-8
    expect(reasonOf({ ...(samples.append as object), entries: [{ index: 1, term: 1, data: { type: 'config', members: [{ id, kind: 'site' }] } }] })).toBe('accepted');
    expect(reasonOf({ ...(samples.append as object), entries: [] })).toBe('accepted');
  });
});

describe('every field wrong is rejected', () => {
  for (const [type, sample] of Object.entries(samples)) {
    const leaves = walk(sample);

    it(`${type}: each of its ${leaves.length} values swapped for another JSON type`, () => {
      for (const leaf of leaves) {
        const reason = reasonOf(setAt(sample, leaf.path, otherType(leaf.value)));
        expect(reason, `path ${leaf.path.join('.')}`).not.toBe('accepted');
      }
    });

    it(`${type}: each field deleted`, () => {
      for (const leaf of leaves) {
        if (leaf.inMap || typeof leaf.path[leaf.path.length - 1] === 'number') continue;
        if (isOptional(leaf.path, (sample as { type: string }).type)) {
          // Fields older members never sent (issue 11): absent is valid, and stays absent.
          expect(reasonOf(setAt(sample, leaf.path, undefined)), `path ${leaf.path.join('.')}`).toBe('accepted');
          continue;
        }
        const reason = reasonOf(setAt(sample, leaf.path, undefined));
        expect(reason, `path ${leaf.path.join('.')}`).toMatch(/missing/);
      }
    });
  }

  it('names the path of the bad field', () => {
    const bad = setAt(samples.append, ['entries', 2, 'data', 'cause', 'by'], 'robot');
    expect(reasonOf(bad)).toMatch(/^msg\.entries\[2\]\.data\.cause\.by: expected one of admin\|auto/);
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'tickets', 0, 'def', 'weights', 'siteA'], 'x'))).toMatch(
      /msg\.snapshot\.table\.tickets\[0\]\.def\.weights\["siteA"\]: expected a finite number/,
    );
  });

  it('refuses non-objects and unknown types', () => {
    for (const value of [null, undefined, 7, 'pre-vote', [], [samples.vote], true]) expect(reasonOf(value)).toMatch(/^msg: expected an object/);
    expect(reasonOf({ type: 'hello', term: 1 })).toMatch(/^msg\.type: expected one of/);
    expect(reasonOf({ term: 1 })).toBe('msg.type: missing');
  });

  it('refuses fields that are only inherited, not own', () => {
    const inherited = Object.create({ type: 'vote-resp', term: 1, granted: true }) as object;
    expect(reasonOf(inherited)).toBe('msg.type: missing');
  });
});

describe('bounds', () => {
  const vote = (term: unknown): unknown => ({ type: 'vote-resp', term, granted: true });

  it('numbers must be non-negative safe integers', () => {
    for (const term of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, -0.5, '3', 1e300]) {
      expect(reasonOf(vote(term)), String(term)).toMatch(/msg\.term: expected an integer/);
    }
    expect(reasonOf(vote(0))).toBe('accepted');
    expect(reasonOf({ ...(samples['append-resp'] as object), sentAt: -5 })).toMatch(/sentAt/);
  });

  it('weights must be finite numbers keyed by member ids', () => {
    const withWeights = (weights: unknown): unknown => setAt(samples.append, ['entries', 7, 'data', 'def', 'weights'], weights as JsonValue);
    expect(reasonOf(withWeights({ a: 1e308 }))).toBe('accepted');
    expect(reasonOf(withWeights({ a: '1' }))).toMatch(/finite number/);
    expect(reasonOf(withWeights({ ['x'.repeat(65)]: 1 }))).toMatch(/bytes|characters/);
    expect(reasonOf(withWeights({ '': 1 }))).toMatch(/empty/);
    const many = Object.fromEntries(Array.from({ length: messageSchemaLimitsDefault.membersMax + 1 }, (_, i) => [`m${i}`, i]));
    expect(reasonOf(withWeights(many))).toMatch(/entries, limit/);
  });

  it('member ids and ticket names: non-empty, bounded in UTF-8 bytes, no control characters', () => {
    const grant = (site: unknown, ticket: unknown = 'ticketA'): unknown =>
      setAt(setAt(samples.append, ['entries', 2, 'data', 'site'], site as JsonValue), ['entries', 2, 'data', 'ticket'], ticket as JsonValue);
    expect(reasonOf(grant('x'.repeat(64)))).toBe('accepted');
    expect(reasonOf(grant('x'.repeat(65)))).toMatch(/limit 64/);
    expect(reasonOf(grant('é'.repeat(33)))).toMatch(/66 bytes of UTF-8, limit 64/);
    expect(reasonOf(grant(''))).toMatch(/must not be empty/);
    expect(reasonOf(grant('site\nA'))).toMatch(/control character/);
    expect(reasonOf(grant('siteA', 't'.repeat(messageSchemaLimitsDefault.ticketNameBytesMax + 1)))).toMatch(/limit/);
  });

  it('strings: no NUL, no lone surrogates, bounded', () => {
    const attr = (value: unknown): unknown => setAt(samples.append, ['entries', 5, 'data', 'value'], value as JsonValue);
    expect(reasonOf(attr('a\u0000b'))).toMatch(/NUL/);
    expect(reasonOf(attr('\ud800'))).toMatch(/lone surrogate/);
    expect(reasonOf(attr('x\udc00'))).toMatch(/lone surrogate/);
    expect(reasonOf(attr('😀 fine'))).toBe('accepted');
    expect(reasonOf(attr('v'.repeat(messageSchemaLimitsDefault.attrCharsMax)))).toBe('accepted');
    expect(reasonOf(attr('v'.repeat(messageSchemaLimitsDefault.attrCharsMax + 1)))).toMatch(/limit/);
    expect(reasonOf(setAt(samples.append, ['entries', 5, 'data', 'key'], '')))
      .toMatch(/must not be empty/);
  });

  it('refuses bad committed-config fields with their path (issue 11)', () => {
    expect(reasonOf(setAt(samples['renew-resp'], ['granted', 0, 'leaseDurationMs'], 0))).toMatch(/granted\[0\]\.leaseDurationMs: must be positive/);
    expect(reasonOf(setAt(samples['renew-resp'], ['granted', 0, 'leaseDurationMs'], -1))).toMatch(/granted\[0\]\.leaseDurationMs/);
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'tickets', 2, 'leaseDurationHonouredMs'], 5_000))).toMatch(/leaseDurationHonouredMs: 5000 must exceed def\.leaseDurationMs 5000/);
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'configVersion'], 1.5))).toMatch(/table\.configVersion/);
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'timing', 'electionTimeoutMs'], 0))).toMatch(/timing\.electionTimeoutMs: must be positive/);
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'timing', 'clockDriftPpmMax'], 100_001))).toMatch(/clockDriftPpmMax: 100001 exceeds 100000/);
    expect(reasonOf(setAt(samples.append, ['entries', 9, 'data', 'def', 'mode'], 'sometimes'))).toMatch(/entries\[9\]\.data\.def\.mode: expected one of automatic\|manual/);
  });

  it('arrays are bounded: entries, members, tickets, refusals, history', () => {
    const limits = messageSchemaLimitsDefault;
    const entry = { index: 1, term: 1, data: { type: 'noop' } };
    expect(reasonOf({ ...(samples.append as object), entries: Array(limits.entriesMax + 1).fill(entry) })).toMatch(/items, limit/);
    const member = { id: 'm', kind: 'site' };
    expect(reasonOf(setAt(samples.append, ['entries', 1, 'data', 'members'], Array(limits.membersMax + 1).fill(member)))).toMatch(/items, limit/);
    const item = { name: 't', generation: 1 };
    expect(reasonOf({ ...(samples.renew as object), tickets: Array(limits.ticketsMax + 1).fill(item) })).toMatch(/items, limit/);
    expect(reasonOf({ ...(samples['renew-resp'] as object), refused: Array(limits.ticketsMax + 1).fill({ name: 't', reason: 'not-holder' }) })).toMatch(
      /items, limit/,
    );
    const record = { index: 1, ticket: 't', change: 'grant', holder: null, generation: 1, cause: autoCause };
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'history'], Array(limits.historyRecordsMax + 1).fill(record)))).toMatch(/items, limit/);
    const attrs = Object.fromEntries(Array.from({ length: limits.attrsPerTicketMax + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(reasonOf(setAt(samples.snapshot, ['snapshot', 'table', 'tickets', 0, 'attrs'], attrs))).toMatch(/entries, limit/);
  });

  // docs/protocol.md §3, renewals by index (protocol 1.1): one form or the other, bounded answers.
  it('a renewal by index and its answer: one form at a time, bounded, refusals of the whole renewal only by index', () => {
    const byIndex = samples['renew (by index)'] as Record<string, JsonValue>;
    const answer = samples['renew-resp (by index)'] as Record<string, JsonValue>;
    expect(reasonOf({ ...byIndex, tickets: [] })).toMatch(/^msg\.tickets: a renewal by index \(since\) lists no tickets/);
    expect(reasonOf({ ...byIndex, since: -1 })).toMatch(/^msg\.since: /);
    expect(reasonOf({ ...byIndex, except: Array(messageSchemaLimitsDefault.ticketsMax + 1).fill('t') })).toMatch(/^msg\.except: .*items, limit/);
    for (const all of ['index-ahead', 'index-behind', 'too-many-refusals']) {
      expect(parseMessage({ ...answer, refused: [], refusedAll: all })).toEqual({ ok: true, msg: { ...answer, refused: [], refusedAll: all } });
    }
    expect(reasonOf({ ...answer, refusedAll: 'bored' })).toMatch(/^msg\.refusedAll: expected one of/);
    const { since: _since, ...listAnswer } = answer;
    expect(reasonOf({ ...listAnswer, refusedAll: 'index-ahead' })).toMatch(/^msg\.refusedAll: only in an answer by index/);
    expect(reasonOf({ ...answer, renewsByIndex: false })).toMatch(/^msg\.renewsByIndex: true or absent/);
    // An answer by index refuses at most renewRefusalsMax tickets by name (beyond, it refuses the whole renewal).
    const refusal = { name: 't', reason: 'changed' };
    expect(reasonOf({ ...answer, refused: Array(1024).fill(refusal) })).toBe('accepted');
    expect(reasonOf({ ...answer, refused: Array(1025).fill(refusal) })).toMatch(/^msg\.refused: 1025 items, limit 1024/);
  });

  it('a hole in a sparse array is refused, not passed on', () => {
    const entries: unknown[] = [];
    entries[1] = { index: 1, term: 1, data: { type: 'noop' } };
    expect(reasonOf({ ...(samples.append as object), entries })).toBe('msg.entries[0]: expected an object, got undefined');
  });

  // Issue 13 item 3: the requester is the receiving member's word; what it cannot be is refused with its path.
  it('refuses a bad requester or detail with its path', () => {
    const grantAt = samples.append as { entries: Array<{ data: JsonValue }> };
    const socketAt = grantAt.entries.findIndex((e) => JSON.stringify(e.data).includes('"via":"socket"'));
    const path = ['entries', socketAt, 'data', 'cause', 'requester'];
    expect(reasonOf(setAt(samples.append, [...path, 'via'], 'telepathy'))).toMatch(/requester\.via: expected one of socket\|admin-key/);
    expect(reasonOf(setAt(samples.append, [...path, 'uid'], 2 ** 32))).toMatch(/requester\.uid: 4294967296 exceeds 4294967295/);
    expect(reasonOf(setAt(samples.append, [...path, 'user'], 'a\nb'))).toMatch(/requester\.user: contains a control character/);
    expect(reasonOf(setAt(samples.append, [...path, 'user'], null))).toBe('accepted');
    expect(reasonOf(setAt(samples.append, ['entries', 0, 'wallMs'], -1))).toMatch(/entries\[0\]\.wallMs: expected an integer/);
    const detailAt = grantAt.entries.findIndex((e) => JSON.stringify(e.data).includes('"detail"'));
    expect(reasonOf(setAt(samples.append, ['entries', detailAt, 'data', 'cause', 'detail'], 'x'.repeat(513)))).toMatch(/detail: 513 characters, limit 512/);
  });

  it('tighter limits can be passed in', () => {
    const limits = { ...messageSchemaLimitsDefault, entriesMax: 2 };
    expect(parseMessage(samples.append, limits)).toMatchObject({ ok: false, reason: 'msg.entries: 14 items, limit 2' });
  });

  it('map keys such as __proto__ and toString stay plain data', () => {
    const json = JSON.parse(
      JSON.stringify(samples.snapshot).replace('"attrs":{"a":"1","b c":"ünï"}', '"attrs":{"__proto__":"x","toString":"y"}'),
    ) as unknown;
    const result = parseSnapshot((json as { snapshot: unknown }).snapshot);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const attrs = result.snapshot.table.tickets[0]!.attrs;
    expect(Object.getPrototypeOf(attrs)).toBeNull();
    expect(Object.keys(attrs)).toEqual(['__proto__', 'toString']);
    expect(attrs['toString']).toBe('y');
    // An absent key is absent, not inherited from Object.prototype.
    expect('constructor' in attrs).toBe(false);
    expect('hasOwnProperty' in result.snapshot.table.tickets[1]!.def.weights).toBe(false);
  });
});

describe('fuzz: never throws', () => {
  const check = (input: unknown): void => {
    const result = parseMessage(input);
    expect(typeof result.ok).toBe('boolean');
    if (result.ok) {
      // Whatever passes is plain JSON data that passes again, unchanged.
      const again = parseMessage(JSON.parse(JSON.stringify(result.msg)));
      expect(again).toEqual(result);
    } else {
      expect(result.reason.length).toBeGreaterThan(0);
      expect(result.reason.length).toBeLessThanOrEqual(200);
    }
  };

  it('arbitrary values (fast-check, seed 4242)', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withNullPrototype: true, withBigInt: true, withSet: true, withMap: true }), (value) => {
        check(value);
      }),
      { seed: 4242, numRuns: 3000 },
    );
  });

  it('arbitrary JSON shaped like messages (fast-check, seed 77)', () => {
    const types = Object.keys(samples);
    const shaped = fc.record({ type: fc.constantFrom(...types), term: fc.oneof(fc.nat(), fc.jsonValue()) }).chain((head) =>
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 })).map((rest) => ({ ...rest, ...head })),
    );
    fc.assert(fc.property(shaped, (value) => check(value)), { seed: 77, numRuns: 3000 });
  });

  for (const seed of [1, 2, 3]) {
    it(`mutations of the valid samples (PRNG seed ${seed})`, () => {
      const random = seededRandom(seed);
      const all = Object.values(samples);
      const weird: JsonValue[] = [null, -1, 0, 1.5, 2 ** 60, '', '\u0000', '\ud800', 'x'.repeat(300), [], {}, true, [1, 2], { type: 'noop' }];
      let accepted = 0;
      for (let i = 0; i < 2000; i += 1) {
        let value: JsonValue = all[randomInt(random, all.length)]!;
        const mutations = 1 + randomInt(random, 3);
        for (let m = 0; m < mutations; m += 1) {
          const leaves = walk(value);
          const leaf = leaves[randomInt(random, leaves.length)];
          if (leaf === undefined) break;
          const choice = randomInt(random, 3);
          if (choice === 0) value = setAt(value, leaf.path, undefined);
          else if (choice === 1) value = setAt(value, leaf.path, weird[randomInt(random, weird.length)] ?? null);
          else value = setAt(value, leaf.path, otherType(leaf.value));
        }
        const result = parseMessage(value);
        if (result.ok) accepted += 1;
        check(value);
      }
      // Some mutations are harmless (e.g. an attribute value set to ''); most are not.
      expect(accepted).toBeLessThan(2000);
    });
  }
});
