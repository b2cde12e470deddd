// The gossip state machine (DESIGN.md §3): SWIM with Lifeguard's
// refinements, pure and synchronous like the registry. Inputs are tick(now),
// onMessage(from, msg, now), piggyback(...), setMembers(...) and
// probeRoute(...) from the host; the output is a batch of messages and
// events taken with ready(). No clock, no timers, no randomness but the
// injected source, no I/O, no crypto (ClaimAuthenticator, messages.ts).
// What it does by paper and section, the additions of ours (tips, pull,
// persistence, aim, pauses, route probes, …) with the reason for each, and
// how claims are signed and checked: docs/protocol.md §7.
//
// The node owns the member table and the claims about it (SWIM §4.2:
// receive, apply, originate, refute, expire) and wires the parts, each in
// its own file: probe.ts and route-probe.ts (our probes), ping-req-relays.ts
// (others' ping-reqs), suspicion.ts and awareness.ts (Lifeguard),
// dissemination.ts with broadcast-queue.ts (SWIM §4.1), rumors.ts, routes.ts.

import type { RandomSource } from '../random.js';
import { AssertionError, assert, ms, type MemberId, type Ms } from '../types.js';
import { Awareness } from './awareness.js';
import { swimLimitsDefault, swimLimitsProblems, swimTimingProblems, type SwimLimits, type SwimTiming } from './config.js';
import { Disseminator } from './dissemination.js';
import type { SwimEvent, SwimReady } from './events.js';
import {
  isCount,
  swimMessageTypes,
  swimStates,
  type ClaimAuthenticator,
  type MemberClaim,
  type MemberUpdate,
  type PingReqMessage,
  type Rumor,
  type RumorClaim,
  type SwimEnvelope,
  type SwimMessage,
  type SwimRejectReason,
  type SwimState,
} from './messages.js';
import { classify, newPeer, type ClaimEffect, type Peer } from './peer.js';
import { PingReqRelays } from './ping-req-relays.js';
import { Prober, type ProbeHost } from './probe.js';
import { RouteProber } from './route-probe.js';
import { routeToPeer, type Route } from './routes.js';
import { RumorStore, type RumorKind, type StoredRumor } from './rumors.js';
import { Suspicion } from './suspicion.js';
import { healthMultiplier, reachWindowMs, smoothedRttMs } from './swim-math.js';
import { peerView, type PeerView, type SwimView } from './view.js';

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
  /** Whether a member has a rumor by other means: it is not sent to it (DisseminatorOptions.rumorKnown). */
  readonly rumorKnown?: (member: MemberId, rumor: RumorClaim) => boolean;
}

export interface SwimDependencies {
  readonly random: RandomSource;
  readonly auth: ClaimAuthenticator;
}

export class SwimNode {
  readonly self: MemberId;
  private readonly timing: SwimTiming;
  private readonly limits: SwimLimits;
  private readonly auth: ClaimAuthenticator;

  private now: number;
  private incarnationNow: number;
  private selfClaim: MemberUpdate;
  /** Our pings' and ping-reqs' sequence numbers: one counter for probes, route probes and relays, so an ack names one of them. */
  private seq = 0;
  private nextSuspicionRefreshAt: number;

