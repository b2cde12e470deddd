// frame-reader.ts: the synchronous reader of our length-prefixed frames.
// Frames are written with the writer the transport ships (length-prefix.ts)
// and cut into chunks every way a stream may deliver them — many frames in
// one chunk, one frame over many chunks down to one byte each (the varint
// too), and random cuts of a random mix of sizes under a fixed seed — and
// must come out whole, in order, and as views when they lie inside one
// chunk. Hostile input: a length above the cap is refused as soon as its
// varint is complete, before any of the body is held; a varint longer than
// the cap needs is refused at its first byte past that, whatever follows; a
// truncated varint or body waits for the rest and is only ever counted as
// held; bytes held while paused past the buffer limit are refused. After a
// refusal or a stop nothing more is delivered. Pausing holds the rest of a
// chunk and what comes after it, and resume() delivers it in order, pausing
// again where asked.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrameReader, type FrameVerdict } from '../../../src/adapters/transport/frame-reader.js';
import { lengthPrefixed } from '../../../src/adapters/transport/length-prefix.js';

/** The transport's default cap (messageBytesMaxDefault) and stream buffer, as in libp2p-transport.ts. */
const frameBytesMax = 3 * 1024 * 1024;
const bufferedBytesMax = 4 * 1024 * 1024;

/** A reader that records what it is handed, answering each frame with `verdict(frame index)`. */
function recorder(verdict: (index: number) => FrameVerdict = () => 'next', limits = { frameBytesMax, bufferedBytesMax }) {
  const frames: Uint8Array[] = [];
  const reader = new FrameReader({
    ...limits,
    onFrame: (frame) => {
      // Copied: a frame is a view of its chunk, which a test may reuse.
      frames.push(frame.slice());
      return verdict(frames.length - 1);
    },
  });
  return { reader, frames };
}

/** A frame of `length` bytes whose content names its index and position. */
function frameOf(index: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (index * 31 + i) & 0xff);
}

/**
 * The frames as hex digests of their bytes (length and content), so that a mismatch reads
 * well and large frames compare fast (vitest's deep equality walks a typed array element by element).
 */
function digest(frames: readonly Uint8Array[]): string[] {
  return frames.map((f) => `${f.byteLength}:${createHash('sha256').update(f).digest('hex').slice(0, 16)}`);
}

/** Cuts `bytes` at the given offsets. */
function cut(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, bytes.byteLength]) {
    out.push(bytes.subarray(from, to));
    from = to;
  }
  return out;
}

