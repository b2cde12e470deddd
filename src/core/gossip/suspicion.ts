// One suspicion, Lifeguard's LHA-Suspicion (memberlist's suspicion.go): the
// timer that turns a suspect into a dead member unless it refutes first. It
// starts long and shrinks with each independent confirmation — another
// member accusing the same incarnation — so that a lone, possibly wrong,
// accuser waits longest while a real crash that several members see is
// declared soon. The arithmetic is in swim-math.ts.

import type { MemberId } from '../types.js';
import type { SwimTiming } from './config.js';
import { expectedConfirmations, suspicionBoundsMs, suspicionTimeoutMs } from './swim-math.js';

/** The timing fields a suspicion's timeout depends on. */
export type SuspicionTiming = Pick<SwimTiming, 'probeIntervalMs' | 'suspicionMultiplier' | 'suspicionMaxMultiplier' | 'suspicionConfirmations'>;

/** How long a suspicion with `confirmations` independent confirmations lasts, in a formation of `memberCount`. Unit ms. */
export function suspicionTimeoutFor(timing: SuspicionTiming, memberCount: number, confirmations: number): number {
  const { minMs, maxMs } = suspicionBoundsMs(memberCount, timing.probeIntervalMs, timing.suspicionMultiplier, timing.suspicionMaxMultiplier);
  return suspicionTimeoutMs(minMs, maxMs, confirmations, expectedConfirmations(memberCount, timing.suspicionConfirmations));
}

export class Suspicion {
  /** Distinct accusers seen: the first, then the confirmations. */
  private readonly accusers: Set<MemberId>;
  private startedAt: number;
  private deadline: number;

  /**
   * A suspicion of the member's `incarnation`, first heard (or made) here at
   * `now` from `accuser`. The formation's size is read at every change, since
   * members may join or leave while it runs.
   */
  constructor(
    private readonly timing: SuspicionTiming,
    readonly incarnation: number,
    accuser: MemberId,
    now: number,
    memberCount: number,
  ) {
    this.accusers = new Set([accuser]);
    this.startedAt = now;
    this.deadline = now + suspicionTimeoutFor(timing, memberCount, 0);
  }

  /** The accusers, in the order they were counted. */
  get origins(): ReadonlySet<MemberId> {
    return this.accusers;
  }

  /** When the suspect is declared dead here unless it refutes first. Unit ms, local monotonic time. */
  get deadlineAt(): number {
    return this.deadline;
  }

  /** Another accuser of the same incarnation: the timeout shrinks, counted from the start. */
  confirm(accuser: MemberId, memberCount: number): void {
    this.accusers.add(accuser);
    this.deadline = this.startedAt + suspicionTimeoutFor(this.timing, memberCount, this.accusers.size - 1);
  }

  /** Time this process spent stopped does not count against the suspect (see onStall in swim-node.ts). */
  postpone(gapMs: number): void {
    this.startedAt += gapMs;
    this.deadline += gapMs;
  }
}
