// The signed binary envelope that carries every message between members
// (DESIGN.md §7): Raft traffic, gossip, admin commands and their replies.
//
// Layout, version 1 (all integers big-endian):
//
//   offset  size  field
//   0       2     magic 0x54 0x42 ("TB")
//   2       1     version = 1
//   3       1     kind: 1 raft, 2 gossip, 3 admin, 4 admin-reply, 5 relay, 6 hello
//   4       8     sequence number, unsigned, ≤ 2^53 − 1 (see replay-window.ts)
//   12      8     term, unsigned, ≤ 2^53 − 1
//   20      1+n   formation name, UTF-8, 1..formationNameBytesMax bytes
//   …       1+n   sender member id, UTF-8, 1..memberIdBytesMax bytes
//   …       1+n   recipient member id, UTF-8, 0..memberIdBytesMax bytes (0 = every member)
//   …       4+n   payload: UTF-8 JSON, the core's protocol message
//   …       64    Ed25519 signature over envelopeSigningContext ‖ bytes 0 … end of payload
//
// Fixed-width fields come first so that the version, kind, sequence and term
// sit at fixed offsets and the variable part is parsed once, front to back.
// Every length is checked against what remains before it is used, and the
// frame must end exactly after the signature, so one byte string decodes to at
// most one envelope and the signature covers all of it.
//
// A 'relay' frame (DESIGN.md §3.2) carries another member's signed frame,
// unchanged, as its payload ({ "frame": base64 }): the outer frame is signed
// by whoever hands it over (the original sender to the relay, the relay to
// the recipient), the inner one stays signed end to end by its author and
// addressed to its final recipient, so a relay can neither forge nor
// redirect it. The inner frame is decoded with localMemberId null at the
// relay (it is not addressed to it) and normally at the recipient.
//
// A 'hello' frame opens every stream (libp2p-transport.ts): its payload is
// { "protocol": "major.minor" } (protocol-version.ts). Its layout is this
// version 1 layout for good, whatever later protocol versions change, so that
// a member can always read a newer or older peer's hello and name both
// versions when it refuses the link.
//
// Decoding never throws on network input: it returns a reject with a reason
// code (counted per peer by reject-counter.ts). Cheap structural checks run
// first, then the signature, and only a frame whose signature verifies has its
// JSON parsed, so unauthenticated input never reaches JSON.parse.
import { Buffer, isUtf8 } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import { ed25519SignatureBytes, verifyEd25519, type EnvelopeSigner } from './signer.js';
import { TollboothError } from '../errors.js';

export const envelopeMagic: readonly [number, number] = [0x54, 0x42];
export const envelopeVersion = 1;

/**
 * The frame cap: the largest frame a member sends or accepts. It must stay a
 * margin below what the transport really buffers for a stream (4 MiB,
 * streamBufferBytes in src/adapters/transport/libp2p-transport.ts, which checks
 * it). Every message fits: snapshots travel in chunks of
 * snapshotChunkBytesMax (src/core/config.ts); a renewal names every ticket its
 * site holds (config checks that a formation's tickets fit, renewalFrameBytes).
 */
export const messageBytesMaxDefault = 3 * 1024 * 1024;
/** Ceiling for a configured messageBytesMax: past it a single frame could stall the event loop for a long time. */
export const messageBytesMaxLimit = 16 * 1024 * 1024;
export const formationNameBytesMax = 64;
export const memberIdBytesMax = 64;
/** Width of the payload length field; messageBytesMaxLimit keeps real lengths far below 2^32. */
const payloadLengthBytes = 4;
const stringLengthBytes = 1;
const fixedHeaderBytes = 2 + 1 + 1 + 8 + 8;
const seqOffset = 4;
const termOffset = 12;

/** Bytes of a frame besides its payload, at most (the longest formation and member ids): payload budget = cap − this. */
export const envelopeOverheadBytesMax = fixedHeaderBytes + 3 * stringLengthBytes + formationNameBytesMax + 2 * memberIdBytesMax + payloadLengthBytes + ed25519SignatureBytes;

/** The smallest frame that can be well formed (empty strings and payload, then a signature). */
export const envelopeBytesMin = fixedHeaderBytes + 3 * stringLengthBytes + payloadLengthBytes + ed25519SignatureBytes;

/**
 * Prefixed to the signed bytes but never sent. The member's Ed25519 key also
 * serves as its libp2p identity (DESIGN.md §7), and libp2p signs its own
 * records with that key; a distinct context string (domain separation) means
 * no signature made for one purpose can be passed off as valid for another.
 */
