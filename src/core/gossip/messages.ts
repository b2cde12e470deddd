// Gossip's vocabulary (DESIGN.md §3): the signed claims members make about
// each other's liveness, the versioned rumors other modules disseminate, the
// port that signs and checks both, and the five SWIM messages they ride on.
// src/core/messages.ts joins these messages to the registry's (Message,
// isSwimMessage); src/wire/message-schema.ts checks their shape on the wire.

import type { MemberId } from '../types.js';

export type SwimState = 'alive' | 'suspect' | 'dead';

/** Every SwimState, for checking a state that came off the wire. */
export const swimStates: readonly SwimState[] = ['alive', 'suspect', 'dead'];

/** A claim about one member's liveness, as signed. */
export interface MemberClaim {
  /** The member the claim is about. */
  readonly member: MemberId;
  /** The member's incarnation the claim refers to. */
  readonly incarnation: number;
  readonly state: SwimState;
  /** Who makes the claim and signs it: `member` itself for alive, another member for suspect and dead. */
  readonly origin: MemberId;
}

/** A membership update on the wire: a claim with its originator's signature (opaque to the core). */
export interface MemberUpdate extends MemberClaim {
  readonly sig: string;
}

/** A versioned payload other modules disseminate (ticket state, site health), as signed. */
export interface RumorClaim {
  /** Registered kind, e.g. 'ticket' or 'site-health'; the wire schema validates `payload` per kind. */
  readonly kind: string;
  /** What the rumor is about within its kind (a ticket name, a site id). */
  readonly key: string;
  /** Grows with every new value for (kind, key); a receiver keeps the highest. */
  readonly version: number;
  readonly origin: MemberId;
  /** JSON-serialisable; the core never looks inside. */
  readonly payload: unknown;
}

export interface Rumor extends RumorClaim {
  readonly sig: string;
}

/** What the authenticator signs: a membership claim or a rumor, tagged. */
export type Claim = ({ readonly about: 'member' } & MemberClaim) | ({ readonly about: 'rumor' } & RumorClaim);

/**
 * The signing port, filled by the host with the wire layer's Ed25519 keys.
 * Both calls are synchronous and deterministic (Ed25519 is).
 * The implementation signs a canonical encoding of the claim under its own
 * domain-separation context (not the envelope's), and verify() must check the
 * signature against `claim.origin`'s public key from the formation config —
 * and may enforce more per rumor kind (e.g. ticket state only from a voter).
 */
export interface ClaimAuthenticator {
  /** Signs a claim this member originates (`claim.origin` is this member). */
  sign(claim: Claim): string;
  /** True iff `sig` is `claim.origin`'s valid signature of `claim`. */
  verify(claim: Claim, sig: string): boolean;
}

/** Updates and rumors carried by every SWIM message. */
export interface Piggyback {
  readonly updates: readonly MemberUpdate[];
  readonly rumors: readonly Rumor[];
}

/** Direct probe; the receiver answers `ack` with the same seq. */
export interface PingMessage extends Piggyback {
  readonly type: 'ping';
  readonly seq: number;
}
/** Answer to a ping; a helper forwards the target's ack to the requester under the requester's seq. */
export interface AckMessage extends Piggyback {
  readonly type: 'ack';
  readonly seq: number;
}
/** Indirect probe request: ping `target` for me; ack under `seq` if it answers, nack after `timeoutMs` if not. */
export interface PingReqMessage extends Piggyback {
  readonly type: 'ping-req';
  readonly seq: number;
  readonly target: MemberId;
  readonly timeoutMs: number;
}
/** A helper's "I asked, the target did not answer in time" (Lifeguard): proves the requester's links work. */
export interface NackMessage extends Piggyback {
  readonly type: 'nack';
  readonly seq: number;
}
/** Dissemination only: queued updates pushed to a few random members, and direct tips. */
export interface GossipMessage extends Piggyback {
  readonly type: 'gossip';
}

export type SwimMessage = PingMessage | AckMessage | PingReqMessage | NackMessage | GossipMessage;
export type SwimMessageType = SwimMessage['type'];
export const swimMessageTypes: readonly SwimMessageType[] = ['ping', 'ack', 'ping-req', 'nack', 'gossip'];

export interface SwimEnvelope {
  readonly from: MemberId;
  readonly to: MemberId;
  readonly msg: SwimMessage;
}

/** Why an incoming message or item was refused. Stable strings: they go to logs and counters. */
export type SwimRejectReason =
  | 'unknown-sender'
  | 'unknown-member'
  | 'unknown-origin'
  | 'wrong-origin'
  | 'bad-field'
  | 'bad-signature'
  | 'unknown-kind'
  | 'rumors-full'
  | 'relays-full'
  | 'too-many-items';

/** A sequence number, incarnation or version from the wire: a non-negative safe integer. */
export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
