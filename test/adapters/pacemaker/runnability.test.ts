// Checks the runnability check (src/adapters/pacemaker/runnability.ts) against the REAL
// Pacemaker CLI (cibadmin, crm_ticket, crm_simulate from Debian's
// pacemaker-cli-utils) on CIB files. Each scenario is a small fixture CIB
// (fixtures/cib-runnable-*.xml, plus the lab's cib-tickets.xml) holding only a
// configuration; the test brings its three nodes online with crm_simulate
// itself (`-u node1 -u node2 -u node3 -S -O`), optionally granting tickets so
// that their resources run, and optionally injects failed operations
// (`crm_simulate -i ... -O`), the way Pacemaker would record them. The checker
// then reads that file through CIB_file like a live CIB. We check the exact
// command lines, that the source CIB is never written and the temp dir goes
// away, and the verdict with its exact reason: resources that can start, that
// already run (the renewal case), that run on a node that is not ours, that
// are disabled, banned everywhere, colocated with a banned one, failed past
// their migration-threshold, blocked, and promotable clones that can or
// cannot be promoted. Error paths use the real tools where they can produce
// them (missing or broken CIB file) and small fake crm_simulate scripts where
// they cannot (failing, hanging, malformed XML). The XML reader itself is
// checked in test/adapters/xml-cursor.test.ts. If the Pacemaker CLI is missing
// the suite FAILS (it never skips).
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  readCibModel,
  RunnabilityChecker,
  RunnabilityError,
  type RunnabilityCall,
  type RunnabilityCheckerOptions,
  type RunnabilityVerdict,
} from '../../../src/adapters/pacemaker/runnability.js';
import { parseXmlDocument } from '../../../src/adapters/xml-cursor.js';

const run = promisify(execFile);
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function onPath(name: string): string {
  return execFileSync('sh', ['-c', `command -v ${name} || true`], { encoding: 'utf8' }).trim();
}
const pacemakerCliMissing =
  onPath('crm_simulate') === '' || onPath('crm_ticket') === '' || onPath('cibadmin') === ''
    ? 'crm_simulate/crm_ticket/cibadmin not found on PATH: these tests need the real Pacemaker CLI. Install it with ' +
      '`apt-get update && apt-get install -y pacemaker-cli-utils` (.ci/run does so on Debian).'
    : null;

/** Longest per-call deadline tried before cibadmin -Q and crm_ticket get through on a loaded machine (300 ms doubled up to it). */
const toolStartMsMax = 19_200;

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

interface Lab {
  cib: string;
  calls: RunnabilityCall[];
  checker: RunnabilityChecker;
  check(ticket: string, nodes?: readonly string[]): Promise<RunnabilityVerdict>;
}

/**
 * A running cluster made from a fixture: nodes online, `grant`ed tickets'
 * resources started, then `inject`ed operation results recorded.
 */
async function lab(
  fixture: string,
  setup: { grant?: readonly string[]; inject?: readonly string[] } = {},
  extra: Partial<RunnabilityCheckerOptions> = {},
): Promise<Lab> {
  if (pacemakerCliMissing !== null) throw new Error(pacemakerCliMissing);
  dir ||= await mkdtemp(join(tmpdir(), 'runnability-test-'));
  const online = join(dir, 'online.xml');
  const cib = join(dir, 'cib.xml');
  const grants = (setup.grant ?? []).flatMap((t) => ['-g', t]);
  await run('crm_simulate', ['-x', join(fixtures, fixture), '-u', 'node1', '-u', 'node2', '-u', 'node3', ...grants, '-S', '-O', online]);
  if (setup.inject === undefined) {
    await run('cp', [online, cib]);
  } else {
    await run('crm_simulate', ['-x', online, ...setup.inject.flatMap((i) => ['-i', i]), '-O', cib]);
  }
  const calls: RunnabilityCall[] = [];
  const checker = new RunnabilityChecker({ env: { CIB_file: cib }, onCall: (c) => calls.push(c), ...extra });
  return { cib, calls, checker, check: (ticket, nodes) => checker.check({ ticket, nodes: nodes ?? null }) };
}

function reasonOf(v: RunnabilityVerdict): string {
  if (v.runnable) throw new Error(`expected ticket ${v.ticket} to be unrunnable`);
  return v.reason;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

let fakes = 0;
/** A fake Pacemaker tool: a shell script in the test's temp dir. */
async function fakeTool(body: string): Promise<string> {
  dir ||= await mkdtemp(join(tmpdir(), 'runnability-test-'));
  fakes += 1;
  const path = join(dir, `fake-tool-${fakes}`);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<RunnabilityError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RunnabilityError);
  const e = err as RunnabilityError;
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}

