// The registry's view of a formation config: members, ticket definitions and
// timings as the core takes them. Type-only imports from the core, so that the
// admin CLI (`config apply`, `config check --against-running`) can compare a
// file with the committed config without loading any of the core.

import type { CoreTiming } from '../core/config.js';
import type { Member, TicketDef } from '../core/types.js';
import type { FormationConfig } from './formation-config.js';
import { memberIdOf } from './member-id.js';

export function coreMembersOf(config: FormationConfig): Member[] {
  return config.members.map((m) => ({ id: memberIdOf(m), kind: m.kind }));
}

/** Weights are positional in booth.conf; here per site (arbitrators never hold tickets, so theirs are dropped). */
export function ticketDefsOf(config: FormationConfig): TicketDef[] {
  return config.tickets.map((t) => {
    const weights: Record<string, number> = {};
    t.weights.forEach((w, i) => {
      const m = config.members[i];
      if (m !== undefined && m.kind === 'site' && w !== 0) weights[m.address] = w;
    });
    return { name: t.name, mode: t.mode, leaseDurationMs: t.expireMs, acquireAfterMs: t.acquireAfterMs, revokeLeadMs: t.revokeLeadMs, weights };
  });
}

export function coreTimingOf(config: FormationConfig): CoreTiming {
  const p = config.timing;
  return {
    heartbeatIntervalMs: p.heartbeatIntervalMs,
    electionTimeoutMs: p.electionTimeoutMs,
    renewIntervalMs: p.renewIntervalMs,
    renewRetryMs: p.renewRetryMs,
    clockDriftPpmMax: config.clockDriftPpmMax,
    effectRetryMs: p.effectRetryMs,
    siteAliveWindowMs: p.siteAliveWindowMs,
  };
}
