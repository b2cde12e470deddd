// Steady state with N automatic tickets, all held: after every ticket is
// granted at a site (placed automatically) and the registry log is
// replicated everywhere, one measurement window of the formation at rest:
//   - messagesPerSec: transport frames sent per second, summed over all
//     members (the `peers` op's per-peer `sent` counters, delta over the
//     window) — Raft heartbeats and their answers, batched renewals and their
//     answers, SWIM probes and their acks, and nothing else when nothing
//     changes (bench/steady-expected.ts). The window opens once every
//     member's gossip broadcast queue is empty: the placement's ticket
//     rumors take minutes to go out at 1 000 tickets and more, at the same
//     rate whatever the count (5 gossip frames/s per link on lan), and a
//     window inside that tail measured 68–70 frames/s against 50;
//   - bytesPerSec: TCP payload bytes sent between the members (tcp-bytes.ts);
//   - cpuPct: CPU of the registry leader over the window, % of one core (and
//     every member's, in `members`);
//   - rssMiB of every member at the end of the window;
//   - metrics: after the window, the size of the leader's and the busiest
//     site's `/metrics` (every member runs `--http ADDRESS:metricsPort`) and
//     the time a scrape takes, from request to last byte (issue 13).
// The window is only valid if nothing moved in it: same leader and term
// before and after, every ticket still granted with the same generations.
//
// The sites write the file stand-in (default) or, with sink 'crm_ticket',
// a copy of a CIB fixture each through the real crm_ticket sink
// (bench/tickets-sink.ts). Either way a site logs 'ticket granted locally'
// once the sink reported the write done (for crm_ticket: its cibadmin
// --modify returned), so "placed" means the same for both; with crm_ticket
// the bench also counts, after the window, the ticket states each site's
// CIB file shows, and reads the sites' CIB write times from /metrics.

import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoopbackFormation, LoopbackMember } from '../src/cli/loopback-formation.js';
import { timingPresets } from '../src/config/presets.js';
import { boothSiteId } from '../src/config/site-id.js';
import { nowMs, windowElapsed } from './clock.js';
import { replicatedLeader, peersOf, pidOf, repoRoot, statusOf, type Bench, type MemberStatusData } from './harness.js';
import { cpuSeconds, rssMiB } from './proc-stats.js';
import { LogFollower, totalTrouble, type LogTrouble } from './log-follower.js';
import { round, summarize, type Summary } from './stats.js';
import { bytesBetween, sampleTcp, type TcpSample } from './tcp-bytes.js';
import { expectedSteadyFrames, type ExpectedFrames } from './steady-expected.js';
import { cibFileTicketCounts, cibWriteMeans, writeSerializedCibTools, type CibTicketCounts, type TicketsSink } from './tickets-sink.js';

export interface SteadyMember {
  readonly address: string;
  readonly kind: 'site' | 'arbitrator';
  readonly role: string;
  readonly ticketsHeld: number;
  readonly cpuPct: number;
  readonly rssMiB: number;
  readonly framesSentPerSec: number;
}

/** The Prometheus endpoint every member of the steady formation serves, on its own loopback address. */
const metricsPort = 9464;
/** Scrapes per member; the first one is counted too (Prometheus does not warm anything up). */
const scrapesPerMember = 5;
const scrapeDeadlineMs = 60_000;
/**
 * How long the gossip broadcast queues may take to empty after placement. A queue holds at most
 * broadcastQueueMax (4 096) entries, each sent 8 times in a 3-member formation, 16 per message, and a
 * site sends the leader's rumors to one peer only: 2 048 messages at 5/s on lan, about 410 s.
 */
const gossipDrainDeadlineMs = 600_000;
/** The CIB each crm_ticket site starts from (no ticket_state yet), as bench/starvation.ts. */
const cibFixture = join(repoRoot, 'test', 'adapters', 'fixtures', 'cib-tickets.xml');
const cibOf = (m: LoopbackMember): string => join(m.dir, '..', `${m.address}.cib.xml`);
/** A crm_ticket site's wrappers of the Pacemaker tools, first on its PATH (writeSerializedCibTools). */
const cibToolsOf = (m: LoopbackMember): string => join(m.dir, '..', `${m.address}.cib-tools`);

/** With the crm_ticket sink: what each site's CIB file shows after the window, and its CIB write times. */
export interface SteadyCib {
  readonly site: string;
  /** Tickets the site's own status shows granted there. */
  readonly holds: number;
  /** Revoked ticket states here with `owner` = the booth site id of the site holding the most tickets. */
  readonly counts: CibTicketCounts;
  /** tollbooth_cib_write_duration_seconds of this site since it started, by kind (grant, revoke, guard). */
  readonly writeMeans: Record<string, { count: number; meanMs: number }> | null;
}

