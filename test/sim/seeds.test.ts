// The deterministic simulator in CI, first half of the seeds: the real
// src/core over many seeds, each with its own formation size, timing, clock
// drift and fault mix, a safety phase with faults and a liveness phase after
// healing (test/sim/world.ts). Every seed must keep S1–S4, election and
// state-machine safety and the cores' own assertions, converge within its
// bound, fail over within the lease arithmetic's bound, and (in fault-free
// and loss-only runs) never move a ticket from a healthy holder. A failure
// names the seed and the command that replays it. SIM_SEEDS sets the count.
import { describe, expect, it } from 'vitest';
import { defineSeedTests } from './seed-blocks.js';

defineSeedTests(1, describe, it, expect);
