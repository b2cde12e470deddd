// The registry: Raft with PreVote (§9.6), CheckQuorum (§6.2), leader
// stickiness and a leader lease (DESIGN.md §2), single-server membership
// changes (dissertation §4.1), log compaction, snapshots in chunks. Elections (PreVote, votes, the leader lease,
// CheckQuorum, TimeoutNow) live in election.ts, a follower's side of replication in follower.ts, admission of
// incarnations in incarnation.ts, snapshot transfer in snapshot-transfer.ts. Raft only: it
// knows no tickets and no gossip (etcd's raft.go knows no application). What
// a committed entry means, what a snapshot's table holds and how a message
// travels is the host's business (member.ts), reached through RegistryHost.
//
// Pure and synchronous: time comes from the shared `time` the host moves
// forward; messages go out through the host's `send` in the order they are
// made, which the interaction scripts pin down.

import type { Entry, EntryData, RaftMessage } from '../messages.js';
import type { PersistBatch, Role } from '../ready.js';
import { assert, incarnationOf, index, ms, term, votes, type Index, type Member, type MemberId, type Term } from '../types.js';
import type { RegistryDeps, RegistryHost, RegistryLimits, RegistryRules, RegistryStart, RegistryTiming } from './host.js';
import { Election, type ElectionHost } from './election.js';
import { RaftLog } from './raft-log.js';
import { ProgressTracker, type Progress } from './tracker.js';
import { Admission, configuredIncarnation, type AdmissionHost } from './incarnation.js';
import { SnapshotSender, type ChunkOut } from './snapshot-transfer.js';
import { Follower, type FollowerHost } from './follower.js';

export type { RegistryHost, RegistryRules, VoteRequest, VoterState } from './host.js';

type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;

export class Registry {
  private readonly self: MemberId;
  private readonly timing: RegistryTiming;
  private readonly limits: RegistryLimits;
  private readonly rules: RegistryRules;
  private readonly time: { readonly now: number; readonly wallMs?: number | undefined };
  private readonly host: RegistryHost;

  // Raft persistent state.
  private currentTerm: Term;
  private votedFor: MemberId | null;
  private commit: Index;
  private hardStateDirty = false;
  private readonly log: RaftLog;

  // Raft volatile state.
  private role: Role = 'follower';
  private leader: MemberId | null = null;
  private applied: Index;
  private members: readonly Member[];
  /** Campaigns, votes, the vote block and hand-overs (election.ts). */
  private readonly election: Election;
  /** A follower's side of replication: appends and snapshot chunks from the leader (follower.ts). */
  private readonly follower: Follower;

  /** This store's incarnation, bootstrap and admission (docs/protocol.md §10). */
  private readonly admission: Admission;

  // Leader state.
  private readonly progress: ProgressTracker;
  private lastBroadcastAt = Number.NEGATIVE_INFINITY;
  private nextHeartbeatAt = 0;
  private leaderSince = 0;
  private leaderReadyIndex: Index = index(0);
  /** Sends snapshots in chunks to followers behind the log (snapshot-transfer.ts). */
  private readonly snapshots: SnapshotSender;

