// The glue between the registry and gossip (DESIGN.md §3): a SwimNode probes
// the other members; the bridge turns its answers into routes for registry
// messages (directly, or through a member that reaches the target: relay),
// carries the leader's committed ticket changes and every site's health as
// rumors, and keeps what arrived for the `peers` and `list --local` views.
// Gossip never decides ownership: the registry does, alone.
//
// Without gossip (the registry's own unit tests and the interaction scripts
// that predate it) the bridge still records this site's own health, and every
// route is direct.

import { siteHealthRumorKind, ticketRumorKind, type Envelope, type SiteHealth, type TicketRumor } from '../messages.js';
import type { RandomSource } from '../random.js';
import type { CoreEvent } from '../ready.js';
import type { TicketState } from '../tickets/ticket-table.js';
import { assert, index, ms, type Index, type Member, type MemberId, type Ms } from '../types.js';
import type { SwimLimits, SwimTiming } from './config.js';
import type { SwimEvent } from './events.js';
import type { ClaimAuthenticator, Rumor, SwimMessage } from './messages.js';
import type { Route } from './routes.js';
import { SwimNode } from './swim-node.js';
import type { SwimView } from './view.js';

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

export interface BridgeDeps {
  readonly self: MemberId;
  readonly time: { readonly now: number };
  /** The registry's configuration: who may speak for a site's health. */
  readonly members: () => readonly Member[];
  /** Gossip's answer → the route a registry message takes (rules.ts; mutants replace it). */
  readonly routeFor: (gossipRoute: Route | null) => Route | null;
  readonly useIndirectProbes: boolean;
  readonly event: (e: CoreEvent) => void;
  /**
   * The index up to which a member's log was known to match this member's log
   * while it led (Registry.matchOf, kept after leadership moved on: member.ts
   * matchKnown). A ticket rumor of a commit at or below it is not sent to that
   * member: replication brought it the entry (a committed entry stays in every
   * log that holds it), and a heartbeat the commit. Without it: 0.
   */
  readonly matchOf?: (member: MemberId) => number;
}

/** Bound on the rumor counter of one incarnation (site-health versions are incarnation·2²⁰ + counter). */
const healthRumorsPerIncarnationMax = 2 ** 20 - 1;
const healthRumorVersionBase = 2 ** 20;
const incarnationLimit = 2 ** 32;

const rumorKinds = {
  [ticketRumorKind]: { priority: 50 },
  [siteHealthRumorKind]: { priority: 60 },
};

const direct: Route = { direct: true };

export class GossipBridge {
  private readonly swim: SwimNode | null;
  private readonly healthIncarnation: number;
  private healthRumors = 0;
  private readonly ticketsSeen = new Map<string, TicketSeen>();
  private readonly healthSeen = new Map<MemberId, SiteHealthSeen>();

  constructor(
    private readonly deps: BridgeDeps,
    init: GossipInit | undefined,
  ) {
    if (init === undefined) {
      this.swim = null;
      this.healthIncarnation = 0;
      return;
    }
    assert(Number.isSafeInteger(init.incarnation) && init.incarnation >= 0 && init.incarnation < incarnationLimit, 'gossip incarnation must be an integer in [0, 2^32)');
    const ids = deps.members().map((m) => m.id);
    // A member removed from the formation still knows itself (SwimNode requires it).
    if (!ids.includes(deps.self)) ids.push(deps.self);
    this.swim = new SwimNode(
      {
        self: deps.self,
        members: ids,
        timing: init.timing,
        ...(init.limits === undefined ? {} : { limits: init.limits }),
        now: ms(deps.time.now),
        incarnation: init.incarnation,
        indirectProbes: deps.useIndirectProbes,
        rumorKinds,
        rumorKnown: (member, r) => r.kind === ticketRumorKind && r.version <= (deps.matchOf?.(member) ?? 0),
      },
      { random: init.random, auth: init.auth },
    );
    this.healthIncarnation = init.incarnation;
  }

  get enabled(): boolean {
    return this.swim !== null;
  }

  tick(now: Ms): void {
    this.swim?.tick(now);
  }

  /** A gossip message; false when gossip is off here. */
  onMessage(from: MemberId, msg: SwimMessage, now: Ms): boolean {
    if (this.swim === null) return false;
    this.swim.onMessage(from, msg, now);
    return true;
  }

  hasReady(): boolean {
    return this.swim?.hasReady() ?? false;
  }

  nextDeadline(): number {
    return this.swim?.nextDeadline() ?? Number.POSITIVE_INFINITY;
  }

  /** Gossip follows the registry's configuration, so that every member the registry talks to is probed and has a route. */
  setMembers(before: readonly Member[], after: readonly Member[]): void {
    if (this.swim !== null && !sameIds(before, after)) this.swim.setMembers(after.map((m) => m.id), ms(this.deps.time.now));
  }

  /** Moves gossip's output into the node's outbox and applies the rumors it accepted. */
  collect(messages: Envelope[]): void {
    const swim = this.swim;
    if (swim === null || !swim.hasReady()) return;
    const r = swim.ready();
    for (const m of r.messages) messages.push({ from: m.from, to: m.to, msg: m.msg });
    for (const e of r.events) this.onGossipEvent(e);
  }

  // ─────────────────────────── routes ───────────────────────────

  /** Asks gossip to find out at once how `member` can be reached (route probes; rate-limited there). */
  probeRoute(member: MemberId): void {
    if (member !== this.deps.self) this.swim?.probeRoute(member, ms(this.deps.time.now));
  }

