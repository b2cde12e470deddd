// A small binary min-heap of (time, key) pairs. Stale entries are allowed: a
// caller that re-schedules a key pushes again and ignores entries that no
// longer matter when they come up (waking a key early only costs a check).

export class MinHeap {
  private readonly times: number[] = [];
  private readonly keys: string[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, key: string): void {
    const t = this.times;
    const k = this.keys;
    t.push(time);
    k.push(key);
    let i = t.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! <= t[i]!) break;
      [t[p], t[i]] = [t[i]!, t[p]!];
      [k[p], k[i]] = [k[i]!, k[p]!];
      i = p;
    }
  }

  peekTime(): number | undefined {
    return this.times[0];
  }

  /** Removes and returns the earliest key. */
  pop(): string | undefined {
    const t = this.times;
    const k = this.keys;
    if (t.length === 0) return undefined;
    const top = k[0];
    const lastT = t.pop()!;
    const lastK = k.pop()!;
    if (t.length > 0) {
      t[0] = lastT;
      k[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < t.length && t[l]! < t[m]!) m = l;
        if (r < t.length && t[r]! < t[m]!) m = r;
        if (m === i) break;
        [t[m], t[i]] = [t[i]!, t[m]!];
        [k[m], k[i]] = [k[i]!, k[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * A MinHeap that keeps at most the earliest pending entry per key: a push no
 * earlier than the key's pending entry is dropped. For callers that look at
 * the whole state of a key when it wakes and schedule it again from there
 * (SiteHolder's wake-ups): the earlier wake-up brings the key back, and the
 * later time is scheduled again then if it still matters. A holder that
 * re-schedules every held ticket on every renewal answer kept 10,000 stale
 * entries per answer otherwise (a lease's worth of answers: 300,000 at rest).
 */
export class EarliestPerKeyHeap {
  private readonly heap = new MinHeap();
  private readonly pending = new Map<string, number>();

  get size(): number {
    return this.heap.size;
  }

  push(time: number, key: string): void {
    const p = this.pending.get(key);
    if (p !== undefined && p <= time) return;
    this.pending.set(key, time);
    this.heap.push(time, key);
  }

  peekTime(): number | undefined {
    return this.heap.peekTime();
  }

  /** Removes and returns the earliest key. */
  pop(): string | undefined {
    const t = this.heap.peekTime();
    const key = this.heap.pop();
    if (key !== undefined && this.pending.get(key) === t) this.pending.delete(key);
    return key;
  }
}
