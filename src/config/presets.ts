// Timing presets, chosen with `tollbooth-preset = lan | wan | loopback`.
//
// As memberlist's DefaultLANConfig / DefaultWANConfig / DefaultLocalConfig,
// the LAN preset is the base and the other two are derived from it by
// changing only what differs, so a field added to the base reaches every
// preset. A preset tunes the machinery *around* tickets — the registry's Raft
// timers (DESIGN.md §2), SWIM/Lifeguard gossip (§3), dialling — and gives
// defaults for tickets added at run time.
//
// Tickets written in the config file do NOT take their lease timing from the
// preset: an absent `expire`, `timeout`, `retries`, `renewal-freq` means
// booth's default (600 s, 5 s, 10, expire/2), so an existing booth.conf keeps
// its meaning whatever the preset. The one exception is `revokeLeadMs`, which
// booth does not have (see tollbooth-keys.ts).
//
// The gossip (SWIM/Lifeguard) timing is not copied here: each preset's
// `gossip` field is the gossip config's preset of the same name
// (src/core/gossip/config.ts, swimPresets, which documents every field).
//
// Every relation the protocol relies on is checked by timingPresetProblems()
// (the gossip part by the gossip config's own swimTimingProblems), and a test
// asserts that all three presets pass it.

import { swimLimitsDefault, swimLimitsProblems, swimPresets, swimTimingProblems, type SwimTiming } from '../core/gossip/config.js';

/** Preset names in the order the docs list them. */
export const timingPresetNames = ['lan', 'wan', 'loopback'] as const;
export type TimingPresetName = (typeof timingPresetNames)[number];

/**
 * The preset used when the config has no `tollbooth-preset` line. Formations
 * span sites, usually over a WAN; slower timers there cost some failover
 * speed but avoid false failovers (liveness property L2 in DESIGN.md §1).
 */
export const timingPresetDefault: TimingPresetName = 'wan';

/**
 * The timing of a config without a `tollbooth-preset` line: derived from the
 * file's own booth keys (timingFromBoothKeys), so that every booth.conf that
 * booth accepts runs (issue 14).
 */
export const boothDerivedTimingName = 'booth';
export type TimingName = TimingPresetName | typeof boothDerivedTimingName;

export interface TimingPreset {
  /** Which preset this is (or `booth`: derived from the booth keys); part of the config fingerprint like every field. */
  readonly name: TimingName;

  /**
   * Registry (Raft) heartbeat: how often the leader sends AppendEntries when
   * it has nothing else to send. Unit ms. Default 100 (lan), 300 (wan), 50
   * (loopback). Shorter detects a dead leader sooner and keeps the leader
   * lease fresh, at the price of more packets; it must stay well below
   * electionTimeoutMs (Raft §5.6: broadcastTime ≪ electionTimeout).
   */
  readonly heartbeatIntervalMs: number;

  /**
   * Registry (Raft) election timeout: a follower that heard no leader for a
   * random time in [electionTimeoutMs, 2 × electionTimeoutMs) starts a
   * PreVote; voters that acknowledged a leader refuse other candidates for
   * electionTimeoutMs, which backs the leader lease (DESIGN.md §2). Unit ms.
   * Default 1000 (lan), 3000 (wan), 500 (loopback). Shorter heals a lost
   * leader faster but risks needless elections when round trips vary; a
   * leader change can take up to 2 × electionTimeoutMs, and every ticket's
   * lease must outlast that.
   */
  readonly electionTimeoutMs: number;

  /**
   * How often every site sends its one batched renewal (and health report)
   * for all the tickets it holds to the registry leader (DESIGN.md §2). Unit
   * ms. Default 1000 (lan), 2000 (wan), 200 (loopback). Shorter keeps more
   * of each lease in reserve (a holder needs two attempts per lease) at the
   * cost of one message per site per interval. booth's per-ticket
   * `renewal-freq` is read and checked for booth parity but this interval is
   * what tollbooth's sites use.
   */
  readonly renewIntervalMs: number;

  /**
   * A renewal that got no answer is resent after this long, possibly to a
   * new leader or through a relay. Unit ms. Default 500 (lan), 1000 (wan),
   * 100 (loopback). Must exceed a normal round trip (else duplicates) and
   * not exceed renewIntervalMs; a lost message costs at most this much lease.
   */
  readonly renewRetryMs: number;

