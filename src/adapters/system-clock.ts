// The process's monotonic clock. process.hrtime reads CLOCK_MONOTONIC on Linux,
// which (unlike performance.now, relative to process start) is shared by every
// process of one boot: a restarted agent and its lease guard agree on deadlines.

import { readFileSync } from 'node:fs';
import type { MonotonicClock, WallClock } from '../ports/ports.js';
import { ms, type Ms } from '../core/types.js';

export class SystemClock implements MonotonicClock {
  now(): Ms {
    return ms(Number(process.hrtime.bigint() / 1_000_000n));
  }
}

/** The system's wall clock (CLOCK_REALTIME): it may jump, so it only labels history entries (core Member.setWallClock). */
export class SystemWallClock implements WallClock {
  nowMs(): number {
    return Date.now();
  }
}

/** Identifies this boot: monotonic deadlines written before a reboot mean nothing after it. */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}
