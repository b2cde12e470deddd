// The ports between the runtime pump and the adapters (DESIGN.md §6). Each
// port has a real adapter in src/adapters and an in-memory twin for tests;
// one compliance suite per port runs against both, so the twin cannot drift
// from the real thing (STYLE.md, from js-libp2p).

import type { Envelope } from '../core/messages.js';
import type { PersistBatch, PersistedState } from '../core/ready.js';
import type { CibTicketState, GuardUpdate, TicketEffect } from '../core/tickets/site-holder.js';
import type { MemberId, Ms } from '../core/types.js';

export interface AbortOptions {
  readonly signal?: AbortSignal;
}

/** Durable store of the registry: hard state, snapshot and log. */
export interface Storage {
  /** What a previous run persisted; null on a member's first start. */
  load(options?: AbortOptions): Promise<PersistedState | null>;
  /**
   * Applies one batch durably (fsync'd) and atomically: after a crash at any
   * point, either all of it or none of it is there. Resolves only once synced.
   */
  persist(batch: PersistBatch, options?: AbortOptions): Promise<void>;
  close(): Promise<void>;
}

/** 'incompatible': connected, but the link is refused at its handshake (another protocol version, or none). */
export type PeerState = 'connected' | 'connecting' | 'disconnected' | 'incompatible';

export interface PeerStatus {
  readonly id: MemberId;
  readonly state: PeerState;
  /** Round-trip time of the last transport-level ping, when known. */
  readonly rttMs: number | null;
  /** Monotonic time (local clock) of the last frame received from this peer. */
  readonly lastRecvAt: number | null;
  readonly sent: number;
  readonly received: number;
  /** Frames from this peer that were rejected, by reason. */
  readonly rejected: Readonly<Record<string, number>>;
  /**
   * The protocol version (major.minor) the peer announced in its hello on the
   * current connection; null before one. Absent where the transport has no
   * handshake (the in-memory twin: every member is this build).
   */
  readonly protocol?: string | null;
  /** Why the link is refused (state 'incompatible'): both versions, or what was wrong with the peer's hello. */
  readonly refused?: string;
}

/**
 * Frames the transport carries besides core messages: admin requests
 * forwarded between members, and requests from remote admin clients that
 * authenticate with a configured admin key (DESIGN.md §7).
 */
export interface AdminFrame {
  /** A member id, or for an admin client the transport's id for its key (`admin:…`), to which replies go. */
  readonly from: MemberId;
  readonly to: MemberId;
  readonly kind: 'admin' | 'admin-reply';
  /** JSON-serialisable body; the admin service validates it. */
  readonly body: unknown;
  /**
   * Who sent it: a formation member (the default), or an admin client
   * authenticated by an admin key. Set by the receiving transport only.
   */
  readonly origin?: 'member' | 'admin-key';
  /**
   * Opaque to everyone but the transport: on a request from an admin key, the
   * connection it came over. A reply passes it back so that it reaches that
   * very client, since several may hold the same key at once.
   */
  readonly via?: string;
}

/** Carries core messages between members. Best effort: the protocol tolerates loss. */
export interface Transport {
  /** The protocol version this member announces, major.minor (transports with a handshake; docs/protocol.md §10). */
  readonly protocol?: string;
  start(options?: AbortOptions): Promise<void>;
  stop(): Promise<void>;
  /**
   * Queues one message; never throws for a peer that is down (the message is
   * dropped and counted). With `via` set, the message goes to that member to
   * be passed on (DESIGN.md §3.2).
   */
  send(env: Envelope): void;
  sendAdmin(frame: AdminFrame): void;
  /**
   * Every inbound core message that passed decoding, signature, replay and
   * schema checks. One that came through a relay has `via` set to it.
   */
  onMessage(handler: (env: Envelope) => void): void;
  /**
   * Whether this member passes a frame on to `to` for another member
   * (DESIGN.md §3.2). The runtime answers from the core (Member.canRelayTo);
   * the transport itself keeps relays to one hop (it passes on only frames
   * written by the member that handed them over). Until set, nothing is
   * relayed.
   */
  setRelayPolicy(canRelayTo: (to: MemberId) => boolean): void;
  onAdmin(handler: (frame: AdminFrame) => void): void;
  peers(): PeerStatus[];
}

/** Where the site's ticket state lands: the CIB through crm_ticket (issue 4), or the file stand-in. */
export interface TicketSink {
  /** The ticket state the medium holds now (granted tickets with their guard deadlines): the pump's read-back. */
  readAll(options?: AbortOptions): Promise<CibTicketState[]>;
  /**
   * The ticket state found at start-up, and whether the read names every ticket state the medium holds
   * (MemberInit.cibComplete; core/tickets/sink-at-start.ts). Throws when nothing could be read.
   */
  readAtStart(options?: AbortOptions): Promise<SinkStartRead>;
  /** Makes one ticket match the effect's desired state. Resolves with the outcome; does not throw for CIB errors. */
  apply(effect: TicketEffect, options?: AbortOptions): Promise<{ ok: boolean; error?: string }>;
  /**
   * Makes many tickets (at most one effect each) match their effects in one
   * write where the medium allows it (one CIB update, one guard record write
   * before the grants and one after the revokes). Resolves with one outcome
   * per effect, in order; does not throw for CIB errors. An effect is ok only
   * if its write landed: a write that failed fails every effect in it, and one
   * refused on its own (a bad name, a deadline already passed) fails alone.
   */
  applyBatch(effects: readonly TicketEffect[], options?: AbortOptions): Promise<EffectOutcome[]>;
  /**
   * Moves the lease guard's deadlines later for grants already written (one
   * durable write for the whole update). An entry whose deadline is not later
   * is ignored; one whose ticket has no grant of that generation, or whose
   * current deadline has passed (the guard may have revoked it), is skipped and
   * named in `skipped`, so that the core writes that grant again.
   */
  extendGuard(update: GuardUpdate, options?: AbortOptions): Promise<{ ok: boolean; error?: string; skipped?: readonly string[] }>;
}

/** What a sink's start-up read found (TicketSink.readAtStart). */
export interface SinkStartRead {
  readonly tickets: CibTicketState[];
  /**
   * The read named every ticket state the medium holds, and all of each that a revoke writes (`shown`)
   * where it could: a ticket it does not name has no state. Only then may a start-up revoke be left
   * unwritten (sink-at-start.ts); a read that failed in part or was not understood is not complete.
   */
  readonly complete: boolean;
  /** Why the read is not complete, for the log (absent when complete, or when the medium cannot say more). */
  readonly incomplete?: string;
}

/** The outcome of one effect of TicketSink.applyBatch. */
export interface EffectOutcome {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** The process's monotonic clock, in integer milliseconds. */
export interface MonotonicClock {
  now(): Ms;
}

/** The wall clock (ms since the Unix epoch): only to label what people read (the history's times), never to decide. */
export interface WallClock {
  nowMs(): number;
}
