// The `tollbooth` command: daemons (site-agent, arbitrator), key and config
// tools, the admin commands, and the loopback demo. A composition root: it is
// the only place that ties the CLI to the process roots. bin/tollbooth.ts, the
// entry point, imports this module for every command but the member commands,
// which it runs from the member's own bundle when the build made one
// (bin/member-commands.ts).
// Loads only what the command needs (issue 15, item 3): the definitions below
// import nothing but commander and small leaf modules, and each action imports
// its own module when it runs. An admin command talks to a UNIX socket and must
// not load libp2p, LevelDB or the core; `--help` must cost little more than
// `node -e 0` (bench/cli-startup.ts measures both). Keep new imports here
// `import type` or leaf modules; anything heavier goes into an action's
// `await import(...)`.
//
// The polyfill stays first and static: every lazy path that reaches libp2p
// (site-agent, arbitrator, --remote) runs after it.
import '../src/polyfills.js';
import { Command, Option } from 'commander';
import { basename } from 'node:path';
import { realpathSync } from 'node:fs';
import { adminStream, AdminSocketError } from '../src/adapters/admin-socket.js';
import type { AdminRequest, AdminResponse, HistoryView, TicketView } from '../src/runtime/admin-service.js';
import type { PumpStats } from '../src/runtime/pump.js';
import { call, exitCodeOf, exitNoLeader, exitNotRunning, exitOk, exitRefused, exitUsage, formatHistory, formatList, formatPeers, type ClientOptions } from '../src/cli/admin-client.js';
import type { BoothClientIo } from '../src/cli/booth-client.js';
// Node built-ins and the guard record only: the lease guard's own default, for --help.
import { cibGuardMarginMsDefault } from '../src/adapters/pacemaker/lease-guard.js';
import { registerQuorumCommands } from '../src/cli/quorum-commands.js';
import { adminTimeoutMsRange, cibGuardMarginMsRange, intInRange, moveTimeoutMsRange, pidRange, withRange } from '../src/cli/numeric-option.js';
import { tollboothVersion } from '../src/cli/version.js';
import { resolveConfigPath, defaultSocketPath } from '../src/config/paths.js';
import { UsageError } from '../src/cli/usage-error.js';
import { parseSince } from '../src/cli/since.js';
import { addPriorityOptions, configureProgram, parseProgram, registerMemberCommands } from './member-commands.js';

/** The booth name this program runs under, if any: booth ships one binary as both booth and boothd. */
function boothNameOf(script: string | undefined): 'booth' | 'boothd' | null {
  if (script === undefined) return null;
  const base = basename(script).replace(/\.js$/, '');
  return base === 'booth' || base === 'boothd' ? base : null;
}
const isBoothName = (script: string | undefined): boolean => boothNameOf(script) !== null;

// booth's two other programs, served here too (the package links /usr/sbin/geostore and
// /usr/sbin/booth-keygen to this file): run under that name, the program is that command.
const boothToolName = process.argv[1] === undefined ? '' : basename(process.argv[1]).replace(/\.js$/, '');
if (boothToolName === 'geostore' || boothToolName === 'booth-keygen') process.argv.splice(2, 0, boothToolName);

// Run as `booth` or `boothd` (/usr/sbin/booth and /usr/sbin/boothd link here): the first word picks
// booth's mode. daemon (site, arbitrator, start) runs this host's member (src/cli/boothd.ts); every
// other word is booth's client, as `tollbooth booth`.
if (isBoothName(process.argv[1])) {
  const { boothDaemonWords, localAddresses, runBoothDaemon } = await import('../src/cli/boothd.js');
  if (process.argv[2] !== undefined && boothDaemonWords.has(process.argv[2])) {
    const r = await runBoothDaemon(process.argv.slice(2), {
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
      // Run again through the real script: under a booth name it would be booth's client.
      self: [process.execPath, ...process.execArgv, realpathSync(process.argv[1]!)],
      call: (socket, req, timeoutMs) => call({ socket, json: true, timeoutMs }, req),
      localAddresses,
    });
    if (r.kind === 'exit') process.exit(r.code);
    process.argv.splice(2, Infinity, ...r.argv);
  } else process.argv.splice(2, 0, 'booth');
}

const program = new Command();
configureProgram(program)
  .description('Multi-site ticket arbitrator for Pacemaker clusters (booth-compatible).')
  .version(`tollbooth ${tollboothVersion()}`, '-V, --version', 'print the version');

const setExit = (code: number): void => {
  process.exitCode = code;
};

