// The wire side of gossip (issue 5): parseSwimMessage (src/wire/
// message-schema.ts), the gate between a 'gossip' frame's payload and the
// core's SwimNode, and the Ed25519 claim signatures (src/wire/
// claim-signer.ts) the core asks for through its ClaimAuthenticator port.
//
// Schema: one valid sample of every SWIM message type, with membership
// updates and rumors of both kinds, must survive a JSON round trip
// unchanged; every leaf swapped for a value of another JSON type must be
// refused with its path; the item bound holds; random mutations never make
// the parser throw. Signatures: a claim signed by its origin verifies, with
// the key order of a re-parsed payload changed too (canonical JSON); any
// change to the claim, another member's key, a signature of the wrong
// length or not exactly base64 all verify false; a member signs only its
// own claims.
import { describe, expect, it } from 'vitest';
import type { Claim } from '../../src/core/gossip/messages.js';
import { generateMemberKey } from '../../src/wire/signer.js';
import { Ed25519ClaimAuthenticator, canonicalJson, claimSignatureChars } from '../../src/wire/claim-signer.js';
import { messageSchemaLimitsDefault, parseSwimMessage } from '../../src/wire/message-schema.js';
import { randomInt, seededRandom } from './helpers.js';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const sig = 'A'.repeat(86) + '==';
const update = { member: 'siteA', incarnation: 3, state: 'suspect', origin: 'arb', sig };
const ticketRumor = {
  kind: 'ticket',
  key: 'ticketA',
  version: 42,
  origin: 'arb',
  payload: { holder: 'siteA', generation: 7, standby: false, managed: true, removed: false, leaseLeftMs: 9000 },
  sig,
};
const healthRumor = { kind: 'site-health', key: 'siteB', version: 2 ** 20 + 1, origin: 'siteB', payload: { quorate: true, handlersOk: false, unrunnable: ['ticketA'] }, sig };
const items = { updates: [update, { ...update, state: 'alive', origin: 'siteA' }], rumors: [ticketRumor, healthRumor] };

const samples: Record<string, JsonValue> = {
  ping: { type: 'ping', seq: 1, ...items },
  ack: { type: 'ack', seq: 2, updates: [], rumors: [] },
  'ping-req': { type: 'ping-req', seq: 3, target: 'siteB', timeoutMs: 400, ...items },
  nack: { type: 'nack', seq: 4, updates: [update], rumors: [] },
  gossip: { type: 'gossip', ...items },
};

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

interface Leaf {
  readonly path: ReadonlyArray<string | number>;
  readonly value: JsonValue;
}

function walk(v: JsonValue, path: Array<string | number> = []): Leaf[] {
  if (v !== null && typeof v === 'object') {
    const out: Leaf[] = [];
    for (const [k, x] of Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v)) out.push(...walk(x, [...path, k]));
    return out;
  }
  return [{ path, value: v }];
}

function setAt(v: JsonValue, path: ReadonlyArray<string | number>, value: JsonValue): JsonValue {
  const copy = clone(v);
  let at: Record<string | number, JsonValue> = copy as Record<string | number, JsonValue>;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, JsonValue>;
  at[path[path.length - 1]!] = value;
  return copy;
}

