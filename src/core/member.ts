// One formation member's protocol core, as a small composer (DESIGN.md §2–§3):
//   registry/  Raft (PreVote, CheckQuorum, leader lease, log, snapshots);
//   tickets/   the applied ticket table, the leader's lease office and, at a
//              site, the holder side (SiteHolder);
//   gossip/    SWIM and the bridge that routes registry messages and spreads
//              ticket state and site health.
// The member feeds inputs to them, applies committed entries to the table,
// and hands their output out as one Ready at a time (ready.ts says how the
// host carries it out). Pure and synchronous: inputs carry the monotonic `now`.
//
// The decisions the safety argument rests on come in as data (rules.ts): the
// simulator's negative controls pass a broken copy; the shipped core has no
// switch and no test-only surface.

import { validateCoreConfig, validateTicketDef, type CoreConfig, type CoreTiming } from './config.js';
import { GossipBridge, type GossipInit, type LocalTicketView, type SiteHealthSeen, type TicketSeen } from './gossip/bridge.js';
import type { Route } from './gossip/routes.js';
import type { SwimView } from './gossip/view.js';
import { driftStretch, usableLeaseMinMs } from './lease.js';
import { isSwimMessage, type Entry, type Envelope, type RaftMessage, type SiteHealth, type Snapshot } from './messages.js';
import type { RandomSource } from './random.js';
import type { AdminCommand, CoreEvent, PersistedState, Ready, Report, Role } from './ready.js';
import { Registry } from './registry/registry.js';
import type { SnapshotCodec } from './registry/snapshot-transfer.js';
import { defaultRules, type MemberRules } from './rules.js';
import { ForcedRemoval } from './forced-removal.js';
import { LeaseOffice } from './tickets/lease-office.js';
import { SiteHolder, type CibTicketState, type GuardUpdate, type TicketEffect } from './tickets/site-holder.js';
import { sinkProbeTiming } from './tickets/sink-probe.js';
import { sameNames, SiteLink } from './tickets/site-link.js';
import { TicketTable, type TicketDefCheck, type TicketState } from './tickets/ticket-table.js';
import { AssertionError, assert, index, ms, term, type Generation, type Index, type Member as MemberInfo, type MemberId, type Ms, type Term, type TicketDef } from './types.js';

export type { GossipInit, LocalTicketView, SiteHealthSeen, TicketSeen } from './gossip/bridge.js';