export interface ScrapeFigures {
  readonly member: string;
  readonly role: string;
  readonly bytes: number;
  /** Series lines (not comments) in the exposition. */
  readonly series: number;
  readonly scrapeMs: Summary;
}

async function scrape(address: string): Promise<{ bytes: number; series: number; ms: number; text: string }> {
  const started = nowMs();
  const res = await fetch(`http://${address}:${metricsPort}/metrics`, { signal: AbortSignal.timeout(scrapeDeadlineMs) });
  const text = await res.text();
  const ms = nowMs() - started;
  if (!res.ok) throw new Error(`GET /metrics at ${address}: HTTP ${res.status}`);
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  return { bytes: Buffer.byteLength(text), series, ms, text };
}

async function scrapeFigures(m: LoopbackMember, role: string): Promise<ScrapeFigures> {
  const runs: Array<{ bytes: number; series: number; ms: number; text: string }> = [];
  for (let i = 0; i < scrapesPerMember; i++) runs.push(await scrape(m.address));
  const last = runs[runs.length - 1]!;
  return { member: m.address, role, bytes: last.bytes, series: last.series, scrapeMs: summarize(runs.map((r) => r.ms)) };
}

export interface SteadyResult {
  readonly tickets: number;
  /** The formation's timing preset. */
  readonly preset: 'loopback' | 'lan' | 'wan';
  /** What the sites write: the file stand-in, or a CIB file through crm_ticket. */
  readonly sink: TicketsSink;
  readonly messagesPerSec: number;
  readonly bytesPerSec: number | null;
  readonly cpuPct: number;
  /** CPU of the site holding the most tickets (it renews them all and writes their sink state). */
  readonly holderSiteCpuPct: number;
  /**
   * What the protocol should send with this leader, whatever the ticket count: an AppendEntries and its
   * answer per follower per heartbeat, and a renewal and its answer per site that does not lead (the
   * leader's own site renews locally) per renewal interval.
   */
  readonly expectedMessagesPerSec: number;
  readonly expected: ExpectedFrames;
  /** Log settled → every member's gossip broadcast queue empty (null: still not empty at the deadline). */
  readonly gossipDrainMs: number | null;
  /**
   * Ticket sink writes (CIB writes) per second at the sites in the window: 0 when nothing changes, at
   * any ticket count — lease deadlines move through the guard record instead. Counted from the sites'
   * logs ('ticket granted/revoked locally', one per effect written), whichever the sink.
   */
  readonly sinkWritesPerSec: number;
  /**
   * Lease guard record writes per second at the sites: one write moves every held ticket's deadline
   * (src/core/site-holder.ts extendGuard), about once per (lease − revokeLead)/2 whatever the count.
   */
  readonly guardWritesPerSec: number;
  readonly leader: string;
  readonly windowS: number;
  /** All members ready → every ticket granted at a site (sink written and confirmed). */
  readonly placementMs: number;
  /** Every ticket granted → the log replicated on every member. */
  readonly settleMs: number;
  readonly stable: boolean;
  /** From the members' logs, start to the end of placement. */
  readonly placementTrouble: LogTrouble;
  readonly members: SteadyMember[];
  /** `/metrics` of the leader and of the site holding the most tickets, scraped after the window. */
  readonly metrics: ScrapeFigures[];
  /** crm_ticket only (null with the file sink): each site's CIB file and CIB write times after the window. */
  readonly cib: SteadyCib[] | null;
  readonly notes: string[];
}

interface Snapshot {
  readonly at: number;
  readonly sent: Map<string, number>;
  readonly cpu: Map<string, number>;
  readonly tcp: TcpSample | null;
}

async function snapshot(f: LoopbackFormation): Promise<Snapshot> {
  const at = nowMs();
  const sent = new Map<string, number>();
  const cpu = new Map<string, number>();
  const [tcp] = await Promise.all([
    sampleTcp(f.port).catch(() => null),
    ...f.members.map(async (m) => {
      const [peers, c] = await Promise.all([peersOf(f, m), cpuSeconds(pidOf(m))]);
      sent.set(m.address, peers.peers.reduce((a, p) => a + p.sent, 0));
      cpu.set(m.address, c);
    }),
  ]);
  return { at, sent, cpu, tcp };
}

/** Every member's gossip broadcast queue length (`peers` op, gossip.queueLength). */
async function gossipQueues(f: LoopbackFormation): Promise<number[]> {
  return Promise.all(f.members.map(async (m) => (await peersOf(f, m)).gossip?.queueLength ?? 0));
}

