// The alert handler's queue and environment (src/runtime/alert-hooks.ts).
// The environment: every TOLLBOOTH_* variable is set for every event (empty
// when it does not apply), the timestamp is the event's wall clock in ISO
// 8601 with ms and in epoch ms, inherited BOOTH_*/TOLLBOOTH_* variables are
// dropped. The queue, with a runner the test resolves by hand: push never
// waits, one run at a time in event order, a full queue drops the oldest
// event (counted; one warning per interval), every outcome counted by
// result, close kills the running one and drops the rest.
import { describe, expect, it } from 'vitest';
import { AlertQueue, alertEnvironment, dropLogIntervalMs } from '../../src/runtime/alert-hooks.js';
import type { FormationEvent } from '../../src/runtime/formation-events.js';
import type { AlertProgramOutcome } from '../../src/ports/alert-handler.js';

const t0 = Date.UTC(2026, 11, 6, 4, 30, 0, 123);
let seq = 0;
function ev(input: Partial<FormationEvent> & Pick<FormationEvent, 'event'>): FormationEvent {
  seq += 1;
  return { seq, timeUnixMs: t0 + seq, member: '127.0.0.1', ...input };
}

const allVars = [
  'TOLLBOOTH_EVENT', 'TOLLBOOTH_SEQ', 'TOLLBOOTH_MEMBER', 'TOLLBOOTH_FORMATION', 'TOLLBOOTH_TIMESTAMP', 'TOLLBOOTH_TIMESTAMP_EPOCH_MS',
  'TOLLBOOTH_TICKET', 'TOLLBOOTH_SITE', 'TOLLBOOTH_PREVIOUS', 'TOLLBOOTH_GENERATION', 'TOLLBOOTH_INDEX', 'TOLLBOOTH_PEER',
  'TOLLBOOTH_LEADER', 'TOLLBOOTH_TERM', 'TOLLBOOTH_ROUTE', 'TOLLBOOTH_REASON',
].sort();

describe('alertEnvironment', () => {
  it('describes a failover with every variable, the inapplicable ones empty', () => {
    const e: FormationEvent = { seq: 7, timeUnixMs: t0, member: '127.0.0.3', event: 'failover', ticket: 'db', site: '127.0.0.2', previous: '127.0.0.1', generation: 3, index: 12, reason: 'auto failover' };
    const env = alertEnvironment(e, 'booth', { PATH: '/usr/bin:/bin', TOLLBOOTH_TICKET: 'stale', BOOTH_TICKET: 'stale', TOLLBOOTH_HTTP: '9471' });
    expect(Object.keys(env).filter((k) => k.startsWith('TOLLBOOTH_')).sort()).toEqual(allVars);
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      TOLLBOOTH_EVENT: 'failover',
      TOLLBOOTH_SEQ: '7',
      TOLLBOOTH_MEMBER: '127.0.0.3',
      TOLLBOOTH_FORMATION: 'booth',
      TOLLBOOTH_TIMESTAMP: '2026-12-06T04:30:00.123Z',
      TOLLBOOTH_TIMESTAMP_EPOCH_MS: String(t0),
      TOLLBOOTH_TICKET: 'db',
      TOLLBOOTH_SITE: '127.0.0.2',
      TOLLBOOTH_PREVIOUS: '127.0.0.1',
      TOLLBOOTH_GENERATION: '3',
      TOLLBOOTH_INDEX: '12',
      TOLLBOOTH_PEER: '',
      TOLLBOOTH_LEADER: '',
      TOLLBOOTH_TERM: '',
      TOLLBOOTH_ROUTE: '',
      TOLLBOOTH_REASON: 'auto failover',
    });
  });

  it('gives null values (no previous holder, no leader) as empty, and route and leader events their fields', () => {
    const grant = alertEnvironment(ev({ event: 'grant', ticket: 'db', site: '127.0.0.1', previous: null, generation: 1, index: 4, reason: 'admin' }), 'f', {});
    expect(grant.TOLLBOOTH_PREVIOUS).toBe('');
    const leader = alertEnvironment(ev({ event: 'leader-change', leader: null, term: 5 }), 'f', {});
    expect([leader.TOLLBOOTH_LEADER, leader.TOLLBOOTH_TERM, leader.TOLLBOOTH_TICKET]).toEqual(['', '5', '']);
    const route = alertEnvironment(ev({ event: 'route-change', peer: '127.0.0.2', route: 'via 127.0.0.3', reason: 'was direct' }), 'f', {});
    expect([route.TOLLBOOTH_PEER, route.TOLLBOOTH_ROUTE, route.TOLLBOOTH_REASON]).toEqual(['127.0.0.2', 'via 127.0.0.3', 'was direct']);
  });

  it('cuts a long reason and removes NUL bytes (execve cannot pass them)', () => {
    const env = alertEnvironment(ev({ event: 'cib-write-failed', reason: `grant: a\u0000b ${'x'.repeat(5000)}` }), 'f', {});
    expect(env.TOLLBOOTH_REASON!.length).toBeLessThanOrEqual(1024);
    expect(env.TOLLBOOTH_REASON!.startsWith('grant: ab x')).toBe(true);
  });
});

/** A runner whose runs the test ends by hand. */
function manualRunner() {
  const calls: Array<{ env: Readonly<Record<string, string>>; signal: AbortSignal; finish: (o: AlertProgramOutcome[]) => void }> = [];
  const waiters: Array<() => void> = [];
  const run = (env: Readonly<Record<string, string>>, signal: AbortSignal): Promise<AlertProgramOutcome[]> =>
    new Promise((resolve, reject) => {
      calls.push({ env, signal, finish: resolve });
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      for (const w of waiters.splice(0)) w();
    });
  const callCount = async (n: number): Promise<void> => {
    while (calls.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  return { calls, run, callCount };
}

function logRecorder() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    log: {
      warn: (fields: object, msg: string) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, msg }),
      debug: (fields: object, msg: string) => lines.push({ level: 'debug', fields: fields as Record<string, unknown>, msg }),
    },
  };
}

