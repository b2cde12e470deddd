// `npm run bench:starvation -- [--minutes N] [--hogs N] [--no-priority] [--json] [--keep]`:
// a formation beside CPU hogs (issue 12, item 6). Two site agents and one
// arbitrator of the compiled CLI on 127.0.0.1–3, lan preset, three automatic
// tickets (expire 10 s, acquire-after 2 s, as the fault soak), each site
// writing a real CIB file through the real crm_ticket with its lease guard,
// and `stress-ng --cpu N` (default 2) running for the whole window. Nothing
// else is done to the formation: every member reaches every other, so every
// revoke at a holder, every move and every gap between the registry's holder
// and its CIB is one the protocol should not have made.
//
// Counted once the three tickets are placed, every second: the registry's
// holder and generation of each ticket (a `list` through a member's admin
// socket), and whether the holder's CIB file shows the grant (read in this
// process). At the end, from the members: terms (elections), lease guard
// revokes and how late each landed (lease-guard.log, `lateMs`), failed CIB
// writes, and — from each site's /metrics — the CIB write time histogram and
// the event loop's worst delay per scrape (every 30 s); and from
// /proc/PID/task/PID/schedstat, how much of the window each member's main
// thread spent waiting in the run queue (a stall with little run-queue wait
// is not CPU starvation: I/O, GC). `--no-priority`
// starts every member with `--nice 0` (this process's own priority, no
// raise) for the comparison. The last line with --json is one JSON object.
// Needs stress-ng, crm_ticket (pacemaker-cli-utils) and `npm run build`.

import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendants, parseXmlDocument } from '../src/adapters/xml-cursor.js';
import type { LoopbackFormation, LoopbackMember } from '../src/cli/loopback-formation.js';
import type { TicketView } from '../src/runtime/admin-service.js';
import { nowMs } from './clock.js';
import { Bench, BenchAborted, ensureBuilt, repoRoot, statusOf } from './harness.js';
import { loadAverage1m } from './proc-stats.js';
import { round, summarize } from './stats.js';

const tickets = ['t1', 't2', 't3'];
const expireS = 10;
const acquireAfterS = 2;
const pollIntervalMs = 1_000;
const scrapeIntervalMs = 30_000;
const metricsPort = 19_460;
const placementDeadlineMs = 120_000;
const cibFixture = join(repoRoot, 'test', 'adapters', 'fixtures', 'cib-tickets.xml');

interface Options {
  minutes: number;
  hogs: number;
  priority: boolean;
  json: boolean;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { minutes: 10, hogs: 2, priority: true, json: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (lo: number, hi: number): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(`${a} needs a number in ${lo}..${hi}`);
      return v;
    };
    if (a === '--minutes') o.minutes = num(0.5, 24 * 60);
    else if (a === '--hogs') o.hogs = Math.round(num(0, 64));
    else if (a === '--no-priority') o.priority = false;
    else if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else throw new Error(`unknown option ${a} (--minutes N, --hogs N, --no-priority, --json, --keep)`);
  }
  return o;
}

const cibOf = (m: LoopbackMember): string => join(m.dir, '..', `${m.address}.cib.xml`);

/** Each ticket's CIB state at a site, read in this process; null when the file did not parse (caught mid-write). */
async function cibState(m: LoopbackMember): Promise<Map<string, { granted: boolean; term: number }> | null> {
  let root;
  try {
    root = parseXmlDocument(await readFile(cibOf(m), 'utf8'));
  } catch {
    return null;
  }
  const out = new Map<string, { granted: boolean; term: number }>();
  for (const t of descendants(root, 'ticket_state')) {
    const id = t.attrs.get('id');
    if (id !== undefined) out.set(id, { granted: t.attrs.get('granted') === 'true', term: Number(t.attrs.get('term') ?? 0) });
  }
  return out;
}

