// A follower that needs a snapshot of a large table catches up over the real
// transport (issue 12, item 2). Before snapshots went in chunks, a formation
// of 20 000 tickets needed a 4.27 MiB snapshot frame, which every receiver's
// stream buffer (4 MiB) refused: the term ran from 8 to 148 in 2.5 minutes
// and no leader held.
//
// Here three real member processes (`dist/bin/tollbooth.js`: two sites and an
// arbitrator on 127.0.0.1–3, libp2p over TCP, LevelDB, the file ticket sink)
// run a formation of 50 000 manual tickets (the most the config accepts).
// All three start (a new formation starts once every member has: docs/protocol.md
// §9), and the test waits for a leader and for the early site's one start-up
// write (the file sink's start-up read shows every ticket as it should be, not
// granted and never written, so only the write that times the sink is made:
// issue 15; until 2026-12-07 a site wrote all 50 000 ticket files here, and
// the test waited for them); then the second site stops and its state directory is
// deleted (a lost store); 300 attribute writes through the admin socket make
// the leader compact its log (every 256 entries); then the second site starts
// again with an empty store, a new incarnation the leader re-admits, so the
// leader can only catch it up with a snapshot of the whole table. The test waits
// (with generous deadlines: two busy cores) for the late site to log the
// snapshot installed, to follow the leader at its commit index, and to hold
// the table; no run of elections since before the late site started (at
// most termMovesMax term moves at any member: none on an idle machine), and a
// write after the transfer reaches the late site. It prints the snapshot's size, its chunk count and the
// transfer time (from the late site's 'member ready' to its 'installed' log
// line; the leader may begin earlier, sending into the void).
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLimits } from '../../src/core/config.js';
import { LoopbackFormation, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import type { PeersView, TicketView } from '../../src/runtime/admin-service.js';

const command = [process.execPath, 'dist/bin/tollbooth.js'];
const ticketCount = defaultLimits.ticketCountMax;
/** Attribute writes before the late site starts: more than logEntriesBeforeSnapshot (256), so the leader compacts. */
const writesBeforeLateStart = 300;
const writesInParallel = 8;
/** A formation of 50 000 tickets starting on two busy cores. */
const startDeadlineMs = 180_000;
/** Snapshot transfer, install and catch-up of the late site. */
const catchUpDeadlineMs = 240_000;
/** A site's one start-up write (sink-at-start.ts), after its start-up read of the ticket directory. */
const sinkWritesDeadlineMs = 120_000;

/**
 * Term moves allowed at any member from just before the late site starts to the end. Before
 * snapshots went in chunks the term ran from 8 to 148 in 2.5 minutes; on an idle machine it does
 * not move at all. Two busy cores (CI beside stress-ng, a 50 000-ticket install beside another test
 * file) can stall a member past an election timeout once: 2 → 3 at one site, seen 2026-12-07 at
 * 8cecc23 beside stress-ng, and 3 moves at the early site at load 9-12 (703699e, beside simulator
 * runs). An election there is the protocol doing its job, not the bug this test guards against; a
 * run of them is: 140 moves in 2.5 minutes. Five leaves room for a loaded machine and still fails
 * that bug by a factor of 28.
 */
const termMovesMax = 5;
/** Short names (t00000…): a renewal naming all 50 000 must fit in one frame (validate.ts). */
const name = (i: number): string => `t${String(i).padStart(5, '0')}`;

interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

async function logLines(m: LoopbackMember): Promise<LogLine[]> {
  const text = await readFile(m.log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

describe(`a late follower catches up by a chunked snapshot of ${ticketCount} tickets`, () => {
  let f: LoopbackFormation;
  let arb: LoopbackMember;
  let early: LoopbackMember;
  let late: LoopbackMember;

  beforeAll(async () => {
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command,
      preset: 'lan',
      tickets: [],
      // booth's __defaults__ block keeps 50 000 tickets within the 1 MiB config file.
      extraConfig: [
        'ticket = __defaults__',
        '    mode = manual',
        '    expire = 30',
        '    timeout = 3000ms',
        '    retries = 3',
        ...Array.from({ length: ticketCount }, (_, i) => `ticket = ${name(i)}`),
      ],
    });
    [early, late] = f.sites as [LoopbackMember, LoopbackMember];
    if (process.env['TOLLBOOTH_KEEP'] === '1') console.log(`formation in ${f.root}`);
    arb = f.members.find((m) => m.kind === 'arbitrator')!;
    f.start(arb);
    f.start(early);
    f.start(late);
    await Promise.all([f.waitReady(arb, startDeadlineMs), f.waitReady(early, startDeadlineMs), f.waitReady(late, startDeadlineMs)]);
    await until('a leader', startDeadlineMs, async () => {
      const r = await f.call(arb, { op: 'peers' }, 20_000);
      return r.ok && (r.data as PeersView).status.leader !== null ? true : null;
    }, 500);
    // The second site loses its store: it comes back below as a new incarnation with nothing.
    await f.kill(late);
    await rm(late.dir, { recursive: true, force: true });
  }, 2 * startDeadlineMs + 30_000);

  afterAll(async () => {
    // TOLLBOOTH_KEEP=1 keeps the members' logs and stores for a look after a failure.
    await f?.stop(process.env['TOLLBOOTH_KEEP'] === '1');
  }, 60_000);

  const peersOf = async (m: LoopbackMember): Promise<PeersView> => {
    const r = await f.call(m, { op: 'peers' }, 20_000);
    if (!r.ok) throw new Error(`${m.address}: ${r.message}`);
    return r.data as PeersView;
  };

  const agreedLeader = (): Promise<LoopbackMember> =>
    until('a leader both running members follow', startDeadlineMs, async () => {
      const [a, e] = [await peersOf(arb), await peersOf(early)];
      return a.status.leader !== null && a.status.leader === e.status.leader && a.status.term === e.status.term ? f.member(a.status.leader) : null;
    }, 500);

  /** Each member's term, at most termMovesMax above `term`. */
  const expectTermsSettled = async (term: number): Promise<void> => {
    for (const m of f.members) expect((await peersOf(m)).status.term - term, `${m.address}: term moves since before the late site started`).toBeLessThanOrEqual(termMovesMax);
  };

  /** One attribute write, asked of the leader of the moment, again until it commits (a leader change answers unknown-outcome). */
  const write = async (ticket: string, key: string, value: string): Promise<void> => {
    await until(`${ticket} ${key}=${value} to commit`, catchUpDeadlineMs, async () => {
      // A refusal is thrown, so that a timeout names the last one (until() counts it as "not yet").
      const r = await f.call(await agreedLeader(), { op: 'attr-set', ticket, key, value }, 30_000);
      if (!r.ok) throw new Error(`attr-set answered ${r.code ?? 'not ok'}: ${r.message}`);
      return true;
    }, 500);
  };

  it('installs the snapshot, follows the same leader, and keeps replicating', async () => {
    // A site writes at start-up only the tickets its sink does not show as they should be, and one that
    // times the sink (sink-at-start.ts): here every ticket is not granted and has never been written, so
    // one file, not 50 000 (issue 15; 50 000 fsync'd files cost leader changes on two busy cores, issue 12
    // item 6, and CI waited up to 10 min for them).
    const ticketFiles = async (): Promise<string[]> => (await readdir(join(early.dir, 'tickets')).catch(() => [])).filter((x) => x.endsWith('.json') && !x.startsWith('.'));
    await until('the early site to write the start-up revoke that times its sink', sinkWritesDeadlineMs, async () => ((await ticketFiles()).length >= 1 ? true : null), 1000);
    expect(await ticketFiles(), 'ticket files the early site wrote at start-up').toHaveLength(1);

    // Enough entries for the leader to compact its log.
    for (let i = 0; i < writesBeforeLateStart; i += writesInParallel) {
      const batch = Array.from({ length: Math.min(writesInParallel, writesBeforeLateStart - i) }, (_, j) => write(name((i + j) * 97), 'k', `v${i + j}`));
      await Promise.all(batch);
    }
    const leader = await agreedLeader();
    const before = (await peersOf(leader)).status;
    expect(before.leader).toBe(leader.address);

    const lateStartedAt = Date.now();
    f.start(late);
    await f.waitReady(late, startDeadlineMs);
    const installed = await until('the late site to install a snapshot', catchUpDeadlineMs, async () => {
      return (await logLines(late)).find((l) => l.msg === 'snapshot transfer' && l['stage'] === 'installed') ?? null;
    }, 500);
    const caughtUp = await until('the late site to follow the leader at its commit index', catchUpDeadlineMs, async () => {
      const now = await agreedLeader();
      const [l, s] = [await peersOf(now), await peersOf(late)];
      return s.status.leader === now.address && s.status.commit >= before.commit && s.status.commit >= l.status.commit - 5 ? s.status : null;
    }, 500);

    // No run of elections: the term moved by at most termMovesMax anywhere (see its comment).
    await expectTermsSettled(before.term);
    expect(caughtUp.term - before.term).toBeLessThanOrEqual(termMovesMax);

    // The late site holds the whole table, with the attributes written before it started.
    const list = await f.call(late, { op: 'list', local: true }, 60_000);
    expect(list.ok, list.message).toBe(true);
    const tickets = list.data as TicketView[];
    expect(tickets).toHaveLength(ticketCount);
    expect(tickets.find((t) => t.name === name(0))?.attrs['k']).toBe('v0');

    // Replication goes on after the snapshot.
    await write(name(1), 'after', 'snapshot');
    // Still no run of elections, during the transfer, the install, or since.
    await expectTermsSettled(before.term);
    await until('the write after the snapshot to reach the late site', 60_000, async () => {
      const r = await f.call(late, { op: 'attr-get', ticket: name(1), key: 'after', local: true }, 20_000);
      return r.ok && r.data === 'snapshot' ? true : null;
    }, 500);

    // Sent by the leader of the moment (the one before the late site started, unless an election came between).
    const sending = (await Promise.all([arb, early].map(logLines))).flat().filter((l) => l.msg === 'snapshot transfer' && l['peer'] === late.address);
    const started = sending.find((l) => l['stage'] === 'sending');
    expect(started).toBeDefined();
    expect((await logLines(late)).filter((l) => l.msg === 'snapshot transfer' && l['stage'] === 'refused')).toEqual([]);
    const ready = (await logLines(late)).find((l) => l.msg === 'member ready')!;
    const bytes = installed['bytes'] as number;
    const chunks = Math.ceil(bytes / defaultLimits.snapshotChunkBytesMax);
    expect(chunks).toBeGreaterThan(1);
    console.log(
      `snapshot of ${ticketCount} tickets: ${bytes} bytes (${(bytes / 2 ** 20).toFixed(2)} MiB encoded) in ${chunks} chunks; ` +
        `late site ready → installed ${installed.time - ready.time} ms, process started → installed ${installed.time - lateStartedAt} ms ` +
        `(the leader began at ${started!.time - lateStartedAt} ms, before the site could answer if negative)`,
    );
  }, sinkWritesDeadlineMs + startDeadlineMs + 3 * catchUpDeadlineMs + 120_000);
});
