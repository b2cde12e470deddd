// The npm package (issue 14, item 3: "drop private only if the npm package
// is reproducible too"), for real: `npm pack` runs twice on the built tree
// and must give the same bytes; the tarball carries the program (dist/), the
// OCF agents, the systemd units, the docs and the production dependencies
// bundled (bundleDependencies: the tree `npm ci` installed from
// package-lock.json, overrides included) — not test/, src/ or dev
// dependencies. `npm install -g --offline` of the tarball into a temporary
// prefix then needs no registry, installs the locked versions (p-retry is
// the case the issue met: libp2p asks for ^8, which wants Node >= 22; the
// lock overrides it to 7.1.1, and an override binds only the root package, so
// without the bundle an install of the tarball re-resolved it to 8.x), and
// the installed `tollbooth --version` runs. Needs `npm run build` first.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
/** npm packs some 4 400 files (10 MB) and installs them: tens of seconds on a loaded machine. */
const npmMs = 300_000;

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((done) => {
    execFile(file, args, { cwd, timeout: npmMs, maxBuffer: 64 * 1024 * 1024 }, (err, out, errText) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      done({ code, out, err: errText });
    });
  });
}

const sha256 = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

describe.skipIf(!existsSync(join(repo, 'dist/bin/tollbooth.js')))('the npm package', () => {
  let scratch = '';

  afterAll(async () => {
    if (scratch !== '') await rm(scratch, { recursive: true, force: true });
  });

  it('packs reproducibly, bundles the locked production tree, and installs offline with the locked versions', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'tollbooth-npm-pack-'));
    const tarballs: string[] = [];
    for (const n of [1, 2]) {
      const dest = join(scratch, `pack${n}`);
      await mkdir(dest);
      // --ignore-scripts: dist/ is already built (prepare would rebuild it with tsc, the same bytes).
      const p = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dest, '--loglevel=error'], repo);
      expect(p.code, p.err).toBe(0);
      const [name] = await readdir(dest);
      tarballs.push(join(dest, name!));
    }
    const [a, b] = await Promise.all(tarballs.map(sha256));
    expect(a, 'two npm pack runs of one tree give the same bytes').toBe(b);

    const list = (await run('tar', ['-tzf', tarballs[0]!], scratch)).out.split('\n').filter((l) => l !== '');
    expect(list).toContain('package/dist/bin/tollbooth.js');
    expect(list).toContain('package/packaging/ocf/booth-site');
    expect(list).toContain('package/node_modules/p-retry/package.json');
    expect(list.filter((p) => p.startsWith('package/test/') || p.startsWith('package/src/')), 'no tests or sources').toEqual([]);
    expect(list.filter((p) => p.startsWith('package/node_modules/typescript/') || p.startsWith('package/node_modules/vitest/')), 'no dev dependencies').toEqual([]);

    const lock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    const lockedPRetry = lock.packages['node_modules/p-retry']?.version;
    expect(lockedPRetry).toBeDefined();

    const prefix = join(scratch, 'prefix');
    const inst = await run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, tarballs[0]!], scratch);
    expect(inst.code, inst.err).toBe(0);
    const installed = join(prefix, 'lib/node_modules/tollbooth');
    const pRetry = JSON.parse(await readFile(join(installed, 'node_modules/p-retry/package.json'), 'utf8')) as { version: string };
    expect(pRetry.version, 'the locked p-retry, not the newest that libp2p admits').toBe(lockedPRetry);
    const version = await run(join(prefix, 'bin/tollbooth'), ['--version'], scratch);
    expect(version.code, version.err).toBe(0);
    expect(version.out).toMatch(/^tollbooth \d+\.\d+\.\d+\n$/);
    process.stdout.write(`npm package: ${tarballs[0]} ${(await readFile(tarballs[0]!)).length} bytes, ${list.length} entries, sha256 ${a}\n`);
  }, 2 * npmMs);
});
