// The site health monitor with the real handler runner (programs in a temp
// dir) and injected runnability and quorum answers: it reports the health
// the core needs, only when it changes; a failing handler makes its ticket
// unrunnable here and a passing one clears it; the handler sees `renew` for a
// held ticket and `acquire` otherwise; a probe that cannot answer keeps the
// last answer; checkNow looks at one ticket at once.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HandlerRunner } from '../../src/adapters/pacemaker/handlers.js';
import type { SiteHealth } from '../../src/core/messages.js';
import { SiteHealthMonitor, type HealthProbes } from '../../src/runtime/site-health.js';

let dir = '';
const monitors: SiteHealthMonitor[] = [];
afterEach(async () => {
  for (const m of monitors.splice(0)) m.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

const quiet = { info: () => undefined, warn: () => undefined };

async function handlerDir(): Promise<{ script: string; control: string; seen: string }> {
  dir = await mkdtemp(join(tmpdir(), 'site-health-'));
  await chmod(dir, 0o755);
  const control = join(dir, 'fail-tickets');
  const seen = join(dir, 'seen');
  const script = join(dir, 'handler.sh');
  // Fails for tickets listed in the control file; records what it was called with.
  await writeFile(script, `#!/bin/sh\necho "$BOOTH_TICKET $TOLLBOOTH_PHASE $BOOTH_LOCAL" >> ${seen}\ngrep -qx "$BOOTH_TICKET" ${control} 2>/dev/null && exit 1\nexit 0\n`);
  await chmod(script, 0o755);
  await writeFile(control, '');
  return { script, control, seen };
}

function monitor(probes: HealthProbes, held: Set<string>, reports: SiteHealth[], tickets = ['a', 'b']): SiteHealthMonitor {
  const m = new SiteHealthMonitor({
    tickets: tickets.map((name) => ({ name, hasHandler: true })),
    probes,
    intervalMs: 60_000,
    held: (t) => ({ held: held.has(t), expiresUnixSec: held.has(t) ? 2_000_000_000 : 0 }),
    report: (h) => reports.push(h),
    log: quiet,
  });
  monitors.push(m);
  return m;
}

async function until(what: string, probe: () => boolean, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the site health monitor', () => {
  it('reports a failing handler as its ticket unrunnable here, and clears it when the handler passes', async () => {
    const { script, control, seen } = await handlerDir();
    const runner = new HandlerRunner({ site: { site: '192.0.2.1', local: '192.0.2.1', confPath: '/etc/booth/booth.conf', confName: 'booth' } });
    const probes: HealthProbes = {
      handler: async (ticket, phase, expiresUnixSec) => {
        const r = await runner.run({ ticket, phase, expiresUnixSec, command: { program: script, args: [] } });
        return r.ok ? { ok: true } : { ok: false, message: r.message };
      },
    };
    const reports: SiteHealth[] = [];
    await writeFile(control, 'b\n');
    const m = monitor(probes, new Set(['a']), reports);
    await m.start();
    expect(reports).toEqual([{ quorate: true, handlersOk: true, unrunnable: ['b'] }]);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(seen, 'utf8')).trim().split('\n').sort()).toEqual(['a renew 192.0.2.1', 'b acquire 192.0.2.1']);
    await writeFile(control, '');
    await m.checkNow('b');
    expect(reports).toHaveLength(2);
    expect(reports[1]).toEqual({ quorate: true, handlersOk: true, unrunnable: [] });
    // Nothing changed: nothing reported.
    await m.checkNow('a');
    expect(reports).toHaveLength(2);
    await runner.close();
  });

  it('reports lost quorum, keeps the last answer of a probe that cannot answer, and joins both reasons', async () => {
    let quorate: boolean | Error = true;
    let runnable: boolean | Error = true;
    const probes: HealthProbes = {
      quorate: () => (quorate instanceof Error ? Promise.reject(quorate) : Promise.resolve(quorate)),
      runnable: (tickets) =>
        Promise.resolve(new Map(tickets.map((t) => [t, runnable instanceof Error ? runnable : runnable ? { runnable: true } : { runnable: false, reason: 'banned' }]))),
    };
    const reports: SiteHealth[] = [];
    const m = new SiteHealthMonitor({ tickets: [{ name: 'a', hasHandler: false }], probes, intervalMs: 20, held: () => ({ held: false, expiresUnixSec: 0 }), report: (h) => reports.push(h), log: quiet });
    monitors.push(m);
    await m.start();
    expect(reports).toEqual([{ quorate: true, handlersOk: true, unrunnable: [] }]);
    quorate = false;
    await until('lost quorum', () => reports.length === 2);
    expect(reports[1]).toEqual({ quorate: false, handlersOk: true, unrunnable: [] });
    quorate = new Error('crm_mon timed out');
    runnable = false;
    await until('unrunnable', () => reports.length === 3);
    // The failing quorum probe kept "no quorum"; runnability answered.
    expect(reports[2]).toEqual({ quorate: false, handlersOk: true, unrunnable: ['a'] });
    runnable = new Error('crm_simulate failed');
    quorate = true;
    await until('quorum back', () => reports.length === 4);
    expect(reports[3]).toEqual({ quorate: true, handlersOk: true, unrunnable: ['a'] });
  });
});