  /**
   * The members a registry message to `to` also goes through (DESIGN.md §3.2
   * relay), besides the direct copy: none while our latest direct probe of
   * `to` succeeded; the member that recently reached it for us; or, when the
   * direct link failed and no member has reached `to` yet, every member not
   * known dead (at most n − 2 copies) until a probe finds the way. Finding it
   * can take several probe rounds under heavy loss (30 %: each indirect probe
   * needs four messages through) — in the simulator's bridge scenario with
   * the wan preset, longer than a lease — while one of these copies gets
   * through in a round trip. The direct copy always goes out too: one lost
   * probe marks a working link as failed until the next probe of it, and on a
   * lossy link two independent paths beat one path of two lossy hops.
   */
  relaysFor(to: MemberId): readonly MemberId[] {
    const route = this.deps.routeFor(this.swim === null ? direct : this.swim.routeTo(to));
    if (route === null) return this.swim?.relayCandidates(to) ?? [];
    if ('via' in route && route.via !== to && route.via !== this.deps.self) return [route.via];
    return [];
  }

  /** How this member reaches `member` now: directly, or through whom. Without gossip every route is direct. */
  routeTo(member: MemberId): Route | null {
    return this.swim === null ? direct : this.swim.routeTo(member);
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
    return member !== this.deps.self && (this.swim === null || this.swim.stateOf(member) !== 'dead');
  }

  // ─────────────────────────── rumors ───────────────────────────

  private onGossipEvent(e: SwimEvent): void {
    switch (e.type) {
      case 'member-state':
        this.deps.event({ type: 'member-state', member: e.member, previous: e.previous, state: e.state, incarnation: e.incarnation, origin: e.origin });
        return;
      case 'refuted':
        this.deps.event({ type: 'refuted', incarnation: e.incarnation, accusedIncarnation: e.accusedIncarnation, origin: e.origin });
        return;
      case 'stalled':
        this.deps.event({ type: 'stalled', gapMs: e.gapMs });
        return;
      case 'rejected':
        this.deps.event({ type: 'gossip-rejected', from: e.from, item: e.item, reason: e.reason });
        return;
      case 'rumor':
        this.onRumor(e.rumor, e.from);
        return;
    }
  }

  /** A rumor newer than any this member had. The wire schema checked its payload's shape for its kind. */
  private onRumor(r: Rumor, from: MemberId): void {
    const now = ms(this.deps.time.now);
    if (r.kind === ticketRumorKind) {
      const p = r.payload as TicketRumor;
      this.ticketsSeen.set(r.key, { ...p, index: index(r.version), origin: r.origin, receivedAt: now });
    } else if (r.kind === siteHealthRumorKind) {
      // Only a site speaks for its own health.
      if (r.origin !== r.key || this.deps.members().find((m) => m.id === r.origin)?.kind !== 'site') {
        this.deps.event({ type: 'gossip-rejected', from, item: 'rumor', reason: 'wrong-origin' });
        return;
      }
      this.healthSeen.set(r.origin, { site: r.origin, health: r.payload as SiteHealth, version: r.version, receivedAt: now });
    }
  }

  /** The leader publishes a committed change of a ticket (DESIGN.md §3.3). */
  publishTicket(name: string, at: Index, rumor: TicketRumor): void {
    if (this.swim === null) return;
    this.swim.piggyback(ticketRumorKind, name, at, rumor);
    this.ticketsSeen.set(name, { ...rumor, index: at, origin: this.deps.self, receivedAt: ms(this.deps.time.now) });
  }

  /** A site publishes its health (local quorum, handlers, runnability) whenever it changes. */
  publishHealth(health: SiteHealth): void {
    const self = this.deps.self;
    const now = ms(this.deps.time.now);
    this.healthSeen.set(self, { site: self, health, version: 0, receivedAt: now });
    const isSite = this.deps.members().find((m) => m.id === self)?.kind === 'site';
    if (this.swim === null || !isSite || this.healthRumors >= healthRumorsPerIncarnationMax) return;
    this.healthRumors += 1;
    const version = this.healthIncarnation * healthRumorVersionBase + this.healthRumors;
    this.swim.piggyback(siteHealthRumorKind, self, version, health);
    this.healthSeen.set(self, { site: self, health, version, receivedAt: now });
  }

  /** Whether this site's own health was ever recorded. */
  knowsOwnHealth(): boolean {
    return this.healthSeen.has(this.deps.self);
  }

  // ─────────────────────────── views ───────────────────────────

  /** The gossip layer's view (who is alive, suspect or dead, round trips, routes); null when gossip is off. */
  peers(): SwimView | null {
    return this.swim?.view() ?? null;
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
  localTickets(applied: Iterable<TicketState>, appliedIndex: Index): LocalTicketView[] {
    const out: LocalTicketView[] = [];
    for (const t of applied) {
      const seen = this.ticketsSeen.get(t.def.name);
      if (seen !== undefined && seen.index > appliedIndex) {
        if (seen.removed) continue;
        out.push({ state: { ...t, holder: seen.holder, generation: seen.generation, standby: seen.standby, managed: seen.managed }, source: 'gossip', index: seen.index });
      } else {
        out.push({ state: t, source: 'table', index: appliedIndex });
      }
    }
    return out;
  }
}

function sameIds(a: readonly Member[], b: readonly Member[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((m) => m.id));
  return b.every((m) => set.has(m.id));
}
