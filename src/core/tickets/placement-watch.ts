// Which tickets the leader's placement (LeaseOffice.placeTickets) looks at:
// not the whole table on every Ready, but the tickets that may need an
// entry now — those whose state changed since they were last looked at
// (an applied entry, a release, a forced grant), those it could not settle
// (no lease, no eligible site yet, a change pending), and those whose lease
// in the leader's view comes to its end (a wake-up at that time). A ticket
// whose lease is live, or that placement never moves (manual, unmanaged),
// is left alone until one of these happens. Pure bookkeeping: the decisions
// stay in placeTickets.

import { MinHeap } from '../min-heap.js';

export class PlacementWatch {
  /** Tickets to look at on every call until settled. */
  private readonly candidates = new Set<string>();
  /** Look at every ticket of the table on the next call. */
  private everyTicket = true;
  private wakes = new MinHeap();
  /** The wake-up that counts per ticket (heap entries at other times are stale). */
  private readonly wakeAt = new Map<string, number>();
  /** The table the candidates were drawn from: another one (a snapshot installed) means every ticket again. */
  private table: object | null = null;

  /** Every ticket again on the next call (taking office, a membership change). */
  everything(): void {
    this.everyTicket = true;
    this.candidates.clear();
    this.wakes = new MinHeap();
    this.wakeAt.clear();
  }

  /** Something about this ticket changed: look at it on the next call. */
  mark(name: string): void {
    this.candidates.add(name);
  }

  /**
   * The tickets to look at at `now`: the candidates, those whose wake-up came,
   * and `extra` (pending admin grants and removals); every ticket of `table`
   * after everything() or when the table was replaced.
   */
  due(now: number, table: object, allNames: () => Iterable<string>, extra: Iterable<string>): string[] {
    if (table !== this.table) {
      this.table = table;
      this.everything();
    }
    for (let t = this.wakes.peekTime(); t !== undefined && t <= now; t = this.wakes.peekTime()) {
      const name = this.wakes.pop()!;
      if (this.wakeAt.get(name) !== t) continue;
      this.wakeAt.delete(name);
      this.candidates.add(name);
    }
    if (this.everyTicket) {
      this.everyTicket = false;
      for (const name of allNames()) this.candidates.add(name);
    }
    for (const name of extra) this.candidates.add(name);
    return [...this.candidates];
  }

  /** Look at this ticket again at `at` (the end of its lease in the leader's view), whatever else happens. */
  wakeUpAt(name: string, at: number): void {
    if (this.wakeAt.get(name) === at) return;
    this.wakeAt.set(name, at);
    this.wakes.push(at, name);
  }

  /** Nothing to do for this ticket until it is marked or its wake-up comes. */
  settled(name: string): void {
    this.candidates.delete(name);
  }

  /** The earliest wake-up (+∞: none). Stale ones only wake placement early, which costs a look. */
  nextWake(): number {
    return this.wakes.peekTime() ?? Number.POSITIVE_INFINITY;
  }
}
