// Process plumbing for the live lab (test/live/lab.ts): one way to run an
// external program (argv array, timeout, signal, parsed exit code — never a
// shell string), the lab's named error, and waitFor, the only way the lab and
// its tests wait: poll a probe until it holds or a deadline passes.
import { spawn } from 'node:child_process';

export type LabErrorCode =
  | 'BAD_OPTIONS'
  | 'COMMAND_FAILED'
  | 'TIMEOUT'
  | 'WAIT_TIMEOUT'
  | 'NODE_DOWN'
  | 'INIT_FAILED'
  | 'REMOTED_UNAVAILABLE'
  | 'STOPPED';

/** A lab failure, with flat fields for the test log. */
export class LabError extends Error {
  readonly code: LabErrorCode;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: LabErrorCode,
    message: string,
    details: { argv?: readonly string[]; exitCode?: number | null; stderr?: string; cause?: unknown } = {},
  ) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LabError';
    this.code = code;
    this.argv = details.argv ?? [];
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? '';
  }
}

export interface RunResult {
  /** Exit code; a process killed by a signal reports 128 + signal number, as a shell would. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Kill the program (SIGKILL) and throw TIMEOUT after this long. Default 30 000 ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Variables added to (or, with value undefined, removed from) this process's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Written to the program's stdin, which is then closed. */
  readonly input?: string;
  readonly cwd?: string;
}

/** Most output kept per stream; the rest is cut (lab commands print little). */
const outputBytesMax = 8 * 1024 * 1024;
const defaultTimeoutMs = 30_000;

const signalNumbers: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Runs argv[0] with argv[1..]; resolves with its exit code (non-zero is not an error). */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new LabError('BAD_OPTIONS', 'empty argv'));
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, {
      env: mergeEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outBytes < outputBytesMax) out.push(b);
      outBytes += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errBytes < outputBytesMax) err.push(b);
      errBytes += b.length;
    });
    let failure: LabError | null = null;
    const fail = (e: LabError): void => {
      failure ??= e;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => fail(new LabError('TIMEOUT', `${argv.join(' ')} took more than ${timeoutMs} ms`, { argv })),
      timeoutMs,
    );
    const onAbort = (): void => fail(new LabError('STOPPED', `${argv.join(' ')} aborted`, { argv, cause: options.signal?.reason }));
    if (options.signal?.aborted === true) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      failure ??= new LabError('COMMAND_FAILED', `cannot run ${file}: ${e.message}`, { argv, cause: e });
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (failure !== null) {
        reject(failure);
        return;
      }
      resolve({
        code: code ?? 128 + (sig === null ? 0 : (signalNumbers[sig] ?? 0)),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // A program that exits without reading its stdin makes the write fail with EPIPE: not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Like run, but a non-zero exit code throws COMMAND_FAILED with the program's stderr. */
export async function must(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, options);
  if (r.code !== 0) {
    throw new LabError('COMMAND_FAILED', `${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`, {
      argv,
      exitCode: r.code,
      stderr: r.stderr,
    });
  }
  return r;
}

export function mergeEnv(extra: Readonly<Record<string, string | undefined>> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface WaitOptions {
  /** Give up after this long (from the call). */
  readonly timeoutMs: number;
  /** What is awaited, in words, for the timeout message ("svc started at siteA"). */
  readonly what: string;
  /** Pause between probes. Default 200 ms. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false,
 * and returns that value. A probe that throws counts as "not yet" (a daemon
 * that is still starting refuses connections); its last error and last value
 * go into the WAIT_TIMEOUT message. Probes are never run concurrently.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitOptions,
): Promise<T> {
  const start = performance.now();
  const deadline = start + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 200;
  let last = 'no probe finished';
  for (;;) {
    if (options.signal?.aborted === true) throw new LabError('STOPPED', `stopped waiting for ${options.what}`);
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
      last = `last probe returned ${String(v)}`;
    } catch (e) {
      last = `last probe threw: ${e instanceof Error ? e.message : String(e)}`;
    }
    const now = performance.now();
    if (now >= deadline) {
      throw new LabError('WAIT_TIMEOUT', `timed out after ${Math.round(now - start)} ms waiting for ${options.what} (${last})`);
    }
    await pause(Math.min(intervalMs, deadline - now), options.signal);
  }
}

/** The pause between two probes of waitFor (not a test sleep: the probe decides). */
function pause(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, delayMs);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Milliseconds since `start` (performance.now() based), rounded. */
export function elapsedMs(start: number): number {
  return Math.round(performance.now() - start);
}
