// The audit history (issue 13, item 3) on a formation of real processes:
// two site agents and an arbitrator from dist/ on 127.0.0.1–127.0.0.3, their
// admin sockets open to root and the group nogroup (tollbooth-admin-group).
// It checks, through the real `tollbooth` CLI:
//  - an automatic placement is recorded as `auto initial`, with a detail;
//  - a grant by root names uid 0 and "root", the member whose socket took it
//    and the client's pid, and carries the time the leader appended it, on
//    the leader's clock (this host's: between the test's before and after);
//  - a revoke by a process setpriv started as nobody:nogroup names uid 65534
//    and "nobody" — the kernel's word — and keeps what the client claimed to
//    be (SUDO_USER=alice) beside it, marked as a claim; a request body that
//    names its own requester is not believed;
//  - `history --since` takes ISO 8601 and relative times, and a bad value is
//    a usage error (exit 2) naming the option and the value;
//  - a failover after kill -9 of the holder is recorded as `auto failover`
//    naming the old holder whose lease ran out;
//  - the history survives a member's restart from its store, and a snapshot
//    installed on a follower: the arbitrator is stopped while more entries
//    are committed than the log keeps before a snapshot (logEntriesBeforeSnapshot),
//    so on its return the leader can only send it a snapshot (its log says
//    so), and its own history then holds the earlier records exactly as the
//    leader's does.
// Waits are events with deadlines (until, callLed); nothing sleeps.
import { execFile } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, memberReadyMsMax, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import { defaultLimits } from '../../src/core/config.js';
import type { HistoryView, TicketView } from '../../src/runtime/admin-service.js';
import { callLed, formationWaitMs, runLed } from '../support/led-calls.js';

const distCommand = [process.execPath, 'dist/bin/tollbooth.js'];
const leaseS = 4;
/** One CLI run from dist/, on a loaded machine. */
const cliRunMsMax = 60_000;
/** Entries committed while the arbitrator is away: past the point where the leader's log is cut to a snapshot. */
const entriesWhileAway = defaultLimits.logEntriesBeforeSnapshot + 40;
const testMs = 5 * 60_000;

interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

const cli = (args: readonly string[], asNobody?: { env: Record<string, string> }): Promise<CliRun> =>
  new Promise((resolve) => {
    const [exe, ...pre] = distCommand;
    const file = asNobody === undefined ? exe! : 'setpriv';
    const argv = asNobody === undefined ? [...pre, ...args] : ['--reuid=nobody', '--regid=nogroup', '--clear-groups', exe!, ...pre, ...args];
    // HOME and USER as a login of that user would have them; SUDO_USER only when the test says.
    const env = asNobody === undefined ? { ...process.env, SUDO_USER: '' } : { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...asNobody.env };
    execFile(file, argv, { timeout: cliRunMsMax, env }, (error, out, err) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out, err });
    });
  });

