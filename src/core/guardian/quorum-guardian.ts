// Quorum guardian policy (DESIGN.md §5): a pure, synchronous decision over the
// observed membership of one site cluster. When a corosync voter has been
// lost past a grace period (and fenced, where fencing is required) and the
// live voters still have quorum, replace it with a healthy pacemaker_remote
// node in ONE change: the dead voter leaves the nodelist and the remote node
// joins it (reference/pacemaker.md §6.1). The swap is one-for-one, so the
// nodelist size — and with it its parity — never changes: an odd voter count
// stays odd, and the guardian never grows the nodelist. Carrying the plan out
// is the site agent's job; this file only decides. Tested exhaustively in
// test/core/quorum-guardian.test.ts.

import { majority } from '../registry/quorum.js';

export interface CoreMemberView {
  readonly name: string;
  readonly state: 'up' | 'lost';
  /** When the member was first seen lost (monotonic ms); absent when up or unknown. */
  readonly lostSinceMs?: number;
  /** Whether the fencing subsystem confirmed the member fenced since it was lost. */
  readonly fenced: boolean;
}

export interface RemoteNodeView {
  readonly name: string;
  readonly online: boolean;
  readonly healthy: boolean;
  readonly zone: string;
}

export interface QuorumView {
  readonly quorate: boolean;
  readonly expectedVotes: number;
  /** Votes corosync counts in this partition. */
  readonly totalVotes: number;
}

export interface GuardianObservation {
  /** Every node in the corosync nodelist (one vote each). */
  readonly core: readonly CoreMemberView[];
  readonly remotes: readonly RemoteNodeView[];
  readonly quorum: QuorumView;
  readonly nowMs: number;
  /** A membership change (ours or an operator's) is still being carried out. */
  readonly changeInProgress: boolean;
}

export interface GuardianConfig {
  /** The number of voters the site wants; the guardian never goes above it. */
  readonly targetVoters: number;
  readonly graceMs: number;
  /** Remote node names that may be promoted. */
  readonly promotable: readonly string[];
  /** Zones to prefer, most preferred first. */
  readonly preferZones: readonly string[];
  readonly requireFencing: boolean;
  readonly enabled: boolean;
}

export type WaitReason =
  | 'no-quorum'
  | 'change-in-progress'
  | 'grace-not-over'
  | 'no-eligible-remote'
  | 'not-fenced';
export type NoneReason = 'disabled' | 'at-target' | 'nothing-lost';

export type GuardianDecision =
  | {
      readonly kind: 'plan';
      /** The lost voter that leaves the nodelist. */
      readonly replace: string;
      /** The remote node that joins it, in the same change. */
      readonly with: string;
      /** Voters in the nodelist after the change (= expected votes). */
      readonly votersAfter: number;
      readonly message: string;
    }
  /** Nothing to do now, but something may be due later. */
  | { readonly kind: 'wait'; readonly reason: WaitReason; readonly message: string }
  /** Nothing to do. */
  | { readonly kind: 'none'; readonly reason: NoneReason; readonly message: string };

export interface QuorumAfter {
  /** Votes a partition needs: floor(total/2)+1 (votequorum's arithmetic). */
  readonly votesNeeded: number;
  /** Whether `liveVoters` is a strict majority of `totalVoters`. */
  readonly quorate: boolean;
}

/** Whether `liveVoters` of `totalVoters` one-vote voters form a quorum. */
export function quorumAfter(liveVoters: number, totalVoters: number): QuorumAfter {
  const votesNeeded = majority(totalVoters);
  return { votesNeeded, quorate: totalVoters > 0 && liveVoters >= votesNeeded };
}

/** Whether `m` has been lost for at least the grace period. */
export function pastGrace(m: CoreMemberView, nowMs: number, graceMs: number): boolean {
  return m.state === 'lost' && m.lostSinceMs !== undefined && nowMs - m.lostSinceMs >= graceMs;
}

/** Remotes that may be promoted, best first: preferred zones in order, then name. */
export function eligibleRemotes(
  obs: Pick<GuardianObservation, 'core' | 'remotes'>,
  config: Pick<GuardianConfig, 'promotable' | 'preferZones'>,
): RemoteNodeView[] {
  const coreNames = new Set(obs.core.map((m) => m.name));
  const rank = (r: RemoteNodeView): number => {
    const i = config.preferZones.indexOf(r.zone);
    return i < 0 ? config.preferZones.length : i;
  };
  return obs.remotes
    .filter((r) => r.online && r.healthy && config.promotable.includes(r.name) && !coreNames.has(r.name))
    .sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function wait(reason: WaitReason, message: string): GuardianDecision {
  return { kind: 'wait', reason, message };
}

function none(reason: NoneReason, message: string): GuardianDecision {
  return { kind: 'none', reason, message };
}

/** The guardian's decision for one observation. At most one plan, never from a partition without quorum. */
export function decideQuorumGuardian(obs: GuardianObservation, config: GuardianConfig): GuardianDecision {
  if (!config.enabled) return none('disabled', 'quorum guardian is disabled');

  const total = obs.core.length;
  const up = obs.core.filter((m) => m.state === 'up').length;
  // Count no more live voters than corosync itself counts in this partition.
  const live = Math.min(up, obs.quorum.totalVotes);
  if (!obs.quorum.quorate || live === 0) {
    return wait('no-quorum', `partition is not quorate (${live} live of ${total} voters): no membership change`);
  }
  if (obs.changeInProgress) return wait('change-in-progress', 'a membership change is in progress');

  const lost = obs.core.filter((m) => m.state === 'lost');
  if (lost.length === 0) return none('nothing-lost', `all ${total} voters are up`);
  if (live >= config.targetVoters || total > config.targetVoters) {
    return none(
      'at-target',
      `${live} live of ${total} voters, target ${config.targetVoters}: replacing a lost voter would exceed it`,
    );
  }

  const overdue = lost.filter((m) => pastGrace(m, obs.nowMs, config.graceMs));
  if (overdue.length === 0) {
    return wait('grace-not-over', `lost voter(s) ${lost.map((m) => m.name).join(', ')} still within ${config.graceMs} ms grace`);
  }
  const replaceable = overdue
    .filter((m) => !config.requireFencing || m.fenced)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const victim = replaceable[0];
  if (victim === undefined) {
    return wait('not-fenced', `lost voter(s) ${overdue.map((m) => m.name).join(', ')} not yet fenced`);
  }

  // S5: after the one change the nodelist still has `total` voters, and the
  // live voters are today's plus the promoted remote. Checked, not assumed:
  // `quorate` may have come from a lowered expected_votes (last_man_standing).
  const votersAfter = total;
  const after = quorumAfter(live + 1, votersAfter);
  if (!after.quorate) {
    return wait('no-quorum', `after the change ${live + 1} live of ${votersAfter} voters would not be quorate`);
  }

  const remote = eligibleRemotes(obs, config)[0];
  if (remote === undefined) {
    return wait('no-eligible-remote', `no online, healthy, promotable remote node to replace ${victim.name}`);
  }
  return {
    kind: 'plan',
    replace: victim.name,
    with: remote.name,
    votersAfter,
    message: `replace lost voter ${victim.name} with remote node ${remote.name}${remote.zone === '' ? '' : ` (zone ${remote.zone})`}; ${live + 1} live of ${votersAfter} voters after`,
  };
}
