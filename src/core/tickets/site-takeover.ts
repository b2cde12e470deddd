// The hand-over of a grant between two nodes of one site (docs/protocol.md
// §10, docs/operations.md "move the agent"): a site agent that starts on
// another node of its site finds in the site's CIB a grant that its
// predecessor wrote, with booth's `expires` still ahead but no deadline of its
// own lease guard. It holds that grant untouched — neither revoked (the
// resources would stop) nor written — until the registry answers a renewal of
// its generation; confirmed, and shown by the table, the holder adopts it and
// writes it again with its own deadline (granted → granted: nothing restarts);
// refused, or unconfirmed when `expires` comes, the hold ends and the holder
// revokes it as it always did. A hold that goes on past `expires` on the
// registry's word keeps a grant only until the old node's lease guard revokes
// it (its deadline is that `expires`): from then on the holder asks the host
// to read the sink back, and a read that no longer shows the grant ends the
// take-over — the ticket is then one this site does not hold (simulator
// --live-changes seed 249, and 135 on f2e6fa4: a hold renewed by every answer
// while the new store's table lagged believed for 17.3 s and 9.5 s in grants
// the old guard had revoked).
// Pure bookkeeping; site-holder.ts owns one.

import { holderRevokeAt } from '../lease.js';
import { assert, ms, type Generation, type Ms } from '../types.js';
import type { CibTicketState } from './holder-effects.js';
import type { HeldAtIndex } from './site-renewals.js';

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
}

/** What the holder does with a ticket now: nothing special, hold it untouched until `until`, or adopt the confirmed lease. */
export type TakeoverVerdict =
  | { readonly kind: 'none' }
  /** `wakeAt`: the next look (the hold's end or its next read); `read`: the host is to read the sink back now. */
  | { readonly kind: 'hold'; readonly until: Ms; readonly wakeAt: Ms; readonly read: boolean }
  | { readonly kind: 'adopt'; readonly leaseEnd: Ms; readonly leaseMs: number };

/** Refusals that say this site does not hold the CIB's generation. */
const lostReasons: ReadonlySet<string> = new Set(['not-holder', 'stale-generation', 'no-such-ticket']);

export class Takeovers {
  private readonly book = new Map<string, Takeover>();

  constructor(
    /** How often the sink is read back while a hold lasts past `expires`. */
    private readonly readEveryMs: number,
  ) {}

  /** A grant found at start-up without a live deadline of this store's guard, `expires` at `holdUntil` (local clock). */
  add(name: string, gen: Generation, holdUntil: Ms, now: Ms): void {
    if (holdUntil > now) this.book.set(name, { gen, holdUntil, leaseEnd: null, leaseMs: 0, refused: false, since: now, readAt: holdUntil });
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
  verdict(name: string, heldGen: Generation | null, tableGen: Generation | undefined, canRun: boolean, revokeLeadMs: number | null, usableMinMs: number, now: Ms): TakeoverVerdict {
    const tk = this.book.get(name);
    if (tk === undefined) return { kind: 'none' };
    if (!tk.refused && canRun && tk.leaseEnd !== null && heldGen === tk.gen && tableGen === tk.gen) {
      this.book.delete(name);
      return { kind: 'adopt', leaseEnd: tk.leaseEnd, leaseMs: tk.leaseMs };
    }
    const until = holdEnd(tk, revokeLeadMs, usableMinMs);
    if (!tk.refused && canRun && now < until) {
      // Past `expires` the old node's guard may have revoked the grant: only a read of the sink tells (sinkRead).
      const read = now >= tk.readAt;
      if (read) tk.readAt = ms(now + this.readEveryMs);
      return { kind: 'hold', until, wakeAt: ms(Math.min(until, tk.readAt)), read };
    }
    this.book.delete(name);
    return { kind: 'none' };
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
