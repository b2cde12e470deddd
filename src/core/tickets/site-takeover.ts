// The hand-over of a grant between two nodes of one site (docs/protocol.md
// §10, docs/operations.md "move the agent"): a site agent that starts on
// another node of its site finds in the site's CIB a grant that its
// predecessor wrote, with booth's `expires` still ahead but no deadline of its
// own lease guard. It holds that grant untouched — neither revoked (the
// resources would stop) nor written — until the registry answers a renewal of
// its generation. Confirmed, the grant is written again with this store's
// deadline (granted → granted: nothing restarts; this node's guard is armed
// first) — at once, on the answer alone, when the sink said the grant's standby
// and geo attributes (CibTicketState) and the deadline the lease gives lies past
// `expires` (takeoverGrant): the old node's lease guard, whose deadline is that
// `expires`, then finds the same term with a later `expires` and stands down,
// however late this store's table arrives (until then it was written only once
// the table showed it, and a table slower than `expires` lost the grant to the
// old guard: --live-changes seeds 1–300 at a8274ad kept 192 of 432 fast-move
// grants). The write is renewed as a guard update would move it, and the hold
// lasts until that lease's revoke time; once the table shows the generation the
// holder adopts the lease (nothing written again when standby and attributes
// agree). Refused, or unconfirmed when `expires` comes, the hold ends and the
// holder revokes it as it always did. A hold that goes on past `expires` keeps
// a grant not written again only until the old node's lease guard revokes it:
// from then on the holder asks the host to read the sink back, and a read that
// no longer shows the grant ends the take-over — the ticket is then one this
// site does not hold (simulator --live-changes seed 249, and 135 on f2e6fa4: a
// hold renewed by every answer while the new store's table lagged believed for
// 17.3 s and 9.5 s in grants the old guard had revoked).
// Pure bookkeeping; site-holder.ts owns one.

import { holderRevokeAt } from '../lease.js';
import { assert, ms, type Generation, type MemberId, type Ms } from '../types.js';
import type { HeldTicket, Issued } from './held-ticket.js';
import { assertGuardInsideLease } from './holder-checks.js';
import type { CibTicketState } from './holder-effects.js';
import { guardNeedsExtending } from './holder-guard.js';
import type { HeldAtIndex } from './site-renewals.js';

/** A grant's standby and geo attributes as the CIB holds them (CibTicketState): what a take-over writes it again with. */
interface CibGrant {
  readonly standby: boolean;
  readonly attrs: Readonly<Record<string, string>>;
}

interface Takeover {
  /** The generation the CIB shows (booth's `term`). */
  readonly gen: Generation;
  /** booth's `expires` on the local clock, less a slack: the latest the hold may last unconfirmed. */
  readonly holdUntil: Ms;
  /** The lease an answered renewal of `gen` gave (null until one is answered), and its D. */
  leaseEnd: Ms | null;
  leaseMs: number;
  /** The registry said another site or generation holds the ticket (or that it is gone). */
  refused: boolean;
  /** When the take-over began: a sink read begun earlier says nothing of it. */
  readonly since: Ms;
  /** The next time the sink is to be read back while the hold lasts: from `holdUntil` (`expires`) on. */
  readAt: Ms;
  /** The grant's standby and attributes in the CIB; null: unknown (then nothing is written before the table shows it). */
  readonly cib: CibGrant | null;
}

/** A confirmed take-over the table does not show yet, with what the holder needs to write it again (takeoverGrant). */
export interface TakeoverWrite extends CibGrant {
  readonly gen: Generation;
  readonly leaseEnd: Ms;
  readonly leaseMs: number;
  readonly holdUntil: Ms;
}

/** What the holder does for a ticket now (Takeovers.step; a read of the sink it wants: Takeovers.wantsRead). */
export interface TakeoverStep {
  /** The take-over keeps the ticket: the holder issues nothing else for it now. */
  readonly hold: boolean;
  /** When to look again (null: not a take-over's business). */
  readonly wakeAt: Ms | null;
  /** The grant to write again now, whatever the last effect (takeoverGrant). */
  readonly write: TakeoverGrant | null;
}

/** The grant effect of a take-over (takeoverGrant), as SiteHolder.issue takes it. */
export type TakeoverGrant = Omit<Issued, 'id' | 'confirmed' | 'confirmedAt'>;

/** What the holder does with a ticket now: nothing special, hold it untouched until `until`, or adopt the confirmed lease. */
export type TakeoverVerdict =
  | { readonly kind: 'none' }
  /**
   * `wakeAt`: the next look (the hold's end or its next read); `read`: the host is to read the sink back now;
   * `write`: confirmed, with the CIB's attributes known: the holder may write the grant again (takeoverGrant).
   */
  | { readonly kind: 'hold'; readonly until: Ms; readonly wakeAt: Ms; readonly read: boolean; readonly write: TakeoverWrite | null }
  | { readonly kind: 'adopt'; readonly leaseEnd: Ms; readonly leaseMs: number };

/** Refusals that say this site does not hold the CIB's generation. */
const lostReasons: ReadonlySet<string> = new Set(['not-holder', 'stale-generation', 'no-such-ticket']);

