// docker-compose.yml and packaging/docker/Dockerfile, checked without a
// Docker engine (none runs where the tests run). The compose file is kept in
// a small YAML subset (block mappings and sequences, one-line scalars, no
// anchors or flow collections) that the strict reader below parses — no YAML
// library is a dependency, and a file outside the subset fails the test
// rather than being half understood. A checker then finds what would break
// `docker compose up`: a build context, Dockerfile or bind-mounted file that
// does not exist, a file the Dockerfile copies that is not in the context, a
// service without a `tollbooth status` healthcheck, a named volume or network
// not declared, an address outside the network's subnet or used twice, and
// for this demo: two site agents and one arbitrator whose TB_* variables
// match their fixed addresses and whose healthcheck asks the socket the
// entrypoint uses. Mutated copies of the file show that the checker catches
// each of those. When a compose client is installed, `docker compose config`
// must accept the file too. Last, the Dockerfile's entrypoint script runs as
// it stands, outside Docker, for three members on 127.0.0.1–3 with the built
// CLI: all three become healthy by the compose healthcheck's own command, the
// automatic ticket is placed at a site, and a restarted member keeps its key.
// Waits are polls with deadlines.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, memberReadyMsMax, until, WaitAborted } from '../../src/cli/loopback-formation.js';
import { formationWaitMs } from '../support/led-calls.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const composePath = join(repo, 'docker-compose.yml');
const cli = join(repo, 'dist/bin/tollbooth.js');

// ───────────── the YAML subset ─────────────

type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

/**
 * Reads the subset: two-space indentation; `key: scalar`, `key:` followed by
 * a deeper block or nothing (null); `- scalar` and `- key: value` items;
 * scalars are plain or double-quoted (JSON escapes) on one line and stay
 * strings. Everything else is an error naming the line.
 */
