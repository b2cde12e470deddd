// Who a grant may name: a site member of the configuration the grant is
// applied under (docs/protocol.md §3, "Who a grant may name"). The leader
// checks it against its latest configuration — the one its next entry is
// applied under — before it proposes a grant; every member checks it again
// when it applies a grant entry, against the configuration in force at that
// entry, so a grant that raced a membership change (simulator seed 173
// --live-changes: a guarded grant to a site replaced while it waited for the
// old holder's lease) changes nothing anywhere.

import type { CommandErrorCode } from '../ready.js';
import type { Member, MemberId } from '../types.js';

/** A guarded admin grant waiting for the old holder's lease to end (lease-office.ts): checked again before it is proposed. */
export interface PendingGrant {
  readonly commandId: string;
  readonly site: MemberId;
}

export interface GrantTargetProblem {
  readonly code: CommandErrorCode;
  readonly message: string;
}

/** Null when `site` is a site member of `members`, else why a grant may not name it. */
export function grantTargetProblem(members: readonly Member[], site: MemberId): GrantTargetProblem | null {
  const member = members.find((m) => m.id === site);
  if (member === undefined) return { code: 'no-such-member', message: `${site} is not a member` };
  if (member.kind !== 'site') return { code: 'not-a-site', message: `${site} is an arbitrator; arbitrators never hold tickets` };
  return null;
}
