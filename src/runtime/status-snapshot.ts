// What the status page (issue 13, item 5) shows, as one plain object: this
// member's view of the tickets, of the other members and of the registry, the
// last history entries and the last events it reported. Built on demand from
// synchronous reads of the running member (as the metrics are), so it costs
// nothing between requests; bounded, so a formation with 10 000 tickets gives
// a page of ticketsShownMax rows and says how many it left out (`tollbooth
// list` and /metrics have them all).

import type { HistoryRecord } from '../core/tickets/ticket-table.js';
import type { FormationEvent } from './formation-events.js';
import type { MemberReadings } from './member-readings.js';

/** Ticket rows on the page; the rest are counted, not shown. */
export const statusTicketsShownMax = 200;
/** History entries on the page (newest first). */
export const statusHistoryShownMax = 20;
/** Events this member reported, kept for the page (newest first). */
export const statusEventsShownMax = 20;

export interface StatusTicket {
  readonly name: string;
  readonly mode: string;
  readonly holder: string | null;
  readonly generation: number;
  readonly standby: boolean;
  readonly managed: boolean;
  readonly leaseDurationMs: number;
  /** Lease left in this member's view when the snapshot was taken; null when unknown here. */
  readonly leaseLeftMs: number | null;
  /** At a site: whether its CIB has the ticket granted (confirmed write); null elsewhere. */
  readonly grantedHere: boolean | null;
  readonly attrs: Readonly<Record<string, string>>;
}

export interface StatusMember {
  readonly id: string;
  readonly kind: string;
  readonly self: boolean;
  /** Raft role: this member's own, `leader` for the leader it follows, else `follower`. */
  readonly role: string;
  /** Gossip's view (alive, suspect, dead), the transport link's state without gossip; null for this member. */
  readonly state: string | null;
  readonly rttMs: number | null;
  /** `direct`, `via <member>` or `none`; null for this member. */
  readonly route: string | null;
}

/** A history entry, with who caused it in words and when the leader appended it (issue 13 item 3). */
export interface StatusHistoryEntry extends HistoryRecord {
  /** The cause in words (describeCause). */
  readonly by: string;
  /** The leader's wall clock when it appended the entry, Unix ms; null when the entry carries none. */
  readonly timeUnixMs: number | null;
}

/** The cause of a history entry in words, short: what the page shows when the host gives no describer. */
export function describeCauseBriefly(c: HistoryRecord['cause']): string {
  return c.by === 'auto' ? `auto ${c.reason}` : `admin${c.force ? ' (forced)' : ''}`;
}

export interface StatusSnapshot {
  readonly self: string;
  readonly kind: 'site' | 'arbitrator';
  readonly formation: string;
  readonly version: string;
  /** Wall clock of this member when the snapshot was taken, Unix ms. */
  readonly generatedAtUnixMs: number;
  readonly registry: { readonly role: string; readonly term: number; readonly leader: string | null; readonly commit: number };
  readonly tickets: readonly StatusTicket[];
  /** All tickets, shown or not. */
  readonly ticketCount: number;
  readonly members: readonly StatusMember[];
  /** Newest first. */
  readonly history: readonly StatusHistoryEntry[];
  /** Newest first. */
  readonly events: readonly FormationEvent[];
}

export interface StatusFeedComponents extends MemberReadings {
  readonly wallClockMs: () => number;
  /** A history entry's cause in words (the CLI's `tollbooth history` wording); describeCauseBriefly without. */
  readonly describeCause?: (cause: HistoryRecord['cause']) => string;
}

/** The page's data source: snapshots on demand, and the member's event stream (the one `tollbooth watch` reads). */
export interface StatusSource {
  snapshot(): StatusSnapshot;
  /** Calls `listener` with every later event; returns the function that stops it. */
  subscribe(listener: (e: FormationEvent) => void): () => void;
}

/** A running member's StatusSource: keeps the last events it reported for the page. */
export class StatusFeed implements StatusSource {
  private readonly recent: FormationEvent[] = [];
  private readonly stopRecording: () => void;

  constructor(private readonly c: StatusFeedComponents) {
    this.stopRecording = c.events.subscribe((e) => {
      this.recent.unshift(e);
      if (this.recent.length > statusEventsShownMax) this.recent.pop();
    });
  }

  subscribe(listener: (e: FormationEvent) => void): () => void {
    return this.c.events.subscribe(listener);
  }

  stop(): void {
    this.stopRecording();
  }

  snapshot(): StatusSnapshot {
    const core = this.c.pump.core;
    const st = core.status();
    const all = this.c.tickets();
    const history = core.history();
    return {
      self: this.c.self,
      kind: this.c.kind,
      formation: this.c.formation,
      version: this.c.version,
      generatedAtUnixMs: this.c.wallClockMs(),
      registry: { role: st.role, term: st.term, leader: st.leader, commit: st.commit },
      tickets: all.slice(0, statusTicketsShownMax).map((t) => ({
        name: t.name,
        mode: t.mode,
        holder: t.holder,
        generation: t.generation,
        standby: t.standby,
        managed: t.managed,
        leaseDurationMs: t.leaseDurationMs,
        leaseLeftMs: t.leaseLeftMs,
        grantedHere: t.grantedHere,
        attrs: t.attrs,
      })),
      ticketCount: all.length,
      members: this.members(),
      history: history
        .slice(-statusHistoryShownMax)
        .reverse()
        .map((h) => {
          // `wallMs`: the appending leader's clock, in entries of protocol 1.1 and later (absent before).
          const wallMs = (h as { readonly wallMs?: unknown }).wallMs;
          return { ...h, by: (this.c.describeCause ?? describeCauseBriefly)(h.cause), timeUnixMs: typeof wallMs === 'number' && Number.isFinite(wallMs) ? wallMs : null };
        }),
      events: [...this.recent],
    };
  }

  /** Every configured member: its kind and role, and how this member sees it (gossip, else the transport link). */
  private members(): StatusMember[] {
    const core = this.c.pump.core;
    const st = core.status();
    const gossip = new Map((core.peers()?.peers ?? []).map((p) => [p.id as string, p]));
    const links = new Map(this.c.transport.peers().map((l) => [l.id as string, l]));
    return st.members.map((m) => {
      const self = m.id === st.id;
      const role = self ? st.role : m.id === st.leader ? 'leader' : 'follower';
      if (self) return { id: m.id, kind: m.kind, self, role, state: null, rttMs: null, route: null };
      const g = gossip.get(m.id);
      const link = links.get(m.id);
      const route = g === undefined ? (link?.state === 'connected' ? 'direct' : 'none') : g.route === null ? 'none' : 'via' in g.route ? `via ${g.route.via}` : 'direct';
      return { id: m.id, kind: m.kind, self, role, state: g?.state ?? link?.state ?? null, rttMs: g?.rttMs ?? link?.rttMs ?? null, route };
    });
  }
}