describe('rounds gated by the CIB version', () => {
  it('run crm_mon and crm_simulate again only when the CIB changed, a probe failed, or the last full round is old', async () => {
    let version: string | Error = 'epoch=1';
    let quorate: boolean | Error = true;
    let now = 0;
    const calls = { version: 0, quorate: 0, runnable: 0 };
    const probes: HealthProbes = {
      cibVersion: () => {
        calls.version += 1;
        return version instanceof Error ? Promise.reject(version) : Promise.resolve(version);
      },
      quorate: () => {
        calls.quorate += 1;
        return quorate instanceof Error ? Promise.reject(quorate) : Promise.resolve(quorate);
      },
      runnable: (tickets) => {
        calls.runnable += 1;
        return Promise.resolve(new Map(tickets.map((t) => [t, { runnable: true }])));
      },
    };
    const reports: SiteHealth[] = [];
    const m = new SiteHealthMonitor({
      tickets: [{ name: 'a', hasHandler: false }],
      probes,
      intervalMs: 5,
      fullRoundMaxAgeMs: 60_000,
      held: () => ({ held: false, expiresUnixSec: 0 }),
      report: (h) => reports.push(h),
      log: quiet,
      now: () => now,
    });
    monitors.push(m);
    await m.start();
    expect(calls).toMatchObject({ quorate: 1, runnable: 1 });
    // The CIB stays the same: rounds go on, reading only the version.
    await until('five kept rounds', () => m.rounds.kept >= 5);
    expect(calls).toMatchObject({ quorate: 1, runnable: 1 });
    // A write (here: quorum lost) changes the version: the next round runs the probes and reports it.
    quorate = false;
    version = 'epoch=2';
    await until('lost quorum reported', () => reports.length === 2);
    expect(reports[1]).toEqual({ quorate: false, handlersOk: true, unrunnable: [] });
    const afterChange = calls.quorate;
    await until('kept rounds again', () => m.rounds.kept >= 10);
    expect(calls.quorate).toBe(afterChange);
    // The last full round is a minute old: the probes run although the CIB did not change.
    now += 60_000;
    await until('a full round after the bound', () => calls.quorate > afterChange);
    // A quorum probe that fails is asked again next round, not only after the next CIB change.
    const beforeFailure = calls.quorate;
    quorate = new Error('crm_mon timed out');
    version = 'epoch=3';
    await until('the failing probe asked again', () => calls.quorate >= beforeFailure + 3);
    // A version that cannot be read runs every probe.
    quorate = true;
    version = new Error('cibadmin: Could not connect');
    await until('quorum back through the full rounds', () => reports.length === 3);
    expect(reports[2]).toEqual({ quorate: true, handlersOk: true, unrunnable: [] });
    // An urgent check (the registry just gave this site the ticket) always asks crm_simulate.
    version = 'epoch=3';
    await until('kept rounds on the readable version', () => m.rounds.kept >= 14);
    const runnableBefore = calls.runnable;
    await m.checkNow('a');
    expect(calls.runnable).toBe(runnableBefore + 1);
  });
});

describe('grants that cannot be written', () => {
  it('give the ticket up after three failed writes in a row, and make it eligible again after the hold', async () => {
    let now = 0;
    const reports: SiteHealth[] = [];
    const m = new SiteHealthMonitor({
      tickets: [{ name: 'a', hasHandler: false }],
      probes: { quorate: () => Promise.resolve(true) },
      intervalMs: 60_000,
      held: () => ({ held: true, expiresUnixSec: 0 }),
      report: (h) => reports.push(h),
      log: quiet,
      writeFailureHoldMs: 30_000,
      now: () => now,
    });
    monitors.push(m);
    await m.start();
    expect(reports).toEqual([{ quorate: true, handlersOk: true, unrunnable: [] }]);
    m.cibWriteResult('a', true, false);
    m.cibWriteResult('a', true, false);
    m.cibWriteResult('a', true, true); // a success in between starts the count again
    m.cibWriteResult('a', false, false); // revokes do not count: the lease guard ends those
    m.cibWriteResult('a', true, false);
    m.cibWriteResult('a', true, false);
    expect(reports).toHaveLength(1);
    m.cibWriteResult('a', true, false);
    expect(reports).toEqual([
      { quorate: true, handlersOk: true, unrunnable: [] },
      { quorate: true, handlersOk: true, unrunnable: ['a'] },
    ]);
    now = 29_999;
    await m.checkNow('a');
    expect(reports).toHaveLength(2);
    now = 30_000;
    await m.checkNow('a');
    expect(reports).toHaveLength(3);
    expect(reports[2]).toEqual({ quorate: true, handlersOk: true, unrunnable: [] });
  });
});
