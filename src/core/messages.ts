// Every message the core exchanges, and the log entries it replicates. One
// readable discriminated union per concern, each with a `type` the dispatch
// switches on (STYLE.md: one readable dispatch per message type).

import { swimMessageTypes, type SwimMessage } from './gossip/messages.js';
import type { Generation, Index, Member, MemberId, Ms, Term, TicketDef } from './types.js';
import type { TableSnapshot } from './tickets/ticket-table.js';

/**
 * Who asked for an admin command, as the member that received it established
 * it (docs/operations.md, "The audit history"). Never the client's own claim:
 * `socket`: the kernel's SO_PEERCRED of the local admin socket's peer (uid and
 * pid at connect time; `user` is that uid's name in the receiving member's
 * user database, null when it has none) — `claimedUser` is what the client
 * said it was, unverified, kept only when it differs from `user`; `admin-key`:
 * the remote admin key whose signature the receiving member verified, by its
 * id (`admin:` and the first 16 characters of its base64). `member`: the
 * member whose socket or transport received the request (a request forwarded
 * to the leader keeps it).
 */
export type Requester =
  | {
      readonly via: 'socket';
      readonly member: MemberId;
      readonly uid: number;
      readonly user: string | null;
      readonly pid: number;
      readonly claimedUser?: string;
    }
  | { readonly via: 'admin-key'; readonly member: MemberId; readonly keyId: string };

/**
 * Why a log entry was written: an admin command (with its id, and who asked
 * when the receiving member knew: absent from members older than protocol
 * 1.1) or the registry itself, `reason` with a `detail` in words (absent from
 * older members; older members drop it, docs/protocol.md §9).
 */
export type Cause =
  | { readonly by: 'admin'; readonly commandId: string; readonly force: boolean; readonly requester?: Requester }
  | { readonly by: 'auto'; readonly reason: 'initial' | 'failover'; readonly detail?: string };

/** What a forced configuration entry says about itself (docs/operations.md §8 (disaster recovery)). */
export interface ForcedRemovalNote {
  readonly removed: readonly MemberId[];
  readonly commandId: string;
  /** Who asked (AdminCommand.requester), when the admin service could tell. */
  readonly requester?: Requester;
}

/** Commands replicated through the registry log (the ticket table's inputs). */
export type EntryData =
  | { readonly type: 'noop' }
  /**
   * The configuration from this entry on (dissertation §4.1: in force once in the log). `forced`: written
   * by a survivor without a majority (member remove --force --confirm-fenced, docs/operations.md §8 (disaster recovery)):
   * the members it removed and the admin command; recorded in the history when it applies.
   */
  | { readonly type: 'config'; readonly members: readonly Member[]; readonly forced?: ForcedRemovalNote }
  | {
      readonly type: 'grant';
      readonly ticket: string;
      readonly site: MemberId;
      /** The grant applies only if the ticket is still at this generation (compare-and-set). */
      readonly expectedGeneration: Generation;
      readonly cause: Cause;
    }
  /**
   * Automatic grants of many tickets in one entry (protocol 1.2, docs/protocol.md
   * §3 "Batch grants"): each item applies as a `grant` of its own would, with
   * its own compare-and-set, in order; an item that no longer fits changes
   * nothing and the others still apply. At most grantsPerEntryMax items
   * (tickets/batch-grants.ts), one cause for all. Appended only while every
   * voter speaks 1.2: an older member refuses an entry kind it does not know.
   */
  | { readonly type: 'grant-batch'; readonly grants: readonly BatchGrant[]; readonly cause: Cause }
  | { readonly type: 'revoke'; readonly ticket: string; readonly expectedGeneration: Generation; readonly cause: Cause }
  | { readonly type: 'standby'; readonly ticket: string; readonly standby: boolean; readonly cause: Cause }
  | { readonly type: 'attr-set'; readonly ticket: string; readonly key: string; readonly value: string; readonly cause: Cause }
  | { readonly type: 'attr-delete'; readonly ticket: string; readonly key: string; readonly cause: Cause }
  | { readonly type: 'ticket-add'; readonly def: TicketDef; readonly cause: Cause }
  | { readonly type: 'ticket-remove'; readonly ticket: string; readonly cause: Cause }
  /**
   * A ticket's settings replaced by `def` (same name): holder, generation and
   * attributes stay. A shorter lease is honoured at its old length until the
   * generation changes (ticket-table.ts: leaseDurationHonouredMs).
   */
  | { readonly type: 'ticket-change'; readonly def: TicketDef; readonly cause: Cause };

/** One ticket of a `grant-batch`: granted to `site` if it is still at `expectedGeneration`. */
export interface BatchGrant {
  readonly ticket: string;
  readonly site: MemberId;
  readonly expectedGeneration: Generation;
}