export class Takeovers {
  private readonly book = new Map<string, Takeover>();
  /** A hold past `expires` wants the host to read the sink back (Ready.readSink; SiteHolder.takeSinkRead). */
  private readWanted = false;

  constructor(
    /** How often the sink is read back while a hold lasts past `expires`. */
    private readonly readEveryMs: number,
    /** This site: the owner a take-over's grant is written with. */
    private readonly owner: MemberId,
    /** The least of a lease that a raised revoke lead leaves (lease.ts usableLeaseMinMs). */
    private readonly usableMinMs: number,
  ) {}

  /** A grant found at start-up without a live deadline of this store's guard, `expires` at `holdUntil` (local clock). */
  add(c: CibTicketState, holdUntil: Ms, now: Ms): void {
    const cib = !c.granted || c.shown === undefined ? null : { standby: c.shown.standby, attrs: c.shown.attrs };
    if (holdUntil > now) this.book.set(c.name, { gen: c.generation, holdUntil, leaseEnd: null, leaseMs: 0, refused: false, since: now, readAt: holdUntil, cib });
  }

  /** Whether a renewal must list tickets (a take-over renews what the CIB holds, which the table may not show). */
  pending(): boolean {
    for (const tk of this.book.values()) if (!tk.refused) return true;
    return false;
  }

  /** The generation to renew `name` at while its take-over waits for the registry's word, else null. */
  renewGen(name: string): Generation | null {
    const tk = this.book.get(name);
    return tk === undefined || tk.refused ? null : tk.gen;
  }

  /** A renewal's answer; returns the tickets whose take-over changed. */
  answered(sentAt: Ms, renewed: readonly HeldAtIndex[], refused: ReadonlyArray<{ name: string; reason: string }>, now: Ms, leaseEnd: (sentAt: number, receivedAt: number, leaseDurationMs: number) => number): string[] {
    const changed: string[] = [];
    if (this.book.size === 0) return changed;
    for (const g of renewed) {
      const tk = this.book.get(g.name);
      if (tk === undefined || tk.refused || tk.gen !== g.generation) continue;
      const end = ms(leaseEnd(sentAt, now, g.leaseDurationMs));
      // As for every lease (site-holder.ts): measured from the send time, at most D past the answer.
      assert(sentAt <= now && end <= now + g.leaseDurationMs, `take-over lease end of ${g.name} (${end}) past the answer at ${now} plus ${g.leaseDurationMs} ms`);
      if (tk.leaseEnd === null || end > tk.leaseEnd) tk.leaseEnd = end;
      tk.leaseMs = Math.max(tk.leaseMs, g.leaseDurationMs);
      changed.push(g.name);
    }
    for (const r of refused) {
      const tk = this.book.get(r.name);
      if (tk === undefined || !lostReasons.has(r.reason)) continue;
      tk.refused = true;
      changed.push(r.name);
    }
    return changed;
  }

  /**
   * Adopt once the registry confirmed the CIB's generation and the table (`heldGen`, `tableGen`)
   * shows it; hold while unrefused, runnable here and before the deadline (`expires` unconfirmed,
   * the confirmed lease's revoke time after); otherwise the take-over ends. `revokeLeadMs` is null
   * for a ticket this store's table does not know yet (added after the config file this agent read,
   * its snapshot still on the way): a confirmed lease is then held with the largest lead any valid
   * definition allows (lease − usableMinMs: config.ts), never later than a known lead would hold it,
   * and at least until `expires` as unconfirmed.
   */
  verdict(name: string, heldGen: Generation | null, tableGen: Generation | undefined, canRun: boolean, revokeLeadMs: number | null, now: Ms): TakeoverVerdict {
    const tk = this.book.get(name);
    if (tk === undefined) return { kind: 'none' };
    if (!tk.refused && canRun && tk.leaseEnd !== null && heldGen === tk.gen && tableGen === tk.gen) {
      this.book.delete(name);
      return { kind: 'adopt', leaseEnd: tk.leaseEnd, leaseMs: tk.leaseMs };
    }
    const until = holdEnd(tk, revokeLeadMs, this.usableMinMs);
    if (!tk.refused && canRun && now < until) {
      // Past `expires` the old node's guard may have revoked the grant: only a read of the sink tells (sinkRead).
      const read = now >= tk.readAt;
      if (read) tk.readAt = ms(now + this.readEveryMs);
      const write = tk.leaseEnd === null || tk.cib === null ? null : { ...tk.cib, gen: tk.gen, leaseEnd: tk.leaseEnd, leaseMs: tk.leaseMs, holdUntil: tk.holdUntil };
      return { kind: 'hold', until, wakeAt: ms(Math.min(until, tk.readAt)), read, write };
    }
    this.book.delete(name);
    return { kind: 'none' };
  }

