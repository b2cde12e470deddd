// The real transport: libp2p over TCP with Noise and Yamux, carrying signed
// envelopes (DESIGN.md §2, §7; shared/reference/stack.md for every libp2p
// choice below). One instance per member process; the composition root owns
// its start/stop.
//
// The libp2p node (TCP, Noise, yamux) is built in start() from libp2p-node.ts,
// which start() imports when it runs: constructing a transport loads none of
// that stack (issue 15, item 2: loading it was most of a member's start-up,
// and the admin socket, open before the transport starts, need not wait for it).
//
// Identity. The member's 32-byte Ed25519 seed is both its libp2p key
// (privateKeyFromRaw of the seed and its public half) and its envelope signer
// (privateKeyFromSeed); the libp2p key is checked at start to sign what its
// public half verifies. Each configured peer's libp2p
// peer id is derived from its configured public key, so Noise authenticates
// exactly the keys the formation config lists, and a connection gater
// refuses every other peer id, inbound and outbound, after the handshake
// (counted as 'unknown-peer'; the refused dialer only sees an EOF). No
// discovery, DHT, mDNS, relay, UPnP, autoNAT or identify: the only addresses
// ever dialled are the configured ones.
//
// Streams. Each member opens one long-lived outbound stream per peer with
// protocol /tollbooth/1.0.0 and only writes to it; it only reads the streams
// its peers open to it. Frames are length-prefixed (a varint; length-prefix.ts
// writes them, frame-reader.ts reads them as the chunks arrive) and each
// is one signed envelope: kind 'raft' for registry messages, 'gossip' for
// SWIM messages, 'relay' for a relayed registry message, 'admin' and
// 'admin-reply' for AdminFrames.
//
// The handshake (issue 11, item 6; wire/protocol-version.ts). The first frame
// of every stream is a 'hello' envelope naming the writer's protocol version
// (major.minor), and a member opens its stream to a peer as soon as they
// connect, so both ends of a new link announce themselves at once. The
// reader checks the hello before anything else on that stream: a stream that
// starts with another frame is closed ('no-hello'), a hello without a
// well-formed version ('bad-hello') or with one this member does not
// interoperate with ('incompatible-version': another major, or minors more
// than one apart) refuses the peer. A refused peer is logged as an error
// naming both versions (once per connection and verdict), shows as
// 'incompatible' with its version in peers(), and nothing more is sent to it
// ('incompatible' drops) or taken from it (rejects) until it connects again
// — typically restarted with another build. The connection itself stays up:
// both sides refuse by the same symmetric rule, and keeping the link spares a
// redial and a refusal every second. The stream protocol id stays
// /tollbooth/1.0.0 for every version, so that members of different versions
// still reach each other's hello. Past the hello, a received frame passes, in order:
//   the delivering peer's budget for the kind its kind byte claims, taken
//     before anything is verified ('rate-limited'; wire/inbound-budget.ts: a
//     member's flood costs the receiver a token-bucket check per frame, not
//     a signature check, and cannot crowd out the other members); after a
//     frame over budget its stream is not read for rateLimitedReadPauseMs,
//     so that the rest of the flood waits in the sender's buffers (yamux's
//     flow control) rather than being decrypted here only to be refused
//   → decodeEnvelope (size, layout, formation, recipient, signature, JSON)
//   → the sender must be the authenticated libp2p peer ('sender-mismatch')
//   → ReplayWindow ('duplicate', 'too-old')
//   → parseMessage for raft frames, parseSwimMessage for gossip frames
//     ('invalid-message'); a raft envelope's signed term must equal the
//     message's.
//
// Relay (DESIGN.md §3.2). A message the core sends with `via` is encoded
// and signed as usual for its real recipient, then wrapped whole in a
// 'relay' frame to the relay. The relay checks the inner frame's signature
// (decodeEnvelope with no recipient check) and passes it on, unchanged and
// wrapped in its own 'relay' frame, only if: its deliverer wrote it (one hop:
// a relayed frame is never relayed again), its recipient is a member, the
// runtime's relay policy allows it (the core: not to a member gossip holds
// dead), and the deliverer's budget allows (RelayBudget, per member).
// Otherwise it is dropped and counted ('relay-refused', 'relay-budget'); a
// malformed one is a 'bad-relay' reject. The recipient verifies the inner
// frame end to end (signature of its author, addressed to it, the author's
// replay window, the schema) and delivers it as the author's with `via` set.
// A rejected frame is counted per peer and reason (RejectCounter), logged
// rate-limited, and changes nothing else. A length prefix above
// messageBytesMax, or a longer varint than that needs, aborts that stream
// ('oversize') before any of the frame is held; the peer's next stream is
// served normally.
//
// Frame size (issue 12, item 2). What really bounds a frame is not the length
// prefix but the stream's buffers: our frame reader (the bytes it holds
// unparsed) and yamux's stream read buffer (while the stream is paused) each
// abort the stream once they hold more than a limit (4 MiB in libp2p, and a
// whole frame is buffered before it is read). Both are set here
// to streamBufferBytes, and the frame cap (messageBytesMax, default
// messageBytesMaxDefault) must stay streamBufferMarginBytes below it, checked
// at construction: the margin holds the length prefix and the start of the
// next frame. So a frame over the cap fails at the sender (encodeEnvelope
// throws, the frame is dropped, counted 'encode-failed' and logged as an
// error), never at every receiver. Snapshots are sent in chunks well under the
// cap (src/core/registry/snapshot-transfer.ts).
//
// Sequence numbers and the epoch. Envelopes are numbered
// seq = epoch · 2^32 + counter (wire/replay-window.ts). The caller passes
// `epoch` and must have persisted it (synced) before constructing the
// transport, strictly greater than any epoch this member used before —
// typically: load the stored epoch, add one, store it with fsync, pass it.
// Reusing an epoch makes peers drop this member's frames as duplicates until
// the counter passes its old high-water mark. After 2^32 frames in one epoch
// frames are dropped ('sequence-exhausted') until the transport is replaced
// by one with a new epoch.
//
// Liveness. libp2p's reconnect queue gives up on a peer for good (stack.md,
// gotcha 2), so this transport runs its own redial loop: every
// redialIntervalMs it dials each configured peer that is not connected (a
// dial to a connected peer is a no-op in libp2p), each dial bounded by
// AbortSignal.timeout(dialTimeoutMs). A killed peer is noticed at once (TCP
// closes); a hung or partitioned one only through a ping: every
// pingIntervalMs each connection that delivered none of our frames within
// that period gets a yamux ping frame, and one unanswered for pingTimeoutMs
// closes it (default 1 s each: noticed within 3 s of the peer's last frame).
// link-monitor.ts says why these replace libp2p's connection monitor and ping
// service (a new stream per ping) and why a link with traffic needs no ping.
// Each batch of frames is one send() on the stream (length-prefix.ts) and one
// write to the socket (coalesce-writes.ts: Noise's length and ciphertext
// were two TCP segments), and yamux answers our frames with a window update
// only once per half window (yamux-window-updates.ts: it was one per frame).
//
// Admission (issue 12, item 3; inbound-admission.ts). Members' IP addresses
// (host names resolved at start) are on libp2p's allow list: they always get
// an upgrade slot, however many other connections wait. Every other address
// must finish the Noise handshake within handshakeTimeoutMs (2 s) and may
// have pendingPerAddressMax (4) connections in that phase at once, so idle
// sockets from anywhere can no longer keep a restarted member out.
//
// Sending. send() and sendAdmin() never throw and never wait for the network:
// they encode and sign at once (so sequence numbers follow call order) and
// queue the frame for the peer's writer. A frame to a peer that is not
// connected is dropped. The per-peer queue sends registry frames (raft,
// relay) before gossip and admin ones, and when full (sendQueueFramesMax)
// drops its oldest gossip or admin frame, a registry frame only when no
// other waits (transport-support.ts FrameQueue). Drops are counted per peer
// and reason (droppedFrames()). A write the
// peer does not take within writeTimeoutMs (it stopped reading but still
// answers pings) resets that stream, so one stuck peer never holds frames
// for long.
//
// Admin clients (DESIGN.md §7: admin commands arriving over the network are
// signed with an admin key). Each configured `adminKeys` entry gets a peer id
// the gater admits, inbound only: the member never dials one. Over such a
// connection only 'admin' envelopes are accepted ('admin-kind-only' for any
// other kind, after the signature verified), signed by that key under the
// fixed sender id adminSenderId(key), and subject to the same size limit and
// replay window as members' frames. Admin requests reach onAdmin with
// origin 'admin-key' and `via` naming their connection; sendAdmin answers
// with 'admin-reply' on a fresh stream over that same connection (several
// clients may hold one key at once, so the peer id alone is not an address),
// outside the per-peer queue: a reply is one frame, bounded by
// writeTimeoutMs, and dropped and counted if the client has gone. Admin
// peers never receive core messages and are not members: peers() does not
// list them. A key that is also a member's key stays a member key (the
// config warns about it), so it cannot act as an admin.
// The other side, the admin client, is this same class with `clientOnly`: it
// listens on nothing, its `self` is its adminSenderId, and its one peer is
// the member it asks (src/cli/remote-admin.ts).
//
// Test faults. Only with `testFaults: true` is `faults` non-null (see
// transport-faults.ts); otherwise the send path skips the fault checks.
import '../../polyfills.js';
import { Buffer } from 'node:buffer';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { privateKeyFromRaw, publicKeyFromRaw as libp2pPublicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import type { Connection, MultiaddrConnection, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface';
import { isSwimMessage, type Envelope, type RaftMessage } from '../../core/messages.js';
import type { MemberId } from '../../core/types.js';
import type { AdminFrame, PeerState, PeerStatus, Transport } from '../../ports/ports.js';
import {
  decodeEnvelope,
  encodeEnvelope,
  envelopeKindOf,
  messageBytesMaxDefault,
  type DecodeContext,
  type EnvelopeKind,
} from '../../wire/envelope.js';
import { parseMessage, parseSwimMessage } from '../../wire/message-schema.js';
import { RelayBudget, relayBudgetDefaults } from '../../wire/relay-budget.js';
import { InboundBudget, inboundBudgetDefaults, type InboundBudgets } from '../../wire/inbound-budget.js';
import { RejectCounter, rejectLogIntervalMsDefault, type RejectCountEntry, type RejectReason } from '../../wire/reject-counter.js';
import { ReplayWindow, SequenceSource, replaySendersMaxDefault } from '../../wire/replay-window.js';
import { Ed25519Signer, ed25519PublicKeyBytes, ed25519SeedBytes, privateKeyFromSeed, publicKeyFromRaw, publicKeyToRaw } from '../../wire/signer.js';
import { checkPeers, checkPort, planPeerChange, tcpMultiaddr, TransportConfigError, type CheckedPeer, type TransportPeer } from './peer-set.js';
import { FaultState, faultSeedDefault, type TransportFaults } from './transport-faults.js';
import { InboundAdmission, memberUpgradeTimeoutMsDefault, normalizeHost, pendingConnectionsMaxDefault, type AdmissionOutcome } from './inbound-admission.js';
import { lengthPrefixed } from './length-prefix.js';
import { FrameReader, type FrameReaderState } from './frame-reader.js';
import { LinkMonitor } from './link-monitor.js';
import { DropCounter, FrameQueue, frameClassOf, sendQueueFramesMaxDefault, type DropCountEntry, type DropReason, type TransportLogger } from './transport-support.js';
import { compatibility, formatProtocolVersion, helloPayload, parseHello, protocolVersion, type ProtocolVersion } from '../../wire/protocol-version.js';

/**
 * The libp2p stream protocol id. Fixed for every protocol version (the version
 * travels in the hello, see the file comment): a peer of another version must
 * still get as far as the hello, so that both can say what they speak.
 */
export const tollboothProtocol = '/tollbooth/1.0.0';

export const redialIntervalMsDefault = 1000;
export const dialTimeoutMsDefault = 3000;
export const pingIntervalMsDefault = 1000;
export const pingTimeoutMsDefault = 1000;
export const writeTimeoutMsDefault = 5000;
/**
 * The bytes a stream buffers before it is aborted: yamux's stream read buffer and
 * our frame reader's unparsed bytes, both set to this (libp2p's own default, made explicit here).
 */
export const streamBufferBytes = 4 * 1024 * 1024;
/** Room left in a stream's buffer above the largest frame: its length prefix and the start of the next frame. */
export const streamBufferMarginBytes = 1024 * 1024;
/** Frames handed to one stream write; bounds the time one peer's writer holds the event loop. */
const writeBatchFramesMax = 64;
/**
 * How long a stream that delivered a frame over its peer's budget is not read
 * (backpressure). A tenth of a second refills a tenth of a second's budget,
 * so a flooding peer is read at about its budget and no faster.
 */
const rateLimitedReadPauseMs = 100;
/** Streams of our protocol a peer may have open on one connection; one is normal, a few cover a reconnect overlap. */
const inboundStreamsPerConnectionMax = 4;

/** Prefix of the sender id of an admin client; no member address can start with it. */
export const adminSenderPrefix = 'admin:';

/** The fixed envelope sender id of an admin key: `admin:` and the first 16 characters of its base64. */
export function adminSenderId(publicKey: Uint8Array): MemberId {
  return `${adminSenderPrefix}${Buffer.from(publicKey).toString('base64').slice(0, 16)}` as MemberId;
}

export { TransportConfigError, tcpMultiaddr, type TransportPeer } from './peer-set.js';

/** What setPeers() changed, by member id (also the `transport peers changed` log line). */
export interface PeersChanged {
  readonly added: readonly MemberId[];
  readonly removed: readonly MemberId[];
  /** Same key, another host or port: its connections are closed and it is dialled at the new address. */
  readonly readdressed: readonly MemberId[];
}

export interface Libp2pTransportOptions {
  /** The formation's name; frames of any other formation are rejected. */
  readonly formation: string;
  /** This member's id. */
  readonly self: MemberId;
  /** This member's 32-byte Ed25519 seed: its libp2p identity and its envelope signing key. */
  readonly seed: Uint8Array;
  /**
   * Sequence epoch, persisted (synced) by the caller before construction and
   * greater than any this member used before (see the file comment).
   */
  readonly epoch: number;
  /** Address to listen on: an IP literal (0.0.0.0 or :: for every interface) or a host name. */
  readonly listenHost: string;
  /** TCP port to listen on; 0 lets the kernel pick one (peers then cannot be configured with it). */
  readonly listenPort: number;
  /** Every other member (this member may be listed too; it is skipped after its key is checked). */
  readonly peers: readonly TransportPeer[];
  readonly logger: TransportLogger;
  /** Monotonic clock in ms for lastRecvAt and reject-log rate limiting. Default performance.now. */
  readonly clock?: () => number;
  /** How often unconnected peers are dialled. Shorter: faster reconnect, more failed dials. Default 1000 ms. */
  readonly redialIntervalMs?: number;
  /** Bound on one dial (TCP + Noise + Yamux) and on opening a stream. Default 3000 ms. */
  readonly dialTimeoutMs?: number;
  /** Bound on one write waiting for the peer to take data; past it the stream is reset. Default 5000 ms. */
  readonly writeTimeoutMs?: number;
  /** Link monitor ping period (a yamux ping frame per connection, link-monitor.ts). Shorter: a hung peer is noticed sooner, more pings. Default 1000 ms. */
  readonly pingIntervalMs?: number;
  /** A ping unanswered this long closes the connection. Default 1000 ms. */
  readonly pingTimeoutMs?: number;
  /** Frames queued per peer before the oldest is dropped. Default 1024. */
  readonly sendQueueFramesMax?: number;
  /** Bound on one frame in bytes, both ways; at most streamBufferBytes − streamBufferMarginBytes. Default messageBytesMaxDefault. */
  readonly messageBytesMax?: number;
  /** Replay window width per sender (multiple of 32). Default 1024. */
  readonly replayWindowSize?: number;
  /** Minimum time between two reject log lines per peer and reason. Default 10 000 ms. */
  readonly rejectLogIntervalMs?: number;
  /** Enables `faults` (test only). */
  readonly testFaults?: boolean;
  /** Seed of the fault hook's drop decisions. Default 1. */
  readonly faultSeed?: number;
  /**
   * Raw 32-byte Ed25519 public keys of admin clients (tollbooth-admin-key),
   * admitted inbound and confined to 'admin' frames (see the file comment). Default none.
   */
  readonly adminKeys?: readonly Uint8Array[];
  /** Listen on no address (listenHost and listenPort are ignored): the remote admin client. Default false. */
  readonly clientOnly?: boolean;
  /** First counter value within `epoch`, for a sender with no store (the admin client). Default 0. */
  readonly sequenceCounterStart?: number;
  /** A connection from an address that is no member's must authenticate within this (ms). Default handshakeTimeoutMsDefault (2000). */
  readonly handshakeTimeoutMs?: number;
  /** Connections from one non-member address in their handshake at once. Default pendingPerAddressMaxDefault (4). */
  readonly pendingPerAddressMax?: number;
  /** Connections from non-member addresses in their handshake at once. Default pendingConnectionsMaxDefault (32). */
  readonly pendingConnectionsMax?: number;
  /** Per-peer inbound budgets by kind (wire/inbound-budget.ts). Default inboundBudgetDefaults(the formation's size). */
  readonly inboundBudgets?: InboundBudgets;
  /** The protocol version this member announces and checks peers against. Default protocolVersion (tests give others). */
  readonly protocolVersion?: ProtocolVersion;
}

/** Bound on resolving the members' host names for the allow list at start (ms). */
const memberHostLookupMsMax = 5_000;

interface OutboundStream {
  readonly stream: Stream;
}

/** Why a peer's link is refused (the handshake, see the file comment). */
interface Refusal {
  readonly reason: 'no-hello' | 'bad-hello' | 'incompatible-version';
  /** The version the peer announced; null when it announced none that parses. */
  readonly theirs: string | null;
  readonly detail: string;
}

interface Slot {
  /** A formation member, or an admin client (never dialled: no address). */
  readonly role: 'member' | 'admin';
  /** The peer as last configured (setPeers may re-address a member). */
  peer: TransportPeer;
  readonly peerId: PeerId;
  address: Multiaddr | null;
  readonly queue: FrameQueue<Uint8Array>;
  out: OutboundStream | null;
  /** The outbound stream being opened (its hello written), so that two writers never open two. */
  opening: Promise<OutboundStream> | null;
  /** The protocol version of the peer's last accepted hello on its current connection. */
  protocol: string | null;
  /** Set when the peer's hello was refused; cleared when it connects again. */
  refusal: Refusal | null;
  writing: boolean;
  dialing: boolean;
  /** Consecutive failed dials; the first of a streak is logged, then one line when the peer is back. */
  dialFailures: number;
  sent: number;
  received: number;
  lastRecvAt: number | null;
  /** The connection the frame at lastRecvAt came by (the link monitor's evidence that it is alive). */
  lastRecvConnectionId: string | null;
}

/** A fresh slot: nothing sent, received, queued or dialled yet. */
function newSlot(role: Slot['role'], peer: TransportPeer, peerId: PeerId, address: Multiaddr | null, framesMax: number): Slot {
  return { role, peer, peerId, address, queue: new FrameQueue(framesMax), out: null, opening: null, protocol: null, refusal: null, writing: false, dialing: false, dialFailures: 0, sent: 0, received: 0, lastRecvAt: null, lastRecvConnectionId: null };
}

function positiveInt(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TransportConfigError(`${field} must be a positive integer, got ${value}`, field);
  return value;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The error a libp2p stream aborts itself with when its read buffer holds more than streamBufferBytes: the peer pushed more than we allow. */
const streamBufferErrorName = 'StreamBufferError';

export class Libp2pTransport implements Transport {
  readonly self: MemberId;
  /** The test fault hook; null unless constructed with `testFaults: true`. */
  readonly faults: TransportFaults | null;
  readonly #options: Libp2pTransportOptions;
  readonly #slots = new Map<MemberId, Slot>();
  /** Admin clients by their adminSenderId; also in #slotsByPeerId. */
  readonly #adminSlots = new Map<MemberId, Slot>();
  readonly #slotsByPeerId = new Map<string, Slot>();
  readonly #signer: Ed25519Signer;
  readonly #sequence: SequenceSource;
  readonly #replay: ReplayWindow;
  readonly #rejects: RejectCounter;
  readonly #drops: DropCounter;
  readonly #decodeContext: DecodeContext;
  readonly #faultState: FaultState | null;
  readonly #clock: () => number;
  readonly #logger: TransportLogger;
  readonly #messageBytesMax: number;
  readonly #redialIntervalMs: number;
  readonly #dialTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #protocol: ProtocolVersion;
  readonly #protocolText: string;
  readonly #messageHandlers: Array<(env: Envelope) => void> = [];
  readonly #adminHandlers: Array<(frame: AdminFrame) => void> = [];
  readonly #connectionHandlers: Array<(peer: MemberId, connected: boolean) => void> = [];
  readonly #refusalHandlers: Array<(peer: MemberId, detail: string) => void> = [];
  /** Rebuilt, sized to the formation, whenever setPeers changes the members (#sizeBudgets). */
  #relayBudget!: RelayBudget;
  #inboundBudget!: InboundBudget;
  /** The members' envelope keys by member id: a member dropped by setPeers is dropped here, so its frames are 'unknown-sender'. */
  readonly #memberKeys = new Map<string, KeyObject>();
  readonly #selfKeyHex: string;
  readonly #framesMax: number;
  #relayPolicy: ((to: MemberId) => boolean) | null = null;
  readonly #delayTimers = new Set<NodeJS.Timeout>();
  #node: Libp2p | null = null;
  #linkMonitor: LinkMonitor | null = null;
  #admission: InboundAdmission | null = null;
  #admissionLoggedAt = -Infinity;
  #redialTimer: NodeJS.Timeout | null = null;
  #state: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  #starting: Promise<void> | null = null;

  constructor(options: Libp2pTransportOptions) {
    this.#options = options;
    this.self = options.self;
    this.#clock = options.clock ?? (() => performance.now());
    this.#logger = options.logger;
    this.#messageBytesMax = positiveInt(options.messageBytesMax ?? messageBytesMaxDefault, 'messageBytesMax');
    if (this.#messageBytesMax > streamBufferBytes - streamBufferMarginBytes) {
      throw new TransportConfigError(
        `messageBytesMax ${this.#messageBytesMax} leaves less than ${streamBufferMarginBytes} bytes of the ${streamBufferBytes}-byte stream buffer: such frames would be refused by every receiver`,
        'messageBytesMax',
      );
    }
    this.#redialIntervalMs = positiveInt(options.redialIntervalMs ?? redialIntervalMsDefault, 'redialIntervalMs');
    this.#dialTimeoutMs = positiveInt(options.dialTimeoutMs ?? dialTimeoutMsDefault, 'dialTimeoutMs');
    this.#writeTimeoutMs = positiveInt(options.writeTimeoutMs ?? writeTimeoutMsDefault, 'writeTimeoutMs');
    this.#protocol = options.protocolVersion ?? protocolVersion;
    this.#protocolText = formatProtocolVersion(this.#protocol);
    positiveInt(options.pingIntervalMs ?? pingIntervalMsDefault, 'pingIntervalMs');
    positiveInt(options.pingTimeoutMs ?? pingTimeoutMsDefault, 'pingTimeoutMs');
    const framesMax = positiveInt(options.sendQueueFramesMax ?? sendQueueFramesMaxDefault, 'sendQueueFramesMax');
    if (options.handshakeTimeoutMs !== undefined) positiveInt(options.handshakeTimeoutMs, 'handshakeTimeoutMs');
    if (options.pendingPerAddressMax !== undefined) positiveInt(options.pendingPerAddressMax, 'pendingPerAddressMax');
    if (options.pendingConnectionsMax !== undefined) positiveInt(options.pendingConnectionsMax, 'pendingConnectionsMax');
    checkPort(options.listenPort, 'listenPort', true);
    if (options.seed.byteLength !== ed25519SeedBytes) {
      throw new TransportConfigError(`seed must be ${ed25519SeedBytes} bytes, got ${options.seed.byteLength}`, 'seed');
    }
    const privateKey = privateKeyFromSeed(options.seed);
    this.#signer = new Ed25519Signer(privateKey);
    const selfRaw = publicKeyToRaw(createPublicKey(privateKey));
    // Throws ReplayWindowError for an epoch out of range: a config error, raised before anything starts.
    this.#sequence = new SequenceSource(options.epoch, options.sequenceCounterStart ?? 0);

    this.#selfKeyHex = Buffer.from(selfRaw).toString('hex');
    this.#framesMax = framesMax;
    const members = checkPeers(options.self, this.#selfKeyHex, options.peers);
    for (const c of members) this.#addMember(c);
    const memberKeyHexes = new Set(members.map((c) => c.keyHex));

    const adminKeys = new Map<string, KeyObject>();
    for (const publicKey of options.adminKeys ?? []) {
      if (publicKey.byteLength !== ed25519PublicKeyBytes) {
        throw new TransportConfigError(`admin key must be ${ed25519PublicKeyBytes} bytes`, 'adminKeys');
      }
      const keyHex = Buffer.from(publicKey).toString('hex');
      if (memberKeyHexes.has(keyHex) || keyHex === this.#selfKeyHex) {
        // One peer id cannot be both; the member role wins, so this key cannot act as an admin.
        this.#logger.warn({ adminKey: Buffer.from(publicKey).toString('base64') }, 'admin key is also a member key; it is not admitted as an admin');
        continue;
      }
      const id = adminSenderId(publicKey);
      const existing = this.#adminSlots.get(id);
      if (existing !== undefined) {
        if (Buffer.compare(Buffer.from(existing.peer.publicKey), Buffer.from(publicKey)) === 0) continue; // listed twice: the config warns
        throw new TransportConfigError(`two admin keys share the sender id ${id}`, 'adminKeys');
      }
      const peerId = peerIdFromPublicKey(libp2pPublicKeyFromRaw(publicKey));
      const slot = newSlot('admin', { id, host: '', port: 0, publicKey }, peerId, null, framesMax);
      this.#adminSlots.set(id, slot);
      this.#slotsByPeerId.set(peerId.toString(), slot);
      adminKeys.set(id, publicKeyFromRaw(publicKey));
    }

    this.#replay = new ReplayWindow({
      sendersMax: replaySendersMaxDefault + this.#adminSlots.size,
      ...(options.replayWindowSize === undefined ? {} : { windowSize: options.replayWindowSize }),
    });
    this.#rejects = new RejectCounter({
      pinnedPeers: [...this.#slots.keys(), ...this.#adminSlots.keys()],
      rejectPeersMax: this.#slots.size + this.#adminSlots.size + 64,
      ...(options.rejectLogIntervalMs === undefined ? {} : { logIntervalMs: options.rejectLogIntervalMs }),
    });
    this.#drops = new DropCounter([...this.#slots.keys(), ...this.#adminSlots.keys()]);
    this.#decodeContext = {
      formation: options.formation,
      localMemberId: options.self,
      // Members may send every kind. An admin key verifies every kind too, so that a wrong kind from an
      // admin is counted as what it is ('admin-kind-only', checked in #receive) once its signature is known good.
      publicKeyOf: (sender: string) => adminKeys.get(sender) ?? this.#memberKeys.get(sender),
      messageBytesMax: this.#messageBytesMax,
    };
    this.#sizeBudgets();
    this.#faultState =
      options.testFaults === true
        ? new FaultState(options.faultSeed ?? faultSeedDefault, {
            onCut: (peer) => this.#onCut(peer),
            onHeal: () => this.#redialAll(),
          })
        : null;
    this.faults = this.#faultState;
  }

  /** The addresses the node listens on (with the actual port when listenPort was 0). */
  get listenAddresses(): Multiaddr[] {
    return this.#node?.getMultiaddrs() ?? [];
  }

  /** The protocol version this member announces in its hellos, major.minor. */
  get protocol(): string {
    return this.#protocolText;
  }

  /** This member's libp2p peer id. */
  get peerId(): string | null {
    return this.#node?.peerId.toString() ?? null;
  }

  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state !== 'new') throw new Error(`transport already ${this.#state}; create a new one (with a new epoch) to start again`);
    options.signal?.throwIfAborted();
    this.#state = 'starting';
    this.#starting = this.#start();
    await this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    // libp2p's key: the seed and the public half OpenSSL derived from it for the envelope signer
    // (libp2p's 64-byte raw form). generateKeyPairFromSeed derived the public half again in pure
    // JavaScript (@noble/curves), whose first use builds its precomputed tables: 65 ms of a member's
    // start, spent on the event loop while the admin socket waited (issue 15, item 2). libp2p signs
    // and verifies Ed25519 with node:crypto on Node; the halves are checked to belong together.
    const signerRaw = publicKeyToRaw(this.#signer.publicKey);
    const privateKey = privateKeyFromRaw(Buffer.concat([o.seed, signerRaw]));
    const probe = Buffer.from(`tollbooth key check ${o.self}`);
    if (!(await privateKey.publicKey.verify(probe, await privateKey.sign(probe)))) {
      // The public half is not the seed's: the key this member's peers know would not be the one it signs with.
      throw new Error('libp2p key: the public half does not match the seed');
    }
    const connectionsMax = 64 + 4 * this.#slots.size;
    const memberHosts = await this.#memberHosts();
    const admission = new InboundAdmission({
      memberHosts,
      ...(o.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: o.handshakeTimeoutMs }),
      ...(o.pendingPerAddressMax === undefined ? {} : { pendingPerAddressMax: o.pendingPerAddressMax }),
      onRefused: (host, outcome) => this.#admissionRefused(host, outcome),
    });
    this.#admission = admission;
    // libp2p's allow list: /ip4 or /ip6 of each member, and the IPv4-mapped form a dual-stack listener reports.
    const allow = [...memberHosts].flatMap((h) => (isIPv4(h) ? [`/ip4/${h}`, `/ip6/::ffff:${h}`] : [`/ip6/${h}`]));
    // Loaded now, not with this module: see libp2p-node.ts.
    const { createMemberNode } = await import('./libp2p-node.js');
    const node = await createMemberNode({
      privateKey,
      listen: o.clientOnly === true ? [] : [tcpMultiaddr(o.listenHost, o.listenPort).toString()],
      connectionsMax,
      dialTimeoutMs: this.#dialTimeoutMs,
      allow,
      pendingConnectionsMax: positiveInt(o.pendingConnectionsMax ?? pendingConnectionsMaxDefault, 'pendingConnectionsMax'),
      inboundUpgradeTimeoutMs: memberUpgradeTimeoutMsDefault,
      streamBufferBytes,
      connectionGater: {
        denyDialPeer: (peerId: PeerId) => this.#deny(peerId, 'dial'),
        denyInboundConnection: (maConn: MultiaddrConnection) => admission.deny(maConn),
        denyInboundEncryptedConnection: (peerId: PeerId, maConn: MultiaddrConnection) => {
          admission.authenticated(maConn);
          return this.#deny(peerId, 'inbound');
        },
        denyOutboundEncryptedConnection: (peerId: PeerId) => this.#deny(peerId, 'outbound'),
      },
    });
    this.#node = node;
    node.addEventListener('peer:connect', (evt) => this.#onPeerConnect(evt.detail));
    node.addEventListener('peer:disconnect', (evt) => this.#onPeerDisconnect(evt.detail));
    await node.handle(tollboothProtocol, (stream, connection) => this.#onInboundStream(stream, connection), {
      maxInboundStreams: inboundStreamsPerConnectionMax,
      maxOutboundStreams: inboundStreamsPerConnectionMax,
    });
    await node.start();
    this.#state = 'started';
    this.#linkMonitor = new LinkMonitor({
      intervalMs: o.pingIntervalMs ?? pingIntervalMsDefault,
      timeoutMs: o.pingTimeoutMs ?? pingTimeoutMsDefault,
      connections: () => node.getConnections(),
      // A connection that delivered one of our frames within the period is evidently alive (link-monitor.ts).
      lastHeardAt: (connection) => {
        const slot = this.#slotsByPeerId.get(connection.remotePeer.toString());
        return slot !== undefined && slot.lastRecvConnectionId === connection.id ? slot.lastRecvAt : null;
      },
      clock: this.#clock,
      onHung: (connection, error) => {
        const peer = this.#slotsByPeerId.get(connection.remotePeer.toString())?.peer.id ?? connection.remotePeer.toString();
        this.#logger.warn({ peer, err: errorText(error) }, 'peer did not answer a ping: connection closed');
      },
    });
    this.#linkMonitor.start();
    this.#redialTimer = setInterval(() => this.#redialAll(), this.#redialIntervalMs);
    this.#redialAll();
  }

  async stop(): Promise<void> {
    // A stop during start waits for the node to be up, then takes it down.
    // A failed start has already rejected to start()'s caller; here it only means there may be less to stop.
    if (this.#starting !== null) await this.#starting.catch(() => undefined);
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#redialTimer !== null) clearInterval(this.#redialTimer);
    this.#redialTimer = null;
    this.#linkMonitor?.stop();
    for (const timer of this.#delayTimers) clearTimeout(timer);
    this.#delayTimers.clear();
    for (const slot of [...this.#slots.values(), ...this.#adminSlots.values()]) this.#drops.record(slot.peer.id, 'stopped', slot.queue.clear());
    const node = this.#node;
    this.#node = null;
    if (node !== null) await node.stop();
    this.#admission?.stop();
  }

  /** Inbound connections refused or aborted before authenticating, by reason (inbound-admission.ts). */
  admissionCounts(): Readonly<Record<AdmissionOutcome, number>> {
    return this.#admission?.counts() ?? { 'address-busy': 0, 'handshake-timeout': 0 };
  }

  /** The members' IP addresses: literals as they are, host names resolved now (one that does not resolve is logged and left out). */
  async #memberHosts(): Promise<Set<string>> {
    const hosts = new Set<string>();
    for (const slot of this.#slots.values()) {
      const h = slot.peer.host.startsWith('[') && slot.peer.host.endsWith(']') ? slot.peer.host.slice(1, -1) : slot.peer.host;
      if (isIPv4(h) || isIPv6(h)) {
        hosts.add(normalizeHost(h));
        continue;
      }
      try {
        // dns.lookup takes no signal: race it against a timer so a dead resolver cannot hold start-up.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${memberHostLookupMsMax} ms`)), memberHostLookupMsMax);
        });
        try {
          const found = await Promise.race([lookup(h, { all: true }), timeout]);
          for (const a of found) hosts.add(normalizeHost(a.address));
        } finally {
          clearTimeout(timer);
        }
      } catch (error) {
        this.#logger.warn({ peer: slot.peer.id, host: h, err: errorText(error) }, 'member host name does not resolve: its connections get no reserved slot');
      }
    }
    return hosts;
  }

  /** A refused or aborted inbound connection: counted; logged at most once per rejectLogIntervalMs. */
  #admissionRefused(host: string, outcome: AdmissionOutcome): void {
    const now = this.#clock();
    if (now - this.#admissionLoggedAt < (this.#options.rejectLogIntervalMs ?? rejectLogIntervalMsDefault)) return;
    this.#admissionLoggedAt = now;
    this.#logger.warn({ host, outcome, counts: this.admissionCounts() }, 'inbound connection from a non-member address refused');
  }

  send(env: Envelope): void {
    if (env.from !== this.self) return this.#drop(env.to, 'encode-failed', `from ${env.from} is not this member`);
    const msg = env.msg;
    if (isSwimMessage(msg)) this.#send(env.to, 'gossip', 0, msg);
    else if (env.via !== undefined) this.#sendRelayed(env.via, env.to, msg);
    else this.#send(env.to, 'raft', msg.term, msg);
  }

  /** See the file comment: the frame for `to`, signed by us, wrapped in a 'relay' frame to `via`. */
  #sendRelayed(via: MemberId, to: MemberId, msg: RaftMessage): void {
    if (this.#state !== 'started') return this.#drop(via, 'stopped');
    const target = this.#slots.get(to);
    if (target === undefined) return this.#drop(to, 'unknown-peer', 'not a configured peer');
    // A peer we refused at the handshake is not reached around the refusal either.
    if (target.refusal !== null) return this.#drop(to, 'incompatible');
    const slot = this.#slots.get(via);
    if (slot === undefined) return this.#drop(via, 'unknown-peer', 'relay is not a configured peer');
    if (!this.#isConnected(slot)) return this.#drop(via, 'not-connected');
    if (this.#sequence.remaining < 2) return this.#drop(via, 'sequence-exhausted', `epoch ${this.#sequence.epoch} used up`);
    const inner = this.#encode(to, 'raft', msg.term, msg);
    if (inner === null) return;
    this.#send(via, 'relay', 0, { frame: Buffer.from(inner).toString('base64') });
  }

  /**
   * Makes the member peers these (issue 11: members added and removed at
   * runtime, one committed change at a time). The list is checked as the
   * constructor's is (peer-set.ts; a bad one throws TransportConfigError and
   * changes nothing). A new member gets a slot, its key is admitted and the
   * redial loop dials it; a member no longer listed is forgotten — its key,
   * so that its frames are refused ('unknown-sender', and 'unknown-peer' at
   * the gater for its next connection), its replay window, its queue — and
   * its connections are closed; a member at another host or port has its
   * connections closed and is dialled at the new address. The relay and
   * inbound budgets are sized again to the formation (each starts full).
   * Not changed at runtime: libp2p's allow list and reserved slots for
   * members' addresses (inbound-admission.ts) and the connection cap, fixed
   * at start: a member added since then connects as any address must, by
   * authenticating within handshakeTimeoutMs.
   */
  setPeers(peers: readonly TransportPeer[]): PeersChanged {
    if (this.#options.clientOnly === true) throw new TransportConfigError('an admin client has no member peers to change', 'peers');
    if (this.#state === 'stopped') throw new TransportConfigError('the transport is stopped', 'peers');
    const change = planPeerChange(this.#slots, checkPeers(this.self, this.#selfKeyHex, peers));
    for (const id of change.removed) this.#dropMember(id);
    for (const c of change.added) {
      this.#addMember(c);
      this.#rejects.pin(c.peer.id);
      this.#drops.know(c.peer.id);
    }
    for (const c of change.readdressed) this.#readdress(c);
    const changed: PeersChanged = { added: change.added.map((c) => c.peer.id), removed: change.removed, readdressed: change.readdressed.map((c) => c.peer.id) };
    if (changed.added.length + changed.removed.length + changed.readdressed.length === 0) return changed;
    this.#sizeBudgets();
    this.#logger.info?.({ ...changed, members: this.#slots.size }, 'transport peers changed');
    this.#redialAll();
    return changed;
  }

  setRelayPolicy(canRelayTo: (to: MemberId) => boolean): void {
    this.#relayPolicy = canRelayTo;
  }

  sendAdmin(frame: AdminFrame): void {
    if (frame.from !== this.self) return this.#drop(frame.to, 'encode-failed', `from ${frame.from} is not this member`);
    const admin = this.#adminSlots.get(frame.to);
    if (admin !== undefined) return this.#replyToAdmin(admin, frame);
    this.#send(frame.to, frame.kind, 0, frame.body);
  }

  onMessage(handler: (env: Envelope) => void): void {
    this.#messageHandlers.push(handler);
  }

  onAdmin(handler: (frame: AdminFrame) => void): void {
    this.#adminHandlers.push(handler);
  }

  /** Called when a peer's link is refused at its handshake (see the file comment), with both versions in `detail`. */
  onRefused(handler: (peer: MemberId, detail: string) => void): void {
    this.#refusalHandlers.push(handler);
  }

  /** Called when a configured peer (or an admin client) connects or disconnects. */
  onConnection(handler: (peer: MemberId, connected: boolean) => void): void {
    this.#connectionHandlers.push(handler);
  }

  peers(): PeerStatus[] {
    return [...this.#slots.values()].map((slot) => {
      const connections = this.#openConnections(slot);
      const state: PeerState = connections.length > 0 ? (slot.refusal !== null ? 'incompatible' : 'connected') : slot.dialing ? 'connecting' : 'disconnected';
      const rtt = connections.find((c) => c.rtt !== undefined)?.rtt;
      return {
        id: slot.peer.id,
        state,
        protocol: slot.refusal?.theirs ?? slot.protocol,
        ...(slot.refusal === null ? {} : { refused: slot.refusal.detail }),
        rttMs: rtt ?? null,
        lastRecvAt: slot.lastRecvAt,
        sent: slot.sent,
        received: slot.received,
        rejected: this.#rejectedOf(slot.peer.id),
      };
    });
  }

  /** Outbound frames dropped for this peer (all reasons, or one). */
  droppedFrames(peer: MemberId, reason?: DropReason): number {
    return this.#drops.countOf(peer, reason);
  }

  dropCounts(): DropCountEntry[] {
    return this.#drops.snapshot();
  }

  /** Inbound frames rejected from this peer (a member id, or a libp2p peer id for unknown peers) for this reason. */
  rejectedFrames(peer: string, reason: RejectReason): number {
    return this.#rejects.countOf(peer, reason);
  }

  rejectCounts(): RejectCountEntry[] {
    return this.#rejects.snapshot();
  }

  // ───────────────────────────── sending ─────────────────────────────

  #send(to: MemberId, kind: EnvelopeKind, msgTerm: number, payload: unknown): void {
    if (this.#state !== 'started') return this.#drop(to, 'stopped');
    const slot = this.#slots.get(to);
    if (slot === undefined) return this.#drop(to, 'unknown-peer', 'not a configured peer');
    if (!this.#isConnected(slot)) return this.#drop(to, 'not-connected');
    // Only a transport built with testFaults has a fault state to consult.
    let delayMs = 0;
    if (this.#faultState !== null) {
      const verdict = this.#faultState.verdict(to);
      if (verdict.action === 'drop') return this.#drop(to, 'fault');
      delayMs = verdict.delayMs;
    }
    if (this.#sequence.remaining === 0) return this.#drop(to, 'sequence-exhausted', `epoch ${this.#sequence.epoch} used up`);
    const frame = this.#encode(to, kind, msgTerm, payload);
    if (frame === null) return;
    if (delayMs > 0) {
      const timer = setTimeout(() => {
        this.#delayTimers.delete(timer);
        this.#push(slot, frame, kind);
      }, delayMs);
      this.#delayTimers.add(timer);
      return;
    }
    this.#push(slot, frame, kind);
  }

  #encode(to: MemberId, kind: EnvelopeKind, msgTerm: number, payload: unknown): Uint8Array | null {
    try {
      return encodeEnvelope(
        { kind, formation: this.#options.formation, sender: this.self, recipient: to, seq: this.#sequence.next(), term: msgTerm, payload },
        this.#signer,
        { messageBytesMax: this.#messageBytesMax },
      );
    } catch (error) {
      // An oversize frame is a bug or a formation beyond its limits: loud here, since no receiver would take it.
      this.#drops.record(to, 'encode-failed');
      (this.#logger.error ?? this.#logger.warn).call(this.#logger, { peer: to, kind, err: errorText(error) }, 'frame not sent: cannot encode it');
      return null;
    }
  }

  /** An answer to an admin client, on a new stream over the connection its request came by (see the file comment). */
  #replyToAdmin(slot: Slot, frame: AdminFrame): void {
    const to = slot.peer.id;
    // Admin clients only ever get answers.
    if (frame.kind !== 'admin-reply') return this.#drop(to, 'unknown-peer', 'only admin-reply frames go to an admin client');
    if (this.#state !== 'started') return this.#drop(to, 'stopped');
    const connection = this.#openConnections(slot).find((c) => c.id === frame.via);
    if (connection === undefined) return this.#drop(to, 'not-connected');
    if (this.#sequence.remaining === 0) return this.#drop(to, 'sequence-exhausted', `epoch ${this.#sequence.epoch} used up`);
    if (slot.refusal !== null) return this.#drop(to, 'incompatible');
    // Every stream opens with a hello, a reply's too (a stream of its own per reply, see the file comment).
    const hello = this.#hello(slot);
    const bytes = hello === null ? null : this.#encode(to, 'admin-reply', 0, frame.body);
    if (hello === null || bytes === null) return;
    void (async () => {
      try {
        const stream = await connection.newStream(tollboothProtocol, { signal: AbortSignal.timeout(this.#dialTimeoutMs) });
        await this.#writeFrames(stream, [hello, bytes]);
        slot.sent += 1;
        await stream.close({ signal: AbortSignal.timeout(this.#writeTimeoutMs) });
      } catch (error) {
        this.#drops.record(to, 'write-failed');
        this.#logger.debug?.({ peer: to, err: errorText(error) }, 'admin reply failed');
      }
    })();
  }

  #push(slot: Slot, frame: Uint8Array, kind: EnvelopeKind): void {
    if (this.#state !== 'started') return this.#drop(slot.peer.id, 'stopped');
    if (!this.#isConnected(slot)) return this.#drop(slot.peer.id, 'not-connected');
    if (slot.refusal !== null) return this.#drop(slot.peer.id, 'incompatible');
    this.#drops.record(slot.peer.id, 'queue-full', slot.queue.push(frame, frameClassOf(kind)));
    this.#kickWriter(slot);
  }

  #kickWriter(slot: Slot): void {
    if (slot.writing) return;
    slot.writing = true;
    void this.#flush(slot).finally(() => {
      slot.writing = false;
      // Frames pushed while the last write was finishing.
      if (slot.queue.length > 0 && this.#state === 'started') this.#kickWriter(slot);
    });
  }

  /** Writes the peer's queue to its outbound stream; on any failure drops what is queued (the protocol tolerates loss). */
  async #flush(slot: Slot): Promise<void> {
    while (slot.queue.length > 0 && this.#state === 'started') {
      let out: OutboundStream;
      try {
        out = await this.#outbound(slot);
      } catch (error) {
        this.#drops.record(slot.peer.id, 'not-connected', slot.queue.clear());
        this.#logger.debug?.({ peer: slot.peer.id, err: errorText(error) }, 'could not open stream');
        return;
      }
      const frames = slot.queue.take(writeBatchFramesMax);
      try {
        // The batch as one buffer in our framing (length-prefix.ts), one send(). Nearly
        // every send is taken at once; only one the stream cannot take asks us to wait for its
        // drain, and only that wait has a deadline: a peer whose window stays shut this long (it
        // stopped reading, yet answers pings) gets its stream reset, and the next frames go out on
        // a fresh one. (A deadline on every write was an AbortSignal.timeout per frame: a 5-s timer
        // each, firing long after the write, with a DOMException and an abort event — 3 % of an
        // idle member's CPU; issue 15, item 1.)
        await this.#writeFrames(out.stream, frames);
        slot.sent += frames.length;
      } catch (error) {
        this.#drops.record(slot.peer.id, 'write-failed', frames.length);
        this.#logger.debug?.({ peer: slot.peer.id, err: errorText(error) }, 'stream write failed');
        if (slot.out === out) slot.out = null;
        out.stream.abort(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  /**
   * The frames as one buffer in our framing (length-prefix.ts), one send(); waits, with the
   * write deadline, only when the stream cannot take it at once (see #flush).
   */
  async #writeFrames(stream: Stream, frames: readonly Uint8Array[]): Promise<void> {
    if (!stream.send(lengthPrefixed(frames))) await stream.onDrain({ signal: AbortSignal.timeout(this.#writeTimeoutMs) });
  }

  async #outbound(slot: Slot): Promise<OutboundStream> {
    const current = slot.out;
    if (current !== null && current.stream.status === 'open' && current.stream.writeStatus === 'writable') return current;
    slot.out = null;
    // The eager hello at connect and the first writer may both ask: one stream, one hello.
    if (slot.opening !== null) return slot.opening;
    const opening = this.#openOutbound(slot);
    slot.opening = opening;
    try {
      return await opening;
    } finally {
      if (slot.opening === opening) slot.opening = null;
    }
  }

  /** A new outbound stream to the peer, its first frame our hello (see the file comment). */
  async #openOutbound(slot: Slot): Promise<OutboundStream> {
    const connection = this.#openConnections(slot)[0];
    if (connection === undefined) throw new Error('not connected');
    const hello = this.#hello(slot);
    if (hello === null) throw new Error('cannot encode the hello');
    const stream = await connection.newStream(tollboothProtocol, { signal: AbortSignal.timeout(this.#dialTimeoutMs) });
    const out: OutboundStream = { stream };
    try {
      await this.#writeFrames(stream, [hello]);
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    stream.addEventListener('close', () => {
      if (slot.out === out) slot.out = null;
    });
    slot.out = out;
    return out;
  }

  /** Our hello to this peer: a signed 'hello' envelope with our protocol version; null if it cannot be encoded (logged). */
  #hello(slot: Slot): Uint8Array | null {
    if (this.#sequence.remaining === 0) {
      this.#drop(slot.peer.id, 'sequence-exhausted', `epoch ${this.#sequence.epoch} used up`);
      return null;
    }
    return this.#encode(slot.peer.id, 'hello', 0, helloPayload(this.#protocol));
  }

  // ─────────────────────────── member peers ───────────────────────────

  /** A checked member's slot and key (the constructor, setPeers). */
  #addMember(c: CheckedPeer): void {
    const key = c.peerId.toString();
    const admin = this.#slotsByPeerId.get(key);
    if (admin !== undefined && admin.role === 'admin') {
      // One peer id cannot be both; the member role wins, as at start, so this key no longer acts as an admin.
      this.#adminSlots.delete(admin.peer.id);
      this.#logger.warn({ peer: c.peer.id, adminKey: Buffer.from(c.peer.publicKey).toString('base64') }, 'admin key is also a member key; it is not admitted as an admin');
    }
    const slot = newSlot('member', c.peer, c.peerId, c.address, this.#framesMax);
    this.#slots.set(c.peer.id, slot);
    this.#slotsByPeerId.set(key, slot);
    this.#memberKeys.set(c.peer.id, publicKeyFromRaw(c.peer.publicKey));
  }

  /** A member setPeers no longer lists: forgotten, its queue dropped, its connections closed. */
  #dropMember(id: MemberId): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    const wasConnected = this.#isConnected(slot);
    this.#slots.delete(id);
    this.#slotsByPeerId.delete(slot.peerId.toString());
    this.#memberKeys.delete(id);
    this.#replay.forget(id);
    this.#drops.record(id, 'peer-removed', slot.queue.clear());
    slot.out = null;
    this.#hangUp(slot, 'member removed');
    // peer:disconnect no longer finds its slot: say it here.
    if (wasConnected) for (const handler of this.#connectionHandlers) this.#call(() => handler(id, false));
  }

  /** A member at another host or port: dialled there from now on. */
  #readdress(c: CheckedPeer): void {
    const slot = this.#slots.get(c.peer.id);
    if (slot === undefined) return;
    slot.peer = c.peer;
    slot.address = c.address;
    this.#hangUp(slot, 'member re-addressed');
  }

  #hangUp(slot: Slot, why: string): void {
    this.#node?.hangUp(slot.peerId).catch((error: unknown) => {
      this.#logger.warn({ peer: slot.peer.id, why, err: errorText(error) }, 'hang-up failed');
    });
  }

  /** The relay and inbound budgets for the members there are now (constructor, setPeers). */
  #sizeBudgets(): void {
    const n = this.#slots.size;
    this.#relayBudget = new RelayBudget({ ...relayBudgetDefaults, peersMax: n + 1 });
    // Members and admin clients only: #receive is never reached for anyone else.
    this.#inboundBudget = new InboundBudget(this.#options.inboundBudgets ?? inboundBudgetDefaults(n + 1), n + this.#adminSlots.size + 1);
  }

  /** Whether this slot is still one of ours (a stream of a member setPeers dropped may deliver a frame before it closes). */
  #isCurrent(slot: Slot): boolean {
    return this.#slotsByPeerId.get(slot.peerId.toString()) === slot;
  }

  // ─────────────────────────── connections ───────────────────────────

  #openConnections(slot: Slot): Connection[] {
    return this.#node?.getConnections(slot.peerId).filter((c) => c.status === 'open') ?? [];
  }

  #isConnected(slot: Slot): boolean {
    return this.#openConnections(slot).length > 0;
  }

  /** The connection gater: true refuses. Unknown keys are counted; a cut link (test faults) is refused silently. */
  #deny(peerId: PeerId, direction: 'dial' | 'inbound' | 'outbound'): boolean {
    const slot = this.#slotsByPeerId.get(peerId.toString());
    if (slot === undefined) {
      this.#reject(peerId.toString(), 'unknown-peer', `${direction} connection from a key not in the formation config`);
      return true;
    }
    // An admin client connects to us; we never connect to it.
    if (slot.role === 'admin') return direction !== 'inbound';
    return this.#faultState?.isCut(slot.peer.id) ?? false;
  }

  #redialAll(): void {
    if (this.#state !== 'started') return;
    for (const slot of this.#slots.values()) {
      if (slot.dialing || this.#isConnected(slot) || (this.#faultState?.isCut(slot.peer.id) ?? false)) continue;
      void this.#dial(slot);
    }
  }

  async #dial(slot: Slot): Promise<void> {
    const node = this.#node;
    if (node === null || slot.address === null) return;
    slot.dialing = true;
    try {
      // Only a timeout, not AbortSignal.any() with a long-lived stop signal:
      // every combined signal stays registered on the long-lived one (nodejs/node#55351),
      // and a down peer is redialled every second for as long as it is down.
      // stop() ends dials in flight anyway by stopping the node.
      await node.dial(slot.address, { signal: AbortSignal.timeout(this.#dialTimeoutMs) });
    } catch (error) {
      slot.dialFailures += 1;
      if (slot.dialFailures === 1 && this.#state === 'started') {
        this.#logger.warn({ peer: slot.peer.id, address: slot.address.toString(), err: errorText(error) }, 'peer unreachable');
      }
    } finally {
      slot.dialing = false;
    }
  }

  #onPeerConnect(peerId: PeerId): void {
    const slot = this.#slotsByPeerId.get(peerId.toString());
    if (slot === undefined) return;
    // A new authenticated connection starts a new replay window for its sender. Frames
    // from a sender arrive only over a Noise session with that sender's own key, and
    // Noise already rejects replays inside a session; keeping the window across
    // sessions would shut out a member restarted with a fresh state directory (its
    // epoch starts over) until every peer restarted too.
    this.#replay.forget(slot.peer.id);
    // A new connection is a new handshake: the peer may have been restarted with another build.
    slot.protocol = null;
    slot.refusal = null;
    if (slot.role === 'member' && this.#state === 'started') {
      // Our hello goes out at once, so that a peer that will refuse us knows why (and we learn its version) before any traffic.
      this.#outbound(slot).catch((error: unknown) => this.#logger.debug?.({ peer: slot.peer.id, err: errorText(error) }, 'could not open stream'));
    }
    if (slot.role === 'admin') this.#logger.info?.({ peer: slot.peer.id }, 'admin client connected');
    else this.#logger.info?.({ peer: slot.peer.id, failedDials: slot.dialFailures }, 'peer connected');
    slot.dialFailures = 0;
    for (const handler of this.#connectionHandlers) this.#call(() => handler(slot.peer.id, true));
  }

  #onPeerDisconnect(peerId: PeerId): void {
    const slot = this.#slotsByPeerId.get(peerId.toString());
    if (slot === undefined) return;
    slot.out = null;
    this.#drops.record(slot.peer.id, 'not-connected', slot.queue.clear());
    if (this.#state === 'started') this.#logger.info?.({ peer: slot.peer.id }, slot.role === 'admin' ? 'admin client disconnected' : 'peer disconnected');
    for (const handler of this.#connectionHandlers) this.#call(() => handler(slot.peer.id, false));
  }

  #onCut(peer: MemberId): void {
    const slot = this.#slots.get(peer);
    if (slot === undefined || this.#node === null) return;
    this.#drops.record(peer, 'fault', slot.queue.clear());
    this.#node.hangUp(slot.peerId).catch((error: unknown) => {
      this.#logger.warn({ peer, err: errorText(error) }, 'hang-up for a fault cut failed');
    });
  }

  // ───────────────────────────── receiving ─────────────────────────────

  #onInboundStream(stream: Stream, connection: Connection): void {
    const slot = this.#slotsByPeerId.get(connection.remotePeer.toString());
    if (slot === undefined) {
      // The gater keeps unknown keys out; this is a second line, should a connection slip past it.
      this.#reject(connection.remotePeer.toString(), 'unknown-peer', 'stream from a key not in the formation config');
      stream.abort(new Error('unknown peer'));
      return;
    }
    if (this.#faultState?.isCut(slot.peer.id) ?? false) {
      stream.abort(new Error('link cut by test fault'));
      return;
    }
    this.#readStream(slot, stream, connection.id);
  }

  /**
   * Reads a peer's inbound stream: each chunk is parsed as it arrives, in the
   * same turn (frame-reader.ts; lpStream's awaited one-byte reads were the
   * largest share of an idle member's CPU), and each frame passes the checks
   * of the file comment in order.
   */
  #readStream(slot: Slot, stream: Stream, connectionId: string): void {
    let greeted = false;
    let resumeTimer: NodeJS.Timeout | null = null;
    // True while stream.resume() runs: a pause asked for inside it is applied after it returns,
    // since resume() ends by reopening yamux's window (sendResume) and would undo a pause set during it.
    let resumingStream = false;
    let pauseAfterResume = false;
    const reader = new FrameReader({
      frameBytesMax: this.#messageBytesMax,
      bufferedBytesMax: streamBufferBytes,
      onFrame: (frame) => {
        if (!this.#isCurrent(slot)) {
          this.#reject(slot.peer.id, 'unknown-peer', 'frame from a member no longer configured; stream closed');
          stream.abort(new Error('peer no longer configured'));
          return 'stop';
        }
        // The cheap check first: over budget, the frame is refused before its signature costs anything,
        // and this stream is not read for a moment, so that the peer's flood waits in its own buffers
        // (yamux's window stays shut) instead of costing us the decryption of frames we would refuse.
        const claimedKind = envelopeKindOf(frame);
        if (!this.#inboundBudget.take(slot.peer.id, claimedKind, this.#clock())) {
          this.#reject(slot.peer.id, 'rate-limited', `over this peer's ${claimedKind} budget; its stream is not read for ${rateLimitedReadPauseMs} ms`);
          return 'pause';
        }
        if (!greeted) {
          // The first frame is the peer's hello; nothing else on this stream is read before it passed.
          if (!this.#checkHello(slot, frame, stream)) {
            stream.abort(new Error('no acceptable hello'));
            return 'stop';
          }
          greeted = true;
          return 'next';
        }
        this.#receive(slot, frame, connectionId);
        return 'next';
      },
    });
    const pauseStream = (): void => {
      if (resumingStream) pauseAfterResume = true;
      else if (stream.readStatus === 'readable') stream.pause();
    };
    const settle = (state: FrameReaderState): void => {
      if (state.state === 'refused') {
        // A length or a backlog over our limits: the peer's next stream is served normally.
        this.#reject(slot.peer.id, 'oversize', `${state.detail}; stream closed`);
        stream.abort(new Error(`framing refused: ${state.detail}`));
        return;
      }
      if (state.state !== 'paused' || resumeTimer !== null) return;
      pauseStream();
      resumeTimer = setTimeout(() => {
        resumeTimer = null;
        if (stream.status !== 'open') return;
        settle(reader.resume());
        if (reader.state.state !== 'reading' || stream.readStatus !== 'paused') return;
        // What the stream buffered while paused comes now, in this call.
        resumingStream = true;
        try {
          stream.resume();
        } finally {
          resumingStream = false;
        }
        if (pauseAfterResume) {
          pauseAfterResume = false;
          pauseStream();
        }
      }, rateLimitedReadPauseMs);
      resumeTimer.unref();
    };
    const onMessage = (event: StreamMessageEvent): void => {
      try {
        settle(reader.push(event.data));
      } catch (error) {
        // Every frame's checks count their own rejects; a throw here is a bug, and must not reach the event target.
        (this.#logger.error ?? this.#logger.warn).call(this.#logger, { peer: slot.peer.id, err: errorText(error) }, 'inbound stream reader failed; stream closed');
        reader.stop();
        stream.abort(error instanceof Error ? error : new Error(String(error)));
      }
    };
    stream.addEventListener('message', onMessage);
    stream.addEventListener(
      'close',
      (event) => {
        stream.removeEventListener('message', onMessage);
        if (resumeTimer !== null) clearTimeout(resumeTimer);
        resumeTimer = null;
        const refused = reader.state.state === 'refused';
        reader.stop();
        if (refused) return; // counted when refused
        const error = event.error;
        if (error !== undefined && error.name === streamBufferErrorName) {
          // The stream's own buffer (yamux's, while paused) overflowed.
          this.#reject(slot.peer.id, 'oversize', `${errorText(error)}; stream closed`);
          return;
        }
        // A closed or reset stream or connection: the normal way for a stream to end.
        this.#logger.debug?.({ peer: slot.peer.id, err: error === undefined ? null : errorText(error), unreadBytes: reader.bufferedBytes }, 'inbound stream ended');
      },
      { once: true },
    );
  }

  /**
   * The first frame of a stream: the peer's hello (see the file comment). True
   * when it is one with a version we interoperate with; otherwise the frame is
   * counted and, for a missing, malformed or incompatible version, the peer
   * refused.
   */
  #checkHello(slot: Slot, frame: Uint8Array, stream: Stream): boolean {
    const peer = slot.peer.id;
    const ours = this.#protocolText;
    if (slot.refusal !== null) {
      this.#reject(peer, 'incompatible-version', `link refused on this connection: ${slot.refusal.detail}`);
      return false;
    }
    const kind = envelopeKindOf(frame);
    if (kind !== 'hello') {
      const what = kind === undefined ? 'not a tollbooth frame' : `a ${kind} frame`;
      this.#refuse(slot, stream, { reason: 'no-hello', theirs: null, detail: `no protocol version: the stream's first frame is ${what}, not a hello (a build from before protocol versions?); protocol ${ours} here` });
      return false;
    }
    const decoded = decodeEnvelope(frame, this.#decodeContext);
    if (!decoded.ok) {
      this.#reject(peer, decoded.reason, `hello: ${decoded.detail}`);
      return false;
    }
    const e = decoded.envelope;
    if (e.sender !== peer) {
      this.#reject(peer, 'sender-mismatch', `hello signed by ${e.sender}, delivered by ${peer}`);
      return false;
    }
    const replay = this.#replay.accept(e.sender, e.seq);
    if (!replay.ok) {
      this.#reject(peer, replay.reason, `hello: ${replay.detail}`);
      return false;
    }
    const parsed = parseHello(e.payload);
    if (!parsed.ok) {
      this.#refuse(slot, stream, { reason: 'bad-hello', theirs: null, detail: `${parsed.detail}; protocol ${ours} here` });
      return false;
    }
    const theirs = formatProtocolVersion(parsed.version);
    const verdict = compatibility(this.#protocol, parsed.version);
    if (!verdict.compatible) {
      this.#refuse(slot, stream, { reason: 'incompatible-version', theirs, detail: verdict.detail });
      return false;
    }
    // Not counted as received, nor as sent at the other end: sent and received count the traffic a hello opens the way for.
    if (slot.protocol !== theirs) {
      slot.protocol = theirs;
      // A mixed formation is normal during a rolling upgrade; worth one line per connection, not a warning.
      if (theirs !== ours) this.#logger.info?.({ peer, ours, theirs }, 'peer speaks another protocol version: compatible');
    }
    return true;
  }

  /** Refuses the peer's link (see the file comment): counted, logged as an error once per connection and verdict. */
  #refuse(slot: Slot, stream: Stream, refusal: Refusal): void {
    const peer = slot.peer.id;
    const decision = this.#rejects.record(peer, refusal.reason, this.#clock());
    const previous = slot.refusal;
    slot.refusal = refusal;
    this.#drops.record(peer, 'incompatible', slot.queue.clear());
    if (previous === null || previous.reason !== refusal.reason || previous.theirs !== refusal.theirs) {
      const fields = { peer, reason: refusal.reason, ours: this.#protocolText, theirs: refusal.theirs, detail: refusal.detail, count: decision.count };
      (this.#logger.error ?? this.#logger.warn).call(this.#logger, fields, `peer refused: ${refusal.detail}`);
      for (const handler of this.#refusalHandlers) this.#call(() => handler(peer, refusal.detail));
    }
    // An admin client only reads the streams we open to it: tell it our version on one, so that it can say why.
    if (slot.role === 'admin') this.#helloToAdmin(slot, stream);
  }

  /** A stream to an admin client holding only our hello (after refusing it). */
  #helloToAdmin(slot: Slot, refused: Stream): void {
    const connection = this.#node?.getConnections(slot.peerId).find((c) => c.status === 'open' && c.streams.includes(refused)) ?? this.#openConnections(slot)[0];
    if (connection === undefined) return;
    const hello = this.#hello(slot);
    if (hello === null) return;
    void (async () => {
      try {
        const stream = await connection.newStream(tollboothProtocol, { signal: AbortSignal.timeout(this.#dialTimeoutMs) });
        await this.#writeFrames(stream, [hello]);
        await stream.close({ signal: AbortSignal.timeout(this.#writeTimeoutMs) });
      } catch (error) {
        this.#logger.debug?.({ peer: slot.peer.id, err: errorText(error) }, 'hello to a refused admin client not sent');
      }
    })();
  }

  #receive(slot: Slot, frame: Uint8Array, connectionId: string): void {
    const peer = slot.peer.id;
    // A link refused at its hello takes nothing more, whatever stream it comes by.
    if (slot.refusal !== null) return this.#reject(peer, 'incompatible-version', slot.refusal.detail);
    const decoded = decodeEnvelope(frame, this.#decodeContext);
    if (!decoded.ok) return this.#reject(peer, decoded.reason, decoded.detail);
    const e = decoded.envelope;
    // Checked before the replay window, so a frame that is not this peer's own cannot move its sender's window.
    if (e.sender !== peer) return this.#reject(peer, 'sender-mismatch', `signed by ${e.sender}, delivered by ${peer}`);
    if (slot.role === 'admin' && e.kind !== 'admin') return this.#reject(peer, 'admin-kind-only', `a ${e.kind} frame from an admin key`);
    if (e.kind === 'hello') return this.#reject(peer, 'bad-hello', 'a second hello on one stream');
    const replay = this.#replay.accept(e.sender, e.seq);
    if (!replay.ok) return this.#reject(peer, replay.reason, replay.detail);
    if (e.kind === 'raft') {
      const parsed = parseMessage(e.payload);
      if (!parsed.ok) return this.#reject(peer, 'invalid-message', parsed.reason);
      if (parsed.msg.term !== e.term) return this.#reject(peer, 'invalid-message', `envelope term ${e.term}, message term ${parsed.msg.term}`);
      this.#accepted(slot, connectionId);
      const env: Envelope = { from: peer, to: this.self, msg: parsed.msg };
      for (const handler of this.#messageHandlers) this.#call(() => handler(env));
      return;
    }
    if (e.kind === 'gossip') {
      const parsed = parseSwimMessage(e.payload);
      if (!parsed.ok) return this.#reject(peer, 'invalid-message', parsed.reason);
      this.#accepted(slot, connectionId);
      const env: Envelope = { from: peer, to: this.self, msg: parsed.msg };
      for (const handler of this.#messageHandlers) this.#call(() => handler(env));
      return;
    }
    if (e.kind === 'relay') return this.#onRelay(slot, e.payload, connectionId);
    if (e.kind === 'admin' || e.kind === 'admin-reply') {
      this.#accepted(slot, connectionId);
      const admin: AdminFrame =
        slot.role === 'admin'
          ? { from: peer, to: this.self, kind: e.kind, body: e.payload, origin: 'admin-key', via: connectionId }
          : { from: peer, to: this.self, kind: e.kind, body: e.payload };
      for (const handler of this.#adminHandlers) this.#call(() => handler(admin));
    }
  }

  /** A 'relay' frame from a member: a registry message for us through a relay, or one to pass on (file comment). */
  #onRelay(slot: Slot, payload: unknown, connectionId: string): void {
    const peer = slot.peer.id;
    const frameText = typeof payload === 'object' && payload !== null ? (payload as { frame?: unknown }).frame : undefined;
    if (typeof frameText !== 'string' || frameText.length > Math.ceil(this.#messageBytesMax / 3) * 4) {
      return this.#reject(peer, 'bad-relay', 'payload is not { frame: base64 } within the frame size');
    }
    const bytes = Buffer.from(frameText, 'base64');
    // Buffer.from skips characters outside the alphabet; only exact base64 round-trips.
    if (bytes.toString('base64') !== frameText) return this.#reject(peer, 'bad-relay', 'frame is not exact base64');
    const inner = decodeEnvelope(bytes, { ...this.#decodeContext, localMemberId: null });
    if (!inner.ok) return this.#reject(peer, 'bad-relay', `inner frame ${inner.reason}: ${inner.detail}`);
    const ie = inner.envelope;
    if (ie.kind !== 'raft') return this.#reject(peer, 'bad-relay', `only registry traffic is relayed, not ${ie.kind}`);
    if (ie.recipient === this.self) {
      const author = this.#slots.get(ie.sender as MemberId);
      if (author === undefined) return this.#reject(peer, 'bad-relay', `inner frame from ${JSON.stringify(ie.sender)}, not a member`);
      // An author whose own link we refused at the handshake does not get through a relay instead.
      if (author.refusal !== null) return this.#reject(author.peer.id, 'incompatible-version', `${author.refusal.detail} (relayed by ${peer})`);
      const replay = this.#replay.accept(ie.sender, ie.seq);
      if (!replay.ok) return this.#reject(author.peer.id, replay.reason, `${replay.detail} (relayed by ${peer})`);
      const parsed = parseMessage(ie.payload);
      if (!parsed.ok) return this.#reject(author.peer.id, 'invalid-message', parsed.reason);
      if (parsed.msg.term !== ie.term) return this.#reject(author.peer.id, 'invalid-message', `envelope term ${ie.term}, message term ${parsed.msg.term}`);
      this.#accepted(slot, connectionId);
      const env: Envelope = { from: author.peer.id, to: this.self, msg: parsed.msg, via: peer };
      for (const handler of this.#messageHandlers) this.#call(() => handler(env));
      return;
    }
    // Asked to pass it on: one hop only, so only its author may ask.
    if (ie.sender !== peer) return this.#reject(peer, 'bad-relay', `asked to relay a frame by ${JSON.stringify(ie.sender)}: relays do not chain`);
    const target = ie.recipient as MemberId;
    if (!this.#slots.has(target)) return this.#reject(peer, 'bad-relay', `relay to ${JSON.stringify(ie.recipient)}, not a member`);
    this.#accepted(slot, connectionId);
    if (this.#relayPolicy === null || !this.#relayPolicy(target)) return this.#drop(target, 'relay-refused');
    if (!this.#relayBudget.take(peer, this.#clock())) return this.#drop(peer, 'relay-budget');
    this.#send(target, 'relay', 0, { frame: frameText });
  }

  #accepted(slot: Slot, connectionId: string): void {
    slot.received += 1;
    slot.lastRecvAt = this.#clock();
    slot.lastRecvConnectionId = connectionId;
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      // A throwing handler is a bug above us; it must not end the peer's stream.
      this.#logger.warn({ err: errorText(error) }, 'transport message handler threw');
    }
  }

  #reject(peer: string, reason: RejectReason, detail: string): void {
    const decision = this.#rejects.record(peer, reason, this.#clock());
    if (decision.log) {
      this.#logger.warn({ peer: decision.bucket, reason, detail, count: decision.count, suppressed: decision.suppressedCount }, 'frame rejected');
    }
  }

  #drop(peer: MemberId, reason: DropReason, detail?: string): void {
    this.#drops.record(peer, reason);
    if (detail !== undefined) this.#logger.warn({ peer, reason, detail }, 'frame dropped');
  }

  #rejectedOf(peer: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const entry of this.#rejects.snapshot()) if (entry.peer === peer) out[entry.reason] = entry.count;
    return out;
  }
}
