// The lease guard checks an enforced deadline again while the record keeps it:
// a grant write of the same generation that the agent started before the
// deadline can land after the guard's revoke (simulator seed 29 with
// --many-tickets, docs/verification.md §2), and if the agent then dies, only
// the guard would ever revoke it. The guard looks again once such a write
// could have landed (2 × its slowest measured CIB operation after its revoke)
// and then every probe interval, revokes again what it finds granted at that
// generation, and stops looking once the key leaves the record.
//
// A fake CIB the test writes to; a clock moved by hand whose reads by the guard
// are counted, so "not before" is an order of events, never a wall-clock margin.
import { afterEach, describe, expect, it } from 'vitest';
import type { RevokeOutcome } from '../../../src/adapters/pacemaker/lease-guard.js';
import type { LeaseGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { guardProbeEveryMinMs } from '../../../src/adapters/pacemaker/guard-timing.js';
import { CountingClock, GuardBench, until } from './guard-test-kit.js';


const bench = new GuardBench('lease-guard-recheck-');
afterEach(() => bench.cleanUp());

/**
 * The CIB as the crm_ticket sink's revokeLostAll treats it: a ticket granted at the generation named
 * (or below) is revoked (changed), anything else left alone (changed false). Each call takes `callMs`
 * on the hand clock.
 */
class FakeCib {
  readonly tickets = new Map<string, { granted: boolean; generation: number }>();
  calls = 0;
  constructor(
    private readonly clock: CountingClock,
    private readonly callMs: number,
  ) {}
  readonly revokeAll = (due: ReadonlyArray<{ ticket: string; generation: number }>): Promise<ReadonlyMap<string, RevokeOutcome>> => {
    this.calls += 1;
    this.clock.t += this.callMs;
    const out = new Map<string, RevokeOutcome>();
    for (const d of due) {
      const s = this.tickets.get(d.ticket);
      const changed = s !== undefined && s.granted && s.generation <= d.generation;
      if (changed) s.granted = false;
      out.set(d.ticket, { ok: true, changed });
    }
    return Promise.resolve(out);
  };
  grant(ticket: string, generation: number): void {
    this.tickets.set(ticket, { granted: true, generation });
  }
  granted(ticket: string): boolean {
    return this.tickets.get(ticket)?.granted === true;
  }
}

/**
 * Ticket t armed at generation 7 (revoke by start + 100, lease end start + 400) on a fresh record, and
 * granted at that generation in a fake CIB whose calls take `cibCallMs`.
 */
async function armedAndGranted(cibCallMs: number): Promise<{ clock: CountingClock; start: number; file: LeaseGuardFile; cib: FakeCib }> {
  const clock = new CountingClock(1_000_000);
  const start = clock.t;
  const file = await bench.recordFile();
  await file.arm('t', 7, start + 100, undefined, start + 400);
  const cib = new FakeCib(clock, cibCallMs);
  cib.grant('t', 7);
  return { clock, start, file, cib };
}

describe('the lease guard checks an enforced deadline again while the record keeps it', () => {
  it('revokes again a grant of the same generation that landed after its revoke, and warns with what it found', async () => {
    const { clock, start, file, cib } = await armedAndGranted(50);
    const warns: Array<{ obj: object; msg: string }> = [];
    const log = { info: () => undefined, warn: (obj: object, msg: string) => warns.push({ obj, msg }), error: () => undefined };
    // The agent runs but hangs right after its late write: it never moves nor disarms the deadline.
    const g = await bench.start(file, { clock, revokeAll: cib.revokeAll, log, agentAlive: () => true });
    clock.t = start + 100;
    await until(() => g.revoked === 1, 'the deadline enforced');
    expect(cib.granted('t')).toBe(false);
    // The agent's grant write of generation 7, started before the deadline, lands now.
    cib.grant('t', 7);
    const calls = cib.calls;
    // Its revoke took 50 ms (ended at start + 150): the guard looks again at start + 150 + 2 × 50.
    clock.t = start + 249;
    await clock.looked();
    expect(cib.calls).toBe(calls);
    clock.t = start + 250;
    await until(() => !cib.granted('t'), 'the late grant revoked again');
    expect(g.revokedAgain).toBe(1);
    expect(g.revoked).toBe(1);
    expect(warns.at(-1)!.msg).toMatch(/revoked again/);
    expect(warns.at(-1)!.obj).toMatchObject({ ticket: 't', generation: 7 });
    expect((warns.at(-1)!.obj as { found?: string }).found).toMatch(/granted again/);
    // And on, every probe interval, while the record keeps the key.
    cib.grant('t', 7);
    clock.t += guardProbeEveryMinMs;
    await until(() => !cib.granted('t'), 'a later late grant revoked again');
    expect(g.revokedAgain).toBe(2);
  });

  it('with the agent gone, does not stop before its first check again', async () => {
    const { clock, start, file, cib } = await armedAndGranted(50);
    const g = await bench.start(file, { clock, revokeAll: cib.revokeAll, agentAlive: () => false });
    let stopped = false;
    void g.stoppedPromise.then(() => (stopped = true));
    clock.t = start + 100;
    await until(() => g.revoked === 1, 'the deadline enforced');
    // The dead agent's write (a crm_ticket child still running) lands after the revoke.
    cib.grant('t', 7);
    await clock.looked();
    expect(stopped).toBe(false);
    clock.t = start + 250;
    await until(() => !cib.granted('t'), 'the late grant revoked again');
    expect(g.revokedAgain).toBe(1);
    await until(() => stopped, 'the guard stopped once every deadline was enforced and checked again');
  });

  it('leaves a newer generation alone and stops checking once the key leaves the record (nothing at idle)', async () => {
    const { clock, start, file, cib } = await armedAndGranted(0);
    const g = await bench.start(file, { clock, revokeAll: cib.revokeAll, agentAlive: () => true });
    clock.t = start + 100;
    await until(() => g.revoked === 1, 'the deadline enforced');
    // A later generation granted: the checks again find nothing to revoke.
    cib.grant('t', 8);
    const before = cib.calls;
    clock.t += guardProbeEveryMinMs;
    await until(() => cib.calls > before, 'a check again');
    expect(cib.granted('t')).toBe(true);
    expect(g.revokedAgain).toBe(0);
    // The agent disarms the key: no more checks, however long the guard runs.
    await file.disarm('t');
    const reads = clock.reads;
    await until(() => clock.reads > reads + 3, 'the guard read the disarmed record');
    const after = cib.calls;
    for (let i = 0; i < 3; i++) {
      clock.t += 10 * guardProbeEveryMinMs;
      await clock.looked();
    }
    expect(cib.calls).toBe(after);
  });
});
