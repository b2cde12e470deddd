// Gossip membership (DESIGN.md §3): SWIM with Lifeguard's refinements, as a
// pure, synchronous state machine like the registry. What it does by paper
// and section, the additions of ours (tips, pull, persistence, aim, pauses,
// route probes, …) with the reason for each, and how claims are signed and
// checked: docs/protocol.md §7.

import type { RandomSource } from '../random.js';
import {
  adjustHealthScore,
  expectedConfirmations,
  healthMultiplier,
  nackTimeoutMs,
  probeHealthDelta,
  reachWindowMs,
  retransmitLimit,
  shuffled,
  smoothedRttMs,
  suspicionBoundsMs,
  suspicionTimeoutMs,
} from './swim-math.js';
import { AssertionError, assert, ms, type MemberId, type Ms } from '../types.js';

// ───────────────────────────── configuration ─────────────────────────────

/** SWIM/Lifeguard timings and knobs. Every field: meaning, unit, defaults (lan / wan / loopback), trade-off. */
export interface SwimTiming {
  /**
   * Protocol period: each member probes one other member per period (SWIM's
   * T′), stretched by the local health multiplier. Unit ms. Default 1000 /
   * 5000 / 500 (the same as the config presets' probeIntervalMs). Shorter
   * finds failures sooner and refreshes relay routes faster, at the cost of
   * constant background traffic (about 2 + 4k messages per member per period
   * at worst).
   */
  readonly probeIntervalMs: number;
  /**
   * Direct probe timeout: how long to wait for the ack of a direct ping
   * before asking helpers (stretched by the health multiplier). Unit ms.
   * Default 500 / 3000 / 200. Must exceed a normal round trip, else healthy
   * links look broken and every probe goes indirect; must leave enough of
   * the period for the indirect round trip (requester → helper → target and
   * back), so it must stay below probeIntervalMs.
   */
  readonly probeTimeoutMs: number;
  /**
   * Indirect probes: helpers asked (ping-req) when a direct probe times out
   * (SWIM's k). Unit: members. Default 3 / 3 / 1. More helpers survive more
   * broken links (DESIGN.md §3.1: a cut link is not a dead member) at the
   * cost of 4 messages per helper per failed direct probe; 0 disables
   * indirect probes (the `no-indirect-probe` mutant's behaviour).
   */
  readonly indirectProbeCount: number;
  /**
   * A helper that got no ack from the target within this percentage of what
   * is left of the requester's period sends a nack (Lifeguard). Unit
   * percent. Default 80 everywhere. Higher gives the target longer to answer
   * the helper; lower leaves more time for the nack to get back (a nack that
   * arrives late counts as missed and raises the requester's health score).
   */
  readonly nackTimeoutPercent: number;
  /**
   * Suspicion timeout, shortest: a suspect is declared dead no sooner than
   * suspicionMultiplier × max(1, log10 n) × probeIntervalMs after it was
   * first suspected here (Lifeguard's α). Unit: probe periods. Default 4 / 6
   * / 3 (the config presets' suspicionMultiplier). Higher gives a slow or
   * partially cut-off member more time to refute; lower detects a real crash
   * sooner. Gossip never moves tickets (the registry's leases do), so the
   * cost of a higher value is only a slower `peers` view.
   */
  readonly suspicionMultiplier: number;
  /**
   * Suspicion timeout, longest: the timeout starts at suspicionMaxMultiplier
   * times the shortest and falls towards it as independent confirmations
   * arrive (Lifeguard's β). Unit: multiple of the shortest. Default 6
   * everywhere. Higher makes a lone (possibly wrong) accuser wait longer;
   * detection of a real crash is unaffected as long as others confirm.
   */
  readonly suspicionMaxMultiplier: number;
  /**
   * Independent confirmations after which the suspicion timeout reaches its
   * shortest (Lifeguard's K), capped at n − 2. Unit: members. Default 3
   * everywhere. Lower shortens detection with few confirmers; higher needs
   * more agreement before the shortest timeout applies.
   */
  readonly suspicionConfirmations: number;
  /**
   * Local health score ceiling (Lifeguard's S): the probe period and timeout
   * are multiplied by score + 1, so by at most healthScoreMax + 1. Unit:
   * score points. Default 8 everywhere. Higher lets a struggling member back
   * off further (fewer false accusations from it) but makes it slower to
   * notice real failures while it struggles.
   */
  readonly healthScoreMax: number;
  /**
   * Retransmissions of each queued update: retransmitMultiplier ×
   * ⌈log2(n + 1)⌉ messages carry it (SWIM's λ; 12 for 4–7 members). Unit:
   * messages. Default 4 everywhere. Higher spreads news more surely under
   * loss (and keeps gossip rounds going longer after each change); lower
   * saves room in messages.
   */
  readonly retransmitMultiplier: number;
  /**
   * Updates and rumors carried by one message, at most (M). Unit: items.
   * Default 16 everywhere. Higher spreads bursts faster and makes bigger
   * frames (a membership update is about 200 bytes of JSON with its
   * signature); piggybackItemsMax × the largest rumor must stay well inside
   * the wire's messageBytesMax.
   */
  readonly piggybackItemsMax: number;
  /**
   * Gossip period: while the queue holds updates, they are pushed to
   * gossipFanout random live members this often, besides riding on probes.
   * Unit ms. Default 200 / 500 / 100 (the config presets' gossipIntervalMs);
   * 0 disables gossip messages (updates then ride on probes only). Shorter
   * spreads news (and refutations) faster at the cost of packets.
   */
  readonly gossipIntervalMs: number;
  /**
   * Gossip fan-out: members each gossip message round goes to. Unit:
   * members. Default 3 / 4 / 3. Higher converges in fewer rounds and
   * tolerates loss better; each extra member costs one message per round.
   */
  readonly gossipFanout: number;
  /**
   * A report "helper C reached X" (a forwarded ack) is used for relaying for
   * reachWindowMultiplier × (n − 1) probe periods. Unit: probe rounds.
   * Default 3 everywhere. Longer keeps a relay route through a gap in
   * reports; shorter drops a stale route sooner.
   */
  readonly reachWindowMultiplier: number;
}

/** Bounds on state fed by remote input (TIGER_STYLE: put a limit on everything). */
export interface SwimLimits {
  /** Entries in the retransmit queue; past it the least urgent entry is dropped. */
  readonly broadcastQueueMax: number;
  /** Distinct (kind, key) rumors remembered; new keys past it are refused. */
  readonly rumorsMax: number;
  /** ping-req requests being served for others at once; more are ignored (the requester sees a missed nack). */
  readonly pendingRelaysMax: number;
  /** Characters in a rumor's key. */
  readonly rumorKeyCharsMax: number;
  /** Updates + rumors read from one incoming message; the rest are ignored and counted. */
  readonly itemsPerMessageMax: number;
}

export const swimLimitsDefault: SwimLimits = {
  broadcastQueueMax: 4096,
  rumorsMax: 32_768,
  pendingRelaysMax: 64,
  rumorKeyCharsMax: 256,
  itemsPerMessageMax: 64,
};

/** The base preset, for members on one LAN or metro network (RTT well under 10 ms). */
const lanTiming: SwimTiming = {
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectProbeCount: 3,
  nackTimeoutPercent: 80,
  suspicionMultiplier: 4,
  suspicionMaxMultiplier: 6,
  suspicionConfirmations: 3,
  healthScoreMax: 8,
  retransmitMultiplier: 4,
  piggybackItemsMax: 16,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  reachWindowMultiplier: 3,
};

/** Sites in different regions: round trips up to a few hundred ms, occasional loss. */
const wanTiming: SwimTiming = {
  ...lanTiming,
  probeIntervalMs: 5_000,
  probeTimeoutMs: 3_000,
  suspicionMultiplier: 6,
  gossipIntervalMs: 500,
  gossipFanout: 4,
};

