// Test helpers for the wire tests: a seeded PRNG (so a failing random case
// replays from its seed, never Math.random), and a frame builder that writes
// the envelope layout byte by byte from the spec in src/wire/envelope.ts. The
// builder is deliberately independent of encodeEnvelope, so tests can craft
// frames the encoder refuses to make and check the decoder against the spec,
// not against itself.
import { Buffer } from 'node:buffer';
import { envelopeSigningContext, type EnvelopeSigner } from '../../src/wire/index.js';

/** mulberry32: small, fast, and good enough to drive test inputs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function randomInt(random: () => number, maxExclusive: number): number {
  return Math.floor(random() * maxExclusive);
}

export function randomBytesFrom(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = randomInt(random, 256);
  return bytes;
}

export interface FrameParts {
  magic?: readonly number[];
  version?: number;
  kindCode?: number;
  /** Raw 8 bytes each, so out-of-range values can be written. */
  seq?: bigint;
  term?: bigint;
  formation?: Uint8Array | string;
  sender?: Uint8Array | string;
  recipient?: Uint8Array | string;
  /** Overrides a string's length byte (the bytes written are unchanged). */
  formationLength?: number;
  payload?: Uint8Array | string;
  payloadLength?: number;
  /** Signs context ‖ body; null writes 64 zero bytes. */
  signer?: EnvelopeSigner | null;
  /** Sign without the domain-separation context, as a naive implementation would. */
  signWithoutContext?: boolean;
  trailing?: Uint8Array;
}

function bytesOf(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'utf8')) : value;
}

/** Builds a version-1 frame from parts, defaulting to a valid raft frame of formation "f" from "a" to "b". */
export function buildFrame(parts: FrameParts, defaultSigner: EnvelopeSigner): Uint8Array {
  const formation = bytesOf(parts.formation ?? 'f');
  const sender = bytesOf(parts.sender ?? 'a');
  const recipient = bytesOf(parts.recipient ?? 'b');
  const payload = bytesOf(parts.payload ?? '{"x":1}');
  const header = Buffer.alloc(20);
  const magic = parts.magic ?? [0x54, 0x42];
  header[0] = magic[0] ?? 0;
  header[1] = magic[1] ?? 0;
  header[2] = parts.version ?? 1;
  header[3] = parts.kindCode ?? 1;
  header.writeBigUInt64BE(parts.seq ?? 7n, 4);
  header.writeBigUInt64BE(parts.term ?? 3n, 12);
  const payloadLength = Buffer.alloc(4);
  payloadLength.writeUInt32BE(parts.payloadLength ?? payload.byteLength);
  const body = Buffer.concat([
    header,
    Uint8Array.of(parts.formationLength ?? formation.byteLength),
    formation,
    Uint8Array.of(sender.byteLength),
    sender,
    Uint8Array.of(recipient.byteLength),
    recipient,
    payloadLength,
    payload,
  ]);
  const signer = parts.signer === undefined ? defaultSigner : parts.signer;
  const signed = parts.signWithoutContext === true ? body : Buffer.concat([envelopeSigningContext, body]);
  const signature = signer === null ? new Uint8Array(64) : signer.sign(signed);
  return new Uint8Array(Buffer.concat([body, signature, parts.trailing ?? new Uint8Array(0)]));
}
