// Everything a simulated run depends on, drawn from its seed: formation size,
// timing, tickets, clocks, the network and the fault mix. One seed (plus the
// commit) replays one run exactly.

import { timingPresets, type TimingPresetName } from '../../src/config/presets.js';
import { SeededRandom } from '../../src/core/random.js';
import type { CoreTiming } from '../../src/core/config.js';
import { revokeLeadCeilingMs, usableLeaseMinMs } from '../../src/core/lease.js';
import { swimPresets, type SwimTiming } from '../../src/core/gossip/config.js';
import type { TicketDef, TicketMode } from '../../src/core/types.js';

export type FaultKind =
  | 'loss'
  | 'duplication'
  | 'reorder'
  | 'wan-tail'
  | 'partition'
  | 'one-way'
  | 'bridge'
  | 'isolate-holder'
  | 'isolate-leader'
  | 'isolate-arbitrator'
  | 'crash'
  | 'pause'
  | 'cib-slow'
  | 'cib-fail'
  | 'health-flap'
  /**
   * A member's inbound path gets slow (a congested host or NIC): every message
   * to it, on every path, arrives late; later it may lose its links
   * altogether. Relays cannot route around it, which is what makes a late
   * renewal answer reach the holder (drawn apart from the others, see below).
   */
  | 'slow-inbound'
  /**
   * A member loses its store (a reinstalled node, a new disk, the agent started on another
   * node of its site) and starts again empty: it must rejoin as a new incarnation and never
   * vote as the member it was (docs/protocol.md §10). Drawn apart from the others, as slow-inbound.
   */
  | 'wipe'
  /**
   * Membership changes through admin commands (issue 11): a member (sometimes the leader,
   * sometimes two in a row) is removed and added back later, often with the formation
   * partitioned right after the removal was proposed. Drawn apart from the others.
   */
  | 'member-change'
  /**
   * A majority of the members lost for good (issue 11 item 5; docs/operations.md §8, disaster
   * recovery): their agents stop and never start again with their stores; their sites' Pacemaker
   * keeps a granted ticket until the lease guard revokes it (the runbook's "agent stopped for good",
   * the weaker of what --confirm-fenced allows). The admin follows the runbook: picks the surviving
   * site with the newest log, stops every other survivor for good, and runs `member remove X --force
   * --confirm-fenced` there for every other voter until it is accepted; then grants with --force the
   * tickets the lost members held, as the runbook says is safe once accepted. Once per run, drawn
   * apart from the others; the lost members are reinstalled (wiped) and added back when the
   * liveness phase heals.
   */
  | 'lost-majority'
  /**
   * An admin replaces a member (site or arbitrator) by a new one at a new id, with a new key
   * (`member replace OLD NEW --key`, issue 11 item 3): the new member starts with an empty store
   * and its own empty CIB, is admitted as a non-voter, catches up and is promoted; the old one is
   * stopped once the change committed (its site's lease guard runs on). A replaced site that holds
   * tickets is refused without --force; with it, its tickets are revoked first (guarded). Drawn
   * apart from the others and scheduled from its own stream (world.ts replaceRng).
   */
  | 'member-replace'
  /**
   * A site's agent moves to another node of the same site (the OCF resource moved with its group,
   * docs/protocol.md §10, the hand-over of a grant): the new node's agent has an empty store (a new
   * incarnation) and no guard record, but finds the grant in the site's shared CIB with a live
   * `expires`; the old node's lease guard runs on until its deadline, standing down only if the CIB
   * shows that grant with a later `expires` written by the new agent. Fast moves (well within the
   * lease) must keep the grant; slow ones (longer than the lease) revoke and are granted again.
   * Drawn apart from the others and scheduled from its own stream (world.ts moveRng).
   */
  | 'agent-move';

/** Fault classes: fault-free and loss-only runs are where L2 (no false failovers) is checked. */
export type FaultClass = 'fault-free' | 'loss-only' | 'mixed';