/** Every member on one host (tests, demos): fast timers, one helper. */
const loopbackTiming: SwimTiming = {
  ...lanTiming,
  probeIntervalMs: 500,
  probeTimeoutMs: 200,
  indirectProbeCount: 1,
  suspicionMultiplier: 3,
  gossipIntervalMs: 100,
};

/** Presets named like src/config/presets.ts; the fields both have carry the same values there. */
export const swimPresets: Readonly<Record<'lan' | 'wan' | 'loopback', SwimTiming>> = {
  lan: lanTiming,
  wan: wanTiming,
  loopback: loopbackTiming,
};

/** Every field and relation that is wrong; empty when the timing can be used. */
export function swimTimingProblems(t: SwimTiming): string[] {
  const out: string[] = [];
  const positive: Array<[string, number]> = [
    ['probeIntervalMs', t.probeIntervalMs],
    ['probeTimeoutMs', t.probeTimeoutMs],
    ['piggybackItemsMax', t.piggybackItemsMax],
    ['retransmitMultiplier', t.retransmitMultiplier],
  ];
  for (const [field, v] of positive) if (!Number.isSafeInteger(v) || v <= 0) out.push(`${field} must be a positive integer (got ${v})`);
  const nonNegative: Array<[string, number]> = [
    ['indirectProbeCount', t.indirectProbeCount],
    ['suspicionConfirmations', t.suspicionConfirmations],
    ['healthScoreMax', t.healthScoreMax],
    ['gossipIntervalMs', t.gossipIntervalMs],
    ['gossipFanout', t.gossipFanout],
  ];
  for (const [field, v] of nonNegative) if (!Number.isSafeInteger(v) || v < 0) out.push(`${field} must be a non-negative integer (got ${v})`);
  if (!(t.suspicionMultiplier >= 1)) out.push(`suspicionMultiplier must be at least 1 (got ${t.suspicionMultiplier})`);
  if (!(t.suspicionMaxMultiplier >= 1)) out.push(`suspicionMaxMultiplier must be at least 1 (got ${t.suspicionMaxMultiplier})`);
  if (!(t.reachWindowMultiplier >= 1)) out.push(`reachWindowMultiplier must be at least 1 (got ${t.reachWindowMultiplier})`);
  if (!(t.nackTimeoutPercent > 0 && t.nackTimeoutPercent < 100)) out.push(`nackTimeoutPercent must be in (0, 100) (got ${t.nackTimeoutPercent})`);
  if (t.probeTimeoutMs >= t.probeIntervalMs) {
    out.push(`probeTimeoutMs (${t.probeTimeoutMs}) must be less than probeIntervalMs (${t.probeIntervalMs}) to leave room for indirect probes`);
  }
  if ((t.gossipIntervalMs > 0) !== (t.gossipFanout > 0)) out.push('gossipIntervalMs and gossipFanout must both be 0 (no gossip messages) or both positive');
  return out;
}

function swimLimitsProblems(l: SwimLimits, t: SwimTiming): string[] {
  const out: string[] = [];
  for (const [field, v] of Object.entries(l)) if (!Number.isSafeInteger(v) || v <= 0) out.push(`limits.${field} must be a positive integer (got ${v})`);
  if (l.broadcastQueueMax < t.piggybackItemsMax) out.push('limits.broadcastQueueMax must be at least piggybackItemsMax');
  if (l.itemsPerMessageMax < t.piggybackItemsMax + 1) out.push('limits.itemsPerMessageMax must exceed piggybackItemsMax (a buddy claim rides on top)');
  return out;
}

// ───────────────────────────── claims and messages ─────────────────────────────

export type SwimState = 'alive' | 'suspect' | 'dead';

const swimStates: readonly SwimState[] = ['alive', 'suspect', 'dead'];

/** A claim about one member's liveness, as signed. */
export interface MemberClaim {
  /** The member the claim is about. */
  readonly member: MemberId;
  /** The member's incarnation the claim refers to. */
  readonly incarnation: number;
  readonly state: SwimState;
  /** Who makes the claim and signs it: `member` itself for alive, another member for suspect and dead. */
  readonly origin: MemberId;
}

/** A membership update on the wire: a claim with its originator's signature (opaque to the core). */
export interface MemberUpdate extends MemberClaim {
  readonly sig: string;
}

/** A versioned payload other modules disseminate (ticket state, site health), as signed. */
export interface RumorClaim {
  /** Registered kind, e.g. 'ticket' or 'site-health'; the wire schema validates `payload` per kind. */
  readonly kind: string;
  /** What the rumor is about within its kind (a ticket name, a site id). */
  readonly key: string;
  /** Grows with every new value for (kind, key); a receiver keeps the highest. */
  readonly version: number;
  readonly origin: MemberId;
  /** JSON-serialisable; the core never looks inside. */
  readonly payload: unknown;
}

export interface Rumor extends RumorClaim {
  readonly sig: string;
}

/** What the authenticator signs: a membership claim or a rumor, tagged. */
export type Claim = ({ readonly about: 'member' } & MemberClaim) | ({ readonly about: 'rumor' } & RumorClaim);

/**
 * The signing port, filled by the host with the wire layer's Ed25519 keys.
 * Both calls are synchronous and deterministic (Ed25519 is).
 * The implementation signs a canonical encoding of the claim under its own
 * domain-separation context (not the envelope's), and verify() must check the
 * signature against `claim.origin`'s public key from the formation config —
 * and may enforce more per rumor kind (e.g. ticket state only from a voter).
 */
export interface ClaimAuthenticator {
  /** Signs a claim this member originates (`claim.origin` is this member). */
  sign(claim: Claim): string;
  /** True iff `sig` is `claim.origin`'s valid signature of `claim`. */
  verify(claim: Claim, sig: string): boolean;
}

/** Updates and rumors carried by every SWIM message. */
export interface Piggyback {
  readonly updates: readonly MemberUpdate[];
  readonly rumors: readonly Rumor[];
}

/** Direct probe; the receiver answers `ack` with the same seq. */
export interface PingMessage extends Piggyback {
  readonly type: 'ping';
  readonly seq: number;
}
/** Answer to a ping; a helper forwards the target's ack to the requester under the requester's seq. */
export interface AckMessage extends Piggyback {
  readonly type: 'ack';
  readonly seq: number;
}
/** Indirect probe request: ping `target` for me; ack under `seq` if it answers, nack after `timeoutMs` if not. */
export interface PingReqMessage extends Piggyback {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly target: MemberId;
  readonly timeoutMs: number;
}
/** A helper's "I asked, the target did not answer in time" (Lifeguard): proves the requester's links work. */
export interface NackMessage extends Piggyback {
  readonly type: 'nack';
  readonly seq: number;
}
/** Dissemination only: queued updates pushed to a few random members, and direct tips. */
export interface GossipMessage extends Piggyback {
  readonly type: 'gossip';
}

export type SwimMessage = PingMessage | AckMessage | PingReqMessage | NackMessage | GossipMessage;
export type SwimMessageType = SwimMessage['type'];
export const swimMessageTypes: readonly SwimMessageType[] = ['ping', 'ack', 'ping-req', 'nack', 'gossip'];

export interface SwimEnvelope {
  readonly from: MemberId;
  readonly to: MemberId;
  readonly msg: SwimMessage;
}

/** Why an incoming message or item was refused. Stable strings: they go to logs and counters. */
export type SwimRejectReason =
  | 'unknown-sender'
  | 'unknown-member'
  | 'unknown-origin'
  | 'wrong-origin'
  | 'bad-field'
  | 'bad-signature'
  | 'unknown-kind'
  | 'rumors-full'
  | 'relays-full'
  | 'too-many-items';

