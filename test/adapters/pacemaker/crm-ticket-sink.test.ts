// Checks CrmTicketSink against the REAL crm_ticket (Debian pacemaker-cli-utils)
// on CIB files: each test copies a fixture CIB (fixtures/cib-tickets.xml, the
// lab's 3-node CIB with rsc_ticket constraints on ticketA/ticketB, or
// fixtures/cib-foreign-tickets.xml, which adds tickets of our booth config and
// of others) into its own temp dir and points the sink at it with CIB_file.
// Every command line the sink emits is recorded through `onCall` and compared
// exactly; the resulting CIB is read back independently of the sink's parser
// (`cibadmin -Q -o status` and `crm_ticket -L`), and we check the schema was
// not silently dropped (a "repaired" file, pacemaker.md §2.2). Error paths use
// the real binary where it can produce them (invalid CIB XML, missing CIB
// file) and tiny fake crm_ticket scripts in a temp dir where it cannot (every
// mapped exit code, a slow binary for the timeout, a transient failure that
// heals, malformed output). applyBatch is checked with the real cibadmin: N
// grants and N revokes in one CIB update (the guard record armed before, and
// cleared after), an invalid or foreign ticket failing alone, a failed update
// failing every effect in it with the CIB unchanged, a concurrent change by
// hand kept, and the split into updates of cibBatchTicketsMax. Time is a fixed offset between a monotonic and a
// wall clock so that `expires` is exact. If crm_ticket is not installed the
// suite FAILS (it never skips): install pacemaker-cli-utils (see .ci/run).
import { LeaseGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CrmTicketError,
  CrmTicketSink,
  parseQueryOutput,
  type CrmTicketCall,
  type CrmTicketSinkOptions,
  cibExpiresSlackMs,
  cibBatchTicketsMax,
} from '../../../src/adapters/pacemaker/crm-ticket-sink.js';
import type { TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { systemProcessRunner } from '../../../src/adapters/process-runner.js';
import { generation, memberId, ms, type Ms } from '../../../src/core/types.js';
import type { MonotonicClock } from '../../../src/ports/ports.js';
import { describeTicketSinkCompliance, HandClock, start, type SinkMedium } from './ticket-sink-compliance.js';

const run = promisify(execFile);
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const siteId = 560592995;
/** Wall clock = wall0 + (monotonic − mono0): expires is exact and computable. */
const wall0 = 1_800_000_000_000;
const mono0 = 5_000_000;

class StepClock implements MonotonicClock {
  t = mono0;
  now(): Ms {
    return ms(this.t);
  }
}

/** Where `name` is on PATH; '' when it is not. */
function onPath(name: string): string {
  return execFileSync('sh', ['-c', `command -v ${name} || true`], { encoding: 'utf8' }).trim();
}

// Looked up once; every test goes through lab(), which FAILS (never skips)
// when the real Pacemaker CLI is missing.
const crmTicket = onPath('crm_ticket');
const pacemakerCliMissing =
  crmTicket === '' || onPath('cibadmin') === ''
    ? 'crm_ticket/cibadmin not found on PATH: these tests need the real Pacemaker CLI. Install it with ' +
      '`apt-get update && apt-get install -y pacemaker-cli-utils` (.ci/run does so on Debian).'
    : null;
let dir = '';

afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

interface Lab {
  cib: string;
  clock: StepClock;
  calls: CrmTicketCall[];
  sink: CrmTicketSink;
  guard: LeaseGuardFile;
}

async function lab(fixture = 'cib-tickets.xml', extra: Partial<CrmTicketSinkOptions> = {}): Promise<Lab> {
  if (pacemakerCliMissing !== null) throw new Error(pacemakerCliMissing);
  dir = await mkdtemp(join(tmpdir(), 'crm-ticket-sink-'));
  const cib = join(dir, 'cib.xml');
  await copyFile(join(fixtures, fixture), cib);
  const clock = new StepClock();
  const calls: CrmTicketCall[] = [];
  const guard = await LeaseGuardFile.open(join(dir, 'lease-guard'), 'test-boot');
  const sink = new CrmTicketSink({
    guard,
    siteId,
    boothCfgName: 'booth',
    siteIdOf: (m) => (m === 'site-b' ? 1234567 : null),
    env: { CIB_file: cib },
    clock,
    wallClockMs: () => wall0 + (clock.now() - mono0),
    onCall: (c) => calls.push(c),
    ...extra,
  });
  return { cib, clock, calls, sink, guard };
}

function effect(over: Partial<TicketEffect> = {}): TicketEffect {
  return {
    id: 1,
    ticket: 'ticketA',
    granted: true,
    standby: false,
    generation: generation(7),
    owner: memberId('site-a'),
    revokeBy: ms(mono0 + 30_000),
    attrs: {},
    ...over,
  };
}

const argvOf = (calls: readonly CrmTicketCall[]): string[] => calls.map((c) => c.args.join(' '));
const boothAttrs = (owner: number, expires: number, term: number): string =>
  `-S owner --attr-value=${owner} -S expires --attr-value=${expires} -S term --attr-value=${term} -S booth-cfg-name --attr-value=booth`;

/** The ticket_state elements, read with cibadmin (not the sink's parser). */
async function cibTickets(cib: string): Promise<Record<string, Record<string, string>>> {
  const { stdout } = await run('cibadmin', ['-Q'], { env: { ...process.env, CIB_file: cib } });
  // A "repaired" CIB is rewritten with validate-with="none" and an empty configuration.
  expect(stdout).toMatch(/validate-with="pacemaker-3\.9"/);
  expect(stdout).toContain('<rsc_ticket id="svcA-needs-ticketA"');
  const out: Record<string, Record<string, string>> = {};
  for (const m of stdout.matchAll(/<ticket_state ([^>]*?)\/>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w.:-]+)="([^"]*)"/g)) attrs[a[1] ?? ''] = (a[2] ?? '').replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
    out[attrs.id ?? ''] = attrs;
  }
  return out;
}

