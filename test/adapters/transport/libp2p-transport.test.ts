// Runs the Transport compliance suite (./transport-compliance.ts) against the
// real libp2p transport: every member is a Libp2pTransport in this process,
// listening on 127.0.0.1 on a port picked by binding a throwaway server to
// port 0 (the peer list needs fixed ports); a restart stops the node and
// starts a new one with the same key and port and the next epoch. Then come
// the checks only a real network can make, using a bare libp2p node as the
// attacker: a key that is not in the config is refused by the connection
// gater and counted; garbage, mis-addressed, badly signed, schema-invalid,
// oversize and replayed frames written with lpStream by a configured peer
// are each rejected and counted under their own reason while the stream (or,
// after an oversize prefix, the next stream) keeps serving; a frame signed by
// member A but sent over C's connection is rejected as sender-mismatch; a
// peer holding a configured admin key is admitted but confined to 'admin'
// frames under its fixed sender id (a 'raft' frame is rejected and counted
// as admin-kind-only), is not listed among the peers, and is answered by the
// remote admin client's round trip (src/cli/remote-admin.ts). Also:
// the survivor's own redial loop reconnects a restarted peer that cannot dial
// out, the connection monitor's ping yields an RTT, IPv6 and host-name
// addresses work, and bad options fail at construction. Seeds are fixed
// (sha256 of the member name), and every wait has a deadline, no fixed sleep.
import { Buffer } from 'node:buffer';
import { createHash, createPublicKey } from 'node:crypto';
import { createServer } from 'node:net';
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils';
import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adminSenderId,
  tollboothProtocol,
  Libp2pTransport,
  tcpMultiaddr,
  TransportConfigError,
  streamBufferBytes,
  streamBufferMarginBytes,
  type Libp2pTransportOptions,
  type TransportPeer,
} from '../../../src/adapters/transport/libp2p-transport.js';
import { memberId, type MemberId } from '../../../src/core/types.js';
import { messageBytesMaxDefault } from '../../../src/wire/envelope.js';
import { inboundBudgetDefaults } from '../../../src/wire/inbound-budget.js';
import { lengthPrefixed } from '../../../src/adapters/transport/length-prefix.js';
import {
  Ed25519Signer,
  encodeEnvelope,
  privateKeyFromSeed,
  publicKeyToRaw,
  sequenceNumber,
  type EnvelopeFields,
} from '../../../src/wire/index.js';
import type { AdminFrame } from '../../../src/ports/ports.js';
import { formatProtocolVersion, helloPayload, protocolVersion, type ProtocolVersion } from '../../../src/wire/protocol-version.js';

/** This build's protocol version as it travels ("1.2"). */
const here = formatProtocolVersion(protocolVersion);
import { remoteAdminRequest } from '../../../src/cli/remote-admin.js';
import { describeTransportCompliance, Inbox, vote, waitFor, type ComplianceCluster, type ComplianceOptions } from './transport-compliance.js';
import { createRawLibp2p } from '../../support/raw-libp2p.js';

const formation = 'tb-test';
/**
 * Upper bound on one asynchronous step (connect, reconnect, deliver): milliseconds on an idle
 * machine; the three-member set-up missed 10 s at load ~18 (two CPU hogs and other tests).
 */
const deadlineMs = 30_000;
/**
 * Connection monitor period and timeout of the tests' transports. The tests
 * assume a link stays up once connected (a frame to a peer that is not
 * connected is dropped, by contract); the shipped 1 s ping timeout cuts a link
 * whose process is late to answer a ping, which on a loaded machine it is.
 * The tests of the monitor itself set their own.
 */
const testPingMs = 30_000;
/** yamux's ACK flag: a ping frame with it answers a ping (node_modules/@libp2p/yamux frame.js). */
const yamuxFlagAck = 2;
/** libp2p's connection monitor period when not configured (node_modules/libp2p connection-monitor.js). */
const libp2pDefaultPingIntervalMs = 10_000;

function seedOf(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`tollbooth test member ${name}`).digest());
}

function publicKeyOf(seed: Uint8Array): Uint8Array {
  return publicKeyToRaw(createPublicKey(privateKeyFromSeed(seed)));
}