  constructor(deps: RegistryDeps, start: RegistryStart) {
    this.self = deps.self;
    this.timing = deps.timing;
    this.limits = deps.limits;
    this.rules = deps.rules;
    this.time = deps.time;
    this.host = deps.host;
    // sentAt: the heartbeat a chunk rides with; an answer dates the leader lease like an append's.
    const send = (to: MemberId, c: ChunkOut): void => this.host.send(to, { type: 'snapshot-chunk', term: this.currentTerm, ...c, sentAt: ms(this.lastBroadcastAt) });
    this.snapshots = new SnapshotSender({ codec: deps.snapshotCodec, limits: deps.limits, resendAfterMs: deps.timing.electionTimeoutMs, send, event: (e) => this.host.event(e) });
    this.progress = new ProgressTracker(deps.self);
    const s = start.snapshot;
    this.log = new RaftLog(s, start.entries, start.snapshotStored ?? true);
    this.follower = new Follower(deps.snapshotCodec, deps.limits, this.followerHost());
    this.currentTerm = start.hardState?.term ?? term(0);
    this.votedFor = start.hardState?.votedFor ?? null;
    // An empty store is a new incarnation: it must not vote as the member it may have been
    // (it may have voted in a term it no longer remembers) until admitted (§10). Persisted at once.
    this.admission = new Admission(start.hardState === null ? start.freshIncarnation : (start.hardState.incarnation ?? 0), this.admissionHost());
    if (start.hardState === null) this.hardStateDirty = true;
    this.commit = index(Math.max(start.hardState?.commit ?? 0, s.index));
    this.applied = s.index;
    this.members = this.log.latestMembers();
    this.election = new Election(deps.timing, deps.random, deps.rules, this.electionHost());
  }

  /** Applies what the store says is committed, then arms the election timer. Called once, when the host is ready. */
  start(): void {
    this.applyCommitted();
    // A formation of one: nobody to ask whether it is new.
    if (!this.admitted()) this.admission.maybeBootstrap();
  }

  private get now(): number { return this.time.now; }
  // ───────────────────────────── views ─────────────────────────────

  get term(): Term { return this.currentTerm; }
  get roleNow(): Role { return this.role; }
  get leaderNow(): MemberId | null { return this.leader; }
  get commitIndex(): Index { return this.commit; }
  get appliedIndex(): Index { return this.applied; }
  get lastIndex(): Index { return this.log.lastIndex(); }
  get snapshotIndex(): Index { return this.log.snapshot.index; }
  get config(): readonly Member[] { return this.members; }
  heardRecently(id: MemberId): boolean { return id === this.self || (this.role === 'leader' && (this.progress.get(id)?.ackedSentAt ?? -Infinity) >= this.now - this.timing.electionTimeoutMs); } // while leading: id answered a heartbeat sent within an election timeout (reconfig-check.ts)
  matchOf(id: MemberId): number { return this.role === 'leader' ? (this.progress.get(id)?.match ?? 0) : 0; } // while leading: up to where id's log is known to match ours (0: unknown)
  configAt(i: Index): readonly Member[] { return this.log.membersAt(i); } // in force at entry i, all that applying it may read (config: the latest, committed or not)

  isLeader(): boolean { return this.role === 'leader'; }

  /** Whether the configuration counts `id` as a voter (which incarnation of it: see admit()). */
  isVoter(id: MemberId): boolean {
    return this.members.some((m) => m.id === id && votes(m));
  }

  isMember(id: MemberId): boolean { return this.members.some((m) => m.id === id); }

  /** This store's incarnation (docs/protocol.md §10). */
  get incarnation(): number {
    return this.rules.emptyStoreRejoins ? this.admission.own : this.configuredIncarnation(this.self);
  }

  private configuredIncarnation(id: MemberId): number {
    return configuredIncarnation(this.members, id);
  }

  /** Whether the configuration admits this store's incarnation of this member (as voter or learner). */
  admitted(): boolean {
    const m = this.members.find((x) => x.id === this.self);
    return m !== undefined && incarnationOf(m) === this.incarnation;
  }

  /** Whether this member votes: the configuration lists it as a voter, at this store's incarnation. */
  selfVotes(): boolean {
    return this.isVoter(this.self) && this.admitted();
  }

  kindOf(id: MemberId): Member['kind'] | undefined { return this.members.find((m) => m.id === id)?.kind; }

  /** Entries appended but not yet committed (the leader's in-flight proposals). */
  uncommitted(): readonly Entry[] {
    return this.log.entriesAfter(this.commit);
  }

  /** Committed log entries still held in memory (above the snapshot). */
  committedEntries(): Entry[] {
    return this.log.slice(this.log.firstIndex(), this.commit - this.log.firstIndex() + 1);
  }