export const envelopeSigningContext: Uint8Array = new Uint8Array(Buffer.from('tollbooth/envelope/v1\0', 'latin1'));

export const envelopeKinds = ['raft', 'gossip', 'admin', 'admin-reply', 'relay', 'hello'] as const;
export type EnvelopeKind = (typeof envelopeKinds)[number];

const kindCodes: Readonly<Record<EnvelopeKind, number>> = { raft: 1, gossip: 2, admin: 3, 'admin-reply': 4, relay: 5, hello: 6 };
const kindsByCode: ReadonlyMap<number, EnvelopeKind> = new Map(envelopeKinds.map((kind) => [kindCodes[kind], kind]));

/** Offset of the kind byte (see the layout above). */
const kindOffset = 3;

/**
 * The kind a frame claims, read from its kind byte without checking anything
 * else (not even the magic): undefined for a frame too short to have one or a
 * byte no kind has. Unauthenticated — for choosing the sender's inbound budget
 * before the frame is verified (inbound-budget.ts), never for trusting it.
 */
export function envelopeKindOf(frame: Uint8Array): EnvelopeKind | undefined {
  const code = frame[kindOffset];
  return code === undefined ? undefined : kindsByCode.get(code);
}

/** Recipient value meaning "every member of the formation" (gossip dissemination). */
export const broadcastRecipient = '';

/** Why a frame was rejected. Stable strings: they appear in logs and metrics. */
export const envelopeRejectReasons = [
  /** Frame longer than messageBytesMax; checked before anything else is read. */
  'oversize',
  /** Frame ends before a field it announces, or before the signature. */
  'truncated',
  /** The first two bytes are not "TB": not a tollbooth frame at all. */
  'bad-magic',
  /** A version this build does not speak. */
  'unsupported-version',
  /** A kind byte outside the known kinds. */
  'unknown-kind',
  /** A string field's length byte exceeds its limit. */
  'field-too-long',
  /** Empty formation or sender, or a string field that is not valid UTF-8. */
  'field-invalid',
  /** Sequence number or term above 2^53 − 1 (not exact in a JS number). */
  'number-out-of-range',
  /** Bytes after the signature. */
  'trailing-bytes',
  /** The frame belongs to another formation (e.g. a test cluster on the same network). */
  'wrong-formation',
  /** Addressed to another member (a misrouted or maliciously redirected relay). */
  'wrong-recipient',
  /** The key lookup knows no key for this sender (and kind). */
  'unknown-sender',
  /** The signature does not verify with the sender's key. */
  'bad-signature',
  /** Signed, but the payload is not UTF-8 JSON. A bug at the sender, not an attack. */
  'bad-payload',
] as const;
export type EnvelopeRejectReason = (typeof envelopeRejectReasons)[number];

export interface EnvelopeFields {
  readonly kind: EnvelopeKind;
  readonly formation: string;
  readonly sender: string;
  /** `broadcastRecipient` ('') for every member. */
  readonly recipient: string;
  /** Non-negative safe integer, strictly increasing per sender (replay-window.ts). */
  readonly seq: number;
  /** Non-negative safe integer: the sender's current Raft term (0 where none applies). */
  readonly term: number;
  /** Any JSON-serialisable value; the receiver validates its shape. */
  readonly payload: unknown;
}

export interface Envelope extends EnvelopeFields {
  readonly version: number;
  /** Size of the frame it was decoded from, for metrics. */
  readonly frameBytes: number;
}

export type DecodeResult =
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly reason: EnvelopeRejectReason; readonly detail: string };

export interface EncodeOptions {
  /** Bound on the whole frame in bytes; default messageBytesMaxDefault. */
  readonly messageBytesMax?: number;
}

export interface DecodeContext {
  /** The receiver's formation name; frames for any other are rejected. */
  readonly formation: string;
  /**
   * The receiving member's id. Frames addressed to another member are
   * rejected. `null` skips the check, for a relay that verifies a frame
   * before passing it on unchanged.
   */
  readonly localMemberId: string | null;
  /**
   * The sender's public key, or undefined when the sender may not send this
   * kind. Given the kind so that admin keys can be confined to 'admin' frames
   * and member keys kept out of them. Must return cached KeyObjects
   * (PublicKeyring), never parse a key per call.
   */
  readonly publicKeyOf: (sender: string, kind: EnvelopeKind) => KeyObject | undefined;
  /** Bound on the whole frame in bytes; default messageBytesMaxDefault. */
  readonly messageBytesMax?: number;
}