function otherType(value: JsonValue): JsonValue {
  if (value === null) return 7;
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

describe('parseSwimMessage', () => {
  for (const [type, sample] of Object.entries(samples)) {
    it(`${type} survives a JSON round trip unchanged`, () => {
      expect(parseSwimMessage(clone(sample))).toEqual({ ok: true, msg: sample });
    });

    it(`${type}: every value swapped for another JSON type is refused with its path`, () => {
      for (const leaf of walk(sample)) {
        // A null holder or lease may legally be a member id or a count instead.
        const swapped = leaf.value === null ? 'not-null' : otherType(leaf.value);
        const r = parseSwimMessage(setAt(sample, leaf.path, swapped));
        expect(r.ok, `${leaf.path.join('.')} = ${JSON.stringify(swapped)}`).toBe(false);
      }
    });
  }

  it('refuses unknown rumor kinds, bad states and more items than the core reads', () => {
    expect(parseSwimMessage({ ...(samples.gossip as object), rumors: [{ ...ticketRumor, kind: 'weather' }] }).ok).toBe(false);
    expect(parseSwimMessage({ ...(samples.gossip as object), updates: [{ ...update, state: 'zombie' }] }).ok).toBe(false);
    expect(parseSwimMessage({ ...(samples.gossip as object), updates: [{ ...update, sig: 'x'.repeat(claimSignatureChars + 1) }] }).ok).toBe(false);
    const many = Array.from({ length: messageSchemaLimitsDefault.gossipItemsMax }, () => update);
    expect(parseSwimMessage({ type: 'gossip', updates: many, rumors: [] }).ok).toBe(true);
    const r = parseSwimMessage({ type: 'gossip', updates: many, rumors: [ticketRumor] });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/limit 64/);
  });

  it('passes on only the fields it checked', () => {
    const r = parseSwimMessage({ type: 'ack', seq: 1, updates: [{ ...update, extra: 1 }], rumors: [{ ...healthRumor, payload: { ...healthRumor.payload, zone: 'x' } }], future: true });
    expect(r.ok && Object.keys(r.msg)).toEqual(['type', 'seq', 'updates', 'rumors']);
    expect(r.ok && Object.keys(r.msg.updates[0]!)).not.toContain('extra');
    expect(r.ok && Object.keys(r.msg.rumors[0]!.payload as object)).toEqual(['quorate', 'handlersOk', 'unrunnable']);
  });

  it('never throws on mutated samples', () => {
    const rng = seededRandom(5);
    const all = Object.values(samples);
    for (let i = 0; i < 2000; i++) {
      const sample = all[randomInt(rng, all.length)]!;
      const leaves = walk(sample);
      const leaf = leaves[randomInt(rng, leaves.length)]!;
      const junk: JsonValue[] = [null, -1, 2 ** 60, '', 'é'.repeat(200), [], {}, true, '\u0000', 1.5];
      const mutated = setAt(sample, leaf.path, junk[randomInt(rng, junk.length)]!);
      expect(() => parseSwimMessage(mutated)).not.toThrow();
    }
  });
});

describe('Ed25519 claim signatures', () => {
  const a = generateMemberKey();
  const b = generateMemberKey();
  const keys = new Map([
    ['siteA', a.publicKey],
    ['siteB', b.publicKey],
  ]);
  const authA = new Ed25519ClaimAuthenticator({ self: 'siteA', privateKey: a.privateKey, publicKeyOf: (m) => keys.get(m) });
  const authB = new Ed25519ClaimAuthenticator({ self: 'siteB', privateKey: b.privateKey, publicKeyOf: (m) => keys.get(m) });
  const member: Claim = { about: 'member', member: 'siteB' as never, incarnation: 4, state: 'suspect', origin: 'siteA' as never };
  const rumor: Claim = { about: 'rumor', kind: 'site-health', key: 'siteA', version: 9, origin: 'siteA' as never, payload: { quorate: true, handlersOk: true, unrunnable: ['t1', 't2'] } };

  it('a claim signed by its origin verifies at another member, even with its payload keys reordered', () => {
    const s1 = authA.sign(member);
    expect(s1).toHaveLength(claimSignatureChars);
    expect(authB.verify(member, s1)).toBe(true);
    const s2 = authA.sign(rumor);
    const reordered = { ...rumor, payload: { unrunnable: ['t1', 't2'], handlersOk: true, quorate: true } };
    expect(authB.verify(reordered, s2)).toBe(true);
    // Deterministic: the same claim, the same signature.
    expect(authA.sign(rumor)).toBe(s2);
  });

  it('anything changed, another key, a malformed signature: false, never a throw', () => {
    const s = authA.sign(member);
    expect(authB.verify({ ...member, incarnation: 5 }, s)).toBe(false);
    expect(authB.verify({ ...member, state: 'dead' }, s)).toBe(false);
    expect(authB.verify({ ...member, origin: 'siteB' as never }, s)).toBe(false);
    const sr = authA.sign(rumor);
    expect(authB.verify({ ...rumor, payload: { quorate: false, handlersOk: true, unrunnable: ['t1', 't2'] } }, sr)).toBe(false);
    expect(authB.verify({ ...member, origin: 'stranger' as never }, s)).toBe(false);
    expect(authB.verify(member, s.slice(0, -2))).toBe(false);
    expect(authB.verify(member, `${s.slice(0, -3)}!==`)).toBe(false);
    expect(authB.verify(member, '')).toBe(false);
  });

  it('signs only its own claims', () => {
    expect(() => authB.sign(member)).toThrow(/siteA/);
  });

  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });
});
