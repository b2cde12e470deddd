// The test-only fault hook shared by both transports (STYLE.md, from the
// VOPR: faults are data, injected from outside, never special code paths in
// the protocol). A transport builds a FaultState only when it is constructed
// with `testFaults: true`; otherwise its `faults` property is null and the
// send path skips every fault check, so production never consults it.
//
// The hook acts on this member's side of the link to `peer`:
//  - drop(peer, fraction): each outbound frame to `peer` is discarded with
//    probability `fraction` (seeded, so a run replays), as `tc netem loss`.
//  - delay(peer, ms): each outbound frame to `peer` is held `ms` before it is
//    queued, as `tc netem delay` without jitter (order is kept).
//  - cut(peer): the link is down both ways: connections are closed and
//    refused until heal(), and frames to `peer` are dropped, as an nftables
//    partition.
//  - heal(): clears every fault of this member; the redial loop reconnects.
// drop and delay shape only this member's outbound frames; apply them on both
// members for a symmetric fault.
import { SeededRandom } from '../../core/random.js';
import type { MemberId } from '../../core/types.js';

/** Seed of the fault decisions (drop fractions) when a test gives none: a run replays exactly. */
export const faultSeedDefault = 1;

export interface TransportFaults {
  drop(peer: MemberId, fraction: number): void;
  delay(peer: MemberId, ms: number): void;
  cut(peer: MemberId): void;
  heal(): void;
}

export type FaultVerdict = { readonly action: 'drop' } | { readonly action: 'send'; readonly delayMs: number };

export interface FaultStateHooks {
  /** Called when a link is cut, so the transport can close what it has open to `peer`. */
  readonly onCut: (peer: MemberId) => void;
  /** Called after heal(), so the transport can reconnect at once rather than at its next redial. */
  readonly onHeal: () => void;
}

export class FaultState implements TransportFaults {
  readonly #random: SeededRandom;
  readonly #dropFraction = new Map<MemberId, number>();
  readonly #delayMs = new Map<MemberId, number>();
  readonly #cut = new Set<MemberId>();
  readonly #hooks: FaultStateHooks;

  constructor(seed: number, hooks: FaultStateHooks) {
    this.#random = new SeededRandom(seed);
    this.#hooks = hooks;
  }

  drop(peer: MemberId, fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`drop fraction must be in [0, 1], got ${fraction}`);
    this.#dropFraction.set(peer, fraction);
  }

  delay(peer: MemberId, ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`delay must be a non-negative number of ms, got ${ms}`);
    this.#delayMs.set(peer, ms);
  }

  cut(peer: MemberId): void {
    this.#cut.add(peer);
    this.#hooks.onCut(peer);
  }

  heal(): void {
    this.#dropFraction.clear();
    this.#delayMs.clear();
    this.#cut.clear();
    this.#hooks.onHeal();
  }

  isCut(peer: MemberId): boolean {
    return this.#cut.has(peer);
  }

  /** What to do with one outbound frame to `peer`. Draws from the seeded source only when a drop fraction is set. */
  verdict(peer: MemberId): FaultVerdict {
    if (this.#cut.has(peer)) return { action: 'drop' };
    const fraction = this.#dropFraction.get(peer) ?? 0;
    if (fraction > 0 && this.#random.next() < fraction) return { action: 'drop' };
    return { action: 'send', delayMs: this.#delayMs.get(peer) ?? 0 };
  }
}
