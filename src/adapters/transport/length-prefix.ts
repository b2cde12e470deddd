// The stream framing of our protocol, write side: each frame behind its
// length as an unsigned LEB128 varint — what frame-reader.ts reads, and
// libp2p's lpStream too (@libp2p/utils lpStream with uint8-varint: the tests'
// raw peers and older members). A batch of frames becomes one buffer, so
// that the writer hands the stream one send() per batch and no per-frame
// list or promise is made on the way (issue 15, item 1: per-frame costs).

/** Bytes of the varint length of a frame of `length` bytes. */
export function varintBytes(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`frame length must be a non-negative safe integer, got ${length}`);
  let n = 1;
  for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) n += 1;
  return n;
}

/** Writes the varint of `value` at `offset`; returns the offset after it. */
function writeVarint(out: Uint8Array, offset: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[offset++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[offset++] = v;
  return offset;
}

/** The frames, each behind its varint length, in one buffer. */
export function lengthPrefixed(frames: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += varintBytes(f.byteLength) + f.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const f of frames) {
    offset = writeVarint(out, offset, f.byteLength);
    out.set(f, offset);
    offset += f.byteLength;
  }
  return out;
}
