// Integration: three complete members (config reader, core, pump, LevelDB
// store, libp2p transport, file ticket sink, admin service and socket) in ONE
// process, talking real libp2p over 127.0.0.1–127.0.0.3. Checks that the
// formation elects a leader and grants the automatic ticket, that stopping the
// holder moves it, that gossip runs (every member shows every other alive,
// reached directly, and `list --local` agrees with the leader), that a
// member whose config differs from its peers' refuses
// to run and names the peer, and that a key that is not the configured one is
// refused at start-up. Waits are events with deadlines.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import type { PeersView, TicketView } from '../../src/runtime/admin-service.js';
import { startMember, StartupError, type RunningMember } from '../../site-agent/main.js';
import { callLed, formationWaitMs } from '../support/led-calls.js';

describe('three members in one process over real libp2p', () => {
  let f: LoopbackFormation;
  const running = new Map<string, RunningMember>();

  const start = async (m: LoopbackMember, config = f.configPath): Promise<RunningMember> => {
    const r = await startMember(m.kind, { config, self: m.address, key: m.key, stateDir: m.dir, socket: m.socket, log: m.log, logLevel: 'warn', ticketSink: 'file' });
    running.set(m.address, r);
    return r;
  };
  // Reads wait out an election (a loaded machine has some): see test/support/led-calls.ts.
  const ask = (m: LoopbackMember, op: 'list' | 'status') => callLed(f, m, { op });
  /** Running sites (in this process) whose sink has db granted. */
  const grantedAt = async (): Promise<LoopbackMember[]> => {
    const out: LoopbackMember[] = [];
    for (const m of f.sites) if (running.has(m.address) && (await f.localTicket(m, 'db').catch(() => null))?.grantedHere === true) out.push(m);
    return out;
  };

  /** What each running member says of the registry and of db, for a failed wait's message. */
  const runningState = async (): Promise<string> => {
    const parts: string[] = [];
    for (const m of f.members.filter((x) => running.has(x.address))) {
      const st = await f.call(m, { op: 'peers' }, 5_000).catch((e: unknown) => ({ ok: false, message: String(e), data: undefined }));
      const s = (st.data as PeersView | undefined)?.status;
      const db = ((await f.call(m, { op: 'list', local: true }, 5_000).catch(() => null))?.data as TicketView[] | undefined)?.find((v) => v.name === 'db');
      parts.push(`${m.address}: ${s === undefined ? st.message : `leader ${s.leader} term ${s.term} commit ${s.commit}`}; db ${db === undefined ? '?' : `holder ${db.holder} generation ${db.generation}`}`);
    }
    return parts.join(' | ');
  };

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, tickets: [{ name: 'db', expireS: 3, acquireAfterS: 0 }] });
    for (const m of f.members) await start(m);
  }, 2 * formationWaitMs);

  afterAll(async () => {
    for (const r of running.values()) await r.stop();
    await f.stop();
  });

  it('elects one leader that every member follows, and grants the ticket at one site', async () => {
    const leader = await until('a leader all members agree on', formationWaitMs, async () => {
      const leaders = new Set<string | null>();
      for (const m of f.members) leaders.add(((await ask(m, 'status')).data as { leader: string | null }).leader);
      return leaders.size === 1 && !leaders.has(null) ? [...leaders][0]! : null;
    });
    expect(f.members.map((m) => m.address)).toContain(leader);
    const holder = await until('db granted at a site', formationWaitMs, async () => (await grantedAt())[0] ?? null);
    const views = (await ask(f.members[2]!, 'list')).data as TicketView[];
    expect(views.find((v) => v.name === 'db')?.holder).toBe(holder.address);
  });

  it('gossip: every member sees the others alive and reached directly; list --local agrees with the leader', async () => {
    await until('every member to see the two others alive, directly, with a round trip', formationWaitMs, async () => {
      for (const m of f.members) {
        const d = (await callLed(f, m, { op: 'peers' })).data as PeersView;
        const others = d.gossip?.peers ?? [];
        if (others.length !== 2 || !others.every((p) => p.state === 'alive' && p.route !== null && 'direct' in p.route && p.rttMs !== null)) return null;
      }
      return true;
    });
    const leaderView = ((await ask(f.members[0]!, 'list')).data as TicketView[]).find((v) => v.name === 'db')!;
    for (const m of f.members) {
      const local = (await callLed(f, m, { op: 'list', local: true })).data as TicketView[];
      expect(local.find((v) => v.name === 'db')).toMatchObject({ holder: leaderView.holder, generation: leaderView.generation });
    }
  });

  it('moves the ticket when the holder stops', async () => {
    const holder = await until('db granted at a site', formationWaitMs, async () => (await grantedAt())[0] ?? null);
    const other = f.sites.find((m) => m !== holder)!;
    await running.get(holder.address)!.stop();
    running.delete(holder.address);
    try {
      await until('db granted at the other site', formationWaitMs, async () => ((await f.localTicket(other, 'db'))?.grantedHere === true ? true : null)).catch(async (err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}; the running members: ${await runningState()}`);
      });
      const file = JSON.parse(await readFile(join(other.dir, 'tickets', 'db.json'), 'utf8')) as { granted: boolean; owner: string };
      expect(file).toMatchObject({ granted: true, owner: other.address });
    } finally {
      // Back in any case: the tests below need the whole formation.
      await start(holder);
    }
  });

  it('runs with the committed config when its file differs, and says so (status, log) without applying it (issue 11)', async () => {
    // Same file name: the formation name (from the file name) labels every frame.
    await mkdir(join(f.root, 'changed'), { recursive: true });
    const changed = join(f.root, 'changed', 'formation.conf');
    const text = await readFile(f.configPath, 'utf8');
    await writeFile(changed, text.replace('expire = 3', 'expire = 4'));
    const arb = f.members[2]!;
    await running.get(arb.address)!.stop();
    running.delete(arb.address);
    const r = await start(arb, changed);
    const said = await until('status to name the difference', formationWaitMs, async () => {
      const st = await ask(arb, 'status');
      const file = (st.data as { configFile?: { matchesCommitted: boolean; difference: string[] } } | undefined)?.configFile;
      return file !== undefined && !file.matchesCommitted ? file.difference : null;
    });
    // The revoke lead follows expire when the file does not set it (config/booth-conf.ts).
    expect(said.slice(1)).toEqual(['  expire (ms): 3000 → 4000', '  tollbooth-revoke-lead (ms): 750 → 1000']);
    expect(said[0]).toMatch(/^ticket db: changed/);
    const exited = await Promise.race([r.done, Promise.resolve('running')]);
    expect(exited).toBe('running');
    const log = await readFile(arb.log, 'utf8');
    expect(log).toMatch(/config file differs from the committed config: running with the committed one/);
    // Nothing applied: the committed expire is still the first file's.
    const shown = (await callLed(f, arb, { op: 'config-show' })).data as { tickets: Array<{ name: string; leaseDurationMs: number }> };
    expect(shown.tickets.find((t) => t.name === 'db')!.leaseDurationMs).toBe(3000);
    await running.get(arb.address)?.stop();
    running.delete(arb.address);
    await start(arb);
  });

  it('a grant without --site means the site where the command was run', async () => {
    // The previous test restarted a member: let the formation agree on a leader again first.
    await until('a leader all members agree on', formationWaitMs, async () => {
      const leaders = new Set<string | null>();
      for (const m of f.members) leaders.add(((await ask(m, 'status')).data as { leader: string | null }).leader);
      return leaders.size === 1 && !leaders.has(null) ? true : null;
    });
    const holder = await until('db granted at a site', formationWaitMs, async () => (await grantedAt())[0] ?? null);
    const other = f.sites.find((m) => m !== holder)!;
    const revoke = await callLed(f, other, { op: 'revoke', ticket: 'db' });
    expect(revoke.ok, JSON.stringify(revoke)).toBe(true);
    const grant = await callLed(f, other, { op: 'grant', ticket: 'db' });
    expect(grant.ok, JSON.stringify(grant)).toBe(true);
    await until('db granted where the command ran', formationWaitMs, async () => ((await f.localTicket(other, 'db'))?.grantedHere === true ? true : null));
    const arb = f.members[2]!;
    const refused = await callLed(f, arb, { op: 'grant', ticket: 'db' });
    expect(refused).toMatchObject({ ok: false, code: 'invalid' });
  });

  it('refuses a key that is not the one configured for the member', async () => {
    const arb = f.members[2]!;
    const wrongDir = join(f.root, 'wrong');
    await mkdir(wrongDir, { recursive: true });
    const err = await startMember('arbitrator', { config: f.configPath, self: arb.address, key: f.members[0]!.key, stateDir: wrongDir, socket: join(wrongDir, 's.sock'), log: join(wrongDir, 'log'), logLevel: 'warn' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).exitCode).toBe(78);
    expect((err as Error).message).toContain(`is not the key configured for ${arb.address}`);
  });
});
