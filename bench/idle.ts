// The idle footprint of a formation (issue 15, item 1): 2 site agents and an
// arbitrator with one automatic ticket, held, nothing else happening. After
// the ticket is granted and the log is replicated everywhere, and a settling
// pause, one window measures per member:
//   - cpuPct: CPU time (utime + stime from /proc/<pid>/stat) over the window,
//     % of one core — CPU time, not wall time, so that a busy machine slows
//     the measurement but does not inflate it;
//   - rssMiB: VmRSS at the end of the window;
//   - framesSentPerSec: transport frames (the `peers` op's `sent` counters);
// and for the formation: TCP segments sent (segs_out, pure ACKs included)
// and those that carried data, and payload bytes (tcp-bytes.ts).
// A baseline process, `node -e "setInterval(()=>{},1000)"`, runs through the
// same window on the same machine and is measured the same way: on a shared
// machine the honest figure is the member against that baseline, in the
// same run. So does a bare TCP exchange of two Node processes (exchangePerSec
// small messages each way, no crypto, no protocol): the least a member's
// frames can cost on this machine. The load average is recorded at both ends.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { LoopbackFormation } from '../src/cli/loopback-formation.js';
import { nowMs, windowElapsed } from './clock.js';
import { replicatedLeader, peersOf, pidOf, statusOf, type Bench } from './harness.js';
import { cpuSeconds, loadAverage1m, rssMiB } from './proc-stats.js';
import { round } from './stats.js';
import { bytesBetween, sampleTcp, segmentsBetween, type TcpSample } from './tcp-bytes.js';

/** A timing preset, or `booth`: a booth.conf's own timers (no preset line; the ticket at booth's defaults, expire 600 s, timeout 5 s). */
export type IdlePreset = 'loopback' | 'lan' | 'wan' | 'booth';
export const idlePresets: readonly IdlePreset[] = ['loopback', 'lan', 'wan', 'booth'];

export interface IdleMember {
  readonly address: string;
  readonly kind: 'site' | 'arbitrator';
  readonly role: 'leader' | 'follower';
  readonly holdsTicket: boolean;
  readonly cpuPct: number;
  readonly rssMiB: number;
  readonly framesSentPerSec: number;
}

export interface IdleResult {
  readonly preset: IdlePreset;
  readonly windowS: number;
  /** `node -e "setInterval(()=>{},1000)"` through the same window. */
  readonly baseline: { readonly cpuPct: number; readonly rssMiB: number };
  /** Two bare Node processes exchanging `messagesPerSec` 120-byte messages each way over TCP through the same window (exchangeScript): CPU of the sender and of the echo. */
  readonly tcpExchange: { readonly messagesPerSec: number; readonly senderCpuPct: number; readonly echoCpuPct: number };
  readonly members: IdleMember[];
  /** The site agent that holds the ticket and does not lead (else any site that does not lead). */
  readonly idleSite: IdleMember;
  /** Transport frames sent per second, all members. */
  readonly framesPerSec: number;
  /** TCP segments sent per second between the members (pure ACKs included), and those that carried data. */
  readonly segmentsPerSec: number | null;
  readonly dataSegmentsPerSec: number | null;
  readonly bytesPerSec: number | null;
  /** Same leader and term, ticket still held by the same site at the same generation. */
  readonly stable: boolean;
  readonly loadAverage1m: { readonly start: number; readonly end: number };
  readonly notes: string[];
}

/**
 * The second baseline: two bare Node processes on 127.0.0.1 that exchange a 120-byte message
 * `exchangePerSec` times a second over one TCP connection (TCP_NODELAY), one sending and reading the
 * echo, the other echoing — no encryption, no signatures, no protocol: what a member's frames cost at
 * least on this machine, since each frame is a write and a read of a socket. A follower under `lan`
 * receives and answers about 10 Raft heartbeats a second, hence the rate.
 */
