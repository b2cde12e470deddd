// `tollbooth history --since TIME`: a point in wall-clock time, written as
// ISO 8601 (`2026-12-06`, `2026-12-06T10:00:00Z`, `2026-12-06 10:00+01:00`)
// or as a duration before now (`90s`, `10m`, `2h`, `1d`). Anything else is a
// usage error naming the option and the value (exit 2).

import { UsageError } from './usage-error.js';

const unitMs: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const relative = /^(\d{1,9})([smhd])$/;
/** Date, or date and time (seconds, fraction, and a zone optional). Date-time without a zone is local time, as in `date`. */
const iso8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** Characters of a bad value quoted in the error. */
const quotedCharsMax = 60;

/** The wall time `value` names, ms since the Unix epoch; `nowMs` dates the relative forms. Throws UsageError. */
export function parseSince(value: string, nowMs: number): number {
  const r = relative.exec(value);
  if (r !== null) return nowMs - Number(r[1]) * unitMs[r[2]!]!;
  if (iso8601.test(value)) {
    const at = Date.parse(value.replace(' ', 'T'));
    if (Number.isFinite(at) && at >= 0) return at;
  }
  const quoted = JSON.stringify(value.slice(0, quotedCharsMax)) + (value.length > quotedCharsMax ? '…' : '');
  throw new UsageError(`--since ${quoted} is not a time: give ISO 8601 (2026-12-06T10:00:00Z, 2026-12-06) or a duration ago (90s, 10m, 2h, 1d)`);
}