export type SwimEvent =
  | {
      readonly type: 'member-state';
      readonly member: MemberId;
      readonly previous: SwimState;
      readonly state: SwimState;
      readonly incarnation: number;
      /** Who made the claim that changed our view (this member for its own suspicions and deaths). */
      readonly origin: MemberId;
    }
  /** This member was suspected (or declared dead) at `accusedIncarnation` by `origin` and refuted. */
  | { readonly type: 'refuted'; readonly incarnation: number; readonly accusedIncarnation: number; readonly origin: MemberId }
  /** A rumor newer than any this member had, from another member: the host applies it. */
  | { readonly type: 'rumor'; readonly rumor: Rumor; readonly from: MemberId }
  | { readonly type: 'rejected'; readonly from: MemberId; readonly item: 'message' | 'update' | 'rumor'; readonly reason: SwimRejectReason }
  /** A gap between inputs long enough to mean this process was stopped (onStall; docs/protocol.md §7, pauses). */
  | { readonly type: 'stalled'; readonly gapMs: number };

export interface SwimReady {
  readonly messages: readonly SwimEnvelope[];
  readonly events: readonly SwimEvent[];
}

/** How to reach a member: directly, or through one that reaches it (relay, DESIGN.md §3.2). */
export type Route = { readonly direct: true } | { readonly via: MemberId };

export interface PeerView {
  readonly id: MemberId;
  readonly state: SwimState;
  readonly incarnation: number;
  /** Smoothed round trip of direct pings (ours, and ours on others' behalf); null before the first. */
  readonly rttMs: number | null;
  /** routeTo(id). */
  readonly route: Route | null;
  /**
   * The direct link as last seen: 'failed' when our latest direct ping got no
   * ack in time, 'ok' after an ack (or an answer to our ping-req, which
   * needs both directions), 'untested' before either.
   */
  readonly directProbe: 'untested' | 'ok' | 'failed';
  /** Members whose suspicion of this one we have seen (suspect only). */
  readonly suspectedBy: readonly MemberId[];
  /** When the current suspicion runs out here (suspect only). */
  readonly suspicionEndsAt: Ms | null;
}

export interface SwimView {
  readonly self: MemberId;
  readonly incarnation: number;
  /** Lifeguard health score, 0 (healthy) … healthScoreMax. */
  readonly healthScore: number;
  /** Factor on the probe period and timeout: healthScore + 1. */
  readonly healthMultiplier: number;
  readonly probeIntervalMs: number;
  readonly probeTimeoutMs: number;
  readonly queueLength: number;
  readonly peers: readonly PeerView[];
}

/** Priority of membership updates in the queue; rumor kinds choose theirs relative to it. */
export const memberUpdatePriority = 100;

export interface RumorKind {
  /** Queue priority of this kind's rumors: higher goes first (membership updates: memberUpdatePriority). */
  readonly priority: number;
}

export interface SwimOptions {
  readonly self: MemberId;
  /** Every member of the formation, this one included. */
  readonly members: readonly MemberId[];
  readonly timing: SwimTiming;
  readonly limits?: SwimLimits;
  readonly now: Ms;
  /**
   * Incarnation to start with. It should exceed every incarnation an earlier
   * run of this member used (e.g. derived from a persisted epoch, like the
   * renewal seq): otherwise a replayed `alive` claim from an earlier run
   * could outrank a current suspicion until this member refutes it. Default 0.
   */
  readonly incarnation?: number;
  /** False: never send ping-req (the `no-indirect-probe` mutant). Default true. */
  readonly indirectProbes?: boolean;
  /** Rumor kinds this member accepts and disseminates; others are refused. */
  readonly rumorKinds?: Readonly<Record<string, RumorKind>>;
}

export interface SwimDependencies {
  readonly random: RandomSource;
  readonly auth: ClaimAuthenticator;
}

// ───────────────────────────── retransmit queue ─────────────────────────────

/** One entry of the retransmit queue: a membership update or a rumor. */
export type QueueItem = { readonly t: 'update'; readonly update: MemberUpdate } | { readonly t: 'rumor'; readonly rumor: Rumor };

interface QueueEntry {
  readonly key: string;
  readonly item: QueueItem;
  readonly priority: number;
  readonly limit: number;
  /** Insertion order: newer entries go first among equals. */
  readonly order: number;
  transmits: number;
}

/**
 * SWIM's bounded retransmit queue (memberlist's TransmitLimitedQueue in
 * spirit): one entry per key (a newer update about the same member or rumor
 * key replaces the older one), each sent in at most `limit` messages, chosen
 * by priority, then fewest transmissions, then most recent. Full: the entry
 * that would be chosen last is dropped.
 */
export class BroadcastQueue {
  private readonly entries = new Map<string, QueueEntry>();
  private order = 0;

  constructor(private readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, 'queue capacity must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  push(key: string, item: QueueItem, priority: number, limit: number): void {
    this.entries.delete(key);
    this.entries.set(key, { key, item, priority, limit, order: this.order++, transmits: 0 });
    if (this.entries.size > this.capacity) {
      let worst: QueueEntry | null = null;
      for (const e of this.entries.values()) if (worst === null || before(worst, e)) worst = e;
      if (worst !== null) this.entries.delete(worst.key);
    }
  }

  /**
   * Takes up to `count` items for one message, counting a transmission for
   * each; items for which `skip` is true are left alone and not counted.
   */
  take(count: number, skip: (key: string, item: QueueItem) => boolean): QueueItem[] {
    const chosen: QueueEntry[] = [];
    for (const e of this.entries.values()) {
      if (skip(e.key, e.item)) continue;
      // Insertion into a sorted list of at most `count` (M is small).
      let i = chosen.length;
      while (i > 0 && before(e, chosen[i - 1]!)) i--;
      if (i < count) {
        chosen.splice(i, 0, e);
        if (chosen.length > count) chosen.pop();
      }
    }
    for (const e of chosen) {
      e.transmits += 1;
      if (e.transmits >= e.limit) this.entries.delete(e.key);
    }
    return chosen.map((e) => e.item);
  }
}

/** True when `a` goes out before `b`. */
function before(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.transmits !== b.transmits) return a.transmits < b.transmits;
  return a.order > b.order;
}

// ───────────────────────────── the state machine ─────────────────────────────

interface Suspicion {
  readonly incarnation: number;
  startAt: number;
  /** Distinct accusers seen: the first, then the confirmations. */
  readonly origins: Set<MemberId>;
  deadlineAt: number;
}

interface Peer {
  readonly id: MemberId;
  state: SwimState;
  incarnation: number;
  /** The signed claim that set the state; null for the bootstrap state (alive at 0, from config). */
  claim: MemberUpdate | null;
  suspicion: Suspicion | null;
  rttMs: number | null;
  direct: 'untested' | 'ok' | 'failed';
  /** Helper → when it last forwarded this member's ack to us. */
  readonly via: Map<MemberId, number>;
}

interface Probe {
  readonly seq: number;
  readonly target: MemberId;
  readonly startAt: number;
  readonly timeoutAt: number;
  readonly endAt: number;
  helpers: MemberId[];
  readonly nacks: Set<MemberId>;
  /** Helpers that forwarded the target's ack. */
  readonly reached: Set<MemberId>;
  directAcked: boolean;
  indirectAcked: boolean;
  indirectStarted: boolean;
}

/** A route probe (probeRoute): a direct ping, then ping-reqs through every other member; learns routes only. */
interface RouteProbe {
  readonly seq: number;
  readonly target: MemberId;
  readonly timeoutAt: number;
  readonly endAt: number;
  helpers: MemberId[];
  /** Helpers that forwarded the target's ack. */
  readonly reached: Set<MemberId>;
  directAcked: boolean;
  indirectStarted: boolean;
}