  /** The leader may vouch for the committed state: it leads, holds its lease and committed an entry of its term. */
  canServeLeases(now: number = this.now): boolean {
    return this.role === 'leader' && this.commit >= this.leaderReadyIndex && this.rules.hasLeaderLease(now, this.election.leaderLeaseEnd(this.lastBroadcastAt));
  }

  leaderLeaseEndNow(): number | null {
    return this.role === 'leader' ? this.election.leaderLeaseEnd(this.lastBroadcastAt) : null;
  }

  hasPersist(): boolean {
    return this.hardStateDirty || this.log.hasUnstable();
  }

  takePersist(): PersistBatch | null {
    if (!this.hasPersist()) return null;
    const u = this.log.takeUnstable();
    const batch: PersistBatch = {
      hardState: this.hardStateDirty ? { term: this.currentTerm, votedFor: this.votedFor, commit: this.commit, ...(this.admission.own === 0 ? {} : { incarnation: this.admission.own }) } : null,
      snapshot: u.snapshot,
      truncateFrom: u.truncateFrom,
      entries: u.entries,
    };
    this.hardStateDirty = false;
    return batch;
  }

  /** The earliest time at which onTime() has work to do (infinite for a non-voter). */
  nextDeadline(): number {
    if (!this.admitted()) return this.admission.nextJoinAt;
    if (!this.selfVotes()) return Number.POSITIVE_INFINITY;
    return this.role === 'leader' ? Math.min(this.nextHeartbeatAt, this.election.checkQuorumAt) : this.election.deadline;
  }

  // ───────────────────────────── inputs ─────────────────────────────

  /** Timers: CheckQuorum and heartbeats at a leader, the election timeout elsewhere. */
  onTime(): void {
    if (!this.admitted() && this.now >= this.admission.nextJoinAt) this.admission.sendJoin(this.now + this.timing.heartbeatIntervalMs);
    if (this.role === 'leader' && this.now >= this.election.checkQuorumAt) this.election.checkQuorum();
    if (this.role === 'leader') {
      if (this.now >= this.nextHeartbeatAt) this.broadcastAppend();
    } else if (this.selfVotes() && this.now >= this.election.deadline) {
      this.election.startPreVote();
    }
  }

  /**
   * The checks every registry-carried message passes first (a term seen in
   * any of them moves this member on). False when the message is consumed
   * here and its handler must not see it.
   */
  admit(from: MemberId, msg: RaftMessage): boolean {
    if (!this.isMember(from) && msg.type !== 'append' && msg.type !== 'snapshot-chunk') {
      // Unknown senders are refused by the transport; the core checks too (a removed member).
      this.host.event({ type: 'message-ignored', from, msgType: msg.type, reason: 'not a member' });
      return false;
    }
    if (msg.type === 'join' || msg.type === 'join-resp') return true; // outside terms: a joiner only asks
    // Another incarnation of the sender than the configuration admits never counts (incarnation.ts).
    if (this.admission.refuses(from, msg)) return false;
    // Inside the vote-blocked window a vote request is refused without adopting its term (election.ts).
    if (this.election.refusedWhileBlocked(from, msg)) return false;
    if (msg.term > this.currentTerm && msg.type !== 'pre-vote' && !(msg.type === 'pre-vote-resp' && msg.granted)) {
      const leader = msg.type === 'append' || msg.type === 'snapshot-chunk' ? from : null;
      this.becomeFollower(msg.term, leader);
    }
    return true;
  }

