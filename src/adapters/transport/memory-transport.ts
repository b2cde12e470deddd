// The in-memory twin of the libp2p transport (STYLE.md, from memberlist: a
// minimal transport interface with an in-memory twin shipped for tests). A
// MemoryNetwork hub stands for the network; each MemoryTransport it creates
// is one member's endpoint. The same compliance suite runs against both
// (test/adapters/transport-compliance.ts), so this twin keeps the real one's
// contract:
//  - send() never throws and never delivers synchronously: frames go through
//    a bounded per-peer queue (sendQueueFramesMax; registry frames leave
//    first, and a full queue drops its oldest other frame first, counted)
//    drained on a later macrotask;
//  - a frame to a peer that is not connected (not started, or cut by the
//    fault hook on either side) is dropped and counted;
//  - every message is serialised to JSON and back through parseMessage, so a
//    message the real transport's receiver would refuse is refused here too
//    ('invalid-message', counted per peer);
//  - a frame from a member that is not in this transport's peer list is
//    refused as 'unknown-peer', as the libp2p connection gater would;
//  - the test fault hook (drop, delay, cut, heal) exists only with
//    `testFaults: true`;
//  - gossip messages are checked with parseSwimMessage, registry messages
//    with parseMessage;
//  - relay as the real one: a message sent with `via` goes to the relay,
//    which passes it on only if its deliverer wrote it (one hop), the
//    recipient is a member, the relay policy allows it and the deliverer's
//    budget does; the recipient gets it with `via` set.
// What it does not model: connection set-up time, byte-level framing,
// signatures and replay (covered by the libp2p adapter and the wire tests).
import { isSwimMessage, type Envelope } from '../../core/messages.js';
import type { MemberId } from '../../core/types.js';
import type { AdminFrame, PeerStatus, Transport } from '../../ports/ports.js';
import { messageBytesMaxDefault } from '../../wire/envelope.js';
import { parseMessage, parseSwimMessage } from '../../wire/message-schema.js';
import { RelayBudget, relayBudgetDefaults } from '../../wire/relay-budget.js';
import { RejectCounter, type RejectCountEntry, type RejectReason } from '../../wire/reject-counter.js';
import { FaultState, faultSeedDefault, type TransportFaults } from './transport-faults.js';
import { DropCounter, FrameQueue, frameClassOf, sendQueueFramesMaxDefault, type DropCountEntry, type DropReason, type TransportLogger } from './transport-support.js';

export interface MemoryTransportOptions {
  /** This member's id. */
  readonly self: MemberId;
  /** The formation's other members (this member may be listed too; it is skipped). */
  readonly peers: readonly MemberId[];
  /** Frames queued per peer before the oldest is dropped. Default sendQueueFramesMaxDefault (1024). */
  readonly sendQueueFramesMax?: number;
  /** Bound on one serialised frame's JSON, as the real transport bounds its envelope. Default messageBytesMaxDefault. */
  readonly messageBytesMax?: number;
  /** Monotonic clock in ms for lastRecvAt and reject log rate limiting. Default performance.now. */
  readonly clock?: () => number;
  readonly logger?: TransportLogger;
  /** Enables `faults` (test only). */
  readonly testFaults?: boolean;
  /** Seed of the fault hook's drop decisions. Default 1. */
  readonly faultSeed?: number;
}

/** A message as it crosses the memory network: serialised, as on a real wire. */
interface Frame {
  readonly kind: 'raft' | 'gossip' | 'relay' | 'admin' | 'admin-reply';
  readonly json: string;
}

/** What a 'relay' frame carries here: the message with its author and final recipient (the real one carries the signed frame). */
interface RelayedJson {
  readonly from: unknown;
  readonly to: unknown;
  readonly msg: unknown;
}

interface Slot {
  readonly id: MemberId;
  readonly queue: FrameQueue<Frame>;
  sent: number;
  received: number;
  lastRecvAt: number | null;
}

const silentLogger: TransportLogger = { warn: () => undefined };

/** The network the memory transports share. One per test (or simulated formation). */
export class MemoryNetwork {
  readonly #attached = new Map<MemberId, MemoryTransport>();

  createTransport(options: MemoryTransportOptions): MemoryTransport {
    return new MemoryTransport(this, options);
  }

  /** @internal Called by MemoryTransport.start(). */
  attach(transport: MemoryTransport): void {
    const current = this.#attached.get(transport.self);
    if (current !== undefined && current !== transport) {
      throw new Error(`member ${transport.self} is already running on this network`);
    }
    this.#attached.set(transport.self, transport);
  }