interface Relay {
  readonly requester: MemberId;
  readonly requesterSeq: number;
  readonly target: MemberId;
  readonly sentAt: number;
  readonly nackAt: number;
}

export class SwimNode {
  readonly self: MemberId;
  private readonly timing: SwimTiming;
  private readonly limits: SwimLimits;
  private readonly random: RandomSource;
  private readonly auth: ClaimAuthenticator;
  private readonly indirectProbes: boolean;
  private readonly rumorKinds: ReadonlyMap<string, RumorKind>;

  private now: number;
  private incarnationNow: number;
  private selfClaim: MemberUpdate;
  private healthScore = 0;

  private readonly peers = new Map<MemberId, Peer>();
  private rotation: MemberId[] = [];
  private rotationPos = 0;
  private seq = 0;
  private probe: Probe | null = null;
  private nextProbeAt: number;
  private readonly relays = new Map<number, Relay>();
  /** Route probes in flight, by seq (at most one per peer), and when each peer's last one started. */
  private readonly routeProbes = new Map<number, RouteProbe>();
  private readonly routeProbeAt = new Map<MemberId, number>();
  private readonly queue: BroadcastQueue;
  private readonly rumors = new Map<string, Rumor>();
  private nextGossipAt: number;
  private nextSuspicionRefreshAt: number;

  private outMessages: SwimEnvelope[] = [];
  private outEvents: SwimEvent[] = [];

  constructor(options: SwimOptions, deps: SwimDependencies) {
    const limits = options.limits ?? swimLimitsDefault;
    const problems = [...swimTimingProblems(options.timing), ...swimLimitsProblems(limits, options.timing)];
    if (problems.length > 0) throw new AssertionError(`invalid SWIM config: ${problems.join('; ')}`);
    assert(options.members.includes(options.self), `self ${options.self} is not among the members`);
    assert(new Set(options.members).size === options.members.length, 'members listed twice');
    const incarnation = options.incarnation ?? 0;
    assert(Number.isSafeInteger(incarnation) && incarnation >= 0, 'incarnation must be a non-negative integer');
    this.self = options.self;
    this.timing = options.timing;
    this.limits = limits;
    this.random = deps.random;
    this.auth = deps.auth;
    this.indirectProbes = options.indirectProbes ?? true;
    this.rumorKinds = new Map(Object.entries(options.rumorKinds ?? {}));
    this.now = options.now;
    this.queue = new BroadcastQueue(limits.broadcastQueueMax);
    for (const id of options.members) if (id !== this.self) this.peers.set(id, newPeer(id));
    this.incarnationNow = incarnation;
    // Announce ourselves: after a restart with a higher incarnation this
    // revives us at once wherever we were thought dead.
    this.selfClaim = this.signUpdate({ member: this.self, incarnation, state: 'alive', origin: this.self });
    this.enqueueUpdate(this.selfClaim);
    // Start the first period after a random fraction of one, so that members
    // started together do not probe in lock step.
    this.nextProbeAt = this.now + Math.floor(this.random.next() * this.timing.probeIntervalMs);
    this.nextGossipAt = this.now;
    this.nextSuspicionRefreshAt = this.now + this.timing.probeIntervalMs;
  }

  // ───────────────────────────── inputs ─────────────────────────────

  tick(now: Ms): void {
    this.advanceTime(now);
    this.finishInput();
  }

  /** A message from `from` (the wire layer has checked the envelope's signature and that it was addressed to us). */
  onMessage(from: MemberId, msg: SwimMessage, now: Ms): void {
    this.advanceTime(now);
    if (from === this.self || !this.peers.has(from)) {
      this.reject(from, 'message', 'unknown-sender');
      this.finishInput();
      return;
    }
    if (!swimMessageTypes.includes(msg.type) || (msg.type !== 'gossip' && !isCount(msg.seq))) {
      this.reject(from, 'message', 'bad-field');
      this.finishInput();
      return;
    }
    this.absorb(from, msg);
    switch (msg.type) {
      case 'ping':
        this.send(from, { type: 'ack', seq: msg.seq, ...this.piggybackFor(from) });
        break;
      case 'ack':
        this.onAck(from, msg.seq);
        break;
      case 'ping-req':
        this.onPingReq(from, msg);
        break;
      case 'nack': {
        if (this.probe !== null && this.probe.seq === msg.seq && this.probe.helpers.includes(from)) {
          this.probe.nacks.add(from);
          this.helperAnswered(from);
        }
        const rp = this.routeProbes.get(msg.seq);
        if (rp !== undefined && rp.helpers.includes(from)) this.helperAnswered(from);
        break;
      }
      case 'gossip':
        break;
    }
    this.finishInput();
  }

  /**
   * Disseminates a rumor of a registered kind: (kind, key) at `version`, with
   * `payload` (JSON-serialisable), signed by this member. A version above the
   * known one replaces it; the same version re-queues the known rumor (the
   * host's anti-entropy republish: members that have it ignore it, members
   * that missed it take it); a lower one is refused. Returns whether queued.
   * Takes effect with the next input (tick or message). Versions must keep
   * growing across restarts — derive them from replicated state (commit
   * index, generation) or a persisted counter — or a member that restarted
   * would see its new values refused in favour of its old ones.
   */
  piggyback(kind: string, key: string, version: number, payload: unknown, priority?: number): boolean {
    const k = this.rumorKinds.get(kind);
    assert(k !== undefined, `rumor kind ${kind} is not registered`);
    assert(Number.isSafeInteger(version) && version >= 0, 'rumor version must be a non-negative integer');
    assert(key.length <= this.limits.rumorKeyCharsMax, 'rumor key too long');
    const rk = rumorKey(kind, key);
    const known = this.rumors.get(rk);
    if (known !== undefined && version < known.version) return false;
    let rumor = known;
    if (known === undefined || version > known.version) {
      if (known === undefined && this.rumors.size >= this.limits.rumorsMax) return false;
      const claim: RumorClaim = { kind, key, version, origin: this.self, payload };
      rumor = { ...claim, sig: this.auth.sign({ about: 'rumor', ...claim }) };
      this.rumors.set(rk, rumor);
    }
    this.queue.push(`r:${rk}`, { t: 'rumor', rumor: rumor! }, priority ?? k.priority, this.retransmits());
    return true;
  }

  /** Follows a membership change committed by the registry: new members start alive at incarnation 0. */
  setMembers(members: readonly MemberId[], now: Ms): void {
    this.advanceTime(now);
    const next = new Set(members);
    for (const id of [...this.peers.keys()]) {
      if (!next.has(id)) {
        this.peers.delete(id);
        for (const p of this.peers.values()) p.via.delete(id);
      }
    }
    for (const id of next) if (id !== this.self && !this.peers.has(id)) this.peers.set(id, newPeer(id));
    for (const id of [...this.routeProbeAt.keys()]) if (!next.has(id)) this.routeProbeAt.delete(id);
    this.rotation = [];
    this.rotationPos = 0;
    this.finishInput();
  }

  /**
   * The host's messages to `member` go unanswered: find out now whether the
   * direct link works and who reaches the member (route probes,
   * docs/protocol.md §7). At most one per member per probe interval; a member already being
   * probed is left to that probe. Returns whether a probe started.
   */
  probeRoute(member: MemberId, now: Ms): boolean {
    this.advanceTime(now);
    const started = this.startRouteProbe(member);
    this.finishInput();
    return started;
  }

  // ───────────────────────────── outputs ─────────────────────────────

  hasReady(): boolean {
    return this.outMessages.length > 0 || this.outEvents.length > 0;
  }

  ready(): SwimReady {
    const r: SwimReady = { messages: this.outMessages, events: this.outEvents };
    this.outMessages = [];
    this.outEvents = [];
    return r;
  }

