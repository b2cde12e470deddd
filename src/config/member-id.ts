// A member's id in the core: its configured address (booth identifies members
// by address, and `booth list` prints them). Apart from to-core.ts, which
// loads the core's presets and limits: the lease guard needs the id only
// (issue 15, item 2).

import { memberId, type MemberId } from '../core/types.js';
import type { FormationMember } from './formation-config.js';

export function memberIdOf(m: FormationMember): MemberId {
  return memberId(m.address);
}
