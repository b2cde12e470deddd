// Negative controls: deliberately broken variants of the real core, each a
// subclass overriding one decision. The shipped core has no switch for them;
// they exist only here. The simulator must catch every one (test/sim/mutants.test.ts).

import { Member } from '../../src/core/member.js';
import { majority } from '../../src/core/registry/quorum.js';
import type { Route } from '../../src/core/gossip/swim.js';
import type { Index, MemberId, Term } from '../../src/core/types.js';
import type { MemberFactory } from './world.js';

/** The leader's view ignores clock drift: r + D instead of r + D·(1+ρ)/(1−ρ). */
class NoDriftMargin extends Member {
  protected override leaderViewFor(receivedAt: number, leaseDurationMs: number): number {
    return receivedAt + leaseDurationMs;
  }
  protected override viewOnTakingOffice(now: number, leaseDurationMs: number): number {
    return now + leaseDurationMs;
  }
}

/** The holder measures its lease from the reply's arrival instead of its own send time. */
class HolderLeaseFromReceipt extends Member {
  protected override holderLeaseEndFor(_sentAt: number, receivedAt: number, leaseDurationMs: number): number {
    return receivedAt + leaseDurationMs;
  }
}

/** A new leader assumes held leases have already run out. */
class NewLeaderNoWait extends Member {
  protected override viewOnTakingOffice(now: number): number {
    return now;
  }
}

/** The leader answers renewals whenever it believes it leads, without a leader lease. */
class NoLeaderLease extends Member {
  protected override hasLeaderLease(): boolean {
    return true;
  }
}

/** The leader counts half of the voters (itself included) as a quorum for commits and its lease. */
class GrantWithoutQuorum extends Member {
  protected override ackQuorum(voters: number): number {
    return Math.max(1, majority(voters) - 1);
  }
}

/** A voter grants any up-to-date candidate, ignoring its term and whom it already voted for. */
class StaleTermVote extends Member {
  protected override shouldGrantVote(_from: MemberId, _term: Term, lastIndex: Index, lastTerm: Term): boolean {
    return this.logUpToDate(lastIndex, lastTerm);
  }
}

/** Gossip finds relays, but the registry never uses them: every message goes direct (DESIGN.md §3.2 undone). */
class NoRelay extends Member {
  protected override routeFor(): Route {
    return { direct: true };
  }
}

/** SWIM without indirect probes: one missed direct probe makes a member suspect (SWIM §3.1 undone). */
class NoIndirectProbe extends Member {
  protected override useIndirectProbes(): boolean {
    return false;
  }
}

export const mutants: Record<string, MemberFactory> = {
  'no-drift-margin': (c, i) => new NoDriftMargin(c, i),
  'holder-lease-from-receipt': (c, i) => new HolderLeaseFromReceipt(c, i),
  'new-leader-no-wait': (c, i) => new NewLeaderNoWait(c, i),
  'no-leader-lease': (c, i) => new NoLeaderLease(c, i),
  'grant-without-quorum': (c, i) => new GrantWithoutQuorum(c, i),
  'stale-term-vote': (c, i) => new StaleTermVote(c, i),
  'no-relay': (c, i) => new NoRelay(c, i),
  'no-indirect-probe': (c, i) => new NoIndirectProbe(c, i),
};

export const mutantNames = Object.keys(mutants);

/**
 * Mutants that break safety: the checker must catch each as a violation.
 * The gossip mutants break liveness only (false failovers, false
 * suspicions), which the scenario figures must show instead; safety must
 * still hold under them.
 */
export const gossipMutantNames = ['no-relay', 'no-indirect-probe'];
export const safetyMutantNames = mutantNames.filter((m) => !gossipMutantNames.includes(m));
