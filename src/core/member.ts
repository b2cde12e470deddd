// One formation member's protocol core: the registry (Raft with PreVote,
// CheckQuorum, leader stickiness and a leader lease), the leader's view of
// ticket leases and automatic placement, and — at sites — the holder side
// (SiteHolder). Pure and synchronous: inputs carry the monotonic `now`, the
// output is one Ready at a time (see ready.ts for how the host handles it).
//
// Gossip (DESIGN.md §3) rides along when the host passes `gossip` in
// MemberInit: a SwimNode (swim.ts) probes the other members, disseminates
// committed ticket state and site health, and tells the registry how to reach
// each member — directly, or through a member that reaches it (relay). The
// registry decides ownership alone; gossip only changes which paths its
// messages take and what the `peers` and `list --local` views show.
//
// Test-only variants (the simulator's mutants) subclass Member and override
// the protected decision methods below; the shipped core has no switch.

import { validateCoreConfig, type CoreConfig } from './config.js';
import { driftStretch, holderLeaseEnd, leaderLeaseDurationMs, leaderViewEnd } from './tickets/lease.js';
import { isSwimMessage, siteHealthRumorKind, ticketRumorKind, type Cause, type TicketRumor, type Entry, type EntryData, type Envelope, type RaftMessage, type RenewItem, type RenewRefusal, type SiteHealth, type Snapshot } from './messages.js';
import { chooseSite, isEligible, type SiteView } from './tickets/placement.js';
import { majority, quorumValue } from './registry/quorum.js';
import { RaftLog } from './registry/raft-log.js';
import type { RandomSource } from './random.js';
import type { AdminCommand, CommandErrorCode, CoreEvent, HardState, PersistedState, Ready, Report, Role } from './ready.js';
import { SiteHolder, type CibTicketState, type GuardUpdate, type TicketEffect } from './tickets/site-holder.js';
import { TicketTable, type TicketState } from './tickets/ticket-table.js';
import { SwimNode, type ClaimAuthenticator, type Route, type Rumor, type SwimEvent, type SwimLimits, type SwimTiming, type SwimView } from './gossip/swim.js';
import {
  AssertionError,
  assert,
  generation,
  index,
  ms,
  term,
  type Generation,
  type Index,
  type Member as MemberInfo,
  type MemberId,
  type Ms,
  type Term,
} from './types.js';

export interface MemberInit {
  readonly now: Ms;
  readonly random: RandomSource;
  /** The store's content; absent on a member's very first start. */
  readonly persisted?: PersistedState;
  /** The CIB's ticket state at start-up (sites only). */
  readonly cib?: readonly CibTicketState[];
  /**
   * First renewal sequence number of this incarnation: must exceed every seq an
   * earlier incarnation of this member used, so a delayed answer to an old
   * renewal never matches a new one. Default: now·2¹⁶ (the monotonic clock
   * keeps growing across restarts within a boot); the site agent passes its
   * persisted epoch·2³², which also holds across reboots.
   */
  readonly renewSeqStart?: number;
  /**
   * Gossip (DESIGN.md §3). Every real member passes it (the site agent with
   * Ed25519 claims, the simulator with a deterministic stand-in); without it
   * the member runs the registry alone, which the registry's own unit tests
   * and the interaction scripts that predate gossip do.
   */
  readonly gossip?: GossipInit;
}

export interface GossipInit {
  /** SWIM/Lifeguard timing: swimPresets[preset] (src/config maps the formation's preset). */
  readonly timing: SwimTiming;
  readonly limits?: SwimLimits;
  /**
   * Gossip's own random stream, separate from the registry's: the registry's
   * draws (election timeouts) stay what they were without gossip, so a seed
   * replays the same elections.
   */
  readonly random: RandomSource;
  /** Signs the membership claims and rumors this member originates and checks others' (Ed25519 in the runtime). */
  readonly auth: ClaimAuthenticator;
  /**
   * Must exceed every value an earlier run of this member used (the site
   * agent passes its persisted start epoch): it is the first SWIM
   * incarnation, and it numbers this member's site-health rumors
   * (incarnation·2²⁰ + a counter), which must outrank an earlier run's.
   */
  readonly incarnation: number;
}

/** What this member learned through gossip about a ticket: the newest rumor, and when it arrived here. */
export interface TicketSeen extends TicketRumor {
  readonly index: Index;
  readonly origin: MemberId;
  readonly receivedAt: Ms;
}

export interface SiteHealthSeen {
  readonly site: MemberId;
  readonly health: SiteHealth;
  readonly version: number;
  /** When this member learned it (its own clock); its own health: when it was reported. */
  readonly receivedAt: Ms;
}

/** A ticket as `list --local` shows it: the committed table, or newer committed state learned by gossip. */
export interface LocalTicketView {
  readonly state: TicketState;
  /** 'table': this member's applied log; 'gossip': a newer commit the leader published, not yet applied here. */
  readonly source: 'table' | 'gossip';
  /** Index of the newest commit reflected. */
  readonly index: Index;
}

/** Bound on the rumor counter of one incarnation (site-health versions are incarnation·2²⁰ + counter). */
const healthRumorsPerIncarnationMax = 2 ** 20 - 1;

interface Progress {
  match: number;
  next: number;
  /** Leader-clock send time of the newest heartbeat this voter answered (leader lease). */
  ackedSentAt: number;
  recentActive: boolean;
}

interface LeaseView {
  readonly holder: MemberId;
  readonly generation: Generation;
  until: number;
  /**
   * Where the view comes from: 'office' (assumed when this leader took office:
   * renewals answered by an earlier leader are unknown), 'commit' (the grant
   * committed under this leader, no renewal answered yet) or the seq of the
   * newest renewal this leader answered for it.
   */
  basis: 'office' | 'commit' | number;
  /** For a view assumed on taking office: its end, which bounds every earlier leader's answers. */
  readonly officeUntil: number | null;
}

interface PendingGrant {
  readonly commandId: string;
  readonly site: MemberId;
}

export interface MemberStatus {
  readonly id: MemberId;
  readonly role: Role;
  readonly term: Term;
  readonly leader: MemberId | null;
  readonly commit: Index;
  readonly lastIndex: Index;
  readonly members: readonly MemberInfo[];
  readonly leaderLeaseEnd: number | null;
}

const noHealth: SiteHealth = { quorate: true, handlersOk: true, unrunnable: [] };

const rumorKinds = {
  [ticketRumorKind]: { priority: 50 },
  [siteHealthRumorKind]: { priority: 60 },
};

export class Member {
  readonly id: MemberId;
  protected readonly config: CoreConfig;
  private readonly random: RandomSource;
  private now: number;

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
  private members: readonly MemberInfo[];
  private table: TicketTable;
  private electionDeadline = 0;
  /** Votes refused until then: this member acknowledged a leader (or is one) — the leader lease's other half. */
  private voteBlockedUntil: number;
  private votes = new Map<MemberId, boolean>();

  // Leader state.
  private progress = new Map<MemberId, Progress>();
  private lastBroadcastAt = Number.NEGATIVE_INFINITY;
  private nextHeartbeatAt = 0;
  private checkQuorumAt = 0;
  private leaderSince = 0;
  private leaderReadyIndex: Index = index(0);
  private readonly leases = new Map<string, LeaseView>();
  private readonly sites = new Map<MemberId, SiteView>();
  private readonly proposals = new Map<number, string>();
  private readonly pendingGrants = new Map<string, PendingGrant>();
  private placeUnheldFrom = 0;

  /** The latest leader this member acknowledged: whom to look for a way to when it falls silent. */
  private lastLeaderSeen: MemberId | null = null;

  // Site state.
  private readonly holder: SiteHolder | null;
  private health: SiteHealth = noHealth;
  private lastRenewTo: MemberId | null = null;

  // Output being collected for the next Ready.
  private outMessages: Envelope[] = [];
  private outEffects: TicketEffect[] = [];
  private outGuard: GuardUpdate[] = [];
  private outEvents: CoreEvent[] = [];
  private readonly selfQueue: RaftMessage[] = [];
  private settlePending = true;

  // Gossip (null when the host runs the registry alone).
  private swim: SwimNode | null = null;
  private healthIncarnation = 0;
  private healthRumors = 0;
  private readonly ticketsSeen = new Map<string, TicketSeen>();
  private readonly healthSeen = new Map<MemberId, SiteHealthSeen>();

