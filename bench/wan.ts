// Short leases over a WAN (issue 15 item 6): how short can `expire` be before
// an emulated WAN — round-trip time, jitter, loss (bench/wan-net.ts) — costs a
// failover, per timing preset; and how long a failover then takes.
//
// For each (preset, expire) point a formation of 2 sites + 1 arbitrator (file
// ticket sink, one automatic ticket, acquire-after 0), each member in its own
// network namespace behind the delay line, is started and left alone for the
// run's length. Counted from the members' logs over the run (bench clock):
//   - revokes: a site's sink revoked the ticket (a holder lost its lease:
//     its resources stopped) — the disruption an operator sees;
//   - regrants: the ticket was granted with a new generation (the registry
//     gave it away: a failover, to the other site or back to the same one);
//   - holderChanges: the site holding it changed;
// and from the members' status: registry terms gone by (each election
// starts one), and leader changes seen by sampling every few seconds.
// A point "holds" when revokes and regrants are both 0.
//
// Then the failover time of that point, timed on the bench's monotonic clock
// until the other site's sink file shows the new generation:
//   - kill: SIGKILL of the holder (the killed site then restarts and rejoins);
//   - cut: the holder's WAN cut (nftables in the router: both directions,
//     established connections stall); the cut holder's own revoke is timed
//     too, and must come before the other site's grant (S1, seen from outside).

import { join } from 'node:path';
import { readTicketState } from '../src/adapters/pacemaker/file-ticket-sink.js';
import type { LoopbackFormation, LoopbackMember } from '../src/cli/loopback-formation.js';
import { defaultRevokeLeadMs } from '../src/config/build-formation-config.js';
import { timingPresets, type TimingPresetName } from '../src/config/presets.js';
import { nowMs, windowElapsed } from './clock.js';
import { peersOf, statusOf, type Bench } from './harness.js';
import { LogFollower, totalTrouble, type LogTrouble } from './log-follower.js';
import { loadAverage1m } from './proc-stats.js';
import { round } from './stats.js';
import { TicketFileWatch } from './ticket-watch.js';
import { WanNet, type DelayLineStats, type WanProfile } from './wan-net.js';
import { startEcho, tcpPing } from './wan/tcp-ping.js';

const ticket = 'wan-ticket';
/** The formation's first port; each point takes the next (no TIME_WAIT left over from the last one). */
const portBase = 29_100;
/** Start of a formation over the WAN (election, first renewal) until the ticket is granted. */
const firstGrantDeadlineMs = 180_000;
/** How often the run samples leaders and the load average. */
const sampleEveryMs = 5_000;
/** TCP pings taken before each point to report the round trip the members actually had. */
const pingCount = 40;

export interface WanBenchOptions {
  readonly profile: WanProfile;
  readonly presets: readonly TimingPresetName[];
  readonly expireS: readonly number[];
  /** Length of each point's run, minutes. */
  readonly minutes: number;
  /** Failover samples per point, each of kill and of cut. */
  readonly failovers: number;
}

export interface WanFailoverSample {
  readonly how: 'kill' | 'cut';
  readonly from: string;
  readonly fromWasLeader: boolean;
  readonly to: string;
  readonly failoverMs: number;
  readonly failoverPerExpire: number;
  /** cut: when the cut holder's own sink revoked, after the cut (ms). */
  readonly oldRevokedMs: number | null;
  /** The new grant seen − the old holder's revokeBy (kill) or its revoke (cut): > 0, S1 seen from outside. */
  readonly s1MarginMs: number | null;
}

export interface WanPoint {
  readonly preset: TimingPresetName;
  readonly expireS: number;
  readonly revokeLeadMs: number;
  /** The run's length as measured (bench clock), seconds. */
  readonly runS: number;
  readonly revokes: number;
  readonly regrants: number;
  readonly holderChanges: number;
  readonly termsGoneBy: number;
  readonly leaderChangesSeen: number;
  readonly held: boolean;
  readonly trouble: LogTrouble;
  readonly loadAverage1m: { readonly start: number; readonly mean: number; readonly max: number; readonly end: number };
  /** TCP ping site 1 → site 2 before the run (ms). */
  readonly pingRttMs: { readonly p50: number; readonly min: number; readonly max: number } | null;
  readonly delayLine: { readonly packets: number; readonly lossPct: number; readonly lateMsMax: number };
  readonly failovers: WanFailoverSample[];
  /** The failover phase did not finish (the run's figures above still hold). */
  readonly failoverError?: string;
  /** The point did not finish. */
  readonly error?: string;
}