  /**
   * Retry delay for a failed CIB write (`crm_ticket`) of a ticket effect.
   * Unit ms. Default 1000 (lan, wan), 200 (loopback). Shorter reacts faster
   * to a briefly busy CIB; longer spares a struggling cluster.
   */
  readonly effectRetryMs: number;

  /**
   * The registry leader treats a site as alive (eligible for an automatic
   * grant) if it heard from it within this window. Unit ms. Default 3000
   * (lan), 6000 (wan), 1000 (loopback); at least 2 × renewIntervalMs so one
   * lost renewal does not make a site look dead. Longer avoids granting to a
   * site that only blinked; shorter stops choosing a dead site sooner.
   */
  readonly siteAliveWindowMs: number;

  /**
   * Gossip (SWIM/Lifeguard, DESIGN.md §3): probe period and timeout, indirect
   * probes, suspicion, gossip period and fan-out, and the rest. The gossip
   * config's preset of the same name (swimPresets in
   * src/core/gossip/config.ts, where every field is documented with its
   * unit, defaults and trade-off); the derived `booth` timing takes wan's and
   * derives the probe period and timeout and the gossip period from booth's
   * timeout (timingFromBoothKeys).
   */
  readonly gossip: SwimTiming;

  /**
   * Connection set-up budget: how long dialling a member (TCP + Noise
   * handshake) may take before the attempt is abandoned and retried. Unit
   * ms. Default 5000 (lan), 10000 (wan), 1000 (loopback). Too short fails on
   * slow links; too long delays falling back to a relay.
   */
  readonly dialTimeoutMs: number;

  /**
   * Lease duration of a ticket added at run time (`ticket add`) without one.
   * Unit ms. Default 60000 (lan), 600000 (wan: booth's `expire` default),
   * 10000 (loopback). Longer rides out longer outages without a failover;
   * shorter fails over sooner when a site is really lost. Tickets in the
   * config file default to booth's 600 s instead (see the top of this file).
   */
  readonly leaseDurationMs: number;

  /**
   * Revoke lead: a holder that could not renew revokes the ticket in its CIB
   * this long before its lease ends, so that Pacemaker has time to act
   * before another site may acquire it (DESIGN.md §2). Default of
   * `tollbooth-revoke-lead` for every ticket that does not set it, capped at
   * (expire − renewal-freq) / 2 so that it fits short leases. Unit ms.
   * Default 5000 (lan), 10000 (wan), 1000 (loopback). Longer widens the gap
   * between the old holder letting go and the new one taking over; it also
   * makes the holder give up sooner during a long outage.
   */
  readonly revokeLeadMs: number;
}

/** The base, tuned for members that share a LAN or a metro network (RTT well under 10 ms). */
const lanPreset: TimingPreset = {
  name: 'lan',
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1_000,
  renewIntervalMs: 1_000,
  renewRetryMs: 500,
  effectRetryMs: 1_000,
  siteAliveWindowMs: 3_000,
  gossip: swimPresets.lan,
  dialTimeoutMs: 5_000,
  leaseDurationMs: 60_000,
  revokeLeadMs: 5_000,
};

/** Sites in different regions: round trips up to a few hundred ms, occasional loss. */
const wanPreset: TimingPreset = {
  ...lanPreset,
  name: 'wan',
  heartbeatIntervalMs: 300,
  electionTimeoutMs: 3_000,
  renewIntervalMs: 2_000,
  renewRetryMs: 1_000,
  siteAliveWindowMs: 6_000,
  gossip: swimPresets.wan,
  dialTimeoutMs: 10_000,
  leaseDurationMs: 600_000,
  revokeLeadMs: 10_000,
};

/** Every member on one host (tests, demos): fast timers, one indirect helper. */
const loopbackPreset: TimingPreset = {
  ...lanPreset,
  name: 'loopback',
  heartbeatIntervalMs: 50,
  electionTimeoutMs: 500,
  renewIntervalMs: 200,
  renewRetryMs: 100,
  effectRetryMs: 200,
  siteAliveWindowMs: 1_000,
  gossip: swimPresets.loopback,
  dialTimeoutMs: 1_000,
  leaseDurationMs: 10_000,
  revokeLeadMs: 1_000,
};

export const timingPresets: Readonly<Record<TimingPresetName, TimingPreset>> = {
  lan: lanPreset,
  wan: wanPreset,
  loopback: loopbackPreset,
};

