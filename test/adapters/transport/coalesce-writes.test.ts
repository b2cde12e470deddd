// coalesce-writes.ts: a connection's sendData receives each batch as one
// buffer (one socket write, one TCP segment under TCP_NODELAY) with the same
// bytes in the same order; a one-buffer batch is passed on untouched, and the
// wrap is applied once. The real Noise-over-TCP path is exercised by every
// libp2p transport test (libp2p-transport.test.ts), which runs through it.
import { describe, expect, it } from 'vitest';
import { Uint8ArrayList } from 'uint8arraylist';
import { coalesceWrites } from '../../../src/adapters/transport/coalesce-writes.js';

class FakeConnection {
  readonly writes: Uint8Array[][] = [];
  sendData(data: Uint8ArrayList): { sentBytes: number; canSendMore: boolean } {
    this.writes.push([...data]);
    return { sentBytes: data.byteLength, canSendMore: true };
  }
}

describe('coalesceWrites', () => {
  it('joins a batch of several buffers into one, same bytes, same order', () => {
    const c = new FakeConnection();
    expect(coalesceWrites(c)).toBe(true);
    const batch = new Uint8ArrayList(Uint8Array.of(0, 3), Uint8Array.of(1, 2, 3), Uint8Array.of(0, 1), Uint8Array.of(9));
    const r = c.sendData(batch) as { sentBytes: number };
    expect(r.sentBytes).toBe(8);
    expect(c.writes).toEqual([[Uint8Array.of(0, 3, 1, 2, 3, 0, 1, 9)]]);
  });

  it('passes a one-buffer batch on as it is, and wraps a connection only once', () => {
    const c = new FakeConnection();
    coalesceWrites(c);
    coalesceWrites(c);
    const only = Uint8Array.of(5, 6);
    c.sendData(new Uint8ArrayList(only));
    expect(c.writes).toHaveLength(1);
    expect(c.writes[0]![0]).toBe(only);
  });

  it('leaves a connection without sendData alone', () => {
    expect(coalesceWrites({})).toBe(false);
    expect(coalesceWrites(null)).toBe(false);
  });
});
