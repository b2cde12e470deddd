// The OCF resource agent packaging/ocf/tollbooth, run for real: the script is
// executed by /bin/sh with OCF_ROOT and OCF_RESKEY_* in its environment, the
// way pacemaker-execd runs it, and it starts a real `tollbooth site-agent`
// (the built CLI, dist/bin/tollbooth.js, through a `tollbooth` launcher in a
// temporary directory) as site 127.0.0.1 of a loopback formation made by
// src/cli/loopback-formation.ts, whose other site and arbitrator run as plain
// processes. The resource's agent feeds a real CIB: a CIB file written by the
// real crm_ticket (CIB_file in the agent's environment, inherited by the
// daemon, its lease guard and `tollbooth cib-revoke-all`). It checks the script (sh -n; shellcheck when installed), the
// meta-data (well-formed XML with the OCF elements; against ra-api-1.dtd and
// metadata.rng when xmllint is installed), that validate-all refuses a
// missing or broken config, and the OCF state machine: start → monitor 0 →
// stop → monitor 7, stop of a stopped resource 0, a stale pidfile (another
// boot) is 7, a pidfile whose pid now belongs to another program is never 0 —
// and such a process is not killed by stop —, an agent killed with SIGKILL is
// 1 (OCF_ERR_GENERIC: failed, not cleanly stopped, so that Pacemaker runs the
// stop that revokes the site's tickets in the CIB), after which stop succeeds
// and start works again, and a hung agent (SIGSTOP) is 1 and is killed by
// stop after half the stop timeout. A start whose key is refused (exit 78)
// fails with OCF_ERR_ARGS. A clean stop leaves the site's grants in the CIB
// (to the lease guard, or to the agent started on another node: the hand-over);
// with release_on_stop=true (and after a crash) stop runs `tollbooth
// cib-revoke-all`: a ticket granted to the site in the CIB is revoked there
// when stop returns; stop
// fails when the revoke fails, and skips it (saying so) with a tollbooth that
// lacks the command. The lifecycle runs once more with the agent's own
// stand-ins for ocf-shellfuncs, once more as ocf:pacemaker:booth-site
// (packaging/ocf/booth-site: booth-site's name and parameters, config=NAME
// looked up in /etc/booth), and ocf-tester runs when it is installed.
// Waits are polls with deadlines; nothing sleeps.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningLeaseGuard } from '../../src/adapters/pacemaker/lease-guard.js';
import { LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import { formationWaitMs } from '../support/led-calls.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const agent = join(repo, 'packaging/ocf/tollbooth');
const cli = join(repo, 'dist/bin/tollbooth.js');
const systemOcfRoot = '/usr/lib/ocf';
const haveShellfuncs = existsSync(join(systemOcfRoot, 'lib/heartbeat/ocf-shellfuncs'));
const raApiDtd = '/usr/share/resource-agents/ra-api-1.dtd';
const metadataRng = '/usr/share/resource-agents/metadata.rng';
const cibFixture = join(repo, 'test/adapters/fixtures/cib-tickets.xml');

/**
 * The stop timeout given to the stop of a hung agent: its SIGKILL comes at
 * half of it, and the other half holds the rest of stop (two runs of the CLI
 * for cib-revoke-all), which take several seconds each on a loaded machine.
 */
const hungStopTimeoutMs = 30_000;
/**
 * The operation timeout Pacemaker would pass (OCF_RESKEY_CRM_meta_timeout):
 * the agent's own start and stop default, 60 s. A start waits for the agent to
 * answer on its admin socket, seconds on a loaded machine.
 */
const opTimeoutMs = 60_000;
/** Budget of a test that runs the resource agent a dozen times (a shell and a node start or two each). */
const raTestMs = 5 * 60_000;

const OCF_SUCCESS = 0;
const OCF_ERR_GENERIC = 1;
const OCF_ERR_ARGS = 2;
const OCF_ERR_INSTALLED = 5;
const OCF_ERR_CONFIGURED = 6;
const OCF_NOT_RUNNING = 7;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a program to its end (bounded), with exactly the given environment. */
function run(file: string, args: readonly string[], env: Record<string, string>, input?: string, timeoutMs = 90_000): Promise<Run> {
  const began = performance.now();
  return new Promise((resolvePromise, reject) => {
    const p = spawn(file, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], signal: AbortSignal.timeout(timeoutMs) });
    let stdout = '';
    let stderr = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolvePromise({ code, stdout, stderr, ms: performance.now() - began }));
    if (p.stdin !== null) {
      // A program that exits without reading its input (xmllint on an error) closes the pipe first.
      p.stdin.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') reject(err);
      });
      p.stdin.end(input);
    }
  });
}

