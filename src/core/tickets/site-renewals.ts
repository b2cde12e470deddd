// The renewals a site has in flight, and what an answer to one of them renews
// (docs/protocol.md §3). A renewal either lists its tickets, and the answer
// names those granted, or goes by index (protocol 1.1): it remembers the
// tickets the site held at that index, and the answer renews exactly those it
// does not refuse. Pure bookkeeping; site-holder.ts applies what it returns.

import type { RenewGrant, RenewRefusal, RenewAllRefusal } from '../messages.js';
import { assert, type Generation, type Index, type MemberId, type Ms } from '../types.js';
import type { TicketTable } from './ticket-table.js';

/** A ticket the committed table gave this site at a renewal's index, with the lease D it had there. */
export interface HeldAtIndex {
  readonly name: string;
  readonly generation: Generation;
  readonly leaseDurationMs: number;
}

/** What an answer says (the fields of a renew-resp that matter here). */
export interface RenewAnswer {
  readonly granted: readonly RenewGrant[];
  readonly refused: ReadonlyArray<{ readonly name: string; readonly reason: RenewRefusal }>;
  readonly since?: Index;
  readonly refusedAll?: RenewAllRefusal;
}

interface InFlight {
  readonly sentAt: Ms;
  /** Null: a list renewal. */
  readonly since: Index | null;
  readonly held: readonly HeldAtIndex[];
}

export class RenewalBook {
  private readonly inFlight = new Map<number, InFlight>();
  /**
   * Renewal sequence numbers of each incarnation start above every earlier
   * incarnation's (MemberInit.renewSeqStart): an answer addressed to an earlier
   * incarnation (delayed across a restart) must never match a renewal sent
   * later, whose send time would give a later lease end than the leader granted.
   */
  private next: number;

  constructor(
    private readonly inFlightMax: number,
    seqStart: number,
  ) {
    this.next = seqStart;
  }

  /** The seq the next renewal will carry (a release's floor). */
  get nextSeq(): number {
    return this.next;
  }

  hasUnanswered(): boolean {
    return this.inFlight.size > 0;
  }

  /** A renewal sent now: by index (`since`, with the tickets held there) or listing its tickets (`since` null). */
  record(since: Index | null, held: readonly HeldAtIndex[], now: Ms): number {
    const seq = this.next++;
    this.inFlight.set(seq, { sentAt: now, since, held });
    // Bounded: forget the oldest unanswered renewal (its answer no longer matters much).
    while (this.inFlight.size > this.inFlightMax) {
      const oldest = this.inFlight.keys().next().value;
      if (oldest === undefined) break;
      this.inFlight.delete(oldest);
    }
    return seq;
  }

  /**
   * The tickets an answer to renewal `seq` renews, each with the D to date its
   * lease by, and the renewal's send time; null when it renews nothing — no
   * such renewal in flight, or refused whole (then it stays in flight: the
   * site retries as if unanswered).
   */
  take(seq: number, answer: RenewAnswer, tableLeaseMs: (name: string) => number | undefined): { sentAt: Ms; renewed: readonly HeldAtIndex[]; held: readonly HeldAtIndex[] } | null {
    const p = this.inFlight.get(seq);
    if (p === undefined || answer.refusedAll !== undefined) return null;
    // Older renewals are superseded by this answer (it was sent later than them only if seq is larger,
    // and their answers would give an earlier lease end anyway).
    for (const k of [...this.inFlight.keys()]) if (k <= seq) this.inFlight.delete(k);
    const renewed: HeldAtIndex[] = [];
    for (const g of answer.granted) {
      // The D the leader dated its view with (RenewGrant); from an older leader, the table's.
      const leaseDurationMs = g.leaseDurationMs ?? tableLeaseMs(g.name);
      if (leaseDurationMs !== undefined) renewed.push({ name: g.name, generation: g.generation, leaseDurationMs });
    }
    if (p.since !== null && answer.since === p.since) {
      // Nothing granted by name, nothing refused: the renewal's own list, renewed whole (lease-cohort.ts moves it at once).
      if (renewed.length === 0 && answer.refused.length === 0) return { sentAt: p.sentAt, renewed: p.held, held: p.held };
      // By index: every ticket held at `since` but those refused. The leader refused each ticket
      // changed after `since`, so it renewed each of the rest at the generation and D held there.
      const refused = new Set(answer.refused.map((r) => r.name));
      for (const h of p.held) if (!refused.has(h.name)) renewed.push(h);
    }
    return { sentAt: p.sentAt, renewed, held: p.held };
  }
}

/** A renewal by index: the table's applied index, the tickets held there that are renewed, and those given up. */
export interface ByIndexRenewal {
  readonly since: Index;
  readonly except: readonly string[];
  readonly held: readonly HeldAtIndex[];
}

/**
 * Works out renewals by index (SiteHolder.renewalByIndex), keeping the last one: the same table at
 * the same index, with no ticket of the site's changed since (`version`), gives the same renewal —
 * the same objects, so that an answer to it can be known for a renewal of the same list
 * (lease-cohort.ts) and 10 000 tickets are not listed again every period.
 */
export class ByIndexRenewals {
  private last: { table: object; at: Index; version: number; out: ByIndexRenewal | null } | null = null;

  renewal(
    table: Pick<TicketTable, 'appliedIndex' | 'heldBy' | 'get'>,
    self: MemberId,
    version: number,
    holder: (name: string) => { readonly gen: Generation | null; readonly releasedGen: Generation | null } | undefined,
  ): ByIndexRenewal | null {
    const c = this.last;
    if (c !== null && c.table === table && c.at === table.appliedIndex && c.version === version) return c.out;
    const held: HeldAtIndex[] = [];
    const except: string[] = [];
    for (const name of table.heldBy(self)) {
      const [t, h] = [table.get(name), holder(name)];
      assert(t !== undefined && t.holder === self, `ticket ${name} indexed as held here but not in the table`);
      // Held at that generation and not given up (a holder view behind the table counts as given up).
      if (h !== undefined && h.gen === t.generation && h.releasedGen !== h.gen) held.push({ name, generation: t.generation, leaseDurationMs: t.def.leaseDurationMs });
      else except.push(name);
    }
    const out = except.length > held.length ? null : { since: table.appliedIndex, except, held };
    this.last = { table, at: table.appliedIndex, version, out };
    return out;
  }
}
