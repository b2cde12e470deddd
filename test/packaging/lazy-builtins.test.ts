// The member bundle's lazy built-ins (packaging/lazy-builtins.ts): a tiny program that imports
// child_process, assert, zlib and timers/promises the ways our code and our dependencies do (named
// imports, a default import, CommonJS require, assert called as a function) is bundled with the
// plugin as the member is, and run in a fresh node: none of the four is loaded before its first
// use (process.moduleLoadList), and each works when used. The same program bundled without the
// plugin loads them all at once, which shows the check can fail.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { lazyBuiltins, lazyBuiltinsPlugin } from '../../packaging/lazy-builtins.js';

const execFileP = promisify(execFile);
const runMs = 30_000;

const imports = `
import { execFileSync } from 'node:child_process';
import assert from 'node:assert';
import { crc32 } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
`;
const program = `
const cjs = require('child_process');
const loaded = () => ${JSON.stringify(lazyBuiltins)}.filter((b) => process.moduleLoadList.includes('NativeModule ' + b));
const before = loaded();
let assertThrew = false;
try { assert(false, 'no'); } catch (err) { assertThrew = err instanceof assert.AssertionError; }
assert.strictEqual(1, 1);
const out = {
  before,
  afterAssert: loaded(),
  assertThrew,
  crc: crc32('x'),
  echo: execFileSync(process.execPath, ['-e', 'process.stdout.write("hi")']).toString(),
  sameExecFile: typeof cjs.execFile === 'function',
};
await sleep(1);
out.after = loaded();
process.stdout.write(JSON.stringify(out));
`;

async function bundleAndRun(dir: string, withPlugin: boolean): Promise<Record<string, unknown>> {
  const entry = join(dir, 'entry.ts');
  const outfile = join(dir, withPlugin ? 'lazy.cjs' : 'eager.cjs');
  await writeFile(entry, `${imports}\nvoid (async () => {${program}})();`);
  await build({ entryPoints: [entry], outfile, bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'error', plugins: withPlugin ? [lazyBuiltinsPlugin] : [] });
  const { stdout } = await execFileP(process.execPath, [outfile], { timeout: runMs });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('lazy built-ins in the member bundle', () => {
  let dir = '';
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('loads none of them before first use, and each works when used', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lazy-builtins-'));
    const lazy = await bundleAndRun(dir, true);
    expect(lazy['before']).toEqual([]);
    expect(lazy['afterAssert']).toEqual(['assert']);
    expect(lazy['assertThrew']).toBe(true);
    expect(lazy['crc']).toBe(2363233923);
    expect(lazy['echo']).toBe('hi');
    expect(lazy['sameExecFile']).toBe(true);
    expect(lazy['after']).toEqual([...lazyBuiltins]);
    // Without the plugin the same program loads all four before its first line runs.
    const eager = await bundleAndRun(dir, false);
    expect(eager['before']).toEqual([...lazyBuiltins]);
  }, 2 * runMs);
});
