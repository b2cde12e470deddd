// Everything a simulated run depends on, drawn from its seed: formation size,
// timing, tickets, clocks, the network and the fault mix. One seed (plus the
// commit) replays one run exactly.

import { SeededRandom } from '../../src/core/random.js';
import type { CoreTiming } from '../../src/core/config.js';
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
  | 'health-flap';

/** Fault classes: fault-free and loss-only runs are where L2 (no false failovers) is checked. */
export type FaultClass = 'fault-free' | 'loss-only' | 'mixed';

export interface SimParams {
  readonly seed: number;
  readonly sites: number;
  readonly arbitrators: number;
  readonly timing: CoreTiming;
  readonly tickets: readonly TicketDef[];
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
  };
  readonly faultClass: FaultClass;
  readonly faults: readonly FaultKind[];
  readonly safetyPhaseMs: number;
  /** Average time between fault events in the safety phase. */
  readonly faultEveryMs: number;
  readonly adminEveryMs: number;
}

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

export function drawParams(seed: number): SimParams {
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
  }
  const wan = profile === 'wan';
  return {
    seed,
    sites,
    arbitrators,
    timing,
    tickets,
    clockRates,
    clockOffsets,
    net: {
      delayBaseMs: wan ? r.range(5, 60) : r.range(0.1, 3),
      delayJitterMs: faults.includes('reorder') ? r.range(5, 200) : r.range(0, 3),
      lossRate: faults.includes('loss') ? r.pick([0.01, 0.05, 0.1, 0.2]) : 0,
      duplicateRate: faults.includes('duplication') ? r.range(0.01, 0.1) : 0,
      tailRate: faults.includes('wan-tail') ? r.range(0.002, 0.03) : 0,
      tailMeanMs: r.pick([500, 2000, 6000]),
    },
    cib: {
      latencyMinMs: 1,
      latencyMaxMs: faults.includes('cib-slow') ? cibLatencyMaxMs : Math.min(cibLatencyMaxMs, 10),
      failRate: faults.includes('cib-fail') ? r.pick([0.05, 0.2, 0.5]) : 0,
    },
    faultClass,
    faults,
    safetyPhaseMs: r.int(60_000, 180_000),
    faultEveryMs: r.int(3_000, 15_000),
    adminEveryMs: r.int(10_000, 40_000),
  };
}
