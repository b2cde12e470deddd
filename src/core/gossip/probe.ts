// SWIM's failure detector, the probing half (SWIM §3.1, §4.3; Lifeguard
// LHA-Probe): once per protocol period, ping the next member of a shuffled
// round-robin order; no ack within the probe timeout → ask k helpers to ping
// it for us (ping-req) and forward its ack; no ack at all by the end of the
// period → the node suspects it (SwimNode.probeFailed). Each period's outcome
// moves the local health score, which stretches the next period. Answering
// pings and serving others' ping-reqs is the node's and ping-req-relays.ts'.

import type { RandomSource } from '../random.js';
import type { MemberId } from '../types.js';
import type { Awareness } from './awareness.js';
import type { SwimTiming } from './config.js';
import type { Peer } from './peer.js';
import { forgetUnconfirmedRoutes, helperAnswered } from './routes.js';
import { nackTimeoutMs, probeHealthDelta, shuffled, smoothedRttMs } from './swim-math.js';

/** What probing needs from the node that runs it. */
export interface ProbeHost {
  /** A sequence number no other probe or relay of this member uses. */
  nextSeq(): number;
  /** Sends a ping, with the piggyback the node chooses. */
  sendPing(to: MemberId, seq: number): void;
  /** Sends a ping-req for `target` to `helper`, with the node's piggyback (our accusation of `target` rides along). */
  sendPingReq(helper: MemberId, seq: number, target: MemberId, timeoutMs: number): void;
  /** How long a report "helper reached X" stays usable now (swim-math.ts reachWindowMs). Unit ms. */
  reachWindowMs(): number;
  /** `peer` answered neither directly nor through a helper by the end of its period (SWIM §4.2). */
  probeFailed(peer: Peer): void;
}

export interface ProberOptions {
  readonly timing: SwimTiming;
  readonly random: RandomSource;
  readonly awareness: Awareness;
  /** The node's table of the other members; probing records what it learns about their links there. */
  readonly peers: ReadonlyMap<MemberId, Peer>;
  /** False: never send ping-req (the `no-indirect-probe` mutant). */
  readonly indirectProbes: boolean;
  /** When the first period starts. Unit ms, local monotonic time. */
  readonly firstProbeAt: number;
}

/** The probe of the current period. */
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

export class Prober {
  private readonly timing: SwimTiming;
  private readonly peers: ReadonlyMap<MemberId, Peer>;
  private probe: Probe | null = null;
  private nextProbeAt: number;
  private rotation: MemberId[] = [];
  private rotationPos = 0;

  constructor(
    private readonly options: ProberOptions,
    private readonly host: ProbeHost,
  ) {
    this.timing = options.timing;
    this.peers = options.peers;
    this.nextProbeAt = options.firstProbeAt;
  }

  /** Time has come to `now`: go indirect after the probe timeout; at the end of the period judge, and probe the next member. */
  advance(now: number): void {
    const p = this.probe;
    if (p !== null && !p.indirectStarted && now >= p.timeoutAt) this.startIndirect(p, now);
    if (now >= this.nextProbeAt) {
      if (this.probe !== null) this.judge(this.probe);
      this.startProbe(now);
    }
  }

  /** This process was stopped since `lastInputAt`: the probe in flight is dropped unjudged (see SwimNode.onStall). */
  stall(lastInputAt: number): void {
    this.probe = null;
    this.nextProbeAt = Math.max(this.nextProbeAt, lastInputAt);
  }

  /** The members changed: the next probe starts a new round over the new set. */
  restartRotation(): void {
    this.rotation = [];
    this.rotationPos = 0;
  }

  /** Whether this period's probe of `member` still waits for its direct ack. */
  probingDirectly(member: MemberId): boolean {
    return this.probe !== null && this.probe.target === member && !this.probe.indirectStarted;
  }

  /** The earliest time at which advance() has work to do. */
  nextDeadline(): number {
    let next = this.nextProbeAt;
    const p = this.probe;
    if (p !== null && !p.indirectStarted && !p.directAcked && !p.indirectAcked) next = Math.min(next, p.timeoutAt);
    return next;
  }