  /** One Raft message, after admit(). */
  step(from: MemberId, msg: Msg<'pre-vote' | 'pre-vote-resp' | 'vote' | 'vote-resp' | 'append' | 'append-resp' | 'snapshot-chunk' | 'snapshot-resp' | 'join' | 'join-resp' | 'timeout-now'>): void {
    switch (msg.type) {
      case 'timeout-now':
        return this.election.onTimeoutNow(from, msg);
      case 'join':
        return this.admission.onJoin(from, msg);
      case 'join-resp':
        return this.admission.onJoinResp(from, msg, this.admitted());
      case 'pre-vote':
        return this.election.onPreVote(from, msg);
      case 'pre-vote-resp':
        return this.election.onPreVoteResp(from, msg);
      case 'vote':
        return this.election.onVote(from, msg);
      case 'vote-resp':
        return this.election.onVoteResp(from, msg);
      case 'append':
        return this.follower.onAppend(from, msg);
      case 'append-resp':
        return this.onAppendResp(from, msg);
      case 'snapshot-chunk':
        return this.follower.onSnapshotChunk(from, msg);
      case 'snapshot-resp':
        return this.onSnapshotResp(from, msg);
    }
  }

  /** Appends an entry at the leader and replicates it at once rather than at the next heartbeat. */
  propose(data: EntryData): Index {
    assert(this.role === 'leader', 'only a leader proposes');
    const i = this.appendEntry(data);
    for (const [id, p] of this.progress.entries()) if (p.snapshot === null && p.next > p.match && p.next <= i) this.sendAppend(id, p);
    this.maybeCommit();
    return i;
  }

  // ─────────────────────────── elections ───────────────────────────

  private voters(): MemberId[] {
    return this.members.filter(votes).map((m) => m.id);
  }

  /** The incarnation tag of a message that counts toward a majority: absent for 0, so bootstrap members' messages are as before. */
  private inc(): { inc?: number } {
    const i = this.incarnation;
    return i === 0 ? {} : { inc: i };
  }

  /** Arms the first election timeout (after start-up has applied the committed log). */
  armElectionTimer(): void {
    this.election.resetTimer();
  }

  private becomeFollower(newTerm: Term, leader: MemberId | null): void {
    const wasLeader = this.role === 'leader';
    if (newTerm > this.currentTerm) {
      this.currentTerm = newTerm;
      this.votedFor = null;
      this.hardStateDirty = true;
    }
    if (wasLeader) {
      // Our own acknowledgement of ourselves lasts as long as any voter's.
      this.election.blockVotesUntil(this.lastBroadcastAt + this.timing.electionTimeoutMs);
      this.host.leftOffice();
      this.progress.clear();
    }
    const changed = this.role !== 'follower' || this.leader !== leader;
    this.role = 'follower';
    this.leader = leader;
    this.election.resetTimer();
    if (changed) this.emitRole();
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.self;
    this.leaderSince = this.now;
    // Every member, non-voters too: they catch up from the leader like the others (their acknowledgements count for nothing).
    this.progress.reset(this.members, this.log.lastIndex(), this.now);
    this.election.armCheckQuorum();
    this.host.tookOffice();
    this.emitRole();
    // Renewals are answered only after an entry of our term committed: then our table is complete.
    this.leaderReadyIndex = index(this.log.lastIndex() + 1);
    this.appendEntry({ type: 'noop' });
    this.broadcastAppend();
  }

  private emitRole(): void {
    this.host.event({ type: 'role', role: this.role, term: this.currentTerm, leader: this.leader });
  }

  // ─────────────────────────── replication ───────────────────────────

  private appendEntry(data: EntryData): Index {
    // The wall clock only labels the entry for people (history); nothing reads it to decide (DESIGN.md §1).
    const wallMs = this.time.wallMs;
    const e: Entry = { index: index(this.log.lastIndex() + 1), term: this.currentTerm, data, ...(wallMs === undefined ? {} : { wallMs }) };
    this.log.append(e);
    if (data.type === 'config') this.refreshMembers();
    this.maybeCommit();
    return e.index;
  }

