// The text format of the interaction tests, after etcd-io/raft's datadriven
// `testdata/*.txt`: a file is a sequence of blocks
//
//     # comment lines (kept verbatim)
//     command arg key=value
//     ----
//     expected output, one or more lines
//
// separated by blank lines. Several command lines may share one `----` (set-up
// steps, say): they run in order and their outputs are joined. An output that itself contains a blank line is
// written between a doubled separator (`----` `----` … `----` `----`), as in
// etcd. `rewrite` rebuilds the file with actual outputs in place of the
// expected ones, so UPDATE_INTERACTION=1 turns a behaviour change into a diff
// to review; `diffLines` renders a mismatch for the failure message.

export interface Command {
  /** 1-based line in the file. */
  readonly line: number;
  readonly text: string;
}

export interface Block {
  /** 1-based line of the (first) command in the file. */
  readonly line: number;
  readonly commands: readonly Command[];
  /** 1-based line of the first expected output line (the line after `----`). */
  readonly outputLine: number;
  /** Expected output lines; null when the block has no `----` yet (to be filled in by a rewrite). */
  readonly expected: readonly string[] | null;
}

type Chunk = { readonly kind: 'text'; readonly line: string } | { readonly kind: 'block'; readonly block: Block };

export interface Script {
  readonly path: string;
  readonly blocks: readonly Block[];
  readonly chunks: readonly Chunk[];
  /** The `#` lines, for checks on the file's own documentation. */
  readonly comments: readonly string[];
}

const separator = '----';

export class ScriptSyntaxError extends Error {
  constructor(path: string, line: number, message: string) {
    super(`${path}:${line}: ${message}`);
    this.name = 'ScriptSyntaxError';
  }
}

export function parseScript(path: string, text: string): Script {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const chunks: Chunk[] = [];
  const blocks: Block[] = [];
  const comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      if (trimmed.startsWith('#')) comments.push(trimmed);
      chunks.push({ kind: 'text', line: raw });
      i++;
      continue;
    }
    if (trimmed === separator) throw new ScriptSyntaxError(path, i + 1, `'${separator}' without a command before it`);
    const commandLine = i + 1;
    const commands: Command[] = [];
    while (i < lines.length) {
      const t = lines[i]!.trim();
      if (t === '' || t === separator) break;
      if (!t.startsWith('#')) commands.push({ line: i + 1, text: t });
      else throw new ScriptSyntaxError(path, i + 1, 'a comment inside a command block');
      i++;
    }
    let expected: string[] | null = null;
    let outputLine = i + 1;
    if (i < lines.length && lines[i]!.trim() === separator) {
      i++;
      expected = [];
      if (i < lines.length && lines[i]!.trim() === separator) {
        // Doubled separator: the output runs until `----` `----`, blank lines included.
        i++;
        outputLine = i + 1;
        for (;;) {
          if (i >= lines.length) throw new ScriptSyntaxError(path, commandLine, 'unterminated output (missing the closing doubled separator)');
          if (lines[i] === separator && lines[i + 1] === separator) {
            i += 2;
            break;
          }
          expected.push(lines[i]!);
          i++;
        }
      } else {
        outputLine = i + 1;
        while (i < lines.length && lines[i]!.trim() !== '') {
          expected.push(lines[i]!);
          i++;
        }
      }
    } else {
      outputLine = i + 1;
    }
    const block: Block = { line: commandLine, commands, outputLine, expected };
    blocks.push(block);
    chunks.push({ kind: 'block', block });
  }
  return { path, blocks, chunks, comments };
}

/** The file text with every block's output replaced by `actual` (indexed like `script.blocks`). */
export function rewrite(script: Script, actual: ReadonlyArray<readonly string[] | undefined>): string {
  const out: string[] = [];
  let b = 0;
  script.chunks.forEach((chunk, ci) => {
    if (chunk.kind === 'text') {
      out.push(chunk.line);
      return;
    }
    const lines = actual[b] ?? chunk.block.expected ?? [];
    b++;
    for (const c of chunk.block.commands) out.push(c.text);
    if (lines.some((l) => l.trim() === '')) {
      out.push(separator, separator, ...lines, separator, separator);
    } else {
      out.push(separator, ...lines);
    }
    const next = script.chunks[ci + 1];
    // A block's output ends at a blank line: keep one between blocks.
    if (next !== undefined && !(next.kind === 'text' && next.line.trim() === '')) out.push('');
  });
  return `${out.join('\n')}\n`;
}

/**
 * A line diff (longest common subsequence) in unified style: ' ' common,
 * '-' expected only, '+' actual only. Returns the rendered diff and the index
 * (into `expected`) of the first differing line.
 */
export function diffLines(expected: readonly string[], actual: readonly string[]): { text: string; firstExpectedIndex: number } {
  const n = expected.length;
  const m = actual.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let first = -1;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i]}`);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      if (first < 0) first = i;
      out.push(`- ${expected[i]}`);
      i++;
    } else {
      if (first < 0) first = i;
      out.push(`+ ${actual[j]}`);
      j++;
    }
  }
  return { text: out.join('\n'), firstExpectedIndex: first < 0 ? 0 : first };
}