export interface Entry {
  readonly index: Index;
  readonly term: Term;
  readonly data: EntryData;
  /**
   * The wall clock of the leader that appended this entry (ms since the Unix
   * epoch), as its host handed it in (Member.setWallClock): for people reading
   * the history, never for any decision (DESIGN.md §1: no synchronised clocks).
   * Stamped at append, before the entry is replicated, so it precedes the
   * commit by a replication round trip. Absent: the leader had no wall clock
   * (simulator, tests) or was older than protocol 1.1.
   */
  readonly wallMs?: number;
}

export interface Snapshot {
  readonly index: Index;
  readonly term: Term;
  readonly members: readonly Member[];
  readonly table: TableSnapshot;
}

/** What a site tells the leader about itself with every renewal. */
export interface SiteHealth {
  /** The site's own cluster has quorum. */
  readonly quorate: boolean;
  /** before-acquire handlers pass (when configured). */
  readonly handlersOk: boolean;
  /** Tickets whose resources could not run here (runnability check). */
  readonly unrunnable: readonly string[];
}

export interface RenewItem {
  readonly name: string;
  readonly generation: Generation;
}

/**
 * One renewed ticket in a `renew-resp`: the lease duration the leader dated
 * its own view with (r + D·(1+ρ)/(1−ρ)), so that the holder dates its lease
 * (s + D) with the same D even while a `ticket-change` of D is applied at one
 * of them and not yet at the other. Absent (from a leader older than it): the
 * holder uses its own table's D.
 */
export interface RenewGrant extends RenewItem {
  readonly leaseDurationMs?: number;
}

/** Why one ticket was not renewed; `changed` only in an answer to a renewal by index (an entry after its index changed the ticket). */
export type RenewRefusal = 'not-holder' | 'stale-generation' | 'change-pending' | 'no-such-ticket' | 'superseded' | 'changed';

/**
 * Why a renewal by index was refused whole (docs/protocol.md §3): the leader
 * has not applied its index yet, cannot name every ticket changed since it,
 * or would refuse more tickets than an answer may name. The site retries.
 */
export type RenewAllRefusal = 'index-ahead' | 'index-behind' | 'too-many-refusals';
export const renewAllRefusals: readonly RenewAllRefusal[] = ['index-ahead', 'index-behind', 'too-many-refusals'];

/** The most tickets one answer to a renewal by index refuses by name (beyond: refused whole). */
export const renewRefusalsMax = 1024;

/** The registry's messages (Raft and leases): every one carries the sender's term. */
/**
 * Messages that count toward a majority (votes, vote requests, acknowledgements) carry
 * the sender's store incarnation `inc` (docs/protocol.md §10); absent means 0. The receiver
 * ignores them unless the configuration admits that incarnation of the sender.
 */
