// booth's `before-acquire-handler` (DESIGN.md §4, reference/booth.md §3.6 and
// reference/pacemaker.md §5): before acquiring or renewing a ticket the site
// runs the configured program, or every program in the configured directory,
// and a failure makes it let the ticket go.
//
// What we keep from booth (ClusterLabs/booth src/handler.c, read for this):
//  - a directory runs its entries one after the other in byte-wise lexical
//    order (booth: scandir + alphasort, i.e. strcoll, which is byte order in
//    the C locale daemons run in), stopping at the first failure;
//  - entries starting with "." are never run;
//  - the configured extra words are the arguments of every program;
//  - the environment: booth's five variables, on top of the agent's own
//    environment (booth uses setenv before execv).
// What we do differently, and why:
//  - booth runs every other directory entry and counts a failed execv as a
//    failure; we skip what cannot be a handler: subdirectories, non-regular
//    files, files we cannot execute, and editor or package-manager leftovers
//    (`x~`, `#x#`, `.bak`, `.orig`, `.rej`, `.swp`, `.tmp`, `.dpkg-*`,
//    `.ucf-*`, `.rpmnew`/`.rpmsave`/`.rpmorig`), as run-parts does. Skipped
//    entries are listed by listHandlerPrograms so that config check can show
//    them (a forgotten chmod +x is then visible, not silent);
//  - a directory with nothing to run fails (booth: succeeds). The operator
//    configured a check; running none is more likely a mistake than intent;
//  - each program has a deadline (booth has none: only the lease end stops a
//    hung handler). Past it the program's whole process group is killed with
//    SIGKILL: programs start in their own session (spawn `detached`), so a
//    shell script's children die with it. A program that starts its own
//    session (a daemon) escapes this; that is its business, as with booth;
//  - stdin is /dev/null, the working directory is `/` (booth: its own,
//    /var/lib/booth/cores), argv[0] is the program's path (booth: the
//    configured path, i.e. the directory for every entry of a directory);
//  - programs are never run through a shell, and never looked up on PATH: a
//    relative path is a config error (booth execs it relative to its cwd);
//  - a handler someone else could replace is refused (config error, and a
//    failure with reason 'unsafe' at run time, because files change): the
//    program and a handler directory must be owned by root or by the agent's
//    user and writable by no one else (no group or world write bit); every
//    directory above them (after resolving symlinks) must be owned by root or
//    us and not world-writable unless sticky (/tmp is fine, a 0777 dir is
//    not). Group-writable ancestors are accepted: Debian's /usr/local is
//    root:staff 2775 on many systems.
//  - TOLLBOOTH_* twins of booth's variables, plus TOLLBOOTH_PHASE
//    (`acquire` or `renew`), which booth's handlers cannot tell apart.
//  - the handler's output is captured (the first outputBytesMax bytes of
//    stdout and stderr, interleaved in arrival order) for the log line of a
//    failure; the rest is read and dropped so a chatty handler never blocks.

import { constants, type Stats } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { assert } from '../../core/types.js';
import type { AbortOptions, MonotonicClock } from '../../ports/ports.js';
import { SystemClock } from '../system-clock.js';
import { systemProcessRunner, type ProcessRunner, type RunResult } from '../process-runner.js';
import { TollboothError } from '../../errors.js';

export type HandlerPhase = 'acquire' | 'renew';

/** The configured handler: booth's `before-acquire-handler = <program-or-dir> [args…]`. */
export interface HandlerCommand {
  readonly program: string;
  readonly args: readonly string[];
}

/** Who we are, for the handler's environment. Fixed for the life of the agent. */
export interface HandlerSite {
  /** Our member id in the formation: TOLLBOOTH_SITE. */
  readonly site: string;
  /** Our site address as written in the config: BOOTH_LOCAL (booth: its own address). */
  readonly local: string;
  /** The config file's path: BOOTH_CONF_PATH, TOLLBOOTH_CONF_PATH. */
  readonly confPath: string;
  /** The config's name (`booth` for booth.conf): BOOTH_CONF_NAME, TOLLBOOTH_CONF_NAME. */
  readonly confName: string;
}

/** One run's inputs. */
export interface HandlerInvocation {
  readonly ticket: string;
  readonly phase: HandlerPhase;
  /**
   * End of the lease being acquired or renewed, in Unix seconds (wall
   * clock): BOOTH_TICKET_EXPIRES. 0 when there is none yet, as booth passes.
   */
  readonly expiresUnixSec: number;
}

