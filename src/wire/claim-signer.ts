// Ed25519 signatures on gossip claims (DESIGN.md §7, issue 5): the runtime's
// ClaimAuthenticator for src/core/gossip (messages.ts). Every membership
// claim (alive, suspect, dead) and every rumor (ticket state, site health)
// is signed by the member that makes it, so a member that passes it on — by
// gossip or as a relay — cannot forge or alter it, and the core checks each
// claim before it changes anything.
//
// What is signed: claimSigningContext ‖ canonical JSON of the claim. The
// context separates these signatures from the envelope's (and from libp2p's
// records made with the same key). The JSON is canonical — object keys sorted
// at every depth, no spaces — because the receiver rebuilds the claim from a
// parsed and schema-checked payload whose key order need not be the sender's.
// Signatures travel as base64 (88 characters); malformed ones verify false,
// never throw. Ed25519 is deterministic, so the same claim always gets the
// same signature (the simulator's stand-in keeps that property).
//
// Cost: the core verifies only claims that would change its state (see
// docs/protocol.md §7), so the many redundant copies gossip produces cost no
// check.
import { Buffer } from 'node:buffer';
import { type KeyObject } from 'node:crypto';
import type { Claim, ClaimAuthenticator } from '../core/gossip/messages.js';
import { Ed25519Signer, ed25519SignatureBytes, verifyEd25519 } from './signer.js';

export const claimSigningContext = 'tollbooth/claim/v1\0';

/** Characters of a base64 Ed25519 signature; the wire schema bounds `sig` fields with it. */
export const claimSignatureChars = 4 * Math.ceil(ed25519SignatureBytes / 3);

/** JSON with object keys sorted at every depth: one text per value, whatever the key order it arrived in. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; the claim shapes never hold them.
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The bytes an Ed25519 claim signature covers. */
export function claimSigningBytes(claim: Claim): Buffer {
  const body =
    claim.about === 'member'
      ? { about: 'member', member: claim.member, incarnation: claim.incarnation, state: claim.state, origin: claim.origin }
      : { about: 'rumor', kind: claim.kind, key: claim.key, version: claim.version, origin: claim.origin, payload: claim.payload };
  return Buffer.from(claimSigningContext + canonicalJson(body), 'utf8');
}

export interface ClaimSignerOptions {
  /** This member's id: the only origin it signs for. */
  readonly self: string;
  /** This member's private key (the envelope key). */
  readonly privateKey: KeyObject;
  /** A member's public key by id, from the formation config (cached KeyObjects); undefined for a non-member. */
  readonly publicKeyOf: (member: string) => KeyObject | undefined;
}

export class Ed25519ClaimAuthenticator implements ClaimAuthenticator {
  readonly #self: string;
  readonly #signer: Ed25519Signer;
  readonly #publicKeyOf: (member: string) => KeyObject | undefined;

  constructor(options: ClaimSignerOptions) {
    this.#self = options.self;
    this.#signer = new Ed25519Signer(options.privateKey);
    this.#publicKeyOf = options.publicKeyOf;
  }

  sign(claim: Claim): string {
    // The core only ever signs its own claims; anything else is a bug there.
    if (claim.origin !== this.#self) throw new Error(`asked to sign a claim by ${claim.origin}, this member is ${this.#self}`);
    return Buffer.from(this.#signer.sign(claimSigningBytes(claim))).toString('base64');
  }

  verify(claim: Claim, sig: string): boolean {
    if (typeof sig !== 'string' || sig.length !== claimSignatureChars) return false;
    const key = this.#publicKeyOf(claim.origin);
    if (key === undefined) return false;
    const bytes = Buffer.from(sig, 'base64');
    // Buffer.from ignores characters outside the alphabet; a round trip proves the text was exact base64.
    if (bytes.byteLength !== ed25519SignatureBytes || bytes.toString('base64') !== sig) return false;
    return verifyEd25519(key, claimSigningBytes(claim), bytes);
  }
}
