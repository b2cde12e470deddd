// The CIB write queue that the test hosts (the simulator and the interaction
// harness) give each site, with the host-side rules of src/core/ready.ts: one
// write at a time (the harness writes one effect; the simulator all waiting
// effects together, as the pump's batch write); a newer desired state for a ticket supersedes one whose
// write has not started; a grant whose revokeBy has passed when its write
// would start is not written and is reported as failed.
import type { TicketEffect } from '../../src/core/tickets/site-holder.js';

export interface QueuedWrite {
  readonly effect: TicketEffect;
  /** The agent incarnation that issued it: outcomes go only to that one. */
  readonly incarnation: number;
}

export class CibWriteQueue {
  private queue: QueuedWrite[] = [];
  /** A write is in progress (started by take(), ended by done()). */
  busy = false;

  enqueue(effect: TicketEffect, incarnation: number): void {
    this.queue = this.queue.filter((q) => q.effect.ticket !== effect.ticket);
    this.queue.push({ effect, incarnation });
  }

  /** Writes not yet started die with the agent; the one in progress completes. */
  dropWaiting(): void {
    this.queue = [];
  }

  /**
   * The next write to start, or undefined (busy or empty). Grants already past
   * their revokeBy at `localNow` are handed to `refuse` and skipped.
   */
  take(localNow: number, refuse: (w: QueuedWrite) => void): QueuedWrite | undefined {
    if (this.busy) return undefined;
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      const e = next.effect;
      if (e.granted && e.revokeBy !== null && localNow >= e.revokeBy) {
        refuse(next);
        continue;
      }
      this.busy = true;
      return next;
    }
    return undefined;
  }

  /**
   * Every waiting write, as one batch (the host's TicketSink.applyBatch: one `cibadmin --modify` of
   * several ticket states), or [] when busy or empty. Grants already past their revokeBy at
   * `localNow` are handed to `refuse` and left out.
   */
  takeAll(localNow: number, refuse: (w: QueuedWrite) => void): QueuedWrite[] {
    if (this.busy) return [];
    const batch: QueuedWrite[] = [];
    for (const next of this.queue.splice(0)) {
      const e = next.effect;
      if (e.granted && e.revokeBy !== null && localNow >= e.revokeBy) refuse(next);
      else batch.push(next);
    }
    this.busy = batch.length > 0;
    return batch;
  }

  done(): void {
    this.busy = false;
  }
}