registerMemberCommands(program, async (kind, opts) => {
  // One CommonJS bundle with V8's code cache where the build made one (bin/member-loader.ts; issue 15).
  // `tollbooth site-agent|arbitrator` comes here only when bin/tollbooth.ts found no bundle, or under booth's names.
  const { loadMember, writeCacheIfAsked } = await import('./member-loader.js');
  const member = await loadMember();
  const code = await member.runMember(kind, { ...opts, codeLoad: member.load });
  writeCacheIfAsked(member);
  return code;
});

addPriorityOptions(program.command('lease-guard'))
  .description('revoke this site\'s grants in the CIB when their lease deadlines pass (started by the site agent; outlives it)')
  .option('-c, --config <file>', 'formation config: a path, or a NAME for /etc/booth/NAME.conf (else /etc/tollbooth/NAME.conf); default /etc/booth/booth.conf')
  .option('-s, --self <address>', 'this site\'s address in the config')
  .option('--state-dir <dir>', 'the site agent\'s state directory (default /var/lib/tollbooth/<name>)')
  .option('--agent-pid <pid>', withRange('stop once this process is gone and every deadline is enforced', pidRange), intInRange(pidRange))
  .option('--cib', 'the cluster-wide guard, for every node of the site: revoke grants whose CIB expires has passed (covers a crash of the agent\'s whole node)')
  .option('--margin <ms>', withRange('with --cib: slack for wall clocks that differ between the nodes', cibGuardMarginMsRange), intInRange(cibGuardMarginMsRange), cibGuardMarginMsDefault)
  .action(async (o: { config?: string; self?: string; stateDir?: string; agentPid?: number; cib?: boolean; margin: number; nice: number; oomScoreAdj: number }) => {
    const configPath = resolveConfigPath(o.config);
    const priority = { nice: o.nice, oomScoreAdj: o.oomScoreAdj };
    const { runCibGuard, runLeaseGuard } = await import('../site-agent/lease-guard-main.js');
    if (o.cib === true) process.exit(await runCibGuard({ config: configPath, marginMs: o.margin, priority }));
    const code = await runLeaseGuard({
      config: configPath,
      priority,
      ...(o.self === undefined ? {} : { self: o.self }),
      ...(o.stateDir === undefined ? {} : { stateDir: o.stateDir }),
      ...(o.agentPid === undefined ? {} : { agentPid: o.agentPid }),
    });
    process.exit(code);
  });

program
  .command('cib-revoke-all')
  .description('revoke every ticket of this formation granted in the local CIB (the OCF agent\'s stop, after the site agent is stopped)')
  .option('-c, --config <file>', 'formation config: a path, or a NAME for /etc/booth/NAME.conf (else /etc/tollbooth/NAME.conf); default /etc/booth/booth.conf')
  .option('-s, --self <address>', 'this site\'s address in the config')
  .option('--state-dir <dir>', 'the site agent\'s state directory (default /var/lib/tollbooth/<name>): its lease guard is stopped')
  .action(async (o: { config?: string; self?: string; stateDir?: string }) => {
    const { cibRevokeAll } = await import('../site-agent/lease-guard-main.js');
    setExit(
      await cibRevokeAll(
        { config: resolveConfigPath(o.config), ...(o.self === undefined ? {} : { self: o.self }), ...(o.stateDir === undefined ? {} : { stateDir: o.stateDir }) },
        (l) => process.stdout.write(`${l}\n`),
      ),
    );
  });

program
  .command('keygen')
  .description('write a new member or admin key (mode 0600) and print the config line for it')
  .argument('<file>', 'key file to write')
  .option('-a, --address <address>', 'the member address the key is for (as in the config)')
  .option('--admin', 'an admin key, for admin commands with --remote (prints a tollbooth-admin-key line)')
  .option('-f, --force', 'replace an existing key file')
  .action(async (file: string, o: { address?: string; admin?: boolean; force?: boolean }) => {
    if ((o.address === undefined) === (o.admin !== true)) {
      process.stderr.write('tollbooth keygen: give either -a ADDRESS (a member key) or --admin (an admin key)\n');
      setExit(exitUsage);
      return;
    }
    const { writeSeedFile } = await import('../src/cli/keys.js');
    const { publicKey } = await writeSeedFile(file, o.force === true);
    const b64 = publicKey.toString('base64');
    process.stdout.write(o.admin === true ? `tollbooth-admin-key = ${b64}\n` : `tollbooth-member-key = ${o.address ?? ''} ${b64}\n`);
  });

