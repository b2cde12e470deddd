// The deterministic simulator: real src/core Members on virtual time, with a
// network, per-member drifting clocks, stores that lose unsynced writes on a
// crash, CIBs with slow and failing writes, and a lease guard that outlives
// its agent. Faults are data drawn from the seed; the checker runs after
// every event on the simulator's true time.
//
// Every member runs gossip (SWIM, DESIGN.md §3) over the same per-direction
// links as the registry. A message the core sends through a relay (`via`)
// takes two legs, from→via and via→to, each with its own link's cut, loss and
// delay; the relay forwards it as the runtime does: only while it runs, only
// messages written by the member that handed them over (one hop, never a
// chain), only where its core allows (canRelayTo: not to a member it holds
// dead), within a per-member budget (src/wire/relay-budget.ts).

import { defaultLimits, validateTicketDef, type CoreConfig } from '../../src/core/config.js';
import { CibWriteQueue, type QueuedWrite } from '../support/cib-write-queue.js';
import { emptyRaftStore, loadFrom, persistInto, type RaftStore } from '../support/raft-store.js';
import { driftStretch, revokeLeadCeilingMs, usableLeaseMinMs } from '../../src/core/lease.js';
import { Member } from '../../src/core/member.js';
import type { EntryData, Envelope } from '../../src/core/messages.js';
import { RelayBudget } from '../../src/wire/relay-budget.js';
import { fakeClaimAuth } from '../support/fake-claim-auth.js';
import { SeededRandom } from '../../src/core/random.js';
import type { AdminCommand, PersistBatch, Ready, Report } from '../../src/core/ready.js';
import type { CibTicketState, GuardUpdate, TicketEffect } from '../../src/core/tickets/site-holder.js';
import { AssertionError, generation, memberId, ms, type Member as MemberInfo, type MemberId, type TicketDef } from '../../src/core/types.js';
import { Checker } from './checker.js';
import { guardKey, SimGuard, type SimGuardRecord } from './guard-model.js';
import { probeReadsPerRevoke } from '../../src/adapters/pacemaker/guard-timing.js';
import { cibExpiresSlackMs } from '../../src/adapters/pacemaker/crm-ticket-sink.js';
import { EventHeap } from './heap.js';
import type { FaultKind, ScenarioName, SimParams } from './params.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';
import { majority } from '../../src/core/registry/quorum.js';

export type MemberFactory = (config: CoreConfig, init: ConstructorParameters<typeof Member>[1]) => Member;

interface CibTicket {
  granted: boolean;
  generation: number;
  /** The guard's deadline (local clock of the machine that wrote it) for the current grant. */
  guardAt: number | null;
  /** The machine (Node.machine) whose agent wrote the grant or its deadline: another node of the site reads no deadline of its own. */
  machine: number;
  /** booth's `expires` (wall clock, whole seconds since the simulated epoch) of a grant: its deadline on the writer's wall clock. */
  expiresSec: number | null;
  /** Standby, owner and attributes as last written (CibTicketState.shown); a guard's revoke leaves them. */
  shown: NonNullable<CibTicketState['shown']> | null;
}

interface Node {
  readonly idx: number;
  readonly relayBudget: RelayBudget;
  readonly info: MemberInfo;
  /** The node (index) of the member this one stands for: itself, or for an old machine left behind by an agent move, the member's. */
  readonly home: number;
  /** The machine the member's agent runs on (its clock, store, guard record and guard): a new one after an agent move. */
  machine: number;
  rate: number;
  offset: number;
  /** This machine's wall clock ahead of true time (NTP inside a site: a few hundred ms at most). */
  wallSkewMs: number;
  core: Member | null;
  /** Bumped on every restart: results of an old incarnation's effects are not reported to the new one. */
  incarnation: number;
  paused: boolean;
  inbox: Envelope[];
  /** Effect outcomes that arrived while the agent was paused, read when it resumes. */
  pendingReports: Report[];
  timerToken: number;
  store: RaftStore;
  cib: Map<string, CibTicket>;
  cibQueue: CibWriteQueue;
  /**
   * The lease guard's record beside the CIB (src/adapters/pacemaker/lease-guard-file.ts): the agent
   * arms it before writing a grant and disarms it after writing a revoke; the guard process reads it
   * and revokes in the CIB, leaving the record as it is. Extensions are judged against it, not the CIB.
   */
  guardRecord: Map<string, SimGuardRecord>;
  /** The lease guard process's own state: its CIB timing, probes and revokes in flight (guard-model.ts). */
  guard: SimGuard;
  /** Guard updates waiting for the one being written (the host's runGuard: one at a time, the waiting ones merged into one). */
  guardWaiting: Array<{ update: GuardUpdate; incarnation: number }>;
  guardWriting: boolean;
  /** Deadlines the lease guard process enforced (`ticket@generation@deadline`). */
  guardEnforced: Set<string>;
  crashInNextReady: boolean;
  restarts: number;
  /** Store wipes so far: each restart after one is a new incarnation that must be re-admitted. */
  wipes: number;
  /** The last true time a fault other than message loss touched this member (crash, restart, pause, wipe, health, a cut of its links). */
  disturbedAt: number;
}

type SimEvent =
  | { at: number; seq: number; kind: 'deliver'; env: Envelope; to: number }
  | { at: number; seq: number; kind: 'timer'; node: number; token: number }
  | { at: number; seq: number; kind: 'cib-done'; node: number; writes: readonly QueuedWrite[]; ok: boolean; startedLocal: number }
  | { at: number; seq: number; kind: 'guard'; node: number }
  | { at: number; seq: number; kind: 'guard-done'; node: number; updates: ReadonlyArray<{ update: GuardUpdate; incarnation: number }>; extend: GuardUpdate['extend']; ok: boolean; startedLocal: number }
  | { at: number; seq: number; kind: 'action'; run: () => void };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The core's limits, but compacting every 16 entries and sending snapshots in
 * chunks of 256 bytes: with the defaults (256 entries, 1 MiB) a run never
 * compacts and a snapshot of a few tickets is one chunk, so the chunked
 * transfer (src/core/registry/snapshot-transfer.ts) would meet none of the
 * faults. With these, members that were cut off or restarted catch up through
 * multi-chunk transfers under loss, duplication, delay and leader changes.
 */
const simLimits = { ...defaultLimits, logEntriesBeforeSnapshot: 16, snapshotChunkBytesMax: 256 };

export interface FailoverSample {
  readonly ms: number;
  readonly boundMs: number;
}

/** Gossip figures of one run (issue 5); counted in the safety or scenario phase only. */
export interface GossipFigures {
  /** Suspicions (suspect or dead) of a running, unpaused member that had a two-way path of at most two hops to its accuser. */
  readonly falseSuspicions: number;
  /** Running member time over which suspicions were counted, in hours. */
  readonly memberHours: number;
  /** Per committed change of a ticket's holder or generation: time until every running member's `list --local` showed it. */
  readonly convergenceMs: readonly number[];
  /** Changes that had not converged when the counting phase ended. */
  readonly unconverged: number;
  /** Registry messages sent through a relay, and relayed frames the relay did not pass on (it was down, refused, over budget). */
  readonly relayed: number;
  readonly relayDropped: number;
}

/** One automatic failover away from a holder that only message loss could have kept from renewing (RunResult.movedFromReachable). */
export interface MovedFromReachable {
  readonly atMs: number;
  readonly index: number;
  readonly ticket: string;
  readonly from: MemberId;
  /** How long (true ms) neither the holder nor the formation had seen a fault other than loss. */
  readonly quietMs: number;
}

/** A CIB revoke that landed after the holder's own lease end (RunResult.lateRevokes). */
export interface LateRevoke {
  readonly site: MemberId;
  readonly ticket: string;
  readonly generation: number;
  /** How long after the lease end (true ms) the revoke landed. */
  readonly lateMs: number;
  /**
   * Whose write it was: the agent's (its effect) or the lease guard's — 'guard, agent lost' when the
   * agent that recorded the deadline was down, paused or restarted by then: nothing measured the CIB
   * since (docs/protocol.md §4, where this does not hold).
   */
  readonly by: 'agent' | 'guard' | 'guard, agent lost';
  readonly atMs: number;
}

/** A grant that landed after the site's guard had enforced its deadline and stood past the holder's lease end. */
export interface LateGrant {
  readonly site: MemberId;
  readonly ticket: string;
  readonly generation: number;
  /** How long past the holder's latest lease end for that grant (true ms) it stood: until revoked, or until the run ended. */
  readonly stoodMs: number;
  /** Whose revoke ended it; null: none by the end of the run. */
  readonly revokedBy: LateRevoke['by'] | null;
}

export interface RunResult {
  readonly seed: number;
  readonly scenario: ScenarioName | null;
  readonly gossip: GossipFigures;
  readonly violations: Checker['violations'];
  readonly counts: ReturnType<Checker['counts']>;
  readonly livenessFailures: string[];
  readonly failovers: FailoverSample[];
  readonly falseFailovers: number;
  /**
   * L2 under the loss model, in every fault class: automatic failovers (lease ran out, not a release)
   * committed while the old holder had been up, healthy and uncut — nothing but message loss, delay,
   * duplication, reordering or CIB latency anywhere in the formation — for a whole quiet window
   * (World.quietWindowMs) before the commit. Counted, not failed: loss alone can starve a lease.
   */
  readonly movedFromReachable: readonly MovedFromReachable[];
  /** Committed grant-batch entries (issue 15 item 5) and the tickets they named. */
  readonly grantBatches: { readonly entries: number; readonly tickets: number };
  readonly minGuardGapMs: number;
  /**
   * CIB revokes that landed after the latest lease end the site's own holder side had for that grant
   * (docs/protocol.md §4): the grant outlived the lease, which S1 rests on. Not yet an S1 (the leader
   * waits longer, and the next holder acquire-after), but the margin is gone.
   */
  readonly lateRevokes: readonly LateRevoke[];
  /**
   * Grants of a generation written to the CIB after the site's lease guard had enforced that deadline
   * (a write in flight at the deadline landing after the guard's revoke: seed 29 with --many-tickets);
   * those the guard's checks again revoked; and those that stood past the holder's lease end.
   */
  readonly grantsAfterGuard: { readonly landed: number; readonly revokedAgain: number; readonly stood: readonly LateGrant[] };
  /** Guard updates made to land after the deadline they replace, and grants the holders then found lost in the CIB. */
  readonly guardLate: { readonly writes: number; readonly grantsLost: number; readonly maxStrandedMs: number };
  /**
   * Members re-admitted as a new incarnation (event `member-rejoin`) though their store was never lost and
   * they were never removed: a member of a new formation that missed the bootstrap (docs/protocol.md §10).
   */
  readonly startRejoins: number;
  readonly simulatedMs: number;
  readonly events: number;
  /**
   * Config changes (issue 11): those proposed while the leader's table had the
   * ticket held, by kind, and those committed, by entry type.
   */
  readonly configChanges: { readonly proposedHeld: Readonly<Record<string, number>>; readonly committed: Readonly<Record<string, number>> };
  /**
   * The 'lost-majority' fault (issue 11 item 5): runs, forced removals refused before the one
   * accepted, the time from the loss to the accepted command, and tickets then granted with --force.
   */
  readonly forcedRemoval: {
    readonly runs: number;
    readonly refused: number;
    readonly acceptedAfterMs: readonly number[];
    readonly forceGrants: number;
    /** What the lost members alone had: committed entries the survivor's log replaced, and generations granted again. */
    readonly lostEntries: number;
    readonly generationsReused: number;
  };
  /**
   * The 'agent-move' fault (issue 11 item 4): fast and slow moves, the grants their sites' CIBs held
   * and what became of them; how often the old node's guard stood down (a later `expires` at the
   * same generation), and the grants fast moves did not keep.
   */
  readonly agentMoves: { readonly fast: AgentMoveFigures; readonly slow: AgentMoveFigures; readonly guardStoodDown: number; readonly fastNotKept: readonly MoveNotKept[] };
  /**
   * The 'member-replace' fault (issue 11 item 3): replacements proposed (each retried until answered),
   * those whose old member held tickets, committed ones, new members started, refusals by code.
   */
  readonly replaces: { readonly proposed: number; readonly holding: number; readonly committed: number; readonly started: number; readonly refused: Readonly<Record<string, number>> };
}

/** One kind of agent move (RunResult.agentMoves): fast (well within the lease) or slow (longer than a lease). */
export interface AgentMoveFigures {
  readonly moves: number;
  /** Grants the site's CIB held when its agent moved. */
  readonly grants: number;
  /** Of those: written again by the new node's agent at the same generation, never revoked in between (no resource restart). */
  readonly kept: number;
  /** Revoked before the new node's agent adopted them (by the old node's guard, the new agent, or the registry's revoke). */
  readonly revoked: number;
}

/** A grant a fast agent move did not keep, for tracing. */
export interface MoveNotKept {
  readonly site: MemberId;
  readonly ticket: string;
  readonly generation: number;
  readonly movedAtMs: number;
  readonly revokedAtMs: number;
  readonly by: LateRevoke['by'];
  /** Whether the formation was quiet (no cut, no slow link, no other member's fault) from the move to the revoke. */
  readonly quiet: boolean;
  /**
   * How long the hold could last when the new agent started: booth's `expires` (whole seconds, written
   * with a deadline extended once half its time had passed) less the slack for the nodes' wall clocks,
   * in true ms; ≤ 0: no hold at all, the new agent revokes at once (site-takeover.ts).
   */
  readonly holdLeftMs: number;
  /** Whether the leader's table still had the site holding that generation when the grant was revoked (else an admin or a failover took it). */
  readonly registryHeld: boolean;
}

/**
 * What the simulated host does beyond the core. `sinkReadBack: false` is the
 * negative control of the stranded-grant check: without reading the CIB back
 * after a guard update, a revoke the agent did not make stays unseen.
 */
export interface HostOptions {
  readonly sinkReadBack: boolean;
  /**
   * Whether the lease guard checks its enforced deadlines again (default true); false is the
   * negative control of RunResult.grantsAfterGuard (the guard as it was before commit "lease guard:
   * check an enforced deadline again").
   */
  readonly guardRecheck?: boolean;
  /**
   * End the run at the first violation the checker records (the negative controls need only the
   * catch: a mutant's diverged formation can run on for minutes of CPU). Default false.
   */
  readonly stopAtViolation?: boolean;
}

/** Thrown inside a run asked to stop at its first violation; run() ends there with what was caught. */
class StoppedAtViolation extends Error {}

