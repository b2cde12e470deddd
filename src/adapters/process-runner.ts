// The one way tollbooth runs an external program to completion (STYLE.md:
// "external programs through an argv array, a timeout, a signal, bounded
// output and parsed exit codes — never a shell string"). Every adapter that
// runs a tool (crm_ticket, cibadmin, crm_simulate, crm_mon, corosync-*,
// crm_node, crm_resource, systemctl) and the before-acquire handlers go
// through runProcess; what a tool's exit code means is data, in exit-codes.ts.
//
// The result says what happened, as a discriminated union, and never throws:
//   exited             the program ended by itself with an exit code;
//   timed-out          we killed it (SIGKILL) because it outlived timeoutMs;
//   signaled           it died of a signal we did not send (a crash, the OOM
//                      killer, an operator's kill);
//   aborted            the caller's AbortSignal fired (before the start, or
//                      while it ran: then we killed it);
//   not-found          the file (or its #! interpreter) does not exist (ENOENT);
//   spawn-failed       it could not be started otherwise (EACCES, ...);
//   output-over-bound  it wrote more than outputBytesMax on stdout or stderr,
//                      and we killed it (overflow 'fail', the default).
// With overflow 'keep-head' (the handlers: untrusted, chatty programs) the
// first outputBytesMax bytes of stdout and stderr together are kept, in the
// order they arrived, and the rest is read and dropped, so the program never
// blocks on a full pipe and output never fails the run.
//
// With processGroup the program leads its own session and process group, and
// a kill (deadline, abort, overflow) goes to the whole group, so a shell
// script's children die with it. Without it only the program is killed.
//
// After the program exits, the pipes may still hold output, or a background
// child may hold them open: we wait for them to close for at most
// outputGraceMs, then settle with what was read.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/** What a run of one program asks for. argv never passes through a shell. */
export interface RunRequest {
  /** The program's name for messages and for its exit-code table (`crm_ticket`). */
  readonly tool: string;
  /** The file to execute: a path, or a name looked up on PATH. Default: `tool`. */
  readonly file?: string;
  /** The arguments (without argv[0]). */
  readonly argv: readonly string[];
  /** Deadline of the whole run, ms; past it the program is killed with SIGKILL. */
  readonly timeoutMs: number;
  /** Bound on the output kept (see `overflow`), bytes. */
  readonly outputBytesMax: number;
  readonly signal?: AbortSignal;
  /** The complete environment of the program. Default: this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory. Default: this process's. */
  readonly cwd?: string;
  /** argv[0] as the program sees it. Default: `file`. */
  readonly argv0?: string;
  /** 'fail' (default): more than outputBytesMax on stdout or stderr kills the program. 'keep-head': see the header. */
  readonly overflow?: 'fail' | 'keep-head';
  /** Start the program in its own process group and kill the whole group. Default false. */
  readonly processGroup?: boolean;
  /** How long to wait for the pipes to close once the program exited, ms. Default outputGraceMsDefault. */
  readonly outputGraceMs?: number;
  /**
   * Open sockets (or other streams with a descriptor) the program gets as its
   * file descriptors 3, 4, …: duplicated into the child, ours stay open
   * (peer-credentials.ts hands over an admin connection this way).
   */
  readonly passFds?: readonly Socket[];
  /**
   * Written to the program's standard input, which is then closed (cibadmin --xml-pipe: a batch of
   * ticket states is larger than one argv string may be, 128 KiB on Linux). Default: no input.
   */
  readonly stdin?: string;
}

/** How a run ended. */
export type RunOutcome =
  | { readonly kind: 'exited'; readonly exitCode: number }
  | { readonly kind: 'timed-out'; readonly timeoutMs: number }
  | { readonly kind: 'signaled'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'aborted'; readonly started: boolean }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'spawn-failed'; readonly errno: string }
  | { readonly kind: 'output-over-bound'; readonly stream: 'stdout' | 'stderr'; readonly outputBytesMax: number };

export type RunKind = RunOutcome['kind'];

/** What every result carries besides its outcome. */
export interface RunRecord {
  readonly tool: string;
  readonly file: string;
  readonly argv: readonly string[];
  /** The output kept, per stream and interleaved in arrival order. */
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
  /** Bytes read and not kept (overflow 'keep-head'); 0 otherwise. */
  readonly outputDroppedBytes: number;
  /** From the start (or the refusal to start) to the settlement, ms. */
  readonly durationMs: number;
}

