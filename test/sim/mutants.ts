// Negative controls: deliberately broken variants of the real core, each the
// shipped rules (src/core/rules.ts) with one decision replaced. The shipped
// core has no switch for them; they exist only here. The simulator must catch
// every one (test/sim/mutants.test.ts).

import { Member } from '../../src/core/member.js';
import { majority } from '../../src/core/registry/quorum.js';
import { leaderViewEnd } from '../../src/core/lease.js';
import { defaultRules, type MemberRules } from '../../src/core/rules.js';
import type { MemberFactory } from './world.js';

const broken = (change: Partial<MemberRules>): MemberRules => Object.freeze({ ...defaultRules, ...change });

const mutantRules: Record<string, MemberRules> = {
  /** The leader's view ignores clock drift: r + D instead of r + D·(1+ρ)/(1−ρ). */
  'no-drift-margin': broken({
    leaderViewEnd: (receivedAtMs, leaseDurationMs) => receivedAtMs + leaseDurationMs,
    viewOnTakingOffice: (nowMs, leaseDurationMs) => nowMs + leaseDurationMs,
  }),
  /** The holder measures its lease from the reply's arrival instead of its own send time. */
  'holder-lease-from-receipt': broken({ holderLeaseEnd: (_sentAtMs, receivedAtMs, leaseDurationMs) => receivedAtMs + leaseDurationMs }),
  /** A new leader assumes held leases have already run out. */
  'new-leader-no-wait': broken({ viewOnTakingOffice: (nowMs) => nowMs }),
  /** The leader answers renewals whenever it believes it leads, without a leader lease. */
  'no-leader-lease': broken({ hasLeaderLease: () => true }),
  /** The leader counts half of the voters (itself included) as a quorum for commits and its lease. */
  'grant-without-quorum': broken({ ackQuorum: (voters) => Math.max(1, majority(voters) - 1) }),
  /** A voter grants any up-to-date candidate, ignoring its term and whom it already voted for. */
  'stale-term-vote': broken({ shouldGrantVote: (req, voter) => voter.logUpToDate(req.lastIndex, req.lastTerm) }),
  /**
   * Issue 11: a shortened expire applied to a lease already granted — the
   * leader's view of a held lease is dated again with the new, shorter D, not
   * the longest D owed for the generation.
   */
  'shorten-live-lease': broken({ viewAfterTicketChange: (_untilMs, fromMs, _honouredMs, newLeaseMs, clockDriftPpmMax) => leaderViewEnd(fromMs, newLeaseMs, clockDriftPpmMax) }),
  /** The holder keeps the configured revoke lead however slow its CIB writes get (issue 12 item 6 undone). */
  'fixed-revoke-lead': broken({ revokeLead: (revokeLeadMs) => revokeLeadMs }),
  /**
   * docs/protocol.md §3, renewals by index: the leader refuses no ticket changed after the renewal's
   * index — it renews as of its own table, as if the site had applied everything it has — so a site
   * that has not yet learnt that its ticket moved extends its old lease.
   */
  'renew-uncovered': broken({ renewalRefusesChangesAfter: (_sinceIndex, appliedIndex) => appliedIndex }),
  /**
   * docs/protocol.md §3, batch grants (issue 15 item 5): the leader puts a ticket into a `grant-batch`
   * without waiting for its last lease to run out in its view — a live holder's ticket is failed over
   * to another site while the holder still renews it.
   */
  'batch-grants-live': broken({ batchGrantLeaseEnded: () => true }),
  /**
   * A ticket definition in an entry is checked against the latest configuration in the member's log,
   * not the one in force at the entry (rules.ts ticketDefMembers undone): a member replaying its log
   * after a forced removal refuses a ticket-change the others applied (simulator seed 599).
   */
  'def-check-latest-config': broken({ ticketDefMembers: (_atEntry, latest) => latest }),
  /** A member that lost its store votes as the incarnation its configuration lists for it (docs/protocol.md §10 undone). */
  'wiped-member-votes': broken({ emptyStoreRejoins: false }),
  /** A member that bootstrapped vouches for any incarnation of a member it counted on, not only the one it counted (§10). */
  'vouch-any-incarnation': broken({ vouchesFor: (counted) => counted !== undefined }),
  /** A second membership change may be proposed before the first committed (Raft dissertation §4.1 undone). */
  'change-before-commit': broken({ oneMembershipChangeAtATime: false }),
  /**
   * Issue 11 item 5: `member remove DEAD --force --confirm-fenced` accepted without waiting for the
   * fenced members' leases to run out in the survivor's view (forced-removal.ts leaseWaitEnd undone).
   * The runbook's `grant --force` right after the acceptance then meets a lease still held at a lost
   * site, whose Pacemaker keeps the ticket until its lease guard revokes it ('lost-majority' fault).
   */
  'confirm-fenced-early': broken({ fencedLeasesEnd: () => Number.NEGATIVE_INFINITY }),
  /** Gossip finds relays, but the registry never uses them: every message goes direct (DESIGN.md §3.2 undone). */
  'no-relay': broken({ routeFor: () => ({ direct: true }) }),
  /** SWIM without indirect probes: one missed direct probe makes a member suspect (SWIM §3.1 undone). */
  'no-indirect-probe': broken({ useIndirectProbes: false }),
};

export const mutants: Record<string, MemberFactory> = Object.fromEntries(
  Object.entries(mutantRules).map(([name, rules]) => [name, (c, i) => new Member(c, i, rules)] as const),
);

export const mutantNames = Object.keys(mutants);

/**
 * Mutants that break safety: the checker must catch each as a violation.
 * The gossip mutants break liveness only (false failovers, false
 * suspicions), which the scenario figures must show instead; safety must
 * still hold under them.
 */
export const gossipMutantNames = ['no-relay', 'no-indirect-probe'];
/**
 * Mutants that only a slow CIB exposes (params.cib.ramp, in about a fifth of the mixed seeds): their
 * negative control forces the ramp (mutants.test.ts) rather than searching the default draws.
 */
export const slowSinkMutantNames = ['fixed-revoke-lead'];
/** Mutants with a dedicated negative control in mutants.test.ts (what they need and which invariant must catch them). */
export const renewalMutantNames = ['renew-uncovered'];
/** Mutants that only the 'lost-majority' fault (in about a tenth of the seeds) exposes: their control runs those seeds only. */
export const lostMajorityMutantNames = ['confirm-fenced-early', 'def-check-latest-config'];
/** Mutants of the batch path: their negative control forces batches and several tickets (mutants.test.ts). */
export const batchMutantNames = ['batch-grants-live'];
export const safetyMutantNames = mutantNames.filter(
  (m) => !gossipMutantNames.includes(m) && !slowSinkMutantNames.includes(m) && !renewalMutantNames.includes(m) && !lostMajorityMutantNames.includes(m) && !batchMutantNames.includes(m),
);
