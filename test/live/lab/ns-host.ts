// One lab host: a named network namespace plus a PID-1 process (node-init.sh)
// in its own mount, UTS, IPC and PID namespaces. Cluster nodes (role core or
// remote) and the WAN's standalone hosts (role bare, e.g. an arbitrator) are
// all NsHosts. The network namespace is named (/run/netns/NAME) and outlives
// the init, so a crashed node keeps its interfaces and can be started again;
// the PID namespace dies with the init, and the kernel kills everything in it
// — daemons, resource agents and whatever a test spawned there.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { access, readFile, readlink, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elapsedMs, LabError, mergeEnv, run, waitFor, type RunOptions, type RunResult } from './run.js';

export const initScript = join(dirname(fileURLToPath(import.meta.url)), 'node-init.sh');

export type HostRole = 'core' | 'remote' | 'bare';

/** PID namespaces of every init this process started (link text of /proc/PID/ns/pid), for leak checks. */
const pidNamespaces = new Set<string>();
export function knownPidNamespaces(): ReadonlySet<string> {
  return pidNamespaces;
}

export interface ExecOptions extends RunOptions {
  /** Working directory inside the host (its mount namespace sees the host's files). Default '/'. */
  readonly cwd?: string;
}

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory inside the host. Default '/'. */
  readonly cwd?: string;
  /** Default 'pipe' for all three. */
  readonly stdio?: StdioOptions;
}

/** The process command line, '' when it is gone (or a zombie). */
export async function cmdlineOf(pid: number): Promise<string[]> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
  } catch (e) {
    if (isGone(e)) return [];
    throw e;
  }
}

