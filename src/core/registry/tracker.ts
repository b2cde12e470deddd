// The leader's record of each follower (etcd's tracker/): how far its log
// matches, what to send next, the snapshot transfer in progress, the newest
// heartbeat it answered (the leader lease counts those) and whether it was
// heard since the last CheckQuorum.

import { incarnationOf, type Member, type MemberId } from '../types.js';
import { quorumValue } from './quorum.js';
import type { SnapshotSend } from './snapshot-transfer.js';

export interface Progress {
  match: number;
  next: number;
  /** Leader-clock send time of the newest heartbeat this voter answered (leader lease). */
  ackedSentAt: number;
  recentActive: boolean;
  /** A snapshot transfer in progress (etcd's StateSnapshot): no appends until the follower installed it. */
  snapshot: SnapshotSend | null;
  /**
   * Leader-clock time a message carrying the admitted incarnation last came from this member: while that is recent,
   * a join from another incarnation is not acted on (incarnation.ts onJoin).
   */
  admittedHeardAt: number;
  /** The member's incarnation this record is about (docs/protocol.md §10): another one holds none of what this one acknowledged. */
  incarnation: number;
}

export class ProgressTracker {
  private readonly byMember = new Map<MemberId, Progress>();

  constructor(private readonly self: MemberId) {}

  /**
   * A new term of office: every other voter starts unmatched, to be probed from the end of our log, and counts as heard
   * at `now` as the incarnation the configuration admits (it may have just voted for us; its answers may be on the way).
   */
  reset(members: readonly Member[], lastIndex: number, now: number): void {
    this.byMember.clear();
    for (const m of members) if (m.id !== this.self) this.byMember.set(m.id, { ...fresh(lastIndex, false, incarnationOf(m)), admittedHeardAt: now });
  }

  clear(): void {
    this.byMember.clear();
  }

  get(id: MemberId): Progress | undefined {
    return this.byMember.get(id);
  }

  /** In insertion order: the order appends go out, which the interaction scripts pin down. */
  entries(): IterableIterator<[MemberId, Progress]> {
    return this.byMember.entries();
  }

  /**
   * Follows a configuration change: new members are tracked (counted active until the next check), removed ones
   * dropped, and a member admitted at another incarnation starts over: what the old one matched is gone with its store.
   */
  follow(members: readonly Member[], lastIndex: number): void {
    for (const m of members) {
      if (m.id === this.self) continue;
      const p = this.byMember.get(m.id);
      if (p === undefined || p.incarnation !== incarnationOf(m)) this.byMember.set(m.id, fresh(lastIndex, true, incarnationOf(m)));
    }
    for (const id of [...this.byMember.keys()]) if (!members.some((m) => m.id === id)) this.byMember.delete(id);
  }

  /** The highest index that `quorum` voters (this leader's own log included, when it votes) hold. */
  committable(voters: readonly MemberId[], selfVotes: boolean, lastIndex: number, quorum: number): number | undefined {
    const matches: number[] = selfVotes ? [lastIndex] : [];
    for (const v of voters) if (v !== this.self) matches.push(this.byMember.get(v)?.match ?? 0);
    return quorumValue(matches, quorum);
  }

  /** The newest heartbeat send time that `quorum` voters acknowledged (this leader's own broadcast counts for itself). */
  acknowledgedSince(voters: readonly MemberId[], ownBroadcastAt: number, quorum: number): number | undefined {
    const acks = voters.map((v) => (v === this.self ? ownBroadcastAt : (this.byMember.get(v)?.ackedSentAt ?? Number.NEGATIVE_INFINITY)));
    return quorumValue(acks, quorum);
  }

  /** Voters heard from since the last check (this leader counted when it votes); starts the next period. */
  takeActive(isVoter: (id: MemberId) => boolean): number {
    let active = isVoter(this.self) ? 1 : 0;
    for (const [id, p] of this.byMember) {
      if (p.recentActive && isVoter(id)) active++;
      p.recentActive = false;
    }
    return active;
  }
}

function fresh(lastIndex: number, recentActive: boolean, incarnation: number): Progress {
  return { match: 0, next: lastIndex + 1, ackedSentAt: Number.NEGATIVE_INFINITY, admittedHeardAt: Number.NEGATIVE_INFINITY, recentActive, snapshot: null, incarnation };
}
