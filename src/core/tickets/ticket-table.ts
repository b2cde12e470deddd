// The registry's replicated state machine: the ticket table. Deterministic,
// applied in log order on every member; its snapshot is the whole table
// (DESIGN.md §2: it is small). Every change is recorded in a bounded history
// so `tollbooth history` can show who moved a ticket and why.

import type { CoreTiming } from '../config.js';
import type { Cause, EntryData } from '../messages.js';
import { generation, index, type Generation, type Index, type MemberId, type TicketDef } from '../types.js';
import { ChangeLog, type GrantAt } from './change-log.js';

export interface TicketState {
  readonly def: TicketDef;
  readonly holder: MemberId | null;
  readonly generation: Generation;
  readonly standby: boolean;
  /** False after an admin revoke: an automatic ticket is not placed again until granted (booth semantics). */
  readonly managed: boolean;
  readonly attrs: Readonly<Record<string, string>>;
  /**
   * The longest lease duration a leader may have answered for the current
   * generation, when it exceeds def.leaseDurationMs: set when a `ticket-change`
   * shortens the lease of a ticket (the old bound stays owed), dropped when the
   * generation changes (every answer for a new generation is given by a leader
   * that applied the change). Committed state, so a new leader honours it too
   * (lease-office.ts: takeOffice). Absent: def.leaseDurationMs.
   */
  readonly leaseDurationHonouredMs?: number;
}

/** The lease duration a leader must honour for a ticket's current generation (ticket-table.ts: leaseDurationHonouredMs). */
export function honouredLeaseMs(t: TicketState): number {
  return Math.max(t.def.leaseDurationMs, t.leaseDurationHonouredMs ?? 0);
}

export interface HistoryRecord {
  readonly index: Index;
  readonly ticket: string;
  readonly change: string;
  readonly holder: MemberId | null;
  readonly generation: Generation;
  readonly cause: Cause;
  /** The entry's Entry.wallMs: the leader's wall clock when it appended the entry (absent when it had none). */
  readonly wallMs?: number;
}

export interface TableSnapshot {
  readonly tickets: readonly TicketState[];
  readonly history: readonly HistoryRecord[];
  /**
   * The committed formation config's version: 0 at bootstrap, one more for
   * every applied `config`, `ticket-add`, `ticket-remove` and `ticket-change`
   * (docs/configuration.md §10). Absent in stores written before it existed: 0.
   */
  readonly configVersion?: number;
  /** The formation timings committed at bootstrap (never changed at runtime); absent in stores older than it. */
  readonly timing?: CoreTiming;
}