  /** The earliest time at which tick() has work to do. */
  nextDeadline(): Ms {
    let next = this.nextProbeAt;
    const p = this.probe;
    if (p !== null && !p.indirectStarted && !p.directAcked && !p.indirectAcked) next = Math.min(next, p.timeoutAt);
    for (const r of this.relays.values()) next = Math.min(next, r.nackAt);
    for (const rp of this.routeProbes.values()) next = Math.min(next, rp.indirectStarted ? rp.endAt : rp.timeoutAt);
    for (const peer of this.peers.values()) if (peer.suspicion !== null) next = Math.min(next, peer.suspicion.deadlineAt);
    if (this.gossipEnabled() && this.queue.size > 0) next = Math.min(next, this.nextGossipAt);
    for (const peer of this.peers.values()) if (peer.suspicion !== null) next = Math.min(next, this.nextSuspicionRefreshAt);
    return ms(Math.max(next, this.now));
  }

  // ───────────────────────────── queries ─────────────────────────────

  get incarnation(): number {
    return this.incarnationNow;
  }

  /** How to send to `member` now: directly, through a member that recently reached it, or no known path. */
  routeTo(member: MemberId): Route | null {
    if (member === this.self) return { direct: true };
    const peer = this.peers.get(member);
    if (peer === undefined) return null;
    // The latest direct probe decides; before the first there is no evidence
    // against the direct path, which stays the default.
    if (peer.direct !== 'failed') return { direct: true };
    // Helpers that reached it for us within the reach window, the most recent
    // first, preferring one our own latest probe reached directly. A helper
    // whose last probe failed is ranked lower, not excluded: under loss one
    // lost probe marks a working link 'failed' until the next probe of it,
    // which Lifeguard's health multiplier can stretch to many seconds. A
    // report older than the window is not used: the helper may have lost its
    // way since (in the simulator's five-member-ring scenario, reports from
    // before the cut kept routes through members that no longer reached the
    // target). With no usable report the route is null and the registry
    // tries through every member not known dead (Member.send).
    const freshFrom = this.now - this.reachWindow();
    let best: { via: MemberId; at: number; ok: boolean } | null = null;
    for (const [helper, at] of peer.via) {
      if (at < freshFrom) continue;
      const h = this.peers.get(helper);
      if (h === undefined || h.state === 'dead') continue;
      const ok = h.direct !== 'failed';
      if (best === null || (ok && !best.ok) || (ok === best.ok && (at > best.at || (at === best.at && helper < best.via)))) best = { via: helper, at, ok };
    }
    return best === null ? null : { via: best.via };
  }

  /** Members that could pass a message on to `member`: every other one not known dead, in id order. */
  relayCandidates(member: MemberId): MemberId[] {
    const out: MemberId[] = [];
    for (const p of this.peers.values()) if (p.id !== member && p.state !== 'dead') out.push(p.id);
    return out.sort();
  }

  stateOf(member: MemberId): SwimState | undefined {
    if (member === this.self) return 'alive';
    return this.peers.get(member)?.state;
  }

  /** The newest rumor known for (kind, key), ours or received. */
  rumor(kind: string, key: string): Rumor | undefined {
    return this.rumors.get(rumorKey(kind, key));
  }

