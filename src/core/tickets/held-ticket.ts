// One ticket as the site's holder side (site-holder.ts) keeps it: the
// generation the table gives this site, its lease, and the last CIB effect
// handed out. Pure; split out of site-holder.ts to keep it within the file-size limit.

import { ms, type Generation, type Ms } from '../types.js';
import type { TicketEffect } from './holder-effects.js';

/** The last effect handed out for a ticket, and whether the host confirmed it. */
export interface Issued extends Omit<TicketEffect, 'ticket'> {
  confirmed: boolean;
  /** When the host confirmed the write: a sink read begun later must show it. */
  confirmedAt: Ms | null;
}

export interface HeldTicket {
  readonly name: string;
  /** The generation this site holds according to the committed table; null when not the holder. */
  gen: Generation | null;
  /** The CIB grant may not be written before this (acquire-after, DESIGN.md §2). */
  acquireReadyAt: Ms;
  /** Lease end on the local clock, from the send time of the newest answered renewal. */
  leaseEnd: Ms | null;
  /** The latest lease end an answer gave this generation (kept across a release), and the longest D an answer gave it. */
  leaseEndHigh: Ms | null;
  leaseMsHigh: number;
  /** The last effect handed out (null: unknown CIB state, issue one). */
  issued: Issued | null;
  retryAt: Ms;
  /** A generation given up that the leader should hear about once the CIB revoke is confirmed. */
  releaseGen: Generation | null;
  /** Released voluntarily (handlers failing, no local quorum): do not renew this generation. */
  releasedGen: Generation | null;
  /** Nothing issued yet by this incarnation, and the sink did not show it granted here at start-up (TicketEffect.background). */
  startup: boolean;
  /**
   * Answers to renewals with a seq below this no longer extend the lease: they
   * were sent before a release, which the leader may honour (its seqFloor rule).
   */
  answerSeqFloor: number;
}

/** A ticket nothing is known of yet. */
export function newHeldTicket(name: string): HeldTicket {
  return { name, gen: null, acquireReadyAt: ms(0), leaseEnd: null, leaseEndHigh: null, leaseMsHigh: 0, issued: null, retryAt: ms(0), releaseGen: null, releasedGen: null, answerSeqFloor: 0, startup: true };
}