/** booth's default `timeout` (5 s): the base of the derived timing when the file has no ticket. */
export const boothTimeoutMsDefault = 5_000;
/** Floors of the derived timers: below them a loaded host misses its own deadlines. */
const derivedElectionTimeoutMsMin = 100;
const derivedHeartbeatIntervalMsMin = 10;
/** Raft heartbeats per election timeout in the derived timing (etcd's 10; at least electionToHeartbeatRatioMin). */
const derivedHeartbeatsPerElection = 10;
/** SWIM probe period bounds of the derived timing: the loopback and wan presets' periods. */
const derivedProbeIntervalMsMin = swimPresets.loopback.probeIntervalMs;
const derivedProbeIntervalMsMax = swimPresets.wan.probeIntervalMs;
/** Gossip period bounds of the derived timing: loopback's and wan's. */
const derivedGossipIntervalMsMin = swimPresets.loopback.gossipIntervalMs;
const derivedGossipIntervalMsMax = swimPresets.wan.gossipIntervalMs;
const derivedDialTimeoutMsMin = 1_000;
/** booth's default `expire` (600 s): the lease of a ticket added at run time under the derived timing. */
const boothExpireMsDefault = 600_000;
/** A run-time ticket's lease is at least this many T, so that it fits the derived timers (usable 6 T > 3 T). */
const derivedLeaseTimeouts = 8;
const derivedDialTimeoutMsMax = 10_000;

/**
 * The timing of a formation whose config has no `tollbooth-preset` line,
 * derived from booth's own per-ticket `timeout` — booth's resend interval and
 * election duration, i.e. what the file's author says a round trip plus slack
 * costs — taking the smallest over the tickets (T; booth's 5 s without
 * tickets). Where booth waits T, tollbooth waits T:
 *   - the registry's election timeout is T (booth's election lasts T), its
 *     heartbeat T/10;
 *   - a site renews every T (booth resends every T) and retries after T/2;
 *     the leader counts a site alive for 3 T;
 *   - gossip probes every T (within 0.5–5 s, the loopback and wan periods),
 *     waits 0.6 of that for an ack, pushes every T/5 (within 0.1–0.5 s), and
 *     takes wan's other gossip fields;
 *   - the revoke lead is 2 T (capped per ticket at (expire − renewal-freq)/2
 *     as always), a ticket added at run time gets booth's 600 s lease.
 * With booth's own rule timeout × (retries + 1) < renewal-freq < expire and
 * retries ≥ 3, every ticket then has expire − revoke lead > 3 T ≥
 * 2 × electionTimeoutMs + renewIntervalMs: any file booth accepts passes
 * leaseTimingProblems. The relations are checked all the same
 * (timingPresetProblems, validate.ts), with the line to blame.
 */
export function timingFromBoothKeys(ticketTimeoutsMs: readonly number[]): TimingPreset {
  const positive = ticketTimeoutsMs.filter((t) => Number.isSafeInteger(t) && t > 0);
  const t = positive.length === 0 ? boothTimeoutMsDefault : Math.min(...positive);
  const electionTimeoutMs = Math.max(derivedElectionTimeoutMsMin, t);
  const heartbeatIntervalMs = Math.max(derivedHeartbeatIntervalMsMin, Math.floor(electionTimeoutMs / derivedHeartbeatsPerElection));
  const renewIntervalMs = electionTimeoutMs;
  const probeIntervalMs = Math.min(derivedProbeIntervalMsMax, Math.max(derivedProbeIntervalMsMin, t));
  return {
    ...wanPreset,
    name: boothDerivedTimingName,
    heartbeatIntervalMs,
    electionTimeoutMs,
    renewIntervalMs,
    renewRetryMs: Math.max(heartbeatIntervalMs, Math.floor(renewIntervalMs / 2)),
    siteAliveWindowMs: 3 * renewIntervalMs,
    // wan's gossip, with the periods on booth's scale.
    gossip: {
      ...wanPreset.gossip,
      probeIntervalMs,
      probeTimeoutMs: Math.floor((probeIntervalMs * 3) / 5),
      gossipIntervalMs: Math.min(derivedGossipIntervalMsMax, Math.max(derivedGossipIntervalMsMin, Math.floor(t / 5))),
    },
    dialTimeoutMs: Math.min(derivedDialTimeoutMsMax, Math.max(derivedDialTimeoutMsMin, 2 * t)),
    // booth's expire default, or longer when T is huge, so that the default ticket fits too.
    leaseDurationMs: Math.max(boothExpireMsDefault, derivedLeaseTimeouts * t),
    revokeLeadMs: 2 * t,
  };
}