/**
 * Thrown when more than 100 000 events fall on one instant: a loop that never lets time move on. With
 * the real core a bug; under a mutant it can be the broken rule's doing before any invariant broke
 * (wiped-member-votes at seed 9: a leader and a follower whose logs the mutant made disagree traded
 * appends and rejections 190 000 times in 150 ms), which a mutant search counts as not caught there.
 */
export class EventStorm extends Error {}

/** How often the stranded-grant check looks at every site (simulated ms). */
const strandSampleMs = 100;
/** The longest an agent move waits for the stopping agent's writes in flight (its guard flush: site-agent/main.ts, at most 5 s) before it gives the move up. */
const stopWaitMaxMs = 30_000;

/** The simulated wall clocks' start (2026-01-01T00:00:00Z): any fixed point; the history shows times from it. */
const simWallEpochMs = 1_767_225_600_000;

export class World {
  readonly rng: SeededRandom;
  /** The members running now, or down but still members: what faults, admins and the liveness checks look at. */
  readonly nodes: Node[];
  /**
   * Every node ever, by index (Node.idx): the members, members replaced (stopped for good, their
   * sites' CIBs and lease guards go on), and the old machines agent moves left (their guards go on).
   */
  readonly all: Node[];
  private machines = 0;
  /** The checker's arbitrators: those of the drawn formation and those a replacement added. */
  private readonly arbitratorIds = new Set<MemberId>();
  readonly checker: Checker;
  private readonly heap = new EventHeap<SimEvent>();
  private seq = 0;
  now = 0;
  private eventCount = 0;
  private sameTimeEvents = 0;
  private readonly blocked = new Set<string>(); // "a>b" directed links cut
  /** Extra delay of every message to a member (the 'slow-inbound' fault), by node index. */
  private readonly inboundDelayMs = new Map<number, number>();
  private readonly adminIds = new Set<string>();
  private adminSeq = 0;
  /** Config changes (issue 11) draw from their own stream: the fault mix of a seed stays the same draws. */
  private readonly cfgRng: SeededRandom;
  /** The longest expire and acquire-after any ticket has had in this run (liveness bounds must allow for them). */
  private leaseEverMs: number;
  private acquireEverMs: number;
  private addedTickets = 0;
  private readonly cfgProposedHeld = new Map<string, number>();
  /** Automatic failovers committed while counting, one key per (index, ticket). */
  private readonly autoFailovers = new Set<string>();
  /** The last true time a fault other than loss touched the whole formation (a cut or heal anywhere, slow inbound, membership). */
  private formationDisturbedAt = 0;
  /** Per ticket, the holder after the latest committed grant or revoke seen (index): who a failover took it from. */
  private readonly holderAfter = new Map<string, { index: number; holder: MemberId | null }>();
  private readonly movedFromReachable: MovedFromReachable[] = [];
  private readonly movedSeen = new Set<string>();
  /** Committed grant-batch entries by index: how many tickets each named. */
  private readonly grantBatches = new Map<number, number>();
  private net: SimParams['net'];
  private cibFailRate: number;
  /** Share of guard-record writes that land after the deadline they replace; healing ends this fault too. */
  private guardLateRate: number;
  /** The slow-CIB ramp (params.cib.ramp) until the liveness phase heals it. */
  private cibRamp: SimParams['cib']['ramp'];
  private countFalseFailovers = true;
  readonly liveness: string[] = [];
  readonly failovers: FailoverSample[] = [];
  private readonly configs: CoreConfig[];
  private readonly rho: number;
  // Gossip figures.
  private countGossip = true;
  private falseSuspicions = 0;
  private memberMs = 0;
  private memberMsFrom = 0;
  private readonly convergence: number[] = [];
  private guardLateWrites = 0;
  private grantsLost = 0;
  private startRejoins = 0;
  /** Members removed at some point (added back with their stores, they may be bound as another incarnation). */
  private readonly removedEver = new Set<string>();
  /** Since when (true ms) a site's agent has believed in a confirmed grant its CIB does not hold, by "node ticket". */
  private readonly strandedSince = new Map<string, number>();
  private readonly strandReported = new Set<string>();
  private maxStrandedMs = 0;
  /** Per "node|ticket|generation": the latest lease end (true ms) the site's holder side believed in for that grant. */
  private readonly leaseEndTrue = new Map<string, number>();
  private readonly lateRevokes: LateRevoke[] = [];
  private nextStrandSampleAt = 0;
  private readonly pendingChanges: Array<{ ticket: string; holder: MemberId | null; generation: number; at: number }> = [];
  private readonly changesSeen = new Set<number>();
  private relayed = 0;
  private relayDropped = 0;
  /** Members removed by the 'member-change' fault, to be added back (by the fault, else in the liveness phase). */
  private readonly removed = new Set<Node>();
  /**
   * The 'lost-majority' fault (params.ts): members lost for good, or stopped for good by the admin
   * (every survivor but one, as the runbook says). Their agents never start again with their stores;
   * their sites' CIBs and lease guards go on. Reinstalled (wiped) and added back when the liveness
   * phase heals.
   */
  private readonly fenced = new Set<Node>();
  /** Its own stream: the other draws of a seed stay what they were. */
  private readonly lostRng: SeededRandom;
  private readonly guardRng: SeededRandom;
  /** The guards' checks again of enforced deadlines that revoke nothing else draw from their own stream too. */
  private readonly recheckRng: SeededRandom;
  /** Grants written after the site's guard had enforced their deadline, by `idx|ticket|generation`: when they landed (true ms). */
  private readonly grantsAfterEnforced = new Map<string, number>();
  /** RunResult.grantsAfterGuard. */
  private readonly afterGuard = { landed: 0, revokedAgain: 0, stood: [] as LateGrant[] };
  /** The survivor the admin runs the forced removal on, once a majority was lost; when it was accepted (true ms). */
  private survivor: Node | null = null;
  /**
   * The liveness phase has begun: a fault with a timeline of its own that was still asking again
   * (lost-majority, member-replace, agent-move) does not start then (seed 753: a lost majority
   * deferred 11 times struck 7 s after the heal, past the recovery that heal runs).
   */
  private healing = false;
  private forcedAt: number | null = null;
  /** Forced-removal figures: attempts refused, and the time from the loss to the accepted command. */
  private readonly forced = { runs: 0, refused: 0, acceptedAfterMs: [] as number[], forceGrants: 0 };
  /** Admin commands whose result the world acts on, by id. */
  private readonly onResult = new Map<string, (e: Extract<Ready['events'][number], { type: 'command-result' }>) => void>();
  /** The member-remove command of each removed member until it is answered: until then the member in the config is not one added back. */
  private readonly removalsPending = new Map<string, string>();
  /** Agent moves and member replacements (issue 11) draw from their own streams, on timelines of their own. */
  private readonly moveRng: SeededRandom;
  private readonly replaceRng: SeededRandom;
  private readonly moves = {
    fast: { moves: 0, grants: 0, kept: 0, revoked: 0 },
    slow: { moves: 0, grants: 0, kept: 0, revoked: 0 },
    guardStoodDown: 0,
    fastNotKept: [] as MoveNotKept[],
  };
  /** Agents stopping for a move, waiting for their guard flush and writes in flight (agentMove). */
  private readonly stoppingAgents = new Set<Node>();
  /** Grants a moved agent's site held at the move, by `home|ticket`: until the new node's agent writes them again, or they are revoked. */
  private readonly movePending = new Map<string, { generation: number; fast: boolean; machine: number; at: number; startAt: number; holdLeftMs: number }>();
  private readonly replaced = { proposed: 0, holding: 0, committed: 0, refused: {} as Record<string, number> };
  /** The replacement under way: the member leaving, the one joining, whether --force, whether committed. */
  private replacing: { old: Node; member: MemberInfo; force: boolean; committed: boolean } | null = null;
  private replaceSeq = 0;
  /** The members replacements added. */
  private readonly joined: Node[] = [];
  /** Members replaced: stopped for good; their sites' CIBs and lease guards go on. */
  private readonly retired = new Set<Node>();

  constructor(
    readonly params: SimParams,
    private readonly factory: MemberFactory = (c, i) => new Member(c, i),
    private readonly host: HostOptions = { sinkReadBack: true },
  ) {
    this.rng = new SeededRandom(params.seed ^ 0x5eed);
    this.cfgRng = new SeededRandom(params.seed ^ 0xc0f1c0);
    this.lostRng = new SeededRandom(params.seed ^ 0x1057b);
    // The guards' probes draw from their own stream: seeds whose guards never probe run as before.
    this.guardRng = new SeededRandom(params.seed ^ 0x9a4d);
    this.recheckRng = new SeededRandom(params.seed ^ 0x4ec4);
    this.moveRng = new SeededRandom(params.seed ^ 0xa6e7a1);
    this.replaceRng = new SeededRandom(params.seed ^ 0x4e91acf);
    this.leaseEverMs = Math.max(...params.tickets.map((t) => t.leaseDurationMs));
    this.acquireEverMs = Math.max(...params.tickets.map((t) => t.acquireAfterMs));
    this.net = params.net;
    this.cibFailRate = params.cib.failRate;
    this.guardLateRate = params.cib.guardLateRate;
    this.cibRamp = params.cib.ramp;
    this.rho = params.timing.clockDriftPpmMax / 1e6;
    const infos: MemberInfo[] = [];
    for (let i = 0; i < params.sites; i++) infos.push({ id: memberId(`site${i + 1}`), kind: 'site' });
    for (let i = 0; i < params.arbitrators; i++) infos.push({ id: memberId(`arb${i + 1}`), kind: 'arbitrator' });
    for (const m of infos) if (m.kind === 'arbitrator') this.arbitratorIds.add(m.id);
    this.configs = infos.map((m) => ({ self: m.id, members: infos, tickets: params.tickets, timing: params.timing, limits: simLimits }));
    this.checker = new Checker(
      this.arbitratorIds,
      new Set(params.tickets.filter((t) => t.mode === 'manual').map((t) => t.name)),
      this.adminIds,
    );
    this.nodes = infos.map((info, idx) => this.newNode(idx, info, params.clockRates[idx]!, params.clockOffsets[idx]!, 0));
    this.all = [...this.nodes];
    // A member started late is down until then: a crash before has nothing to stop, a restart starts it.
    for (const n of this.nodes) {
      const delay = params.startDelaysMs?.[n.idx] ?? 0;
      if (delay === 0) this.start(n);
      else this.at(delay, () => void (n.core === null && n.restarts === 0 && n.wipes === 0 && this.start(n)));
    }
  }

  private newNode(idx: number, info: MemberInfo, rate: number, offset: number, wallSkewMs: number): Node {
    return {
      idx,
      home: idx,
      machine: this.machines++,
      info,
      rate,
      offset,
      wallSkewMs,
      core: null,
      incarnation: 0,
      paused: false,
      inbox: [],
      pendingReports: [],
      timerToken: 0,
      store: emptyRaftStore(),
      cib: new Map(),
      cibQueue: new CibWriteQueue(),
      guardRecord: new Map(),
      guardWaiting: [],
      guardWriting: false,
      guardEnforced: new Set(),
      guard: new SimGuard(),
      crashInNextReady: false,
      restarts: 0,
      wipes: 0,
      disturbedAt: 0,
      relayBudget: new RelayBudget(),
    };
  }

  // ───────────── clocks and scheduling ─────────────

  local(n: Node, at = this.now): number {
    return Math.floor(n.offset + n.rate * at);
  }

  /** The earliest true time at which node n's clock reads `localMs`. */
  private trueAt(n: Node, localMs: number): number {
    return Math.max(this.now, (localMs - n.offset) / n.rate + 1e-6);
  }

  private push(e: DistributiveOmit<SimEvent, 'seq'>): void {
    this.heap.push({ ...e, seq: this.seq++ });
  }

  at(t: number, run: () => void): void {
    this.push({ at: t, kind: 'action', run });
  }

  // ───────────── member lifecycle ─────────────

  private start(n: Node): void {
    const persisted = loadFrom(n.store);
    const cib = this.cibStates(n);
    n.incarnation += 1;
    try {
      n.core = this.factory(this.configs[n.idx]!, {
        now: ms(this.local(n)),
        random: new SeededRandom(this.params.seed * 31 + n.idx * 1009 + n.restarts * 7919),
        snapshotCodec,
        ...(persisted === undefined ? {} : { persisted }),
        // Distinct for every start of every member: a wiped store never comes back as an incarnation it had.
        freshIncarnation: 1 + n.idx + this.all.length * (n.restarts + 1),
        cib,
        // The simulated CIB lists every ticket it holds a state of (as the file sink's read); every other member is
        // told nothing of that, as the crm_ticket sink's read, and writes its start-up revokes.
        cibComplete: n.idx % 2 === 0,
        gossip: {
          timing: this.params.swim,
          // Its own stream: the registry's draws above are the same as without gossip.
          random: new SeededRandom((this.params.seed * 53 + n.idx * 7907 + n.restarts * 104_729) ^ 0x90551b),
          auth: fakeClaimAuth(n.info.id),
          incarnation: n.incarnation,
        },
      });
      // Every member announces protocol 1.2 unless the seed plays a formation with a 1.1 member.
      if (this.params.batchGrants !== false) n.core.setBatchGrantPeers(this.nodes.map((x) => x.info.id));
      this.drain(n);
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      this.checker.onAssertion(n.info.id, this.now, err);
      this.crash(n);
    }
  }

  crash(n: Node): void {
    if (n.core === null) return;
    n.disturbedAt = this.now;
    n.core = null;
    n.paused = false;
    n.inbox = [];
    n.pendingReports = [];
    n.timerToken += 1;
    // CIB writes not yet started die with the agent; the one in progress completes.
    n.cibQueue.dropWaiting();
    n.guardWaiting = [];
    // Its lease guard sees the agent gone (kill -0 fails): it starts timing its CIB (guard-model.ts).
    if (n.guardRecord.size > 0) this.guardLook(n);
  }

  /**
   * The store is lost with the process (docs/protocol.md §10); the CIB and the lease guard's
   * record are the site's and stay. Only while every other member that lost its store has
   * been re-admitted as a voter: losing a majority's stores is disaster recovery, not a fault.
   */
  wipe(n: Node): boolean {
    if (this.removed.size > 0 || this.survivor !== null || this.replacing !== null || this.nodes.some((m) => m !== n && this.wipedPending(m))) return false;
    this.crash(n);
    n.store = emptyRaftStore();
    n.wipes += 1;
    return true;
  }

  /** Every member runs as a voter at its admitted incarnation, in the leader's configuration too. */
  private allVoters(): boolean {
    const config = this.leader()?.core?.status().members;
    if (config === undefined) return false;
    return this.nodes.every((n) => n.core !== null && n.core.incarnation().votes && config.some((m) => m.id === n.info.id && m.voter !== false));
  }

