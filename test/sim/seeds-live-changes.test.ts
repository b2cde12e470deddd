// The deterministic simulator in CI with the live formation changes of issue 11
// that the default draw does not make: `member replace` through the leader and
// the site agent moved to another node of its site (fast and slow moves), each
// in its share of the mixed seeds, beside the default draw's config changes,
// member remove/add, wiped stores, lost majorities, partitions, crashes,
// pauses, drift and CIB faults (docs/verification.md §7). Same checks as the
// default seeds. SIM_LIVE_SEEDS sets the count (default 300).
import { describe, expect, it } from 'vitest';
import { defineSeedBlocks, liveSeedsTotal } from './seed-blocks.js';

defineSeedBlocks(1, liveSeedsTotal, { liveChanges: true }, describe, it, expect);