/** How messages name a timing: "the wan preset", or the derived one. */
export function timingLabel(preset: Pick<TimingPreset, 'name' | 'electionTimeoutMs'>): string {
  return preset.name === boothDerivedTimingName ? `timing derived from booth's timeout (${preset.electionTimeoutMs} ms; no tollbooth-preset line)` : `${preset.name} preset`;
}

export function isTimingPresetName(text: string): text is TimingPresetName {
  return (timingPresetNames as readonly string[]).includes(text);
}

/**
 * Raft §5.6 asks for broadcastTime ≪ electionTimeout; etcd uses a factor of
 * 10. Below 5 a couple of delayed heartbeats already trigger an election.
 */
export const electionToHeartbeatRatioMin = 5;

/**
 * Why a ticket lease does not fit the preset's timers; empty when it does.
 * The same relations the core asserts on every ticket (src/core/config.ts),
 * checked here first so that the operator sees them with a file and line:
 *   - lease − revoke lead ≥ 2 × renewIntervalMs: a holder gets at least two
 *     renewal attempts before it must let go;
 *   - lease − revoke lead > 2 × electionTimeoutMs + renewIntervalMs: a
 *     registry leader change (up to two election timeouts) plus one renewal
 *     fits, so a leader change alone never costs a ticket (L2).
 */
export function leaseTimingProblems(leaseDurationMs: number, revokeLeadMs: number, preset: TimingPreset): string[] {
  const problems: string[] = [];
  const usableMs = leaseDurationMs - revokeLeadMs;
  const twoAttemptsMs = 2 * preset.renewIntervalMs;
  if (usableMs < twoAttemptsMs) {
    problems.push(
      `lease − revoke lead (${usableMs} ms) must be at least 2 × renewIntervalMs of the ${timingLabel(preset)} (${twoAttemptsMs} ms), so that a holder gets two renewal attempts`,
    );
  }
  const leaderChangeMs = 2 * preset.electionTimeoutMs + preset.renewIntervalMs;
  if (usableMs <= leaderChangeMs) {
    problems.push(
      `lease − revoke lead (${usableMs} ms) must exceed 2 × electionTimeoutMs + renewIntervalMs of the ${timingLabel(preset)} (${leaderChangeMs} ms), so that a registry leader change does not cost the ticket`,
    );
  }
  return problems;
}

/** Relations between the fields of a preset; empty when the preset is consistent. */
export function timingPresetProblems(preset: TimingPreset): string[] {
  const problems: string[] = [];
  for (const [field, value] of Object.entries(preset)) {
    if (typeof value === 'number' && (!Number.isSafeInteger(value) || value <= 0)) {
      problems.push(`${field} must be a positive integer, not ${value}`);
    }
  }
  if (preset.heartbeatIntervalMs * electionToHeartbeatRatioMin > preset.electionTimeoutMs) {
    problems.push(
      `electionTimeoutMs (${preset.electionTimeoutMs}) must be at least ${electionToHeartbeatRatioMin} × heartbeatIntervalMs (${preset.heartbeatIntervalMs})`,
    );
  }
  if (preset.renewRetryMs > preset.renewIntervalMs) {
    problems.push(`renewRetryMs (${preset.renewRetryMs}) must not exceed renewIntervalMs (${preset.renewIntervalMs})`);
  }
  if (preset.siteAliveWindowMs < 2 * preset.renewIntervalMs) {
    problems.push(`siteAliveWindowMs (${preset.siteAliveWindowMs}) must be at least 2 × renewIntervalMs (${2 * preset.renewIntervalMs})`);
  }
  // The gossip timing's fields and relations are the gossip config's to check (one check, also asserted by SwimNode at start).
  problems.push(...[...swimTimingProblems(preset.gossip), ...swimLimitsProblems(swimLimitsDefault, preset.gossip)].map((p) => `gossip: ${p}`));
  if (preset.revokeLeadMs >= preset.leaseDurationMs) {
    problems.push(`revokeLeadMs (${preset.revokeLeadMs}) must be less than leaseDurationMs (${preset.leaseDurationMs})`);
  }
  problems.push(...leaseTimingProblems(preset.leaseDurationMs, preset.revokeLeadMs, preset).map((p) => `default ticket: ${p}`));
  return problems;
}