  /** A member that lost its store and is not a voter again yet (down, or waiting to be re-admitted). */
  private wipedPending(m: Node): boolean {
    return m.core === null ? m.wipes > 0 : !m.core.incarnation().votes;
  }

  restart(n: Node): void {
    // A member lost for good never starts again with its store (--confirm-fenced's promise).
    if (n.core !== null || this.fenced.has(n) || this.retired.has(n)) return;
    n.restarts += 1;
    n.disturbedAt = this.now;
    this.start(n);
  }

  pause(n: Node, durationMs: number): void {
    if (n.core === null || n.paused) return;
    n.paused = true;
    n.disturbedAt = this.now;
    this.at(this.now + durationMs, () => this.resume(n));
  }

  resume(n: Node): void {
    if (!n.paused) return;
    n.paused = false;
    n.disturbedAt = this.now;
    const inbox = n.inbox;
    n.inbox = [];
    for (const env of inbox) {
      if (env.to !== n.info.id && env.via === n.info.id) this.forward(n, env);
      else this.feed(n, (c, now) => c.step(env, now));
    }
    const reports = n.pendingReports;
    n.pendingReports = [];
    for (const report of reports) this.feed(n, (c, now) => c.report(report, now));
    this.feed(n, (c, now) => c.tick(now));
  }

  private feed(n: Node, input: (core: Member, now: ReturnType<typeof ms>) => void): void {
    if (n.core === null || n.paused) return;
    try {
      // Each member's wall clock runs at its own rate from its own offset, as the monotonic one does (no synchronised
      // clocks, DESIGN.md §1): it only stamps the entries a leader appends (the history's times), never a decision.
      n.core.setWallClock(simWallEpochMs + this.local(n));
      input(n.core, ms(this.local(n)));
      this.drain(n);
    } catch (err) {
      if (!(err instanceof AssertionError)) throw err;
      // The core caught a broken invariant and would abort the process: record it, crash the member.
      this.checker.onAssertion(n.info.id, this.now, err);
      this.crash(n);
    }
  }

  /** Carries out Ready batches in the documented order: persist → send → effects → advance. */
  private drain(n: Node): void {
    const core = n.core;
    if (core === null) return;
    while (core.hasReady()) {
      const r = core.ready();
      if (n.crashInNextReady) {
        n.crashInNextReady = false;
        this.crashMidReady(n, r);
        return;
      }
      this.persist(n, r.persist);
      for (const env of r.messages) this.send(env);
      this.onEvents(n, r);
      this.enqueueEffects(n, r.effects);
      for (const update of r.guard) this.startGuardUpdate(n, update);
      // A take-over hold past `expires` asks for a read of the sink (runtime/pump.ts: Ready.readSink).
      if (r.readSink === true && this.host.sinkReadBack) this.readSinkBack(n, n.incarnation);
      core.advance(r);
    }
    this.noteLeaseEnds(n);
    this.scheduleTimer(n);
    if (this.countGossip && this.pendingChanges.length > 0) this.checkConvergence();
  }

  /**
   * The latest lease end (true time) each site's holder side has believed in, per ticket and
   * generation: a CIB revoke of that grant landing later is a late revoke (RunResult.lateRevokes).
   */
  private noteLeaseEnds(n: Node): void {
    const core = n.core;
    if (core === null || n.info.kind !== 'site') return;
    // Every ticket the site holds, whether or not its CIB shows the grant yet: a lease renewed while
    // the grant was being written again counts (seed 49 with --many-tickets). And every ticket its CIB
    // names: an agent move's take-over is written on a confirmed lease of a ticket the new store's table
    // may not define yet (site-takeover.ts; seed 83 --live-changes counted its revoke late against the old lease).
    const note = (ticket: string): void => {
      const lease = core.holderLease(ticket);
      if (lease === null) return;
      const key = `${n.home}|${ticket}|${lease.generation}`;
      const t = (lease.leaseEnd - n.offset) / n.rate;
      if (t > (this.leaseEndTrue.get(key) ?? Number.NEGATIVE_INFINITY)) this.leaseEndTrue.set(key, t);
    };
    for (const held of core.tickets()) note(held.def.name);
    for (const ticket of n.cib.keys()) if (core.ticket(ticket) === undefined) note(ticket);
  }

  /**
   * A change has converged when every running member's local view (what
   * `tollbooth list --local` shows: the applied table, or a newer commit
   * learned through gossip) has that holder and generation, or a later one.
   */
  private checkConvergence(): void {
    for (let i = this.pendingChanges.length - 1; i >= 0; i--) {
      const p = this.pendingChanges[i]!;
      let done = true;
      for (const m of this.nodes) {
        if (m.core === null || m.paused) continue;
        const v = m.core.localTickets().find((x) => x.state.def.name === p.ticket)?.state;
        if (v === undefined || v.generation < p.generation || (v.generation === p.generation && v.holder !== p.holder)) {
          done = false;
          break;
        }
      }
      if (done) {
        this.convergence.push(this.now - p.at);
        this.pendingChanges.splice(i, 1);
      }
    }
  }

  /** Whether a and b have a two-way path directly or through one running member: what an indirect probe can use. */
  private twoWayWithinTwoHops(a: Node, b: Node): boolean {
    const link = (x: Node, y: Node): boolean => !this.blocked.has(`${x.idx}>${y.idx}`) && !this.blocked.has(`${y.idx}>${x.idx}`);
    if (link(a, b)) return true;
    return this.nodes.some((c) => c !== a && c !== b && c.core !== null && !c.paused && link(a, c) && link(c, b));
  }

  private crashMidReady(n: Node, r: Ready): void {
    // Crash somewhere inside the batch: before the sync (nothing survives), or
    // after it with only some messages out. Never after a send without the sync.
    const cut = this.rng.int(0, r.messages.length + 1);
    if (cut > 0) {
      this.persist(n, r.persist);
      for (const env of r.messages.slice(0, cut - 1)) this.send(env);
    }
    this.crash(n);
  }

  private persist(n: Node, p: PersistBatch | null): void {
    persistInto(n.store, p);
  }


  private onEvents(n: Node, r: Ready): void {
    // Results first: a forced removal's acceptance rebases the checker before the entries it commits at once.
    for (const e of r.events) {
      const then = e.type === 'command-result' ? this.onResult.get(e.id) : undefined;
      if (then === undefined || e.type !== 'command-result') continue;
      this.onResult.delete(e.id);
      then(e);
    }
    this.checker.onEvents(n.info.id, r.events, this.now);
    for (const e of r.events) {
      if (e.type === 'command-result') for (const [m, id] of this.removalsPending) if (id === e.id) this.removalsPending.delete(m);
      if (e.type === 'grant-lost') this.grantsLost += 1;
      if (e.type === 'member-rejoin' && !this.removedEver.has(e.member) && this.all[this.idxOf(e.member)]?.wipes === 0) this.startRejoins += 1;
      if (e.type === 'member-state' && (e.state === 'suspect' || e.state === 'dead') && this.countGossip) {
        const subject = this.all[this.idxOf(e.member)];
        if (subject !== undefined && subject.core !== null && !subject.paused && this.twoWayWithinTwoHops(n, subject)) this.falseSuspicions += 1;
      }
      if (e.type === 'applied' && e.ok && this.countGossip && this.params.scenario !== null && !this.changesSeen.has(e.index)) {
        this.changesSeen.add(e.index);
        const d = e.data;
        const names = d.type === 'grant' || d.type === 'revoke' ? [d.ticket] : d.type === 'grant-batch' ? d.grants.map((g) => g.ticket) : [];
        for (const name of names) {
          const t = n.core?.ticket(name);
          if (t !== undefined) this.pendingChanges.push({ ticket: name, holder: t.holder, generation: t.generation, at: this.now });
        }
      }
      if (e.type !== 'applied') continue;
      const term = n.store.entries.get(e.index)?.term ?? n.store.snapshot?.term ?? -1;
      if (n.store.entries.has(e.index)) this.checker.onCommittedEntry(n.info.id, e.index, term, e.data, this.now);
      if (e.data.type === 'grant-batch') this.grantBatches.set(e.index, e.data.grants.length);
      if (e.ok) this.noteHolderChange(e.index, e.data, new Set(e.skipped ?? []));
      if (e.ok && (e.data.type === 'grant' || e.data.type === 'grant-batch') && e.data.cause.by === 'auto' && e.data.cause.reason === 'failover' && this.countFalseFailovers) {
        // Per ticket moved: a batch that fails over three tickets is three failovers.
        const skipped = new Set(e.skipped ?? []);
        const moved = e.data.type === 'grant' ? [e.data.ticket] : e.data.grants.map((g) => g.ticket).filter((t) => !skipped.has(t));
        for (const t of moved) this.autoFailovers.add(`${e.index}:${t}`);
      }
    }
  }

  private scheduleTimer(n: Node): void {
    const core = n.core;
    if (core === null) return;
    const d = core.nextDeadline();
    n.timerToken += 1;
    this.push({ at: this.trueAt(n, d), kind: 'timer', node: n.idx, token: n.timerToken });
  }

  // ───────────── network ─────────────

  cut(a: number, b: number): void {
    this.blocked.add(`${a}>${b}`);
    this.formationDisturbed();
  }

  heal(): void {
    if (this.blocked.size > 0 || this.inboundDelayMs.size > 0) this.formationDisturbed();
    this.blocked.clear();
    this.inboundDelayMs.clear();
  }

  /** A fault other than loss anywhere (movedFromReachable): a cut can leave a holder without a path to a majority. */
  private formationDisturbed(): void {
    this.formationDisturbedAt = this.now;
  }

  /**
   * The quiet a failover must follow to count (movedFromReachable): a whole lease as the leader
   * stretches it, and two renewal rounds. The view that ran out was dated (from a renewal, a
   * commit or an election) inside it, so the holder was up and uncut for all of that view, and
   * renewed at every interval: only loss (or a defect) kept every renewal from being answered.
   */
  private quietWindowMs(): number {
    const t = this.params.timing;
    return (this.leaseEverMs * driftStretch(t.clockDriftPpmMax) + 2 * t.renewIntervalMs) / (1 - this.rho);
  }

  /** An applied entry: follows each ticket's holder, and notes an automatic failover away from a holder only loss could have hindered. */
  private noteHolderChange(at: number, data: EntryData, skipped: ReadonlySet<string>): void {
    const changes: Array<{ ticket: string; holder: MemberId | null }> =
      data.type === 'grant' ? [{ ticket: data.ticket, holder: data.site }]
      : data.type === 'grant-batch' ? data.grants.filter((g) => !skipped.has(g.ticket)).map((g) => ({ ticket: g.ticket, holder: g.site }))
      : data.type === 'revoke' || data.type === 'ticket-remove' ? [{ ticket: data.ticket, holder: null }]
      : [];
    const failover = (data.type === 'grant' || data.type === 'grant-batch') && data.cause.by === 'auto' && data.cause.reason === 'failover' && data.cause.detail?.includes('ran out') === true;
    for (const c of changes) {
      const before = this.holderAfter.get(c.ticket);
      if (before !== undefined && before.index >= at) continue;
      this.holderAfter.set(c.ticket, { index: at, holder: c.holder });
      if (!failover || before === undefined || before.holder === null || before.holder === c.holder) continue;
      const from = this.all[this.idxOf(before.holder)];
      // Up, and a member at its admitted incarnation (a wiped store is re-admitted first: docs/protocol.md §10).
      if (from === undefined || from.core === null || from.paused || this.fenced.has(from) || this.removed.has(from) || this.wipedPending(from)) continue;
      // A cut or a slow link still in place is a fault going on: no quiet at all. The holder renews
      // through the leader, with a majority behind it: a pause, crash or restart of any member (the
      // leader's own, or enough others to leave no majority) can stop its renewals as surely as its
      // own (seed 37 --live-changes: the leader paused 27.5 s while another site's agent moved slowly;
      // the two sites left could not elect, every lease ran out, and the leader failed them over on waking).
      const faultNow = this.blocked.size > 0 || this.inboundDelayMs.size > 0;
      const lastFault = Math.max(from.disturbedAt, this.formationDisturbedAt, ...this.nodes.map((m) => m.disturbedAt));
      const quietMs = faultNow ? 0 : this.now - lastFault;
      const key = `${at}:${c.ticket}`;
      if (quietMs < this.quietWindowMs() || this.movedSeen.has(key)) continue;
      this.movedSeen.add(key);
      this.movedFromReachable.push({ atMs: Math.round(this.now), index: at, ticket: c.ticket, from: before.holder, quietMs: Math.round(quietMs) });
    }
  }

  private idxOf(id: MemberId): number {
    // The first node with that id: the member's own (an old machine an agent move left comes later).
    return this.all.findIndex((n) => n.info.id === id);
  }

  private send(env: Envelope): void {
    const from = this.idxOf(env.from);
    if (env.via !== undefined) {
      // First leg of a relayed message: to the relay, which forwards it on arrival.
      const via = this.idxOf(env.via);
      if (via < 0 || via === from) return;
      if (this.countGossip) this.relayed += 1;
      this.transmit(from, via, env);
      return;
    }
    const to = this.idxOf(env.to);
    if (to < 0) return;
    this.transmit(from, to, env);
  }

  /** One message over the directed link a→b: cut, loss, duplication, delay. */
  private transmit(a: number, b: number, env: Envelope): void {
    if (this.blocked.has(`${a}>${b}`)) return;
    if (this.rng.chance(this.net.lossRate)) return;
    const copies = this.rng.chance(this.net.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = this.net.delayBaseMs + this.rng.next() * this.net.delayJitterMs + (this.inboundDelayMs.get(b) ?? 0);
      if (this.rng.chance(this.net.tailRate)) delay += -Math.log(1 - this.rng.next()) * this.net.tailMeanMs;
      this.push({ at: this.now + delay, kind: 'deliver', env, to: b });
    }
  }

  /**
   * The relay's runtime passes a frame on, unchanged, as the real transport
   * does: one hop only, where the relay's core allows it, within the
   * sender's budget. The relay's core never sees the message.
   */
  private forward(relay: Node, env: Envelope): void {
    const core = relay.core;
    const to = this.idxOf(env.to);
    if (core === null || to < 0 || !core.canRelayTo(env.to) || !relay.relayBudget.take(env.from, this.local(relay))) {
      if (this.countGossip) this.relayDropped += 1;
      return;
    }
    // Delivered with `via` kept, as the runtime does: the recipient learns the message was relayed.
    this.transmit(relay.idx, to, env);
  }

  // ───────────── CIB and lease guard ─────────────