function parseYamlSubset(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    const no = i + 1;
    if (raw.includes('\t')) throw new Error(`line ${no}: tab`);
    const text = raw.trimEnd();
    const trimmed = text.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const indent = text.length - trimmed.length;
    if (indent % 2 !== 0) throw new Error(`line ${no}: indentation is not a multiple of two spaces`);
    if (trimmed === '---' || trimmed === '...') throw new Error(`line ${no}: document markers are outside the subset`);
    lines.push({ no, indent, text: trimmed });
  });
  let i = 0;
  const scalar = (s: string, no: number): string => {
    if (s.startsWith('"')) {
      if (!/^"(?:[^"\\]|\\.)*"$/.test(s)) throw new Error(`line ${no}: unterminated or trailing text after a quoted scalar`);
      return JSON.parse(s) as string;
    }
    if (/^[[\]{}&*!|>'%@`,?]/.test(s) || s.startsWith('- ')) throw new Error(`line ${no}: "${s}" is outside the subset (flow, anchor, alias, tag, block or single-quoted scalar)`);
    if (s.includes(': ') || s.endsWith(':') || s.includes(' #')) throw new Error(`line ${no}: "${s}" is ambiguous as a plain scalar; quote it`);
    return s;
  };
  const isItem = (l: Line): boolean => l.text === '-' || l.text.startsWith('- ');
  const block = (indent: number): Yaml => (isItem(lines[i]!) ? sequence(indent) : mapping(indent));
  const mapping = (indent: number): { [key: string]: Yaml } => {
    const out: { [key: string]: Yaml } = {};
    while (i < lines.length && lines[i]!.indent === indent && !isItem(lines[i]!)) {
      const l = lines[i]!;
      const m = /^([A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?: (.+))?$/.exec(l.text);
      if (m === null) throw new Error(`line ${l.no}: expected "key:" or "key: value"`);
      const key = m[1]!;
      if (Object.hasOwn(out, key)) throw new Error(`line ${l.no}: duplicate key ${key}`);
      i += 1;
      if (m[2] !== undefined) out[key] = scalar(m[2], l.no);
      else if (i < lines.length && lines[i]!.indent > indent) {
        if (lines[i]!.indent !== indent + 2) throw new Error(`line ${lines[i]!.no}: indent by exactly two spaces`);
        out[key] = block(indent + 2);
      } else out[key] = null;
      if (i < lines.length && lines[i]!.indent > indent) throw new Error(`line ${lines[i]!.no}: unexpected indentation`);
    }
    return out;
  };
  const sequence = (indent: number): Yaml[] => {
    const out: Yaml[] = [];
    while (i < lines.length && lines[i]!.indent === indent && isItem(lines[i]!)) {
      const l = lines[i]!;
      const rest = l.text.slice(1).trimStart();
      if (rest === '') throw new Error(`line ${l.no}: empty sequence item`);
      if (/^[A-Za-z0-9_][A-Za-z0-9_.\-/]*:(?: |$)/.test(rest)) {
        // `- key: value` opens a mapping whose keys sit two columns in.
        lines[i] = { no: l.no, indent: indent + 2, text: rest };
        out.push(mapping(indent + 2));
      } else {
        out.push(scalar(rest, l.no));
        i += 1;
      }
      if (i < lines.length && lines[i]!.indent > indent) throw new Error(`line ${lines[i]!.no}: unexpected indentation`);
    }
    return out;
  };
  if (lines.length === 0) throw new Error('empty document');
  if (lines[0]!.indent !== 0) throw new Error(`line ${lines[0]!.no}: the document must start at column 0`);
  const doc = block(0);
  if (i < lines.length) throw new Error(`line ${lines[i]!.no}: unexpected indentation`);
  return doc;
}

// ───────────── the checker ─────────────

type YamlMap = { [key: string]: Yaml };
const isMap = (v: Yaml | undefined): v is YamlMap => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: Yaml | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/** The entrypoint script embedded in the Dockerfile as a here-document. */
function entrypointScript(dockerfile: string): string | null {
  const m = /^COPY [^\n]*<<"?EOF"?\s+\/usr\/local\/bin\/tollbooth-demo-member\n([\s\S]*?)\nEOF$/m.exec(dockerfile);
  return m === null ? null : `${m[1]!}\n`;
}

/** Sources of the Dockerfile's COPY lines that read the build context (not --from, not here-documents). */
function contextCopySources(dockerfile: string): string[] {
  const out: string[] = [];
  for (const line of dockerfile.split('\n')) {
    if (!line.startsWith('COPY ') || line.includes('--from=') || line.includes('<<')) continue;
    const words = line.slice(5).trim().split(/\s+/).filter((w) => !w.startsWith('--'));
    out.push(...words.slice(0, -1));
  }
  return out;
}

function ipv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null || m.slice(1).some((x) => Number(x) > 255)) return null;
  return m.slice(1).reduce((a, x) => a * 256 + Number(x), 0);
}

function inSubnet(address: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const a = ipv4(address);
  const n = ipv4(net ?? '');
  const b = Number(bits);
  if (a === null || n === null || !Number.isInteger(b) || b < 0 || b > 32) return false;
  const size = 2 ** (32 - b);
  return Math.floor(a / size) === Math.floor(n / size);
}

