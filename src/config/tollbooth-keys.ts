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
 * | `tollbooth-alert-handler`       | global, local    | `<absolute program or directory> [args…]`     | none           |
 * | `tollbooth-alert-timeout`       | global, local    | time, 100 ms – 1 hour                         | 30 s           |
 * | `tollbooth-history-records`     | global, local    | integer, 1 – 16384                            | 1024           |
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
 * - `tollbooth-alert-handler`: a program, or a directory whose executables run
 *   in name order, called on every formation event (src/runtime/alert-hooks.ts)
 *   with TOLLBOOTH_EVENT, TOLLBOOTH_TICKET, … in its environment. "local": the
 *   key is read by each member from its own copy of the file and is not part
 *   of the config fingerprint (fingerprint.ts), like booth's `debug`. Why in
 *   the formation file and not only in a member's settings: operators keep
 *   booth's handler in booth.conf and expect this one beside it, and one line
 *   there serves every member of a formation that installs the same handler
 *   (the package's examples live at the same path everywhere). Why not
 *   fingerprinted: a hook changes what a member tells people, never what it
 *   decides, so one member testing a new hook (or missing one) must not look
 *   like a config split and stop members (site-agent/main.ts checkPeersConfig).
 * - `tollbooth-alert-timeout`: the deadline of one run of one alert program;
 *   past it its process group is killed and the run counted as `timeout`.
 *   Local, as the handler.
 * - `tollbooth-history-records`: how many history records (`tollbooth
 *   history`, the audit trail) the member keeps, oldest dropped first; they
 *   live in memory and in every snapshot (about 0.3 KB each). Local and not
 *   fingerprinted, as the hooks: the history tells people what happened and
 *   decides nothing, and a member that keeps more must be possible by a
 *   rolling restart, not look like a config split. Above 1024 only once every
 *   member runs protocol 1.1 or later: older members refuse a snapshot with
 *   more than 1024 records (docs/configuration.md).
 */
export const tollboothKeys = {
  memberKey: 'tollbooth-member-key',
  adminKey: 'tollbooth-admin-key',
  adminGroup: 'tollbooth-admin-group',
  clockDriftPpmMax: 'tollbooth-clock-drift-ppm-max',
  preset: 'tollbooth-preset',
  revokeLead: 'tollbooth-revoke-lead',
  alertHandler: 'tollbooth-alert-handler',
  alertTimeout: 'tollbooth-alert-timeout',
  historyRecords: 'tollbooth-history-records',
} as const;

/** Default of `tollbooth-alert-timeout`, ms: a webhook over a slow WAN, with room; a hook is not meant to take long. */
export const alertTimeoutMsDefault = 30_000;
/** Shortest `tollbooth-alert-timeout`, ms: below it even `logger` may not finish on a loaded host. */
export const alertTimeoutMsMin = 100;
/** Longest `tollbooth-alert-timeout`, ms: a hook that needs more should queue the work itself. */
export const alertTimeoutMsMax = 3_600_000;

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
