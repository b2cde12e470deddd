// The Debian package and the booth tools around it, for real (issue 14,
// items 3 and 4). As root on this machine: the package is built by
// packaging/deb/build-deb.ts (what `npm run package` runs) and installed with
// `dpkg -i`, with the transitional package named booth (Depends tollbooth;
// a booth package crmsh's geo bootstrap finds; tollbooth cannot be removed
// while it is installed); the installed /usr/sbin/tollbooth, /usr/sbin/booth,
// /usr/sbin/boothd and /usr/sbin/geostore print their versions,
// /usr/sbin/booth-keygen writes a member key the installed config check
// accepts, `tollbooth config check` passes the installed example, the
// man pages and completions are where man and bash look. A loopback formation
// (two sites, one arbitrator) then runs from the installed program, its
// config at /etc/booth/booth.conf as pcs and crmsh expect, its first site
// feeding a CIB file through the real crm_ticket; the time from `dpkg -i` to
// a granted ticket is printed; its arbitrator is restarted once with the
// installed `boothd daemon -c booth`, as booth@.service and booth's scripts
// start booth's daemon. Against it run Debian's real pcs and crmsh:
// `pcs booth status` (also with no majority; expires shown for the held
// ticket), `pcs booth ticket grant|revoke` with a site, `pcs status --full`
// on the site's CIB file (-f with --corosync_conf), `pcs booth enable` and
// `disable` (systemctl works from the unit files alone) and `pcs booth start`
// (needs systemd as PID 1: recorded as not run where it is not), `crm site
// ticket show|grant|revoke` on the site's CIB file, `crm -F site ticket
// grant` of a ticket the formation has not given to the site (reverted by the
// cluster lease guard, which logs a warning with the reason), crmsh's `crm
// report` for real on this node (-S -n HOST: its sysinfo.txt carries `booth
// --version`, and it collects /etc/booth/booth.conf), `geostore set|get|list`
// through the installed path, and `crm cluster geo-init-arbitrator`: past
// crmsh's package check (the booth package) up to its fetch of /etc/booth
// from a cluster node with scp as root, which needs an ssh server this
// machine does not run (test/live/systemd.test.ts runs the whole command). Operations that need a live
// cluster (pcs booth ticket grant|revoke without a site, pcs booth restart)
// cannot run on CIB files: pcs refuses -f for booth commands and passes no
// environment to the tools it runs. The package is purged at the end. Each
// operation's outcome is printed as a works/fails table. Runs are serialized
// with a lock directory: the test owns /etc/booth/booth.conf and the package
// while it runs. Skipped when not root or without dpkg-deb.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, memberReadyMsMax, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import { formationWaitMs } from '../support/led-calls.js';
import { buildBoothTransitionalDeb, buildDeb } from '../../packaging/deb/build-deb.js';
import { releasePackageTestLock, tryTakePackageTestLock } from '../support/package-test-lock.js';

const repo = resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
const haveDpkg = existsSync('/usr/bin/dpkg-deb');
const havePcs = existsSync('/usr/sbin/pcs');
const haveCrm = existsSync('/usr/sbin/crm');
const haveCrmTicket = existsSync('/usr/sbin/crm_ticket');
const haveSystemctl = existsSync('/usr/bin/systemctl') || existsSync('/bin/systemctl');
const boothConf = '/etc/booth/booth.conf';
const boothSocket = '/run/tollbooth/booth.sock';
const cibFixture = join(repo, 'test/adapters/fixtures/cib-tickets.xml');
// The lan preset and a 20 s lease: pcs, crmsh and dpkg run beside the formation on a loaded host,
// and the loopback preset's 500 ms election timeout made the leader change under them.
const leaseS = 20;
/** Budget of a test that runs pcs or crmsh (Python, seconds a run on a loaded machine) several times beside the formation. */
const toolsTestMs = 5 * 60_000;

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(file: string, args: readonly string[], env: Record<string, string | undefined> = process.env, timeoutMs = 120_000): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, out, errText) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      done({ code, out, err: errText });
    });
  });
}

/** dpkg takes a lock; another dpkg (an apt run) may hold it for a while. */
async function dpkg(args: readonly string[]): Promise<Run> {
  return until(`dpkg ${args.join(' ')}`, 180_000, async () => {
    const r = await run('/usr/bin/dpkg', args);
    return /lock/i.test(r.err) && r.code !== 0 ? null : r;
  }, 1000);
}

