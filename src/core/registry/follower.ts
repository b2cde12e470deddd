// Following a leader: a member's side of replication (Raft §5.3). It checks
// that an append or snapshot chunk comes from the one leader of its term,
// acknowledges that leader, matches the leader's log against its own
// (truncating a conflicting suffix), moves its commit index, and assembles a
// snapshot sent in chunks (snapshot-transfer.ts) and installs it.
//
// The registry (registry.ts) owns one Follower and keeps the term, role, log
// and commit index; the Follower reaches them through the narrow FollowerHost.
// The leader's side (progress, heartbeats, commit by counting) stays in the
// registry. Pure and synchronous like the registry.

import type { Entry, RaftMessage, Snapshot } from '../messages.js';
import type { CoreEvent, Role } from '../ready.js';
import { index, type Index, type Member, type MemberId, type Term } from '../types.js';
import type { RaftLog } from './raft-log.js';
import { SnapshotReceiver, type ReceiverLimits, type SnapshotCodec } from './snapshot-transfer.js';

type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;

/** What a follower reads from, and asks of, the registry it runs in. */
export interface FollowerHost {
  readonly log: RaftLog;
  term(): Term;
  role(): Role;
  leader(): MemberId | null;
  /** Whether the configuration admits this store's incarnation (incarnation.ts). */
  admitted(): boolean;
  commitIndex(): Index;
  members(): readonly Member[];
  /** The incarnation tag every answer carries. */
  inc(): { inc?: number };
  send(to: MemberId, msg: RaftMessage): void;
  event(e: CoreEvent): void;
  /** `leader` leads our term: follow it, and vote for no other for an election timeout (election.ts). */
  acknowledgeLeader(leader: MemberId): void;
  /** The latest configuration in the log changed: count by it. */
  refreshMembers(): void;
  setCommit(i: Index): void;
  /** The log now starts at `s` (installed): the state machine takes its table, commit and applied move to it. */
  installed(s: Snapshot): void;
}

export class Follower {
  /** A snapshot being received from a leader, kept across leader changes (snapshot-transfer.ts). */
  private readonly receiver: SnapshotReceiver;

  constructor(codec: SnapshotCodec, limits: ReceiverLimits, private readonly host: FollowerHost) {
    this.receiver = new SnapshotReceiver(codec, limits, (e) => host.event(e));
  }

  /** The commit index reached `i`: a snapshot at or below it is no longer needed. */
  dropCovered(i: Index): void {
    this.receiver.dropCovered(i);
  }

  /**
   * A term has at most one leader: an append or snapshot at our term from a member that does not
   * lead it (we do, or we follow another) comes from a buggy or hostile member and deposes no one.
   */
  private fromUsurper(from: MemberId, msg: Msg<'append' | 'snapshot-chunk'>): boolean {
    const h = this.host;
    if (msg.term !== h.term() || (h.role() !== 'leader' && (h.leader() === null || h.leader() === from))) return false;
    const reason = h.role() === 'leader' ? 'this member leads that term' : `the leader of that term is ${h.leader()}`;
    h.event({ type: 'protocol-violation', from, msgType: msg.type, reason: `${msg.type} at term ${msg.term} from a member that does not lead it: ${reason}` });
    return true;
  }

  onAppend(from: MemberId, msg: Msg<'append'>): void {
    const h = this.host;
    if (msg.term < h.term()) {
      h.send(from, { type: 'append-resp', term: h.term(), success: false, index: h.log.lastIndex(), sentAt: msg.sentAt, ...h.inc() });
      return;
    }
    if (this.fromUsurper(from, msg)) return;
    h.acknowledgeLeader(from);
    if (msg.prevIndex < h.log.snapshot.index) {
      // Already compacted here: everything up to the snapshot matches by definition.
      const skip = msg.entries.filter((e) => e.index > h.log.snapshot.index);
      const prev = h.log.snapshot.index;
      return this.acceptEntries(from, prev, skip, msg);
    }
    // A store not admitted yet (a new incarnation) holds its own file's state at 0, not the formation's first: replaying
    // the log on it would part its table from the others' (sim seed 556). It waits to be admitted, then gets a snapshot.
    // Unanswered: a refusal would only bring the same append back at once, and each relay another (sim seed 30: an
    // event storm); its acknowledgements count for nothing until it is admitted, and the next heartbeat asks again.
    if (msg.prevIndex === 0 && h.log.snapshot.index === 0 && !h.admitted()) return;
    const termAtPrev = h.log.termAt(msg.prevIndex);
    if (termAtPrev !== msg.prevTerm) {
      const hint = Math.min(h.log.lastIndex(), msg.prevIndex - 1);
      h.send(from, { type: 'append-resp', term: h.term(), success: false, index: index(Math.max(hint, h.commitIndex())), sentAt: msg.sentAt, ...h.inc() });
      return;
    }
    this.acceptEntries(from, msg.prevIndex, msg.entries, msg);
  }

  private acceptEntries(from: MemberId, prevIndex: number, entries: readonly Entry[], msg: Msg<'append'>): void {
    const h = this.host;
    const last = h.log.appendFromLeader(prevIndex, entries, h.commitIndex());
    // A new config entry, or a truncated one (an uncommitted change overwritten by a later leader's
    // log): either way the latest configuration in the log is another (dissertation §4.1). Missing
    // the truncation left a member counting by a change that never committed (simulator, seed 172).
    if (h.log.latestMembers() !== h.members()) h.refreshMembers();
    const newCommit = Math.min(msg.commit, last);
    if (newCommit > h.commitIndex()) h.setCommit(index(newCommit));
    h.send(from, { type: 'append-resp', term: h.term(), success: true, index: last, sentAt: msg.sentAt, ...h.inc() });
  }

  onSnapshotChunk(from: MemberId, msg: Msg<'snapshot-chunk'>): void {
    const h = this.host;
    if (msg.term < h.term()) return h.send(from, { type: 'append-resp', term: h.term(), success: false, index: h.log.lastIndex(), sentAt: msg.sentAt, ...h.inc() });
    if (this.fromUsurper(from, msg)) return;
    h.acknowledgeLeader(from);
    // Our log already holds everything the snapshot does.
    if (msg.index <= h.commitIndex()) return h.send(from, { type: 'append-resp', term: h.term(), success: true, index: h.commitIndex(), sentAt: msg.sentAt, ...h.inc() });
    const out = this.receiver.offer(msg, from);
    // Not all there yet (or refused, then from 0): tell the leader where to go on.
    if (out.kind !== 'complete') {
      return h.send(from, { type: 'snapshot-resp', term: h.term(), index: msg.index, lastTerm: msg.lastTerm, digest: msg.digest, offset: out.kind === 'partial' ? out.offset : 0, sentAt: msg.sentAt, ...h.inc() });
    }
    const s = out.snapshot;
    h.log.install(s);
    h.installed(s);
    h.send(from, { type: 'append-resp', term: h.term(), success: true, index: s.index, sentAt: msg.sentAt, ...h.inc() });
  }
}