describe('RunnabilityChecker on CIB files (real cibadmin, crm_ticket, crm_simulate)', () => {
  it('finds resources named directly, through a resource set and through a tag, and sees them start', async () => {
    const { cib, calls, check } = await lab('cib-runnable-start.xml');
    const before = await readFile(cib, 'utf8');
    const v = await check('ticketA');
    expect(v).toMatchObject({
      runnable: true,
      ticket: 'ticketA',
      notes: [],
      resources: [
        { constraint: 'web-needs-ticketA', resource: 'web', role: 'Started', tag: null, ok: true, nodes: ['node2'], detail: 'active on node2' },
        { constraint: 'mail-needs-ticketA', resource: 'mail', role: 'Started', tag: null, ok: true, nodes: ['node1'], detail: 'active on node1' },
        { constraint: 'queue-needs-ticketA', resource: 'queue', role: 'Started', tag: 'backend', ok: true, nodes: ['node3'], detail: 'active on node3' },
      ],
    });
    expect(v.ms).toBeGreaterThan(0);

    // The exact command lines: a snapshot, a grant in the copy, one simulation of the copy.
    expect(calls.map((c) => [c.tool, c.args.join(' '), c.code])).toEqual([
      ['cibadmin', '-Q', null],
      ['crm_ticket', '-t ticketA -g --force -S standby --attr-value=false', null],
      ['crm_simulate', expect.stringMatching(/^--simulate --show-scores --show-failcounts --output-as=xml --xml-file \/.*\/tollbooth-runnable-[^/]+\/cib\.xml$/), null],
    ]);
    // The source CIB was never written, and the private copy is gone.
    expect(await readFile(cib, 'utf8')).toBe(before);
    const copy = calls[2]?.args.at(-1) ?? '';
    expect(await exists(dirname(copy))).toBe(false);
  });

  it('counts resources that already run (the renewal case)', async () => {
    const { cib, check } = await lab('cib-runnable-start.xml', { grant: ['ticketA'] });
    expect(await readFile(cib, 'utf8')).toMatch(/<ticket_state id="ticketA" granted="true"/);
    const v = await check('ticketA');
    expect(v.runnable).toBe(true);
    expect(v.resources.map((r) => [r.resource, r.nodes])).toEqual([
      ['web', ['node2']],
      ['mail', ['node1']],
      ['queue', ['node3']],
    ]);
  });

  it('checks a ticket in standby as if it were active', async () => {
    const { cib, check } = await lab('cib-runnable-start.xml');
    await run('crm_ticket', ['-t', 'ticketA', '-s'], { env: { ...process.env, CIB_file: cib } });
    expect(await readFile(cib, 'utf8')).toContain('<ticket_state id="ticketA" standby="true"/>');
    expect((await check('ticketA')).runnable).toBe(true);
  });

  it('counts only our nodes when they are given', async () => {
    const { check } = await lab('cib-runnable-start.xml');
    const v = await check('ticketA', ['node1', 'node9']);
    expect(v.notes).toEqual(['node node9 is not a node of this cluster']);
    expect(reasonOf(v)).toBe(
      'if ticket ticketA were granted: ' +
        'web would not run here (rsc_ticket web-needs-ticketA): it would be active on node2, which is not one of ours; node1: score -INFINITY for web-app; node9: not a node of this cluster' +
        ' | queue would not run here (rsc_ticket queue-needs-ticketA via tag backend): it would be active on node3, which is not one of ours; node1: not chosen (score 0); node9: not a node of this cluster',
    );
    expect(v.resources.map((r) => [r.resource, r.ok])).toEqual([
      ['web', false],
      ['mail', true],
      ['queue', false],
    ]);
  });

  it('does not count a resource an administrator disabled', async () => {
    const { check } = await lab('cib-runnable-start.xml');
    const v = await check('ticketOff');
    expect(v).toMatchObject({
      runnable: true,
      resources: [{ resource: 'svcOff', ok: true, nodes: [], detail: 'disabled (target-role=Stopped): stopped on purpose, not counted' }],
    });
  });

  it('answers runnable without simulating when no rsc_ticket names the ticket', async () => {
    const { calls, check } = await lab('cib-tickets.xml');
    const v = await check('ticketZ');
    expect(v).toMatchObject({ runnable: true, resources: [], notes: ['no rsc_ticket constraint names ticket ticketZ: nothing here depends on it'] });
    expect(calls.map((c) => c.tool)).toEqual(['cibadmin']);
  });

  it('checks several tickets against one reading of the CIB, simulating only those with constraints', async () => {
    const { calls, checker } = await lab('cib-tickets.xml');
    const all = await checker.checkAll(['ticketA', 'ticketZ', 'bad name']);
    expect(all.get('ticketA')).toMatchObject({ runnable: true, ticket: 'ticketA' });
    expect(all.get('ticketZ')).toMatchObject({ runnable: true, resources: [] });
    expect(all.get('bad name')).toBeInstanceOf(RunnabilityError);
    expect((all.get('bad name') as RunnabilityError).code).toBe('INVALID_TICKET');
    // One cibadmin -Q for all three; a grant and a simulation for ticketA alone.
    expect(calls.map((c) => c.tool)).toEqual(['cibadmin', 'crm_ticket', 'crm_simulate']);
    // The same answers as one check each.
    expect((await checker.check({ ticket: 'ticketA' })).runnable).toBe(true);
  });

  it('says why a resource banned from every node cannot run', async () => {
    const { check } = await lab('cib-runnable-banned.xml');
    expect(reasonOf(await check('ticketA'))).toBe(
      'if ticket ticketA were granted: svcA would not run here (rsc_ticket svcA-needs-ticketA): ' +
        'node1: banned by rsc_location cli-ban-svcA-on-node1; node2: banned by rsc_location cli-ban-svcA-on-node2; ' +
        'node3: score -INFINITY for svcA (rule-based rsc_location svcA-not-on-node3 may apply)',
    );
  });

  it('says why a resource colocated with a banned one cannot run', async () => {
    const { check } = await lab('cib-runnable-banned.xml');
    expect(reasonOf(await check('ticketB'))).toBe(
      'if ticket ticketB were granted: svcB would not run here (rsc_ticket svcB-needs-ticketB): ' +
        'node1, node2, node3: score -INFINITY for svcB (it must run with svcA by rsc_colocation svcB-with-svcA)',
    );
  });

  it('says why a resource that failed on every node cannot run', async () => {
    const { check } = await lab('cib-runnable-failed.xml', { inject: ['svcA_start_0@node1=1', 'svcA_start_0@node2=1', 'svcA_start_0@node3=1'] });
    expect(reasonOf(await check('ticketA'))).toBe(
      'if ticket ticketA were granted: svcA would not run here (rsc_ticket svcA-needs-ticketA): ' +
        'node1, node2, node3: svcA failed here (fail-count 1 reached migration-threshold 1)',
    );
  });

  it('does not count a running resource that is blocked after a failure', async () => {
    const { check } = await lab('cib-runnable-failed.xml', { grant: ['ticketB'], inject: ['svcB_monitor_10000@node2=1'] });
    const v = await check('ticketB');
    expect(reasonOf(v)).toBe(
      'if ticket ticketB were granted: svcB would not run here (rsc_ticket svcB-needs-ticketB): ' +
        'node1, node3: not chosen (score 0); node2: svcB is blocked, failed, unmanaged here',
    );
  });

  it('requires a promotable clone to be promoted when the ticket constrains the Promoted role', async () => {
    const { check } = await lab('cib-runnable-promoted.xml');
    expect(await check('ticketA')).toMatchObject({
      runnable: true,
      resources: [{ constraint: 'db-promote-needs-ticketA', resource: 'db-clone', role: 'Promoted', ok: true, nodes: ['node2'], detail: 'promoted on node2' }],
    });
    // dw-clone's instances run everywhere, but none may be promoted.
    expect(reasonOf(await check('ticketB'))).toBe(
      'if ticket ticketB were granted: dw-clone would not be promoted here (rsc_ticket dw-promote-needs-ticketB): ' +
        'node1, node2, node3: promotion score -INFINITY (rule-based rsc_location dw-never-promoted may apply)',
    );
  });

  it('checks the lab CIB: svcA starts and db-clone is promoted when ticketA is granted', async () => {
    const { check } = await lab('cib-tickets.xml');
    const v = await check('ticketA');
    expect(v.runnable).toBe(true);
    expect(v.resources.map((r) => [r.resource, r.role, r.nodes])).toEqual([
      ['svcA', 'Started', ['node2']],
      ['db-clone', 'Promoted', ['node2']],
    ]);
  });
});