/**
 * Gossip scenario families (issue 5), selected with `--scenario NAME`. In
 * each, every member keeps a path to a majority (directly or through one
 * relay) for the whole scenario phase, so any automatic failover there is a
 * false one (L2), and every suspicion of a member is false.
 *  - bridge: one link A–B is cut both ways, both still reach the others;
 *    each episode cuts a new pair, usually the leader and the holder;
 *  - one-way: one link delivers in one direction only;
 *  - five-member-ring: 5 members; 2, 3 and 4 lose their links to 5, which
 *    stays connected to 1 (roles drawn per seed);
 *  - lossy: random loss up to 30 % on every link, no partitions.
 */
export const scenarioNames = ['bridge', 'one-way', 'five-member-ring', 'lossy'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface ScenarioPlan {
  readonly name: ScenarioName;
  /** The formation settles before the scenario starts. */
  readonly warmupMs: number;
  /** Cut episodes (bridge, one-way) or one long stretch (ring, lossy), each followed by a heal gap. */
  readonly episodes: number;
  readonly episodeMs: number;
  readonly gapMs: number;
  /** A guarded admin move of a ticket during each episode, for convergence figures. */
  readonly adminMoves: boolean;
  /** Bridge, one-way: probability that the cut separates the leader from the holder (else a random pair). */
  readonly leaderHolderCut: number;
  /** Five-member-ring: which member plays 1 … 5 (indexes into the formation). */
  readonly ring: readonly number[];
}

export interface DrawOptions {
  readonly scenario?: ScenarioName;
  /** Overrides the drawn message loss rate (0 … 1), for the figures at fixed loss. */
  readonly lossRate?: number;
  /** Overrides the drawn share of guard-record writes that land after the deadline they replace (0 … 1). */
  readonly guardLateRate?: number;
  /** Forces (true) or forbids (false) a site whose CIB writes slow down in a ramp (issue 12 item 6). */
  readonly cibRamp?: boolean;
  /** Forces (true) or forbids (false) that every member speaks protocol 1.2 (SimParams.batchGrants). */
  readonly batchGrants?: boolean;
  /** Forces (true) or forbids (false) the extra automatic tickets that make placements move several at once (batchTickets); absent: drawn in about half of the seeds. */
  readonly manyTickets?: boolean;
  /**
   * Draws the 'member-replace' and 'agent-move' faults (issue 11 items 3, 4) in their share of the mixed
   * seeds (`--live-changes`). Kept out of the default draw, so that the mutant pins (searched in it) stay put; CI
   * runs seeds 1–300 with them too (seeds-live-changes.test.ts; docs/verification.md §7).
   */
  readonly liveChanges?: boolean;
}

export interface SimParams {
  readonly seed: number;
  readonly sites: number;
  readonly arbitrators: number;
  readonly timing: CoreTiming;
  /** SWIM/Lifeguard timing of every member (DESIGN.md §3). */
  readonly swim: SwimTiming;
  /** The gossip scenario, or null for the random fault mix. */
  readonly scenario: ScenarioPlan | null;
  readonly tickets: readonly TicketDef[];
  /**
   * Every member announces protocol 1.2 (Member.setBatchGrantPeers), so the leader places and fails over
   * several tickets as one `grant-batch` entry (docs/protocol.md §3). False: a formation with a 1.1
   * member, one grant entry per ticket. Drawn from its own stream (batchGrantsShare); absent: true.
   */
  readonly batchGrants?: boolean;
  /**
   * How long after the run's start each member starts, in true ms (absent: all at once). A formation's
   * members rarely start together: the last one to start answers the others' joins, and they elect at once,
   * often before they answer its own (docs/protocol.md §10, "The last member to start").
   */
  readonly startDelaysMs?: readonly number[];
  /** Each member's clock rate, within ±clockDriftPpmMax of real time. */
  readonly clockRates: readonly number[];
  /** Each member's monotonic clock offset (machines boot at different times). */
  readonly clockOffsets: readonly number[];
  readonly net: {
    readonly delayBaseMs: number;
    readonly delayJitterMs: number;
    readonly lossRate: number;
    readonly duplicateRate: number;
    /** Probability that a message takes a WAN-like tail delay, and the tail's mean. */
    readonly tailRate: number;
    readonly tailMeanMs: number;
  };
  readonly cib: {
    readonly latencyMinMs: number;
    readonly latencyMaxMs: number;
    readonly failRate: number;
    /**
     * Share of lease-guard updates whose write lands only after the deadline
     * it replaces (a stalled disk): the guard process may revoke first (issue
     * 12, the stranded ticket). Drawn from its own stream, so a seed's other
     * faults are what they were before this fault existed.
     */
    readonly guardLateRate: number;
    /**
     * One site whose CIB gets slow and fast again in a triangle wave (issue 12 item 6, CPU
     * starvation): its write time climbs from the drawn latency to `peakMs` — the slowest write
     * the leases can cover with a raised revoke lead, usually well past the configured lead, so
     * that a revoke started at the configured lead lands after the lease ended — over half of
     * `periodMs`, then falls back. The ramp is slow next to
     * the guard updates (`periodMs` ≥ 8 leases), as a load that builds up is; the holder
     * must keep its revoke lead at twice the write times it measures. Healing ends it. Drawn
     * from its own stream. Null: no ramp.
     */
    readonly ramp: { readonly site: number; readonly peakMs: number; readonly periodMs: number } | null;
  };
  readonly faultClass: FaultClass;
  readonly faults: readonly FaultKind[];
  readonly safetyPhaseMs: number;
  /** Average time between fault events in the safety phase. */
  readonly faultEveryMs: number;
  readonly adminEveryMs: number;
  /**
   * Average time between formation config changes in the safety phase (issue
   * 11): a ticket's expire shortened or lengthened, its revoke lead, acquire-after
   * or weights changed, a ticket added, an added one removed (held or not).
   * Absent or 0: none.
   */
  readonly configEveryMs?: number;
}

/** Share of the seeds whose members all speak protocol 1.2 (batch grants); the rest have a 1.1 member. */
const batchGrantsShare = 0.85;
/** Share of the mixed seeds that lose a majority for good ('lost-majority'). */
const lostMajorityShare = 0.15;
/** Share of the mixed seeds that replace members ('member-replace'), and that move site agents between nodes ('agent-move'). */
const replaceShare = 0.35;
const agentMoveShare = 0.35;

const allFaults: readonly FaultKind[] = [
  'loss',
  'duplication',
  'reorder',
  'wan-tail',
  'partition',
  'one-way',
  'bridge',
  'isolate-holder',
  'isolate-leader',
  'isolate-arbitrator',
  'crash',
  'pause',
  'cib-slow',
  'cib-fail',
  'health-flap',
];

export function drawParams(seed: number, options: DrawOptions = {}): SimParams {
  if (options.scenario !== undefined) return drawScenarioParams(seed, options.scenario, options.lossRate);
  const drawn = drawMixedParams(seed, options);
  const p = options.lossRate === undefined ? drawn : { ...drawn, net: { ...drawn.net, lossRate: options.lossRate } };
  const q = options.guardLateRate === undefined ? p : { ...p, cib: { ...p.cib, guardLateRate: options.guardLateRate } };
  if (options.cibRamp === undefined || (options.cibRamp === (q.cib.ramp !== null))) return q;
  return { ...q, cib: { ...q.cib, ramp: options.cibRamp ? drawRamp(new SeededRandom(seed ^ 0xc1b7), q.sites, q.tickets, q.timing) : null } };
}

/** The slow-CIB ramp of one site (SimParams.cib.ramp). */
function drawRamp(r: SeededRandom, sites: number, tickets: readonly TicketDef[], timing: CoreTiming): NonNullable<SimParams['cib']['ramp']> {
  // The slowest write every ticket's lease can still cover with a raised lead (lease.ts effectiveRevokeLeadMs):
  // half of the lead's ceiling. Slower than that, nothing can keep a revoke inside the lease.
  const usableMin = usableLeaseMinMs(timing.renewIntervalMs, timing.electionTimeoutMs);
  const coverable = Math.min(...tickets.map((t) => revokeLeadCeilingMs(t.revokeLeadMs, t.leaseDurationMs, usableMin) / 2));
  const leaseMax = Math.max(...tickets.map((t) => t.leaseDurationMs));
  return { site: r.int(0, sites - 1), peakMs: Math.floor(coverable), periodMs: Math.max(40_000, 8 * leaseMax) + r.int(0, 20_000) };
}

/** The random fault mix (the default): formation, timing and faults drawn exactly as before gossip existed. */
function drawMixedParams(seed: number, options: DrawOptions): SimParams {
  const r = new SeededRandom(seed);
  // 2+1 up to 7 members; sites ≥ 2, arbitrators ≥ 1 (booth's usual shape), sometimes 2 arbitrators.
  const total = r.pick([3, 3, 3, 4, 5, 5, 6, 7]);
  const arbitrators = total >= 5 && r.chance(0.4) ? 2 : 1;
  const sites = total - arbitrators;
  const profile = r.pick(['lan', 'wan', 'tight'] as const);
  const heartbeatIntervalMs = profile === 'lan' ? r.int(50, 150) : profile === 'wan' ? r.int(150, 400) : r.int(30, 80);
  const electionTimeoutMs = heartbeatIntervalMs * r.int(4, 10);
  const renewIntervalMs = r.int(Math.max(heartbeatIntervalMs * 2, 200), Math.max(heartbeatIntervalMs * 5, 600));
  const renewRetryMs = Math.max(50, Math.floor(renewIntervalMs / r.int(2, 5)));
  // Wide drift bounds on purpose: margins must hold at the bound, not just at typical crystal error.
  const clockDriftPpmMax = r.pick([0, 100, 500, 5_000, 20_000, 50_000]);
  const timing: CoreTiming = {
    heartbeatIntervalMs,
    electionTimeoutMs,
    renewIntervalMs,
    renewRetryMs,
    clockDriftPpmMax,
    effectRetryMs: r.int(100, 500),
    siteAliveWindowMs: renewIntervalMs * r.int(2, 4),
  };
  const cibLatencyMaxMs = r.pick([5, 20, 80, 200]);
  const ticketCount = r.int(1, 3);
  const tickets: TicketDef[] = [];
  const siteIds = Array.from({ length: sites }, (_, i) => `site${i + 1}`);
  for (let i = 0; i < ticketCount; i++) {
    const mode: TicketMode = i > 0 && r.chance(0.3) ? 'manual' : 'automatic';
    // revokeLead must cover two CIB writes (a late grant, then the guard's revoke): writes take ≤ revokeLead/2.
    const revokeLeadMs = 2 * cibLatencyMaxMs + r.int(10, 400);
    const minLease = 2 * electionTimeoutMs + renewIntervalMs + revokeLeadMs + 1;
    const leaseDurationMs = Math.max(minLease + r.int(0, 2000), 2 * renewIntervalMs + revokeLeadMs) + r.int(0, 8000);
    const weights: Record<string, number> = {};
    for (const s of siteIds) if (r.chance(0.5)) weights[s] = r.int(0, 10);
    tickets.push({
      name: `t${i + 1}`,
      mode,
      leaseDurationMs,
      acquireAfterMs: r.pick([0, 0, 0, 100, 1000]),
      revokeLeadMs,
      weights,
    });
  }
  tickets.push(...batchTickets(seed, tickets[0]!, options));
  const total2 = sites + arbitrators;
  const rho = clockDriftPpmMax / 1e6;
  const clockRates = Array.from({ length: total2 }, () => {
    // Often at the extremes: that is where a missing margin shows.
    const x = r.next();
    if (x < 0.35) return 1 - rho;
    if (x < 0.7) return 1 + rho;
    return 1 + r.range(-rho, rho);
  });
  const clockOffsets = Array.from({ length: total2 }, () => r.int(0, 10_000_000));
  const classDraw = r.next();
  const faultClass: FaultClass = classDraw < 0.1 ? 'fault-free' : classDraw < 0.25 ? 'loss-only' : 'mixed';
  let faults: FaultKind[] = [];
  if (faultClass === 'loss-only') faults = ['loss'];
  if (faultClass === 'mixed') {
    faults = allFaults.filter(() => r.chance(0.45));
    if (faults.length === 0) faults = [r.pick(allFaults)];
    // Added with gossip: drawn from its own stream so that the other faults of a seed stay as they were.
    if (new SeededRandom(seed ^ 0x51043).chance(0.35)) faults.push('slow-inbound');
    // Added with incarnations (issue 11): its own stream again.
    if (new SeededRandom(seed ^ 0x3199e).chance(0.35)) faults.push('wipe');
    if (new SeededRandom(seed ^ 0x3e3be).chance(0.35)) faults.push('member-change');
    if (new SeededRandom(seed ^ 0x1057a).chance(lostMajorityShare)) faults.push('lost-majority');
    // Added with live formation changes (issue 11 items 3 and 4): their own streams as well.
    if (options.liveChanges === true && new SeededRandom(seed ^ 0x4e91ace).chance(replaceShare)) faults.push('member-replace');
    if (options.liveChanges === true && new SeededRandom(seed ^ 0xa6e7a0).chance(agentMoveShare)) faults.push('agent-move');
  }
  const wan = profile === 'wan';
  const net = {
    delayBaseMs: wan ? r.range(5, 60) : r.range(0.1, 3),
    delayJitterMs: faults.includes('reorder') ? r.range(5, 200) : r.range(0, 3),
    lossRate: faults.includes('loss') ? r.pick([0.01, 0.05, 0.1, 0.2]) : 0,
    duplicateRate: faults.includes('duplication') ? r.range(0.01, 0.1) : 0,
    tailRate: faults.includes('wan-tail') ? r.range(0.002, 0.03) : 0,
    tailMeanMs: r.pick([500, 2000, 6000]),
  };
  // Gossip timing from its own stream, drawn after everything else, so that
  // a seed's formation, timing and faults are what they were before gossip.
  const swim = mixedSwimTiming(new SeededRandom(seed ^ 0x5a1d), timing, net.delayBaseMs + net.delayJitterMs);
  return {
    seed,
    sites,
    arbitrators,
    timing,
    swim,
    scenario: null,
    tickets,
    clockRates,
    clockOffsets,
    net,
    cib: {
      latencyMinMs: 1,
      latencyMaxMs: faults.includes('cib-slow') ? cibLatencyMaxMs : Math.min(cibLatencyMaxMs, 10),
      failRate: faults.includes('cib-fail') ? r.pick([0.05, 0.2, 0.5]) : 0,
      guardLateRate: new SeededRandom(seed ^ 0x9a7d).pick([0, 0, 0.05, 0.3]),
      ramp: faultClass === 'mixed' && new SeededRandom(seed ^ 0xc1b5).chance(0.3) ? drawRamp(new SeededRandom(seed ^ 0xc1b7), sites, tickets, timing) : null,
    },
    // As the daemon runs (src/runtime/pump.ts noteProtocols): batches once every member speaks 1.2; some
    // seeds play a formation with a 1.1 member (a rolling upgrade), one grant entry per ticket.
    batchGrants: options.batchGrants ?? new SeededRandom(seed ^ 0xba7c5).chance(batchGrantsShare),
    faultClass,
    faults,
    safetyPhaseMs: r.int(60_000, 180_000),
    faultEveryMs: r.int(3_000, 15_000),
    adminEveryMs: r.int(10_000, 40_000),
    // Drawn from its own stream, so that every other parameter of a seed stays what it was.
    configEveryMs: new SeededRandom(seed ^ 0xc0f1).int(8_000, 40_000),
    ...drawStartDelays(new SeededRandom(seed ^ 0x5ba97), sites + arbitrators, timing),
  };
}

/** In half the seeds the members start one by one, up to three election timeouts apart (SimParams.startDelaysMs). */
function drawStartDelays(r: SeededRandom, members: number, timing: CoreTiming): { startDelaysMs?: readonly number[] } {
  if (!r.chance(0.5)) return {};
  return { startDelaysMs: Array.from({ length: members }, () => (r.chance(0.3) ? 0 : r.int(0, 3 * timing.electionTimeoutMs))) };
}

/**
 * Automatic tickets beyond the drawn ones, so that placement and failover
 * move several at once (one `grant-batch`, issue 15 item 5) and a site revokes
 * several at the same moment: 3–10 more with the first ticket's timings and no
 * weights, in about half of the seeds (the batch mutant's negative control
 * forces them: npm run sim -- --many-tickets; --no-many-tickets leaves them
 * out). They joined the default draw once seeds 1–300 with them showed no
 * violation, no late revoke with the agent running and no false failover
 * (the last, seed 234, closed in placement.ts: no ticket for a site whose
 * store the formation does not admit as a voter yet). Drawn from their own
 * stream, so a seed's other parameters are what they were; the replay of
 * seed 368 with --many-tickets keeps its four extra tickets.
 */
function batchTickets(seed: number, like: TicketDef, options: DrawOptions): TicketDef[] {
  const r = new SeededRandom(seed ^ 0xba7c4);
  const drawn = r.chance(0.5);
  const n = (options.manyTickets ?? drawn) ? r.int(3, 10) : 0;
  return Array.from({ length: n }, (_, i) => ({ ...like, name: `b${i + 1}`, mode: 'automatic', weights: {} }));
}

/**
 * SWIM timing for the random fault mix: a preset's shape on the drawn
 * registry timing's scale (a probe period of ½ to 2 election timeouts), with
 * a probe timeout that covers a round trip of the drawn delays.
 */
function mixedSwimTiming(r: SeededRandom, t: CoreTiming, oneWayMaxMs: number): SwimTiming {
  const base = swimPresets[r.pick(['lan', 'wan', 'loopback'] as const)];
  const roundTripMs = Math.ceil(2 * oneWayMaxMs) + 10;
  const probeIntervalMs = Math.max(Math.floor(t.electionTimeoutMs * r.pick([0.5, 1, 2])), 3 * roundTripMs, 100);
  const probeTimeoutMs = Math.min(probeIntervalMs - 1, Math.max(roundTripMs, Math.floor(probeIntervalMs * r.pick([0.3, 0.5]))));
  return {
    ...base,
    probeIntervalMs,
    probeTimeoutMs,
    indirectProbeCount: r.pick([1, 2, 3]),
    gossipIntervalMs: Math.max(20, Math.floor(probeIntervalMs / 5)),
  };
}

/**
 * The longest a member takes to find a relay to a member whose direct link
 * broke, on the gossip timing `s` in a formation of `members`: its next probe
 * of that member can be up to two rounds of members − 1 periods away (SWIM
 * §4.3, shuffled round-robin), and the route switches when that probe's
 * period ends with an indirect ack. Registry messages before then take the
 * dead direct path.
 */
export function relayFoundWithinMs(s: SwimTiming, members: number): number {
  return (2 * (members - 1) + 1) * s.probeIntervalMs;
}

/**
 * Parameters of one gossip scenario run: a timing preset (lan, wan,
 * loopback) with its registry and SWIM values, small drift, delays of the
 * preset's kind, and leases long enough to outlast finding a relay
 * (relayFoundWithinMs) plus a leader change and a renewal — the condition
 * under which the design promises no failover while a path exists.
 */
function drawScenarioParams(seed: number, name: ScenarioName, lossOverride: number | undefined): SimParams {
  const r = new SeededRandom(seed ^ 0x5ce7a);
  const total = name === 'five-member-ring' ? 5 : name === 'lossy' ? r.pick([3, 3, 4, 5, 5, 6, 7]) : r.pick([3, 3, 4, 5]);
  const arbitrators = total >= 5 && r.chance(0.4) ? 2 : 1;
  const sites = total - arbitrators;
  const presetName: TimingPresetName = r.pick(['lan', 'lan', 'wan', 'loopback'] as const);
  const preset = timingPresets[presetName];
  const swim = preset.gossip;
  const clockDriftPpmMax = r.pick([0, 100, 500]);
  const timing: CoreTiming = {
    heartbeatIntervalMs: preset.heartbeatIntervalMs,
    electionTimeoutMs: preset.electionTimeoutMs,
    renewIntervalMs: preset.renewIntervalMs,
    renewRetryMs: preset.renewRetryMs,
    clockDriftPpmMax,
    effectRetryMs: preset.effectRetryMs,
    siteAliveWindowMs: preset.siteAliveWindowMs,
  };
  const cibLatencyMaxMs = r.pick([5, 20, 80]);
  const relayMs = relayFoundWithinMs(swim, total);
  const ticketCount = r.int(1, 2);
  const siteIds = Array.from({ length: sites }, (_, i) => `site${i + 1}`);
  const tickets: TicketDef[] = [];
  for (let i = 0; i < ticketCount; i++) {
    const revokeLeadMs = Math.min(preset.revokeLeadMs, 2 * cibLatencyMaxMs + r.int(200, 2000));
    const floorMs = revokeLeadMs + 2 * timing.electionTimeoutMs + timing.renewIntervalMs + relayMs;
    const leaseDurationMs = floorMs + r.int(0, floorMs);
    const weights: Record<string, number> = {};
    for (const s of siteIds) if (r.chance(0.5)) weights[s] = r.int(0, 10);
    tickets.push({ name: `t${i + 1}`, mode: 'automatic', leaseDurationMs, acquireAfterMs: r.pick([0, 0, 100, 1000]), revokeLeadMs, weights });
  }
  const rho = clockDriftPpmMax / 1e6;
  const clockRates = Array.from({ length: total }, () => 1 + r.range(-rho, rho));
  const clockOffsets = Array.from({ length: total }, () => r.int(0, 10_000_000));
  const wan = presetName === 'wan';
  const lossRate = lossOverride ?? (name === 'lossy' ? r.pick([0.05, 0.1, 0.2, 0.3]) : r.pick([0, 0, 0.01, 0.05]));
  const maxLease = Math.max(...tickets.map((t) => t.leaseDurationMs));
  const episodic = name === 'bridge' || name === 'one-way';
  const ring = name === 'five-member-ring' ? shuffleIndexes(r, total) : [];
  return {
    seed,
    sites,
    arbitrators,
    timing,
    swim,
    scenario: {
      name,
      warmupMs: 4 * timing.electionTimeoutMs + 3 * timing.renewIntervalMs + relayMs + 2_000,
      episodes: episodic ? r.int(2, 3) : 1,
      // Long enough that a lease runs out several times over unless renewals find a way.
      episodeMs: Math.floor(maxLease * (episodic ? r.range(2, 3) : r.range(3, 4))),
      gapMs: relayMs + 2 * timing.electionTimeoutMs,
      adminMoves: sites >= 2,
      leaderHolderCut: 0.7,
      ring,
    },
    tickets,
    clockRates,
    clockOffsets,
    net: {
      delayBaseMs: wan ? r.range(5, 60) : r.range(0.1, 3),
      delayJitterMs: wan ? r.range(0, 20) : r.range(0, 3),
      lossRate,
      duplicateRate: 0,
      tailRate: 0,
      tailMeanMs: 500,
    },
    cib: { latencyMinMs: 1, latencyMaxMs: cibLatencyMaxMs, failRate: 0, guardLateRate: 0, ramp: null },
    faultClass: lossRate > 0 ? 'loss-only' : 'fault-free',
    faults: lossRate > 0 ? ['loss'] : [],
    safetyPhaseMs: 0,
    faultEveryMs: 0,
    adminEveryMs: 0,
  };
}

function shuffleIndexes(r: SeededRandom, n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