export interface WanResult {
  readonly profile: WanProfile;
  readonly minutesPerPoint: number;
  readonly points: WanPoint[];
}

/** Counts sink transitions across the sites of one formation, from their log lines. */
class SinkTally {
  revokes = 0;
  regrants = 0;
  holderChanges = 0;
  holder: string | null = null;
  generation = -1;
  readonly granted = new Map<string, boolean>();
  counting = false;

  onWrite(site: string, w: { ticket: string; granted: boolean; generation: number | null }): void {
    if (w.ticket !== ticket) return;
    const was = this.granted.get(site) === true;
    this.granted.set(site, w.granted);
    if (!w.granted) {
      if (was && this.counting) this.revokes += 1;
      return;
    }
    const g = w.generation ?? this.generation;
    if (g > this.generation) {
      if (this.generation >= 0 && this.counting) this.regrants += 1;
      this.generation = g;
    }
    if (this.holder !== site) {
      if (this.holder !== null && this.counting) this.holderChanges += 1;
      this.holder = site;
    }
  }
}

/**
 * Runs every point. `points` receives each point as it completes, so that a run stopped halfway
 * (SIGINT) still reports the points it finished.
 */
export async function measureWan(b: Bench, o: WanBenchOptions, points: WanPoint[] = []): Promise<WanResult> {
  const wan = await WanNet.start(3, o.profile);
  try {
    b.say(`WAN: RTT ${o.profile.rttMs} ms ± ${o.profile.jitterMs} ms jitter each way, ${o.profile.lossPct} % loss each way; namespaces ${wan.prefix}-*`);
    let index = 0;
    for (const preset of o.presets) {
      for (const expireS of o.expireS) {
        b.checkAborted();
        const port = portBase + index;
        index += 1;
        try {
          const p = await measurePoint(b, wan, o, preset, expireS, port);
          points.push(p);
        } catch (err) {
          if (b.signal.aborted) throw err;
          b.say(`  ${preset} expire ${expireS} s FAILED: ${(err as Error).message}`);
          points.push({ preset, expireS, error: (err as Error).message } as WanPoint);
        }
        await wan.heal();
      }
    }
  } finally {
    await wan.stop();
  }
  return { profile: o.profile, minutesPerPoint: o.minutes, points };
}

