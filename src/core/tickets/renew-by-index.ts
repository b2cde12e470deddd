// The leader's answer to a renewal by index (docs/protocol.md §3, "Renewals
// by index"): every ticket an entry after the renewal's index changed is
// refused, whoever holds it now — the sender may have held it there — unless
// the sender held it at that index at the same generation and lease D as in
// the table now (an attribute, standby or another setting changed, not the
// grant); every other ticket the table gives the sender is renewed ticket by
// ticket, as a listed one would be. Pure; lease-office.ts sends what it
// returns.

import { renewRefusalsMax, type RenewAllRefusal, type RenewItem, type RenewRefusal } from '../messages.js';
import type { MemberId } from '../types.js';
import type { TicketTable } from './ticket-table.js';

export interface IndexAnswer {
  readonly refused: Array<{ readonly name: string; readonly reason: RenewRefusal }>;
  readonly refusedAll?: RenewAllRefusal;
}

export interface IndexRenewalDeps {
  readonly table: Pick<TicketTable, 'appliedIndex' | 'grantsChangedAfter' | 'heldBy' | 'get'>;
  /** Renews one ticket of the sender's as a listed one (LeaseOffice.renewOne), or says why not. */
  readonly renewOne: (item: RenewItem) => RenewRefusal | null;
  /** MemberRules.renewalRefusesChangesAfter: changes after this index are refused (the renewal's own, shipped). */
  readonly refusesChangesAfter: (sinceIndex: number, appliedIndex: number) => number;
}

export function answerByIndex(from: MemberId, since: number, except: readonly string[], deps: IndexRenewalDeps): IndexAnswer {
  const table = deps.table;
  // The sender has applied more than this leader: it cannot tell what changed in between.
  if (since > table.appliedIndex) return { refused: [], refusedAll: 'index-ahead' };
  const grantsAtSince = table.grantsChangedAfter(deps.refusesChangesAfter(since, table.appliedIndex), renewRefusalsMax);
  if (grantsAtSince === null) return { refused: [], refusedAll: 'index-behind' };
  const givenUp = new Set(except);
  const refused: Array<{ name: string; reason: RenewRefusal }> = [];
  const changed = new Set<string>();
  for (const [name, atSince] of grantsAtSince) {
    const t = table.get(name);
    // The sender's at `since` and now, at the same generation and D: no entry in between moved the
    // grant (every grant and revoke makes a new generation), so the site's H holds exactly this
    // grant and D, as if nothing had changed it. A holder behind the leader — waiting for a
    // snapshot — keeps renewing it while an attribute, standby or another setting changes.
    const sameGrant = t !== undefined && t.holder === from && atSince !== null && atSince.holder === from && atSince.generation === t.generation && atSince.leaseDurationMs === t.def.leaseDurationMs;
    if (sameGrant && !givenUp.has(name)) continue;
    changed.add(name);
    // The reason a listed ticket would get, where it says the sender lost it (the site reports those it held).
    refused.push({ name, reason: t === undefined ? 'no-such-ticket' : t.holder !== from ? 'not-holder' : 'changed' });
  }
  for (const name of table.heldBy(from)) {
    if (changed.has(name) || givenUp.has(name)) continue;
    const t = table.get(name);
    if (t === undefined) continue;
    // Unchanged since `since`, or changed with the same grant and D: the sender held it there at this generation and D, and renewed it by this renewal.
    const reason = deps.renewOne({ name, generation: t.generation });
    if (reason === null) continue;
    refused.push({ name, reason });
    // Views extended so far stay extended: a longer view than the holder's lease is only later failover.
    if (refused.length > renewRefusalsMax) return { refused: [], refusedAll: 'too-many-refusals' };
  }
  return { refused };
}
