// booth's client (src/cli/booth-client.ts) against a scripted local member:
// what `booth list` does when the formation has no majority. pcs accepts only
// exit 0 or 7 from `booth list`, so while the local member runs, list must
// answer from its own view (exit 0, a warning on stderr), whatever the other
// members do — including the holder it asks for a lease end (7a90ade), which
// in that situation is often the member that just died.
//
// The member is a table of answers with the time each takes, on a virtual
// clock; the socket's bound is modelled as the real one (adapters/
// admin-socket.ts adminRequest): an answer that would take longer than the
// client's timeout is an ADMIN_SOCKET_TIMEOUT. A forwarded request to a dead
// member is answered 'timeout' after forwardTimeoutMs, as admin-service.ts
// answers it. Nothing waits in real time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSocketError } from '../../src/adapters/admin-socket.js';
import { boothRequestTimeoutMsDefault, runBoothClient, type BoothClientIo } from '../../src/cli/booth-client.js';
import { forwardTimeoutMs, type AdminRequest, type AdminResponse, type TicketView } from '../../src/runtime/admin-service.js';
import { memberKeyLines } from '../config/fixtures.js';

const siteA = '192.0.2.11';
const siteB = '192.0.2.12';
const arb = '192.0.2.13';
const config = `site = ${siteA}
site = ${siteB}
arbitrator = ${arb}
${memberKeyLines([siteA, siteB, arb])}tollbooth-preset = lan

ticket = db
  expire = 60
  timeout = 2
ticket = web
  expire = 60
  timeout = 2
`;

/** A ticket as a member's own view shows it: held by `holder`, lease end unknown (neither leader nor holder). */
const heldElsewhere = (name: string, holder: string): TicketView => ({
  name,
  mode: 'automatic',
  holder,
  generation: 3,
  standby: false,
  managed: true,
  attrs: {},
  leaseDurationMs: 60_000,
  leaseLeftMs: null,
  grantedHere: false,
  source: 'table',
});

/** One scripted answer: what the member says, and after how long (ms on the virtual clock). */
interface Answer {
  readonly afterMs: number;
  readonly res: AdminResponse | 'refused';
}

const noLeader: Answer = { afterMs: 1, res: { ok: false, code: 'no-leader', message: 'no leader known: is a majority of the formation reachable?', answeredBy: siteA } };
/** The member forwarded to a member that is gone: it answers after its own forward bound. */
const silent = (to: string): Answer => ({ afterMs: forwardTimeoutMs, res: { ok: false, code: 'timeout', message: `${to} did not answer within ${forwardTimeoutMs} ms`, answeredBy: siteA } });
const localList = (views: readonly TicketView[]): Answer => ({ afterMs: 1, res: { ok: true, message: 'list', answeredBy: siteA, data: views } });

interface Outcome {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly tookMs: number;
  readonly asked: readonly AdminRequest[];
  /** The most requests that were open at once. */
  readonly inFlightMax: number;
}

let dir: string;
let configPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'booth-client-'));
  configPath = join(dir, 'formation.conf');
  writeFileSync(configPath, config);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the client against a member that answers each request with `answer(req)`. */
async function runAgainst(argv: readonly string[], answer: (req: AdminRequest) => Answer): Promise<Outcome> {
  let nowMs = 1_700_000_000_000;
  const start = nowMs;
  let out = '';
  let err = '';
  const asked: AdminRequest[] = [];
  let inFlight = 0;
  let inFlightMax = 0;
  const settle = (p: Promise<AdminResponse>): Promise<AdminResponse> => {
    inFlight += 1;
    inFlightMax = Math.max(inFlightMax, inFlight);
    return p.finally(() => {
      inFlight -= 1;
    });
  };
  const io: BoothClientIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => new Date(nowMs),
    env: { TOLLBOOTH_SOCKET: join(dir, 'member.sock') },
    call: (socket, req, timeoutMs) => {
      asked.push(req);
      const a = answer(req);
      if (a.res === 'refused') return settle(Promise.reject(new AdminSocketError('ADMIN_SOCKET_UNREACHABLE', `cannot reach the agent at ${socket}: ECONNREFUSED (is it running? are you root or in the admin group?)`)));
      if (a.afterMs > timeoutMs) {
        nowMs += timeoutMs;
        return settle(Promise.reject(new AdminSocketError('ADMIN_SOCKET_TIMEOUT', `no answer from ${socket} within ${timeoutMs} ms`)));
      }
      nowMs += a.afterMs;
      return settle(Promise.resolve(a.res));
    },
    sleep: (ms) => {
      nowMs += ms;
      return Promise.resolve();
    },
    version: '0.0.0-test',
    programName: 'booth',
    lookup: () => Promise.reject(Object.assign(new Error('not in this test'), { code: 'ENOTFOUND' })),
  };
  const code = await runBoothClient([...argv, '-c', configPath], io);
  return { code, out, err, tookMs: nowMs - start, asked, inFlightMax };
}