export type RunResult = RunOutcome & RunRecord;

/** The port adapters take, so tests can inject a fake (the real one is systemProcessRunner). */
export interface ProcessRunner {
  run(request: RunRequest): Promise<RunResult>;
}

/** Default wait for the pipes once the program exited, ms: long enough for the last pipe-buffer of output on a loaded host. */
export const outputGraceMsDefault = 2_000;

/** Runs one program to completion; never rejects. */
export function runProcess(request: RunRequest): Promise<RunResult> {
  const started = performance.now();
  const file = request.file ?? request.tool;
  const overflowMode = request.overflow ?? 'fail';
  const graceMs = request.outputGraceMs ?? outputGraceMsDefault;
  if (!(request.timeoutMs > 0) || !Number.isFinite(request.timeoutMs)) throw new RangeError(`timeoutMs must be a positive number, got ${request.timeoutMs}`);
  if (!Number.isSafeInteger(request.outputBytesMax) || request.outputBytesMax < 0) throw new RangeError(`outputBytesMax must be a non-negative integer, got ${request.outputBytesMax}`);
  if (!(graceMs >= 0)) throw new RangeError(`outputGraceMs must not be negative, got ${graceMs}`);

  const chunks: Array<{ readonly stream: 'stdout' | 'stderr'; readonly data: Buffer }> = [];
  const kept = { stdout: 0, stderr: 0, total: 0 };
  let droppedBytes = 0;
  const record = (): RunRecord => {
    const text = (which: 'stdout' | 'stderr' | null): string =>
      Buffer.concat(chunks.filter((c) => which === null || c.stream === which).map((c) => c.data)).toString('utf8');
    return {
      tool: request.tool,
      file,
      argv: request.argv,
      stdout: text('stdout'),
      stderr: text('stderr'),
      output: text(null),
      outputDroppedBytes: droppedBytes,
      durationMs: performance.now() - started,
    };
  };

  return new Promise((resolve) => {
    if (request.signal?.aborted === true) {
      resolve({ kind: 'aborted', started: false, ...record() });
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(file, [...request.argv], {
        ...(request.argv0 === undefined ? {} : { argv0: request.argv0 }),
        ...(request.cwd === undefined ? {} : { cwd: request.cwd }),
        env: request.env ?? process.env,
        detached: request.processGroup === true,
        stdio: [request.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(request.passFds ?? [])],
        windowsHide: true,
      });
    } catch (err) {
      // spawn throws synchronously for arguments it cannot pass (a NUL byte, a bad cwd type).
      resolve({ kind: 'spawn-failed', errno: (err as NodeJS.ErrnoException).code ?? (err as Error).message, ...record() });
      return;
    }

    let killedFor: RunOutcome | null = null;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let graceTimer: NodeJS.Timeout | undefined;

    const kill = (why: RunOutcome): void => {
      if (killedFor !== null) return;
      killedFor = why;
      // After the exit there is nothing left to kill (and the pid may be reused).
      if (exit === null) killProgram(child, request.processGroup === true);
    };

    const onData = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      if (overflowMode === 'keep-head') {
        const room = request.outputBytesMax - kept.total;
        const part = data.length <= room ? data : data.subarray(0, Math.max(0, room));
        if (part.length > 0) {
          chunks.push({ stream, data: part });
          kept.total += part.length;
        }
        droppedBytes += data.length - part.length;
        return;
      }
      if (killedFor !== null) return;
      const room = request.outputBytesMax - kept[stream];
      if (data.length > room) {
        if (room > 0) chunks.push({ stream, data: data.subarray(0, room) });
        kept[stream] = request.outputBytesMax;
        kill({ kind: 'output-over-bound', stream, outputBytesMax: request.outputBytesMax });
        return;
      }
      chunks.push({ stream, data });
      kept[stream] += data.length;
    };
    if (request.stdin !== undefined && child.stdin !== null) {
      // A program that exits without reading all of it closes the pipe (EPIPE): its exit code says why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(request.stdin);
    }
    child.stdout!.on('data', onData('stdout'));
    child.stderr!.on('data', onData('stderr'));

    const deadline = setTimeout(() => kill({ kind: 'timed-out', timeoutMs: request.timeoutMs }), request.timeoutMs);
    // An abort after the exit changes nothing: the program finished.
    const onAbort = (): void => {
      if (exit === null) kill({ kind: 'aborted', started: true });
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });

    const settle = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      request.signal?.removeEventListener('abort', onAbort);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({ ...outcome, ...record() });
    };

    const outcomeOfExit = (): RunOutcome => {
      // A kill of ours names the run, whatever the program managed in between.
      if (killedFor !== null) return killedFor;
      if (exit!.code !== null) return { kind: 'exited', exitCode: exit!.code };
      return { kind: 'signaled', signal: exit!.signal ?? 'SIGKILL' };
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed spawn has no pid. A later 'error' (a kill that failed)
      // changes nothing here: the outcome comes with 'exit'.
      if (child.pid !== undefined) return;
      settle(err.code === 'ENOENT' ? { kind: 'not-found' } : { kind: 'spawn-failed', errno: err.code ?? err.message });
    });

    child.on('exit', (code, signal) => {
      exit = { code, signal };
      clearTimeout(deadline);
      if (child.stdout!.closed && child.stderr!.closed) {
        settle(outcomeOfExit());
        return;
      }
      graceTimer = setTimeout(() => settle(outcomeOfExit()), graceMs);
    });
    child.on('close', () => {
      if (exit !== null) settle(outcomeOfExit());
    });
  });
}

