// Text from an operator's file, made safe to print on a terminal. A config
// line may carry ESC, CR or other control bytes (by accident, a paste from a
// terminal, or on purpose); echoed raw in an error message they would move
// the cursor, rewrite the line being read, retitle the window or hide the
// rest of the message. Every message that quotes file content goes through
// printable() before it reaches a terminal (problems.ts formatConfigProblem
// is the one place for config problems).
//
// Escaped: C0 controls (including tab and newline: a problem is one line),
// DEL, the C1 range U+0080–U+009F (U+009B is CSI on terminals that honour C1),
// the line and paragraph separators, and the bidirectional overrides and
// isolates, which reorder what follows them on screen. The backslash itself
// is not escaped, so printable() is idempotent and ordinary Windows paths
// read unchanged; `\x1b` in the output is therefore either an escaped ESC or
// those four characters in the file, which is what a reader needs to know.

const named: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

const unprintable = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every terminal control character written as an escape (`\x1b`, `\r`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(unprintable, (c) => {
    const n = named[c];
    if (n !== undefined) return n;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `text` in double quotes, escaped as printable() does (JSON.stringify leaves DEL, C1 and the bidi controls raw). */
export function quoted(text: string): string {
  return `"${printable(text)}"`;
}
