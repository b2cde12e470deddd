// Failover time: kill -9 of the site holding an automatic ticket, until the
// other site's ticket sink has written the grant (new generation), timed on
// the bench's monotonic clock from just before the signal. Then the killed
// site is restarted and, once it has rejoined and renews with the leader
// again, the new holder is killed in turn. Each sample records whether the
// killed holder was also the registry leader (then an election comes first);
// before every Nth sample (leadEvery; 0: never) the leadership is moved to the
// holder, so that both cases are measured. perExpire: each failover ÷ the
// lease (booth's figure of merit: failover after SIGKILL ÷ expire).
//
// The bound compared against is the one of DESIGN.md §2 with the preset's timers (src/config/presets.ts):
//   lease × (1+ρ)/(1−ρ) + acquire-after + renewIntervalMs
//     (+ electionTimeoutMs when the holder was the leader),
// ρ = tollbooth-clock-drift-ppm-max / 10⁶ (default 500 ppm).
// The sample also checks S1 from outside: the killed holder's own file names
// a revokeBy deadline (CLOCK_MONOTONIC of this boot), which must have passed
// before the new holder's write was seen.

import { join } from 'node:path';
import { readTicketState } from '../src/adapters/pacemaker/file-ticket-sink.js';
import { timingPresets } from '../src/config/presets.js';
import { clockDriftPpmMaxDefault } from '../src/config/tollbooth-keys.js';
import type { LoopbackFormation, LoopbackMember } from '../src/cli/loopback-formation.js';
import { nowMs } from './clock.js';
import { agreedLeader, peersOf, statusOf, type Bench } from './harness.js';
import { round, summarize, type Summary } from './stats.js';
import { TicketFileWatch } from './ticket-watch.js';

const ticket = 'bench-failover';

export interface FailoverSample {
  readonly killed: string;
  readonly killedWasLeader: boolean;
  readonly to: string;
  readonly failoverMs: number;
  readonly boundMs: number;
  readonly withinBound: boolean;
  readonly withinBoundTwoTimeouts: boolean;
  /** New holder's write seen − the killed holder's revokeBy (> 0: the old grant had lapsed first). */
  readonly s1MarginMs: number | null;
}

export interface FailoverResult {
  readonly failoverMs: Summary;
  readonly preset: string;
  /** failoverMs ÷ the lease, per kill. */
  readonly perExpire: Summary;
  readonly failoverBoundMs: number;
  readonly failoverBoundLeaderMs: number;
  /** As failoverBoundLeaderMs with 2 × electionTimeoutMs, the longest randomized election timeout. */
  readonly failoverBoundLeaderTwoTimeoutsMs: number;
  readonly bound: {
    readonly leaseMs: number;
    readonly driftPpm: number;
    readonly stretch: number;
    readonly acquireAfterMs: number;
    readonly renewIntervalMs: number;
    readonly electionTimeoutMs: number;
  };
  readonly holderNotLeader: Summary | null;
  readonly holderWasLeader: Summary | null;
  /** Samples within the bound (failoverBoundMs, or failoverBoundLeaderMs when the holder led). */
  readonly withinBound: number;
  /** Samples within the bound with two election timeouts for the leader case. */
  readonly withinBoundTwoTimeouts: number;
  readonly s1MarginMinMs: number | null;
  readonly samples: FailoverSample[];
}

/** The site is back: it follows the leader, has the current table, and its renewals reach the leader. */
async function rejoined(b: Bench, f: LoopbackFormation, site: LoopbackMember, holder: LoopbackMember): Promise<void> {
  const st = await b.waitFor(`${site.address} to follow the leader and see ${holder.address} as holder`, 30_000, async () => {
    const s = await statusOf(f, site);
    const t = s.tickets.find((v) => v.name === ticket);
    return s.leader !== null && t?.holder === holder.address ? s : null;
  });
  if (st.leader === site.address) return;
  // Renewals go every renewIntervalMs to the leader; two more frames to it than now means at least one renewal
  // (with the site's health) reached it since, so the leader counts the site as alive and eligible.
  const leader = st.leader!;
  const sentTo = async (): Promise<number> => (await peersOf(f, site)).peers.find((p) => p.id === leader)?.sent ?? 0;
  const base = await sentTo();
  await b.waitFor(`${site.address} to renew with ${leader}`, 30_000, async () => ((await sentTo()) >= base + 2 ? true : null), 20);
}

/**
 * Moves the registry leadership to `holder` (for the samples where the holder also leads): kills
 * the current leader with SIGKILL — which does not cost the holder its ticket: a new leader treats
 * every held ticket as renewed when it takes office — and restarts it, until the holder wins an
 * election (each try is a coin toss between the two survivors). Gives up after `tries`.
 */
async function leadershipTo(b: Bench, f: LoopbackFormation, holder: LoopbackMember, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const leader = await b.waitFor('an agreed registry leader', 30_000, () => agreedLeader(f), 20);
    if (leader === holder) return true;
    await f.kill(leader, 'SIGKILL');
    // The survivors name the dead leader until their election timeout runs out: wait for another one.
    const next = await b.waitFor('a new leader among the survivors', 30_000, async () => {
      const l = await agreedLeader(f);
      return l !== null && l !== leader ? l : null;
    }, 20);
    b.checkAborted();
    f.start(leader);
    await f.waitReady(leader);
    await b.waitFor(`${leader.address} to follow the leader again`, 30_000, async () => ((await statusOf(f, leader)).leader !== null ? true : null), 20);
    if (next === holder) return true;
  }
  return false;
}

