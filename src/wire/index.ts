// Public API of the wire layer: signed envelopes, Ed25519 keys, the replay
// window and reject accounting (DESIGN.md §6, §7). Adapters import from here.
export {
  broadcastRecipient,
  decodeEnvelope,
  encodeEnvelope,
  envelopeBytesMin,
  envelopeKindOf,
  envelopeOverheadBytesMax,
  envelopeKinds,
  envelopeMagic,
  envelopeRejectReasons,
  envelopeSigningContext,
  envelopeVersion,
  EnvelopeError,
  formationNameBytesMax,
  memberIdBytesMax,
  messageBytesMaxDefault,
  messageBytesMaxLimit,
} from './envelope.js';
export type {
  DecodeContext,
  DecodeResult,
  EncodeOptions,
  Envelope,
  EnvelopeErrorCode,
  EnvelopeFields,
  EnvelopeKind,
  EnvelopeRejectReason,
} from './envelope.js';

export {
  Ed25519Signer,
  ed25519ExpandedPrivateKeyBytes,
  ed25519PublicKeyBytes,
  ed25519SeedBytes,
  ed25519SignatureBytes,
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
} from './signer.js';
export type { EnvelopeSigner, KeyFormatErrorCode, MemberKey } from './signer.js';

export {
  replayRejectReasons,
  replaySendersMaxDefault,
  replayWindowSizeDefault,
  replayWindowSizeMax,
  ReplayWindow,
  ReplayWindowError,
  SequenceSource,
  sequenceCounterLimit,
  sequenceEpoch,
  sequenceEpochMax,
  sequenceNumber,
} from './replay-window.js';
export type { ReplayErrorCode, ReplayRejectReason, ReplayVerdict, ReplayWindowOptions } from './replay-window.js';

export {
  otherPeersKey,
  peerKeyCharsMax,
  RejectCounter,
  RejectCounterError,
  rejectLogIntervalMsDefault,
  rejectPeersMaxDefault,
  rejectReasons,
  transportRejectReasons,
} from './reject-counter.js';
export type {
  RejectCountEntry,
  RejectCounterErrorCode,
  RejectCounterOptions,
  RejectLogDecision,
  RejectReason,
  TransportRejectReason,
} from './reject-counter.js';

export { messageSchemaLimitsDefault, parseMessage } from './message-schema.js';
export type { MessageSchemaLimits, ParseResult } from './message-schema.js';

export {
  compatibility,
  formatProtocolVersion,
  helloPayload,
  minorVersionsApartMax,
  parseHello,
  parseProtocolVersion,
  protocolVersion,
  protocolVersionPartMax,
} from './protocol-version.js';
export type { Compatibility, HelloPayload, ParsedProtocolVersion, ProtocolVersion } from './protocol-version.js';
