// What "the slowest recent sink write" is (src/core/tickets/sink-write-times.ts;
// docs/protocol.md §3): the slowest of the last 16 writes and of the last 10
// minutes, so a lead raised by a slow write falls only once that write is both
// 16 writes and 10 minutes old (issue 15: a guard update of 10 000 tickets,
// timed as one write of seconds, aged out after 16 quicker writes, came back
// as slow and raised the lead again, each rise writing every grant again).
// Driven directly with a simulated clock; checked against a dumb reference
// (the maximum over both sets, recomputed from every write noted).
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/core/random.js';
import { SinkWriteTimes, writeSampleWindowMs, writeSamplesKept, writeWindowEntriesMax } from '../../../src/core/tickets/sink-write-times.js';

const window = writeSampleWindowMs;

describe('SinkWriteTimes: the slowest recent write', () => {
  it('keeps a slow write through 16 quicker ones within the window, and lets it go once it is 16 writes and the window old', () => {
    const w = new SinkWriteTimes(1_000);
    expect(w.note(5_000, [], 0)).toBe(true);
    for (let i = 1; i <= writeSamplesKept; i++) expect(w.note(200, [], i * 10_000)).toBe(false);
    expect(w.slowestMs()).toBe(5_000);
    // Just inside the window: still there.
    expect(w.note(200, [], window - 1)).toBe(false);
    expect(w.slowestMs()).toBe(5_000);
    // The window old and 16 writes back: the slowest falls to the quick writes.
    expect(w.note(200, [], window)).toBe(true);
    expect(w.slowestMs()).toBe(200);
  });

  it('keeps a slow write the window old while it is one of the last 16 writes', () => {
    const w = new SinkWriteTimes(1_000);
    w.note(5_000, [], 0);
    w.note(200, [], 2 * window);
    expect(w.slowestMs()).toBe(5_000);
    for (let i = 2; i < writeSamplesKept; i++) w.note(200, [], 2 * window + i);
    expect(w.slowestMs()).toBe(5_000);
    expect(w.note(200, [], 2 * window + writeSamplesKept)).toBe(true);
    expect(w.slowestMs()).toBe(200);
  });

  it('raises at once: a slower write counts from the moment it is noted', () => {
    const w = new SinkWriteTimes(1_000);
    w.note(1_000, [], 0);
    expect(w.note(3_000, [], 1)).toBe(true);
    expect(w.slowestMs()).toBe(3_000);
    // An equal write later restarts its window.
    w.note(3_000, [], window - 10);
    for (let i = 0; i < writeSamplesKept; i++) w.note(10, [], window + i);
    expect(w.slowestMs()).toBe(3_000);
    w.note(10, [], 2 * window - 10);
    expect(w.slowestMs()).toBe(10);
  });

  it('matches the maximum of the last 16 writes and of the window, write by write (seeded sequence)', () => {
    const w = new SinkWriteTimes(1_000);
    const noted: Array<{ ms: number; at: number }> = [];
    const random = new SeededRandom(15);
    let now = 0;
    for (let i = 0; i < 5_000; i++) {
      now += random.int(0, 40_000);
      const writeMs = random.int(0, 7_000);
      w.note(writeMs, [], now);
      noted.push({ ms: writeMs, at: now });
      let want = 0;
      for (const [k, s] of noted.entries()) if (k >= noted.length - writeSamplesKept || now - s.at < window) want = Math.max(want, s.ms);
      expect(w.slowestMs(), `write ${i}`).toBe(want);
    }
  });

  it('bounds the window on a long falling run: never below the true maximum, and falls once the run is old', () => {
    const w = new SinkWriteTimes(1_000);
    const run = 4 * writeWindowEntriesMax;
    for (let i = 0; i < run; i++) {
      w.note(10_000 - i, [], i * 1_000);
      expect(w.slowestMs()).toBe(10_000);
    }
    // The first write the window old: the true maximum is the slowest write of the run still in it.
    const at = window + 1;
    w.note(1, [], at);
    const inWindow = (i: number): boolean => at - i * 1_000 < window;
    const trueMax = 10_000 - [...Array(run).keys()].find(inWindow)!;
    expect(w.slowestMs()).toBeGreaterThanOrEqual(trueMax);
    // Every write of the run the window old and 16 writes back: the slowest falls to the quick writes.
    for (let i = 0; i < writeSamplesKept; i++) w.note(1, [], (run - 1) * 1_000 + window + i);
    expect(w.slowestMs()).toBe(1);
  });

  it('ignores a write without a time, or with a negative or non-finite one', () => {
    const w = new SinkWriteTimes(1_000);
    for (const bad of [undefined, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(w.note(bad, [], 0)).toBe(false);
    expect(w.slowestMs()).toBe(0);
  });
});