const config = program.command('config').description('configuration tools');
config
  .command('check')
  .description('report every problem of a config file, with file, line and reason')
  .argument('[file]', 'a path, or a NAME for /etc/booth/NAME.conf (else /etc/tollbooth/NAME.conf); default /etc/booth/booth.conf')
  .option('--against-running', "also compare the file with the config the running formation has committed (asks the local agent's socket); exit 1 when they differ")
  .option('--socket <path>', 'with --against-running: admin socket of the local agent (default /run/tollbooth/<name>.sock)')
  .action(async (given: string | undefined, o: { againstRunning?: boolean; socket?: string }) => {
    if (o.againstRunning === true) {
      const { runConfigCheckAgainstRunning } = await import('../src/cli/config-apply.js');
      const caller = await callerOf({ config: resolveConfigPath(given), ...(o.socket === undefined ? {} : { socket: o.socket }), timeout: adminTimeoutMsDefault });
      setExit(await runConfigCheckAgainstRunning(resolveConfigPath(given), caller, configIo));
      return;
    }
    const { loadConfigFile } = await import('../src/config/index.js');
    const { formatConfigProblem, hasConfigErrors, sortConfigProblems } = await import('../src/config/problems.js');
    const { configFingerprint } = await import('../src/config/fingerprint.js');
    const { printable } = await import('../src/config/printable.js');
    const { handlerPathProblems } = await import('../src/cli/config-check-handlers.js');
    const file = resolveConfigPath(given);
    const r = loadConfigFile(file);
    const problems = sortConfigProblems([...r.problems, ...(await handlerPathProblems(r.fileName, r.handlers))]);
    for (const p of problems) process.stdout.write(`${formatConfigProblem(p)}\n`);
    if (hasConfigErrors(r.problems)) {
      setExit(exitRefused);
      return;
    }
    process.stdout.write(`${printable(file)}: ok (${r.config.members.length} members, ${r.config.tickets.length} tickets, fingerprint ${configFingerprint(r.config).slice(0, 16)})\n`);
  });

// ───────────── admin commands ─────────────

interface GlobalAdminOptions {
  config?: string;
  socket?: string;
  remote?: string;
  adminKey?: string;
  json?: boolean;
  local?: boolean;
  timeout: number;
}

async function clientOptions(o: GlobalAdminOptions): Promise<ClientOptions> {
  let socket = o.socket ?? process.env.TOLLBOOTH_SOCKET;
  if (socket === undefined) {
    // The agent names its socket after the formation name (the config's `name`, else its file name).
    let name = 'booth';
    if (o.config !== undefined) {
      const path = resolveConfigPath(o.config);
      try {
        const { loadConfigFile } = await import('../src/config/index.js');
        name = loadConfigFile(path).config.name;
      } catch {
        name = basename(path).replace(/\.conf$/, '');
      }
    }
    socket = defaultSocketPath(name);
  }
  return { socket, json: o.json === true, timeoutMs: o.timeout };
}

/** How long an admin command waits for its answer unless told (ms). */
const adminTimeoutMsDefault = 10_000;
/** How long `move` waits for the resources to stop, and for the new holder, unless told (ms). */
const moveTimeoutMsDefault = 120_000;

function adminCommand(name: string, description: string): Command {
  return withAdminOptions(program.command(name).description(description));
}

function withAdminOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'formation config; names the default socket')
    .option('--socket <path>', 'admin socket of the local agent (default /run/tollbooth/<name>.sock, or $TOLLBOOTH_SOCKET)')
    .option('--remote <address>', 'ask this member over the network instead of the local socket (needs -c and --admin-key)')
    .option('--admin-key <file>', 'admin key file for --remote (one of the config\'s tollbooth-admin-key lines)')
    .option('--json', 'print the answer as JSON')
    .option('--timeout <ms>', withRange('how long to wait for an answer', adminTimeoutMsRange), intInRange(adminTimeoutMsRange), adminTimeoutMsDefault);
}

type Caller = (req: AdminRequest) => Promise<AdminResponse>;

/**
 * How to reach the formation: the local agent's socket, or with --remote a
 * member over the network, signed with the --admin-key (DESIGN.md §7). The
 * config (-c) names the member's port and key and must list the admin key.
 */