  view(): SwimView {
    const scale = healthMultiplier(this.healthScore);
    const peers: PeerView[] = [];
    for (const p of [...this.peers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      peers.push({
        id: p.id,
        state: p.state,
        incarnation: p.incarnation,
        rttMs: p.rttMs,
        route: this.routeTo(p.id),
        directProbe: p.direct,
        suspectedBy: p.suspicion === null ? [] : [...p.suspicion.origins],
        suspicionEndsAt: p.suspicion === null ? null : ms(p.suspicion.deadlineAt),
      });
    }
    return {
      self: this.self,
      incarnation: this.incarnationNow,
      healthScore: this.healthScore,
      healthMultiplier: scale,
      probeIntervalMs: this.timing.probeIntervalMs * scale,
      probeTimeoutMs: this.timing.probeTimeoutMs * scale,
      queueLength: this.queue.size,
      peers,
    };
  }

  // ───────────────────────────── time ─────────────────────────────

  private advanceTime(now: Ms): void {
    assert(Number.isFinite(now), 'now must be finite');
    assert(now >= this.now, `monotonic time went backwards: ${now} < ${this.now}`);
    const gap = now - this.now;
    if (gap > 2 * this.periodMs()) this.onStall(gap);
    this.now = now;
    const p = this.probe;
    if (p !== null && !p.indirectStarted && this.now >= p.timeoutAt) this.startIndirect(p);
    if (this.now >= this.nextProbeAt) {
      if (this.probe !== null) this.judge(this.probe);
      this.startProbe();
    }
    for (const [seq, r] of this.relays) {
      if (this.now < r.nackAt) continue;
      this.relays.delete(seq);
      this.send(r.requester, { type: 'nack', seq: r.requesterSeq, ...this.piggybackFor(r.requester) });
    }
    for (const [seq, rp] of this.routeProbes) {
      if (!rp.indirectStarted && this.now >= rp.timeoutAt) this.startRouteIndirect(rp);
      if (this.now < rp.endAt) continue;
      this.routeProbes.delete(seq);
      this.forgetUnconfirmedRoutes(rp.target, rp.helpers, rp.reached);
    }
    this.expireSuspicions();
    if (this.now >= this.nextSuspicionRefreshAt) this.refreshSuspicions();
  }

  /**
   * Ours: once per (base) probe interval, every suspicion still held is sent
   * straight to the suspect (the buddy system on a timer, not only on our
   * own probes of it) and goes back in the queue, so an accusation keeps
   * travelling until it is refuted or runs out. Pushed once, its λ·log n
   * copies can all be lost, and then the suspect never hears of it while
   * the timers run (seen in the lossy test network: about one suspicion in a
   * thousand at 20 % loss, more where the suspect has one working inbound
   * link). Kept alive, it reaches the suspect, or a member that knows the
   * refutation and sends it back (receiveUpdate's stale-accusation answer).
   * Cost: one message per held suspicion per interval, plus queue room.
   */
  private refreshSuspicions(): void {
    this.nextSuspicionRefreshAt = this.now + this.timing.probeIntervalMs;
    for (const p of this.peers.values()) {
      if (p.suspicion === null || p.claim === null) continue;
      this.tip(p.id, p.claim);
      if (!this.queue.has(`m:${p.id}`)) this.enqueueUpdate(p.claim);
    }
  }

  private finishInput(): void {
    if (!this.gossipEnabled() || this.queue.size === 0 || this.now < this.nextGossipAt) return;
    // Gossip goes first to live members we reach directly (a transmission
    // down a link our last probe found broken is likely one of only λ·log n
    // wasted), then, to fill the fan-out, to the others: links heal, and
    // when the only members we reach are as cut off as we are, the rest are
    // the way out.
    const live = [...this.peers.values()].filter((p) => p.state !== 'dead');
    const targets = [
      ...shuffled(live.filter((p) => p.direct !== 'failed'), this.random),
      ...shuffled(live.filter((p) => p.direct === 'failed'), this.random),
    ].slice(0, this.timing.gossipFanout);
    for (const { id: to } of targets) {
      const pb = this.piggybackFor(to);
      if (pb.updates.length + pb.rumors.length > 0) this.send(to, { type: 'gossip', ...pb });
    }
    this.nextGossipAt = this.now + this.timing.gossipIntervalMs;
  }

  /**
   * No input for more than two periods: this process was not running (the
   * host calls us at least once per period). A probe judged now would blame
   * its target for our pause, and suspicion timers would fire before the
   * refutations waiting in our socket are read. So the probe is dropped and
   * the pause does not count against suspicions. A pause is also a sign of
   * local trouble, so it costs a health point.
   */
  private onStall(gapMs: number): void {
    this.probe = null;
    this.nextProbeAt = Math.max(this.nextProbeAt, this.now);
    for (const p of this.peers.values()) {
      if (p.suspicion === null) continue;
      p.suspicion.startAt += gapMs;
      p.suspicion.deadlineAt += gapMs;
    }
    this.healthScore = adjustHealthScore(this.healthScore, 1, this.timing.healthScoreMax);
    this.outEvents.push({ type: 'stalled', gapMs });
  }

  private periodMs(): number {
    return this.timing.probeIntervalMs * healthMultiplier(this.healthScore);
  }

  private memberCount(): number {
    return this.peers.size + 1;
  }

  private reachWindow(): number {
    return reachWindowMs(this.timing.probeIntervalMs, this.memberCount(), this.timing.reachWindowMultiplier, this.healthScore);
  }

  private retransmits(): number {
    return retransmitLimit(this.timing.retransmitMultiplier, this.memberCount());
  }

  private gossipEnabled(): boolean {
    return this.timing.gossipIntervalMs > 0 && this.timing.gossipFanout > 0;
  }

  // ───────────────────────────── probing ─────────────────────────────

  private nextTarget(): MemberId | null {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.rotationPos < this.rotation.length) {
        const id = this.rotation[this.rotationPos++]!;
        if (this.peers.has(id)) return id;
      }
      // A new round: every other member once, in a fresh random order (SWIM
      // §4.3: round-robin over a shuffled list bounds the time to first probe).
      this.rotation = shuffled([...this.peers.keys()], this.random);
      this.rotationPos = 0;
    }
    return null;
  }

  private startProbe(): void {
    const period = this.periodMs();
    this.nextProbeAt = this.now + period;
    const target = this.nextTarget();
    if (target === null) {
      this.probe = null;
      return;
    }
    const seq = ++this.seq;
    this.probe = {
      seq,
      target,
      startAt: this.now,
      timeoutAt: this.now + this.timing.probeTimeoutMs * healthMultiplier(this.healthScore),
      endAt: this.now + period,
      helpers: [],
      nacks: new Set(),
      reached: new Set(),
      directAcked: false,
      indirectAcked: false,
      indirectStarted: false,
    };
    this.send(target, { type: 'ping', seq, ...this.piggybackFor(target) });
  }

  private startIndirect(p: Probe): void {
    p.indirectStarted = true;
    if (p.directAcked || p.indirectAcked || !this.indirectProbes || this.timing.indirectProbeCount === 0) return;
    const alive = [...this.peers.values()].filter((x) => x.id !== p.target && x.state === 'alive');
    // Helpers in order of promise: members that recently reached the target
    // for us (a partial partition persists), then members we reach directly,
    // then the rest (a helper behind a link our last probe found broken
    // rarely gets the request); at random within each group.
    const fresh = this.now - this.reachWindow();
    const target = this.peers.get(p.target);
    const reported = (id: MemberId): boolean => (target?.via.get(id) ?? Number.NEGATIVE_INFINITY) >= fresh;
    const ranked = [
      ...shuffled(alive.filter((x) => x.direct !== 'failed' && reported(x.id)), this.random),
      ...shuffled(alive.filter((x) => x.direct !== 'failed' && !reported(x.id)), this.random),
      ...shuffled(alive.filter((x) => x.direct === 'failed'), this.random),
    ];
    p.helpers = ranked.slice(0, this.timing.indirectProbeCount).map((x) => x.id);
    const timeoutMs = nackTimeoutMs(p.endAt - this.now, this.timing.nackTimeoutPercent);
    for (const h of p.helpers) {
      // Our accusation of the target rides along: a helper that has seen the
      // target refute answers with the refutation (see receiveUpdate).
      this.send(h, { type: 'ping-req', seq: p.seq, target: p.target, timeoutMs, ...this.piggybackFor(h, p.target) });
    }
  }

  private startRouteProbe(member: MemberId): boolean {
    const peer = this.peers.get(member);
    if (peer === undefined) return false;
    if (this.probe !== null && this.probe.target === member && !this.probe.indirectStarted) return false;
    const last = this.routeProbeAt.get(member);
    if (last !== undefined && this.now - last < this.timing.probeIntervalMs) return false;
    for (const rp of this.routeProbes.values()) if (rp.target === member) return false;
    this.routeProbeAt.set(member, this.now);
    const seq = ++this.seq;
    // Not stretched by the health multiplier: the question is about one link, now.
    this.routeProbes.set(seq, {
      seq,
      target: member,
      timeoutAt: this.now + this.timing.probeTimeoutMs,
      endAt: this.now + this.timing.probeIntervalMs,
      helpers: [],
      reached: new Set(),
      directAcked: false,
      indirectStarted: false,
    });
    this.send(member, { type: 'ping', seq, ...this.piggybackFor(member) });
    return true;
  }

  private startRouteIndirect(rp: RouteProbe): void {
    rp.indirectStarted = true;
    const target = this.peers.get(rp.target);
    if (rp.directAcked || target === undefined) return;
    target.direct = 'failed';
    if (!this.indirectProbes) return;
    // Every other member that is not known dead, whatever our last probe of it
    // said: a wrong 'failed' must not hide the one member that still reaches it.
    rp.helpers = [...this.peers.values()].filter((x) => x.id !== rp.target && x.state !== 'dead').map((x) => x.id);
    const timeoutMs = nackTimeoutMs(rp.endAt - this.now, this.timing.nackTimeoutPercent);
    for (const h of rp.helpers) this.send(h, { type: 'ping-req', seq: rp.seq, target: rp.target, timeoutMs, ...this.piggybackFor(h, rp.target) });
  }

  /**
   * Helpers we asked to reach `target` that did not forward its ack within
   * the period: their earlier reports that they reach it no longer count (the
   * reach window alone kept routes through members cut off since, for over a
   * minute in the simulator's five-member-ring scenario). One lost message can
   * drop a good route; the next successful probe through it restores it, and
   * meanwhile the registry tries through every member (Member.send).
   */
  private forgetUnconfirmedRoutes(target: MemberId, helpers: readonly MemberId[], reached: ReadonlySet<MemberId>): void {
    const peer = this.peers.get(target);
    if (peer === undefined) return;
    for (const h of helpers) if (!reached.has(h)) peer.via.delete(h);
  }

  /** A helper answered one of our ping-reqs: the link to it works both ways. */
  private helperAnswered(helper: MemberId): void {
    const h = this.peers.get(helper);
    if (h !== undefined) h.direct = 'ok';
  }

  private judge(p: Probe): void {
    this.probe = null;
    const peer = this.peers.get(p.target);
    if (peer === undefined) return; // removed from the formation meanwhile
    this.forgetUnconfirmedRoutes(p.target, p.helpers, p.reached);
    if (!p.directAcked) peer.direct = 'failed';
    const acked = p.directAcked || p.indirectAcked;
    const delta = probeHealthDelta({ acked, helpers: p.helpers.length, nacks: p.nacks.size, targetDead: peer.state === 'dead' });
    this.healthScore = adjustHealthScore(this.healthScore, delta, this.timing.healthScoreMax);
    if (acked || peer.state === 'dead') return;
    // SWIM §4.2: no ack by the end of the period — suspect it (or, if others
    // already do at this incarnation, confirm their suspicion).
    if (peer.state === 'suspect' && peer.suspicion?.origins.has(this.self) === true) return;
    this.originate({ member: peer.id, incarnation: peer.incarnation, state: 'suspect', origin: this.self });
  }

  private onAck(from: MemberId, seq: number): void {
    const p = this.probe;
    if (p !== null && p.seq === seq) {
      const peer = this.peers.get(p.target);
      if (peer === undefined) return;
      if (from === p.target) {
        p.directAcked = true;
        peer.direct = 'ok';
        peer.rttMs = smoothedRttMs(peer.rttMs, this.now - p.startAt);
      } else if (p.helpers.includes(from)) {
        p.indirectAcked = true;
        p.reached.add(from);
        peer.via.set(from, this.now);
        this.helperAnswered(from);
      }
      return;
    }
    const rp = this.routeProbes.get(seq);
    if (rp !== undefined) {
      const peer = this.peers.get(rp.target);
      if (peer === undefined) return;
      if (from === rp.target) {
        rp.directAcked = true;
        peer.direct = 'ok';
        peer.rttMs = smoothedRttMs(peer.rttMs, this.now - (rp.timeoutAt - this.timing.probeTimeoutMs));
      } else if (rp.helpers.includes(from)) {
        rp.reached.add(from);
        peer.via.set(from, this.now);
        this.helperAnswered(from);
      }
      return;
    }
    const r = this.relays.get(seq);
    if (r !== undefined && from === r.target) {
      this.relays.delete(seq);
      const peer = this.peers.get(r.target);
      if (peer !== undefined) {
        peer.direct = 'ok';
        peer.rttMs = smoothedRttMs(peer.rttMs, this.now - r.sentAt);
      }
      this.send(r.requester, { type: 'ack', seq: r.requesterSeq, ...this.piggybackFor(r.requester) });
    }
  }

  private onPingReq(from: MemberId, msg: PingReqMessage): void {
    if (!Number.isFinite(msg.timeoutMs) || msg.timeoutMs <= 0) return this.reject(from, 'message', 'bad-field');
    if (msg.target === this.self) {
      // Asked to probe ourselves: answer for the target directly.
      this.send(from, { type: 'ack', seq: msg.seq, ...this.piggybackFor(from) });
      return;
    }
    if (!this.peers.has(msg.target)) return this.reject(from, 'message', 'unknown-member');
    if (this.relays.size >= this.limits.pendingRelaysMax) return this.reject(from, 'message', 'relays-full');
    const seq = ++this.seq;
    // A requester cannot keep us waiting longer than the longest period there is.
    const waitMs = Math.min(msg.timeoutMs, this.timing.probeIntervalMs * healthMultiplier(this.timing.healthScoreMax));
    this.relays.set(seq, { requester: from, requesterSeq: msg.seq, target: msg.target, sentAt: this.now, nackAt: this.now + waitMs });
    this.send(msg.target, { type: 'ping', seq, ...this.piggybackFor(msg.target) });
  }

  // ───────────────────────────── claims ─────────────────────────────

  private absorb(from: MemberId, msg: SwimMessage): void {
    // The wire schema checks shapes; the core still refuses to trust them blindly.
    const updates: readonly MemberUpdate[] = Array.isArray(msg.updates) ? msg.updates : [];
    const rumors: readonly Rumor[] = Array.isArray(msg.rumors) ? msg.rumors : [];
    let budget = this.limits.itemsPerMessageMax;
    if (updates.length + rumors.length > budget) this.reject(from, 'message', 'too-many-items');
    for (const u of updates) {
      if (budget-- <= 0) return;
      this.receiveUpdate(u, from);
    }
    for (const r of rumors) {
      if (budget-- <= 0) return;
      this.receiveRumor(r, from);
    }
  }

  private isMember(id: MemberId): boolean {
    return id === this.self || this.peers.has(id);
  }

  private receiveUpdate(u: MemberUpdate, from: MemberId): void {
    if (!isCount(u.incarnation) || !swimStates.includes(u.state) || typeof u.sig !== 'string') return this.reject(from, 'update', 'bad-field');
    if (!this.isMember(u.member)) return this.reject(from, 'update', 'unknown-member');
    if (!this.isMember(u.origin)) return this.reject(from, 'update', 'unknown-origin');
    // Only a member may say it is alive; nobody may accuse itself.
    if ((u.state === 'alive') !== (u.origin === u.member)) return this.reject(from, 'update', 'wrong-origin');
    if (u.member === this.self) return this.updateAboutSelf(u, from);
    const peer = this.peers.get(u.member)!;
    const effect = classify(peer, u);
    if (effect === 'stale') {
      // An accusation that we know was refuted: whoever passes it on is
      // behind and may yet declare a live member dead. Send it the refutation
      // (the pull half of dissemination; SWIM's is push only, memberlist
      // adds periodic full-state sync for this). Verified first, so that a
      // forged claim costs no message.
      const known = peer.claim;
      if (u.state !== 'alive' && known !== null && known.state === 'alive' && known.incarnation > u.incarnation && this.verifyUpdate(u)) {
        this.tip(from, known);
        if (u.origin !== from) this.tip(u.origin, known);
      }
      return;
    }
    if (!this.verifyUpdate(u)) return this.reject(from, 'update', 'bad-signature');
    this.apply(peer, u, effect, from);
  }

  private updateAboutSelf(u: MemberUpdate, from: MemberId): void {
    if (u.state === 'alive') {
      // Our own claim; one from an earlier run with a higher incarnation must be outranked.
      if (u.incarnation <= this.incarnationNow) return;
      if (!this.verifyUpdate(u)) return this.reject(from, 'update', 'bad-signature');
      this.refute(u.incarnation);
      return;
    }
    if (!this.verifyUpdate(u)) return this.reject(from, 'update', 'bad-signature');
    if (u.incarnation < this.incarnationNow) {
      // Already refuted, but whoever still passes the accusation on has not
      // heard: our refutation may have run out of retransmissions, and the
      // accuser's buddy pings would otherwise go unanswered until its timer
      // declares us dead (seen in the lossy test network before this). So
      // answer it. Verified first, so that a forged claim costs no message.
      this.tip(from, this.selfClaim);
      if (u.origin !== from) this.tip(u.origin, this.selfClaim);
      return;
    }
    // SWIM §4.2 refutation; Lifeguard LHA-Probe: having to refute costs a health point.
    const accused = u.incarnation;
    this.refute(accused);
    this.healthScore = adjustHealthScore(this.healthScore, 1, this.timing.healthScoreMax);
    this.outEvents.push({ type: 'refuted', incarnation: this.incarnationNow, accusedIncarnation: accused, origin: u.origin });
    this.tip(u.origin, this.selfClaim);
  }

  private refute(above: number): void {
    this.incarnationNow = above + 1;
    this.selfClaim = this.signUpdate({ member: this.self, incarnation: this.incarnationNow, state: 'alive', origin: this.self });
    this.enqueueUpdate(this.selfClaim);
  }

  /** A claim this member makes (suspect, dead), signed and applied like a received one. */
  private originate(claim: MemberClaim): void {
    const peer = this.peers.get(claim.member);
    assert(peer !== undefined && claim.origin === this.self && claim.state !== 'alive', 'originate: a claim about another member by this one');
    const u = this.signUpdate(claim);
    const effect = classify(peer, u);
    assert(effect !== 'stale', `originate: own claim ${claim.state}@${claim.incarnation} about ${claim.member} is stale`);
    this.apply(peer, u, effect, this.self);
  }

  private apply(peer: Peer, u: MemberUpdate, effect: 'newer' | 'confirm', from: MemberId): void {
    if (effect === 'confirm') {
      const s = peer.suspicion!;
      s.origins.add(u.origin);
      s.deadlineAt = s.startAt + this.suspicionTimeout(s.origins.size - 1);
      peer.claim = u;
      // Re-broadcast the confirmation so that others can count it too (Lifeguard LHA-Suspicion).
      this.enqueueUpdate(u);
      if (from !== peer.id) this.tip(peer.id, u);
      this.expireSuspicions();
      return;
    }
    const previous = peer.state;
    const previousClaim = peer.claim;
    const cleared = peer.suspicion;
    peer.state = u.state;
    peer.incarnation = u.incarnation;
    peer.claim = u;
    peer.suspicion = null;
    if (u.state === 'suspect') {
      peer.suspicion = { incarnation: u.incarnation, startAt: this.now, origins: new Set([u.origin]), deadlineAt: this.now + this.suspicionTimeout(0) };
      // The claim goes out now (queue, tip); the first refresh is one interval later.
      this.nextSuspicionRefreshAt = Math.max(this.nextSuspicionRefreshAt, this.now + this.timing.probeIntervalMs);
    }
    this.enqueueUpdate(u);
    if (previous !== u.state) {
      this.outEvents.push({ type: 'member-state', member: peer.id, previous, state: u.state, incarnation: u.incarnation, origin: u.origin });
    }
    if (u.state !== 'alive') {
      // Our addition: tell the accused at once, so that it can refute (tips, docs/protocol.md §7).
      this.tip(peer.id, u);
    } else if (previous !== 'alive') {
      // ... and tell the accusers whose claim this refutation overturns.
      const accusers = cleared !== null ? [...cleared.origins] : previousClaim !== null ? [previousClaim.origin] : [];
      for (const o of accusers) if (o !== this.self && o !== peer.id && o !== from) this.tip(o, u);
    }
  }

  private suspicionTimeout(confirmations: number): number {
    const n = this.memberCount();
    const { minMs, maxMs } = suspicionBoundsMs(n, this.timing.probeIntervalMs, this.timing.suspicionMultiplier, this.timing.suspicionMaxMultiplier);
    return suspicionTimeoutMs(minMs, maxMs, confirmations, expectedConfirmations(n, this.timing.suspicionConfirmations));
  }

  private expireSuspicions(): void {
    for (const peer of this.peers.values()) {
      const s = peer.suspicion;
      if (s === null || this.now < s.deadlineAt) continue;
      this.originate({ member: peer.id, incarnation: s.incarnation, state: 'dead', origin: this.self });
    }
  }

  private receiveRumor(r: Rumor, from: MemberId): void {
    if (typeof r.kind !== 'string' || typeof r.key !== 'string' || typeof r.sig !== 'string' || !isCount(r.version)) {
      return this.reject(from, 'rumor', 'bad-field');
    }
    if (r.key.length > this.limits.rumorKeyCharsMax) return this.reject(from, 'rumor', 'bad-field');
    const kind = this.rumorKinds.get(r.kind);
    if (kind === undefined) return this.reject(from, 'rumor', 'unknown-kind');
    if (!this.isMember(r.origin)) return this.reject(from, 'rumor', 'unknown-origin');
    const rk = rumorKey(r.kind, r.key);
    const known = this.rumors.get(rk);
    if (known !== undefined && r.version <= known.version) return;
    if (known === undefined && this.rumors.size >= this.limits.rumorsMax) return this.reject(from, 'rumor', 'rumors-full');
    const claim: RumorClaim = { kind: r.kind, key: r.key, version: r.version, origin: r.origin, payload: r.payload };
    if (!this.auth.verify({ about: 'rumor', ...claim }, r.sig)) return this.reject(from, 'rumor', 'bad-signature');
    const rumor: Rumor = { ...claim, sig: r.sig };
    this.rumors.set(rk, rumor);
    this.queue.push(`r:${rk}`, { t: 'rumor', rumor }, kind.priority, this.retransmits());
    this.outEvents.push({ type: 'rumor', rumor, from });
  }

  // ───────────────────────────── sending ─────────────────────────────

  private signUpdate(claim: MemberClaim): MemberUpdate {
    const c: MemberClaim = { member: claim.member, incarnation: claim.incarnation, state: claim.state, origin: claim.origin };
    return { ...c, sig: this.auth.sign({ about: 'member', ...c }) };
  }

  private verifyUpdate(u: MemberUpdate): boolean {
    return this.auth.verify({ about: 'member', member: u.member, incarnation: u.incarnation, state: u.state, origin: u.origin }, u.sig);
  }

  private enqueueUpdate(u: MemberUpdate): void {
    this.queue.push(`m:${u.member}`, { t: 'update', update: u }, memberUpdatePriority, this.retransmits());
  }

  /**
   * What rides on a message to `to`: first our claim about `to` if we think it
   * suspect or dead (Lifeguard's buddy system: it learns at once and can
   * refute) and likewise about `subject` (a ping-req's target), then the
   * queue's most urgent items, M in all. A member's own alive claim and its
   * own rumors are not sent back to it: it knows them, and the transmission
   * is better spent elsewhere. (Its accusations are: if it has since heard
   * the refutation, it answers with it.)
   */
  private piggybackFor(to: MemberId, subject?: MemberId): Piggyback {
    const updates: MemberUpdate[] = [];
    const rumors: Rumor[] = [];
    const buddies = new Set<string>();
    for (const id of subject === undefined ? [to] : [to, subject]) {
      const peer = this.peers.get(id);
      if (peer !== undefined && peer.state !== 'alive' && peer.claim !== null) {
        updates.push(peer.claim);
        buddies.add(`m:${id}`);
      }
    }
    const room = this.timing.piggybackItemsMax - updates.length;
    const skip = (key: string, item: QueueItem): boolean =>
      buddies.has(key) || (item.t === 'update' ? item.update.state === 'alive' && item.update.member === to : item.rumor.origin === to);
    for (const item of this.queue.take(room, skip)) {
      if (item.t === 'update') updates.push(item.update);
      else rumors.push(item.rumor);
    }
    return { updates, rumors };
  }

  /** One claim sent straight to the member most concerned by it. */
  private tip(to: MemberId, u: MemberUpdate): void {
    if (to === this.self || !this.peers.has(to)) return;
    this.send(to, { type: 'gossip', updates: [u], rumors: [] });
  }

  private send(to: MemberId, msg: SwimMessage): void {
    this.outMessages.push({ from: this.self, to, msg });
  }

  private reject(from: MemberId, item: 'message' | 'update' | 'rumor', reason: SwimRejectReason): void {
    this.outEvents.push({ type: 'rejected', from, item, reason });
  }
}

