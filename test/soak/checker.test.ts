// The soak checker (test/soak/checker.ts) on hand-made observations: a clean
// handover (the new grant written after the old deadline) is no overlap; two
// grants whose known intervals intersect are one overlap, counted once
// however often it is seen, with its length; an intersection within the
// tolerance is noise; a grant replaced by a revoke ends at the revoke's
// write; a holder named by the registry and granted nowhere is stranded once
// the bound has passed after the last heal, not while faults are active; a
// generation change while quiet is a move.
import { describe, expect, it } from 'vitest';
import { SoakChecker, type SinkObservation } from './checker.js';

const grant = (site: string, writtenAtMs: number, revokeByMs: number, readEndMs: number, generation = 1): SinkObservation => ({
  site,
  ticket: 'db',
  granted: true,
  generation,
  revokeByMs,
  writtenAtMs,
  content: `${site}@${writtenAtMs}`,
  readEndMs,
});
const revoke = (site: string, writtenAtMs: number, readEndMs: number, generation = 1): SinkObservation => ({
  site,
  ticket: 'db',
  granted: false,
  generation,
  revokeByMs: null,
  writtenAtMs,
  content: `${site}@${writtenAtMs}`,
  readEndMs,
});

describe('overlaps', () => {
  it('a handover after the old deadline is none', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 10_000 });
    c.observeSink(grant('a', 0, 5_000, 100));
    c.observeSink(grant('a', 0, 5_000, 4_000));
    // a stopped renewing: its file still says granted, but the deadline passed at 5000.
    c.observeSink(grant('a', 0, 5_000, 9_000));
    c.observeSink(grant('b', 7_000, 17_000, 9_000, 2));
    expect(c.overlaps()).toEqual([]);
  });

  it('a grant written while another site still held is one overlap, with its length', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 10_000 });
    c.observeSink(grant('a', 0, 5_000, 1_000));
    c.observeSink(grant('b', 2_000, 12_000, 2_500, 2));
    c.observeSink(grant('a', 0, 5_000, 3_000));
    c.observeSink(grant('b', 2_000, 12_000, 3_100, 2));
    const o = c.overlaps();
    expect(o).toHaveLength(1);
    expect(o[0]).toMatchObject({ ticket: 'db', sites: ['a', 'b'], generations: [1, 2], fromMs: 2_000, lengthMs: 1_000 });
  });

  it('reads of one content whose converted write time jitters are one grant; a rewrite at the same generation is the same overlap', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 10_000 });
    c.observeSink({ ...grant('a', 0, 5_000, 1_000), content: 'x' });
    c.observeSink({ ...grant('a', 1, 5_000, 1_500), content: 'x' });
    c.observeSink(grant('b', 2_000, 12_000, 2_500, 2));
    c.observeSink({ ...grant('a', -1, 5_000, 3_000), content: 'x' });
    // a's grant written again (same generation, new content), still overlapping b's.
    c.observeSink({ ...grant('a', 3_200, 6_000, 3_500), content: 'y' });
    c.observeSink(grant('b', 2_000, 12_000, 3_600, 2));
    const o = c.overlaps();
    expect(o).toHaveLength(1);
    expect(o[0]).toMatchObject({ sites: ['a', 'b'], generations: [1, 2], lengthMs: 1_500 });
  });

  it('an intersection within the tolerance is noise', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 10_000 });
    c.observeSink(grant('a', 0, 5_010, 5_500));
    c.observeSink(grant('b', 5_000, 15_000, 5_500, 2));
    expect(c.overlaps()).toEqual([]);
  });

  it('a grant ends where its revoke was written, not at its deadline', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 10_000 });
    c.observeSink(grant('a', 0, 60_000, 100));
    c.observeSink(revoke('a', 1_000, 1_200));
    c.observeSink(grant('b', 2_000, 12_000, 2_100, 2));
    expect(c.overlaps()).toEqual([]);
    expect(c.holdersAt('db', 2_100)).toEqual(['b']);
  });
});

describe('stranded tickets and moves', () => {
  const table = (atMs: number, holder: string | null, generation = 1) => ({ atMs, tickets: [{ name: 'db', holder, generation }] });

  it('a registry holder granted nowhere is stranded once the bound has passed since the heal', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 5_000 });
    c.setFaultsActive(true, 0);
    c.observeRegistry(table(1_000, 'a'));
    c.observeRegistry(table(20_000, 'a'));
    expect(c.strands()).toEqual([]);
    c.setFaultsActive(false, 21_000);
    c.observeRegistry(table(22_000, 'a'));
    c.observeRegistry(table(25_000, 'a'));
    expect(c.strands()).toEqual([]);
    c.observeRegistry(table(26_500, 'a'));
    c.observeRegistry(table(30_000, 'a'));
    expect(c.strands()).toEqual([{ ticket: 'db', holder: 'a', generation: 1, fromMs: 22_000, lengthMs: 8_000 }]);
  });

  it('a holder whose sink has the grant is not stranded', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 5_000 });
    c.observeSink(grant('a', 0, 60_000, 100));
    c.observeRegistry(table(1_000, 'a'));
    c.observeRegistry(table(30_000, 'a'));
    expect(c.strands()).toEqual([]);
  });

  it('counts a generation change while quiet as a move', () => {
    const c = new SoakChecker({ toleranceMs: 20, strandBoundMs: 5_000 });
    c.observeRegistry(table(0, 'a', 1));
    c.observeRegistry(table(1_000, 'b', 2));
    c.setQuiet(true);
    c.observeRegistry(table(2_000, 'b', 2));
    c.observeRegistry(table(3_000, 'a', 3));
    expect(c.movesWhileQuiet()).toEqual({ count: 1, moves: [{ ticket: 'db', atMs: 3_000, from: 2, to: 3 }] });
    expect(c.generationChanges()).toBe(2);
  });
});
