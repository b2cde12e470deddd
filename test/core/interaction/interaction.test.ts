// Interaction tests: every testdata/*.txt is a script of commands, each
// followed by the output it must print (datadriven.ts explains the format,
// harness.ts the commands). A file runs on a fresh Interaction from top to
// bottom; the whole output is compared with the expected one, and the first
// differing block fails the test with file:line and a line diff.
//
//   UPDATE_INTERACTION=1 npx vitest run test/core/interaction
//
// rewrites the expected outputs in place, to be reviewed as a diff. An
// expectation that prints `FAIL:` is accepted only in a file that documents it
// with a `# known-bug:` comment, so a rewrite cannot quietly bless a broken
// invariant.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { diffLines, parseScript, rewrite, type Script } from './datadriven.js';
import { Interaction } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const testdata = join(here, 'testdata');
const update = process.env['UPDATE_INTERACTION'] === '1';
const files = readdirSync(testdata)
  .filter((f) => f.endsWith('.txt'))
  .sort();

interface Mismatch {
  readonly message: string;
}

function runScript(script: Script, display: string): { actual: string[][]; mismatches: Mismatch[] } {
  const env = new Interaction();
  const actual: string[][] = [];
  const mismatches: Mismatch[] = [];
  for (const block of script.blocks) {
    const all: string[] = [];
    for (const c of block.commands) {
      try {
        all.push(...env.exec(c.text));
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`${display}:${c.line}: ${c.text}: ${msg}`, { cause: err });
      }
    }
    // A block of several commands prints `ok` once, and only if none printed anything else.
    const printed = all.filter((l) => l !== 'ok');
    const lines = block.commands.length > 1 && printed.length > 0 ? printed : block.commands.length > 1 ? ['ok'] : all;
    actual.push(lines);
    const label = block.commands.map((c) => c.text).join(' / ');
    if (block.expected === null) {
      mismatches.push({ message: `${display}:${block.line}: "${label}" has no expected output (run with UPDATE_INTERACTION=1)` });
      continue;
    }
    if (block.expected.join('\n') !== lines.join('\n')) {
      const d = diffLines(block.expected, lines);
      mismatches.push({
        message: `${display}:${block.outputLine + d.firstExpectedIndex}: output of "${label}" (line ${block.line}) differs (- expected, + actual):\n${d.text}`,
      });
    }
  }
  return { actual, mismatches };
}

describe('interaction scripts', () => {
  test('there are scripts to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    test(file.replace(/\.txt$/, ''), () => {
      const path = join(testdata, file);
      const display = relative(process.cwd(), path);
      const text = readFileSync(path, 'utf8');
      const script = parseScript(display, text);
      expect(text.startsWith('#'), `${display}: open with # lines saying what the scenario checks`).toBe(true);
      const { actual, mismatches } = runScript(script, display);
      if (update) {
        writeFileSync(path, rewrite(script, actual));
      } else if (mismatches.length > 0) {
        const more = mismatches.length > 1 ? `\n(${mismatches.length - 1} more differing block(s) after this one)` : '';
        throw new Error(`${mismatches[0]!.message}${more}`);
      }
      const knownBug = script.comments.some((c) => /^#\s*known-bug:/.test(c));
      const failures = actual.flat().filter((l) => l.startsWith('FAIL:'));
      if (failures.length > 0 && !knownBug) {
        throw new Error(`${display}: expectations failed and the file declares no "# known-bug:":\n${failures.join('\n')}`);
      }
    });
  }
});
