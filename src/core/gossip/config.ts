// Gossip configuration (DESIGN.md §3): the SWIM/Lifeguard timings, the limits
// on state fed by remote input, the lan / wan / loopback presets and their
// checks. As memberlist's DefaultLANConfig / DefaultWANConfig /
// DefaultLocalConfig, the LAN preset is the base and the other two change only
// what differs. This is the one table of gossip timings: each formation
// preset of src/config/presets.ts takes its `gossip` from here.

/** SWIM/Lifeguard timings and knobs. Every field: meaning, unit, defaults (lan / wan / loopback), trade-off. */
export interface SwimTiming {
  /**
   * Protocol period: each member probes one other member per period (SWIM's
   * T′), stretched by the local health multiplier. Unit ms. Default 1000 /
   * 5000 / 500. Shorter finds failures sooner and refreshes relay routes
   * faster, at the cost of constant background traffic (about 2 + 4k
   * messages per member per period at worst).
   */
  readonly probeIntervalMs: number;
  /**
   * Direct probe timeout: how long to wait for the ack of a direct ping
   * before asking helpers (stretched by the health multiplier). Unit ms.
   * Default 500 / 3000 / 200. Must exceed a normal round trip, else healthy
   * links look broken and every probe goes indirect; must leave enough of
   * the period for the indirect round trip (requester → helper → target and
   * back), so it must stay below probeIntervalMs.
   */
  readonly probeTimeoutMs: number;
  /**
   * Indirect probes: helpers asked (ping-req) when a direct probe times out
   * (SWIM's k). Unit: members. Default 3 / 3 / 1. More helpers survive more
   * broken links (DESIGN.md §3.1: a cut link is not a dead member) at the
   * cost of 4 messages per helper per failed direct probe; 0 disables
   * indirect probes (the `no-indirect-probe` mutant's behaviour).
   */
  readonly indirectProbeCount: number;
  /**
   * A helper that got no ack from the target within this percentage of what
   * is left of the requester's period sends a nack (Lifeguard). Unit
   * percent. Default 80 everywhere. Higher gives the target longer to answer
   * the helper; lower leaves more time for the nack to get back (a nack that
   * arrives late counts as missed and raises the requester's health score).
   */
  readonly nackTimeoutPercent: number;
  /**
   * Suspicion timeout, shortest: a suspect is declared dead no sooner than
   * suspicionMultiplier × max(1, log10 n) × probeIntervalMs after it was
   * first suspected here (Lifeguard's α). Unit: probe periods. Default 4 / 6
   * / 3. Higher gives a slow or partially cut-off member more time to
   * refute; lower detects a real crash sooner. Gossip never moves tickets (the registry's leases do), so the
   * cost of a higher value is only a slower `peers` view.
   */
  readonly suspicionMultiplier: number;
  /**
   * Suspicion timeout, longest: the timeout starts at suspicionMaxMultiplier
   * times the shortest and falls towards it as independent confirmations
   * arrive (Lifeguard's β). Unit: multiple of the shortest. Default 6
   * everywhere. Higher makes a lone (possibly wrong) accuser wait longer;
   * detection of a real crash is unaffected as long as others confirm.
   */
  readonly suspicionMaxMultiplier: number;
  /**
   * Independent confirmations after which the suspicion timeout reaches its
   * shortest (Lifeguard's K), capped at n − 2. Unit: members. Default 3
   * everywhere. Lower shortens detection with few confirmers; higher needs
   * more agreement before the shortest timeout applies.
   */
  readonly suspicionConfirmations: number;
  /**
   * Local health score ceiling (Lifeguard's S): the probe period and timeout
   * are multiplied by score + 1, so by at most healthScoreMax + 1. Unit:
   * score points. Default 8 everywhere. Higher lets a struggling member back
   * off further (fewer false accusations from it) but makes it slower to
   * notice real failures while it struggles.
   */
  readonly healthScoreMax: number;
  /**
   * Retransmissions of each queued update: retransmitMultiplier ×
   * ⌈log2(n + 1)⌉ messages carry it (SWIM's λ; 12 for 4–7 members). Unit:
   * messages. Default 4 everywhere. Higher spreads news more surely under
   * loss (and keeps gossip rounds going longer after each change); lower
   * saves room in messages.
   */
  readonly retransmitMultiplier: number;
  /**
   * Updates and rumors carried by one message, at most (M). Unit: items.
   * Default 16 everywhere. Higher spreads bursts faster and makes bigger
   * frames (a membership update is about 200 bytes of JSON with its
   * signature); piggybackItemsMax × the largest rumor must stay well inside
   * the wire's messageBytesMax.
   */
  readonly piggybackItemsMax: number;
  /**
   * Gossip period: while the queue holds updates, they are pushed to
   * gossipFanout random live members this often, besides riding on probes.
   * Unit ms. Default 200 / 500 / 100; 0 disables gossip messages (updates
   * then ride on probes only). Shorter spreads news (and refutations)
   * faster at the cost of packets.
   */
  readonly gossipIntervalMs: number;
  /**
   * Gossip fan-out: members each gossip message round goes to. Unit:
   * members. Default 3 / 4 / 3. Higher converges in fewer rounds and
   * tolerates loss better; each extra member costs one message per round.
   */
  readonly gossipFanout: number;
  /**
   * A report "helper C reached X" (a forwarded ack) is used for relaying for
   * reachWindowMultiplier × (n − 1) probe periods. Unit: probe rounds.
   * Default 3 everywhere. Longer keeps a relay route through a gap in
   * reports; shorter drops a stale route sooner.
   */
  readonly reachWindowMultiplier: number;
}

