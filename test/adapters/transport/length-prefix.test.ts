// length-prefix.ts: frames behind their unsigned LEB128 varint lengths, in
// one buffer — the framing lpStream reads (libp2p-transport.test.ts sends
// frames of every size through the real reader). Checked here against the
// varint encodings of the protobuf spec and at the byte boundaries.
import { describe, expect, it } from 'vitest';
import { lengthPrefixed, varintBytes } from '../../../src/adapters/transport/length-prefix.js';

describe('lengthPrefixed', () => {
  it('writes each length as an unsigned varint (LEB128) before its frame', () => {
    expect([...lengthPrefixed([Uint8Array.of(7)])]).toEqual([1, 7]);
    expect([...lengthPrefixed([new Uint8Array(0), Uint8Array.of(1, 2)])]).toEqual([0, 2, 1, 2]);
    // 300 = 0b10_0101100 → 0xac 0x02 (the protobuf encoding guide's example).
    expect([...lengthPrefixed([new Uint8Array(300)]).subarray(0, 2)]).toEqual([0xac, 0x02]);
  });

  it('uses 1, 2, 3 and 4 bytes of length at the boundaries', () => {
    for (const [n, bytes] of [[0, 1], [127, 1], [128, 2], [16_383, 2], [16_384, 3], [2_097_151, 3], [2_097_152, 4], [3 * 1024 * 1024, 4]] as const) {
      expect(varintBytes(n)).toBe(bytes);
      expect(lengthPrefixed([new Uint8Array(n)]).byteLength).toBe(n + bytes);
    }
    expect([...lengthPrefixed([new Uint8Array(16_384)]).subarray(0, 3)]).toEqual([0x80, 0x80, 0x01]);
  });

  it('keeps the frames whole and in order', () => {
    const a = Uint8Array.from({ length: 200 }, (_, i) => i);
    const b = Uint8Array.of(9, 8, 7);
    const out = lengthPrefixed([a, b]);
    expect([...out.subarray(0, 2)]).toEqual([200, 1]);
    expect(out.subarray(2, 202)).toEqual(a);
    expect([...out.subarray(202)]).toEqual([3, 9, 8, 7]);
  });

  it('refuses a length that is not a non-negative safe integer', () => {
    expect(() => varintBytes(-1)).toThrow(RangeError);
    expect(() => varintBytes(1.5)).toThrow(RangeError);
  });
});
