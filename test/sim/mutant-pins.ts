// Where the simulator catches each mutant (test/sim/mutants.test.ts), so that
// the negative controls run in seconds, not minutes. A mutant's search still
// covers the same seeds as before (1 to its maximum): the pinned seed is only
// tried first. A core or simulator change that moves the catch leaves a pin
// stale; the test then searches on from seed 1 as before (slower, still a
// pass when the mutant is caught) and says so on stderr. Refresh the table
// with `npx tsx test/sim/find-mutant-pins.ts` (it searches every mutant from
// seed 1, which takes several minutes, and prints the table).

/** The first seed that catches each mutant, searched from seed 1 (2026-12-07; the generic ones with the default draw, batch-grants-live with --batch-grants --many-tickets): at a893a8b, after the revoke lead's 10-minute window (b166558) moved no-drift-margin, no-leader-lease, vouch-any-incarnation and change-before-commit. */
export const mutantPins: Readonly<Record<string, number>> = {
  'no-drift-margin': 92,
  'holder-lease-from-receipt': 32,
  'new-leader-no-wait': 1,
  'no-leader-lease': 499,
  'grant-without-quorum': 1,
  'stale-term-vote': 3,
  'shorten-live-lease': 6,
  'wiped-member-votes': 20,
  'change-before-commit': 131,
  'batch-grants-live': 9,
  'vouch-any-incarnation': 14,
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