/**
 * Bounds on state fed by remote input (TIGER_STYLE: put a limit on
 * everything). The same for every preset (swimLimitsDefault); each must be a
 * positive integer, and checked against the timing (swimLimitsProblems).
 */
export interface SwimLimits {
  /**
   * Entries in the retransmit queue (one per member and per rumor key); past
   * it the least urgent entry is dropped. Unit: entries. Default 4096. Must
   * be at least piggybackItemsMax. Higher keeps more news in flight during a
   * burst (each entry a few hundred bytes); a dropped entry is news that
   * reaches others only through later messages or republishing.
   */
  readonly broadcastQueueMax: number;
  /**
   * Distinct (kind, key) rumors remembered, ours and received; a rumor with
   * a new key past it is refused (rejected 'rumors-full', or piggyback()
   * returns false). Unit: rumors. Default 32768. Must exceed the tickets plus
   * sites a formation has; it bounds the memory a flood of keys can take.
   */
  readonly rumorsMax: number;
  /**
   * ping-req requests this member serves for others at once; more are
   * ignored (rejected 'relays-full'; the requester sees a missed nack).
   * Unit: requests. Default 64. Each costs one ping and one timer until the
   * target answers or the nack is due.
   */
  readonly pendingRelaysMax: number;
  /**
   * Characters in a rumor's key (a ticket name, a site id); a longer key is
   * refused as 'bad-field' (and is a programmer error in piggyback()). Unit:
   * UTF-16 code units. Default 256.
   */
  readonly rumorKeyCharsMax: number;
  /**
   * Updates plus rumors read from one incoming message; the rest are
   * ignored and the message counted once as 'too-many-items'. Unit: items.
   * Default 64. Must exceed piggybackItemsMax (a buddy claim rides on top of
   * a full piggyback); it bounds the signature checks one message can cause.
   */
  readonly itemsPerMessageMax: number;
}

/** The limits every preset uses (see SwimLimits for each field). */
export const swimLimitsDefault: SwimLimits = {
  broadcastQueueMax: 4096,
  rumorsMax: 32_768,
  pendingRelaysMax: 64,
  rumorKeyCharsMax: 256,
  itemsPerMessageMax: 64,
};

/** The base preset, for members on one LAN or metro network (RTT well under 10 ms). */
const lanTiming: SwimTiming = {
  probeIntervalMs: 1_000,
  probeTimeoutMs: 500,
  indirectProbeCount: 3,
  nackTimeoutPercent: 80,
  suspicionMultiplier: 4,
  suspicionMaxMultiplier: 6,
  suspicionConfirmations: 3,
  healthScoreMax: 8,
  retransmitMultiplier: 4,
  piggybackItemsMax: 16,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  reachWindowMultiplier: 3,
};

/** Sites in different regions: round trips up to a few hundred ms, occasional loss. */
const wanTiming: SwimTiming = {
  ...lanTiming,
  probeIntervalMs: 5_000,
  probeTimeoutMs: 3_000,
  suspicionMultiplier: 6,
  gossipIntervalMs: 500,
  gossipFanout: 4,
};

/** Every member on one host (tests, demos): fast timers, one helper. */
const loopbackTiming: SwimTiming = {
  ...lanTiming,
  probeIntervalMs: 500,
  probeTimeoutMs: 200,
  indirectProbeCount: 1,
  suspicionMultiplier: 3,
  gossipIntervalMs: 100,
};

/** The gossip timing of src/config/presets.ts's preset of the same name (TimingPreset.gossip). */
export const swimPresets: Readonly<Record<'lan' | 'wan' | 'loopback', SwimTiming>> = {
  lan: lanTiming,
  wan: wanTiming,
  loopback: loopbackTiming,
};

