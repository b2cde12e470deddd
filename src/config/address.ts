// Member addresses as booth reads them: an IPv4 or IPv6 literal (what
// inet_pton accepts) or else a host name that booth resolves once at load
// time. We parse literals to their binary form ourselves because booth's site
// id is computed from those bytes (site-id.ts), and we only check host names
// for syntax: resolving them is I/O and belongs to the composition root.

/** booth stores an address in a 64-byte buffer with its terminating NUL. */
export const memberAddressBytesMax = 63;

/** RFC 1035 §2.3.4: a DNS label has at most 63 octets. */
const hostLabelBytesMax = 63;

export type ParsedAddress =
  | { readonly family: 'ipv4'; readonly bytes: Uint8Array }
  | { readonly family: 'ipv6'; readonly bytes: Uint8Array }
  | { readonly family: 'hostname'; readonly name: string };

/**
 * Parses a dotted-quad IPv4 literal exactly as glibc's inet_pton(AF_INET)
 * does: four decimal parts 0–255, no leading zeros, nothing else.
 */
export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[index] = value;
  }
  return bytes;
}

/**
 * Parses an IPv6 literal as inet_pton(AF_INET6) does: eight groups of 1–4 hex
 * digits, at most one `::` standing for at least one zero group, optionally
 * ending in a dotted quad (`::ffff:192.0.2.1`). Zone ids (`%eth0`) are not
 * part of the literal and are refused, as inet_pton refuses them.
 */
export function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (text === '' || halves.length > 2) return null;
  const hasGap = halves.length === 2;
  const splitGroups = (half: string): string[] => (half === '' ? [] : half.split(':'));
  // Only the very last group of the literal may be a dotted quad.
  const head = parseIpv6Groups(splitGroups(halves[0] ?? ''), !hasGap);
  const tail = parseIpv6Groups(splitGroups(halves[1] ?? ''), true);
  if (head === null || tail === null) return null;

  let words: number[];
  if (hasGap) {
    // `::` must stand for at least one group of zeros.
    const zeros = 8 - head.length - tail.length;
    if (zeros < 1) return null;
    words = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  const bytes = new Uint8Array(16);
  for (const [index, word] of words.entries()) {
    bytes[index * 2] = word >> 8;
    bytes[index * 2 + 1] = word & 0xff;
  }
  return bytes;
}

/** 16-bit words of colon-separated hex groups; a final dotted quad gives two words. */
function parseIpv6Groups(groups: readonly string[], mayEndInIpv4: boolean): number[] | null {
  const words: number[] = [];
  for (const [index, group] of groups.entries()) {
    if (mayEndInIpv4 && index === groups.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (v4 === null) return null;
      words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(group)) {
      words.push(Number.parseInt(group, 16));
    } else {
      return null;
    }
  }
  return words;
}

/**
 * A host name booth could hand to getaddrinfo: dot-separated labels of
 * letters, digits, `-` and `_` (underscores are not DNS-legal but do occur in
 * /etc/hosts), no label starting or ending with `-`, an optional final dot.
 */
export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name === '') return false;
  return name
    .split('.')
    .every(
      (label) =>
        label.length > 0 &&
        label.length <= hostLabelBytesMax &&
        /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/.test(label),
    );
}

/** Classifies a `site`/`arbitrator` value; null if it is none of the three forms. */
export function parseMemberAddress(text: string): ParsedAddress | null {
  const v4 = parseIpv4(text);
  if (v4 !== null) return { family: 'ipv4', bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== null) return { family: 'ipv6', bytes: v6 };
  // A name made only of digits and dots is a mistyped IPv4 address, not a host.
  if (/^[0-9.]+$/.test(text)) return null;
  if (isHostName(text)) return { family: 'hostname', name: text };
  return null;
}

/**
 * A key under which two spellings of the same endpoint compare equal:
 * `2001:DB8::1` and `2001:db8:0::1`, `192.0.2.1` and `::ffff:192.0.2.1`,
 * `Host.example.` and `host.example`. Used to find duplicate members.
 */
export function addressIdentity(address: ParsedAddress): string {
  if (address.family === 'hostname') return `host:${address.name.toLowerCase().replace(/\.$/, '')}`;
  const bytes = address.bytes;
  const isV4Mapped =
    address.family === 'ipv6' && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (isV4Mapped) return `ip:${Array.from(bytes.subarray(12)).join('.')}`;
  if (address.family === 'ipv4') return `ip:${Array.from(bytes).join('.')}`;
  return `ip:${Buffer.from(bytes).toString('hex')}`;
}

/** addressIdentity of an address as written; text that is no address compares only to itself. */
export function addressIdentityOfText(text: string): string {
  const parsed = parseMemberAddress(text);
  return parsed === null ? `text:${text}` : addressIdentity(parsed);
}
