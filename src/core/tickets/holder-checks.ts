// Checks the holder side (site-holder.ts) makes on what it hands the host:
// a guard deadline inside the lease, and whether two attribute sets match.
// Pure; split out of site-holder.ts to keep it within the file-size limit.

import { assert, type Ms } from '../types.js';

/**
 * DESIGN.md §2: the guard revokes a grant by its lease end minus the revoke lead (the time Pacemaker
 * needs to stop the resources). A deadline past that would let the resources run after the leader may
 * have granted elsewhere.
 */
export function assertGuardInsideLease(revokeBy: Ms | null, leaseEnd: Ms | null, revokeLeadMs: number, ticket: string): void {
  assert(revokeBy !== null && leaseEnd !== null, `grant of ${ticket} without a lease end and a guard deadline`);
  assert(revokeBy <= leaseEnd - revokeLeadMs, `guard deadline of ${ticket} (${revokeBy}) past its lease end ${leaseEnd} minus the revoke lead ${revokeLeadMs}`);
}

export function sameAttrs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