async function scrape(m: LoopbackMember): Promise<string | null> {
  try {
    const r = await fetch(`http://${m.address}:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return r.ok ? await r.text() : null;
  } catch {
    return null;
  }
}

function metricValue(text: string, name: string, labels = ''): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

/** The CIB write histogram of one site: per kind, the count at or under each bucket bound. */
function writeBuckets(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of text.matchAll(/^tollbooth_cib_write_duration_seconds_bucket\{le="([^"]+)",kind="([^"]+)"\} (\d+)$/gm)) {
    (out[m[2]!] ??= {})[m[1]!] = Number(m[3]);
  }
  return out;
}

interface GuardRevoke {
  readonly site: string;
  readonly ticket: string;
  readonly lateMs: number;
}

async function guardRevokes(m: LoopbackMember): Promise<GuardRevoke[]> {
  let text: string;
  try {
    text = await readFile(join(m.dir, 'lease-guard.log'), 'utf8');
  } catch {
    return [];
  }
  const out: GuardRevoke[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('revoked by the lease guard')) continue;
    try {
      const j = JSON.parse(line) as { ticket: string; lateMs: number };
      out.push({ site: m.address, ticket: j.ticket, lateMs: Math.round(j.lateMs) });
    } catch {
      // A torn last line (the guard still writing): not a revoke record yet.
    }
  }
  return out;
}

/** The main thread's scheduler figures (/proc/PID/task/PID/schedstat): CPU ns, ns waiting in the run queue, time slices. */
async function schedstat(pid: number): Promise<{ cpuNs: number; waitNs: number; slices: number } | null> {
  try {
    const [cpu, wait, slices] = (await readFile(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')).trim().split(/\s+/).map(Number);
    return cpu === undefined || wait === undefined || slices === undefined ? null : { cpuNs: cpu, waitNs: wait, slices };
  } catch {
    return null;
  }
}

async function logCount(m: LoopbackMember, needle: string): Promise<number> {
  try {
    return (await readFile(m.log, 'utf8')).split('\n').filter((l) => l.includes(needle)).length;
  } catch {
    return 0;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const b = new Bench(false, o.keep);
  let hogs: ChildProcess | null = null;
  const stopHogs = (): void => {
    if (hogs?.pid !== undefined && hogs.exitCode === null) {
      try {
        process.kill(-hogs.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  const onSignal = (): void => {
    stopHogs();
    b.controller.abort(new BenchAborted('signal'));
    void b.releaseAll();
    setTimeout(() => process.exit(130), 20_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', stopHogs);
  const result: Record<string, unknown> = { date: new Date().toISOString(), minutes: o.minutes, hogs: o.hogs, priority: o.priority, formation: { sites: 2, arbitrators: 1, preset: 'lan', tickets: tickets.length, expireS, acquireAfterS, sink: 'crm_ticket on CIB files' } };
  let code = 0;
  try {
    await ensureBuilt(b);
    const f: LoopbackFormation = await b.formation({
      sites: 2,
      arbitrators: 1,
      preset: 'lan',
      ticketSink: 'crm_ticket',
      siteArgs: ['--no-quorum-check', '--no-runnability-check'],
      siteEnv: (m) => ({ CIB_file: cibOf(m) }),
      tickets: tickets.map((name) => ({ name, expireS, acquireAfterS })),
    });
    for (const s of f.sites) await copyFile(cibFixture, cibOf(s));
    for (const m of f.members) f.start(m, ['--http', `${m.address}:${metricsPort}`, ...(o.priority ? [] : ['--nice', '0'])]);
    await Promise.all(f.members.map((m) => f.waitReady(m)));
    const statuses = await Promise.all(f.members.map((m) => statusOf(f, m)));
    // What each member runs with (status shows the outcome of its --nice / --oom-score-adj).
    result.memberPriority = statuses.map((s, i) => {
      const p = s as unknown as { nice?: number; oomScoreAdj?: number | null };
      return { member: f.members[i]!.address, nice: p.nice ?? null, oomScoreAdj: p.oomScoreAdj ?? null };
    });
    const site = f.sites[0]!;
    const list = async (): Promise<TicketView[] | null> => {
      const r = await f.call(site, { op: 'list' }, 10_000).catch(() => null);
      return r?.ok === true ? (r.data as TicketView[]) : null;
    };
    b.say(`waiting for the ${tickets.length} tickets to be placed`);
    const placed = await b.waitFor('every ticket granted in its holder\'s CIB', placementDeadlineMs, async () => {
      const l = await list();
      if (l === null || l.length !== tickets.length || l.some((t) => t.holder === null)) return null;
      for (const t of l) {
        const cib = await cibState(f.member(t.holder!));
        if (cib?.get(t.name)?.granted !== true) return null;
      }
      return l;
    }, 200);
    const initial = new Map(placed.map((t) => [t.name, { holder: t.holder, generation: t.generation }]));
    const firstTerm = Math.max(...(await Promise.all(f.members.map((m) => statusOf(f, m)))).map((s) => s.term));
    b.say(`placed: ${placed.map((t) => `${t.name}@${t.holder} g${t.generation}`).join(', ')}; starting ${o.hogs} CPU hog(s) for ${o.minutes} min`);
    const guardBefore = (await Promise.all(f.sites.map(guardRevokes))).flat().length;
    const failedBefore = (await Promise.all(f.sites.map((s) => logCount(s, 'ticket effect failed')))).reduce((x, y) => x + y, 0);
    if (o.hogs > 0) hogs = spawn('stress-ng', ['--cpu', String(o.hogs), '--timeout', `${Math.ceil(o.minutes * 60) + 30}s`, '--quiet'], { stdio: 'ignore', detached: true });

    const windowMs = o.minutes * 60_000;
    // Where the event loop's time goes when it stalls: waiting for a CPU (run queue) or elsewhere (I/O, GC).
    const pids = f.members.map((m) => m.proc?.pid ?? null);
    const sched0 = await Promise.all(pids.map((p) => (p === null ? Promise.resolve(null) : schedstat(p))));
    const t0 = nowMs();
    let polls = 0;
    let unreadPolls = 0;
    const moves: Array<{ atS: number; ticket: string; from: string | null; to: string | null; generation: number }> = [];
    const gapPolls = new Map<string, number>();
    let longestGapPolls = 0;
    const gapRun = new Map<string, number>();
    const last = new Map(initial);
    const loads: number[] = [];
    const lagMaxS = new Map<string, number>();
    let nextScrape = t0 + scrapeIntervalMs;
    let nextLoad = t0;
    while (nowMs() - t0 < windowMs) {
      b.checkAborted();
      const tick = nowMs();
      if (tick >= nextLoad) {
        loads.push(await loadAverage1m());
        nextLoad = tick + 10_000;
      }
      if (tick >= nextScrape) {
        nextScrape = tick + scrapeIntervalMs;
        for (const m of f.members) {
          const text = await scrape(m);
          const lag = text === null ? null : metricValue(text, 'nodejs_eventloop_lag_max_seconds');
          if (lag !== null && Number.isFinite(lag)) lagMaxS.set(m.address, Math.max(lagMaxS.get(m.address) ?? 0, lag));
        }
      }
      const l = await list();
      polls += 1;
      if (l === null) unreadPolls += 1;
      else {
        for (const t of l) {
          const prev = last.get(t.name);
          if (prev !== undefined && (prev.holder !== t.holder || prev.generation !== t.generation)) {
            moves.push({ atS: round((nowMs() - t0) / 1000, 1), ticket: t.name, from: prev.holder, to: t.holder, generation: t.generation });
            b.say(`MOVE ${t.name}: ${prev.holder ?? '-'} g${prev.generation} → ${t.holder ?? '-'} g${t.generation}`);
          }
          last.set(t.name, { holder: t.holder, generation: t.generation });
          const cib = t.holder === null ? null : await cibState(f.member(t.holder));
          const gap = t.holder === null || (cib !== null && cib.get(t.name)?.granted !== true);
          if (gap) {
            gapPolls.set(t.name, (gapPolls.get(t.name) ?? 0) + 1);
            const run = (gapRun.get(t.name) ?? 0) + 1;
            gapRun.set(t.name, run);
            longestGapPolls = Math.max(longestGapPolls, run);
          } else gapRun.set(t.name, 0);
        }
      }
      const rest = pollIntervalMs - (nowMs() - tick);
      if (rest > 0) await sleep(rest, undefined, { signal: b.signal }).catch(() => undefined);
    }
    const sched1 = await Promise.all(pids.map((p) => (p === null ? Promise.resolve(null) : schedstat(p))));
    const wallNs = (nowMs() - t0) * 1e6;
    result.mainThreadScheduling = f.members.map((m, i) => {
      const a = sched0[i];
      const b = sched1[i];
      if (a === null || a === undefined || b === null || b === undefined) return { member: m.address, error: 'no schedstat' };
      const slices = b.slices - a.slices;
      return {
        member: m.address,
        cpuPct: round((100 * (b.cpuNs - a.cpuNs)) / wallNs, 2),
        runQueueWaitPct: round((100 * (b.waitNs - a.waitNs)) / wallNs, 2),
        meanWaitPerSliceMs: slices > 0 ? round((b.waitNs - a.waitNs) / slices / 1e6, 3) : null,
        slices,
      };
    });
    stopHogs();
    const endStatuses = await Promise.all(f.members.map((m) => statusOf(f, m).catch(() => null)));
    const revokes = (await Promise.all(f.sites.map(guardRevokes))).flat().slice(guardBefore);
    const failed = (await Promise.all(f.sites.map((s) => logCount(s, 'ticket effect failed')))).reduce((x, y) => x + y, 0) - failedBefore;
    const writes: Record<string, Record<string, Record<string, number>>> = {};
    for (const s of f.sites) {
      const text = await scrape(s);
      if (text !== null) writes[s.address] = writeBuckets(text);
    }
    const terms = endStatuses.filter((s) => s !== null).map((s) => s.term);
    const elections = terms.length > 0 ? Math.max(...terms) - firstTerm : null;
    result.window = {
      polls,
      unreadPolls,
      loadAverage1m: loads.length > 0 ? { ...summarize(loads, 2), max: Math.max(...loads) } : null,
      moves,
      gapPolls: Object.fromEntries(gapPolls),
      longestGapS: round((longestGapPolls * pollIntervalMs) / 1000, 0),
      elections,
      leaseGuardRevokes: revokes,
      cibWritesFailed: failed,
      cibWriteSecondsBuckets: writes,
      eventLoopLagMaxS: Object.fromEntries([...lagMaxS].map(([k, v]) => [k, round(v, 3)])),
    };
    const clean = moves.length === 0 && gapPolls.size === 0 && revokes.length === 0;
    result.revokesAtReachableHolders = moves.length + revokes.length;
    b.say(
      `done: ${polls} polls, load ${loads.length > 0 ? `${Math.min(...loads)}–${Math.max(...loads)}` : '?'}; ${moves.length} moves, ` +
        `${[...gapPolls.values()].reduce((x, y) => x + y, 0)} gap polls, ${revokes.length} lease guard revokes${revokes.length > 0 ? ` (late ${revokes.map((r) => r.lateMs).join(', ')} ms)` : ''}, ` +
        `${failed} failed CIB writes, ${elections ?? '?'} elections — ${clean ? 'CLEAN' : 'NOT CLEAN'}`,
    );
    if (!clean) code = 1;
  } catch (err) {
    stopHogs();
    result.error = err instanceof Error ? err.message : String(err);
    b.say(`starvation bench failed: ${result.error as string}`);
    code = b.signal.aborted ? 130 : 2;
  } finally {
    await b.releaseAll();
  }
  if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return code;
}

process.exit(await main());