export async function measureFailover(b: Bench, reps: number, leaseS: number, acquireAfterS: number, presetName: 'loopback' | 'lan' | 'wan' = 'loopback', leadEvery = 3): Promise<FailoverResult> {
  const preset = timingPresets[presetName];
  const driftPpm = clockDriftPpmMaxDefault;
  const rho = driftPpm / 1e6;
  const stretch = (1 + rho) / (1 - rho);
  const leaseMs = leaseS * 1000;
  const acquireAfterMs = acquireAfterS * 1000;
  const boundBase = leaseMs * stretch + acquireAfterMs + preset.renewIntervalMs;
  const boundLeader = boundBase + preset.electionTimeoutMs;
  // A follower's election timer is drawn from [electionTimeoutMs, 2 × electionTimeoutMs) (presets.ts), so the
  // election alone can take up to two election timeouts: the bound the protocol actually promises.
  const boundLeaderTwoTimeouts = boundBase + 2 * preset.electionTimeoutMs;
  const f = await b.formation({ sites: 2, arbitrators: 1, preset: presetName, tickets: [{ name: ticket, expireS: leaseS, acquireAfterS }] });
  try {
    await f.startAll();
    let holder = await b.waitFor(`${ticket} granted at exactly one site`, 30_000, async () => {
      const at = await f.grantedAt(ticket);
      return at.length === 1 ? at[0]! : null;
    });
    b.say(
      `failover: lease ${leaseS} s, acquire-after ${acquireAfterS} s, bound ${boundBase.toFixed(0)} ms ` +
        `(${boundLeader.toFixed(0)} ms when the holder leads); ${ticket} held by ${holder.address}`,
    );
    const samples: FailoverSample[] = [];
    for (let i = 0; i < reps; i++) {
      const other = f.sites.find((m) => m !== holder)!;
      // Every leadEvery-th sample is taken with the holder leading the registry too (the bound adds an election).
      if (leadEvery > 0 && i % leadEvery === leadEvery - 1 && !(await leadershipTo(b, f, holder, 4))) b.say(`  could not make ${holder.address} the leader in 4 tries; sampling as it is`);
      await rejoined(b, f, other, holder);
      const leader = await b.waitFor('an agreed registry leader', 30_000, () => agreedLeader(f), 20);
      const before = (await f.localTicket(holder, ticket))!;
      if (before.grantedHere !== true) throw new Error(`${holder.address} does not hold ${ticket} before the kill`);
      const wasLeader = leader === holder;
      const watch = new TicketFileWatch(join(other.dir, 'tickets'), ticket, (s) => s.granted && s.generation > before.generation);
      const t0 = nowMs();
      await f.kill(holder, 'SIGKILL');
      const hit = await watch.done(`${ticket} to be written at ${other.address}`, 120_000, b.signal);
      const failoverMs = hit.at - t0;
      const old = await readTicketState(join(holder.dir, 'tickets'), ticket);
      const s1MarginMs = old !== null && old.granted && old.revokeBy !== null ? round(hit.at - old.revokeBy, 1) : null;
      const boundMs = wasLeader ? boundLeader : boundBase;
      const s: FailoverSample = {
        killed: holder.address,
        killedWasLeader: wasLeader,
        to: other.address,
        failoverMs: round(failoverMs, 1),
        boundMs: round(boundMs, 0),
        withinBound: failoverMs <= boundMs,
        withinBoundTwoTimeouts: failoverMs <= (wasLeader ? boundLeaderTwoTimeouts : boundBase),
        s1MarginMs,
      };
      samples.push(s);
      b.say(
        `failover ${i + 1}/${reps}: kill -9 ${holder.address}${wasLeader ? ' (holder and leader)' : ''} → written at ${other.address} after ${failoverMs.toFixed(0)} ms ` +
          `(bound ${boundMs.toFixed(0)} ms${s.withinBound ? '' : `, EXCEEDED${s.withinBoundTwoTimeouts ? ` but within ${boundLeaderTwoTimeouts.toFixed(0)} ms with 2 election timeouts` : ''}`}; old grant lapsed ${s1MarginMs === null ? '?' : s1MarginMs.toFixed(0)} ms before)`,
      );
      if (s1MarginMs !== null && s1MarginMs < 0) b.say(`  S1 WARNING: the new grant was seen ${-s1MarginMs} ms before the old holder's revokeBy`);
      const killed = holder;
      holder = other;
      b.checkAborted();
      f.start(killed);
      await f.waitReady(killed);
    }
    const notLeader = samples.filter((s) => !s.killedWasLeader).map((s) => s.failoverMs);
    const leaderCase = samples.filter((s) => s.killedWasLeader).map((s) => s.failoverMs);
    const margins = samples.map((s) => s.s1MarginMs).filter((x): x is number => x !== null);
    return {
      failoverMs: summarize(samples.map((s) => s.failoverMs), 0),
      preset: presetName,
      perExpire: summarize(samples.map((s) => s.failoverMs / leaseMs), 2),
      failoverBoundMs: round(boundBase, 0),
      failoverBoundLeaderMs: round(boundLeader, 0),
      failoverBoundLeaderTwoTimeoutsMs: round(boundLeaderTwoTimeouts, 0),
      bound: { leaseMs, driftPpm, stretch: round(stretch, 6), acquireAfterMs, renewIntervalMs: preset.renewIntervalMs, electionTimeoutMs: preset.electionTimeoutMs },
      holderNotLeader: notLeader.length > 0 ? summarize(notLeader, 0) : null,
      holderWasLeader: leaderCase.length > 0 ? summarize(leaderCase, 0) : null,
      withinBound: samples.filter((s) => s.withinBound).length,
      withinBoundTwoTimeouts: samples.filter((s) => s.withinBoundTwoTimeouts).length,
      s1MarginMinMs: margins.length > 0 ? Math.min(...margins) : null,
      samples,
    };
  } finally {
    await b.release(f);
  }
}
