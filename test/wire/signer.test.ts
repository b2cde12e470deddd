// Checks src/wire/signer.ts: that keys built from seeds, raw bytes, PKCS#8 and
// base64 are the keys they claim to be, and that signatures are plain RFC 8032
// Ed25519 as produced and verified by node:crypto. Known-answer tests use the
// RFC 8032 §7.1 vectors; malformed keys must raise KeyFormatError with a code,
// and verification must answer false (never throw) for any signature bytes.
import { Buffer } from 'node:buffer';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Ed25519Signer,
  generateMemberKey,
  KeyFormatError,
  privateKeyFromPkcs8,
  privateKeyFromRaw,
  privateKeyFromSeed,
  privateKeyToSeed,
  PublicKeyring,
  publicKeyFromBase64,
  publicKeyFromRaw,
  publicKeyToRaw,
  verifyEd25519,
} from '../../src/wire/index.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
const rfcVectors = [
  {
    name: 'TEST 1',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

function expectKeyError(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyFormatError);
    expect((error as KeyFormatError).code).toBe(code);
    return;
  }
  expect.fail(`expected KeyFormatError ${code}`);
}

describe('RFC 8032 known answers', () => {
  for (const vector of rfcVectors) {
    it(`${vector.name}: seed gives the public key and the signature`, () => {
      const signer = new Ed25519Signer(privateKeyFromSeed(hex(vector.seed)));
      expect(Buffer.from(publicKeyToRaw(signer.publicKey)).toString('hex')).toBe(vector.publicKey);
      const signature = signer.sign(hex(vector.message));
      expect(Buffer.from(signature).toString('hex')).toBe(vector.signature);
      const publicKey = publicKeyFromRaw(hex(vector.publicKey));
      expect(verifyEd25519(publicKey, hex(vector.message), signature)).toBe(true);
      // And node:crypto's own verify, with no wrapper, agrees.
      expect(verify(null, hex(vector.message), publicKey, signature)).toBe(true);
    });
  }
});

describe('signing and verification', () => {
  const key = generateMemberKey();
  const signer = new Ed25519Signer(key.privateKey);
  const message = new Uint8Array(Buffer.from('renew tickets A and B'));

  it('a signature verifies with node:crypto and fails for other data or another key', () => {
    const signature = signer.sign(message);
    expect(signature.byteLength).toBe(64);
    expect(verify(null, message, key.publicKey, signature)).toBe(true);
    expect(verifyEd25519(key.publicKey, message, signature)).toBe(true);
    expect(verifyEd25519(key.publicKey, new Uint8Array(Buffer.from('renew tickets A and C')), signature)).toBe(false);
    expect(verifyEd25519(generateMemberKey().publicKey, message, signature)).toBe(false);
  });

  it('signatures are deterministic (RFC 8032), so one key always yields the same bytes', () => {
    expect(Buffer.from(signer.sign(message)).equals(signer.sign(message))).toBe(true);
  });

  it('signatures of any wrong length verify false instead of throwing', () => {
    const signature = signer.sign(message);
    for (const length of [0, 1, 63, 65, 128]) {
      const wrong = new Uint8Array(length);
      wrong.set(signature.subarray(0, Math.min(length, 64)));
      expect(verifyEd25519(key.publicKey, message, wrong)).toBe(false);
    }
  });

  it('signer keeps one public KeyObject, derived once', () => {
    expect(signer.publicKey).toBe(signer.publicKey);
    expect(publicKeyToRaw(signer.publicKey)).toEqual(key.publicKeyRaw);
  });

  it('refuses a public key where a private one is needed and vice versa', () => {
    expectKeyError(() => new Ed25519Signer(key.publicKey), 'KEY_TYPE');
    expectKeyError(() => verifyEd25519(key.privateKey, message, signer.sign(message)), 'KEY_TYPE');
    expectKeyError(() => publicKeyToRaw(key.privateKey), 'KEY_TYPE');
  });
});

