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
