// A tollbooth formation for the live lab (test/live/lab.ts): one formation
// config (booth.conf syntax plus tollbooth keys, written the way
// src/cli/loopback-formation.ts writes the demo's), one member key per
// address, and per member a state directory, admin socket and log file — all
// under one directory on the host file system, which every lab namespace sees
// (the lab bind-mounts only Pacemaker's and corosync's directories and gives
// each node a private /run). The members themselves run wherever the caller
// spawns them: a site agent inside a cluster node (its crm_ticket must reach
// that node's CIB over IPC), an arbitrator in a standalone WAN namespace. The
// admin CLI runs on the host against a member's UNIX socket (a path socket, so
// no network namespace stands in the way).
import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSeedFile } from '../../src/cli/keys.js';
import { must, run, type RunResult } from './lab/run.js';

/** The built CLI (`npm run build`): the members run what operators run. */
export const tollboothScript = join(dirname(fileURLToPath(import.meta.url)), '../../dist/bin/tollbooth.js');

export interface FormationTicket {
  readonly name: string;
  readonly expireS: number;
  readonly acquireAfterS: number;
  /** booth's per-attempt timeout; default expire/10 (as the loopback formation). */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** booth's ticket mode; default automatic. */
  readonly mode?: 'manual';
}

export interface LiveFormationOptions {
  /** Where everything goes; the config is DIR/booth.conf, so the formation (and booth-cfg-name) is `booth`. */
  readonly dir: string;
  readonly port: number;
  readonly preset: 'lan' | 'loopback' | 'wan';
  readonly sites: readonly { readonly name: string; readonly address: string }[];
  readonly arbitrators: readonly { readonly name: string; readonly address: string }[];
  readonly tickets: readonly FormationTicket[];
  /**
   * The program members and the CLI run as: default the build (node and
   * dist/bin/tollbooth.js); ['/usr/sbin/tollbooth'] runs them from the
   * installed package (test/live/booth-tools.test.ts).
   */
  readonly program?: readonly string[];
}

export interface LiveMember {
  readonly name: string;
  readonly kind: 'site' | 'arbitrator';
  readonly address: string;
  readonly key: string;
  readonly stateDir: string;
  readonly socket: string;
  readonly log: string;
  /** The lease guard's own log (sites; the agent starts the guard beside itself). */
  readonly guardLog: string;
}

/** What a spawned member process looks like to the test. */
export interface RunningMember {
  readonly member: LiveMember;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the spawned process (nsenter and the member) is gone. */
  readonly exited: Promise<number | string | null>;
  stderr(): string;
}

/** Bound on the stderr kept per member process (the log file has the rest). */
const stderrCharsMax = 20_000;

export class LiveFormation {
  private constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly members: readonly LiveMember[],
    /** What runs as `tollbooth` (LiveFormationOptions.program). */
    readonly program: readonly string[],
  ) {}

  /** Writes the keys and the config, and checks the config with `tollbooth config check`. */
  static async create(o: LiveFormationOptions): Promise<LiveFormation> {
    await rm(o.dir, { recursive: true, force: true });
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    const members: LiveMember[] = [
      ...o.sites.map((s) => ({ ...s, kind: 'site' as const })),
      ...o.arbitrators.map((a) => ({ ...a, kind: 'arbitrator' as const })),
    ].map((m) => ({
      name: m.name,
      kind: m.kind,
      address: m.address,
      key: join(o.dir, `${m.name}.key`),
      stateDir: join(o.dir, m.name),
      socket: join(o.dir, `${m.name}.sock`),
      log: join(o.dir, `${m.name}.log`),
      guardLog: join(o.dir, m.name, 'lease-guard.log'),
    }));
    const keyLines: string[] = [];
    for (const m of members) {
      const { publicKey } = await writeSeedFile(m.key, false);
      keyLines.push(`tollbooth-member-key = ${m.address} ${publicKey.toString('base64')}`);
    }
    const lines = [
      '# written by test/live/formation.ts: booth.conf syntax plus tollbooth-* keys',
      `port = ${o.port}`,
      `tollbooth-preset = ${o.preset}`,
      ...members.map((m) => `${m.kind} = ${m.address}`),
      ...keyLines,
    ];
    for (const t of o.tickets) {
      lines.push(
        `ticket = "${t.name}"`,
        `    expire = ${t.expireS}`,
        `    timeout = ${t.timeoutMs ?? Math.max(100, Math.floor((t.expireS * 1000) / 10))}ms`,
        `    retries = ${t.retries ?? 3}`,
        `    acquire-after = ${t.acquireAfterS}`,
        ...(t.mode === undefined ? [] : [`    mode = ${t.mode}`]),
      );
    }
    const configPath = join(o.dir, 'booth.conf');
    await writeFile(configPath, `${lines.join('\n')}\n`, { mode: 0o644 });
    const program = o.program ?? [process.execPath, tollboothScript];
    await must([...program, 'config', 'check', configPath], { timeoutMs: 30_000 });
    return new LiveFormation(o.dir, configPath, members, program);
  }

  member(name: string): LiveMember {
    const m = this.members.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no member ${name} in the formation`);
    return m;
  }

  /** argv of the member's process (`site-agent` with the default crm_ticket sink, or `arbitrator`). */
  argv(m: LiveMember): string[] {
    return [
      ...this.program,
      m.kind === 'site' ? 'site-agent' : 'arbitrator',
      '-c',
      this.configPath,
      '--self',
      m.address,
      '-k',
      m.key,
      '--state-dir',
      m.stateDir,
      '--socket',
      m.socket,
      '--log',
      m.log,
    ];
  }

  /** Starts the member through `spawnIn` (Cluster.spawn of a node, or WanHost.spawn), with `argv` (default this.argv(m)). */
  start(m: LiveMember, spawnIn: (argv: string[]) => ChildProcess, argv: readonly string[] = this.argv(m)): RunningMember {
    const proc = spawnIn([...argv]);
    let stderr = '';
    proc.stdout?.resume();
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      if (stderr.length < stderrCharsMax) stderr += d;
    });
    const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig)));
    return { member: m, proc, exited, stderr: () => stderr };
  }

  /** Runs `tollbooth ARGS --socket SOCKET` on the host (the CLI an operator uses), with its exit code. */
  async cli(m: LiveMember, args: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
    return await run([...this.program, ...args, '--socket', m.socket], { timeoutMs });
  }

  /** `tollbooth ARGS --json`, parsed; null when the command fails or prints no JSON. */
  async cliJson<T>(m: LiveMember, args: readonly string[], timeoutMs = 20_000): Promise<{ code: number; answer: T | null; raw: RunResult }> {
    const raw = await this.cli(m, [...args, '--json'], timeoutMs);
    let answer: T | null = null;
    try {
      answer = JSON.parse(raw.stdout.trim().split('\n').pop() ?? '') as T;
    } catch {
      answer = null;
    }
    return { code: raw.code, answer, raw };
  }

  /** The last `lines` lines of the member's log and, for a site, its lease guard's log. */
  async logTail(m: LiveMember, lines = 25): Promise<string> {
    const parts: string[] = [];
    for (const [what, path] of [
      ['log', m.log],
      ['lease-guard.log', m.guardLog],
    ] as const) {
      if (what === 'lease-guard.log' && m.kind !== 'site') continue;
      const text = await readFile(path, 'utf8').catch((e: unknown) => `(cannot read: ${String(e)})`);
      parts.push(`--- ${m.name} ${what} (${path})\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`);
    }
    return parts.join('\n');
  }
}
