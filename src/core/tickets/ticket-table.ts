// The registry's replicated state machine: the ticket table. Deterministic,
// applied in log order on every member; its snapshot is the whole table
// (DESIGN.md §2: it is small). Every change is recorded in a bounded history
// so `tollbooth history` can show who moved a ticket and why.

import type { Cause, EntryData } from '../messages.js';
import { generation, type Generation, type Index, type MemberId, type TicketDef } from '../types.js';

export interface TicketState {
  readonly def: TicketDef;
  readonly holder: MemberId | null;
  readonly generation: Generation;
  readonly standby: boolean;
  /** False after an admin revoke: an automatic ticket is not placed again until granted (booth semantics). */
  readonly managed: boolean;
  readonly attrs: Readonly<Record<string, string>>;
}

export interface HistoryRecord {
  readonly index: Index;
  readonly ticket: string;
  readonly change: string;
  readonly holder: MemberId | null;
  readonly generation: Generation;
  readonly cause: Cause;
}

export interface TableSnapshot {
  readonly tickets: readonly TicketState[];
  readonly history: readonly HistoryRecord[];
}

export type ApplyOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

/** History records kept in the table (and so in every snapshot). */
export const historyRecordsMax = 1024;

export interface TableLimits {
  readonly ticketCountMax: number;
  readonly attrsPerTicketMax: number;
}

export class TicketTable {
  private readonly tickets = new Map<string, TicketState>();
  private history: HistoryRecord[] = [];

  constructor(private readonly limits: TableLimits) {}

  static fromDefs(defs: readonly TicketDef[], limits: TableLimits): TicketTable {
    const table = new TicketTable(limits);
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

  static fromSnapshot(snap: TableSnapshot, limits: TableLimits): TicketTable {
    const table = new TicketTable(limits);
    for (const t of snap.tickets) table.tickets.set(t.def.name, t);
    table.history = [...snap.history];
    return table;
  }

  snapshot(): TableSnapshot {
    return { tickets: [...this.tickets.values()], history: [...this.history] };
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

  historyOf(ticket?: string): HistoryRecord[] {
    return ticket === undefined ? [...this.history] : this.history.filter((h) => h.ticket === ticket);
  }

  /** Applies one committed entry. Entries that no longer fit (a stale compare-and-set) change nothing. */
  apply(data: EntryData, at: Index): ApplyOutcome {
    switch (data.type) {
      case 'noop':
      case 'config':
        return { ok: true };
      case 'grant': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (t.generation !== data.expectedGeneration) return { ok: false, reason: 'stale-generation' };
        // Every grant is a new generation: the fencing token only grows (S2).
        const next: TicketState = { ...t, holder: data.site, generation: generation(t.generation + 1), managed: true, standby: false };
        this.set(next, at, 'grant', data.cause);
        return { ok: true };
      }
      case 'revoke': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (t.generation !== data.expectedGeneration) return { ok: false, reason: 'stale-generation' };
        // The generation grows on revoke too, so a renewal for the old grant can never match again (S2).
        const next: TicketState = { ...t, holder: null, generation: generation(t.generation + 1), managed: false, standby: false };
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
      case 'ticket-add': {
        if (this.tickets.has(data.def.name)) return { ok: false, reason: 'ticket-exists' };
        if (this.tickets.size >= this.limits.ticketCountMax) return { ok: false, reason: 'too-many-tickets' };
        // Start above any generation this name had before a removal: every earlier
        // grant or revoke was its own, earlier log entry, so it cannot exceed this index (S2).
        const t: TicketState = { def: data.def, holder: null, generation: generation(at), standby: false, managed: true, attrs: {} };
        this.set(t, at, 'add', data.cause);
        return { ok: true };
      }
      case 'ticket-remove': {
        const t = this.tickets.get(data.ticket);
        if (t === undefined) return { ok: false, reason: 'no-such-ticket' };
        if (t.holder !== null) return { ok: false, reason: 'ticket-held' };
        this.tickets.delete(data.ticket);
        this.record({ index: at, ticket: data.ticket, change: 'remove', holder: null, generation: t.generation, cause: data.cause });
        return { ok: true };
      }
    }
  }

  private set(t: TicketState, at: Index, change: string, cause: Cause): void {
    this.tickets.set(t.def.name, t);
    this.record({ index: at, ticket: t.def.name, change, holder: t.holder, generation: t.generation, cause });
  }

  private record(h: HistoryRecord): void {
    this.history.push(h);
    if (this.history.length > historyRecordsMax) this.history.splice(0, this.history.length - historyRecordsMax);
  }
}
