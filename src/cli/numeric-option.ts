// Numeric command-line options, each with a named range. Without a bound,
// `--timeout 3000000000` reached setTimeout, which Node clamps to 1 ms above
// 2^31 − 1: the command timed out at once instead of waiting 35 days. A range
// states what makes sense for the option (an admin answer within an hour, a
// graceful move within a day), always inside what a timer can hold; --help
// shows it and a value outside it is a usage error that names it.
import { InvalidArgumentError } from 'commander';

/** The longest delay a Node timer honours (larger ones fire after 1 ms). */
export const timerDelayMsMax = 2 ** 31 - 1;

export interface IntRange {
  readonly min: number;
  readonly max: number;
  /** 'ms' for durations; '' for counts and ids. */
  readonly unit: 'ms' | '';
}

/** `1..3600000 ms`, as --help and the error show it. */
export function rangeText(r: IntRange): string {
  return `${r.min}..${r.max}${r.unit === '' ? '' : ` ${r.unit}`}`;
}

/** A help line with the range appended: `how long to wait (1..3600000 ms)`. */
export function withRange(help: string, r: IntRange): string {
  return `${help} (${rangeText(r)})`;
}

/** A commander argument parser for a whole number in the range. */
export function intInRange(r: IntRange): (value: string) => number {
  if (!(Number.isSafeInteger(r.min) && Number.isSafeInteger(r.max) && r.min <= r.max)) throw new Error(`bad range ${rangeText(r)}`);
  if (r.unit === 'ms' && r.max > timerDelayMsMax) throw new Error(`range ${rangeText(r)} exceeds what a timer holds (${timerDelayMsMax} ms)`);
  const what = r.unit === 'ms' ? 'a whole number of milliseconds' : 'a whole number';
  return (value: string): number => {
    // Digits only (a sign only where the range has negatives), and few enough that Number() is exact;
    // the range check does the rest.
    const n = (r.min < 0 ? /^-?\d{1,15}$/ : /^\d{1,15}$/).test(value) ? Number(value) : NaN;
    if (!(n >= r.min && n <= r.max)) throw new InvalidArgumentError(`expected ${what} in ${rangeText(r)}`);
    return n;
  };
}

/** How long an admin command waits for its answer (and `quorum` for each cluster command). */
export const adminTimeoutMsRange: IntRange = { min: 1, max: 3_600_000, unit: 'ms' };
/** How long `move` waits for resources to stop or start. */
export const moveTimeoutMsRange: IntRange = { min: 1, max: 86_400_000, unit: 'ms' };
/** The cluster lease guard's slack for node clocks (docs/operations.md: keep it well below acquire-after). */
export const cibGuardMarginMsRange: IntRange = { min: 0, max: 3_600_000, unit: 'ms' };
/** A Linux process id (PID_MAX_LIMIT on 64-bit kernels). */
export const pidRange: IntRange = { min: 1, max: 4_194_304, unit: '' };
/** The guardian's grace and the one-shot --lost-for: a day is already far past any sensible grace. */
export const guardianDelayMsRange: IntRange = { min: 0, max: 86_400_000, unit: 'ms' };
/** The node helper's accepted clock difference for request timestamps. */
export const helperWindowMsRange: IntRange = { min: 1, max: 3_600_000, unit: 'ms' };
/** A nice value (`--nice`): -20 (most CPU) .. 19. */
export const niceRange: IntRange = { min: -20, max: 19, unit: '' };
/** The kernel's oom_score_adj range (`--oom-score-adj`). */
export const oomScoreAdjRange: IntRange = { min: -1000, max: 1000, unit: '' };