export interface MemberInit {
  readonly now: Ms;
  readonly random: RandomSource;
  /** The store's content; absent on a member's very first start. */
  readonly persisted?: PersistedState;
  /** The CIB's ticket state at start-up (sites only). */
  readonly cib?: readonly CibTicketState[];
  /** `cib` names every ticket state the sink holds, with `shown` of each not granted (tickets/sink-at-start.ts). Default false. */
  readonly cibComplete?: boolean;
  /**
   * First renewal sequence number of this incarnation: must exceed every seq an
   * earlier incarnation of this member used, so a delayed answer to an old
   * renewal never matches a new one. Default: now·2¹⁶ (the monotonic clock
   * keeps growing across restarts within a boot); the site agent passes its
   * persisted epoch·2³², which also holds across reboots.
   */
  readonly renewSeqStart?: number;
  /**
   * The incarnation this member takes if its store is empty (docs/protocol.md §10): a number no
   * earlier store of this member had. The site agent draws 48 random bits; default now + 1
   * (distinct within one boot, as the monotonic clock only grows).
   */
  readonly freshIncarnation?: number;
  /**
   * Gossip (DESIGN.md §3). Every real member passes it (the site agent with
   * Ed25519 claims, the simulator with a deterministic stand-in); without it
   * the member runs the registry alone, which the registry's own unit tests
   * and the interaction scripts that predate gossip do.
   */
  readonly gossip?: GossipInit;
  /** How registry snapshots are encoded for transfer (src/wire/snapshot-codec.ts): the same at every member. */
  readonly snapshotCodec: SnapshotCodec;
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

/**
 * The formation config the registry has committed (issue 11): members, every
 * ticket's settings, and the timings recorded at bootstrap (null in a store
 * older than them). `version` counts committed config changes.
 */
export interface CommittedConfig {
  readonly version: number;
  readonly members: readonly MemberInfo[];
  readonly tickets: readonly TicketDef[];
  readonly timing: CoreTiming | null;
}

/**
 * The formation's state before any entry: the config's members, tickets and
 * timings at index 0. It is stored at a member's first start (issue 11), so
 * that a later start replays the log onto it and not onto whatever the file
 * says by then: the file's tickets are the bootstrap's only once. The site
 * agent writes it before the core starts; the core itself writes it with its
 * first persist whenever the store holds no snapshot (RegistryStart's
 * snapshotStored), so no host can skip it (the simulator's did: seed 780).
 */
export function bootstrapSnapshot(config: CoreConfig): Snapshot {
  return { index: index(0), term: term(0), members: config.members, table: TicketTable.fromDefs(config.tickets, config.limits, config.timing).snapshot() };
}

const noHealth: SiteHealth = { quorate: true, handlersOk: true, unrunnable: [] };
/** Bound on the self-addressed message cascade of one input (renew → resp at a leader that is also a site). */
const selfMessagesPerInputMax = 10_000;

export class Member {
  readonly id: MemberId;
  private readonly config: CoreConfig;
  private readonly rules: MemberRules;
  private readonly time: { now: Ms; wallMs?: number | undefined };
  private table: TicketTable;
  private readonly registry: Registry;
  private readonly office: LeaseOffice;
  private readonly forced: ForcedRemoval;
  private readonly bridge: GossipBridge;
  private readonly site: SiteLink | null;
  private health: SiteHealth = noHealth;
  /** Members that announced protocol 1.2 or later (setBatchGrantPeers): batch grants wait for all of them. */
  private batchPeers: ReadonlySet<MemberId> = new Set();

  // Output being collected for the next Ready.
  private outMessages: Envelope[] = [];
  private outEffects: TicketEffect[] = [];
  private outGuard: GuardUpdate[] = [];
  private outEvents: CoreEvent[] = [];
  private readonly selfQueue: RaftMessage[] = [];
  private settlePending = true;
  /**
   * Per member and store incarnation, the highest index its log was known to match while this member
   * led (Registry.matchOf). A committed entry stays in every log that holds it, so this stays true after
   * leadership moves on: gossip does not send a ticket rumor of such a commit to that member (bridge.ts).
   */
  private readonly matchKnown = new Map<string, number>();

