// booth's daemon entry point (src/cli/boothd.ts): the built program run
// under the name `boothd`, as the package's /usr/sbin/boothd link runs it,
// starts this host's member of a real loopback formation. Checked: `boothd
// daemon -S` finds which member it is from the local interfaces, as booth
// does (127.0.0.1 is the first site's address; the other loopback addresses
// are not on an interface), and runs a site agent in its own process (no
// fork: booth status names that pid); `boothd arbitrator -D -s ADDR` runs the
// arbitrator that address names (-D's log level: test/cli/boothd.test.ts); the formation they
// form grants its ticket; `boothd status|list` are booth's client. Without
// -S or -D, boothd starts the member in the background and exits 0 once it
// answers; the member keeps running and stops on SIGTERM to the pid `boothd
// status` reports (what booth's own booth-site agent does). A member that
// cannot start makes the background start exit with its status, and a
// daemon that is no member of the config is refused (exit 78, EX_CONFIG).
// Waits are polls with deadlines; nothing sleeps for a fixed time.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, memberReadyMsMax, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import { formationWaitMs } from '../support/led-calls.js';

const dist = resolve('dist/bin/tollbooth.js');
/** A test that starts members and waits for a grant on a loaded machine. */
const daemonTestMs = 4 * 60_000;

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('boothd: booth\'s daemon entry point runs this host\'s member', () => {
  let f: LoopbackFormation;
  let boothd: string;
  let a: LoopbackMember;
  let b: LoopbackMember;
  let arb: LoopbackMember;

  /** The member options a loopback formation gives each member, after boothd's `--`. */
  const own = (m: LoopbackMember): string[] => ['-k', m.key, '--state-dir', m.dir, '--socket', m.socket, '--log', m.log, ...(m.kind === 'site' ? ['--ticket-sink', 'file'] : [])];
  const runBoothd = (args: readonly string[], socket?: string): Promise<Run> =>
    new Promise((done) => {
      execFile(process.execPath, [boothd, ...args], { env: { ...process.env, ...(socket === undefined ? {} : { TOLLBOOTH_SOCKET: socket }) }, timeout: 120_000 }, (err, out, errText) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        done({ code, out, err: errText });
      });
    });
  /** A foreground boothd, owned by the formation (f.stop ends it). */
  const spawnBoothd = (m: LoopbackMember, args: readonly string[]): ChildProcess => {
    const proc = spawn(process.execPath, [boothd, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    m.proc = proc;
    return proc;
  };
  const pidOf = (status: string): number => Number(/booth_pid=(\d+)/.exec(status)?.[1] ?? NaN);

  beforeAll(async () => {
    expect(existsSync(dist), 'run npm run build first: this test runs the built program').toBe(true);
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, command: [process.execPath, dist], tickets: [{ name: 'tkt', expireS: 6, acquireAfterS: 0 }] });
    boothd = join(f.root, 'boothd');
    await symlink(dist, boothd);
    [a, b] = f.sites as [LoopbackMember, LoopbackMember];
    arb = f.members.find((m) => m.kind === 'arbitrator')!;
  });

  afterAll(async () => {
    await f?.stop();
  });

  it('daemon -S and -D run in the foreground: a site found by its local address, an arbitrator named with -D -s; they form the formation', async () => {
    expect(a.address, 'the first site is the loopback address on an interface').toBe('127.0.0.1');
    const site = spawnBoothd(a, ['daemon', '-S', '-c', f.configPath, '--', ...own(a)]);
    const arbiter = spawnBoothd(arb, ['arbitrator', '-D', '-s', arb.address, '-c', f.configPath, '--', ...own(arb)]);
    f.start(b);
    for (const m of f.members) await f.waitReady(m, memberReadyMsMax);
    const st = await runBoothd(['status', '-c', f.configPath], a.socket);
    expect(st.code, st.err).toBe(0);
    expect(st.out).toContain("booth_type=site booth_cfg_name='formation'");
    expect(st.out).toContain("booth_addr_string='127.0.0.1'");
    expect(pidOf(st.out), 'foreground: the member runs in the process boothd was started as').toBe(site.pid);
    const arbSt = await runBoothd(['status', '-c', f.configPath], arb.socket);
    expect(arbSt.out).toContain('booth_type=arbitrator');
    expect(pidOf(arbSt.out)).toBe(arbiter.pid);
    const holder = await until('tkt granted at a site', formationWaitMs, async () => {
      const at = await f.grantedAt('tkt');
      return at.length === 1 ? at[0]! : null;
    });
    const list = await runBoothd(['list', '-c', f.configPath], a.socket);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toContain(`ticket: tkt, leader: ${holder.address}`);
  }, daemonTestMs);

  it('daemon without -S or -D: started in the background, boothd exits 0 once it answers; SIGTERM to the pid booth status gives stops it', async () => {
    await f.kill(arb, 'SIGTERM');
    expect((await runBoothd(['status', '-c', f.configPath], arb.socket)).code).toBe(7);
    const started = await runBoothd(['daemon', '-c', f.configPath, '--', '--self', arb.address, ...own(arb)]);
    expect(started.code, started.err).toBe(0);
    const st = await runBoothd(['status', '-c', f.configPath], arb.socket);
    expect(st.code, st.err).toBe(0);
    const pid = pidOf(st.out);
    expect(Number.isInteger(pid)).toBe(true);
    // It answers, so it runs; it outlived the boothd that started it.
    expect(() => process.kill(pid, 0)).not.toThrow();
    const list = await runBoothd(['list', '-c', f.configPath], arb.socket);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^ticket: tkt, leader: 127\.0\.0\.[12]/);
    process.kill(pid, 'SIGTERM');
    await until('the background arbitrator to stop', formationWaitMs, async () => ((await runBoothd(['status', '-c', f.configPath], arb.socket)).code === 7 ? true : null));
  }, daemonTestMs);

  it('a member that cannot start fails the background start with its status; an address that is no member is refused', async () => {
    const badKey = await runBoothd(['daemon', '-c', f.configPath, '--', '--self', arb.address, ...own(arb).map((x) => (x === arb.key ? join(f.root, 'no-such.key') : x))]);
    expect(badKey.code).toBe(78);
    expect(badKey.err).toContain('ERROR: the member stopped with exit status 78 before it answered');
    const stranger = await runBoothd(['daemon', '-D', '-s', '127.0.0.9', '-c', f.configPath]);
    expect(stranger.code).toBe(78);
    expect(stranger.err).toContain('127.0.0.9 is no member of the config');
    const noD = await runBoothd(['daemon', '-s', arb.address, '-c', f.configPath]);
    expect(noD.code).toBe(1);
    expect(noD.err).toContain('"-s" is taken only after -D');
  }, daemonTestMs);
});
