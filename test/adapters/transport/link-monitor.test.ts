// link-monitor.ts with stand-in connections (a muxer whose ping is counted)
// and fake timers: every period each open connection is pinged, unless it
// delivered a frame within the period (lastHeardAt) — that frame already
// showed it alive; a ping left unanswered past the timeout closes the
// connection. The real thing (yamux pings over Noise and TCP, a hung peer
// cut off) runs in libp2p-transport.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Connection } from '@libp2p/interface';
import { LinkMonitor } from '../../../src/adapters/transport/link-monitor.js';

const intervalMs = 1000;
const timeoutMs = 1000;

interface FakeConnection {
  readonly id: string;
  status: 'open' | 'closed';
  rtt?: number;
  pings: number;
  answer: boolean;
  aborted: boolean;
  readonly muxer: { ping(o: { signal: AbortSignal }): Promise<number> };
  abort(): void;
}

function fakeConnection(id: string): FakeConnection {
  const c: FakeConnection = {
    id,
    status: 'open',
    pings: 0,
    answer: true,
    aborted: false,
    muxer: {
      ping: ({ signal }) => {
        c.pings += 1;
        if (c.answer) return Promise.resolve(3);
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('ping timed out'))));
      },
    },
    abort: () => {
      c.aborted = true;
      c.status = 'closed';
    },
  };
  return c;
}

describe('LinkMonitor', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
  });
  afterEach(() => vi.useRealTimers());

  function monitor(connections: FakeConnection[], heard: Map<string, number>, hung: string[]): LinkMonitor {
    return new LinkMonitor({
      intervalMs,
      timeoutMs,
      connections: () => connections as unknown as Connection[],
      lastHeardAt: (c) => heard.get(c.id) ?? null,
      clock: () => now,
      onHung: (c) => hung.push(c.id),
    });
  }

  async function advance(ms: number): Promise<void> {
    now += ms;
    await vi.advanceTimersByTimeAsync(ms);
  }

  it('pings a quiet connection every period, and skips one that delivered a frame within the period', async () => {
    const quiet = fakeConnection('quiet');
    const busy = fakeConnection('busy');
    const heard = new Map<string, number>();
    const m = monitor([quiet, busy], heard, []);
    m.start();
    for (let i = 0; i < 5; i++) {
      heard.set('busy', now + intervalMs - 100); // a frame 100 ms before each period ends
      await advance(intervalMs);
    }
    expect(quiet.pings).toBe(5);
    expect(quiet.rtt).toBe(3);
    expect(busy.pings).toBe(0);
    expect(m.skipped).toBe(5);
    // Once its frames stop, it is pinged at the first period that has none.
    await advance(intervalMs);
    expect(busy.pings).toBe(1);
    m.stop();
  });

  it('closes a connection whose ping goes unanswered, within 2 periods + the timeout of its last frame', async () => {
    const c = fakeConnection('c');
    const heard = new Map<string, number>([['c', 100]]);
    const hung: string[] = [];
    const m = monitor([c], heard, hung);
    m.start();
    c.answer = false; // hangs right after its frame at 100 ms
    await advance(intervalMs); // heard within the period: skipped
    expect(c.pings).toBe(0);
    await advance(intervalMs); // pinged
    expect(c.pings).toBe(1);
    await advance(timeoutMs);
    expect(hung).toEqual(['c']);
    expect(c.aborted).toBe(true);
    m.stop();
  });
});