/** State letter and start time (clock ticks since boot) from /proc/PID/stat; null when the process is gone. */
export async function procStat(pid: number): Promise<{ state: string; startTime: string } | null> {
  let raw: string;
  try {
    raw = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if (isGone(e)) return null;
    throw e;
  }
  // "pid (comm) state ppid …": comm may contain spaces and parentheses, so split after the last ')'.
  const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

function isGone(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (e) {
    if (isGone(e)) return false;
    throw e;
  }
}

export class NsHost {
  /** Host PID of node-init.sh, null while the host is down. */
  private initPid: number | null = null;
  /** Field 22 of /proc/PID/stat of the init (clock ticks since boot). */
  private initStartTime = '';
  private readonly children = new Set<ChildProcess>();

  constructor(
    readonly name: string,
    readonly role: HostRole,
    /** Name of the network namespace (`ip netns list`). */
    readonly netns: string,
    /** State directory on the host file system (bind-mounted inside for core/remote). */
    readonly dir: string,
    /** Extra environment for the init (TBL_REMOTED for remote nodes). */
    private readonly initEnv: Readonly<Record<string, string>> = {},
  ) {}

  get up(): boolean {
    return this.initPid !== null;
  }

  get pid(): number | null {
    return this.initPid;
  }

  /** Starts node-init.sh in the network namespace; resolves once it reports ready (mounts done, daemons launched). */
  async start(timeoutMs = 30_000): Promise<number> {
    if (this.initPid !== null && (await this.alive(this.initPid))) {
      throw new LabError('BAD_OPTIONS', `${this.netns} is already running (init ${this.initPid})`);
    }
    const t0 = performance.now();
    // A file left by the previous boot would make this one look ready at once.
    await rm(join(this.dir, 'init.ready'), { force: true });
    const launcher = spawn(
      'nsenter',
      [
        `--net=/run/netns/${this.netns}`,
        'unshare',
        '--mount',
        '--uts',
        '--ipc',
        '--pid',
        '--fork',
        '--mount-proc',
        '--propagation',
        'private',
        initScript,
        this.dir,
        this.name,
        this.role,
      ],
      // Its own session: a test runner's Ctrl-C must not reach the node (cleanupStaleLabs handles leftovers).
      { detached: true, stdio: 'ignore', env: mergeEnv(this.initEnv) },
    );
    let launchError: Error | null = null;
    launcher.on('error', (e) => {
      launchError = e;
    });
    launcher.unref();
    const launcherPid = launcher.pid;
    // nsenter execs unshare (no fork: it enters no PID namespace), and unshare forks the init.
    const initPid = await waitFor(
      async () => {
        if (launchError !== null) throw new LabError('INIT_FAILED', `cannot launch ${this.netns}: ${String(launchError)}`);
        if (launcherPid === undefined) return undefined;
        if (launcher.exitCode !== null) return -1;
        const children = await readFile(`/proc/${launcherPid}/task/${launcherPid}/children`, 'utf8').catch(() => '');
        const first = Number.parseInt(children.trim().split(/\s+/)[0] ?? '', 10);
        return Number.isInteger(first) && first > 0 ? first : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20, what: `the init of ${this.netns} to be forked` },
    );
    if (initPid === -1) {
      throw new LabError('INIT_FAILED', `unshare for ${this.netns} exited ${launcher.exitCode}; see ${this.dir}/log/init.log`);
    }
    const st = await procStat(initPid);
    if (st === null) throw new LabError('INIT_FAILED', `init of ${this.netns} (pid ${initPid}) vanished at once; see ${this.dir}/log/init.log`);
    this.initStartTime = st.startTime;
    this.initPid = initPid;
    const ns = await readlink(`/proc/${initPid}/ns/pid`).catch(() => null);
    if (ns !== null) pidNamespaces.add(ns);
    const ready = await waitFor(
      async () => {
        if (!(await this.alive(initPid))) return 'dead';
        return (await exists(join(this.dir, 'init.ready'))) ? 'ready' : undefined;
      },
      { timeoutMs, intervalMs: 25, what: `${this.netns} to report ready` },
    );
    if (ready === 'dead') {
      this.initPid = null;
      throw new LabError('INIT_FAILED', `init of ${this.netns} exited during start-up; see ${this.dir}/log/init.log`);
    }
    return elapsedMs(t0);
  }

  /**
   * The init still runs. Identity is the pid plus its start time, taken when
   * it was forked: /proc/PID/cmdline reads empty for a moment while a process
   * execs (unshare → env → bash), so it cannot tell a live init from a dead one.
   */
  async alive(pid: number): Promise<boolean> {
    const st = await procStat(pid);
    return st !== null && st.state !== 'Z' && st.startTime === this.initStartTime;
  }

  private requireUp(): number {
    if (this.initPid === null) throw new LabError('NODE_DOWN', `${this.netns} is not running`);
    return this.initPid;
  }

  private nsenterArgs(cwd: string | undefined): string[] {
    const pid = this.requireUp();
    return ['nsenter', `--target=${pid}`, '--mount', '--uts', '--ipc', '--net', '--pid', `--wd=${cwd ?? '/'}`, '--'];
  }

  /** Runs argv inside the host (all its namespaces); non-zero exit codes are returned, not thrown. */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    const { cwd, ...rest } = options;
    return await run([...this.nsenterArgs(cwd), ...argv], rest);
  }

  /**
   * Starts argv inside the host and returns its ChildProcess. nsenter has to
   * fork to enter the PID namespace and does not forward signals, so the
   * child runs in its own process group and its kill() signals that whole
   * group (nsenter and the program). The program dies with the host's init.
   */
  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const [file, ...args] = [...this.nsenterArgs(options.cwd), ...argv];
    const child = spawn(file!, args, {
      detached: true,
      stdio: options.stdio ?? 'pipe',
      env: mergeEnv(options.env),
    });
    const pgid = child.pid;
    child.kill = (signal?: NodeJS.Signals | number): boolean => {
      if (pgid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
      try {
        process.kill(-pgid, signal ?? 'SIGTERM');
        return true;
      } catch (e) {
        if (isGone(e)) return false;
        throw e;
      }
    };
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Stops the host: SIGTERM to the init (ordered daemon stop) when graceMs > 0,
   * SIGKILL once graceMs has passed (or at once: a crash). Resolves when the
   * init is gone, and with it its whole PID namespace. Idempotent.
   */
  async stop(graceMs: number): Promise<void> {
    const pid = this.initPid;
    if (pid === null) return;
    if (graceMs > 0 && (await this.alive(pid))) {
      signal(pid, 'SIGTERM');
      await waitFor(async () => !(await this.alive(pid)), {
        timeoutMs: graceMs,
        intervalMs: 50,
        what: `${this.netns} to stop`,
      }).catch((e: unknown) => {
        if (!(e instanceof LabError && e.code === 'WAIT_TIMEOUT')) throw e;
      });
    }
    if (await this.alive(pid)) signal(pid, 'SIGKILL');
    await waitFor(async () => !(await this.alive(pid)), {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: `${this.netns}'s init to die`,
    });
    this.initPid = null;
    // Processes spawned here were in the PID namespace and are gone; their
    // nsenter parents on the host exit with them. Kill any group still left.
    for (const child of this.children) child.kill('SIGKILL');
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if (!isGone(e)) throw e;
  }
}