const firstLine = (r: Run): string => ((r.err + r.out).split('\n').find((l) => l.trim() !== '') ?? '').trim();

const table: Array<[string, string, string]> = [];
const record = (what: string, works: boolean | string, note: string): void => {
  table.push([what, typeof works === 'string' ? works : works ? 'works' : 'fails', note]);
};

describe.skipIf(!isRoot || !haveDpkg)('the Debian package, installed, and pcs / crmsh / Hawk against it', () => {
  let deb = '';
  let boothDeb = '';
  let f: LoopbackFormation | null = null;
  let site: LoopbackMember;
  let other: LoopbackMember;
  let cib = '';
  let guard: ReturnType<typeof import('node:child_process').spawn> | null = null;
  let guardLog = '';
  let savedConf: string | null = null;
  let locked = false;
  let installedAt = 0;

  beforeAll(async () => {
    await until('the package test lock', 600_000, tryTakePackageTestLock, 1000);
    locked = true;
    deb = buildDeb(join(repo, 'build'));
    boothDeb = buildBoothTransitionalDeb(join(repo, 'build'));
  }, 900_000);

  afterAll(async () => {
    if (guard !== null) guard.kill('SIGTERM');
    await f?.stop();
    // The package, /etc/booth/booth.conf and booth's socket are the lock holder's: a run that never
    // got the lock (its wait timed out) must not purge the package another run has just installed.
    if (locked) {
      await rm(boothSocket, { force: true });
      if (savedConf !== null) await rename(savedConf, boothConf);
      else await rm(boothConf, { force: true });
      // The transitional package first: tollbooth cannot go while booth depends on it.
      const purgeBooth = await dpkg(['--purge', 'booth']);
      record('dpkg --purge booth (transitional)', purgeBooth.code === 0, `exit ${purgeBooth.code}`);
      const purge = await dpkg(['--purge', 'tollbooth']);
      record('dpkg --purge tollbooth', purge.code === 0 && !existsSync('/usr/sbin/booth'), `exit ${purge.code}`);
      await releasePackageTestLock();
    }
    const w = Math.max(...table.map((r) => r[0].length));
    const v = Math.max(...table.map((r) => r[1].length));
    process.stdout.write(`\nbooth tools against tollbooth (this run):\n${table.map(([a, b, c]) => `  ${a.padEnd(w)}  ${b.padEnd(v)}  ${c}`).join('\n')}\n`);
  }, 180_000);

  it('installs with dpkg -i, and the installed programs run from their installed paths', async () => {
    const size = (await stat(deb)).size;
    const started = Date.now();
    const inst = await dpkg(['-i', deb]);
    installedAt = started;
    expect(inst.code, inst.err).toBe(0);
    record('dpkg -i tollbooth_*.deb', true, `${(size / 1024 / 1024).toFixed(1)} MiB .deb, ${Date.now() - started} ms`);
    const files = (await dpkg(['-L', 'tollbooth'])).out.split('\n');
    const installedSize = (await run('/usr/bin/dpkg-query', ['-W', '-f=${Installed-Size}', 'tollbooth'])).out;
    process.stdout.write(`package: ${deb} ${size} bytes, Installed-Size ${installedSize} KiB, ${files.length} paths; outside /usr/lib/tollbooth:\n${files.filter((p) => p !== '' && !p.startsWith('/usr/lib/tollbooth/')).map((p) => `  ${p}`).join('\n')}\n`);
    // The package named booth, for crmsh's `dpkg-query --status booth`; tollbooth cannot go while it is there.
    const instBooth = await dpkg(['-i', boothDeb]);
    expect(instBooth.code, instBooth.err).toBe(0);
    const boothStatus = await run('/usr/bin/dpkg-query', ['--status', 'booth']);
    record('dpkg -i booth_*.deb (transitional)', boothStatus.code === 0 && boothStatus.out.includes('Status: install ok installed'), `dpkg-query --status booth: exit ${boothStatus.code}, ${/^Version: .*$/m.exec(boothStatus.out)?.[0] ?? ''}`);
    expect(boothStatus.out).toContain('Status: install ok installed');
    expect(boothStatus.out).toMatch(/^Depends: tollbooth \(= \d+\.\d+\.\d+\)$/m);
    const removeFirst = await dpkg(['--remove', 'tollbooth']);
    record('dpkg --remove tollbooth while booth is installed', removeFirst.code !== 0 ? 'refused' : 'removed', `exit ${removeFirst.code}: ${(removeFirst.err.split('\n').find((l) => l.includes('depends on')) ?? firstLine(removeFirst)).trim()}`);
    expect(removeFirst.code).not.toBe(0);
    expect(existsSync('/usr/sbin/tollbooth')).toBe(true);
    for (const p of [
      '/usr/sbin/tollbooth',
      '/usr/sbin/booth',
      '/usr/sbin/boothd',
      '/usr/sbin/geostore',
      '/usr/sbin/booth-keygen',
      '/usr/share/man/man8/geostore.8.gz',
      '/usr/share/man/man8/booth-keygen.8.gz',
      '/usr/share/man/man8/boothd.8.gz',
      '/lib/systemd/system/tollbooth-site-agent@.service',
      '/lib/systemd/system/booth@.service',
      '/lib/systemd/system/booth-arbitrator.service',
      '/lib/systemd/system/booth.service',
      '/usr/lib/ocf/resource.d/tollbooth/tollbooth',
      '/usr/lib/ocf/resource.d/pacemaker/booth-site',
      '/usr/lib/firewalld/services/tollbooth.xml',
      '/usr/share/man/man8/tollbooth.8.gz',
      '/usr/share/man/man8/booth.8.gz',
      '/usr/share/man/man5/tollbooth.conf.5.gz',
      '/usr/share/bash-completion/completions/booth',
      '/usr/share/doc/tollbooth/examples/booth.conf',
      '/usr/share/doc/tollbooth/examples/prometheus/tollbooth-rules.yml',
      '/usr/share/tollbooth/alert-handlers/syslog',
      '/usr/share/tollbooth/alert-handlers/webhook',
    ]) {
      expect(files, p).toContain(p);
    }
    // Run from the installed paths, with no PATH (pcs runs booth that way).
    const tv = await run('/usr/sbin/tollbooth', ['--version'], {});
    expect(tv.out).toMatch(/^tollbooth \d+\.\d+\.\d+\n$/);
    const bv = await run('/usr/sbin/booth', ['--version'], {});
    expect(bv.code).toBe(0);
    expect(bv.out).toMatch(/^booth \d+\.\d+\.\d+ /);
    record('booth --version (crm report runs it)', true, bv.out.trim());
    const gv = await run('/usr/sbin/geostore', ['--version'], {});
    expect(gv.out).toMatch(/^geostore \d+\.\d+\.\d+ /);
    // booth-keygen at booth's authfile path: a member key the installed config check takes.
    const keyDir = await mkdtemp(join(tmpdir(), 'tollbooth-keygen-'));
    try {
      const kg = await run('/usr/sbin/booth-keygen', [join(keyDir, 'authkey')], {});
      const line = /^tollbooth-member-key = ADDRESS (\S+)$/m.exec(kg.err);
      record('booth-keygen FILE', kg.code === 0 && line !== null, `exit ${kg.code}; prints the member key line on stderr`);
      expect(kg.code, kg.err).toBe(0);
      expect(line).not.toBeNull();
      expect((await stat(join(keyDir, 'authkey'))).mode & 0o777).toBe(0o600);
      // The other two members' keys, as each would write its own on its machine.
      const others: string[] = [];
      for (const n of ['b', 'c']) {
        const o = await run('/usr/sbin/booth-keygen', [join(keyDir, `authkey-${n}`)], {});
        others.push(/^tollbooth-member-key = ADDRESS (\S+)$/m.exec(o.err)![1]!);
      }
      const keys = [line![1]!, ...others];
      await writeFile(join(keyDir, 'one.conf'), `site = 192.0.2.1\nsite = 192.0.2.2\narbitrator = 192.0.2.3\nticket = t\nauthfile = ${join(keyDir, 'authkey')}\n${['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((a, i) => `tollbooth-member-key = ${a} ${keys[i]!}`).join('\n')}\n`);
      const ck = await run('/usr/sbin/tollbooth', ['config', 'check', join(keyDir, 'one.conf')]);
      expect(ck.code, ck.out + ck.err).toBe(0);
      const again = await run('/usr/sbin/booth-keygen', [join(keyDir, 'authkey')], {});
      expect(again.code).toBe(1);
      expect(again.err).toContain('already exists');
    } finally {
      await rm(keyDir, { recursive: true, force: true });
    }
    const dv = await run('/usr/sbin/boothd', ['--version'], {});
    expect(dv.code).toBe(0);
    expect(dv.out).toMatch(/^boothd \d+\.\d+\.\d+ /);
    // boothd.8.gz links to booth.8.gz (one page for both names, as booth's package): man resolves the link.
    const boothdPage = await run('/usr/bin/man', ['-w', 'boothd']);
    expect(boothdPage.code, boothdPage.err).toBe(0);
    expect(boothdPage.out.trim()).toBe('/usr/share/man/man8/booth.8.gz');
    const check = await run('/usr/sbin/tollbooth', ['config', 'check', '/usr/share/doc/tollbooth/examples/booth.conf']);
    expect(check.code, check.out + check.err).toBe(0);
    expect(check.out).toMatch(/examples\/booth\.conf: ok \(3 members, 2 tickets/);
    expect((await run('/usr/bin/man', ['-w', 'booth'])).out.trim()).toBe('/usr/share/man/man8/booth.8.gz');
    const page = await run('/usr/bin/man', ['-P', 'cat', 'tollbooth'], { ...process.env, MANWIDTH: '100' });
    expect(page.out).toContain('tollbooth booth [args]');
    expect(page.out).toContain('crm -F site ticket grant');
    expect((await run('/bin/bash', ['-n', '/usr/share/bash-completion/completions/tollbooth'])).code).toBe(0);
    const completion = await run('/bin/bash', ['-c', 'source /usr/share/bash-completion/completions/tollbooth; COMP_WORDS=(tollbooth con); COMP_CWORD=1; _tollbooth; echo "${COMPREPLY[*]}"']);
    expect(completion.out.trim()).toBe('config');
  }, 300_000);

  it('runs a formation from the installed program, its config at /etc/booth/booth.conf', async () => {
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command: ['/usr/sbin/tollbooth'],
      preset: 'lan',
      extraConfig: ['name = booth'],
      ...(haveCrmTicket ? { ticketSink: 'crm_ticket' as const, siteArgs: ['--no-quorum-check', '--no-runnability-check'], siteEnv: (m: LoopbackMember) => ({ CIB_file: join(f!.root, `${m.address}.cib.xml`) }) } : {}),
      tickets: [
        { name: 'tkt', expireS: leaseS, acquireAfterS: 0 },
        { name: 'man1', expireS: leaseS, mode: 'manual' },
      ],
    });
    [site, other] = f.sites as [LoopbackMember, LoopbackMember];
    cib = join(f.root, `${site.address}.cib.xml`);
    for (const m of f.sites) await copyFile(cibFixture, join(f.root, `${m.address}.cib.xml`));
    await mkdir('/etc/booth', { recursive: true });
    if (existsSync(boothConf)) {
      savedConf = `${boothConf}.tollbooth-test-${process.pid}`;
      await rename(boothConf, savedConf);
    }
    await copyFile(f.configPath, boothConf);
    await mkdir('/run/tollbooth', { recursive: true });
    await rm(boothSocket, { force: true });
    // pcs and crmsh reach the first site's agent where booth's tools look: the config's name.
    await symlink(site.socket, boothSocket);
    expect(await readlink(boothSocket)).toBe(site.socket);
    const formationAt = Date.now();
    await f.startAll();
    const holder = await until('tkt granted at a site', formationWaitMs, async () => {
      const at = await f!.grantedAt('tkt');
      return at.length === 1 ? at[0]! : null;
    });
    const ms = Date.now() - installedAt;
    const startMs = Date.now() - formationAt;
    process.stdout.write(`dpkg -i to a formation of the installed program with its ticket granted (at ${holder.address}): ${ms} ms (members started to ticket granted: ${startMs} ms)\n`);
    record('formation from installed /usr/sbin/tollbooth', true, `dpkg -i → ticket granted ${(ms / 1000).toFixed(1)} s (of which start → granted ${(startMs / 1000).toFixed(1)} s; loopback, 3 members)`);
  }, memberReadyMsMax + formationWaitMs + 60_000);

  it('boothd daemon -c booth from the installed path (booth@.service, booth\'s scripts): the arbitrator, in the background, and its booth status', async () => {
    const arb = f!.members[2]!;
    await f!.kill(arb, 'SIGTERM');
    const started = Date.now();
    // The config is found by booth's short name (/etc/booth/booth.conf); the loopback member's own paths follow "--".
    const d = await run('/usr/sbin/boothd', ['daemon', '-c', 'booth', '--', '--self', arb.address, '-k', arb.key, '--state-dir', arb.dir, '--socket', arb.socket, '--log', arb.log], {});
    record('boothd daemon -c booth (background)', d.code === 0, `exit ${d.code} after ${Date.now() - started} ms, once the arbitrator answered${d.code === 0 ? '' : `: ${firstLine(d)}`}`);
    expect(d.code, d.err).toBe(0);
    const st = await run('/usr/sbin/boothd', ['status', '-c', 'booth'], { TOLLBOOTH_SOCKET: arb.socket });
    expect(st.code, st.err).toBe(0);
    expect(st.out).toContain('booth_type=arbitrator');
    const pid = Number(/booth_pid=(\d+)/.exec(st.out)?.[1]);
    process.kill(pid, 'SIGTERM');
    await until('the boothd-started arbitrator to stop', formationWaitMs, async () => ((await run('/usr/sbin/boothd', ['status', '-c', 'booth'], { TOLLBOOTH_SOCKET: arb.socket })).code === 7 ? true : null));
    // The formation's own arbitrator again, for the tests that follow.
    f!.start(arb);
    await f!.waitReady(arb);
  }, memberReadyMsMax + 2 * formationWaitMs);

  it.skipIf(!havePcs)('pcs booth status, and pcs booth ticket grant|revoke with a site', async () => {
    const st = await run('/usr/sbin/pcs', ['booth', 'status']);
    record('pcs booth status', st.code === 0, `exit ${st.code}`);
    expect(st.code, st.out + st.err).toBe(0);
    expect(st.out).toContain('TICKETS:');
    expect(st.out).toMatch(/ticket: tkt, leader: 127\.0\.0\.\d/);
    // booth prints every holder's expiry at every member; so does the booth client (it asks the
    // holder when the answering site neither holds nor leads: test/e2e/booth-client.test.ts).
    const expiresShown = /ticket: tkt, leader: 127\.0\.0\.\d, expires: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(st.out);
    record('pcs booth status: expires of the held ticket', expiresShown ? 'shown' : 'missing', 'booth always prints it; Hawk parses it');
    expect(expiresShown, st.out).toBe(true);
    expect(st.out).toContain('booth_state=started');
    expect(st.out).toMatch(/site {9}127\.0\.0\.2, last recv: /);

    const g = await run('/usr/sbin/pcs', ['booth', 'ticket', 'grant', 'man1', other.address]);
    record('pcs booth ticket grant T SITE', g.code === 0, `exit ${g.code}`);
    expect(g.code, g.out + g.err).toBe(0);
    await until('man1 granted at the other site', formationWaitMs, async () => ((await f!.localTicket(other, 'man1'))?.grantedHere === true ? true : null));
    const again = await run('/usr/sbin/pcs', ['booth', 'ticket', 'grant', 'man1', site.address]);
    record('pcs booth ticket grant of a granted ticket', again.code !== 0, `refused as by booth (exit ${again.code})`);
    expect(again.code).not.toBe(0);
    expect(again.err + again.out).toContain("You're granting a granted ticket");

    const r = await run('/usr/sbin/pcs', ['booth', 'ticket', 'revoke', 'man1', site.address]);
    record('pcs booth ticket revoke T SITE', r.code === 0, `exit ${r.code} (asked of a site that does not hold it)`);
    expect(r.code, r.out + r.err).toBe(0);
    await until('man1 revoked at the other site', formationWaitMs, async () => ((await f!.localTicket(other, 'man1'))?.grantedHere === false ? true : null));

    const noSite = await run('/usr/sbin/pcs', ['booth', 'ticket', 'grant', 'man1']);
    record('pcs booth ticket grant T (no site)', 'not run', `needs a live cluster: pcs reads the booth-site group's IP from the live CIB and refuses -f for booth commands (exit ${noSite.code}: ${firstLine(noSite)})`);
    const restart = await run('/usr/sbin/pcs', ['booth', 'restart']);
    record('pcs booth restart', 'not run', `needs a live cluster: pcs finds the booth-site primitive in the live CIB and restarts it with crm_resource (exit ${restart.code}: ${firstLine(restart)})`);
  }, toolsTestMs);

  it.skipIf(!havePcs || !haveCrmTicket)('pcs status --full on the site CIB shows the formation\'s ticket', async () => {
    // pcs reads a CIB file with -f, and then wants the corosync.conf it would otherwise read from /etc.
    const corosyncConf = join(f!.root, 'corosync.conf');
    await writeFile(corosyncConf, 'totem {\n  version: 2\n  cluster_name: siteA\n  transport: knet\n}\nnodelist {\n  node {\n    ring0_addr: 127.0.0.1\n    name: node1\n    nodeid: 1\n  }\n}\nquorum {\n  provider: corosync_votequorum\n}\n');
    const granted = (await f!.grantedAt('tkt')).includes(site);
    const st = await run('/usr/sbin/pcs', ['-f', cib, '--corosync_conf', corosyncConf, 'status', '--full']);
    const line = st.out.split('\n').find((l) => /^\s*tkt\s/.test(l))?.trim() ?? '';
    const expected = granted ? 'granted' : 'revoked';
    record('pcs status --full', st.code === 0 && line.includes(expected), `on the site's CIB file (-f, --corosync_conf): "${line}"`);
    expect(st.code, st.err).toBe(0);
    expect(st.out).toContain('Tickets:');
    expect(line).toContain(expected);
  }, toolsTestMs);

  it.skipIf(!havePcs || !haveSystemctl)('pcs booth enable|disable|start on an arbitrator: booth@NAME is tollbooth\'s arbitrator unit', async () => {
    // pcs runs `systemctl enable booth@booth.service`, which systemctl does from the unit files
    // alone (no running systemd needed); it creates the multi-user.target.wants link.
    const wants = '/etc/systemd/system/multi-user.target.wants/booth@booth.service';
    // A link left from before (not this run's) is put back as it was at the end.
    const before = await readlink(wants).catch(() => null);
    await rm(wants, { force: true });
    try {
      const en = await run('/usr/sbin/pcs', ['booth', 'enable']);
      record('pcs booth enable', en.code === 0 && existsSync(wants), `exit ${en.code}: ${firstLine(en)}`);
      expect(en.code, en.out + en.err).toBe(0);
      expect(existsSync(wants)).toBe(true);
      expect(await readlink(wants)).toMatch(/\/systemd\/system\/booth@\.service$/);
      // pcs disables only a service that `systemctl list-unit-files` lists as booth.service: the package's alias.
      const dis = await run('/usr/sbin/pcs', ['booth', 'disable']);
      record('pcs booth disable', dis.code === 0 && !existsSync(wants), `exit ${dis.code}: ${firstLine(dis)}${existsSync(wants) ? ' — but the unit stays enabled' : ''}`);
      expect(dis.code, dis.out + dis.err).toBe(0);
      expect(existsSync(wants)).toBe(false);
    } finally {
      await rm(wants, { force: true });
      if (before !== null) await symlink(before, wants);
    }
    // Starting needs a running systemd (PID 1): with one, booth@booth runs `tollbooth arbitrator`.
    const start = await run('/usr/sbin/pcs', ['booth', 'start']);
    if (existsSync('/run/systemd/system')) {
      record('pcs booth start', start.code === 0, `exit ${start.code}: ${firstLine(start)}`);
      expect(start.code, start.out + start.err).toBe(0);
      const stop = await run('/usr/sbin/pcs', ['booth', 'stop']);
      expect(stop.code, stop.out + stop.err).toBe(0);
    } else {
      record('pcs booth start', 'not run', `no systemd as PID 1 on this machine (PID 1 is ${(await readFile('/proc/1/comm', 'utf8')).trim()}); systemctl says: ${firstLine(start)} — test/live/systemd.test.ts runs it under systemd as PID 1 of a namespace`);
      expect(start.code).not.toBe(0);
    }
  }, toolsTestMs);

  it.skipIf(!haveCrm || !haveCrmTicket)('crm site ticket show|grant|revoke on the site CIB, and the guard against a forced grant', async () => {
    const env = { ...process.env, CIB_file: cib };
    const holder = (await f!.grantedAt('tkt'))[0]!;
    const show = await run('/usr/sbin/crm', ['site', 'ticket', 'show', 'tkt'], env);
    const expected = holder === site ? 'ticket tkt is granted' : 'ticket tkt is revoked';
    record('crm site ticket show T', show.out.includes(expected), show.out.trim() || show.err.trim());
    expect(show.out).toContain(expected);

    // Without -F crmsh refuses (crm_ticket wants --force); with -F it grants in this CIB alone.
    const plain = await run('/usr/sbin/crm', ['site', 'ticket', 'grant', 'man1'], env);
    record('crm site ticket grant T', plain.code !== 0, `refused by crm_ticket without --force (exit ${plain.code}), as under booth`);
    expect(plain.code).not.toBe(0);

    // The cluster lease guard of this site: the formation has not given man1 to this site, so a
    // forced grant in its CIB has no lease behind it and is reverted, with a warning saying why.
    guardLog = join(f!.root, 'cib-guard.log');
    const { spawn } = await import('node:child_process');
    const { openSync } = await import('node:fs');
    guard = spawn('/usr/sbin/tollbooth', ['lease-guard', '--cib', '-c', boothConf], { env, stdio: ['ignore', openSync(guardLog, 'a'), openSync(guardLog, 'a')] });
    await until('the cluster lease guard to start', formationWaitMs, async () => ((await readFile(guardLog, 'utf8').catch(() => '')).includes('cluster lease guard started') ? true : null));
    // man1 was granted and revoked at the other site only; give this site's CIB its state as the agent wrote it for tkt.
    const forced = await run('/usr/sbin/crm', ['-F', 'site', 'ticket', 'grant', holder === site ? 'man1' : 'tkt'], env);
    const ticket = holder === site ? 'man1' : 'tkt';
    const grantedAt = Date.now();
    expect(forced.code, forced.err).toBe(0);
    const reverted = await until(`the forced grant of ${ticket} to be reverted`, formationWaitMs, async () => {
      const r = await run('/usr/sbin/crm_ticket', ['-t', ticket, '-G', 'granted'], env);
      return r.out.trim() === 'false' ? Date.now() - grantedAt : null;
    }, 50).catch(() => null);
    const log = await readFile(guardLog, 'utf8');
    const warned = log.split('\n').some((l) => l.includes('"level":40') && l.includes('ticket revoked by the cluster lease guard') && l.includes('crm -F site ticket grant'));
    record('crm -F site ticket grant T (not given by the formation)', reverted === null ? 'stays' : 'reverted', reverted === null ? 'NOT reverted (the ticket carries no booth-cfg-name in this CIB)' : `granted, then revoked by the cluster lease guard after ${reverted} ms; warning logged with the reason: ${warned}`);
    if (ticket === 'tkt') {
      expect(reverted).not.toBeNull();
      expect(warned, log).toBe(true);
    }

    const rv = await run('/usr/sbin/crm', ['site', 'ticket', 'revoke', 'tkt'], env);
    record('crm site ticket revoke T', rv.code === 0 ? 'works' : 'refused', `exit ${rv.code}${rv.code === 0 ? '' : `: ${(rv.err.split('\n').find((l) => l.trim() !== '') ?? '').trim()}`}`);
    // A forced revoke at the holder: the CIB alone changes; the registry still names the holder.
    if (holder === site) {
      const frv = await run('/usr/sbin/crm', ['-F', 'site', 'ticket', 'revoke', 'tkt'], env);
      expect(frv.code, frv.err).toBe(0);
      const back = await until('the holder to grant tkt in its CIB again', formationWaitMs, async () => {
        const r = await run('/usr/sbin/crm_ticket', ['-t', 'tkt', '-G', 'granted'], env);
        return r.out.trim() === 'true' ? true : null;
      }, 100).catch(() => false);
      record('crm -F site ticket revoke T (at the holder)', back ? 'regranted' : 'stays revoked', back ? 'revoked in the CIB; the site agent writes the grant again (the registry still names this site)' : 'revoked in the CIB until the next ticket change: the registry still names this site; use tollbooth/booth/pcs revoke');
    }

    const py = await run('/usr/bin/python3', ['-c', 'from crmsh.report import utillib; print(utillib.booth_info(), end="")']);
    record("crm report's booth section (crmsh's booth_info)", py.code === 0 && py.out.startsWith('booth '), py.out.trim() || py.err.trim());
    expect(py.out).toMatch(/^booth \d/);
  }, toolsTestMs);

  it.skipIf(!haveCrm)('crm report, run for real: its booth section and /etc/booth/booth.conf', async () => {
    // -S: this node only (no ssh); -n: the node list, which crmsh would otherwise read from a
    // running cluster; -f: since when (the report's log window).
    const dest = join(f!.root, 'crm-report');
    const since = new Date(Date.now() - 10 * 60_000);
    const pad = (n: number): string => String(n).padStart(2, '0');
    const from = `${since.getFullYear()}-${pad(since.getMonth() + 1)}-${pad(since.getDate())} ${pad(since.getHours())}:${pad(since.getMinutes())}`;
    const host = (await run('/bin/hostname', [])).out.trim();
    const rep = await run('/usr/sbin/crm', ['report', '-S', '-n', host, '-f', from, dest], process.env, 300_000);
    expect(rep.code, rep.out + rep.err).toBe(0);
    const untar = await run('/bin/tar', ['-xjf', `${dest}.tar.bz2`, '-C', f!.root]);
    expect(untar.code, untar.err).toBe(0);
    const sysinfo = await readFile(join(dest, host, 'sysinfo.txt'), 'utf8');
    const boothLine = sysinfo.split('\n').find((l) => l.startsWith('booth ')) ?? '';
    const conf = await readFile(join(dest, host, 'booth.conf'), 'utf8').catch(() => null);
    record('crm report (booth section, booth.conf)', boothLine !== '' && conf !== null, `sysinfo.txt: "${boothLine}"; booth.conf ${conf === null ? 'NOT collected' : 'collected'}`);
    expect(boothLine).toMatch(/^booth \d+\.\d+\.\d+ \(tollbooth /);
    expect(conf).toBe(await readFile(boothConf, 'utf8'));
  }, toolsTestMs);

  it.skipIf(!haveCrm)('crm cluster geo-init-arbitrator: past the package check, up to its scp from the cluster node', async () => {
    // crmsh checks `dpkg-query --status booth` (the transitional package answers it), -y skips its
    // tty check, then it fetches /etc/booth/* from the cluster node with `scp root@NODE`: no ssh
    // server runs here, so it stops there, before it changes anything. test/live/systemd.test.ts
    // runs the whole command (an sshd and systemd as PID 1 in a namespace).
    const confBefore = await readFile(boothConf, 'utf8');
    const geo = await run('/usr/sbin/crm', ['cluster', 'geo-init-arbitrator', '-c', site.address, '-y']);
    const text = (geo.out + geo.err).replace(/\x1b\[[0-9;]*m/g, '');
    const why = text.split('\n').find((l) => l.includes('ERROR')) ?? firstLine(geo);
    record('crm cluster geo-init-arbitrator (no sshd)', 'not run', `passes the booth package check, stops at its scp (exit ${geo.code}): ${why.trim()}`);
    expect(text).not.toContain('Booth not installed');
    expect(text).toContain('Failed to retrieve configuration');
    expect(geo.code).not.toBe(0);
    expect(await readFile(boothConf, 'utf8')).toBe(confBefore);
  }, toolsTestMs);

  it('geostore set|get|list through the installed path, against the formation (/etc/booth/booth.conf)', async () => {
    const geo = (args: readonly string[]): Promise<Run> =>
      until(`geostore ${args.join(' ')}`, formationWaitMs, async () => {
        const r = await run('/usr/sbin/geostore', args, {});
        return r.err.includes('no leader known') ? null : r;
      });
    const set = await geo(['set', '-t', 'tkt', '-s', other.address, 'repl', 'UPTODATE']);
    record('geostore set -t T -s SITE NAME VALUE', set.code === 0, `exit ${set.code}: ${firstLine(set)}`);
    expect(set.code, set.err).toBe(0);
    const get = await geo(['get', '-t', 'tkt', 'repl']);
    record('geostore get -t T NAME', get.out === 'UPTODATE\n', `exit ${get.code}: ${get.out.trim()} (set at ${other.address}, read at ${site.address}: one set per ticket)`);
    expect(get.out).toBe('UPTODATE\n');
    const list = await geo(['list', '-t', 'tkt']);
    expect(list.out).toBe('repl UPTODATE\n');
    expect((await geo(['delete', '-t', 'tkt', 'repl'])).code).toBe(0);
  }, toolsTestMs);

  it.skipIf(!havePcs)('pcs booth status with no majority: the local view, exit 0', async () => {
    await f!.kill(other, 'SIGKILL');
    await f!.kill(f!.members[2]!, 'SIGKILL');
    const st = await until('pcs booth status to show the local view', 90_000, async () => {
      const r = await run('/usr/sbin/pcs', ['booth', 'status']);
      return r.code === 0 && r.out.includes('ticket: tkt') ? r : null;
    });
    record('pcs booth status (no majority)', st.code === 0, `exit ${st.code}; list from the local view`);
    expect(st.out).toContain('booth_state=started');
    // Hawk's view of the same formation: see test/e2e/booth-client.test.ts (a transcription of its regexps).
    const hawk = await run('/usr/sbin/booth', ['client', 'list']);
    const ok = hawk.out.split('\n').filter((l) => l !== '').every((l) => l.split(',').every((pair) => /(ticket|leader|expires|commit):\s*(.*)/.test(pair)));
    record('Hawk: booth client list parsed by its regexps', ok, 'transcription (Hawk is not packaged in Debian)');
    expect(ok).toBe(true);
  }, toolsTestMs);
});