export type ApplyOutcome =
  /** `skipped`: a grant-batch's items that no longer fitted and changed nothing (absent: none). */
  | { readonly ok: true; readonly skipped?: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * History records kept in the table (and so in every snapshot) unless the
 * formation file says otherwise (`tollbooth-history-records`). 1024: what
 * every member before protocol 1.1 keeps and accepts in a snapshot, so a
 * formation that keeps the default never sends an older member a snapshot it
 * refuses; about 0.3 MB of snapshot (measured: docs/configuration.md).
 */
export const historyRecordsMaxDefault = 1024;

/**
 * The most history records a table keeps or a snapshot may carry, whatever
 * the config says: the whole history is encoded into every snapshot (each
 * logEntriesBeforeSnapshot entries) and held in memory on every member.
 */
export const historyRecordsLimit = 16_384;

export interface TableLimits {
  readonly ticketCountMax: number;
  readonly attrsPerTicketMax: number;
  /** History records kept, oldest dropped first; default historyRecordsMaxDefault. */
  readonly historyRecordsMax?: number;
}

/**
 * Checks a ticket definition that an entry brings (`ticket-add`,
 * `ticket-change`) against the formation it applies to: null when it fits,
 * else the reason. `at`: the index of the entry being applied — the check
 * must then read only what the log up to there says (the configuration in
 * force at `at`, never the latest one in the log), so that every member, also
 * one replaying its log after a restart with later config entries already
 * appended, applies or refuses the entry alike (config.ts: validateTicketDef).
 * Null: an admin command checked before it is proposed (the latest
 * configuration).
 */
export type TicketDefCheck = (def: TicketDef, at: Index | null) => string | null;

const acceptAnyDef: TicketDefCheck = () => null;

export class TicketTable {
  private readonly tickets = new Map<string, TicketState>();
  private history: HistoryRecord[] = [];
  private version = 0;
  private timingCommitted: CoreTiming | undefined;
  /** The wall time of the entry being applied (apply), for its history record. */
  private applyingWallMs: number | undefined;
  // Derived, not replicated (rebuilt on load): who holds what, the last index applied, and the
  // tickets the latest entries changed — what a renewal by index needs (docs/protocol.md §3).
  private readonly held = new Map<MemberId, Set<string>>();
  private applied: Index;
  private readonly changes: ChangeLog;

  constructor(
    private readonly limits: TableLimits,
    private readonly checkDefinition: TicketDefCheck = acceptAnyDef,
    /** The log index this table's state is at when built (a snapshot's); unknown: no change after any index is known. */
    loadedAt?: Index,
  ) {
    this.applied = loadedAt ?? index(0);
    this.changes = new ChangeLog(loadedAt ?? Number.POSITIVE_INFINITY);
  }

  static fromDefs(defs: readonly TicketDef[], limits: TableLimits, timing?: CoreTiming): TicketTable {
    const table = new TicketTable(limits, acceptAnyDef, index(0));
    table.timingCommitted = timing;
    for (const def of defs) {
      table.tickets.set(def.name, {
        def,
        holder: null,
        generation: generation(0),
        standby: false,
        managed: true,
        attrs: {},
      });
    }
    return table;
  }

  /** `loadedAt`: the index of the snapshot the table comes from (without it the table cannot answer renewals by index). */
  static fromSnapshot(snap: TableSnapshot, limits: TableLimits, checkDef?: TicketDefCheck, loadedAt?: Index): TicketTable {
    const table = new TicketTable(limits, checkDef, loadedAt);
    for (const t of snap.tickets) {
      table.tickets.set(t.def.name, t);
      table.hold(t.def.name, null, t.holder);
    }
    // A snapshot from a leader that keeps more history than this member: keep the newest.
    table.history = snap.history.slice(Math.max(0, snap.history.length - table.historyMax));
    table.version = snap.configVersion ?? 0;
    table.timingCommitted = snap.timing;
    return table;
  }

  snapshot(): TableSnapshot {
    // Version and timing only when there is something to say: a table that never changed
    // its config encodes as it did before they existed (snapshots, digests, stores).
    return {
      tickets: [...this.tickets.values()],
      history: [...this.history],
      ...(this.version === 0 ? {} : { configVersion: this.version }),
      ...(this.timingCommitted === undefined ? {} : { timing: this.timingCommitted }),
    };
  }

  /** Whether a ticket definition fits this formation as it is now, for a command before it is proposed (null) or why not. */
  checkDef(def: TicketDef): string | null {
    return this.checkDefinition(def, null);
  }

  /** The committed formation config's version (TableSnapshot.configVersion). */
  get configVersion(): number {
    return this.version;
  }

  /** The timings committed at bootstrap, if this store recorded them. */
  get timing(): CoreTiming | undefined {
    return this.timingCommitted;
  }

  get(name: string): TicketState | undefined {
    return this.tickets.get(name);
  }

  all(): IterableIterator<TicketState> {
    return this.tickets.values();
  }

  names(): string[] {
    return [...this.tickets.keys()];
  }

  get size(): number {
    return this.tickets.size;
  }

  /** How many history records this table keeps. */
  get historyMax(): number {
    return this.limits.historyRecordsMax ?? historyRecordsMaxDefault;
  }

  /** The index of the last entry applied to this table (its state is the log's up to there). */
  get appliedIndex(): Index {
    return this.applied;
  }

  /** The tickets this table gives `member` (a view: do not keep it across applies). */
  heldBy(member: MemberId): ReadonlySet<string> {
    return this.held.get(member) ?? noNames;
  }

  /**
   * The tickets that entries after `since` changed (removed ones included), or
   * null when this table cannot tell — it was loaded after `since`, or kept
   * fewer changes — or they are more than `max` (docs/protocol.md §3).
   */
  changedAfter(since: number, max: number): Set<string> | null {
    return this.changes.changedAfter(since, max);
  }

  /** changedAfter, with each changed ticket's grant at `since` (change-log.ts GrantAt; null: it did not exist then). */
  grantsChangedAfter(since: number, max: number): Map<string, GrantAt | null> | null {
    return this.changes.grantsAt(since, max);
  }

  private hold(name: string, before: MemberId | null, after: MemberId | null): void {
    if (before === after) return;
    if (before !== null) this.held.get(before)?.delete(name);
    if (after === null) return;
    let names = this.held.get(after);
    if (names === undefined) this.held.set(after, (names = new Set()));
    names.add(name);
  }

  historyOf(ticket?: string): HistoryRecord[] {
    return ticket === undefined ? [...this.history] : this.history.filter((h) => h.ticket === ticket);
  }

  /**
   * Applies one committed entry. Entries that no longer fit (a stale compare-and-set) change nothing.
   * `wallMs`: the entry's Entry.wallMs, copied into its history record.
   */
  apply(data: EntryData, at: Index, wallMs?: number): ApplyOutcome {
    this.applyingWallMs = wallMs;
    this.applied = at;
    const outcome = this.applyOne(data, at);
    if (outcome.ok && isConfigChange(data)) this.version += 1;
    return outcome;
  }

  private applyOne(data: EntryData, at: Index): ApplyOutcome {
    switch (data.type) {
      case 'noop':
        return { ok: true };
      case 'config':
        // A forced configuration (docs/operations.md §8 (disaster recovery)) goes into every ticket's history: who and why.
        if (data.forced !== undefined) {
          const { commandId, requester } = data.forced;
          const cause: Cause = { by: 'admin', commandId, force: true, ...(requester === undefined ? {} : { requester }) };
          const change = forcedRemovalChange(data.forced.removed);
          for (const t of this.tickets.values()) this.record({ index: at, ticket: t.def.name, change, holder: t.holder, generation: t.generation, cause });
        }
        return { ok: true };
      case 'grant':
        return this.grant(data.ticket, data.site, data.expectedGeneration, at, data.cause);
      case 'grant-batch': {
        // Each item is its own compare-and-set: one that no longer fits leaves the others to apply.
        const skipped = data.grants.filter((g) => !this.grant(g.ticket, g.site, g.expectedGeneration, at, data.cause).ok).map((g) => g.ticket);
        return skipped.length === 0 ? { ok: true } : { ok: true, skipped };
      }
      case 'revoke': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (t.generation !== data.expectedGeneration) return { ok: false, reason: 'stale-generation' };
        // The generation grows on revoke too, so a renewal for the old grant can never match again (S2).
        const next: TicketState = { ...withoutHonoured(t), holder: null, generation: generation(t.generation + 1), managed: false, standby: false };
        this.set(next, at, 'revoke', data.cause);
        return { ok: true };
      }
      case 'standby': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        this.set({ ...t, standby: data.standby }, at, data.standby ? 'standby' : 'activate', data.cause);
        return { ok: true };
      }
      case 'attr-set': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (!Object.hasOwn(t.attrs, data.key) && Object.keys(t.attrs).length >= this.limits.attrsPerTicketMax) {
          return { ok: false, reason: 'too-many-attributes' };
        }
        this.set({ ...t, attrs: { ...t.attrs, [data.key]: data.value } }, at, `attr-set ${data.key}`, data.cause);
        return { ok: true };
      }
      case 'attr-delete': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (!Object.hasOwn(t.attrs, data.key)) return { ok: false, reason: 'no-such-attribute' };
        const attrs = { ...t.attrs };
        delete attrs[data.key];
        this.set({ ...t, attrs }, at, `attr-delete ${data.key}`, data.cause);
        return { ok: true };
      }
      case 'ticket-add':
        return this.add(data.def, at, data.cause);
      case 'ticket-remove': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (t.holder !== null) return { ok: false, reason: 'ticket-held' };
        this.tickets.delete(data.ticket);
        this.changes.note(at, data.ticket, grantOf(t));
        this.record({ index: at, ticket: data.ticket, change: 'remove', holder: null, generation: t.generation, cause: data.cause });
        return { ok: true };
      }
      case 'ticket-change':
        return this.change(data.def, at, data.cause);
    }
  }

  private grant(name: string, site: MemberId, expected: Generation, at: Index, cause: Cause): ApplyOutcome {
    const t = this.tickets.get(name);
    if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
    if (t.generation !== expected) return { ok: false, reason: 'stale-generation' };
    // Every grant is a new generation: the fencing token only grows (S2).
    const next: TicketState = { ...withoutHonoured(t), holder: site, generation: generation(t.generation + 1), managed: true, standby: false };
    this.set(next, at, 'grant', cause);
    return { ok: true };
  }

  private add(def: TicketDef, at: Index, cause: Cause): ApplyOutcome {
    if (this.tickets.has(def.name)) return { ok: false, reason: 'ticket-exists' };
    if (this.tickets.size >= this.limits.ticketCountMax) return { ok: false, reason: 'too-many-tickets' };
    const problem = this.checkDefinition(def, at);
    if (problem !== null) return { ok: false, reason: `invalid: ${problem}` };
    // Start above any generation this name had before a removal: every earlier
    // grant or revoke was its own, earlier log entry, so it cannot exceed this index (S2).
    const t: TicketState = { def, holder: null, generation: generation(at), standby: false, managed: true, attrs: {} };
    this.set(t, at, 'add', cause);
    return { ok: true };
  }

  private change(def: TicketDef, at: Index, cause: Cause): ApplyOutcome {
    const t = this.tickets.get(def.name);
    if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
    const problem = this.checkDefinition(def, at);
    if (problem !== null) return { ok: false, reason: `invalid: ${problem}` };
    // The holder, generation and lease stay: a change never moves a held ticket by itself.
    // A shorter lease still owes the longer one to every answer already given for this
    // generation (DESIGN.md §2, issue 11 item 2): keep the longest as the honoured bound.
    const owed = Math.max(honouredLeaseMs(t), def.leaseDurationMs);
    const next: TicketState = { ...withoutHonoured(t), def, ...(owed > def.leaseDurationMs ? { leaseDurationHonouredMs: owed } : {}) };
    this.set(next, at, `change ${describeDefChange(t.def, def)}`, cause);
    return { ok: true };
  }

  private set(t: TicketState, at: Index, change: string, cause: Cause): void {
    const before = this.tickets.get(t.def.name);
    this.hold(t.def.name, before?.holder ?? null, t.holder);
    this.tickets.set(t.def.name, t);
    this.changes.note(at, t.def.name, before === undefined ? null : grantOf(before));
    this.record({ index: at, ticket: t.def.name, change, holder: t.holder, generation: t.generation, cause });
  }

  private record(h: HistoryRecord): void {
    const wallMs = this.applyingWallMs;
    this.history.push(wallMs === undefined ? h : { ...h, wallMs });
    const max = this.historyMax;
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
  }
}