export type RaftMessage =
  | { readonly type: 'pre-vote'; readonly term: Term; readonly lastIndex: Index; readonly lastTerm: Term; readonly inc?: number }
  | { readonly type: 'pre-vote-resp'; readonly term: Term; readonly granted: boolean; readonly inc?: number }
  | {
      readonly type: 'vote';
      readonly term: Term;
      readonly lastIndex: Index;
      readonly lastTerm: Term;
      readonly inc?: number;
      /** The leader handed leadership to this candidate (timeout-now): voters need not wait out its lease. */
      readonly transfer?: boolean;
    }
  | {
      /** Leadership transfer (Raft dissertation §3.10): the leader, about to leave, asks this caught-up voter to campaign now. */
      readonly type: 'timeout-now';
      readonly term: Term;
    }
  | { readonly type: 'vote-resp'; readonly term: Term; readonly granted: boolean; readonly inc?: number }
  | {
      /**
       * A member whose configuration does not admit its store's incarnation (it started with an
       * empty store, or was re-admitted and lost its store again): "is this formation new, and if
       * not, admit incarnation `inc` of me". Sent to every configured member until answered.
       */
      readonly type: 'join';
      readonly term: Term;
      readonly inc: number;
    }
  | {
      /** The answer to a join: `empty` when the answering member never took part (term 0, empty log); `inc` echoes the join's. */
      readonly type: 'join-resp';
      readonly term: Term;
      readonly inc: number;
      readonly empty: boolean;
      readonly leader: MemberId | null;
      /** The answering store's own incarnation (absent from members before it: unknown), which the asker records when it bootstraps on this answer. */
      readonly ownInc?: number;
      /**
       * The answering store bootstrapped as incarnation 0 counting an `empty` answer of the asker's incarnation
       * `inc` (docs/protocol.md §10): it persisted nothing before that incarnation existed, as an empty answer would say.
       */
      readonly vouch?: true;
    }
  | {
      readonly type: 'append';
      readonly term: Term;
      readonly prevIndex: Index;
      readonly prevTerm: Term;
      readonly entries: readonly Entry[];
      readonly commit: Index;
      /** The leader's clock at sending; echoed back so the leader can date its lease. */
      readonly sentAt: Ms;
    }
  | {
      readonly type: 'append-resp';
      readonly term: Term;
      readonly success: boolean;
      /** On success: the last index known to match. On failure: a hint where to retry from. */
      readonly index: Index;
      readonly sentAt: Ms;
      readonly inc?: number;
    }
  | {
      /** One piece of the leader's snapshot (registry/snapshot-transfer.ts); `data` empty: a probe for the follower's offset. */
      readonly type: 'snapshot-chunk';
      readonly term: Term;
      /** The snapshot's last included index and term, length and digest: together they name it. */
      readonly index: Index;
      readonly lastTerm: Term;
      readonly totalBytes: number;
      readonly digest: string;
      readonly offset: number;
      /** Characters offset … offset + data.length of the snapshot's encoding (ASCII). */
      readonly data: string;
      readonly sentAt: Ms;
    }
  | {
      /** The follower holds `offset` bytes of the snapshot named by index, lastTerm and digest: the leader resumes there. */
      readonly type: 'snapshot-resp';
      readonly term: Term;
      readonly index: Index;
      readonly lastTerm: Term;
      readonly digest: string;
      readonly offset: number;
      readonly sentAt: Ms;
      readonly inc?: number;
    }
  | {
      /** A renewal listing the tickets to renew (every protocol version). */
      readonly type: 'renew';
      readonly term: Term;
      readonly seq: number;
      readonly tickets: readonly RenewItem[];
      readonly health: SiteHealth;
      /**
       * The sender's store incarnation (docs/protocol.md §10; absent: 0). Renewal numbers are
       * ordered only within one incarnation: a site agent started on another node of its site
       * with an empty store numbers its renewals afresh.
       */
      readonly inc?: number;
    }
  | {
      /**
       * A renewal by index (protocol 1.1, docs/protocol.md §3): every ticket the
       * committed table after entry `since` gives the sender, except those named
       * (given up here). Sent only to a leader that marked an answer `renewsByIndex`.
       */
      readonly type: 'renew';
      readonly term: Term;
      readonly seq: number;
      readonly since: Index;
      readonly except: readonly string[];
      readonly health: SiteHealth;
      /**
       * The sender's store incarnation (docs/protocol.md §10; absent: 0). Renewal numbers are
       * ordered only within one incarnation: a site agent started on another node of its site
       * with an empty store numbers its renewals afresh.
       */
      readonly inc?: number;
    }
  | {
      readonly type: 'renew-resp';
      readonly term: Term;
      readonly seq: number;
      readonly granted: readonly RenewGrant[];
      readonly refused: ReadonlyArray<{ readonly name: string; readonly reason: RenewRefusal }>;
      /** Answers a renewal by index with this `since`: every ticket it covers is renewed but the refused ones. */
      readonly since?: Index;
      /** The renewal by index was not answered at all (nothing renewed): retry. */
      readonly refusedAll?: RenewAllRefusal;
      /** The leader takes renewals by index (protocol 1.1). */
      readonly renewsByIndex?: true;
    }
  | {
      readonly type: 'released';
      readonly term: Term;
      readonly name: string;
      readonly generation: Generation;
      readonly health: SiteHealth;
      /** Every renewal this site sends after this release has a seq at or above this. */
      readonly seqFloor: number;
      /** The sender's store incarnation (absent: 0): seqFloor compares only with renewals of the same one. */
      readonly inc?: number;
    };

/**
 * Everything members exchange: the registry's messages and the gossip layer's
 * (SWIM, gossip/messages.ts; DESIGN.md §3). Gossip messages carry no term.
 */
export type Message = RaftMessage | SwimMessage;

export type RaftMessageType = RaftMessage['type'];
export type MessageType = Message['type'];

export interface Envelope {
  readonly from: MemberId;
  readonly to: MemberId;
  readonly msg: Message;
  /**
   * Relay (DESIGN.md §3.2): the sender cannot reach `to` directly and hands
   * the message to `via`, which reaches it, for one more hop. The message is
   * still `from`'s, signed end to end on the wire; `via` only carries it.
   * Absent: sent directly.
   */
  readonly via?: MemberId;
}

/** Whether a message belongs to the gossip layer (SWIM) rather than the registry. */
export function isSwimMessage(msg: Message): msg is SwimMessage {
  return (swimMessageTypes as readonly string[]).includes(msg.type);
}

/** Rumor kinds the registry disseminates through gossip (SwimNode.piggyback; member.ts publishes them). */
export const ticketRumorKind = 'ticket';
export const siteHealthRumorKind = 'site-health';

/**
 * Committed state of one ticket, published by the leader when it applies an
 * entry that changes the ticket; version = that entry's index, so a newer
 * commit always outranks an older one, whoever led.
 */
export interface TicketRumor {
  readonly holder: MemberId | null;
  readonly generation: Generation;
  readonly standby: boolean;
  readonly managed: boolean;
  /** True when the entry removed the ticket. */
  readonly removed: boolean;
  /** The leader's view of the holder's lease when it published (ms left on its clock); null without a holder. */
  readonly leaseLeftMs: number | null;
}
