// The deterministic simulator in CI, second half of the seeds (see
// seeds.test.ts for what every seed must satisfy). A separate file so that
// vitest runs both halves at once on the two cores.
import { describe, expect, it } from 'vitest';
import { defineSeedTests } from './seed-blocks.js';

defineSeedTests(2, describe, it, expect);
