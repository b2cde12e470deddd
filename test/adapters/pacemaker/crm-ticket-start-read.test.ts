// The crm_ticket sink's start-up read (CrmTicketSink.readAtStart; issue 15): every ticket_state of the
// CIB status section in one `cibadmin -Q --scope status`, ours with all a revoke writes of those not
// granted (the owner where it names one site), the others as they are (`notOurs`), and `complete` only
// when that read succeeded and was understood in full. First the parser on hostile and partial XML, then
// the read on real CIB files (real cibadmin and crm_ticket, CIB_file) and on a fake cibadmin whose
// output or exit makes the read not complete (the sink falls back to crm_ticket -q, nothing skipped).
// Last, a site's restart through the real sink and the real holder (SiteHolder, sink-at-start.ts):
// a CIB that already holds the not-granted states the start-up revokes would write gets none of them
// (only the one that times the sink), counted in cibadmin calls and in the CIB file itself, while a
// ticket granted by hand without this formation's booth-cfg-name, and one revoked by hand, still get
// theirs; the same restart with a read that is not complete writes every one, as before.
import { execFile, execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CrmTicketSink, parseQueryOutput, parseStatusTickets, type CrmTicketCall, type CrmTicketSinkOptions } from '../../../src/adapters/pacemaker/crm-ticket-sink.js';
import { LeaseGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';
import { defaultLimits } from '../../../src/core/config.js';
import type { Cause } from '../../../src/core/messages.js';
import { defaultRules } from '../../../src/core/rules.js';
import { SiteHolder, type TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { generation, index, memberId, ms, type MemberId, type Ms, type TicketDef } from '../../../src/core/types.js';
import type { SinkStartRead } from '../../../src/ports/ports.js';

const run = promisify(execFile);
const fixtures = join(import.meta.dirname, '..', 'fixtures');
const siteA = memberId('site-a');
const siteB = memberId('site-b');
const siteIdA = 560592995;
const siteIdB = 1234567;
const wall0 = 1_800_000_000_000;

const onPath = (name: string): boolean => execFileSync('sh', ['-c', `command -v ${name} || true`], { encoding: 'utf8' }).trim() !== '';
// Fails (never skips) without the real Pacemaker CLI: install pacemaker-cli-utils (see .ci/run).
const cliMissing = onPath('crm_ticket') && onPath('cibadmin') ? null : 'crm_ticket/cibadmin not found on PATH: install pacemaker-cli-utils';

/** A test's temp dir (removed when it ends) with a copy of a fixture CIB, and sinks on it. */
interface Lab {
  /** A sink on the lab's CIB file, as a fresh agent process opens it. */
  open: (extra?: Partial<CrmTicketSinkOptions>) => Promise<CrmTicketSink>;
  calls: CrmTicketCall[];
  cib: string;
  dir: string;
}

async function lab(fixture = 'cib-tickets.xml'): Promise<Lab> {
  if (cliMissing !== null) throw new Error(cliMissing);
  const dir = await mkdtemp(join(tmpdir(), 'crm-ticket-start-read-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const cib = join(dir, 'cib.xml');
  await copyFile(join(fixtures, fixture), cib);
  const calls: CrmTicketCall[] = [];
  const clock = { now: (): Ms => ms(1_000) };
  const ids = new Map<MemberId, number>([
    [siteA, siteIdA],
    [siteB, siteIdB],
  ]);
  const open = async (extra: Partial<CrmTicketSinkOptions> = {}): Promise<CrmTicketSink> =>
    new CrmTicketSink({
      guard: await LeaseGuardFile.open(join(dir, 'lease-guard'), 'test-boot'),
      siteId: siteIdA,
      boothCfgName: 'booth',
      siteIdOf: (m) => ids.get(m) ?? null,
      memberOfSiteId: (id) => [...ids].find(([, v]) => v === id)?.[0] ?? null,
      env: { CIB_file: cib },
      clock,
      wallClockMs: () => wall0,
      onCall: (c) => calls.push(c),
      ...extra,
    });
  return { open, calls, cib, dir };
}

async function crmTicket(cib: string, ...args: string[]): Promise<void> {
  await run('crm_ticket', args, { env: { ...process.env, CIB_file: cib } });
}

/** Every ticket_state's attributes and the CIB's version, read with cibadmin (not the sink's parser). */
async function cibState(cib: string): Promise<{ version: string; tickets: Record<string, string> }> {
  const { stdout } = await run('cibadmin', ['-Q'], { env: { ...process.env, CIB_file: cib } });
  expect(stdout).toMatch(/validate-with="pacemaker-3\.9"/); // not a "repaired" file (pacemaker.md §2.2)
  const root = /<cib [^>]*>/.exec(stdout)?.[0] ?? '';
  const version = ['admin_epoch', 'epoch', 'num_updates'].map((a) => new RegExp(` ${a}="(\\d+)"`).exec(root)?.[1]).join('.');
  const tickets: Record<string, string> = {};
  for (const m of stdout.matchAll(/<ticket_state id="([^"]+)"([^>]*?)\/>/g)) tickets[m[1]!] = m[2]!.trim();
  return { version, tickets };
}

let fakes = 0;
async function fakeCibadmin(dir: string, body: string): Promise<string> {
  fakes += 1;
  const path = join(dir, `fake-cibadmin-${fakes}`);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('parseStatusTickets: cibadmin -Q --scope status, strictly', () => {
  it('reads every ticket_state of the status section, beside the nodes, and none where there is no <tickets>', () => {
    // As many as crm_ticket -q takes (parseQueryOutput): a formation's 10 000 and one state more.
    const many = Array.from({ length: 10_001 }, (_, i) => `<ticket_state id="t${i}"/>`).join('');
    expect(parseStatusTickets(`<status><tickets>${many}</tickets></status>`)).toHaveLength(10_001);
    expect(parseQueryOutput(`State XML:\n\n<tickets>${many}</tickets>`, null)).toHaveLength(10_001);
    expect(parseStatusTickets('<status/>')).toEqual([]);
    expect(parseStatusTickets('<status>\n  <tickets/>\n</status>\n')).toEqual([]);
    const states = parseStatusTickets(
      '<status>\n  <node_state id="1" uname="node1"><lrm id="1"><lrm_resources/></lrm></node_state>\n' +
        '  <tickets>\n    <ticket_state id="a" granted="true" x="&quot;q&lt;"/>\n    <ticket_state id="b"/>\n  </tickets>\n</status>\n',
    );
    expect(states.map((s) => [s.id, Object.fromEntries(s.attrs)])).toEqual([
      ['a', { id: 'a', granted: 'true', x: '"q<' }],
      ['b', { id: 'b' }],
    ]);
  });

  it('rejects hostile, partial or unexpected output, naming what was wrong', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /cibadmin -Q --scope status output: .*(empty|no root|end of)/i],
      ['this is not XML', /cibadmin -Q --scope status output/],
      ['<status><tickets><ticket_state id="a"/>', /never closed/],
      ['<status><tickets><ticket_state id="a"/></tickets></status>\n<status/>', /content after the root element/],
      ['<cib><status/></cib>', /root element <cib>, not <status>/],
      ['<status><tickets/><tickets/></status>', /2 <tickets> elements/],
      ['<status><tickets><ticket_state granted="true"/></tickets></status>', /without an id/],
      ['<status><tickets><ticket_state id="a"/><ticket_state id="a"/></tickets></status>', /ticket a appears twice/],
      ['<status><tickets><ticket_state id="a">x</ticket_state></tickets></status>', /has content/],
      ['<status><tickets><note/></tickets></status>', /unexpected <note> inside <tickets>/],
      ['<status><tickets>text</tickets></status>', /text inside <tickets>/],
      ['<status><tickets n="1"/></status>', /<tickets> has attributes/],
      ['<status><tickets><ticket_state id="a" x="&bogus;"/></tickets></status>', /unknown entity &bogus;/],
      ['<!DOCTYPE s [<!ENTITY a "b">]><status/>', /DOCTYPE/],
      [`<status><tickets>${Array.from({ length: 10_002 }, (_, i) => `<ticket_state id="t${i}"/>`).join('')}</tickets></status>`, /more than 10001 ticket states/],
    ];
    for (const [text, msg] of bad) {
      expect(() => parseStatusTickets(text), JSON.stringify(text.slice(0, 80))).toThrow(msg);
      try {
        parseStatusTickets(text);
      } catch (err) {
        expect(err).toMatchObject({ name: 'CrmTicketError', code: 'BAD_OUTPUT' });
      }
    }
  });
});

describe('CrmTicketSink.readAtStart on a CIB file', () => {
  it('names every ticket_state in one cibadmin call: ours (not granted: with standby, owner and attributes), the others as they are', async () => {
    const { cib, calls, open } = await lab('cib-foreign-tickets.xml');
    await crmTicket(cib, '-t', 'toB', '-r', '--force', '-S', 'owner', `--attr-value=${siteIdB}`, '-S', 'term', '--attr-value=4', '-S', 'booth-cfg-name', '--attr-value=booth', '-S', 'k', '--attr-value=v');
    await crmTicket(cib, '-t', 'lost', '-r', '--force', '-S', 'owner', '--attr-value=0', '-S', 'term', '--attr-value=2', '-S', 'booth-cfg-name', '--attr-value=booth');
    await crmTicket(cib, '-t', 'selfOwned', '-r', '--force', '-S', 'owner', `--attr-value=${siteIdA}`, '-S', 'term', '--attr-value=2', '-S', 'booth-cfg-name', '--attr-value=booth');
    await crmTicket(cib, '-t', 'unknownOwner', '-r', '--force', '-S', 'owner', '--attr-value=777', '-S', 'term', '--attr-value=2', '-S', 'booth-cfg-name', '--attr-value=booth');
    await crmTicket(cib, '-t', 'standbyT', '-r', '--force', '-S', 'owner', '--attr-value=-1', '-S', 'term', '--attr-value=1', '-S', 'booth-cfg-name', '--attr-value=booth');
    await crmTicket(cib, '-t', 'standbyT', '-s');
    await crmTicket(cib, '-t', 'offByHand', '-r', '--force');
    const before = await cibState(cib);
    const sink = await open();
    calls.length = 0;
    const read = await sink.readAtStart();
    expect(calls.map((c) => [c.tool ?? 'crm_ticket', c.args.join(' ')])).toEqual([['cibadmin', '-Q --scope status']]);
    expect(read.complete).toBe(true);
    expect(read.incomplete).toBeUndefined();
    const byName = new Map(read.tickets.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual(['lost', 'offByHand', 'otherT', 'plainT', 'selfOwned', 'standbyT', 'ticketA', 'ticketB', 'toB', 'unknownOwner']);
    // Ours, granted: as readAll gives it.
    expect(byName.get('ticketA')).toMatchObject({ granted: true, generation: 7, shown: { standby: false, attrs: { color: 'blue' } } });
    expect(byName.get('ticketA')?.notOurs).toBeUndefined();
    // Ours, not granted: everything a revoke writes, the owner where it is what a revoke writes for one member.
    expect(byName.get('ticketB')).toEqual({ name: 'ticketB', granted: false, generation: 3, revokeBy: null, expiresAt: null, shown: { standby: false, owner: null, attrs: {} } });
    expect(byName.get('toB')?.shown).toEqual({ standby: false, owner: siteB, attrs: { k: 'v' } });
    expect(byName.get('standbyT')?.shown).toEqual({ standby: true, owner: null, attrs: {} });
    for (const t of ['lost', 'selfOwned', 'unknownOwner']) expect(byName.get(t)?.shown, t).toEqual({ standby: false, attrs: {} });
    // Not ours (another configuration's, or without booth-cfg-name): as they are, and only that.
    expect(byName.get('otherT')).toEqual({ name: 'otherT', granted: true, generation: 0, revokeBy: null, expiresAt: null, notOurs: true });
    expect(byName.get('plainT')).toEqual({ name: 'plainT', granted: true, generation: 0, revokeBy: null, expiresAt: null, notOurs: true });
    expect(byName.get('offByHand')).toEqual({ name: 'offByHand', granted: false, generation: 0, revokeBy: null, expiresAt: null, notOurs: true });
    // Ours as readAll has them; nothing written.
    const ours = (await sink.readAll()).map((t) => t.name).sort();
    expect(read.tickets.filter((t) => t.notOurs !== true).map((t) => t.name).sort()).toEqual(ours);
    expect(await cibState(cib)).toEqual(before);
  });

  it('is complete with no tickets when the status section has none', async () => {
    const { open } = await lab();
    expect(await (await open()).readAtStart()).toEqual({ tickets: [], complete: true });
  });

  it('is not complete, says why and reads with crm_ticket -q instead when cibadmin fails or prints what it does not understand', async () => {
    const { calls, open, dir } = await lab('cib-foreign-tickets.xml');
    const cases: Array<[string, RegExp]> = [
      ['echo "Call failed: Transport endpoint is not connected" >&2; exit 102', /exited 102/],
      ['printf "<status><tickets><ticket_state id=\\"ticketA\\"/>"', /BAD_OUTPUT: cibadmin -Q --scope status output: .*never closed/],
      ['printf "<cib/>"', /root element <cib>, not <status>/],
    ];
    for (const [body, why] of cases) {
      const sink = await open({ cibadmin: await fakeCibadmin(dir, body), attemptsMax: 1 });
      calls.length = 0;
      const read: SinkStartRead = await sink.readAtStart();
      expect(read.complete).toBe(false);
      expect(read.incomplete).toMatch(why);
      expect(read.tickets.map((t) => [t.name, t.granted, t.notOurs ?? false]).sort()).toEqual([
        ['ticketA', true, false],
        ['ticketB', false, false],
      ]);
      expect(calls.map((c) => c.tool ?? 'crm_ticket')).toEqual(['cibadmin', 'crm_ticket']);
    }
  });

  it('throws, changing nothing, when the CIB cannot be read at all', async () => {
    const { cib, open } = await lab();
    await writeFile(cib, 'this is not XML');
    await expect((await open()).readAtStart()).rejects.toMatchObject({ name: 'CrmTicketError', code: 'CIB_INVALID' });
    await rm(cib);
    await expect((await open()).readAtStart()).rejects.toMatchObject({ code: 'NO_CIB_CONNECTION' });
  });
});

describe('a site restarted on a CIB that holds what its start-up revokes would write writes none of them (issue 15)', () => {
  const cause: Cause = { by: 'auto', reason: 'initial', detail: 'test' };
  const heldByB = Array.from({ length: 8 }, (_, i) => `b${i}`);
  const free = Array.from({ length: 8 }, (_, i) => `f${i}`);
  const names = [...heldByB, ...free, 'hand', 'handOff'];
  const def = (name: string): TicketDef => ({ name, mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} });

  /** The committed table: site-b holds b0..b7 (generation 1); the rest are free. */
  function table(): TicketTable {
    const t = TicketTable.fromDefs(names.map(def), { ticketCountMax: defaultLimits.ticketCountMax, attrsPerTicketMax: defaultLimits.attrsPerTicketMax });
    heldByB.forEach((ticket, i) => expect(t.apply({ type: 'grant', ticket, site: siteB, expectedGeneration: generation(0), cause }, index(i + 1))).toEqual({ ok: true }));
    return t;
  }

  /** One incarnation of site-a: the start-up read, the holder built on it, and its start-up effects written through the sink. */
  async function incarnation(l: Lab, complete?: boolean): Promise<{ effects: TicketEffect[]; cibadminWrites: number }> {
    const sink = await l.open();
    const read = await sink.readAtStart();
    const holder = new SiteHolder(siteA, 4, 200, { leaseEnd: defaultRules.holderLeaseEnd, revokeLead: defaultRules.revokeLead }, 1_000, read.tickets, ms(0), 1, null, complete ?? read.complete);
    const t = table();
    holder.syncWithTable(t.all(), ms(0));
    const effects: TicketEffect[] = [];
    holder.reconcile((n) => t.get(n), () => t.all(), ms(0), effects, []);
    l.calls.length = 0;
    const outcomes = await sink.applyBatch(effects);
    expect(outcomes.every((o) => o.ok), JSON.stringify(outcomes)).toBe(true);
    return { effects, cibadminWrites: l.calls.filter((c) => c.tool === 'cibadmin' && c.args.includes('--modify')).length };
  }

  it('writes only the revoke that times the sink, and those of tickets granted or revoked by hand without booth-cfg-name', async () => {
    const l = await lab();
    // The first incarnation, on an empty status section, writes site-b's tickets as revokes naming it.
    const first = await incarnation(l);
    expect(first.effects.filter((e) => e.owner === siteB).map((e) => e.ticket).sort()).toEqual(heldByB);
    // Meanwhile, by hand: one ticket granted, one revoked, neither with booth-cfg-name.
    await crmTicket(l.cib, '-t', 'hand', '-g', '--force');
    await crmTicket(l.cib, '-t', 'handOff', '-r', '--force');
    const before = await cibState(l.cib);
    expect(before.tickets.hand).toMatch(/granted="true"/);
    expect(before.tickets.b0).toMatch(new RegExp(`granted="false" owner="${siteIdB}" expires="\\d+" term="1" booth-cfg-name="booth"`));

    const restart = await incarnation(l);
    // One revoke times the sink (sink-at-start.ts); the hand-made states get theirs; nothing else is written.
    const timed = restart.effects.filter((e) => e.ticket !== 'hand' && e.ticket !== 'handOff');
    expect(timed).toHaveLength(1);
    expect(restart.effects.map((e) => [e.ticket, e.granted, e.owner, e.generation]).sort()).toEqual(
      [['hand', false, null, 0], ['handOff', false, null, 0], [timed[0]!.ticket, false, timed[0]!.owner, timed[0]!.generation]].sort(),
    );
    expect(restart.cibadminWrites).toBe(1);
    const after = await cibState(l.cib);
    expect(after.tickets.hand).toMatch(/granted="false".*owner="-1".*term="0" booth-cfg-name="booth"/);
    expect(after.tickets.handOff).toMatch(/granted="false".*owner="-1".*term="0" booth-cfg-name="booth"/);
    // Every other ticket_state is as it was, byte for byte: not written again.
    for (const name of Object.keys(before.tickets).filter((n) => n !== 'hand' && n !== 'handOff' && n !== timed[0]!.ticket)) {
      expect(after.tickets[name], name).toBe(before.tickets[name]);
    }
    expect(after.version).not.toBe(before.version);
  });

  it('writes every start-up revoke when the read is not complete (as before this change)', async () => {
    const l = await lab();
    await incarnation(l);
    await crmTicket(l.cib, '-t', 'hand', '-g', '--force');
    const restart = await incarnation(l, false);
    expect(restart.effects.map((e) => e.ticket).sort()).toEqual([...names].sort());
  });
});
