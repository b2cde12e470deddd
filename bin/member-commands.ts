// The member commands, `tollbooth site-agent` and `tollbooth arbitrator`: their options and how
// they run. Two parsers define them with this module: the whole CLI (bin/cli.ts) and the member's
// own bundle (bin/member-bundle.ts, dist/bin/member.cjs), which bin/tollbooth.ts runs for these two
// commands without loading the rest of the CLI (issue 15: a member's start-up). Both give the
// program the same settings (configureProgram) and turn its errors into the same exit codes
// (parseProgram), so `tollbooth site-agent …` parses, helps and fails alike either way.
import { CommanderError, Option, type Command } from 'commander';
import type { MemberKind } from '../src/config/formation-config.js';
import type { MemberOptions } from '../site-agent/main.js';
import { ticketSinkKinds, type TicketSinkKind } from '../site-agent/ticket-sink-kind.js';
import { exitRefused, exitUsage } from '../src/cli/admin-client.js';
import { intInRange, niceRange, oomScoreAdjRange, withRange } from '../src/cli/numeric-option.js';
import { memberNiceDefault, memberOomScoreAdjDefault } from '../src/adapters/process-priority.js';
import { resolveConfigPath } from '../src/config/paths.js';

/** Runs a member with the parsed options until it stops; its exit code. */
export type MemberRunner = (kind: MemberKind, opts: MemberOptions) => Promise<number>;

/** The settings of the `tollbooth` program that both parsers share. */
export function configureProgram(program: Command): Command {
  return (
    program
      .name('tollbooth')
      .showHelpAfterError()
      // `tollbooth booth --version` is booth's option, not the program's.
      .enablePositionalOptions()
      .exitOverride()
  );
}

/** Parses argv and runs the command; a usage error exits 2 (after commander's message), any other error 1 with its message. */
export async function parseProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : exitUsage;
    } else {
      process.stderr.write(`tollbooth: ${(err as Error).message}\n`);
      process.exitCode = exitRefused;
    }
  }
}

/**
 * `--nice` and `--oom-score-adj` of the processes that keep the protocol's deadlines (the members and
 * the lease guard; src/adapters/process-priority.ts): they only ever raise what the process has.
 */
export function addPriorityOptions(cmd: Command): Command {
  return cmd
    .option('--nice <n>', withRange('raise the scheduling priority to this nice value at start (needs CAP_SYS_NICE; never lowers it)', niceRange), intInRange(niceRange), memberNiceDefault)
    .option('--oom-score-adj <n>', withRange('lower oom_score_adj to this at start (needs CAP_SYS_RESOURCE; never raises it)', oomScoreAdjRange), intInRange(oomScoreAdjRange), memberOomScoreAdjDefault);
}

function memberCommand(program: Command, name: 'site-agent' | 'arbitrator', what: string, run: MemberRunner): void {
  const cmd = program.command(name);
  if (name === 'site-agent') {
    cmd.addOption(
      new Option('--ticket-sink <kind>', 'where ticket state goes: the CIB through crm_ticket, or files under <state-dir>/tickets (demo and tests)')
        .choices([...ticketSinkKinds])
        .default('crm_ticket'),
    );
    cmd.option('--no-runnability-check', 'do not ask crm_simulate whether each ticket\'s resources would run here (crm_ticket sink)');
    cmd.option('--no-quorum-check', 'do not give tickets up when crm_mon reports no quorum (crm_ticket sink; for a CIB file without a cluster)');
    cmd.option('--quorum-guardian <file>', 'run the quorum guardian with these site-local settings (promotes pacemaker_remote nodes; see docs/configuration.md)');
  }
  cmd
    .description(what)
    .option('-c, --config <file>', 'formation config: a path, or a NAME for /etc/booth/NAME.conf (else /etc/tollbooth/NAME.conf); default /etc/booth/booth.conf')
    .option('-k, --key <file>', 'member key file (default: the config\'s authfile, else <name>.key beside the config, else /etc/tollbooth/<name>.key)')
    .option('-s, --self <address>', 'this member\'s address in the config (default: the one configured on a local interface)')
    .option('--state-dir <dir>', 'registry store and ticket state (default /var/lib/tollbooth/<name>)')
    .option('--socket <path>', 'admin socket (default /run/tollbooth/<name>.sock)')
    .option('--log <file>', 'log file (default: standard error)')
    .option('--log-level <level>', 'pino level', 'info')
    .addOption(
      new Option('--http <address:port>', 'serve Prometheus /metrics and the status page (/, /state.json, /events) on ADDRESS:PORT (a bare PORT listens on 127.0.0.1 only); off by default')
        .env('TOLLBOOTH_HTTP'),
    )
    // Hidden: announce another protocol version than this build's, to rehearse an upgrade's mixed
    // formation (test/e2e/rolling-restart.test.ts); the build still speaks only its own messages.
    .addOption(new Option('--protocol-version <major.minor>', 'announce this protocol version (upgrade tests only)').hideHelp());
  addPriorityOptions(cmd)
    .action(async (o: { config?: string; key?: string; self?: string; stateDir?: string; socket?: string; log?: string; logLevel: string; ticketSink?: TicketSinkKind; runnabilityCheck?: boolean; quorumCheck?: boolean; quorumGuardian?: string; http?: string; protocolVersion?: string; nice: number; oomScoreAdj: number }) => {
      const opts: MemberOptions = {
        config: resolveConfigPath(o.config),
        logLevel: o.logLevel,
        priority: { nice: o.nice, oomScoreAdj: o.oomScoreAdj },
        ...(o.ticketSink === undefined ? {} : { ticketSink: o.ticketSink }),
        ...(o.runnabilityCheck === false ? { runnabilityCheck: false } : {}),
        ...(o.quorumCheck === false ? { quorumCheck: false } : {}),
        ...(o.quorumGuardian === undefined ? {} : { quorumGuardian: o.quorumGuardian }),
        ...(o.key === undefined ? {} : { key: o.key }),
        ...(o.self === undefined ? {} : { self: o.self }),
        ...(o.stateDir === undefined ? {} : { stateDir: o.stateDir }),
        ...(o.socket === undefined ? {} : { socket: o.socket }),
        ...(o.log === undefined ? {} : { log: o.log }),
        ...(o.http === undefined || o.http === '' ? {} : { http: o.http }),
        ...(o.protocolVersion === undefined ? {} : { protocolVersion: o.protocolVersion }),
      };
      const code = await run(name === 'site-agent' ? 'site' : 'arbitrator', opts);
      // The member is stopped and its log flushed (synchronous destination): exit now rather than
      // wait for stray timers (an admin request still waiting for a peer's answer).
      process.exit(code);
    });
}

/** `site-agent` and `arbitrator`, in this order, on `program`. */
export function registerMemberCommands(program: Command, run: MemberRunner): void {
  memberCommand(program, 'site-agent', 'run the site agent of this site', run);
  memberCommand(program, 'arbitrator', 'run an arbitrator', run);
}
