// The core's output batch and its inputs from the host (DESIGN.md §6).
//
// How the host handles a Ready, in this order, before feeding the next input:
//   1. persist: write `persist` durably (synced) — hard state, snapshot, then
//      entries (dropping every stored entry at or after `truncateFrom` first);
//   2. send: hand every message in `messages` to the transport;
//   3. effects: carry out `effects` in order per ticket (CIB writes) and report
//      each outcome with an `effect-result` report. An effect is the desired
//      state of one ticket, so a later effect for the same ticket supersedes an
//      earlier one that has not started: the host drops the earlier one (and
//      need not report it). A grant whose `revokeBy` has passed when its write
//      would start is not written; report it as failed. `guard` updates move
//      the lease guard's deadlines of grants already written; apply them in
//      order, each entry only where the guard holds a grant of that generation
//      and only to a later deadline (an entry whose current deadline has passed
//      is skipped: the guard may have revoked), and report each with an
//      `effect-result` naming the skipped tickets;
//   4. advance: call `advance(ready)`.
// Messages may depend on the persisted state (a vote, an acknowledged entry);
// effects may depend on a persisted commit. Reordering these steps breaks the
// protocol's safety argument.

import type { Entry, Envelope, Snapshot, SiteHealth, EntryData, Requester } from './messages.js';
import type { CibTicketState, GuardUpdate, TicketEffect } from './tickets/site-holder.js';
import type { SwimEvent } from './gossip/events.js';
import type { SwimRejectReason } from './gossip/messages.js';
import type { Generation, Index, MemberId, Ms, Term, TicketDef, Member } from './types.js';

export interface HardState {
  readonly term: Term;
  readonly votedFor: MemberId | null;
  readonly commit: Index;
  /**
   * This store's incarnation (docs/protocol.md §10): drawn when the member
   * started with an empty store, 0 once it bootstrapped a brand-new
   * formation. Absent in stores written before incarnations: 0.
   */
  readonly incarnation?: number;
}

export interface PersistBatch {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  /** Drop stored entries with index ≥ this before writing `entries`. */
  readonly truncateFrom: Index | null;
  readonly entries: readonly Entry[];
}

/** What a member finds in its store when it starts. */
export interface PersistedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export type CommandErrorCode =
  | 'not-leader'
  | 'no-such-ticket'
  | 'not-a-site'
  | 'no-such-member'
  | 'already-granted'
  | 'not-granted'
  | 'ticket-held'
  | 'ticket-exists'
  | 'invalid'
  | 'busy'
  | 'change-in-progress'
  | 'superseded'
  | 'unknown-outcome'
  | 'rejected'
  /** The committed config's version is not the one the command expected (another change landed first). */
  | 'config-changed'
  /** member remove --confirm-fenced: the member (or another voter) is not known to be fenced, or a leader is known. */
  | 'not-fenced'
  /** member remove --confirm-fenced: a lease the removed member may hold still runs in this member's view (the message says how long). */
  | 'lease-running'
  /** member remove / replace: the voters left that the leader heard within an election timeout would be no majority (registry/reconfig-check.ts). */
  | 'voters-silent';

export type CoreEvent =
  | { readonly type: 'role'; readonly role: Role; readonly term: Term; readonly leader: MemberId | null }
  /** `skipped`: the items of a grant-batch that no longer fit (a stale generation, a removed ticket) and changed nothing. */
  | { readonly type: 'applied'; readonly index: Index; readonly data: EntryData; readonly ok: boolean; readonly reason?: string; readonly skipped?: readonly string[] }
  | {
      readonly type: 'command-result';
      readonly id: string;
      readonly ok: boolean;
      readonly code?: CommandErrorCode;
      readonly message: string;
      readonly leader?: MemberId | null;
      readonly index?: Index;
    }
  | { readonly type: 'lease-lost'; readonly ticket: string; readonly reason: string }
  | { readonly type: 'released'; readonly ticket: string; readonly site: MemberId }
  /** docs/protocol.md §10: this member started with an empty store, and every other member said the formation is new: it votes as incarnation 0. */
  | { readonly type: 'bootstrapped'; readonly members: number }
  /** At the leader: `member` asked to be re-admitted as `incarnation` (it lost its store); the replacement of `previous` is proposed. */
  | { readonly type: 'member-rejoin'; readonly member: MemberId; readonly incarnation: number; readonly previous: number }
  | { readonly type: 'message-ignored'; readonly from: MemberId; readonly msgType: string; readonly reason: string }
  /** The sink no longer holds a grant this site had written (the lease guard or an admin revoked it): it is written again or given up. */
  | { readonly type: 'grant-lost'; readonly ticket: string; readonly generation: Generation }
  /**
   * This site's sink writes got slow enough to raise some ticket's revoke lead ('raised'), too slow
   * for some ticket's lease to cover ('beyond'), or back within every configured lead ('normal')
   * (issue 12 item 6; SiteHolder.noteWrite).
   */
  | { readonly type: 'sink-speed'; readonly speed: 'normal' | 'raised' | 'beyond'; readonly slowestWriteMs: number }
  /** A message no correct member sends (e.g. an append at a term from a member that does not lead it): ignored, to be logged and counted. */
  | { readonly type: 'protocol-violation'; readonly from: MemberId; readonly msgType: string; readonly reason: string }
  /**
   * A snapshot transfer (registry/snapshot-transfer.ts), at the leader: 'sending' (started), 'resumed' (the
   * follower held `offset` bytes already), 'sent' (installed there); at the follower: 'installed'; at either:
   * 'refused' (with the reason). `peer` is the other end.
   */
  | {
      readonly type: 'snapshot-transfer';
      readonly peer: MemberId;
      readonly stage: 'sending' | 'resumed' | 'sent' | 'installed' | 'refused';
      readonly index: Index;
      readonly bytes: number;
      readonly offset?: number;
      readonly reason?: string;
    }
  /**
   * Gossip (DESIGN.md §3), passed on as the SWIM node reports them: a member's state changed by
   * `origin`'s claim, this member refuted a suspicion, or a gap between inputs meant a stop (SIGSTOP, swap).
   */
  | Extract<SwimEvent, { type: 'member-state' | 'refuted' | 'stalled' }>
  /** Gossip: an incoming message, membership update or rumor was refused (forged, unknown, malformed). */
  | { readonly type: 'gossip-rejected'; readonly from: MemberId; readonly item: 'message' | 'update' | 'rumor'; readonly reason: SwimRejectReason };