function newPeer(id: MemberId): Peer {
  return { id, state: 'alive', incarnation: 0, claim: null, suspicion: null, rttMs: null, direct: 'untested', via: new Map() };
}

/**
 * SWIM's precedence of claims about one member (§4.2), for a peer's current
 * (state, incarnation): alive(j) overrides anything at a lower incarnation;
 * suspect(j) overrides alive at j or lower and suspect or dead below j;
 * dead(j) overrides alive and suspect at j or lower. A suspect claim at the
 * current suspicion's incarnation from an accuser not yet counted is a
 * Lifeguard confirmation.
 */
function classify(peer: Peer, u: MemberUpdate): 'stale' | 'newer' | 'confirm' {
  const i = peer.incarnation;
  switch (u.state) {
    case 'alive':
      return u.incarnation > i ? 'newer' : 'stale';
    case 'suspect':
      if (peer.state === 'alive') return u.incarnation >= i ? 'newer' : 'stale';
      if (u.incarnation > i) return 'newer';
      if (peer.state === 'suspect' && u.incarnation === i && peer.suspicion !== null && !peer.suspicion.origins.has(u.origin)) return 'confirm';
      return 'stale';
    case 'dead':
      if (peer.state === 'dead') return u.incarnation > i ? 'newer' : 'stale';
      return u.incarnation >= i ? 'newer' : 'stale';
  }
}

function rumorKey(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}

/** A sequence number, incarnation or version from the wire: a non-negative safe integer. */
function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
