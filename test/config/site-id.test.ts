// booth's site id — the CIB `owner` value — is the IEEE CRC-32 (zlib's) of
// the member's binary address (4 bytes for IPv4, 16 for IPv6), top bit
// cleared. The expected values are computed independently: by a table-free,
// bit-at-a-time CRC-32 written here, and by a literal from booth itself —
// `booth status` printed booth_id=1928170000 for 192.0.2.11
// (shared/reference/booth.md §5), the same as
//   python3 -c "import zlib;print(zlib.crc32(bytes([192,0,2,11])) & 0x7fffffff)"
// The CRC of the address *text* would differ, which is checked too. The
// address parsing that feeds it follows inet_pton.
import { describe, expect, it } from 'vitest';
import { parseIpv4, parseIpv6, parseMemberAddress } from '../../src/config/address.js';
import { boothSiteId, boothSiteIdOfBytes } from '../../src/config/index.js';
import { memberKeyLines, parse } from './fixtures.js';

/** CRC-32/IEEE (reflected polynomial 0xEDB88320), one bit at a time. */
function crc32Bitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const topBitCleared = (crc: number): number => crc & 0x7fffffff;

describe('booth site id', () => {
  it('matches the id booth printed for 192.0.2.11', () => {
    expect(boothSiteId('192.0.2.11')).toBe(1928170000);
    expect(topBitCleared(crc32Bitwise(new Uint8Array([192, 0, 2, 11])))).toBe(1928170000);
  });

  it('is computed from the binary address, not from its text', () => {
    const ofText = topBitCleared(crc32Bitwise(new TextEncoder().encode('192.0.2.11')));
    expect(ofText).toBe(1002056632);
    expect(boothSiteId('192.0.2.11')).not.toBe(ofText);
  });

  it('agrees with the bitwise CRC for IPv4 and IPv6 addresses', () => {
    const cases: Array<[string, number[]]> = [
      ['192.0.2.12', [192, 0, 2, 12]],
      ['10.0.0.1', [10, 0, 0, 1]],
      ['2001:db8::11', [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), 0x11]],
      ['::ffff:192.168.202.100', [...Array<number>(10).fill(0), 0xff, 0xff, 192, 168, 202, 100]],
    ];
    for (const [address, bytes] of cases) {
      expect(boothSiteId(address), address).toBe(topBitCleared(crc32Bitwise(new Uint8Array(bytes))));
    }
    // Literals from python3's zlib for the two IPv6 cases.
    expect(boothSiteId('2001:db8::11')).toBe(1646633020);
    expect(boothSiteId('::ffff:192.168.202.100')).toBe(418864974);
  });

  it('never has the top bit set', () => {
    for (let last = 0; last < 256; last += 1) {
      const id = boothSiteIdOfBytes(new Uint8Array([198, 51, 100, last]));
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(2 ** 31);
    }
  });

  it('is null for a host name, which must be resolved first', () => {
    expect(boothSiteId('site-a.example.com')).toBeNull();
  });

  it('is set on every member of a parsed config', () => {
    const addresses = ['192.0.2.11', '2001:db8::11', 'arb.example.com'];
    const { config } = parse(`site = 192.0.2.11\nsite = 2001:db8::11\narbitrator = arb.example.com\n${memberKeyLines(addresses)}ticket = t\n`);
    expect(config.members.map((m) => m.siteId)).toEqual([1928170000, 1646633020, null]);
  });
});

describe('address parsing (as inet_pton)', () => {
  it('accepts dotted quads and refuses leading zeros, short forms and out-of-range parts', () => {
    expect(parseIpv4('192.0.2.1')).toEqual(new Uint8Array([192, 0, 2, 1]));
    for (const bad of ['192.0.2', '192.0.2.01', '192.0.2.256', '1.2.3.4.5', '0x1.2.3.4', ' 1.2.3.4']) {
      expect(parseIpv4(bad), bad).toBeNull();
    }
  });

  it('accepts IPv6 forms and refuses malformed ones', () => {
    expect(parseIpv6('::')).toEqual(new Uint8Array(16));
    expect(parseIpv6('::1')?.[15]).toBe(1);
    expect(parseIpv6('1:2:3:4:5:6:7:8')?.[15]).toBe(8);
    expect(parseIpv6('1:2:3:4:5:6:192.0.2.1')?.slice(12)).toEqual(new Uint8Array([192, 0, 2, 1]));
    expect(parseIpv6('2001:DB8::1')).toEqual(parseIpv6('2001:db8:0:0:0:0:0:1'));
    for (const bad of ['', ':', ':::', '1::2::3', ':1::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '12345::', 'fe80::1%eth0', '::1.2.3.4:5']) {
      expect(parseIpv6(bad), bad).toBeNull();
    }
  });

  it('takes anything else that looks like a host name as one', () => {
    expect(parseMemberAddress('site-a.example.com.')).toEqual({ family: 'hostname', name: 'site-a.example.com.' });
    for (const bad of ['192.0.2.300', '-a.example', 'a..b', 'has space', 'a/b']) {
      expect(parseMemberAddress(bad), bad).toBeNull();
    }
  });
});