/** The real runner. */
export const systemProcessRunner: ProcessRunner = { run: runProcess };

/** SIGKILLs the program, or its whole process group. Never throws. */
function killProgram(child: ChildProcess, group: boolean): void {
  if (child.pid === undefined) return;
  if (group) {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return; // the whole group is gone already
      // EPERM (a member changed its uid): at least the program itself goes.
    }
  }
  child.kill('SIGKILL');
}

// ───────────── describing a run ─────────────

/** The command line for messages: `tool argv…` (never the environment). */
export function commandLine(r: Pick<RunRecord, 'tool' | 'argv'>): string {
  return [r.tool, ...r.argv].join(' ');
}

/** Longest stderr quoted in a message, characters. */
export const stderrQuoteCharsMax = 500;

/** stderr trimmed and cut to `charsMax`, for a message. */
export function stderrExcerpt(r: Pick<RunRecord, 'stderr'>, charsMax = stderrQuoteCharsMax): string {
  return r.stderr.trim().slice(0, charsMax);
}

/**
 * The failure codes every adapter shares for runs that did not end with an
 * exit code; an exit code is read with the tool's table (exit-codes.ts).
 */
export type RunFailureCode = 'BINARY_MISSING' | 'SPAWN_FAILED' | 'TIMEOUT' | 'KILLED' | 'ABORTED' | 'OUTPUT_TOO_LARGE';

export function runFailureCode(outcome: Exclude<RunOutcome, { kind: 'exited' }>): RunFailureCode {
  switch (outcome.kind) {
    case 'not-found':
      return 'BINARY_MISSING';
    case 'spawn-failed':
      return 'SPAWN_FAILED';
    case 'timed-out':
      return 'TIMEOUT';
    case 'signaled':
      return 'KILLED';
    case 'aborted':
      return 'ABORTED';
    case 'output-over-bound':
      return 'OUTPUT_TOO_LARGE';
  }
}

/** One line on a run that did not end with an exit code (the caller adds an exit code's meaning itself). */
export function describeFailedRun(r: Exclude<RunOutcome, { kind: 'exited' }> & RunRecord): string {
  const cmd = commandLine(r);
  switch (r.kind) {
    case 'not-found':
      return `${r.file} not found`;
    case 'spawn-failed':
      return `${cmd}: could not be started (${r.errno})`;
    case 'timed-out':
      return `${cmd} did not finish within ${r.timeoutMs} ms (killed by SIGKILL)`;
    case 'signaled': {
      const err = stderrExcerpt(r);
      return `${cmd} was killed by ${r.signal}${err === '' ? '' : `: ${err}`}`;
    }
    case 'aborted':
      return r.started ? `${cmd} was aborted` : `aborted before ${cmd}`;
    case 'output-over-bound':
      return `${cmd} printed more than ${r.outputBytesMax} bytes on ${r.stream}`;
  }
}
