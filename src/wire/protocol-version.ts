// The formation protocol's version, and which versions interoperate (issue
// 11, item 6; docs/protocol.md §10 says what bumps the minor and what the
// major, and how a mixed formation behaves during an upgrade).
//
// Members announce their version in the first frame of every stream they open
// (a 'hello' envelope, libp2p-transport.ts) and check the other side's before
// they read anything else from it. Two versions interoperate when their
// majors are equal and their minors at most minorVersionsApartMax apart: a
// rolling upgrade goes one minor at a time, and each member of a formation
// is at most one minor behind or ahead of any other. The rule is symmetric,
// so both ends of a link reach the same verdict and both refuse it, each
// logging an error that names both versions.
//
// The version is defined here once; nothing else in the code spells it out.

/** A protocol version, major.minor. */
export interface ProtocolVersion {
  readonly major: number;
  readonly minor: number;
}

/** This build's protocol version. Bump it by the rules in docs/protocol.md §10. */
export const protocolVersion: ProtocolVersion = Object.freeze({ major: 1, minor: 2 });

/** The first version whose members apply `grant-batch` entries (docs/protocol.md §3, "Batch grants"). */
export const batchGrantsSince: ProtocolVersion = Object.freeze({ major: 1, minor: 2 });

/** Whether a peer that announced `announced` (major.minor text) speaks `since` or a later minor of its major. */
export function speaksAtLeast(announced: string, since: ProtocolVersion): boolean {
  const parsed = parseProtocolVersion(announced);
  return parsed.ok && parsed.version.major === since.major && parsed.version.minor >= since.minor;
}

/** How many minor versions apart two members of one major may be and still interoperate. */
export const minorVersionsApartMax = 1;

/** Largest major or minor number accepted from the network (keeps numbers exact and log lines short). */
export const protocolVersionPartMax = 65_535;

/** The text form, `major.minor`, as it travels in the hello and shows in logs, `peers` and metrics. */
export function formatProtocolVersion(v: ProtocolVersion): string {
  return `${v.major}.${v.minor}`;
}

/** Characters of an unparsable version quoted in an error: enough to see what it was, bounded. */
const quotedCharsMax = 40;

export type ParsedProtocolVersion = { readonly ok: true; readonly version: ProtocolVersion } | { readonly ok: false; readonly detail: string };

/**
 * Reads a version from the network: a string `major.minor` of decimal
 * integers in [0, protocolVersionPartMax] without leading zeros or signs.
 * Anything else (missing, another type, `1`, `1.0.0`, `01.2`) is an error
 * naming what was there.
 */
export function parseProtocolVersion(value: unknown): ParsedProtocolVersion {
  if (value === undefined) return { ok: false, detail: 'no protocol version' };
  if (typeof value !== 'string') return { ok: false, detail: `protocol version is a ${value === null ? 'null' : typeof value}, not a "major.minor" string` };
  const m = /^(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})$/.exec(value);
  const quoted = JSON.stringify(value.slice(0, quotedCharsMax)) + (value.length > quotedCharsMax ? '…' : '');
  if (m === null) return { ok: false, detail: `protocol version ${quoted} is not "major.minor"` };
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major > protocolVersionPartMax || minor > protocolVersionPartMax) {
    return { ok: false, detail: `protocol version ${quoted} has a part above ${protocolVersionPartMax}` };
  }
  return { ok: true, version: { major, minor } };
}

export type Compatibility =
  | { readonly compatible: true }
  | { readonly compatible: false; readonly reason: 'major-differs' | 'minor-too-far'; readonly detail: string };

/**
 * Whether a member at `local` may talk to one at `remote` (see the file
 * comment). Symmetric: compatibility(a, b) and compatibility(b, a) agree.
 */
export function compatibility(local: ProtocolVersion, remote: ProtocolVersion): Compatibility {
  const ours = formatProtocolVersion(local);
  const theirs = formatProtocolVersion(remote);
  if (local.major !== remote.major) {
    return { compatible: false, reason: 'major-differs', detail: `protocol ${theirs} there, ${ours} here: major versions differ` };
  }
  if (Math.abs(local.minor - remote.minor) > minorVersionsApartMax) {
    return {
      compatible: false,
      reason: 'minor-too-far',
      detail: `protocol ${theirs} there, ${ours} here: more than ${minorVersionsApartMax} minor version${minorVersionsApartMax === 1 ? '' : 's'} apart (upgrade one minor version at a time)`,
    };
  }
  return { compatible: true };
}

/** The payload of a hello envelope (kind 'hello', the first frame of every stream). */
export interface HelloPayload {
  readonly protocol: string;
}

export function helloPayload(version: ProtocolVersion): HelloPayload {
  return { protocol: formatProtocolVersion(version) };
}

/** Reads a hello's payload (already a verified envelope's JSON): its version, or what is wrong with it. */
export function parseHello(payload: unknown): ParsedProtocolVersion {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { ok: false, detail: 'hello payload is not a JSON object' };
  return parseProtocolVersion((payload as { protocol?: unknown }).protocol);
}
