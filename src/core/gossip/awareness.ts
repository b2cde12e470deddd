// Lifeguard's local health awareness (LHA-Probe; memberlist's awareness.go):
// a score that missed nacks, failed probes, refutations and pauses raise and
// successful probes lower. It stretches this member's own probe period and
// probe timeout, so that a member that is struggling (overloaded, or behind
// bad links) slows down instead of accusing healthy members. The arithmetic
// is in swim-math.ts (healthMultiplier, adjustHealthScore, probeHealthDelta).

import { adjustHealthScore, healthMultiplier } from './swim-math.js';

export class Awareness {
  private scoreNow = 0;

  /** `scoreMax`: Lifeguard's S, the timing's healthScoreMax. */
  constructor(private readonly scoreMax: number) {}

  /** 0 (healthy) … scoreMax. */
  get score(): number {
    return this.scoreNow;
  }

  /** The factor on the probe period and timeout: score + 1. */
  get multiplier(): number {
    return healthMultiplier(this.scoreNow);
  }

  /** Moves the score by `delta`, kept within [0, scoreMax]. */
  apply(delta: number): void {
    this.scoreNow = adjustHealthScore(this.scoreNow, delta, this.scoreMax);
  }

  /** A base duration (probe period, probe timeout) stretched by the multiplier. Unit: that of `durationMs`. */
  scale(durationMs: number): number {
    return durationMs * this.multiplier;
  }
}
