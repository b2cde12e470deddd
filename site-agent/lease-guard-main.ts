// Composition roots of `tollbooth lease-guard` (the process the site agent
// starts beside itself, src/adapters/lease-guard.ts) and `tollbooth
// cib-revoke-all` (the OCF agent's stop path): both revoke this site's grants
// through the same crm_ticket sink the agent writes with.

import { pino, type Logger } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CibExpiryGuard, cibGuardIntervalMsDefault, cibGuardMarginMsDefault, LeaseGuard } from '../src/adapters/pacemaker/lease-guard.js';
import { CrmTicketSink, type LostRevokeResult } from '../src/adapters/pacemaker/crm-ticket-sink.js';
import { LeaseGuardFile } from '../src/adapters/pacemaker/lease-guard-file.js';
import { writeLeaseGuardPid, runningLeaseGuard } from '../src/adapters/pacemaker/lease-guard.js';
import { SystemClock, bootId } from '../src/adapters/system-clock.js';
import { logDestination } from '../src/adapters/log-destination.js';
import { loadConfigFile } from '../src/config/index.js';
import { formatConfigProblem, hasConfigErrors } from '../src/config/problems.js';
import { exitConfig, findSelf, StartupError } from './find-self.js';
import { crmSinkFor } from './ticket-sink.js';
import { raiseProcessPriority, type PriorityTarget } from '../src/adapters/process-priority.js';

/** The guards log to standard output (a log file the agent opened, or the journal under systemd). */
const stdoutFd = 1;

export interface GuardCommandOptions {
  readonly config: string;
  readonly self?: string;
  readonly stateDir?: string;
}

/** Raises the guard's priority (it must revoke on time under CPU load) and logs the outcome. */
function raisePriority(log: Logger, target: PriorityTarget | undefined): void {
  if (target === undefined) return;
  const p = raiseProcessPriority(target);
  for (const problem of p.problems) log.warn({ nice: p.nice, oomScoreAdj: p.oomScoreAdj }, problem);
  log.info({ nice: p.nice, oomScoreAdj: p.oomScoreAdj }, 'scheduling priority');
}

async function sinkOf(o: GuardCommandOptions): Promise<{ stateDir: string; parts: Awaited<ReturnType<typeof crmSinkFor>> }> {
  const loaded = loadConfigFile(o.config);
  if (hasConfigErrors(loaded.problems)) {
    throw new StartupError(exitConfig, `${o.config} has errors:\n${loaded.problems.map(formatConfigProblem).join('\n')}`);
  }
  const config = loaded.config;
  const me = findSelf(config, 'site', o.self);
  const stateDir = o.stateDir ?? `/var/lib/tollbooth/${config.name}`;
  return { stateDir, parts: await crmSinkFor(config, me, stateDir, bootId(), new SystemClock()) };
}