  private broadcastAppend(): void {
    const t = this.timing;
    this.lastBroadcastAt = this.now;
    this.nextHeartbeatAt = this.now + t.heartbeatIntervalMs;
    this.election.blockVotesUntil(this.now + t.electionTimeoutMs);
    for (const [id, p] of this.progress.entries()) {
      // Two heartbeats unanswered: look for another way to this voter before CheckQuorum counts it out.
      if (this.lastBroadcastAt - Math.max(p.ackedSentAt, this.leaderSince) > 2 * t.heartbeatIntervalMs) this.host.probeRoute(id);
      if (p.snapshot !== null) {
        this.snapshots.heartbeat(id, p.snapshot, this.now, this.lastBroadcastAt);
      } else {
        // Resend from the last confirmed match: lost appends are repaired on the next heartbeat.
        p.next = p.match + 1;
        this.sendAppend(id, p);
      }
    }
  }

  private sendAppend(to: MemberId, p: Progress): void {
    assert(Number.isFinite(this.lastBroadcastAt), 'appends are sent only after the first broadcast of a term');
    if (p.snapshot !== null) return;
    // A non-voter catching up from 1 (it joined later) holds its own file's state at 0, not the formation's: a snapshot first (sim seed 12).
    if (p.next === 1 && !this.isVoter(to)) this.maybeCompact(true);
    // The follower needs entries compacted away: the snapshot, in chunks (snapshot-transfer.ts).
    if (p.next <= this.log.snapshot.index) return void (p.snapshot = this.snapshots.start(to, this.log.snapshot, this.now, this.lastBroadcastAt));
    const prevIndex = p.next - 1;
    const prevTerm = this.log.termAt(prevIndex);
    assert(prevTerm !== undefined, `no term at ${prevIndex}`);
    const entries = this.log.slice(p.next, this.limits.entriesPerAppendMax);
    this.host.send(to, {
      type: 'append',
      term: this.currentTerm,
      prevIndex: index(prevIndex),
      prevTerm,
      entries,
      commit: this.commit,
      sentAt: ms(this.lastBroadcastAt),
    });
    if (entries.length > 0) p.next = entries[entries.length - 1]!.index + 1;
  }

  private acknowledgeLeader(from: MemberId): void {
    if (this.role !== 'follower' || this.leader !== from) {
      this.role = 'follower';
      this.leader = from;
      this.emitRole();
      this.host.newLeader(from);
    }
    this.election.acknowledged(from);
  }

  private onAppendResp(from: MemberId, msg: Msg<'append-resp'>): void {
    if (this.role !== 'leader' || msg.term !== this.currentTerm) return;
    const p = this.progress.get(from);
    if (p === undefined) return;
    p.recentActive = true;
    if (msg.sentAt > p.ackedSentAt) p.ackedSentAt = msg.sentAt;
    if (msg.success) {
      if (msg.index > p.match) p.match = msg.index;
      if (p.next <= p.match) p.next = p.match + 1;
      // The follower installed the snapshot (or caught up otherwise): appends resume after it.
      if (p.snapshot !== null && this.snapshots.done(from, p.snapshot, p.match)) p.snapshot = null;
      this.maybeCommit();
      this.admission.maybePromote();
      // Entries still in flight advanced `next` past the end: nothing to send until the next heartbeat.
      if (this.role === 'leader' && p.next <= this.log.lastIndex()) this.sendAppend(from, p);
    } else {
      if (p.snapshot !== null) return; // a refusal from before the transfer: the snapshot answers for the log now
      if (msg.index < p.match) {
        // It acknowledged entries it no longer holds: a store lost without a new incarnation (§10). Never
        // counted on again past what it holds now, and probed from there rather than in a loop.
        this.host.event({ type: 'protocol-violation', from, msgType: msg.type, reason: `acknowledged index ${p.match}, now holds only up to ${msg.index}` });
        p.match = msg.index;
      }
      p.next = Math.max(1, Math.min(p.next - 1, msg.index + 1));
      if (p.next <= p.match) p.next = p.match + 1;
      this.sendAppend(from, p);
    }
  }