async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface LogLine {
  readonly level: 'error' | 'warn' | 'info';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function recordingLogger(lines: LogLine[]): Libp2pTransportOptions['logger'] {
  return {
    error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  };
}

interface Member {
  readonly id: MemberId;
  readonly seed: Uint8Array;
  readonly port: number;
}

async function members(names: readonly string[], host = '127.0.0.1'): Promise<Member[]> {
  const out: Member[] = [];
  for (const name of names) out.push({ id: memberId(name), seed: seedOf(name), port: await freePort(host) });
  return out;
}

function peerList(all: readonly Member[], host = '127.0.0.1'): TransportPeer[] {
  return all.map((m) => ({ id: m.id, host, port: m.port, publicKey: publicKeyOf(m.seed) }));
}

function transportFor(
  me: Member,
  peers: readonly TransportPeer[],
  epoch: number,
  logs: LogLine[],
  extra: Partial<Libp2pTransportOptions> = {},
): Libp2pTransport {
  return new Libp2pTransport({
    formation,
    self: me.id,
    seed: me.seed,
    epoch,
    listenHost: '127.0.0.1',
    listenPort: me.port,
    peers,
    logger: recordingLogger(logs),
    redialIntervalMs: 200,
    dialTimeoutMs: 2000,
    pingIntervalMs: testPingMs,
    pingTimeoutMs: testPingMs,
    testFaults: true,
    ...extra,
  });
}

async function createCluster(n: number, options: ComplianceOptions = {}): Promise<ComplianceCluster> {
  const all = await members(Array.from({ length: n }, (_, i) => `m${i}`));
  const peers = peerList(all);
  const epochs = all.map(() => 1);
  const logs: LogLine[] = [];
  const extra = options.sendQueueFramesMax === undefined ? {} : { sendQueueFramesMax: options.sendQueueFramesMax };
  const make = (i: number): Libp2pTransport => transportFor(all[i]!, peers, epochs[i]!, logs, { faultSeed: 17 + i, ...extra });
  const transports = all.map((_, i) => make(i));
  await Promise.all(transports.map((t) => t.start()));
  return {
    ids: all.map((m) => m.id),
    transport: (i) => transports[i]!,
    stop: (i) => transports[i]!.stop(),
    restart: async (i) => {
      await transports[i]!.stop();
      // The caller of a real restart persists epoch + 1 first (see libp2p-transport.ts).
      epochs[i]! += 1;
      transports[i] = make(i);
      await transports[i].start();
    },
    close: async () => {
      await Promise.all(transports.map((t) => t.stop()));
    },
  };
}

describeTransportCompliance('Libp2pTransport', { create: createCluster, deadlineMs });

/** A hello envelope (the first frame of every stream) from `sender` to `recipient`, with any payload. */
function helloFrame(seq: number, signerSeed: Uint8Array, payload: unknown = helloPayload(protocolVersion), sender = 'c', recipient = 'b'): Uint8Array {
  return encodeEnvelope({ kind: 'hello', formation, sender, recipient, seq, term: 0, payload }, new Ed25519Signer(privateKeyFromSeed(signerSeed)));
}

/** A bare libp2p node holding a member's key: it speaks our protocol but writes whatever bytes a test gives it. */
class RawPeer {
  private constructor(
    readonly node: Libp2p,
    private readonly target: string,
    private readonly seed: Uint8Array,
    private readonly sender: string,
    private readonly recipient: string,
  ) {}

  /** Holds `seed`, and signs its hellos as `sender` to `recipient` (default c to b, as frame() does). */
  static async start(seed: Uint8Array, target: Libp2pTransport, sender = 'c', recipient = 'b'): Promise<RawPeer> {
    const node = await createRawLibp2p(seed);
    const address = target.listenAddresses[0];
    if (address === undefined || target.peerId === null) throw new Error('target not listening');
    // getMultiaddrs() already ends in /p2p/<the target's peer id>.
    return new RawPeer(node, address.toString(), seed, sender, recipient);
  }

  /** A new stream to the target; its first frame a hello with sequence number `helloSeq` (none when null). */
  async open(helloSeq: number | null): Promise<{ stream: Stream; lp: LengthPrefixedStream<Stream> }> {
    const stream = await this.node.dialProtocol(multiaddr(this.target), tollboothProtocol, { signal: AbortSignal.timeout(deadlineMs) });
    const lp = lpStream(stream);
    if (helloSeq !== null) await lp.write(helloFrame(helloSeq, this.seed, helloPayload(protocolVersion), this.sender, this.recipient));
    return { stream, lp };
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }
}

describe('Libp2pTransport only', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** Members a and b running; c configured (in everyone's peer list) but driven by the test. */
  async function abWithRawC(): Promise<{ a: Libp2pTransport; b: Libp2pTransport; all: Member[]; logsB: LogLine[]; inboxB: Inbox }> {
    const all = await members(['a', 'b', 'c']);
    const peers = peerList(all);
    const logsA: LogLine[] = [];
    const logsB: LogLine[] = [];
    const a = transportFor(all[0]!, peers, 1, logsA);
    const b = transportFor(all[1]!, peers, 1, logsB);
    cleanup.push(() => a.stop(), () => b.stop());
    await Promise.all([a.start(), b.start()]);
    const inboxB = new Inbox(b);
    await waitFor(() => b.peers().find((p) => p.id === 'a')?.state === 'connected', deadlineMs, 'a and b connected');
    return { a, b, all, logsB, inboxB };
  }

  function frame(fields: Partial<EnvelopeFields>, signerSeed: Uint8Array): Uint8Array {
    const base: EnvelopeFields = { kind: 'raft', formation, sender: 'c', recipient: 'b', seq: sequenceNumber(1, 0), term: 5, payload: vote(5) };
    return encodeEnvelope({ ...base, ...fields }, new Ed25519Signer(privateKeyFromSeed(signerSeed)));
  }

  it('a key that is not in the config is refused by the gater, counted, and delivers nothing', async () => {
    const all = await members(['a', 'b', 'c']);
    const peers = peerList(all);
    const logs: LogLine[] = [];
    const running = all.map((m) => transportFor(m, peers, 1, logs));
    cleanup.push(() => Promise.all(running.map((t) => t.stop())).then(() => undefined));
    await Promise.all(running.map((t) => t.start()));
    const inboxA = new Inbox(running[0]!);
    // d knows a's real key and address, and lists itself; a does not list d.
    const d: Member = { id: memberId('d'), seed: seedOf('d'), port: await freePort() };
    const dLogs: LogLine[] = [];
    const dTransport = transportFor(d, peerList([all[0]!, d]), 1, dLogs);
    cleanup.push(() => dTransport.stop());
    await dTransport.start();
    const dPeerId = dTransport.peerId!;
    await waitFor(() => running[0]!.rejectedFrames(dPeerId, 'unknown-peer') >= 2, deadlineMs, 'a to refuse two dials from d');
    // Noise carries the muxer choice in its handshake, so d may see its side of
    // the connection open for a moment before a closes it: its frames die as
    // 'not-connected' or 'write-failed', never arriving.
    for (let k = 0; k < 5; k += 1) dTransport.send({ from: d.id, to: all[0]!.id, msg: vote(k) });
    await waitFor(() => dTransport.droppedFrames(all[0]!.id) === 5, deadlineMs, 'd to account for its 5 frames as dropped');
    expect(inboxA.messages).toHaveLength(0);
    expect(running[0]!.peers().every((p) => p.received === 0 && p.id !== 'd')).toBe(true);
    expect(running[0]!.peers().map((p) => p.id)).not.toContain('d');
    expect(logs.some((l) => l.msg === 'frame rejected' && l.obj['reason'] === 'unknown-peer' && l.obj['peer'] === dPeerId)).toBe(true);
    // The refusal is rate-limited in the log but fully counted.
    const refusalLines = logs.filter((l) => l.obj['reason'] === 'unknown-peer').length;
    expect(refusalLines).toBeLessThan(running[0]!.rejectedFrames(dPeerId, 'unknown-peer') + 1);
  });

  it('garbage on an open stream is rejected and counted per reason while the stream keeps serving', async () => {
    const { a, b, all, logsB, inboxB } = await abWithRawC();
    const seedC = all[2]!.seed;
    const raw = await RawPeer.start(seedC, b);
    cleanup.push(() => raw.stop());
    let seq = sequenceNumber(1, 0);
    const next = (): number => (seq += 1);
    const { lp } = await raw.open(next());
    await lp.write(new Uint8Array(200).fill(0xff)); // bad-magic
    await lp.write(new Uint8Array(10)); // truncated
    await lp.write(frame({ formation: 'other', seq: next() }, seedC)); // wrong-formation
    await lp.write(frame({ recipient: 'a', seq: next() }, seedC)); // wrong-recipient
    await lp.write(frame({ seq: next() }, seedOf('mallory'))); // bad-signature
    await lp.write(frame({ kind: 'gossip', seq: next() }, seedC)); // invalid-message: a registry payload in a gossip frame
    await lp.write(frame({ kind: 'relay', seq: next(), payload: { frame: 'not base64!' } }, seedC)); // bad-relay
    await lp.write(frame({ seq: next(), payload: { type: 'vote-resp', term: 'five', granted: true } }, seedC)); // invalid-message
    await lp.write(frame({ seq: next(), term: 6 }, seedC)); // invalid-message: envelope term ≠ message term
    const good = frame({ seq: next() }, seedC);
    await lp.write(good);
    await waitFor(() => inboxB.from(memberId('c')).length === 1, deadlineMs, 'the valid frame after the garbage');
    const expected = {
      'bad-magic': 1,
      truncated: 1,
      'wrong-formation': 1,
      'wrong-recipient': 1,
      'bad-signature': 1,
      'bad-relay': 1,
      'invalid-message': 3,
    };
    expect(b.peers().find((p) => p.id === 'c')!.rejected).toEqual(expected);
    expect(logsB.filter((l) => l.msg === 'frame rejected').map((l) => l.obj['reason'])).toEqual(
      expect.arrayContaining(Object.keys(expected)),
    );

    // A length prefix above messageBytesMax (4 MiB as a varint; the cap is messageBytesMaxDefault, 3 MiB) aborts that stream…
    expect(4 * 1024 * 1024).toBeGreaterThan(messageBytesMaxDefault);
    const { stream: doomed } = await raw.open(next());
    doomed.send(Uint8Array.of(0x80, 0x80, 0x80, 0x02));
    await waitFor(() => b.rejectedFrames('c', 'oversize') === 1, deadlineMs, 'the oversize reject');
    // …and the next stream from the same peer is served.
    const { lp: fresh } = await raw.open(next());
    await fresh.write(frame({ seq: next(), payload: vote(5) }, seedC));
    await waitFor(() => inboxB.from(memberId('c')).length === 2, deadlineMs, 'a valid frame on a new stream');
    // Regular traffic was never disturbed.
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(77) });
    await waitFor(() => inboxB.from(memberId('a')).length === 1, deadlineMs, 'a → b after the garbage');
  });

  it('frames arrive whole however the peer cuts its writes; an over-long length varint or a truncated frame closes only that stream', async () => {
    const { b, all, inboxB } = await abWithRawC();
    const seedC = all[2]!.seed;
    const raw = await RawPeer.start(seedC, b);
    cleanup.push(() => raw.stop());
    let seq = sequenceNumber(1, 0);
    const next = (): number => (seq += 1);
    const fromC = (): number[] => inboxB.from(memberId('c')).map((m) => ('term' in m ? m.term : -1));
    // Many frames in one write: one chunk at the reader.
    const { stream } = await raw.open(next());
    stream.send(lengthPrefixed([1, 2, 3, 4, 5].map((t) => frame({ seq: next(), term: t, payload: vote(t) }, seedC))));
    await waitFor(() => fromC().length === 5, deadlineMs, 'five frames from one write');
    // One frame written a byte at a time, its length varint too: many chunks at the reader.
    const split = lengthPrefixed([frame({ seq: next(), term: 6, payload: vote(6) }, seedC)]);
    for (let i = 0; i < split.byteLength; i += 1) stream.send(split.subarray(i, i + 1));
    await waitFor(() => fromC().length === 6, deadlineMs, 'the frame written byte by byte');
    expect(fromC()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.peers().find((p) => p.id === 'c')!.rejected).toEqual({});

    // A length varint longer than the cap needs (the cap takes 4 bytes) is refused at its fifth byte…
    const { stream: endless } = await raw.open(next());
    endless.send(new Uint8Array(64).fill(0xff));
    await waitFor(() => b.rejectedFrames('c', 'oversize') === 1, deadlineMs, 'the over-long varint refused');
    // …and a stream that ends inside a frame delivers nothing of it.
    const { stream: truncated } = await raw.open(next());
    truncated.send(lengthPrefixed([frame({ seq: next(), term: 7, payload: vote(7) }, seedC)]).subarray(0, 40));
    await truncated.close({ signal: AbortSignal.timeout(deadlineMs) });
    // The next stream from the same peer is served, and nothing of the truncated frame came through.
    const { lp: fresh } = await raw.open(next());
    await fresh.write(frame({ seq: next(), term: 8, payload: vote(8) }, seedC));
    await waitFor(() => fromC().length === 7, deadlineMs, 'a frame on a new stream');
    expect(fromC()).toEqual([1, 2, 3, 4, 5, 6, 8]);
    expect(b.peers().find((p) => p.id === 'c')!.rejected).toEqual({ oversize: 1 });
  });

  it('a peer over its budget is refused rate-limited and its stream paused, then read again, in order', async () => {
    const all = await members(['a', 'b', 'c']);
    const logs: LogLine[] = [];
    // Three registry frames of burst, ten a second: a write of twelve runs over at once.
    const budgets = { ...inboundBudgetDefaults(3), registry: { framesPerSecond: 10, burstFrames: 3 } };
    const b = transportFor(all[1]!, peerList(all), 1, logs, { inboundBudgets: budgets });
    cleanup.push(() => b.stop());
    await b.start();
    const inboxB = new Inbox(b);
    const seedC = all[2]!.seed;
    const raw = await RawPeer.start(seedC, b);
    cleanup.push(() => raw.stop());
    let seq = sequenceNumber(1, 0);
    const next = (): number => (seq += 1);
    const { stream } = await raw.open(next());
    const terms = Array.from({ length: 12 }, (_, i) => i + 1);
    stream.send(lengthPrefixed(terms.map((t) => frame({ seq: next(), term: t, payload: vote(t) }, seedC))));
    const fromC = (): number[] => inboxB.from(memberId('c')).map((m) => ('term' in m ? m.term : -1));
    await waitFor(() => fromC().length + b.rejectedFrames('c', 'rate-limited') === terms.length, deadlineMs, 'every frame delivered or refused');
    // The burst passed; each refusal paused the stream, and the frames after it were read once it was resumed.
    expect(fromC().slice(0, 3)).toEqual([1, 2, 3]);
    expect(b.rejectedFrames('c', 'rate-limited')).toBeGreaterThanOrEqual(1);
    expect(fromC().length).toBeGreaterThan(3);
    expect(fromC()).toEqual([...fromC()].sort((x, y) => x - y));
    // The stream still serves: frames written later, one at a time once the last is accounted for, get through.
    let written = terms.length;
    await waitFor(
      () => {
        if (fromC().some((t) => t > terms.length)) return true;
        if (fromC().length + b.rejectedFrames('c', 'rate-limited') === written) {
          written += 1;
          stream.send(lengthPrefixed([frame({ seq: next(), term: written, payload: vote(written) }, seedC)]));
        }
        return false;
      },
      deadlineMs,
      'a later frame on the same stream',
    );
    expect(b.peers().find((p) => p.id === 'c')!.rejected).toEqual({ 'rate-limited': b.rejectedFrames('c', 'rate-limited') });
  });

  it('a frame signed by member a but sent over c’s connection is rejected as sender-mismatch', async () => {
    const { a, b, all, inboxB } = await abWithRawC();
    const raw = await RawPeer.start(all[2]!.seed, b);
    cleanup.push(() => raw.stop());
    const { lp } = await raw.open(sequenceNumber(1, 0));
    // Genuinely a's: its key, its id, and a sequence number far ahead of a's real ones.
    await lp.write(frame({ sender: 'a', seq: sequenceNumber(9, 0), payload: vote(5) }, all[0]!.seed));
    await waitFor(() => b.rejectedFrames('c', 'sender-mismatch') === 1, deadlineMs, 'the sender-mismatch reject');
    expect(inboxB.messages).toHaveLength(0);
    expect(b.rejectedFrames('a', 'sender-mismatch')).toBe(0);
    // The forged path did not move a's replay window: a's real frames (epoch 1) still pass.
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(5) });
    await waitFor(() => inboxB.from(memberId('a')).length === 1, deadlineMs, 'a’s own frame');
  });

  it('relay frames: a forged or chained one is refused as bad-relay; a genuine one arrives with via, once', async () => {
    const { b, all, inboxB } = await abWithRawC();
    const seedC = all[2]!.seed;
    const raw = await RawPeer.start(seedC, b);
    cleanup.push(() => raw.stop());
    let seq = sequenceNumber(1, 0);
    const next = (): number => (seq += 1);
    const { lp } = await raw.open(next());
    const wrap = (inner: Uint8Array): Uint8Array => frame({ kind: 'relay', seq: next(), term: 0, payload: { frame: Buffer.from(inner).toString('base64') } }, seedC);
    // An inner frame "from a" that mallory signed: its signature does not verify.
    await lp.write(wrap(frame({ sender: 'a', seq: sequenceNumber(7, 1), payload: vote(5) }, seedOf('mallory'))));
    // a's genuine frame to b, but its inner kind is admin: only registry traffic is relayed.
    await lp.write(wrap(frame({ kind: 'admin', sender: 'a', seq: sequenceNumber(7, 2), term: 0, payload: {} }, all[0]!.seed)));
    // a's genuine frame addressed to c, handed to b by c: b is asked to relay it back, which needs a chain.
    await lp.write(wrap(frame({ sender: 'a', recipient: 'a', seq: sequenceNumber(7, 3), payload: vote(5) }, all[0]!.seed)));
    await waitFor(() => b.rejectedFrames('c', 'bad-relay') === 3, deadlineMs, 'three bad-relay rejects');
    expect(inboxB.messages).toHaveLength(0);
    // a's genuine frame to b, relayed by c: delivered as a's, with via c; the same frame again is a duplicate.
    const genuine = frame({ sender: 'a', seq: sequenceNumber(7, 4), term: 6, payload: vote(6) }, all[0]!.seed);
    await lp.write(wrap(genuine));
    await waitFor(() => inboxB.messages.length === 1, deadlineMs, 'the relayed frame');
    expect(inboxB.messages[0]!.env).toEqual({ from: 'a', to: 'b', via: 'c', msg: vote(6) });
    await lp.write(wrap(genuine));
    await waitFor(() => b.rejectedFrames('a', 'duplicate') === 1, deadlineMs, 'the replayed relayed frame');
    expect(inboxB.messages).toHaveLength(1);
  });

  it('an admin key is admitted inbound, confined to admin frames, kept out of peers(), and answered', async () => {
    const all = await members(['a', 'b']);
    const adminSeed = seedOf('admin');
    const adminKey = publicKeyOf(adminSeed);
    const adminId = adminSenderId(adminKey);
    const logs: LogLine[] = [];
    const b = transportFor(all[1]!, peerList(all), 1, logs, { adminKeys: [adminKey] });
    cleanup.push(() => b.stop());
    await b.start();
    const frames: AdminFrame[] = [];
    b.onAdmin((f) => {
      frames.push(f);
      const body = f.body as { rid: string };
      if (f.kind === 'admin' && f.origin === 'admin-key') {
        b.sendAdmin({ from: b.self, to: f.from, kind: 'admin-reply', body: { rid: body.rid, res: { ok: true, message: 'pong', answeredBy: b.self } }, ...(f.via === undefined ? {} : { via: f.via }) });
      }
    });
    const raw = await RawPeer.start(adminSeed, b, adminId);
    cleanup.push(() => raw.stop());
    let seq = sequenceNumber(5, 0);
    const next = (): number => (seq += 1);
    const { lp } = await raw.open(next());
    await lp.write(frame({ kind: 'raft', sender: adminId, seq: next() }, adminSeed)); // admin-kind-only
    await lp.write(frame({ kind: 'admin-reply', sender: adminId, seq: next(), payload: { rid: 'x' } }, adminSeed)); // admin-kind-only
    await lp.write(frame({ kind: 'admin', sender: 'a', seq: next(), payload: { rid: 'x' } }, all[0]!.seed)); // sender-mismatch
    await lp.write(frame({ kind: 'admin', sender: adminId, seq: next(), payload: { rid: 'ok', req: { op: 'list' } } }, adminSeed));
    await waitFor(() => frames.length === 1, deadlineMs, 'the admin frame');
    expect(frames[0]).toMatchObject({ from: adminId, to: b.self, kind: 'admin', body: { rid: 'ok', req: { op: 'list' } }, origin: 'admin-key' });
    expect(typeof frames[0]!.via).toBe('string');
    expect(b.rejectedFrames(adminId, 'admin-kind-only')).toBe(2);
    expect(b.rejectedFrames(adminId, 'sender-mismatch')).toBe(1);
    expect(logs.some((l) => l.msg === 'frame rejected' && l.obj['reason'] === 'admin-kind-only' && l.obj['peer'] === adminId)).toBe(true);
    expect(b.peers().map((p) => p.id)).toEqual(['a']);
    // Core messages never go to an admin peer.
    b.send({ from: b.self, to: adminId, msg: vote(1) });
    expect(b.droppedFrames(adminId, 'unknown-peer')).toBe(1);

    // The remote admin client's full round trip: dial, signed request, reply on the same connection,
    // while the raw peer holding the same key stays connected (its reply failed: it serves no streams).
    const res = await remoteAdminRequest(
      { formation, member: { id: b.self, host: '127.0.0.1', port: all[1]!.port, publicKey: publicKeyOf(all[1]!.seed) }, seed: adminSeed, timeoutMs: deadlineMs },
      { op: 'list' },
    );
    expect(res).toEqual({ ok: true, message: 'pong', answeredBy: 'b' });
  });

  it('a replayed frame is rejected as a duplicate, an old one as too old', async () => {
    const { b, all, inboxB } = await abWithRawC();
    const seedC = all[2]!.seed;
    const raw = await RawPeer.start(seedC, b);
    cleanup.push(() => raw.stop());
    // The hello comes first, well behind the frames that follow.
    const { lp } = await raw.open(sequenceNumber(3, 4000));
    const first = frame({ seq: sequenceNumber(3, 5000) }, seedC);
    await lp.write(first);
    await lp.write(first);
    await lp.write(frame({ seq: sequenceNumber(3, 1) }, seedC)); // 4999 behind, window 1024
    await lp.write(frame({ seq: sequenceNumber(2, 9) }, seedC)); // an older epoch
    await lp.write(frame({ seq: sequenceNumber(3, 4999) }, seedC)); // reordered within the window: fine
    await waitFor(() => inboxB.from(memberId('c')).length === 2, deadlineMs, 'the two fresh frames');
    await waitFor(() => b.rejectedFrames('c', 'too-old') === 2, deadlineMs, 'the too-old rejects');
    expect(b.rejectedFrames('c', 'duplicate')).toBe(1);
    expect(inboxB.from(memberId('c'))).toHaveLength(2);
  });

  it('the survivor’s redial loop reconnects a restarted peer that cannot dial out itself', async () => {
    const all = await members(['a', 'b']);
    const peers = peerList(all);
    const logs: LogLine[] = [];
    const a = transportFor(all[0]!, peers, 1, logs);
    cleanup.push(() => a.stop());
    await a.start();
    // b comes up with a wrong port for a, so only a's redial loop can connect them.
    const wrong = peers.map((p) => (p.id === 'a' ? { ...p, port: all[1]!.port === 1 ? 2 : 1 } : p));
    const b = transportFor(all[1]!, wrong, 1, logs);
    cleanup.push(() => b.stop());
    const inboxB = new Inbox(b);
    await b.start();
    await waitFor(() => a.peers()[0]!.state === 'connected', deadlineMs, 'a to redial b');
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(1) });
    b.send({ from: memberId('b'), to: memberId('a'), msg: vote(2) });
    await waitFor(() => inboxB.messages.length === 1, deadlineMs, 'a → b');
    expect(logs.some((l) => l.msg === 'peer connected' && l.obj['peer'] === 'b')).toBe(true);
  });

  it('the link monitor pings: an RTT shows in peers()', async () => {
    const all = await members(['a', 'b']);
    const peers = peerList(all);
    const ts = all.map((m) => transportFor(m, peers, 1, [], { pingIntervalMs: 200, pingTimeoutMs: 1000 }));
    cleanup.push(() => Promise.all(ts.map((t) => t.stop())).then(() => undefined));
    await Promise.all(ts.map((t) => t.start()));
    await waitFor(() => ts[0]!.peers()[0]!.rttMs !== null, deadlineMs, 'an RTT');
    expect(ts[0]!.peers()[0]!.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('a peer that stops answering pings (hung) is cut off by the link monitor', async () => {
    const all = await members(['a', 'c']);
    const logs: LogLine[] = [];
    const a = transportFor(all[0]!, peerList(all), 1, logs, { pingIntervalMs: 200, pingTimeoutMs: 300 });
    cleanup.push(() => a.stop());
    await a.start();
    // c's node is up and its connection open, but its muxer never answers a ping: a hung process, as seen
    // from a (a stopped process's muxer does not read the ping frame, so it does not answer either).
    const raw = await RawPeer.start(all[1]!.seed, a);
    cleanup.push(() => raw.stop());
    await raw.open(null);
    const conn = raw.node.getConnections()[0]!;
    const muxer = (conn as unknown as { muxer: { sendPing: (id: number, flag?: number) => void } }).muxer;
    muxer.sendPing = () => undefined;
    const openedAt = performance.now();
    await waitFor(() => raw.node.getConnections().length === 0, deadlineMs, 'a to drop the hung peer');
    // It is our settings that cut it: libp2p's own monitor would not even have pinged yet (its default
    // period is 10 s). Ours take 0.5 s (one interval and the timeout); the bound leaves a loaded
    // machine twenty times that.
    expect(performance.now() - openedAt).toBeLessThan(libp2pDefaultPingIntervalMs);
    expect(a.peers()[0]!.state).not.toBe('connected');
    expect(logs.some((l) => l.msg === 'peer did not answer a ping: connection closed' && l.obj['peer'] === 'c')).toBe(true);
  });

  it('a link costs no stream per ping: the monitor uses yamux ping frames, and libp2p ping is not served', async () => {
    const all = await members(['a', 'c']);
    const a = transportFor(all[0]!, peerList(all), 1, [], { pingIntervalMs: 100, pingTimeoutMs: 1000 });
    cleanup.push(() => a.stop());
    await a.start();
    const raw = await RawPeer.start(all[1]!.seed, a);
    cleanup.push(() => raw.stop());
    // Were a to ping as libp2p's monitor does, each ping would open a stream to this handler.
    let pingStreams = 0;
    await raw.node.handle('/ipfs/ping/1.0.0', () => {
      pingStreams += 1;
    });
    await raw.open(null);
    const conn = raw.node.getConnections()[0]!;
    // a's pings arrive as yamux ping frames on the connection: count the ones c's muxer answers.
    const muxer = (conn as unknown as { muxer: { sendPing: (id: number, flag?: number) => void } }).muxer;
    const sendPing = muxer.sendPing.bind(muxer);
    let answered = 0;
    muxer.sendPing = (id, flag) => {
      // Answers only (yamux's ACK flag): c's muxer also sends a keep-alive ping of its own at the start.
      if (flag === yamuxFlagAck) answered += 1;
      sendPing(id, flag);
    };
    await waitFor(() => answered >= 5, deadlineMs, 'five pings from a');
    // No stream was opened for them (libp2p's monitor opened one per ping), and a does not serve /ipfs/ping.
    expect(pingStreams).toBe(0);
    expect(conn.streams.filter((st) => st.direction === 'inbound')).toHaveLength(0);
    await expect(conn.newStream('/ipfs/ping/1.0.0', { signal: AbortSignal.timeout(deadlineMs) })).rejects.toThrow();
  });

  it('IPv6 literals and host names work as addresses', async () => {
    // a listens on ::1 and is configured as [::1]; b listens on 127.0.0.1 and is configured as "localhost".
    const a: Member = { id: memberId('a6'), seed: seedOf('a6'), port: await freePort('::1') };
    const b: Member = { id: memberId('bdns'), seed: seedOf('bdns'), port: await freePort('127.0.0.1') };
    const peers: TransportPeer[] = [
      { id: a.id, host: '[::1]', port: a.port, publicKey: publicKeyOf(a.seed) },
      { id: b.id, host: 'localhost', port: b.port, publicKey: publicKeyOf(b.seed) },
    ];
    const ta = transportFor(a, peers, 1, [], { listenHost: '::1' });
    const tb = transportFor(b, peers, 1, []);
    cleanup.push(() => ta.stop(), () => tb.stop());
    const inboxA = new Inbox(ta);
    const inboxB = new Inbox(tb);
    await Promise.all([ta.start(), tb.start()]);
    expect(ta.listenAddresses[0]!.toString()).toMatch(/^\/ip6\/::1\/tcp\//);
    // Both views: the side that dialled sees the link a moment before the other has taken it in.
    await waitFor(() => ta.peers()[0]!.state === 'connected' && tb.peers()[0]!.state === 'connected', deadlineMs, 'a and b connected');
    ta.send({ from: a.id, to: b.id, msg: vote(1) });
    tb.send({ from: b.id, to: a.id, msg: vote(2) });
    await waitFor(() => inboxA.messages.length === 1 && inboxB.messages.length === 1, deadlineMs, 'both directions');
  });

  it('start() on a taken port rejects; stop() during start() leaves nothing listening', async () => {
    const [a] = await members(['a']);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(a!.port, '127.0.0.1', resolve));
    const failing = transportFor(a!, [], 1, []);
    await expect(failing.start()).rejects.toThrow();
    await failing.stop();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));

    const racing = transportFor(a!, [], 1, []);
    const started = racing.start();
    await racing.stop();
    await started;
    expect(racing.listenAddresses).toEqual([]);
    // The port is free again: nothing of the raced transport kept it.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(a!.port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(racing.start()).rejects.toThrow(/already stopped/);
  });

  it('builds /ip4, /ip6 and /dns multiaddrs', () => {
    expect(tcpMultiaddr('192.0.2.1', 9929).toString()).toBe('/ip4/192.0.2.1/tcp/9929');
    expect(tcpMultiaddr('2001:db8::1', 9929).toString()).toBe('/ip6/2001:db8::1/tcp/9929');
    expect(tcpMultiaddr('[2001:db8::1]', 9929).toString()).toBe('/ip6/2001:db8::1/tcp/9929');
    expect(tcpMultiaddr('site-a.example.org', 9929).toString()).toBe('/dns/site-a.example.org/tcp/9929');
  });

  it('has no fault hook unless built with testFaults', () => {
    const me: Member = { id: memberId('a'), seed: seedOf('a'), port: 1 };
    expect(transportFor(me, [], 1, [], { testFaults: false }).faults).toBeNull();
    expect(transportFor(me, [], 1, []).faults).not.toBeNull();
  });

  it('refuses bad options at construction', () => {
    const a: Member = { id: memberId('a'), seed: seedOf('a'), port: 1 };
    const b: Member = { id: memberId('b'), seed: seedOf('b'), port: 2 };
    const good = peerList([a, b]);
    const build = (extra: Partial<Libp2pTransportOptions>): (() => Libp2pTransport) => () => transportFor(a, good, 1, [], extra);
    expect(build({ seed: new Uint8Array(31) })).toThrow(TransportConfigError);
    expect(build({ peers: [...good, { ...good[1]!, id: memberId('b2') }] })).toThrow(/shares its public key/);
    expect(build({ peers: [{ ...good[0]!, publicKey: publicKeyOf(b.seed) }, good[1]!] })).toThrow(/does not match its seed/);
    expect(build({ peers: [...good, good[1]!] })).toThrow(/listed twice/);
    expect(build({ peers: [good[0]!, { ...good[1]!, port: 0 }] })).toThrow(/port/);
    // A frame cap that leaves the stream buffer less than its margin would be refused by every receiver.
    expect(build({ messageBytesMax: streamBufferBytes - streamBufferMarginBytes + 1 })).toThrow(/stream buffer/);
    expect(build({ messageBytesMax: streamBufferBytes - streamBufferMarginBytes })).not.toThrow();
    expect(build({ sendQueueFramesMax: 0 })).toThrow(/sendQueueFramesMax/);
    expect(build({ redialIntervalMs: -1 })).toThrow(/redialIntervalMs/);
    expect(build({ epoch: 2 ** 21 })).toThrow(/epoch/);
    expect(Buffer.from(good[0]!.publicKey).byteLength).toBe(32);
  });
});

