// `npm run bench [-- --json] [-- --quick]`: measures a real formation of the
// compiled CLI (2 site agents + 1 arbitrator on 127.0.0.1–3, loopback
// preset): start-up time, admin grant latency, failover after kill -9,
// idle footprint, and steady-state traffic and CPU with 1 to 10 000 tickets.
// Prints what it measures as it goes; with --json the last line of standard
// output is one JSON object with every figure. docs/benchmarks.md explains
// the method and the figures.
//
// TOLLBOOTH_BENCH_CLI=PATH runs the members and the CLI from another build of
// dist/bin/tollbooth.js (to compare two builds in alternating runs).
//
// Options:
//   --json              end with the JSON line
//   --out FILE          also write the JSON object to FILE
//   --quick             fewer samples and shorter windows (smoke run, figures not for the docs)
//   --only LIST         comma-separated subset of cli,startup,firstgrant,grant,failover,idle,health,tickets,wan
//                       (default: all but wan)
//   --first-grant-rounds N / --first-grant-preset P   cold start → first grant (default 5 rounds, lan)
//   --failover-kills N  kills of the holder (default 6; 2 with --quick)
//   --failover-lease-s S / --failover-preset P        the failover ticket's expire (default 4) and preset (default loopback)
//   --failover-lead-every N  before every Nth kill, move the registry leadership to the holder first
//                       (default 3; 0: never, the leader is whoever the formation chose)
//   --idle-presets LIST presets of the idle-footprint formations (default lan,loopback; also wan, and booth:
//                       a booth.conf's own timers, booth's default expire 600 s and timeout 5 s)
//   --idle-window-s N   length of each idle window (default 30; 10 with --quick)
//   --steady-window-s N length of each steady-state window after placement (default 10; 3 with --quick):
//                       a longer one shows whether a site's sink writes at rest stop or go on
//   --node-flags FLAGS  space-separated Node flags for every idle and steady-state member (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
//   --tickets LIST      ticket counts for the steady-state runs (default 1,100,1000,10000)
//   --steady-preset P   timing preset of the steady-state formations: auto (default: loopback below
//                       5 000 tickets, lan from 5 000 on — loopback renews every 200 ms, which is
//                       meant for small demos, not thousands of tickets), loopback, lan, wan
//   --tickets-sink S    what the steady-state sites write: file (default; the stand-in, one fsync'd file
//                       per ticket) or crm_ticket (the real sink: cibadmin/crm_ticket on a copy of
//                       test/adapters/fixtures/cib-tickets.xml per site through CIB_file, no cib daemon;
//                       needs pacemaker-cli-utils)
//   --keep              keep the formations' directories (configs, logs, state)
// The wan section (issue 15 item 6; bench/wan.ts, bench/wan-net.ts; needs root): per (preset, expire),
// 2 sites + 1 arbitrator in network namespaces behind an emulated WAN, left alone for a run, then a
// failover after a kill and after a cut WAN:
//   --wan-rtt-ms N      round-trip time (default 200)
//   --wan-jitter-ms N   ± jitter of each one-way delay (default 20)
//   --wan-loss-pct N    loss in each direction, percent (default 5)
//   --wan-presets LIST  timing presets (default lan,wan)
//   --wan-expire LIST   ticket expire values, seconds (default 10,20,30)
//   --wan-minutes N     length of each point's run (default 60: the issue's hour)
//   --wan-failovers N   failover samples per point, each of kill and cut (default 1)

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { promisify } from 'node:util';
import { timingPresets } from '../src/config/presets.js';
import { nowMs } from './clock.js';
import { measureCliStartup, type CliStartupResult } from './cli-startup.js';
import { measureFailover, type FailoverResult } from './failover.js';
import { measureFirstGrant, type FirstGrantResult } from './first-grant.js';
import { measureGrants, type GrantResult } from './grant.js';
import { Bench, BenchAborted, ensureBuilt, repoRoot } from './harness.js';
import { loadAverage1m } from './proc-stats.js';
import { round } from './stats.js';
import { measureStartup, type StartupResult } from './startup.js';
import { measureSteady, type SteadyResult } from './steady.js';
import { parseTicketsSink, type TicketsSink } from './tickets-sink.js';
import { describeIdle, idlePresets, measureIdle, type IdlePreset, type IdleResult } from './idle.js';
import { measureHealthRound, type HealthRoundResult } from './health-round.js';
import { measureWan, type WanPoint, type WanResult } from './wan.js';

