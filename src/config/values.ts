// Parsers for the value of one config key. Each mirrors how booth reads that
// key (strtol, atoi, strtok...) so that every value booth accepts means the
// same here; where booth silently accepts nonsense (atoi("9929 # x"), extra
// attr-prereq words), the value is read the same way and the parser adds a
// note that becomes a warning. Ranges (expire > 0, retries 3–100, ports...)
// are checked in validate.ts, not here, so that one place owns them.
import { isCSpace } from './line-tokenizer.js';
import type { AttrPrereq, TicketHandler } from './formation-config.js';

export type ValueResult<T> =
  | { readonly ok: true; readonly value: T; readonly note?: string }
  | { readonly ok: false; readonly reason: string };

function ok<T>(value: T, note?: string): ValueResult<T> {
  return note === undefined ? { ok: true, value } : { ok: true, value, note };
}

function fail<T>(reason: string): ValueResult<T> {
  return { ok: false, reason };
}

/** booth keeps times as C ints of milliseconds; anything larger cannot be represented. */
export const configTimeMsMax = 2 ** 31 - 1;

/**
 * booth's argv for a handler has 16 slots, holding the program, its
 * arguments and the terminating NULL: a program takes at most 14 arguments.
 */
export const handlerArgCountMax = 14;

/** booth keeps at most one weight per member slot (MAX_NODES). */
export const weightCountMax = 16;

/** A raw Ed25519 public key. */
export const ed25519PublicKeyBytes = 32;

/** POSIX allows 32 characters in a group name on Linux (useradd's limit). */
export const groupNameBytesMax = 32;

/**
 * A time as booth's read_time takes it: an integer number of seconds or of
 * milliseconds with an `ms` suffix, nothing else (no `s`, no fraction, no
 * trailing blank). Leading blanks and a sign are allowed, as strtol allows
 * them; a negative result is rejected later by the range checks.
 */
export function parseConfigTime(text: string): ValueResult<number> {
  const match = /^[\t\n\v\f\r ]*([+-]?[0-9]+)(ms)?$/.exec(text);
  const digits = match?.[1];
  if (match === null || digits === undefined) {
    return fail(`"${text}" is not a time: write whole seconds ("600") or milliseconds ("1500ms")`);
  }
  const number = Number(digits);
  const ms = match[2] === 'ms' ? number : number * 1000;
  if (!Number.isSafeInteger(ms) || Math.abs(ms) > configTimeMsMax) {
    return fail(`time "${text}" is out of range (at most ${configTimeMsMax} ms)`);
  }
  return ok(ms);
}

/**
 * strtol(text + start, &end, 0): optional blanks and sign, then a hex
 * (`0x1f`), octal (`017`) or decimal number. Returns null when no digit was
 * read, like strtol leaving end == start.
 */
export function strtolBase0(text: string, start = 0): { value: number; end: number } | null {
  let pos = start;
  while (pos < text.length && isCSpace(text[pos])) pos += 1;
  let sign = 1;
  if (text[pos] === '+' || text[pos] === '-') {
    sign = text[pos] === '-' ? -1 : 1;
    pos += 1;
  }
  let digits: RegExpExecArray | null;
  let radix: number;
  const rest = text.slice(pos);
  if ((digits = /^0[xX]([0-9a-fA-F]+)/.exec(rest)) !== null) radix = 16;
  else if ((digits = /^0([0-7]*)/.exec(rest)) !== null) radix = 8;
  else if ((digits = /^([0-9]+)/.exec(rest)) !== null) radix = 10;
  else return null;
  const body = digits[1] ?? '';
  const value = body === '' ? 0 : Number.parseInt(body, radix);
  return { value: sign * value, end: pos + digits[0].length };
}

/** booth's `retries`: strtol with base 0 and nothing after the number. */
export function parseRetries(text: string): ValueResult<number> {
  const parsed = strtolBase0(text);
  if (parsed === null || parsed.end !== text.length || !Number.isSafeInteger(parsed.value)) {
    return fail(`"${text}" is not a plain integer`);
  }
  return ok(parsed.value);
}

/**
 * atoi as booth applies it to `port`, `maxtimeskew` and `debug`: the leading
 * decimal number counts and the rest of the value is ignored. We refuse a
 * value without any number (atoi would give 0) and note ignored text.
 */
export function parseAtoi(text: string): ValueResult<number> {
  const match = /^[\t\n\v\f\r ]*([+-]?[0-9]+)/.exec(text);
  const digits = match?.[1];
  if (match === null || digits === undefined) return fail(`"${text}" is not a number`);
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) return fail(`"${text}" is out of range`);
  const rest = text.slice(match[0].length);
  return rest === '' ? ok(value) : ok(value, `the text "${rest}" after the number is ignored, as booth ignores it`);
}

