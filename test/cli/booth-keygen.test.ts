// booth's booth-keygen served by tollbooth (src/cli/booth-keygen.ts), and
// geostore's command line (src/cli/geostore.ts; its runs against a formation
// are in test/e2e/booth-client.test.ts). booth-keygen writes real files in a
// temporary directory and reads them back with the member's own key reader:
// booth's rules (absolute path, never over an existing file, mode 0600) and a
// key a tollbooth member can load, whose public key is the line it prints.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boothKeygenIo, runBoothKeygen } from '../../src/cli/booth-keygen.js';
import { parseGeostoreArgs } from '../../src/cli/geostore.js';
import { publicKeyOfSeed, readSeedFile } from '../../src/cli/keys.js';

describe('booth-keygen', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'booth-keygen-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const keygen = async (argv: readonly string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runBoothKeygen(argv, boothKeygenIo((t) => (out += t), (t) => (err += t)));
    return { code, out, err };
  };

  it('writes a member key a tollbooth member reads, mode 0600, and prints its config line on stderr only', async () => {
    const file = join(dir, 'authkey');
    const r = await keygen([file]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const seed = await readSeedFile(file);
    expect(r.err).toContain(`tollbooth-member-key = ADDRESS ${publicKeyOfSeed(seed).toString('base64')}\n`);
  });

  it('refuses an existing file, as booth\'s script, and leaves it as it was', async () => {
    const file = join(dir, 'existing');
    await writeFile(file, 'booth HMAC secret\n', { mode: 0o600 });
    const r = await keygen([file]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`ERROR: file ${file} already exists\n`);
    expect(await readFile(file, 'utf8')).toBe('booth HMAC secret\n');
  });

  it('refuses a relative path and extra arguments; -h prints the usage', async () => {
    expect(await keygen(['authkey'])).toEqual({ code: 1, out: '', err: 'ERROR: please use absolute path for the key file\n' });
    expect((await keygen([join(dir, 'a'), join(dir, 'b')])).code).toBe(1);
    const h = await keygen(['-h']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^usage: booth-keygen \[-h\] \[auth-file\]/);
  });
});

describe('geostore command line', () => {
  it('reads booth\'s options before or after the attribute', () => {
    expect(parseGeostoreArgs(['set', '-t', 'T', 'repl', '-s', 'other', 'UP'])).toEqual({
      kind: 'run',
      args: { op: 'set', config: undefined, site: 'other', ticket: 'T', name: 'repl', value: 'UP', socket: undefined, timeoutMs: 10_000 },
    });
    const g = parseGeostoreArgs(['get', '-cfoo', '-tT', 'repl']);
    expect(g.kind === 'run' && g.args).toMatchObject({ op: 'get', config: 'foo', ticket: 'T', name: 'repl' });
    const l = parseGeostoreArgs(['list', '--timeout=2000']);
    expect(l.kind === 'run' && l.args).toMatchObject({ op: 'list', name: undefined, timeoutMs: 2000 });
  });

  it('names what is wrong: the operation, a missing or extra argument, an unknown option, a bad timeout', () => {
    expect(parseGeostoreArgs(['frob'])).toEqual({ kind: 'error', message: 'unknown operation "frob": expected list, set, get or delete' });
    expect(parseGeostoreArgs(['set', 'repl'])).toEqual({ kind: 'error', message: 'set needs an attribute name and a value' });
    expect(parseGeostoreArgs(['get'])).toEqual({ kind: 'error', message: 'get needs an attribute name' });
    expect(parseGeostoreArgs(['list', 'x'])).toEqual({ kind: 'error', message: 'Superfluous argument: x' });
    expect(parseGeostoreArgs(['get', '-F', 'x'])).toEqual({ kind: 'error', message: 'unknown option: -F' });
    expect(parseGeostoreArgs(['get', 'x', '-t'])).toEqual({ kind: 'error', message: "option requires an argument -- 't'" });
    expect(parseGeostoreArgs(['list', '--timeout', 'soon']).kind).toBe('error');
    expect(parseGeostoreArgs([])).toEqual({ kind: 'help' });
    expect(parseGeostoreArgs(['--version'])).toEqual({ kind: 'version' });
  });
});
