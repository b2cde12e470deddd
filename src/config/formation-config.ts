// The formation config as the rest of tollbooth sees it: every default
// applied, every time in milliseconds, members and weights in file order.
// Built by buildFormationConfig (build-formation-config.ts) from the parsed file; checked
// by validate.ts; hashed by fingerprint.ts.
import type { TimingPreset } from './presets.js';

export type MemberKind = 'site' | 'arbitrator';

export interface FormationMember {
  /** 0-based position among the `site`/`arbitrator` lines, as in booth (weights are indexed by it). */
  readonly index: number;
  readonly kind: MemberKind;
  /** The address exactly as written: an IPv4/IPv6 literal or a host name. */
  readonly address: string;
  /** UDP/TCP port; booth has one `port` for every member. */
  readonly port: number;
  /**
   * booth's site id (site-id.ts), the CIB `owner` value. Null for a host
   * name, whose id depends on what it resolves to at start-up.
   */
  readonly siteId: number | null;
  /** Raw 32-byte Ed25519 public key from `tollbooth-member-key`; null only when an error was reported. */
  readonly publicKey: Uint8Array | null;
}

/** A member of a config without errors: validate.ts reports a member without a key, so here it has one. */
export interface ValidFormationMember extends FormationMember {
  readonly publicKey: Uint8Array;
}

export type TicketMode = 'automatic' | 'manual';

export interface TicketHandler {
  /** Program (or directory of programs, run in order) as written; booth execs it without a shell. */
  readonly program: string;
  readonly args: readonly string[];
}

export interface AttrPrereq {
  /** `auto`: checked before an automatic failover; `manual`: before an admin grant. */
  readonly grantType: 'auto' | 'manual';
  /** Site attribute name (as set with geostore). */
  readonly name: string;
  readonly op: 'eq' | 'ne';
  readonly value: string;
}

export interface TicketDefinition {
  readonly name: string;
  readonly mode: TicketMode;
  /** Lease duration (booth `expire`). */
  readonly expireMs: number;
  /** Extra wait after a lost lease before another site may take the ticket (booth `acquire-after`). */
  readonly acquireAfterMs: number;
  /** Renewal period (booth `renewal-freq`, default expire/2). */
  readonly renewalFreqMs: number;
  /** Resend period and election duration (booth `timeout`). */
  readonly timeoutMs: number;
  /** Resends before a round is given up (booth `retries`, 3–100). */
  readonly retries: number;
  /** One weight per member, aligned with FormationConfig.members (missing ones are 0, as in booth). */
  readonly weights: readonly number[];
  readonly beforeAcquireHandler: TicketHandler | null;
  readonly attrPrereqs: readonly AttrPrereq[];
  /** The holder revokes this long before its lease ends (`tollbooth-revoke-lead`). */
  readonly revokeLeadMs: number;
}

export interface FormationConfig {
  /** Formation name (booth `name`, default: the file name without its extension); the wire's formation label. */
  readonly name: string;
  /** booth `port`, default 9929. */
  readonly port: number;
  /** booth `transport`; recorded for booth parity, tollbooth's own transport ignores it. */
  readonly transport: 'UDP' | 'SCTP';
  readonly members: readonly FormationMember[];
  readonly tickets: readonly TicketDefinition[];
  /** The chosen preset (`tollbooth-preset`, default wan). */
  readonly timing: TimingPreset;
  /** Bound on the rate difference between any two members' clocks (`tollbooth-clock-drift-ppm-max`). */
  readonly clockDriftPpmMax: number;
  /** Keys allowed to sign admin commands sent over the network (`tollbooth-admin-key`). */
  readonly adminKeys: readonly Uint8Array[];
  /** Group allowed to open the local admin socket besides root (`tollbooth-admin-group`); null = root only. */
  readonly adminGroup: string | null;
  /** booth `authfile` (HMAC key for booth's protocol); kept for parity, tollbooth signs with Ed25519. */
  readonly authFile: string | null;
  /** booth `maxtimeskew` (default 600 s), in ms. */
  readonly maxTimeSkewMs: number;
  /** booth `site-user`/`site-group`/`arbitrator-user`/`arbitrator-group`. */
  readonly siteUser: string;
  readonly siteGroup: string;
  readonly arbitratorUser: string;
  readonly arbitratorGroup: string;
  /** booth `debug`: daemon log verbosity. Local; not part of the fingerprint. */
  readonly debugLevel: number;
  /** `tollbooth-alert-handler`: run on every formation event; null = none. Local; not part of the fingerprint. */
  readonly alertHandler: TicketHandler | null;
  /** `tollbooth-alert-timeout`: deadline of one alert program run, ms. Local; not part of the fingerprint. */
  readonly alertTimeoutMs: number;
  /** `tollbooth-history-records`: history records kept. Local; not part of the fingerprint. */
  readonly historyRecordsMax: number;
}

/**
 * A config with no error among its problems (validConfig in index.ts), with
 * what validation proved in its type: every member has its public key.
 */
export interface ValidFormationConfig extends FormationConfig {
  readonly members: readonly ValidFormationMember[];
}