describe('key construction', () => {
  it('generateMemberKey returns a seed that reproduces the key, and fresh keys differ', () => {
    const a = generateMemberKey();
    const b = generateMemberKey();
    expect(a.seed.byteLength).toBe(32);
    expect(a.publicKeyRaw.byteLength).toBe(32);
    expect(publicKeyToRaw(createPublicKey(privateKeyFromSeed(a.seed)))).toEqual(a.publicKeyRaw);
    expect(privateKeyToSeed(a.privateKey)).toEqual(a.seed);
    expect(a.publicKeyRaw).not.toEqual(b.publicKeyRaw);
  });

  it('privateKeyFromRaw takes a 32-byte seed or a 64-byte seed‖public whose halves match', () => {
    const key = generateMemberKey();
    const expanded = new Uint8Array([...key.seed, ...key.publicKeyRaw]);
    expect(privateKeyToSeed(privateKeyFromRaw(key.seed))).toEqual(key.seed);
    expect(privateKeyToSeed(privateKeyFromRaw(expanded))).toEqual(key.seed);
    const mismatched = new Uint8Array([...key.seed, ...generateMemberKey().publicKeyRaw]);
    expectKeyError(() => privateKeyFromRaw(mismatched), 'KEY_MISMATCH');
    expectKeyError(() => privateKeyFromRaw(new Uint8Array(33)), 'KEY_FORMAT');
    expectKeyError(() => privateKeyFromSeed(new Uint8Array(31)), 'KEY_FORMAT');
  });

  it('privateKeyFromPkcs8 reads OpenSSL DER and refuses other key types and garbage', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const key = privateKeyFromPkcs8(new Uint8Array(der));
    expect(privateKeyToSeed(key)).toEqual(privateKeyToSeed(privateKey));
    const x25519 = generateKeyPairSync('x25519').privateKey.export({ format: 'der', type: 'pkcs8' });
    expectKeyError(() => privateKeyFromPkcs8(new Uint8Array(x25519)), 'KEY_TYPE');
    expectKeyError(() => privateKeyFromPkcs8(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), 'KEY_FORMAT');
  });

  it('publicKeyFromBase64 accepts canonical base64 with or without padding, and nothing else', () => {
    const key = generateMemberKey();
    const text = Buffer.from(key.publicKeyRaw).toString('base64');
    expect(text).toHaveLength(44);
    expect(publicKeyToRaw(publicKeyFromBase64(text))).toEqual(key.publicKeyRaw);
    expect(publicKeyToRaw(publicKeyFromBase64(text.replace(/=$/, '')))).toEqual(key.publicKeyRaw);
    expect(publicKeyToRaw(publicKeyFromBase64(` ${text}\n`))).toEqual(key.publicKeyRaw);
    // A character outside the alphabet, which Buffer.from would silently skip.
    expectKeyError(() => publicKeyFromBase64(`${text.slice(0, 10)}*${text.slice(11)}`), 'KEY_FORMAT');
    // Non-canonical: the last character's unused low bits set.
    const last = text.charAt(42);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const tweaked = alphabet.charAt(alphabet.indexOf(last) ^ 1);
    expectKeyError(() => publicKeyFromBase64(`${text.slice(0, 42)}${tweaked}=`), 'KEY_FORMAT');
    // Wrong length.
    expectKeyError(() => publicKeyFromBase64(Buffer.alloc(31).toString('base64')), 'KEY_FORMAT');
    expectKeyError(() => publicKeyFromRaw(new Uint8Array(33)), 'KEY_FORMAT');
  });

  it('PublicKeyring holds one cached KeyObject per id and refuses duplicates', () => {
    const a = generateMemberKey();
    const b = generateMemberKey();
    const ring = PublicKeyring.fromBase64([
      ['site-a', Buffer.from(a.publicKeyRaw).toString('base64')],
      ['site-b', Buffer.from(b.publicKeyRaw).toString('base64')],
    ]);
    expect(ring.size).toBe(2);
    expect(ring.get('site-a')).toBe(ring.get('site-a'));
    expect(publicKeyToRaw(ring.get('site-b')!)).toEqual(b.publicKeyRaw);
    expect(ring.get('site-c')).toBeUndefined();
    expect([...ring.ids()]).toEqual(['site-a', 'site-b']);
    expectKeyError(
      () =>
        new PublicKeyring([
          ['x', a.publicKey],
          ['x', b.publicKey],
        ]),
      'KEY_FORMAT',
    );
    expectKeyError(() => new PublicKeyring([['x', a.privateKey]]), 'KEY_TYPE');
  });
});