export type HandlerFailureReason =
  /** A program exited with a non-zero code. */
  | 'exit'
  /** A program was killed by a signal we did not send. */
  | 'signal'
  /** A program ran past timeoutMs; its process group was killed. */
  | 'timeout'
  /** A program could not be started (EACCES, missing #! interpreter, ...), or the path is not usable. */
  | 'spawn'
  /** The handler path does not exist, or a directory holds nothing to run. */
  | 'not-found'
  /** Someone other than root or us could replace the handler (see the file comment). */
  | 'unsafe';

export type HandlerResult =
  | {
      readonly ok: true;
      readonly ms: number;
      /** The programs that ran, in order. */
      readonly programs: readonly string[];
    }
  | {
      readonly ok: false;
      /** The program (or the handler path) that failed. */
      readonly program: string;
      readonly reason: HandlerFailureReason;
      /** The exit code, for reason 'exit'. */
      readonly code?: number;
      /** The signal, for reasons 'signal' and 'timeout'. */
      readonly signal?: NodeJS.Signals;
      /** The failed program's captured stdout and stderr, bounded. */
      readonly output: string;
      readonly ms: number;
      /** A log line naming the program and why it failed. */
      readonly message: string;
      /** The programs that ran (and succeeded) before it. */
      readonly programs: readonly string[];
    };

/** The run was abandoned: the caller's signal fired, or the runner closed. */
export class HandlerError extends TollboothError<'ABORTED' | 'CLOSED'> {
  readonly ticket: string;

  constructor(code: 'ABORTED' | 'CLOSED', ticket: string, message: string) {
    super(code, `${code}: ${message}`, { details: { ticket } });
    this.ticket = ticket;
  }
}

// ---------------------------------------------------------------------------
// Which programs a handler path stands for, and whether we may run them

export type HandlerPathProblemCode =
  | 'NOT_ABSOLUTE'
  | 'MISSING'
  | 'UNREADABLE'
  | 'NOT_A_PROGRAM'
  | 'NOT_EXECUTABLE'
  | 'NO_PROGRAMS'
  | 'TOO_MANY_PROGRAMS'
  | 'UNSAFE';

/** Why a handler path cannot be used; `path` is the offending file or directory. */
export interface HandlerPathProblem {
  readonly code: HandlerPathProblemCode;
  readonly path: string;
  readonly message: string;
}

/** A directory entry that is not run, and why. */
export interface SkippedEntry {
  readonly name: string;
  readonly why: string;
}

export type HandlerListing =
  | { readonly ok: true; readonly isDirectory: boolean; readonly programs: readonly string[]; readonly skipped: readonly SkippedEntry[] }
  | { readonly ok: false; readonly problem: HandlerPathProblem };

/** Most programs run from one handler directory. */
export const handlerProgramsMax = 64;

const backupPatterns: readonly RegExp[] = [
  /~$/,
  /^#.*#$/,
  /\.(bak|old|orig|rej|swp|swo|tmp|save)$/i,
  /\.(dpkg|ucf)-[a-z]+$/,
  /\.rpm(new|save|orig)$/,
];

function isBackupName(name: string): boolean {
  return backupPatterns.some((p) => p.test(name));
}

function effectiveUid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : 0;
}

function modeText(st: Stats): string {
  return `0${(st.mode & 0o7777).toString(8)}`;
}