// The handshake (issue 11, item 6): every stream opens with a hello naming the
// writer's protocol version. Two real transports one minor version apart talk;
// another major, or minors two apart, are refused at both ends, each logging
// an error that names both versions, and come back together once the odd one
// is replaced by a compatible build. A raw peer holding a member's key shows
// that a stream without a hello, or a hello whose version is missing or
// malformed, is refused with an error saying what was wrong, and that nothing
// crashes: the other member's link keeps serving.
describe('Libp2pTransport: the protocol version handshake', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** a at version `va`, b at `vb`, both started. */
  async function pair(va: ProtocolVersion, vb: ProtocolVersion): Promise<{ a: Libp2pTransport; b: Libp2pTransport; all: Member[]; logsA: LogLine[]; logsB: LogLine[] }> {
    const all = await members(['a', 'b']);
    const peers = peerList(all);
    const logsA: LogLine[] = [];
    const logsB: LogLine[] = [];
    const a = transportFor(all[0]!, peers, 1, logsA, { protocolVersion: va });
    const b = transportFor(all[1]!, peers, 1, logsB, { protocolVersion: vb });
    cleanup.push(() => a.stop(), () => b.stop());
    await Promise.all([a.start(), b.start()]);
    return { a, b, all, logsA, logsB };
  }

  const refusals = (logs: readonly LogLine[]): LogLine[] => logs.filter((l) => l.level === 'error' && l.msg.startsWith('peer refused'));

  it('members one minor version apart interoperate, each seeing the other\'s version', async () => {
    const { a, b, logsB } = await pair({ major: 1, minor: 0 }, { major: 1, minor: 1 });
    const inboxA = new Inbox(a);
    const inboxB = new Inbox(b);
    await waitFor(() => a.peers()[0]!.protocol === '1.1' && b.peers()[0]!.protocol === '1.0', deadlineMs, 'both hellos');
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(3) });
    b.send({ from: memberId('b'), to: memberId('a'), msg: vote(4) });
    await waitFor(() => inboxB.messages.length === 1 && inboxA.messages.length === 1, deadlineMs, 'a message each way');
    expect(a.peers()[0]!.state).toBe('connected');
    expect(b.peers()[0]!.state).toBe('connected');
    expect(refusals(logsB)).toEqual([]);
    expect(logsB.some((l) => l.msg === 'peer speaks another protocol version: compatible' && l.obj['theirs'] === '1.0' && l.obj['ours'] === '1.1')).toBe(true);
  });

  it.each([
    { ta: '1.0', tb: '2.0', va: { major: 1, minor: 0 }, vb: { major: 2, minor: 0 }, why: 'major versions differ' },
    { ta: '1.0', tb: '1.2', va: { major: 1, minor: 0 }, vb: { major: 1, minor: 2 }, why: 'more than 1 minor version apart' },
  ])('refuses $tb at $ta at both ends, each naming both versions; a compatible build replacing it is taken', async ({ ta, tb, va, vb, why }) => {
    const { a, b, all, logsA, logsB } = await pair(va, vb);
    const inboxA = new Inbox(a);
    const inboxB = new Inbox(b);
    await waitFor(() => a.peers()[0]!.state === 'incompatible' && b.peers()[0]!.state === 'incompatible', deadlineMs, 'both ends to refuse');
    for (const [logs, ours, theirs] of [[logsA, ta, tb], [logsB, tb, ta]] as const) {
      const lines = refusals(logs);
      expect(lines, JSON.stringify(logs)).toHaveLength(1);
      expect(lines[0]!.obj).toMatchObject({ reason: 'incompatible-version', ours, theirs });
      expect(lines[0]!.msg).toBe(`peer refused: protocol ${theirs} there, ${ours} here: ${why}${why.startsWith('more') ? ' (upgrade one minor version at a time)' : ''}`);
    }
    expect(a.peers()[0]).toMatchObject({ protocol: tb });
    expect(a.peers()[0]!.refused).toContain(`protocol ${tb} there, ${ta} here`);
    expect(a.rejectedFrames('b', 'incompatible-version')).toBeGreaterThanOrEqual(1);
    // Nothing passes either way: a's frames are dropped as incompatible.
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(3) });
    b.send({ from: memberId('b'), to: memberId('a'), msg: vote(4) });
    expect(a.droppedFrames(memberId('b'), 'incompatible')).toBe(1);
    expect(b.droppedFrames(memberId('a'), 'incompatible')).toBe(1);
    expect(inboxA.messages.length + inboxB.messages.length).toBe(0);

    // b replaced by a build one minor from a's (the upgrade's next step): the link comes back.
    await b.stop();
    const b2 = transportFor(all[1]!, peerList(all), 2, [], { protocolVersion: { major: va.major, minor: va.minor + 1 } });
    cleanup.push(() => b2.stop());
    const inboxB2 = new Inbox(b2);
    await b2.start();
    await waitFor(() => a.peers()[0]!.state === 'connected' && a.peers()[0]!.protocol === `${va.major}.${va.minor + 1}`, deadlineMs, 'a to accept the new build');
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(5) });
    await waitFor(() => inboxB2.messages.length === 1, deadlineMs, 'a → the new b');
    expect(a.peers()[0]!.refused).toBeUndefined();
  });

  it('a stream without a hello, or a hello with a missing or malformed version, is refused with a clear error; nothing crashes', async () => {
    const all = await members(['a', 'b', 'c']);
    const peers = peerList(all);
    const logsB: LogLine[] = [];
    const a = transportFor(all[0]!, peers, 1, []);
    const b = transportFor(all[1]!, peers, 1, logsB);
    cleanup.push(() => a.stop(), () => b.stop());
    await Promise.all([a.start(), b.start()]);
    const inboxB = new Inbox(b);
    const seedC = all[2]!.seed;
    // hello: the payload of the first frame's hello, or null for a first frame that is no hello at all.
    const cases: Array<{ hello: unknown; reason: string; detail: string }> = [
      { hello: null, reason: 'no-hello', detail: "no protocol version: the stream's first frame is a raft frame, not a hello" },
      { hello: {}, reason: 'bad-hello', detail: `no protocol version; protocol ${here} here` },
      { hello: { protocol: 1 }, reason: 'bad-hello', detail: 'protocol version is a number, not a "major.minor" string' },
      { hello: { protocol: '1.0.0' }, reason: 'bad-hello', detail: 'protocol version "1.0.0" is not "major.minor"' },
      { hello: { protocol: '01.0' }, reason: 'bad-hello', detail: 'protocol version "01.0" is not "major.minor"' },
      { hello: { protocol: '99999.0' }, reason: 'bad-hello', detail: 'protocol version "99999.0" has a part above 65535' },
      { hello: { protocol: 'x'.repeat(5000) }, reason: 'bad-hello', detail: `protocol version "${'x'.repeat(40)}"… is not "major.minor"` },
      { hello: ['1.0'], reason: 'bad-hello', detail: 'hello payload is not a JSON object' },
    ];
    let seq = sequenceNumber(1, 0);
    for (const [i, c] of cases.entries()) {
      const raw = await RawPeer.start(seedC, b);
      const { lp } = await raw.open(null);
      await lp.write(c.hello === null ? encodeEnvelope({ kind: 'raft', formation, sender: 'c', recipient: 'b', seq: (seq += 1), term: 5, payload: vote(5) }, new Ed25519Signer(privateKeyFromSeed(seedC))) : helloFrame((seq += 1), seedC, c.hello));
      await waitFor(() => refusals(logsB).length === i + 1, deadlineMs, `the refusal of case ${i}`);
      const line = refusals(logsB)[i]!;
      expect(line.obj).toMatchObject({ peer: 'c', reason: c.reason, ours: here, theirs: null });
      expect(line.obj['detail']).toContain(c.detail);
      expect(b.peers().find((p) => p.id === 'c')).toMatchObject({ state: 'incompatible', protocol: null });
      // A frame after the refused hello, on another stream of the same connection, is refused too.
      const { lp: more } = await raw.open(null);
      await more.write(helloFrame((seq += 1), seedC));
      await waitFor(() => b.rejectedFrames('c', 'incompatible-version') === i + 1, deadlineMs, 'the later stream refused');
      await raw.stop();
      await waitFor(() => b.peers().find((p) => p.id === 'c')!.state !== 'incompatible', deadlineMs, 'c gone');
    }
    expect(b.rejectedFrames('c', 'no-hello')).toBe(1);
    expect(b.rejectedFrames('c', 'bad-hello')).toBe(cases.length - 1);
    expect(inboxB.from(memberId('c'))).toHaveLength(0);
    // A hello that does not verify is an ordinary reject: counted, the stream closed, the link not refused.
    const raw = await RawPeer.start(seedC, b);
    cleanup.push(() => raw.stop());
    const { lp } = await raw.open(null);
    await lp.write(helloFrame((seq += 1), seedOf('mallory')));
    await waitFor(() => b.rejectedFrames('c', 'bad-signature') === 1, deadlineMs, 'the forged hello');
    // …and a good hello on a new stream opens the way.
    const { lp: good } = await raw.open((seq += 1));
    await good.write(encodeEnvelope({ kind: 'raft', formation, sender: 'c', recipient: 'b', seq: (seq += 1), term: 5, payload: vote(5) }, new Ed25519Signer(privateKeyFromSeed(seedC))));
    await waitFor(() => inboxB.from(memberId('c')).length === 1, deadlineMs, 'c after a good hello');
    expect(b.peers().find((p) => p.id === 'c')).toMatchObject({ state: 'connected', protocol: here });
    // b served a all along.
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(9) });
    await waitFor(() => inboxB.from(memberId('a')).length === 1, deadlineMs, 'a → b');
  });

  it('the remote admin client and a member of another major refuse each other, and the client says why', async () => {
    const all = await members(['b']);
    const adminSeed = seedOf('admin');
    const logsB: LogLine[] = [];
    const b = transportFor(all[0]!, peerList(all), 1, logsB, { adminKeys: [publicKeyOf(adminSeed)], protocolVersion: { major: 2, minor: 0 } });
    cleanup.push(() => b.stop());
    await b.start();
    const request = remoteAdminRequest(
      { formation, member: { id: b.self, host: '127.0.0.1', port: all[0]!.port, publicKey: publicKeyOf(all[0]!.seed) }, seed: adminSeed, timeoutMs: deadlineMs },
      { op: 'list' },
    );
    await expect(request).rejects.toThrow(`do not interoperate: protocol 2.0 there, ${here} here: major versions differ`);
    expect(refusals(logsB)[0]!.obj).toMatchObject({ reason: 'incompatible-version', ours: '2.0', theirs: here });
  });
});

