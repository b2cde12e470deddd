// The lease guard against the REAL crm_ticket on a CIB file: a grant written
// by the crm_ticket sink is revoked by the guard when its deadline passes —
// not before, and at its first look after — unless the agent moved the
// deadline; a grant whose deadline the agent keeps moving stays. Also the
// process: the `tollbooth lease-guard` command (built CLI) revokes on its own
// after the agent that armed the grant is gone, then stops. And the hand-over
// (docs/operations.md, "move the agent"): a deadline whose grant an agent of
// the same site on another node wrote since, with a later `expires`, is left
// alone. Every grant due at the same moment is revoked together, with one
// read and one cibadmin --modify.
//
// The in-process guard runs on a clock the test moves by hand and counts the
// guard's reads of it, so "not before" and "at its first look after" are
// orders of events, not wall-clock margins: the outcome is the same on an
// idle and on a loaded machine. The processes run on the real clock; there
// the test only bounds how long it waits, with room for a loaded machine.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CrmTicketSink, type CrmTicketCall } from '../../../src/adapters/pacemaker/crm-ticket-sink.js';
import { CibExpiryGuard, LeaseGuard } from '../../../src/adapters/pacemaker/lease-guard.js';
import { LeaseGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { SystemClock } from '../../../src/adapters/system-clock.js';
import type { TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { generation, memberId, ms, type Ms } from '../../../src/core/types.js';
import type { MonotonicClock } from '../../../src/ports/ports.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'fixtures');
const repo = join(here, '..', '..', '..');
const clock = new SystemClock();
/** Upper bound on waiting for a process to act (start-up, a poll, crm_ticket), generous for a loaded machine. */
const processWaitMs = 30_000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

let dir = '';
const guards: LeaseGuard[] = [];
afterEach(async () => {
  for (const g of guards.splice(0)) g.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

/**
 * A monotonic clock moved by hand. The guard gets `forGuard`, which counts
 * the guard's reads: it reads the clock once when it enforces and once when it
 * sets its timer, so three reads after a move include one whole look at the
 * new time (enforce, then the timer).
 */
class HandClock implements MonotonicClock {
  guardReads = 0;
  readonly forGuard: MonotonicClock = {
    now: () => {
      this.guardReads += 1;
      return this.now();
    },
  };
  constructor(public t: number) {}
  now(): Ms {
    return ms(this.t);
  }
}

/** Moves the hand clock and waits until the guard has looked at the new time once, whole. */
async function moveAndLook(c: HandClock, t: number): Promise<void> {
  c.t = t;
  const from = c.guardReads;
  const until = clock.now() + processWaitMs;
  while (c.guardReads < from + 3) {
    if (clock.now() > until) throw new Error(`the guard did not look at the clock within ${processWaitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(boothCfgName = 'booth', sinkClock: MonotonicClock = clock): Promise<{ cib: string; sink: CrmTicketSink; guardFile: LeaseGuardFile }> {
  dir = await mkdtemp(join(tmpdir(), 'lease-guard-'));
  const cib = join(dir, 'cib.xml');
  await copyFile(join(fixtures, 'cib-tickets.xml'), cib);
  const guardFile = await LeaseGuardFile.open(join(dir, 'lease-guard'), 'boot-x');
  const sink = new CrmTicketSink({ siteId: 560592995, boothCfgName, env: { CIB_file: cib }, clock: sinkClock, guard: guardFile });
  return { cib, sink, guardFile };
}

function grant(ticket: string, revokeBy: number, gen = 3): TicketEffect {
  return { id: 1, ticket, granted: true, standby: false, generation: generation(gen), owner: memberId('192.0.2.1'), revokeBy: ms(revokeBy), attrs: {} };
}

async function grantedIn(cib: string, ticket: string): Promise<boolean> {
  const { stdout } = await run('crm_ticket', ['-t', ticket, '-G', 'granted'], { env: { ...process.env, CIB_file: cib } });
  return stdout.trim() === 'true';
}

/** Polls until the ticket is revoked in the CIB; resolves with the monotonic time it was seen (on `on`). */
async function revokedAt(cib: string, ticket: string, deadlineMs: number, on: MonotonicClock = clock): Promise<number> {
  const until = clock.now() + deadlineMs;
  while (clock.now() < until) {
    // crm_ticket rewrites a CIB file in place: a read that overlaps the guard's write can fail; read again.
    const granted = await grantedIn(cib, ticket).catch(() => null);
    if (granted === false) return on.now();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${ticket} still granted after ${deadlineMs} ms`);
}

describe('the lease guard (real crm_ticket, CIB file)', () => {
  it('revokes a grant when its deadline passes, not before, with owner 0 and the term kept', async () => {
    const hand = new HandClock(5_000_000);
    const { cib, sink, guardFile } = await setup('booth', hand);
    const deadline = hand.t + 600;
    expect(await sink.apply(grant('ticketA', deadline))).toEqual({ ok: true });
    const g = new LeaseGuard({ guardPath: guardFile.path, boot: 'boot-x', clock: hand.forGuard, revokeAll: (due) => sink.revokeLostAll(due.map((d) => ({ ticket: d.ticket, upToGeneration: null }))), log: quiet, pollMs: 100 });
    guards.push(g);
    await g.start();
    // Not before: the guard has looked at 1 ms before the deadline (however long that took), and left it.
    await moveAndLook(hand, deadline - 1);
    expect(await grantedIn(cib, 'ticketA')).toBe(true);
    expect(g.revoked).toBe(0);
    // At the deadline, with the clock standing still there: revoked at the guard's first look.
    hand.t = deadline;
    const at = await revokedAt(cib, 'ticketA', processWaitMs, hand);
    expect(at).toBe(deadline);
    const { stdout } = await run('crm_ticket', ['-t', 'ticketA', '-q'], { env: { ...process.env, CIB_file: cib } });
    expect(stdout).toMatch(/granted="false"/);
    expect(stdout).toMatch(/owner="0"/);
    expect(stdout).toMatch(/term="3"/);
    expect(g.revoked).toBe(1);
  });

  it('revokes every grant due at the same moment together: one read and one cibadmin --modify, not two crm_ticket calls each', async () => {
    const hand = new HandClock(5_000_000);
    const { cib, guardFile } = await setup('booth', hand);
    const calls: CrmTicketCall[] = [];
    const sink = new CrmTicketSink({ siteId: 560592995, boothCfgName: 'booth', env: { CIB_file: cib }, clock: hand, guard: guardFile, onCall: (c) => calls.push(c) });
    const deadline = hand.t + 600;
    const tickets = Array.from({ length: 40 }, (_, i) => `t${i}`);
    // Granted in one batch; a newer grant (term 4) of one of them, written since by another agent, is left alone.
    expect((await sink.applyBatch(tickets.map((t, i) => ({ ...grant(t, deadline), id: i + 1 })))).every((o) => o.ok)).toBe(true);
    await run('crm_ticket', ['-t', 't0', '-S', 'term', '--attr-value=4'], { env: { ...process.env, CIB_file: cib } });
    const g = new LeaseGuard({
      guardPath: guardFile.path,
      boot: 'boot-x',
      clock: hand.forGuard,
      revokeAll: (due) => sink.revokeLostAll(due.map((d) => ({ ticket: d.ticket, upToGeneration: d.generation }))),
      log: quiet,
      pollMs: 100,
    });
    guards.push(g);
    await g.start();
    await moveAndLook(hand, deadline - 1);
    calls.length = 0;
    hand.t = deadline;
    expect(await revokedAt(cib, 't39', processWaitMs, hand)).toBe(deadline);
    const until = clock.now() + processWaitMs;
    while (g.revoked < 39 && clock.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(g.revoked).toBe(39);
    const made = calls.map((c) => `${c.tool ?? 'crm_ticket'} ${c.args.join(' ')}`);
    expect(made.slice(0, 2)).toEqual(['crm_ticket -q', 'cibadmin --modify --scope status --xml-pipe']);
    // Then the guard's checks again of the deadlines it enforced (nothing granted since): one read each, no write.
    expect(made.slice(2).every((c) => c === 'crm_ticket -q')).toBe(true);
    for (const t of tickets.slice(1)) expect(await grantedIn(cib, t)).toBe(false);
    expect(await grantedIn(cib, 't0')).toBe(true);
    const { stdout } = await run('crm_ticket', ['-t', 't7', '-q'], { env: { ...process.env, CIB_file: cib } });
    expect(stdout).toMatch(/owner="0"/);
    expect(stdout).toMatch(/term="3"/);
  });

  it('keeps a grant whose deadline the agent moves later, and revokes at the moved deadline', async () => {
    const hand = new HandClock(5_000_000);
    const { cib, sink, guardFile } = await setup('booth', hand);
    const first = hand.t + 3_000;
    await sink.apply(grant('ticketA', first));
    const g = new LeaseGuard({ guardPath: guardFile.path, boot: 'boot-x', clock: hand.forGuard, revokeAll: (due) => sink.revokeLostAll(due.map((d) => ({ ticket: d.ticket, upToGeneration: null }))), log: quiet, pollMs: 100 });
    guards.push(g);
    await g.start();
    // The extension lands before the first deadline on the guard's clock, however long the write took.
    const moved = first + 1_000;
    expect(await sink.extendGuard({ id: 2, extend: [{ ticket: 'ticketA', generation: generation(3), revokeBy: ms(moved) }] })).toEqual({ ok: true, skipped: [] });
    await moveAndLook(hand, first);
    await moveAndLook(hand, moved - 1);
    expect(await grantedIn(cib, 'ticketA')).toBe(true);
    hand.t = moved;
    expect(await revokedAt(cib, 'ticketA', processWaitMs, hand)).toBe(moved);
    // Once passed, the deadline cannot be moved: the agent is told to write the grant again.
    expect(await sink.extendGuard({ id: 3, extend: [{ ticket: 'ticketA', generation: generation(3), revokeBy: ms(hand.t + 5_000) }] })).toEqual({ ok: true, skipped: ['ticketA'] });
  });

  it('records the holder’s lease end beside each deadline the sink arms or moves (the guard’s own timing needs it)', async () => {
    const { sink, guardFile } = await setup();
    const revokeBy = clock.now() + 60_000;
    expect(await sink.applyBatch([{ ...grant('ticketA', revokeBy), leaseEnd: ms(revokeBy + 400) }])).toEqual([{ id: 1, ok: true }]);
    expect(guardFile.get('ticketA')).toMatchObject({ generation: 3, revokeBy, leaseEnd: revokeBy + 400 });
    expect(await sink.extendGuard({ id: 2, extend: [{ ticket: 'ticketA', generation: generation(3), revokeBy: ms(revokeBy + 1_000), leaseEnd: ms(revokeBy + 1_400) }] })).toEqual({ ok: true, skipped: [] });
    expect(guardFile.get('ticketA')).toMatchObject({ revokeBy: revokeBy + 1_000, leaseEnd: revokeBy + 1_400 });
  });

  it('leaves a newer grant (higher term) alone: that deadline protected an older one', async () => {
    const { cib, sink } = await setup();
    await sink.apply(grant('ticketA', clock.now() + 60_000, 5));
    expect(await sink.revokeLost('ticketA', 4)).toEqual({ ok: true, changed: false });
    expect(await grantedIn(cib, 'ticketA')).toBe(true);
    expect(await sink.revokeLost('ticketA', 5)).toEqual({ ok: true, changed: true });
    expect(await grantedIn(cib, 'ticketA')).toBe(false);
  });

  it('stands down at its deadline when an agent of this site on another node took the grant over (same term, later expires)', async () => {
    // Two nodes of one site share the CIB (here one CIB file); each agent has its own state directory and guard.
    const { cib, sink, guardFile } = await setup();
    const other = await LeaseGuardFile.open(join(dir, 'other-node-lease-guard'), 'boot-x');
    const otherSink = new CrmTicketSink({ siteId: 560592995, boothCfgName: 'booth', env: { CIB_file: cib }, clock, guard: other });
    const deadline = clock.now() + 1_500;
    expect(await sink.apply(grant('ticketA', deadline))).toEqual({ ok: true });
    const own = guardFile.get('ticketA')!;
    expect(own.expiresSec).toBe(Math.floor((Date.now() + (deadline - clock.now())) / 1000));
    // The group moved: the agent on the other node writes the same grant (same term) with its own, later deadline.
    expect(await otherSink.apply(grant('ticketA', clock.now() + 60_000))).toEqual({ ok: true });
    let notedTakeOver = 0;
    const log = { ...quiet, info: (_o: object, msg: string) => void (msg.includes('took the grant over') && (notedTakeOver += 1)) };
    const g = new LeaseGuard({ guardPath: guardFile.path, boot: 'boot-x', clock, revokeAll: (due) => sink.revokeLostAll(due.map((d) => ({ ticket: d.ticket, upToGeneration: d.generation, unlessExpiresAfterSec: d.rec.expiresSec! }))), log, pollMs: 100 });
    guards.push(g);
    await g.start();
    const until = clock.now() + processWaitMs;
    while (g.tookOver === 0 && clock.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(clock.now()).toBeGreaterThanOrEqual(deadline);
    expect(g.tookOver).toBe(1);
    expect(notedTakeOver).toBe(1);
    expect(g.revoked).toBe(0);
    expect(await grantedIn(cib, 'ticketA')).toBe(true);
    // Without a later expires (the other agent never wrote), the same deadline revokes: the record's own expires is no take-over.
    expect(await sink.revokeLost('ticketA', 3, undefined, Number.MAX_SAFE_INTEGER)).toEqual({ ok: true, changed: true });
    expect(await grantedIn(cib, 'ticketA')).toBe(false);
  });

  it('leaves tickets of another booth configuration alone', async () => {
    const { cib, sink, guardFile } = await setup('other');
    await run('crm_ticket', ['-t', 'ticketB', '-g', '--force', '-S', 'booth-cfg-name', '--attr-value=booth'], { env: { ...process.env, CIB_file: cib } });
    await guardFile.arm('ticketB', 1, clock.now() - 1);
    const r = await sink.revokeLost('ticketB');
    expect(r).toMatchObject({ ok: false, code: 'FOREIGN_TICKET' });
    expect(await grantedIn(cib, 'ticketB')).toBe(true);
  });

  it('as a process: revokes after the agent that armed it is gone, then stops on its own', async () => {
    const { cib, sink, guardFile } = await setup('formation');
    // A one-site config whose name is the booth-cfg-name; the guard finds its site with --self.
    const conf = join(dir, 'formation.conf');
    const { writeFile } = await import('node:fs/promises');
    const key = 'tollbooth-member-key';
    await writeFile(
      conf,
      [
        'transport = UDP',
        'port = 9929',
        'site = 192.0.2.1',
        'site = 192.0.2.2',
        'arbitrator = 192.0.2.3',
        `${key} = 192.0.2.1 ${Buffer.alloc(32, 1).toString('base64')}`,
        `${key} = 192.0.2.2 ${Buffer.alloc(32, 2).toString('base64')}`,
        `${key} = 192.0.2.3 ${Buffer.alloc(32, 3).toString('base64')}`,
        'ticket = "ticketA"',
        '',
      ].join('\n'),
    );
    // The grant is written with a long deadline (its write must not race it); the record the process
    // reads gets a short one, armed just before the process starts: whenever the process gets to it,
    // the deadline has passed or soon will, and the revoke can only come at or after it.
    expect(await sink.apply(grant('ticketA', clock.now() + 60_000))).toEqual({ ok: true });
    // The real boot id: the process reads /proc's.
    const { bootId } = await import('../../../src/adapters/system-clock.js');
    const real = await LeaseGuardFile.open(guardFile.path, bootId());
    const deadline = clock.now() + 1_500;
    await real.arm('ticketA', 3, deadline);
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    const p = spawn(process.execPath, [join(repo, 'dist', 'bin', 'tollbooth.js'), 'lease-guard', '-c', conf, '--self', '192.0.2.1', '--state-dir', dir, '--agent-pid', String(dead.pid)], {
      env: { ...process.env, CIB_file: cib },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    const at = await revokedAt(cib, 'ticketA', processWaitMs);
    expect(at, out).toBeGreaterThanOrEqual(deadline);
    expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), processWaitMs))]), out).toBe(0);
    expect(out).toContain('ticket revoked by the lease guard');
  });
});

describe('the cluster lease guard (CIB expires; real crm_ticket, CIB file)', () => {
  it('revokes our grants whose expires has passed by more than the margin, and nothing else', async () => {
    const { cib, sink } = await setup();
    const env = { ...process.env, CIB_file: cib };
    const nowSec = Math.floor(Date.now() / 1000);
    const set = (t: string, attrs: string[]) => run('crm_ticket', ['-t', t, '-g', '--force', ...attrs.flatMap((a) => ['-S', a.split('=')[0]!, `--attr-value=${a.split('=')[1]!}`])], { env });
    await set('ticketA', [`expires=${nowSec - 10}`, 'term=4', 'booth-cfg-name=booth']); // overdue
    await set('ticketB', [`expires=${nowSec + 60}`, 'term=2', 'booth-cfg-name=booth']); // current
    await set('ticketC', [`expires=${nowSec - 1}`, 'term=2', 'booth-cfg-name=booth']); // within the margin
    await set('ticketD', [`expires=${nowSec - 10}`, 'term=2', 'booth-cfg-name=other']); // another configuration's
    const logs: string[] = [];
    const g = new CibExpiryGuard({
      read: () => sink.ticketStates(),
      revokeAll: (overdue) => sink.revokeLostAll(overdue.map((o) => ({ ticket: o.ticket, upToGeneration: o.term }))),
      wallMs: () => nowSec * 1000,
      marginMs: 2_000,
      log: { info: () => undefined, warn: (_o, m) => logs.push(m), error: (_o, m) => logs.push(m) },
    });
    expect(await g.checkOnce()).toEqual(['ticketA']);
    expect(await grantedIn(cib, 'ticketA')).toBe(false);
    for (const t of ['ticketB', 'ticketC', 'ticketD']) expect(await grantedIn(cib, t)).toBe(true);
    expect(logs).toEqual(['CIB expires passed: ticket revoked by the cluster lease guard']);
    // Nothing overdue is left: a second pass changes nothing.
    expect(await g.checkOnce()).toEqual([]);
  });

  it('as a process on a node without the agent (tollbooth lease-guard --cib): revokes the overdue grant', async () => {
    const { cib } = await setup('formation');
    const conf = join(dir, 'formation.conf');
    const { writeFile } = await import('node:fs/promises');
    const key = 'tollbooth-member-key';
    await writeFile(conf, ['site = 192.0.2.1', 'site = 192.0.2.2', 'arbitrator = 192.0.2.3', `${key} = 192.0.2.1 ${Buffer.alloc(32, 1).toString('base64')}`, `${key} = 192.0.2.2 ${Buffer.alloc(32, 2).toString('base64')}`, `${key} = 192.0.2.3 ${Buffer.alloc(32, 3).toString('base64')}`, 'ticket = "ticketA"', ''].join('\n'));
    const env = { ...process.env, CIB_file: cib };
    // Granted by "the agent" with an expires 3 s from now; then the agent's node is gone: nobody extends it.
    await run('crm_ticket', ['-t', 'ticketA', '-g', '--force', '-S', 'expires', `--attr-value=${Math.floor(Date.now() / 1000) + 3}`, '-S', 'term', '--attr-value=5', '-S', 'booth-cfg-name', '--attr-value=formation'], { env });
    const expiresAt = (Math.floor(Date.now() / 1000) + 3) * 1000;
    const p = spawn(process.execPath, [join(repo, 'dist', 'bin', 'tollbooth.js'), 'lease-guard', '--cib', '-c', conf, '--margin', '500'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const at = await revokedAt(cib, 'ticketA', processWaitMs);
      expect(Date.now() - (clock.now() - at), out).toBeGreaterThanOrEqual(expiresAt - 1000);
      expect(out).toContain('ticket revoked by the cluster lease guard');
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  });
});
