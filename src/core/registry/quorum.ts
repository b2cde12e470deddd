// Quorum arithmetic, kept in small pure functions so that it can be
// property-tested against a dumb reference (test/core/quorum.test.ts).

/** Votes needed for a majority of `voterCount` voters: strictly more than half. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The largest value that at least `quorum` of `values` reach or exceed:
 * used for the commit index (values = match indexes) and for the leader lease
 * (values = send times of the newest acknowledged heartbeat).
 * Returns undefined when there are fewer values than the quorum.
 */
export function quorumValue(values: readonly number[], quorum: number): number | undefined {
  if (quorum <= 0 || values.length < quorum) return undefined;
  const sorted = [...values].sort((a, b) => b - a);
  return sorted[quorum - 1];
}

/** Whether `granted` votes out of `voterCount` voters form a majority. */
export function hasMajority(granted: number, voterCount: number): boolean {
  return granted >= majority(voterCount);
}

/** Whether so many rejections arrived that a majority is no longer possible. */
export function majorityImpossible(rejected: number, voterCount: number): boolean {
  return voterCount - rejected < majority(voterCount);
}
