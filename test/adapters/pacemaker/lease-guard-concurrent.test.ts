// The lease guard with a fake revoke it holds open: a deadline that comes due
// while a slow revoke is in progress starts its own revoke at once (it never
// waits behind one), within a bound on revokes in flight; and the guard times
// its own CIB operations — its revokes, and a probe while the agent is gone —
// enforcing a grant at min(revokeBy, leaseEnd − 2 × its slowest measurement).
//
// The clock is moved by hand and a revoke ends only when the test ends it, so
// every assertion is an order of events: the test waits for the guard to call
// revokeAll (or the probe), or to look at the clock, with a deadline, never
// for a fixed time.
import { afterEach, describe, expect, it } from 'vitest';
import type { RevokeOutcome } from '../../../src/adapters/pacemaker/lease-guard.js';
import { guardProbeEveryMinMs, probeReadsPerRevoke } from '../../../src/adapters/pacemaker/guard-timing.js';
import { CountingClock, GuardBench, until, waitMs } from './guard-test-kit.js';

const bench = new GuardBench('lease-guard-concurrent-');
afterEach(() => bench.cleanUp());

/**
 * A revokeAll the test ends by hand: each call is recorded with its tickets and waits for `end`. The
 * guard's checks again of deadlines it enforced (lease-guard-recheck.test.ts) find nothing at once and
 * are not recorded.
 */