/** Waits until no member has gossip left to send; ms it took, or null (and a note) at the deadline. */
async function gossipDrained(b: Bench, f: LoopbackFormation, notes: string[]): Promise<number | null> {
  const started = nowMs();
  try {
    await b.waitFor('every gossip broadcast queue empty', gossipDrainDeadlineMs, async () => ((await gossipQueues(f)).every((q) => q === 0) ? true : null), 500);
    return round(nowMs() - started, 0);
  } catch {
    notes.push(`gossip queues not empty after ${gossipDrainDeadlineMs / 1000} s (${(await gossipQueues(f)).join(', ')}): the window includes rumor traffic`);
    return null;
  }
}

/** Per site, how many tickets its sink has granted and confirmed; with the generations, to see that nothing moved. */
async function grantedPicture(f: LoopbackFormation, n: number): Promise<{ granted: number; bySite: Map<string, number>; generations: number; statuses: Map<string, MemberStatusData> }> {
  const bySite = new Map<string, number>();
  const statuses = new Map<string, MemberStatusData>();
  let granted = 0;
  let generations = 0;
  for (const m of f.sites) {
    const st = await statusOf(f, m, 30_000);
    statuses.set(m.address, st);
    let here = 0;
    for (const t of st.tickets) {
      if (t.grantedHere === true && t.holder === m.address) {
        here += 1;
        generations += t.generation;
      }
    }
    bySite.set(m.address, here);
    granted += here;
  }
  if (granted > n) throw new Error(`${granted} grants for ${n} tickets: a ticket is granted at two sites`);
  return { granted, bySite, generations, statuses };
}

function assertRunning(f: LoopbackFormation): void {
  for (const m of f.members) {
    const p = m.proc;
    if (p !== null && (p.exitCode !== null || p.signalCode !== null)) throw new Error(`${m.address} exited (${p.exitCode ?? p.signalCode}); see ${m.log}`);
  }
}

/** What the members' logs say about a placement that did not finish. */
function diagnose(n: number, granted: number, elapsedMs: number, t: LogTrouble): string {
  const parts = [`${granted} of ${n} tickets granted after ${(elapsedMs / 1000).toFixed(0)} s`, `${t.roleChanges} role changes`, `${t.peerDisconnects} peer disconnects`];
  if (t.oversizeDrops > 0) {
    parts.push(`${t.oversizeDrops} frames dropped because they exceed the transport's messageBytesMax (largest ${t.oversizeLargestBytes} bytes, limit ${t.oversizeLimitBytes})`);
  }
  if (t.otherDrops > 0) parts.push(`${t.otherDrops} other frames dropped`);
  if (t.fatal !== null) parts.push(`fatal: ${t.fatal}`);
  return parts.join('; ');
}

/** Each site's CIB file and CIB write times (crm_ticket sink), with `holder` the site holding the most tickets. */
async function cibPicture(f: LoopbackFormation, bySite: ReadonlyMap<string, number>, holder: string): Promise<SteadyCib[]> {
  const ownerId = boothSiteId(holder);
  return Promise.all(
    f.sites.map(async (m) => {
      const text = await scrape(m.address).then((r) => r.text, () => null);
      return { site: m.address, holds: bySite.get(m.address) ?? 0, counts: await cibFileTicketCounts(cibOf(m), ownerId), writeMeans: text === null ? null : cibWriteMeans(text) };
    }),
  );
}

