// Shared by the lease guard's tests with a clock moved by hand
// (lease-guard-concurrent.test.ts, lease-guard-recheck.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseGuard, type LeaseGuardOptions } from '../../../src/adapters/pacemaker/lease-guard.js';
import { LeaseGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { ms, type Ms } from '../../../src/core/types.js';

/** A logger that drops everything. */
export const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A guard record in a temporary directory of its own and the guards started on it, with these tests'
 * settings (boot id 'boot-x', a look every 20 ms, no logging unless asked); `cleanUp` (afterEach) stops
 * the guards and removes the directory.
 */
export class GuardBench {
  private dir = '';
  private readonly guards: LeaseGuard[] = [];
  constructor(private readonly prefix: string) {}

  async recordFile(): Promise<LeaseGuardFile> {
    this.dir = await mkdtemp(join(tmpdir(), this.prefix));
    return LeaseGuardFile.open(join(this.dir, 'lease-guard'), 'boot-x');
  }

  async start(file: LeaseGuardFile, o: Omit<LeaseGuardOptions, 'guardPath' | 'boot' | 'log'> & Partial<Pick<LeaseGuardOptions, 'log'>>): Promise<LeaseGuard> {
    const g = new LeaseGuard({ guardPath: file.path, boot: 'boot-x', log: quietLog, pollMs: 20, ...o });
    this.guards.push(g);
    await g.start();
    return g;
  }

  async cleanUp(): Promise<void> {
    for (const g of this.guards.splice(0)) g.stop();
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}

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
