// Elections: who campaigns, who votes, how votes are counted, how long a
// leader may act alone, and how it hands over. Raft §5.2 with PreVote (§9.6:
// ask first, without raising the term, whether a campaign could win), leader
// stickiness, both halves of the leader lease (DESIGN.md §2: a voter that
// acknowledged a leader votes for no other until an election timeout has
// passed on its own clock; the leader counts a shorter time from the
// heartbeat a majority acknowledged), CheckQuorum (§6.2), and the leadership
// hand-over with TimeoutNow (dissertation §3.10).
//
// The registry (registry.ts) owns one Election. It keeps the term, the vote
// cast, the role and the log, and reaches back through the narrow
// ElectionHost: the election decides, the registry changes its state. Pure and
// synchronous like the registry: the only randomness is the injected source
// that spreads election timeouts.

import type { RaftMessage } from '../messages.js';
import type { RandomSource } from '../random.js';
import type { Role } from '../ready.js';
import { term, type MemberId, type Term } from '../types.js';
import type { RegistryRules, RegistryTiming, VoteRequest, VoterState } from './host.js';
import { majority } from './quorum.js';
import type { RaftLog } from './raft-log.js';
import type { ProgressTracker } from './tracker.js';
import { leaderLeaseDurationMs } from '../lease.js';

type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;

/**
 * A member hands leadership to an arbitrator at most once per this many election timeouts
 * (preferArbitrator): 10 s with the lan preset. Each hand-over leaves the formation without a
 * leader for about one round trip; an arbitrator whose links come and go would otherwise take the
 * leadership back every time it reappears.
 */
const preferHoldOffElectionTimeouts = 10;

/** What an election reads from, and asks of, the registry it runs in. */
export interface ElectionHost {
  readonly self: MemberId;
  readonly log: Pick<RaftLog, 'lastIndex' | 'lastTerm' | 'isUpToDate'>;
  now(): number;
  term(): Term;
  votedFor(): MemberId | null;
  role(): Role;
  leader(): MemberId | null;
  voters(): MemberId[];
  isVoter(id: MemberId): boolean;
  /** Whether this member votes: listed as a voter at this store's incarnation (docs/protocol.md §10). */
  selfVotes(): boolean;
  /** The incarnation tag every vote message carries. */
  inc(): { inc?: number };
  /** Whether a member is a site or an arbitrator (undefined: not in the configuration). */
  kindOf(id: MemberId): 'site' | 'arbitrator' | undefined;
  /** The leader's record of every member (empty elsewhere). */
  readonly progress: ProgressTracker;
  send(to: MemberId, msg: RaftMessage): void;
  /** Asks gossip to find a way to a member that fell silent (DESIGN.md §3.2). */
  probeRoute(member: MemberId): void;
  /** Takes the role, with no leader; a candidate also raises its term and votes for itself (both persisted). */
  campaign(role: 'pre-candidate' | 'candidate'): void;
  /** Records (to persist) the vote this member granted in the current term. */
  recordVote(candidate: MemberId): void;
  emitRole(): void;
  becomeLeader(): void;
  /** Follower at the current term, no leader known. */
  stepDown(): void;
}

