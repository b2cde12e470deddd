// End-to-end tests with real processes: `tollbooth site-agent` and
// `tollbooth arbitrator` spawned on 127.0.0.1–127.0.0.3 (libp2p over TCP,
// LevelDB stores, admin sockets, the file ticket sink), driven through the
// admin socket like the CLI. They check the automatic grant, failover after
// `kill -9` of the holder — the new holder's lease starting after the old
// one's ended, read from both sites' lease deadlines on the boot's monotonic
// clock, which the processes share —, restart and rejoin without disturbing
// the current holder, manual grant and revoke, answers from every member, and
// that a foreign key and garbage frames change nothing while the formation
// keeps serving. Every wait is an event with a deadline; nothing sleeps for a
// fixed time, and no outcome depends on how fast the machine is: requests
// that need a leader wait out an election (test/support/led-calls.ts).
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { guardFileName, readTicketFile, readTicketState } from '../../src/adapters/pacemaker/file-ticket-sink.js';
import { readGuardFile, type GuardRecord } from '../../src/adapters/pacemaker/lease-guard-file.js';
import { defaultRevokeLeadMs } from '../../src/config/build-formation-config.js';
import { timingPresets } from '../../src/config/presets.js';
import { revokeLeadCeilingMs, usableLeaseMinMs } from '../../src/core/lease.js';
import { LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import type { TicketView } from '../../src/runtime/admin-service.js';
import { callLed, formationWaitMs, runLed } from '../support/led-calls.js';

const tsxCommand = [process.execPath, '--import', 'tsx', 'bin/tollbooth.ts'];
const leaseS = 4;
const steadyLeaseS = 30;
/** The most a holder raises the automatic ticket's revoke lead to (lease.ts revokeLeadCeilingMs): the loopback preset, booth's renewal-freq of expire/2. */
const loopback = timingPresets.loopback;
const leadCeilingMs = revokeLeadCeilingMs(defaultRevokeLeadMs(leaseS * 1000, (leaseS * 1000) / 2, loopback), leaseS * 1000, usableLeaseMinMs(loopback.renewIntervalMs, loopback.electionTimeoutMs));
/** How long one run of the CLI from source may take: about a second idle, tens of seconds on a loaded machine (tsx compiles it at each start). */
const cliRunMsMax = 90_000;
/** Budget of a test that runs the CLI several times from source, generous for a loaded machine. */
const cliTestMs = 5 * 60_000;
/** Budget of a test that restarts a member and waits for it to rejoin: its start, then the formation's waits. */
const restartTestMs = memberReadyMsMax + 3 * formationWaitMs;

describe('a formation of real processes on loopback', () => {
  let f: LoopbackFormation;

  beforeAll(async () => {
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command: tsxCommand,
      tickets: [
        { name: 'auto', expireS: leaseS, acquireAfterS: 0 },
        { name: 'man', expireS: leaseS, mode: 'manual' },
        // For the restart of a non-holder: a 4 s lease can run out on a loaded machine while a member
        // starts from source beside it (seen once at load ~16); what that test checks is the protocol's
        // part — the holder keeps its grant, same generation —, so its ticket has a lease that a few
        // seconds of starvation do not end.
        { name: 'steady', expireS: steadyLeaseS, acquireAfterS: 0 },
      ],
    });
    await f.startAll();
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    // TOLLBOOTH_KEEP=1 keeps the members' logs and stores for a look after a failure.
    if (process.env['TOLLBOOTH_KEEP'] === '1') console.log(`formation in ${f.root}`);
    await f.stop(process.env['TOLLBOOTH_KEEP'] === '1');
  });

  const holderNow = (ticket = 'auto'): Promise<LoopbackMember> =>
    until(`${ticket} to be granted at exactly one site`, formationWaitMs, async () => {
      const at = await f.grantedAt(ticket);
      return at.length === 1 ? at[0]! : null;
    });

  it('grants the automatic ticket to one site, and every member reports the same holder', async () => {
    // One round of answers from every member must name the one site whose sink shows the grant. A round
    // is asked again when the holder changed under it: a 4 s lease can run out on a loaded machine and
    // fail over between two answers (seen once at load ~11); members that disagree for good time out.
    const views = async (): Promise<{ holder: string; named: string[] } | null> => {
      const at = await f.grantedAt('auto');
      if (at.length !== 1) return null;
      const named: string[] = [];
      for (const m of f.members) {
        const r = await callLed(f, m, { op: 'list' });
        expect(r.ok, JSON.stringify(r)).toBe(true);
        named.push((r.data as TicketView[]).find((v) => v.name === 'auto')?.holder ?? '(none)');
      }
      return { holder: at[0]!.address, named };
    };
    let last: { holder: string; named: string[] } | null = null;
    await until('every member to name the one site the automatic ticket is granted at', formationWaitMs, async () => {
      last = await views();
      return last !== null && last.named.every((h) => h === last!.holder) ? true : null;
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last round: ${JSON.stringify(last)}`);
    });
    // A --local read answers from the member's own committed state: it may lag the leader by a
    // heartbeat or two (the deadline is for a loaded machine, not that bound).
    for (const m of f.members) {
      await until(`${m.address}'s local view to show the holder`, formationWaitMs, async () => {
        const at = await f.grantedAt('auto');
        const local = await f.call(m, { op: 'list', local: true });
        return at.length === 1 && (local.data as TicketView[]).find((v) => v.name === 'auto')?.holder === at[0]!.address ? true : null;
      }, 20);
    }
  });

  it('moves a manual ticket only by admin command, from any member', async () => {
    const [a, b] = f.sites;
    let man = ((await callLed(f, f.members[2]!, { op: 'list' })).data as TicketView[]).find((v) => v.name === 'man');
    expect(man?.holder).toBeNull();
    const g = await callLed(f, f.members[2]!, { op: 'grant', ticket: 'man', site: a!.address });
    expect(g.ok, JSON.stringify(g)).toBe(true);
    await until('man granted at the first site', formationWaitMs, async () => ((await f.localTicket(a!, 'man'))?.grantedHere === true ? true : null));
    const again = await callLed(f, b!, { op: 'grant', ticket: 'man', site: a!.address });
    expect(again.ok).toBe(false);
    expect(again.code).toBe('already-granted');
    const r = await callLed(f, b!, { op: 'revoke', ticket: 'man' });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    await until('man revoked at the first site', formationWaitMs, async () => ((await f.localTicket(a!, 'man'))?.grantedHere === false ? true : null));
    man = ((await callLed(f, a!, { op: 'list' })).data as TicketView[]).find((v) => v.name === 'man');
    expect(man?.holder).toBeNull();
    const h = await callLed(f, a!, { op: 'history', ticket: 'man' });
    const changes = (h.data as Array<{ change: string; cause: { by: string } }>).map((x) => `${x.change}/${x.cause.by}`);
    expect(changes).toEqual(['grant/admin', 'revoke/admin']);
  });

  it('the tollbooth CLI shows the ticket table and exits with codes a monitor can use', async () => {
    const holder = await holderNow();
    const cli = (args: string[]): Promise<{ code: number; out: string; err: string }> =>
      new Promise((resolve) => {
        execFile(tsxCommand[0]!, [...tsxCommand.slice(1), ...args], { timeout: cliRunMsMax }, (error, out, err) => {
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out, err });
        });
      });
    const list = await runLed(() => cli(['list', '--socket', f.members[2]!.socket]));
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^TICKET\s+MODE\s+HOLDER\s+GEN\s+LEASE LEFT\s+STATE$/m);
    expect(list.out).toMatch(new RegExp(`^auto\\s+automatic\\s+${holder.address.replace(/\./g, '\\.')}\\s+\\d+\\s+[\\d.]+s\\s+granted$`, 'm'));
    const json = await runLed(() => cli(['list', '--json', '--socket', holder.socket]));
    expect(JSON.parse(json.out)).toMatchObject({ ok: true });
    expect((await runLed(() => cli(['status', '--socket', holder.socket]))).code).toBe(0);
    expect((await cli(['status', '--socket', `${f.root}/no-such.sock`])).code).toBe(7);
    const refused = await cli(['grant', 'no-such-ticket', '--socket', holder.socket]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('no ticket no-such-ticket');
    // Six runs of the CLI from source (tsx compiles it at each start): seconds each on a loaded machine.
  }, cliTestMs);

  it('tollbooth move hands a ticket over gracefully: standby, revoke there, grant here, activate', async () => {
    const [a, b] = f.sites;
    const g = await callLed(f, a!, { op: 'grant', ticket: 'man', site: a!.address });
    expect(g.ok, JSON.stringify(g)).toBe(true);
    await until('man granted at the first site', formationWaitMs, async () => ((await f.localTicket(a!, 'man'))?.grantedHere === true ? true : null));
    // `move` asks the leader through the third member: let the formation have one first.
    await callLed(f, f.members[2]!, { op: 'list' });
    const out = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(tsxCommand[0]!, [...tsxCommand.slice(1), 'move', 'man', '--to', b!.address, '--socket', f.members[2]!.socket, '--stop-timeout', String(formationWaitMs), '--start-timeout', String(formationWaitMs)], { timeout: cliRunMsMax + 2 * formationWaitMs }, (error, o, e) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: o, err: e });
      });
    });
    expect(out.code, out.err + out.out).toBe(0);
    // The file sink has no cluster to ask about resources: the move says so and waits for the standby write.
    expect(out.out).toMatch(/^\[1\/4\] man in standby at 127\.0\.0\.1/m);
    expect(out.out).toMatch(/^\[2\/4\] cannot see 127\.0\.0\.1's resources/m);
    expect(out.out).toMatch(/^\[3\/4\] man granted at 127\.0\.0\.2 \(revoked at 127\.0\.0\.1 first\)/m);
    expect(out.out).toMatch(/^\[4\/4\] man active at 127\.0\.0\.2/m);
    expect(out.out).toMatch(/^moved man from 127\.0\.0\.1 to 127\.0\.0\.2 in [\d.]+ s$/m);
    const man = ((await callLed(f, b!, { op: 'list' })).data as TicketView[]).find((v) => v.name === 'man');
    expect(man).toMatchObject({ holder: b!.address, standby: false });
    expect((await f.localTicket(b!, 'man'))?.grantedHere).toBe(true);
    expect((await f.localTicket(a!, 'man'))?.grantedHere).toBe(false);
    const h = await callLed(f, a!, { op: 'history', ticket: 'man' });
    const changes = (h.data as Array<{ change: string; cause: { by: string } }>).map((x) => `${x.change}/${x.cause.by}`);
    expect(changes.slice(-4)).toEqual(['standby/admin', 'revoke/admin', 'grant/admin', 'activate/admin']);
    // Moving it where it is changes nothing.
    const same = await callLed(f, b!, { op: 'revoke', ticket: 'man' });
    expect(same.ok).toBe(true);
  }, cliTestMs);

  it('rejects unknown keys and garbage frames while service continues', async () => {
    // Raw bytes at the libp2p port of a member: not a Noise handshake from a configured key.
    for (const m of f.members) {
      await new Promise<void>((resolve) => {
        const s = connect(f.port, m.address, () => {
          s.write(Buffer.from('GET / HTTP/1.0\r\n\r\n\x00\xff garbage that is not a handshake'));
          s.end();
        });
        s.on('error', () => resolve());
        s.on('close', () => resolve());
      });
    }
    const holder = await holderNow();
    const r = await callLed(f, f.members[2]!, { op: 'list' });
    expect(r.ok).toBe(true);
    expect(((r.data as TicketView[]).find((v) => v.name === 'auto'))?.holder).toBe(holder.address);
  });

  it('restarts a non-holder without disturbing the holder', async () => {
    const holder = await holderNow('steady');
    const other = f.sites.find((m) => m !== holder)!;
    const before = await f.localTicket(holder, 'steady');
    await f.kill(other, 'SIGKILL');
    f.start(other);
    await f.waitReady(other);
    await until('the restarted site to follow the leader', formationWaitMs, async () => ((await f.call(other, { op: 'status' })).data as { leader: string | null }).leader);
    const after = await f.localTicket(holder, 'steady');
    expect(after?.grantedHere).toBe(true);
    expect(after?.generation).toBe(before?.generation);
  }, restartTestMs);

  it('fails over after kill -9 of the holder, the new lease starting after the old one ended, and the old holder rejoins without taking it back', async () => {
    const holder = await holderNow();
    const other = f.sites.find((m) => m !== holder)!;
    await f.kill(holder, 'SIGKILL');
    // The dead holder's last lease deadline (its grant, as its guard record extended it): final now.
    const old = await readTicketState(join(holder.dir, 'tickets'), 'auto');
    expect(old?.granted).toBe(true);
    await until('the other site to be granted the ticket', formationWaitMs, async () => ((await f.localTicket(other, 'auto'))?.grantedHere === true ? true : null));
    // S1 on the clock both processes share: each site's lease runs D from the send of the renewal whose
    // answer gave it, and the new holder's began after the old holder's ended — started > ended. The
    // old holder's lease end is in its guard record (armed and extended with the lease end it was worked
    // out from); the new holder's start is its first grant's deadline plus the revoke lead it wrote it
    // with, minus D. That lead is not the configured one: a holder raises it to twice its slowest recent
    // sink write, up to revokeLeadCeilingMs (1 866 ms here). Comparing the two deadlines alone asks for
    // more than S1 by the difference of the leads: at load 22, 3 878 ms apart, the leases 744 ms apart,
    // the new holder's lead 1 866 ms and the old one's 1 000 ms.
    const fresh = await readTicketFile(join(other.dir, 'tickets', 'auto.json'));
    const freshGuard = await guardOf(other, fresh?.bootId);
    const oldGuard = await guardOf(holder, old?.bootId);
    const why = await failoverFacts(holder, other, { file: old, guard: oldGuard }, { file: fresh, guard: freshGuard });
    if (process.env['TOLLBOOTH_KEEP'] === '1') console.log(`failover: ${why}`);
    expect(fresh, why).toMatchObject({ granted: true, owner: other.address });
    expect(fresh!.generation, why).toBeGreaterThan(old!.generation);
    expect(oldGuard, why).toMatchObject({ generation: old!.generation, revokeBy: old!.revokeBy });
    expect(typeof oldGuard!.leaseEnd, why).toBe('number');
    const oldLeaseEnd = oldGuard!.leaseEnd!;
    // The first grant's lead is exact while the guard record still holds that grant's deadline; once the
    // guard moved it, the lead of that first write is at most the ceiling.
    const firstLead = freshGuard?.generation === fresh!.generation && freshGuard.revokeBy === fresh!.revokeBy && freshGuard.leaseEnd !== undefined ? freshGuard.leaseEnd - fresh!.revokeBy : leadCeilingMs;
    expect(firstLead, why).toBeLessThanOrEqual(leadCeilingMs);
    const freshLeaseStart = fresh!.revokeBy! + firstLead - leaseS * 1000;
    expect(freshLeaseStart - oldLeaseEnd, why).toBeGreaterThan(0);
    // The old holder's sink deadline came before the new holder's lease (and so its grant write) began.
    expect(freshLeaseStart - old!.revokeBy!, why).toBeGreaterThan(0);
    f.start(holder);
    await f.waitReady(holder);
    await until('the old holder to learn the new grant', formationWaitMs, async () => {
      const t = await f.localTicket(holder, 'auto');
      return t?.holder === other.address ? true : null;
    });
    expect((await f.localTicket(holder, 'auto'))?.grantedHere).toBe(false);
    expect((await f.grantedAt('auto')).map((m) => m.address)).toEqual([other.address]);
  }, restartTestMs);
});

/** A site's guard record entry for the automatic ticket (null: none, or another boot). */
async function guardOf(m: LoopbackMember, boot: string | undefined): Promise<GuardRecord | null> {
  if (boot === undefined) return null;
  return (await readGuardFile(join(m.dir, 'tickets', guardFileName), boot)).get('auto') ?? null;
}

/** Both sites' ticket files and guard records, and the members' log lines about the ticket and leaders: what a failed failover assertion prints. */
async function failoverFacts(holder: LoopbackMember, other: LoopbackMember, old: object, fresh: object): Promise<string> {
  const logLines = async (m: LoopbackMember): Promise<string[]> => {
    const text = await readFile(m.log, 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.includes('"auto"') || l.includes('sink-speed') || l.includes('leader')).slice(-40);
  };
  return JSON.stringify({ old: { site: holder.address, ...old }, fresh: { site: other.address, ...fresh }, leadCeilingMs, oldLog: await logLines(holder), freshLog: await logLines(other) }, null, 1);
}