  /**
   * A Ready's effects, all queued before the writer takes any (runtime/pump.ts hands the whole Ready's
   * effects over, then starts its writer): an effect later in the Ready supersedes a waiting one of
   * the same ticket before a batch can take it. Taking a batch after the first effect wrote a stale
   * grant that the same Ready's revoke had replaced (seed 891: the revoke then waited behind it and
   * the guard's check again revoked 148 ms after the lease).
   */
  private enqueueEffects(n: Node, effects: readonly TicketEffect[]): void {
    if (effects.length === 0) return;
    for (const effect of effects) n.cibQueue.enqueue(effect, n.incarnation);
    this.pumpCib(n);
  }

  /**
   * The host's sink writer (runtime/pump.ts, TicketSink.applyBatch): when free, it takes every
   * waiting effect — the newest per ticket — as one CIB write (one `cibadmin --modify` of their
   * ticket states and one guard-record write), which takes one write's time and fails or succeeds
   * as a whole. Per ticket it costs next to nothing: `cibadmin --modify` of 1, 100 and 1000
   * ticket_state elements on a CIB file took the same 45–90 ms here (load 5, noise larger than any
   * difference), so a batch draws one latency whatever its size.
   */
  private pumpCib(n: Node): void {
    const writes = n.cibQueue.takeAll(this.local(n), (late) => {
      // Too late to grant: the write would outlive the lease. Report it as failed.
      if (n.incarnation === late.incarnation) {
        this.report(n, { type: 'effect-result', id: late.effect.id, ok: false, error: 'expired' });
      }
    });
    if (writes.length === 0) return;
    const latency = this.cibLatency(n);
    const ok = !this.rng.chance(this.cibFailRate);
    this.push({ at: this.now + latency, kind: 'cib-done', node: n.idx, writes, ok, startedLocal: this.local(n) });
  }

  /**
   * How long one write to this site's CIB (or its guard record, or the guard's revoke) takes from
   * now, in real time: the drawn latency, or on the ramping site a triangle wave up to the ramp's
   * peak and back (params.cib.ramp), each write between half and all of the wave's value.
   */
  private cibLatency(n: Node, rng: SeededRandom = this.rng): number {
    const c = this.params.cib;
    const base = c.latencyMinMs + rng.next() * (c.latencyMaxMs - c.latencyMinMs);
    const ramp = this.cibRamp;
    if (ramp === null || ramp === undefined || n.home !== ramp.site) return base;
    const phase = (this.now % ramp.periodMs) / ramp.periodMs;
    const wave = phase < 0.5 ? 2 * phase : 2 - 2 * phase;
    const bound = c.latencyMaxMs + (ramp.peakMs - c.latencyMaxMs) * wave;
    return Math.max(base, bound * (0.5 + 0.5 * rng.next()));
  }

  /**
   * An effect's outcome for the running agent. A paused agent reads it when
   * it wakes (the child's exit waits in its pipe): dropping it, as this
   * simulator did until gossip changed the seeds' timing, left a holder
   * waiting forever for a write it had made (seed 749: the guard then revoked
   * a live ticket and the formation did not converge).
   */
  private report(n: Node, report: Report): void {
    if (n.core === null) return;
    if (n.paused) n.pendingReports.push(report);
    else this.feed(n, (core, now) => core.report(report, now));
  }

  private cibDone(n: Node, writes: readonly QueuedWrite[], ok: boolean, startedLocal: number): void {
    n.cibQueue.done();
    if (ok) {
      for (const { effect, incarnation } of writes) {
        // Armed (or moved, earlier too) with the grant, disarmed with the revoke (lease-guard-file.ts arm/disarm).
        if (effect.granted && effect.revokeBy !== null) n.guardRecord.set(effect.ticket, { generation: effect.generation, guardAt: effect.revokeBy, ...(effect.leaseEnd === undefined ? {} : { leaseEnd: effect.leaseEnd }), incarnation, expiresSec: this.expiresSecOf(n, effect.revokeBy) });
        else if (!effect.granted) n.guardRecord.delete(effect.ticket);
        this.writeCib(n, effect.ticket, effect.granted, effect.generation, effect.revokeBy, 'agent', { standby: effect.standby, owner: effect.owner, attrs: effect.attrs });
      }
    }
    // The host times the write itself (runtime/pump.ts) on its own clock: every effect of the batch took that long.
    if (ok) this.guardLook(n);
    const writeMs = this.local(n) - startedLocal;
    for (const { effect, incarnation } of writes) {
      if (n.incarnation === incarnation) this.report(n, { type: 'effect-result', id: effect.id, ok, writeMs });
    }
    this.pumpCib(n);
  }

  private writeCib(n: Node, ticket: string, granted: boolean, gen: number, guardAt: number | null, by: LateRevoke['by'] = 'agent', shown?: CibTicket['shown']): void {
    const prev = n.cib.get(ticket);
    if (prev?.granted === true && !granted) {
      const end = this.leaseEndTrue.get(`${n.home}|${ticket}|${prev.generation}`);
      if (end !== undefined && this.now > end) this.lateRevokes.push({ site: n.info.id, ticket, generation: prev.generation, lateMs: this.now - end, by, atMs: this.now });
      this.lateGrantEnds(n, ticket, prev.generation, by);
    }
    if (granted && !(prev?.granted === true && prev.generation === gen) && guardAt !== null && n.guardEnforced.has(`${ticket}@${gen}@${guardAt}`)) {
      this.afterGuard.landed += 1;
      this.grantsAfterEnforced.set(`${n.home}|${ticket}|${gen}`, this.now);
    }
    n.cib.set(ticket, { granted, generation: gen, guardAt: granted ? guardAt : null, machine: n.machine, expiresSec: granted && guardAt !== null ? this.expiresSecOf(n, guardAt) : null, shown: shown ?? prev?.shown ?? null });
    this.noteMoveOutcome(n, ticket, granted, gen, by);
    if (prev?.granted !== granted || (granted && prev.generation !== gen)) {
      this.checker.onCib(n.info.id, ticket, granted, gen, this.now);
    }
  }

  /** A grant written after its guard's revoke ends (or the run does): counted if it stood past the lease. */
  private lateGrantEnds(n: Node, ticket: string, gen: number, by: LateRevoke['by'] | null): void {
    const key = `${n.home}|${ticket}|${gen}`;
    if (!this.grantsAfterEnforced.delete(key)) return;
    const end = this.leaseEndTrue.get(key);
    if (end !== undefined && this.now > end) this.afterGuard.stood.push({ site: n.info.id, ticket, generation: gen, stoodMs: this.now - end, revokedBy: by });
  }

  /**
   * The guard record is a local file beside the CIB: its writes take CIB-like
   * time and fail as often. As the host's runGuard (runtime/pump.ts), one
   * update is written at a time and those that waited meanwhile go together as
   * one, the later entry for a ticket winning. A write in progress completes
   * even if the agent crashes.
   */
  private startGuardUpdate(n: Node, update: GuardUpdate): void {
    n.guardWaiting.push({ update, incarnation: n.incarnation });
    if (!n.guardWriting) this.writeGuardUpdates(n);
  }

  private writeGuardUpdates(n: Node): void {
    const updates = n.guardWaiting.splice(0);
    if (updates.length === 0) return;
    n.guardWriting = true;
    const merged = new Map<string, GuardUpdate['extend'][number]>();
    for (const u of updates) for (const x of u.update.extend) merged.set(x.ticket, x);
    const extend = [...merged.values()];
    let latency = this.cibLatency(n);
    if (this.guardLateRate > 0 && this.rng.chance(this.guardLateRate)) {
      // A stalled write: it lands only after the earliest deadline it replaces, so the guard may revoke first.
      const olds = extend.map((x) => n.cib.get(x.ticket)?.guardAt ?? null).filter((t): t is number => t !== null);
      if (olds.length > 0) this.guardLateWrites += 1;
      if (olds.length > 0) latency = Math.max(latency, this.trueAt(n, Math.min(...olds)) - this.now + 1 + this.rng.next() * 500);
    }
    const ok = !this.rng.chance(this.cibFailRate);
    this.push({ at: this.now + latency, kind: 'guard-done', node: n.idx, updates, extend, ok, startedLocal: this.local(n) });
  }

  private guardDone(n: Node, updates: ReadonlyArray<{ update: GuardUpdate; incarnation: number }>, extend: GuardUpdate['extend'], ok: boolean, startedLocal: number): void {
    const skipped: string[] = [];
    if (ok) {
      for (const x of extend) {
        // As the real record: judged by the record alone, once the write has landed (a deadline passed
        // by then may have been enforced already; the CIB is not consulted).
        const rec = n.guardRecord.get(x.ticket);
        if (rec === undefined || rec.generation !== x.generation || rec.guardAt <= this.local(n)) {
          skipped.push(x.ticket);
          continue;
        }
        if (x.revokeBy <= rec.guardAt) continue;
        rec.guardAt = x.revokeBy;
        if (x.leaseEnd === undefined) delete rec.leaseEnd;
        else rec.leaseEnd = x.leaseEnd;
        rec.incarnation = updates[updates.length - 1]!.incarnation;
        rec.expiresSec = this.expiresSecOf(n, x.revokeBy);
        const c = n.cib.get(x.ticket);
        if (c !== undefined && c.granted && c.generation === x.generation) {
          c.guardAt = x.revokeBy;
          c.machine = n.machine;
          c.expiresSec = this.expiresSecOf(n, x.revokeBy);
        }
      }
      this.guardLook(n);
    }
    const writeMs = this.local(n) - startedLocal;
    const mine = updates.filter((u) => u.incarnation === n.incarnation);
    for (const u of mine) this.report(n, { type: 'effect-result', id: u.update.id, ok, skipped, writeMs });
    // The host reads its sink back after a guard update (runtime/pump.ts): revokes it did not make show up.
    if (mine.length > 0 && ok && this.host.sinkReadBack) this.report(n, { type: 'sink-state', tickets: this.cibStates(n), readStartedAt: ms(this.local(n)) });
    n.guardWriting = false;
    this.writeGuardUpdates(n);
  }

  /** A read of the sink the core asked for (Ready.readSink), reported as it is now, after the Ready that asked. */
  private readSinkBack(n: Node, incarnation: number): void {
    this.at(this.now, () => {
      if (n.incarnation === incarnation) this.report(n, { type: 'sink-state', tickets: this.cibStates(n), readStartedAt: ms(this.local(n)) });
    });
  }

  /**
   * What the host reads of its site's CIB (crm-ticket-sink.ts readState): the deadline of a grant
   * only from this machine's own writes (the guard record lives beside the agent); a grant written
   * on another node of the site (an agent move) shows booth's `expires` instead, converted to this
   * machine's monotonic clock less the slack for the nodes' wall clocks (cibExpiresSlackMs).
   */
  private cibStates(n: Node): CibTicketState[] {
    const out: CibTicketState[] = [];
    for (const [name, c] of n.cib) {
      const own = c.machine === n.machine;
      const expiresAt = !own && c.granted && c.expiresSec !== null ? ms(Math.floor(this.local(n) + c.expiresSec * 1000 - this.wallNow(n) - cibExpiresSlackMs)) : null;
      // An even-numbered member's read is complete (as the file sink's): it shows all of a ticket not granted.
      // As crm-ticket-sink.ts readAll, every member's read shows a grant's standby and geo attributes (what a take-over writes it again with).
      const shown =
        c.granted ? { shown: { standby: c.shown?.standby ?? false, attrs: c.shown?.attrs ?? {} } }
        : n.idx % 2 === 0 && c.shown !== null ? { shown: c.shown }
        : {};
      out.push({ name, granted: c.granted, generation: generation(c.generation), revokeBy: !own || c.guardAt === null ? null : ms(c.guardAt), ...(own ? {} : { expiresAt }), ...shown });
    }
    return out;
  }

  /** This machine's wall clock (ms since the simulated epoch): true time plus its NTP error. */
  private wallNow(n: Node): number {
    return this.now + n.wallSkewMs;
  }

  /** booth's `expires` written with a deadline at local time `at` of n's machine: whole seconds of its wall clock (expiresSecOf in crm-ticket-sink.ts). */
  private expiresSecOf(n: Node, at: number): number {
    return Math.floor((this.wallNow(n) + (at - this.local(n))) / 1000);
  }

  /**
   * The lease guard process (src/adapters/pacemaker/lease-guard.ts) when it looks: it revokes every
   * grant due — at min(revokeBy, leaseEnd − 2 × its slowest measurement: guard-model.ts) — all in
   * one CIB write (one `cibadmin --modify`), each only if that generation is still granted. Its
   * writes take CIB time too, beside the agent's, and a revoke never waits for one in progress (up to
   * the real guard's bound on revokes in flight): deadlines a few ms apart held behind each other's
   * writes landed after the lease (seed 129 with --many-tickets: seven grants due 6 ms after an
   * eighth, 16 ms late). It times each revoke, and while grants are armed and the agent is gone or
   * silent it probes its CIB (one read, drawn as half a write's latency), so a CIB that slows while the
   * agent is down moves its deadlines earlier (seed 91 with --many-tickets: the agent down 14 s, a
   * 720 ms revoke against the 438 ms lead the agent last measured, 285 ms late).
   */
  private guardFires(n: Node): void {
    const g = n.guard;
    const local = this.guardLocal(n);
    g.observe(n.guardRecord, n.guardEnforced, local);
    g.forgetGone(n.guardRecord);
    const due: Array<{ ticket: string; generation: number; guardAt: number; expiresSec: number | undefined; agentLost: boolean; key: string; recheck: boolean }> = [];
    if (g.mayRevoke()) {
      for (const [ticket, rec] of n.guardRecord) {
        const key = guardKey(ticket, rec);
        // The agent that recorded this deadline is down, paused or was restarted since (LateRevoke.agentLost).
        const agentLost = n.core === null || n.paused || n.incarnation !== rec.incarnation;
        const recheckAt = g.recheckAt.get(key);
        if (this.host.guardRecheck !== false && n.guardEnforced.has(key) && recheckAt !== undefined && this.trueAt(n, recheckAt) <= this.now) {
          g.recheckAt.delete(key);
          due.push({ ticket, generation: rec.generation, guardAt: rec.guardAt, expiresSec: rec.expiresSec, agentLost, key, recheck: true });
        }
        // Due by the same arithmetic that timed the wake-up (trueAt), not by the floored local clock.
        if (n.guardEnforced.has(key) || this.trueAt(n, g.enforceAt(ticket, rec, n.core !== null, local)) > this.now) continue;
        n.guardEnforced.add(key);
        due.push({ ticket, generation: rec.generation, guardAt: rec.guardAt, expiresSec: rec.expiresSec, agentLost, key, recheck: false });
      }
    }
    if (due.length > 0) {
      g.revokesRunning += 1;
      // Checks again alone draw from their own stream: the deadlines' revokes draw as before.
      const latency = due.some((d) => !d.recheck) ? this.cibLatency(n) : this.cibLatency(n, this.recheckRng);
      this.at(this.now + latency, () => {
        g.revokesRunning -= 1;
        g.timing.note(this.guardLocal(n) - local, this.guardLocal(n));
        for (const { ticket, generation: gen, guardAt, expiresSec, agentLost, key, recheck } of due) {
          const now = n.cib.get(ticket);
          // An agent of this site on another node took the grant over: the same generation with a later
          // `expires` than this guard's agent wrote (docs/protocol.md §10, the hand-over): the guard stands down.
          const tookOver = now !== undefined && now.granted && now.generation === gen && now.machine !== n.machine && expiresSec !== undefined && now.expiresSec !== null && now.expiresSec > expiresSec;
          if (tookOver) {
            if (!recheck) this.moves.guardStoodDown += 1;
            continue;
          }
          // A check again leaves alone a grant of that generation written since with a later deadline (the
          // real guard: a later `expires`, revokeLostAll's unlessExpiresAfterSec): the agent's, under a lease it renewed.
          const granted = now !== undefined && now.granted && now.generation === gen && (!recheck || now.machine !== n.machine || (now.guardAt !== null && now.guardAt <= guardAt));
          if (granted && recheck) this.afterGuard.revokedAgain += 1;
          if (granted) this.writeCib(n, ticket, false, now.generation, null, agentLost ? 'guard, agent lost' : 'guard');
          if (this.host.guardRecheck !== false) g.noteChecked(key, !recheck, this.guardLocal(n));
        }
        this.guardFires(n);
      });
    }
    if (g.probeDue(n.core !== null, local)) {
      g.probing = true;
      // The real probe is a read that stands for half a revoke (a read and a write: guard-timing.ts);
      // a revoke here is one write's latency, so the probe's read takes half of one.
      const latency = this.cibLatency(n, this.guardRng) / probeReadsPerRevoke;
      this.at(this.now + latency, () => {
        g.probing = false;
        g.timing.noteProbe(this.guardLocal(n) - local, this.guardLocal(n));
        this.guardFires(n);
      });
    }
    this.guardLook(n);
  }