async function onPath(name: string): Promise<string | null> {
  const r = await run('/bin/sh', ['-c', `command -v ${name}`], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
  return r.code === 0 ? r.stdout.trim() : null;
}

/** A live, non-zombie process (an orphan may stay a zombie when PID 1 does not reap). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X';
}

// ───────────── a small strict XML reader for the meta-data ─────────────

interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string, where: number): string {
  return s.replace(/&([^;&\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new Error(`bare & at offset ${where}`);
    if (name in entities) return entities[name]!;
    const num = /^#(\d+)$/.exec(name) ?? /^#x([0-9a-fA-F]+)$/.exec(name);
    if (num === null) throw new Error(`unknown entity &${name}; at offset ${where}`);
    return String.fromCodePoint(parseInt(num[1]!, name.startsWith('#x') ? 16 : 10));
  });
}

/** Well-formedness (nesting, quoting, entities, one root) and the element tree. No DTD internal subset, no CDATA. */
function parseXml(src: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const skipTo = (end: string): void => {
    const at = src.indexOf(end, i);
    if (at < 0) throw new Error(`unterminated construct at offset ${i}`);
    i = at + end.length;
  };
  while (i < src.length) {
    if (src.startsWith('<?', i)) skipTo('?>');
    else if (src.startsWith('<!--', i)) skipTo('-->');
    else if (src.startsWith('<!DOCTYPE', i)) {
      if (root !== null) throw new Error('DOCTYPE after the root element');
      skipTo('>');
    } else if (src.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(src.slice(i));
      const open = stack.pop();
      if (m === null || open === undefined || open.name !== m[1]) throw new Error(`mismatched end tag at offset ${i}`);
      i += m[0].length;
    } else if (src[i] === '<') {
      const m = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(src.slice(i));
      if (m === null) throw new Error(`malformed tag at offset ${i}`);
      const attrs: Record<string, string> = {};
      for (const a of m[2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]} at offset ${i}`);
        attrs[a[1]!] = decode(a[2] ?? a[3] ?? '', i);
      }
      const el: XmlElement = { name: m[1]!, attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.children.push(el);
      else if (root === null) root = el;
      else throw new Error(`second root element at offset ${i}`);
      if (m[3] !== '/') stack.push(el);
      i += m[0].length;
    } else {
      const end = src.indexOf('<', i) < 0 ? src.length : src.indexOf('<', i);
      const text = src.slice(i, end);
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (text.trim() !== '') throw new Error(`text outside the root element at offset ${i}`);
      } else top.text += decode(text, i);
      i = end;
    }
  }
  if (stack.length > 0) throw new Error(`unclosed element <${stack[stack.length - 1]!.name}>`);
  if (root === null) throw new Error('no root element');
  return root;
}

const child = (el: XmlElement, name: string): XmlElement[] => el.children.filter((c) => c.name === name);

// ───────────── the fixture: a formation, a launcher, the agent's environment ─────────────

describe('OCF resource agent packaging/ocf/tollbooth', () => {
  let f: LoopbackFormation;
  let site: LoopbackMember;
  let dir: string;
  let launcher: string;
  let bootId: string;
  /** crm_ticket on PATH: the agent feeds a CIB file; without it, the file stand-in (and no CIB checks). */
  let crmTicket: string | null;
  const timings: string[] = [];

  /** The environment pacemaker-execd would give the agent for this resource (plus overrides). */
  const envFor = (over: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    OCF_ROOT: haveShellfuncs ? systemOcfRoot : join(dir, 'no-ocf-root'),
    OCF_RA_VERSION_MAJOR: '1',
    OCF_RA_VERSION_MINOR: '1',
    OCF_RESOURCE_INSTANCE: 'tollbooth-site',
    OCF_RESOURCE_TYPE: 'tollbooth',
    OCF_RESOURCE_PROVIDER: 'tollbooth',
    HA_RSCTMP: join(dir, 'rsctmp'),
    OCF_RESKEY_CRM_meta_timeout: String(opTimeoutMs),
    OCF_RESKEY_CRM_meta_interval: '10000',
    OCF_RESKEY_config: f.configPath,
    OCF_RESKEY_binary: launcher,
    OCF_RESKEY_self: site.address,
    OCF_RESKEY_key: site.key,
    OCF_RESKEY_state_dir: site.dir,
    OCF_RESKEY_socket: site.socket,
    OCF_RESKEY_log: site.log,
    OCF_RESKEY_pidfile: join(dir, 'rsctmp', 'tollbooth-site.pid'),
    ...(crmTicket === null ? { OCF_RESKEY_args: '--ticket-sink file' } : { CIB_file: join(dir, 'site.cib.xml'), OCF_RESKEY_args: '--no-quorum-check --no-runnability-check' }),
    ...over,
  });
  const pidfileOf = (env: Record<string, string>): string => env.OCF_RESKEY_pidfile!;
  const ra = async (action: string, env: Record<string, string> = envFor()): Promise<Run> => {
    const r = await run(agent, [action], { ...env, ...(action === 'monitor' ? {} : { OCF_RESKEY_CRM_meta_interval: '0' }) });
    return r;
  };
  const probe = (env: Record<string, string> = envFor()): Promise<Run> => run(agent, ['monitor'], { ...env, OCF_RESKEY_CRM_meta_interval: '0' });
  const recordedPid = async (env: Record<string, string> = envFor()): Promise<number> => Number((await readFile(pidfileOf(env), 'utf8')).split(' ')[0]);
  const expectCode = (r: Run, code: number, what: string): void => {
    expect(r.code, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  };
  /** The ticket's state in the site's CIB file, as crm_ticket shows it. */
  const cibTicket = async (ticket: string): Promise<Record<string, string>> => {
    const r = await run(crmTicket!, ['-t', ticket, '-q'], { PATH: process.env.PATH ?? '/usr/bin:/bin', CIB_file: envFor().CIB_file! });
    const out: Record<string, string> = {};
    for (const a of r.stdout.matchAll(/([\w-]+)="([^"]*)"/g)) out[a[1]!] = a[2]!;
    return out;
  };

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build (npm ci does it) before this test`);
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command: [process.execPath, cli],
      tickets: [
        { name: 'db', expireS: 4, acquireAfterS: 0 },
        { name: 'man', expireS: 20, mode: 'manual' },
      ],
    });
    site = f.sites[0]!;
    dir = await mkdtemp(join(tmpdir(), 'tollbooth-ocf-'));
    crmTicket = await onPath('crm_ticket');
    if (crmTicket !== null) await copyFile(cibFixture, join(dir, 'site.cib.xml'));
    await mkdir(join(dir, 'bin'));
    launcher = join(dir, 'bin', 'tollbooth');
    // The way `npm install -g` installs it: a command that execs node on the CLI (same pid).
    await writeFile(launcher, `#!/bin/sh\nexec '${process.execPath}' '${cli}' "$@"\n`);
    await chmod(launcher, 0o755);
    bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    // The other two members run as plain processes; the first site is the resource.
    for (const m of f.members) if (m !== site) f.start(m);
    await Promise.all(f.members.filter((m) => m !== site).map((m) => f.waitReady(m)));
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    // Whatever a failed test left running: stop it through the agent, then make sure.
    for (const pidfile of [envFor().OCF_RESKEY_pidfile!, join(dir, 'rsctmp', 'fallback.pid'), join(dir, 'rsctmp', 'revoke.pid'), join(dir, 'rsctmp', 'tester.pid')]) {
      const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).split(' ')[0]);
      if (pid > 0 && (await alive(pid))) process.kill(pid, 'SIGKILL');
    }
    // The lease guard outlives the agent by design until its deadlines pass; the test does not wait for that.
    const guard = await runningLeaseGuard(site.dir);
    if (guard !== null) process.kill(guard, 'SIGTERM');
    await f.stop();
    await rm(dir, { recursive: true, force: true });
    if (timings.length > 0) process.stdout.write(`ocf agent timings: ${timings.join(', ')}\n`);
  });

  it('is a POSIX sh script: sh -n, and shellcheck when it is installed', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    expectCode(await run('/bin/sh', ['-n', agent], env), 0, 'sh -n');
    const shellcheck = await onPath('shellcheck');
    if (shellcheck !== null) expectCode(await run(shellcheck, ['-s', 'sh', agent], env), 0, 'shellcheck');
  });

  it('prints meta-data: well-formed OCF 1.1 XML with every parameter and action', async () => {
    const r = await ra('meta-data');
    expectCode(r, OCF_SUCCESS, 'meta-data');
    const root = parseXml(r.stdout);
    expect(root.name).toBe('resource-agent');
    expect(root.attrs.name).toBe('tollbooth');
    expect(child(root, 'version')[0]?.text).toBe('1.1');
    expect(root.children.map((c) => c.name)).toEqual(['version', 'longdesc', 'shortdesc', 'parameters', 'actions']);
    expect(child(root, 'longdesc')[0]!.text).toContain('pcs resource create');
    expect(child(root, 'longdesc')[0]!.text).toContain('crm configure group');
    const params = child(child(root, 'parameters')[0]!, 'parameter');
    expect(params.map((p) => p.attrs.name)).toEqual(['config', 'binary', 'key', 'self', 'state_dir', 'socket', 'log', 'pidfile', 'user', 'group', 'release_on_stop', 'args']);
    for (const p of params) {
      expect(p.children.map((c) => c.name), p.attrs.name).toEqual(['longdesc', 'shortdesc', 'content']);
      expect(['string', 'integer', 'boolean']).toContain(child(p, 'content')[0]!.attrs.type);
    }
    expect(child(params.find((p) => p.attrs.name === 'binary')!, 'content')[0]!.attrs.default).toBe('tollbooth');
    const actions = child(child(root, 'actions')[0]!, 'action');
    expect(actions.map((a) => a.attrs.name).sort()).toEqual(['meta-data', 'monitor', 'start', 'stop', 'validate-all']);
    for (const a of actions) expect(a.attrs.timeout, a.attrs.name).toMatch(/^\d+s$/);

    const xmllint = await onPath('xmllint');
    if (xmllint !== null) {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      expectCode(await run(xmllint, ['--noout', '-'], env, r.stdout), 0, 'xmllint');
      if (existsSync(raApiDtd)) expectCode(await run(xmllint, ['--noout', '--dtdvalid', raApiDtd, '-'], env, r.stdout), 0, 'xmllint --dtdvalid ra-api-1.dtd');
      if (existsSync(metadataRng)) expectCode(await run(xmllint, ['--noout', '--relaxng', metadataRng, '-'], env, r.stdout), 0, 'xmllint --relaxng metadata.rng');
    }
    // The reader itself rejects what is not well-formed.
    expect(() => parseXml('<a><b></a></b>')).toThrow(/mismatched/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate/);
    expect(() => parseXml('<a>R&D</a>')).toThrow(/entity|bare/);
  });

  it('validate-all: ok for the formation, OCF_ERR_CONFIGURED for a missing or broken config, OCF_ERR_INSTALLED without the command', async () => {
    expectCode(await ra('validate-all'), OCF_SUCCESS, 'validate-all');

    const missing = await ra('validate-all', envFor({ OCF_RESKEY_config: join(dir, 'nope.conf') }));
    expectCode(missing, OCF_ERR_CONFIGURED, 'validate-all, missing config');
    expect(missing.stderr).toMatch(/ocf-exit-reason:config file .*nope\.conf does not exist/);

    const bad = join(dir, 'bad.conf');
    await writeFile(bad, `${await readFile(f.configPath, 'utf8')}no-such-key = 1\nticket = "db"\n`);
    const broken = await ra('validate-all', envFor({ OCF_RESKEY_config: bad }));
    expectCode(broken, OCF_ERR_CONFIGURED, 'validate-all, broken config');
    expect(broken.stderr).toMatch(/ocf-exit-reason:config .*bad\.conf has errors: .*bad\.conf:\d+/);

    expectCode(await ra('validate-all', envFor({ OCF_RESKEY_binary: join(dir, 'bin', 'no-tollbooth') })), OCF_ERR_INSTALLED, 'validate-all, no command');
    expectCode(await ra('validate-all', envFor({ OCF_RESKEY_CRM_meta_clone_max: '2' })), OCF_ERR_CONFIGURED, 'validate-all, cloned');
    expectCode(await ra('validate-all', envFor({ OCF_RESKEY_user: 'no-such-user-tb' })), OCF_ERR_CONFIGURED, 'validate-all, unknown user');
    // A missing config makes start fail the same way, and nothing is left behind.
    expectCode(await ra('start', envFor({ OCF_RESKEY_config: join(dir, 'nope.conf') })), OCF_ERR_CONFIGURED, 'start, missing config');
    expect(existsSync(pidfileOf(envFor()))).toBe(false);
  });

  it('start → monitor 0 → stop → monitor 7, and stop of a stopped resource is 0', async () => {
    expectCode(await probe(), OCF_NOT_RUNNING, 'probe before start');
    const start = await ra('start');
    expectCode(start, OCF_SUCCESS, 'start');
    timings.push(`start ${Math.round(start.ms)} ms`);
    const pid = await recordedPid();
    const [, starttime, boot] = (await readFile(pidfileOf(envFor()), 'utf8')).trim().split(' ');
    expect(boot).toBe(bootId);
    expect(Number(starttime)).toBeGreaterThan(0);
    // The pidfile names the process that answers on the admin socket.
    const st = await f.call(site, { op: 'status' });
    expect((st.data as { pid: number }).pid).toBe(pid);
    const mon = await ra('monitor');
    expectCode(mon, OCF_SUCCESS, 'monitor after start');
    timings.push(`monitor ${Math.round(mon.ms)} ms`);
    expectCode(await probe(), OCF_SUCCESS, 'probe after start');
    expectCode(await ra('start'), OCF_SUCCESS, 'start of a started resource');
    expect(await recordedPid()).toBe(pid);
    // The agent run by the resource is a working member: it joins the formation's registry…
    await until('the resource\'s agent to follow a leader', formationWaitMs, async () => ((await f.call(site, { op: 'status' })).data as { leader: string | null }).leader !== null ? true : null);
    // … and takes a ticket: granted to it, the manual ticket shows up granted in its CIB.
    const g = await f.call(site, { op: 'grant', ticket: 'man', site: site.address });
    expect(g.ok, JSON.stringify(g)).toBe(true);
    await until('man granted here', formationWaitMs, async () => ((await f.localTicket(site, 'man'))?.grantedHere === true ? true : null));
    if (crmTicket !== null) await until('man granted in the CIB', formationWaitMs, async () => ((await cibTicket('man')).granted === 'true' ? true : null));

    const stop = await ra('stop');
    expectCode(stop, OCF_SUCCESS, 'stop');
    timings.push(`stop ${Math.round(stop.ms)} ms`);
    expect(await alive(pid)).toBe(false);
    expect(existsSync(pidfileOf(envFor()))).toBe(false);
    // A clean stop leaves the grant to the lease guard (or to this site's agent started on another node).
    expect(stop.stderr).toMatch(/grants left in the CIB to the lease guard/);
    if (crmTicket !== null) expect((await cibTicket('man')).granted).toBe('true');
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor after stop');
    const again = await ra('stop');
    expectCode(again, OCF_SUCCESS, 'stop of a stopped resource');
    timings.push(`stop when stopped ${Math.round(again.ms)} ms`);
    // With release_on_stop=true, stop revokes in the CIB before returning: no ticket stays granted by this site.
    const release = await ra('stop', envFor({ OCF_RESKEY_release_on_stop: 'true' }));
    expectCode(release, OCF_SUCCESS, 'stop with release_on_stop=true');
    timings.push(`stop with release_on_stop=true (cib-revoke-all) ${Math.round(release.ms)} ms`);
    if (crmTicket !== null) {
      expect(release.stderr).toMatch(/cib-revoke-all: .*revoked man/);
      expect((await cibTicket('man')).granted).toBe('false');
      expect((await cibTicket('db')).granted ?? 'false').toBe('false');
    }
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor after the second stop');
  }, raTestMs);

  it('a stale pidfile (another boot, or no boot id) is OCF_NOT_RUNNING and is removed', async () => {
    const pidfile = pidfileOf(envFor());
    await mkdir(dirname(pidfile), { recursive: true });
    // The pid is this very test process: alive, and not a site agent.
    await writeFile(pidfile, `${process.pid} 12345 00000000-0000-4000-8000-000000000000\n`);
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor, pidfile of another boot');
    expect(existsSync(pidfile)).toBe(false);
    await writeFile(pidfile, `${process.pid}\n`);
    expectCode(await probe(), OCF_NOT_RUNNING, 'probe, pidfile without start time and boot id');
    expect(existsSync(pidfile)).toBe(false);
  });

  it('a pidfile whose pid now belongs to another program is never "running", and stop does not kill that program', async () => {
    const pidfile = pidfileOf(envFor());
    await writeFile(pidfile, `${process.pid} 1 ${bootId}\n`);
    const mon = await ra('monitor');
    expectCode(mon, OCF_ERR_GENERIC, 'monitor, pid reused in this boot');
    expect(mon.stderr).toMatch(/ocf-exit-reason:.*gone without a stop/);
    expectCode(await ra('stop'), OCF_SUCCESS, 'stop after the pid was reused');
    expect(await alive(process.pid)).toBe(true);
    expect(existsSync(pidfile)).toBe(false);
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor after that stop');
  }, raTestMs);

  it('an agent killed with SIGKILL is OCF_ERR_GENERIC until stopped; then it starts again', async () => {
    expectCode(await ra('start'), OCF_SUCCESS, 'start');
    const pid = await recordedPid();
    process.kill(pid, 'SIGKILL');
    await until(`pid ${pid} to die`, formationWaitMs, async () => ((await alive(pid)) ? null : true), 20);
    const mon = await ra('monitor');
    expectCode(mon, OCF_ERR_GENERIC, 'monitor after kill -9');
    expect(mon.stderr).toMatch(/ocf-exit-reason:tollbooth site agent \(pid \d+\) is gone without a stop/);
    expectCode(await probe(), OCF_ERR_GENERIC, 'probe after kill -9');
    expectCode(await ra('stop'), OCF_SUCCESS, 'stop after kill -9');
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor after that stop');
    // The killed agent left its socket file and store lock behind: a new start copes.
    expectCode(await ra('start'), OCF_SUCCESS, 'start after kill -9');
    expectCode(await ra('monitor'), OCF_SUCCESS, 'monitor after the new start');
    expectCode(await ra('stop'), OCF_SUCCESS, 'stop');
  }, raTestMs);

  it('an agent that hangs (SIGSTOP) is OCF_ERR_GENERIC, and stop escalates to SIGKILL after half the stop timeout', async () => {
    expectCode(await ra('start'), OCF_SUCCESS, 'start');
    const pid = await recordedPid();
    process.kill(pid, 'SIGSTOP');
    const mon = await ra('monitor', envFor({ OCF_RESKEY_CRM_meta_timeout: '2000' }));
    expectCode(mon, OCF_ERR_GENERIC, 'monitor of a stopped process');
    expect(mon.stderr).toMatch(/ocf-exit-reason:.*runs but does not answer on its admin socket/);
    const stop = await ra('stop', envFor({ OCF_RESKEY_CRM_meta_timeout: String(hungStopTimeoutMs) }));
    expectCode(stop, OCF_SUCCESS, 'stop of a stopped process');
    expect(stop.stderr).toMatch(new RegExp(`still runs ${hungStopTimeoutMs / 2000} s after SIGTERM: SIGKILL`));
    expect(stop.ms).toBeLessThan(hungStopTimeoutMs);
    timings.push(`stop of a hung agent (stop timeout ${hungStopTimeoutMs / 1000} s) ${Math.round(stop.ms)} ms`);
    expect(await alive(pid)).toBe(false);
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor after that stop');
  }, raTestMs);

  it('a start the agent refuses (exit 78: not the configured key) is OCF_ERR_ARGS and leaves nothing running', async () => {
    const other = f.members.find((m) => m !== site && m.kind === 'site')!;
    const r = await ra('start', envFor({ OCF_RESKEY_key: other.key }));
    expectCode(r, OCF_ERR_ARGS, 'start with the wrong key');
    expect(r.stderr).toMatch(/ocf-exit-reason:.*exit 78.*is not the key configured for 127\.0\.0\.1/);
    expect(existsSync(pidfileOf(envFor()))).toBe(false);
    expectCode(await ra('monitor'), OCF_NOT_RUNNING, 'monitor after the refused start');
  });

  it('stop fails when cib-revoke-all fails, and skips the revoke (saying so) with a tollbooth that lacks the command', async () => {
    // A launcher around the real CLI: TB_FAKE=old has no cib-revoke-all (as before issue 4),
    // TB_FAKE=failing has one that records its arguments and fails.
    const calls = join(dir, 'revoke-calls');
    const fake = join(dir, 'bin', 'tollbooth-fake');
    await writeFile(
      fake,
      [
        '#!/bin/sh',
        'if [ "$TB_FAKE" = old ] && [ "$1" = help ] && [ "$2" = cib-revoke-all ]; then echo "error: unknown command" >&2; exit 2; fi',
        `if [ "$TB_FAKE" = failing ] && [ "$1" = cib-revoke-all ]; then echo "$*" >> '${calls}'; echo 'cannot read the CIB: Transport endpoint is not connected'; exit 1; fi`,
        `exec '${process.execPath}' '${cli}' "$@"`,
        '',
      ].join('\n'),
    );
    await chmod(fake, 0o755);
    const env = envFor({ OCF_RESKEY_binary: fake, OCF_RESKEY_pidfile: join(dir, 'rsctmp', 'revoke.pid'), OCF_RESKEY_release_on_stop: 'true' });
    expectCode(await ra('start', env), OCF_SUCCESS, 'start');
    const failing = await ra('stop', { ...env, TB_FAKE: 'failing' });
    expectCode(failing, OCF_ERR_GENERIC, 'stop with a failing cib-revoke-all');
    expect(failing.stderr).toMatch(/ocf-exit-reason:tollbooth cib-revoke-all -c .* failed \(exit 1\): cannot read the CIB/);
    expect((await readFile(calls, 'utf8')).trim()).toMatch(new RegExp(`^cib-revoke-all -c ${f.configPath} --self 127\\.0\\.0\\.1( --state-dir ${site.dir})?$`));
    // The agent itself was stopped before the revoke was tried.
    expectCode(await ra('monitor', env), OCF_NOT_RUNNING, 'monitor after the failed stop');
    const old = await ra('stop', { ...env, TB_FAKE: 'old' });
    expectCode(old, OCF_SUCCESS, 'stop with a tollbooth without cib-revoke-all');
    expect(old.stderr).toContain('has no cib-revoke-all command');
  }, raTestMs);

  it('works the same with its own stand-ins for ocf-shellfuncs (no OCF_ROOT installed)', async () => {
    const env = envFor({ OCF_ROOT: join(dir, 'no-ocf-root'), OCF_RESKEY_pidfile: join(dir, 'rsctmp', 'fallback.pid') });
    const meta = await ra('meta-data', env);
    expectCode(meta, OCF_SUCCESS, 'meta-data');
    expect(parseXml(meta.stdout).attrs.name).toBe('tollbooth');
    expectCode(await ra('validate-all', { ...env, OCF_RESKEY_config: join(dir, 'nope.conf') }), OCF_ERR_CONFIGURED, 'validate-all, missing config');
    expectCode(await probe(env), OCF_NOT_RUNNING, 'probe');
    expectCode(await ra('start', env), OCF_SUCCESS, 'start');
    expectCode(await ra('monitor', env), OCF_SUCCESS, 'monitor');
    const pid = await recordedPid(env);
    process.kill(pid, 'SIGKILL');
    await until(`pid ${pid} to die`, formationWaitMs, async () => ((await alive(pid)) ? null : true), 20);
    expectCode(await ra('monitor', env), OCF_ERR_GENERIC, 'monitor after kill -9');
    expectCode(await ra('stop', env), OCF_SUCCESS, 'stop');
    expectCode(await ra('monitor', env), OCF_NOT_RUNNING, 'monitor after stop');
    expectCode(await ra('promote', env), 3, 'an action it does not have (OCF_ERR_UNIMPLEMENTED)');
  }, raTestMs);

  it('runs as ocf:pacemaker:booth-site: booth-site\'s meta-data and parameters, config as a short name in /etc/booth', async () => {
    const boothSite = join(repo, 'packaging/ocf/booth-site');
    const meta = await run(boothSite, ['meta-data'], envFor());
    expectCode(meta, OCF_SUCCESS, 'booth-site meta-data');
    const root = parseXml(meta.stdout);
    expect(root.attrs.name).toBe('booth-site');
    const params = child(child(root, 'parameters')[0]!, 'parameter').map((p) => p.attrs.name);
    // booth-site's own three (what pcs and crmsh set), and tollbooth's.
    for (const name of ['config', 'args', 'daemon', 'binary', 'self']) expect(params).toContain(name);
    // crmsh writes config=booth and pcs config=/etc/booth/NAME.conf: a short name is looked up in
    // /etc/booth like booth's -c. The copy carries the formation's name, so it is the same formation.
    const shortName = `tollbooth-ocf-test-${process.pid}`;
    const inBooth = `/etc/booth/${shortName}.conf`;
    await mkdir('/etc/booth', { recursive: true });
    await writeFile(inBooth, `name = formation\n${await readFile(f.configPath, 'utf8')}`);
    try {
      const env = envFor({ OCF_RESOURCE_TYPE: 'booth-site', OCF_RESOURCE_PROVIDER: 'pacemaker', OCF_RESKEY_config: shortName, OCF_RESKEY_daemon: '/usr/sbin/boothd', OCF_RESKEY_pidfile: join(dir, 'rsctmp', 'booth-site.pid') });
      const bs = (action: string): Promise<Run> => run(boothSite, [action], { ...env, OCF_RESKEY_CRM_meta_interval: action === 'monitor' ? '10000' : '0' });
      expectCode(await bs('validate-all'), OCF_SUCCESS, 'booth-site validate-all, config=NAME');
      expectCode(await bs('monitor'), OCF_NOT_RUNNING, 'booth-site probe');
      expectCode(await bs('start'), OCF_SUCCESS, 'booth-site start');
      expectCode(await bs('monitor'), OCF_SUCCESS, 'booth-site monitor');
      const pid = Number((await readFile(env.OCF_RESKEY_pidfile!, 'utf8')).split(' ')[0]);
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(cmdline).toContain(inBooth);
      expectCode(await bs('stop'), OCF_SUCCESS, 'booth-site stop');
      expectCode(await bs('monitor'), OCF_NOT_RUNNING, 'booth-site monitor after stop');
      expectCode(await run(boothSite, ['validate-all'], { ...env, OCF_RESKEY_config: `${shortName}-missing` }), OCF_ERR_CONFIGURED, 'booth-site validate-all, unknown name');
    } finally {
      await rm(inBooth, { force: true });
    }
  });

  it('passes ocf-tester when it is installed', async (ctx) => {
    const tester = await onPath('ocf-tester');
    if (tester === null) {
      ctx.skip();
      return;
    }
    const e = envFor({ OCF_RESKEY_pidfile: join(dir, 'rsctmp', 'tester.pid') });
    const params = ['config', 'binary', 'self', 'key', 'state_dir', 'socket', 'log', 'pidfile'].flatMap((k) => ['-o', `${k}=${e[`OCF_RESKEY_${k}`]!}`]);
    if (e.OCF_RESKEY_args !== undefined) params.push('-o', `args=${e.OCF_RESKEY_args}`);
    const r = await run(tester, ['-n', 'tollbooth-site', ...params, agent], { PATH: e.PATH!, OCF_ROOT: e.OCF_ROOT!, HA_RSCTMP: e.HA_RSCTMP!, ...(e.CIB_file === undefined ? {} : { CIB_file: e.CIB_file }) }, undefined, 120_000);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('passed all tests');
  }, 150_000);
});