  constructor(config: CoreConfig, init: MemberInit) {
    const problems = validateCoreConfig(config);
    if (problems.length > 0) {
      throw new AssertionError(`invalid core config: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    }
    this.config = config;
    this.id = config.self;
    this.random = init.random;
    this.now = init.now;
    const limits = config.limits;
    const p = init.persisted;
    const snapshot: Snapshot = p?.snapshot ?? {
      index: index(0),
      term: term(0),
      members: config.members,
      table: TicketTable.fromDefs(config.tickets, limits).snapshot(),
    };
    this.log = new RaftLog(snapshot, p?.entries ?? []);
    this.currentTerm = p?.hardState.term ?? term(0);
    this.votedFor = p?.hardState.votedFor ?? null;
    this.commit = index(Math.max(p?.hardState.commit ?? 0, snapshot.index));
    this.applied = snapshot.index;
    this.table = TicketTable.fromSnapshot(snapshot.table, limits);
    this.members = snapshot.members;
    this.refreshMembers();
    const g = init.gossip;
    if (g !== undefined) {
      assert(Number.isSafeInteger(g.incarnation) && g.incarnation >= 0 && g.incarnation < 2 ** 32, 'gossip incarnation must be an integer in [0, 2^32)');
      const ids = this.members.map((m) => m.id);
      // A member removed from the formation still knows itself (SwimNode requires it).
      if (!ids.includes(this.id)) ids.push(this.id);
      this.swim = new SwimNode(
        {
          self: this.id,
          members: ids,
          timing: g.timing,
          ...(g.limits === undefined ? {} : { limits: g.limits }),
          now: init.now,
          incarnation: g.incarnation,
          indirectProbes: this.useIndirectProbes(),
          rumorKinds,
        },
        { random: g.random, auth: g.auth },
      );
      this.healthIncarnation = g.incarnation;
    }
    // A restarted member may have acknowledged a leader just before it died;
    // it must not vote until that acknowledgement has run out (leader lease).
    this.voteBlockedUntil = this.now + config.timing.electionTimeoutMs;
    const selfInfo = config.members.find((m) => m.id === config.self);
    this.holder =
      selfInfo?.kind === 'site'
        ? new SiteHolder(config.self, limits.renewalsInFlightMax, config.timing.effectRetryMs, {
            leaseEnd: (s, r, d) => this.holderLeaseEndFor(s, r, d),
          }, init.cib ?? [], this.now, init.renewSeqStart ?? this.now * 2 ** 16 + 1)
        : null;
    this.applyCommitted();
    this.holder?.syncWithTable(this.table.all(), this.now);
    this.resetElectionTimer();
    this.settle();
  }

  // ───────────────────────────── inputs ─────────────────────────────

  step(env: Envelope, now: Ms): void {
    this.advanceTime(now);
    if (env.to !== this.id) {
      this.ignored(env.from, env.msg.type, 'addressed to another member');
      this.finishInput();
      return;
    }
    const msg = env.msg;
    // It came through a relay: the sender's direct path to us is broken, maybe ours to it too.
    if (env.via !== undefined) this.probeRoute(env.from);
    if (isSwimMessage(msg)) {
      if (this.swim === null) this.ignored(env.from, msg.type, 'gossip is off here');
      else this.swim.onMessage(env.from, msg, now);
    } else {
      this.dispatch(env.from, msg);
    }
    this.finishInput();
  }

  tick(now: Ms): void {
    this.advanceTime(now);
    this.finishInput();
  }

  command(cmd: AdminCommand, now: Ms): void {
    this.advanceTime(now);
    this.handleCommand(cmd);
    this.finishInput();
  }

  report(r: Report, now: Ms): void {
    this.advanceTime(now);
    switch (r.type) {
      case 'effect-result':
        this.holder?.onEffectResult(r.id, r.ok, this.now, r.skipped ?? []);
        break;
      case 'health': {
        const isOk = r.health.quorate && r.health.handlersOk;
        const previous = this.health;
        const wasOk = previous.quorate && previous.handlersOk;
        const wasUnrunnable = previous.unrunnable;
        this.health = r.health;
        // A site without local quorum, or whose handlers fail, gives its tickets up (DESIGN.md §4);
        // a ticket it cannot run (its handler failed, or not runnable here) is given up alone. The
        // leader hears at once (the renewal carries the health) so the site is not chosen again.
        this.holder?.setHealthy(isOk);
        this.holder?.setBlocked(new Set(r.health.unrunnable));
        const changed = previous.quorate !== r.health.quorate || previous.handlersOk !== r.health.handlersOk || !sameNames(wasUnrunnable, r.health.unrunnable);
        if ((wasOk !== isOk || !sameNames(wasUnrunnable, r.health.unrunnable)) && this.holder !== null) this.sendRenewal();
        if (changed || !this.healthSeen.has(this.id)) this.publishHealth();
        break;
      }
    }
    this.finishInput();
  }

  hasReady(): boolean {
    this.settle();
    return (
      this.outMessages.length > 0 ||
      (this.swim?.hasReady() ?? false) ||
      this.outEffects.length > 0 ||
      this.outGuard.length > 0 ||
      this.outEvents.length > 0 ||
      this.hardStateDirty ||
      this.log.hasUnstable()
    );
  }

  ready(): Ready {
    this.settle();
    this.collectGossip();
    let persist: Ready['persist'] = null;
    if (this.hardStateDirty || this.log.hasUnstable()) {
      const u = this.log.takeUnstable();
      persist = {
        hardState: this.hardStateDirty ? this.hardState() : null,
        snapshot: u.snapshot,
        truncateFrom: u.truncateFrom,
        entries: u.entries,
      };
      this.hardStateDirty = false;
    }
    const r: Ready = { persist, messages: this.outMessages, effects: this.outEffects, guard: this.outGuard, events: this.outEvents };
    this.outMessages = [];
    this.outEffects = [];
    this.outGuard = [];
    this.outEvents = [];
    return r;
  }

  /** Acknowledges that a Ready was carried out (persisted, sent, effects started). */
  advance(_ready: Ready): void {
    // Nothing is retained between ready() and advance(): the batch is handed
    // over whole. The call stays part of the contract so that the host's
    // order is explicit and a future pipelined host has a place to hook in.
  }

  /** The earliest monotonic time at which tick() has work to do. */
  nextDeadline(): Ms {
    this.settle();
    const t = this.config.timing;
    let next = Number.POSITIVE_INFINITY;
    if (this.isVoter(this.id)) {
      if (this.role === 'leader') {
        next = Math.min(next, this.nextHeartbeatAt, this.checkQuorumAt);
        for (const v of this.leases.values()) if (v.until > this.now) next = Math.min(next, v.until);
        for (const v of this.leases.values()) if (v.until === this.now) next = Math.min(next, this.now + 1);
        // Placement needs a periodic look even without expiries (sites coming back).
        next = Math.min(next, this.now + t.renewIntervalMs);
      } else {
        next = Math.min(next, this.electionDeadline);
      }
    }
    if (this.holder !== null) {
      next = Math.min(next, this.holder.lastRenewSentAt + (this.holder.hasUnanswered() ? t.renewRetryMs : t.renewIntervalMs));
      next = Math.min(next, this.holder.nextDeadline(this.now));
    }
    if (this.swim !== null) next = Math.min(next, this.swim.nextDeadline());
    return ms(Math.max(next, this.now));
  }

  status(): MemberStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.currentTerm,
      leader: this.leader,
      commit: this.commit,
      lastIndex: this.log.lastIndex(),
      members: this.members,
      leaderLeaseEnd: this.role === 'leader' ? this.leaderLeaseEnd() : null,
    };
  }

  tickets(): TicketState[] {
    return [...this.table.all()];
  }

  /**
   * A linearizable read of the ticket table: answered by a leader that has
   * committed an entry of its term and still holds its leader lease at `now`
   * (Raft §6.4, lease-based reads; safe under the drift bound). Null when this
   * member cannot vouch for the table; the caller asks the leader instead.
   */
  readLinearizable(now: Ms): TicketState[] | null {
    if (now < this.now) return null;
    if (this.role !== 'leader' || this.commit < this.leaderReadyIndex || !this.hasLeaderLease(now)) return null;
    return [...this.table.all()];
  }

  ticket(name: string): TicketState | undefined {
    return this.table.get(name);
  }

  history(ticket?: string): ReturnType<TicketTable['historyOf']> {
    return this.table.historyOf(ticket);
  }

  /** The holder side's view of a ticket (sites only). */
  holderView(name: string): ReturnType<SiteHolder['view']> {
    this.settle();
    return this.holder?.view(name);
  }

  /** The leader's view of a ticket's lease (leader only). */
  leaseView(name: string): { holder: MemberId; generation: Generation; until: number } | undefined {
    const v = this.leases.get(name);
    return v === undefined ? undefined : { ...v };
  }

  /** Committed log entries still held in memory (above the snapshot), for checkers. */
  committedEntries(): Entry[] {
    return this.log.slice(this.log.firstIndex(), this.commit - this.log.firstIndex() + 1);
  }

  snapshotIndex(): Index {
    return this.log.snapshot.index;
  }

  // ─────────────────────────── gossip views ───────────────────────────

  /** The gossip layer's view (who is alive, suspect or dead, round trips, routes); null when gossip is off. */
  peers(): SwimView | null {
    return this.swim?.view() ?? null;
  }

  /**
   * How this member reaches `member` now (DESIGN.md §3.2): directly, or
   * through whom. Without gossip every route is direct.
   */
  routeTo(member: MemberId): Route | null {
    return this.swim === null ? { direct: true } : this.swim.routeTo(member);
  }

  /**
   * Whether this member passes another member's frame on to `member`
   * (DESIGN.md §3.2; the runtime asks before relaying). Yes unless gossip
   * holds it dead. The plan was "only along a direct route", to keep relays
   * one hop; the transport already guarantees that (a relay passes on only
   * frames written by the member that handed them over), and under loss
   * "direct" flips to "failed" with one lost probe: in the simulator's bridge
   * scenario at 30 % loss relays refused for seconds on end and tickets failed
   * over. A frame sent down a link that is really broken costs one message.
   */
  canRelayTo(member: MemberId): boolean {
    return member !== this.id && (this.swim === null || this.swim.stateOf(member) !== 'dead');
  }

  /** Site health as gossip spread it (this site's own included): the picture every member shows. */
  siteHealth(): SiteHealthSeen[] {
    return [...this.healthSeen.values()].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
  }

  /** The newest committed state of a ticket learned through gossip (the leader's publication), if any. */
  ticketSeen(name: string): TicketSeen | undefined {
    return this.ticketsSeen.get(name);
  }

  /**
   * The ticket table as `list --local` shows it: this member's applied state,
   * except where gossip brought a commit newer than everything applied here
   * (the leader published it; replication has not caught up, e.g. behind a
   * lossy link). Both are committed state; neither decides anything here.
   */
  localTickets(): LocalTicketView[] {
    const out: LocalTicketView[] = [];
    const names = new Set<string>();
    for (const t of this.table.all()) {
      names.add(t.def.name);
      const seen = this.ticketsSeen.get(t.def.name);
      if (seen !== undefined && seen.index > this.applied) {
        if (seen.removed) continue;
        out.push({ state: { ...t, holder: seen.holder, generation: seen.generation, standby: seen.standby, managed: seen.managed }, source: 'gossip', index: seen.index });
      } else {
        out.push({ state: t, source: 'table', index: this.applied });
      }
    }
    return out;
  }

  // ─────────────────── decisions that test mutants override ───────────────────

  /** DESIGN.md §2: the holder's lease runs from its send time. */
  protected holderLeaseEndFor(sentAt: number, _receivedAt: number, leaseDurationMs: number): number {
    return holderLeaseEnd(sentAt, leaseDurationMs);
  }

  /** DESIGN.md §2: the leader's view runs from receipt, stretched by the drift bound. */
  protected leaderViewFor(receivedAt: number, leaseDurationMs: number): number {
    return leaderViewEnd(receivedAt, leaseDurationMs, this.config.timing.clockDriftPpmMax);
  }

  /** DESIGN.md §2: a new leader treats every held ticket as renewed when it took office. */
  protected viewOnTakingOffice(now: number, leaseDurationMs: number): number {
    return leaderViewEnd(now, leaseDurationMs, this.config.timing.clockDriftPpmMax);
  }

  /** The leader answers renewals only while its leader lease holds. */
  protected hasLeaderLease(now: number): boolean {
    return now < this.leaderLeaseEnd();
  }

  /** Acknowledgements (own included) that make a quorum for commit and the leader lease. */
  protected ackQuorum(voters: number): number {
    return majority(voters);
  }

  /** Raft §5.4.1 up-to-date check, for subclasses. */
  protected logUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    return this.log.isUpToDate(lastIndex, lastTerm);
  }

  /**
   * DESIGN.md §3.2: how a registry message to `to` travels. The gossip
   * layer's answer: direct while our latest direct probe of `to` succeeded,
   * else through a member that recently reached it for us.
   */
  protected routeFor(to: MemberId): Route | null {
    return this.swim === null ? { direct: true } : this.swim.routeTo(to);
  }

  /** SWIM §3.1: a missed direct probe is retried through k other members before anyone is suspected. */
  protected useIndirectProbes(): boolean {
    return true;
  }

  /** Raft §5.2/§5.4: one vote per term, only for a log at least as up to date. */
  protected shouldGrantVote(from: MemberId, reqTerm: Term, lastIndex: Index, lastTerm: Term): boolean {
    if (reqTerm !== this.currentTerm) return false;
    if (this.votedFor !== null && this.votedFor !== from) return false;
    return this.log.isUpToDate(lastIndex, lastTerm);
  }

  // ───────────────────────────── time ─────────────────────────────

  private advanceTime(now: Ms): void {
    assert(Number.isFinite(now), 'now must be finite');
    assert(now >= this.now, `monotonic time went backwards: ${now} < ${this.now}`);
    this.now = now;
    // Gossip runs on the same inputs: its timers fire, and routes are judged at the current time.
    this.swim?.tick(now);
    const t = this.config.timing;
    if (this.role === 'leader') {
      if (this.now >= this.checkQuorumAt) this.checkQuorum();
    }
    if (this.role === 'leader') {
      if (this.now >= this.nextHeartbeatAt) this.broadcastAppend();
    } else if (this.isVoter(this.id) && this.now >= this.electionDeadline) {
      this.startPreVote();
    }
    if (this.holder !== null) {
      const due = this.holder.lastRenewSentAt + (this.holder.hasUnanswered() ? t.renewRetryMs : t.renewIntervalMs);
      if (this.now >= due) this.sendRenewal();
    }
  }

  private finishInput(): void {
    this.drainSelfQueue();
    this.collectGossip();
    // Placement and the CIB reconcile look at every ticket: they run once per Ready
    // (settle, from hasReady/ready/nextDeadline), not once per input, so a host that
    // feeds several inputs before taking a Ready pays for them once.
    this.settlePending = true;
  }

  /** Runs the whole-table work deferred by finishInput. Idempotent until the next input. */
  private settle(): void {
    if (!this.settlePending) return;
    this.settlePending = false;
    if (this.role === 'leader') {
      this.placeTickets();
      this.drainSelfQueue();
    }
    this.reconcile();
  }

  // ─────────────────────────── dispatch ───────────────────────────

  private dispatch(from: MemberId, msg: RaftMessage): void {
    if (!this.members.some((m) => m.id === from) && msg.type !== 'append' && msg.type !== 'snapshot') {
      // Unknown senders are refused by the transport; the core checks too (a removed member).
      this.ignored(from, msg.type, 'not a member');
      return;
    }
    // Vote requests inside the vote-blocked window are ignored entirely, without
    // adopting their term: leader stickiness, and the leader lease relies on it.
    if ((msg.type === 'vote' || msg.type === 'pre-vote') && msg.term > this.currentTerm && this.now < this.voteBlockedUntil) {
      this.send(from, { type: msg.type === 'vote' ? 'vote-resp' : 'pre-vote-resp', term: this.currentTerm, granted: false });
      return;
    }
    if (msg.term > this.currentTerm && msg.type !== 'pre-vote' && !(msg.type === 'pre-vote-resp' && msg.granted)) {
      const leader = msg.type === 'append' || msg.type === 'snapshot' ? from : null;
      this.becomeFollower(msg.term, leader);
    }
    switch (msg.type) {
      case 'pre-vote':
        return this.onPreVote(from, msg);
      case 'pre-vote-resp':
        return this.onPreVoteResp(from, msg);
      case 'vote':
        return this.onVote(from, msg);
      case 'vote-resp':
        return this.onVoteResp(from, msg);
      case 'append':
        return this.onAppend(from, msg);
      case 'append-resp':
        return this.onAppendResp(from, msg);
      case 'snapshot':
        return this.onSnapshot(from, msg);
      case 'renew':
        return this.onRenew(from, msg);
      case 'renew-resp':
        return this.onRenewResp(from, msg);
      case 'released':
        return this.onReleased(from, msg);
    }
  }

  private send(to: MemberId, msg: RaftMessage): void {
    if (to === this.id) {
      this.selfQueue.push(msg);
      return;
    }
    this.outMessages.push({ from: this.id, to, msg });
    // DESIGN.md §3.2 relay: our latest direct probe of `to` failed but another
    // member reached it for us. The message also goes through that member. The
    // direct copy still goes out: one lost probe marks a working link as
    // failed until the next probe of it, and on a lossy link two independent
    // paths beat one path of two lossy hops. Duplicates are harmless (Raft
    // and renewals are idempotent; the wire numbers each copy).
    const route = this.routeFor(to);
    if (route === null) {
      // The direct link failed and no member has reached `to` for us yet: try
      // through every member not known dead (at most n − 2 copies) until a
      // probe finds the way. Finding it can take several probe rounds under
      // heavy loss (30 %: each indirect probe needs four messages through) —
      // in the simulator's bridge scenario with the wan preset, longer than a
      // lease — while one of these copies gets through in a round trip.
      for (const via of this.swim?.relayCandidates(to) ?? []) this.outMessages.push({ from: this.id, to, msg, via });
    } else if ('via' in route && route.via !== to && route.via !== this.id) {
      this.outMessages.push({ from: this.id, to, msg, via: route.via });
    }
  }

  /** Asks gossip to find out at once how `member` can be reached (swim.ts, route probes); rate-limited there. */
  private probeRoute(member: MemberId): void {
    if (member !== this.id) this.swim?.probeRoute(member, ms(this.now));
  }

  /** Moves the gossip layer's output into this member's Ready and applies the rumors it accepted. */
  private collectGossip(): void {
    const swim = this.swim;
    if (swim === null || !swim.hasReady()) return;
    const r = swim.ready();
    for (const m of r.messages) this.outMessages.push({ from: m.from, to: m.to, msg: m.msg });
    for (const e of r.events) this.onGossipEvent(e);
  }

  private onGossipEvent(e: SwimEvent): void {
    switch (e.type) {
      case 'member-state':
        this.outEvents.push({ type: 'member-state', member: e.member, previous: e.previous, state: e.state, incarnation: e.incarnation, origin: e.origin });
        return;
      case 'refuted':
        this.outEvents.push({ type: 'refuted', incarnation: e.incarnation, accusedIncarnation: e.accusedIncarnation, origin: e.origin });
        return;
      case 'stalled':
        this.outEvents.push({ type: 'stalled', gapMs: e.gapMs });
        return;
      case 'rejected':
        this.outEvents.push({ type: 'gossip-rejected', from: e.from, item: e.item, reason: e.reason });
        return;
      case 'rumor':
        this.onRumor(e.rumor, e.from);
        return;
    }
  }

  /** A rumor newer than any this member had. The wire schema checked its payload's shape for its kind. */
  private onRumor(r: Rumor, from: MemberId): void {
    if (r.kind === ticketRumorKind) {
      const p = r.payload as TicketRumor;
      this.ticketsSeen.set(r.key, { ...p, index: index(r.version), origin: r.origin, receivedAt: ms(this.now) });
    } else if (r.kind === siteHealthRumorKind) {
      // Only a site speaks for its own health.
      if (r.origin !== r.key || this.members.find((m) => m.id === r.origin)?.kind !== 'site') {
        this.outEvents.push({ type: 'gossip-rejected', from, item: 'rumor', reason: 'wrong-origin' });
        return;
      }
      this.healthSeen.set(r.origin, { site: r.origin, health: r.payload as SiteHealth, version: r.version, receivedAt: ms(this.now) });
    }
  }

  /** The leader publishes a committed change of a ticket (DESIGN.md §3.3). */
  private publishTicket(name: string, at: Index): void {
    if (this.swim === null) return;
    const t = this.table.get(name);
    const lease = this.leases.get(name);
    const payload: TicketRumor =
      t === undefined
        ? { holder: null, generation: generation(0), standby: false, managed: false, removed: true, leaseLeftMs: null }
        : {
            holder: t.holder,
            generation: t.generation,
            standby: t.standby,
            managed: t.managed,
            removed: false,
            leaseLeftMs: t.holder !== null && lease !== undefined && lease.holder === t.holder ? Math.max(0, Math.floor(lease.until - this.now)) : null,
          };
    this.swim.piggyback(ticketRumorKind, name, at, payload);
    this.ticketsSeen.set(name, { ...payload, index: at, origin: this.id, receivedAt: ms(this.now) });
  }

  /** A site publishes its health (local quorum, handlers, runnability) whenever it changes. */
  private publishHealth(): void {
    const selfInfo = this.members.find((m) => m.id === this.id);
    this.healthSeen.set(this.id, { site: this.id, health: this.health, version: 0, receivedAt: ms(this.now) });
    if (this.swim === null || selfInfo?.kind !== 'site' || this.healthRumors >= healthRumorsPerIncarnationMax) return;
    this.healthRumors += 1;
    const version = this.healthIncarnation * 2 ** 20 + this.healthRumors;
    this.swim.piggyback(siteHealthRumorKind, this.id, version, this.health);
    this.healthSeen.set(this.id, { site: this.id, health: this.health, version, receivedAt: ms(this.now) });
  }

  private drainSelfQueue(): void {
    // Bounded: each self-message can only cause a bounded cascade (renew → resp).
    for (let guard = 0; this.selfQueue.length > 0; guard++) {
      assert(guard < 10_000, 'self-message loop');
      const msg = this.selfQueue.shift()!;
      this.dispatch(this.id, msg);
    }
  }

  private ignored(from: MemberId, msgType: string, reason: string): void {
    this.outEvents.push({ type: 'message-ignored', from, msgType, reason });
  }

  // ─────────────────────────── elections ───────────────────────────

  private isVoter(id: MemberId): boolean {
    return this.members.some((m) => m.id === id);
  }

  private voters(): MemberId[] {
    return this.members.map((m) => m.id);
  }

  private resetElectionTimer(): void {
    const et = this.config.timing.electionTimeoutMs;
    this.electionDeadline = this.now + et + Math.floor(this.random.next() * et);
  }

  private startPreVote(): void {
    // The leader fell silent: if only our link to it broke, gossip finds a relay (DESIGN.md §3.2).
    if (this.lastLeaderSeen !== null) this.probeRoute(this.lastLeaderSeen);
    // Raft §9.6 PreVote: ask first, without raising our term, whether we could win.
    this.role = 'pre-candidate';
    this.leader = null;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
    this.emitRole();
    const req = { term: term(this.currentTerm + 1), lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() };
    if (this.countVotes() === 'won') return this.startElection();
    for (const v of this.voters()) if (v !== this.id) this.send(v, { type: 'pre-vote', ...req });
  }

  private startElection(): void {
    this.currentTerm = term(this.currentTerm + 1);
    this.votedFor = this.id;
    this.hardStateDirty = true;
    this.role = 'candidate';
    this.leader = null;
    this.votes = new Map([[this.id, true]]);
    this.resetElectionTimer();
    this.emitRole();
    if (this.countVotes() === 'won') return this.becomeLeader();
    const req = { term: this.currentTerm, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() };
    for (const v of this.voters()) if (v !== this.id) this.send(v, { type: 'vote', ...req });
  }

  private countVotes(): 'won' | 'lost' | 'pending' {
    const n = this.voters().length;
    let yes = 0;
    let no = 0;
    for (const [id, granted] of this.votes) {
      if (!this.isVoter(id)) continue;
      if (granted) yes++;
      else no++;
    }
    if (yes >= majority(n)) return 'won';
    if (n - no < majority(n)) return 'lost';
    return 'pending';
  }

  private onPreVote(from: MemberId, msg: Extract<RaftMessage, { type: 'pre-vote' }>): void {
    const granted = msg.term > this.currentTerm && this.now >= this.voteBlockedUntil && this.log.isUpToDate(msg.lastIndex, msg.lastTerm);
    this.send(from, { type: 'pre-vote-resp', term: granted ? msg.term : this.currentTerm, granted });
  }

  private onPreVoteResp(from: MemberId, msg: Extract<RaftMessage, { type: 'pre-vote-resp' }>): void {
    if (this.role !== 'pre-candidate') return;
    if (!msg.granted && msg.term > this.currentTerm) return; // handled by the term check above
    if (msg.granted && msg.term !== this.currentTerm + 1) return;
    this.votes.set(from, msg.granted);
    const r = this.countVotes();
    if (r === 'won') this.startElection();
    else if (r === 'lost') this.becomeFollower(this.currentTerm, null);
  }

  private onVote(from: MemberId, msg: Extract<RaftMessage, { type: 'vote' }>): void {
    const granted = this.now >= this.voteBlockedUntil && this.shouldGrantVote(from, msg.term, msg.lastIndex, msg.lastTerm);
    if (granted) {
      this.votedFor = from;
      this.hardStateDirty = true;
      this.resetElectionTimer();
    }
    this.send(from, { type: 'vote-resp', term: this.currentTerm, granted });
  }

  private onVoteResp(from: MemberId, msg: Extract<RaftMessage, { type: 'vote-resp' }>): void {
    if (this.role !== 'candidate' || msg.term !== this.currentTerm) return;
    this.votes.set(from, msg.granted);
    const r = this.countVotes();
    if (r === 'won') this.becomeLeader();
    else if (r === 'lost') this.becomeFollower(this.currentTerm, null);
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
      this.voteBlockedUntil = Math.max(this.voteBlockedUntil, this.lastBroadcastAt + this.config.timing.electionTimeoutMs);
      this.stepDownCleanup();
    }
    const changed = this.role !== 'follower' || this.leader !== leader;
    this.role = 'follower';
    this.leader = leader;
    this.resetElectionTimer();
    if (changed) this.emitRole();
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.id;
    this.leaderSince = this.now;
    this.progress = new Map();
    for (const v of this.voters()) {
      if (v === this.id) continue;
      this.progress.set(v, { match: 0, next: this.log.lastIndex() + 1, ackedSentAt: Number.NEGATIVE_INFINITY, recentActive: false });
    }
    this.checkQuorumAt = this.now + this.config.timing.electionTimeoutMs;
    this.leases.clear();
    this.sites.clear();
    // Sites renew as soon as they hear of a new leader; give them a renewal round to report
    // before placing unheld tickets, so placement sees every site (weights, health).
    this.placeUnheldFrom = this.now + this.config.timing.renewIntervalMs;
    // DESIGN.md §2: we do not know when held tickets were last renewed; treat them as renewed now.
    for (const t of this.table.all()) {
      if (t.holder !== null) {
        this.leases.set(t.def.name, { holder: t.holder, generation: t.generation, until: this.viewOnTakingOffice(this.now, t.def.leaseDurationMs), basis: 'office', officeUntil: null });
      }
    }
    this.emitRole();
    // Renewals are answered only after an entry of our term committed: then our table is complete.
    this.leaderReadyIndex = index(this.log.lastIndex() + 1);
    this.appendEntry({ type: 'noop' });
    this.broadcastAppend();
  }

  private stepDownCleanup(): void {
    for (const [, id] of this.proposals) {
      this.result(id, false, 'unknown-outcome', 'leadership lost before the command committed; check the ticket state');
    }
    this.proposals.clear();
    for (const [, g] of this.pendingGrants) {
      this.result(g.commandId, false, 'not-leader', 'leadership lost while waiting for the old lease to end');
    }
    this.pendingGrants.clear();
    this.leases.clear();
    this.progress.clear();
  }

  private emitRole(): void {
    this.outEvents.push({ type: 'role', role: this.role, term: this.currentTerm, leader: this.leader });
  }

  private hardState(): HardState {
    return { term: this.currentTerm, votedFor: this.votedFor, commit: this.commit };
  }

  // ─────────────────────────── replication ───────────────────────────

  private appendEntry(data: EntryData): Index {
    const e: Entry = { index: index(this.log.lastIndex() + 1), term: this.currentTerm, data };
    this.log.append(e);
    if (data.type === 'config') this.refreshMembers();
    this.maybeCommit();
    return e.index;
  }

  private broadcastAppend(): void {
    const t = this.config.timing;
    this.lastBroadcastAt = this.now;
    this.nextHeartbeatAt = this.now + t.heartbeatIntervalMs;
    this.voteBlockedUntil = Math.max(this.voteBlockedUntil, this.now + t.electionTimeoutMs);
    for (const [id, p] of this.progress) {
      // Two heartbeats unanswered: look for another way to this voter before CheckQuorum counts it out.
      if (this.lastBroadcastAt - Math.max(p.ackedSentAt, this.leaderSince) > 2 * t.heartbeatIntervalMs) this.probeRoute(id);
      // Resend from the last confirmed match: lost appends are repaired on the next heartbeat.
      p.next = p.match + 1;
      this.sendAppend(id, p);
    }
  }

  private sendAppend(to: MemberId, p: Progress): void {
    assert(Number.isFinite(this.lastBroadcastAt), 'appends are sent only after the first broadcast of a term');
    if (p.next <= this.log.snapshot.index) {
      this.send(to, { type: 'snapshot', term: this.currentTerm, snapshot: this.log.snapshot, sentAt: ms(this.lastBroadcastAt) });
      p.next = this.log.snapshot.index + 1;
      return;
    }
    const prevIndex = p.next - 1;
    const prevTerm = this.log.termAt(prevIndex);
    assert(prevTerm !== undefined, `no term at ${prevIndex}`);
    const entries = this.log.slice(p.next, this.config.limits.entriesPerAppendMax);
    this.send(to, {
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

  private onAppend(from: MemberId, msg: Extract<RaftMessage, { type: 'append' }>): void {
    if (msg.term < this.currentTerm) {
      this.send(from, { type: 'append-resp', term: this.currentTerm, success: false, index: this.log.lastIndex(), sentAt: msg.sentAt });
      return;
    }
    this.acknowledgeLeader(from);
    if (msg.prevIndex < this.log.snapshot.index) {
      // Already compacted here: everything up to the snapshot matches by definition.
      const skip = msg.entries.filter((e) => e.index > this.log.snapshot.index);
      const prev = this.log.snapshot.index;
      return this.acceptEntries(from, prev, skip, msg);
    }
    const termAtPrev = this.log.termAt(msg.prevIndex);
    if (termAtPrev !== msg.prevTerm) {
      const hint = Math.min(this.log.lastIndex(), msg.prevIndex - 1);
      this.send(from, { type: 'append-resp', term: this.currentTerm, success: false, index: index(Math.max(hint, this.commit)), sentAt: msg.sentAt });
      return;
    }
    this.acceptEntries(from, msg.prevIndex, msg.entries, msg);
  }

  private acceptEntries(from: MemberId, prevIndex: number, entries: readonly Entry[], msg: Extract<RaftMessage, { type: 'append' }>): void {
    const hadConfig = entries.some((e) => e.data.type === 'config');
    const last = this.log.appendFromLeader(prevIndex, entries, this.commit);
    if (hadConfig) this.refreshMembers();
    const newCommit = Math.min(msg.commit, last);
    if (newCommit > this.commit) this.setCommit(index(newCommit));
    this.send(from, { type: 'append-resp', term: this.currentTerm, success: true, index: last, sentAt: msg.sentAt });
  }

  private acknowledgeLeader(from: MemberId): void {
    this.lastLeaderSeen = from;
    if (this.role !== 'follower' || this.leader !== from) {
      this.role = 'follower';
      this.leader = from;
      this.emitRole();
      if (this.holder !== null) this.sendRenewal(); // a new leader: renew at once
    }
    this.voteBlockedUntil = Math.max(this.voteBlockedUntil, this.now + this.config.timing.electionTimeoutMs);
    this.resetElectionTimer();
  }

  private onAppendResp(from: MemberId, msg: Extract<RaftMessage, { type: 'append-resp' }>): void {
    if (this.role !== 'leader' || msg.term !== this.currentTerm) return;
    const p = this.progress.get(from);
    if (p === undefined) return;
    p.recentActive = true;
    if (msg.sentAt > p.ackedSentAt) p.ackedSentAt = msg.sentAt;
    if (msg.success) {
      if (msg.index > p.match) p.match = msg.index;
      if (p.next <= p.match) p.next = p.match + 1;
      this.maybeCommit();
      // Entries still in flight advanced `next` past the end: nothing to send until the next heartbeat.
      if (this.role === 'leader' && p.next <= this.log.lastIndex()) this.sendAppend(from, p);
    } else {
      p.next = Math.max(1, Math.min(p.next - 1, msg.index + 1));
      if (p.next <= p.match) p.next = p.match + 1;
      this.sendAppend(from, p);
    }
  }

  private onSnapshot(from: MemberId, msg: Extract<RaftMessage, { type: 'snapshot' }>): void {
    if (msg.term < this.currentTerm) {
      this.send(from, { type: 'append-resp', term: this.currentTerm, success: false, index: this.log.lastIndex(), sentAt: msg.sentAt });
      return;
    }
    this.acknowledgeLeader(from);
    const s = msg.snapshot;
    if (s.index <= this.commit) {
      this.send(from, { type: 'append-resp', term: this.currentTerm, success: true, index: this.commit, sentAt: msg.sentAt });
      return;
    }
    this.log.install(s);
    this.table = TicketTable.fromSnapshot(s.table, this.config.limits);
    this.refreshMembers();
    this.commit = s.index;
    this.applied = s.index;
    this.hardStateDirty = true;
    this.holder?.syncWithTable(this.table.all(), this.now);
    this.send(from, { type: 'append-resp', term: this.currentTerm, success: true, index: s.index, sentAt: msg.sentAt });
  }

  private maybeCommit(): void {
    if (this.role !== 'leader') return;
    const matches = [this.log.lastIndex() as number];
    for (const v of this.voters()) {
      if (v === this.id) continue;
      matches.push(this.progress.get(v)?.match ?? 0);
    }
    if (!this.isVoter(this.id)) matches.shift();
    const n = quorumValue(matches, this.ackQuorum(this.voters().length));
    // Raft §5.4.2: only entries of the current term commit by counting replicas.
    if (n !== undefined && n > this.commit && this.log.termAt(n) === this.currentTerm) this.setCommit(index(n));
  }

  private setCommit(i: Index): void {
    this.commit = i;
    this.hardStateDirty = true;
    this.applyCommitted();
    // Tell followers at once: a new holder should not wait a heartbeat to learn its grant.
    if (this.role === 'leader') for (const [id, p] of this.progress) this.sendCommit(id, p);
  }

  /** An empty append at the follower's confirmed match point, carrying the new commit index. */
  private sendCommit(to: MemberId, p: Progress): void {
    const prevTerm = this.log.termAt(p.match);
    if (prevTerm === undefined || p.match === 0) return;
    this.send(to, { type: 'append', term: this.currentTerm, prevIndex: index(p.match), prevTerm, entries: [], commit: index(Math.min(this.commit, p.match)), sentAt: ms(this.lastBroadcastAt) });
  }

  private applyCommitted(): void {
    let changed = false;
    while (this.applied < this.commit) {
      const e = this.log.entry(this.applied + 1);
      assert(e !== undefined, `committed entry ${this.applied + 1} missing`);
      this.applied = e.index;
      const outcome = this.table.apply(e.data, e.index);
      changed = true;
      this.outEvents.push({ type: 'applied', index: e.index, data: e.data, ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) });
      this.afterApply(e, outcome.ok ? null : outcome.reason);
    }
    if (changed) {
      // A site that just became holder renews at once instead of waiting for its period.
      if (this.holder?.syncWithTable(this.table.all(), this.now) === true) this.sendRenewal();
      this.maybeCompact();
    }
  }

  private afterApply(e: Entry, failure: string | null): void {
    const id = this.proposals.get(e.index);
    if (id !== undefined) {
      this.proposals.delete(e.index);
      if (failure === null) this.result(id, true, undefined, 'committed', e.index);
      else this.result(id, false, failure === 'no-such-ticket' ? 'no-such-ticket' : 'rejected', `not applied: ${failure}`, e.index);
    }
    if (this.role !== 'leader' || failure !== null) return;
    const d = e.data;
    if (d.type === 'grant') {
      const t = this.table.get(d.ticket);
      // Counted as renewed at commit, so that the new holder is not failed over before it could renew.
      if (t !== undefined) this.leases.set(d.ticket, { holder: d.site, generation: t.generation, until: this.leaderViewFor(this.now, t.def.leaseDurationMs), basis: 'commit', officeUntil: null });
    }
    const changed = d.type === 'grant' || d.type === 'revoke' || d.type === 'standby' || d.type === 'ticket-remove' ? d.ticket : d.type === 'ticket-add' ? d.def.name : null;
    if (changed !== null) this.publishTicket(changed, e.index);
    if (d.type === 'config' && !this.isVoter(this.id)) this.becomeFollower(this.currentTerm, null);
  }

  private maybeCompact(): void {
    const keep = this.config.limits.logEntriesBeforeSnapshot;
    if (this.applied - this.log.snapshot.index < keep) return;
    const t = this.log.termAt(this.applied);
    assert(t !== undefined, 'term of applied entry');
    this.log.compact({ index: this.applied, term: t, members: this.membersAt(this.applied), table: this.table.snapshot() });
  }

  /** The configuration in force at `i` (latest config entry at or before it). */
  private membersAt(i: number): readonly MemberInfo[] {
    let members = this.log.snapshot.members;
    for (const e of this.log.slice(this.log.firstIndex(), i - this.log.snapshot.index)) {
      if (e.data.type === 'config') members = e.data.members;
    }
    return members;
  }

  private refreshMembers(): void {
    // Raft dissertation §4.1: a server uses the latest configuration in its log, committed or not.
    let members = this.log.snapshot.members;
    for (const e of this.log.entriesAfter(this.log.snapshot.index)) if (e.data.type === 'config') members = e.data.members;
    const before = this.members;
    this.members = members;
    // Gossip follows the same configuration as the registry, so that every
    // member the registry talks to is probed and has a route.
    if (this.swim !== null && !sameMemberIds(before, members)) this.swim.setMembers(members.map((m) => m.id), ms(this.now));
    if (this.role === 'leader') {
      for (const m of members) {
        if (m.id !== this.id && !this.progress.has(m.id)) {
          this.progress.set(m.id, { match: 0, next: this.log.lastIndex() + 1, ackedSentAt: Number.NEGATIVE_INFINITY, recentActive: true });
        }
      }
      for (const id of [...this.progress.keys()]) if (!members.some((m) => m.id === id)) this.progress.delete(id);
    }
  }

  // ─────────────────────────── leader lease ───────────────────────────

  private leaderLeaseEnd(): number {
    const voters = this.voters();
    const acks: number[] = [];
    for (const v of voters) {
      if (v === this.id) acks.push(this.lastBroadcastAt);
      else acks.push(this.progress.get(v)?.ackedSentAt ?? Number.NEGATIVE_INFINITY);
    }
    const q = quorumValue(acks, this.ackQuorum(voters.length));
    if (q === undefined || !Number.isFinite(q)) return Number.NEGATIVE_INFINITY;
    return q + leaderLeaseDurationMs(this.config.timing.electionTimeoutMs, this.config.timing.clockDriftPpmMax);
  }

  private checkQuorum(): void {
    // CheckQuorum (Raft §6.2, etcd): once per election timeout, step down unless a
    // majority was heard from since the last check.
    let active = this.isVoter(this.id) ? 1 : 0;
    for (const [id, p] of this.progress) {
      if (p.recentActive && this.isVoter(id)) active++;
      p.recentActive = false;
    }
    this.checkQuorumAt = this.now + this.config.timing.electionTimeoutMs;
    if (active < majority(this.voters().length)) this.becomeFollower(this.currentTerm, null);
  }

  /** The leader may answer renewals: it leads, holds its lease and committed an entry of its term. */
  private canServeLeases(): boolean {
    return this.role === 'leader' && this.commit >= this.leaderReadyIndex && this.hasLeaderLease(this.now);
  }

  // ─────────────────────────── ticket leases (leader) ───────────────────────────

  private onRenew(from: MemberId, msg: Extract<RaftMessage, { type: 'renew' }>): void {
    const kind = this.members.find((m) => m.id === from)?.kind;
    if (kind !== 'site') {
      this.ignored(from, 'renew', 'renewal from a non-site');
      return;
    }
    if (this.role !== 'leader') return; // the sender learns the leader from heartbeats
    this.sites.set(from, { lastHeardAt: this.now, health: msg.health });
    if (!this.canServeLeases()) return; // no answer at all: the holder's lease simply runs on its own clock
    const granted: RenewItem[] = [];
    const refused: Array<{ name: string; reason: RenewRefusal }> = [];
    const pending = this.ticketsWithUncommittedChange();
    for (const item of msg.tickets) {
      const t = this.table.get(item.name);
      let reason: RenewRefusal | null = null;
      if (t === undefined) reason = 'no-such-ticket';
      else if (t.holder !== from) reason = 'not-holder';
      else if (t.generation !== item.generation) reason = 'stale-generation';
      else if (pending.has(item.name)) reason = 'change-pending';
      if (reason !== null || t === undefined) {
        refused.push({ name: item.name, reason: reason ?? 'no-such-ticket' });
        continue;
      }
      const until = this.leaderViewFor(this.now, t.def.leaseDurationMs);
      const v = this.leases.get(item.name);
      if (v !== undefined && v.holder === from && v.generation === t.generation && typeof v.basis === 'number' && msg.seq < v.basis) {
        // Overtaken by a newer renewal we already answered: its answer could only give an earlier
        // lease end, and extending our view from it would delay a failover for nothing.
        refused.push({ name: item.name, reason: 'superseded' });
        continue;
      }
      if (v === undefined || v.holder !== from || v.generation !== t.generation) {
        this.leases.set(item.name, { holder: from, generation: t.generation, until, basis: msg.seq, officeUntil: null });
      } else {
        if (v.basis === 'office') {
          // From now on this leader knows the newest answer; what earlier leaders answered ends by officeUntil.
          this.leases.set(item.name, { ...v, until: Math.max(until, v.until), basis: msg.seq, officeUntil: v.until });
        } else {
          if (until > v.until) v.until = until;
          if (v.basis === 'commit' || msg.seq > v.basis) v.basis = msg.seq;
        }
      }
      granted.push(item);
    }
    this.send(from, { type: 'renew-resp', term: this.currentTerm, seq: msg.seq, granted, refused });
  }

  private ticketsWithUncommittedChange(): Set<string> {
    const out = new Set<string>();
    for (const e of this.log.entriesAfter(this.commit)) {
      const d = e.data;
      if (d.type === 'grant' || d.type === 'revoke' || d.type === 'ticket-remove') out.add(d.ticket);
    }
    for (const name of this.pendingGrants.keys()) out.add(name);
    return out;
  }

  private onReleased(from: MemberId, msg: Extract<RaftMessage, { type: 'released' }>): void {
    if (this.role !== 'leader') return;
    // The release says why: a site that gave a ticket up for its health is not eligible now.
    if (this.members.find((m) => m.id === from)?.kind === 'site') this.sites.set(from, { lastHeardAt: this.now, health: msg.health });
    const v = this.leases.get(msg.name);
    const t = this.table.get(msg.name);
    if (v === undefined || v.holder !== from || v.generation !== msg.generation) return;
    // A release ends the lease early only if no renewal answered later than the
    // release was sent can be outstanding: renewals sent after it carry a seq ≥
    // seqFloor. A view assumed on taking office may cover answers from an earlier
    // leader that we cannot see: it runs its course.
    if (v.basis === 'office' || (typeof v.basis === 'number' && v.basis >= msg.seqFloor)) return;
    const floor = v.officeUntil ?? this.now;
    if (floor > this.now) {
      v.until = floor;
    } else if (t !== undefined && t.holder === from && t.generation === msg.generation) {
      // Voluntary release by a holder that is still the registered one: it stops renewing.
      v.until = this.now;
    } else {
      this.leases.delete(msg.name);
    }
    this.outEvents.push({ type: 'released', ticket: msg.name, site: from });
    this.placeTickets();
  }

  /** Commits automatic grants and guarded admin grants whose old lease has run out. */
  private placeTickets(): void {
    if (!this.canServeLeases()) return;
    const pending = this.ticketsWithUncommittedChange();
    const timing = this.config.timing;
    for (const t of this.table.all()) {
      const name = t.def.name;
      const v = this.leases.get(name);
      const live = v !== undefined && v.until > this.now;
      if (v !== undefined && !live && (t.holder !== v.holder || t.generation !== v.generation)) this.leases.delete(name);
      const pg = this.pendingGrants.get(name);
      if (pg !== undefined) {
        if (live) continue;
        if (this.hasUncommittedChange(name)) continue;
        this.pendingGrants.delete(name);
        if (t.holder === pg.site) {
          this.result(pg.commandId, true, undefined, 'already held by that site');
          continue;
        }
        this.propose({ type: 'grant', ticket: name, site: pg.site, expectedGeneration: t.generation, cause: { by: 'admin', commandId: pg.commandId, force: false } }, pg.commandId);
        continue;
      }
      if (t.def.mode !== 'automatic' || !t.managed || pending.has(name) || live) continue;
      if (t.holder === null && this.now < this.placeUnheldFrom) continue;
      const eligible = (s: MemberId): boolean => isEligible(s, name, this.sites.get(s), this.now, timing.siteAliveWindowMs);
      if (t.holder !== null && v !== undefined && v.holder === t.holder && v.until > this.now) continue;
      // The holder's lease has run out (or it released): another eligible site takes it. Not the
      // holder itself: a healthy, connected holder renews instead (and a renewal of its generation
      // is accepted again as long as nothing else was committed).
      const site = chooseSite(t.def, this.members, eligible, t.holder);
      if (site === null) continue;
      const cause: Cause = { by: 'auto', reason: t.holder === null ? 'initial' : 'failover' };
      this.propose({ type: 'grant', ticket: name, site, expectedGeneration: t.generation, cause }, null);
    }
  }

  private hasUncommittedChange(name: string): boolean {
    return this.log.entriesAfter(this.commit).some((e) => 'ticket' in e.data && e.data.ticket === name);
  }

  private propose(data: EntryData, commandId: string | null): Index {
    const i = this.appendEntry(data);
    if (commandId !== null) this.proposals.set(i, commandId);
    // Replicate at once rather than waiting for the next heartbeat.
    for (const [id, p] of this.progress) if (p.next > p.match && p.next <= i) this.sendAppend(id, p);
    this.maybeCommit();
    return i;
  }

  // ─────────────────────────── admin commands ───────────────────────────

  private result(id: string, ok: boolean, code: CommandErrorCode | undefined, message: string, at?: Index): void {
    this.outEvents.push({
      type: 'command-result',
      id,
      ok,
      message,
      ...(code === undefined ? {} : { code }),
      ...(at === undefined ? {} : { index: at }),
      ...(code === 'not-leader' ? { leader: this.leader } : {}),
    });
  }

  private handleCommand(cmd: AdminCommand): void {
    if (this.role !== 'leader') {
      return this.result(cmd.id, false, 'not-leader', this.leader === null ? 'no leader known' : `the leader is ${this.leader}`);
    }
    if (this.proposals.size + this.pendingGrants.size >= this.config.limits.pendingCommandsMax) {
      return this.result(cmd.id, false, 'busy', `${this.config.limits.pendingCommandsMax} commands already pending`);
    }
    const admin = (force = false): Cause => ({ by: 'admin', commandId: cmd.id, force });
    if (cmd.type === 'member-add' || cmd.type === 'member-remove') return this.changeMembership(cmd);
    if (cmd.type === 'ticket-add') {
      if (this.table.get(cmd.def.name) !== undefined) return this.result(cmd.id, false, 'ticket-exists', `ticket ${cmd.def.name} exists`);
      this.propose({ type: 'ticket-add', def: cmd.def, cause: admin() }, cmd.id);
      return;
    }
    const t = this.table.get(cmd.ticket);
    if (t === undefined) return this.result(cmd.id, false, 'no-such-ticket', `no ticket ${cmd.ticket}`);
    switch (cmd.type) {
      case 'grant': {
        const kind = this.members.find((m) => m.id === cmd.site)?.kind;
        if (kind === undefined) return this.result(cmd.id, false, 'no-such-member', `${cmd.site} is not a member`);
        if (kind !== 'site') return this.result(cmd.id, false, 'not-a-site', `${cmd.site} is an arbitrator; arbitrators never hold tickets`);
        if (t.holder === cmd.site) return this.result(cmd.id, false, 'already-granted', `${cmd.ticket} is already granted to ${cmd.site}`);
        if (this.pendingGrants.has(cmd.ticket) || this.hasUncommittedChange(cmd.ticket)) {
          return this.result(cmd.id, false, 'change-in-progress', `a change of ${cmd.ticket} is in progress`);
        }
        if (cmd.force) {
          // A logged force: the admin overrides the lease guard (booth's grant -F).
          this.leases.delete(cmd.ticket);
          this.propose({ type: 'grant', ticket: cmd.ticket, site: cmd.site, expectedGeneration: t.generation, cause: admin(true) }, cmd.id);
          return;
        }
        // Guarded grant: take the ticket from its holder first (if any), then
        // grant once the old holder's lease has run out or it confirmed release.
        if (t.holder !== null) this.propose({ type: 'revoke', ticket: cmd.ticket, expectedGeneration: t.generation, cause: admin() }, null);
        this.pendingGrants.set(cmd.ticket, { commandId: cmd.id, site: cmd.site });
        this.placeTickets();
        return;
      }
      case 'revoke': {
        const waiting = this.pendingGrants.get(cmd.ticket);
        if (waiting !== undefined) {
          this.pendingGrants.delete(cmd.ticket);
          this.result(waiting.commandId, false, 'superseded', `revoked by command ${cmd.id} before the grant could complete`);
        }
        if (this.hasUncommittedChange(cmd.ticket)) {
          if (waiting !== undefined && t.holder !== null) {
            // The guarded grant's own revoke is on its way: that is this revoke.
            return this.result(cmd.id, true, undefined, 'revoke already in progress; the pending grant was cancelled');
          }
          return this.result(cmd.id, false, 'change-in-progress', `a change of ${cmd.ticket} is in progress`);
        }
        if (t.holder === null && !t.managed) {
          if (waiting !== undefined) return this.result(cmd.id, true, undefined, 'already revoked; the pending grant was cancelled');
          return this.result(cmd.id, false, 'not-granted', `${cmd.ticket} is not granted`);
        }
        this.propose({ type: 'revoke', ticket: cmd.ticket, expectedGeneration: t.generation, cause: admin() }, cmd.id);
        return;
      }
      case 'standby':
      case 'activate':
        this.propose({ type: 'standby', ticket: cmd.ticket, standby: cmd.type === 'standby', cause: admin() }, cmd.id);
        return;
      case 'attr-set': {
        const max = this.config.limits.attrCharsMax;
        if (cmd.key.length === 0 || cmd.key.length > max || cmd.value.length > max) {
          return this.result(cmd.id, false, 'invalid', `attribute name and value must be 1–${max} characters`);
        }
        // Attributes become CIB ticket attributes: a name the CIB cannot hold, or one that Pacemaker or
        // booth own, would make every CIB write of the ticket fail at every site.
        if (!attrNamePattern.test(cmd.key) || reservedAttrNames.has(cmd.key)) {
          return this.result(cmd.id, false, 'invalid', `"${cmd.key}" cannot be a ticket attribute: names match ${attrNamePattern.source} and are not one of ${[...reservedAttrNames].join(', ')}`);
        }
        if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(cmd.value)) {
          return this.result(cmd.id, false, 'invalid', 'attribute values cannot hold control characters');
        }
        this.propose({ type: 'attr-set', ticket: cmd.ticket, key: cmd.key, value: cmd.value, cause: admin() }, cmd.id);
        return;
      }
      case 'attr-delete':
        this.propose({ type: 'attr-delete', ticket: cmd.ticket, key: cmd.key, cause: admin() }, cmd.id);
        return;
      case 'ticket-remove':
        if (t.holder !== null) return this.result(cmd.id, false, 'ticket-held', `${cmd.ticket} is held by ${t.holder}; revoke it first`);
        this.propose({ type: 'ticket-remove', ticket: cmd.ticket, cause: admin() }, cmd.id);
        return;
    }
  }

  private changeMembership(cmd: Extract<AdminCommand, { type: 'member-add' | 'member-remove' }>): void {
    // Single-server changes (Raft dissertation §4.1): one at a time, the next only after the last committed.
    const uncommittedConfig = this.log.entriesAfter(this.commit).some((e) => e.data.type === 'config');
    if (uncommittedConfig) return this.result(cmd.id, false, 'change-in-progress', 'a membership change is still uncommitted');
    let members: MemberInfo[];
    if (cmd.type === 'member-add') {
      if (this.members.some((m) => m.id === cmd.member.id)) return this.result(cmd.id, false, 'invalid', `${cmd.member.id} is already a member`);
      members = [...this.members, cmd.member];
    } else {
      const m = this.members.find((x) => x.id === cmd.member);
      if (m === undefined) return this.result(cmd.id, false, 'no-such-member', `${cmd.member} is not a member`);
      if ([...this.table.all()].some((t) => t.holder === cmd.member)) {
        return this.result(cmd.id, false, 'ticket-held', `${cmd.member} holds tickets; move them first`);
      }
      members = this.members.filter((x) => x.id !== cmd.member);
      if (!members.some((x) => x.kind === 'site')) return this.result(cmd.id, false, 'invalid', 'the last site cannot be removed');
    }
    this.propose({ type: 'config', members }, cmd.id);
  }

  // ─────────────────────────── site side ───────────────────────────

  private sendRenewal(): void {
    const h = this.holder;
    if (h === null) return;
    const to = this.leader;
    if (to === null) {
      // No leader known: nothing to renew with; retry on the normal period.
      h.lastRenewSentAt = this.now;
      return;
    }
    // A retry: the last renewal got no answer; look for another way to the leader.
    if (h.hasUnanswered()) this.probeRoute(to);
    const items = h.renewItems();
    const seq = h.recordRenewal(items, this.now);
    this.lastRenewTo = to;
    this.send(to, { type: 'renew', term: this.currentTerm, seq, tickets: items, health: this.health });
  }

  private onRenewResp(from: MemberId, msg: Extract<RaftMessage, { type: 'renew-resp' }>): void {
    if (this.holder === null) return;
    if (from !== this.lastRenewTo && from !== this.leader) return;
    this.holder.onRenewed(msg.seq, msg.granted, (n) => this.table.get(n), this.now);
    for (const r of msg.refused) {
      if (r.reason !== 'change-pending' && r.reason !== 'superseded') this.outEvents.push({ type: 'lease-lost', ticket: r.name, reason: r.reason });
    }
  }

  private reconcile(): void {
    const h = this.holder;
    if (h === null) return;
    h.reconcile((n) => this.table.get(n), () => this.table.all(), this.now, this.outEffects, this.outGuard);
    const releases = h.takeReleases();
    if (releases.length > 0 && this.leader !== null) {
      for (const r of releases) {
        this.send(this.leader, { type: 'released', term: this.currentTerm, name: r.name, generation: r.generation, health: this.health, seqFloor: r.seqFloor });
      }
      this.drainSelfQueue();
    }
  }

  /** For tests and the simulator: the drift stretch in force. */
  driftStretch(): number {
    return driftStretch(this.config.timing.clockDriftPpmMax);
  }
}

export { generation };

function sameMemberIds(a: readonly MemberInfo[], b: readonly MemberInfo[]): boolean {
  return sameNames(a.map((m) => m.id), b.map((m) => m.id));
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}

/** Ticket attribute names: what a CIB ticket_state attribute can be called. */
const attrNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Attributes that Pacemaker or booth own in the CIB: never geo attributes. */
const reservedAttrNames: ReadonlySet<string> = new Set(['id', 'granted', 'standby', 'last-granted', 'owner', 'expires', 'term', 'booth-cfg-name']);