  /** Sets the guard's wake-up on the next time it must look (a deadline or a probe), unless one as early is pending. */
  private guardLook(n: Node): void {
    const g = n.guard;
    const local = this.guardLocal(n);
    g.observe(n.guardRecord, n.guardEnforced, local);
    g.forgetGone(n.guardRecord);
    const next = g.nextLook(n.guardRecord, n.guardEnforced, n.core !== null, local);
    if (!Number.isFinite(next)) return;
    const at = this.trueAt(n, next);
    if (g.wakeAt !== null && g.wakeAt <= at) return;
    g.wakeAt = at;
    this.push({ at, kind: 'guard', node: n.idx });
  }

  /** The guard's clock: the node's, unfloored (the real guard reads CLOCK_MONOTONIC in fractions of a ms). */
  private guardLocal(n: Node): number {
    return n.offset + n.rate * this.now;
  }

  // ───────────── admin ─────────────

  leader(): Node | undefined {
    let best: Node | undefined;
    for (const n of this.nodes) {
      const s = n.core?.status();
      if (s === undefined || s.role !== 'leader' || n.paused) continue;
      if (best === undefined || s.term > best.core!.status().term) best = n;
    }
    return best;
  }

  admin(build: (id: string) => AdminCommand): void {
    const l = this.leader();
    if (l === undefined) return;
    const id = `cmd-${this.adminSeq++}`;
    this.adminIds.add(id);
    this.feed(l, (c, now) => c.command(build(id), now));
  }

  /**
   * Membership changes under faults. Half of the time in a formation of five or more: the leader
   * and one other are cut off from the rest, then the leader is asked to remove two members of
   * the other side at once: proposed together (the mutant change-before-commit), the second
   * change would let the leader's side commit with a majority the rest cannot intersect. The
   * one-change-at-a-time rule must refuse the second. Otherwise one member (a third of the time
   * the leader: a handover first) is removed, sometimes with a partition right after. The
   * removed are added back later.
   */
  private memberChange(): void {
    const r = this.rng;
    const l = this.leader();
    // Not beside a lost store: two voters short at once would be a majority lost in small formations.
    if (l === undefined || this.removed.size > 0 || this.survivor !== null || this.replacing !== null || this.nodes.some((m) => this.wipedPending(m))) return;
    const heal = (): void => this.at(this.now + r.int(500, 4 * this.params.timing.electionTimeoutMs), () => this.heal());
    const split = (side: Set<number>): void => {
      for (const a of this.nodes) for (const b of this.nodes) if (side.has(a.idx) !== side.has(b.idx)) this.cut(a.idx, b.idx);
    };
    let victims: Node[];
    if (this.nodes.length >= 5 && r.chance(0.5)) {
      const partner = r.pick(this.nodes.filter((x) => x !== l));
      split(new Set([l.idx, partner.idx]));
      heal();
      const others = this.nodes.filter((x) => x !== l && x !== partner);
      const first = r.pick(others);
      victims = [first, r.pick(others.filter((x) => x !== first))];
    } else {
      victims = [r.chance(0.33) ? l : r.pick(this.nodes.filter((x) => x !== l))];
      if (r.chance(0.5)) {
        this.at(this.now + r.int(0, 200), () => {
          split(new Set([l.idx, r.pick(this.nodes.filter((x) => x !== l)).idx]));
          heal();
        });
      }
    }
    this.formationDisturbed();
    for (const v of victims) {
      this.removed.add(v);
      this.removedEver.add(v.info.id);
      // --force: a holder's tickets are revoked first. Seed 345 found a new leader granting such a ticket
      // elsewhere before the removed holder's lease ran out (fixed: takeOffice waits out revoked tickets too).
      this.admin((id) => {
        this.removalsPending.set(v.info.id, id);
        return { id, type: 'member-remove', member: v.info.id, force: true };
      });
    }
    this.at(this.now + r.int(2, 6) * this.params.timing.electionTimeoutMs, () => this.addBackRemoved(8));
  }

  /** Adds back every removed member still missing from the leader's configuration; asks again later while any is missing. */
  private addBackRemoved(triesLeft: number): void {
    const l = this.leader()?.core;
    const config = l?.status().members ?? [];
    for (const n of [...this.removed]) {
      if (l !== undefined && l !== null && config.some((m) => m.id === n.info.id)) {
        // Still listed because its removal has not committed yet (seed 387: the removal committed after the
        // heal and the member was never added back): wait for it rather than count the member as back.
        if (!this.removalsPending.has(n.info.id) && !config.some((m) => m.id === n.info.id && m.voter === false)) this.removed.delete(n);
        continue;
      }
      this.removalsPending.delete(n.info.id);
      this.formationDisturbed();
      this.admin((id) => ({ id, type: 'member-add', member: n.info }));
    }
    if (this.removed.size > 0 && triesLeft > 0) this.at(this.now + 2 * this.params.timing.electionTimeoutMs, () => this.addBackRemoved(triesLeft - 1));
  }

  // ───────────── agent moves (issue 11 item 4) ─────────────

  /**
   * The 'agent-move' fault (params.ts): a site's agent moves to another node of its site. The old
   * node stops its agent (after its writes in flight landed, as a resource stop waits for them); its
   * lease guard runs on with its record (the old machine, left in `all`); the new node has its own
   * clock, an empty store (a new incarnation, re-admitted before it votes), no guard record and
   * finds the grant in the site's CIB with booth's `expires` (cibStates). Fast: the new agent starts
   * well within the lease and must keep the grant; slow: after the lease, it is revoked and granted again.
   */
  private agentMove(triesLeft: number): void {
    if (this.healing) return;
    const r = this.moveRng;
    const et = this.params.timing.electionTimeoutMs;
    const later = (): void => {
      if (triesLeft > 0) this.at(this.now + r.int(et, 3 * et), () => this.agentMove(triesLeft - 1));
    };
    // As a lost store (wipe): not beside another member short of its vote, a removal or a lost majority.
    if (this.removed.size > 0 || this.survivor !== null || this.replacing !== null || this.nodes.some((m) => this.wipedPending(m))) return later();
    const holding = this.sites().filter((x) => [...x.cib.values()].some((c) => c.granted));
    const n = holding.length > 0 && r.chance(0.8) ? r.pick(holding) : r.pick(this.sites());
    if (n.core === null || n.paused || n.cibQueue.busy || n.guardWriting || n.guard.revokesRunning > 0 || n.guard.probing) return later();
    const granted = [...n.cib].filter(([, c]) => c.granted);
    const defs = this.leader()?.core?.tickets().map((t) => t.def) ?? this.params.tickets;
    const leaseMs = Math.min(...granted.map(([t]) => defs.find((d) => d.name === t)?.leaseDurationMs ?? this.leaseEverMs), this.leaseEverMs);
    const fast = r.chance(0.6);
    const stretch = driftStretch(this.params.timing.clockDriftPpmMax) / (1 - this.rho);
    const downMs = fast ? r.int(20, Math.max(20, Math.floor(leaseMs * 0.15))) : r.int(Math.ceil(1.2 * this.leaseEverMs * stretch), Math.ceil(2 * this.leaseEverMs * stretch));
    // The resource stop is a SIGTERM: the agent moves its guard's deadlines (and `expires`) to the latest its
    // leases allow and waits for that write (site-agent/main.ts stop, pump.flushGuard), then exits.
    // Until the seeds of issue 11 item 4 the move crashed the agent instead: the new node then found `expires`
    // where the last extension had left it (as little as half the lease) and most fast moves lost their grants.
    if (this.stoppingAgents.has(n)) return later();
    this.stoppingAgents.add(n);
    this.feed(n, (c, now) => c.report({ type: 'stopping' }, now));
    this.afterStopFlush(n, n.incarnation, this.now + stopWaitMaxMs, () => this.moveAgent(n, fast, downMs));
  }

  /**
   * Runs `then` once nothing of the stopping agent is in flight: the stop's guard flush landed, no CIB
   * write or guard revoke runs (one landing after the machine changed would be the new machine's: the
   * first try of this flush switched machines with a grant in flight, and its guard record went to the
   * new machine, seed 187's S1). Not if that agent crashed meanwhile, in the liveness phase, nor after `giveUpAt`.
   */
  private afterStopFlush(n: Node, incarnation: number, giveUpAt: number, then: () => void): void {
    const idle = !n.paused && !n.cibQueue.busy && !n.guardWriting && n.guardWaiting.length === 0 && n.guard.revokesRunning === 0 && !n.guard.probing;
    // As agentMove: no move starts in the liveness phase (the agent that was told to stop runs on).
    const gone = n.core === null || n.incarnation !== incarnation || this.healing;
    if (gone || idle || this.now >= giveUpAt) {
      this.stoppingAgents.delete(n);
      if (!gone && idle) then();
      return;
    }
    this.at(this.now + 10, () => this.afterStopFlush(n, incarnation, giveUpAt, then));
  }

  /** The move itself, once the old agent stopped: the old machine's guard runs on, the new machine starts after `downMs`. */
  private moveAgent(n: Node, fast: boolean, downMs: number): void {
    const r = this.moveRng;
    const granted = [...n.cib].filter(([, c]) => c.granted);
    this.crash(n);
    // The old machine: its guard, record and clock, beside the site's CIB (shared by reference).
    const old: Node = { ...n, idx: this.all.length, core: null, inbox: [], pendingReports: [], guardWaiting: [], guardWriting: false, cibQueue: new CibWriteQueue(), relayBudget: new RelayBudget(), store: emptyRaftStore() };
    this.all.push(old);
    // Its guard looks at once (the wake-up crash() set is the new machine's now): it sees the agent gone and starts probing.
    old.guard.wakeAt = this.now;
    this.push({ at: this.now, kind: 'guard', node: old.idx });
    // The new machine: booted at another time, its own crystal and NTP error; nothing of the old one's state directory.
    n.machine = this.machines++;
    n.offset = r.int(0, 10_000_000);
    n.rate = 1 + r.range(-this.rho, this.rho);
    n.wallSkewMs = r.range(-300, 300);
    n.guardRecord = new Map();
    n.guard = new SimGuard();
    n.guardEnforced = new Set();
    n.store = emptyRaftStore();
    n.wipes += 1;
    const figures = fast ? this.moves.fast : this.moves.slow;
    figures.moves += 1;
    figures.grants += granted.length;
    for (const [ticket, c] of granted) {
      const holdLeftMs = c.expiresSec === null ? 0 : Math.round(c.expiresSec * 1000 - (this.now + downMs) - cibExpiresSlackMs);
      this.movePending.set(`${n.home}|${ticket}`, { generation: c.generation, fast, machine: n.machine, at: this.now, startAt: this.now + downMs, holdLeftMs });
    }
    this.at(this.now + downMs, () => this.restart(n));
  }

  /** A CIB write at a site whose agent moved: the new agent writing the grant again at its generation keeps it; a revoke loses it. */
  private noteMoveOutcome(n: Node, ticket: string, granted: boolean, gen: number, by: LateRevoke['by']): void {
    const key = `${n.home}|${ticket}`;
    const p = this.movePending.get(key);
    if (p === undefined || (granted && (gen !== p.generation || n.machine !== p.machine))) return;
    this.movePending.delete(key);
    const figures = p.fast ? this.moves.fast : this.moves.slow;
    if (granted) {
      figures.kept += 1;
      return;
    }
    figures.revoked += 1;
    if (!p.fast) return;
    // The moved site itself is disturbed by its new agent's start; nothing else may have touched it since (a health flap, a pause).
    const quiet = this.formationDisturbedAt < p.at && this.blocked.size === 0 && this.inboundDelayMs.size === 0 && this.nodes.every((m) => (m.home === n.home ? m.disturbedAt <= p.startAt : m.disturbedAt < p.at));
    const t = this.leader()?.core?.ticket(ticket);
    const registryHeld = t !== undefined && t.holder === n.info.id && t.generation === p.generation;
    this.moves.fastNotKept.push({ site: n.info.id, ticket, generation: p.generation, movedAtMs: Math.round(p.at), revokedAtMs: Math.round(this.now), by, quiet, holdLeftMs: p.holdLeftMs, registryHeld });
  }

  // ───────────── member replacement (issue 11 item 3) ─────────────

