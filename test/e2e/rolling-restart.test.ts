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
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import { boothSiteId } from '../../src/config/site-id.js';
import { descendants, parseXmlDocument } from '../../src/adapters/xml-cursor.js';
import type { MemberStatus } from '../../src/core/member.js';
import type { PeersView, TicketView } from '../../src/runtime/admin-service.js';
import { callLed, formationWaitMs } from '../support/led-calls.js';

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

  it('never moves the held ticket, never changes its generation and never revokes its CIB grant', async () => {
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
    const generation = listed.generation;
    expect(first.term).toBe(String(generation));
    const leaderAddress = (await statusOf(other))?.leader ?? null;
    expect(leaderAddress).not.toBeNull();

    // The watchers: they run until `done`, and record every departure from the first state.
    let done = false;
    const cibProblems: string[] = [];
    const tableProblems: string[] = [];
    let cibReads = 0;
    let cibGapMsMax = 0;
    const cibWatch = (async () => {
      let last = performance.now();
      while (!done) {
        const h = await until('a parsable CIB file at the holder', cibReadableMsMax, () => cibTicket(holder), 1);
        const o = await until('a parsable CIB file at the other site', cibReadableMsMax, () => cibTicket(other), 1);
        const now = performance.now();
        cibGapMsMax = Math.max(cibGapMsMax, now - last);
        last = now;
        cibReads += 1;
        if (!h.granted || h.term !== first.term || h.owner !== first.owner) cibProblems.push(`holder's CIB: ${JSON.stringify(h)}`);
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
          if (t !== undefined && t.holder !== null && (t.holder !== holder.address || t.generation !== generation)) {
            tableProblems.push(`${m.address}: holder ${t.holder} generation ${t.generation}`);
          }
        }
        await new Promise((r) => setTimeout(r, tableWatchEveryMs));
      }
    })();

    // The leader first, then the others in the config's order.
    const order = [f.member(leaderAddress!), ...f.members.filter((m) => m.address !== leaderAddress)];
    const figures: Array<{ member: string; wasLeader: boolean; wasHolder: boolean; stopMs: number; readyMs: number; backMs: number }> = [];
    try {
      for (const m of order) {
        const wasLeader = (await statusOf(m))?.role === 'leader';
        const t0 = performance.now();
        const code = await f.kill(m, 'SIGTERM');
        expect(code, `${m.address} exit on SIGTERM`).toBe(0);
        const stopMs = performance.now() - t0;
        f.start(m);
        await f.waitReady(m);
        const readyMs = performance.now() - t0;
        await backInFormation(m);
        figures.push({ member: m.address, wasLeader, wasHolder: m === holder, stopMs: Math.round(stopMs), readyMs: Math.round(readyMs), backMs: Math.round(performance.now() - t0) });
      }
    } finally {
      done = true;
      await Promise.all([cibWatch, tableWatch]);
    }
    console.log(JSON.stringify({ rollingRestart: figures, cibReads, cibGapMsMax: Math.round(cibGapMsMax) }));

    expect(figures.some((x) => x.wasLeader), 'the registry leader was among the restarted').toBe(true);
    expect(cibProblems.slice(0, 5)).toEqual([]);
    expect(tableProblems.slice(0, 5)).toEqual([]);
    // The registry's durable history: the one initial grant, nothing after it.
    const h = await callLed(f, other, { op: 'history', ticket });
    expect(h.ok, JSON.stringify(h)).toBe(true);
    const changes = (h.data as Array<{ change: string; generation?: number }>).map((x) => x.change);
    expect(changes).toEqual(['grant']);
    const last = (await cibTicket(holder))!;
    expect(last).toEqual(first);
  }, rollingTestMs);
});
