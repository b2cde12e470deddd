// The member's bundle and its code cache (bin/member-loader.ts, packaging/bundle.ts): the build's
// cache is used under the flags of the CLI's `#!` line, and not used when the bundle changed (V8
// itself checks only the source's length, so a same-length change is the case the loader's own key
// must catch) or when node runs with other flags (V8 rejects it); and the bundle is ASCII only (a
// single other character made its 2.5 MB a two-byte string). Runs against the built dist/.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(repo, 'dist', 'bin');
const shebangFlags = ['--max-semi-space-size=1'];
const loadMs = 60_000;

/** How a copy of the loader in `dir` loads the member there ('member.cjs, code cache', …). */
async function loadIn(dir: string, flags: readonly string[]): Promise<string> {
  const loader = join(dir, 'member-loader.js');
  const script = `const { loadMemberBundle } = await import(${JSON.stringify(loader)}); process.stdout.write(loadMemberBundle()?.load ?? 'none'); process.exit(0);`;
  const { stdout } = await execFileP(process.execPath, [...flags, '--input-type=module', '-e', script], { timeout: loadMs });
  return stdout;
}

describe.skipIf(!existsSync(join(bin, 'member.cjs.cache')))('the member bundle\'s code cache', () => {
  // Inside the repository, so that the bundle's require() finds node_modules as from dist/bin.
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('is used under the script\'s own flags, rejected under others, and not used for a changed bundle of the same length', async () => {
    dir = await mkdtemp(join(repo, '.member-loader-test-'));
    for (const f of ['member-loader.js', 'member.cjs', 'member.cjs.cache']) await copyFile(join(bin, f), join(dir, f));
    expect(await loadIn(dir, shebangFlags)).toBe('member.cjs, code cache');
    expect(await loadIn(dir, [])).toBe('member.cjs, cache rejected');
    const source = await readFile(join(dir, 'member.cjs'), 'utf8');
    const changed = source.replaceAll('tollboothImportMetaUrl', 'tollboothImportMetaUr1');
    expect(changed).not.toBe(source);
    expect(Buffer.byteLength(changed)).toBe(Buffer.byteLength(source));
    await writeFile(join(dir, 'member.cjs'), changed);
    expect(await loadIn(dir, shebangFlags)).toBe('member.cjs, no cache');
  }, 3 * loadMs);

  it('is made of an ASCII-only bundle (packaging/bundle.ts asciiSource: a one-byte string for V8)', async () => {
    const bytes = await readFile(join(bin, 'member.cjs'));
    expect(bytes.findIndex((b) => b > 0x7f)).toBe(-1);
  });
});