  /**
   * The 'member-replace' fault (params.ts): `member replace OLD NEW --key` through the leader, at
   * times a holding site (then --force half of the time; refused without it, asked again with it),
   * at times the leader (which hands leadership over first: asked again). Asked again until
   * answered. Once committed, the old member stops for good (its site's CIB and lease guard go on)
   * and the new one starts with an empty store and its own empty CIB.
   */
  private replaceMember(triesLeft: number): void {
    if (this.healing) return;
    const r = this.replaceRng;
    const l = this.leader();
    if (this.replacing !== null) return;
    if (l === undefined || this.removed.size > 0 || this.survivor !== null || this.nodes.some((m) => this.wipedPending(m))) {
      if (triesLeft > 0) this.at(this.now + r.int(2, 5) * this.params.timing.electionTimeoutMs, () => this.replaceMember(triesLeft - 1));
      return;
    }
    const holders = this.sites().filter((x) => l.core!.tickets().some((t) => t.holder === x.info.id));
    const old = holders.length > 0 && r.chance(0.5) ? r.pick(holders) : r.pick(this.nodes);
    this.replacing = { old, member: { id: memberId(`${old.info.id}-r${++this.replaceSeq}`), kind: old.info.kind }, force: r.chance(0.5), committed: false };
    this.replaced.proposed += 1;
    if (holders.includes(old)) this.replaced.holding += 1;
    this.proposeReplace(10);
  }

  /** One try of the replacement under way; asked again (up to triesLeft times) while refused for a passing reason or unanswered. */
  private proposeReplace(triesLeft: number): void {
    const r = this.replaceRng;
    const et = this.params.timing.electionTimeoutMs;
    const rep = this.replacing;
    if (rep === null || rep.committed || this.reconcileReplace()) return;
    // Out of tries, the replacement stays under way (a proposal may still commit): the liveness phase settles it.
    const again = (): void => {
      if (triesLeft > 0) this.at(this.now + r.int(2 * et, 5 * et), () => this.proposeReplace(triesLeft - 1));
    };
    const l = this.leader();
    if (l === undefined) return again();
    const id = `replace-${this.adminSeq++}`;
    this.adminIds.add(id);
    this.onResult.set(id, (e) => {
      if (e.ok) return this.replaceCommitted();
      const code = e.code ?? 'unknown';
      this.replaced.refused[code] = (this.replaced.refused[code] ?? 0) + 1;
      if (code === 'ticket-held') rep.force = true;
      // Not a member any more, or already one: a proposal of an earlier try committed meanwhile, or a lost cause.
      if ((code === 'no-such-member' || code === 'invalid') && !this.reconcileReplace()) {
        this.replacing = null;
        return;
      }
      again();
    });
    this.feed(l, (c, now) => c.command({ id, type: 'member-replace', old: rep.old.info.id, member: rep.member, force: rep.force }, now));
    // No answer yet (the leader may lose office first): look again later; the onResult entry answers if it comes.
    this.at(this.now + 10 * et, () => {
      if (this.onResult.delete(id) && this.replacing === rep && !rep.committed && !this.reconcileReplace()) again();
    });
  }

  /** Whether the leader's configuration already lists the joining member without the old one: then the change is done. */
  private reconcileReplace(): boolean {
    const rep = this.replacing;
    const config = this.leader()?.core?.status().members;
    if (rep === null || rep.committed || config === undefined) return false;
    if (!config.some((m) => m.id === rep.member.id) || config.some((m) => m.id === rep.old.info.id)) return false;
    this.replaceCommitted();
    return true;
  }

  /** The replacement committed: the old member stops for good; the new one starts soon with an empty store, as a new machine. */
  private replaceCommitted(): void {
    const rep = this.replacing;
    if (rep === null || rep.committed) return;
    rep.committed = true;
    this.replaced.committed += 1;
    this.formationDisturbed();
    const old = rep.old;
    this.crash(old);
    this.retired.add(old);
    this.nodes.splice(this.nodes.indexOf(old), 1);
    const r = this.replaceRng;
    // The committed configuration as a member that applied it shows it: the leader, or (seed 856 --live-changes: the
    // answer came as the leader lost office) any member whose latest configuration has the change; else as the admin
    // would write it. Never the old file: it lists the old member and not the new one, which would refuse to start.
    const done = (c: Node): boolean => c.core !== null && c.core.status().members.some((m) => m.id === rep.member.id) && !c.core.status().members.some((m) => m.id === old.info.id);
    const leader = [this.leader(), ...this.nodes].find((c) => c !== undefined && done(c))?.core ?? undefined;
    const members = (leader?.status().members ?? [...this.configs[old.idx]!.members.filter((m) => m.id !== old.info.id), rep.member]).map((m) => ({ id: m.id, kind: m.kind }));
    const n = this.newNode(this.all.length, rep.member, 1 + r.range(-this.rho, this.rho), r.int(0, 10_000_000), 0);
    // A new store: it must be admitted (a non-voter that catches up) before it votes.
    n.wipes = 1;
    // Its file as the admin writes it: the committed members and tickets, weights naming only members (a weight
    // for the replaced site would make the file invalid; the committed table may still carry one).
    const named = new Set(members.map((m) => m.id as string));
    const tickets = (leader?.tickets().map((t) => t.def) ?? this.params.tickets).map((d) => ({ ...d, weights: Object.fromEntries(Object.entries(d.weights).filter(([k]) => named.has(k))) }));
    this.configs[n.idx] = { ...this.configs[old.idx]!, self: rep.member.id, members, tickets };
    // The admin installs the new file on every member too (docs/operations.md §8: the transport admits the keys its
    // file lists): a member that starts later with an empty store asks the members it lists to admit it.
    for (const m of this.nodes) this.configs[m.idx] = { ...this.configs[m.idx]!, members, tickets };
    if (rep.member.kind === 'arbitrator') this.arbitratorIds.add(rep.member.id);
    this.all.push(n);
    this.nodes.push(n);
    const ids = this.nodes.map((x) => x.info.id);
    if (this.params.batchGrants !== false) for (const x of this.nodes) x.core?.setBatchGrantPeers(ids);
    this.joined.push(n);
    this.at(this.now + r.int(0, 2 * this.params.timing.electionTimeoutMs), () => {
      if (this.replacing === rep) this.replacing = null;
      this.restart(n);
    });
  }

  // ───────────── a majority lost for good ─────────────

  /**
   * The 'lost-majority' fault (params.ts): a majority of the members, usually with a ticket's holder
   * among them, lost for good at once. The admin then follows docs/operations.md §8 (disaster
   * recovery): picks the surviving site with the newest log (`status`: highest term, then last
   * index), stops every other survivor for good (fenced too), and on the chosen one runs `member
   * remove X --force --confirm-fenced` for every other member in turn, again and again, until it is
   * accepted. Everything --confirm-fenced promises holds here, and no more: a fenced member's agent
   * never runs again with its store; its site's Pacemaker keeps a granted ticket until the lease
   * guard revokes it (the agent stopped, the node not powered off); it never grants again.
   */
  private loseMajority(triesLeft: number): void {
    if (this.healing) return;
    const r = this.lostRng;
    const et = this.params.timing.electionTimeoutMs;
    // As the other membership faults: not beside a lost store or a removal under way.
    if (this.removed.size > 0 || this.replacing !== null || this.leader() === undefined || this.nodes.some((m) => this.wipedPending(m))) {
      if (triesLeft > 0) this.at(this.now + r.int(et, 4 * et), () => this.loseMajority(triesLeft - 1));
      return;
    }
    const holder = this.holderOf(r.pick(this.params.tickets).name);
    const holderLost = holder !== undefined && r.chance(0.8);
    // One site survives (an arbitrator alone holds no tickets: the runbook has no recovery for it).
    const keep = r.pick(this.sites().filter((x) => !(holderLost && x === holder)));
    const lostCount = r.int(majority(this.nodes.length), this.nodes.length - 1);
    const lost = new Set<Node>(holderLost ? [holder] : []);
    while (lost.size < lostCount) lost.add(r.pick(this.nodes.filter((x) => x !== keep && !lost.has(x))));
    const survivors = this.sites().filter((x) => !lost.has(x));
    const newest = (x: Node): [number, number] => {
      const st = x.core?.status();
      return st === undefined ? [-1, -1] : [st.term, st.lastIndex];
    };
    let chosen = survivors[0]!;
    for (const x of survivors) {
      const [a, b] = newest(x);
      const [c, d] = newest(chosen);
      if (a > c || (a === c && b > d)) chosen = x;
    }
    for (const x of this.nodes) {
      if (x === chosen) continue;
      this.crash(x);
      this.fenced.add(x);
    }
    this.survivor = chosen;
    this.formationDisturbed();
    this.forced.runs += 1;
    const lostAt = this.now;
    // A survivor that was down is started again: its machine works.
    this.restart(chosen);
    this.at(this.now + r.int(0, 2 * et), () => this.confirmFenced(0, lostAt));
  }

  /**
   * One try of `member remove X --force --confirm-fenced` on the survivor. The admin names the other
   * members in turn, moving on when one is noted as fenced, asking again a little later when
   * refused otherwise (a leader still known, gossip still hearing it), or once the time a refusal
   * says a lease may still run has passed on the admin's watch.
   */
  private confirmFenced(attempt: number, lostAt: number): void {
    const s = this.survivor;
    if (s === null || this.forcedAt !== null) return;
    const et = this.params.timing.electionTimeoutMs;
    const again = (next = attempt, afterMs = this.lostRng.int(Math.ceil(et / 4), et)): void => {
      this.at(this.now + afterMs, () => this.confirmFenced(next, lostAt));
    };
    const core = s.core;
    if (core === null || s.paused) return again();
    const others = core.status().members.filter((m) => m.id !== s.info.id);
    const dead = others[attempt % Math.max(1, others.length)]?.id;
    if (dead === undefined) return;
    const id = `forced-${this.adminSeq++}`;
    this.adminIds.add(id);
    const commit = core.status().commit;
    this.onResult.set(id, (e) => {
      if (!e.ok) {
        this.forced.refused += 1;
        if (e.message.includes('noted as fenced')) return again(attempt + 1);
        const left = e.code === 'lease-running' ? /for (\d+) ms/.exec(e.message) : null;
        return left === null ? again() : again(attempt, Number(left[1]) + this.lostRng.int(1, et));
      }
      this.forcedAt = this.now;
      this.forced.acceptedAfterMs.push(this.now - lostAt);
      this.checker.onForcedRecovery(new Set([...this.fenced].map((x) => x.info.id)), commit);
      // The lost members' entries above the survivor's commit are gone, their indexes used again: a holder
      // noted from one of them would hide the survivor's later grants (seed 179: the failover probe of site2
      // counted as a move from a reachable site3, the holder at an index of the lost log).
      for (const [t, h] of this.holderAfter) if (h.index > commit) this.holderAfter.delete(t);
      this.at(this.now, () => this.grantAfterForced(20));
    });
    this.feed(s, (c, now) => c.command({ id, type: 'member-remove', member: dead, force: true, confirmFenced: true }, now));
    if (this.onResult.delete(id)) again(); // no answer: the core caught a broken invariant and stopped
  }

  /**
   * The runbook once the forced removal was accepted: "a manual [ticket] stays with DEAD until an
   * admin grants it ... the forced removal was accepted only after DEAD's own leases ran out, so
   * `grant --force` is also safe then". The admin grants every ticket a fenced member holds to the
   * survivor with --force, the manual ones always, the automatic ones often (rather than waiting for
   * their failover): exactly what an early acceptance would turn into two holders.
   */
  private grantAfterForced(triesLeft: number): void {
    const s = this.survivor;
    const core = s?.core;
    if (s === null || core === null || core === undefined || s.paused || core.status().role !== 'leader') {
      if (triesLeft > 0) this.at(this.now + this.params.timing.heartbeatIntervalMs, () => this.grantAfterForced(triesLeft - 1));
      return;
    }
    const fenced = new Set([...this.fenced].map((x) => x.info.id));
    for (const t of core.tickets()) {
      if (t.holder === null || !fenced.has(t.holder) || (t.def.mode === 'automatic' && !this.lostRng.chance(0.7))) continue;
      const id = `forced-grant-${this.adminSeq++}`;
      this.adminIds.add(id);
      this.forced.forceGrants += 1;
      this.feed(s, (c, now) => c.command({ id, type: 'grant', ticket: t.def.name, site: s.info.id, force: true }, now));
    }
  }

  /**
   * Liveness after a lost majority: the admin goes on until the forced removal is accepted (one
   * stretched lease after the last confirmation at most, plus the tries); then, runbook step 3, the
   * lost members are reinstalled with wiped stores and added back one at a time.
   */
  private finishRecovery(): void {
    if (this.survivor === null) return;
    const t = this.params.timing;
    // Gossip must first hold every lost member dead (a few probe rounds each), then each is confirmed, then one lease.
    const gossipMs = 20 * this.params.swim.probeIntervalMs * this.nodes.length;
    const by = this.now + gossipMs + (2 * this.leaseEverMs * driftStretch(t.clockDriftPpmMax)) / (1 - this.rho) + 4 * this.nodes.length * t.electionTimeoutMs;
    while (this.forcedAt === null && this.now < by) this.runUntil(Math.min(by, this.now + 100));
    if (this.forcedAt === null) {
      this.liveness.push(`the forced removal on ${this.survivor.info.id} was not accepted by ${Math.round(by)} ms (healed before)`);
      return;
    }
    const back = [...this.fenced];
    this.fenced.clear();
    for (const n of back) {
      n.store = emptyRaftStore();
      n.wipes += 1;
      this.removed.add(n);
      this.removedEver.add(n.info.id);
      this.restart(n);
    }
  }

  randomAdmin(): void {
    const l = this.leader()?.core;
    if (l === undefined || l === null) return;
    const tickets = l.tickets();
    const t = this.rng.pick(tickets);
    const sites = this.nodes.filter((n) => n.info.kind === 'site').map((n) => n.info.id);
    const x = this.rng.next();
    if (x < 0.45) this.admin((id) => ({ id, type: 'grant', ticket: t.def.name, site: this.rng.pick(sites), force: false }));
    else if (x < 0.7) this.admin((id) => ({ id, type: 'revoke', ticket: t.def.name }));
    else if (x < 0.8) this.admin((id) => ({ id, type: 'standby', ticket: t.def.name }));
    else if (x < 0.9) this.admin((id) => ({ id, type: 'activate', ticket: t.def.name }));
    else this.admin((id) => ({ id, type: 'attr-set', ticket: t.def.name, key: 'k', value: String(this.rng.int(0, 9)) }));
  }