/** mulberry32: a small seeded generator, so a failing cut replays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('FrameReader', () => {
  it('hands out every frame of a chunk in order, each a view of the chunk, a frame of 0 bytes too', () => {
    const sent = [frameOf(0, 5), new Uint8Array(0), frameOf(2, 300), frameOf(3, 1)];
    const chunk = lengthPrefixed(sent);
    const views: Uint8Array[] = [];
    const reader = new FrameReader({ frameBytesMax, bufferedBytesMax, onFrame: (f) => (views.push(f), 'next') });
    expect(reader.push(chunk)).toEqual({ state: 'reading' });
    expect(views).toEqual(sent);
    for (const v of views) expect(v.buffer).toBe(chunk.buffer);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('gathers a frame split over many chunks, one byte each, its varint too', () => {
    const sent = [frameOf(0, 20_000), frameOf(1, 3)];
    const bytes = lengthPrefixed(sent);
    const { reader, frames } = recorder();
    for (let i = 0; i < bytes.byteLength; i += 1) {
      reader.push(bytes.subarray(i, i + 1));
      // Only what is not yet handed out is held, never more than the frame being read.
      expect(reader.bufferedBytes).toBeLessThanOrEqual(20_003);
    }
    expect(digest(frames)).toEqual(digest(sent));
    expect(reader.bufferedBytes).toBe(0);
  });

  it('gathers a long frame from many chunks of a list (as libp2p delivers a Uint8ArrayList)', () => {
    const big = frameOf(7, 1024 * 1024);
    const bytes = lengthPrefixed([big, frameOf(8, 10)]);
    const { reader, frames } = recorder();
    const chunks = cut(bytes, Array.from({ length: 100 }, (_, i) => (i + 1) * 10_007));
    reader.push(chunks.slice(0, 50));
    expect(frames).toHaveLength(0);
    reader.push(chunks.slice(50));
    expect(digest(frames)).toEqual(digest([big, frameOf(8, 10)]));
  });

  it('delivers the same frames however the bytes are cut (random cuts, fixed seed)', () => {
    const random = seeded(15);
    for (let round = 0; round < 50; round += 1) {
      const sent = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => frameOf(i, [0, 1, 127, 128, 300, 16_384, 70_000][Math.floor(random() * 7)]!));
      const bytes = lengthPrefixed(sent);
      const cuts = [...new Set(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * bytes.byteLength)))].sort((x, y) => x - y);
      const { reader, frames } = recorder();
      for (const chunk of cut(bytes, cuts)) reader.push(chunk);
      expect(digest(frames), `round ${round}, cuts ${cuts.join(',')}`).toEqual(digest(sent));
      expect(reader.bufferedBytes).toBe(0);
    }
  });

  it('a truncated varint or body waits for the rest, held and counted, never handed out', () => {
    const { reader, frames } = recorder();
    // 300 = 0xac 0x02: only the first byte of the length.
    expect(reader.push(Uint8Array.of(0xac))).toEqual({ state: 'reading' });
    expect(reader.bufferedBytes).toBe(1);
    reader.push(Uint8Array.of(0x02, ...frameOf(0, 299)));
    expect(frames).toHaveLength(0);
    expect(reader.bufferedBytes).toBe(299);
    reader.push(frameOf(0, 300).subarray(299));
    expect(frames).toEqual([frameOf(0, 300)]);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('refuses a length above the cap as soon as its varint is complete, holding none of the body', () => {
    const { reader, frames } = recorder();
    // 4 MiB: 0x80 0x80 0x80 0x02, the transport test's oversize prefix; the cap is 3 MiB.
    expect(reader.push(Uint8Array.of(0x80, 0x80, 0x80))).toEqual({ state: 'reading' });
    const state = reader.push(Uint8Array.of(0x02, 1, 2, 3));
    expect(state).toEqual({ state: 'refused', fault: 'frame-too-long', detail: `frame length ${4 * 1024 * 1024} > ${frameBytesMax}` });
    expect(reader.bufferedBytes).toBe(0);
    // Refused for good: a valid frame after it is not read.
    expect(reader.push(lengthPrefixed([frameOf(0, 3)])).state).toBe('refused');
    expect(frames).toHaveLength(0);
    // One byte over a small cap, and exactly the cap.
    const small = recorder(() => 'next', { frameBytesMax: 100, bufferedBytesMax: 200 });
    small.reader.push(lengthPrefixed([frameOf(0, 100)]));
    expect(small.frames).toEqual([frameOf(0, 100)]);
    expect(small.reader.push(lengthPrefixed([frameOf(1, 101)])).state).toBe('refused');
    expect(small.frames).toHaveLength(1);
  });

  it('refuses a varint longer than the cap needs at its first byte past that length, whatever follows', () => {
    // The 3-MiB cap needs a 4-byte varint; a fourth byte with the continuation bit set is refused at once.
    const { reader, frames } = recorder();
    expect(reader.push(Uint8Array.of(0xff, 0xff, 0xff)).state).toBe('reading');
    expect(reader.push(Uint8Array.of(0xff)).state).toBe('refused');
    expect(reader.state).toMatchObject({ fault: 'length-too-long' });
    expect(reader.bufferedBytes).toBe(0);
    expect(frames).toHaveLength(0);
    // A non-minimal varint within the length (0 as 0x80 0x80 0x80 0x00) is a frame of 0 bytes, as lpStream reads it.
    const lenient = recorder();
    lenient.reader.push(Uint8Array.of(0x80, 0x80, 0x80, 0x00));
    expect(lenient.frames).toEqual([new Uint8Array(0)]);
    // An endless varint in one chunk: refused at the fourth byte.
    const endless = recorder();
    expect(endless.reader.push(new Uint8Array(1000).fill(0x80))).toMatchObject({ state: 'refused', fault: 'length-too-long' });
    expect(endless.frames).toHaveLength(0);
  });

  it('pauses after the frame that asks, holds the rest and what comes later, and resumes in order', () => {
    const sent = Array.from({ length: 8 }, (_, i) => frameOf(i, 10 + i));
    const bytes = lengthPrefixed(sent);
    // Pause after frames 1 and 4.
    const { reader, frames } = recorder((i) => (i === 1 || i === 4 ? 'pause' : 'next'));
    const [first, second] = cut(bytes, [40]);
    expect(reader.push(first!)).toEqual({ state: 'paused' });
    expect(frames).toEqual(sent.slice(0, 2));
    // Arriving while paused: held.
    expect(reader.push(second!)).toEqual({ state: 'paused' });
    expect(frames).toHaveLength(2);
    expect(reader.bufferedBytes).toBe(bytes.byteLength - lengthPrefixed(sent.slice(0, 2)).byteLength);
    // Resumed: up to frame 4, where it pauses again with the rest still held in order.
    expect(reader.resume()).toEqual({ state: 'paused' });
    expect(frames).toEqual(sent.slice(0, 5));
    expect(reader.resume()).toEqual({ state: 'reading' });
    expect(frames).toEqual(sent);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('refuses what is held while paused past the buffer limit', () => {
    const { reader, frames } = recorder(() => 'pause', { frameBytesMax: 100, bufferedBytesMax: 300 });
    reader.push(lengthPrefixed([frameOf(0, 10)]));
    expect(reader.push(new Uint8Array(300)).state).toBe('paused');
    expect(reader.push(new Uint8Array(1))).toMatchObject({ state: 'refused', fault: 'buffer-overflow' });
    expect(reader.bufferedBytes).toBe(0);
    expect(reader.resume().state).toBe('refused');
    expect(frames).toHaveLength(1);
  });

  it('after a stop, from the frame consumer or from outside, delivers nothing more', () => {
    const sent = [frameOf(0, 4), frameOf(1, 4), frameOf(2, 4)];
    const { reader, frames } = recorder((i) => (i === 0 ? 'stop' : 'next'));
    expect(reader.push(lengthPrefixed(sent))).toEqual({ state: 'stopped' });
    expect(frames).toHaveLength(1);
    expect(reader.push(lengthPrefixed(sent)).state).toBe('stopped');
    expect(frames).toHaveLength(1);
    // Stopped from inside onFrame (the stream's close event runs in the middle of a chunk).
    let inner: FrameReader | null = null;
    const got: Uint8Array[] = [];
    inner = new FrameReader({ frameBytesMax, bufferedBytesMax, onFrame: (f) => (got.push(f), inner!.stop(), 'next') });
    expect(inner.push(lengthPrefixed(sent)).state).toBe('stopped');
    expect(got).toHaveLength(1);
  });

  it('refuses limits that cannot hold a whole frame', () => {
    expect(() => new FrameReader({ frameBytesMax: 100, bufferedBytesMax: 100, onFrame: () => 'next' })).toThrow(RangeError);
    expect(() => new FrameReader({ frameBytesMax: -1, bufferedBytesMax: 100, onFrame: () => 'next' })).toThrow(RangeError);
  });
});