/** Why `st` (the program or the handler directory itself) is unsafe, or null. */
function unsafeTarget(st: Stats, uid: number): string | null {
  if (st.uid !== 0 && st.uid !== uid) return `is owned by uid ${st.uid}, neither root nor us (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `is writable by ${(st.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${modeText(st)})`;
  return null;
}

/** Why a directory above the handler is unsafe, or null. */
function unsafeAncestor(st: Stats, uid: number): string | null {
  if (st.uid !== 0 && st.uid !== uid) return `is owned by uid ${st.uid}, neither root nor us (uid ${uid})`;
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) return `is writable by everyone without the sticky bit (mode ${modeText(st)})`;
  return null;
}

/** Checks every directory above `real` (a resolved path), with a cache shared by one listing. */
async function checkAncestors(real: string, uid: number, seen: Map<string, string | null>): Promise<HandlerPathProblem | null> {
  const dirs: string[] = [];
  for (let d = dirname(real); ; d = dirname(d)) {
    dirs.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of dirs.reverse()) {
    let why = seen.get(d);
    if (why === undefined) {
      why = unsafeAncestor(await stat(d), uid);
      seen.set(d, why);
    }
    if (why !== null) return { code: 'UNSAFE', path: d, message: `directory ${d} above handler ${real} ${why}: others could replace the handler` };
  }
  return null;
}

function errnoOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : String(err);
}

/**
 * What a handler path stands for: the one program, or the programs of a
 * directory in the order they run, with the entries skipped and why. Fails
 * with a problem when the path cannot be used (see checkHandlerPath).
 */
export async function listHandlerPrograms(path: string): Promise<HandlerListing> {
  const fail = (code: HandlerPathProblemCode, at: string, message: string): HandlerListing => ({ ok: false, problem: { code, path: at, message } });
  if (!isAbsolute(path)) {
    return fail('NOT_ABSOLUTE', path, `handler ${JSON.stringify(path)} is not an absolute path (it would be looked up on PATH or relative to the working directory)`);
  }
  const uid = effectiveUid();
  const seen = new Map<string, string | null>();
  let st: Stats;
  let real: string;
  try {
    st = await stat(path);
    real = await realpath(path);
  } catch (err) {
    const code = errnoOf(err);
    return code === 'ENOENT'
      ? fail('MISSING', path, `handler ${path} does not exist`)
      : fail('UNREADABLE', path, `handler ${path} cannot be examined: ${code}`);
  }
  try {
    const above = await checkAncestors(real, uid, seen);
    if (above !== null) return { ok: false, problem: above };
  } catch (err) {
    return fail('UNREADABLE', path, `a directory above handler ${path} cannot be examined: ${errnoOf(err)}`);
  }

  if (st.isFile()) {
    const why = unsafeTarget(st, uid);
    if (why !== null) return fail('UNSAFE', path, `handler ${path} ${why}: others could replace it`);
    try {
      await access(path, constants.X_OK);
    } catch {
      return fail('NOT_EXECUTABLE', path, `handler ${path} is not executable by us (mode ${modeText(st)})`);
    }
    return { ok: true, isDirectory: false, programs: [path], skipped: [] };
  }
  if (!st.isDirectory()) return fail('NOT_A_PROGRAM', path, `handler ${path} is neither a regular file nor a directory`);

  const why = unsafeTarget(st, uid);
  if (why !== null) return fail('UNSAFE', path, `handler directory ${path} ${why}: others could add or replace programs`);
  let names: string[];
  try {
    names = await readdir(path);
  } catch (err) {
    return fail('UNREADABLE', path, `handler directory ${path} cannot be read: ${errnoOf(err)}`);
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  const programs: string[] = [];
  const skipped: SkippedEntry[] = [];
  for (const name of names) {
    const entry = join(path, name);
    if (name.startsWith('.')) {
      skipped.push({ name, why: 'a dotfile' });
      continue;
    }
    if (isBackupName(name)) {
      skipped.push({ name, why: 'an editor or package-manager backup' });
      continue;
    }
    let est: Stats;
    let ereal: string;
    try {
      est = await stat(entry);
      ereal = await realpath(entry);
    } catch (err) {
      skipped.push({ name, why: `cannot be examined (${errnoOf(err)})` });
      continue;
    }
    if (est.isDirectory()) {
      skipped.push({ name, why: 'a directory' });
      continue;
    }
    if (!est.isFile()) {
      skipped.push({ name, why: 'not a regular file' });
      continue;
    }
    try {
      await access(entry, constants.X_OK);
    } catch {
      skipped.push({ name, why: `not executable by us (mode ${modeText(est)})` });
      continue;
    }
    const ewhy = unsafeTarget(est, uid);
    if (ewhy !== null) return fail('UNSAFE', entry, `handler ${entry} ${ewhy}: others could replace it`);
    if (dirname(ereal) !== real) {
      // A symlink out of the directory: the directories above its target matter too.
      try {
        const above = await checkAncestors(ereal, uid, seen);
        if (above !== null) return { ok: false, problem: above };
      } catch (err) {
        return fail('UNREADABLE', entry, `a directory above handler ${ereal} cannot be examined: ${errnoOf(err)}`);
      }
    }
    programs.push(entry);
    if (programs.length > handlerProgramsMax) {
      return fail('TOO_MANY_PROGRAMS', path, `handler directory ${path} holds more than ${handlerProgramsMax} programs`);
    }
  }
  if (programs.length === 0) {
    const list = skipped.map((s) => `${s.name}: ${s.why}`).join('; ');
    return fail('NO_PROGRAMS', path, `handler directory ${path} holds no program to run${list === '' ? ' (it is empty)' : ` (skipped ${list})`}`);
  }
  return { ok: true, isDirectory: true, programs, skipped };
}

/**
 * Config-time check of a `before-acquire-handler` path: null when it can be
 * used, else the problem. Problems: not absolute; missing or unreadable;
 * neither a file nor a directory; a file we cannot execute; a directory with
 * nothing to run (or more than handlerProgramsMax programs); a program,
 * directory or parent directory someone other than root or us could change
 * (see the file comment for the exact rule).
 */
export async function checkHandlerPath(path: string): Promise<HandlerPathProblem | null> {
  const listing = await listHandlerPrograms(path);
  return listing.ok ? null : listing.problem;
}

// ---------------------------------------------------------------------------
// Running

/** Deadline of one handler program, ms (keep it below the renewal interval). */
export const handlerTimeoutMsDefault = 30_000;
/** Bytes of a handler's stdout and stderr kept for the log. */
export const handlerOutputBytesMaxDefault = 4096;
/** How long to wait for a finished handler's pipes to close, ms (a background child may hold them). */
export const handlerOutputGraceMsDefault = 200;
/** Characters of a failed handler's first output line put in the message. */
const firstLineCharsMax = 200;

export interface RunHandlerOptions {
  /** Deadline per program in ms; past it its process group is killed. Default handlerTimeoutMsDefault. */
  readonly timeoutMs?: number;
  /** Bytes of stdout+stderr kept for the log. Default handlerOutputBytesMaxDefault. */
  readonly outputBytesMax?: number;
  /**
   * After a program exits, how long to wait for its stdout/stderr to close
   * (a background child may hold them) before we stop reading. Default handlerOutputGraceMsDefault.
   */
  readonly outputGraceMs?: number;
  /**
   * The environment the handler variables are added to; BOOTH_* and
   * TOLLBOOTH_* variables in it are dropped first. Default process.env (booth
   * passes its own environment).
   */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Working directory of the programs. Default `/`. */
  readonly cwd?: string;
  /** For `ms`. Default: the system monotonic clock. */
  readonly clock?: MonotonicClock;
  /** Aborting kills the running program's process group; the run rejects with HandlerError ABORTED. */
  readonly signal?: AbortSignal;
  /** Runs the programs. Default: the real one. */
  readonly runner?: ProcessRunner;
}

/** The exact environment a handler gets: `base` without its BOOTH_ and TOLLBOOTH_ variables, plus ours. */
export function handlerEnvironment(
  site: HandlerSite,
  invocation: HandlerInvocation,
  base: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  assert(Number.isSafeInteger(invocation.expiresUnixSec) && invocation.expiresUnixSec >= 0, `expiresUnixSec must be a non-negative integer, got ${invocation.expiresUnixSec}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !k.startsWith('BOOTH_') && !k.startsWith('TOLLBOOTH_')) env[k] = v;
  }
  const expires = String(invocation.expiresUnixSec);
  const ours: Record<string, string> = {
    BOOTH_TICKET: invocation.ticket,
    BOOTH_LOCAL: site.local,
    BOOTH_CONF_PATH: site.confPath,
    BOOTH_CONF_NAME: site.confName,
    BOOTH_TICKET_EXPIRES: expires,
    TOLLBOOTH_TICKET: invocation.ticket,
    TOLLBOOTH_SITE: site.site,
    TOLLBOOTH_CONF_PATH: site.confPath,
    TOLLBOOTH_CONF_NAME: site.confName,
    TOLLBOOTH_TICKET_EXPIRES: expires,
    TOLLBOOTH_PHASE: invocation.phase,
  };
  for (const [k, v] of Object.entries(ours)) {
    assert(!v.includes('\u0000'), `${k} must not contain NUL`);
    env[k] = v;
  }
  return env;
}

