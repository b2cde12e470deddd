// Ed25519 signing and verification for wire envelopes (DESIGN.md §7).
//
// Only `node:crypto` is used, never @noble: OpenSSL's verifier follows RFC 8032
// while noble defaults to ZIP-215, and the two can disagree on crafted
// edge-case signatures. Every member must reach the same accept/reject verdict
// on the same frame, so there is exactly one verifier in the code base
// (shared/reference/stack.md, "Ed25519"). KeyObjects are built once, when the
// config is loaded, and cached: re-parsing a key on every call costs more than
// ten times the signature itself (stack.md measured 2 300 against 28 600 signs/s).
import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { TollboothError } from '../errors.js';

export const ed25519SeedBytes = 32;
export const ed25519PublicKeyBytes = 32;
export const ed25519SignatureBytes = 64;
/** NaCl/libp2p layout of a raw private key: the 32-byte seed, then the 32-byte public key. */
export const ed25519ExpandedPrivateKeyBytes = ed25519SeedBytes + ed25519PublicKeyBytes;

// DER headers for Ed25519 keys (RFC 8410): PKCS#8 `PrivateKeyInfo` wrapping a
// 32-byte seed, and `SubjectPublicKeyInfo` wrapping a 32-byte public key. With
// them a raw key becomes a DER document that `node:crypto` imports directly.
const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
const spkiEd25519Prefix = Buffer.from('302a300506032b6570032100', 'hex');

export type KeyFormatErrorCode = 'KEY_FORMAT' | 'KEY_TYPE' | 'KEY_MISMATCH';

/** A key given by config or by a caller is malformed. Raised at load time, never for network input. */
export class KeyFormatError extends TollboothError<KeyFormatErrorCode> {}

function assertEd25519(key: KeyObject, type: 'private' | 'public'): void {
  if (key.type !== type || key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError('KEY_TYPE', `expected an Ed25519 ${type} key, got ${key.type} ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** Private key from the 32-byte RFC 8032 seed (the "secret key" of the RFC test vectors). */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== ed25519SeedBytes) {
    throw new KeyFormatError('KEY_FORMAT', `Ed25519 seed must be ${ed25519SeedBytes} bytes, got ${seed.byteLength}`);
  }
  return createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: 'der', type: 'pkcs8' });
}

/** Private key from a PKCS#8 DER document (as written by `openssl genpkey -algorithm ed25519 -outform DER`). */
export function privateKeyFromPkcs8(der: Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'pkcs8' });
  } catch (error) {
    // Re-raised as our own class so config loading reports one error kind.
    throw new KeyFormatError('KEY_FORMAT', `not a PKCS#8 DER private key: ${(error as Error).message}`);
  }
  assertEd25519(key, 'private');
  return key;
}

/**
 * Private key from raw bytes: either the 32-byte seed, or the 64-byte
 * seed‖public layout used by NaCl and libp2p. In the second case the public
 * half must match the seed, so a corrupted key file is caught at load time
 * rather than producing frames every peer rejects.
 */
export function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength === ed25519SeedBytes) return privateKeyFromSeed(raw);
  if (raw.byteLength !== ed25519ExpandedPrivateKeyBytes) {
    throw new KeyFormatError(
      'KEY_FORMAT',
      `raw Ed25519 private key must be ${ed25519SeedBytes} or ${ed25519ExpandedPrivateKeyBytes} bytes, got ${raw.byteLength}`,
    );
  }
  const key = privateKeyFromSeed(raw.subarray(0, ed25519SeedBytes));
  const derived = publicKeyToRaw(createPublicKey(key));
  if (!Buffer.from(derived).equals(raw.subarray(ed25519SeedBytes))) {
    throw new KeyFormatError('KEY_MISMATCH', 'the public half of the 64-byte private key does not match its seed');
  }
  return key;
}

