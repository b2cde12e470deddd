// The hand-over of a grant between two nodes of one site (docs/protocol.md
// §10, docs/operations.md "move the agent"): a site agent that starts on
// another node of its site finds in the site's CIB a grant that its
// predecessor wrote, with booth's `expires` still ahead but no deadline of its
// own lease guard. It holds that grant untouched — neither revoked (the
// resources would stop) nor written — until the registry answers a renewal of
// its generation; confirmed, and shown by the table, the holder adopts it and
// writes it again with its own deadline (granted → granted: nothing restarts);
// refused, or unconfirmed when `expires` comes, the hold ends and the holder
// revokes it as it always did. Pure bookkeeping; site-holder.ts owns one.

import { holderRevokeAt } from '../lease.js';
import { assert, ms, type Generation, type Ms } from '../types.js';
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
}

/** What the holder does with a ticket now: nothing special, hold it untouched until `until`, or adopt the confirmed lease. */
export type TakeoverVerdict = { readonly kind: 'none' } | { readonly kind: 'hold'; readonly until: Ms } | { readonly kind: 'adopt'; readonly leaseEnd: Ms; readonly leaseMs: number };

/** Refusals that say this site does not hold the CIB's generation. */
const lostReasons: ReadonlySet<string> = new Set(['not-holder', 'stale-generation', 'no-such-ticket']);

export class Takeovers {
  private readonly book = new Map<string, Takeover>();

  /** A grant found at start-up without a live deadline of this store's guard, `expires` at `holdUntil` (local clock). */
  add(name: string, gen: Generation, holdUntil: Ms, now: Ms): void {
    if (holdUntil > now) this.book.set(name, { gen, holdUntil, leaseEnd: null, leaseMs: 0, refused: false });
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
   * the confirmed lease's revoke time after); otherwise the take-over ends.
   */
  verdict(name: string, heldGen: Generation | null, tableGen: Generation | undefined, canRun: boolean, revokeLeadMs: number | null, now: Ms): TakeoverVerdict {
    const tk = this.book.get(name);
    if (tk === undefined) return { kind: 'none' };
    if (!tk.refused && canRun && tk.leaseEnd !== null && heldGen === tk.gen && tableGen === tk.gen) {
      this.book.delete(name);
      return { kind: 'adopt', leaseEnd: tk.leaseEnd, leaseMs: tk.leaseMs };
    }
    const until = ms(tk.leaseEnd !== null && revokeLeadMs !== null ? holderRevokeAt(tk.leaseEnd, revokeLeadMs) : tk.holdUntil);
    if (!tk.refused && canRun && now < until) return { kind: 'hold', until };
    this.book.delete(name);
    return { kind: 'none' };
  }
}