/** How one run of one handler program ended. */
export type HandlerProgramResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: HandlerFailureReason; readonly code?: number; readonly signal?: NodeJS.Signals; readonly output: string; readonly message: string };

/** What one program run takes besides the program: its deadline, output bounds, directory and abort signal. */
export interface HandlerProgramOptions {
  readonly timeoutMs: number;
  readonly outputBytesMax: number;
  readonly outputGraceMs: number;
  readonly cwd: string;
  readonly signal: AbortSignal | undefined;
}

function firstLine(output: string): string {
  const line = output.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  return line === '' ? '' : `: ${line.slice(0, firstLineCharsMax)}`;
}

/** The kept output, with a note of how much was dropped. */
function keptOutput(r: RunResult): string {
  return r.outputDroppedBytes === 0 ? r.output : `${r.output}\n[${r.outputDroppedBytes} more bytes not kept]`;
}

/** The failure reason of a handler path that cannot be used (listHandlerPrograms). */
export function handlerPathFailureReason(p: HandlerPathProblem): HandlerFailureReason {
  return p.code === 'UNSAFE' ? 'unsafe' : p.code === 'MISSING' || p.code === 'NO_PROGRAMS' ? 'not-found' : 'spawn';
}

/**
 * Runs one handler program through the process runner: its own process
 * group (a timeout or an abort kills the whole tree), stdout and stderr
 * interleaved and cut to outputBytesMax (never a failure: a chatty handler
 * must not block), at most outputGraceMs for pipes a background child holds
 * open. `who` names the program in messages (`before-acquire handler X for
 * ticket T`); an abort rejects with HandlerError ABORTED about `subject`.
 * The before-acquire handlers and the alert handler
 * (src/adapters/alert-handler.ts) both run their programs here.
 */
