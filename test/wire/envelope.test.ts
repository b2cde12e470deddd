// Checks src/wire/envelope.ts: that encode → decode gives back every field,
// and that every way a frame can be wrong yields its own reject reason and
// never a throw. Bad frames are crafted byte by byte with buildFrame (an
// independent writer of the layout) and, where the reason lies behind the
// signature check, signed with the real key so that the signature is not what
// rejects them. Exhaustive sweeps cut a valid frame at every byte offset and
// flip every bit of it; a seeded PRNG (and fast-check with a fixed seed)
// drives the random payload and garbage-frame loops, so a failure replays
// from the seed printed in the test name. The last block feeds decoded frames
// into the replay window: a replayed frame is refused, a reordered one taken.
import { Buffer } from 'node:buffer';
import { verify, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  broadcastRecipient,
  decodeEnvelope,
  Ed25519Signer,
  encodeEnvelope,
  EnvelopeError,
  envelopeBytesMin,
  envelopeKinds,
  envelopeRejectReasons,
  envelopeSigningContext,
  generateMemberKey,
  messageBytesMaxDefault,
  PublicKeyring,
  ReplayWindow,
  SequenceSource,
  type DecodeContext,
  type DecodeResult,
  type EnvelopeFields,
  type EnvelopeKind,
  type EnvelopeRejectReason,
} from '../../src/wire/index.js';
import { buildFrame, randomBytesFrom, randomInt, seededRandom, type FrameParts } from './helpers.js';

const keyA = generateMemberKey();
const keyB = generateMemberKey();
const keyAdmin = generateMemberKey();
const signerA = new Ed25519Signer(keyA.privateKey);
const signerB = new Ed25519Signer(keyB.privateKey);
const signerAdmin = new Ed25519Signer(keyAdmin.privateKey);
const members = new PublicKeyring([
  ['a', keyA.publicKey],
  ['b', keyB.publicKey],
]);
const admins = new PublicKeyring([['ops', keyAdmin.publicKey]]);

/** Admin keys may send only admin frames; member keys anything else. */
function publicKeyOf(sender: string, kind: EnvelopeKind): KeyObject | undefined {
  return kind === 'admin' ? admins.get(sender) : members.get(sender);
}

const atB: DecodeContext = { formation: 'f', localMemberId: 'b', publicKeyOf };

const baseFields: EnvelopeFields = {
  kind: 'raft',
  formation: 'f',
  sender: 'a',
  recipient: 'b',
  seq: 7,
  term: 3,
  payload: { type: 'append', entries: [1, 2, 3] },
};

function rejectOf(result: DecodeResult): EnvelopeRejectReason | 'accepted' {
  return result.ok ? 'accepted' : result.reason;
}

function craft(parts: FrameParts): Uint8Array {
  return buildFrame(parts, signerA);
}

function expectEnvelopeError(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvelopeError);
    expect((error as EnvelopeError).code).toBe(code);
    return;
  }
  expect.fail(`expected EnvelopeError ${code}`);
}

