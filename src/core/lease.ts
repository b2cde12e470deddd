// Lease arithmetic of DESIGN.md §2, as pure functions of integer milliseconds.
//
// Why it is safe: every clock runs at a rate within ±ρ of real time
// (ρ = clockDriftPpmMax / 10⁶). The holder measures from its *send* time s, so
// in real time its lease ends no later than real(s) + D/(1−ρ). The leader
// measures from its *receipt* time r ≥ s and waits D·(1+ρ)/(1−ρ) on its own
// clock, which in real time is at least D/(1−ρ). So the leader's view never
// ends before the holder's lease — whatever the message delay — and the holder
// revokes revokeLead earlier still. docs/protocol.md carries the full argument.

const ppmPerUnit = 1_000_000;

/** ρ as a fraction. */
export function driftFraction(clockDriftPpmMax: number): number {
  return clockDriftPpmMax / ppmPerUnit;
}

/** (1+ρ)/(1−ρ): stretch applied by anyone waiting for another clock's deadline. */
export function driftStretch(clockDriftPpmMax: number): number {
  const rho = driftFraction(clockDriftPpmMax);
  return (1 + rho) / (1 - rho);
}

/** The holder's lease end: measured from the time it *sent* the renewal. */
export function holderLeaseEnd(sentAtMs: number, leaseDurationMs: number): number {
  return sentAtMs + leaseDurationMs;
}

/**
 * The shortest time between a grant and its revoke that the core accepts (config.ts checks every
 * ticket's lease − revoke lead against it): two renewal attempts, and a registry leader change (up to
 * two election timeouts) plus one renewal, so that neither a lost renewal nor an election costs a
 * ticket (L2).
 */
export function usableLeaseMinMs(renewIntervalMs: number, electionTimeoutMs: number): number {
  return Math.max(2 * renewIntervalMs, 2 * electionTimeoutMs + renewIntervalMs + 1);
}

/**
 * The most a holder raises a ticket's revoke lead to: a fresh grant must land by half the lead before
 * the revoke time (SiteHolder.grantable: now + lead/2 < s + D − lead), so with 1.5 × lead ≤ lease −
 * usableMinMs a grant can still be written within usableMinMs of a renewal's send — a raised lead
 * never makes a ticket impossible to hold, nor costs one by itself (L2). Never below the configured lead.
 */
export function revokeLeadCeilingMs(revokeLeadMs: number, leaseDurationMs: number, usableMinMs: number): number {
  return Math.max(revokeLeadMs, Math.floor(((leaseDurationMs - usableMinMs) * 2) / 3));
}

/**
 * The revoke lead a holder works with (issue 12 item 6): the configured one, raised to twice the
 * slowest of its recent sink writes — docs/protocol.md §4 assumes a write lands within half the
 * lead, and CIB writes under CPU starvation took seconds — up to revokeLeadCeilingMs. Writes
 * slower than half of that ceiling are beyond what the lease can absorb: the holder reports them
 * (a `sink-speed` event, 'beyond').
 */
export function effectiveRevokeLeadMs(revokeLeadMs: number, slowestWriteMs: number, leaseDurationMs: number, usableMinMs: number): number {
  return Math.min(revokeLeadCeilingMs(revokeLeadMs, leaseDurationMs, usableMinMs), Math.max(revokeLeadMs, 2 * Math.ceil(slowestWriteMs)));
}

/** When the holder must have started revoking in its CIB at the latest. */
export function holderRevokeAt(leaseEndMs: number, revokeLeadMs: number): number {
  return leaseEndMs - revokeLeadMs;
}

/** The leader's conservative view of a lease renewed at receipt time r. */
export function leaderViewEnd(receivedAtMs: number, leaseDurationMs: number, clockDriftPpmMax: number): number {
  return receivedAtMs + Math.ceil(leaseDurationMs * driftStretch(clockDriftPpmMax));
}

/**
 * How long, from the send time of a heartbeat that a majority acknowledged,
 * the leader may act as the only leader. Voters refuse to vote for
 * electionTimeout on their own clocks after acknowledging; shrinking by
 * (1−ρ)/(1+ρ) keeps the leader's deadline before any voter's in real time.
 */
export function leaderLeaseDurationMs(electionTimeoutMs: number, clockDriftPpmMax: number): number {
  return Math.floor(electionTimeoutMs / driftStretch(clockDriftPpmMax));
}