export async function runHandlerProgram(
  runner: ProcessRunner,
  program: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  who: string,
  subject: string,
  o: HandlerProgramOptions,
): Promise<HandlerProgramResult> {
  const r = await runner.run({
    tool: program,
    file: program,
    argv0: program,
    argv: args,
    env,
    cwd: o.cwd,
    timeoutMs: o.timeoutMs,
    outputBytesMax: o.outputBytesMax,
    overflow: 'keep-head',
    processGroup: true,
    outputGraceMs: o.outputGraceMs,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  const output = keptOutput(r);
  switch (r.kind) {
    case 'aborted':
      throw new HandlerError('ABORTED', subject, r.started ? `${who} was aborted; its process group was killed` : `${who} was not started: aborted`);
    case 'timed-out':
      return { ok: false, reason: 'timeout', signal: 'SIGKILL', output, message: `${who} did not finish within ${o.timeoutMs} ms; its process group was killed` };
    case 'exited':
      if (r.exitCode === 0) return { ok: true };
      return { ok: false, reason: 'exit', code: r.exitCode, output, message: `${who} exited with code ${r.exitCode}${firstLine(output)}` };
    case 'signaled':
      return { ok: false, reason: 'signal', signal: r.signal, output, message: `${who} was killed by ${r.signal}${firstLine(output)}` };
    case 'not-found':
      return { ok: false, reason: 'spawn', output: '', message: `${who} was not found, or its #! interpreter was not` };
    case 'spawn-failed':
      return {
        ok: false,
        reason: 'spawn',
        output: '',
        message: r.errno === 'EACCES' ? `${who} may not be executed (EACCES: permissions or a noexec mount)` : `${who} could not be started (${r.errno})`,
      };
    case 'output-over-bound':
      // overflow 'keep-head' never ends a run this way.
      throw new Error(`${who}: the process runner reported output over the bound in keep-head mode`);
  }
}

/**
 * Runs a handler once for one ticket: the program, or each program of the
 * directory in order until one fails. Resolves with the result (never throws
 * for a failing handler); rejects with HandlerError ABORTED if options.signal
 * fires, after killing the running program's process group.
 */
export async function runHandler(
  command: HandlerCommand,
  site: HandlerSite,
  invocation: HandlerInvocation,
  options: RunHandlerOptions = {},
): Promise<HandlerResult> {
  const clock = options.clock ?? new SystemClock();
  const started = clock.now();
  const o = {
    timeoutMs: options.timeoutMs ?? handlerTimeoutMsDefault,
    outputBytesMax: options.outputBytesMax ?? handlerOutputBytesMaxDefault,
    outputGraceMs: options.outputGraceMs ?? handlerOutputGraceMsDefault,
    cwd: options.cwd ?? '/',
    signal: options.signal,
  };
  assert(o.timeoutMs > 0, 'timeoutMs must be positive');
  assert(Number.isSafeInteger(o.outputBytesMax) && o.outputBytesMax >= 0, 'outputBytesMax must be a non-negative integer');
  assert(o.outputGraceMs >= 0, 'outputGraceMs must not be negative');
  const env = handlerEnvironment(site, invocation, options.baseEnv);

  const listing = await listHandlerPrograms(command.program);
  if (!listing.ok) {
    const p = listing.problem;
    const reason = handlerPathFailureReason(p);
    return {
      ok: false,
      program: p.path,
      reason,
      output: '',
      ms: clock.now() - started,
      message: `before-acquire handler for ticket ${invocation.ticket} not run: ${p.message}`,
      programs: [],
    };
  }
  const ran: string[] = [];
  for (const program of listing.programs) {
    const who = `before-acquire handler ${program} for ticket ${invocation.ticket}`;
    const r = await runHandlerProgram(options.runner ?? systemProcessRunner, program, command.args, env, who, invocation.ticket, o);
    if (!r.ok) return { ...r, program, ms: clock.now() - started, programs: ran };
    ran.push(program);
  }
  return { ok: true, ms: clock.now() - started, programs: ran };
}

// ---------------------------------------------------------------------------
// One run per ticket at a time

export interface HandlerRequest extends HandlerInvocation {
  readonly command: HandlerCommand;
}

export interface HandlerRunnerOptions extends Omit<RunHandlerOptions, 'signal'> {
  readonly site: HandlerSite;
  /** Called with every finished run (not with abandoned ones), for the log. */
  readonly onResult?: (request: HandlerRequest, result: HandlerResult) => void;
}

interface PendingRun {
  request: HandlerRequest;
  readonly promise: Promise<HandlerResult>;
  readonly resolve: (r: HandlerResult) => void;
  readonly reject: (e: unknown) => void;
}

interface TicketRuns {
  current: Promise<HandlerResult>;
  next: PendingRun | null;
}

/**
 * Runs handlers with at most one run per ticket at a time. A request for a
 * ticket whose handler is running does not start a second one: it waits for
 * the next run, which starts when the current one ends and answers every
 * request that arrived meanwhile (so at most one run is queued per ticket).
 * It does not reuse the running one's result: that run started before the
 * request and may describe an older state. The queued run uses the newest
 * request's phase and expiry.
 *
 * A caller's signal only detaches that caller (its promise rejects with
 * ABORTED); the run goes on for the others, bounded by its timeout. close()
 * kills every running program's group and rejects every waiter.
 */
export class HandlerRunner {
  private readonly tickets = new Map<string, TicketRuns>();
  private readonly controller = new AbortController();
  private closed = false;

  constructor(private readonly options: HandlerRunnerOptions) {}

  /** Whether a run for this ticket is in progress. */
  isRunning(ticket: string): boolean {
    return this.tickets.has(ticket);
  }

  run(request: HandlerRequest, options?: AbortOptions): Promise<HandlerResult> {
    if (this.closed) return Promise.reject(new HandlerError('CLOSED', request.ticket, 'the handler runner is closed'));
    const st = this.tickets.get(request.ticket);
    let p: Promise<HandlerResult>;
    if (st === undefined) {
      const runs: TicketRuns = { current: this.start(request), next: null };
      this.tickets.set(request.ticket, runs);
      p = runs.current;
    } else if (st.next !== null) {
      st.next.request = request;
      p = st.next.promise;
    } else {
      let resolve!: (r: HandlerResult) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<HandlerResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      st.next = { request, promise, resolve, reject };
      p = promise;
    }
    return detachable(p, request.ticket, options?.signal);
  }

  /** Kills running handlers, rejects every waiter, and resolves when the runs have ended. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const running: Promise<HandlerResult>[] = [];
    for (const [ticket, st] of this.tickets) {
      running.push(st.current);
      if (st.next !== null) {
        st.next.reject(new HandlerError('CLOSED', ticket, 'the handler runner closed before this run started'));
        st.next = null;
      }
    }
    this.controller.abort();
    await Promise.allSettled(running);
  }

  private start(request: HandlerRequest): Promise<HandlerResult> {
    const p = runHandler(request.command, this.options.site, request, { ...this.options, signal: this.controller.signal });
    void p.then(
      (result) => {
        this.options.onResult?.(request, result);
        this.advance(request.ticket);
      },
      () => this.advance(request.ticket),
    );
    return p;
  }

  private advance(ticket: string): void {
    const st = this.tickets.get(ticket);
    if (st === undefined) return;
    const next = st.next;
    if (next === null || this.closed) {
      this.tickets.delete(ticket);
      return;
    }
    st.next = null;
    st.current = this.start(next.request);
    void st.current.then(next.resolve, next.reject);
  }
}

/** `p`, except that the caller's signal makes this caller's promise reject early. */
function detachable(p: Promise<HandlerResult>, ticket: string, signal: AbortSignal | undefined): Promise<HandlerResult> {
  if (signal === undefined) return p;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new HandlerError('ABORTED', ticket, `stopped waiting for the handler of ticket ${ticket}`));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
