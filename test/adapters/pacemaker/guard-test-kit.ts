// Shared by the lease guard's tests with a clock moved by hand
// (lease-guard-concurrent.test.ts, lease-guard-recheck.test.ts).
import { ms, type Ms } from '../../../src/core/types.js';

/** Upper bound on waiting for the guard to act, generous for a loaded machine. */
export const waitMs = 30_000;

/** Waits (bounded) until `cond` holds, checking at every turn of the event loop's timers. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + waitMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A clock moved by hand that counts the guard's reads of it: the guard reads it once when it looks
 * for due deadlines and once when it sets its timer, so three reads after a move include one whole
 * look at the new time — "not yet" is an order of events, not a wall-clock margin.
 */
export class CountingClock {
  reads = 0;
  constructor(public t: number) {}
  readonly now = (): Ms => {
    this.reads += 1;
    return ms(this.t);
  };
  /** Waits until the guard has looked at the current time once, whole. */
  async looked(): Promise<void> {
    const from = this.reads;
    await until(() => this.reads >= from + 3, 'the guard looked at the clock');
  }
}