async function callerOf(o: GlobalAdminOptions): Promise<Caller> {
  const opts = await clientOptions(o);
  if (o.remote === undefined && o.adminKey === undefined) return (req) => call(opts, req);
  if (o.remote === undefined || o.adminKey === undefined) throw new UsageError('--remote and --admin-key go together');
  // Only --remote loads libp2p (through remote-admin.js); the polyfill came first (top of this file).
  const { loadConfigFile } = await import('../src/config/index.js');
  const { formatConfigProblem, hasConfigErrors } = await import('../src/config/problems.js');
  const { readSeedFile } = await import('../src/cli/keys.js');
  const remote = await import('../src/cli/remote-admin.js');
  remoteAdminErrorClass = remote.RemoteAdminError;
  const { checkAdminKey, remoteAdminRequest, remoteMember } = remote;
  const configPath = resolveConfigPath(o.config);
  const loaded = loadConfigFile(configPath);
  if (hasConfigErrors(loaded.problems)) throw new UsageError(`${configPath} has errors:\n${loaded.problems.map(formatConfigProblem).join('\n')}`);
  const config = loaded.config;
  const member = remoteMember(config, o.remote);
  const seed = await readSeedFile(o.adminKey);
  checkAdminKey(config, seed, o.adminKey);
  return (req) => remoteAdminRequest({ formation: config.name, member, seed, timeoutMs: opts.timeoutMs }, req);
}

/** RemoteAdminError, once --remote has loaded its module (it can be thrown only after that). */
let remoteAdminErrorClass: (typeof import('../src/cli/remote-admin.js'))['RemoteAdminError'] | null = null;

function exitOfError(err: unknown): number {
  if (err instanceof UsageError) return exitUsage;
  if (err instanceof AdminSocketError) return exitNotRunning;
  // Unreachable like a stopped agent; a refused key (locally or by the member) or an unreadable key file is a refusal.
  if (remoteAdminErrorClass !== null && err instanceof remoteAdminErrorClass) return err.code === 'REMOTE_ADMIN_TIMEOUT' ? exitNotRunning : exitRefused;
  return exitRefused;
}

async function run(o: GlobalAdminOptions, req: AdminRequest, human: (res: AdminResponse) => string, json: (res: AdminResponse) => AdminResponse = (r) => r): Promise<AdminResponse | null> {
  let res: AdminResponse;
  try {
    res = await (await callerOf(o))(req);
  } catch (err) {
    process.stderr.write(`tollbooth: ${(err as Error).message}\n`);
    setExit(exitOfError(err));
    return null;
  }
  if (o.json === true) process.stdout.write(`${JSON.stringify(json(res))}\n`);
  else if (res.ok) process.stdout.write(`${human(res)}\n`);
  else process.stderr.write(`tollbooth: ${res.message}${res.code === undefined ? '' : ` (${res.code})`}\n`);
  setExit(exitCodeOf(res));
  return res;
}

adminCommand('list', 'show every ticket: holder, generation, lease left, mode')
  .option('--local', "answer from this member's own committed state instead of the leader")
  .action(async (o: GlobalAdminOptions) => {
    await run(o, { op: 'list', ...(o.local === true ? { local: true } : {}) }, (r) => formatList(r.data as TicketView[]));
  });

/** `grant --wait`: how long to wait for the site to have the ticket granted locally, ms (an acquire-after and a lease may pass first). */
const grantWaitMs = 120_000;
/** `revoke --wait`: how long to wait until no site holds the ticket, ms. */
const revokeWaitMs = 60_000;
/** How often --wait asks, ms. */
const waitPollMs = 200;

async function waitForHolder(o: GlobalAdminOptions, ticket: string, site: string | null, deadlineMs: number): Promise<boolean> {
  const ask = await callerOf(o);
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const list = await ask({ op: 'list' }).catch(() => null);
    const t = (list?.data as TicketView[] | undefined)?.find((v) => v.name === ticket);
    if (t !== undefined && t.holder === site) {
      if (site === null) return true;
      const st = await ask({ op: 'status', site }).catch(() => null);
      const here = (st?.data as { tickets?: TicketView[] } | undefined)?.tickets?.find((v) => v.name === ticket);
      if (here?.grantedHere === true) return true;
    }
    await new Promise((r) => setTimeout(r, waitPollMs));
  }
  return false;
}

adminCommand('grant', 'grant a ticket to a site (default: this site); guarded by the old holder\'s lease')
  .argument('<ticket>')
  .option('-s, --site <address>', 'the site to grant to')
  .option('-F, --force', 'grant even while another site may hold a live lease (logged; can break S1)')
  .option('-w, --wait', 'wait until the site has the ticket granted locally')
  .action(async (ticket: string, o: GlobalAdminOptions & { site?: string; force?: boolean; wait?: boolean }) => {
    const res = await run(o, { op: 'grant', ticket, ...(o.site === undefined ? {} : { site: o.site }), force: o.force === true }, () => `grant of ${ticket} committed`);
    if (res?.ok === true && o.wait === true) {
      const site = o.site ?? res.answeredBy;
      const ok = await waitForHolder(o, ticket, site, grantWaitMs);
      process.stdout.write(ok ? `${ticket} is granted at ${site}\n` : `gave up waiting for ${ticket} at ${site}; see tollbooth list\n`);
      setExit(ok ? exitOk : exitNoLeader);
    }
  });