export async function measureSteady(b: Bench, n: number, windowMs: number, placementDeadlineMs: number, presetName: 'loopback' | 'lan' | 'wan' = 'loopback', nodeFlags: readonly string[] = [], sink: TicketsSink = 'file'): Promise<SteadyResult> {
  const names = Array.from({ length: n }, (_, i) => `t${String(i + 1).padStart(5, '0')}`);
  // The lan and wan presets need leases longer than twice their election timeout plus a renewal.
  const expireS = presetName === 'loopback' ? 10 : presetName === 'lan' ? 30 : 120;
  const tickets = names.map((name) => ({ name, expireS, acquireAfterS: 0 }));
  // crm_ticket: each site's CIB file, without a Pacemaker cluster to check quorum or runnability against.
  const cibSink = sink === 'crm_ticket' ? { ticketSink: sink, siteArgs: ['--no-quorum-check', '--no-runnability-check'], siteEnv: (m: LoopbackMember) => ({ CIB_file: cibOf(m), PATH: `${cibToolsOf(m)}:${process.env['PATH'] ?? ''}` }) } : {};
  const f = await b.formation({ sites: 2, arbitrators: 1, preset: presetName, tickets, ...cibSink }, nodeFlags);
  const notes: string[] = [];
  try {
    if (sink === 'crm_ticket') {
      for (const s of f.sites) {
        await copyFile(cibFixture, cibOf(s));
        await writeSerializedCibTools(cibToolsOf(s));
      }
    }
    for (const m of f.members) f.start(m, ['--http', `${m.address}:${metricsPort}`]);
    await Promise.all(f.members.map((m) => f.waitReady(m)));
    const readyAt = nowMs();
    // Progress comes from the sites' logs (one line per sink write), not from status calls: a status of
    // 10 000 tickets is megabytes of JSON, and asking for it every second would load the very processes
    // being measured. The status is asked once the logs say every ticket is granted.
    const logs = f.members.map((m) => new LogFollower(m.log));
    const siteLogs = logs.filter((_, i) => f.members[i]!.kind === 'site');
    let lastSay = nowMs();
    // The logs say when every ticket should be granted; the status (the sites' own view) confirms it, asked
    // at most this often so that a slow confirmation does not turn into a stream of multi-megabyte answers.
    const confirmEveryMs = n >= 1000 ? 5000 : 500;
    let lastConfirm = Number.NEGATIVE_INFINITY;
    try {
      await b.waitFor(`all ${n} tickets granted`, placementDeadlineMs, async () => {
        assertRunning(f);
        await Promise.all(logs.map((l) => l.poll()));
        const granted = siteLogs.reduce((s, l) => s + l.grantedCount, 0);
        if (nowMs() - lastSay > 10_000) {
          lastSay = nowMs();
          const t = totalTrouble(logs);
          b.say(`  ${n} tickets: ${granted} granted after ${((nowMs() - readyAt) / 1000).toFixed(0)} s (${t.roleChanges} role changes, ${t.oversizeDrops} oversize frames dropped, ${t.peerDisconnects} disconnects so far)`);
        }
        if (granted < n || nowMs() - lastConfirm < confirmEveryMs) return null;
        lastConfirm = nowMs();
        return (await grantedPicture(f, n)).granted === n ? true : null;
      }, Math.max(50, Math.min(500, n / 10)));
    } catch (err) {
      await Promise.all(logs.map((l) => l.poll().catch(() => undefined)));
      throw new Error(`${(err as Error).message}: ${diagnose(n, siteLogs.reduce((s, l) => s + l.grantedCount, 0), nowMs() - readyAt, totalTrouble(logs))}`);
    }
    const grantedAt = nowMs();
    const placementTrouble = totalTrouble(logs);
    const placementMs = grantedAt - readyAt;
    // Replication done: every member has the leader's last index committed, twice in a row.
    const leader = await replicatedLeader(b, f, 30_000);
    const settleMs = nowMs() - grantedAt;
    const before = await grantedPicture(f, n);
    const leaderStatus = await statusOf(f, leader);
    b.say(`  ${n} tickets placed (${sink} sink) in ${(placementMs / 1000).toFixed(1)} s (${[...before.bySite].map(([s, k]) => `${s}: ${k}`).join(', ')}); log settled after ${(settleMs / 1000).toFixed(1)} s; leader ${leader.address}; waiting for the gossip queues to empty`);
    const gossipDrainMs = await gossipDrained(b, f, notes);
    b.say(`  ${n} tickets: gossip queues ${gossipDrainMs === null ? 'NOT empty' : `empty after ${(gossipDrainMs / 1000).toFixed(1)} s`}; measuring ${windowMs / 1000} s`);
    await Promise.all(siteLogs.map((l) => l.poll()));
    const writesBefore = siteLogs.reduce((s, l) => s + l.sinkWrites, 0);
    const guardBefore = siteLogs.reduce((s, l) => s + l.guardWrites, 0);
    const a = await snapshot(f);
    await windowElapsed(windowMs, b.signal);
    const z = await snapshot(f);
    await Promise.all(siteLogs.map((l) => l.poll()));
    const writesInWindow = siteLogs.reduce((s, l) => s + l.sinkWrites, 0) - writesBefore;
    const guardInWindow = siteLogs.reduce((s, l) => s + l.guardWrites, 0) - guardBefore;
    const rss = new Map<string, number>();
    for (const m of f.members) rss.set(m.address, await rssMiB(pidOf(m)));
    const after = await grantedPicture(f, n);
    const leaderAfter = await statusOf(f, leader);
    const stable = after.granted === n && after.generations === before.generations && leaderAfter.role === 'leader' && leaderAfter.term === leaderStatus.term;
    if (!stable) notes.push(`not stable: granted ${before.granted}→${after.granted}, generation sum ${before.generations}→${after.generations}, leader term ${leaderStatus.term}→${leaderAfter.term} (${leaderAfter.role})`);
    const windowS = (z.at - a.at) / 1000;
    let bytesPerSec: number | null = null;
    if (a.tcp !== null && z.tcp !== null) {
      const d = bytesBetween(a.tcp, z.tcp);
      bytesPerSec = round(d.bytes / windowS, 0);
      if (d.changed) notes.push(`TCP connections changed during the window (${d.connections} kept): bytesPerSec counts only those`);
      if (d.connections === 0) bytesPerSec = null;
    } else {
      notes.push('ss not available: no bytesPerSec');
    }
    const members: SteadyMember[] = f.members.map((m: LoopbackMember) => {
      return {
        address: m.address,
        kind: m.kind,
        role: m === leader ? 'leader' : 'follower',
        ticketsHeld: m.kind === 'site' ? (after.bySite.get(m.address) ?? 0) : 0,
        cpuPct: round((100 * (z.cpu.get(m.address)! - a.cpu.get(m.address)!)) / windowS, 2),
        rssMiB: round(rss.get(m.address)!, 1),
        framesSentPerSec: round((z.sent.get(m.address)! - a.sent.get(m.address)!) / windowS, 1),
      };
    });
    const messagesPerSec = round(members.reduce((s, m) => s + m.framesSentPerSec, 0), 1);
    const cpuPct = members.find((m) => m.address === leader.address)!.cpuPct;
    const holderSite = members.filter((m) => m.kind === 'site').sort((x, y) => y.ticketsHeld - x.ticketsHeld)[0]!;
    const holderMember = f.members.find((m) => m.address === holderSite.address)!;
    const metrics = [await scrapeFigures(leader, 'leader')];
    if (holderMember !== leader) metrics.push(await scrapeFigures(holderMember, 'busiest site'));
    const preset = timingPresets[presetName];
    const expected = expectedSteadyFrames(preset, f.members.length, f.sites.filter((m) => m !== leader).length);
    const expectedMessagesPerSec = expected.totalPerSec;
    b.say(
      `  ${n} tickets: ${messagesPerSec} frames/s (expected ${expectedMessagesPerSec}: raft ${expected.raftPerSec}, renewals ${expected.renewalsPerSec}, probes ${expected.probesPerSec}), ${bytesPerSec === null ? '?' : (bytesPerSec / 1024).toFixed(1)} KiB/s on the wire, ${(writesInWindow / windowS).toFixed(1)} sink writes/s, ${(guardInWindow / windowS).toFixed(2)} guard writes/s, leader CPU ${cpuPct} %; ` +
        members.map((m) => `${m.address} ${m.role} cpu ${m.cpuPct} % rss ${m.rssMiB} MiB ${m.framesSentPerSec} frames/s`).join('; ') +
        (stable ? '' : ' — NOT STABLE'),
    );
    b.say(`  ${n} tickets: /metrics ` + metrics.map((x) => `${x.member} (${x.role}) ${(x.bytes / 1024).toFixed(1)} KiB, ${x.series} series, scrape p50 ${x.scrapeMs.p50} ms max ${x.scrapeMs.max} ms`).join('; '));
    let cib: SteadyCib[] | null = null;
    if (sink === 'crm_ticket') {
      cib = await cibPicture(f, after.bySite, holderSite.address);
      b.say(`  ${n} tickets: CIB files ` + cib.map((c) => `${c.site} (holds ${c.holds}): ${c.counts.ticketStates} ticket states, ${c.counts.granted} granted, ${c.counts.revokedOwnedBy} revoked with owner ${holderSite.address}; mean CIB write ${Object.entries(c.writeMeans ?? {}).map(([k, v]) => `${k} ${v.meanMs} ms ×${v.count}`).join(', ')}`).join('; '));
    }
    return { tickets: n, preset: presetName, sink, messagesPerSec, bytesPerSec, cpuPct, holderSiteCpuPct: holderSite.cpuPct, expectedMessagesPerSec, expected, gossipDrainMs, sinkWritesPerSec: round(writesInWindow / windowS, 1), guardWritesPerSec: round(guardInWindow / windowS, 2), leader: leader.address, windowS: round(windowS, 2), placementMs: round(placementMs, 0), settleMs: round(settleMs, 0), stable, placementTrouble, members, metrics, cib, notes };
  } finally {
    await b.release(f);
  }
}
