// Shared vocabulary of the core. Branded numbers keep milliseconds, terms and
// generations from being mixed up (TIGER_STYLE: units in names and types).

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Monotonic milliseconds on the local process clock (never wall time). */
export type Ms = Brand<number, 'Ms'>;
/** Raft term. */
export type Term = Brand<number, 'Term'>;
/** Log index. */
export type Index = Brand<number, 'Index'>;
/** A ticket's generation: the fencing token written to the CIB as `term` (S2). */
export type Generation = Brand<number, 'Generation'>;
/** A member's name in the formation (its configured address for booth configs). */
export type MemberId = Brand<string, 'MemberId'>;

export const ms = (n: number): Ms => n as Ms;
export const term = (n: number): Term => n as Term;
export const index = (n: number): Index => n as Index;
export const generation = (n: number): Generation => n as Generation;
export const memberId = (s: string): MemberId => s as MemberId;

export type MemberKind = 'site' | 'arbitrator';

export interface Member {
  readonly id: MemberId;
  readonly kind: MemberKind;
  /**
   * The incarnation of the member's store that this configuration admits
   * (docs/protocol.md §10): absent or 0, the bootstrap incarnation every
   * member of a brand-new formation starts as; another number, the one a
   * member drew when it started with an empty store and was re-admitted
   * with. Votes and acknowledgements count only from the admitted
   * incarnation. Not SWIM's incarnation (gossip refutation counter).
   */
  readonly incarnation?: number;
  /** False while the member catches up (a non-voter, Raft dissertation §4.2.1); absent: a voter. */
  readonly voter?: boolean;
  /** The member's Ed25519 public key (base64 of its 32 raw bytes) for a member added at runtime; absent: the key the config file lists. */
  readonly key?: string;
}

/** The incarnation a configuration admits for a member (absent means the bootstrap incarnation 0). */
export function incarnationOf(m: Member): number {
  return m.incarnation ?? 0;
}

/** Whether a configuration's member votes (and counts toward majorities). */
export function votes(m: Member): boolean {
  return m.voter !== false;
}

export type TicketMode = 'automatic' | 'manual';

/** A ticket's static definition: what booth.conf says about it. */
export interface TicketDef {
  readonly name: string;
  readonly mode: TicketMode;
  /** Lease duration D (booth `expire`). */
  readonly leaseDurationMs: number;
  /** Wait after a grant is committed before the new holder grants in its CIB. */
  readonly acquireAfterMs: number;
  /** The holder revokes in its CIB this long before its lease ends (Pacemaker's reaction time). */
  readonly revokeLeadMs: number;
  /** Placement preference for automatic tickets: higher wins; missing sites weigh 0. */
  readonly weights: Readonly<Record<string, number>>;
}

/** Thrown for programmer errors: broken invariants that must never happen. */
export class AssertionError extends Error {
  readonly code = 'ASSERTION';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
