// The decisions that the safety argument rests on, as one frozen object. The
// node (member.ts) takes them as data: the simulator's negative controls
// (test/sim/mutants.ts) pass a copy with one decision broken and the checker
// must catch it. The shipped core has no switch and no test-only surface.

import type { Route } from './gossip/routes.js';
import { effectiveRevokeLeadMs, holderLeaseEnd, leaderViewEnd } from './lease.js';
import { majority } from './registry/quorum.js';
import type { RegistryRules, VoteRequest, VoterState } from './registry/registry.js';
import type { Member } from './types.js';

export interface MemberRules extends RegistryRules {
  /** DESIGN.md §2: the holder's lease runs from its send time. */
  readonly holderLeaseEnd: (sentAtMs: number, receivedAtMs: number, leaseDurationMs: number) => number;
  /**
   * docs/protocol.md §4: the holder revokes this long before its lease ends — the configured lead,
   * raised to twice the slowest recent sink write, so that a revoke lands before the lease ends
   * even while the CIB is slow (issue 12 item 6).
   */
  readonly revokeLead: (revokeLeadMs: number, slowestWriteMs: number, leaseDurationMs: number, usableMinMs: number) => number;
  /** DESIGN.md §2: the leader's view runs from receipt, stretched by the drift bound. */
  readonly leaderViewEnd: (receivedAtMs: number, leaseDurationMs: number, clockDriftPpmMax: number) => number;
  /** DESIGN.md §2: a new leader treats every held ticket as renewed when it took office. */
  readonly viewOnTakingOffice: (nowMs: number, leaseDurationMs: number, clockDriftPpmMax: number) => number;
  /**
   * Issue 11: the leader's view of a held lease when a `ticket-change` of its
   * ticket is applied. `fromMs` is the time the view was dated from (receipt of
   * the answered renewal, taking office, the grant's commit), `honouredMs` the
   * longest D owed for the generation (ticket-table.ts), `newLeaseMs` the
   * changed D. A change never shortens a lease already granted: the view only
   * grows (to cover a longer D answered by a leader that applied the change
   * before this one did).
   */
  readonly viewAfterTicketChange: (untilMs: number, fromMs: number, honouredMs: number, newLeaseMs: number, clockDriftPpmMax: number) => number;
  /**
   * docs/protocol.md §3, renewals by index: the leader refuses every ticket that an entry after this
   * index changed, given the renewal's index and its own applied one — the renewal's index: the site
   * may have held any such ticket there.
   */
  readonly renewalRefusesChangesAfter: (sinceIndex: number, appliedIndex: number) => number;
  /**
   * docs/protocol.md §3, batch grants: a ticket goes into a `grant-batch` only once its last lease has
   * run out in the leader's view (`viewUntilMs`, null: no lease known), as a grant of its own (S1).
   */
  readonly batchGrantLeaseEnded: (viewUntilMs: number | null, nowMs: number) => boolean;
  /**
   * DESIGN.md §2 (a replicated state machine): the members a ticket definition that an entry brings
   * (`ticket-add`, `ticket-change`) is checked against when the entry applies — those of the
   * configuration in force at the entry's index (`atEntry`), never the latest in this member's log
   * (`latest`), which a member replaying its log may hold ahead of the entry: else members apply the
   * same committed entry differently (one refuses a lease change the others made: S1).
   */
  readonly ticketDefMembers: (atEntry: readonly Member[], latest: readonly Member[]) => readonly Member[];
  /**
   * DESIGN.md §3.2: how a registry message travels, given gossip's answer
   * (direct while the latest direct probe succeeded, else through a member
   * that recently reached the target; null: no way known yet).
   */
  readonly routeFor: (gossipRoute: Route | null) => Route | null;
  /** SWIM §3.1: a missed direct probe is retried through k other members before anyone is suspected. */
  readonly useIndirectProbes: boolean;
  /** Issue 11 item 5 (forced-removal.ts): when a fenced member's last lease has run out, from the latest time a renewal could have been answered. */
  readonly fencedLeasesEnd: (answeredBeforeMs: number, leaseDurationMs: number, clockDriftPpmMax: number) => number;
}

export const defaultRules: MemberRules = Object.freeze({
  holderLeaseEnd: (sentAtMs: number, _receivedAtMs: number, leaseDurationMs: number): number => holderLeaseEnd(sentAtMs, leaseDurationMs),
  revokeLead: effectiveRevokeLeadMs,
  leaderViewEnd,
  viewOnTakingOffice: leaderViewEnd,
  viewAfterTicketChange: (untilMs: number, fromMs: number, honouredMs: number, _newLeaseMs: number, clockDriftPpmMax: number): number =>
    Math.max(untilMs, leaderViewEnd(fromMs, honouredMs, clockDriftPpmMax)),
  /** The leader answers renewals only while its leader lease holds. */
  hasLeaderLease: (nowMs: number, leaderLeaseEndMs: number): boolean => nowMs < leaderLeaseEndMs,
  /** Acknowledgements (own included) that make a quorum for commit and the leader lease. */
  ackQuorum: majority,
  /** Raft §5.2/§5.4: one vote per term, only for a log at least as up to date. */
  shouldGrantVote: (req: VoteRequest, voter: VoterState): boolean => {
    if (req.term !== voter.currentTerm) return false;
    if (voter.votedFor !== null && voter.votedFor !== req.from) return false;
    return voter.logUpToDate(req.lastIndex, req.lastTerm);
  },
  /** docs/protocol.md §10: an empty store is a new incarnation; it votes only once bootstrapped or re-admitted. */
  emptyStoreRejoins: true,
  vouchesFor: (counted: number | undefined, asking: number): boolean => counted === asking,
  /** Raft dissertation §4.1: one membership change at a time, each committed before the next. */
  oneMembershipChangeAtATime: true,
  renewalRefusesChangesAfter: (sinceIndex: number): number => sinceIndex,
  batchGrantLeaseEnded: (viewUntilMs: number | null, nowMs: number): boolean => viewUntilMs === null || viewUntilMs <= nowMs,
  ticketDefMembers: (atEntry: readonly Member[]): readonly Member[] => atEntry,
  routeFor: (gossipRoute: Route | null): Route | null => gossipRoute,
  useIndirectProbes: true,
  fencedLeasesEnd: leaderViewEnd,
});
