// Who a grant may name: a site member of the configuration (docs/protocol.md
// §3, "Who a grant may name"). The leader checks it against its latest
// configuration — the one its next entry is applied under — when a grant
// command arrives and again before a guarded grant completes, so a grant that
// raced a membership change (simulator seed 173 --live-changes: a guarded
// grant to a site replaced while it waited for the old holder's lease) is
// refused and never proposed. Applying a grant entry does not check it (a
// member of an older version would apply the entry otherwise).

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

/** Null when `site`, of kind `kind` in the latest configuration (undefined: not a member), may be named; else why not. */
export function grantTargetProblem(kind: Member['kind'] | undefined, site: MemberId): GrantTargetProblem | null {
  if (kind === undefined) return { code: 'no-such-member', message: `${site} is not a member` };
  if (kind !== 'site') return { code: 'not-a-site', message: `${site} is an arbitrator; arbitrators never hold tickets` };
  return null;
}
