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
