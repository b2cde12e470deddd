// `tollbooth migrate-from-booth` (issue 14, item 7) on booth's own example:
// Debian's booth package is fetched with `apt-get download` and unpacked with
// `dpkg-deb -x` into a temporary directory (never installed), and its
// /usr/share/doc/booth/examples/booth.conf.example is migrated by the built
// program. The result must pass `tollbooth config check` unchanged in booth's
// lines, hold one key per member (mode 0600) whose public half is in the
// config, and the report must say what to run on each member and which
// settings change meaning (weights, authfile, the transport). Skipped when
// the package cannot be downloaded (no package lists or no network).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyOfSeed, readSeedFile } from '../../src/cli/keys.js';

const cli = resolve('dist/bin/tollbooth.js');

function run(file: string, args: readonly string[], cwd?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(file, args, { cwd, timeout: 180_000 }, (err, out, errText) => {
      done({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, out, err: errText });
    });
  });
}

describe("migrate-from-booth on booth's booth.conf.example (Debian's booth package, unpacked)", () => {
  let dir = '';
  let example: string | null = null;
  let why = '';

  beforeAll(async () => {
    expect(existsSync(cli), 'run npm run build first').toBe(true);
    dir = await mkdtemp(join(tmpdir(), 'tollbooth-migrate-'));
    const dl = await run('apt-get', ['download', 'booth'], dir);
    const deb = (await readdir(dir)).find((f) => f.startsWith('booth_') && f.endsWith('.deb'));
    if (dl.code !== 0 || deb === undefined) {
      why = `apt-get download booth failed (exit ${dl.code}): ${dl.err.trim().split('\n').pop() ?? ''}`;
      return;
    }
    const x = await run('dpkg-deb', ['-x', join(dir, deb), join(dir, 'unpacked')]);
    expect(x.code, x.err).toBe(0);
    example = join(dir, 'unpacked/usr/share/doc/booth/examples/booth.conf.example');
  }, 240_000);

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('writes a config that passes config check, a key per member, and says what to run and what changes', async (ctx) => {
    if (example === null) {
      process.stdout.write(`skipped: ${why}\n`);
      ctx.skip();
      return;
    }
    const original = await readFile(example, 'utf8');
    expect(original).toContain('ticket="ticketA"');
    // booth's own example as booth reads it: tollbooth refuses it only for the missing keys.
    const before = await run(process.execPath, [cli, 'config', 'check', example]);
    expect(before.code).toBe(1);
    expect(before.out).toContain('has no public key');

    const out = join(dir, 'migration');
    const m = await run(process.execPath, [cli, 'migrate-from-booth', '-c', example, '--out', out]);
    expect(m.code, m.err).toBe(0);
    const conf = join(out, 'booth.conf.example');
    const written = await readFile(conf, 'utf8');
    expect(written.startsWith(original)).toBe(true);
    const check = await run(process.execPath, [cli, 'config', 'check', conf]);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toContain('ok (3 members, 2 tickets');

    for (const address of ['147.2.207.14', '147.4.215.19', '147.18.2.1']) {
      const key = join(out, `booth.conf.${address}.key`);
      expect((await stat(key)).mode & 0o777).toBe(0o600);
      const pub = publicKeyOfSeed(await readSeedFile(key)).toString('base64');
      expect(written).toContain(`tollbooth-member-key = ${address} ${pub}`);
      expect(m.out).toContain(`install -m 0600 ${key} /etc/booth/booth.conf.key`);
    }
    // The example has no authfile: the migrated config names where each member's key goes.
    expect(written).toContain('authfile = /etc/booth/booth.conf.key');
    expect(m.out).toContain('# site 147.4.215.19 — on one node of that site:');
    expect(m.out).toContain('pcs booth sync');
    expect(m.out).toContain('systemctl enable --now booth@booth.conf');
    expect(m.out).toMatch(/- weights: USED for placement/);
    expect(m.out).toMatch(/- transport \/ port: members talk over TCP/);
    expect(m.out).toMatch(/- mode = automatic/);

    // A second run does not overwrite the keys; the migrated file is refused as input.
    expect((await run(process.execPath, [cli, 'migrate-from-booth', '-c', example, '--out', out])).code).toBe(1);
    const again = await run(process.execPath, [cli, 'migrate-from-booth', '-c', conf, '--out', join(dir, 'again')]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already has tollbooth-* lines');
  }, 120_000);
});