/** Everything in the compose document that would break `docker compose up` or the demo; [] when none. */
function composeProblems(doc: Yaml, baseDir: string): string[] {
  const problems: string[] = [];
  const exists = (p: string): boolean => existsSync(resolve(baseDir, p));
  if (!isMap(doc)) return ['the document is not a mapping'];
  for (const key of Object.keys(doc)) {
    if (!['name', 'services', 'networks', 'volumes', 'configs', 'secrets'].includes(key) && !key.startsWith('x-')) problems.push(`unknown top-level key ${key}`);
  }
  const services = doc.services;
  if (!isMap(services) || Object.keys(services).length === 0) return [...problems, 'no services'];
  const volumes = isMap(doc.volumes) ? doc.volumes : {};
  const networks = isMap(doc.networks) ? doc.networks : {};
  for (const top of ['configs', 'secrets'] as const) {
    const section = doc[top];
    if (!isMap(section)) continue;
    for (const [name, v] of Object.entries(section)) {
      if (isMap(v) && typeof v.file === 'string' && !exists(v.file)) problems.push(`${top}.${name}: file ${v.file} does not exist`);
    }
  }
  const subnets = new Map<string, string[]>();
  for (const [name, n] of Object.entries(networks)) {
    const cfg = isMap(n) && isMap(n.ipam) ? n.ipam.config : undefined;
    subnets.set(name, Array.isArray(cfg) ? cfg.flatMap((c) => (isMap(c) && typeof c.subnet === 'string' ? [c.subnet] : [])) : []);
  }
  const addresses = new Map<string, string>();
  const kinds = new Map<string, { kind: string; address: string | null; env: YamlMap }>();
  let entrypoint: string | null = null;

  for (const [name, s] of Object.entries(services)) {
    if (!isMap(s)) {
      problems.push(`${name}: not a mapping`);
      continue;
    }
    // Build: the context directory, the Dockerfile in it, and what it copies from the context.
    if (isMap(s.build)) {
      const context = typeof s.build.context === 'string' ? s.build.context : '.';
      const dockerfile = typeof s.build.dockerfile === 'string' ? s.build.dockerfile : 'Dockerfile';
      const contextDir = resolve(baseDir, context);
      const dockerfilePath = resolve(contextDir, dockerfile);
      if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) problems.push(`${name}: build context ${context} is not a directory`);
      else if (!existsSync(dockerfilePath)) problems.push(`${name}: Dockerfile ${dockerfile} does not exist in ${context}`);
      else {
        const text = readFileSync(dockerfilePath, 'utf8');
        for (const src of contextCopySources(text)) {
          if (!existsSync(resolve(contextDir, src))) problems.push(`${name}: ${dockerfile} copies ${src}, which is not in the build context`);
        }
        entrypoint ??= entrypointScript(text);
      }
    } else if (typeof s.build === 'string') {
      if (!exists(s.build)) problems.push(`${name}: build context ${s.build} does not exist`);
    } else if (typeof s.image !== 'string') problems.push(`${name}: neither build nor image`);

    // Healthcheck: present, not disabled, and it is `tollbooth status`.
    const hc = s.healthcheck;
    if (!isMap(hc)) problems.push(`${name}: no healthcheck`);
    else {
      const test = strings(hc.test);
      if (hc.disable === 'true' || test[0] === 'NONE') problems.push(`${name}: healthcheck disabled`);
      else if (!(test.includes('tollbooth') && test.includes('status')) && !/\btollbooth status\b/.test(test.join(' '))) problems.push(`${name}: healthcheck does not run tollbooth status`);
    }

    // Volumes: bind mounts must exist; named volumes must be declared.
    for (const v of strings(s.volumes)) {
      const source = v.split(':')[0]!;
      if (source.startsWith('.') || source.startsWith('/') || source.startsWith('~')) {
        if (!exists(source)) problems.push(`${name}: bind-mounted ${source} does not exist`);
      } else if (!Object.hasOwn(volumes, source)) problems.push(`${name}: volume ${source} is not declared under volumes`);
    }
    for (const f of strings(s.env_file)) if (!exists(f)) problems.push(`${name}: env_file ${f} does not exist`);

    // Networks: declared, fixed addresses inside the subnet and unique.
    let address: string | null = null;
    const nets = s.networks;
    for (const [net, cfg] of isMap(nets) ? Object.entries(nets) : strings(nets).map((n): [string, Yaml] => [n, null])) {
      if (!Object.hasOwn(networks, net)) {
        problems.push(`${name}: network ${net} is not declared under networks`);
        continue;
      }
      if (isMap(cfg) && typeof cfg.ipv4_address === 'string') {
        address = cfg.ipv4_address;
        if (!(subnets.get(net) ?? []).some((sub) => inSubnet(address!, sub))) problems.push(`${name}: ${address} is not in a subnet of network ${net}`);
        const other = addresses.get(address);
        if (other !== undefined) problems.push(`${name}: ${address} is also the address of ${other}`);
        addresses.set(address, name);
      }
    }
    kinds.set(name, { kind: strings(s.command)[0] ?? '', address, env: isMap(s.environment) ? s.environment : {} });
  }

  // The demo formation: two sites and one arbitrator that agree on who is who.
  const sites = [...kinds.entries()].filter(([, k]) => k.kind === 'site-agent');
  const arbitrators = [...kinds.entries()].filter(([, k]) => k.kind === 'arbitrator');
  if (sites.length !== 2 || arbitrators.length !== 1) problems.push(`expected 2 site-agent services and 1 arbitrator, found ${sites.length} and ${arbitrators.length}`);
  const siteList = sites.map(([, k]) => k.address).join(' ');
  const arbitratorList = arbitrators.map(([, k]) => k.address).join(' ');
  for (const [name, k] of kinds) {
    if (k.kind !== 'site-agent' && k.kind !== 'arbitrator') problems.push(`${name}: command is neither site-agent nor arbitrator`);
    if (k.address === null) problems.push(`${name}: no fixed ipv4_address`);
    if (k.env.TB_SELF !== k.address) problems.push(`${name}: TB_SELF ${JSON.stringify(k.env.TB_SELF)} is not its address ${String(k.address)}`);
    if (k.env.TB_SITES !== siteList) problems.push(`${name}: TB_SITES ${JSON.stringify(k.env.TB_SITES)} is not the site addresses "${siteList}"`);
    if (k.env.TB_ARBITRATORS !== arbitratorList) problems.push(`${name}: TB_ARBITRATORS ${JSON.stringify(k.env.TB_ARBITRATORS)} is not "${arbitratorList}"`);
  }
  if (entrypoint === null) problems.push('the Dockerfile has no tollbooth-demo-member entrypoint here-document');
  else {
    const socket = /socket=\$\{TB_SOCKET:-([^}]+)\}/.exec(entrypoint)?.[1];
    for (const [name, s] of Object.entries(services)) {
      const test = isMap(s) && isMap(s.healthcheck) ? strings(s.healthcheck.test) : [];
      const at = test.indexOf('--socket');
      if (socket === undefined || at < 0 || test[at + 1] !== socket) problems.push(`${name}: the healthcheck does not ask the entrypoint's socket ${String(socket)}`);
    }
  }
  return problems;
}