async function measurePoint(b: Bench, wan: WanNet, o: WanBenchOptions, preset: TimingPresetName, expireS: number, port: number): Promise<WanPoint> {
  const timing = timingPresets[preset];
  const expireMs = expireS * 1000;
  const revokeLeadMs = defaultRevokeLeadMs(expireMs, expireMs / 2, timing);
  const ping = await pingAcross(wan);
  const f = await b.formation({
    sites: 2,
    arbitrators: 1,
    tickets: [{ name: ticket, expireS, acquireAfterS: 0 }],
    preset,
    addresses: wan.addresses,
    port,
    wrap: (_m, i) => wan.wrap(i),
  });
  try {
    const tally = new SinkTally();
    const followers = f.members.map((m) => new LogFollower(m.log, (w) => tally.onWrite(m.address, w)));
    const pollLogs = async (): Promise<void> => {
      for (const x of followers) await x.poll();
    };
    const t0 = nowMs();
    await f.startAll();
    const holder0 = await b.waitFor(`${ticket} granted at one site over the WAN`, firstGrantDeadlineMs, async () => {
      const at = await f.grantedAt(ticket);
      return at.length === 1 ? at[0]! : null;
    }, 500);
    await pollLogs();
    const troubleBefore = totalTrouble(followers);
    b.say(`${preset} expire ${expireS} s (revoke lead ${revokeLeadMs} ms): granted at ${holder0.address} ${((nowMs() - t0) / 1000).toFixed(1)} s after start; running ${o.minutes} min`);

    // ── the run ──
    tally.counting = true;
    const termStart = await maxTerm(f);
    const statsStart = await wan.stats();
    const loads: number[] = [await loadAverage1m()];
    let leader = (await statusOf(f, f.members[0]!)).leader;
    let leaderChangesSeen = 0;
    const runStart = nowMs();
    const runMs = o.minutes * 60_000;
    // The run itself: a sample every few seconds until its length is reached (an abort ends the wait with an error).
    while (nowMs() - runStart < runMs) {
      await windowElapsed(Math.min(sampleEveryMs, Math.max(0, runMs - (nowMs() - runStart))), b.signal);
      await pollLogs();
      loads.push(await loadAverage1m());
      // The arbitrator's view (it never holds the ticket, so it is never killed or cut in the run).
      const l = await statusOf(f, f.members[2]!).then((s) => s.leader, () => leader);
      if (l !== null && l !== leader) {
        if (leader !== null) leaderChangesSeen += 1;
        leader = l;
      }
    }
    await pollLogs();
    const runS = (nowMs() - runStart) / 1000;
    tally.counting = false;
    const statsEnd = await wan.stats();
    const termsGoneBy = (await maxTerm(f)) - termStart;
    const troubleAfter = totalTrouble(followers);
    const trouble: LogTrouble = {
      roleChanges: troubleAfter.roleChanges - troubleBefore.roleChanges,
      peerDisconnects: troubleAfter.peerDisconnects - troubleBefore.peerDisconnects,
      oversizeDrops: troubleAfter.oversizeDrops - troubleBefore.oversizeDrops,
      oversizeLargestBytes: troubleAfter.oversizeLargestBytes,
      oversizeLimitBytes: troubleAfter.oversizeLimitBytes,
      otherDrops: troubleAfter.otherDrops - troubleBefore.otherDrops,
      renewalsRefused: troubleAfter.renewalsRefused - troubleBefore.renewalsRefused,
      fatal: troubleAfter.fatal,
    };
    const dl = delayLineDelta(statsStart, statsEnd);
    const held = tally.revokes === 0 && tally.regrants === 0;
    const loadEnd = await loadAverage1m();
    loads.push(loadEnd);
    b.say(
      `  ${preset} expire ${expireS} s over ${(runS / 60).toFixed(1)} min: ${tally.revokes} revokes, ${tally.regrants} regrants, ${tally.holderChanges} holder changes, ` +
        `${termsGoneBy} terms, ${leaderChangesSeen} leader changes seen, ${trouble.renewalsRefused} renewals refused, ${trouble.peerDisconnects} disconnects; ` +
        `delay line ${dl.packets} packets, ${dl.lossPct} % lost, late ≤ ${dl.lateMsMax} ms; TCP ping before the run p50 ${ping?.p50 ?? '?'} ms; ` +
        `load ${loads[0]}→${loadEnd} (mean ${round(loads.reduce((x, y) => x + y, 0) / loads.length, 1)})${held ? '' : '  (DID NOT HOLD)'}`,
    );

    // ── failover times ──
    const failovers: WanFailoverSample[] = [];
    let failoverError: string | undefined;
    try {
      for (let i = 0; i < o.failovers; i++) {
        for (const how of ['kill', 'cut'] as const) {
          b.checkAborted();
          failovers.push(await failoverSample(b, f, wan, how, expireMs));
        }
      }
    } catch (err) {
      // The run's figures stand without the failover (e.g. none within the deadline while elections churn).
      if (b.signal.aborted) throw err;
      failoverError = (err as Error).message;
      b.say(`  failover FAILED: ${failoverError}`);
    }
    return {
      ...(failoverError === undefined ? {} : { failoverError }),
      preset,
      expireS,
      revokeLeadMs,
      runS: round(runS, 1),
      revokes: tally.revokes,
      regrants: tally.regrants,
      holderChanges: tally.holderChanges,
      termsGoneBy,
      leaderChangesSeen,
      held,
      trouble,
      loadAverage1m: { start: loads[0]!, mean: round(loads.reduce((x, y) => x + y, 0) / loads.length, 2), max: Math.max(...loads), end: loadEnd },
      pingRttMs: ping,
      delayLine: dl,
      failovers,
    };
  } finally {
    await b.release(f);
  }
}

async function pingAcross(wan: WanNet): Promise<WanPoint['pingRttMs']> {
  const echo = await startEcho(wan, 1);
  try {
    const r = await tcpPing(wan, 0, 1, pingCount, 30_000);
    if (r.rtts.length === 0) return null;
    const s = [...r.rtts].sort((x, y) => x - y);
    return { p50: round(s[Math.floor(s.length / 2)]!, 1), min: round(s[0]!, 1), max: round(s[s.length - 1]!, 1) };
  } finally {
    echo.stop();
  }
}

function delayLineDelta(a: DelayLineStats, z: DelayLineStats): WanPoint['delayLine'] {
  const packets = z.seen - a.seen;
  return { packets, lossPct: packets > 0 ? round((100 * (z.dropped - a.dropped)) / packets, 2) : 0, lateMsMax: round(z.lateMsMax, 1) };
}