/** A plain non-negative decimal integer (tollbooth's own keys take nothing looser). */
export function parseDecimal(text: string): ValueResult<number> {
  if (!/^[0-9]+$/.test(text)) return fail(`"${text}" is not a non-negative decimal integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return fail(`"${text}" is out of range`);
  return ok(value);
}

/**
 * booth's `weights`: up to 16 integers (strtol base 0), separated by blanks
 * or any of `,;:-+`. Note that booth eats a `-` between two numbers as a
 * separator, so `1 -2` is [1, 2] while a leading `-2` is negative; we read it
 * the same way. Weights past the 16th are ignored by booth, noted here.
 */
export function parseWeights(text: string): ValueResult<number[]> {
  const weights: number[] = [];
  let pos = 0;
  while (weights.length < weightCountMax && pos < text.length) {
    const parsed = strtolBase0(text, pos);
    if (parsed === null) return fail(`no integer weight at "${text.slice(pos)}"`);
    weights.push(parsed.value);
    pos = parsed.end;
    while (pos < text.length) {
      const char = text[pos] ?? '';
      if (isCSpace(char) || ',;:-+'.includes(char)) pos += 1;
      else if (/[0-9]/.test(char)) break;
      else return fail(`invalid character in weights at "${text.slice(pos)}"`);
    }
  }
  if (pos < text.length) return ok(weights, `only the first ${weightCountMax} weights are used`);
  return ok(weights);
}

/** Words separated by blanks and tabs, as strtok(value, " \t") yields them. */
function strtokWords(text: string): string[] {
  return text.split(/[ \t]+/).filter((word) => word !== '');
}

/** booth's `before-acquire-handler`: a program (or directory) and its arguments. */
export function parseHandler(text: string): ValueResult<TicketHandler> {
  const [program, ...args] = strtokWords(text);
  if (program === undefined) return fail('no program given');
  if (args.length > handlerArgCountMax) {
    return fail(`${args.length} arguments; booth passes at most ${handlerArgCountMax} to a handler`);
  }
  // booth execs a relative path from its working directory; tollbooth runs handlers from / and never
  // searches PATH, so a relative one would fail at every site: refuse it here.
  if (!program.startsWith('/')) return fail(`"${program}" is not an absolute path (give the full path of the program or directory)`);
  return ok({ program, args });
}

/** booth's `attr-prereq = auto|manual <name> eq|ne <value>`. */
export function parseAttrPrereq(text: string): ValueResult<AttrPrereq> {
  const words = strtokWords(text);
  const [grantType, name, op, value, ...extra] = words;
  if (grantType === undefined || name === undefined || op === undefined || value === undefined) {
    return fail(`expected "auto|manual <attribute> eq|ne <value>", got ${words.length} word(s)`);
  }
  if (grantType !== 'auto' && grantType !== 'manual') return fail(`"${grantType}" is not a grant type (auto or manual)`);
  if (op !== 'eq' && op !== 'ne') return fail(`"${op}" is not an attribute operation (eq or ne)`);
  const note = extra.length > 0 ? `the extra words "${extra.join(' ')}" are ignored, as booth ignores them` : undefined;
  return ok({ grantType, name, op, value }, note);
}

/** booth's `mode`: `manual` in any case is manual; anything else is automatic. */
export function parseTicketMode(text: string): ValueResult<'automatic' | 'manual'> {
  const lower = text.toLowerCase();
  if (lower === 'manual') return ok('manual');
  if (lower === 'automatic' || lower === 'auto') return ok('automatic');
  return ok('automatic', `"${text}" is not "manual" or "automatic"; booth treats it as automatic`);
}

/** A raw 32-byte Ed25519 public key in standard base64 (44 characters, one `=`). */
export function parsePublicKey(text: string): ValueResult<Uint8Array> {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    return fail(`"${text}" is not a base64 Ed25519 public key (44 characters of standard base64 for ${ed25519PublicKeyBytes} bytes)`);
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  // The last base64 digit carries 2 unused bits; only the canonical encoding is accepted.
  if (bytes.length !== ed25519PublicKeyBytes || Buffer.from(bytes).toString('base64') !== text) {
    return fail(`"${text}" is not the canonical base64 of a ${ed25519PublicKeyBytes}-byte key`);
  }
  return ok(bytes);
}

/** A POSIX group name as shadow-utils accepts it. */
export function parseGroupName(text: string): ValueResult<string> {
  if (text.length > groupNameBytesMax || !/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(text)) {
    return fail(`"${text}" is not a valid group name`);
  }
  return ok(text);
}
