// What a site's sink showed at start-up of a ticket it does not hold granted
// (site-holder.ts). A site writes every ticket it does not hold as a revoke
// once at start-up, with booth's attributes (owner = the registry's holder,
// term = the generation, booth's `-r` at start). Where the start-up read names
// every ticket state the sink holds and all of it (TicketSink.readAtStart
// `complete`, MemberInit.cibComplete: the file sink, one file per ticket; the
// crm_ticket sink, every ticket_state of the CIB status section in one
// `cibadmin -Q --scope status`), a ticket it shows not granted with exactly
// the standby flag, owner, generation and attributes the revoke would write —
// or does not name at all, while the table has it at generation 0 with no
// holder, standby or attributes (never written: Pacemaker reads a ticket
// without state as not granted) — needs no start-up write (issue 15: a
// 10,000-ticket formation's sites wrote 10,000 "not granted" files or
// ticket_states each, ahead of and beside the grants). Any difference is
// written as before: SiteHolder.issue compares what the read showed with what
// the table wants, so a new holder or generation of a ticket not granted here
// is still written at every site (booth's picture). A grant the sink shows is
// not taken here: the holder keeps or revokes it (S1). A state this formation
// did not write (`notOurs`: crm_ticket's without our `booth-cfg-name`, which
// may be granted by hand), or one shown without all a revoke writes, keeps its
// start-up revoke; so does every ticket when the read is not complete (it
// failed in part, or its output was not understood). Pure.

import type { CibTicketState } from './holder-effects.js';
import type { HeldTicket } from './held-ticket.js';
import { generation, type Ms } from '../types.js';

export class SinkAtStart {
  private readonly listed = new Map<string, CibTicketState>();
  /** Tickets already looked up: the start-up read speaks only of a ticket's first state in this incarnation. */
  private readonly taken = new Set<string>();
  /** Whether the one start-up revoke that times the sink has been left to be written (adopt). */
  private timing = false;

  constructor(
    cib: readonly CibTicketState[],
    /** The read names every ticket state the sink holds, each with `shown` unless granted, not ours or unknown. */
    private readonly complete: boolean,
    /** When the holder was built, after the read: what a later read-back must show (Issued.confirmedAt). */
    private readonly readAt: Ms,
  ) {
    if (complete) for (const c of cib) this.listed.set(c.name, c);
  }

  /**
   * A ticket first seen by this incarnation (nothing issued yet): given, as a confirmed revoke, the state the
   * complete start-up read shows of it, so that SiteHolder.issue writes only what differs; left alone (its
   * start-up revoke is written) if the read shows it granted or does not show all of it.
   */
  adopt(h: HeldTicket): void {
    if (!this.complete || this.taken.has(h.name)) return;
    this.taken.add(h.name);
    const c = this.listed.get(h.name);
    if (c !== undefined && (c.granted || c.notOurs === true || c.shown?.owner === undefined)) return;
    // The first is written all the same: it times the sink before this incarnation's first grant can be
    // due (the revoke lead is twice the slowest write measured; simulator seed 81, 605de0f: without it a fresh
    // incarnation's first grants, written with the configured lead, landed after their guard deadline).
    if (!this.timing) {
      this.timing = true;
      return;
    }
    const shown = c?.shown ?? { standby: false, owner: null, attrs: {} };
    // Still `startup` (nothing written by this incarnation, not granted in the sink): its first revoke, if any, may wait behind the grants.
    h.issued = { id: 0, granted: false, standby: shown.standby, generation: c?.generation ?? generation(0), owner: shown.owner ?? null, revokeBy: null, attrs: shown.attrs, confirmed: true, confirmedAt: this.readAt };
  }
}
