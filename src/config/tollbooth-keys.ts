/**
 * tollbooth's own config keys — extensions to booth.conf.
 *
 * booth refuses unknown keys, so a file that uses any of these is for
 * tollbooth only; every name carries the `tollbooth-` prefix so that a reader
 * sees at once which lines booth would not understand, and so that a key
 * booth may add one day cannot clash with ours. A booth.conf without them is
 * read unchanged, but tollbooth cannot run a formation until every member has
 * a `tollbooth-member-key` (members authenticate with Ed25519, DESIGN.md §7).
 *
 * The value of these keys may be up to 192 bytes (booth's 64-byte value limit
 * is kept for booth's keys): an IPv6 address and a base64 key do not fit in 64.
 *
 * | key                             | where            | value                                         | default        |
 * |---------------------------------|------------------|-----------------------------------------------|----------------|
 * | `tollbooth-member-key`          | global, 1/member | `<address> <base64 Ed25519 public key>`       | — (required)   |
 * | `tollbooth-admin-key`           | global, repeated | `<base64 Ed25519 public key>`                 | none           |
 * | `tollbooth-admin-group`         | global           | group allowed to use the local admin socket   | root only      |
 * | `tollbooth-clock-drift-ppm-max` | global           | integer ppm, 0–100000                         | 500            |
 * | `tollbooth-preset`              | global           | `lan`, `wan` or `loopback` (presets.ts)       | `wan`          |
 * | `tollbooth-revoke-lead`         | ticket, defaults | time (`5`, `1500ms`), > 0, < expire − renewal | preset's, capped |
 *
 * - `tollbooth-member-key`: the member whose `site`/`arbitrator` line has
 *   this address (same spelling rules as duplicate detection: `2001:DB8::1`
 *   matches `2001:db8::1`); the key is the raw 32-byte public key, base64.
 *   Its libp2p peer id derives from the same key.
 * - `tollbooth-admin-key`: admin commands arriving over the network must be
 *   signed by one of these keys.
 * - `tollbooth-admin-group`: besides root, members of this group may open the
 *   local CLI socket.
 * - `tollbooth-clock-drift-ppm-max`: the bound ρ on the rate difference of
 *   any two members' monotonic clocks; the registry leader stretches every
 *   lease by (1+ρ)/(1−ρ) (DESIGN.md §2). Too small is unsafe; large values
 *   only delay failover.
 * - `tollbooth-preset`: timing of the registry and gossip (presets.ts).
 * - `tollbooth-revoke-lead`: a holder that cannot renew revokes the ticket in
 *   its CIB this long before its lease ends. Unlike booth's per-ticket keys
 *   other than expire/timeout/retries/weights/mode, it is inherited from a
 *   `__defaults__` block: it is ours, so there is no booth behaviour to keep.
 *   Default: the preset's revokeLeadMs, capped at (expire − renewal-freq) / 2.
 */
export const tollboothKeys = {
  memberKey: 'tollbooth-member-key',
  adminKey: 'tollbooth-admin-key',
  adminGroup: 'tollbooth-admin-group',
  clockDriftPpmMax: 'tollbooth-clock-drift-ppm-max',
  preset: 'tollbooth-preset',
  revokeLead: 'tollbooth-revoke-lead',
} as const;

/** Default of `tollbooth-clock-drift-ppm-max`: ten times a typical crystal's tolerance. */
export const clockDriftPpmMaxDefault = 500;

/**
 * Upper bound of `tollbooth-clock-drift-ppm-max`: 10 % rate difference. Above
 * it the lease stretch (1+ρ)/(1−ρ) exceeds 1.22 and such a clock is broken,
 * not drifting.
 */
export const clockDriftPpmMaxLimit = 100_000;

/** Limit on `tollbooth-admin-key` lines. */
export const adminKeyCountMax = 32;

/** Value length limit for tollbooth's keys (booth's own keys keep 64). */
export const tollboothValueBytesMax = 192;
