// Maps a validated formation config onto the core's configuration. Member ids
// are the configured addresses (booth identifies members by address, and
// `booth list` prints them); weights are positional in booth.conf and become
// per-site weights here (arbitrators never hold tickets, so theirs are dropped).

import { defaultLimits, type CoreConfig } from '../core/config.js';
import type { SwimTiming } from '../core/gossip/config.js';
import type { Member, MemberId, TicketDef } from '../core/types.js';
import type { FormationConfig } from './formation-config.js';
import { memberIdOf } from './member-id.js';

export { memberIdOf } from './member-id.js';

export function toCoreConfig(config: FormationConfig, self: MemberId): CoreConfig {
  const members: Member[] = config.members.map((m) => ({ id: memberIdOf(m), kind: m.kind }));
  const tickets: TicketDef[] = config.tickets.map((t) => {
    const weights: Record<string, number> = {};
    t.weights.forEach((w, i) => {
      const m = config.members[i];
      if (m !== undefined && m.kind === 'site' && w !== 0) weights[m.address] = w;
    });
    return {
      name: t.name,
      mode: t.mode,
      leaseDurationMs: t.expireMs,
      acquireAfterMs: t.acquireAfterMs,
      revokeLeadMs: t.revokeLeadMs,
      weights,
    };
  });
  const p = config.timing;
  return {
    self,
    members,
    tickets,
    timing: {
      heartbeatIntervalMs: p.heartbeatIntervalMs,
      electionTimeoutMs: p.electionTimeoutMs,
      renewIntervalMs: p.renewIntervalMs,
      renewRetryMs: p.renewRetryMs,
      clockDriftPpmMax: config.clockDriftPpmMax,
      effectRetryMs: p.effectRetryMs,
      siteAliveWindowMs: p.siteAliveWindowMs,
    },
    limits: defaultLimits,
  };
}

/**
 * The gossip (SWIM/Lifeguard) timing of a formation: its timing's `gossip`,
 * which is the gossip config's preset of the same name (presets.ts; for the
 * timing derived from booth's keys, wan's with the periods on booth's scale).
 */
export function toSwimTiming(config: FormationConfig): SwimTiming {
  return config.timing.gossip;
}
