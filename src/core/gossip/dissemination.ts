// SWIM §4.1 infection-style dissemination: membership updates and rumors
// wait in the bounded broadcast queue and ride on every message the node
// sends (ping, ack, ping-req, nack), each in at most λ·⌈log2(n+1)⌉ messages;
// while the queue holds anything, a periodic gossip message pushes them to a
// few members as well. Lifeguard's buddy system rides here too: a message to
// a member we suspect carries that claim.

import type { RandomSource } from '../random.js';
import type { MemberId } from '../types.js';
import { BroadcastQueue, memberQueueKey, memberUpdatePriority, rumorQueueKey, type QueueItem } from './broadcast-queue.js';
import type { SwimTiming } from './config.js';
import type { MemberUpdate, Piggyback, Rumor, RumorClaim } from './messages.js';
import type { Peer } from './peer.js';
import type { StoredRumor } from './rumors.js';
import { retransmitLimit, shuffled } from './swim-math.js';

export interface DisseminatorOptions {
  readonly timing: SwimTiming;
  readonly random: RandomSource;
  /** The node's table of the other members (read only: who is suspect, who is reached directly). */
  readonly peers: ReadonlyMap<MemberId, Peer>;
  /** limits.broadcastQueueMax. */
  readonly queueMax: number;
  /** When the first gossip round may go. Unit ms, local monotonic time. */
  readonly firstGossipAt: number;
  /**
   * Whether `member` is known to have `rumor` by other means (the registry: a
   * ticket rumor of a commit its log already holds); such a rumor is not sent
   * to it. None: only its origin and the members it came from are known to.
   */
  readonly rumorKnown?: (member: MemberId, rumor: RumorClaim) => boolean;
  /** A queued rumor as it goes on the wire: this member's own is signed when first sent (RumorStore.seal). */
  readonly seal: (rumor: StoredRumor) => Rumor;
}

/** A gossip message to send: its piggyback, to one member. */
export interface GossipSend {
  readonly to: MemberId;
  readonly piggyback: Piggyback;
}

export class Disseminator {
  private readonly timing: SwimTiming;
  private readonly peers: ReadonlyMap<MemberId, Peer>;
  private readonly queue: BroadcastQueue;
  private nextGossipAt: number;

  constructor(private readonly options: DisseminatorOptions) {
    this.timing = options.timing;
    this.peers = options.peers;
    this.queue = new BroadcastQueue(options.queueMax);
    this.nextGossipAt = options.firstGossipAt;
  }

  /** Entries waiting in the queue. */
  get queueLength(): number {
    return this.queue.size;
  }

  enqueueUpdate(u: MemberUpdate): void {
    this.queue.push(memberQueueKey(u.member), { t: 'update', update: u }, memberUpdatePriority, this.retransmits());
  }

  /** Queues a rumor; `from`: the member it came from, which has it. */
  enqueueRumor(rumor: StoredRumor, priority: number, from?: MemberId): void {
    this.queue.push(rumorQueueKey(rumor.kind, rumor.key), { t: 'rumor', rumor }, priority, this.retransmits(), from);
  }

  /** `from` sent us `rumor`, which we had already: it is not sent back to `from`. */
  noteKnown(rumor: Rumor, from: MemberId): void {
    this.queue.noteKnown(rumorQueueKey(rumor.kind, rumor.key), rumor.version, from);
  }

  /** Whether an update about `member` still waits in the queue. */
  hasUpdateAbout(member: MemberId): boolean {
    return this.queue.has(memberQueueKey(member));
  }

  /**
   * What rides on a message to `to`: first our claim about `to` if we think it
   * suspect or dead (Lifeguard's buddy system: it learns at once and can
   * refute) and likewise about `subject` (a ping-req's target), then the
   * queue's most urgent items, M in all. A member's own alive claim and its
   * own rumors are not sent back to it: it knows them, and the transmission
   * is better spent elsewhere. (Its accusations are: if it has since heard
   * the refutation, it answers with it.) Likewise a rumor it sent us, or one
   * it has by other means (rumorKnown); a rumor every member has leaves the
   * queue before its retransmissions are used up (no tail of copies nobody
   * needs after a burst of rumors, e.g. a placement of many tickets). Only
   * what is taken here is signed (seal): a rumor that leaves the queue unsent
   * never costs a signature.
   */
  piggybackFor(to: MemberId, subject?: MemberId): Piggyback {
    const updates: MemberUpdate[] = [];
    const rumors: Rumor[] = [];
    const buddies = new Set<string>();
    for (const id of subject === undefined ? [to] : [to, subject]) {
      const peer = this.peers.get(id);
      if (peer !== undefined && peer.state !== 'alive' && peer.claim !== null) {
        updates.push(peer.claim);
        buddies.add(memberQueueKey(id));
      }
    }
    const room = this.timing.piggybackItemsMax - updates.length;
    const skip = (key: string, item: QueueItem, knownBy: ReadonlySet<MemberId> | null): boolean =>
      buddies.has(key) || (item.t === 'update' ? item.update.state === 'alive' && item.update.member === to : this.hasRumor(to, item.rumor, knownBy));
    const done = (_key: string, item: QueueItem, knownBy: ReadonlySet<MemberId> | null): boolean => {
      if (item.t !== 'rumor') return false;
      for (const id of this.peers.keys()) if (!this.hasRumor(id, item.rumor, knownBy)) return false;
      return true;
    };
    for (const item of this.queue.take(room, skip, done)) {
      if (item.t === 'update') updates.push(item.update);
      else rumors.push(this.options.seal(item.rumor));
    }
    return { updates, rumors };
  }

  /**
   * The gossip messages due at `now` (none before the gossip period is up or
   * with nothing queued). Gossip goes first to live members we reach directly
   * (a transmission down a link our last probe found broken is likely one of
   * only λ·log n wasted), then, to fill the fan-out, to the others: links
   * heal, and when the only members we reach are as cut off as we are, the
   * rest are the way out.
   */
  gossipRound(now: number): GossipSend[] {
    if (!this.gossipEnabled() || this.queue.size === 0 || now < this.nextGossipAt) return [];
    const live = [...this.peers.values()].filter((p) => p.state !== 'dead');
    const random = this.options.random;
    const targets = [
      ...shuffled(live.filter((p) => p.direct !== 'failed'), random),
      ...shuffled(live.filter((p) => p.direct === 'failed'), random),
    ].slice(0, this.timing.gossipFanout);
    const out: GossipSend[] = [];
    for (const { id: to } of targets) {
      const piggyback = this.piggybackFor(to);
      if (piggyback.updates.length + piggyback.rumors.length > 0) out.push({ to, piggyback });
    }
    this.nextGossipAt = now + this.timing.gossipIntervalMs;
    return out;
  }

  /** When gossipRound() has work to do; +∞ while it has none. */
  nextDeadline(): number {
    return this.gossipEnabled() && this.queue.size > 0 ? this.nextGossipAt : Number.POSITIVE_INFINITY;
  }

  /** Whether `member` is known to have `rumor`: its origin, a member it came from, or rumorKnown says so. */
  private hasRumor(member: MemberId, rumor: RumorClaim, knownBy: ReadonlySet<MemberId> | null): boolean {
    return rumor.origin === member || knownBy?.has(member) === true || this.options.rumorKnown?.(member, rumor) === true;
  }

  private retransmits(): number {
    return retransmitLimit(this.timing.retransmitMultiplier, this.peers.size + 1);
  }

  private gossipEnabled(): boolean {
    return this.timing.gossipIntervalMs > 0 && this.timing.gossipFanout > 0;
  }
}