  /** The other members, by id: the table that every part below reads and the claims code writes. */
  private readonly peers = new Map<MemberId, Peer>();
  private readonly awareness: Awareness;
  private readonly dissemination: Disseminator;
  private readonly rumors: RumorStore;
  private readonly prober: Prober;
  private readonly routeProber: RouteProber;
  private readonly relays: PingReqRelays;

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
    this.auth = deps.auth;
    this.now = options.now;
    const { timing, now } = options;
    const indirectProbes = options.indirectProbes ?? true;
    this.awareness = new Awareness(timing.healthScoreMax);
    this.rumors = new RumorStore(options.rumorKinds ?? {}, limits, deps.auth);
    const rumors = this.rumors;
    this.dissemination = new Disseminator({
      timing,
      random: deps.random,
      peers: this.peers,
      queueMax: limits.broadcastQueueMax,
      firstGossipAt: now,
      seal: (r) => rumors.seal(r),
      ...(options.rumorKnown === undefined ? {} : { rumorKnown: options.rumorKnown }),
    });
    this.relays = new PingReqRelays(limits.pendingRelaysMax);
    for (const id of options.members) if (id !== this.self) this.peers.set(id, newPeer(id));
    this.incarnationNow = incarnation;
    // Announce ourselves: after a restart with a higher incarnation this
    // revives us at once wherever we were thought dead.
    this.selfClaim = this.signUpdate({ member: this.self, incarnation, state: 'alive', origin: this.self });
    this.dissemination.enqueueUpdate(this.selfClaim);
    // Start the first period after a random fraction of one, so that members
    // started together do not probe in lock step.
    const firstProbeAt = now + Math.floor(deps.random.next() * timing.probeIntervalMs);
    const host: ProbeHost = {
      nextSeq: (): number => ++this.seq,
      sendPing: (to: MemberId, seq: number): void => this.send(to, { type: 'ping', seq, ...this.dissemination.piggybackFor(to) }),
      sendPingReq: (helper: MemberId, seq: number, target: MemberId, timeoutMs: number): void =>
        this.send(helper, { type: 'ping-req', seq, target, timeoutMs, ...this.dissemination.piggybackFor(helper, target) }),
      reachWindowMs: (): number => this.reachWindow(),
      probeFailed: (peer: Peer): void => this.probeFailed(peer),
    };
    const peers = this.peers;
    this.prober = new Prober({ timing, random: deps.random, awareness: this.awareness, peers, indirectProbes, firstProbeAt }, host);
    this.routeProber = new RouteProber({ timing, peers, indirectProbes }, host);
    this.nextSuspicionRefreshAt = now + timing.probeIntervalMs;
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
        this.send(from, { type: 'ack', seq: msg.seq, ...this.dissemination.piggybackFor(from) });
        break;
      case 'ack':
        this.onAck(from, msg.seq);
        break;
      case 'ping-req':
        this.onPingReq(from, msg);
        break;
      case 'nack':
        this.prober.onNack(from, msg.seq);
        this.routeProber.onNack(from, msg.seq);
        break;
      case 'gossip':
        break;
    }
    this.finishInput();
  }

  /**
   * Disseminates a rumor of a registered kind: (kind, key) at `version`, with
   * `payload` (JSON-serialisable), signed by this member when it first goes
   * out (RumorStore.seal; not at all if it never does). A version above the
   * known one replaces it; the same version re-queues the known rumor (the
   * host's anti-entropy republish: members that have it ignore it, members
   * that missed it take it); a lower one is refused. Returns whether queued.
   * Takes effect with the next input (tick or message). Versions must keep
   * growing across restarts — derive them from replicated state (commit
   * index, generation) or a persisted counter — or a member that restarted
   * would see its new values refused in favour of its old ones.
   */
  piggyback(kind: string, key: string, version: number, payload: unknown, priority?: number): boolean {
    const queued = this.rumors.publish(this.self, kind, key, version, payload, priority);
    if (queued === null) return false;
    this.dissemination.enqueueRumor(queued.rumor, queued.priority);
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
    this.routeProber.keepOnly(next);
    this.prober.restartRotation();
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
    const started = this.peers.has(member) && !this.prober.probingDirectly(member) && this.routeProber.start(member, this.now);
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
    let next = Math.min(this.prober.nextDeadline(), this.relays.nextDeadline(), this.routeProber.nextDeadline());
    for (const peer of this.peers.values()) if (peer.suspicion !== null) next = Math.min(next, peer.suspicion.deadlineAt);
    next = Math.min(next, this.dissemination.nextDeadline());
    for (const peer of this.peers.values()) if (peer.suspicion !== null) next = Math.min(next, this.nextSuspicionRefreshAt);
    return ms(Math.max(next, this.now));
  }

  // ───────────────────────────── queries ─────────────────────────────

  get incarnation(): number {
    return this.incarnationNow;
  }

  /** How to send to `member` now: directly, through a member that recently reached it, or no known path (routes.ts). */
  routeTo(member: MemberId): Route | null {
    if (member === this.self) return { direct: true };
    const peer = this.peers.get(member);
    if (peer === undefined) return null;
    return routeToPeer(peer, this.peers, this.now - this.reachWindow());
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

  /** The newest rumor known for (kind, key), ours (unsigned until first sent) or received. */
  rumor(kind: string, key: string): StoredRumor | undefined {
    return this.rumors.get(kind, key);
  }

  view(): SwimView {
    const peers: PeerView[] = [];
    for (const p of [...this.peers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) peers.push(peerView(p, this.routeTo(p.id)));
    return {
      self: this.self,
      incarnation: this.incarnationNow,
      healthScore: this.awareness.score,
      healthMultiplier: this.awareness.multiplier,
      probeIntervalMs: this.awareness.scale(this.timing.probeIntervalMs),
      probeTimeoutMs: this.awareness.scale(this.timing.probeTimeoutMs),
      queueLength: this.dissemination.queueLength,
      peers,
    };
  }

  // ───────────────────────────── time ─────────────────────────────

  private advanceTime(now: Ms): void {
    assert(Number.isFinite(now), 'now must be finite');
    assert(now >= this.now, `monotonic time went backwards: ${now} < ${this.now}`);
    const gap = now - this.now;
    if (gap > 2 * this.awareness.scale(this.timing.probeIntervalMs)) this.onStall(gap);
    this.now = now;
    this.prober.advance(this.now);
    for (const r of this.relays.due(this.now)) {
      this.send(r.requester, { type: 'nack', seq: r.requesterSeq, ...this.dissemination.piggybackFor(r.requester) });
    }
    this.routeProber.advance(this.now);
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
      if (!this.dissemination.hasUpdateAbout(p.id)) this.dissemination.enqueueUpdate(p.claim);
    }
  }

  /** After every input: the periodic gossip round, when due (dissemination.ts). */
  private finishInput(): void {
    for (const { to, piggyback } of this.dissemination.gossipRound(this.now)) this.send(to, { type: 'gossip', ...piggyback });
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
    this.prober.stall(this.now);
    for (const p of this.peers.values()) p.suspicion?.postpone(gapMs);
    this.awareness.apply(1);
    this.outEvents.push({ type: 'stalled', gapMs });
  }

  private memberCount(): number {
    return this.peers.size + 1;
  }

  private reachWindow(): number {
    return reachWindowMs(this.timing.probeIntervalMs, this.memberCount(), this.timing.reachWindowMultiplier, this.awareness.score);
  }

  // ───────────────────────────── probes ─────────────────────────────

  /** SWIM §4.2: no ack by the end of the period — suspect it (or, if others already do at this incarnation, confirm their suspicion). */
  private probeFailed(peer: Peer): void {
    if (peer.state === 'suspect' && peer.suspicion?.origins.has(this.self) === true) return;
    this.originate({ member: peer.id, incarnation: peer.incarnation, state: 'suspect', origin: this.self });
  }

  private onAck(from: MemberId, seq: number): void {
    if (this.prober.onAck(from, seq, this.now) || this.routeProber.onAck(from, seq, this.now)) return;
    const r = this.relays.answered(seq, from);
    if (r === undefined) return;
    const peer = this.peers.get(r.target);
    if (peer !== undefined) {
      peer.direct = 'ok';
      peer.rttMs = smoothedRttMs(peer.rttMs, this.now - r.sentAt);
    }
    this.send(r.requester, { type: 'ack', seq: r.requesterSeq, ...this.dissemination.piggybackFor(r.requester) });
  }

  private onPingReq(from: MemberId, msg: PingReqMessage): void {
    if (!Number.isFinite(msg.timeoutMs) || msg.timeoutMs <= 0) return this.reject(from, 'message', 'bad-field');
    if (msg.target === this.self) {
      // Asked to probe ourselves: answer for the target directly.
      this.send(from, { type: 'ack', seq: msg.seq, ...this.dissemination.piggybackFor(from) });
      return;
    }
    if (!this.peers.has(msg.target)) return this.reject(from, 'message', 'unknown-member');
    if (this.relays.full) return this.reject(from, 'message', 'relays-full');
    const seq = ++this.seq;
    // A requester cannot keep us waiting longer than the longest period there is.
    const waitMs = Math.min(msg.timeoutMs, this.timing.probeIntervalMs * healthMultiplier(this.timing.healthScoreMax));
    this.relays.open(seq, { requester: from, requesterSeq: msg.seq, target: msg.target, sentAt: this.now, nackAt: this.now + waitMs });
    this.send(msg.target, { type: 'ping', seq, ...this.dissemination.piggybackFor(msg.target) });
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
    this.awareness.apply(1);
    this.outEvents.push({ type: 'refuted', incarnation: this.incarnationNow, accusedIncarnation: accused, origin: u.origin });
    this.tip(u.origin, this.selfClaim);
  }

  private refute(above: number): void {
    this.incarnationNow = above + 1;
    this.selfClaim = this.signUpdate({ member: this.self, incarnation: this.incarnationNow, state: 'alive', origin: this.self });
    this.dissemination.enqueueUpdate(this.selfClaim);
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

  private apply(peer: Peer, u: MemberUpdate, effect: Exclude<ClaimEffect, 'stale'>, from: MemberId): void {
    if (effect === 'confirm') {
      peer.suspicion!.confirm(u.origin, this.memberCount());
      peer.claim = u;
      // Re-broadcast the confirmation so that others can count it too (Lifeguard LHA-Suspicion).
      this.dissemination.enqueueUpdate(u);
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
      peer.suspicion = new Suspicion(this.timing, u.incarnation, u.origin, this.now, this.memberCount());
      // The claim goes out now (queue, tip); the first refresh is one interval later.
      this.nextSuspicionRefreshAt = Math.max(this.nextSuspicionRefreshAt, this.now + this.timing.probeIntervalMs);
    }
    this.dissemination.enqueueUpdate(u);
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

  private expireSuspicions(): void {
    for (const peer of this.peers.values()) {
      const s = peer.suspicion;
      if (s === null || this.now < s.deadlineAt) continue;
      this.originate({ member: peer.id, incarnation: s.incarnation, state: 'dead', origin: this.self });
    }
  }

  private receiveRumor(r: Rumor, from: MemberId): void {
    const accepted = this.rumors.receive(r, (id) => this.isMember(id));
    // Not newer than ours: the sender has ours, which need not go back to it.
    if (accepted === null) return this.dissemination.noteKnown(r, from);
    if (typeof accepted === 'string') return this.reject(from, 'rumor', accepted);
    this.dissemination.enqueueRumor(accepted.rumor, accepted.priority, from);
    this.outEvents.push({ type: 'rumor', rumor: accepted.rumor, from });
  }

  // ───────────────────────────── sending ─────────────────────────────

  private signUpdate(claim: MemberClaim): MemberUpdate {
    const c: MemberClaim = { member: claim.member, incarnation: claim.incarnation, state: claim.state, origin: claim.origin };
    return { ...c, sig: this.auth.sign({ about: 'member', ...c }) };
  }

  private verifyUpdate(u: MemberUpdate): boolean {
    return this.auth.verify({ about: 'member', member: u.member, incarnation: u.incarnation, state: u.state, origin: u.origin }, u.sig);
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
