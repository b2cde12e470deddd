// Core configuration: timing and limits, with relation checks asserted at
// start-up (STYLE.md: Config.validate() checks relations, not just fields).
// The config/ module maps booth.conf and presets onto this; the core only
// trusts values that passed validateCoreConfig().

import { leaderLeaseDurationMs } from './lease.js';
import { historyRecordsLimit, historyRecordsMaxDefault } from './tickets/ticket-table.js';
import type { Member, MemberId, TicketDef } from './types.js';

export interface CoreTiming {
  /** Leader heartbeat (empty AppendEntries) period. Shorter: faster failure detection, more traffic. */
  readonly heartbeatIntervalMs: number;
  /** Base election timeout; followers draw theirs in [1×, 2×). Also the vote-refusal window that backs the leader lease. */
  readonly electionTimeoutMs: number;
  /** How often every site sends its batched renewal (and health) to the leader. */
  readonly renewIntervalMs: number;
  /** Resend a renewal that got no answer after this long (a lost message costs at most this). */
  readonly renewRetryMs: number;
  /** Bound on any clock's rate error against real time, in parts per million (ρ·10⁶). */
  readonly clockDriftPpmMax: number;
  /** Retry delay for a failed CIB write (ticket effect). */
  readonly effectRetryMs: number;
  /** The leader treats a site as alive (eligible for automatic grants) if heard within this window. */
  readonly siteAliveWindowMs: number;
}

export interface CoreLimits {
  /** Entries carried by one AppendEntries message. */
  readonly entriesPerAppendMax: number;
  /** Applied entries kept in the log before a snapshot replaces them. */
  readonly logEntriesBeforeSnapshot: number;
  /** Tickets in the table. */
  readonly ticketCountMax: number;
  /** Attributes per ticket. */
  readonly attrsPerTicketMax: number;
  /** History records the ticket table keeps (ticket-table.ts historyRecordsMaxDefault, historyRecordsLimit). */
  readonly historyRecordsMax: number;
  /** Characters in an attribute name or value. */
  readonly attrCharsMax: number;
  /** Admin commands waiting at the leader (proposed or waiting on a lease guard). */
  readonly pendingCommandsMax: number;
  /** Outstanding (unanswered) renewals a site keeps track of. */
  readonly renewalsInFlightMax: number;
  /**
   * Bytes of snapshot text in one `snapshot-chunk` (registry/snapshot-transfer.ts).
   * Larger: fewer round trips per transfer; each chunk must fit in one frame with
   * room to spare (the wire checks: snapshotChunkFrameBytesMax ≤ messageBytesMax).
   */
  readonly snapshotChunkBytesMax: number;
  /** Bytes of a whole snapshot's encoding a follower assembles (memory held for one partial snapshot). */
  readonly snapshotBytesMax: number;
}

export interface CoreConfig {
  readonly self: MemberId;
  /** Voters at bootstrap (later changes go through the log). */
  readonly members: readonly Member[];
  /** Tickets at bootstrap (later changes go through the log). */
  readonly tickets: readonly TicketDef[];
  readonly timing: CoreTiming;
  readonly limits: CoreLimits;
}

export const defaultLimits: CoreLimits = {
  entriesPerAppendMax: 64,
  logEntriesBeforeSnapshot: 256,
  ticketCountMax: 50_000,
  attrsPerTicketMax: 64,
  historyRecordsMax: historyRecordsMaxDefault,
  attrCharsMax: 256,
  pendingCommandsMax: 1024,
  renewalsInFlightMax: 16,
  snapshotChunkBytesMax: 1024 * 1024,
  snapshotBytesMax: 256 * 1024 * 1024,
};

export interface ConfigViolation {
  readonly field: string;
  readonly message: string;
}

