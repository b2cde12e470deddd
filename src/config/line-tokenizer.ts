// Splits one line of a booth.conf into key and value, by booth's own lexical
// rules (booth 1.x read_config), so that every file booth accepts is split
// the same way here:
//
//   - leading whitespace is skipped; an empty line or one whose first
//     non-blank character is `#` is a comment;
//   - the key is a run of letters, digits, `-` and `_`, followed by optional
//     whitespace and `=`;
//   - a value starting with `"` or `'` runs to the next same quote (no
//     escapes); after it only whitespace or a `#` comment may follow;
//   - any other value is the REST OF THE LINE with trailing whitespace
//     removed: a `#` after a bare value is part of the value, not a comment
//     (booth does this; the parser warns about it);
//   - a missing value is an error, but `""` is an (empty) value.
//
// "Whitespace" is C's isspace in the C locale: space, \t, \n, \v, \f, \r, so a
// file with CRLF line ends reads the same as with LF.

export type TokenizedLine =
  | { readonly kind: 'blank' }
  | { readonly kind: 'entry'; readonly key: string; readonly value: string; readonly quoted: boolean }
  | { readonly kind: 'invalid'; readonly reason: string };

export function isCSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\v' || char === '\f' || char === '\r';
}

function isKeyChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_-]$/.test(char);
}

export function tokenizeConfigLine(line: string): TokenizedLine {
  const length = line.length;
  let pos = 0;
  while (pos < length && isCSpace(line[pos])) pos += 1;
  if (pos === length || line[pos] === '#') return { kind: 'blank' };

  const keyStart = pos;
  while (pos < length && isKeyChar(line[pos])) pos += 1;
  if (pos === keyStart) {
    return { kind: 'invalid', reason: 'expected a key (letters, digits, "-" or "_") at the start of the line' };
  }
  const key = line.slice(keyStart, pos);

  while (pos < length && isCSpace(line[pos])) pos += 1;
  if (line[pos] !== '=') return { kind: 'invalid', reason: `expected "=" after the key "${key}"` };
  pos += 1;
  while (pos < length && isCSpace(line[pos])) pos += 1;
  if (pos === length) return { kind: 'invalid', reason: `no value after "${key} ="` };

  const opening = line[pos];
  if (opening === '"' || opening === "'") {
    const closing = line.indexOf(opening, pos + 1);
    if (closing < 0) return { kind: 'invalid', reason: `unterminated quoted value for "${key}" (missing ${opening})` };
    const value = line.slice(pos + 1, closing);
    let after = closing + 1;
    while (after < length && isCSpace(line[after])) after += 1;
    if (after < length && line[after] !== '#') {
      return { kind: 'invalid', reason: `unexpected text after the quoted value of "${key}"` };
    }
    return { kind: 'entry', key, value, quoted: true };
  }

  let end = length;
  while (end > pos && isCSpace(line[end - 1])) end -= 1;
  return { kind: 'entry', key, value: line.slice(pos, end), quoted: false };
}
