// The soak's fault schedule: rounds drawn from one seeded random stream, so a
// seed names the same sequence of faults (kinds, targets, parameters, hold
// and quiet times) on every run; only the processes' own timing differs.
// Faults are data (TigerBeetle's VOPR): the runner (soak.ts) carries them out
// and heals them all at the end of each round's hold time.
import { SeededRandom } from '../../src/core/random.js';

export type FaultKind = 'partition' | 'one-way' | 'isolate' | 'loss' | 'slow-link' | 'delay' | 'kill' | 'pause' | 'cpu-hog';

export type Fault =
  /** Traffic between the two groups is dropped both ways. */
  | { readonly kind: 'partition'; readonly groups: readonly [readonly string[], readonly string[]] }
  /** Packets from `from` to each of `to` are dropped; the other direction passes. */
  | { readonly kind: 'one-way'; readonly from: string; readonly to: readonly string[] }
  /** The member is cut from every other, both ways. */
  | { readonly kind: 'isolate'; readonly member: string }
  /** `percent` of the member's packets, in and out, are dropped at random (nftables numgen). */
  | { readonly kind: 'loss'; readonly member: string; readonly percent: number }
  /** The member's outgoing link is shaped to `rateKbit` (tc tbf): queueing delay and drops under load. */
  | { readonly kind: 'slow-link'; readonly member: string; readonly rateKbit: number }
  /** tc netem delay (and jitter) on the member's link; only where the kernel has sch_netem. */
  | { readonly kind: 'delay'; readonly member: string; readonly delayMs: number; readonly jitterMs: number }
  /** kill -9 of the member process; started again at the heal. */
  | { readonly kind: 'kill'; readonly member: string }
  /** SIGSTOP of the member process; SIGCONT at the heal. */
  | { readonly kind: 'pause'; readonly member: string }
  /** stress-ng --cpu `workers` on the machine for the hold time. */
  | { readonly kind: 'cpu-hog'; readonly workers: number };

export interface Round {
  readonly faults: readonly Fault[];
  /** How long the faults stay in place (ms). */
  readonly holdMs: number;
  /** After the heal has converged, how long to watch a healthy formation before the next round (ms). */
  readonly quietMs: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly members: readonly string[];
  /** Kinds that may be drawn (netem's 'delay' only where it exists, 'cpu-hog' only with stress-ng). */
  readonly kinds: readonly FaultKind[];
  readonly holdMsMin?: number;
  readonly holdMsMax?: number;
  readonly quietMsMin?: number;
  readonly quietMsMax?: number;
  /** Most faults in one round. */
  readonly faultsPerRoundMax?: number;
  readonly cpuWorkersMax?: number;
}

/** Relative weights of the kinds: the network faults that caused the field failures come most often. */
const weights: Readonly<Record<FaultKind, number>> = {
  partition: 3,
  'one-way': 3,
  isolate: 2,
  loss: 2,
  'slow-link': 1,
  delay: 2,
  kill: 3,
  pause: 2,
  'cpu-hog': 1,
};

/** Faults that act on one member's process: at most one of them per member and round. */
const processKinds = new Set<FaultKind>(['kill', 'pause']);

export class FaultSchedule {
  readonly #rng: SeededRandom;
  readonly #o: Required<ScheduleOptions>;

  constructor(o: ScheduleOptions) {
    if (o.members.length < 3) throw new Error('a schedule needs at least 3 members');
    if (o.kinds.length === 0) throw new Error('a schedule needs at least one fault kind');
    this.#rng = new SeededRandom(o.seed);
    this.#o = {
      holdMsMin: 4_000,
      holdMsMax: 20_000,
      quietMsMin: 2_000,
      quietMsMax: 6_000,
      faultsPerRoundMax: 2,
      cpuWorkersMax: 2,
      ...o,
    };
  }

  next(): Round {
    const r = this.#rng;
    const count = r.int(1, this.#o.faultsPerRoundMax);
    const faults: Fault[] = [];
    const usedKinds = new Set<FaultKind>();
    const processTargets = new Set<string>();
    for (let attempt = 0; faults.length < count && attempt < 20; attempt++) {
      const kind = this.#pickKind();
      if (usedKinds.has(kind)) continue;
      const f = this.#fault(kind);
      if (f === null) continue;
      if ('member' in f && processKinds.has(kind)) {
        if (processTargets.has(f.member)) continue;
        processTargets.add(f.member);
      }
      usedKinds.add(kind);
      faults.push(f);
    }
    return { faults, holdMs: r.int(this.#o.holdMsMin, this.#o.holdMsMax), quietMs: r.int(this.#o.quietMsMin, this.#o.quietMsMax) };
  }

  #pickKind(): FaultKind {
    const kinds = this.#o.kinds;
    const total = kinds.reduce((s, k) => s + weights[k], 0);
    let x = this.#rng.next() * total;
    for (const k of kinds) {
      x -= weights[k];
      if (x < 0) return k;
    }
    return kinds[kinds.length - 1]!;
  }

  #fault(kind: FaultKind): Fault | null {
    const r = this.#rng;
    const members = this.#o.members;
    const member = r.pick(members);
    switch (kind) {
      case 'partition': {
        // A random split with both sides non-empty: shuffle, then cut at 1..n-1.
        const shuffled = [...members];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = r.int(0, i);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const at = r.int(1, shuffled.length - 1);
        return { kind, groups: [shuffled.slice(0, at), shuffled.slice(at)] };
      }
      case 'one-way': {
        const others = members.filter((m) => m !== member);
        const to = r.chance(0.5) ? others : [r.pick(others)];
        return { kind, from: member, to };
      }
      case 'isolate':
        return { kind, member };
      case 'loss':
        return { kind, member, percent: r.int(5, 40) };
      case 'slow-link':
        return { kind, member, rateKbit: r.pick([32, 64, 128, 256]) };
      case 'delay':
        return { kind, member, delayMs: r.int(20, 400), jitterMs: r.int(0, 100) };
      case 'kill':
        return { kind, member };
      case 'pause':
        return { kind, member };
      case 'cpu-hog':
        return { kind, workers: r.int(1, this.#o.cpuWorkersMax) };
    }
  }
}

/** A short human description of a fault, for the progress log. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'partition':
      return `partition ${f.groups[0].join(',')} | ${f.groups[1].join(',')}`;
    case 'one-way':
      return `one-way ${f.from} -> ${f.to.join(',')} dropped`;
    case 'isolate':
      return `isolate ${f.member}`;
    case 'loss':
      return `loss ${f.percent}% at ${f.member}`;
    case 'slow-link':
      return `slow link ${f.rateKbit} kbit/s at ${f.member}`;
    case 'delay':
      return `delay ${f.delayMs}±${f.jitterMs} ms at ${f.member}`;
    case 'kill':
      return `kill -9 ${f.member}`;
    case 'pause':
      return `SIGSTOP ${f.member}`;
    case 'cpu-hog':
      return `stress-ng --cpu ${f.workers}`;
  }
}