export class Election {
  /** When a follower that heard no leader campaigns: randomized (Raft §5.2) by resetTimer(). */
  private electionDeadline = 0;
  /** Votes refused until then: this member acknowledged a leader (or is one) — the leader lease's other half. */
  private voteBlockedUntil: number;
  private votes = new Map<MemberId, boolean>();
  /** The latest leader this member acknowledged: whom to look for a way to when it falls silent. */
  private lastLeaderSeen: MemberId | null = null;
  /** At a leader: when CheckQuorum looks next. */
  private checkQuorumDue = 0;
  /** No hand-over to an arbitrator before then: this member handed over once already (preferArbitrator). */
  private preferHoldOffUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly timing: RegistryTiming,
    private readonly random: RandomSource,
    private readonly rules: RegistryRules,
    private readonly host: ElectionHost,
  ) {
    // A restarted member may have acknowledged a leader just before it died;
    // it must not vote until that acknowledgement has run out (leader lease).
    // A store that never saw a term acknowledged nobody: an append raises and
    // persists the term before it is answered (docs/protocol.md §1, "first election").
    this.voteBlockedUntil = host.term() === 0 ? Number.NEGATIVE_INFINITY : host.now() + timing.electionTimeoutMs;
  }

  /** Until when this member refuses votes: it vouches for a leader it acknowledged (or was). */
  get votesBlockedUntil(): number {
    return this.voteBlockedUntil;
  }

  /** At a leader: when CheckQuorum looks next. */
  get checkQuorumAt(): number {
    return this.checkQuorumDue;
  }

  /** When a follower's election timer fires. */
  get deadline(): number {
    return this.electionDeadline;
  }

  /**
   * Raft §5.2's randomized timeout, [ET, 2·ET). A store that never saw a term (a new formation)
   * knows of no leader to wait for: it campaigns after a heartbeat interval or two, arbitrators
   * first, sites a heartbeat interval later (an arbitrator holds no tickets, so it is the leader
   * to prefer, preferArbitrator). PreVote keeps an early campaign from disturbing a leader that
   * others elected meanwhile: they acknowledged it and refuse.
   */
  resetTimer(): void {
    const h = this.host;
    const et = this.timing.electionTimeoutMs;
    const hb = this.timing.heartbeatIntervalMs;
    const jitter = this.random.next();
    if (h.term() === 0) this.electionDeadline = h.now() + Math.floor((h.kindOf(h.self) === 'arbitrator' ? 1 : 2) * hb + jitter * hb);
    else this.electionDeadline = h.now() + et + Math.floor(jitter * et);
  }

  /** This member vouches for a leader (itself included) until `until`: it votes for no other before then. */
  blockVotesUntil(until: number): void {
    this.voteBlockedUntil = Math.max(this.voteBlockedUntil, until);
  }

  /** A leader's append or snapshot was accepted: it is the one to look for if it falls silent. */
  acknowledged(leader: MemberId): void {
    this.lastLeaderSeen = leader;
    this.blockVotesUntil(this.host.now() + this.timing.electionTimeoutMs);
    this.resetTimer();
  }

  /**
   * Vote requests inside the vote-blocked window are refused entirely, without adopting their
   * term: leader stickiness, and the leader lease relies on it. A handover (timeout-now) is the
   * leader's own doing, after it stopped serving: its voters need not wait its lease out (as
   * etcd's campaignTransfer, the flag is trusted: members are keyed and correct). True when the
   * request was answered here and goes no further.
   */
  refusedWhileBlocked(from: MemberId, msg: RaftMessage): boolean {
    const h = this.host;
    const handover = msg.type === 'vote' && msg.transfer === true;
    if ((msg.type !== 'vote' && msg.type !== 'pre-vote') || msg.term <= h.term() || h.now() >= this.voteBlockedUntil || handover) return false;
    h.send(from, { type: msg.type === 'vote' ? 'vote-resp' : 'pre-vote-resp', term: h.term(), granted: false, ...h.inc() });
    return true;
  }

  startPreVote(): void {
    const h = this.host;
    // The leader fell silent: if only our link to it broke, gossip finds a relay (DESIGN.md §3.2).
    if (this.lastLeaderSeen !== null) h.probeRoute(this.lastLeaderSeen);
    // Raft §9.6 PreVote: ask first, without raising our term, whether we could win.
    h.campaign('pre-candidate');
    this.votes = new Map([[h.self, true]]);
    this.resetTimer();
    h.emitRole();
    const req = { term: term(h.term() + 1), lastIndex: h.log.lastIndex(), lastTerm: h.log.lastTerm() };
    if (this.countVotes() === 'won') return this.startElection();
    for (const v of h.voters()) if (v !== h.self) h.send(v, { type: 'pre-vote', ...req, ...h.inc() });
  }

  private startElection(transfer = false): void {
    const h = this.host;
    h.campaign('candidate');
    this.votes = new Map([[h.self, true]]);
    this.resetTimer();
    h.emitRole();
    if (this.countVotes() === 'won') return h.becomeLeader();
    const req = { term: h.term(), lastIndex: h.log.lastIndex(), lastTerm: h.log.lastTerm() };
    for (const v of h.voters()) if (v !== h.self) h.send(v, { type: 'vote', ...req, ...h.inc(), ...(transfer ? { transfer } : {}) });
  }

  private countVotes(): 'won' | 'lost' | 'pending' {
    const n = this.host.voters().length;
    let yes = 0;
    let no = 0;
    for (const [id, granted] of this.votes) {
      if (!this.host.isVoter(id)) continue;
      if (granted) yes++;
      else no++;
    }
    if (yes >= majority(n)) return 'won';
    if (n - no < majority(n)) return 'lost';
    return 'pending';
  }

  onPreVote(from: MemberId, msg: Msg<'pre-vote'>): void {
    const h = this.host;
    // Only a voter at its admitted incarnation votes, and only for a voter (§10).
    const granted = h.selfVotes() && h.isVoter(from) && msg.term > h.term() && h.now() >= this.voteBlockedUntil && h.log.isUpToDate(msg.lastIndex, msg.lastTerm);
    h.send(from, { type: 'pre-vote-resp', term: granted ? msg.term : h.term(), granted, ...h.inc() });
  }

  onPreVoteResp(from: MemberId, msg: Msg<'pre-vote-resp'>): void {
    const h = this.host;
    if (h.role() !== 'pre-candidate') return;
    if (!msg.granted && msg.term > h.term()) return; // handled by the term check in the registry's admit()
    if (msg.granted && msg.term !== h.term() + 1) return;
    this.votes.set(from, msg.granted);
    const r = this.countVotes();
    if (r === 'won') this.startElection();
    else if (r === 'lost') h.stepDown();
  }

  onVote(from: MemberId, msg: Msg<'vote'>): void {
    const h = this.host;
    const voter: VoterState = {
      currentTerm: h.term(),
      votedFor: h.votedFor(),
      logUpToDate: (i, t) => h.log.isUpToDate(i, t),
    };
    const req: VoteRequest = { from, term: msg.term, lastIndex: msg.lastIndex, lastTerm: msg.lastTerm };
    const handover = msg.transfer === true;
    const granted = h.selfVotes() && h.isVoter(from) && (h.now() >= this.voteBlockedUntil || handover) && this.rules.shouldGrantVote(req, voter);
    if (granted) {
      h.recordVote(from);
      this.resetTimer();
    }
    h.send(from, { type: 'vote-resp', term: h.term(), granted, ...h.inc() });
  }

  onVoteResp(from: MemberId, msg: Msg<'vote-resp'>): void {
    const h = this.host;
    if (h.role() !== 'candidate' || msg.term !== h.term()) return;
    this.votes.set(from, msg.granted);
    const r = this.countVotes();
    if (r === 'won') h.becomeLeader();
    else if (r === 'lost') h.stepDown();
  }

  /**
   * Hands leadership over (Raft dissertation §3.10) before this leader leaves the configuration:
   * to the voter whose log matches furthest (it must hold every entry, else no transfer), with
   * `timeout-now`; this member stops leading at once, so it answers no renewal and serves no read
   * after the handover began. The new leader treats every held ticket as renewed when it took
   * office (DESIGN.md §2), which covers every answer this one gave. Returns the target or null.
   */
  transferLeadership(accept: (id: MemberId) => boolean = () => true): MemberId | null {
    const h = this.host;
    if (h.role() !== 'leader') return null;
    let best: MemberId | null = null;
    for (const id of h.voters()) {
      if (id === h.self || !accept(id)) continue;
      const p = h.progress.get(id);
      if (p !== undefined && p.match === h.log.lastIndex() && p.snapshot === null && (best === null || p.ackedSentAt > h.progress.get(best)!.ackedSentAt)) best = id;
    }
    if (best === null) return null;
    h.send(best, { type: 'timeout-now', term: h.term() });
    h.stepDown();
    return best;
  }

  /**
   * An arbitrator holds no tickets (S3): a site that leads hands leadership to an arbitrator voter,
   * so that losing the site costs no election on top of its lease (docs/protocol.md §3, "who
   * leads"). Only to one that holds the whole log and answered a heartbeat sent within the last
   * heartbeat interval (`lastBroadcastAt`: the newest), and at most once per hold-off at this
   * member, so that an arbitrator that keeps losing its links cannot make the leadership flap
   * faster than that. The caller checks that the leader committed an entry of its term and has no
   * admin command waiting (a hand-over would answer it with not-leader). The target or null.
   */
  preferArbitrator(lastBroadcastAt: number): MemberId | null {
    const h = this.host;
    if (h.role() !== 'leader' || h.kindOf(h.self) !== 'site' || h.now() < this.preferHoldOffUntil) return null;
    const fresh = lastBroadcastAt - this.timing.heartbeatIntervalMs;
    const to = this.transferLeadership((id) => h.kindOf(id) === 'arbitrator' && (h.progress.get(id)?.ackedSentAt ?? Number.NEGATIVE_INFINITY) >= fresh);
    if (to !== null) this.preferHoldOffUntil = h.now() + preferHoldOffElectionTimeouts * this.timing.electionTimeoutMs;
    return to;
  }

  onTimeoutNow(from: MemberId, msg: Msg<'timeout-now'>): void {
    const h = this.host;
    // Only from the leader of our term, and only a voter at its admitted incarnation campaigns.
    if (msg.term !== h.term() || h.leader() !== from || !h.selfVotes()) return;
    // Leadership handed to this member on purpose (a leader leaving the configuration) is not handed back within the hold-off.
    this.preferHoldOffUntil = h.now() + preferHoldOffElectionTimeouts * this.timing.electionTimeoutMs;
    this.startElection(true);
  }

  // ─────────────────────────── leader lease ───────────────────────────

  /**
   * The leader's half of the leader lease (DESIGN.md §2): from the send time of the newest heartbeat
   * (at or before `lastBroadcastAt`) a majority acknowledged, for an election timeout shrunk by the
   * drift bound — every voter that acknowledged refuses votes for longer on its own clock.
   */
  leaderLeaseEnd(lastBroadcastAt: number): number {
    const voters = this.host.voters();
    const q = this.host.progress.acknowledgedSince(voters, lastBroadcastAt, this.rules.ackQuorum(voters.length));
    if (q === undefined || !Number.isFinite(q)) return Number.NEGATIVE_INFINITY;
    return q + leaderLeaseDurationMs(this.timing.electionTimeoutMs, this.timing.clockDriftPpmMax);
  }

  /** A new leader: CheckQuorum first looks an election timeout from now. */
  armCheckQuorum(): void {
    this.checkQuorumDue = this.host.now() + this.timing.electionTimeoutMs;
  }

  checkQuorum(): void {
    const h = this.host;
    // CheckQuorum (Raft §6.2, etcd): once per election timeout, step down unless a
    // majority was heard from since the last check.
    const active = h.progress.takeActive((id) => (id === h.self ? h.selfVotes() : h.isVoter(id)));
    this.armCheckQuorum();
    if (active < majority(h.voters().length)) h.stepDown();
  }
}