const ok = (program = '/hook'): AlertProgramOutcome => ({ program, result: 'ok', ms: 5 });

describe('AlertQueue', () => {
  it('runs one event at a time, in order, and push never waits', async () => {
    const r = manualRunner();
    const { log } = logRecorder();
    const seen: number[] = [];
    const q = new AlertQueue({ run: r.run, formation: 'f', log, nowMs: () => 0, wallClockMs: () => t0 + 1000, baseEnv: {}, onRun: (e) => seen.push(e.seq) });
    const events = [ev({ event: 'grant', ticket: 'a' }), ev({ event: 'revoke', ticket: 'a' }), ev({ event: 'grant', ticket: 'b' })];
    for (const e of events) q.push(e);
    await r.callCount(1);
    expect(r.calls).toHaveLength(1);
    expect(q.counts().queued).toBe(2);
    r.calls[0]!.finish([ok()]);
    await r.callCount(2);
    expect(r.calls).toHaveLength(2);
    r.calls[1]!.finish([ok()]);
    await r.callCount(3);
    r.calls[2]!.finish([ok(), { program: '/hook.d/b', result: 'exit', ms: 7, message: 'exited with code 2' }]);
    await q.close();
    expect(r.calls.map((c) => c.env.TOLLBOOTH_SEQ)).toEqual(events.map((e) => String(e.seq)));
    expect(seen).toEqual(events.map((e) => e.seq));
    expect(q.counts()).toEqual({ runs: { ok: 3, exit: 1 }, dropped: 0, queued: 0, lastDurationMs: 7 });
  });

  it('drops the oldest waiting event when full, counts every drop and warns once per interval', async () => {
    const r = manualRunner();
    const rec = logRecorder();
    let now = 0;
    const q = new AlertQueue({ run: r.run, formation: 'f', log: rec.log, nowMs: () => now, wallClockMs: () => t0, baseEnv: {}, queueEventsMax: 3 });
    const events = Array.from({ length: 8 }, (_, i) => ev({ event: 'member-suspect', peer: `p${i}` }));
    for (const e of events) q.push(e); // the first runs at once; 3 wait; 4 are dropped (the oldest each time)
    await r.callCount(1);
    expect(q.counts()).toMatchObject({ dropped: 4, queued: 3 });
    expect(rec.lines.filter((l) => l.msg === 'alert handler queue full: oldest events dropped')).toHaveLength(1);
    now += dropLogIntervalMs;
    q.push(ev({ event: 'member-alive', peer: 'p0' }));
    const warnings = rec.lines.filter((l) => l.msg === 'alert handler queue full: oldest events dropped');
    expect(warnings).toHaveLength(2);
    expect(warnings[1]!.fields).toMatchObject({ dropped: 4, droppedTotal: 5 });
    // What runs next are the newest: p5 p6 p7 were pushed out by p0's alive, so p6, p7, then member-alive.
    r.calls[0]!.finish([ok()]);
    for (let i = 1; i <= 3; i++) {
      await r.callCount(i + 1);
      r.calls[i]!.finish([ok()]);
    }
    await q.close();
    expect(r.calls.map((c) => `${c.env.TOLLBOOTH_EVENT} ${c.env.TOLLBOOTH_PEER}`)).toEqual(['member-suspect p0', 'member-suspect p6', 'member-suspect p7', 'member-alive p0']);
  });

  it('logs each failed program with its result, and counts a path that cannot run', async () => {
    const r = manualRunner();
    const rec = logRecorder();
    const q = new AlertQueue({ run: r.run, formation: 'f', log: rec.log, nowMs: () => 0, wallClockMs: () => t0, baseEnv: {} });
    q.push(ev({ event: 'grant', ticket: 'a' }));
    await r.callCount(1);
    r.calls[0]!.finish([{ program: '/missing', result: 'not-found', ms: 1, message: 'alert handler not run: handler /missing does not exist' }]);
    q.push(ev({ event: 'grant', ticket: 'b' }));
    await r.callCount(2);
    r.calls[1]!.finish([{ program: '/slow', result: 'timeout', ms: 100, message: 'did not finish within 100 ms' }]);
    await q.close();
    expect(q.counts().runs).toEqual({ 'not-found': 1, timeout: 1 });
    const failed = rec.lines.filter((l) => l.msg === 'alert handler failed');
    expect(failed.map((l) => [l.level, l.fields.result, l.fields.program])).toEqual([
      ['warn', 'not-found', '/missing'],
      ['warn', 'timeout', '/slow'],
    ]);
  });

  it('close aborts the running hook, drops what waits and takes no more', async () => {
    const r = manualRunner();
    const { log } = logRecorder();
    const q = new AlertQueue({ run: r.run, formation: 'f', log, nowMs: () => 0, wallClockMs: () => t0, baseEnv: {} });
    q.push(ev({ event: 'grant', ticket: 'a' }));
    q.push(ev({ event: 'grant', ticket: 'b' }));
    await r.callCount(1);
    await q.close();
    expect(r.calls[0]!.signal.aborted).toBe(true);
    q.push(ev({ event: 'grant', ticket: 'c' }));
    expect(r.calls).toHaveLength(1);
    expect(q.counts()).toMatchObject({ queued: 0, runs: {} });
  });
});