export interface Ready {
  readonly persist: PersistBatch | null;
  readonly messages: readonly Envelope[];
  readonly effects: readonly TicketEffect[];
  readonly guard: readonly GuardUpdate[];
  readonly events: readonly CoreEvent[];
  /**
   * Set: read the sink back and report what it holds (Report 'sink-state'), as after a guard update.
   * A site agent that took over a grant from another node of its site and holds it past booth's
   * `expires` asks it: the old node's lease guard revokes the grant then, and no write of this agent
   * would show it (site-takeover.ts). Absent: no read needed beyond the host's own.
   */
  readonly readSink?: true;
}

/**
 * An admin command, with who asked for it when the host established that
 * (messages.ts Requester): every entry the command leads to names them in its
 * cause, and so in the history.
 */
export type AdminCommand = AdminCommandBody & { readonly requester?: Requester };

export type AdminCommandBody =
  | { readonly id: string; readonly type: 'grant'; readonly ticket: string; readonly site: MemberId; readonly force: boolean }
  | { readonly id: string; readonly type: 'revoke'; readonly ticket: string }
  | { readonly id: string; readonly type: 'standby'; readonly ticket: string }
  | { readonly id: string; readonly type: 'activate'; readonly ticket: string }
  | { readonly id: string; readonly type: 'attr-set'; readonly ticket: string; readonly key: string; readonly value: string }
  | { readonly id: string; readonly type: 'attr-delete'; readonly ticket: string; readonly key: string }
  /**
   * Config changes (issue 11). `expectedVersion`: refused with 'config-changed'
   * unless the committed config is at that version and no other config change
   * is in flight (compare-and-set, so two `config apply` runs never interleave
   * blindly).
   */
  | { readonly id: string; readonly type: 'ticket-add'; readonly def: TicketDef; readonly expectedVersion?: number }
  /**
   * `revokeFirst`: a held ticket is revoked (committed), and removed once the
   * leader's view of the old holder's lease has run out, as a guarded grant
   * waits (so a ticket added again under the name can never overlap it).
   * Without it, a held ticket is refused ('ticket-held').
   */
  | { readonly id: string; readonly type: 'ticket-remove'; readonly ticket: string; readonly revokeFirst?: boolean; readonly expectedVersion?: number }
  | { readonly id: string; readonly type: 'ticket-change'; readonly def: TicketDef; readonly expectedVersion?: number }
  | { readonly id: string; readonly type: 'member-add'; readonly member: Member }
  /**
   * `force`: a site that holds tickets has them revoked first (guarded: nobody else gets them before their leases end).
   * `confirmFenced` (with force): the majority is lost for good; this member, not the leader, writes a configuration
   * of itself alone once every other voter is confirmed fenced and their leases ran out (forced-removal.ts).
   */
  | { readonly id: string; readonly type: 'member-remove'; readonly member: MemberId; readonly force?: boolean; readonly confirmFenced?: boolean }
  /** One config entry: `old` leaves, `member` joins as a non-voter (then catches up and is promoted). */
  | { readonly id: string; readonly type: 'member-replace'; readonly old: MemberId; readonly member: Member; readonly force?: boolean };

export type Report =
  | {
      readonly type: 'effect-result';
      readonly id: number;
      readonly ok: boolean;
      readonly error?: string;
      /** For a guard update: tickets it could not extend (no grant of that generation, or its deadline had passed). */
      readonly skipped?: readonly string[];
      /**
       * How long the sink write itself took, measured by the host (not the time the effect waited for
       * its turn): the holder keeps its revoke lead at least twice the slowest recent one (issue 12 item 6).
       */
      readonly writeMs?: number;
    }
  | { readonly type: 'health'; readonly health: SiteHealth }
  /**
   * What the sink (the CIB) holds, read back by the host after guard updates
   * and periodically, so that the holder learns of every revoke it did not
   * make (the lease guard's, an admin's crm_ticket -r). `readStartedAt`: the
   * monotonic time the read began (a write confirmed later may be missing).
   */
  | { readonly type: 'sink-state'; readonly tickets: readonly CibTicketState[]; readonly readStartedAt: Ms }
  /**
   * The host is about to stop cleanly (SIGTERM). A site moves every confirmed
   * grant's lease guard deadline to the latest its lease allows, in one guard
   * update, so that a restart has the whole of the lease left rather than
   * what remained since the last extension (rolling restarts, issue 11 item 6).
   * Nothing else changes: the member may go on running if the host does.
   */
  | { readonly type: 'stopping' };

export type { Ms };