// ───────────── tests ─────────────

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: Record<string, string>, cwd = repo): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], signal: AbortSignal.timeout(60_000) });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

const clone = (doc: Yaml): YamlMap => structuredClone(doc) as YamlMap;
const service = (doc: YamlMap, name: string): YamlMap => (doc.services as YamlMap)[name] as YamlMap;

describe('docker-compose.yml and packaging/docker/Dockerfile', () => {
  let doc: Yaml;

  it('is in the YAML subset, and the reader refuses what is outside it', async () => {
    doc = parseYamlSubset(await readFile(composePath, 'utf8'));
    expect(isMap(doc)).toBe(true);
    expect(Object.keys((doc as YamlMap).services as YamlMap)).toEqual(['site1', 'site2', 'arbitrator']);
    expect(parseYamlSubset('a:\n  - x\n  - k: v\n    j: "q\\""\nb:\n')).toEqual({ a: ['x', { k: 'v', j: 'q"' }], b: null });
    for (const bad of ['a: [x, y]\n', 'a: &anchor x\n', 'a: *alias\n', 'a: |\n  text\n', 'a:\n\t- x\n', 'a: 1\na: 2\n', 'a:\n   b: 1\n', 'a: x # comment\n', "a: 'single'\n", 'a: b: c\n', 'a:\n  b: 1\n    c: 2\n']) {
      expect(() => parseYamlSubset(bad), JSON.stringify(bad)).toThrow(/line \d+/);
    }
  });

  it('refers only to files that exist, gives every service a tollbooth status healthcheck, and describes 2 sites + 1 arbitrator consistently', () => {
    expect(composeProblems(doc, repo)).toEqual([]);
  });

  it('the checker catches a missing Dockerfile, a missing config file, a service without healthcheck, and inconsistent addresses', () => {
    const cases: Array<[string, (d: YamlMap) => void, RegExp]> = [
      ['Dockerfile renamed', (d) => ((service(d, 'site2').build as YamlMap).dockerfile = 'packaging/docker/Dockerfile.missing'), /site2: Dockerfile packaging\/docker\/Dockerfile\.missing does not exist/],
      ['context gone', (d) => ((service(d, 'site1').build as YamlMap).context = './no-such-dir'), /site1: build context \.\/no-such-dir is not a directory/],
      ['config file bind-mounted but absent', (d) => (service(d, 'arbitrator').volumes as Yaml[]).push('./packaging/docker/booth.conf:/etc/tollbooth/booth.conf:ro'), /arbitrator: bind-mounted \.\/packaging\/docker\/booth\.conf does not exist/],
      ['env_file absent', (d) => (service(d, 'site1').env_file = './demo.env'), /site1: env_file \.\/demo\.env does not exist/],
      ['config file under configs absent', (d) => (d.configs = { booth: { file: './packaging/docker/booth.conf' } }), /configs\.booth: file .* does not exist/],
      ['no healthcheck', (d) => delete service(d, 'site2').healthcheck, /site2: no healthcheck/],
      ['healthcheck not tollbooth status', (d) => ((service(d, 'arbitrator').healthcheck as YamlMap).test = ['CMD', 'true']), /arbitrator: healthcheck does not run tollbooth status/],
      ['healthcheck on another socket', (d) => ((service(d, 'site1').healthcheck as YamlMap).test = ['CMD', 'tollbooth', 'status', '--socket', '/run/x.sock']), /site1: the healthcheck does not ask the entrypoint's socket/],
      ['undeclared volume', (d) => delete (d.volumes as YamlMap)['site1-etc'], /site1: volume site1-etc is not declared/],
      ['address outside the subnet', (d) => (((service(d, 'site2').networks as YamlMap).tollbooth as YamlMap).ipv4_address = '10.0.0.12'), /site2: 10\.0\.0\.12 is not in a subnet/],
      ['address twice', (d) => (((service(d, 'site2').networks as YamlMap).tollbooth as YamlMap).ipv4_address = '172.28.0.11'), /site2: 172\.28\.0\.11 is also the address of site1/],
      ['TB_SELF wrong', (d) => ((service(d, 'site1').environment as YamlMap).TB_SELF = '172.28.0.12'), /site1: TB_SELF "172\.28\.0\.12" is not its address/],
      ['one site only', (d) => delete (d.services as YamlMap).site2, /expected 2 site-agent services and 1 arbitrator, found 1 and 1/],
    ];
    for (const [what, mutate, expected] of cases) {
      const d = clone(doc);
      mutate(d);
      const problems = composeProblems(d, repo);
      expect(problems.join('\n'), what).toMatch(expected);
    }
  });

  it('the Dockerfile copies every file of ours that packaging/bundle.ts (the build\'s last step) imports', async () => {
    const sources = contextCopySources(await readFile(join(repo, 'packaging/docker/Dockerfile'), 'utf8')).map((x) => x.replace(/\/$/, ''));
    const copied = (file: string): boolean => sources.some((x) => file === x || file.startsWith(`${x}/`));
    const seen = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      expect(copied(file), `${file} is imported by the build but not copied into the image's build stage`).toBe(true);
      // Our own modules only: src, bin, site-agent and arbitrator are copied whole (checked above).
      if (!file.startsWith('packaging/')) return;
      const text = await readFile(join(repo, file), 'utf8');
      for (const m of text.matchAll(/^import [^;]*? from '(\.{1,2}\/[^']+)';$/gm)) {
        await visit(join(dirname(file), m[1]!).replace(/\.js$/, '.ts'));
      }
    };
    await visit('packaging/bundle.ts');
    expect([...seen]).toEqual(expect.arrayContaining(['packaging/bundle.ts', 'packaging/lazy-builtins.ts']));
  });

  it('the Dockerfile copies only what exists and embeds the entrypoint (sh -n; shellcheck when installed)', async () => {
    const text = await readFile(join(repo, 'packaging/docker/Dockerfile'), 'utf8');
    const sources = contextCopySources(text);
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'bin', 'site-agent', 'arbitrator']));
    for (const s of sources) expect(existsSync(join(repo, s)), s).toBe(true);
    const script = entrypointScript(text)!;
    expect(script).toMatch(/^#!\/bin\/sh\n/);
    const dir = await mkdtemp(join(tmpdir(), 'tollbooth-entrypoint-'));
    try {
      await writeFile(join(dir, 'entrypoint'), script);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      const syntax = await run('/bin/sh', ['-n', join(dir, 'entrypoint')], env);
      expect(syntax.code, syntax.stderr).toBe(0);
      const sc = await run('/bin/sh', ['-c', 'command -v shellcheck'], env);
      if (sc.code === 0) {
        const lint = await run(sc.stdout.trim(), ['-s', 'sh', join(dir, 'entrypoint')], env);
        expect(lint.code, lint.stdout).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(text).toMatch(/^ENTRYPOINT \["tollbooth-demo-member"\]$/m);
  });

  it('is accepted by `docker compose config` when a compose client is installed', async (ctx) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
    const version = await run('/bin/sh', ['-c', 'docker compose version'], env);
    if (version.code !== 0) {
      ctx.skip();
      return;
    }
    const r = await run('docker', ['compose', '-f', composePath, 'config', '--quiet'], env);
    expect(r.code, r.stderr).toBe(0);
  });

  describe('the entrypoint script, run outside Docker for three members on loopback', () => {
    let dir = '';
    const procs = new Map<string, ChildProcess>();

    afterAll(async () => {
      await Promise.all(
        [...procs.values()].map(
          (p) =>
            new Promise<void>((r) => {
              if (p.exitCode !== null || p.signalCode !== null) return r();
              p.once('exit', () => r());
              p.kill('SIGKILL');
            }),
        ),
      );
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    it('makes a key per member, writes one config for all, and every member passes the compose healthcheck; a restart keeps the key', async () => {
      if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build (npm ci does it) before this test`);
      dir = await mkdtemp(join(tmpdir(), 'tollbooth-compose-'));
      const script = entrypointScript(await readFile(join(repo, 'packaging/docker/Dockerfile'), 'utf8'))!;
      const entry = join(dir, 'tollbooth-demo-member');
      await writeFile(entry, script);
      await chmod(entry, 0o755);
      await mkdir(join(dir, 'bin'));
      await writeFile(join(dir, 'bin', 'tollbooth'), `#!/bin/sh\nexec '${process.execPath}' '${cli}' "$@"\n`);
      await chmod(join(dir, 'bin', 'tollbooth'), 0o755);

      const d = doc as YamlMap;
      const addressOf = (name: string): string => ((service(d, name).networks as YamlMap).tollbooth as YamlMap).ipv4_address as string;
      // The compose addresses mapped onto loopback, in the same roles.
      const loop = new Map(Object.keys(d.services as YamlMap).map((name, i) => [addressOf(name), `127.0.0.${i + 1}`]));
      const port = await freePort([...loop.values()]);
      const envOf = (name: string): Record<string, string> => {
        const e = service(d, name).environment as YamlMap;
        const map = (s: string): string => s.split(' ').map((a) => loop.get(a)!).join(' ');
        return {
          PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
          TB_SELF: map(e.TB_SELF as string),
          TB_SITES: map(e.TB_SITES as string),
          TB_ARBITRATORS: map(e.TB_ARBITRATORS as string),
          TB_PORT: String(port),
          TB_ETC: join(dir, name, 'etc'),
          TB_SHARED: join(dir, 'shared'),
          TB_STATE: join(dir, name, 'state'),
          TB_SOCKET: join(dir, `${name}.sock`),
          TB_WAIT_S: '60',
        };
      };
      const stderr = new Map<string, string>();
      const start = (name: string): void => {
        const p = spawn('/bin/sh', [entry, ...strings(service(d, name).command)], { env: envOf(name), stdio: ['ignore', 'ignore', 'pipe'] });
        p.stderr.setEncoding('utf8').on('data', (s: string) => stderr.set(name, ((stderr.get(name) ?? '') + s).slice(-4000)));
        procs.set(name, p);
      };
      /** The service's own healthcheck command, on the test's socket. */
      const healthy = async (name: string): Promise<boolean> => {
        const test = strings((service(d, name).healthcheck as YamlMap).test).slice(1);
        test[test.indexOf('--socket') + 1] = envOf(name).TB_SOCKET!;
        const p = procs.get(name)!;
        if (p.exitCode !== null) throw new WaitAborted(`${name} exited with ${p.exitCode}: ${stderr.get(name) ?? ''}`);
        return (await run(test[0]!, test.slice(1), envOf(name))).code === 0;
      };
      const names = Object.keys(d.services as YamlMap);
      for (const name of names) start(name);
      for (const name of names) await until(`${name} to be healthy`, memberReadyMsMax, async () => ((await healthy(name)) ? true : null), 250);

      // The demo's automatic ticket is placed at one of the two sites.
      const holder = await until('db to have a holder', formationWaitMs, async () => {
        const list = await run(join(dir, 'bin', 'tollbooth'), ['list', '--json', '--socket', envOf('arbitrator').TB_SOCKET!], envOf('arbitrator'));
        if (list.code !== 0) return null;
        return (JSON.parse(list.stdout) as { data: Array<{ name: string; holder: string | null }> }).data.find((t) => t.name === 'db')?.holder ?? null;
      }, 250);
      expect(['127.0.0.1', '127.0.0.2']).toContain(holder);

      const configs = await Promise.all(names.map((n) => readFile(join(dir, n, 'etc', 'demo.conf'), 'utf8')));
      expect(new Set(configs).size).toBe(1);
      expect(configs[0]).toMatch(/^site = 127\.0\.0\.1\nsite = 127\.0\.0\.2\narbitrator = 127\.0\.0\.3$/m);
      for (const n of names) expect((await stat(join(dir, n, 'etc', 'demo.key'))).mode & 0o077).toBe(0);
      // Only public key lines are shared.
      const shared = await readdir(join(dir, 'shared'));
      expect(shared.sort()).toEqual(['127.0.0.1.line', '127.0.0.2.line', '127.0.0.3.line']);
      for (const f of shared) expect(await readFile(join(dir, 'shared', f), 'utf8')).toMatch(/^tollbooth-member-key = 127\.0\.0\.\d [A-Za-z0-9+/]{43}=\n$/);

      const key = await readFile(join(dir, 'site1', 'etc', 'demo.key'));
      const first = procs.get('site1')!;
      const code = await new Promise<number | null>((r) => {
        first.once('exit', (c) => r(c));
        first.kill('SIGTERM');
      });
      expect(code).toBe(0);
      start('site1');
      await until('site1 to be healthy again', memberReadyMsMax, async () => ((await healthy('site1')) ? true : null), 250);
      expect((await readFile(join(dir, 'site1', 'etc', 'demo.key'))).equals(key)).toBe(true);
    }, 2 * memberReadyMsMax + formationWaitMs + 60_000);
  });
});