  /** @internal Called by MemoryTransport.stop(). */
  detach(transport: MemoryTransport): void {
    if (this.#attached.get(transport.self) === transport) this.#attached.delete(transport.self);
  }

  /** @internal The running transport of a member, if any. */
  lookup(id: MemberId): MemoryTransport | undefined {
    return this.#attached.get(id);
  }
}

export class MemoryTransport implements Transport {
  readonly self: MemberId;
  /** The test fault hook; null unless constructed with `testFaults: true`. */
  readonly faults: TransportFaults | null;
  readonly #network: MemoryNetwork;
  readonly #slots = new Map<MemberId, Slot>();
  readonly #messageHandlers: Array<(env: Envelope) => void> = [];
  readonly #adminHandlers: Array<(frame: AdminFrame) => void> = [];
  readonly #rejects: RejectCounter;
  readonly #drops: DropCounter;
  readonly #faultState: FaultState | null;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #clock: () => number;
  readonly #logger: TransportLogger;
  readonly #messageBytesMax: number;
  readonly #relayBudget: RelayBudget;
  #relayPolicy: ((to: MemberId) => boolean) | null = null;
  #started = false;
  #flushScheduled: NodeJS.Immediate | null = null;

  constructor(network: MemoryNetwork, options: MemoryTransportOptions) {
    this.#network = network;
    this.self = options.self;
    this.#clock = options.clock ?? (() => performance.now());
    this.#logger = options.logger ?? silentLogger;
    this.#messageBytesMax = options.messageBytesMax ?? messageBytesMaxDefault;
    const framesMax = options.sendQueueFramesMax ?? sendQueueFramesMaxDefault;
    for (const id of options.peers) {
      if (id === options.self || this.#slots.has(id)) continue;
      this.#slots.set(id, { id, queue: new FrameQueue(framesMax), sent: 0, received: 0, lastRecvAt: null });
    }
    this.#rejects = new RejectCounter({ pinnedPeers: this.#slots.keys(), rejectPeersMax: this.#slots.size + 64 });
    this.#drops = new DropCounter(this.#slots.keys());
    this.#relayBudget = new RelayBudget({ ...relayBudgetDefaults, peersMax: this.#slots.size + 1 });
    this.#faultState =
      options.testFaults === true
        ? new FaultState(options.faultSeed ?? faultSeedDefault, {
            onCut: (peer) => this.#dropQueued(peer, 'fault'),
            onHeal: () => undefined,
          })
        : null;
    this.faults = this.#faultState;
  }

  start(): Promise<void> {
    try {
      this.#network.attach(this);
    } catch (error) {
      // A promise-returning method reports failure by rejecting, never by throwing.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.#started = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#started = false;
    this.#network.detach(this);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#flushScheduled !== null) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = null;
    for (const slot of this.#slots.values()) this.#drops.record(slot.id, 'stopped', slot.queue.clear());
    return Promise.resolve();
  }

  send(env: Envelope): void {
    if (env.from !== this.self) return this.#drop(env.to, 'encode-failed', `from ${env.from} is not this member`);
    if (isSwimMessage(env.msg)) return this.#enqueue(env.to, 'gossip', env.msg);
    if (env.via === undefined) return this.#enqueue(env.to, 'raft', env.msg);
    if (!this.#slots.has(env.to)) return this.#drop(env.to, 'unknown-peer', 'not a configured peer');
    this.#enqueue(env.via, 'relay', { from: this.self, to: env.to, msg: env.msg });
  }

  setRelayPolicy(canRelayTo: (to: MemberId) => boolean): void {
    this.#relayPolicy = canRelayTo;
  }

  sendAdmin(frame: AdminFrame): void {
    if (frame.from !== this.self) return this.#drop(frame.to, 'encode-failed', `from ${frame.from} is not this member`);
    this.#enqueue(frame.to, frame.kind, frame.body);
  }

  onMessage(handler: (env: Envelope) => void): void {
    this.#messageHandlers.push(handler);
  }

  onAdmin(handler: (frame: AdminFrame) => void): void {
    this.#adminHandlers.push(handler);
  }

  peers(): PeerStatus[] {
    return [...this.#slots.values()].map((slot) => ({
      id: slot.id,
      state: this.#connected(slot.id) ? 'connected' : 'disconnected',
      rttMs: null,
      lastRecvAt: slot.lastRecvAt,
      sent: slot.sent,
      received: slot.received,
      rejected: this.#rejectedOf(slot.id),
    }));
  }

  /** Outbound frames dropped for this peer (all reasons, or one). */
  droppedFrames(peer: MemberId, reason?: DropReason): number {
    return this.#drops.countOf(peer, reason);
  }

  dropCounts(): DropCountEntry[] {
    return this.#drops.snapshot();
  }

  /** Inbound frames rejected from this peer for this reason. */
  rejectedFrames(peer: string, reason: RejectReason): number {
    return this.#rejects.countOf(peer, reason);
  }

  rejectCounts(): RejectCountEntry[] {
    return this.#rejects.snapshot();
  }

  #connected(peer: MemberId): boolean {
    if (!this.#started) return false;
    const remote = this.#network.lookup(peer);
    if (remote === undefined || !remote.#started) return false;
    // A cut is a partition: down both ways, whichever side set it.
    return !(this.#faultState?.isCut(peer) ?? false) && !(remote.#faultState?.isCut(this.self) ?? false);
  }

  #enqueue(to: MemberId, kind: Frame['kind'], payload: unknown): void {
    if (!this.#started) return this.#drop(to, 'stopped');
    const slot = this.#slots.get(to);
    if (slot === undefined) return this.#drop(to, 'unknown-peer', 'not a configured peer');
    if (!this.#connected(to)) return this.#drop(to, 'not-connected');
    let json: string | undefined;
    try {
      json = JSON.stringify(payload);
    } catch (error) {
      return this.#drop(to, 'encode-failed', `not JSON-serialisable: ${(error as Error).message}`);
    }
    if (json === undefined) return this.#drop(to, 'encode-failed', 'no JSON form');
    if (json.length > this.#messageBytesMax) return this.#drop(to, 'encode-failed', `${json.length} characters, limit ${this.#messageBytesMax}`);
    const frame: Frame = { kind, json };
    // Only a transport built with testFaults has a fault state to consult.
    if (this.#faultState !== null) {
      const verdict = this.#faultState.verdict(to);
      if (verdict.action === 'drop') return this.#drop(to, 'fault');
      if (verdict.delayMs > 0) {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#push(slot, frame);
        }, verdict.delayMs);
        this.#timers.add(timer);
        return;
      }
    }
    this.#push(slot, frame);
  }

  #push(slot: Slot, frame: Frame): void {
    if (!this.#connected(slot.id)) return this.#drop(slot.id, 'not-connected');
    this.#drops.record(slot.id, 'queue-full', slot.queue.push(frame, frameClassOf(frame.kind)));
    this.#flushSoon();
  }

  #flushSoon(): void {
    if (this.#flushScheduled !== null) return;
    this.#flushScheduled = setImmediate(() => {
      this.#flushScheduled = null;
      this.#flush();
    });
  }

  #flush(): void {
    for (const slot of this.#slots.values()) {
      if (slot.queue.length === 0) continue;
      const remote = this.#network.lookup(slot.id);
      if (remote === undefined || !this.#connected(slot.id)) {
        this.#drops.record(slot.id, 'not-connected', slot.queue.clear());
        continue;
      }
      for (const frame of slot.queue.take(slot.queue.length)) {
        slot.sent += 1;
        remote.#receive(this.self, frame);
      }
    }
  }

  #receive(from: MemberId, frame: Frame): void {
    const slot = this.#slots.get(from);
    if (slot === undefined) return this.#reject(from, 'unknown-peer', 'not a configured peer');
    const payload: unknown = JSON.parse(frame.json);
    if (frame.kind === 'raft' || frame.kind === 'gossip') {
      const parsed = frame.kind === 'raft' ? parseMessage(payload) : parseSwimMessage(payload);
      if (!parsed.ok) return this.#reject(from, 'invalid-message', parsed.reason);
      this.#accepted(slot);
      const env: Envelope = { from, to: this.self, msg: parsed.msg };
      for (const handler of this.#messageHandlers) this.#call(() => handler(env));
      return;
    }
    if (frame.kind === 'relay') return this.#onRelay(slot, payload as RelayedJson, frame.json);
    this.#accepted(slot);
    const admin: AdminFrame = { from, to: this.self, kind: frame.kind, body: payload };
    for (const handler of this.#adminHandlers) this.#call(() => handler(admin));
  }

  #onRelay(slot: Slot, r: RelayedJson, json: string): void {
    const peer = slot.id;
    if (typeof r !== 'object' || r === null || typeof r.from !== 'string' || typeof r.to !== 'string') {
      return this.#reject(peer, 'bad-relay', 'payload is not { from, to, msg }');
    }
    const author = r.from as MemberId;
    const target = r.to as MemberId;
    if (target === this.self) {
      if (!this.#slots.has(author)) return this.#reject(peer, 'bad-relay', `relayed from ${author}, not a member`);
      const parsed = parseMessage(r.msg);
      if (!parsed.ok) return this.#reject(author, 'invalid-message', parsed.reason);
      this.#accepted(slot);
      const env: Envelope = { from: author, to: this.self, msg: parsed.msg, via: peer };
      for (const handler of this.#messageHandlers) this.#call(() => handler(env));
      return;
    }
    if (author !== peer) return this.#reject(peer, 'bad-relay', `asked to relay a message by ${author}: relays do not chain`);
    if (!this.#slots.has(target)) return this.#reject(peer, 'bad-relay', `relay to ${target}, not a member`);
    this.#accepted(slot);
    if (this.#relayPolicy === null || !this.#relayPolicy(target)) return this.#drop(target, 'relay-refused');
    if (!this.#relayBudget.take(peer, this.#clock())) return this.#drop(peer, 'relay-budget');
    const out = this.#slots.get(target)!;
    if (!this.#connected(target)) return this.#drop(target, 'not-connected');
    this.#push(out, { kind: 'relay', json });
  }

  #accepted(slot: Slot): void {
    slot.received += 1;
    slot.lastRecvAt = this.#clock();
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      // A throwing handler is a bug above us; it must not stop delivery to the others.
      this.#logger.warn({ err: error }, 'transport message handler threw');
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

  #dropQueued(peer: MemberId, reason: DropReason): void {
    const slot = this.#slots.get(peer);
    if (slot !== undefined) this.#drops.record(peer, reason, slot.queue.clear());
  }

  #rejectedOf(peer: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const entry of this.#rejects.snapshot()) if (entry.peer === peer) out[entry.reason] = entry.count;
    return out;
  }
}
