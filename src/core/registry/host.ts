// What the registry (registry.ts) needs from the node it runs in, and the
// decisions the simulator's mutants replace. Kept apart so that a reader of
// the Raft code meets the protocol first.

import type { Entry, RaftMessage, Snapshot } from '../messages.js';
import type { RandomSource } from '../random.js';
import type { CoreEvent, HardState } from '../ready.js';
import type { Index, Member, MemberId, Term } from '../types.js';
import type { SnapshotCodec } from './snapshot-transfer.js';

/** Registry decisions the simulator's mutants replace (see rules.ts). */
export interface RegistryRules {
  /** Whether a leader whose lease ends at `leaderLeaseEndMs` may act as the only leader at `nowMs`. */
  readonly hasLeaderLease: (nowMs: number, leaderLeaseEndMs: number) => boolean;
  /** Acknowledgements (own included) that make a quorum for commit and the leader lease. */
  readonly ackQuorum: (voters: number) => number;
  /** Whether to grant a vote request that passed the vote-block check. */
  readonly shouldGrantVote: (req: VoteRequest, voter: VoterState) => boolean;
  /**
   * docs/protocol.md §10: a member that started with an empty store is a new incarnation,
   * which votes only once bootstrapped or re-admitted. False (the mutant
   * `wiped-member-votes`): it claims whatever incarnation its configuration lists for it.
   */
  readonly emptyStoreRejoins: boolean;
  /**
   * docs/protocol.md §10, "The last member to start": whether a member that bootstrapped counting incarnation
   * `counted` of the asker (undefined: none) vouches for the asker's incarnation `asking` — only the same one.
   * Any counted incarnation (the mutant `vouch-any-incarnation`): a member that lost its store since is vouched for.
   */
  readonly vouchesFor: (counted: number | undefined, asking: number) => boolean;
  /**
   * Raft dissertation §4.1: a membership change is proposed only once the last one committed.
   * False (the mutant `change-before-commit`): a second change may be proposed before.
   */
  readonly oneMembershipChangeAtATime: boolean;
}

export interface VoteRequest {
  readonly from: MemberId;
  readonly term: Term;
  readonly lastIndex: Index;
  readonly lastTerm: Term;
}

export interface VoterState {
  readonly currentTerm: Term;
  readonly votedFor: MemberId | null;
  logUpToDate(lastIndex: Index, lastTerm: Term): boolean;
}

/** What the registry asks of the node it runs in. Calls happen synchronously, in protocol order. */
export interface RegistryHost {
  send(to: MemberId, msg: RaftMessage): void;
  event(e: CoreEvent): void;
  /** Asks gossip to find a way to a member that fell silent (DESIGN.md §3.2). */
  probeRoute(member: MemberId): void;
  /** Applies one committed entry to the state machine; false when the state machine refused it. */
  applyEntry(e: Entry): boolean;
  /** After a run of applied entries. */
  appliedBatch(): void;
  /** The state machine's content at the applied index, for compaction. */
  snapshotTable(): Snapshot['table'];
  /** A snapshot from the leader replaced the log: replace the state machine with its table. */
  installSnapshot(s: Snapshot): void;
  membersChanged(before: readonly Member[], after: readonly Member[]): void;
  /** This member just won an election (before its first append goes out). */
  tookOffice(): void;
  /** This member stopped leading. */
  leftOffice(): void;
  /** A leader other than the one known before was acknowledged. */
  newLeader(leader: MemberId): void;
}

export interface RegistryTiming {
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly clockDriftPpmMax: number;
}

export interface RegistryLimits {
  readonly entriesPerAppendMax: number;
  readonly logEntriesBeforeSnapshot: number;
  readonly snapshotChunkBytesMax: number;
  readonly snapshotBytesMax: number;
}

export interface RegistryDeps {
  readonly self: MemberId;
  readonly timing: RegistryTiming;
  readonly limits: RegistryLimits;
  readonly random: RandomSource;
  readonly rules: RegistryRules;
  /** How snapshots are encoded for transfer (src/wire/snapshot-codec.ts in the runtime). */
  readonly snapshotCodec: SnapshotCodec;
  /** The node's current monotonic time, moved forward by the host before each input. */
  /** `wallMs`: the host's wall clock, stamped on entries this member appends as leader (Entry.wallMs); absent without one. */
  readonly time: { readonly now: number; readonly wallMs?: number | undefined };
  readonly host: RegistryHost;
}

export interface RegistryStart {
  readonly snapshot: Snapshot;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
  /**
   * Whether the store holds `snapshot`. False for a store without one (a first start): the index-0 state the host
   * built from its file is then written with the first persist, before any message, so that every later start
   * replays the log onto that state and not onto whatever the file says by then (simulator seed 780).
   */
  readonly snapshotStored?: boolean;
  /** The incarnation this store takes if it is empty (hardState null): never one an earlier store of this member had. */
  readonly freshIncarnation: number;
}
