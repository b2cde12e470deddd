// `tollbooth move` across an election: a step whose answer says it reached no
// leader (nothing applied) is asked again until a leader answers, within a
// bound; an answer whose outcome is unknown is never asked again.

import { describe, expect, it } from 'vitest';
import { moveTicket, type MoveOptions } from '../../src/cli/move.js';
import type { AdminRequest, AdminResponse } from '../../src/runtime/admin-service.js';

/** A formation that answers no-leader `elections` times to anything, then serves a free ticket `t` that goes to site B. */
function formation(elections: number, refusal = 'no-leader'): { ask: MoveOptions['ask']; asked: AdminRequest[] } {
  const asked: AdminRequest[] = [];
  let left = elections;
  let holder: string | null = null;
  const ok = (data: unknown): AdminResponse => ({ ok: true, data, answeredBy: 'A' }) as AdminResponse;
  const answer = (req: AdminRequest): AdminResponse => {
    asked.push(req);
    if (left > 0) {
      left -= 1;
      return { ok: false, code: refusal, message: 'no leader known', answeredBy: 'A' } as AdminResponse;
    }
    const view = { name: 't', mode: 'manual', holder, generation: holder === null ? 1 : 2, standby: false, managed: true, leaseLeftMs: null, grantedHere: holder === 'B' };
    if (req.op === 'list') return ok([view]);
    if (req.op === 'grant') {
      holder = 'B';
      return ok(null);
    }
    if (req.op === 'status') return ok({ tickets: [view] });
    if (req.op === 'activate') return ok(null);
    if (req.op === 'resources') return ok({ resources: [], active: [] });
    throw new Error(`unexpected ${req.op}`);
  };
  return { ask: (req) => Promise.resolve(answer(req)), asked };
}

const run = (ask: MoveOptions['ask'], leaderWaitMs: number) =>
  moveTicket({ ticket: 't', to: 'B', stopTimeoutMs: 5_000, startTimeoutMs: 5_000, ask, say: () => {}, pollMs: 1, leaderWaitMs });

describe('tollbooth move during an election', () => {
  it('asks a step again while the answer says no leader, then moves the ticket', async () => {
    const f = formation(3);
    const r = await run(f.ask, 5_000);
    expect(r).toMatchObject({ ok: true, to: 'B' });
    expect(f.asked.slice(0, 4).map((q) => q.op)).toEqual(['list', 'list', 'list', 'list']);
    expect(f.asked.filter((q) => q.op === 'grant')).toHaveLength(1);
  });

  it('treats not-leader the same way', async () => {
    const r = await run(formation(2, 'not-leader').ask, 5_000);
    expect(r.ok).toBe(true);
  });

  it('gives up with no-leader once the wait is over, having applied nothing', async () => {
    const f = formation(Number.POSITIVE_INFINITY);
    const r = await run(f.ask, 30);
    expect(r).toMatchObject({ ok: false, code: 'no-leader' });
    expect(f.asked.every((q) => q.op === 'list')).toBe(true);
  });

  it('never asks again when the outcome is unknown', async () => {
    const f = formation(1, 'unknown-outcome');
    const r = await run(f.ask, 5_000);
    expect(r).toMatchObject({ ok: false, code: 'unknown-outcome' });
    expect(f.asked).toHaveLength(1);
  });
});
