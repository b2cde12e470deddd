// What a site's sink showed at start-up of a ticket it does not hold granted
// (site-holder.ts). A sink whose start-up read names every ticket it holds a
// state of (the file sink: one file per ticket) shows a ticket it does not
// name as not granted; a ticket it shows not granted needs no write at
// start-up: booth writes nothing for a ticket it does not hold (issue 15: a
// 10,000-ticket formation's sites wrote 10,000 "not granted" files each
// before and beside the grants). A grant the sink shows is not taken here:
// the holder keeps or revokes it (S1). The crm_ticket sink's read leaves out
// ticket states without this formation's `booth-cfg-name`, which may be
// granted by hand: it names no ticket as complete, and every ticket it does
// not show granted gets its start-up revoke, as before. Pure.

import type { CibTicketState } from './holder-effects.js';
import type { HeldTicket } from './held-ticket.js';
import { generation, type Ms } from '../types.js';

export class SinkAtStart {
  private readonly listed = new Map<string, CibTicketState>();
  /** Tickets already looked up: the start-up read speaks only of a ticket's first state in this incarnation. */
  private readonly taken = new Set<string>();

  constructor(
    cib: readonly CibTicketState[],
    /** The read names every ticket the sink holds a state of: one it does not name is not granted there. */
    private readonly complete: boolean,
    /** When the holder was built, after the read: what a later read-back must show (Issued.confirmedAt). */
    private readonly readAt: Ms,
  ) {
    for (const c of cib) this.listed.set(c.name, c);
  }

  /**
   * A ticket first seen by this incarnation (nothing issued yet): given a revoke the start-up read
   * already confirms (no attributes, no standby: a wish for either is written), if the read vouches
   * that the sink shows it not granted; otherwise left alone, for its start-up revoke.
   */
  adopt(h: HeldTicket): void {
    if (!this.complete || this.taken.has(h.name)) return;
    this.taken.add(h.name);
    // The first is written all the same: it times the sink before this incarnation's first grant can be
    // due (the revoke lead is twice the slowest write measured; simulator seed 81: without it a fresh
    // incarnation's first grants, written with the configured lead, landed after their guard deadline).
    if (this.taken.size === 1) return;
    const c = this.listed.get(h.name);
    if (c?.granted === true) return;
    h.issued = { id: 0, granted: false, standby: false, generation: c?.generation ?? generation(0), owner: null, revokeBy: null, attrs: {}, confirmed: true, confirmedAt: this.readAt };
    h.startup = false;
  }
}
