// Where the simulator catches each mutant (test/sim/mutants.test.ts), so that
// the negative controls run in seconds, not minutes. A mutant's search still
// covers the same seeds as before (1 to its maximum): the pinned seed is only
// tried first. A core or simulator change that moves the catch leaves a pin
// stale; the test then searches on from seed 1 as before (slower, still a
// pass when the mutant is caught) and says so on stderr. Refresh the table
// with `npx tsx test/sim/find-mutant-pins.ts` (it searches every mutant from
// seed 1, which takes several minutes, and prints the table).

/** The first seed that catches each mutant, searched from seed 1 (2026-12-07; the generic ones with the default draw, batch-grants-live with --batch-grants --many-tickets): at c67e439, then holder-lease-from-receipt and change-before-commit again at fc45726 (the holder's shared lease ends moved its wake-ups); batch-grants-live's 64 still catches. The simulator's CIB writer change (f2e6fa4) had moved most of them. */
export const mutantPins: Readonly<Record<string, number>> = {
  'no-drift-margin': 90,
  'holder-lease-from-receipt': 142,
  'new-leader-no-wait': 1,
  'no-leader-lease': 99,
  'grant-without-quorum': 1,
  'stale-term-vote': 3,
  'shorten-live-lease': 6,
  'wiped-member-votes': 20,
  'change-before-commit': 48,
  'batch-grants-live': 64,
  'vouch-any-incarnation': 1067,
};

/** A catch: the seed and what the checker said. */
export interface Catch {
  readonly seed: number;
  readonly what: string;
}

/**
 * Runs `attempt` on the pinned seed first, then on every other seed from 1 to
 * `seedsMax` in order, until one returns what the checker said. Null when no
 * seed catches the mutant. A stale pin (it does not catch) is said on stderr.
 */
export function searchPinnedFirst(name: string, seedsMax: number, attempt: (seed: number) => string | undefined): Catch | null {
  const pin = mutantPins[name];
  if (pin !== undefined && pin >= 1 && pin <= seedsMax) {
    const what = attempt(pin);
    if (what !== undefined) return { seed: pin, what };
    process.stderr.write(`mutant ${name}: the pinned seed ${pin} no longer catches it; searching from seed 1 (refresh test/sim/mutant-pins.ts)\n`);
  }
  for (let seed = 1; seed <= seedsMax; seed++) {
    if (seed === pin) continue;
    const what = attempt(seed);
    if (what !== undefined) return { seed, what };
  }
  return null;
}
