// systemd as PID 1 for the booth tools that need it (issue 14): `pcs booth
// enable|start|stop|disable`, booth@NAME.service and booth-arbitrator.service,
// and the whole of `crm cluster geo-init-arbitrator`. This machine's PID 1 is
// not systemd, so the test boots Debian's own /lib/systemd/systemd as PID 1 of
// new PID, mount, UTS, IPC and network namespaces (unshare), on an overlay of
// the host's root (lower: /, upper: a tmpfs), so that nothing the booted
// system writes — dpkg's database, /etc, /var, /tmp — reaches the host. It
// runs with container=… set (systemd's container mode), a target of its own
// (--unit=tbtest.target: no multi-user.target, so none of the host's enabled
// services), and the units that would touch the shared kernel or devices
// masked (udev, sysctl, modules, time sync, the host's cluster daemons).
//
// Inside, as an admin would: the package built by `npm run package` (tollbooth
// and the transitional booth) is installed with dpkg -i; booth-keygen writes
// the arbitrator's key at /etc/booth/authkey; /etc/booth/booth.conf names the
// arbitrator (127.0.0.1, this namespace) and one site (127.0.0.2). Then
// Debian's pcs: `pcs booth enable` and `pcs booth start` — systemd starts
// booth@booth.service, which runs the installed tollbooth arbitrator under the
// unit's hardening, and `booth status` / `tollbooth status` answer —, `pcs
// booth stop`, `pcs booth disable`; booth-arbitrator.service the same way. Last
// `crm cluster geo-init-arbitrator -c 127.0.0.1 -y` runs whole: crmsh's
// package check (the booth package), its scp of /etc/booth/* as root from the
// "cluster node" (an sshd from Debian's openssh-server, installed in the
// overlay only from `apt-get download`; the node is this same namespace, the
// one address the namespace has), and its `systemctl enable` + `start` of
// booth@booth, after which the arbitrator answers again.
//
// Commands run inside with nsenter (every namespace and the root of systemd).
// Waits are polls with deadlines. Skipped when not root or without systemd,
// unshare, pcs or crmsh. Each operation's outcome is printed as a table.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBoothTransitionalDeb, buildDeb } from '../../packaging/deb/build-deb.js';
import { waitFor, type RunResult } from './lab.js';
import { run } from './lab/run.js';

