// The installed command's entry point in a bundled build (bin/tollbooth-entry.ts, written by
// packaging/bundle.ts as dist/bin/tollbooth.js, a CommonJS script; issue 15): a member command runs
// the member's bundle without Node's ES-module loader ever loading a module (NODE_DEBUG=esm, which
// logs each module that loader stores, prints nothing); every other command, booth's names, and a
// build whose member.cjs is missing go through the ES entry (dist/bin/tollbooth.mjs) as before; and
// the CommonJS code runs in strict mode, as the ES modules it was written as. Runs against the built dist/.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(repo, 'dist', 'bin');
const entry = join(bin, 'tollbooth.js');
const shebangFlags = ['--max-semi-space-size=1'];
const runMs = 60_000;
/** A line of Node's ES-module loader's debug log (NODE_DEBUG=esm). */
const esmDebugLine = /^ESM \d+: /m;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...shebangFlags, script, ...args], { env: { ...process.env, NODE_DEBUG: 'esm' }, timeout: runMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!existsSync(join(bin, 'member.cjs')))('the installed entry, dist/bin/tollbooth.js', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs a member command from member.cjs without loading any ES module', async () => {
    for (const command of ['site-agent', 'arbitrator']) {
      const r = await run(entry, [command, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Usage: tollbooth ${command} [options]`);
      expect(r.stderr).not.toMatch(esmDebugLine);
    }
    // A usage error exits 2 with commander's message, as through the whole CLI.
    const bad = await run(entry, ['site-agent', '--no-such-option']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: unknown option '--no-such-option'");
  }, 3 * runMs);

  it('runs every other command, and booth\'s names, through the ES entry', async () => {
    const version = await run(entry, ['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/^tollbooth \d+\.\d+\.\d+/);
    expect(version.stderr).toContain(`${join(bin, 'tollbooth.mjs')}`);
    // boothd's own parser answers `daemon --help`, though `daemon` runs a member.
    const dir = await mkdtemp(join(repo, '.cjs-entry-test-'));
    dirs.push(dir);
    await symlink(entry, join(dir, 'boothd'));
    const boothd = await run(join(dir, 'boothd'), ['daemon', '--help']);
    expect(boothd.code, boothd.stderr).toBe(0);
    expect(boothd.stdout).toContain('Usage:\n  boothd daemon');
    expect(boothd.stderr).toMatch(esmDebugLine);
  }, 3 * runMs);

  it('runs a member command through the ES entry when member.cjs is missing', async () => {
    // Inside the repository, so that the chunks' require() finds node_modules as from dist/bin.
    const dir = await mkdtemp(join(repo, '.cjs-entry-test-'));
    dirs.push(dir);
    await cp(bin, dir, { recursive: true, filter: (src) => !src.includes('member.cjs') });
    expect(existsSync(join(dir, 'member.cjs'))).toBe(false);
    const r = await run(join(dir, 'tollbooth.js'), ['site-agent', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: tollbooth site-agent [options]');
    expect(r.stderr).toContain(join(dir, 'tollbooth.mjs'));
  }, 3 * runMs);

  it('is CommonJS code in strict mode, as is member.cjs (a "use strict" directive before any statement)', async () => {
    const lines = (await readFile(entry, 'utf8')).split('\n');
    expect(lines[0]).toMatch(/^#!\/usr\/bin\/env -S node /);
    expect(lines[1]).toBe('"use strict";');
    expect(JSON.parse(await readFile(join(bin, 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    expect((await readFile(join(bin, 'member.cjs'), 'utf8')).split('\n', 1)[0]).toBe('"use strict";');
  });
});