async function listDetails(cib: string): Promise<string> {
  return (await run(crmTicket, ['-L'], { env: { ...process.env, CIB_file: cib } })).stdout;
}

let fakes = 0;
/** A fake crm_ticket: a shell script in the test's temp dir. */
async function fakeBinary(body: string): Promise<string> {
  dir ||= await mkdtemp(join(tmpdir(), 'crm-ticket-sink-'));
  fakes += 1;
  const path = join(dir, `fake-crm-ticket-${fakes}`);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('CrmTicketSink on a CIB file (real crm_ticket)', () => {
  it('grants in one --force call that sets owner, expires, term and booth-cfg-name', async () => {
    const { cib, calls, sink } = await lab();
    const r = await sink.apply(effect());
    expect(r).toEqual({ ok: true });
    expect(argvOf(calls)).toEqual(['-t ticketA -q', `-t ticketA -g --force ${boothAttrs(siteId, 1_800_000_030, 7)}`]);
    const t = (await cibTickets(cib)).ticketA;
    expect(t).toMatchObject({ granted: 'true', owner: String(siteId), expires: '1800000030', term: '7', 'booth-cfg-name': 'booth' });
    expect(t?.['last-granted']).toMatch(/^\d+$/);
    expect(t?.standby).toBeUndefined();
    const line = (await listDetails(cib)).split('\n').find((l) => l.startsWith('ticketA\tgranted '));
    for (const kv of ['term=7', 'booth-cfg-name=booth', `owner=${siteId}`]) expect(line).toMatch(new RegExp(`[(, ]${kv}[,)]`));
    // The deadline comes from the lease guard's record, armed before the grant.
    // With booth's `expires` on the monotonic clock, less the slack for the wall clocks of the site's nodes.
    // With its standby and geo attributes (none here): what a take-over on another node writes it again with.
    expect(await sink.readAll()).toEqual([{ name: 'ticketA', granted: true, generation: 7, revokeBy: mono0 + 30_000, expiresAt: mono0 + 30_000 - cibExpiresSlackMs, shown: { standby: false, attrs: {} } }]);
  });

  it('arms the lease guard before a grant, moves it only later for the same generation, drops it after a revoke', async () => {
    const { cib, sink, guard } = await lab();
    expect(await sink.apply(effect())).toEqual({ ok: true });
    // With the `expires` the grant is written with: a later one at the same term is another agent's take-over.
    expect(guard.get('ticketA')).toEqual({ generation: 7, revokeBy: mono0 + 30_000, expiresSec: 1_800_000_030 });
    const ext = (ticket: string, gen: number, at: number) => ({ ticket, generation: generation(gen), revokeBy: ms(at) });
    expect(await sink.extendGuard({ id: 2, extend: [ext('ticketA', 7, mono0 + 40_000), ext('ticketB', 7, mono0 + 40_000)] })).toEqual({ ok: true, skipped: ['ticketB'] });
    expect(guard.get('ticketA')).toEqual({ generation: 7, revokeBy: mono0 + 40_000, expiresSec: 1_800_000_040 });
    expect(guard.get('ticketB')).toBeUndefined(); // not granted here: nothing to extend
    // booth's `expires` follows in the CIB (one cibadmin --modify), still granted, nothing else touched.
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'true', expires: '1800000040', term: '7', owner: String(siteId) });
    expect((await cibTickets(cib)).ticketB).toBeUndefined();
    await sink.extendGuard({ id: 3, extend: [ext('ticketA', 7, mono0 + 35_000), ext('ticketA', 6, mono0 + 90_000)] });
    expect(guard.get('ticketA')).toEqual({ generation: 7, revokeBy: mono0 + 40_000, expiresSec: 1_800_000_040 }); // earlier, or another generation
    // Nothing moved, so nothing is written to the CIB: an `expires` from the earlier entry (…035) would
    // let the cluster-wide guard revoke the live grant 5 s early.
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'true', expires: '1800000040' });
    // The record survives a reopen (it is what the lease guard process reads).
    expect((await LeaseGuardFile.open(guard.path, 'test-boot')).get('ticketA')).toEqual({ generation: 7, revokeBy: mono0 + 40_000, expiresSec: 1_800_000_040 });
    expect((await LeaseGuardFile.open(guard.path, 'another-boot')).get('ticketA')).toBeUndefined();
    expect(await sink.apply(effect({ granted: false, owner: null, revokeBy: null, generation: generation(8) }))).toEqual({ ok: true });
    expect((await cibTickets(cib)).ticketA?.granted).toBe('false');
    expect(guard.get('ticketA')).toBeUndefined();
  });

  it('writes booth expires only for the grants whose recorded deadline moved (one cibadmin --modify)', async () => {
    const { cib, sink, guard } = await lab();
    expect(await sink.apply(effect())).toEqual({ ok: true });
    expect(await sink.apply(effect({ id: 2, ticket: 'ticketB', revokeBy: ms(mono0 + 50_000) }))).toEqual({ ok: true });
    const ext = (ticket: string, at: number) => ({ ticket, generation: generation(7), revokeBy: ms(at) });
    // ticketA moves later; ticketB's entry is earlier than its record, so the record and its `expires` stay.
    expect(await sink.extendGuard({ id: 3, extend: [ext('ticketA', mono0 + 45_000), ext('ticketB', mono0 + 42_000)] })).toEqual({ ok: true, skipped: [] });
    expect(guard.get('ticketA')).toEqual({ generation: 7, revokeBy: mono0 + 45_000, expiresSec: 1_800_000_045 });
    expect(guard.get('ticketB')).toEqual({ generation: 7, revokeBy: mono0 + 50_000, expiresSec: 1_800_000_050 });
    const t = await cibTickets(cib);
    expect(t.ticketA).toMatchObject({ granted: 'true', expires: '1800000045' });
    expect(t.ticketB).toMatchObject({ granted: 'true', expires: '1800000050' });
  });

  it('reads a grant without a guard record (another boot) as having no known deadline', async () => {
    const { cib, clock, sink, guard } = await lab();
    expect(await sink.apply(effect())).toEqual({ ok: true });
    const rebooted = new CrmTicketSink({ siteId, boothCfgName: 'booth', env: { CIB_file: cib }, clock, wallClockMs: () => wall0 + (clock.now() - mono0), guard: await LeaseGuardFile.open(guard.path, 'another-boot') });
    expect(await rebooted.readAll()).toEqual([{ name: 'ticketA', granted: true, generation: 7, revokeBy: null, expiresAt: mono0 + 30_000 - cibExpiresSlackMs, shown: { standby: false, attrs: {} } }]);
  });

  it('floors expires to the second and measures it from the monotonic deadline', async () => {
    const { cib, clock, sink } = await lab();
    clock.t = mono0 + 10_400; // 10.4 s later on both clocks; 19.6 s of lease left
    expect(await sink.apply(effect({ revokeBy: ms(mono0 + 30_000) }))).toEqual({ ok: true });
    expect((await cibTickets(cib)).ticketA?.expires).toBe('1800000030');
    clock.t = mono0 + 10_999;
    expect(await sink.apply(effect({ revokeBy: ms(mono0 + 31_998) }))).toEqual({ ok: true });
    expect((await cibTickets(cib)).ticketA?.expires).toBe('1800000031');
  });

  it('revokes with owner -1 (nobody), another site id, or 0 (holder unknown) and expires = now', async () => {
    const { cib, clock, calls, sink } = await lab();
    expect(await sink.apply(effect())).toEqual({ ok: true });
    clock.t = mono0 + 2_500;
    calls.length = 0;
    expect(await sink.apply(effect({ granted: false, owner: null, revokeBy: null, generation: generation(8) }))).toEqual({ ok: true });
    // The sink wrote the grant itself: the revoke needs no read first.
    expect(argvOf(calls)).toEqual([`-t ticketA -r --force ${boothAttrs(-1, 1_800_000_002, 8)}`]);
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'false', owner: '-1', expires: '1800000002', term: '8' });
    expect(await listDetails(cib)).toMatch(/^ticketA\trevoked /m);

    expect(await sink.apply(effect({ granted: false, owner: memberId('site-b'), revokeBy: null }))).toEqual({ ok: true });
    expect((await cibTickets(cib)).ticketA?.owner).toBe('1234567');
    expect(await sink.apply(effect({ granted: false, owner: memberId('site-with-hostname'), revokeBy: null }))).toEqual({ ok: true });
    expect((await cibTickets(cib)).ticketA?.owner).toBe('0');
    expect(await sink.readAll()).toEqual([{ name: 'ticketA', granted: false, generation: 7, revokeBy: null, expiresAt: null }]);
  });

  it('revokes with owner 0 ("lost") when the registry still names this very site (its lease ran out)', async () => {
    const { cib, sink } = await lab('cib-tickets.xml', { siteIdOf: (m) => (m === 'site-a' ? siteId : null) });
    expect(await sink.apply(effect())).toEqual({ ok: true });
    expect(await sink.apply(effect({ granted: false, owner: memberId('site-a'), revokeBy: null }))).toEqual({ ok: true });
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'false', owner: '0' });
  });

  it('sets standby before a grant and activates after it, only when the CIB differs', async () => {
    const { cib, calls, sink } = await lab();
    expect(await sink.apply(effect({ standby: true }))).toEqual({ ok: true });
    expect(argvOf(calls)).toEqual([
      '-t ticketA -q',
      '-t ticketA --standby',
      `-t ticketA -g --force ${boothAttrs(siteId, 1_800_000_030, 7)}`,
    ]);
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'true', standby: 'true' });
    expect(await listDetails(cib)).toMatch(/^ticketA\tgranted \[standby\]/m);

    calls.length = 0;
    expect(await sink.apply(effect({ standby: true }))).toEqual({ ok: true });
    expect(argvOf(calls)).toEqual([`-t ticketA -g --force ${boothAttrs(siteId, 1_800_000_030, 7)}`]);

    calls.length = 0;
    expect(await sink.apply(effect({ standby: false }))).toEqual({ ok: true });
    expect(argvOf(calls)).toEqual([
      `-t ticketA -g --force ${boothAttrs(siteId, 1_800_000_030, 7)}`,
      '-t ticketA --activate',
    ]);
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'true', standby: 'false' });
    expect(await listDetails(cib)).not.toContain('[standby]');
  });

  it('writes geo attributes in the same call: only changed ones with -S, removed ones with -D', async () => {
    const { cib, calls, sink } = await lab();
    const tricky = 'a "quoted" <value> & more';
    expect(await sink.apply(effect({ attrs: { b: '2', a: '1', note: tricky } }))).toEqual({ ok: true });
    const grant = `-t ticketA -g --force ${boothAttrs(siteId, 1_800_000_030, 7)}`;
    expect(argvOf(calls)[1]).toBe(`${grant} -S a --attr-value=1 -S b --attr-value=2 -S note --attr-value=${tricky}`);
    expect((await cibTickets(cib)).ticketA).toMatchObject({ a: '1', b: '2', note: tricky });

    calls.length = 0;
    expect(await sink.apply(effect({ attrs: { a: '1', b: '3' } }))).toEqual({ ok: true });
    expect(argvOf(calls)).toEqual([`${grant} -S b --attr-value=3 -D note`]);
    const t = (await cibTickets(cib)).ticketA;
    expect(t).toMatchObject({ a: '1', b: '3', granted: 'true' });
    expect(t?.note).toBeUndefined();
    // -L lists attributes in hash order: look for each one.
    const line = (await listDetails(cib)).split('\n').find((l) => l.startsWith('ticketA\tgranted '));
    for (const kv of ['a=1', 'b=3']) expect(line).toMatch(new RegExp(`[(, ]${kv}[,)]`));
    expect(line).not.toContain('note=');
  });

  it('grants in ONE crm_ticket process once the ticket was read (issue 15: booth grants with one call)', async () => {
    const { cib, calls, sink } = await lab('cib-foreign-tickets.xml', {
      runner: { run: (req) => (spawned.push(req.argv.join(' ')), systemProcessRunner.run(req)) },
    });
    const spawned: string[] = [];
    await sink.readAll();
    spawned.length = 0;
    calls.length = 0;
    // ticketB is revoked at term 3 in the fixture; a new generation is granted here.
    expect(await sink.apply(effect({ ticket: 'ticketB', generation: generation(4) }))).toEqual({ ok: true });
    expect(spawned).toEqual([`-t ticketB -g --force ${boothAttrs(siteId, 1_800_000_030, 4)}`]);
    expect(calls).toHaveLength(1);
    expect((await cibTickets(cib)).ticketB).toMatchObject({ granted: 'true', owner: String(siteId), expires: '1800000030', term: '4', 'booth-cfg-name': 'booth' });
    expect(await listDetails(cib)).toMatch(/^ticketB\tgranted /m);
    // The write the sink made is what it knows next: the revoke is one call too.
    spawned.length = 0;
    expect(await sink.apply(effect({ ticket: 'ticketB', generation: generation(5), granted: false, owner: null, revokeBy: null }))).toEqual({ ok: true });
    expect(spawned).toEqual([`-t ticketB -r --force ${boothAttrs(-1, 1_800_000_000, 5)}`]);
    expect((await cibTickets(cib)).ticketB).toMatchObject({ granted: 'false', owner: '-1', term: '5' });
  });

  it('sees a change made by hand at the next read of all tickets, and reads again after a failed write', async () => {
    const { cib, calls, sink } = await lab();
    expect(await sink.apply(effect({ attrs: { a: '1' } }))).toEqual({ ok: true });
    // By hand: a standby and a new geo attribute.
    await run(crmTicket, ['-t', 'ticketA', '--standby'], { env: { ...process.env, CIB_file: cib } });
    await run(crmTicket, ['-t', 'ticketA', '-S', 'x', '-v', '9'], { env: { ...process.env, CIB_file: cib } });
    await sink.readAll();
    calls.length = 0;
    expect(await sink.apply(effect({ attrs: { a: '1' } }))).toEqual({ ok: true });
    const grant = `-t ticketA -g --force ${boothAttrs(siteId, 1_800_000_030, 7)}`;
    expect(argvOf(calls)).toEqual([`${grant} -D x`, '-t ticketA --activate']);
    expect((await cibTickets(cib)).ticketA).toMatchObject({ granted: 'true', standby: 'false', a: '1' });
    expect((await cibTickets(cib)).ticketA?.x).toBeUndefined();

    // A write that fails leaves the CIB state unknown: the next write reads it first.
    await copyFile(cib, `${cib}.good`);
    await writeFile(cib, 'not xml');
    calls.length = 0;
    expect(await sink.apply(effect())).toMatchObject({ ok: false, code: 'CIB_INVALID' });
    await copyFile(`${cib}.good`, cib);
    calls.length = 0;
    expect(await sink.apply(effect())).toEqual({ ok: true });
    expect(argvOf(calls)).toEqual(['-t ticketA -q', `${grant} -D a`]);
  });

  it('reads only the tickets of its booth-cfg-name; granted ones come back without a deadline', async () => {
    const { cib, calls, sink } = await lab('cib-foreign-tickets.xml');
    const before = await readFile(cib, 'utf8');
    const got = await sink.readAll();
    expect(got).toEqual([
      // booth's `expires` (1795638455, long past on the lab's wall clock) on the monotonic clock, less the slack.
      // Its geo attribute (color) beside booth's and Pacemaker's own, which are not geo attributes.
      { name: 'ticketA', granted: true, generation: 7, revokeBy: null, expiresAt: mono0 + (1_795_638_455_000 - wall0) - cibExpiresSlackMs, shown: { standby: false, attrs: { color: 'blue' } } },
      { name: 'ticketB', granted: false, generation: 3, revokeBy: null, expiresAt: null },
    ]);
    expect(argvOf(calls)).toEqual(['-q']);
    expect(await readFile(cib, 'utf8')).toBe(before);
    const all = await sink.queryAll();
    expect(all.map((s) => s.id)).toEqual(['ticketA', 'ticketB', 'otherT', 'plainT']);
    expect(all[0]?.attrs.get('color')).toBe('blue');
  });

  it('reads an empty list from a CIB with no ticket_state (crm_ticket -q exits 105 there)', async () => {
    const { calls, sink } = await lab();
    expect(await sink.readAll()).toEqual([]);
    expect(calls).toMatchObject([{ args: ['-q'], exitCode: 105, code: 'NO_SUCH_TICKET' }]);
  });

  it("refuses to touch a ticket of another booth configuration and leaves the CIB as it was", async () => {
    const { cib, calls, sink } = await lab('cib-foreign-tickets.xml');
    const before = await readFile(cib, 'utf8');
    const r = await sink.apply(effect({ ticket: 'otherT' }));
    expect(r).toMatchObject({ ok: false, code: 'FOREIGN_TICKET' });
    expect(argvOf(calls)).toEqual(['-t otherT -q']);
    expect(await readFile(cib, 'utf8')).toBe(before);
  });

  it('refuses unsafe or malformed effects before any crm_ticket call', async () => {
    const { calls, sink } = await lab();
    const cases: [Partial<TicketEffect>, RegExp][] = [
      [{ ticket: 'bad id' }, /ticket name "bad id"/],
      [{ ticket: '-g' }, /not a valid name/],
      [{ attrs: { owner: '1' } }, /reserved/],
      [{ attrs: { 'x y': '1' } }, /attribute name/],
      [{ attrs: { x: 'a\u0001b' } }, /control characters/],
      [{ revokeBy: ms(mono0) }, /revoke deadline passed 0 ms ago/],
      [{ revokeBy: ms(mono0 - 5) }, /passed 5 ms ago/],
    ];
    for (const [over, msg] of cases) {
      const r = await sink.apply(effect(over));
      expect(r).toMatchObject({ ok: false, code: 'INVALID_EFFECT' });
      expect(r.ok ? '' : r.error).toMatch(msg);
    }
    expect(calls).toEqual([]);
  });
});