class HeldRevokes {
  readonly calls: Array<{ tickets: string[]; end: () => void }> = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  constructor(private readonly onEnd: () => void = () => undefined) {}
  readonly revokeAll = (due: ReadonlyArray<{ ticket: string; recheck?: boolean }>): Promise<ReadonlyMap<string, RevokeOutcome>> =>
    due.every((d) => d.recheck === true)
      ? Promise.resolve(new Map(due.map((d) => [d.ticket, { ok: true, changed: false }])))
      : new Promise((resolve) => {
      const tickets = due.map((d) => d.ticket);
      this.calls.push({
        tickets,
        end: () => {
          this.onEnd();
          resolve(new Map(tickets.map((t) => [t, { ok: true, changed: true }])));
        },
      });
      for (const w of this.waiters.filter((x) => this.calls.length >= x.n)) w.resolve();
      this.waiters = this.waiters.filter((x) => this.calls.length < x.n);
    });
  /** Revoke n is not made while the clock shows at − 1 (after a whole look at that time) and is made at `at`. */
  async nthAt(clock: CountingClock, at: number, n: number): Promise<void> {
    clock.t = at - 1;
    await clock.looked();
    expect(this.calls, `revoke ${n} before ${at}`).toHaveLength(n - 1);
    clock.t = at;
    await this.called(n);
  }
  /** Resolves once revokeAll has been called n times in all (rejects after waitMs). */
  called(n: number): Promise<void> {
    if (this.calls.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`revokeAll called ${this.calls.length} times, not ${n}, within ${waitMs} ms`)), waitMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

describe('the lease guard never holds a due revoke behind one in progress', () => {
  it('starts the second deadline’s revoke while the first is still running', async () => {
    const clock = new CountingClock(1_000_000);
    const file = await bench.recordFile();
    await file.armAll([
      { ticket: 'a', generation: 1, revokeBy: clock.t + 100 },
      { ticket: 'b', generation: 1, revokeBy: clock.t + 200 },
    ]);
    const held = new HeldRevokes();
    const g = await bench.start(file, { clock, revokeAll: held.revokeAll });
    clock.t += 100;
    await held.called(1);
    expect(held.calls[0]!.tickets).toEqual(['a']);
    // a's revoke is still in progress when b comes due: b's starts anyway.
    clock.t += 100;
    await held.called(2);
    expect(held.calls[1]!.tickets).toEqual(['b']);
    expect(g.revoked).toBe(0);
    held.calls[1]!.end();
    held.calls[0]!.end();
    await until(() => g.revoked === 2, 'both revokes counted');
  });

  it('keeps at most revokesInFlightMax revokes running; a deadline due at the bound starts when one ends', async () => {
    const clock = new CountingClock(1_000_000);
    const file = await bench.recordFile();
    await file.armAll(['a', 'b', 'c'].map((ticket, i) => ({ ticket, generation: 1, revokeBy: clock.t + 100 * (i + 1) })));
    const held = new HeldRevokes();
    await bench.start(file, { clock, revokeAll: held.revokeAll, revokesInFlightMax: 2 });
    clock.t += 100;
    await held.called(1);
    clock.t += 100;
    await held.called(2);
    clock.t += 100;
    // c is due, but two revokes run: c waits for one of them (looked at by several polls meanwhile).
    await clock.looked();
    expect(held.calls).toHaveLength(2);
    held.calls[0]!.end();
    await held.called(3);
    expect(held.calls[2]!.tickets).toEqual(['c']);
  });
});

describe('the lease guard times its own CIB operations', () => {
  it('enforces a grant at leaseEnd − 2 × its slowest revoke when that is before revokeBy; a record without leaseEnd at revokeBy', async () => {
    const clock = new CountingClock(1_000_000);
    const file = await bench.recordFile();
    const start = clock.t;
    // The agent's lead was 100 ms (revokeBy = leaseEnd − 100).
    await file.armAll([
      { ticket: 'first', generation: 1, revokeBy: start + 100, leaseEnd: start + 200 },
      { ticket: 'timed', generation: 1, revokeBy: start + 10_000, leaseEnd: start + 10_100 },
      { ticket: 'old', generation: 1, revokeBy: start + 9_000 },
    ]);
    // Each revoke takes 300 ms on the guard's clock.
    const held = new HeldRevokes(() => (clock.t += 300));
    const g = await bench.start(file, { clock, revokeAll: held.revokeAll });
    clock.t = start + 100;
    await held.called(1);
    held.calls[0]!.end();
    await until(() => g.revoked === 1, 'the first revoke counted');
    expect(g.timing.slowestMs(clock.t)).toBe(300);
    // 'timed' is now enforced at 10 100 − 600 = 9 500, not at 10 000; 'old' (no leaseEnd) at its 9 000.
    await held.nthAt(clock, start + 9_000, 2);
    expect(held.calls[1]!.tickets).toEqual(['old']);
    await held.nthAt(clock, start + 9_500, 3);
    expect(held.calls[2]!.tickets).toEqual(['timed']);
  });

  it('with the agent gone, probes its CIB (at most once per guardProbeEveryMinMs) and enforces earlier as the probes slow down', async () => {
    const clock = new CountingClock(1_000_000);
    const file = await bench.recordFile();
    const start = clock.t;
    await file.armAll([{ ticket: 't', generation: 1, revokeBy: start + 20_000, leaseEnd: start + 20_400 }]);
    const held = new HeldRevokes();
    let probes = 0;
    let readMs = 50;
    const probe = (): Promise<void> => {
      probes += 1;
      clock.t += readMs;
      return Promise.resolve();
    };
    const g = await bench.start(file, { clock, revokeAll: held.revokeAll, probe, agentAlive: () => false });
    await until(() => probes === 1, 'the first probe');
    await until(() => g.timing.slowestMs(clock.t) === probeReadsPerRevoke * 50, 'the first probe noted');
    // Not again before guardProbeEveryMinMs.
    await clock.looked();
    expect(probes).toBe(1);
    readMs = 400;
    clock.t += guardProbeEveryMinMs;
    await until(() => probes === 2, 'the second probe');
    // A read of 400 ms stands for a revoke of 800: enforced at 20 400 − 1 600 = 18 800.
    await until(() => g.timing.slowestMs(clock.t) === probeReadsPerRevoke * 400, 'the second probe noted');
    // Later probes take no time on the hand clock (they still come, every 4 × 800 ms): the slowest stays.
    readMs = 0;
    await held.nthAt(clock, start + 18_800, 1);
    expect(held.calls[0]!.tickets).toEqual(['t']);
  });

  it('does not probe while the agent runs and moves its deadlines', async () => {
    const clock = new CountingClock(1_000_000);
    const file = await bench.recordFile();
    const start = clock.t;
    await file.armAll([{ ticket: 't', generation: 1, revokeBy: start + 20_000, leaseEnd: start + 20_400 }]);
    let probes = 0;
    const probe = (): Promise<void> => ((probes += 1), Promise.resolve());
    await bench.start(file, { clock, revokeAll: new HeldRevokes().revokeAll, probe, agentAlive: () => true });
    clock.t = start + 10_000;
    await clock.looked();
    expect(probes).toBe(0);
    // Three quarters of the deadline's time passed without a move: the agent is silent, the guard probes.
    clock.t = start + 15_000;
    await until(() => probes === 1, 'a probe once the agent is silent');
  });

  it('with the agent running, enforces its own earlier deadline no sooner than the agent counts as silent', async () => {
    const clock = new CountingClock(1_000_000);
    const file = await bench.recordFile();
    const start = clock.t;
    await file.armAll([
      { ticket: 'first', generation: 1, revokeBy: start + 100, leaseEnd: start + 200 },
      // Seen at start: silent from start + 3/4 × 10 000 = 7 500; its own deadline would be 10 100 − 6 000 = 4 100.
      { ticket: 'timed', generation: 1, revokeBy: start + 10_000, leaseEnd: start + 10_100 },
    ]);
    const held = new HeldRevokes(() => (clock.t += 3_000));
    const g = await bench.start(file, { clock, revokeAll: held.revokeAll, agentAlive: () => true });
    clock.t = start + 100;
    await held.called(1);
    held.calls[0]!.end();
    await until(() => g.revoked === 1, 'the first revoke counted');
    await held.nthAt(clock, start + 7_500, 2);
    expect(held.calls[1]!.tickets).toEqual(['timed']);
  });
});
