// Which tickets the leader's placement looks at (src/core/tickets/placement-watch.ts):
// every ticket at first, then only those marked, unsettled, pending, or whose wake-up came.
import { describe, expect, it } from 'vitest';
import { PlacementWatch } from '../../../src/core/tickets/placement-watch.js';

const names = ['a', 'b', 'c', 'd'];

describe('placement watch', () => {
  it('looks at every ticket first, then at what was not settled, marked, pending or woken', () => {
    const w = new PlacementWatch();
    const table = {};
    expect(w.due(0, table, () => names, []).sort()).toEqual(names);
    // a: lease live until 100; b: manual (settled, no wake-up); c: not placeable yet (left as is); d: live until 50.
    w.wakeUpAt('a', 100);
    w.settled('a');
    w.settled('b');
    w.wakeUpAt('d', 50);
    w.settled('d');
    expect(w.due(10, table, () => names, [])).toEqual(['c']);
    expect(w.nextWake()).toBe(50);
    expect(w.due(20, table, () => names, ['b']).sort()).toEqual(['b', 'c']);
    w.settled('b');
    w.settled('c');
    w.mark('b');
    expect(w.due(30, table, () => names, [])).toEqual(['b']);
    w.settled('b');
    // d's wake-up moved to 80 before 50 came (its lease was extended): nothing at 60, d at 80.
    w.wakeUpAt('d', 80);
    expect(w.due(60, table, () => names, [])).toEqual([]);
    expect(w.due(80, table, () => names, [])).toEqual(['d']);
    w.settled('d');
    expect(w.due(99, table, () => names, [])).toEqual([]);
    expect(w.due(100, table, () => names, [])).toEqual(['a']);
  });

  it('looks at every ticket again after everything() or when the table was replaced', () => {
    const w = new PlacementWatch();
    const first = {};
    for (const n of w.due(0, first, () => names, [])) w.settled(n);
    expect(w.due(1, first, () => names, [])).toEqual([]);
    w.everything();
    expect(w.due(2, first, () => names, []).sort()).toEqual(names);
    for (const n of names) w.settled(n);
    expect(w.due(3, {}, () => ['x'], [])).toEqual(['x']);
  });
});