  /**
   * A formation config change (issue 11) through the leader, as `config apply`
   * sends it: a ticket's expire halved, shortened, lengthened or doubled, its
   * acquire-after or weights changed (never its mode: the checker's S4 knows
   * the manual tickets by their drawn definitions), a ticket added, or an added
   * one removed (revoked first if held, as config apply does).
   */
  randomConfigChange(): void {
    const l = this.leader()?.core;
    if (l === undefined || l === null) return;
    const r = this.cfgRng;
    const x = r.next();
    const added = l.tickets().filter((t) => t.def.name.startsWith('cfg-'));
    const members = l.status().members;
    const fits = (def: TicketDef): boolean => validateTicketDef(def, this.params.timing, members).length === 0;
    if (x < 0.6) {
      const t = r.pick(l.tickets());
      const d = t.def;
      const factor = r.pick([0.5, 0.7, 1.4, 2]);
      const changed: TicketDef = {
        ...d,
        leaseDurationMs: r.chance(0.8) ? Math.round(d.leaseDurationMs * factor) : d.leaseDurationMs,
        acquireAfterMs: r.chance(0.2) ? r.pick([0, d.acquireAfterMs, Math.round(d.acquireAfterMs * 1.5) + 100]) : d.acquireAfterMs,
        weights: r.chance(0.3) ? Object.fromEntries(this.sites().map((s) => [s.info.id, r.int(0, 20)])) : d.weights,
      };
      // Keep expire within 4× the drawn one, so the run's liveness bounds stay meaningful.
      const drawn = this.params.tickets.find((p) => p.name === d.name)?.leaseDurationMs ?? d.leaseDurationMs;
      if (changed.leaseDurationMs > 4 * drawn || !fits(changed) || !this.rampCoverable(changed)) return;
      this.noteDef(changed);
      if (t.holder !== null) this.countHeld(changed.leaseDurationMs < d.leaseDurationMs ? 'expire-shortened' : changed.leaseDurationMs > d.leaseDurationMs ? 'expire-lengthened' : 'other-setting');
      this.admin((id) => ({ id, type: 'ticket-change', def: changed }));
    } else if (x < 0.8 || added.length === 0) {
      const base = r.pick(this.params.tickets);
      const def: TicketDef = { ...base, name: `cfg-${this.addedTickets++}`, mode: 'automatic' };
      if (!fits(def)) return;
      this.noteDef(def);
      this.admin((id) => ({ id, type: 'ticket-add', def }));
    } else {
      const t = r.pick(added);
      if (t.holder !== null) this.countHeld('remove');
      this.admin((id) => ({ id, type: 'ticket-remove', ticket: t.def.name, revokeFirst: true }));
    }
  }

  /**
   * Whether the seed's slow-CIB ramp stays within what this ticket's lease can cover with a raised
   * lead (half the lead's ceiling, as drawRamp in params.ts sizes it for the drawn tickets): a change
   * that shortened expire below that made the ramp a sink no lead can keep a revoke inside the lease
   * in (seed 71 with --many-tickets: D halved twice under a 2.5 s ramp; the holder reports such a sink
   * as `beyond`, docs/protocol.md §3).
   */
  private rampCoverable(def: TicketDef): boolean {
    const ramp = this.params.cib.ramp;
    if (ramp === null || ramp === undefined) return true;
    const t = this.params.timing;
    return revokeLeadCeilingMs(def.revokeLeadMs, def.leaseDurationMs, usableLeaseMinMs(t.renewIntervalMs, t.electionTimeoutMs)) / 2 >= ramp.peakMs;
  }

  private countHeld(kind: string): void {
    this.cfgProposedHeld.set(kind, (this.cfgProposedHeld.get(kind) ?? 0) + 1);
  }

  private noteDef(def: TicketDef): void {
    this.leaseEverMs = Math.max(this.leaseEverMs, def.leaseDurationMs);
    this.acquireEverMs = Math.max(this.acquireEverMs, def.acquireAfterMs);
  }

  // ───────────── main loop ─────────────