/** Checks every field and every relation; returns all violations (empty when valid). */
export function validateCoreConfig(config: CoreConfig): ConfigViolation[] {
  const out: ConfigViolation[] = [];
  const t = config.timing;
  const bad = (field: string, message: string): void => {
    out.push({ field, message });
  };
  const positiveInts: Array<[string, number]> = [
    ['timing.heartbeatIntervalMs', t.heartbeatIntervalMs],
    ['timing.electionTimeoutMs', t.electionTimeoutMs],
    ['timing.renewIntervalMs', t.renewIntervalMs],
    ['timing.renewRetryMs', t.renewRetryMs],
    ['timing.effectRetryMs', t.effectRetryMs],
    ['timing.siteAliveWindowMs', t.siteAliveWindowMs],
  ];
  for (const [field, v] of positiveInts) {
    if (!Number.isSafeInteger(v) || v <= 0) bad(field, `must be a positive integer (got ${v})`);
  }
  if (!Number.isSafeInteger(t.clockDriftPpmMax) || t.clockDriftPpmMax < 0 || t.clockDriftPpmMax > 100_000) {
    bad('timing.clockDriftPpmMax', `must be an integer in [0, 100000] (got ${t.clockDriftPpmMax})`);
  }
  if (t.heartbeatIntervalMs * 2 > t.electionTimeoutMs) {
    bad('timing.heartbeatIntervalMs', `must be at most half of electionTimeoutMs (${t.heartbeatIntervalMs} vs ${t.electionTimeoutMs})`);
  }
  const leaderLease = leaderLeaseDurationMs(t.electionTimeoutMs, Math.min(Math.max(t.clockDriftPpmMax, 0), 100_000));
  if (leaderLease <= t.heartbeatIntervalMs) {
    bad('timing.electionTimeoutMs', `leader lease ${leaderLease} ms (electionTimeout shrunk by the drift bound) must exceed heartbeatIntervalMs ${t.heartbeatIntervalMs}`);
  }
  if (t.renewRetryMs > t.renewIntervalMs) {
    bad('timing.renewRetryMs', `must not exceed renewIntervalMs (${t.renewRetryMs} > ${t.renewIntervalMs})`);
  }
  if (t.siteAliveWindowMs < 2 * t.renewIntervalMs) {
    bad('timing.siteAliveWindowMs', `must be at least 2 × renewIntervalMs so one lost renewal does not make a site look dead`);
  }
  for (const [name, v] of Object.entries(config.limits)) {
    if (!Number.isSafeInteger(v) || v <= 0) bad(`limits.${name}`, `must be a positive integer (got ${v})`);
  }
  if (config.limits.historyRecordsMax > historyRecordsLimit) {
    bad('limits.historyRecordsMax', `must not exceed ${historyRecordsLimit} (got ${config.limits.historyRecordsMax})`);
  }
  const ids = new Set<string>();
  let sites = 0;
  for (const m of config.members) {
    if (ids.has(m.id)) bad('members', `member ${m.id} listed twice`);
    ids.add(m.id);
    if (m.kind === 'site') sites += 1;
  }
  if (!ids.has(config.self)) bad('self', `self ${config.self} is not a member`);
  if (sites === 0) bad('members', 'at least one site is needed');
  const names = new Set<string>();
  if (config.limits.snapshotChunkBytesMax > config.limits.snapshotBytesMax) {
    bad('limits.snapshotChunkBytesMax', `must not exceed snapshotBytesMax (${config.limits.snapshotChunkBytesMax} > ${config.limits.snapshotBytesMax})`);
  }
  if (config.tickets.length > config.limits.ticketCountMax) {
    bad('tickets', `${config.tickets.length} tickets exceed ticketCountMax ${config.limits.ticketCountMax}`);
  }
  for (const def of config.tickets) {
    for (const v of validateTicketDef(def, t, config.members)) bad(`tickets.${def.name}.${v.field}`, v.message);
    if (names.has(def.name)) bad(`tickets.${def.name}`, 'ticket defined twice');
    names.add(def.name);
  }
  return out;
}

/** Checks one ticket definition against the formation's timing (also used for `ticket add`). */
export function validateTicketDef(def: TicketDef, t: CoreTiming, members: readonly Member[]): ConfigViolation[] {
  const out: ConfigViolation[] = [];
  const bad = (field: string, message: string): void => {
    out.push({ field, message });
  };
  if (!/^[A-Za-z0-9/-]{1,63}$/.test(def.name)) bad('name', `"${def.name}" must be 1–63 letters, digits, '-' or '/' (as booth)`);
  if (!Number.isSafeInteger(def.leaseDurationMs) || def.leaseDurationMs <= 0) bad('leaseDurationMs', 'must be a positive integer');
  if (!Number.isSafeInteger(def.acquireAfterMs) || def.acquireAfterMs < 0) bad('acquireAfterMs', 'must be a non-negative integer');
  if (!Number.isSafeInteger(def.revokeLeadMs) || def.revokeLeadMs <= 0) bad('revokeLeadMs', 'must be a positive integer');
  // A holder must get two renewal attempts inside one lease, and a lease must
  // outlast a leader election plus one renewal round; otherwise a healthy
  // holder loses its ticket when a leader changes (L2: no false failovers).
  const usable = def.leaseDurationMs - def.revokeLeadMs;
  if (usable < 2 * t.renewIntervalMs) {
    bad('leaseDurationMs', `lease − revokeLead (${usable} ms) must be at least 2 × renewIntervalMs (${2 * t.renewIntervalMs} ms)`);
  }
  if (usable <= 2 * t.electionTimeoutMs + t.renewIntervalMs) {
    bad('leaseDurationMs', `lease − revokeLead (${usable} ms) must exceed 2 × electionTimeoutMs + renewIntervalMs (${2 * t.electionTimeoutMs + t.renewIntervalMs} ms) so a leader change does not cost the ticket`);
  }
  const kinds = new Map(members.map((m) => [m.id as string, m.kind]));
  for (const [site, w] of Object.entries(def.weights)) {
    const kind = kinds.get(site);
    if (kind === undefined) bad(`weights.${site}`, 'names no member');
    else if (kind !== 'site') bad(`weights.${site}`, 'names an arbitrator; arbitrators never hold tickets (S3)');
    if (!Number.isFinite(w)) bad(`weights.${site}`, 'must be a finite number');
  }
  return out;
}
