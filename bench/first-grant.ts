// Cold start → first grant of an automatic ticket: a brand-new formation (2
// sites + 1 arbitrator, empty state directories, one automatic ticket) is
// spawned all at once, and the steps on the way to the first sink write are
// timed on the bench's monotonic clock from just before the first spawn:
//   sockets   every member answers on its admin socket (Node start, module
//             loading, config, store, transport);
//   leader    every member names the same registry leader (bootstrap: every
//             member asks the others whether the formation is new; then the
//             first election);
//   committed the leader's table shows the ticket held (placement, commit);
//   written   the holder's sink file says granted (the holder learns the
//             commit, renews, and writes once its lease is live).
// The status polls cost the members a little CPU; the sink write is seen
// through inotify (ticket-watch.ts), not through a poll.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoopbackFormation, LoopbackMember } from '../src/cli/loopback-formation.js';
import { nowMs } from './clock.js';
import { statusOf, type Bench } from './harness.js';
import { round, summarize, type Summary } from './stats.js';
import { TicketFileWatch, type TicketFileHit } from './ticket-watch.js';

const ticket = 'first-grant';
const pollMs = 10;
const roundDeadlineMs = 60_000;

export interface FirstGrantSample {
  readonly round: number;
  readonly socketsMs: number;
  readonly leaderMs: number;
  readonly leaderKind: string;
  readonly committedMs: number;
  readonly writtenMs: number;
  readonly holder: string;
}

export interface FirstGrantResult {
  readonly preset: string;
  readonly firstGrantMs: Summary;
  readonly socketsMs: Summary;
  readonly leaderMs: Summary;
  readonly committedMs: Summary;
  readonly samples: FirstGrantSample[];
}

async function tryStatus(f: LoopbackFormation, m: LoopbackMember): Promise<Awaited<ReturnType<typeof statusOf>> | null> {
  return statusOf(f, m, 1000).catch(() => null);
}

async function oneRound(b: Bench, preset: 'loopback' | 'lan' | 'wan', n: number): Promise<FirstGrantSample> {
  const f = await b.formation({ sites: 2, arbitrators: 1, preset, tickets: [{ name: ticket, expireS: 10, acquireAfterS: 0 }] });
  const watches: TicketFileWatch[] = [];
  try {
    const hits: Array<Promise<{ hit: TicketFileHit; site: LoopbackMember }>> = [];
    for (const s of f.sites) {
      const dir = join(s.dir, 'tickets');
      await mkdir(dir, { recursive: true });
      const w = new TicketFileWatch(dir, ticket, (st) => st.granted, 50);
      watches.push(w);
      hits.push(w.done(`${ticket} written at ${s.address}`, roundDeadlineMs, b.signal).then((hit) => ({ hit, site: s })));
    }
    // Whichever site writes first; the other watch stays open until the finally below closes it.
    const written = Promise.race(hits);
    written.catch(() => undefined);
    const t0 = nowMs();
    for (const m of f.members) f.start(m);
    let socketsAt: number | null = null;
    let leaderAt: number | null = null;
    let leaderKind = '?';
    let committedAt: number | null = null;
    const up = new Set<string>();
    let done: { hit: TicketFileHit; site: LoopbackMember } | null = null;
    void written.then((d) => void (done = d), () => undefined);
    while (done === null || committedAt === null) {
      b.checkAborted();
      if (nowMs() - t0 > roundDeadlineMs) throw new Error(`no first grant within ${roundDeadlineMs} ms; see ${f.root}`);
      const sts = await Promise.all(f.members.map((m) => tryStatus(f, m)));
      const t = nowMs();
      sts.forEach((s, i) => s !== null && up.add(f.members[i]!.address));
      if (socketsAt === null && up.size === f.members.length) socketsAt = t;
      const leaders = sts.map((s) => s?.leader ?? null);
      if (leaderAt === null && leaders.every((l) => l !== null && l === leaders[0])) {
        leaderAt = t;
        leaderKind = f.member(leaders[0]!).kind;
      }
      const lead = sts.find((s) => s?.role === 'leader');
      if (committedAt === null && lead?.tickets.some((v) => v.name === ticket && v.holder !== null) === true) committedAt = t;
      if (done === null || committedAt === null) await new Promise((r) => setTimeout(r, pollMs));
    }
    const d = done as { hit: TicketFileHit; site: LoopbackMember };
    const rel = (x: number | null): number => round((x ?? Number.NaN) - t0, 0);
    const s: FirstGrantSample = { round: n, socketsMs: rel(socketsAt), leaderMs: rel(leaderAt), leaderKind, committedMs: rel(committedAt), writtenMs: rel(d.hit.at), holder: d.site.address };
    b.say(
      `first grant ${n + 1}: every socket answers ${s.socketsMs} ms, agreed leader (${leaderKind}) ${s.leaderMs} ms, ` +
        `committed ${s.committedMs} ms, written at ${s.holder} ${s.writtenMs} ms after the first spawn`,
    );
    return s;
  } finally {
    for (const w of watches) w.close();
    await b.release(f);
  }
}

export async function measureFirstGrant(b: Bench, rounds: number, preset: 'loopback' | 'lan' | 'wan'): Promise<FirstGrantResult> {
  const samples: FirstGrantSample[] = [];
  for (let i = 0; i < rounds; i++) samples.push(await oneRound(b, preset, i));
  const pick = (k: 'writtenMs' | 'socketsMs' | 'leaderMs' | 'committedMs'): Summary => summarize(samples.map((s) => s[k]), 0);
  return { preset, firstGrantMs: pick('writtenMs'), socketsMs: pick('socketsMs'), leaderMs: pick('leaderMs'), committedMs: pick('committedMs'), samples };
}
