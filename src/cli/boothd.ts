// booth's daemon entry point, served by tollbooth. booth ships one binary
// under two names, /usr/sbin/boothd and /usr/sbin/booth: the first argument
// picks the mode, so `boothd daemon -c NAME` (booth@.service, booth's own
// booth-site agent, an admin's scripts) starts the daemon and `boothd
// status`, `boothd list`, `boothd --version` are the client
// (/work/shared/reference/booth.md §1 and §5). The package links both names
// to tollbooth; the client is src/cli/booth-client.ts, the daemon modes are
// here:
//
//   boothd daemon [-S] [-D] [-c NAME|FILE] [-l LOCKFILE] [-s SITE (after -D)] [-- TOLLBOOTH-OPTIONS…]
//   (site, arbitrator and start are aliases of daemon, as in booth)
//
// As booth does, the daemon finds out what it is from the config: the member
// whose address is configured on a local interface (or `-s`, which booth
// takes only after -D) is a site or an arbitrator, and runs as `tollbooth
// site-agent` or `tollbooth arbitrator` with the config's defaults (state
// /var/lib/tollbooth/NAME, socket /run/tollbooth/NAME.sock). -S (booth's
// "systemd mode") and -D (debug) keep it in the foreground — -D also logs at
// debug level —; without either, booth forks into the background and returns
// once the daemon runs, and so does this: it starts the member detached, logs
// to /var/log/tollbooth/NAME.log unless told otherwise, and exits 0 once the
// member answers on its admin socket, or with the member's exit status if it
// stops first. -l is accepted and ignored (no lock file: the admin socket is
// the member's presence, as `booth status` reports it). Options of tollbooth's
// own member commands follow `--`.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { constants, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { quoted } from '../config/printable.js';
import { loadConfigFile } from '../config/index.js';
import { defaultSocketPath, resolveConfigPath } from '../config/paths.js';
import { formatConfigProblem, hasConfigErrors } from '../config/problems.js';
import type { FormationConfig, MemberKind } from '../config/formation-config.js';
import type { AdminRequest, AdminResponse } from '../runtime/admin-service.js';

/** The first words that start booth's daemon (booth's main.c takes all four). */
export const boothDaemonWords: ReadonlySet<string> = new Set(['daemon', 'site', 'arbitrator', 'start']);

/** Where a daemon started in the background logs, unless `-- --log FILE` says otherwise. */
export const boothdLogDir = '/var/log/tollbooth';
/** How long a background start waits for the member to answer on its admin socket (a loaded machine: seconds). */
export const boothdStartWaitMsMax = 60_000;
const readyPollMs = 200;
const readyCallMs = 2_000;

export interface BoothDaemonArgs {
  /** `-c`: a path or a short name; undefined = booth's default (/etc/booth/booth.conf). */
  readonly config: string | undefined;
  /** -S or -D: stay in the foreground. */
  readonly foreground: boolean;
  /** -D: debug (tollbooth's log level debug) and foreground. */
  readonly debug: boolean;
  /** `-s` after -D, or `--self` among the tollbooth options: this member's address. */
  readonly self: string | undefined;
  /** After `--`: passed to `tollbooth site-agent|arbitrator` as they are. */
  readonly passthrough: readonly string[];
}

export type ParsedBoothDaemonArgs = { readonly kind: 'run'; readonly args: BoothDaemonArgs } | { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string };

/** Options of tollbooth's member commands that take a value, for finding --self and --socket after `--`. */
function optionValue(args: readonly string[], long: string, short?: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === long || (short !== undefined && a === short)) found = args[i + 1];
    else if (a.startsWith(`${long}=`)) found = a.slice(long.length + 1);
  }
  return found;
}

/**
 * Parses `daemon ARGS…` (argv from the mode word on, without the program
 * name) with booth's getopt rules: bundled short options, a value inline or
 * next. Pure.
 */
export function parseBoothDaemonArgs(argv: readonly string[]): ParsedBoothDaemonArgs {
  const rest = argv.slice(1);
  let config: string | undefined;
  let foreground = false;
  let debug = false;
  let self: string | undefined;
  let passthrough: readonly string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--') {
      passthrough = rest.slice(i + 1);
      break;
    }
    if (a === '-h' || a === '--help') return { kind: 'help' };
    if (!a.startsWith('-') || a.length < 2 || a.startsWith('--')) return { kind: 'error', message: `${a.startsWith('--') ? 'unknown option' : 'Superfluous argument'}: ${quoted(a)} (tollbooth's own options go after "--")` };
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (c === 'S') foreground = true;
      else if (c === 'D') {
        debug = true;
        foreground = true;
      } else if (c === 'c' || c === 'l' || c === 's') {
        const inline = a.slice(j + 1);
        const v = inline !== '' ? inline : rest[++i];
        if (v === undefined) return { kind: 'error', message: `option requires an argument -- '${c}'` };
        if (c === 'c') config = v;
        else if (c === 's') {
          // booth forces the identity only for a debugging daemon (-D first): several on one host.
          if (!debug) return { kind: 'error', message: '"-s" is taken only after -D (booth\'s rule), or give "-- --self ADDRESS"' };
          self = v;
        }
        break;
      } else return { kind: 'error', message: `unknown option: -${c}` };
    }
  }
  const passedSelf = optionValue(passthrough, '--self', '-s');
  if (self !== undefined && passedSelf !== undefined && passedSelf !== self) return { kind: 'error', message: `-s ${self} and --self ${passedSelf} name two members` };
  return { kind: 'run', args: { config, foreground, debug, self: self ?? passedSelf, passthrough } };
}