export type EnvelopeErrorCode =
  | 'ENVELOPE_TOO_LARGE'
  | 'ENVELOPE_FIELD_TOO_LONG'
  | 'ENVELOPE_FIELD_INVALID'
  | 'ENVELOPE_NUMBER_RANGE'
  | 'ENVELOPE_PAYLOAD_NOT_JSON'
  | 'ENVELOPE_CONFIG';

/**
 * A local caller asked to encode something that cannot be sent, or passed a
 * bad limit. Encoding runs on our own data, so this is thrown; decoding runs
 * on network data and returns a reject instead.
 */
export class EnvelopeError extends TollboothError<EnvelopeErrorCode> {
  constructor(
    code: EnvelopeErrorCode,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(code, message, { details: { field }, cause: options?.cause });
  }
}

function checkMessageBytesMax(messageBytesMax: number): void {
  if (!Number.isSafeInteger(messageBytesMax) || messageBytesMax < envelopeBytesMin || messageBytesMax > messageBytesMaxLimit) {
    throw new EnvelopeError(
      'ENVELOPE_CONFIG',
      `messageBytesMax must be an integer in [${envelopeBytesMin}, ${messageBytesMaxLimit}], got ${messageBytesMax}`,
      'messageBytesMax',
    );
  }
}

const uint32Range = 2 ** 32;
/** The high word of a u64 that is still a safe integer: 2^53 − 1 = 0x1f_ffff·2^32 + 0xffff_ffff. */
const safeHighWordMax = 0x1f_ffff;

function encodeString(value: string, field: string, bytesMax: number, allowEmpty: boolean): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  // A lone UTF-16 surrogate encodes as U+FFFD, so the receiver would see a
  // different string from the one we meant; the round trip catches it.
  if (bytes.toString('utf8') !== value) {
    throw new EnvelopeError('ENVELOPE_FIELD_INVALID', `${field} is not well-formed Unicode`, field);
  }
  if (bytes.byteLength > bytesMax) {
    throw new EnvelopeError('ENVELOPE_FIELD_TOO_LONG', `${field} is ${bytes.byteLength} bytes in UTF-8, limit ${bytesMax}`, field);
  }
  if (bytes.byteLength === 0 && !allowEmpty) {
    throw new EnvelopeError('ENVELOPE_FIELD_INVALID', `${field} must not be empty`, field);
  }
  return bytes;
}

function checkUint53(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new EnvelopeError('ENVELOPE_NUMBER_RANGE', `${field} must be an integer in [0, 2^53 − 1], got ${value}`, field);
  }
}

function writeUint53(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / uint32Range));
  view.setUint32(offset + 4, value % uint32Range);
}

/** Returns the value, or undefined when it does not fit in a safe integer. */
function readUint53(view: DataView, offset: number): number | undefined {
  const high = view.getUint32(offset);
  if (high > safeHighWordMax) return undefined;
  return high * uint32Range + view.getUint32(offset + 4);
}

function encodePayload(payload: unknown): Buffer {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    // BigInt values and cycles make JSON.stringify throw; report it as ours.
    throw new EnvelopeError('ENVELOPE_PAYLOAD_NOT_JSON', `payload is not JSON-serialisable: ${(error as Error).message}`, 'payload', {
      cause: error,
    });
  }
  // JSON.stringify returns undefined for undefined, functions and symbols.
  if (json === undefined) {
    throw new EnvelopeError('ENVELOPE_PAYLOAD_NOT_JSON', `payload of type ${typeof payload} has no JSON form`, 'payload');
  }
  // Since ES2019 JSON.stringify escapes lone surrogates, so this is valid UTF-8.
  return Buffer.from(json, 'utf8');
}

/**
 * Encodes and signs one envelope. Throws EnvelopeError if a field breaks a
 * limit or the frame would exceed messageBytesMax: the caller must then split
 * its message or treat it as a bug, since no peer would accept the frame.
 *
 * The result is a view into a buffer that also holds the (unsent) signing
 * context in front, which saves a copy of the body per message; write
 * `frame` itself, not `frame.buffer`.
 */
