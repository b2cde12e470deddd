// Route probes (SwimNode.probeRoute; docs/protocol.md §7 says why): when
// the host's own messages to a member go unanswered, ping it at once, outside
// the rotation, and after the probe timeout ask every other member to try
// (ping-req). A route probe learns routes only — the direct link's state and
// which helpers reach the member — and never suspects anyone or moves the
// health score, so failure detection stays SWIM's and Lifeguard's (probe.ts).
// Rate: one per member per period.

import type { MemberId } from '../types.js';
import type { SwimTiming } from './config.js';
import type { Peer } from './peer.js';
import type { ProbeHost } from './probe.js';
import { forgetUnconfirmedRoutes, helperAnswered } from './routes.js';
import { nackTimeoutMs, smoothedRttMs } from './swim-math.js';

/** A route probe: a direct ping, then ping-reqs through every other member; learns routes only. */
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

export interface RouteProberOptions {
  readonly timing: SwimTiming;
  /** The node's table of the other members; route probes record what they learn about links there. */
  readonly peers: ReadonlyMap<MemberId, Peer>;
  /** False: never send ping-req (the `no-indirect-probe` mutant). */
  readonly indirectProbes: boolean;
}

export class RouteProber {
  private readonly timing: SwimTiming;
  private readonly peers: ReadonlyMap<MemberId, Peer>;
  /** Route probes in flight, by seq (at most one per peer), and when each peer's last one started. */
  private readonly routeProbes = new Map<number, RouteProbe>();
  private readonly routeProbeAt = new Map<MemberId, number>();

  constructor(
    private readonly options: RouteProberOptions,
    private readonly host: Pick<ProbeHost, 'nextSeq' | 'sendPing' | 'sendPingReq'>,
  ) {
    this.timing = options.timing;
    this.peers = options.peers;
  }

  /**
   * Starts a route probe of `member` at `now`, unless one started less than
   * a probe interval ago or is still running. Returns whether it started.
   * (The node also declines while its period's probe of the member waits
   * for the direct ack.)
   */
  start(member: MemberId, now: number): boolean {
    const last = this.routeProbeAt.get(member);
    if (last !== undefined && now - last < this.timing.probeIntervalMs) return false;
    for (const rp of this.routeProbes.values()) if (rp.target === member) return false;
    this.routeProbeAt.set(member, now);
    const seq = this.host.nextSeq();
    // Not stretched by the health multiplier: the question is about one link, now.
    this.routeProbes.set(seq, {
      seq,
      target: member,
      timeoutAt: now + this.timing.probeTimeoutMs,
      endAt: now + this.timing.probeIntervalMs,
      helpers: [],
      reached: new Set(),
      directAcked: false,
      indirectStarted: false,
    });
    this.host.sendPing(member, seq);
    return true;
  }

  /** Time has come to `now`: go indirect after the probe timeout; at the end, keep only the routes confirmed. */
  advance(now: number): void {
    for (const [seq, rp] of this.routeProbes) {
      if (!rp.indirectStarted && now >= rp.timeoutAt) this.startIndirect(rp, now);
      if (now < rp.endAt) continue;
      this.routeProbes.delete(seq);
      forgetUnconfirmedRoutes(this.peers, rp.target, rp.helpers, rp.reached);
    }
  }

  /** The members changed to `members`: forget the rate limit of those that left. */
  keepOnly(members: ReadonlySet<MemberId>): void {
    for (const id of [...this.routeProbeAt.keys()]) if (!members.has(id)) this.routeProbeAt.delete(id);
  }

  /** The earliest time at which advance() has work to do; +∞ with no route probe running. */
  nextDeadline(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const rp of this.routeProbes.values()) next = Math.min(next, rp.indirectStarted ? rp.endAt : rp.timeoutAt);
    return next;
  }

  /** An ack under `seq` from `from`; true when `seq` is a route probe's. */
  onAck(from: MemberId, seq: number, now: number): boolean {
    const rp = this.routeProbes.get(seq);
    if (rp === undefined) return false;
    const peer = this.peers.get(rp.target);
    if (peer === undefined) return true;
    if (from === rp.target) {
      rp.directAcked = true;
      peer.direct = 'ok';
      peer.rttMs = smoothedRttMs(peer.rttMs, now - (rp.timeoutAt - this.timing.probeTimeoutMs));
    } else if (rp.helpers.includes(from)) {
      rp.reached.add(from);
      peer.via.set(from, now);
      helperAnswered(this.peers, from);
    }
    return true;
  }

  /** A helper's nack under `seq`: the link to it works both ways. */
  onNack(from: MemberId, seq: number): void {
    const rp = this.routeProbes.get(seq);
    if (rp !== undefined && rp.helpers.includes(from)) helperAnswered(this.peers, from);
  }

  private startIndirect(rp: RouteProbe, now: number): void {
    rp.indirectStarted = true;
    const target = this.peers.get(rp.target);
    if (rp.directAcked || target === undefined) return;
    target.direct = 'failed';
    if (!this.options.indirectProbes) return;
    // Every other member that is not known dead, whatever our last probe of it
    // said: a wrong 'failed' must not hide the one member that still reaches it.
    rp.helpers = [...this.peers.values()].filter((x) => x.id !== rp.target && x.state !== 'dead').map((x) => x.id);
    const timeoutMs = nackTimeoutMs(rp.endAt - now, this.timing.nackTimeoutPercent);
    for (const h of rp.helpers) this.host.sendPingReq(h, rp.seq, rp.target, timeoutMs);
  }
}