export const boothdUsage = `Usage:
  boothd daemon [-S] [-D] [-c NAME|FILE] [-l LOCKFILE] [-s SITE] [-- TOLLBOOTH-OPTIONS...]
  boothd {list|grant|revoke|peers|status} ...   (booth's client: booth -h)

  daemon, site, arbitrator, start: run this host's member of the formation
  (a site runs tollbooth site-agent, an arbitrator tollbooth arbitrator),
  found, as booth finds it, by the config address configured on a local
  interface.

Options:
  -c FILE       Specify config file [default /etc/booth/booth.conf]
                Can be a path or just a name without ".conf" suffix
  -S            Stay in the foreground (booth's systemd mode)
  -D            Debug output (log level debug), stay in the foreground
  -s SITE       With -D: this member's address (booth's rule)
  -l LOCKFILE   Accepted and ignored (tollbooth has no lock file)
  --            What follows goes to tollbooth site-agent|arbitrator
                (--self, --key, --state-dir, --socket, --log ...; tollbooth -h)

Without -S or -D the member starts in the background, logging to
${boothdLogDir}/NAME.log, and boothd exits 0 once it answers on its admin
socket. See booth(8) and tollbooth(8).
`;

/** This host's addresses, as booth reads them (every interface, loopback included). */
export function localAddresses(): ReadonlySet<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/**
 * Which member this host runs: `self` when given, else the one member whose
 * address is local. booth's daemon decides the same way whether it is a site
 * or an arbitrator. Pure.
 */
export function daemonMember(config: FormationConfig, local: ReadonlySet<string>, self: string | undefined): { readonly kind: MemberKind; readonly address: string } | { readonly error: string } {
  const listed = config.members.map((m) => `${m.address} (${m.kind})`).join(', ');
  if (self !== undefined) {
    const m = config.members.find((x) => x.address === self);
    return m === undefined ? { error: `${self} is no member of the config; its members are ${listed}` } : { kind: m.kind, address: m.address };
  }
  const mine = config.members.filter((m) => local.has(m.address));
  if (mine.length === 1) return { kind: mine[0]!.kind, address: mine[0]!.address };
  if (mine.length === 0) return { error: `no address of the config is configured on this host (members: ${listed}); give -D -s ADDRESS or "-- --self ADDRESS"` };
  return { error: `several addresses of the config are local (${mine.map((m) => m.address).join(', ')}); give -D -s ADDRESS or "-- --self ADDRESS"` };
}

/** The `tollbooth` command line that runs the member: site-agent or arbitrator, with booth's options mapped. Pure. */
export function memberArgv(args: BoothDaemonArgs, configPath: string, member: { readonly kind: MemberKind; readonly address: string }): string[] {
  const out = [member.kind === 'site' ? 'site-agent' : 'arbitrator', '-c', configPath];
  if (optionValue(args.passthrough, '--self', '-s') === undefined) out.push('--self', member.address);
  if (args.debug && optionValue(args.passthrough, '--log-level') === undefined) out.push('--log-level', 'debug');
  return [...out, ...args.passthrough];
}

export interface BackgroundStart {
  /** node and its flags, the real script (not the boothd link), and memberArgv. */
  readonly command: readonly string[];
  /** The member's admin socket: passed with --socket, else the config's default. */
  readonly socket: string;
  /** The log file when the member command has none of its own (--log). */
  readonly log: string | null;
  readonly call: (socket: string, req: AdminRequest, timeoutMs: number) => Promise<AdminResponse>;
  readonly err: (text: string) => void;
}

/**
 * booth's daemonizing: starts the member detached from this process (its own
 * session, stdin closed, output to the log) and resolves 0 once it answers on
 * its admin socket, or the member's exit status (1 if it gives none) if it
 * stops first or is not answering within boothdStartWaitMsMax.
 */