export function encodeEnvelope(fields: EnvelopeFields, signer: EnvelopeSigner, options: EncodeOptions = {}): Uint8Array {
  const messageBytesMax = options.messageBytesMax ?? messageBytesMaxDefault;
  checkMessageBytesMax(messageBytesMax);
  const kindCode = kindCodes[fields.kind] as number | undefined;
  if (kindCode === undefined) {
    throw new EnvelopeError('ENVELOPE_FIELD_INVALID', `unknown kind ${String(fields.kind)}`, 'kind');
  }
  checkUint53(fields.seq, 'seq');
  checkUint53(fields.term, 'term');
  const formation = encodeString(fields.formation, 'formation', formationNameBytesMax, false);
  const sender = encodeString(fields.sender, 'sender', memberIdBytesMax, false);
  const recipient = encodeString(fields.recipient, 'recipient', memberIdBytesMax, true);
  const payload = encodePayload(fields.payload);

  const bodyBytes =
    fixedHeaderBytes +
    3 * stringLengthBytes +
    formation.byteLength +
    sender.byteLength +
    recipient.byteLength +
    payloadLengthBytes +
    payload.byteLength;
  const frameBytes = bodyBytes + ed25519SignatureBytes;
  if (frameBytes > messageBytesMax) {
    throw new EnvelopeError('ENVELOPE_TOO_LARGE', `frame would be ${frameBytes} bytes, limit ${messageBytesMax}`, 'payload');
  }

  const contextBytes = envelopeSigningContext.byteLength;
  const buffer = Buffer.alloc(contextBytes + frameBytes);
  buffer.set(envelopeSigningContext, 0);
  const frame = buffer.subarray(contextBytes);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  frame[0] = envelopeMagic[0];
  frame[1] = envelopeMagic[1];
  frame[2] = envelopeVersion;
  frame[kindOffset] = kindCode;
  writeUint53(view, seqOffset, fields.seq);
  writeUint53(view, termOffset, fields.term);
  let offset = fixedHeaderBytes;
  for (const bytes of [formation, sender, recipient]) {
    frame[offset] = bytes.byteLength;
    frame.set(bytes, offset + stringLengthBytes);
    offset += stringLengthBytes + bytes.byteLength;
  }
  view.setUint32(offset, payload.byteLength);
  offset += payloadLengthBytes;
  frame.set(payload, offset);
  offset += payload.byteLength;

  const signature = signer.sign(buffer.subarray(0, contextBytes + offset));
  if (signature.byteLength !== ed25519SignatureBytes) {
    throw new EnvelopeError('ENVELOPE_CONFIG', `signer returned ${signature.byteLength} bytes, expected ${ed25519SignatureBytes}`, 'signer');
  }
  frame.set(signature, offset);
  // A plain Uint8Array, not the Buffer: Buffer#slice returns a view where
  // Uint8Array#slice copies, and callers should get the standard behaviour.
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

type Rejected = { readonly ok: false; readonly reason: EnvelopeRejectReason; readonly detail: string };

function reject(reason: EnvelopeRejectReason, detail: string): Rejected {
  return { ok: false, reason, detail };
}

/** Quotes a string from the network for a log detail: JSON escapes control characters. */
function quote(value: string): string {
  return JSON.stringify(value);
}

const detailCharsMax = 200;

type StringField = { readonly ok: true; readonly value: string; readonly next: number } | Rejected;

function readString(frame: Buffer, offset: number, field: string, bytesMax: number, allowEmpty: boolean): StringField {
  if (offset + stringLengthBytes > frame.byteLength) return reject('truncated', `frame ends before the length of ${field}`);
  const length = frame.readUInt8(offset);
  if (length > bytesMax) return reject('field-too-long', `${field} is ${length} bytes, limit ${bytesMax}`);
  const start = offset + stringLengthBytes;
  const end = start + length;
  if (end > frame.byteLength) return reject('truncated', `frame ends inside ${field}`);
  if (length === 0 && !allowEmpty) return reject('field-invalid', `${field} is empty`);
  const bytes = frame.subarray(start, end);
  if (!isUtf8(bytes)) return reject('field-invalid', `${field} is not valid UTF-8`);
  return { ok: true, value: bytes.toString('utf8'), next: end };
}

/**
 * Decodes and authenticates one frame. Never throws on any byte string; a
 * throw here means a programmer error in the context (a bad limit or a key
 * that is not Ed25519).
 *
 * A frame that passes has a verified signature, the receiver's formation, and
 * a payload that parsed as JSON; its sequence number still has to pass the
 * sender's replay window, and its payload the core's own validation.
 */
export function decodeEnvelope(input: Uint8Array, context: DecodeContext): DecodeResult {
  const messageBytesMax = context.messageBytesMax ?? messageBytesMaxDefault;
  checkMessageBytesMax(messageBytesMax);
  // Size first, before reading a single field: an oversize frame costs nothing more.
  if (input.byteLength > messageBytesMax) {
    return reject('oversize', `frame is ${input.byteLength} bytes, limit ${messageBytesMax}`);
  }
  if (input.byteLength < envelopeBytesMin) {
    return reject('truncated', `frame is ${input.byteLength} bytes, shortest possible is ${envelopeBytesMin}`);
  }
  const frame = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);

  if (frame.readUInt8(0) !== envelopeMagic[0] || frame.readUInt8(1) !== envelopeMagic[1]) {
    return reject('bad-magic', `magic is 0x${frame.subarray(0, 2).toString('hex')}`);
  }
  const version = frame.readUInt8(2);
  if (version !== envelopeVersion) {
    return reject('unsupported-version', `version ${version}, this build speaks ${envelopeVersion}`);
  }
  const kindCode = frame.readUInt8(kindOffset);
  const kind = kindsByCode.get(kindCode);
  if (kind === undefined) return reject('unknown-kind', `kind byte ${kindCode}`);
  const seq = readUint53(view, seqOffset);
  if (seq === undefined) return reject('number-out-of-range', 'sequence number exceeds 2^53 − 1');
  const term = readUint53(view, termOffset);
  if (term === undefined) return reject('number-out-of-range', 'term exceeds 2^53 − 1');

  const formation = readString(frame, fixedHeaderBytes, 'formation', formationNameBytesMax, false);
  if (!formation.ok) return formation;
  const sender = readString(frame, formation.next, 'sender', memberIdBytesMax, false);
  if (!sender.ok) return sender;
  const recipient = readString(frame, sender.next, 'recipient', memberIdBytesMax, true);
  if (!recipient.ok) return recipient;

  let offset = recipient.next;
  if (offset + payloadLengthBytes > frame.byteLength) return reject('truncated', 'frame ends before the payload length');
  const payloadLength = view.getUint32(offset);
  offset += payloadLengthBytes;
  const payloadEnd = offset + payloadLength;
  const signatureEnd = payloadEnd + ed25519SignatureBytes;
  if (signatureEnd > frame.byteLength) {
    return reject('truncated', `payload of ${payloadLength} bytes and signature need ${signatureEnd} bytes, frame has ${frame.byteLength}`);
  }
  if (signatureEnd < frame.byteLength) {
    return reject('trailing-bytes', `${frame.byteLength - signatureEnd} bytes after the signature`);
  }

  if (formation.value !== context.formation) {
    return reject('wrong-formation', `formation ${quote(formation.value)}, expected ${quote(context.formation)}`);
  }
  if (
    context.localMemberId !== null &&
    recipient.value !== broadcastRecipient &&
    recipient.value !== context.localMemberId
  ) {
    return reject('wrong-recipient', `addressed to ${quote(recipient.value)}, this member is ${quote(context.localMemberId)}`);
  }
  const publicKey = context.publicKeyOf(sender.value, kind);
  if (publicKey === undefined) return reject('unknown-sender', `no key for sender ${quote(sender.value)} sending ${kind}`);

  // Ed25519 is one-shot (the whole message is hashed twice), so the unsent
  // context and the body are joined into one buffer for OpenSSL.
  const signed = Buffer.concat([envelopeSigningContext, frame.subarray(0, payloadEnd)]);
  const signature = frame.subarray(payloadEnd, signatureEnd);
  if (!verifyEd25519(publicKey, signed, signature)) {
    return reject('bad-signature', `signature does not verify for sender ${quote(sender.value)}`);
  }

  const payloadBytes = frame.subarray(offset, payloadEnd);
  if (!isUtf8(payloadBytes)) return reject('bad-payload', 'payload is not valid UTF-8');
  let payload: unknown;
  try {
    payload = JSON.parse(payloadBytes.toString('utf8'));
  } catch (error) {
    // A signed frame with bad JSON is a sender bug; report it, do not crash.
    return reject('bad-payload', `payload is not JSON: ${(error as Error).message}`.slice(0, detailCharsMax));
  }

  return {
    ok: true,
    envelope: {
      version,
      kind,
      formation: formation.value,
      sender: sender.value,
      recipient: recipient.value,
      seq,
      term,
      payload,
      frameBytes: frame.byteLength,
    },
  };
}