describe('round trip', () => {
  it('decodes every field of what it encoded, for each kind', () => {
    for (const kind of envelopeKinds) {
      const sender = kind === 'admin' ? 'ops' : 'a';
      const signer = kind === 'admin' ? signerAdmin : signerA;
      const fields: EnvelopeFields = { ...baseFields, kind, sender };
      const frame = encodeEnvelope(fields, signer);
      const result = decodeEnvelope(frame, atB);
      expect(result).toEqual({ ok: true, envelope: { ...fields, version: 1, frameBytes: frame.byteLength } });
    }
  });

  it('carries extreme numbers and non-ASCII names exactly', () => {
    const ring = new PublicKeyring([['sité-ø-😀', keyA.publicKey]]);
    const fields: EnvelopeFields = {
      ...baseFields,
      formation: 'prod-€',
      sender: 'sité-ø-😀',
      recipient: 'x'.repeat(64),
      seq: Number.MAX_SAFE_INTEGER,
      term: Number.MAX_SAFE_INTEGER,
      payload: 'ünïcödé \u0000 "quotes"',
    };
    const frame = encodeEnvelope(fields, signerA);
    const result = decodeEnvelope(frame, { formation: 'prod-€', localMemberId: 'x'.repeat(64), publicKeyOf: (id) => ring.get(id) });
    expect(result.ok && result.envelope).toMatchObject(fields);
    const zero = encodeEnvelope({ ...baseFields, seq: 0, term: 0, payload: null }, signerA);
    expect(decodeEnvelope(zero, atB)).toMatchObject({ ok: true, envelope: { seq: 0, term: 0, payload: null } });
  });

  it('the frame is plain RFC 8032 Ed25519 over context ‖ body, checkable with node:crypto alone', () => {
    const frame = encodeEnvelope(baseFields, signerA);
    const body = frame.subarray(0, frame.byteLength - 64);
    const signature = frame.subarray(frame.byteLength - 64);
    expect(verify(null, Buffer.concat([envelopeSigningContext, body]), keyA.publicKey, signature)).toBe(true);
    // Without the context the same signature is not valid: a signature made
    // for libp2p (or any other use of the key) cannot pose as an envelope.
    expect(verify(null, body, keyA.publicKey, signature)).toBe(false);
    expect(frame.byteLength).toBe(envelopeBytesMin + 1 + 1 + 1 + JSON.stringify(baseFields.payload).length);
  });

  it('matches the frame written byte by byte from the layout spec', () => {
    const frame = encodeEnvelope({ ...baseFields, payload: { x: 1 } }, signerA);
    expect(Buffer.from(frame).equals(craft({}))).toBe(true);
  });

  it('a broadcast frame is taken by every member; a relay (localMemberId null) takes any', () => {
    const broadcast = encodeEnvelope({ ...baseFields, kind: 'gossip', recipient: broadcastRecipient }, signerA);
    expect(decodeEnvelope(broadcast, atB).ok).toBe(true);
    expect(decodeEnvelope(broadcast, { ...atB, localMemberId: 'c' }).ok).toBe(true);
    const toC = encodeEnvelope({ ...baseFields, recipient: 'c' }, signerA);
    expect(decodeEnvelope(toC, { ...atB, localMemberId: null }).ok).toBe(true);
  });

  it(`random JSON payloads survive the round trip (seeded PRNG, seed 20240611)`, () => {
    const random = seededRandom(20240611);
    const randomValue = (depth: number): unknown => {
      const pick = randomInt(random, depth > 3 ? 4 : 6);
      switch (pick) {
        case 0:
          return null;
        case 1:
          return random() < 0.5;
        case 2:
          return random() < 0.5 ? randomInt(random, 2 ** 31) - 2 ** 30 : (random() - 0.5) * 1e12;
        case 3:
          return Array.from({ length: randomInt(random, 12) }, () => String.fromCodePoint(randomInt(random, 0xd7ff))).join('');
        case 4:
          return Array.from({ length: randomInt(random, 5) }, () => randomValue(depth + 1));
        default: {
          const object: Record<string, unknown> = {};
          for (let i = randomInt(random, 5); i > 0; i -= 1) object[`k${randomInt(random, 100)}`] = randomValue(depth + 1);
          return object;
        }
      }
    };
    for (let run = 0; run < 300; run += 1) {
      const payload = randomValue(0);
      const fields: EnvelopeFields = { ...baseFields, seq: randomInt(random, 2 ** 40), term: randomInt(random, 1000), payload };
      const result = decodeEnvelope(encodeEnvelope(fields, signerA), atB);
      expect(result.ok && result.envelope.payload).toEqual(JSON.parse(JSON.stringify(payload)));
    }
  });

  it('fast-check: any JSON value survives the round trip (fixed seed 7)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (payload, seq) => {
        const result = decodeEnvelope(encodeEnvelope({ ...baseFields, seq, payload }, signerA), atB);
        expect(result.ok && result.envelope.payload).toEqual(JSON.parse(JSON.stringify(payload)));
        expect(result.ok && result.envelope.seq).toBe(seq);
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});

describe('reject reasons', () => {
  // One crafted frame per reason. Frames whose fault sits behind the
  // signature check are correctly signed, so the reason is the only fault.
  const cases: readonly { reason: EnvelopeRejectReason; name: string; frame: () => Uint8Array; context?: Partial<DecodeContext> }[] = [
    {
      reason: 'oversize',
      name: 'a frame one byte over the configured messageBytesMax',
      frame: () => encodeEnvelope({ ...baseFields, payload: 'x'.repeat(1000) }, signerA),
      context: { messageBytesMax: 1000 },
    },
    { reason: 'oversize', name: 'a frame over the default 1 MiB', frame: () => new Uint8Array(messageBytesMaxDefault + 1) },
    { reason: 'truncated', name: 'an empty frame', frame: () => new Uint8Array(0) },
    { reason: 'truncated', name: 'a payload length past the end', frame: () => craft({ payloadLength: 1000 }) },
    {
      reason: 'truncated',
      name: 'a frame that ends inside the sender',
      frame: () => craft({ formation: 'f'.repeat(64), sender: 's'.repeat(64) }).slice(0, 20 + 65 + 30),
    },
    { reason: 'bad-magic', name: 'magic "BT"', frame: () => craft({ magic: [0x42, 0x54] }) },
    { reason: 'unsupported-version', name: 'version 2, validly signed', frame: () => craft({ version: 2 }) },
    { reason: 'unsupported-version', name: 'version 0', frame: () => craft({ version: 0 }) },
    { reason: 'unknown-kind', name: 'kind byte 0', frame: () => craft({ kindCode: 0 }) },
    { reason: 'unknown-kind', name: 'kind byte 7', frame: () => craft({ kindCode: 7 }) },
    { reason: 'field-too-long', name: 'a 65-byte formation', frame: () => craft({ formation: 'f'.repeat(65) }) },
    { reason: 'field-too-long', name: 'a formation length byte of 200 over 1 byte of name', frame: () => craft({ formationLength: 200 }) },
    { reason: 'field-too-long', name: 'a 65-byte sender', frame: () => craft({ sender: 's'.repeat(65) }) },
    { reason: 'field-too-long', name: 'a 255-byte recipient', frame: () => craft({ recipient: 'r'.repeat(255) }) },
    { reason: 'field-invalid', name: 'an empty sender', frame: () => craft({ sender: '' }) },
    { reason: 'field-invalid', name: 'an empty formation', frame: () => craft({ formation: '' }) },
    { reason: 'field-invalid', name: 'a formation that is not UTF-8', frame: () => craft({ formation: Uint8Array.of(0x66, 0xff) }) },
    { reason: 'field-invalid', name: 'an overlong UTF-8 sender', frame: () => craft({ sender: Uint8Array.of(0xc0, 0xaf) }) },
    { reason: 'number-out-of-range', name: 'seq 2^53', frame: () => craft({ seq: 2n ** 53n }) },
    { reason: 'number-out-of-range', name: 'term 2^64 − 1', frame: () => craft({ term: 2n ** 64n - 1n }) },
    { reason: 'trailing-bytes', name: 'one byte after the signature', frame: () => craft({ trailing: Uint8Array.of(0) }) },
    { reason: 'wrong-formation', name: 'formation "g"', frame: () => craft({ formation: 'g' }) },
    { reason: 'wrong-formation', name: 'formation "F" (case matters)', frame: () => craft({ formation: 'F' }) },
    { reason: 'wrong-recipient', name: 'addressed to c, received by b', frame: () => craft({ recipient: 'c' }) },
    { reason: 'unknown-sender', name: 'sender z, not in the keyring', frame: () => craft({ sender: 'z' }) },
    { reason: 'unknown-sender', name: 'an admin key sending raft', frame: () => craft({ sender: 'ops', signer: signerAdmin }) },
    { reason: 'unknown-sender', name: 'a member key sending admin', frame: () => craft({ kindCode: 3 }) },
    { reason: 'bad-signature', name: 'signed by b but claiming a', frame: () => craft({ signer: signerB }) },
    { reason: 'bad-signature', name: 'an all-zero signature', frame: () => craft({ signer: null }) },
    { reason: 'bad-signature', name: 'signed without the context', frame: () => craft({ signWithoutContext: true }) },
    { reason: 'bad-payload', name: 'signed "{"', frame: () => craft({ payload: '{' }) },
    { reason: 'bad-payload', name: 'a signed empty payload', frame: () => craft({ payload: '' }) },
    { reason: 'bad-payload', name: 'a signed payload that is not UTF-8', frame: () => craft({ payload: Uint8Array.of(0x22, 0xfe, 0x22) }) },
  ];

  for (const testCase of cases) {
    it(`${testCase.reason}: ${testCase.name}`, () => {
      const result = decodeEnvelope(testCase.frame(), { ...atB, ...testCase.context });
      expect(result.ok).toBe(false);
      expect(rejectOf(result)).toBe(testCase.reason);
      expect(!result.ok && result.detail.length).toBeGreaterThan(0);
    });
  }

  it('every reason in envelopeRejectReasons is produced by some case above', () => {
    expect(new Set(cases.map((c) => c.reason))).toEqual(new Set(envelopeRejectReasons));
  });

  it('checks size and signature before parsing JSON', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(rejectOf(decodeEnvelope(craft({ payload: '{', signer: signerB }), atB))).toBe('bad-signature');
      expect(rejectOf(decodeEnvelope(craft({ payload: '{', sender: 'z' }), atB))).toBe('unknown-sender');
      expect(rejectOf(decodeEnvelope(craft({ payload: '{' }), { ...atB, messageBytesMax: 94 }))).toBe('oversize');
      expect(parse).not.toHaveBeenCalled();
      expect(rejectOf(decodeEnvelope(craft({ payload: '{' }), atB))).toBe('bad-payload');
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('does not echo control characters from the network into the detail', () => {
    const result = decodeEnvelope(craft({ formation: 'evil\nline' }), atB);
    expect(rejectOf(result)).toBe('wrong-formation');
    expect(!result.ok && result.detail).not.toContain('\n');
  });
});

describe('damaged frames', () => {
  const frame = encodeEnvelope(baseFields, signerA);

  it(`a valid frame cut at every byte offset (0 … ${frame.byteLength - 1}) is rejected as truncated`, () => {
    for (let length = 0; length < frame.byteLength; length += 1) {
      const result = decodeEnvelope(frame.slice(0, length), atB);
      expect(rejectOf(result), `cut at ${length}`).toBe('truncated');
    }
  });

  it('a valid frame with any single bit flipped is rejected', () => {
    const seen = new Set<string>();
    for (let bit = 0; bit < frame.byteLength * 8; bit += 1) {
      const damaged = frame.slice();
      damaged[bit >>> 3]! ^= 1 << (bit & 7);
      const result = decodeEnvelope(damaged, atB);
      expect(result.ok, `bit ${bit}`).toBe(false);
      seen.add(rejectOf(result));
    }
    // The flips land in every part of the frame, so several reasons show up.
    expect(seen).toContain('bad-signature');
    expect(seen).toContain('bad-magic');
    expect(seen).toContain('truncated');
  });

  it('random garbage never decodes and never throws (seeded PRNG, seed 99)', () => {
    const random = seededRandom(99);
    for (let run = 0; run < 2000; run += 1) {
      const garbage = randomBytesFrom(random, randomInt(random, 300));
      // Half the runs start with a valid header so the parser gets further in.
      if (run % 2 === 0 && garbage.byteLength >= 4) garbage.set([0x54, 0x42, 1, 1 + randomInt(random, 4)]);
      expect(decodeEnvelope(garbage, atB).ok).toBe(false);
    }
  });

  it('a frame inside a larger buffer (a view with an offset) decodes the same', () => {
    const outer = new Uint8Array(frame.byteLength + 10);
    outer.set(frame, 5);
    expect(decodeEnvelope(outer.subarray(5, 5 + frame.byteLength), atB).ok).toBe(true);
    expect(rejectOf(decodeEnvelope(outer.subarray(5, 6 + frame.byteLength), atB))).toBe('trailing-bytes');
  });
});

describe('encoding refuses what no peer would accept', () => {
  it('throws EnvelopeError with a code for each bad field', () => {
    expectEnvelopeError(() => encodeEnvelope({ ...baseFields, formation: 'f'.repeat(65) }, signerA), 'ENVELOPE_FIELD_TOO_LONG');
    expectEnvelopeError(() => encodeEnvelope({ ...baseFields, sender: 'é'.repeat(33) }, signerA), 'ENVELOPE_FIELD_TOO_LONG');
    expectEnvelopeError(() => encodeEnvelope({ ...baseFields, sender: '' }, signerA), 'ENVELOPE_FIELD_INVALID');
    expectEnvelopeError(() => encodeEnvelope({ ...baseFields, formation: '' }, signerA), 'ENVELOPE_FIELD_INVALID');
    expectEnvelopeError(() => encodeEnvelope({ ...baseFields, sender: 'a\ud800' }, signerA), 'ENVELOPE_FIELD_INVALID');
    expectEnvelopeError(() => encodeEnvelope({ ...baseFields, kind: 'bogus' as EnvelopeKind }, signerA), 'ENVELOPE_FIELD_INVALID');
    for (const seq of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectEnvelopeError(() => encodeEnvelope({ ...baseFields, seq }, signerA), 'ENVELOPE_NUMBER_RANGE');
      expectEnvelopeError(() => encodeEnvelope({ ...baseFields, term: seq }, signerA), 'ENVELOPE_NUMBER_RANGE');
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const payload of [undefined, 10n, cycle, () => 1, Symbol('s')]) {
      expectEnvelopeError(() => encodeEnvelope({ ...baseFields, payload }, signerA), 'ENVELOPE_PAYLOAD_NOT_JSON');
    }
  });

  it('throws ENVELOPE_TOO_LARGE exactly past messageBytesMax', () => {
    const overhead = encodeEnvelope({ ...baseFields, payload: '' }, signerA).byteLength;
    const fits = encodeEnvelope({ ...baseFields, payload: 'x'.repeat(1000 - overhead) }, signerA, { messageBytesMax: 1000 });
    expect(fits.byteLength).toBe(1000);
    expect(decodeEnvelope(fits, { ...atB, messageBytesMax: 1000 }).ok).toBe(true);
    expectEnvelopeError(
      () => encodeEnvelope({ ...baseFields, payload: 'x'.repeat(1001 - overhead) }, signerA, { messageBytesMax: 1000 }),
      'ENVELOPE_TOO_LARGE',
    );
  });

  it('a frame of nearly the default 1 MiB round-trips', () => {
    const overhead = encodeEnvelope({ ...baseFields, payload: '' }, signerA).byteLength;
    const frame = encodeEnvelope({ ...baseFields, payload: 'y'.repeat(messageBytesMaxDefault - overhead) }, signerA);
    expect(frame.byteLength).toBe(messageBytesMaxDefault);
    expect(decodeEnvelope(frame, atB).ok).toBe(true);
  });

  it('refuses a messageBytesMax outside its bounds, on both sides', () => {
    for (const messageBytesMax of [0, envelopeBytesMin - 1, 2 ** 30, 1.5]) {
      expectEnvelopeError(() => encodeEnvelope(baseFields, signerA, { messageBytesMax }), 'ENVELOPE_CONFIG');
      expectEnvelopeError(() => decodeEnvelope(new Uint8Array(0), { ...atB, messageBytesMax }), 'ENVELOPE_CONFIG');
    }
  });
});

describe('with the replay window', () => {
  function receive(window: ReplayWindow, frame: Uint8Array): string {
    const result = decodeEnvelope(frame, atB);
    if (!result.ok) return result.reason;
    const verdict = window.accept(result.envelope.sender, result.envelope.seq);
    return verdict.ok ? 'accepted' : verdict.reason;
  }

  it('the same frame delivered twice is taken once', () => {
    const window = new ReplayWindow();
    const frame = encodeEnvelope(baseFields, signerA);
    expect(receive(window, frame)).toBe('accepted');
    expect(receive(window, frame)).toBe('duplicate');
  });

  it('frames reordered within the window are all taken, then refused on replay', () => {
    const window = new ReplayWindow();
    const source = new SequenceSource(5);
    const frames = Array.from({ length: 20 }, () => encodeEnvelope({ ...baseFields, seq: source.next() }, signerA));
    const random = seededRandom(4);
    const order = frames.map((frame) => ({ frame, key: random() })).sort((x, y) => x.key - y.key);
    for (const { frame } of order) expect(receive(window, frame)).toBe('accepted');
    for (const frame of frames) expect(receive(window, frame)).toBe('duplicate');
  });

  it('after the sender restarts with a new epoch, frames of the old epoch are too old', () => {
    const window = new ReplayWindow();
    const before = new SequenceSource(1);
    const old = encodeEnvelope({ ...baseFields, seq: before.next() }, signerA);
    const unseen = encodeEnvelope({ ...baseFields, seq: before.next() }, signerA);
    expect(receive(window, old)).toBe('accepted');
    const after = new SequenceSource(2);
    expect(receive(window, encodeEnvelope({ ...baseFields, seq: after.next() }, signerA))).toBe('accepted');
    expect(receive(window, old)).toBe('too-old');
    expect(receive(window, unseen)).toBe('too-old');
  });

  it('a forged frame is rejected before it can move the window', () => {
    const window = new ReplayWindow();
    expect(receive(window, craft({ seq: 2n ** 50n, signer: signerB }))).toBe('bad-signature');
    expect(window.highest('a')).toBeUndefined();
    expect(receive(window, craft({ seq: 1n }))).toBe('accepted');
  });
});