export async function startInBackground(o: BackgroundStart): Promise<number> {
  let fd: number | null = null;
  if (o.log !== null) {
    mkdirSync(dirname(o.log), { recursive: true, mode: 0o750 });
    fd = openSync(o.log, 'a', 0o640);
  }
  const [node, ...args] = o.command;
  const child = spawn(node!, [...args, ...(o.log === null ? [] : ['--log', o.log])], { detached: true, stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'] });
  if (fd !== null) closeSync(fd);
  const seen: { exited: number | null; failed: Error | null } = { exited: null, failed: null };
  child.once('exit', (code, signal) => {
    seen.exited = code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
  });
  child.once('error', (err) => {
    seen.failed = err;
  });
  const where = o.log === null ? '' : ` (its log: ${o.log})`;
  const end = performance.now() + boothdStartWaitMsMax;
  for (;;) {
    if (seen.failed !== null) {
      o.err(`ERROR: cannot start the member: ${seen.failed.message}\n`);
      return 1;
    }
    if (seen.exited !== null) {
      o.err(`ERROR: the member stopped with exit status ${seen.exited} before it answered on ${o.socket}${where}\n`);
      return seen.exited === 0 ? 1 : seen.exited;
    }
    const answered = await o.call(o.socket, { op: 'status' }, readyCallMs).then(
      (r) => r.ok,
      // Not listening yet (ENOENT, ECONNREFUSED) or busy starting: ask again until the deadline.
      () => false,
    );
    if (answered) {
      child.unref();
      return 0;
    }
    if (performance.now() >= end) {
      o.err(`ERROR: the member (pid ${child.pid ?? '?'}) did not answer on ${o.socket} within ${boothdStartWaitMsMax / 1000} s${where}; it is left running\n`);
      child.unref();
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, readyPollMs));
  }
}

/** The socket and log a background start uses: the member command's own, else the config's defaults. */
export function backgroundPaths(args: BoothDaemonArgs, configName: string, defaultSocket: string): { readonly socket: string; readonly log: string | null } {
  const socket = optionValue(args.passthrough, '--socket') ?? defaultSocket;
  const log = optionValue(args.passthrough, '--log') === undefined ? join(boothdLogDir, `${configName}.log`) : null;
  return { socket, log };
}

/** EX_CONFIG, as the member commands exit on a config problem (site-agent/find-self.ts). */
const exitConfigProblem = 78;
const exitUsageBooth = 1;

export interface BoothDaemonIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The program as boothd should run it again: node, its flags, the real script (not a booth link). */
  readonly self: readonly string[];
  readonly call: (socket: string, req: AdminRequest, timeoutMs: number) => Promise<AdminResponse>;
  readonly localAddresses: () => ReadonlySet<string>;
}

/**
 * `boothd daemon …` (argv from the mode word on): either the tollbooth
 * command line to run in this process (foreground: -S, -D), or an exit code
 * (usage and config errors, and a background start, which is done here).
 */
export async function runBoothDaemon(argv: readonly string[], io: BoothDaemonIo): Promise<{ readonly kind: 'exit'; readonly code: number } | { readonly kind: 'argv'; readonly argv: readonly string[] }> {
  const parsed = parseBoothDaemonArgs(argv);
  if (parsed.kind === 'help') {
    io.out(boothdUsage);
    return { kind: 'exit', code: 0 };
  }
  if (parsed.kind === 'error') {
    io.err(`${parsed.message}\nPlease use '-h' for usage.\n`);
    return { kind: 'exit', code: exitUsageBooth };
  }
  const args = parsed.args;
  const path = resolveConfigPath(args.config);
  if (!existsSync(path)) {
    io.err(`ERROR: config file ${path} does not exist\n`);
    return { kind: 'exit', code: exitConfigProblem };
  }
  let loaded;
  try {
    loaded = loadConfigFile(path);
  } catch (err) {
    io.err(`ERROR: ${(err as Error).message}\n`);
    return { kind: 'exit', code: exitConfigProblem };
  }
  if (hasConfigErrors(loaded.problems)) {
    io.err(`ERROR: ${path} has errors (tollbooth config check ${path}):\n${loaded.problems.filter((p) => p.severity === 'error').map(formatConfigProblem).join('\n')}\n`);
    return { kind: 'exit', code: exitConfigProblem };
  }
  const member = daemonMember(loaded.config, io.localAddresses(), args.self);
  if ('error' in member) {
    io.err(`ERROR: ${member.error}\n`);
    return { kind: 'exit', code: exitConfigProblem };
  }
  const command = memberArgv(args, path, member);
  if (args.foreground) return { kind: 'argv', argv: command };
  const { socket, log } = backgroundPaths(args, loaded.config.name, defaultSocketPath(loaded.config.name));
  return { kind: 'exit', code: await startInBackground({ command: [...io.self, ...command], socket, log, call: io.call, err: io.err }) };
}
