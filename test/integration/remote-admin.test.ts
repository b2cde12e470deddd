// Integration: remote admin commands (DESIGN.md §7: admin commands arriving
// over the network are signed with an admin key). Three complete members run
// in this process over real libp2p on 127.0.0.1–127.0.0.3, their config
// listing one admin key (tollbooth-admin-key). A client holding that key
// (src/cli/remote-admin.ts: a short-lived libp2p node, no listening address)
// asks a member over the network: `list` answers the ticket table; a `grant`
// of the manual ticket sent to a member that does not lead is forwarded to
// the leader, commits, and shows in the history — naming the admin key by
// its id and the member it reached (issue 13, item 3). A key that is not in the
// config is refused (the member's gater closes the connection; the client gets
// no answer), and so is a member's own key used by an admin client (its
// frames' sender is not the member the key authenticates); neither changes
// anything. Last, the real `tollbooth` CLI (run with tsx): `keygen --admin`
// prints an admin key line, `list --remote` answers, and a stranger's key or
// a missing --admin-key fails with a clear message and exit code. Waits are
// events with deadlines. A loaded machine brings an election now and then and
// slows connections down: reads with the admin key are asked again until a
// leader answers (a refusal that is real stays, and fails the test at the
// deadline), commands only after a refusal that changed nothing
// (test/support/led-calls.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import { readSeedFile, writeSeedFile } from '../../src/cli/keys.js';
import { remoteAdminRequest, remoteMember, RemoteAdminError, checkAdminKey } from '../../src/cli/remote-admin.js';
import { loadConfigFile } from '../../src/config/index.js';
import type { FormationConfig } from '../../src/config/formation-config.js';
import type { AdminRequest, AdminResponse, HistoryView, TicketView } from '../../src/runtime/admin-service.js';
import { adminSenderId } from '../../src/adapters/transport/libp2p-transport.js';
import { startMember, type RunningMember } from '../../site-agent/main.js';
import { callLed, formationWaitMs, leaderWaitMsMax, worthRetrying } from '../support/led-calls.js';

const tsxCommand = [process.execPath, '--import', 'tsx', 'bin/tollbooth.ts'];
/** How long one run of the CLI from source may take: about a second idle, tens of seconds on a loaded machine (tsx compiles it at each start). */
const cliRunMsMax = 90_000;
/**
 * How long a remote request may take: a libp2p dial, a Noise handshake, a forward to the leader and
 * a commit — well under a second idle, several on a loaded machine. Only the refusals below, which
 * accept a timeout as well, keep a short one.
 */
const remoteRequestMsMax = 30_000;
const cli = (args: readonly string[]): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) => {
    execFile(tsxCommand[0]!, [...tsxCommand.slice(1), ...args], { timeout: cliRunMsMax }, (error, out, err) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out, err });
    });
  });