adminCommand('revoke', 'revoke a ticket (it stays unmanaged until granted again)')
  .argument('<ticket>')
  .option('-w, --wait', 'wait until the revoke is committed and no site holds it')
  .action(async (ticket: string, o: GlobalAdminOptions & { wait?: boolean }) => {
    const res = await run(o, { op: 'revoke', ticket }, () => `revoke of ${ticket} committed`);
    if (res?.ok === true && o.wait === true) setExit((await waitForHolder(o, ticket, null, revokeWaitMs)) ? exitOk : exitNoLeader);
  });

adminCommand('standby', 'set the ticket to standby (resources stop, ticket stays granted)')
  .argument('<ticket>')
  .action(async (ticket: string, o: GlobalAdminOptions) => {
    await run(o, { op: 'standby', ticket }, () => `${ticket} set to standby`);
  });

adminCommand('activate', 'clear standby')
  .argument('<ticket>')
  .action(async (ticket: string, o: GlobalAdminOptions) => {
    await run(o, { op: 'activate', ticket }, () => `${ticket} activated`);
  });

adminCommand('move', 'move a ticket gracefully: standby at the holder, wait for its resources to stop, hand over, activate')
  .argument('<ticket>')
  .requiredOption('-t, --to <address>', 'the site to move the ticket to')
  .option('--stop-timeout <ms>', withRange('how long to wait for the resources to stop at the holder', moveTimeoutMsRange), intInRange(moveTimeoutMsRange), moveTimeoutMsDefault)
  .option('--start-timeout <ms>', withRange('how long to wait for the new holder to grant (and start the resources)', moveTimeoutMsRange), intInRange(moveTimeoutMsRange), moveTimeoutMsDefault)
  .action(async (ticket: string, o: GlobalAdminOptions & { to: string; stopTimeout: number; startTimeout: number }) => {
    let ask: Caller;
    try {
      ask = await callerOf(o);
    } catch (err) {
      process.stderr.write(`tollbooth: ${(err as Error).message}\n`);
      setExit(exitOfError(err));
      return;
    }
    const json = o.json === true;
    const { moveTicket } = await import('../src/cli/move.js');
    const r = await moveTicket({
      ticket,
      to: o.to,
      stopTimeoutMs: o.stopTimeout,
      startTimeoutMs: o.startTimeout,
      ask: async (req) => {
        try {
          return await ask(req);
        } catch (err) {
          return { ok: false, code: 'unreachable', message: (err as Error).message, answeredBy: '' };
        }
      },
      say: (line) => {
        if (!json) process.stdout.write(`${line}\n`);
      },
    });
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else if (r.ok) process.stdout.write(`moved ${ticket}${r.from === null ? '' : ` from ${r.from}`} to ${r.to} in ${(r.ms / 1000).toFixed(1)} s\n`);
    else process.stderr.write(`tollbooth move: ${r.message} (${r.code})\n`);
    setExit(r.ok ? exitOk : r.code === 'no-such-ticket' ? exitRefused : exitNoLeader);
  });

adminCommand('peers', 'show the formation members as this member sees them')
  .action(async (o: GlobalAdminOptions) => {
    await run(o, { op: 'peers' }, (r) => formatPeers(r.data as Parameters<typeof formatPeers>[0]));
  });