  constructor(config: CoreConfig, init: MemberInit, rules: MemberRules = defaultRules) {
    const problems = validateCoreConfig(config);
    if (problems.length > 0) {
      throw new AssertionError(`invalid core config: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    }
    this.config = config;
    this.rules = rules;
    this.id = config.self;
    this.time = { now: init.now };
    const { timing, limits } = config;
    const p = init.persisted;
    const snapshot: Snapshot = p?.snapshot ?? bootstrapSnapshot(config);
    this.table = TicketTable.fromSnapshot(snapshot.table, limits, this.checkDef, snapshot.index);
    const event = (e: CoreEvent): void => void this.outEvents.push(e);
    const send = (to: MemberId, msg: RaftMessage): void => this.send(to, msg);
    this.registry = new Registry(
      { self: this.id, timing, limits, random: init.random, rules, snapshotCodec: init.snapshotCodec, time: this.time, host: this.registryHost() },
      { snapshot, snapshotStored: p?.snapshot != null, entries: p?.entries ?? [], hardState: p?.hardState ?? null, freshIncarnation: init.freshIncarnation ?? init.now + 1 },
    );
    this.bridge = new GossipBridge({ self: this.id, time: this.time, members: () => this.registry.config, routeFor: rules.routeFor, useIndirectProbes: rules.useIndirectProbes, event, matchOf: (m) => this.matchOf(m) }, init.gossip);
    this.office = new LeaseOffice({
      timing,
      limits,
      rules,
      time: this.time,
      table: () => this.table,
      registry: this.registry,
      send,
      event,
      publish: (name, at, rumor) => this.bridge.publishTicket(name, at, rumor),
      // Learners too: a member that joins replicates the log, and one that refuses an entry stops there.
      batchGrants: () => this.registry.config.every((m) => m.id === this.id || this.batchPeers.has(m.id)),
    });
    this.forced = new ForcedRemoval({
      self: this.id,
      time: this.time,
      clockDriftPpmMax: timing.clockDriftPpmMax,
      rules,
      registry: this.registry,
      table: () => this.table,
      heardNow: (m) => this.bridge.peers()?.peers.find((p) => p.id === m)?.state === 'alive',
      event,
    });
    const isSite = config.members.find((m) => m.id === config.self)?.kind === 'site';
    const seqStart = init.renewSeqStart ?? init.now * 2 ** 16 + 1;
    this.site = isSite ? this.siteLink(new SiteHolder(config.self, limits.renewalsInFlightMax, timing.effectRetryMs, { leaseEnd: rules.holderLeaseEnd, revokeLead: rules.revokeLead }, usableLeaseMinMs(timing.renewIntervalMs, timing.electionTimeoutMs), init.cib ?? [], init.now, seqStart, sinkProbeTiming(timing), init.cibComplete ?? false)) : null;
    this.registry.start();
    this.site?.holder.syncWithTable(this.table.all(), this.time.now);
    this.registry.armElectionTimer();
    this.settle();
  }

  /**
   * A ticket definition brought by an entry must fit the formation as the log
   * has it at that entry (its members there, the timings this member runs
   * with): every member runs the same check on the same log prefix, so all
   * apply or all refuse it. Not the latest configuration: a member replaying
   * its log after a restart already holds later config entries, and a
   * `ticket-change` it alone refused left it a different lease duration than
   * the leader's (simulator seed 599: a forced removal of the site the
   * change's weights named; the holder then kept its CIB grant past the
   * leader's view of its lease, S1). A command checked before it is proposed
   * (`at` null) is checked against the latest one.
   */
  private readonly checkDef: TicketDefCheck = (def, at) => {
    const members = at === null ? this.registry.config : this.rules.ticketDefMembers(this.registry.configAt(at), this.registry.config);
    const problems = validateTicketDef(def, this.config.timing, members);
    return problems.length === 0 ? null : problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  };

  /** The registry's window on this node: the state machine, the lease office, the holder and gossip. */
  private registryHost(): ConstructorParameters<typeof Registry>[0]['host'] {
    return {
      send: (to, msg) => this.send(to, msg),
      event: (e) => void this.outEvents.push(e),
      probeRoute: (m) => this.bridge.probeRoute(m),
      applyEntry: (e) => this.apply(e),
      appliedBatch: () => {
        // A site that just became holder renews at once instead of waiting for its period.
        if (this.site?.holder.syncWithTable(this.table.all(), this.time.now) === true) this.site.sendRenewal();
      },
      snapshotTable: () => this.table.snapshot(),
      installSnapshot: (s) => {
        this.table = TicketTable.fromSnapshot(s.table, this.config.limits, this.checkDef, s.index);
        this.site?.holder.syncWithTable(this.table.all(), this.time.now);
      },
      membersChanged: (before, after) => this.bridge.setMembers(before, after),
      tookOffice: () => this.office.takeOffice(),
      leftOffice: () => this.office.leaveOffice(),
      newLeader: () => this.site?.sendRenewal(), // a new leader: renew at once
    };
  }

  private siteLink(holder: SiteHolder): SiteLink {
    const r = this.registry;
    const deps = { time: this.time, timing: this.config.timing, table: () => this.table, leader: () => r.leaderNow, term: () => r.term, inc: () => r.incarnation, health: () => this.health };
    return new SiteLink({ ...deps, send: (to, msg) => this.send(to, msg), probeRoute: (m) => this.bridge.probeRoute(m), event: (e) => void this.outEvents.push(e), drainSelfQueue: () => this.drainSelfQueue() }, holder);
  }

  // ───────────────────────────── inputs ─────────────────────────────

  step(env: Envelope, now: Ms): void {
    this.advanceTime(now);
    if (env.to !== this.id) {
      this.ignored(env.from, env.msg.type, 'addressed to another member');
    } else {
      // It came through a relay: the sender's direct path to us is broken, maybe ours to it too.
      if (env.via !== undefined) this.bridge.probeRoute(env.from);
      const msg = env.msg;
      if (!isSwimMessage(msg)) this.dispatch(env.from, msg);
      else if (!this.bridge.onMessage(env.from, msg, now)) this.ignored(env.from, msg.type, 'gossip is off here');
    }
    this.finishInput();
  }

  tick(now: Ms): void {
    this.advanceTime(now);
    this.finishInput();
  }

  /**
   * The host's wall clock (ms since the Unix epoch), handed in with an input:
   * it stamps the entries this member appends while it leads (Entry.wallMs,
   * the history's time) and nothing else — leases, timers and elections run on
   * the monotonic `now` alone (DESIGN.md §1). It may jump or go backwards.
   */
  setWallClock(wallMs: number): void {
    // Not an assertion: a host whose clock reads before 1970 (a dead RTC) must still run; its entries carry no time.
    this.time.wallMs = Number.isSafeInteger(wallMs) && wallMs >= 0 ? wallMs : undefined;
  }

  /**
   * The members known to speak protocol 1.2 or later (docs/protocol.md §9): as
   * their hellos announced it, also while disconnected (the host keeps the
   * last version heard). Only while every member of the configuration is
   * among them does the leader append `grant-batch` entries, which an older
   * member would refuse. Until the host says, none: one entry per grant.
   */
  setBatchGrantPeers(ids: Iterable<MemberId>): void {
    this.batchPeers = new Set(ids);
  }

  command(cmd: AdminCommand, now: Ms): void {
    this.advanceTime(now);
    // A lost majority: this survivor decides alone (forced-removal.ts); every other command goes to the leader's office.
    if (cmd.type === 'member-remove' && cmd.confirmFenced === true) this.forced.handle(cmd);
    else this.office.handleCommand(cmd);
    this.finishInput();
  }

  report(r: Report, now: Ms): void {
    this.advanceTime(now);
    if (r.type === 'effect-result') {
      this.site?.holder.onEffectResult(r.id, r.ok, this.time.now, r.skipped ?? [], r.writeMs);
      for (const c of this.site?.holder.takeSpeedChanges() ?? []) this.outEvents.push({ type: 'sink-speed', ...c });
    } else if (r.type === 'sink-state') {
      for (const l of this.site?.holder.onSinkState(r.tickets, r.readStartedAt, this.time.now) ?? []) this.outEvents.push({ type: 'grant-lost', ...l });
    } else if (r.type === 'stopping') {
      this.site?.extendGuardFully(this.outGuard);
    } else {
      const previous = this.health;
      const h = r.health;
      this.health = h;
      this.site?.healthChanged(previous, h);
      const changed = previous.quorate !== h.quorate || previous.handlersOk !== h.handlersOk || !sameNames(previous.unrunnable, h.unrunnable);
      if (changed || !this.bridge.knowsOwnHealth()) this.bridge.publishHealth(h);
    }
    this.finishInput();
  }

  hasReady(): boolean {
    this.settle();
    return this.outMessages.length > 0 || this.bridge.hasReady() || this.outEffects.length > 0 || this.outGuard.length > 0 || this.outEvents.length > 0 || this.registry.hasPersist() || this.site?.holder.wantsSinkRead() === true;
  }

  ready(): Ready {
    this.settle();
    this.bridge.collect(this.outMessages);
    const r: Ready = { persist: this.registry.takePersist(), messages: this.outMessages, effects: this.outEffects, guard: this.outGuard, events: this.outEvents, ...(this.site?.holder.takeSinkRead() === true ? { readSink: true as const } : {}) };
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
    const now = this.time.now;
    let next = this.registry.nextDeadline();
    if (this.registry.isLeader() && this.registry.selfVotes()) next = Math.min(next, this.office.nextDeadline());
    if (this.site !== null) next = Math.min(next, this.site.renewalDueAt(), this.site.holder.nextDeadline(now));
    next = Math.min(next, this.bridge.nextDeadline());
    return ms(Math.max(next, now));
  }

  // ───────────────────────────── views ─────────────────────────────

  status(): MemberStatus {
    const r = this.registry;
    return { id: this.id, role: r.roleNow, term: r.term, leader: r.leaderNow, commit: r.commitIndex, lastIndex: r.lastIndex, members: r.config, leaderLeaseEnd: r.leaderLeaseEndNow() };
  }

  tickets(): TicketState[] {
    return [...this.table.all()];
  }

  /** The formation config as this member has applied it (issue 11: `config show`). */
  committedConfig(): CommittedConfig {
    return { version: this.table.configVersion, members: this.registry.config, tickets: [...this.table.all()].map((t) => t.def), timing: this.table.timing ?? null };
  }

  /**
   * The members of the configuration in force at the last applied entry: the
   * committed one (issue 11: the transport admits exactly their keys). The
   * registry itself runs on the latest configuration in its log, committed or
   * not (dissertation §4.1); this one only grows or shrinks by an applied
   * entry or an installed snapshot.
   */
  committedMembers(): readonly MemberInfo[] {
    return this.registry.configAt(this.registry.appliedIndex);
  }

  /** This store's incarnation, and whether the configuration admits it as a voter (docs/protocol.md §10). */
  incarnation(): { readonly incarnation: number; readonly admitted: boolean; readonly votes: boolean } {
    const r = this.registry;
    return { incarnation: r.incarnation, admitted: r.admitted(), votes: r.selfVotes() };
  }

  /**
   * A linearizable read of the ticket table: answered by a leader that has
   * committed an entry of its term and still holds its leader lease at `now`
   * (Raft §6.4, lease-based reads; safe under the drift bound). Null when this
   * member cannot vouch for the table; the caller asks the leader instead.
   */
  readLinearizable(now: Ms): TicketState[] | null {
    if (now < this.time.now || !this.registry.canServeLeases(now)) return null;
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
    return this.site?.holder.view(name);
  }

  /**
   * The holder side's lease of a ticket: the generation it holds and the lease end on this member's
   * clock, as they stand (sites only; null when none): read without settling, so a checker that looks after every input does not change the run.
   */
  holderLease(name: string): { generation: Generation; leaseEnd: Ms } | null {
    const v = this.site?.holder.view(name);
    return v === undefined || v.gen === null || v.leaseEnd === null ? null : { generation: v.gen, leaseEnd: v.leaseEnd };
  }

  /** The leader's view of a ticket's lease (leader only). */
  leaseView(name: string): { holder: MemberId; generation: Generation; until: number } | undefined {
    return this.office.leaseView(name);
  }

  /** Committed log entries still held in memory (above the snapshot), for checkers. */
  committedEntries(): Entry[] {
    return this.registry.committedEntries();
  }

  snapshotIndex(): Index {
    return this.registry.snapshotIndex;
  }

  /** The gossip layer's view (who is alive, suspect or dead, round trips, routes); null when gossip is off. */
  peers(): SwimView | null {
    return this.bridge.peers();
  }

  /** How this member reaches `member` now (DESIGN.md §3.2): directly, or through whom. */
  routeTo(member: MemberId): Route | null {
    return this.bridge.routeTo(member);
  }

  /** Whether this member passes another member's frame on to `member` (gossip/bridge.ts). */
  canRelayTo(member: MemberId): boolean {
    return this.bridge.canRelayTo(member);
  }

  /** Site health as gossip spread it (this site's own included). */
  siteHealth(): SiteHealthSeen[] {
    return this.bridge.siteHealth();
  }

  /** The newest committed state of a ticket learned through gossip (the leader's publication), if any. */
  ticketSeen(name: string): TicketSeen | undefined {
    return this.bridge.ticketSeen(name);
  }

  /** The ticket table as `list --local` shows it (gossip/bridge.ts). */
  localTickets(): LocalTicketView[] {
    return this.bridge.localTickets(this.table.all(), this.registry.appliedIndex);
  }

  /** For tests and the simulator: the drift stretch in force. */
  driftStretch(): number {
    return driftStretch(this.config.timing.clockDriftPpmMax);
  }

  // ───────────────────────────── internals ─────────────────────────────

  private advanceTime(now: Ms): void {
    assert(Number.isFinite(now), 'now must be finite');
    assert(now >= this.time.now, `monotonic time went backwards: ${now} < ${this.time.now}`);
    this.time.now = now;
    // Gossip runs on the same inputs: its timers fire, and routes are judged at the current time.
    this.bridge.tick(now);
    this.registry.onTime();
    if (this.site !== null && now >= this.site.renewalDueAt()) this.site.sendRenewal();
  }

  private finishInput(): void {
    this.drainSelfQueue();
    this.bridge.collect(this.outMessages);
    // Placement and the CIB reconcile look at every ticket: they run once per Ready
    // (settle, from hasReady/ready/nextDeadline), not once per input, so a host that
    // feeds several inputs before taking a Ready pays for them once.
    this.settlePending = true;
  }

  /** Runs the whole-table work deferred by finishInput. Idempotent until the next input. */
  private settle(): void {
    if (!this.settlePending) return;
    this.settlePending = false;
    // A leading site hands over to an arbitrator, which holds no tickets (registry/election.ts), before it places any.
    if (this.registry.isLeader() && this.office.idle()) this.registry.preferArbitrator();
    if (this.registry.isLeader()) {
      this.office.placeTickets();
      this.drainSelfQueue();
      for (const m of this.registry.config) this.matchOf(m.id);
    }
    this.site?.reconcile(this.outEffects, this.outGuard);
  }

  /** The index up to which `id`'s log is known to match this member's log as leader, now or before (matchKnown). */
  private matchOf(id: MemberId): number {
    const m = this.registry.config.find((x) => x.id === id);
    if (m === undefined) return 0;
    const key = `${id}\u0000${m.incarnation ?? 0}`;
    const known = Math.max(this.registry.matchOf(id), this.matchKnown.get(key) ?? 0);
    if (known > 0) this.matchKnown.set(key, known);
    return known;
  }

  private dispatch(from: MemberId, msg: RaftMessage): void {
    if (!this.registry.admit(from, msg)) return;
    switch (msg.type) {
      case 'renew':
        return this.office.onRenew(from, msg);
      case 'renew-resp':
        return this.site?.onRenewResp(from, msg);
      case 'released':
        return this.office.onReleased(from, msg);
      default:
        return this.registry.step(from, msg);
    }
  }

  /** Sends a registry message: to itself through the self queue, else directly and through any relays (gossip/bridge.ts). */
  private send(to: MemberId, msg: RaftMessage): void {
    if (to === this.id) {
      this.selfQueue.push(msg);
      return;
    }
    this.outMessages.push({ from: this.id, to, msg });
    for (const via of this.bridge.relaysFor(to)) this.outMessages.push({ from: this.id, to, msg, via });
  }

  private drainSelfQueue(): void {
    for (let n = 0; this.selfQueue.length > 0; n++) {
      assert(n < selfMessagesPerInputMax, 'self-message loop');
      this.dispatch(this.id, this.selfQueue.shift()!);
    }
  }

  private ignored(from: MemberId, msgType: string, reason: string): void {
    this.outEvents.push({ type: 'message-ignored', from, msgType, reason });
  }

  /** Applies one committed entry to the ticket table; the lease office answers its command and, at the leader, publishes it. */
  private apply(e: Entry): boolean {
    const outcome = this.table.apply(e.data, e.index, e.wallMs);
    const detail = outcome.ok ? (outcome.skipped === undefined ? {} : { skipped: outcome.skipped }) : { reason: outcome.reason };
    this.outEvents.push({ type: 'applied', index: e.index, data: e.data, ok: outcome.ok, ...detail });
    this.office.applied(e, outcome.ok ? null : outcome.reason);
    return outcome.ok;
  }
}
