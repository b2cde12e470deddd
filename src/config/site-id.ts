// booth's site id: the number that identifies a member in booth's messages and
// that booth writes as the `owner` attribute of a ticket in the CIB. tollbooth
// writes the same number so that pcs, crmsh, crm_mon and scripts that read
// `owner` keep working (DESIGN.md §4).
//
// booth computes it as the IEEE CRC-32 (zlib's crc32) of the member's
// *binary* address — the 4 bytes of an IPv4 address or the 16 bytes of an
// IPv6 address, in network order, as inet_pton writes them — with the top bit
// cleared so that it never collides with "no one" (0xFFFFFFFF) and stays
// positive as a C int. Not of the address *text*: booth switched to the
// binary form because the text gave collisions (booth's config.c, add_site).
// The capture in shared/reference/booth.md §5 confirms it: `booth status`
// prints booth_id=1928170000 for 192.0.2.11, which is
// crc32(bytes 192,0,2,11) & 0x7fffffff; the CRC of the string "192.0.2.11"
// would be 1002056632.
import { crc32 } from 'node:zlib';
import { parseMemberAddress } from './address.js';

/** Cleared from the CRC so the id never equals booth's "no one" (0xFFFFFFFF). */
const siteIdTopBitMask = 0x7fff_ffff;

/** booth's site id of a binary IPv4 (4-byte) or IPv6 (16-byte) address. */
export function boothSiteIdOfBytes(addressBytes: Uint8Array): number {
  if (addressBytes.length !== 4 && addressBytes.length !== 16) {
    throw new RangeError(`a site id is computed from 4 or 16 address bytes, not ${addressBytes.length}`);
  }
  return crc32(addressBytes) & siteIdTopBitMask;
}

/**
 * booth's site id of an address literal (`192.0.2.11`, `2001:db8::11`), or
 * null for a host name: booth resolves names once at load time and takes the
 * id from the resolved address, so the caller must resolve it first and pass
 * the literal it got.
 */
export function boothSiteId(address: string): number | null {
  const parsed = parseMemberAddress(address);
  if (parsed === null || parsed.family === 'hostname') return null;
  return boothSiteIdOfBytes(parsed.bytes);
}
