// The strict reconfiguration check (etcd's `--strict-reconfig-check`,
// etcdserver's mayRemoveMember): a leader refuses to remove or replace a
// member when the voters of the configuration that would result, counting
// only those it heard from within an election timeout, are not a majority of
// it. Without the check, removing a live voter while another is down leaves a
// configuration whose every majority needs the member that is down: the leader
// loses office once the change is in its log, no candidate can win, and
// nothing commits until that member returns (test/core/membership.test.ts).
// Removing the member that is down passes: the voters left are the ones heard.

import { votes, type Member, type MemberId } from '../types.js';
import { majority } from './quorum.js';

/**
 * Why `next` (the configuration after removing or replacing `leaving`) would have no majority of voters the leader
 * heard (`heard`: answered a heartbeat sent within an election timeout; the leader itself counts), or null when it has one.
 * A joining member enters as a non-voter and counts toward nothing until promoted, so it does not help.
 */
export function silentMajorityRefusal(next: readonly Member[], leaving: MemberId, heard: (id: MemberId) => boolean): string | null {
  const voters = next.filter(votes).map((m) => m.id);
  const silent = voters.filter((id) => !heard(id));
  const needed = majority(voters.length);
  if (voters.length - silent.length >= needed) return null;
  const them = silent.length === 1 ? 'it returns' : 'they return';
  return (
    `without ${leaving} the configuration's ${voters.length} voters need ${needed} for a leader, but ${silent.join(', ')} ` +
    `answered no heartbeat within an election timeout: nothing could commit until ${them}. Bring ${silent.join(', ')} back first, ` +
    `or remove a member that is down instead (docs/operations.md §8)`
  );
}