  runUntil(t: number): void {
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.at > t) break;
      this.heap.pop();
      while (this.nextStrandSampleAt <= e.at) {
        this.sampleStranded(this.nextStrandSampleAt);
        this.nextStrandSampleAt += strandSampleMs;
      }
      if (e.at === this.now) {
        this.sameTimeEvents += 1;
        if (this.sameTimeEvents > 100_000) throw new EventStorm(`event storm at ${this.now} ms (seed ${this.params.seed}): a deadline that never moves on`);
      } else this.sameTimeEvents = 0;
      this.now = e.at;
      this.eventCount += 1;
      this.handle(e);
      if (this.host.stopAtViolation === true && this.checker.violations.length > 0) throw new StoppedAtViolation(`stopped at the first violation, at ${this.now} ms`);
    }
    this.now = Math.max(this.now, t);
  }

  private handle(e: SimEvent): void {
    switch (e.kind) {
      case 'deliver': {
        const n = this.all[e.to]!;
        if (n.core === null) return;
        if (n.paused) {
          n.inbox.push(e.env);
          return;
        }
        if (e.env.to !== n.info.id && e.env.via === n.info.id) this.forward(n, e.env);
        else this.feed(n, (c, now) => c.step(e.env, now));
        return;
      }
      case 'timer': {
        const n = this.all[e.node]!;
        if (e.token !== n.timerToken || n.paused) return;
        this.feed(n, (c, now) => c.tick(now));
        return;
      }
      case 'cib-done':
        return this.cibDone(this.all[e.node]!, e.writes, e.ok, e.startedLocal);
      case 'guard': {
        const n = this.all[e.node]!;
        if (n.guard.wakeAt !== null && n.guard.wakeAt <= this.now) n.guard.wakeAt = null;
        return this.guardFires(n);
      }
      case 'guard-done':
        return this.guardDone(this.all[e.node]!, e.updates, e.extend, e.ok, e.startedLocal);
      case 'action':
        return e.run();
    }
  }

  // ───────────── phases ─────────────

  private sites(): Node[] {
    return this.nodes.filter((n) => n.info.kind === 'site');
  }

  holderOf(ticket: string): Node | undefined {
    const id = this.leader()?.core?.ticket(ticket)?.holder;
    return id === undefined || id === null ? undefined : this.all[this.idxOf(id)];
  }

  private isolate(n: Node): void {
    for (const m of this.nodes) {
      if (m === n) continue;
      this.cut(n.idx, m.idx);
      this.cut(m.idx, n.idx);
    }
  }

  /** One fault event of a kind this seed allows. */
  private injectFault(kind: FaultKind): void {
    const r = this.rng;
    const n = this.nodes.length;
    const maxLease = this.leaseEverMs;
    const healAfter = r.int(500, Math.floor(maxLease * 2));
    switch (kind) {
      case 'partition': {
        const side = new Set(this.nodes.filter(() => r.chance(0.5)).map((x) => x.idx));
        for (const a of this.nodes) for (const b of this.nodes) if (side.has(a.idx) !== side.has(b.idx)) this.cut(a.idx, b.idx);
        break;
      }
      case 'one-way': {
        const a = r.int(0, n - 1);
        const b = (a + r.int(1, n - 1)) % n;
        this.cut(this.nodes[a]!.idx, this.nodes[b]!.idx);
        break;
      }
      case 'bridge': {
        const a = r.int(0, n - 1);
        const b = (a + r.int(1, n - 1)) % n;
        this.cut(this.nodes[a]!.idx, this.nodes[b]!.idx);
        this.cut(this.nodes[b]!.idx, this.nodes[a]!.idx);
        break;
      }
      case 'isolate-holder': {
        const t = r.pick(this.params.tickets);
        const h = this.holderOf(t.name);
        if (h !== undefined) this.isolate(h);
        break;
      }
      case 'slow-inbound': {
        // Late enough to matter: past the revoke lead and the acquire wait, up to most of a lease.
        const victim = r.chance(0.7) ? (this.holderOf(r.pick(this.params.tickets).name) ?? r.pick(this.nodes)) : r.pick(this.nodes);
        const lateMs = r.int(200, Math.floor(maxLease * 0.8));
        this.inboundDelayMs.set(victim.idx, lateMs);
        this.formationDisturbed();
        // Often the slow host then loses its links, with answers still on their way to it.
        const isolateAt = this.now + r.int(lateMs, 3 * lateMs);
        const safetyEnd = this.params.safetyPhaseMs;
        // Both only within the safety phase: the liveness phase heals, and the failover probe cuts on its own.
        if (r.chance(0.6)) {
          this.at(isolateAt, () => {
            if (this.now < safetyEnd) this.isolate(victim);
          });
        }
        this.at(isolateAt + healAfter, () => {
          if (this.now < safetyEnd) this.heal();
        });
        return;
      }
      case 'wipe': {
        // Usually a voter that just acknowledged entries (a follower of the leader), sometimes the leader;
        // back soon, while the elections its lost votes could decide are still running.
        const l = this.leader();
        const victim = l !== undefined && r.chance(0.6) ? r.pick(this.nodes.filter((x) => x !== l)) : r.pick(this.nodes);
        const et = this.params.timing.electionTimeoutMs;
        const laggard = l === undefined ? undefined : this.nodes.find((x) => x !== l && x !== victim);
        if (l !== undefined && victim !== l && laggard !== undefined && r.chance(0.5)) {
          // The sharpest case: a third member falls behind (cut from the leader), the victim acknowledges
          // what it lacks, loses its store, and comes back with the leader cut off: the laggard's
          // election then hangs on the vote the victim forgot.
          this.isolate(laggard); // cut from everyone: no relay brings it the entries
          this.at(this.now + r.int(et, 3 * et), () => {
            if (!this.wipe(victim)) return this.heal();
            this.at(this.now + r.int(10, et), () => {
              this.restart(victim);
              this.heal();
              this.isolate(l);
              this.at(this.now + r.int(4 * et, 10 * et), () => this.heal());
            });
          });
          return;
        }
        if (!this.wipe(victim)) return;
        this.at(this.now + r.int(10, 3 * et), () => this.restart(victim));
        // Often the leader is cut off at once: the next election needs the wiped member's vote.
        if (l !== undefined && l !== victim && r.chance(0.6)) {
          this.isolate(l);
          break;
        }
        return;
      }
      case 'member-change': {
        this.memberChange();
        return;
      }
      case 'isolate-leader': {
        const l = this.leader();
        if (l !== undefined) this.isolate(l);
        break;
      }
      case 'isolate-arbitrator': {
        const arbs = this.nodes.filter((x) => x.info.kind === 'arbitrator');
        this.isolate(r.pick(arbs));
        break;
      }
      case 'crash': {
        const victim = r.chance(0.5) ? (this.holderOf(r.pick(this.params.tickets).name) ?? r.pick(this.nodes)) : r.pick(this.nodes);
        if (r.chance(0.5)) victim.crashInNextReady = true;
        else this.crash(victim);
        this.at(this.now + r.int(100, Math.floor(maxLease * 1.5)), () => this.restart(victim));
        return;
      }
      case 'pause': {
        const victim = r.chance(0.5) ? (this.leader() ?? r.pick(this.nodes)) : (this.holderOf(r.pick(this.params.tickets).name) ?? r.pick(this.nodes));
        // Sometimes longer than a lease: the process must not act on stale state when it wakes.
        this.pause(victim, r.chance(0.5) ? r.int(50, 2000) : r.int(maxLease, Math.floor(maxLease * 1.6)));
        return;
      }
      case 'health-flap': {
        // A site loses local quorum, its handlers fail, or one ticket cannot run there (its
        // before-acquire handler failed, or the scheduler would not start it); then it recovers
        // (sometimes within a renewal round).
        const sites = this.sites();
        const ticket = r.pick(this.params.tickets).name;
        const victim = r.chance(0.6) ? (this.holderOf(ticket) ?? r.pick(sites)) : r.pick(sites);
        const kind = r.int(0, 2);
        const bad =
          kind === 0
            ? { quorate: false, handlersOk: true, unrunnable: [] }
            : kind === 1
              ? { quorate: true, handlersOk: false, unrunnable: [] }
              : { quorate: true, handlersOk: true, unrunnable: [ticket] };
        victim.disturbedAt = this.now;
        this.feed(victim, (c, now) => c.report({ type: 'health', health: bad }, now));
        this.at(this.now + (r.chance(0.5) ? r.int(1, 300) : r.int(300, maxLease)), () => this.setHealthy(victim));
        return;
      }
      default:
        // Network and CIB quality faults are set for the whole safety phase (params).
        return;
    }
    this.at(this.now + healAfter, () => this.heal());
  }

  private dropTailDelayed(): void {
    const limit = this.now + this.params.net.delayBaseMs + this.params.net.delayJitterMs;
    this.heap.filter((e) => e.kind !== 'deliver' || e.at <= limit);
  }

  private setHealthy(n: Node): void {
    n.disturbedAt = this.now;
    this.feed(n, (c, now) => c.report({ type: 'health', health: { quorate: true, handlersOk: true, unrunnable: [] } }, now));
  }

  /** Runs the safety phase (or the gossip scenario), the liveness phase and a failover probe; returns the outcome. */
  run(): RunResult {
    try {
      if (this.params.scenario !== null) {
        this.runScenario();
      } else {
        this.runSafetyPhase();
      }
      this.countGossip = false;
      this.memberMs += (this.now - this.memberMsFrom) * this.nodes.length;
      this.runLivenessAndProbe();
    } catch (err) {
      // A formation whose logs already diverged (a mutant the checker caught) may storm on: the run
      // ends there with what was caught. Without a violation caught first, a storm is a bug: rethrown.
      if (this.checker.violations.length === 0) throw err;
      if (!(err instanceof StoppedAtViolation)) this.liveness.push(`run stopped after a violation: ${(err as Error).message}`);
    }
    return this.result();
  }

  /** The random fault mix: faults and admin commands at random times. */
  private runSafetyPhase(): void {
    const p = this.params;
    // Those with timelines of their own are not drawn here: the other faults of a seed stay the draws they were.
    const structural = p.faults.filter((f) => !['loss', 'duplication', 'reorder', 'wan-tail', 'cib-slow', 'cib-fail', 'lost-majority', 'member-replace', 'agent-move'].includes(f));
    this.countFalseFailovers = p.faultClass !== 'mixed';
    this.countGossip = true;
    this.memberMsFrom = this.now;
    // Safety phase: faults and admin commands at random times.
    for (let t = this.rng.int(2000, 6000); t < p.safetyPhaseMs; t += this.rng.int(Math.floor(p.faultEveryMs / 2), p.faultEveryMs * 2)) {
      if (structural.length > 0) this.at(t, () => this.injectFault(this.rng.pick(structural)));
    }
    for (let t = this.rng.int(5000, 20000); t < p.safetyPhaseMs; t += this.rng.int(Math.floor(p.adminEveryMs / 2), p.adminEveryMs * 2)) {
      this.at(t, () => this.randomAdmin());
    }
    const cfgEvery = p.configEveryMs ?? 0;
    if (cfgEvery > 0) {
      for (let t = this.cfgRng.int(3000, 15000); t < p.safetyPhaseMs; t += this.cfgRng.int(Math.floor(cfgEvery / 2), cfgEvery * 2)) {
        this.at(t, () => this.randomConfigChange());
      }
    }
    if (p.faults.includes('agent-move')) {
      const every = this.moveRng.int(15_000, 40_000);
      for (let t = this.moveRng.int(5000, 20000); t < p.safetyPhaseMs; t += this.moveRng.int(Math.floor(every / 2), every * 2)) this.at(t, () => this.agentMove(10));
    }
    if (p.faults.includes('member-replace')) {
      const every = this.replaceRng.int(20_000, 60_000);
      for (let t = this.replaceRng.int(5000, 30000); t < p.safetyPhaseMs; t += this.replaceRng.int(Math.floor(every / 2), every * 2)) this.at(t, () => this.replaceMember(10));
    }
    if (p.faults.includes('lost-majority')) {
      this.at(this.lostRng.int(Math.floor(p.safetyPhaseMs / 10), Math.floor((p.safetyPhaseMs * 6) / 10)), () => this.loseMajority(20));
    }
    this.runUntil(p.safetyPhaseMs);
  }

  /**
   * A gossip scenario (params.ts): the formation settles, then the scenario's
   * cuts (or loss) hold for several lease durations while every member keeps
   * a path to a majority, so no automatic failover may happen and every
   * suspicion is false; guarded admin moves give convergence samples.
   */
  private runScenario(): void {
    const plan = this.params.scenario!;
    const r = this.rng;
    this.countFalseFailovers = false;
    this.countGossip = false;
    this.runUntil(plan.warmupMs);
    this.countFalseFailovers = true;
    this.countGossip = true;
    this.memberMsFrom = this.now;
    if (plan.name === 'lossy') {
      // The loss rate is the seed's (params.net) from the start; nothing to cut.
    } else if (plan.name === 'five-member-ring') {
      const [, two, three, four, five] = plan.ring.map((i) => this.nodes[i]!);
      for (const x of [two!, three!, four!]) {
        this.cut(x.idx, five!.idx);
        this.cut(five!.idx, x.idx);
      }
    }
    for (let ep = 0; ep < plan.episodes; ep++) {
      const start = this.now;
      if (plan.name === 'bridge' || plan.name === 'one-way') {
        const [a, b] = this.scenarioPair(plan.leaderHolderCut);
        if (plan.name === 'bridge') {
          this.cut(a.idx, b.idx);
          this.cut(b.idx, a.idx);
        } else if (r.chance(0.5)) this.cut(a.idx, b.idx);
        else this.cut(b.idx, a.idx);
      }
      if (plan.adminMoves) this.at(start + r.int(Math.floor(plan.episodeMs / 4), Math.floor(plan.episodeMs / 2)), () => this.adminMove());
      this.runUntil(start + plan.episodeMs);
      if (plan.name === 'bridge' || plan.name === 'one-way') {
        this.heal();
        this.runUntil(this.now + plan.gapMs);
      }
    }
  }

  /** Two members to cut apart: usually the leader and the holder of a ticket, else the leader and another, else any two. */
  private scenarioPair(leaderHolder: number): [Node, Node] {
    const r = this.rng;
    const leader = this.leader();
    const holder = this.holderOf(r.pick(this.params.tickets).name);
    if (leader !== undefined && holder !== undefined && holder !== leader && r.chance(leaderHolder)) return r.chance(0.5) ? [leader, holder] : [holder, leader];
    const a = leader ?? r.pick(this.nodes);
    const b = r.pick(this.nodes.filter((x) => x !== a));
    return [a, b];
  }

  /** A guarded admin move of a random ticket to another site (revoke, wait for the lease, grant). */
  private adminMove(): void {
    const t = this.rng.pick(this.params.tickets);
    const holder = this.leader()?.core?.ticket(t.name)?.holder ?? null;
    const others = this.sites().filter((x) => x.info.id !== holder);
    if (others.length === 0) return;
    const site = this.rng.pick(others).info.id;
    this.admin((id) => ({ id, type: 'grant', ticket: t.name, site, force: false }));
  }

  /** Heals, requires convergence within a bound, then times one failover. */
  private runLivenessAndProbe(): void {
    const p = this.params;
    // Liveness phase: heal everything and require convergence within a stated bound.
    // Messages still held in a WAN tail are lost at the heal: the bound below
    // assumes the healed network's delays, not those of the faulty phase.
    this.healing = true;
    this.heal();
    this.dropTailDelayed();
    this.net = { ...p.net, lossRate: 0, duplicateRate: 0, tailRate: 0, delayJitterMs: Math.min(p.net.delayJitterMs, 3) };
    this.cibFailRate = 0;
    this.guardLateRate = 0;
    this.cibRamp = null;
    for (const n of this.nodes) {
      if (n.core === null) this.restart(n);
      n.crashInNextReady = false;
      if (n.paused) this.resume(n);
      if (n.info.kind === 'site') this.setHealthy(n);
    }
    // A formation that lost its majority recovers first (the forced removal, then reinstalls).
    const reinstalled = this.survivor === null ? 0 : this.fenced.size;
    this.finishRecovery();
    // Members removed by a membership change are added back, as an operator would.
    if (this.removed.size > 0) this.addBackRemoved(20 + 10 * reinstalled);
    // Tickets left unmanaged by an admin revoke are granted again, as an operator would.
    const healedAt = this.now;
    const bound = this.convergenceBoundMs();
    this.runUntil(healedAt + bound / 2);
    const l = this.leader()?.core;
    if (l !== undefined && l !== null) {
      for (const t of l.tickets()) {
        if (t.def.mode === 'automatic' && !t.managed) {
          const site = this.sites()[0]!.info.id;
          this.admin((id) => ({ id, type: 'grant', ticket: t.def.name, site, force: false }));
        }
      }
    }
    this.runUntil(healedAt + bound * 1.5);
    this.checkConverged('after healing');
    // Membership converges too (issue 11): every member re-admitted and a voter again, before the probe
    // counts on a majority. Each rejoin costs a join, a commit, a catch-up and a promotion.
    const votersBy = this.now + bound * (1 + reinstalled);
    while (this.now < votersBy && !this.allVoters()) {
      // A replacement whose answer was lost with its leader: the admin sees it committed (config show) and starts the new member.
      if (this.replacing !== null) this.reconcileReplace();
      this.runUntil(Math.min(votersBy, this.now + 100));
    }
    if (!this.allVoters()) this.liveness.push(`after healing: not every member is a voter again within ${Math.round(bound)} ms (${this.nodes.filter((n) => n.core === null || !n.core.incarnation().votes).map((n) => n.info.id).join(', ')})`);

    // Failover probe: kill or isolate the holder of an automatic ticket and time the move.
    this.countFalseFailovers = false;
    const auto = p.tickets.filter((t) => t.mode === 'automatic');
    const ticket = this.rng.pick(auto);
    const holder = this.holderOf(ticket.name);
    if (holder !== undefined && this.checker.holdersOf(ticket.name).length === 1) this.probeFailover(ticket.name, holder);
  }

  /** Time for a healed formation to converge: elections, lease views from office, acquire-after, CIB writes. */
  private convergenceBoundMs(): number {
    const t = this.params.timing;
    const maxLease = this.leaseEverMs;
    const maxAcquire = this.acquireEverMs;
    const stretch = driftStretch(t.clockDriftPpmMax);
    const local = maxLease * stretch + 6 * t.electionTimeoutMs + maxAcquire + 3 * t.renewIntervalMs + t.siteAliveWindowMs;
    return local / (1 - this.rho) + 10 * (this.params.net.delayBaseMs + 3) + 4 * this.params.cib.latencyMaxMs + 1000;
  }

  /**
   * Issue 12, item 1: a holder whose sink says "not granted" must write the
   * grant again or give the ticket up within a bounded time. A running agent
   * that believes in a confirmed grant its CIB does not hold (same generation)
   * is stranded; it learns of it from its next guard update's read-back, or
   * its lease ends and it revokes on its own. Its bound: one lease (drift
   * stretched) plus two renewal rounds and CIB write times. A paused agent
   * cannot learn anything, so pauses restart the clock.
   */
  private sampleStranded(at: number): void {
    const t = this.params.timing;
    for (const n of this.nodes) {
      if (n.info.kind !== 'site') continue;
      for (const def of this.params.tickets) {
        const boundMs = Math.max(def.leaseDurationMs, this.leaseEverMs) * driftStretch(t.clockDriftPpmMax) + 2 * t.renewIntervalMs + 6 * this.params.cib.latencyMaxMs;
        const key = `${n.info.id} ${def.name}`;
        const v = n.core === null || n.paused ? undefined : n.core.holderView(def.name);
        const c = n.cib.get(def.name);
        // A grant found in the CIB at start (a restart, or an agent move's take-over hold: site-takeover.ts) is held at
        // the CIB's generation, which the view does not name (gen null): stranded only once the CIB lost it.
        const stranded = v !== undefined && v.granted && v.confirmed && !(c !== undefined && c.granted && (c.generation === v.gen || v.gen === null));
        if (!stranded) {
          this.strandedSince.delete(key);
          continue;
        }
        const since = this.strandedSince.get(key);
        if (since === undefined) {
          this.strandedSince.set(key, at);
          continue;
        }
        const dur = at - since;
        this.maxStrandedMs = Math.max(this.maxStrandedMs, dur);
        if (dur > boundMs && !this.strandReported.has(key)) {
          this.strandReported.add(key);
          this.liveness.push(`${n.info.id} believed it held ${def.name} (generation ${v.gen}) for ${Math.round(dur)} ms while its CIB did not (bound ${Math.round(boundMs)} ms, since ${Math.round(since)} ms)`);
        }
      }
    }
  }

  private checkConverged(when: string): void {
    const l = this.leader()?.core;
    if (l === undefined || l === null) {
      this.liveness.push(`${when}: no leader`);
      return;
    }
    for (const t of l.tickets()) {
      const holders = this.checker.holdersOf(t.def.name);
      if (t.holder === null) {
        if (t.def.mode === 'automatic' && t.managed) this.liveness.push(`${when}: automatic ticket ${t.def.name} has no holder`);
        continue;
      }
      if (holders.length !== 1 || holders[0] !== t.holder) {
        this.liveness.push(`${when}: ${t.def.name} registry holder ${t.holder}, CIB grants at [${holders.join(', ')}]`);
      }
    }
  }

  private probeFailover(ticket: string, holder: Node): void {
    const p = this.params;
    const t = p.timing;
    const def = p.tickets.find((x) => x.name === ticket)!;
    const wasLeader = this.leader() === holder;
    const start = this.now;
    if (this.rng.chance(0.5)) this.crash(holder);
    else this.isolate(holder);
    const election = wasLeader ? 4 * t.electionTimeoutMs : 0;
    // A config change may have lengthened the lease or acquire-after, and a shortened lease stays owed at its old length.
    const local = Math.max(def.leaseDurationMs, this.leaseEverMs) * driftStretch(t.clockDriftPpmMax) + election + Math.max(def.acquireAfterMs, this.acquireEverMs) + t.renewIntervalMs + 2 * t.heartbeatIntervalMs;
    const boundMs = local / (1 - this.rho) + 8 * (p.net.delayBaseMs + 3) + 3 * p.cib.latencyMaxMs;
    const deadline = start + boundMs * 2;
    let doneAt: number | null = null;
    while (this.now < deadline) {
      this.runUntil(Math.min(deadline, this.now + 50));
      const holders = this.checker.holdersOf(ticket);
      if (holders.length === 1 && holders[0] !== holder.info.id) {
        doneAt = this.now;
        break;
      }
    }
    if (doneAt === null) {
      this.liveness.push(`failover of ${ticket} from ${holder.info.id} did not happen within ${Math.round(boundMs * 2)} ms`);
      return;
    }
    this.failovers.push({ ms: doneAt - start, boundMs });
    if (doneAt - start > boundMs) this.liveness.push(`failover of ${ticket} took ${Math.round(doneAt - start)} ms, bound ${Math.round(boundMs)} ms`);
  }

  /** RunResult.grantsAfterGuard: with those still granted at the end of the run past their lease end. */
  private grantsAfterGuardResult(): RunResult['grantsAfterGuard'] {
    const stood = [...this.afterGuard.stood];
    for (const key of this.grantsAfterEnforced.keys()) {
      const [idx, ticket, gen] = key.split('|');
      const n = this.all[Number(idx)]!;
      const c = n.cib.get(ticket!);
      const end = this.leaseEndTrue.get(key);
      if (c?.granted === true && c.generation === Number(gen) && end !== undefined && this.now > end) stood.push({ site: n.info.id, ticket: ticket!, generation: Number(gen), stoodMs: this.now - end, revokedBy: null });
    }
    return { landed: this.afterGuard.landed, revokedAgain: this.afterGuard.revokedAgain, stood };
  }

  result(): RunResult {
    return {
      seed: this.params.seed,
      scenario: this.params.scenario?.name ?? null,
      gossip: {
        falseSuspicions: this.falseSuspicions,
        memberHours: this.memberMs / 3_600_000,
        convergenceMs: this.convergence,
        unconverged: this.pendingChanges.length,
        relayed: this.relayed,
        relayDropped: this.relayDropped,
      },
      violations: this.checker.violations,
      counts: this.checker.counts(),
      livenessFailures: this.liveness,
      failovers: this.failovers,
      falseFailovers: this.autoFailovers.size,
      movedFromReachable: this.movedFromReachable,
      grantBatches: { entries: this.grantBatches.size, tickets: [...this.grantBatches.values()].reduce((a, b) => a + b, 0) },
      minGuardGapMs: this.checker.minGuardGapMs,
      lateRevokes: this.lateRevokes,
      grantsAfterGuard: this.grantsAfterGuardResult(),
      guardLate: { writes: this.guardLateWrites, grantsLost: this.grantsLost, maxStrandedMs: this.maxStrandedMs },
      startRejoins: this.startRejoins,
      simulatedMs: this.now,
      events: this.eventCount,
      configChanges: {
        proposedHeld: Object.fromEntries(this.cfgProposedHeld),
        committed: Object.fromEntries([...this.checker.configChanges].map(([k, v]) => [k, v.size])),
      },
      forcedRemoval: { ...this.forced, lostEntries: this.checker.forcedLoss.entries, generationsReused: this.checker.forcedLoss.generationsReused },
      agentMoves: { fast: { ...this.moves.fast }, slow: { ...this.moves.slow }, guardStoodDown: this.moves.guardStoodDown, fastNotKept: this.moves.fastNotKept },
      replaces: { ...this.replaced, started: this.joined.filter((n) => n.restarts > 0).length },
    };
  }
}