describe('booth list without a majority answers from the local view', () => {
  it('the holder it asks for expires was killed and the socket gives up first (--timeout below the forward bound): exit 0, no expires', async () => {
    // The CI failure: site b (the holder) and the arbitrator SIGKILLed, `booth list --timeout 3000` at a.
    const r = await runAgainst(['list', '--timeout', '3000'], (req) => {
      if (req.op === 'list') return req.local === true ? localList([heldElsewhere('db', siteB)]) : noLeader;
      if (req.op === 'status' && req.site === siteB) return silent(siteB);
      throw new Error(`unexpected request ${JSON.stringify(req)}`);
    });
    expect(r.err).toContain(`warning: no majority of the formation is reachable (no leader known: is a majority of the formation reachable?); this is ${siteA}'s own view`);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`ticket: db, leader: ${siteB}\n`);
    expect(r.err).not.toContain('ERROR');
  });

  it('the holder is gone and the member answers the forward with its timeout (default --timeout): exit 0, no expires', async () => {
    const r = await runAgainst(['list'], (req) => {
      if (req.op === 'list') return req.local === true ? localList([heldElsewhere('db', siteB)]) : noLeader;
      return silent(siteB);
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`ticket: db, leader: ${siteB}\n`);
  });

  it('the member still forwards the read to a leader that just died, longer than the socket waits: the local view, exit 0', async () => {
    // Right after the kill the member still follows the dead leader for an election timeout; the
    // linearizable read is forwarded and the member's answer comes after forwardTimeoutMs.
    const r = await runAgainst(['list', '--timeout', '3000'], (req) => {
      if (req.op === 'list') return req.local === true ? localList([heldElsewhere('db', siteB)]) : silent(siteB);
      return silent(siteB);
    });
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`warning: no majority of the formation is reachable \\(.*3000 ms.*\\); this is ${siteA.replace(/\./g, '\\.')}'s own view`));
    expect(r.out).toBe(`ticket: db, leader: ${siteB}\n`);
  });

  it('two tickets held by two silent members: exit 0, both lines, the holders asked at once (one forward bound, not one per holder)', async () => {
    const r = await runAgainst(['list', '--timeout', '3000'], (req) => {
      if (req.op === 'list') return req.local === true ? localList([heldElsewhere('db', siteB), heldElsewhere('web', arb)]) : noLeader;
      return silent(req.site ?? '?');
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`ticket: db, leader: ${siteB}\nticket: web, leader: ${arb}\n`);
    expect(r.asked.filter((q) => q.op === 'status').map((q) => q.site).sort()).toEqual([siteB, arb].sort());
    expect(r.inFlightMax).toBe(2);
  });

  it('a holder that answers still gives expires', async () => {
    const leaseLeftMs = 42_000;
    const r = await runAgainst(['list'], (req) => {
      if (req.op === 'list') return req.local === true ? localList([heldElsewhere('db', siteB)]) : noLeader;
      return { afterMs: 5, res: { ok: true, message: 'status', answeredBy: siteB, data: { id: siteB, kind: 'site', tickets: [{ ...heldElsewhere('db', siteB), leaseLeftMs, grantedHere: true }] } } };
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`^ticket: db, leader: ${siteB.replace(/\./g, '\\.')}, expires: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\n$`));
  });

  it('list -s SITE: that site answers, the holder it names does not: exit 0 with that site\'s view', async () => {
    const r = await runAgainst(['list', '-s', arb, '--timeout', '3000'], (req) => {
      if (req.op === 'status' && req.site === arb) return { afterMs: 5, res: { ok: true, message: 'status', answeredBy: arb, data: { id: arb, kind: 'arbitrator', tickets: [heldElsewhere('db', siteB)] } } };
      if (req.op === 'status' && req.site === siteB) return silent(siteB);
      throw new Error(`unexpected request ${JSON.stringify(req)}`);
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`ticket: db, leader: ${siteB}\n`);
  });

  it('the local member is not running: exit 1 and says so, as before (pcs reads status for that)', async () => {
    const r = await runAgainst(['list'], () => ({ afterMs: 0, res: 'refused' }));
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERROR: cannot reach the local tollbooth member');
    expect(r.out).toBe('');
  });

  it('the local member does not answer even its own view (hung): exit 1, nothing on stdout', async () => {
    const r = await runAgainst(['list', '--timeout', '3000'], () => silent(siteB));
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERROR:');
    expect(r.out).toBe('');
    expect(r.tookMs).toBeLessThanOrEqual(2 * 3000);
  });

  it('with a majority nothing changes: the leader\'s answer, no warning, no extra request', async () => {
    const r = await runAgainst(['list'], (req) => {
      if (req.op === 'list' && req.local !== true) return { afterMs: 3, res: { ok: true, message: 'list', answeredBy: arb, data: [{ ...heldElsewhere('db', siteB), leaseLeftMs: 30_000 }] } };
      throw new Error(`unexpected request ${JSON.stringify(req)}`);
    });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.asked).toHaveLength(1);
    expect(r.tookMs).toBeLessThan(boothRequestTimeoutMsDefault);
  });
});