/** Every field and relation that is wrong; empty when the timing can be used. */
export function swimTimingProblems(t: SwimTiming): string[] {
  const out: string[] = [];
  const positive: Array<[string, number]> = [
    ['probeIntervalMs', t.probeIntervalMs],
    ['probeTimeoutMs', t.probeTimeoutMs],
    ['piggybackItemsMax', t.piggybackItemsMax],
    ['retransmitMultiplier', t.retransmitMultiplier],
  ];
  for (const [field, v] of positive) if (!Number.isSafeInteger(v) || v <= 0) out.push(`${field} must be a positive integer (got ${v})`);
  const nonNegative: Array<[string, number]> = [
    ['indirectProbeCount', t.indirectProbeCount],
    ['suspicionConfirmations', t.suspicionConfirmations],
    ['healthScoreMax', t.healthScoreMax],
    ['gossipIntervalMs', t.gossipIntervalMs],
    ['gossipFanout', t.gossipFanout],
  ];
  for (const [field, v] of nonNegative) if (!Number.isSafeInteger(v) || v < 0) out.push(`${field} must be a non-negative integer (got ${v})`);
  if (!(t.suspicionMultiplier >= 1)) out.push(`suspicionMultiplier must be at least 1 (got ${t.suspicionMultiplier})`);
  if (!(t.suspicionMaxMultiplier >= 1)) out.push(`suspicionMaxMultiplier must be at least 1 (got ${t.suspicionMaxMultiplier})`);
  if (!(t.reachWindowMultiplier >= 1)) out.push(`reachWindowMultiplier must be at least 1 (got ${t.reachWindowMultiplier})`);
  if (!(t.nackTimeoutPercent > 0 && t.nackTimeoutPercent < 100)) out.push(`nackTimeoutPercent must be in (0, 100) (got ${t.nackTimeoutPercent})`);
  if (t.probeTimeoutMs >= t.probeIntervalMs) {
    out.push(`probeTimeoutMs (${t.probeTimeoutMs}) must be less than probeIntervalMs (${t.probeIntervalMs}) to leave room for indirect probes`);
  }
  if ((t.gossipIntervalMs > 0) !== (t.gossipFanout > 0)) out.push('gossipIntervalMs and gossipFanout must both be 0 (no gossip messages) or both positive');
  return out;
}

export function swimLimitsProblems(l: SwimLimits, t: SwimTiming): string[] {
  const out: string[] = [];
  for (const [field, v] of Object.entries(l)) if (!Number.isSafeInteger(v) || v <= 0) out.push(`limits.${field} must be a positive integer (got ${v})`);
  if (l.broadcastQueueMax < t.piggybackItemsMax) out.push('limits.broadcastQueueMax must be at least piggybackItemsMax');
  if (l.itemsPerMessageMax < t.piggybackItemsMax + 1) out.push('limits.itemsPerMessageMax must exceed piggybackItemsMax (a buddy claim rides on top)');
  return out;
}

/**
 * The most SWIM messages one member sends one other member per second when
 * it runs at full speed (health score 0: the health multiplier only ever
 * stretches periods), for a formation of `memberCount` members. The wire's
 * per-peer gossip budget (src/wire/inbound-budget.ts) is a multiple of it.
 * Per probe period, from sender S to receiver R at most:
 *   1 ping (S probes R; the probe target is one member per period),
 *   1 ack (S answers R's probe of S),
 *   1 ping-req (S's failed probe asks indirectProbeCount distinct helpers: one can be R),
 *   2 for R's ping-req to S (the forwarded ack, and a nack — Lifeguard),
 *   n − 2 pings S sends R as a helper for the others' failed probes of R,
 *   n − 2 acks S sends R for R's pings as a helper for the others,
 *   ⌈probeIntervalMs / gossipIntervalMs⌉ gossip messages (one per round: fan-out members are distinct).
 * Buddy claims, updates and rumors ride on these messages, not beside them.
 */
export function swimFramesPerSecondMax(t: SwimTiming, memberCount: number): number {
  const others = Math.max(0, memberCount - 2);
  const gossipRounds = t.gossipIntervalMs > 0 ? Math.ceil(t.probeIntervalMs / t.gossipIntervalMs) : 0;
  const perPeriod = 1 + 1 + Math.min(1, t.indirectProbeCount) + 2 * Math.min(1, t.indirectProbeCount) + 2 * others + gossipRounds;
  return (perPeriod * 1000) / t.probeIntervalMs;
}