adminCommand('watch', 'stream events from this member until interrupted, one line each: grant, revoke, failover, standby, leader change, member alive/suspect/dead, route change, CIB write failure, lease-guard revoke, quorum plan and promotion')
  .action(async (o: GlobalAdminOptions) => {
    if (o.remote !== undefined || o.adminKey !== undefined) {
      process.stderr.write('tollbooth watch: reads the local admin socket only (run it on the member to watch)\n');
      setExit(exitUsage);
      return;
    }
    const opts = await clientOptions(o);
    const { formatFormationEvent } = await import('../src/runtime/formation-events.js');
    const stop = new AbortController();
    const interrupt = (): void => stop.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    let greeted = false;
    try {
      await adminStream(
        opts.socket,
        { op: 'watch' },
        (line) => {
          let obj: { ok?: boolean; message?: string; code?: string; answeredBy?: string };
          try {
            obj = JSON.parse(line) as typeof obj;
          } catch {
            process.stderr.write(`tollbooth watch: malformed line from the agent: ${line.slice(0, 200)}\n`);
            return;
          }
          if (!greeted) {
            greeted = true;
            if (obj.ok !== true) {
              process.stderr.write(`tollbooth: ${obj.message ?? 'refused'}${obj.code === undefined ? '' : ` (${obj.code})`}\n`);
              setExit(exitRefused);
              stop.abort();
            } else process.stderr.write(`watching ${obj.answeredBy ?? ''} (interrupt to stop)\n`);
            return;
          }
          process.stdout.write(`${opts.json ? line : formatFormationEvent(obj as Parameters<typeof formatFormationEvent>[0])}\n`);
        },
        stop.signal,
      );
    } catch (err) {
      process.stderr.write(`tollbooth: ${(err as Error).message}\n`);
      setExit(exitOfError(err));
      return;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
    if (!stop.signal.aborted) {
      process.stderr.write('tollbooth watch: the agent closed the stream (stopped?)\n');
      setExit(exitNotRunning);
    }
  });

adminCommand('status', 'this member\'s state; exit 0 when it follows a leader, 3 when there is none, 7 when not running')
  .action(async (o: GlobalAdminOptions) => {
    const res = await run(o, { op: 'status' }, (r) => {
      const d = r.data as { id: string; role: string; term: number; leader: string | null; commit: number; formation: string; kind: string; ready?: boolean; pump?: PumpStats };
      // `ready: false`: the agent answers while its transport starts (site-agent/main.ts); older agents send no `ready`.
      const starting = d.ready === false ? ', starting (not yet talking to its peers)' : '';
      const line = `${d.kind} ${d.id} in formation ${d.formation}: ${d.role}, term ${d.term}, leader ${d.leader ?? 'none'}, commit ${d.commit}${starting}`;
      // Shown only when it happened: a flood of network input outran the agent (peers resend; see `peers`).
      const dropped = d.pump === undefined || d.pump.inputsDropped === 0 ? '' : `\n${d.pump.inputsDropped} network messages dropped (more than ${d.pump.networkQueueMax} were waiting)`;
      return line + dropped;
    });
    if (res?.ok === true && (res.data as { leader: string | null }).leader === null) setExit(exitNoLeader);
  });

adminCommand('history', 'the ordered history of ticket changes: when (the leader\'s clock), what, who asked or why it was automatic')
  .argument('[ticket]')
  .option('--since <time>', 'only changes from this time on: ISO 8601 (2026-12-06T10:00:00Z) or a duration ago (90s, 10m, 2h, 1d)')
  .action(async (ticket: string | undefined, o: GlobalAdminOptions & { since?: string }) => {
    let sinceMs: number | undefined;
    try {
      sinceMs = o.since === undefined ? undefined : parseSince(o.since, Date.now());
    } catch (err) {
      process.stderr.write(`tollbooth: ${(err as Error).message}\n`);
      setExit(exitOfError(err));
      return;
    }
    const req: AdminRequest = { op: 'history', ...(ticket === undefined ? {} : { ticket }), ...(sinceMs === undefined ? {} : { sinceMs }) };
    // Filtered here too: an agent older than --since answers with the whole history.
    const since = (r: AdminResponse): HistoryView[] => {
      const records = r.data as HistoryView[];
      return sinceMs === undefined ? records : records.filter((h) => h.wallMs !== undefined && h.wallMs >= sinceMs);
    };
    await run(o, req, (r) => formatHistory(since(r)), (r) => (r.ok ? { ...r, data: since(r) } : r));
  });

/** A subcommand that asks the local agent (or --remote) one admin question, with the usual admin options. */
function adminSubcommand(parent: Command, name: string, args: readonly string[], description: string): Command {
  const c = parent
    .command(name)
    .description(description)
    .option('-c, --config <file>', 'formation config; names the default socket')
    .option('--socket <path>', 'admin socket of the local agent')
    .option('--remote <address>', 'ask this member over the network instead of the local socket (needs -c and --admin-key)')
    .option('--admin-key <file>', 'admin key file for --remote')
    .option('--json', 'print the answer as JSON')
    .option('--timeout <ms>', withRange('how long to wait for an answer', adminTimeoutMsRange), intInRange(adminTimeoutMsRange), adminTimeoutMsDefault);
  for (const a of args) c.argument(a);
  return c;
}

const attr = program.command('attr').description('ticket attributes (replicated through the registry)');
function attrCommand(name: 'set' | 'get' | 'delete', args: string[], description: string): Command {
  return adminSubcommand(attr, name, args, description);
}
attrCommand('set', ['<ticket>', '<name>', '<value>'], 'set an attribute').action(async (ticket: string, key: string, value: string, o: GlobalAdminOptions) => {
  await run(o, { op: 'attr-set', ticket, key, value }, () => `${ticket}: ${key} set`);
});
attrCommand('get', ['<ticket>', '<name>'], 'print an attribute').action(async (ticket: string, key: string, o: GlobalAdminOptions) => {
  await run(o, { op: 'attr-get', ticket, key }, (r) => String(r.data));
});
attrCommand('delete', ['<ticket>', '<name>'], 'delete an attribute').action(async (ticket: string, key: string, o: GlobalAdminOptions) => {
  await run(o, { op: 'attr-delete', ticket, key }, () => `${ticket}: ${key} deleted`);
});

// Membership (docs/operations.md §8): one change at a time, each committed before the next.
const memberCmd = program.command('member').description('add, remove or replace a site or arbitrator of the running formation (through the registry, one change at a time)');
interface MemberCliOptions extends GlobalAdminOptions {
  role?: string;
  key?: string;
  force?: boolean;
}
function memberSubcommand(name: 'add' | 'remove' | 'replace', args: string[], description: string): Command {
  return adminSubcommand(memberCmd, name, args, description);
}
const committedAt = (r: AdminResponse): string => {
  const i = (r.data as { index?: number | null } | undefined)?.index;
  return i === null || i === undefined ? 'committed' : `committed at index ${i}`;
};
memberSubcommand('add', ['<address>'], 'add a member: it joins as a non-voter, catches up, then votes')
  .addOption(new Option('--role <role>', 'what it is').choices(['site', 'arbitrator']).makeOptionMandatory())
  .requiredOption('--key <base64>', "its Ed25519 public key (as in tollbooth-member-key lines; 'tollbooth keygen' prints it)")
  .action(async (address: string, o: MemberCliOptions) => {
    await run(o, { op: 'member-add', address, role: o.role!, publicKey: o.key! }, (r) => `${address} added as a non-voter (${committedAt(r)}); it votes once it has caught up`);
  });
memberSubcommand('remove', ['<address>'], 'remove a member (the leader hands leadership over first)')
  .option('--force', 'a site that holds tickets: revoke them first (guarded: granted elsewhere only after their leases end)')
  .option('--confirm-fenced', 'with --force, on a survivor when the majority is lost for good: ADDRESS is powered off or stopped for good; once every other voter is so confirmed and their leases ran out, this member goes on alone (docs/operations.md §8 (disaster recovery))')
  .action(async (address: string, o: MemberCliOptions & { confirmFenced?: boolean }) => {
    const req: AdminRequest = { op: 'member-remove', address, ...(o.force === true ? { force: true } : {}), ...(o.confirmFenced === true ? { confirmFenced: true } : {}) };
    await run(o, req, (r) => (o.confirmFenced === true ? r.message : `${address} removed (${committedAt(r)})`));
  });
memberSubcommand('replace', ['<old>', '<new>'], 'replace a member by a new one in one change: OLD leaves, NEW joins as a non-voter')
  .requiredOption('--key <base64>', "NEW's Ed25519 public key")
  .addOption(new Option('--role <role>', "NEW's role (default: OLD's)").choices(['site', 'arbitrator']))
  .option('--force', 'OLD is a site that holds tickets: revoke them first (guarded)')
  .action(async (old: string, newAddress: string, o: MemberCliOptions) => {
    const req: AdminRequest = { op: 'member-replace', address: old, newAddress, publicKey: o.key!, ...(o.role === undefined ? {} : { role: o.role }), ...(o.force === true ? { force: true } : {}) };
    await run(o, req, (r) => `${old} replaced by ${newAddress} (${committedAt(r)}); ${newAddress} votes once it has caught up`);
  });

program
  .command('demo')
  .description('start 2 sites and 1 arbitrator on loopback, grant a ticket, kill the holder, show the failover')
  .addOption(new Option('--keep', 'keep the temporary directory (configs, keys, logs)'))
  .action(async (o: { keep?: boolean }) => {
    const { runDemo } = await import('./demo.js');
    setExit(await runDemo({ keep: o.keep === true }));
  });

registerQuorumCommands(program);

program
  .command('migrate-from-booth')
  .description("take a booth.conf: generate member keys, write the tollbooth config and keys into a directory, print what to run on each member and which settings change meaning")
  .option('-c, --config <file>', 'the booth config: a path, or a NAME for /etc/booth/NAME.conf; default /etc/booth/booth.conf')
  .option('-o, --out <dir>', 'where to write the new config and the member keys (mode 0700; must not exist)', 'tollbooth-migration')
  .option('-f, --force', 'write into an existing --out directory')
  .action(async (o: { config?: string; out: string; force?: boolean }) => {
    const { migrateFromBooth } = await import('../src/cli/migrate-from-booth.js');
    const r = await migrateFromBooth({ config: o.config, out: o.out, force: o.force === true });
    (r.ok ? process.stdout : process.stderr).write(r.text);
    setExit(r.ok ? exitOk : exitRefused);
  });

/** The process's side of booth's programs (the client, geostore): standard streams, the admin socket, DNS. */
async function boothClientIo(programName: string): Promise<BoothClientIo> {
  const { lookupHost, boothLookupTimeoutMs } = await import('../src/cli/booth-client.js');
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    now: () => new Date(),
    env: process.env,
    call: (socket, req, timeoutMs) => call({ socket, json: true, timeoutMs }, req),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    version: tollboothVersion(),
    programName,
    lookup: (host) => lookupHost(host, boothLookupTimeoutMs),
  };
}

