// Keeps docs/ and the README true about where things are: every source or
// test path they name (`src/...`, `test/...`, `site-agent/...`, `bin/...`,
// `packaging/...`, `bench/...`) must exist in the tree. Files move (issue 10
// cut the core and the adapters into folders); a reader sent to a file that
// is gone loses trust in the rest of the page.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const pages = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const pathPattern = /(?<![\w./@-])((?:src|test|site-agent|arbitrator|bin|packaging|bench)\/[\w./@-]*\w)/g;

describe('paths named in the docs', () => {
  it.each(pages)('%s names only paths that exist', (page) => {
    const text = readFileSync(join(repo, page), 'utf8');
    const missing = new Set<string>();
    for (const m of text.matchAll(pathPattern)) {
      const p = m[1]!;
      // A glob or a placeholder names no single file.
      const next = text.slice(m.index + p.length, m.index + p.length + 3);
      if (/[*<>]/.test(p) || p.includes('...') || /^[-.]?[*<{]/.test(next)) continue;
      if (!existsSync(join(repo, p))) missing.add(p);
    }
    expect([...missing]).toEqual([]);
  });
});
