// The arithmetic of SWIM and Lifeguard (DESIGN.md §3), as small pure
// functions so that each can be checked against its formula on its own
// (STYLE.md, after memberlist's util.go / suspicion.go / awareness.go split).
//
// References: Das, Gupta, Motivala, "SWIM: Scalable Weakly-consistent
// Infection-style Process Group Membership Protocol" (DSN 2002), and
// Dadgar, Phillips, Currey, "Lifeguard: Local Health Awareness for More
// Accurate Failure Detection" (2018). Unit of every duration: milliseconds.

import type { RandomSource } from '../random.js';

/**
 * Lifeguard's suspicion timeout bounds. The shortest wait is
 * multiplier × max(1, log10(n)) × probe period: the log term lets a rumour
 * reach the suspect (and its refutation come back) in larger groups, where
 * dissemination takes O(log n) periods. The longest wait, used while nobody
 * has confirmed the suspicion, is maxMultiplier times that.
 */
export function suspicionBoundsMs(
  memberCount: number,
  probeIntervalMs: number,
  suspicionMultiplier: number,
  suspicionMaxMultiplier: number,
): { readonly minMs: number; readonly maxMs: number } {
  const scale = Math.max(1, Math.log10(Math.max(1, memberCount)));
  const minMs = Math.floor(suspicionMultiplier * scale * probeIntervalMs);
  return { minMs, maxMs: Math.floor(suspicionMaxMultiplier * minMs) };
}

/**
 * How many independent confirmations a suspicion can collect (Lifeguard's K):
 * the configured number, but never more than there are members other than
 * the suspect and the first suspector.
 */
export function expectedConfirmations(memberCount: number, configured: number): number {
  return Math.max(0, Math.min(configured, memberCount - 2));
}

/**
 * Lifeguard's dynamic suspicion timeout (its "Local Health Aware Suspicion"):
 *   timeout = max(min, max − (max − min) · log(C + 1) / log(K + 1))
 * with C the independent confirmations seen so far and K the number expected.
 * It starts at `max` and falls towards `min` as confirmations arrive; after K
 * of them it is `min`. The ratio of logarithms does not depend on the base.
 *
 * K = 0 (nobody could ever confirm, e.g. two members) keeps `max`: with no
 * confirmation to wait for, the longer wait only gives a member cut off from
 * the suspector more time to refute, which is what a ticket arbiter wants
 * (L2, no false failovers, beats fast detection). memberlist picks `min` here.
 */
export function suspicionTimeoutMs(minMs: number, maxMs: number, confirmations: number, expected: number): number {
  if (expected <= 0) return maxMs;
  const c = Math.max(0, confirmations);
  const fraction = Math.log(c + 1) / Math.log(expected + 1);
  return Math.max(minMs, Math.floor(maxMs - (maxMs - minMs) * fraction));
}

/**
 * How many messages may carry one queued update: multiplier × ⌈log2(n + 1)⌉
 * (SWIM's λ·log n). memberlist uses log10, which gives every group under ten
 * members the same `multiplier` transmissions; with 4 of them a rumor missed
 * one of 7 members in about 2 % of trials in the test network (an
 * infected member's copies all go elsewhere with probability (5/6)^4 per
 * member). Base 2 gives 8 for 3 members and 12 for 4–7.
 */
export function retransmitLimit(retransmitMultiplier: number, memberCount: number): number {
  return retransmitMultiplier * Math.max(1, Math.ceil(Math.log2(memberCount + 1)));
}

/**
 * Lifeguard's local health multiplier: a member whose health score is s runs
 * its probe period and probe timeout s + 1 times slower. Score 0 is healthy.
 */
export function healthMultiplier(score: number): number {
  return 1 + score;
}

/** A health score moved by `delta` and kept within [0, scoreMax]. */
export function adjustHealthScore(score: number, delta: number, scoreMax: number): number {
  return Math.min(scoreMax, Math.max(0, score + delta));
}

/** What a finished probe period saw, for probeHealthDelta. */
export interface ProbeOutcome {
  /** Some ack arrived (direct or through a helper) within the period. */
  readonly acked: boolean;
  /** Helpers asked to probe indirectly. */
  readonly helpers: number;
  /** Nacks received from those helpers. */
  readonly nacks: number;
  /** The target was already considered dead: its silence says nothing about us. */
  readonly targetDead: boolean;
}

/**
 * Lifeguard's local health awareness (its "Local Health Aware Probe"): how
 * one probe period moves the health score.
 *   - Any ack: −1, the member can evidently send and receive.
 *   - No ack, with helpers: +1 per helper whose nack did not arrive. A helper
 *     that nacks shows that our messages get through and the target is the
 *     one that is silent; a missing nack points at our own links or load.
 *   - No ack, no helpers to tell us otherwise: +1 (the plain failed-probe
 *     penalty), unless the target is already known dead.
 */
export function probeHealthDelta(outcome: ProbeOutcome): number {
  if (outcome.acked) return -1;
  if (outcome.helpers > 0) return Math.max(0, outcome.helpers - outcome.nacks);
  return outcome.targetDead ? 0 : 1;
}

/** Smoothed round-trip time, TCP-style (RFC 6298: gain 1/8). The first sample is taken as is. */
export function smoothedRttMs(previousMs: number | null, sampleMs: number): number {
  if (previousMs === null) return sampleMs;
  return previousMs + (sampleMs - previousMs) / 8;
}

/**
 * How long a report that some member reached another stays usable for
 * relaying. Every member is probed once per round of n − 1 periods, in a
 * shuffled order, so two probes of one member are at most 2(n − 1) − 1
 * periods apart; `multiplier` rounds (scaled like the period by local
 * health) cover that with room for one lost report.
 */
export function reachWindowMs(probeIntervalMs: number, memberCount: number, multiplier: number, healthScore: number): number {
  return multiplier * Math.max(1, memberCount - 1) * probeIntervalMs * healthMultiplier(healthScore);
}

/**
 * How long a helper waits for the target's ack before sending a nack: a
 * fraction of what is left of the requester's period, so that the nack can
 * still come back in time (Lifeguard uses 80 %).
 */
export function nackTimeoutMs(remainingMs: number, percent: number): number {
  return Math.max(1, Math.floor((remainingMs * percent) / 100));
}

/** A Fisher–Yates shuffle of a copy of `items`, driven by the injected random source. */
export function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/** Up to `count` distinct items of `items`, chosen uniformly at random. */
export function pickDistinct<T>(items: readonly T[], count: number, random: RandomSource): T[] {
  return shuffled(items, random).slice(0, Math.max(0, count));
}