program
  .command('booth')
  .description("booth's client (list, grant, revoke, peers, status) with booth's options, output and exit codes; also run as `booth`")
  .usage('{list|grant|revoke|peers|status} [-c NAME|FILE] [-s SITE] [-t TICKET] [-F] [-w] [-C] [TICKET]')
  .helpOption(false)
  .passThroughOptions()
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[args...]', "booth's arguments (booth -h lists them)")
  .action(async (args: string[]) => {
    const booth = boothNameOf(process.argv[1]);
    const { runBoothClient } = await import('../src/cli/booth-client.js');
    setExit(await runBoothClient(args, await boothClientIo(booth ?? 'tollbooth booth')));
  });

program
  .command('geostore')
  .description("booth's geostore (list, set, get, delete of a ticket's attributes) with booth's options and output; also run as `geostore`")
  .usage('{list|set|get|delete} [-t TICKET] [-s SITE] [-c NAME|FILE] [attr [value]]')
  .helpOption(false)
  .passThroughOptions()
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[args...]', "geostore's arguments (geostore -h lists them)")
  .action(async (args: string[]) => {
    const { runGeostore } = await import('../src/cli/geostore.js');
    setExit(await runGeostore(args, await boothClientIo(boothToolName === 'geostore' ? 'geostore' : 'tollbooth geostore')));
  });