  private onSnapshotResp(from: MemberId, msg: Msg<'snapshot-resp'>): void {
    if (this.role !== 'leader' || msg.term !== this.currentTerm) return;
    const p = this.progress.get(from);
    if (p === undefined) return;
    p.recentActive = true;
    if (msg.sentAt > p.ackedSentAt) p.ackedSentAt = msg.sentAt;
    if (p.snapshot !== null) this.snapshots.onAnswer(from, p.snapshot, msg, this.now, this.lastBroadcastAt);
  }

  private maybeCommit(): void {
    if (this.role !== 'leader') return;
    const voters = this.voters();
    const n = this.progress.committable(voters, this.selfVotes(), this.log.lastIndex(), this.rules.ackQuorum(voters.length));
    // Raft §5.4.2: only entries of the current term commit by counting replicas.
    if (n !== undefined && n > this.commit && this.log.termAt(n) === this.currentTerm) this.setCommit(index(n));
  }

  private setCommit(i: Index): void {
    assert(i > this.commit, `commit index moves only forward: ${i} after ${this.commit}`);
    this.commit = i;
    this.follower.dropCovered(i);
    this.hardStateDirty = true;
    this.applyCommitted();
    // Tell followers at once: a new holder should not wait a heartbeat to learn its grant.
    if (this.role === 'leader') for (const [id, p] of this.progress.entries()) this.sendCommit(id, p);
  }

  /** An empty append at the follower's confirmed match point, carrying the new commit index. */
  private sendCommit(to: MemberId, p: Progress): void {
    const prevTerm = this.log.termAt(p.match);
    if (prevTerm === undefined || p.match === 0) return;
    this.host.send(to, { type: 'append', term: this.currentTerm, prevIndex: index(p.match), prevTerm, entries: [], commit: index(Math.min(this.commit, p.match)), sentAt: ms(this.lastBroadcastAt) });
  }

  private applyCommitted(): void {
    let changed = false;
    while (this.applied < this.commit) {
      const e = this.log.entry(this.applied + 1);
      assert(e !== undefined, `committed entry ${this.applied + 1} missing`);
      this.applied = e.index;
      const ok = this.host.applyEntry(e);
      changed = true;
      // A leader removed from the configuration steps down once the change is committed (dissertation §4.2.2).
      if (ok && this.role === 'leader' && e.data.type === 'config' && !this.selfVotes()) this.becomeFollower(this.currentTerm, null);
    }
    if (changed) {
      this.host.appliedBatch();
      this.maybeCompact();
    }
  }

  private maybeCompact(now = false): void {
    if (this.applied - this.log.snapshot.index < (now ? 1 : this.limits.logEntriesBeforeSnapshot)) return;
    const t = this.log.termAt(this.applied);
    assert(t !== undefined, 'term of applied entry');
    this.log.compact({ index: this.applied, term: t, members: this.log.membersAt(this.applied), table: this.host.snapshotTable() });
  }

  private refreshMembers(): void {
    const before = this.members;
    const members = this.log.latestMembers();
    this.members = members;
    this.host.membersChanged(before, members);
    if (this.role === 'leader') this.progress.follow(members, this.log.lastIndex());
  }

  // ─────────────────────────── incarnations (docs/protocol.md §10) ───────────────────────────

  /**
   * Whether the leader may propose a membership change now: one at a time (the last one
   * committed), and only after an entry of its own term committed (the single-server change
   * bug Ongaro's dissertation errata fixes: a change proposed before that can form disjoint
   * majorities with a change an earlier leader left uncommitted).
   */
  canChangeMembership(): boolean {
    const pending = this.rules.oneMembershipChangeAtATime && this.log.entriesAfter(this.commit).some((e) => e.data.type === 'config');
    return this.role === 'leader' && this.commit >= this.leaderReadyIndex && !pending;
  }

  /** Until when this member vouches for the last leader it acknowledged (or led as): it votes for no other before. */
  get votesBlockedUntil(): number {
    return this.election.votesBlockedUntil;
  }

