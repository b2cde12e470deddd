// Maps a validated formation config onto the core's configuration. Member ids
// are the configured addresses (booth identifies members by address, and
// `booth list` prints them); weights are positional in booth.conf and become
// per-site weights here (arbitrators never hold tickets, so theirs are dropped).

import { defaultLimits, type CoreConfig } from '../core/config.js';
import type { SwimTiming } from '../core/gossip/config.js';
import type { MemberId } from '../core/types.js';
import type { FormationConfig } from './formation-config.js';
import { coreMembersOf, coreTimingOf, ticketDefsOf } from './core-defs.js';

export { memberIdOf } from './member-id.js';

export function toCoreConfig(config: FormationConfig, self: MemberId): CoreConfig {
  return { self, members: coreMembersOf(config), tickets: ticketDefsOf(config), timing: coreTimingOf(config), limits: { ...defaultLimits, historyRecordsMax: config.historyRecordsMax } };
}

/**
 * The gossip (SWIM/Lifeguard) timing of a formation: its timing's `gossip`,
 * which is the gossip config's preset of the same name (presets.ts; for the
 * timing derived from booth's keys, wan's with the periods on booth's scale).
 */
export function toSwimTiming(config: FormationConfig): SwimTiming {
  return config.timing.gossip;
}