const execFileP = promisify(execFile);

const sections = ['cli', 'startup', 'firstgrant', 'grant', 'failover', 'idle', 'health', 'tickets', 'wan'] as const;
/** Run without --only: every section but wan (root, network namespaces, and minutes to hours per point). */
const defaultSections = sections.filter((s) => s !== 'wan');
type Section = (typeof sections)[number];

interface Options {
  json: boolean;
  out: string | null;
  quick: boolean;
  only: Set<Section>;
  tickets: number[];
  /** Timing preset for the steady-state formations (the other sections use loopback). */
  steadyPreset: 'auto' | 'loopback' | 'lan' | 'wan';
  /** What the steady-state sites write (bench/tickets-sink.ts). */
  ticketsSink: TicketsSink;
  keep: boolean;
  idlePresets: IdlePreset[];
  idleWindowS: number | null;
  steadyWindowS: number | null;
  nodeFlags: string[];
  wan: { rttMs: number; jitterMs: number; lossPct: number; presets: Array<'lan' | 'wan' | 'loopback'>; expireS: number[]; minutes: number; failovers: number };
  firstGrantRounds: number;
  firstGrantPreset: Preset;
  failoverKills: number | null;
  failoverLeaseS: number;
  failoverPreset: Preset;
  failoverLeadEvery: number;
}

type Preset = 'loopback' | 'lan' | 'wan';

function preset(flag: string, v: string): Preset {
  if (v !== 'loopback' && v !== 'lan' && v !== 'wan') throw new Error(`${flag}: loopback, lan or wan`);
  return v;
}

