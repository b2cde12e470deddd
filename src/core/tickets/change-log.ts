// The names of the tickets that the latest applied entries changed, with their
// indices and each ticket's grant just before the entry: what a leader
// answering a renewal by index must refuse, and the grant the sender saw at
// its index (docs/protocol.md §3, "Renewals by index"). Derived state, not
// replicated: each member records what it applied itself, starting at the
// index its table was loaded at, and says "cannot tell" for an index older
// than what it kept.

import type { Generation, Index, MemberId } from '../types.js';

/** What a renewal by index rests on of one ticket at one index: its holder, generation and lease D. */
export interface GrantAt {
  readonly holder: MemberId | null;
  readonly generation: Generation;
  readonly leaseDurationMs: number;
}

/** Changes kept: a renewal by index older than this many ticket changes is refused whole (index-behind). */
export const changesKeptMax = 1024;

export class ChangeLog {
  private indices: number[] = [];
  private names: string[] = [];
  /** The ticket's grant just before the entry at the same position (null: it did not exist). */
  private befores: Array<GrantAt | null> = [];
  /** Every change after this index is recorded (until trimmed): the index the table was loaded at, then the newest one dropped. */
  private completeAfter: number;

  constructor(
    loadedAt: number,
    private readonly keptMax: number = changesKeptMax,
  ) {
    this.completeAfter = loadedAt;
  }

  /** The entry at `at` changed `name`, whose grant was `before` until then (entries arrive in index order). */
  note(at: Index, name: string, before: GrantAt | null): void {
    this.indices.push(at);
    this.names.push(name);
    this.befores.push(before);
    // Trimmed in halves, so that the cost per change stays constant.
    if (this.indices.length >= 2 * this.keptMax) {
      const drop = this.indices.length - this.keptMax;
      this.completeAfter = this.indices[drop - 1]!;
      this.indices = this.indices.slice(drop);
      this.names = this.names.slice(drop);
      this.befores = this.befores.slice(drop);
    }
  }

  /**
   * The names of the tickets changed by entries after `since`, or null when
   * this log cannot tell (it starts after `since`) or they are more than `max`.
   */
  changedAfter(since: number, max: number): Set<string> | null {
    const at = this.grantsAt(since, max);
    return at === null ? null : new Set(at.keys());
  }

  /**
   * The tickets changed by entries after `since`, each with its grant at
   * `since` (the one before the earliest of those entries; null: it did not
   * exist), or null as changedAfter.
   */
  grantsAt(since: number, max: number): Map<string, GrantAt | null> | null {
    if (since < this.completeAfter) return null;
    const out = new Map<string, GrantAt | null>();
    // Newest first: an earlier change of the same ticket overwrites, so the earliest one's `before` stays.
    for (let i = this.indices.length - 1; i >= 0 && this.indices[i]! > since; i--) {
      out.set(this.names[i]!, this.befores[i]!);
      if (out.size > max) return null;
    }
    return out;
  }
}
