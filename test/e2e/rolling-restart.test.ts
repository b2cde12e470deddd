// A rolling restart (issue 11, item 6): every member of a running formation
// of real processes — two site agents writing real CIB files through the real
// crm_ticket, each with its lease guard, and an arbitrator — is stopped with
// SIGTERM and started again with the same file, one at a time, each back in
// the formation (it follows a leader, and every other member's gossip holds
// it alive) before the next one goes. The registry leader goes first, so that
// a leader is always among them; the ticket's holder goes too. Throughout the
// whole sequence a watcher in this process reads both CIB files every few
// milliseconds (parsing them here: a crm_ticket run can take most of a second
// on a loaded machine) and records any read in which the holder's grant is
// not there, its term (the generation) or owner changed, or the other site's
// CIB shows the ticket granted; and a second watcher asks the live members
// for their local view of the table. At the end the registry's history of
// the ticket must still hold its one initial grant. The lease (20 s) is
// longer than a restart takes even on a loaded machine; what the test
// measures (each member's time away, the longest gap between two CIB reads)
// is printed for docs/operations.md §8.
//
// The second test rehearses a rolling upgrade under the same watch: each
// member restarted announcing the next minor protocol version (the hidden --protocol-version;
// the build is the same, what is exercised is the mixed formation's
// handshake), the links of the mixed formation showing both versions; then
// one member restarted announcing 2.0 is refused by every other member and
// refuses them, `peers` showing the link incompatible with both versions and
// each log naming both, and put back on 1.1 it rejoins.
//
// The third restarts every member with a newer file (one ticket more, not yet
// applied): each runs on the committed config and logs that its file differs
// (issue 11, item 1); then `tollbooth config apply` commits the new ticket,
// and the held ticket is watched as before throughout.
//
// The fourth wipes state directories (issue 11, item 4): the arbitrator's,
// then the other site's (its lease guard with it, as on a reinstalled node),
// each stopped, its directory deleted and started again: it comes back as a
// new incarnation that the leader re-admits and promotes to voter.
//
// The fifth adds a member and removes it again (issue 11, item 3), with no
// file edit and no restart of the running members: a second arbitrator,
// started with an empty store and a file of its own that lists everyone, is
// refused by the running members until `tollbooth member add` on one of them
// commits it; each then admits its key (`transport peers changed`), it catches
// up, is promoted to voter and every running member's gossip holds it alive
// (its claims verify); then `tollbooth member remove`, after which each
// running member drops its key and refuses its reconnections, and it is
// stopped. The running members' processes and file are the same throughout. In all five the held ticket's holder and
// generation never change and its CIB grant is never revoked.
import { appendFile, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import { boothSiteId } from '../../src/config/site-id.js';
import { descendants, parseXmlDocument } from '../../src/adapters/xml-cursor.js';
import type { MemberStatus } from '../../src/core/member.js';
import type { PeersView, TicketView } from '../../src/runtime/admin-service.js';
import { callLed, formationWaitMs } from '../support/led-calls.js';
import { formatProtocolVersion, protocolVersion } from '../../src/wire/protocol-version.js';
import { runningLeaseGuard } from '../../src/adapters/pacemaker/lease-guard.js';
import { writeSeedFile } from '../../src/cli/keys.js';
import type { CommittedConfigData } from '../../src/runtime/admin-service.js';
import { cliOutcome, type CliOutcome } from '../support/cli-outcome.js';

/** This build's protocol version, and the next minor the upgrade rehearsal announces (the build is the same). */
const current = formatProtocolVersion(protocolVersion);
const next = formatProtocolVersion({ major: protocolVersion.major, minor: protocolVersion.minor + 1 });

const command = [process.execPath, 'dist/bin/tollbooth.js'];
const fixture = join(import.meta.dirname, '..', 'adapters', 'fixtures', 'cib-tickets.xml');
const ticket = 'ticketA';
/** The ticket's lease: longer than one member's restart takes on a loaded machine (seconds), so that none moves it. */
const leaseS = 20;
/** Pause between two reads of the CIB files by the watcher, ms (each read is a few ms of parsing). */
const cibWatchEveryMs = 10;
/** Pause between two looks at the members' tables, ms. */
const tableWatchEveryMs = 250;
/** How long a CIB file may stay unparsable (it is replaced by rename, so only a read racing nothing): generous. */
const cibReadableMsMax = 30_000;
/** Budget of the whole sequence: three restarts, each a start and the formation's waits. */
const rollingTestMs = 3 * (memberReadyMsMax + 2 * formationWaitMs) + formationWaitMs;

const cibOf = (m: LoopbackMember): string => join(m.dir, '..', `${m.address}.cib.xml`);

/** The CLI's exit code and output (stdout then stderr). */
const cli = (args: readonly string[]): Promise<CliOutcome> => cliOutcome(args, command);

interface CibTicket {
  readonly granted: boolean;
  readonly owner: string | null;
  readonly term: string | null;
}

/** The ticket's state in a site's CIB file, parsed here; null when the file did not parse (read again). */
async function cibTicket(m: LoopbackMember): Promise<CibTicket | null> {
  let root;
  try {
    root = parseXmlDocument(await readFile(cibOf(m), 'utf8'));
  } catch {
    return null;
  }
  const t = descendants(root, 'ticket_state').find((x) => x.attrs.get('id') === ticket);
  return { granted: t?.attrs.get('granted') === 'true', owner: t?.attrs.get('owner') ?? null, term: t?.attrs.get('term') ?? null };
}

describe('a rolling restart of every member', () => {
  let f: LoopbackFormation;

  beforeAll(async () => {
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command,
      ticketSink: 'crm_ticket',
      // A CIB file has no cluster behind it: crm_mon sees no DC and crm_simulate no online node.
      siteArgs: ['--no-quorum-check', '--no-runnability-check'],
      siteEnv: (m) => ({ CIB_file: cibOf(m) }),
      tickets: [{ name: ticket, expireS: leaseS, acquireAfterS: 0 }],
    });
    for (const s of f.sites) await copyFile(fixture, cibOf(s));
    await f.startAll();
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    await f?.stop();
  });

  const statusOf = async (m: LoopbackMember): Promise<MemberStatus | null> => {
    const r = await f.call(m, { op: 'status' });
    return r.ok ? (r.data as MemberStatus) : null;
  };

  /** Back in the formation: it follows a leader, and every other member's gossip has it alive. */
  const backInFormation = (m: LoopbackMember): Promise<true> =>
    until(`${m.address} to be back in the formation`, formationWaitMs, async () => {
      const st = await statusOf(m);
      if (st === null || st.leader === null) return null;
      for (const o of f.members) {
        if (o === m) continue;
        const p = await f.call(o, { op: 'peers' });
        if (!p.ok) return null;
        const g = (p.data as PeersView).gossip;
        if (g?.peers.find((x) => x.id === m.address)?.state !== 'alive') return null;
      }
      return true;
    });

  /** The holder, the other site, and the ticket's first state in the holder's CIB and the table. */
  interface Held {
    readonly holder: LoopbackMember;
    readonly other: LoopbackMember;
    readonly first: CibTicket;
    readonly generation: number;
  }

  const held = async (): Promise<Held> => {
    const holder = await until('the ticket granted in exactly one CIB', formationWaitMs, async () => {
      const granted: LoopbackMember[] = [];
      for (const s of f.sites) if ((await cibTicket(s))?.granted === true) granted.push(s);
      return granted.length === 1 ? granted[0]! : null;
    });
    const other = f.sites.find((s) => s !== holder)!;
    const first = (await cibTicket(holder))!;
    expect(first.owner).toBe(String(boothSiteId(holder.address)));
    const listed = ((await callLed(f, other, { op: 'list' })).data as TicketView[]).find((v) => v.name === ticket)!;
    expect(listed.holder).toBe(holder.address);
    expect(first.term).toBe(String(listed.generation));
    return { holder, other, first, generation: listed.generation };
  };

  /**
   * Watches the ticket until stopped: both CIB files every cibWatchEveryMs,
   * every live member's local table every tableWatchEveryMs. Each departure
   * from `h` is recorded.
   */
  const watch = (h: Held): { stop: () => Promise<{ cibProblems: string[]; tableProblems: string[]; cibReads: number; cibGapMsMax: number }> } => {
    let done = false;
    const cibProblems: string[] = [];
    const tableProblems: string[] = [];
    let cibReads = 0;
    let cibGapMsMax = 0;
    const cibWatch = (async () => {
      let last = performance.now();
      while (!done) {
        const at = await until('a parsable CIB file at the holder', cibReadableMsMax, () => cibTicket(h.holder), 1);
        const o = await until('a parsable CIB file at the other site', cibReadableMsMax, () => cibTicket(h.other), 1);
        const now = performance.now();
        cibGapMsMax = Math.max(cibGapMsMax, now - last);
        last = now;
        cibReads += 1;
        if (!at.granted || at.term !== h.first.term || at.owner !== h.first.owner) cibProblems.push(`holder's CIB: ${JSON.stringify(at)}`);
        if (o.granted) cibProblems.push(`other site's CIB granted: ${JSON.stringify(o)}`);
        await new Promise((r) => setTimeout(r, cibWatchEveryMs));
      }
    })();
    const tableWatch = (async () => {
      while (!done) {
        for (const m of f.members) {
          if (m.proc === null) continue;
          const r = await f.call(m, { op: 'list', local: true }).catch(() => null);
          const t = r?.ok === true ? (r.data as TicketView[]).find((v) => v.name === ticket) : undefined;
          // A member that just started may not have applied its log yet (holder null): not a change.
          if (t !== undefined && t.holder !== null && (t.holder !== h.holder.address || t.generation !== h.generation)) {
            tableProblems.push(`${m.address}: holder ${t.holder} generation ${t.generation}`);
          }
        }
        await new Promise((r) => setTimeout(r, tableWatchEveryMs));
      }
    })();
    return {
      stop: async () => {
        done = true;
        await Promise.all([cibWatch, tableWatch]);
        return { cibProblems, tableProblems, cibReads, cibGapMsMax: Math.round(cibGapMsMax) };
      },
    };
  };

  interface RestartFigures {
    readonly member: string;
    readonly wasLeader: boolean;
    readonly wasHolder: boolean;
    /** SIGTERM to exit, ms. */
    readonly stopMs: number;
    /** SIGTERM to answering on the admin socket again, ms. */
    readonly readyMs: number;
    /** SIGTERM to back in the formation, ms. */
    readonly backMs: number;
  }

  /** SIGTERM, start again (with `args`), and wait until it is back in the formation. */
  const restart = async (m: LoopbackMember, h: Held, args: readonly string[] = []): Promise<RestartFigures> => {
    const wasLeader = (await statusOf(m))?.role === 'leader';
    const t0 = performance.now();
    const code = await f.kill(m, 'SIGTERM');
    expect(code, `${m.address} exit on SIGTERM`).toBe(0);
    const stopMs = performance.now() - t0;
    f.start(m, args);
    await f.waitReady(m);
    const readyMs = performance.now() - t0;
    await backInFormation(m);
    return { member: m.address, wasLeader, wasHolder: m === h.holder, stopMs: Math.round(stopMs), readyMs: Math.round(readyMs), backMs: Math.round(performance.now() - t0) };
  };

  /** The leader first (so that one is always among the restarted), then the others in the config's order. */
  const leaderFirst = async (h: Held): Promise<LoopbackMember[]> => {
    const leaderAddress = (await statusOf(h.other))?.leader ?? null;
    expect(leaderAddress).not.toBeNull();
    return [f.member(leaderAddress!), ...f.members.filter((m) => m.address !== leaderAddress)];
  };

  /** The ticket's history at the registry: still only its initial grant. */
  const expectOneGrant = async (h: Held): Promise<void> => {
    const r = await callLed(f, h.other, { op: 'history', ticket });
    expect(r.ok, JSON.stringify(r)).toBe(true);
    expect((r.data as Array<{ change: string }>).map((x) => x.change)).toEqual(['grant']);
    expect(await cibTicket(h.holder)).toEqual(h.first);
  };

  it('never moves the held ticket, never changes its generation and never revokes its CIB grant', async () => {
    const h = await held();
    const w = watch(h);
    const figures: RestartFigures[] = [];
    try {
      for (const m of await leaderFirst(h)) figures.push(await restart(m, h));
    } finally {
      const seen = await w.stop();
      console.log(JSON.stringify({ rollingRestart: figures, ...seen, cibProblems: seen.cibProblems.length, tableProblems: seen.tableProblems.length }));
      expect(seen.cibProblems.slice(0, 5)).toEqual([]);
      expect(seen.tableProblems.slice(0, 5)).toEqual([]);
    }
    expect(figures.some((x) => x.wasLeader), 'the registry leader was among the restarted').toBe(true);
    expect(figures.some((x) => x.wasHolder), 'the holder was among the restarted').toBe(true);
    await expectOneGrant(h);
  }, rollingTestMs);

  it('a rolling upgrade one minor version up keeps the ticket; a member a major ahead is refused both ways, shown in peers, and rejoins once put back', async () => {
    const h = await held();
    const w = watch(h);
    const figures: RestartFigures[] = [];
    const peersOf = async (m: LoopbackMember): Promise<PeersView> => (await f.call(m, { op: 'peers' })).data as PeersView;
    let odd: LoopbackMember | null = null;
    try {
      // Each member restarted announcing the next minor (the build is the same: what is rehearsed is the mixed handshake).
      const order = await leaderFirst(h);
      for (const [i, m] of order.entries()) {
        figures.push(await restart(m, h, ['--protocol-version', next]));
        if (i === 0) {
          // Mixed: the upgraded member and the others each see the other's version on their link.
          const rest = order.slice(1);
          await until('the links of the mixed formation to show both versions', formationWaitMs, async () => {
            const up = await peersOf(m);
            if (up.protocol !== next || !rest.every((o) => up.peers.find((p) => p.id === o.address)?.protocol === current)) return null;
            for (const o of rest) if ((await peersOf(o)).peers.find((p) => p.id === m.address)?.protocol !== next) return null;
            return true;
          });
        }
      }
      for (const m of f.members) expect((await statusOf(m)) as MemberStatus & { protocol?: string }).toMatchObject({ protocol: next });

      // One member (not the holder, not the leader) restarted announcing 2.0: refused at both ends.
      const leaderAddress = (await statusOf(h.other))?.leader;
      odd = f.members.find((m) => m !== h.holder && m.address !== leaderAddress)!;
      await f.kill(odd, 'SIGTERM');
      f.start(odd, ['--protocol-version', '2.0']);
      await f.waitReady(odd);
      const oddAddress = odd.address;
      for (const m of f.members.filter((x) => x !== odd)) {
        const link = await until(`${m.address} to refuse ${oddAddress}`, formationWaitMs, async () => {
          const l = (await peersOf(m)).peers.find((p) => p.id === oddAddress);
          return l?.state === 'incompatible' ? l : null;
        });
        expect(link).toMatchObject({ protocol: '2.0', refused: `protocol 2.0 there, ${next} here: major versions differ` });
        const oddMember = odd;
        expect(await until(`${m.address}'s log to name both versions`, formationWaitMs, () => refusalLogged(m, oddAddress))).toMatchObject({ reason: 'incompatible-version', ours: next, theirs: '2.0' });
        expect(await until(`${oddAddress}'s log to name both versions`, formationWaitMs, () => refusalLogged(oddMember, m.address))).toMatchObject({ reason: 'incompatible-version', ours: '2.0', theirs: next });
      }
      const oddView = await peersOf(odd);
      expect(oddView.protocol).toBe('2.0');
      expect(oddView.peers.every((p) => p.state === 'incompatible' && p.protocol === next)).toBe(true);
      // Put back on a compatible version, it rejoins.
      figures.push(await restart(odd, h, ['--protocol-version', next]));
    } finally {
      const seen = await w.stop();
      console.log(JSON.stringify({ rollingUpgrade: figures, ...seen, cibProblems: seen.cibProblems.length, tableProblems: seen.tableProblems.length }));
      expect(seen.cibProblems.slice(0, 5)).toEqual([]);
      expect(seen.tableProblems.slice(0, 5)).toEqual([]);
    }
    await expectOneGrant(h);
  }, 2 * rollingTestMs);

  it('a rolling restart with a newer file (one ticket more) runs each member on the committed config, saying so, and never moves the held ticket', async () => {
    const h = await held();
    // The newer file: a second ticket, as an operator adds one before `config apply`.
    await appendFile(f.configPath, `ticket = "ticketB"\n    expire = ${leaseS}\n    timeout = ${(leaseS * 1000) / 10}ms\n    retries = 3\n`);
    const w = watch(h);
    const figures: RestartFigures[] = [];
    try {
      for (const m of await leaderFirst(h)) {
        figures.push(await restart(m, h));
        // It runs (no exit 78), on the committed config, and says the file differs from it.
        const line = await until(`${m.address} to log that its file differs`, formationWaitMs, () => logLine(m, 'config file differs from the committed config'));
        expect(JSON.stringify(line['difference'])).toContain('ticketB');
        const local = await f.call(m, { op: 'list', local: true });
        expect((local.data as TicketView[]).map((t) => t.name)).toEqual([ticket]);
      }
      // Every member runs the newer file now: `config apply` commits the ticket it adds.
      const applied = await cli(['config', 'apply', '-c', f.configPath, '--socket', h.other.socket, '--timeout', '30000']);
      expect(applied.code, applied.out).toBe(0);
      expect(applied.out).toMatch(/ticket ticketB: added/);
      const shown = (await callLed(f, h.other, { op: 'config-show' })).data as CommittedConfigData;
      expect(shown.tickets.map((t) => t.name).sort()).toEqual([ticket, 'ticketB']);
      expect(shown.tickets.find((t) => t.name === ticket)).toMatchObject({ holder: h.holder.address, generation: h.generation });
      // ticketB is placed like an initial grant, at one site.
      await until('ticketB granted at one site', formationWaitMs, async () => ((await f.grantedAt('ticketB')).length === 1 ? true : null));
    } finally {
      const seen = await w.stop();
      console.log(JSON.stringify({ rollingRestartNewerFile: figures, ...seen, cibProblems: seen.cibProblems.length, tableProblems: seen.tableProblems.length }));
      expect(seen.cibProblems.slice(0, 5)).toEqual([]);
      expect(seen.tableProblems.slice(0, 5)).toEqual([]);
    }
    await expectOneGrant(h);
  }, rollingTestMs);

  /** The leader's configuration entry of `m` (status of a running member that follows a leader). */
  const configured = async (m: LoopbackMember): Promise<{ voter?: boolean; incarnation?: number } | null> => {
    const r = await callLed(f, f.members.find((o) => o !== m && o.proc !== null)!, { op: 'status' });
    return ((r.data as MemberStatus | undefined)?.members ?? []).find((x) => x.id === m.address) ?? null;
  };

  it('a member whose state directory is wiped rejoins as a new incarnation, a voter again, and the held ticket never moves', async () => {
    const h = await held();
    const arb = f.members.find((m) => m.kind === 'arbitrator')!;
    const w = watch(h);
    const figures: Array<{ member: string; before: number; after: number; voterAgainMs: number }> = [];
    try {
      for (const m of [arb, h.other]) {
        const before = (await configured(m))?.incarnation ?? 0;
        const t0 = performance.now();
        expect(await f.kill(m, 'SIGTERM'), `${m.address} exit on SIGTERM`).toBe(0);
        // A reinstalled node: the store and everything else under the state directory go, the lease guard too.
        const guard = m.kind === 'site' ? await runningLeaseGuard(m.dir) : null;
        if (guard !== null) process.kill(guard, 'SIGTERM');
        await rm(m.dir, { recursive: true, force: true });
        f.start(m);
        await f.waitReady(m);
        const after = await until(`${m.address} re-admitted as a new incarnation and a voter`, formationWaitMs, async () => {
          const c = await configured(m);
          return c !== null && c.voter !== false && (c.incarnation ?? 0) !== before ? (c.incarnation ?? 0) : null;
        });
        await backInFormation(m);
        figures.push({ member: m.address, before, after, voterAgainMs: Math.round(performance.now() - t0) });
      }
    } finally {
      const seen = await w.stop();
      console.log(JSON.stringify({ wipedStores: figures, ...seen, cibProblems: seen.cibProblems.length, tableProblems: seen.tableProblems.length }));
      expect(seen.cibProblems.slice(0, 5)).toEqual([]);
      expect(seen.tableProblems.slice(0, 5)).toEqual([]);
    }
    await expectOneGrant(h);
  }, 2 * rollingTestMs);

  it('a member added with member add and removed with member remove; the held ticket never moves', async () => {
    const h = await held();
    const root = join(f.configPath, '..');
    const added: LoopbackMember = {
      address: `127.0.0.${f.members.length + 1}`,
      kind: 'arbitrator',
      dir: join(root, 'added'),
      socket: join(root, 'added.sock'),
      key: join(root, 'added.key'),
      log: join(root, 'added.log'),
      proc: null,
    };
    const key = (await writeSeedFile(added.key, false)).publicKey.toString('base64');
    // Only the newcomer's own file lists it: the running members' file is not touched, nor are they restarted.
    const shared = await readFile(f.configPath, 'utf8');
    const at = shared.indexOf('ticket = ');
    // Same file name in another directory: the formation's name is the file's (booth), and must be the same.
    const addedConfig = join(root, 'added-config', basename(f.configPath));
    await mkdir(join(addedConfig, '..'));
    await writeFile(addedConfig, `${shared.slice(0, at)}arbitrator = ${added.address}\ntollbooth-member-key = ${added.address} ${key}\n${shared.slice(at)}`);
    const running = [...f.members];
    const pids = running.map((m) => m.proc?.pid);
    const w = watch(h);
    const figures: Record<string, number> = {};
    try {
      f.start(added, ['-c', addedConfig]);
      await f.waitReady(added);
      const t0 = performance.now();
      const add = await cli(['member', 'add', added.address, '--role', 'arbitrator', '--key', key, '--socket', h.other.socket]);
      expect(add.code, add.out).toBe(0);
      // Each running member admits the key once the entry applies there, and says so.
      for (const m of running) {
        await until(`${m.address} to admit ${added.address}`, formationWaitMs, async () => {
          const line = await logLine(m, 'transport peers changed');
          return line !== null && (line['added'] as string[]).includes(added.address) ? true : null;
        });
      }
      await until(`${added.address} a voter`, formationWaitMs, async () => ((await configured(added))?.voter !== false && (await configured(added)) !== null ? true : null));
      // Followed a leader, and every running member's gossip verifies its claims and holds it alive.
      await until(`${added.address} in the formation`, formationWaitMs, async () => {
        const st = (await f.call(added, { op: 'status' })).data as MemberStatus | undefined;
        if (st?.leader === null || st?.leader === undefined) return null;
        for (const o of running) {
          const p = await f.call(o, { op: 'peers' });
          if (!p.ok || (p.data as PeersView).gossip?.peers.find((x) => x.id === added.address)?.state !== 'alive') return null;
        }
        return true;
      });
      figures['addedVoterMs'] = Math.round(performance.now() - t0);
      const t1 = performance.now();
      // Asked again while the outcome is unknown: when the newcomer leads, it hands leadership over first (not-leader,
      // or the answer is lost with the leadership: exit 3); once gone, a repeat answers that it is not a member.
      const answers: string[] = [];
      await until(`${added.address} gone from the configuration`, formationWaitMs, async () => {
        if ((await configured(added)) === null) return true;
        const remove = await cli(['member', 'remove', added.address, '--socket', h.other.socket]);
        answers.push(`${remove.code}: ${remove.out.trim()}`);
        return null;
      }, 1000);
      expect(answers.length, 'member remove was asked').toBeGreaterThan(0);
      expect(answers.filter((x) => x.startsWith('1:') && !x.includes('is not a member')), 'refusals of member remove').toEqual([]);
      // Each running member drops the key, closes its links and refuses the removed member's reconnections.
      for (const m of running) {
        await until(`${m.address} to drop ${added.address}`, formationWaitMs, async () => {
          const line = await logLine(m, 'transport peers changed');
          return line !== null && (line['removed'] as string[]).includes(added.address) ? true : null;
        });
        await until(`${m.address} to refuse ${added.address}'s connections`, formationWaitMs, async () => ((await refusedAfterRemoval(m)) ? true : null));
        const p = (await f.call(m, { op: 'peers' })).data as PeersView;
        expect(p.peers.map((x) => x.id)).not.toContain(added.address);
      }
      figures['removedMs'] = Math.round(performance.now() - t1);
      figures['removeAsks'] = answers.length;
      const shown = (await callLed(f, h.other, { op: 'config-show' })).data as CommittedConfigData;
      expect(shown.members.map((m) => m.address).sort()).toEqual(running.map((m) => m.address).sort());
      // Nobody was restarted, and the running members' file is as it was.
      expect(running.map((m) => m.proc?.pid)).toEqual(pids);
      expect(await readFile(f.configPath, 'utf8')).toBe(shared);
    } finally {
      await f.kill(added, 'SIGTERM');
      const seen = await w.stop();
      console.log(JSON.stringify({ memberAddRemove: figures, ...seen, cibProblems: seen.cibProblems.length, tableProblems: seen.tableProblems.length }));
      expect(seen.cibProblems.slice(0, 5)).toEqual([]);
      expect(seen.tableProblems.slice(0, 5)).toEqual([]);
    }
    await expectOneGrant(h);
  }, 2 * rollingTestMs);
});