function count(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${flag}: an integer in ${min}..${max}`);
  return n;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { json: false, out: null, quick: false, only: new Set(defaultSections), tickets: [1, 100, 1000, 10_000], keep: false, steadyPreset: 'auto', ticketsSink: 'file', idlePresets: ['lan', 'loopback'], idleWindowS: null, steadyWindowS: null, nodeFlags: [], wan: { rttMs: 200, jitterMs: 20, lossPct: 5, presets: ['lan', 'wan'], expireS: [10, 20, 30], minutes: 60, failovers: 1 }, firstGrantRounds: 5, firstGrantPreset: 'lan', failoverKills: null, failoverLeaseS: 4, failoverPreset: 'loopback', failoverLeadEvery: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--out') o.out = value();
    else if (a === '--only') {
      const list = value().split(',');
      for (const s of list) if (!(sections as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${s} (${sections.join(', ')})`);
      o.only = new Set(list as Section[]);
    } else if (a === '--steady-preset') {
      const v = value();
      if (v !== 'auto' && v !== 'loopback' && v !== 'lan' && v !== 'wan') throw new Error('--steady-preset: auto, loopback, lan or wan');
      o.steadyPreset = v;
    } else if (a === '--tickets-sink') o.ticketsSink = parseTicketsSink(value());
    else if (a === '--idle-presets') {
      const list = value().split(',');
      for (const p of list) if (!(idlePresets as readonly string[]).includes(p)) throw new Error(`--idle-presets: unknown preset ${p} (${idlePresets.join(', ')})`);
      o.idlePresets = list as IdlePreset[];
    } else if (a === '--idle-window-s') {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 1 || n > 3600) throw new Error('--idle-window-s: an integer number of seconds in 1..3600');
      o.idleWindowS = n;
    } else if (a === '--steady-window-s') {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 1 || n > 3600) throw new Error('--steady-window-s: an integer number of seconds in 1..3600');
      o.steadyWindowS = n;
    } else if (a === '--first-grant-rounds') o.firstGrantRounds = count(a, value(), 1, 50);
    else if (a === '--first-grant-preset') o.firstGrantPreset = preset(a, value());
    else if (a === '--failover-kills') o.failoverKills = count(a, value(), 1, 100);
    else if (a === '--failover-lease-s') o.failoverLeaseS = count(a, value(), 2, 600);
    else if (a === '--failover-preset') o.failoverPreset = preset(a, value());
    else if (a === '--failover-lead-every') o.failoverLeadEvery = count(a, value(), 0, 100);
    else if (a === '--node-flags') {
      o.nodeFlags = value().split(' ').filter((x) => x !== '');
    } else if (a === '--tickets') {
      o.tickets = value().split(',').map(Number);
      if (o.tickets.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 20_000)) throw new Error('--tickets: counts must be integers in 1..20000');
    } else if (a === '--wan-rtt-ms' || a === '--wan-jitter-ms' || a === '--wan-loss-pct' || a === '--wan-minutes' || a === '--wan-failovers') {
      const n = Number(value());
      const [key, lo, hi] = ({ '--wan-rtt-ms': ['rttMs', 0, 10_000], '--wan-jitter-ms': ['jitterMs', 0, 5_000], '--wan-loss-pct': ['lossPct', 0, 50], '--wan-minutes': ['minutes', 0.1, 24 * 60], '--wan-failovers': ['failovers', 0, 100] } as const)[a];
      if (!Number.isFinite(n) || n < lo || n > hi) throw new Error(`${a}: a number in ${lo}..${hi}`);
      o.wan[key] = n;
    } else if (a === '--wan-presets') {
      const list = value().split(',');
      for (const p of list) if (p !== 'loopback' && p !== 'lan' && p !== 'wan') throw new Error(`--wan-presets: unknown preset ${p} (loopback, lan, wan)`);
      o.wan.presets = list as Array<'lan' | 'wan' | 'loopback'>;
    } else if (a === '--wan-expire') {
      o.wan.expireS = value().split(',').map(Number);
      if (o.wan.expireS.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 3600)) throw new Error('--wan-expire: seconds, integers in 1..3600');
    } else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** One line of an error for the report (config errors can list thousands of lines). */