const exchangePerSec = 10;
const echoScript = `const s=require('net').createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
const pingScript = `const c=require('net').connect(+process.argv[1],'127.0.0.1',()=>{c.setNoDelay(true);const m=Buffer.alloc(120,7);setInterval(()=>c.write(m),${1000 / exchangePerSec})});c.on('data',()=>{});c.on('error',()=>process.exit(1))`;

interface Exchange {
  readonly echo: ChildProcess;
  readonly ping: ChildProcess;
}

async function startExchange(): Promise<Exchange> {
  const echo = spawn(process.execPath, ['-e', echoScript], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [line] = (await once(echo.stdout, 'data')) as [Buffer];
  const ping = spawn(process.execPath, ['-e', pingScript, line.toString().trim()], { stdio: 'ignore' });
  return { echo, ping };
}

async function stopProcess(p: ChildProcess): Promise<void> {
  p.kill('SIGTERM');
  if (p.exitCode === null && p.signalCode === null) await once(p, 'exit');
}

/** Time after the log settled before the window opens: start-up garbage and first-contact work are done. */
const settleMsDefault = 5_000;
const baselineScript = 'setInterval(()=>{},1000)';

interface Sample {
  readonly at: number;
  readonly sent: Map<string, number>;
  readonly cpu: Map<string, number>;
  readonly baselineCpu: number;
  readonly exchangeCpu: { readonly ping: number; readonly echo: number };
  readonly tcp: TcpSample | null;
}

async function sample(f: LoopbackFormation, baseline: ChildProcess, exchange: Exchange): Promise<Sample> {
  const at = nowMs();
  const sent = new Map<string, number>();
  const cpu = new Map<string, number>();
  // CPU first and together, so that the admin calls below do not fall inside one member's figure and not another's.
  await Promise.all(f.members.map(async (m) => cpu.set(m.address, await cpuSeconds(pidOf(m)))));
  const baselineCpu = await cpuSeconds(baseline.pid!);
  const exchangeCpu = { ping: await cpuSeconds(exchange.ping.pid!), echo: await cpuSeconds(exchange.echo.pid!) };
  const tcp = await sampleTcp(f.port).catch(() => null);
  for (const m of f.members) sent.set(m.address, (await peersOf(f, m)).peers.reduce((a, p) => a + p.sent, 0));
  return { at, sent, cpu, baselineCpu, exchangeCpu, tcp };
}

async function ticketPicture(f: LoopbackFormation): Promise<{ holder: string | null; generation: number }> {
  for (const m of f.sites) {
    const st = await statusOf(f, m);
    const t = st.tickets[0];
    if (t?.grantedHere === true && t.holder === m.address) return { holder: m.address, generation: t.generation };
  }
  return { holder: null, generation: -1 };
}

/**
 * One idle formation with `preset`, measured over `windowMs`. `nodeFlags` go
 * before the CLI script on every member's command line (e.g. `--cpu-prof`
 * for a profile of the same run).
 */
export async function measureIdle(b: Bench, preset: IdlePreset, windowMs: number, nodeFlags: readonly string[] = [], settleMs = settleMsDefault): Promise<IdleResult> {
  // Leases long enough for each preset's timers (steady.ts uses the same); booth's defaults for `booth`.
  const ticket = preset === 'booth' ? { name: 'idle', expireS: 600, timeoutMs: 5_000, acquireAfterS: 0 } : { name: 'idle', expireS: preset === 'loopback' ? 10 : preset === 'lan' ? 30 : 120, acquireAfterS: 0 };
  const f = await b.formation({ sites: 2, arbitrators: 1, preset, tickets: [ticket] }, nodeFlags);
  const baseline = spawn(process.execPath, ['-e', baselineScript], { stdio: 'ignore' });
  const exchange = await startExchange();
  const notes: string[] = [];
  try {
    for (const m of f.members) f.start(m);
    await Promise.all(f.members.map((m) => f.waitReady(m)));
    const granted = await b.waitFor('the ticket to be granted at a site', 60_000, async () => {
      const p = await ticketPicture(f);
      return p.holder === null ? null : p;
    }, 200);
    const leader = await replicatedLeader(b, f);
    const termBefore = (await statusOf(f, leader)).term;
    await windowElapsed(settleMs, b.signal);
    const loadStart = await loadAverage1m();
    const a = await sample(f, baseline, exchange);
    await windowElapsed(windowMs, b.signal);
    const z = await sample(f, baseline, exchange);
    const loadEnd = await loadAverage1m();
    const windowS = (z.at - a.at) / 1000;
    const rss = new Map<string, number>();
    for (const m of f.members) rss.set(m.address, await rssMiB(pidOf(m)));
    const baselineRss = await rssMiB(baseline.pid!);
    const after = await ticketPicture(f);
    const leaderAfter = await statusOf(f, leader);
    const stable = after.holder === granted.holder && after.generation === granted.generation && leaderAfter.role === 'leader' && leaderAfter.term === termBefore;
    if (!stable) notes.push(`not stable: holder ${granted.holder}→${after.holder}, generation ${granted.generation}→${after.generation}, leader term ${termBefore}→${leaderAfter.term} (${leaderAfter.role})`);
    let segmentsPerSec: number | null = null;
    let dataSegmentsPerSec: number | null = null;
    let bytesPerSec: number | null = null;
    if (a.tcp !== null && z.tcp !== null) {
      const d = bytesBetween(a.tcp, z.tcp);
      if (d.changed) notes.push(`TCP connections changed during the window (${d.connections} kept): the wire figures count only those`);
      if (d.connections > 0) {
        const s = segmentsBetween(a.tcp, z.tcp);
        bytesPerSec = round(d.bytes / windowS, 0);
        segmentsPerSec = round(s.all / windowS, 1);
        dataSegmentsPerSec = round(s.data / windowS, 1);
      }
    } else {
      notes.push('ss not available: no wire figures');
    }
    const members: IdleMember[] = f.members.map((m) => ({
      address: m.address,
      kind: m.kind,
      role: m === leader ? 'leader' : 'follower',
      holdsTicket: m.address === after.holder,
      cpuPct: round((100 * (z.cpu.get(m.address)! - a.cpu.get(m.address)!)) / windowS, 2),
      rssMiB: round(rss.get(m.address)!, 1),
      framesSentPerSec: round((z.sent.get(m.address)! - a.sent.get(m.address)!) / windowS, 1),
    }));
    const sites = members.filter((m) => m.kind === 'site');
    const idleSite = sites.find((m) => m.role !== 'leader' && m.holdsTicket) ?? sites.find((m) => m.role !== 'leader') ?? sites[0]!;
    return {
      preset,
      windowS: round(windowS, 2),
      baseline: { cpuPct: round((100 * (z.baselineCpu - a.baselineCpu)) / windowS, 2), rssMiB: round(baselineRss, 1) },
      tcpExchange: {
        messagesPerSec: exchangePerSec,
        senderCpuPct: round((100 * (z.exchangeCpu.ping - a.exchangeCpu.ping)) / windowS, 2),
        echoCpuPct: round((100 * (z.exchangeCpu.echo - a.exchangeCpu.echo)) / windowS, 2),
      },
      members,
      idleSite,
      framesPerSec: round(members.reduce((s, m) => s + m.framesSentPerSec, 0), 1),
      segmentsPerSec,
      dataSegmentsPerSec,
      bytesPerSec,
      stable,
      loadAverage1m: { start: loadStart, end: loadEnd },
      notes,
    };
  } finally {
    await Promise.all([stopProcess(baseline), stopProcess(exchange.ping), stopProcess(exchange.echo)]);
    await b.release(f);
  }
}

/** One line for the bench's running output. */
export function describeIdle(r: IdleResult): string {
  const wire = r.segmentsPerSec === null ? 'no wire figures' : `${r.segmentsPerSec} TCP segments/s (${r.dataSegmentsPerSec} with data), ${((r.bytesPerSec ?? 0) / 1024).toFixed(1)} KiB/s`;
  return (
    `idle ${r.preset}: ` +
    r.members.map((m) => `${m.address} ${m.kind}${m.role === 'leader' ? ' (leader)' : ''}${m.holdsTicket ? ' (holder)' : ''} cpu ${m.cpuPct} % rss ${m.rssMiB} MiB ${m.framesSentPerSec} frames/s`).join('; ') +
    `; baseline node cpu ${r.baseline.cpuPct} % rss ${r.baseline.rssMiB} MiB; bare TCP exchange of ${r.tcpExchange.messagesPerSec} messages/s each way: sender cpu ${r.tcpExchange.senderCpuPct} %, echo ${r.tcpExchange.echoCpuPct} %; ${r.framesPerSec} frames/s, ${wire}; load ${r.loadAverage1m.start}→${r.loadAverage1m.end}` +
    (r.stable ? '' : ' — NOT STABLE')
  );
}