  /**
   * A survivor that lost its majority for good writes a configuration without one (forced-removal.ts
   * checks when; docs/operations.md §8 (disaster recovery)): in a term of its own, as a candidate's (no other member made
   * entries in it), then campaigns by it at once: a configuration counts once in the log (§4.1).
   */
  forceConfiguration(data: Extract<EntryData, { type: 'config' }>): Index {
    assert(this.role !== 'leader' && this.selfVotes() && data.members.some((m) => m.id === this.self), 'a forced configuration is written by a voting non-leader that it keeps');
    this.currentTerm = term(this.currentTerm + 1);
    this.votedFor = this.self;
    this.hardStateDirty = true;
    this.becomeFollower(this.currentTerm, null);
    const i = this.appendEntry(data);
    this.election.startPreVote();
    return i;
  }

  /** A leading site hands over to an arbitrator (election.ts) once an entry of its term committed. The target or null. */
  preferArbitrator(): MemberId | null {
    return this.role === 'leader' && this.commit >= this.leaderReadyIndex ? this.election.preferArbitrator(this.lastBroadcastAt) : null;
  }

  /** Hands leadership over before this leader leaves the configuration (election.ts); the target or null. */
  transferLeadership(): MemberId | null {
    return this.election.transferLeadership();
  }

  private followerHost(): FollowerHost {
    return {
      log: this.log,
      term: () => this.currentTerm,
      role: () => this.role,
      leader: () => this.leader,
      admitted: () => this.admitted(),
      commitIndex: () => this.commit,
      members: () => this.members,
      inc: () => this.inc(),
      send: (to, msg) => this.host.send(to, msg),
      event: (e) => this.host.event(e),
      acknowledgeLeader: (leader) => this.acknowledgeLeader(leader),
      refreshMembers: () => this.refreshMembers(),
      setCommit: (i) => this.setCommit(i),
      installed: (s) => {
        this.refreshMembers();
        this.commit = s.index;
        this.applied = s.index;
        this.hardStateDirty = true;
        this.host.installSnapshot(s);
      },
    };
  }

  private electionHost(): ElectionHost {
    return {
      self: this.self,
      log: this.log,
      now: () => this.now,
      term: () => this.currentTerm,
      votedFor: () => this.votedFor,
      role: () => this.role,
      leader: () => this.leader,
      voters: () => this.voters(),
      isVoter: (id) => this.isVoter(id),
      kindOf: (id) => this.kindOf(id),
      selfVotes: () => this.selfVotes(),
      inc: () => this.inc(),
      progress: this.progress,
      send: (to, msg) => this.host.send(to, msg),
      probeRoute: (member) => this.host.probeRoute(member),
      campaign: (role) => {
        if (role === 'candidate') {
          this.currentTerm = term(this.currentTerm + 1);
          this.votedFor = this.self;
          this.hardStateDirty = true;
        }
        this.role = role;
        this.leader = null;
      },
      recordVote: (candidate) => {
        this.votedFor = candidate;
        this.hardStateDirty = true;
      },
      emitRole: () => this.emitRole(),
      becomeLeader: () => this.becomeLeader(),
      stepDown: () => this.becomeFollower(this.currentTerm, null),
    };
  }

  private admissionHost(): AdmissionHost {
    return {
      self: this.self,
      now: () => this.now,
      electionTimeoutMs: this.timing.electionTimeoutMs,
      members: () => this.members,
      neverTookPart: () => this.currentTerm === 0 && this.log.lastIndex() === 0,
      holdsNothing: () => this.votedFor === null && this.log.lastIndex() === 0,
      vouchesFor: (counted, asking) => this.rules.vouchesFor(counted, asking),
      term: () => this.currentTerm,
      leader: () => this.leader,
      commitIndex: () => this.commit,
      progressOf: (id) => this.progress.get(id),
      canChangeMembership: () => this.canChangeMembership(),
      propose: (data) => void this.propose(data),
      send: (to, msg) => this.host.send(to, msg),
      event: (e) => this.host.event(e),
      bootstrapped: () => void (this.hardStateDirty = true),
    };
  }
}