/** Public key from its raw 32 bytes. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ed25519PublicKeyBytes) {
    throw new KeyFormatError('KEY_FORMAT', `Ed25519 public key must be ${ed25519PublicKeyBytes} bytes, got ${raw.byteLength}`);
  }
  return createPublicKey({ key: Buffer.concat([spkiEd25519Prefix, raw]), format: 'der', type: 'spki' });
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Public key from the standard base64 of its raw 32 bytes (padding optional).
 * `Buffer.from(text, 'base64')` silently skips characters it does not know,
 * so the text is checked against the alphabet and for canonical form first: a
 * typo in the formation config must fail loudly, not load a different key.
 */
export function publicKeyFromBase64(text: string): KeyObject {
  const trimmed = text.trim();
  if (!base64Pattern.test(trimmed)) {
    throw new KeyFormatError('KEY_FORMAT', 'Ed25519 public key is not standard base64');
  }
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.toString('base64').replace(/=+$/, '') !== trimmed.replace(/=+$/, '')) {
    throw new KeyFormatError('KEY_FORMAT', 'Ed25519 public key base64 is not canonical');
  }
  return publicKeyFromRaw(raw);
}

/** The raw 32 bytes of an Ed25519 public key. */
export function publicKeyToRaw(key: KeyObject): Uint8Array {
  assertEd25519(key, 'public');
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(spkiEd25519Prefix.byteLength));
}

/** The 32-byte seed of an Ed25519 private key (what a key file stores). */
export function privateKeyToSeed(key: KeyObject): Uint8Array {
  assertEd25519(key, 'private');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(pkcs8Ed25519Prefix.byteLength));
}

export interface MemberKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** 32-byte seed; persist it with mode 0600, it is the member's identity. */
  readonly seed: Uint8Array;
  /** Raw 32-byte public key, for the formation config (base64). */
  readonly publicKeyRaw: Uint8Array;
}

/**
 * A fresh member identity. The seed comes from the OS CSPRNG; the key is
 * built from the seed (rather than from generateKeyPairSync's own output) so
 * that the returned seed provably reproduces the same key.
 */
export function generateMemberKey(): MemberKey {
  const seed = new Uint8Array(randomBytes(ed25519SeedBytes));
  const privateKey = privateKeyFromSeed(seed);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, seed, publicKeyRaw: publicKeyToRaw(publicKey) };
}

/** What the envelope encoder needs from a signer. */
export interface EnvelopeSigner {
  sign(data: Uint8Array): Uint8Array;
}

/** Signs with one cached private KeyObject. Create one per process at start-up. */
export class Ed25519Signer implements EnvelopeSigner {
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    assertEd25519(privateKey, 'private');
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
  }

  /** A 64-byte RFC 8032 (pure Ed25519) signature over `data`. */
  sign(data: Uint8Array): Uint8Array {
    return sign(null, data, this.#privateKey);
  }
}

/**
 * RFC 8032 verification. Returns false for a signature of the wrong length
 * instead of handing it to OpenSSL, so that no shape of network input can make
 * this throw; a key of the wrong type is a programmer error and does throw.
 */
export function verifyEd25519(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  assertEd25519(publicKey, 'public');
  if (signature.byteLength !== ed25519SignatureBytes) return false;
  return verify(null, data, publicKey, signature);
}

/**
 * The public keys of a formation's members (or of its admins), indexed by id,
 * built once from config. Bounded by the config, not by network input.
 */
export class PublicKeyring {
  readonly #keys = new Map<string, KeyObject>();

  constructor(entries: Iterable<readonly [id: string, key: KeyObject]>) {
    for (const [id, key] of entries) {
      assertEd25519(key, 'public');
      if (this.#keys.has(id)) throw new KeyFormatError('KEY_FORMAT', `duplicate key id ${JSON.stringify(id)}`);
      this.#keys.set(id, key);
    }
  }

  /** Keyring from `id → base64 raw public key`, the shape of the formation config. */
  static fromBase64(entries: Iterable<readonly [id: string, base64: string]>): PublicKeyring {
    const keys: (readonly [string, KeyObject])[] = [];
    for (const [id, text] of entries) keys.push([id, publicKeyFromBase64(text)]);
    return new PublicKeyring(keys);
  }

  get(id: string): KeyObject | undefined {
    return this.#keys.get(id);
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  get size(): number {
    return this.#keys.size;
  }

  ids(): IterableIterator<string> {
    return this.#keys.keys();
  }
}