  /** An ack under `seq` from `from`; true when `seq` is this period's probe (whoever sent it). */
  onAck(from: MemberId, seq: number, now: number): boolean {
    const p = this.probe;
    if (p === null || p.seq !== seq) return false;
    const peer = this.peers.get(p.target);
    if (peer === undefined) return true;
    if (from === p.target) {
      p.directAcked = true;
      peer.direct = 'ok';
      peer.rttMs = smoothedRttMs(peer.rttMs, now - p.startAt);
    } else if (p.helpers.includes(from)) {
      p.indirectAcked = true;
      p.reached.add(from);
      peer.via.set(from, now);
      helperAnswered(this.peers, from);
    }
    return true;
  }

  /** A helper's nack under `seq` (Lifeguard): it got our request, so it is not counted as missed. */
  onNack(from: MemberId, seq: number): void {
    if (this.probe !== null && this.probe.seq === seq && this.probe.helpers.includes(from)) {
      this.probe.nacks.add(from);
      helperAnswered(this.peers, from);
    }
  }

  private nextTarget(): MemberId | null {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.rotationPos < this.rotation.length) {
        const id = this.rotation[this.rotationPos++]!;
        if (this.peers.has(id)) return id;
      }
      // A new round: every other member once, in a fresh random order (SWIM
      // §4.3: round-robin over a shuffled list bounds the time to first probe).
      this.rotation = shuffled([...this.peers.keys()], this.options.random);
      this.rotationPos = 0;
    }
    return null;
  }

  private startProbe(now: number): void {
    const period = this.options.awareness.scale(this.timing.probeIntervalMs);
    this.nextProbeAt = now + period;
    const target = this.nextTarget();
    if (target === null) {
      this.probe = null;
      return;
    }
    const seq = this.host.nextSeq();
    this.probe = {
      seq,
      target,
      startAt: now,
      timeoutAt: now + this.options.awareness.scale(this.timing.probeTimeoutMs),
      endAt: now + period,
      helpers: [],
      nacks: new Set(),
      reached: new Set(),
      directAcked: false,
      indirectAcked: false,
      indirectStarted: false,
    };
    this.host.sendPing(target, seq);
  }

  private startIndirect(p: Probe, now: number): void {
    p.indirectStarted = true;
    if (p.directAcked || p.indirectAcked || !this.options.indirectProbes || this.timing.indirectProbeCount === 0) return;
    const alive = [...this.peers.values()].filter((x) => x.id !== p.target && x.state === 'alive');
    // Helpers in order of promise: members that recently reached the target
    // for us (a partial partition persists), then members we reach directly,
    // then the rest (a helper behind a link our last probe found broken
    // rarely gets the request); at random within each group.
    const fresh = now - this.host.reachWindowMs();
    const target = this.peers.get(p.target);
    const reported = (id: MemberId): boolean => (target?.via.get(id) ?? Number.NEGATIVE_INFINITY) >= fresh;
    const random = this.options.random;
    const ranked = [
      ...shuffled(alive.filter((x) => x.direct !== 'failed' && reported(x.id)), random),
      ...shuffled(alive.filter((x) => x.direct !== 'failed' && !reported(x.id)), random),
      ...shuffled(alive.filter((x) => x.direct === 'failed'), random),
    ];
    p.helpers = ranked.slice(0, this.timing.indirectProbeCount).map((x) => x.id);
    const timeoutMs = nackTimeoutMs(p.endAt - now, this.timing.nackTimeoutPercent);
    // Our accusation of the target rides along: a helper that has seen the
    // target refute answers with the refutation (see receiveUpdate).
    for (const h of p.helpers) this.host.sendPingReq(h, p.seq, p.target, timeoutMs);
  }

  private judge(p: Probe): void {
    this.probe = null;
    const peer = this.peers.get(p.target);
    if (peer === undefined) return; // removed from the formation meanwhile
    forgetUnconfirmedRoutes(this.peers, p.target, p.helpers, p.reached);
    if (!p.directAcked) peer.direct = 'failed';
    const acked = p.directAcked || p.indirectAcked;
    const delta = probeHealthDelta({ acked, helpers: p.helpers.length, nacks: p.nacks.size, targetDead: peer.state === 'dead' });
    this.options.awareness.apply(delta);
    if (acked || peer.state === 'dead') return;
    this.host.probeFailed(peer);
  }
}