const noNames: ReadonlySet<string> = new Set();

/** Entries that change the committed formation config, and so its version (TableSnapshot.configVersion). */
export function isConfigChange(d: EntryData): boolean {
  return d.type === 'config' || d.type === 'ticket-add' || d.type === 'ticket-remove' || d.type === 'ticket-change';
}

/** Names listed in a forced removal's history text: with member names of up to 64 characters it fits a record's change text. */
const forcedNamesListedMax = 3;

function forcedRemovalChange(removed: readonly MemberId[]): string {
  const more = removed.length - forcedNamesListedMax;
  return `forced removal of ${removed.slice(0, forcedNamesListedMax).join(', ')}${more > 0 ? ` and ${more} more` : ''}, confirmed fenced`;
}

function grantOf(t: TicketState): GrantAt {
  return { holder: t.holder, generation: t.generation, leaseDurationMs: t.def.leaseDurationMs };
}

function withoutHonoured(t: TicketState): TicketState {
  if (t.leaseDurationHonouredMs === undefined) return t;
  const { leaseDurationHonouredMs: _dropped, ...rest } = t;
  return rest;
}

/** The settings a change touches, for history ("expire 600000→300000 ms"); bounded by the fields a TicketDef has. */
export function describeDefChange(before: TicketDef, after: TicketDef): string {
  const parts: string[] = [];
  if (before.mode !== after.mode) parts.push(`mode ${before.mode}→${after.mode}`);
  if (before.leaseDurationMs !== after.leaseDurationMs) parts.push(`expire ${before.leaseDurationMs}→${after.leaseDurationMs} ms`);
  if (before.revokeLeadMs !== after.revokeLeadMs) parts.push(`revoke-lead ${before.revokeLeadMs}→${after.revokeLeadMs} ms`);
  if (before.acquireAfterMs !== after.acquireAfterMs) parts.push(`acquire-after ${before.acquireAfterMs}→${after.acquireAfterMs} ms`);
  if (JSON.stringify(sortedWeights(before.weights)) !== JSON.stringify(sortedWeights(after.weights))) parts.push('weights');
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

function sortedWeights(w: Readonly<Record<string, number>>): Array<[string, number]> {
  return Object.entries(w).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
