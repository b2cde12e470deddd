// The quorum guardian's ports (DESIGN.md §5): the shapes its adapters
// (src/adapters/corosync/) hand to its host side (src/guardian/), so that
// neither imports the other. The observer reads the cluster into a
// ClusterSnapshot and, with the loss times it remembers, into a
// GuardianInput; the node helpers carry out a promotion's steps behind
// QuorumHelpers; the conf rewriter gives the two versions of corosync.conf a
// promotion writes (PromotionNodelist). Types only: a port knows no I/O.

import type { CoreMemberView, GuardianObservation, RemoteNodeView } from '../core/guardian/quorum-guardian.js';
import type { AbortOptions } from './ports.js';

// ───────────── what the observer reads (src/adapters/corosync/corosync-observe.ts) ─────────────

export interface QuorumtoolMember {
  readonly nodeid: number;
  readonly votes: number;
  /** The Qdevice column (`-p`): `NR` (not registered), `A,V,NMW`, ...; null without -p. */
  readonly qdevice: string | null;
  readonly name: string;
  readonly local: boolean;
}

export interface QuorumtoolStatus {
  readonly provider: string;
  readonly nodeCount: number;
  readonly localNodeId: number;
  readonly ringId: string;
  readonly quorate: boolean;
  readonly expectedVotes: number;
  readonly highestExpected: number;
  readonly totalVotes: number;
  /** Votes needed (`Quorum:`). */
  readonly quorum: number;
  /** `Quorum: N Activity blocked`. */
  readonly activityBlocked: boolean;
  readonly flags: readonly string[];
  readonly members: readonly QuorumtoolMember[];
  /** A quorum device's own row (nodeid 0, name `Qdevice`), if any. */
  readonly qdeviceVotes: number | null;
}

export interface CmapNode {
  readonly index: number;
  readonly nodeid: number;
  readonly name: string;
  readonly addrs: ReadonlyMap<number, string>;
  readonly votes: number;
}

export interface CmapNodelist {
  /** nodelist.local_node_pos: this node's index, when it is in the nodelist. */
  readonly localIndex: number | null;
  readonly nodes: readonly CmapNode[];
}

export interface CrmNodeEntry {
  readonly id: number;
  readonly name: string;
  readonly state: 'member' | 'lost';
}

export interface CrmMonNode {
  readonly name: string;
  readonly id: string;
  readonly type: 'member' | 'remote' | 'ping';
  readonly online: boolean;
  readonly standby: boolean;
  readonly maintenance: boolean;
  readonly pending: boolean;
  readonly unclean: boolean;
  readonly shutdown: boolean;
  readonly health: string | null;
  /** Set for guest nodes (a VM or container resource); those are never promoted. */
  readonly guestOf: string | null;
}

export interface CrmMonRemoteResource {
  readonly id: string;
  readonly role: string;
  readonly active: boolean;
  readonly failed: boolean;
  readonly managed: boolean;
  readonly blocked: boolean;
  readonly orphaned: boolean;
  /** Core members hosting the connection. */
  readonly runningOn: readonly string[];
}

export interface FenceEvent {
  readonly target: string;
  readonly action: string;
  readonly status: 'success' | 'failed' | 'pending';
  /** As printed (e.g. `2026-11-25 23:44:00Z`); null while pending. */
  readonly completed: string | null;
}

export interface CrmMonStatus {
  readonly dc: { readonly present: boolean; readonly name: string | null; readonly withQuorum: boolean };
  readonly pacemakerdState: string | null;
  readonly stonithEnabled: boolean;
  readonly noQuorumPolicy: string | null;
  readonly nodes: readonly CrmMonNode[];
  readonly remoteResources: readonly CrmMonRemoteResource[];
  /** Ids of every resource listed (primitives and the groups/clones/bundles holding them). */
  readonly resourceIds: readonly string[];
  /** Only when asked for with --fence-history (level 2 lists successes). */
  readonly fenceEvents: readonly FenceEvent[];
}

/** Everything the tools said in one round, parsed. */
export interface ClusterSnapshot {
  readonly quorum: QuorumtoolStatus;
  /** The running nodelist (votequorum's voters). */
  readonly nodelist: CmapNodelist;
  readonly mon: CrmMonStatus;
  readonly peers: readonly CrmNodeEntry[];
}

export interface GuardianInputSettings {
  /** Zone of a remote node (config); default ''. */
  readonly zoneOf?: (name: string) => string;
  /** The caller knows a membership change is running (our own executor). */
  readonly changeInProgress?: boolean;
}

export interface CoreMemberDetail extends CoreMemberView {
  readonly nodeid: number;
  readonly addrs: ReadonlyMap<number, string>;
  /** Pacemaker's view of the node, if it lists it. */
  readonly pacemaker: CrmMonNode | null;
}

export interface RemoteNodeDetail extends RemoteNodeView {
  readonly resource: CrmMonRemoteResource | null;
  /** Why it is not healthy, when it is not. */
  readonly unhealthyBecause: readonly string[];
}

export interface GuardianInput {
  readonly observation: GuardianObservation;
  readonly core: readonly CoreMemberDetail[];
  readonly remotes: readonly RemoteNodeDetail[];
  /** Why changeInProgress is set (empty when it is not). */
  readonly changeSignals: readonly string[];
  /** Pacemaker peers that are not in the running nodelist (a lost voter not yet purged). */
  readonly stalePeers: readonly string[];
  readonly snapshot: ClusterSnapshot;
}

// ───────────── what a promotion needs (src/guardian/promotion-executor.ts) ─────────────

/** What a helper's quorum-status says, reduced to what the executor checks. */
export interface QuorumSnapshot {
  readonly quorate: boolean;
  readonly expectedVotes: number;
  readonly totalVotes: number;
  /** Names of the corosync members of the driver's partition. */
  readonly members: readonly string[];
  /** Online Pacemaker members (crm_mon), when the helper could ask; verify then waits for R there too. */
  readonly pacemakerOnline?: readonly string[];
}

/** The node helper actions the executor uses (NodeHelperClient provides them: quorumHelpersOver). */
export interface QuorumHelpers {
  removeRemoteResource(node: string, resource: string, options?: AbortOptions): Promise<void>;
  crmNodeRemove(node: string, name: string, options?: AbortOptions): Promise<void>;
  /** Writes `content` (sha256 `sha256`) if the node's file hashes to `ifSha256` (when given); says whether it changed. */
  writeNodelist(node: string, write: { readonly sha256: string; readonly content: string; readonly ifSha256?: string }, options?: AbortOptions): Promise<{ readonly changed: boolean }>;
  reload(node: string, options?: AbortOptions): Promise<void>;
  startClusterStack(node: string, options?: AbortOptions): Promise<void>;
  quorumStatus(node: string, options?: AbortOptions): Promise<QuorumSnapshot>;
}

/** One version of corosync.conf. */
export interface NodelistVersion {
  readonly text: string;
  readonly sha256: string;
  /** Node names in this nodelist (one vote each). */
  readonly voters: readonly string[];
}

/** The two versions of corosync.conf a promotion needs (promotionNodelist in src/adapters/corosync/corosync-conf.ts). */
export interface PromotionNodelist {
  readonly before: NodelistVersion;
  readonly after: NodelistVersion;
  readonly newNodeId: number;
}