// Issue 11: the member peers change at runtime (setPeers), with no restart.
// A member admitted by setPeers connects and exchanges frames both ways; a
// member dropped by it has its connection closed, its reconnections refused
// at the gater ('unknown-peer') and its frames no longer delivered; a bad
// list throws TransportConfigError and changes nothing.
describe('Libp2pTransport.setPeers', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** Starts each member with its own peer list (ids into `all`). */
  async function start(all: readonly Member[], lists: readonly (readonly number[])[], logs: LogLine[][]): Promise<Libp2pTransport[]> {
    const running = all.map((m, i) => transportFor(m, peerList(lists[i]!.map((j) => all[j]!)), 1, logs[i]!));
    cleanup.push(() => Promise.all(running.map((t) => t.stop())).then(() => undefined));
    await Promise.all(running.map((t) => t.start()));
    return running;
  }

  const connected = (t: Libp2pTransport, peer: string): boolean => t.peers().find((p) => p.id === peer)?.state === 'connected';

  it('admits a member added at runtime: the two connect and exchange frames', async () => {
    const all = await members(['a', 'b', 'c']);
    const logs: LogLine[][] = [[], [], []];
    // c lists everyone (a newcomer's file); a and b list only each other (the running members' files).
    const [a, , c] = await start(all, [[0, 1], [0, 1], [0, 1, 2]], logs);
    const inboxA = new Inbox(a!);
    const inboxC = new Inbox(c!);
    const cPeerId = c!.peerId!;
    await waitFor(() => a!.rejectedFrames(cPeerId, 'unknown-peer') >= 1, deadlineMs, 'a to refuse c before it is admitted');
    expect(connected(a!, 'c')).toBe(false);
    const changed = a!.setPeers(peerList(all));
    expect(changed).toEqual({ added: ['c'], removed: [], readdressed: [] });
    expect(logs[0]!.find((l) => l.msg === 'transport peers changed')?.obj).toMatchObject({ added: ['c'], removed: [], members: 2 });
    await waitFor(() => connected(a!, 'c') && connected(c!, 'a'), deadlineMs, 'a and c connected');
    a!.send({ from: memberId('a'), to: memberId('c'), msg: vote(7) });
    c!.send({ from: memberId('c'), to: memberId('a'), msg: vote(8) });
    await waitFor(() => inboxC.from(memberId('a')).length > 0 && inboxA.from(memberId('c')).length > 0, deadlineMs, 'a frame each way');
    expect(inboxC.from(memberId('a'))).toEqual([vote(7)]);
    expect(inboxA.from(memberId('c'))).toEqual([vote(8)]);
    // The same list again changes nothing and logs nothing.
    expect(a!.setPeers(peerList(all))).toEqual({ added: [], removed: [], readdressed: [] });
    expect(logs[0]!.filter((l) => l.msg === 'transport peers changed')).toHaveLength(1);
  });

  it('drops a removed member: its connection closes, its reconnections and frames are refused', async () => {
    const all = await members(['a', 'b', 'c']);
    const logs: LogLine[][] = [[], [], []];
    const [a, b, c] = await start(all, [[0, 1, 2], [0, 1, 2], [0, 1, 2]], logs);
    const inboxA = new Inbox(a!);
    const seenByA: Array<[string, boolean]> = [];
    a!.onConnection((peer, up) => seenByA.push([peer, up]));
    await waitFor(() => connected(a!, 'c') && connected(c!, 'a') && connected(a!, 'b'), deadlineMs, 'a connected to b and c');
    const cPeerId = c!.peerId!;
    const changed = a!.setPeers(peerList(all.slice(0, 2)));
    expect(changed).toEqual({ added: [], removed: ['c'], readdressed: [] });
    expect(a!.peers().map((p) => p.id)).toEqual(['b']);
    expect(seenByA).toContainEqual(['c', false]);
    await waitFor(() => !connected(c!, 'a'), deadlineMs, 'c to lose its link to a');
    // c keeps redialling a (its list still has a): each attempt is refused at a's gater.
    // (c may see its side of a refused connection open for a moment: the refused dialer only sees an EOF.)
    await waitFor(() => a!.rejectedFrames(cPeerId, 'unknown-peer') >= 2, deadlineMs, 'a to refuse two reconnections of c');
    c!.send({ from: memberId('c'), to: memberId('a'), msg: vote(9) });
    a!.send({ from: memberId('a'), to: memberId('c'), msg: vote(9) });
    expect(a!.droppedFrames(memberId('c'), 'unknown-peer')).toBe(1);
    const refusedSoFar = a!.rejectedFrames(cPeerId, 'unknown-peer');
    await waitFor(() => a!.rejectedFrames(cPeerId, 'unknown-peer') > refusedSoFar, deadlineMs, 'a to refuse c once more');
    // b is untouched: a frame a → b still arrives, and nothing from c ever did after the drop.
    const inboxB = new Inbox(b!);
    a!.send({ from: memberId('a'), to: memberId('b'), msg: vote(10) });
    await waitFor(() => inboxB.from(memberId('a')).length > 0, deadlineMs, 'a frame a → b');
    expect(inboxA.from(memberId('c'))).toEqual([]);
    expect(connected(a!, 'c')).toBe(false);
  });

  it('refuses a bad list with TransportConfigError and changes nothing', async () => {
    const all = await members(['a', 'b', 'c']);
    const logs: LogLine[][] = [[], []];
    const [a, b] = await start(all.slice(0, 2), [[0, 1], [0, 1]], logs);
    await waitFor(() => connected(a!, 'b'), deadlineMs, 'a and b connected');
    const good = peerList(all);
    const shortKey = good.map((p) => (p.id === 'c' ? { ...p, publicKey: p.publicKey.slice(0, 31) } : p));
    const twice = [...good, good[2]!];
    const notMySeed = good.map((p) => (p.id === 'a' ? { ...p, publicKey: good[2]!.publicKey } : p));
    const badPort = good.map((p) => (p.id === 'c' ? { ...p, port: 0 } : p));
    for (const [list, message] of [
      [shortKey, /peer c: public key must be 32 bytes/],
      [twice, /peer c listed twice/],
      [notMySeed, /configured public key of a \(this member\) does not match its seed/],
      [badPort, /peers\.c\.port must be a TCP port/],
    ] as const) {
      expect(() => a!.setPeers(list)).toThrow(TransportConfigError);
      expect(() => a!.setPeers(list)).toThrow(message);
    }
    // Not even the good part of a bad list applied: b is still the only peer, connected, and c unknown.
    expect(a!.peers().map((p) => [p.id, p.state])).toEqual([['b', 'connected']]);
    expect(logs[0]!.filter((l) => l.msg === 'transport peers changed')).toEqual([]);
    const inboxB = new Inbox(b!);
    a!.send({ from: memberId('a'), to: memberId('b'), msg: vote(3) });
    await waitFor(() => inboxB.from(memberId('a')).length > 0, deadlineMs, 'a frame a → b after the refused change');
  });
});