describe('remote admin commands signed with an admin key', () => {
  let f: LoopbackFormation;
  let keysDir: string;
  let config: FormationConfig;
  let adminSeed: Buffer;
  let strangerSeed: Buffer;
  let adminKeyId: string;
  const running = new Map<string, RunningMember>();

  const remote = (m: LoopbackMember, req: AdminRequest, seed: Uint8Array = adminSeed, timeoutMs = remoteRequestMsMax): Promise<AdminResponse> =>
    remoteAdminRequest({ formation: config.name, member: remoteMember(config, m.address), seed, timeoutMs }, req);
  /** A read with the admin key, asked again (within a deadline) while no leader answers it or the connection drops. */
  const remoteRead = async (m: LoopbackMember, req: AdminRequest): Promise<AdminResponse> => {
    const end = performance.now() + leaderWaitMsMax;
    for (;;) {
      const r = await remote(m, req).catch((err: unknown) => {
        if (err instanceof RemoteAdminError && performance.now() < end) return null;
        throw err;
      });
      if (r !== null && (!worthRetrying(req, r) || performance.now() >= end)) return r;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const history = async (): Promise<Array<{ change: string; holder: string | null; cause: { by: string } }>> =>
    (await callLed(f, f.members[0]!, { op: 'history', ticket: 'man' })).data as Array<{ change: string; holder: string | null; cause: { by: string } }>;

  beforeAll(async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'tollbooth-admin-keys-'));
    const admin = await writeSeedFile(join(keysDir, 'admin.key'), false);
    await writeSeedFile(join(keysDir, 'stranger.key'), false);
    adminSeed = admin.seed;
    adminKeyId = adminSenderId(admin.publicKey);
    strangerSeed = await readSeedFile(join(keysDir, 'stranger.key'));
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      tickets: [{ name: 'man', expireS: 3, mode: 'manual' }],
      extraConfig: [`tollbooth-admin-key = ${admin.publicKey.toString('base64')}`],
    });
    const loaded = loadConfigFile(f.configPath);
    config = loaded.config;
    for (const m of f.members) {
      running.set(m.address, await startMember(m.kind, { config: f.configPath, self: m.address, key: m.key, stateDir: m.dir, socket: m.socket, log: m.log, logLevel: 'warn', ticketSink: 'file' }));
    }
    await until('a leader every member follows', formationWaitMs, async () => {
      const leaders = new Set<string | null>();
      for (const m of f.members) leaders.add(((await f.call(m, { op: 'status' })).data as { leader: string | null }).leader);
      return leaders.size === 1 && !leaders.has(null) ? true : null;
    });
  }, 2 * formationWaitMs);

  afterAll(async () => {
    for (const r of running.values()) await r.stop();
    await f.stop();
    await rm(keysDir, { recursive: true, force: true });
  });

  it('a remote list signed with the admin key answers the ticket table', async () => {
    const res = await remoteRead(f.members[2]!, { op: 'list' });
    expect(res.ok, JSON.stringify(res)).toBe(true);
    const views = res.data as TicketView[];
    expect(views.map((v) => v.name)).toEqual(['man']);
    expect(views[0]!.holder).toBeNull();
  });

  it('a remote grant sent to a follower is forwarded to the leader, commits and shows in the history', async () => {
    const leader = await until('a leader', leaderWaitMsMax, async () => ((await f.call(f.members[0]!, { op: 'status' })).data as { leader: string | null }).leader);
    const follower = f.members.find((m) => m.address !== leader)!;
    const site = f.sites[0]!;
    let res = await remote(follower, { op: 'grant', ticket: 'man', site: site.address });
    // Refused without effect (an election meanwhile): send it again; the leader it reaches may be another.
    for (const end = performance.now() + leaderWaitMsMax; worthRetrying({ op: 'grant' }, res) && performance.now() < end; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await remote(follower, { op: 'grant', ticket: 'man', site: site.address });
    }
    expect(res.ok, JSON.stringify(res)).toBe(true);
    await until('man granted at the first site', formationWaitMs, async () => ((await f.localTicket(site, 'man'))?.grantedHere === true ? true : null));
    const changes = (await history()).map((h) => `${h.change}/${h.cause.by}/${h.holder ?? 'none'}`);
    expect(changes).toEqual([`grant/admin/${site.address}`]);
    // Who asked: the admin key whose signature the follower verified, carried to the leader with the request.
    const [grant] = (await callLed(f, f.members[0]!, { op: 'history', ticket: 'man' })).data as HistoryView[];
    expect(grant!.cause).toEqual({ by: 'admin', commandId: expect.any(String) as string, force: false, requester: { via: 'admin-key', member: follower.address, keyId: adminKeyId } });
    expect(grant!).toMatchObject({ clock: 'leader', appendedAt: new Date(grant!.wallMs!).toISOString() });
    const list = await remoteRead(site, { op: 'list' });
    expect((list.data as TicketView[])[0]!.holder).toBe(site.address);
  });

  it('a key that is not in the config is refused and changes nothing', async () => {
    const before = await history();
    expect(() => checkAdminKey(config, strangerSeed, 'stranger.key')).toThrow(/not an admin key of this formation/);
    const err = await remote(f.members[1]!, { op: 'revoke', ticket: 'man' }, strangerSeed, 3000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteAdminError);
    // Refused when the client sees the member close the connection; a timeout when the dial itself fails.
    expect(['REMOTE_ADMIN_REFUSED', 'REMOTE_ADMIN_TIMEOUT']).toContain((err as RemoteAdminError).code);
    expect(await history()).toEqual(before);
  });

  it('a member key used by an admin client gets no answer and changes nothing', async () => {
    const before = await history();
    const memberSeed = await readSeedFile(f.members[0]!.key);
    const err = await remote(f.members[2]!, { op: 'revoke', ticket: 'man' }, memberSeed, 3000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteAdminError);
    expect(await history()).toEqual(before);
    // The formation is undisturbed: the admin key still works.
    expect((await remoteRead(f.members[2]!, { op: 'list' })).ok).toBe(true);
  });

  it('the tollbooth CLI: keygen --admin, list --remote, and clear refusals', async () => {
    const keygen = await cli(['keygen', join(keysDir, 'new-admin.key'), '--admin']);
    expect(keygen.code).toBe(0);
    expect(keygen.out).toMatch(/^tollbooth-admin-key = [A-Za-z0-9+/]{43}=\n$/);
    expect((await readFile(join(keysDir, 'new-admin.key'), 'utf8')).trim()).toHaveLength(44);
    const arb = f.members[2]!.address;
    // A read: asked again while it fails (an election, a dropped connection); a real refusal stays.
    let list = await cli(['list', '-c', f.configPath, '--remote', arb, '--admin-key', join(keysDir, 'admin.key')]);
    for (const end = performance.now() + leaderWaitMsMax; list.code !== 0 && performance.now() < end; ) {
      list = await cli(['list', '-c', f.configPath, '--remote', arb, '--admin-key', join(keysDir, 'admin.key')]);
    }
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^man\s+manual\s+127\.0\.0\.1\s+\d+\s+(?:[\d.]+s|-)\s+granted$/m);
    const stranger = await cli(['list', '-c', f.configPath, '--remote', arb, '--admin-key', join(keysDir, 'stranger.key')]);
    expect(stranger.code).toBe(1);
    expect(stranger.err).toContain('is not an admin key of this formation');
    const alone = await cli(['list', '-c', f.configPath, '--remote', arb]);
    expect(alone.code).toBe(2);
    expect(alone.err).toContain('--remote and --admin-key go together');
    // Five runs of the CLI from source (tsx compiles it at each start): seconds each on a loaded machine.
  }, 5 * cliRunMsMax);
});