describe('the audit history of a formation of real processes', () => {
  let f: LoopbackFormation;
  const historyOf = async (m: LoopbackMember, ticket?: string, local = false): Promise<HistoryView[]> => {
    const r = await callLed(f, m, { op: 'history', ...(ticket === undefined ? {} : { ticket }), ...(local ? { local: true } : {}) });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    return r.data as HistoryView[];
  };
  const holderOf = async (ticket: string): Promise<string | null> => {
    const r = await callLed(f, f.members[2]!, { op: 'list' });
    return (r.data as TicketView[]).find((t) => t.name === ticket)?.holder ?? null;
  };

  beforeAll(async () => {
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command: distCommand,
      extraConfig: ['tollbooth-admin-group = nogroup', 'tollbooth-history-records = 2048'],
      tickets: [
        { name: 'auto', expireS: leaseS, acquireAfterS: 0 },
        { name: 'man', expireS: leaseS, mode: 'manual' },
      ],
    });
    // The sockets are root:nogroup 0660; nobody must be able to pass through their directory.
    await chmod(f.root, 0o711);
    await f.startAll();
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    await f.stop();
  });

  it('records the automatic placement as auto initial, with where it went', async () => {
    const holder = await until('the automatic ticket to be held', formationWaitMs, () => holderOf('auto'));
    const h = await historyOf(f.members[0]!, 'auto');
    expect(h.at(-1)).toMatchObject({ change: 'grant', holder, cause: { by: 'auto', reason: 'initial', detail: `held nowhere: placed on ${holder}` }, clock: 'leader' });
  });

  it('names root (uid 0) for a grant through the local socket, with the leader\'s time of it', { timeout: testMs }, async () => {
    const [a, b] = f.sites;
    const before = Date.now();
    const g = await cli(['grant', 'man', '-s', a!.address, '--socket', b!.socket]);
    const after = Date.now();
    expect(g, g.err).toMatchObject({ code: 0 });
    const r = await runLed(() => cli(['history', 'man', '--json', '--socket', f.members[2]!.socket]));
    expect(r.code, r.err).toBe(0);
    const records = (JSON.parse(r.out) as { data: HistoryView[] }).data;
    const grant = records.at(-1)!;
    expect(grant).toMatchObject({ ticket: 'man', change: 'grant', holder: a!.address, clock: 'leader' });
    expect(grant.cause).toMatchObject({ by: 'admin', force: false, requester: { via: 'socket', member: b!.address, uid: 0, user: 'root' } });
    expect(grant.cause.by === 'admin' && grant.cause.requester?.via === 'socket' && grant.cause.requester.pid > 1).toBe(true);
    // Appended by the leader between the command's start and its answer (one host: the leader's clock is ours).
    expect(grant.wallMs).toBeGreaterThanOrEqual(before);
    expect(grant.wallMs).toBeLessThanOrEqual(after);
    expect(grant.appendedAt).toBe(new Date(grant.wallMs!).toISOString());
    const human = await cli(['history', 'man', '--socket', a!.socket]);
    expect(human.out).toContain(`root (uid 0) on ${b!.address}`);
    expect(human.out).toContain(grant.appendedAt!.replace('T', ' '));
  });

  it('names nobody (uid 65534) for a revoke by a process running as nobody, and keeps its claim apart', { timeout: testMs }, async () => {
    const [a] = f.sites;
    const r = await cli(['revoke', 'man', '--socket', a!.socket], { env: { SUDO_USER: 'alice' } });
    expect(r, r.err).toMatchObject({ code: 0 });
    const revoke = (await historyOf(a!, 'man')).at(-1)!;
    expect(revoke).toMatchObject({ change: 'revoke', holder: null });
    expect(revoke.cause).toMatchObject({ by: 'admin', requester: { via: 'socket', member: a!.address, uid: 65534, user: 'nobody', claimedUser: 'alice' } });
    // A requester written into the request is the client's claim, not the kernel's word: dropped.
    const forged = await callLed(f, a!, { op: 'attr-set', ticket: 'man', key: 'note', value: 'x', requester: { via: 'socket', member: a!.address as never, uid: 1234, user: 'mallory', pid: 1 } });
    expect(forged.ok, JSON.stringify(forged)).toBe(true);
    expect((await historyOf(a!, 'man')).at(-1)!.cause).toMatchObject({ requester: { uid: 0, user: 'root' } });
  });

  it('history --since takes ISO 8601 and relative times; a bad value is a usage error naming it', async () => {
    const socket = ['--socket', f.members[0]!.socket];
    const recent = await runLed(() => cli(['history', '--since', '10m', '--json', ...socket]));
    expect((JSON.parse(recent.out) as { data: HistoryView[] }).data.length).toBeGreaterThanOrEqual(4);
    const future = await runLed(() => cli(['history', '--since', '2099-01-01T00:00:00Z', ...socket]));
    expect(future).toMatchObject({ code: 0, out: 'no history\n' });
    const bad = await cli(['history', '--since', 'yesterday', ...socket]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--since "yesterday" is not a time');
  });

  it('records a failover after kill -9 of the holder as auto failover, naming whose lease ran out', { timeout: testMs }, async () => {
    const old = await until('the automatic ticket to be held', formationWaitMs, () => holderOf('auto'));
    const holder = f.member(old);
    await f.kill(holder);
    const other = f.sites.find((s) => s !== holder)!;
    const next = await until('the automatic ticket to fail over', formationWaitMs, async () => ((await holderOf('auto')) === other.address ? other.address : null));
    const failover = (await historyOf(other, 'auto')).at(-1)!;
    expect(failover).toMatchObject({ change: 'grant', holder: next, cause: { by: 'auto', reason: 'failover' }, clock: 'leader' });
    expect(failover.cause.by === 'auto' && failover.cause.detail).toMatch(new RegExp(`^the lease of ${old.replaceAll('.', '\\.')} \\(generation \\d+\\) ran out in the leader's view$`));
    // Back from its store: its own history (a local read) is the leader's once it has caught up.
    f.start(holder);
    await f.waitReady(holder);
    const leaders = await historyOf(other);
    await until(`${old}'s own history to reach the failover`, formationWaitMs, async () => ((await historyOf(holder, undefined, true)).some((h) => h.index === failover.index) ? true : null));
    const own = await historyOf(holder, undefined, true);
    expect(own.filter((h) => h.index <= failover.index)).toEqual(leaders.filter((h) => h.index <= failover.index));
  });

  it('keeps the history whole in a snapshot installed on a follower that was away', { timeout: testMs }, async () => {
    const arbitrator = f.members[2]!;
    const [a] = f.sites;
    const earlier = await historyOf(a!);
    await f.kill(arbitrator, 'SIGTERM');
    // If it led, a site takes over: commands go to a leader that is there (a command that times out is not sent twice).
    await until('a leader among the sites', formationWaitMs, async () => {
      const leader = ((await f.call(a!, { op: 'status' })).data as { leader: string | null }).leader;
      return leader !== null && leader !== arbitrator.address ? true : null;
    });
    for (let i = 0; i < entriesWhileAway; i++) {
      // Setting n to i again is harmless: unlike callLed, ask again after a timeout too (an election on a loaded machine).
      const r = await until(`attr-set n=${i} to commit`, formationWaitMs, async () => {
        const x = await callLed(f, a!, { op: 'attr-set', ticket: 'man', key: 'n', value: String(i) });
        return x.ok || x.code !== 'timeout' ? x : null;
      });
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
    const last = (await historyOf(a!)).at(-1)!;
    f.start(arbitrator);
    await f.waitReady(arbitrator);
    await until('the arbitrator to apply the last change', formationWaitMs, async () => ((await historyOf(arbitrator, undefined, true)).at(-1)?.index === last.index ? true : null));
    const log = await readFile(arbitrator.log, 'utf8');
    expect(log).toMatch(/"stage":"installed"[^\n]*"msg":"snapshot transfer"|"msg":"snapshot transfer"[^\n]*"stage":"installed"/);
    const own = await historyOf(arbitrator, undefined, true);
    for (const h of earlier) expect(own.find((x) => x.index === h.index)).toEqual(h);
    expect(own.at(-1)).toEqual(last);
    expect(last.cause).toMatchObject({ by: 'admin', requester: { via: 'socket', uid: 0, user: 'root', member: a!.address } });
  });
});