describe('RunnabilityChecker errors', () => {
  it('rejects a ticket name it would not pass to crm_ticket', async () => {
    await expectError(new RunnabilityChecker().check({ ticket: 'bad id' }), 'INVALID_TICKET', /not a valid name/);
  });

  it('reports a missing CIB file as NO_CIB_CONNECTION after bounded attempts (real cibadmin)', async () => {
    if (pacemakerCliMissing !== null) throw new Error(pacemakerCliMissing);
    const calls: RunnabilityCall[] = [];
    const checker = new RunnabilityChecker({ env: { CIB_file: '/nonexistent/cib.xml' }, retryBackoffMs: 1, onCall: (c) => calls.push(c) });
    const e = await expectError(checker.check({ ticket: 'ticketA' }), 'NO_CIB_CONNECTION', /cibadmin -Q exited 105: .*Could not connect to the CIB/);
    expect(e).toMatchObject({ tool: 'cibadmin', exitCode: 105 });
    expect(calls.map((c) => [c.tool, c.attempt, c.code])).toEqual([
      ['cibadmin', 1, 'NO_CIB_CONNECTION'],
      ['cibadmin', 2, 'NO_CIB_CONNECTION'],
    ]);
  });

  it('refuses the CIB Pacemaker makes of a file that is not XML (real cibadmin exits 0 on it)', async () => {
    if (pacemakerCliMissing !== null) throw new Error(pacemakerCliMissing);
    dir = await mkdtemp(join(tmpdir(), 'runnability-test-'));
    const cib = join(dir, 'cib.xml');
    await writeFile(cib, '<cib');
    const checker = new RunnabilityChecker({ env: { CIB_file: cib } });
    await expectError(checker.check({ ticket: 'ticketA' }), 'CIB_INVALID', /no configuration with resources and constraints \(validate-with="none"\)/);
  });

  it('reports a missing crm_simulate as BINARY_MISSING, not as a verdict', async () => {
    const { checker } = await lab('cib-tickets.xml', {}, { binaries: { crmSimulate: '/nonexistent/crm_simulate' } });
    const e = await expectError(checker.check({ ticket: 'ticketA' }), 'BINARY_MISSING', /\/nonexistent\/crm_simulate not found/);
    expect(e.tool).toBe('crm_simulate');
  });

  it('reports crm_simulate failing, by exit code or by its own status', async () => {
    const failing = await fakeTool('echo \'<pacemaker-result api-version="2.25"><status code="70" message="Internal software bug"/></pacemaker-result>\'\necho "crm_simulate: oops" >&2\nexit 70');
    const l1 = await lab('cib-tickets.xml', {}, { binaries: { crmSimulate: failing } });
    const e = await expectError(l1.checker.check({ ticket: 'ticketA' }), 'FAILED', /crm_simulate .* exited 70 \(status 70: Internal software bug\): crm_simulate: oops/);
    expect(e).toMatchObject({ tool: 'crm_simulate', exitCode: 70, stderr: 'crm_simulate: oops' });

    const notOk = await fakeTool('echo \'<pacemaker-result api-version="2.25"><status code="1" message="Error occurred"/></pacemaker-result>\'');
    const l2 = await lab('cib-tickets.xml', {}, { binaries: { crmSimulate: notOk } });
    await expectError(l2.checker.check({ ticket: 'ticketA' }), 'FAILED', /crm_simulate reported status 1: Error occurred/);
  });

  it('kills a crm_simulate that does not finish in time and reports TIMEOUT', async () => {
    const hangs = await fakeTool('exec sleep 300');
    // The deadline holds for every call, and the real cibadmin -Q and crm_ticket (on a copy of the CIB)
    // run before crm_simulate: on a loaded machine either can outlast the 300 ms tried first. Then the
    // check is tried again with twice the deadline, until it is crm_simulate that runs out of time.
    let callTimeoutMs = 300;
    const attempt = async (): Promise<unknown> => {
      const { checker } = await lab('cib-tickets.xml', {}, { binaries: { crmSimulate: hangs }, callTimeoutMs });
      return checker.check({ ticket: 'ticketA' }).then(() => null, (e: unknown) => e);
    };
    let err = await attempt();
    while (err instanceof RunnabilityError && err.code === 'TIMEOUT' && err.tool !== 'crm_simulate' && callTimeoutMs < toolStartMsMax) {
      callTimeoutMs *= 2;
      err = await attempt();
    }
    if (!(err instanceof RunnabilityError)) throw new Error(`expected a RunnabilityError, got ${String(err)}`);
    await expectError(Promise.reject(err), 'TIMEOUT', new RegExp(`crm_simulate .* did not finish within ${callTimeoutMs} ms \\(killed by SIGKILL\\)`));
  });

  it('reports malformed or incomplete simulation XML as BAD_OUTPUT, naming where', async () => {
    const cases: Array<[string, RegExp]> = [
      ['<pacemaker-result><status code="0" message="OK"/>', /not well-formed XML: <pacemaker-result> \(opened at offset 0\) is never closed at offset 50 \(line 2, column 1/],
      ['<pacemaker-result><actions></pacemaker-result>', /not well-formed XML: <\/pacemaker-result> does not match <actions> opened at offset 18 at offset 27/],
      ['<pacemaker-result a="1" a="2"/>', /attribute a appears twice in <pacemaker-result> at offset 24/],
      ['<pacemaker-result>&bogus;</pacemaker-result>', /unknown entity &bogus; in character data at offset 18/],
      ['<!DOCTYPE x [<!ENTITY a "b">]><x/>', /a DOCTYPE is not accepted at offset 0/],
      ['<pacemaker-result><status code="0" message="OK"/></pacemaker-result>', /no <revised_cluster_status> \(was --simulate honoured\?\)/],
      ['<other/>', /root element is <other>, not <pacemaker-result>/],
    ];
    const { cib } = await lab('cib-tickets.xml');
    for (const [xml, message] of cases) {
      const fake = await fakeTool(`cat <<'EOF'\n${xml}\nEOF`);
      const checker = new RunnabilityChecker({ env: { CIB_file: cib }, binaries: { crmSimulate: fake } });
      const e = await expectError(checker.check({ ticket: 'ticketA' }), 'BAD_OUTPUT', message);
      expect(e.tool).toBe('crm_simulate');
    }
  });

  it('bounds what it reads from a tool', async () => {
    const { checker } = await lab('cib-tickets.xml', {}, { outputBytesMax: 100 });
    await expectError(checker.check({ ticket: 'ticketA' }), 'BAD_OUTPUT', /cibadmin -Q printed more than outputBytesMax \(100 bytes\)/);
  });

  it('stops when the caller aborts', async () => {
    const { checker } = await lab('cib-tickets.xml');
    await expectError(checker.check({ ticket: 'ticketA' }, { signal: AbortSignal.abort() }), 'ABORTED', /aborted before cibadmin -Q/);
  });
});

describe('readCibModel', () => {
  it('expands tags and resource sets, maps legacy role names, and notes what it cannot use', () => {
    const cib = parseXmlDocument(`<cib have-quorum="0"><configuration><resources>
      <primitive id="a"/><master id="ms"><primitive id="m"/></master><group id="g"><primitive id="g1"/><primitive id="g2"/></group>
    </resources><constraints>
      <rsc_ticket id="t1" rsc="a" ticket="T"/>
      <rsc_ticket id="t2" ticket="T"><resource_set id="s" role="Master"><resource_ref id="ms"/><resource_ref id="ghost"/></resource_set></rsc_ticket>
      <rsc_ticket id="t3" rsc="both" ticket="T" rsc-role="Stopped"/>
      <rsc_ticket id="t4" rsc="both" ticket="T"/>
      <rsc_ticket id="t5" rsc="a" ticket="U"/>
    </constraints><tags><tag id="both"><obj_ref id="a"/><obj_ref id="g"/></tag></tags></configuration><status/></cib>`);
    const model = readCibModel(cib, 'T');
    expect(model.haveQuorum).toBe(false);
    expect(model.requirements).toEqual([
      { constraint: 't1', resource: 'a', role: 'Started', tag: null },
      { constraint: 't2', resource: 'ms', role: 'Promoted', tag: null },
      { constraint: 't4', resource: 'a', role: 'Started', tag: 'both' },
      { constraint: 't4', resource: 'g', role: 'Started', tag: 'both' },
    ]);
    expect(model.notes).toEqual([
      'rsc_ticket t2 names "ghost", which is no resource or tag here (Pacemaker ignores it)',
      'rsc_ticket t3: role "Stopped" is not one a ticket can require; both not checked',
    ]);
    expect(model.resources.get('g')).toMatchObject({ kind: 'group', parent: null, primitives: ['g1', 'g2'] });
    expect(model.resources.get('m')).toMatchObject({ kind: 'primitive', parent: 'ms' });
  });
});