  /**
   * The verdict for `h` (its generation in the table `tableGen`, its revoke lead `leadMs`, null when the table
   * does not know it), acted on: an adopted lease becomes h's (no acquire-after: the registry vouches for a grant
   * already in the CIB); a hold says when to look again, whether to read the sink, and what to write (takeoverGrant,
   * with the largest lead any valid definition allows when the table does not know the ticket).
   */
  step(h: HeldTicket, tableGen: Generation | undefined, leadMs: number | null, canRun: boolean, slowestWriteMs: number, now: Ms): TakeoverStep {
    const v = this.verdict(h.name, h.gen, tableGen, canRun, leadMs, now);
    if (v.kind === 'adopt') {
      if (h.leaseEnd === null || v.leaseEnd > h.leaseEnd) Object.assign(h, { leaseEnd: v.leaseEnd, leaseEndHigh: v.leaseEnd, leaseMsHigh: Math.max(h.leaseMsHigh, v.leaseMs) });
      h.acquireReadyAt = ms(Math.min(h.acquireReadyAt, now));
    }
    if (v.kind !== 'hold') return { hold: false, wakeAt: null, write: null };
    if (v.read) this.readWanted = true;
    const w = v.write;
    if (w === null) return { hold: true, wakeAt: v.wakeAt, write: null };
    const lead = leadMs ?? Math.max(0, w.leaseMs - this.usableMinMs);
    const write = takeoverGrant(h.issued, w, lead, slowestWriteMs, this.owner, now);
    if (write !== null) assertGuardInsideLease(write.revokeBy, w.leaseEnd, lead, h.name);
    return { hold: true, wakeAt: v.wakeAt, write };
  }

  /** Whether a read of the sink is wanted (not cleared). */
  wantsRead(): boolean {
    return this.readWanted;
  }

  /** A read of the sink wanted since the last call (cleared). */
  takeRead(): boolean {
    const want = this.readWanted;
    this.readWanted = false;
    return want;
  }

  /** The lease a take-over of `name` was confirmed with (its generation is the CIB's), while unrefused; else null. */
  lease(name: string): { gen: Generation; leaseEnd: Ms } | null {
    const tk = this.book.get(name);
    return tk === undefined || tk.refused || tk.leaseEnd === null ? null : { gen: tk.gen, leaseEnd: tk.leaseEnd };
  }

  /**
   * The sink as the host read it back (begun at `readStartedAt`): a take-over whose grant it does not
   * show at the take-over's generation ends (the old node's guard revoked it at `expires`, or an
   * admin did). Returns the tickets whose take-over ended.
   */
  sinkRead(states: readonly CibTicketState[], readStartedAt: Ms): string[] {
    const ended: string[] = [];
    if (this.book.size === 0) return ended;
    const byName = new Map(states.map((c) => [c.name, c]));
    for (const [name, tk] of this.book) {
      const c = byName.get(name);
      if (readStartedAt < tk.since || (c !== undefined && c.granted && c.generation === tk.gen)) continue;
      this.book.delete(name);
      ended.push(name);
    }
    return ended;
  }
}

/** The latest a take-over may be held now (Takeovers.verdict). */
function holdEnd(tk: Takeover, revokeLeadMs: number | null, usableMinMs: number): Ms {
  if (tk.leaseEnd === null) return tk.holdUntil;
  if (revokeLeadMs !== null) return ms(holderRevokeAt(tk.leaseEnd, revokeLeadMs));
  // Until seed 249 --live-changes, a ticket unknown to the table was held only until `expires`, confirmed or not: a
  // ticket added by `config apply` was revoked by the new agent of a fast move while the registry vouched for it.
  return ms(Math.max(tk.holdUntil, holderRevokeAt(tk.leaseEnd, Math.max(0, tk.leaseMs - usableMinMs))));
}

/**
 * The grant a confirmed take-over writes while the table does not show the ticket yet (docs/protocol.md §10):
 * the CIB's generation, standby and attributes, with this store's deadline from the lease the registry's answer
 * gave (lead `leadMs`) — so the old node's guard, finding a later `expires` at the same term at its deadline,
 * stands down, however late the table comes. Only a deadline past `expires` (`holdUntil`) is written: the write
 * never ends the grant earlier than the hold would keep it. It must land before its deadline (half the lead, as a
 * fresh grant; the slowest recent write, as any rewrite: SiteHolder.mustRewrite). Written again once a write of
 * it is confirmed and a guard update would move it (half its time left passed, or a raised lead moves it earlier).
 * Null: nothing to write now.
 */
export function takeoverGrant(cur: Issued | null, w: TakeoverWrite, leadMs: number, slowestWriteMs: number, owner: MemberId, now: Ms): TakeoverGrant | null {
  const revokeBy = ms(holderRevokeAt(w.leaseEnd, leadMs));
  if (revokeBy <= w.holdUntil || now + Math.max(leadMs / 2, slowestWriteMs) >= revokeBy) return null;
  if (cur !== null && cur.granted && cur.generation === w.gen && cur.revokeBy !== null) {
    // Written by this agent already: again only as a guard update would move it, never while a write is in flight.
    if (!cur.confirmed || revokeBy === cur.revokeBy) return null;
    if (revokeBy > cur.revokeBy && !guardNeedsExtending(cur.revokeBy, revokeBy, now)) return null;
  }
  return { granted: true, standby: w.standby, generation: w.gen, owner, revokeBy, leaseEnd: w.leaseEnd, attrs: w.attrs };
}