function brief(err: unknown, max = 600): string {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

async function git(args: string[]): Promise<string> {
  try {
    return (await execFileP('git', args, { cwd: repoRoot, timeout: 10_000 })).stdout.trim();
  } catch (err) {
    return `unknown (${brief(err, 100)})`;
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const b = new Bench(false, o.keep);
  const started = nowMs();
  // Whole-run budget (~10 minutes): the 10 000-ticket placement gets what is left of it.
  const budgetMs = o.quick ? 240_000 : 570_000;
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    b.say(`${sig}: stopping every member and removing the temporary directories`);
    b.controller.abort(new BenchAborted(sig));
    // Stopping the members makes every pending wait fail at once; main() then unwinds and returns 130.
    // Should it hang anyway, exit regardless (the exit handler kills what is left).
    void b.releaseAll();
    setTimeout(() => process.exit(130), 20_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  try {
    await ensureBuilt(b);
    const preset = timingPresets.loopback;
    const load0 = await loadAverage1m();
    result.date = new Date().toISOString();
    result.machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, kernel: release(), loadAverage1mAtStart: load0 };
    result.git = { commit: await git(['rev-parse', 'HEAD']), dirtyFiles: (await git(['status', '--porcelain'])).split('\n').filter((l) => l !== '').length };
    result.preset = { name: preset.name, heartbeatIntervalMs: preset.heartbeatIntervalMs, electionTimeoutMs: preset.electionTimeoutMs, renewIntervalMs: preset.renewIntervalMs };
    result.quick = o.quick;
    b.say(`tollbooth bench: ${cpus().length} cores, Node ${process.version}, load average ${load0}; loopback preset, 2 sites + 1 arbitrator${o.quick ? ' (QUICK run: figures are a smoke test only)' : ''}`);

    const run = async <T>(section: Section, fn: () => Promise<T>): Promise<T | null> => {
      if (!o.only.has(section)) return null;
      b.checkAborted();
      try {
        return await fn();
      } catch (err) {
        if (err instanceof BenchAborted || b.signal.aborted) throw err;
        errors[section] = brief(err);
        b.say(`${section} FAILED: ${errors[section]}`);
        return null;
      }
    };

    const cli = await run<CliStartupResult>('cli', () => measureCliStartup(b, o.quick ? 3 : 9));
    if (cli !== null) {
      result.cliStartup = { ...cli, loadAverage1m: await loadAverage1m() };
      b.say(`CLI: --help ×${cli.commands.help!.wallRatio} node -e 0 (wall), list ${cli.commands.list!.wallMs.p50} ms wall`);
    }

    const startup = await run<StartupResult>('startup', () => measureStartup(b, o.quick ? 2 : 3));
    if (startup !== null) {
      result.startupMs = startup.startupMs;
      result.startupInProcessMs = startup.startupInProcessMs;
      result.startup = startup;
      b.say(`startup: median ${startup.startupMs} ms spawn → admin socket answering; ${startup.startupInProcessMs} ms in-process ('member ready' startupMs)`);
    }

    const firstGrant = await run<FirstGrantResult>('firstgrant', () => measureFirstGrant(b, o.quick ? 2 : o.firstGrantRounds, o.firstGrantPreset));
    if (firstGrant !== null) {
      result.firstGrant = { ...firstGrant, loadAverage1m: await loadAverage1m() };
      b.say(`cold start → first grant (${firstGrant.preset}): p50 ${firstGrant.firstGrantMs.p50} ms (${firstGrant.firstGrantMs.min}–${firstGrant.firstGrantMs.max}); sockets ${firstGrant.socketsMs.p50}, leader ${firstGrant.leaderMs.p50}, committed ${firstGrant.committedMs.p50} ms`);
    }

    const grants = await run<GrantResult>('grant', () => measureGrants(b, o.quick ? 6 : 30));
    if (grants !== null) {
      result.grantLatencyMs = grants.grantLatencyMs;
      result.grant = grants;
      b.say(`grant latency (admin grant → sink write): p50 ${grants.grantLatencyMs.p50} ms, p99 ${grants.grantLatencyMs.p99} ms over ${grants.grantLatencyMs.n} grants`);
    }

    const failover = await run<FailoverResult>('failover', () => measureFailover(b, o.failoverKills ?? (o.quick ? 2 : 6), o.failoverLeaseS, 0, o.failoverPreset, o.failoverLeadEvery));
    if (failover !== null) {
      result.failoverLoadAverage1m = await loadAverage1m();
      result.failoverMs = failover.failoverMs;
      result.failoverBoundMs = failover.failoverBoundMs;
      result.failover = failover;
      b.say(
        `failover (kill -9 → other site's sink write, lease ${o.failoverLeaseS} s, ${o.failoverPreset}): ÷ expire p50 ${failover.perExpire.p50} (${failover.perExpire.min}–${failover.perExpire.max}), killed holder led ${failover.samples.filter((x) => x.killedWasLeader).length}/${failover.samples.length};` +
          ` p50 ${failover.failoverMs.p50} ms, p99 ${failover.failoverMs.p99} ms; ` +
          `bound ${failover.failoverBoundMs} ms (${failover.failoverBoundLeaderMs} ms when the holder led): ${failover.withinBound}/${failover.samples.length} within; ` +
          `with two election timeouts for the leader case (${failover.failoverBoundLeaderTwoTimeoutsMs} ms): ${failover.withinBoundTwoTimeouts}/${failover.samples.length} within`,
      );
    }

    if (o.only.has('idle')) {
      // The idle footprint per preset, each against a baseline node process in the same window (bench/idle.ts).
      const idle: Record<string, IdleResult | { error: string }> = {};
      result.idleByPreset = idle;
      const windowMs = 1000 * (o.idleWindowS ?? (o.quick ? 10 : 30));
      for (const p of o.idlePresets) {
        b.checkAborted();
        b.say(`idle footprint, ${p} preset: 2 sites + 1 arbitrator, 1 ticket, ${windowMs / 1000} s window`);
        try {
          const r = await measureIdle(b, p, windowMs, o.nodeFlags);
          idle[p] = r;
          b.say(`  ${describeIdle(r)}`);
        } catch (err) {
          if (err instanceof BenchAborted || b.signal.aborted) throw err;
          idle[p] = { error: brief(err) };
          errors[`idle.${p}`] = brief(err);
          b.say(`  idle ${p} FAILED: ${brief(err)}`);
        }
      }
    }

    const health = await run<HealthRoundResult>('health', () => measureHealthRound(o.quick ? 5 : 20));
    if (health !== null) {
      result.healthRound = health;
      const lan = health.corePctByPreset.lan!;
      b.say(
        `health round of a crm_ticket site: full ${health.full.cpuMsPerRound} ms CPU (${health.full.wallMsPerRound} ms wall), ` +
          `kept (CIB unchanged) ${health.kept.cpuMsPerRound} ms CPU; under lan ${lan.full} % → ${lan.kept} % of a core`,
      );
    }

    if (o.only.has('tickets')) {
      const tickets: Record<string, SteadyResult | { error: string; sink: TicketsSink }> = {};
      result.tickets = tickets;
      const windowMs = 1000 * (o.steadyWindowS ?? (o.quick ? 3 : 10));
      for (const n of [...o.tickets].sort((x, y) => x - y)) {
        b.checkAborted();
        const left = budgetMs - (nowMs() - started);
        // Small tables place in seconds; a large one gets what is left of the budget, at most 3 minutes.
        const placementDeadlineMs = Math.max(60_000, Math.min(180_000, left - windowMs - 45_000));
        const preset = o.steadyPreset === 'auto' ? (n >= 5_000 ? 'lan' : 'loopback') : o.steadyPreset;
        b.say(`steady state with ${n} automatic ticket${n === 1 ? '' : 's'}, ${preset} preset, ${o.ticketsSink} sink (placement deadline ${(placementDeadlineMs / 1000).toFixed(0)} s)`);
        try {
          tickets[String(n)] = await measureSteady(b, n, windowMs, placementDeadlineMs, preset, o.nodeFlags, o.ticketsSink);
        } catch (err) {
          if (err instanceof BenchAborted || b.signal.aborted) throw err;
          tickets[String(n)] = { error: brief(err), sink: o.ticketsSink };
          errors[`tickets.${n}`] = brief(err);
          b.say(`  ${n} tickets FAILED: ${brief(err)}`);
        }
      }
      const one = tickets['1'];
      if (one !== undefined && !('error' in one)) {
        // The idle footprint: a site agent that does not lead (the leader does the heartbeating), at the end of a
        // window of ≥ 10 s in which nothing but the protocol's own timers ran.
        const sites = one.members.filter((m) => m.kind === 'site');
        const idle = sites.find((m) => m.role !== 'leader' && m.ticketsHeld > 0) ?? sites.find((m) => m.role !== 'leader') ?? sites[0]!;
        result.rssMiB = idle.rssMiB;
        result.cpuPctIdle = idle.cpuPct;
        result.idle = { member: idle.address, role: idle.role, ticketsHeld: idle.ticketsHeld, windowS: one.windowS, members: one.members };
        b.say(`idle site agent ${idle.address} (${idle.role}, holds ${idle.ticketsHeld} ticket): RSS ${idle.rssMiB} MiB, CPU ${idle.cpuPct} % of one core`);
      }
      // Renewal traffic against the table size: the smallest count against the largest measured with the
      // same preset (message counts depend on the preset's timers, not on the tickets).
      const measured = Object.entries(tickets)
        .filter((e): e is [string, SteadyResult] => !('error' in e[1]))
        .sort((x, y) => Number(x[0]) - Number(y[0]));
      const small = measured[0];
      const large = measured.filter((e) => e[1].preset === small?.[1].preset).pop();
      if (small !== undefined && large !== undefined && small !== large) {
        const [sn, s] = small;
        const [ln, l] = large;
        result.renewalScaling = {
          compared: [sn, ln],
          messagesPerSec: { [sn]: s.messagesPerSec, [ln]: l.messagesPerSec, ratio: round(l.messagesPerSec / s.messagesPerSec, 2) },
          bytesPerSec: { [sn]: s.bytesPerSec, [ln]: l.bytesPerSec, ratio: s.bytesPerSec !== null && l.bytesPerSec !== null ? round(l.bytesPerSec / s.bytesPerSec, 1) : null },
          note: tickets['10000'] !== undefined && 'error' in tickets['10000'] ? '10000 tickets could not be measured (see tickets["10000"].error); the largest measured count is compared instead' : undefined,
        };
        b.say(`renewal traffic (${s.preset} preset): ${s.messagesPerSec} frames/s with ${sn} ticket(s), ${l.messagesPerSec} frames/s with ${ln}; bytes ×${(result.renewalScaling as { bytesPerSec: { ratio: number | null } }).bytesPerSec.ratio ?? '?'}`);
      }
    }

    const wanProfile = { rttMs: o.wan.rttMs, jitterMs: o.wan.jitterMs, lossPct: o.wan.lossPct };
    // Points go into the result as they complete: an interrupted run still reports the ones it finished.
    const wanPoints: WanPoint[] = [];
    if (o.only.has('wan')) result.wan = { profile: wanProfile, minutesPerPoint: o.wan.minutes, points: wanPoints };
    const wan = await run<WanResult>('wan', () =>
      measureWan(b, { profile: wanProfile, presets: o.wan.presets, expireS: o.wan.expireS, minutes: o.wan.minutes, failovers: o.wan.failovers }, wanPoints),
    );
    if (wan !== null) {
      result.wan = wan;
      for (const p of wan.points) {
        if (p.error !== undefined) continue;
        const fo = p.failovers.map((x) => `${x.how} ${(x.failoverMs / 1000).toFixed(1)} s`).join(', ');
        b.say(`wan ${p.preset} expire ${p.expireS} s, ${(p.runS / 60).toFixed(1)} min: ${p.held ? 'held' : 'DID NOT HOLD'} (${p.revokes} revokes, ${p.regrants} regrants, ${p.termsGoneBy} terms); failover ${fo}`);
      }
    }
  } catch (err) {
    if (!(err instanceof BenchAborted) && !b.signal.aborted) errors.bench = brief(err);
    b.say(`bench stopped: ${brief(err)}`);
  } finally {
    await b.releaseAll();
  }
  if (b.signal.aborted) result.interrupted = true;
  result.sigkills = b.sigkills;
  result.loadAverage1mAtEnd = await loadAverage1m();
  result.durationS = round((nowMs() - started) / 1000, 0);
  if (Object.keys(errors).length > 0) result.errors = errors;
  b.say(`done in ${result.durationS as number} s${Object.keys(errors).length > 0 ? ` with errors in ${Object.keys(errors).join(', ')}` : ''}`);
  const line = JSON.stringify(result);
  if (o.out !== null) await writeFile(o.out, `${JSON.stringify(result, null, 2)}\n`);
  if (o.json) process.stdout.write(`${line}\n`);
  if (b.signal.aborted) return 130;
  return Object.keys(errors).length > 0 ? 1 : 0;
}

process.exit(await main());