program
  .command('booth-keygen')
  .description("booth's booth-keygen: write this member's key (a tollbooth member key) to booth's authfile path, default /etc/booth/authkey; also run as `booth-keygen`")
  .usage('[-h] [auth-file]')
  .helpOption(false)
  .passThroughOptions()
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[args...]', 'an absolute path (default /etc/booth/authkey)')
  .action(async (args: string[]) => {
    const { runBoothKeygen, boothKeygenIo } = await import('../src/cli/booth-keygen.js');
    setExit(await runBoothKeygen(args, boothKeygenIo((t) => process.stdout.write(t), (t) => process.stderr.write(t))));
  });

// Issue 11: the formation config the registry has committed, and changing it on a running formation.
const configIo = { out: (t: string): boolean => process.stdout.write(t), err: (t: string): boolean => process.stderr.write(t), now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

withAdminOptions(config.command('show').description('print the formation config the registry has committed: version, members, tickets with every setting, timings')).action(
  async (o: GlobalAdminOptions) => {
    const { formatCommittedConfig } = await import('../src/cli/config-apply.js');
    await run(o, { op: 'config-show', ...(o.local === true ? { local: true } : {}) }, (r) => formatCommittedConfig(r.data as Parameters<typeof formatCommittedConfig>[0]));
  },
).option('--local', "answer from this member's own committed state instead of the leader");

withAdminOptions(
  config
    .command('apply')
    .description('propose the difference between the file (-c) and the committed config, one change at a time; exit 0 once every step is committed, 1 refused, 3 outcome unknown')
    .option('--dry-run', 'print the difference and the steps, propose nothing'),
).action(async (o: GlobalAdminOptions & { dryRun?: boolean }) => {
  const { runConfigApply } = await import('../src/cli/config-apply.js');
  let caller: Caller;
  try {
    caller = await callerOf(o);
  } catch (err) {
    process.stderr.write(`tollbooth: ${(err as Error).message}\n`);
    setExit(exitOfError(err));
    return;
  }
  setExit(await runConfigApply(resolveConfigPath(o.config), o.dryRun === true, o.json === true, caller, configIo));
});

// For the package builder: the command tree as JSON (man page, bash completion).
program
  .command('cli-spec', { hidden: true })
  .description('print the command tree as JSON (for the man page and bash completion)')
  .action(async () => {
    const { cliSpecOf } = await import('../src/cli/cli-spec.js');
    process.stdout.write(`${JSON.stringify(cliSpecOf(program), null, 1)}\n`);
  });

await parseProgram(program, process.argv);