const repo = resolve(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
const haveTools = ['/lib/systemd/systemd', '/usr/bin/unshare', '/usr/bin/nsenter', '/usr/bin/dpkg-deb', '/usr/sbin/pcs', '/usr/sbin/crm'].every((p) => existsSync(p));
/** Budget of a command inside (pcs and crmsh are Python; a start on a loaded machine). */
const commandMs = 180_000;
const bootWaitMs = 120_000;
const unitWaitMs = 90_000;
/** Debian's ssh server and what it needs beyond this machine's packages, for crmsh's scp (installed inside only). */
const sshDebs = ['runit-helper', 'openssh-client', 'openssh-sftp-server', 'openssh-server'];
/** The units the booted system must not start: they would act on the shared kernel, devices or clock, or are the host's own services. */
const maskedUnits = [
  'systemd-udevd.service',
  'systemd-udevd-control.socket',
  'systemd-udevd-kernel.socket',
  'systemd-udev-trigger.service',
  'systemd-timesyncd.service',
  'systemd-modules-load.service',
  'systemd-sysctl.service',
  'systemd-remount-fs.service',
  'getty@tty1.service',
  'console-getty.service',
  'corosync.service',
  'pacemaker.service',
  'pcsd.service',
  'pcsd-ruby.service',
  'postgresql.service',
  'prometheus.service',
  'avahi-daemon.service',
  'avahi-daemon.socket',
];

/**
 * The shell that runs as PID 1 of the new namespaces before it becomes systemd: an overlay root
 * (host / below, a tmpfs above), proc, sys, dev, then chroot and exec systemd. $1 = a directory.
 */
const bootScript = `set -e
D=$1
mount -t tmpfs tmpfs "$D/ns"
mkdir -p "$D/ns/upper" "$D/ns/work" "$D/ns/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/ns/upper,workdir=$D/ns/work" "$D/ns/root"
R=$D/ns/root
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
# The packages the test installs, at the same paths inside: under the fresh /tmp above, or below
# any other mount the overlay of / does not carry, they would be missing (a clone in /tmp).
for d in build debs; do mkdir -p "$R$D/$d"; mount --bind "$D/$d" "$R$D/$d"; done
mkdir -p "$R/etc/systemd/system"
printf '[Unit]\\nDescription=tollbooth systemd test\\nDefaultDependencies=no\\n' > "$R/etc/systemd/system/tbtest.target"
for u in ${maskedUnits.join(' ')}; do ln -sf /dev/null "$R/etc/systemd/system/$u"; done
echo tbtest > "$R/etc/hostname"
export container=tollbooth-test
exec chroot "$R" /lib/systemd/systemd --unit=tbtest.target --log-target=console
`;

/**
 * The cgroup directories the booted systemd makes at the top of the host's hierarchies (this
 * machine has cgroup v1 and a v2 "unified" hierarchy mounted at /sys/fs/cgroup, not namespaced):
 * the ones it made are removed, deepest first, once it has powered off. A cgroup directory is
 * removed with rmdir alone, and only once empty.
 */
const cgroupRoot = '/sys/fs/cgroup';
const systemdCgroups = ['init.scope', 'system.slice'];
async function cgroupDirs(): Promise<string[]> {
  const out: string[] = [];
  for (const h of await readdir(cgroupRoot).catch(() => [] as string[])) for (const c of systemdCgroups) if (existsSync(join(cgroupRoot, h, c))) out.push(join(cgroupRoot, h, c));
  return out;
}
async function removeCgroup(path: string): Promise<void> {
  for (const e of await readdir(path, { withFileTypes: true })) if (e.isDirectory()) await removeCgroup(join(path, e.name));
  await rmdir(path);
}

const table: Array<[string, string, string]> = [];
const record = (what: string, works: boolean | string, note: string): void => {
  table.push([what, typeof works === 'string' ? works : works ? 'works' : 'fails', note]);
};
const firstLine = (r: RunResult): string => ((r.stderr + r.stdout).replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim() !== '') ?? '').trim();