/** Runs the lease guard until SIGTERM, or until the agent is gone and every deadline is enforced. */
export async function runLeaseGuard(o: GuardCommandOptions & { agentPid?: number; priority?: PriorityTarget }): Promise<number> {
  let parts;
  let stateDir: string;
  try {
    ({ stateDir, parts } = await sinkOf(o));
  } catch (err) {
    process.stderr.write(`tollbooth lease-guard: ${(err as Error).message}\n`);
    return err instanceof StartupError ? err.exitCode : 1;
  }
  const other = await runningLeaseGuard(stateDir);
  if (other !== null && other !== process.pid) {
    process.stderr.write(`tollbooth lease-guard: already running for ${stateDir} (pid ${other})\n`);
    return 0;
  }
  await writeLeaseGuardPid(stateDir);
  // Synchronous: the line saying a ticket was revoked must survive a crash right after.
  const log = pino({ base: { component: 'lease-guard', stateDir } }, logDestination(stdoutFd).stream);
  raisePriority(log, o.priority);
  const agentPid = o.agentPid;
  const guard = new LeaseGuard({
    guardPath: parts.guard.path,
    boot: bootId(),
    clock: new SystemClock(),
    revokeAll: (due) =>
      parts.sink.revokeLostAll(due.map(({ ticket, generation, rec }) => ({ ticket, upToGeneration: generation, ...(rec.expiresSec === undefined ? {} : { unlessExpiresAfterSec: rec.expiresSec }) }))),
    // The read a revoke of many tickets starts with (crm_ticket -q), timed while the agent is gone or silent.
    probe: () => parts.sink.queryAll(),
    log,
    ...(agentPid === undefined ? {} : { agentAlive: () => processAlive(agentPid) }),
  });
  process.once('SIGTERM', () => guard.stop());
  process.once('SIGINT', () => guard.stop());
  log.info({ agentPid }, 'lease guard started');
  await guard.start();
  await guard.stoppedPromise;
  log.info({ revoked: guard.revoked }, 'lease guard stopped');
  return 0;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs the cluster-wide lease guard (`tollbooth lease-guard --cib`) until
 * SIGTERM: on every node of the site, it revokes the formation's grants whose
 * `expires` in the CIB has passed (src/adapters/lease-guard.ts CibExpiryGuard).
 * It needs only the config (the formation name is the booth-cfg-name); it
 * keeps no state and never writes the agent's guard record.
 */
export async function runCibGuard(o: { config: string; marginMs?: number; intervalMs?: number; priority?: PriorityTarget }): Promise<number> {
  const loaded = loadConfigFile(o.config);
  if (hasConfigErrors(loaded.problems)) {
    process.stderr.write(`tollbooth lease-guard: ${o.config} has errors:\n${loaded.problems.map(formatConfigProblem).join('\n')}\n`);
    return exitConfig;
  }
  const config = loaded.config;
  // Only reads the CIB and revokes (owner 0): it needs no site id of its own (the sink's siteId is
  // used for grants only) and no guard record (opened on a path that is never written). Resolving
  // the sites' host names is not needed either, so a name that does not resolve cannot stop it.
  const sink = new CrmTicketSink({
    siteId: 1,
    boothCfgName: config.name,
    clock: new SystemClock(),
    guard: await LeaseGuardFile.open(join(tmpdir(), `tollbooth-cib-guard-${process.pid}`), bootId()),
  });
  const log = pino({ base: { component: 'cib-lease-guard', formation: config.name } }, logDestination(stdoutFd).stream);
  raisePriority(log, o.priority);
  const guard = new CibExpiryGuard({
    read: () => sink.ticketStates(),
    revokeAll: (overdue) => sink.revokeLostAll(overdue.map(({ ticket, term }) => ({ ticket, upToGeneration: term }))),
    wallMs: Date.now,
    ...(o.marginMs === undefined ? {} : { marginMs: o.marginMs }),
    ...(o.intervalMs === undefined ? {} : { intervalMs: o.intervalMs }),
    log,
  });
  process.once('SIGTERM', () => guard.stop());
  process.once('SIGINT', () => guard.stop());
  log.info({ marginMs: o.marginMs ?? cibGuardMarginMsDefault, intervalMs: o.intervalMs ?? cibGuardIntervalMsDefault }, 'cluster lease guard started');
  guard.start();
  await guard.stoppedPromise;
  log.info({ revoked: guard.revoked }, 'cluster lease guard stopped');
  return 0;
}

/** Revokes every ticket this site has granted in the CIB (after the agent stopped). Exit 0 when none is left granted. */
export async function cibRevokeAll(o: GuardCommandOptions, out: (line: string) => void): Promise<number> {
  let parts;
  let stateDir: string;
  try {
    ({ parts, stateDir } = await sinkOf(o));
  } catch (err) {
    out(`tollbooth cib-revoke-all: ${(err as Error).message}`);
    return err instanceof StartupError ? err.exitCode : 1;
  }
  let granted: string[];
  try {
    granted = await parts.sink.grantedHere();
  } catch (err) {
    out(`tollbooth cib-revoke-all: cannot read the CIB: ${(err as Error).message}`);
    return 1;
  }
  let failed = 0;
  // All together: one read and one CIB update (per cibBatchTicketsMax), however many are granted.
  const results = granted.length === 0 ? new Map<string, LostRevokeResult>() : await parts.sink.revokeLostAll(granted.map((ticket) => ({ ticket, upToGeneration: null })));
  for (const t of granted) {
    const r = results.get(t)!;
    if (r.ok) out(`revoked ${t}`);
    else {
      failed += 1;
      out(`could not revoke ${t}: ${r.error}`);
    }
  }
  if (granted.length === 0) out('no ticket of this formation is granted here');
  // Nothing is left for this node's lease guard to protect; a guard left behind after the agent moved
  // to another node could otherwise end that node's grant at an old deadline.
  const guard = await runningLeaseGuard(stateDir);
  if (failed === 0 && guard !== null) {
    process.kill(guard, 'SIGTERM');
    out(`stopped the lease guard (pid ${guard})`);
  }
  return failed === 0 ? 0 : 1;
}