describe('CrmTicketSink.applyBatch on a CIB file (real cibadmin and crm_ticket)', () => {
  const names = (n: number, prefix = 't'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
  const cibadminCalls = (calls: readonly CrmTicketCall[]): CrmTicketCall[] => calls.filter((c) => c.tool === 'cibadmin');

  it('grants N tickets with ONE cibadmin --modify after one read of every ticket, the guard armed for all before it', async () => {
    const armedAtWrite: number[] = [];
    const { cib, calls, sink, guard } = await lab('cib-tickets.xml', {
      runner: {
        run: (req) => {
          if (req.tool === 'cibadmin') armedAtWrite.push(tickets.filter((t) => guard.get(t) !== undefined).length);
          return systemProcessRunner.run(req);
        },
      },
    });
    const tickets = names(300);
    const batch = tickets.map((ticket, i) => effect({ id: i + 1, ticket }));
    expect(await sink.applyBatch(batch)).toEqual(batch.map((e) => ({ id: e.id, ok: true })));
    expect(calls.map((c) => `${c.tool ?? 'crm_ticket'} ${c.args.join(' ')}`)).toEqual(['crm_ticket -q', 'cibadmin --modify --scope status --xml-pipe']);
    // Every grant's deadline was durable in the guard record before the CIB write started.
    expect(armedAtWrite).toEqual([300]);
    for (const t of tickets) expect(guard.get(t)).toEqual({ generation: 7, revokeBy: mono0 + 30_000, expiresSec: 1_800_000_030 });
    const cibState = await cibTickets(cib);
    for (const t of tickets) {
      expect(cibState[t]).toMatchObject({ granted: 'true', owner: String(siteId), expires: '1800000030', term: '7', 'booth-cfg-name': 'booth' });
      expect(cibState[t]?.['last-granted']).toMatch(/^\d+$/);
      expect(cibState[t]?.standby).toBeUndefined();
    }
    expect((await listDetails(cib)).split('\n').filter((l) => /^t\d{4}\tgranted /.test(l))).toHaveLength(300);
    expect((await sink.readAll()).filter((s) => s.granted)).toHaveLength(300);
  });

  it('revokes N tickets with ONE cibadmin --modify, then forgets them in the guard record', async () => {
    const { cib, calls, clock, sink, guard } = await lab();
    const tickets = names(300);
    await sink.applyBatch(tickets.map((ticket, i) => effect({ id: i + 1, ticket })));
    calls.length = 0;
    clock.t = mono0 + 2_500;
    const revokes = tickets.map((ticket, i) => effect({ id: 1000 + i, ticket, granted: false, owner: null, revokeBy: null, generation: generation(8) }));
    expect(await sink.applyBatch(revokes)).toEqual(revokes.map((e) => ({ id: e.id, ok: true })));
    // The sink wrote these tickets itself: no read first, one CIB update.
    expect(calls.map((c) => `${c.tool ?? 'crm_ticket'} ${c.args.join(' ')}`)).toEqual(['cibadmin --modify --scope status --xml-pipe']);
    const cibState = await cibTickets(cib);
    for (const t of tickets) expect(cibState[t]).toMatchObject({ granted: 'false', owner: '-1', expires: '1800000002', term: '8', 'booth-cfg-name': 'booth' });
    for (const t of tickets) expect(guard.get(t)).toBeUndefined();
    expect((await LeaseGuardFile.open(guard.path, 'test-boot')).all().size).toBe(0);
    expect(await listDetails(cib)).not.toMatch(/^t\d{4}\tgranted /m);
  });

  it('an effect with an invalid ticket name fails alone, before any call; the others are written', async () => {
    const { cib, sink } = await lab();
    const batch = [effect({ id: 1, ticket: 'good1' }), effect({ id: 2, ticket: 'bad name' }), effect({ id: 3, ticket: 'x"/><evil a="' }), effect({ id: 4, ticket: 'good2', granted: false, owner: null, revokeBy: null })];
    const r = await sink.applyBatch(batch);
    expect(r.map((o) => [o.id, o.ok])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(r[1]?.error).toMatch(/^INVALID_EFFECT: ticket name "bad name" is not a valid name/);
    const cibState = await cibTickets(cib);
    expect(Object.keys(cibState).sort()).toEqual(['good1', 'good2']);
    expect(cibState.good1).toMatchObject({ granted: 'true' });
    expect(cibState.good2).toMatchObject({ granted: 'false' });
  });

  it('a CIB update that fails fails every effect in it and changes nothing (all or nothing)', async () => {
    const { cib, calls, sink } = await lab();
    const tickets = names(20);
    await sink.applyBatch(tickets.map((ticket, i) => effect({ id: i + 1, ticket })));
    const before = await readFile(cib, 'utf8');
    // The CIB becomes unreadable between two batches: the sink knows every ticket, so its one call is the update.
    await writeFile(cib, 'this is not XML');
    calls.length = 0;
    const batch = tickets.map((ticket, i) => effect({ id: 100 + i, ticket, granted: false, owner: null, revokeBy: null, generation: generation(8) }));
    const r = await sink.applyBatch(batch);
    expect(calls.map((c) => [c.tool, c.exitCode])).toEqual([['cibadmin', 78]]);
    for (const o of r) {
      expect(o.ok).toBe(false);
      expect(o.error).toMatch(/^CIB_INVALID: cibadmin --modify --scope status --xml-pipe exited 78/);
    }
    expect(await readFile(cib, 'utf8')).toBe('this is not XML');
    // Healed: the state of those tickets is unknown after the failure, so the next batch reads it first.
    await writeFile(cib, before);
    calls.length = 0;
    expect((await sink.applyBatch(batch)).every((o) => o.ok)).toBe(true);
    expect(calls.map((c) => `${c.tool ?? 'crm_ticket'} ${c.args.join(' ')}`)).toEqual(['crm_ticket -q', 'cibadmin --modify --scope status --xml-pipe']);
    for (const t of tickets) expect((await cibTickets(cib))[t]).toMatchObject({ granted: 'false', term: '8' });
  });

  it('a cibadmin that fails after a partial write is not taken for success: every effect fails', async () => {
    // A fake cibadmin that applies the update and then exits 1 (the worst case: we cannot know what landed).
    const fake = await fakeBinary(`cibadmin "$@"; exit 1`);
    const { sink } = await lab('cib-tickets.xml', { cibadmin: fake, attemptsMax: 1 });
    const r = await sink.applyBatch([effect({ id: 1, ticket: 'a' }), effect({ id: 2, ticket: 'b' })]);
    expect(r.map((o) => o.ok)).toEqual([false, false]);
    expect(r[0]?.error).toMatch(/^FAILED: cibadmin --modify --scope status --xml-pipe exited 1/);
    // What the CIB holds is unknown now: the next write of either reads it first.
    expect(await sink.readAll()).toEqual(expect.any(Array));
  });

  it('keeps a concurrent change to another ticket and to an attribute it does not write', async () => {
    const { cib, sink } = await lab();
    await sink.applyBatch([effect({ id: 1, ticket: 'a' }), effect({ id: 2, ticket: 'b' })]);
    // By hand, after the sink read and wrote: another ticket granted, an attribute added to a batched one.
    const env = { ...process.env, CIB_file: cib };
    await run(crmTicket, ['-t', 'byhand', '-g', '--force'], { env });
    await run(crmTicket, ['-t', 'a', '-S', 'handmade', '-v', 'yes'], { env });
    const revokes = ['a', 'b'].map((ticket, i) => effect({ id: 10 + i, ticket, granted: false, owner: null, revokeBy: null, generation: generation(8) }));
    expect(await sink.applyBatch(revokes)).toEqual(revokes.map((e) => ({ id: e.id, ok: true })));
    const t = await cibTickets(cib);
    expect(t.byhand).toMatchObject({ granted: 'true' });
    expect(t.a).toMatchObject({ granted: 'false', term: '8', handmade: 'yes' });
    expect(t.b).toMatchObject({ granted: 'false', term: '8' });
  });

  it('a ticket of another booth configuration fails alone and is left as it was', async () => {
    const { cib, sink } = await lab('cib-foreign-tickets.xml');
    const before = (await cibTickets(cib)).otherT;
    const r = await sink.applyBatch([effect({ id: 1, ticket: 'otherT' }), effect({ id: 2, ticket: 'ticketB', generation: generation(4) }), effect({ id: 3, ticket: 'n1' }), effect({ id: 4, ticket: 'n2' }), effect({ id: 5, ticket: 'n3' }), effect({ id: 6, ticket: 'n4' })]);
    expect(r.map((o) => o.ok)).toEqual([false, true, true, true, true, true]);
    expect(r[0]?.error).toMatch(/^FOREIGN_TICKET: ticket otherT belongs to booth configuration "other"/);
    const t = await cibTickets(cib);
    expect(t.otherT).toEqual(before);
    expect(t.ticketB).toMatchObject({ granted: 'true', term: '4', owner: String(siteId) });
  });

  it('standby, geo attributes with markup, and a removed geo attribute (written alone with crm_ticket -D)', async () => {
    const { cib, calls, sink } = await lab();
    // (Newlines and tabs are not kept by the CIB either way: crm_ticket -S stores them as cibadmin does.)
    const tricky = 'a "quoted" <value> & \'more\' &amp; &#10;';
    expect((await sink.applyBatch([effect({ id: 1, ticket: 'a', standby: true, attrs: { note: tricky, k: '1' } }), effect({ id: 2, ticket: 'b' })])).every((o) => o.ok)).toBe(true);
    expect((await cibTickets(cib)).a).toMatchObject({ granted: 'true', standby: 'true', k: '1' });
    expect((await sink.queryOne('a'))?.attrs.get('note')).toBe(tricky);
    calls.length = 0;
    // a loses its note (a -D, which a modify cannot express) and leaves standby; b is revoked.
    const r = await sink.applyBatch([effect({ id: 3, ticket: 'a', attrs: { k: '2' } }), effect({ id: 4, ticket: 'b', granted: false, owner: null, revokeBy: null })]);
    expect(r.every((o) => o.ok)).toBe(true);
    expect(calls.map((c) => `${c.tool ?? 'crm_ticket'} ${c.args.join(' ')}`)).toEqual([
      'cibadmin --modify --scope status --xml-pipe',
      `crm_ticket -t a -g --force ${boothAttrs(siteId, 1_800_000_030, 7)} -S k --attr-value=2 -D note`,
      'crm_ticket -t a --activate',
    ]);
    const t = await cibTickets(cib);
    expect(t.a).toMatchObject({ granted: 'true', standby: 'false', k: '2' });
    expect(t.a?.note).toBeUndefined();
    expect(t.b).toMatchObject({ granted: 'false' });
  });

  it(`splits more than cibBatchTicketsMax (${cibBatchTicketsMax}) tickets into several CIB updates`, async () => {
    const { cib, calls, sink } = await lab();
    const tickets = names(cibBatchTicketsMax + 1);
    const r = await sink.applyBatch(tickets.map((ticket, i) => effect({ id: i + 1, ticket })));
    expect(r.every((o) => o.ok)).toBe(true);
    expect(cibadminCalls(calls)).toHaveLength(2);
    expect(Object.values(await cibTickets(cib)).filter((t) => t.granted === 'true')).toHaveLength(cibBatchTicketsMax + 1);
  });
});

describe('CrmTicketSink error paths', () => {
  it('maps a CIB file that is not XML to CIB_INVALID without throwing, and changes nothing', async () => {
    const { cib, calls, sink } = await lab();
    await writeFile(cib, 'this is not XML');
    const r = await sink.apply(effect());
    expect(r).toMatchObject({ ok: false, code: 'CIB_INVALID' });
    expect(r.ok ? '' : r.error).toMatch(/exited 78: crm_ticket: Could not connect to the CIB: Update does not conform/);
    expect(calls).toMatchObject([{ args: ['-t', 'ticketA', '-q'], exitCode: 78, attempt: 1 }]);
    await expect(sink.readAll()).rejects.toMatchObject({ name: 'CrmTicketError', code: 'CIB_INVALID' });
    expect(await readFile(cib, 'utf8')).toBe('this is not XML');
  });

  it('maps a missing CIB file to NO_CIB_CONNECTION (not to "no tickets")', async () => {
    const { cib, sink } = await lab();
    await rm(cib);
    await expect(sink.readAll()).rejects.toMatchObject({ code: 'NO_CIB_CONNECTION', exitCode: 105 });
    expect(await sink.apply(effect())).toMatchObject({ ok: false, code: 'NO_CIB_CONNECTION' });
  });

  it('reports a missing crm_ticket binary clearly', async () => {
    const { sink } = await lab('cib-tickets.xml', { binary: '/nonexistent/crm_ticket' });
    const r = await sink.apply(effect());
    expect(r).toMatchObject({ ok: false, code: 'BINARY_MISSING' });
    expect(r.ok ? '' : r.error).toMatch(/\/nonexistent\/crm_ticket not found \(is pacemaker-cli-utils installed\?\)/);
    await expect(sink.readAll()).rejects.toBeInstanceOf(CrmTicketError);
  });

  it('kills a call that outlives callTimeoutMs, retries it a bounded number of times, then reports TIMEOUT', async () => {
    const slow = await fakeBinary('exec sleep 30');
    const { calls, sink } = await lab('cib-tickets.xml', { binary: slow, callTimeoutMs: 200, attemptsMax: 2, retryBackoffMs: 10 });
    const started = performance.now();
    const r = await sink.apply(effect());
    const tookMs = performance.now() - started;
    expect(r).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(r.ok ? '' : r.error).toMatch(/did not finish within 200 ms/);
    expect(calls.map((c) => [c.attempt, c.code])).toEqual([
      [1, 'TIMEOUT'],
      [2, 'TIMEOUT'],
    ]);
    expect(tookMs).toBeLessThan(10_000);
  });

  it('stops at once when the caller aborts', async () => {
    const slow = await fakeBinary('exec sleep 30');
    const { sink } = await lab('cib-tickets.xml', { binary: slow, callTimeoutMs: 60_000 });
    const ac = new AbortController();
    const pending = sink.apply(effect(), { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    expect(await pending).toMatchObject({ ok: false, code: 'ABORTED' });
    expect(await sink.apply(effect(), { signal: AbortSignal.abort() })).toMatchObject({ ok: false, code: 'ABORTED' });
  });

  it('retries a transient failure (rc 102, CIB manager away) and succeeds once it heals', async () => {
    const { cib } = await lab();
    const counter = join(dir, 'count');
    const flaky = await fakeBinary(
      `n=$(cat "${counter}" 2>/dev/null || echo 0); echo $((n + 1)) > "${counter}"\n` +
        `if [ "$n" -lt 2 ]; then echo 'crm_ticket: Could not connect to the CIB: Transport endpoint is not connected' >&2; exit 102; fi\n` +
        `exec "${crmTicket}" "$@"`,
    );
    const { calls, sink } = await lab('cib-tickets.xml', { binary: flaky, env: { CIB_file: cib }, retryBackoffMs: 5 });
    expect(await sink.apply(effect())).toEqual({ ok: true });
    expect(calls.map((c) => [c.args[2] ?? c.args[0], c.attempt, c.exitCode])).toEqual([
      ['-q', 1, 102],
      ['-q', 2, 102],
      ['-q', 3, 105],
      ['-g', 1, 0],
    ]);
    expect((await cibTickets(cib)).ticketA?.granted).toBe('true');
  });

  it('maps every measured exit code to a named error and does not retry the permanent ones', async () => {
    const table: [number, string, string][] = [
      [4, 'crm_ticket: Ticket modification not allowed', 'NEEDS_FORCE'],
      [107, 'crm_ticket: Ticket modification not allowed', 'NEEDS_FORCE'],
      [105, "crm_ticket: No such ticket 'ticketZ'", 'NO_SUCH_TICKET'],
      [105, 'crm_ticket: Could not connect to the CIB: No such device or address', 'NO_CIB_CONNECTION'],
      [102, 'crm_ticket: Could not connect to the CIB: Transport endpoint is not connected', 'NO_CIB_CONNECTION'],
      [78, 'crm_ticket: Could not connect to the CIB: Update does not conform to the configured schema', 'CIB_INVALID'],
      [64, 'crm_ticket: Unknown option --bogus', 'USAGE'],
      [1, 'crm_ticket: Error', 'FAILED'],
    ];
    for (const [rc, stderr, code] of table) {
      // A query that succeeds, then the write fails with rc.
      const bin = await fakeBinary(
        `case "$*" in *-q*) printf 'State XML:\\n\\n<ticket_state id="ticketA" booth-cfg-name="booth"/>\\n'; exit 0;; esac\necho "${stderr}" >&2; exit ${rc}`,
      );
      const { calls, sink } = await lab('cib-tickets.xml', { binary: bin, attemptsMax: 2, retryBackoffMs: 1 });
      const r = await sink.apply(effect());
      expect(r, `rc ${rc}`).toMatchObject({ ok: false, code });
      expect(r.ok ? '' : r.error).toContain(stderr);
      const writes = calls.filter((c) => c.args.includes('-g'));
      expect(writes.length, `attempts for rc ${rc}`).toBe(rc === 102 ? 2 : 1);
      await rm(dir, { recursive: true, force: true });
      dir = '';
    }
  });

  it('rejects output it does not understand, naming what was wrong', async () => {
    const bad: [string, RegExp][] = [
      ['<tickets/>\n', /does not start with "State XML:"/],
      ['State XML:\n\n<ticket_stat id="a"/>\n', /unexpected root element <ticket_stat>/],
      ['State XML:\n\n<tickets>\n  <ticket_state id="a" granted="true"/>\n', /<tickets> \(opened at offset 0\) is never closed/],
      ['State XML:\n\n<tickets><ticket_state granted="true"/></tickets>', /without an id/],
      ['State XML:\n\n<tickets><ticket_state id="a" id="b"/></tickets>', /attribute id appears twice/],
      ['State XML:\n\n<tickets><ticket_state id="a" x="&bogus;"/></tickets>', /unknown entity &bogus;/],
      ['State XML:\n\n<tickets><ticket_state id="a" x="a & b"/></tickets>', /bare "&" in attribute x/],
      ['State XML:\n\n<tickets><ticket_state id="a"/><ticket_state id="a"/></tickets>', /appears twice/],
      ['State XML:\n\n<tickets><ticket_state id="a"/></tickets>\ngarbage', /content after the root element/],
      ['State XML:\n\n<tickets><ticket_state id="a">x</ticket_state></tickets>', /<ticket_state> at offset 9 has content/],
      ['State XML:\n\n<tickets><other/></tickets>', /unexpected <other> inside <tickets>/],
      ['State XML:\n\n<!DOCTYPE x [<!ENTITY a "b">]><tickets/>', /DOCTYPE/],
    ];
    for (const [text, msg] of bad) {
      expect(() => parseQueryOutput(text, null), JSON.stringify(text)).toThrow(msg);
    }
    expect(() => parseQueryOutput('State XML:\n\n<ticket_state id="b"/>\n', 'a')).toThrow(/returned b/);
    expect(parseQueryOutput('State XML:\n\n<tickets>\n</tickets>\n', null)).toEqual([]);

    // Through the sink: values that are not what Pacemaker writes.
    for (const [state, msg] of [
      ['id="t" booth-cfg-name="booth" granted="maybe" term="1"', /granted="maybe", which is not a boolean/],
      ['id="t" booth-cfg-name="booth" granted="true" term="-3"', /term="-3", which is not a non-negative integer/],
      ['id="t" booth-cfg-name="booth" granted="true"', /granted but has no term/],
    ] as const) {
      const bin = await fakeBinary(`printf 'State XML:\\n\\n<tickets><ticket_state ${state}/></tickets>\\n'`);
      const { sink } = await lab('cib-tickets.xml', { binary: bin });
      await expect(sink.readAll()).rejects.toMatchObject({ code: 'BAD_OUTPUT', message: expect.stringMatching(msg) as unknown });
      await rm(dir, { recursive: true, force: true });
      dir = '';
    }
  });
});

// The TicketSink compliance suite (./ticket-sink-compliance.ts) on a CIB file:
// `inspect` reads the ticket_state with cibadmin (not the sink's parser), a
// restart opens the guard record afresh, and a broken medium is a CIB file
// that is not XML and a guard record path taken by a directory.
const reservedAttrs = new Set(['id', 'granted', 'standby', 'last-granted', 'owner', 'expires', 'term', 'booth-cfg-name']);
describeTicketSinkCompliance('CrmTicketSink on a CIB file (real crm_ticket)', async (): Promise<SinkMedium> => {
  if (pacemakerCliMissing !== null) throw new Error(pacemakerCliMissing);
  const root = await mkdtemp(join(tmpdir(), 'crm-ticket-sink-compliance-'));
  const cib = join(root, 'cib.xml');
  const guardPath = join(root, 'lease-guard');
  await copyFile(join(fixtures, 'cib-tickets.xml'), cib);
  const clock = new HandClock(start);
  return {
    clock,
    open: async () =>
      new CrmTicketSink({
        guard: await LeaseGuardFile.open(guardPath, 'test-boot'),
        siteId,
        boothCfgName: 'booth',
        env: { CIB_file: cib },
        clock,
        wallClockMs: () => wall0 + (clock.now() - mono0),
      }),
    openAfterReboot: async () =>
      new CrmTicketSink({ guard: await LeaseGuardFile.open(guardPath, 'next-boot'), siteId, boothCfgName: 'booth', env: { CIB_file: cib }, clock }),
    inspect: async (ticket) => {
      const t = (await cibTickets(cib))[ticket];
      if (t === undefined) return null;
      const attrs = Object.fromEntries(Object.entries(t).filter(([k]) => !reservedAttrs.has(k)));
      return { granted: t.granted === 'true', standby: t.standby === 'true', generation: Number(t.term), attrs };
    },
    break: async () => {
      await writeFile(cib, 'this is not XML\n');
      await rm(guardPath, { force: true });
      await mkdir(join(guardPath, 'taken'), { recursive: true });
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});
