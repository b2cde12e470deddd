// The names of the tickets that the latest applied entries changed, with their
// indices: what a leader answering a renewal by index must refuse
// (docs/protocol.md §3, "Renewals by index"). Derived state, not replicated:
// each member records what it applied itself, starting at the index its table
// was loaded at, and says "cannot tell" for an index older than what it kept.

import type { Index } from '../types.js';

/** Changes kept: a renewal by index older than this many ticket changes is refused whole (index-behind). */
export const changesKeptMax = 1024;

export class ChangeLog {
  private indices: number[] = [];
  private names: string[] = [];
  /** Every change after this index is recorded (until trimmed): the index the table was loaded at, then the newest one dropped. */
  private completeAfter: number;

  constructor(
    loadedAt: number,
    private readonly keptMax: number = changesKeptMax,
  ) {
    this.completeAfter = loadedAt;
  }

  /** The entry at `at` changed `name` (entries arrive in index order). */
  note(at: Index, name: string): void {
    this.indices.push(at);
    this.names.push(name);
    // Trimmed in halves, so that the cost per change stays constant.
    if (this.indices.length >= 2 * this.keptMax) {
      const drop = this.indices.length - this.keptMax;
      this.completeAfter = this.indices[drop - 1]!;
      this.indices = this.indices.slice(drop);
      this.names = this.names.slice(drop);
    }
  }

  /**
   * The names of the tickets changed by entries after `since`, or null when
   * this log cannot tell (it starts after `since`) or they are more than `max`.
   */
  changedAfter(since: number, max: number): Set<string> | null {
    if (since < this.completeAfter) return null;
    const out = new Set<string>();
    for (let i = this.indices.length - 1; i >= 0 && this.indices[i]! > since; i--) {
      out.add(this.names[i]!);
      if (out.size > max) return null;
    }
    return out;
  }
}