/**
 * Whether a member's log, after its last `transport peers changed` line, has
 * an unknown-peer reject: a connection from a key it no longer admits.
 */
async function refusedAfterRemoval(m: LoopbackMember): Promise<boolean> {
  const lines = (await readFile(m.log, 'utf8')).split('\n');
  let changedAt = -1;
  lines.forEach((line, i) => {
    if (line.includes('"msg":"transport peers changed"')) changedAt = i;
  });
  return changedAt >= 0 && lines.slice(changedAt + 1).some((line) => line.includes('"msg":"frame rejected"') && line.includes('"reason":"unknown-peer"'));
}

/** The last line of a member's log whose message starts with `msg` (its fields), or null. */
async function logLine(m: LoopbackMember, msg: string): Promise<Record<string, unknown> | null> {
  const text = await readFile(m.log, 'utf8');
  let found: Record<string, unknown> | null = null;
  for (const line of text.split('\n')) {
    // A prefix of the message: some carry a hint after it.
    if (!line.includes(`"msg":"${msg}`)) continue;
    found = JSON.parse(line) as Record<string, unknown>;
  }
  return found;
}

/** The first `peer refused` error in a member's log about `peer` (its fields), or null. */
async function refusalLogged(m: LoopbackMember, peer: string): Promise<Record<string, unknown> | null> {
  const text = await readFile(m.log, 'utf8');
  for (const line of text.split('\n')) {
    if (!line.includes('"peer refused')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry['peer'] === peer) return entry;
  }
  return null;
}