async function maxTerm(f: LoopbackFormation): Promise<number> {
  const terms = await Promise.all(f.members.filter((m) => m.proc !== null).map((m) => statusOf(f, m, 30_000).then((s) => s.term)));
  return Math.max(...terms);
}

/** One failover: the holder killed or cut off; then brought back and rejoined. */
async function failoverSample(b: Bench, f: LoopbackFormation, wan: WanNet, how: 'kill' | 'cut', expireMs: number): Promise<WanFailoverSample> {
  const holder = await b.waitFor(`${ticket} granted at exactly one site`, 120_000, async () => {
    const at = await f.grantedAt(ticket);
    return at.length === 1 ? at[0]! : null;
  }, 200);
  const other = f.sites.find((m) => m !== holder)!;
  await rejoined(b, f, other, holder);
  const before = (await f.localTicket(holder, ticket))!;
  const leader = (await statusOf(f, holder)).leader;
  const holderIndex = f.members.indexOf(holder);
  const grantWatch = new TicketFileWatch(join(other.dir, 'tickets'), ticket, (s) => s.granted && s.generation > before.generation);
  const revokeWatch = how === 'cut' ? new TicketFileWatch(join(holder.dir, 'tickets'), ticket, (s) => !s.granted) : null;
  const t0 = nowMs();
  if (how === 'kill') await f.kill(holder, 'SIGKILL');
  else await wan.cut(holderIndex);
  const deadlineMs = 3 * expireMs + 120_000;
  const hit = await grantWatch.done(`${ticket} to be written at ${other.address}`, deadlineMs, b.signal);
  const failoverMs = hit.at - t0;
  let oldRevokedMs: number | null = null;
  let s1MarginMs: number | null = null;
  if (revokeWatch !== null) {
    const r = await revokeWatch.done(`${holder.address} to revoke ${ticket} after its WAN was cut`, deadlineMs, b.signal);
    oldRevokedMs = round(r.at - t0, 1);
    s1MarginMs = round(hit.at - r.at, 1);
  } else {
    const old = await readTicketState(join(holder.dir, 'tickets'), ticket);
    s1MarginMs = old !== null && old.granted && old.revokeBy !== null ? round(hit.at - old.revokeBy, 1) : null;
  }
  const s: WanFailoverSample = {
    how,
    from: holder.address,
    fromWasLeader: leader === holder.address,
    to: other.address,
    failoverMs: round(failoverMs, 1),
    failoverPerExpire: round(failoverMs / expireMs, 3),
    oldRevokedMs,
    s1MarginMs,
  };
  b.say(
    `  failover (${how} ${holder.address}${s.fromWasLeader ? ', the leader' : ''}) → granted at ${other.address} after ${failoverMs.toFixed(0)} ms (${s.failoverPerExpire} × expire)` +
      `${oldRevokedMs === null ? '' : `; the cut holder revoked after ${oldRevokedMs.toFixed(0)} ms`}; S1 margin ${s1MarginMs ?? '?'} ms`,
  );
  if (s1MarginMs !== null && s1MarginMs < 0) b.say(`  S1 WARNING: the new grant was seen ${-s1MarginMs} ms before the old holder let go`);
  // Bring the old holder back.
  if (how === 'kill') {
    f.start(holder);
    await f.waitReady(holder);
  } else {
    await wan.heal(holderIndex);
  }
  await rejoined(b, f, holder, other);
  return s;
}

/** The site is back: it follows a leader, sees `holder` holding the ticket, and its renewals reach the leader. */
async function rejoined(b: Bench, f: LoopbackFormation, site: LoopbackMember, holder: LoopbackMember): Promise<void> {
  const st = await b.waitFor(`${site.address} to follow the leader and see ${holder.address} as holder`, 120_000, async () => {
    const s = await statusOf(f, site);
    const t = s.tickets.find((v) => v.name === ticket);
    return s.leader !== null && t?.holder === holder.address ? s : null;
  }, 200);
  if (st.leader === site.address) return;
  const leader = st.leader!;
  const sentTo = async (): Promise<number> => (await peersOf(f, site)).peers.find((p) => p.id === leader)?.sent ?? 0;
  const base = await sentTo();
  await b.waitFor(`${site.address} to renew with ${leader}`, 60_000, async () => ((await sentTo()) >= base + 2 ? true : null), 100);
}