describe.skipIf(!isRoot || !haveTools)('systemd as PID 1 in a namespace: pcs booth enable|start|stop, booth@ and booth-arbitrator units, crm cluster geo-init-arbitrator', () => {
  const dir = join(repo, 'test-artifacts', 'live-systemd');
  let unshare: ChildProcess | null = null;
  let unshareExited: Promise<void> = Promise.resolve();
  /** systemd's pid as the host sees it. */
  let systemdPid = 0;
  let debs: string[] = [];
  let sshDebPaths: string[] = [];
  let cgroupsBefore: string[] = [];

  /** Runs argv inside the booted system (every namespace, systemd's root and working directory). */
  const inside = (argv: readonly string[], timeoutMs = commandMs): Promise<RunResult> =>
    run(['nsenter', '-t', String(systemdPid), '-a', '-r', '-w', ...argv], { timeoutMs });
  const sh = (script: string, timeoutMs = commandMs): Promise<RunResult> => inside(['/bin/sh', '-c', script], timeoutMs);
  const unitState = async (unit: string): Promise<string> => (await inside(['systemctl', 'is-active', unit])).stdout.trim();
  const boothStatus = (): Promise<RunResult> => inside(['/usr/sbin/booth', 'status']);

  beforeAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(dir, 'ns'), { recursive: true });
    await mkdir(join(dir, 'debs'), { recursive: true });
    debs = [buildDeb(join(dir, 'build')), buildBoothTransitionalDeb(join(dir, 'build'))];
    // Run as root in a root-owned directory: apt must not drop to _apt for the download.
    const dl = await run(['apt-get', 'download', '-o', 'APT::Sandbox::User=root', ...sshDebs], { cwd: join(dir, 'debs'), timeoutMs: 300_000 });
    if (dl.code !== 0) throw new Error(`apt-get download ${sshDebs.join(' ')} failed (rc ${dl.code}; run apt-get update first?): ${dl.stderr.trim()}`);
    const files = await readdir(join(dir, 'debs'));
    sshDebPaths = sshDebs.map((p) => {
      const f = files.find((x) => x.startsWith(`${p}_`));
      if (f === undefined) throw new Error(`apt-get download left no ${p} .deb in ${join(dir, 'debs')}`);
      return join(dir, 'debs', f);
    });

    cgroupsBefore = await cgroupDirs();
    const log = openSync(join(dir, 'systemd.log'), 'a');
    const t0 = performance.now();
    unshare = spawn('unshare', ['--pid', '--mount', '--uts', '--ipc', '--net', '--fork', '--propagation', 'private', '/bin/sh', '-c', bootScript, 'boot', dir], { stdio: ['ignore', log, log] });
    unshareExited = new Promise((done) => unshare!.once('exit', () => done()));
    const unsharePid = unshare.pid!;
    systemdPid = await waitFor(
      () => {
        if (unshare!.exitCode !== null) throw new Error(`unshare exited ${unshare!.exitCode} before systemd ran: ${readFileSync(join(dir, 'systemd.log'), 'utf8').slice(-2000)}`);
        const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(' ').filter((x) => x !== '');
        if (children.length !== 1) return null;
        const pid = Number(children[0]);
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd' ? pid : null;
      },
      { what: 'systemd to be exec()ed as PID 1 of the namespace', timeoutMs: bootWaitMs, intervalMs: 200 },
    );
    const state = await waitFor(
      async () => {
        const s = (await inside(['systemctl', 'is-system-running'], 30_000)).stdout.trim();
        return s === 'running' || s === 'degraded' ? s : null;
      },
      { what: 'systemd to finish booting (systemctl is-system-running)', timeoutMs: bootWaitMs, intervalMs: 500 },
    );
    const failed = (await inside(['systemctl', 'list-units', '--failed', '--plain', '--no-legend'])).stdout.trim();
    record('systemd 252 as PID 1 (unshare + overlay root)', true, `${state} ${((performance.now() - t0) / 1000).toFixed(1)} s after unshare${failed === '' ? '' : `; failed units: ${failed.replace(/\s+/g, ' ')}`}`);
  }, 900_000);

  afterAll(async () => {
    if (systemdPid > 0 && unshare?.exitCode === null) {
      // A poweroff ends PID 1, and with it the namespace (its mounts included).
      await inside(['systemctl', 'poweroff'], 60_000).catch(() => undefined);
      const gone = await Promise.race([unshareExited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 60_000))]);
      if (!gone) {
        process.kill(systemdPid, 'SIGKILL');
        await unshareExited;
      }
      record('systemctl poweroff', gone, gone ? 'the namespace ended' : 'PID 1 did not end within 60 s: SIGKILLed');
      const left = (await cgroupDirs()).filter((d) => !cgroupsBefore.includes(d));
      for (const d of left) await removeCgroup(d);
    }
    const w = Math.max(0, ...table.map((r) => r[0].length));
    const v = Math.max(0, ...table.map((r) => r[1].length));
    process.stdout.write(`\nsystemd as PID 1 (this run):\n${table.map(([x, y, z]) => `  ${x.padEnd(w)}  ${y.padEnd(v)}  ${z}`).join('\n')}\n`);
  }, 180_000);

  it('installs tollbooth and the transitional booth package with dpkg -i inside, and writes the arbitrator\'s config', async () => {
    const inst = await inside(['dpkg', '-i', ...debs], 600_000);
    record('dpkg -i tollbooth booth (inside)', inst.code === 0, `exit ${inst.code}`);
    expect(inst.code, inst.stderr).toBe(0);
    // The arbitrator's own key at booth's authfile path (booth-keygen), the site's written as its own machine would.
    const kg = await inside(['/usr/sbin/booth-keygen', '/etc/booth/authkey']);
    expect(kg.code, kg.stderr).toBe(0);
    const arbKey = /^tollbooth-member-key = ADDRESS (\S+)$/m.exec(kg.stderr)![1]!;
    const siteKey = await inside(['/usr/sbin/tollbooth', 'keygen', '-a', '127.0.0.2', '/root/site.key']);
    expect(siteKey.code, siteKey.stderr).toBe(0);
    // crmsh's own lines (transport, port, quoted values), then tollbooth's member keys.
    const conf = ['transport="UDP"', 'port="9929"', 'arbitrator="127.0.0.1"', 'site="127.0.0.2"', 'authfile="/etc/booth/authkey"', 'ticket="tkt"', 'expire="600"', `tollbooth-member-key = 127.0.0.1 ${arbKey}`, siteKey.stdout.trim()].join('\n');
    const w = await sh(`cat > /etc/booth/booth.conf <<'EOF'\n${conf}\nEOF\n/usr/sbin/tollbooth config check /etc/booth/booth.conf`);
    expect(w.code, w.stdout + w.stderr).toBe(0);
  }, 700_000);

  it('pcs booth enable, start, stop, disable: booth@booth.service runs the installed arbitrator, which answers booth status and tollbooth status', async () => {
    const en = await inside(['/usr/sbin/pcs', 'booth', 'enable']);
    const enabled = (await inside(['systemctl', 'is-enabled', 'booth@booth.service'])).stdout.trim();
    record('pcs booth enable', en.code === 0 && enabled === 'enabled', `exit ${en.code}; booth@booth.service ${enabled}`);
    expect(en.code, en.stdout + en.stderr).toBe(0);
    expect(enabled).toBe('enabled');

    const t0 = performance.now();
    const start = await inside(['/usr/sbin/pcs', 'booth', 'start']);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    const st = await waitFor(async () => {
      const r = await boothStatus();
      return r.code === 0 ? r : null;
    }, { what: 'booth status to exit 0 after pcs booth start', timeoutMs: unitWaitMs, intervalMs: 300 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\n${(await inside(['journalctl', '-u', 'booth@booth', '--no-pager', '-n', '40'])).stdout}`);
    });
    const answered = performance.now() - t0;
    const active = await unitState('booth@booth.service');
    record('pcs booth start', active === 'active' && st.stdout.includes('booth_type=arbitrator'), `exit ${start.code}; booth@booth ${active}; booth status exit 0 ${(answered / 1000).toFixed(1)} s after pcs was called: ${st.stdout.trim().replace(/ booth_lockfile=\S+/, '')}`);
    expect(active).toBe('active');
    expect(st.stdout).toContain('booth_type=arbitrator');
    expect(st.stdout).toContain("booth_addr_string='127.0.0.1'");
    // The arbitrator answers for itself; with the formation's site not running here it has no
    // leader, which tollbooth status says with exit 3 (tollbooth(8), EXIT STATUS).
    const ts = await inside(['/usr/sbin/tollbooth', 'status', '-c', 'booth']);
    const answer = firstLine(ts);
    record('tollbooth status -c booth (the unit\'s member)', answer.startsWith('arbitrator 127.0.0.1 in formation booth'), `exit ${ts.code} (3: no leader, the site does not run here): ${answer}`);
    expect([0, 3], ts.stdout + ts.stderr).toContain(ts.code);
    expect(answer).toMatch(/^arbitrator 127\.0\.0\.1 in formation booth: /);

    const stop = await inside(['/usr/sbin/pcs', 'booth', 'stop']);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    const stopped = await waitFor(async () => ((await boothStatus()).code === 7 ? true : null), { what: 'booth status 7 after pcs booth stop', timeoutMs: unitWaitMs, intervalMs: 300 });
    record('pcs booth stop', stopped && (await unitState('booth@booth.service')) === 'inactive', `exit ${stop.code}; booth@booth inactive, booth status exit 7`);
    const dis = await inside(['/usr/sbin/pcs', 'booth', 'disable']);
    const after = (await inside(['systemctl', 'is-enabled', 'booth@booth.service'])).stdout.trim();
    record('pcs booth disable', dis.code === 0 && after === 'disabled', `exit ${dis.code}; booth@booth.service ${after}`);
    expect(dis.code, dis.stdout + dis.stderr).toBe(0);
    expect(after).toBe('disabled');
  }, 6 * commandMs);

  it('booth-arbitrator.service (booth.service) runs the arbitrator of /etc/booth/booth.conf', async () => {
    const start = await inside(['systemctl', 'start', 'booth.service']);
    expect(start.code, start.stderr).toBe(0);
    const st = await waitFor(async () => {
      const r = await boothStatus();
      return r.code === 0 ? r : null;
    }, { what: 'booth status to exit 0 under booth-arbitrator.service', timeoutMs: unitWaitMs, intervalMs: 300 });
    const active = await unitState('booth-arbitrator.service');
    record('systemctl start booth.service (alias of booth-arbitrator)', active === 'active', `booth-arbitrator.service ${active}; ${st.stdout.includes('booth_type=arbitrator') ? 'booth status: arbitrator' : st.stdout.trim()}`);
    expect(active).toBe('active');
    const stop = await inside(['systemctl', 'stop', 'booth-arbitrator.service']);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await boothStatus()).code).toBe(7);
  }, 3 * commandMs);

  it('crm cluster geo-init-arbitrator -c NODE -y runs whole: package check, scp of /etc/booth as root, systemctl enable and start of booth@booth', async () => {
    const ssh = await inside(['dpkg', '-i', ...sshDebPaths], 600_000);
    expect(ssh.code, ssh.stderr).toBe(0);
    // The "cluster node" crmsh fetches /etc/booth from is this namespace itself (its one address):
    // root logs in with a key, as crmsh's bootstrap expects between cluster nodes.
    const keys = await sh('set -e; systemctl start ssh.service; mkdir -p -m 700 /root/.ssh; rm -f /root/.ssh/id_ed25519; ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519; cat /root/.ssh/id_ed25519.pub >> /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys');
    expect(keys.code, keys.stderr).toBe(0);
    await waitFor(async () => ((await inside(['ssh', '-oBatchMode=yes', '-oStrictHostKeyChecking=no', 'root@127.0.0.1', 'true'], 30_000)).code === 0 ? true : null), { what: 'sshd to accept root with its key', timeoutMs: unitWaitMs, intervalMs: 500 });
    const confBefore = (await inside(['cat', '/etc/booth/booth.conf'])).stdout;

    const t0 = performance.now();
    const geo = await inside(['/usr/sbin/crm', 'cluster', 'geo-init-arbitrator', '-c', '127.0.0.1', '-y'], 300_000);
    const ms = performance.now() - t0;
    const text = (geo.stdout + geo.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(geo.code, text).toBe(0);
    expect(text).toContain('Enabling and starting the booth arbitrator service');
    const st = await waitFor(async () => {
      const r = await boothStatus();
      return r.code === 0 ? r : null;
    }, { what: 'the arbitrator that geo-init-arbitrator started to answer booth status', timeoutMs: unitWaitMs, intervalMs: 300 });
    const enabled = (await inside(['systemctl', 'is-enabled', 'booth@booth.service'])).stdout.trim();
    const active = await unitState('booth@booth.service');
    record('crm cluster geo-init-arbitrator -c NODE -y', active === 'active' && enabled === 'enabled', `exit ${geo.code} after ${(ms / 1000).toFixed(1)} s; /etc/booth fetched by scp as root; booth@booth ${enabled}, ${active}; booth status: ${st.stdout.includes('booth_type=arbitrator') ? 'arbitrator' : st.stdout.trim()}`);
    expect(active).toBe('active');
    expect(enabled).toBe('enabled');
    expect((await inside(['cat', '/etc/booth/booth.conf'])).stdout).toBe(confBefore);
    const keyMode = (await inside(['stat', '-c', '%a', '/etc/booth/authkey'])).stdout.trim();
    expect(keyMode).toBe('600');
  }, 700_000);
});
