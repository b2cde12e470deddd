// Composition root of a formation member (site agent or arbitrator): reads the
// config and key, opens the store, the transport, the ticket sink (sites) and
// the admin socket, wires them to the core through the pump, and owns the
// lifecycle: SIGTERM/SIGINT stop cleanly (exit 0); a config or key problem
// exits 78 (EX_CONFIG, which systemd's RestartPreventExitStatus can name);
// any other start-up or fatal runtime failure exits 1.

import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { bootstrapSnapshot, Member } from '../src/core/member.js';
import { SeededRandom } from '../src/core/random.js';
import { index, term, type MemberId } from '../src/core/types.js';
import { configFingerprint } from '../src/config/fingerprint.js';
import { loadConfigFile, validConfig } from '../src/config/index.js';
import type { FormationConfig, FormationMember, MemberKind } from '../src/config/formation-config.js';
import { formatConfigProblem } from '../src/config/problems.js';
import { memberIdOf, toCoreConfig, toSwimTiming } from '../src/config/to-core.js';
import { gossipInitFor } from '../src/runtime/gossip-init.js';
import { CommittedPeers } from '../src/runtime/committed-peers.js';
import { listenAdminSocket } from '../src/adapters/admin-socket.js';
import { ensureLeaseGuard } from '../src/adapters/pacemaker/lease-guard.js';
import { readCibVersion, readClusterState, ticketResources } from '../src/adapters/pacemaker/cluster-state.js';
import { HandlerRunner } from '../src/adapters/pacemaker/handlers.js';
import { RunnabilityChecker } from '../src/adapters/pacemaker/runnability.js';
import { SiteHealthMonitor, type HealthProbes } from '../src/runtime/site-health.js';
import { LevelStorage } from '../src/adapters/storage/level-storage.js';
import { Libp2pTransport } from '../src/adapters/transport/libp2p-transport.js';
import { SystemClock, SystemWallClock, bootId } from '../src/adapters/system-clock.js';
import { AdminService } from '../src/runtime/admin-service.js';
import { Pump } from '../src/runtime/pump.js';
import { KeyFileError, publicKeyOfSeed, readSeedFile } from '../src/cli/keys.js';
import { memberKeyCandidates } from '../src/config/paths.js';
import { ticketSinkFor, type TicketSinkKind } from './ticket-sink.js';
import type { QuorumGuardianLoop } from '../src/guardian/guardian-loop.js';
import { errorFields } from '../src/errors.js';
import { parseHttpListen } from '../src/adapters/http-listen-address.js';
import { logDestination } from '../src/adapters/log-destination.js';
import type { SiteCounters } from '../src/runtime/metrics.js';
import type { SinkStartRead } from '../src/ports/ports.js';
import { startObservation, type Observation } from './observe.js';
import { isWatchRequest, serveWatch } from '../src/runtime/watch-stream.js';
import { exitConfig, findSelf, StartupError } from './find-self.js';
import { describeDiff, diffConfig, wantedConfigOf, type WantedConfig } from '../src/cli/config-apply.js';
import type { CoreEvent, HardState } from '../src/core/ready.js';
import { snapshotCodec } from '../src/wire/snapshot-codec.js';
import { parseProtocolVersion } from '../src/wire/protocol-version.js';
import { raiseProcessPriority, type PriorityTarget } from '../src/adapters/process-priority.js';

/** Removed members whose registry messages are warned of (once each), bounded: the log is not theirs to fill. */
const nonMemberWarningsMax = 64;

export { exitConfig, findSelf, StartupError } from './find-self.js';

export interface MemberOptions {
  readonly config: string;
  readonly key?: string;
  readonly self?: string;
  readonly stateDir?: string;
  readonly socket?: string;
  readonly log?: string;
  readonly logLevel?: string;
  /** Where a site writes ticket state: the CIB through crm_ticket (default), or the file stand-in. */
  readonly ticketSink?: TicketSinkKind;
  /** Ask crm_simulate whether each ticket's resources would run here (crm_ticket sink only). Default true. */
  readonly runnabilityCheck?: boolean;
  /** Give tickets up when crm_mon reports no quorum (crm_ticket sink only). Default true. */
  readonly quorumCheck?: boolean;
  /** The quorum guardian's site-local settings file (sites only); without it no guardian runs. */
  readonly quorumGuardian?: string;
  /** `ADDRESS:PORT` (or a bare port, on loopback) to serve /metrics on; off when absent (issue 13). */
  readonly http?: string;
  /** The protocol version to announce, major.minor, instead of this build's (upgrade tests only; docs/protocol.md §10). */
  readonly protocolVersion?: string;
  /** Raise the process's nice value and OOM protection to these at start (issue 12 item 6); absent: leave them. */
  readonly priority?: PriorityTarget;
  /** How the member's code was loaded (bin/member-loader.ts: with the code cache or without), for 'member ready'. */
  readonly codeLoad?: string;
}

/** argv that runs this `tollbooth` (the built script, or the source under the same loader). */
function tollboothArgv(): string[] {
  const js = fileURLToPath(new URL('../bin/tollbooth.js', import.meta.url));
  const script = existsSync(js) ? js : fileURLToPath(new URL('../bin/tollbooth.ts', import.meta.url));
  return [process.execPath, ...process.execArgv, script];
}

async function nextEpoch(stateDir: string): Promise<number> {
  // The transport's sequence epoch: persisted (synced) before the first send so
  // sequence numbers after a restart are above every earlier one (src/wire).
  const path = join(stateDir, 'epoch');
  let epoch = 0;
  try {
    epoch = Number((await readFile(path, 'utf8')).trim()) || 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  epoch += 1;
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.writeFile(`${epoch}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return epoch;
}

export interface RunningMember {
  readonly id: MemberId;
  readonly log: Logger;
  stop(): Promise<void>;
  readonly done: Promise<number>;
}

/**
 * The member key: `-k`, else the first of the default places
 * (src/config/paths.ts memberKeyCandidates) that exists and holds a tollbooth
 * key. A booth HMAC authfile at the config's `authfile` path is passed over;
 * when nothing fits, the error names every place and why.
 */
async function readMemberKey(given: string | undefined, configPath: string, config: FormationConfig): Promise<{ keyPath: string; seed: Buffer }> {
  if (given !== undefined) {
    try {
      return { keyPath: given, seed: await readSeedFile(given) };
    } catch (err) {
      throw new StartupError(exitConfig, (err as Error).message);
    }
  }
  const tried: string[] = [];
  for (const path of memberKeyCandidates(configPath, config.name, config.authFile)) {
    if (!existsSync(path)) {
      tried.push(`${path}: no such file`);
      continue;
    }
    try {
      return { keyPath: path, seed: await readSeedFile(path) };
    } catch (err) {
      // Permissions are never passed over: a readable key must be fixed, not skipped.
      if (err instanceof KeyFileError && err.code === 'KEY_FILE_PERMISSIONS') throw new StartupError(exitConfig, err.message);
      tried.push((err as Error).message);
    }
  }
  throw new StartupError(exitConfig, `no member key found (give -k FILE, or write one with tollbooth keygen):\n  ${tried.join('\n  ')}`);
}

/** Where the log goes without --log: standard error. */
const stderrFd = 2;
/** How often the agent checks that its lease guard still runs (and restarts it), ms. */
const leaseGuardWatchIntervalMs = 2_000;
/**
 * How long a clean stop waits for its last guard update (Pump.flushGuard), ms:
 * a write of the guard record and one cibadmin call, well inside systemd's
 * TimeoutStopSec (30 s) and the OCF stop timeout.
 */
const stopGuardFlushMsMax = 5_000;
/** Upper bound (exclusive) of a fresh store incarnation: 48 random bits, the most node:crypto's randomInt draws. */
const freshIncarnationMax = 2 ** 48 - 1;

export async function startMember(kind: MemberKind, opts: MemberOptions): Promise<RunningMember> {
  const startedAt = process.hrtime.bigint();
  const loaded = loadConfigFile(opts.config);
  // The valid config's type carries what validation proved: every member has its key.
  const config = validConfig(loaded);
  if (config === null) {
    throw new StartupError(exitConfig, `${opts.config} has errors:\n${loaded.problems.map(formatConfigProblem).join('\n')}`);
  }
  const me = findSelf(config, kind, opts.self);
  const id = memberIdOf(me);
  // Only with --quorum-guardian: the guardian and its corosync adapters are not loaded otherwise (issue 15: start-up).
  const guardianModule = opts.quorumGuardian === undefined ? null : await import('./quorum-guardian.js');
  const guardianSettings = opts.quorumGuardian === undefined || guardianModule === null ? null : guardianModule.readGuardianSettings(opts.quorumGuardian);
  if (guardianSettings !== null && 'errors' in guardianSettings) throw new StartupError(exitConfig, guardianSettings.errors);
  if (guardianSettings !== null && kind !== 'site') throw new StartupError(exitConfig, '--quorum-guardian is for site agents');
  if (opts.http !== undefined) {
    try {
      parseHttpListen(opts.http);
    } catch (err) {
      throw new StartupError(exitConfig, (err as Error).message);
    }
  }
  const announced = opts.protocolVersion === undefined ? null : parseProtocolVersion(opts.protocolVersion);
  if (announced !== null && !announced.ok) throw new StartupError(exitConfig, `--protocol-version: ${announced.detail}`);
  const stateDir = opts.stateDir ?? `/var/lib/tollbooth/${config.name}`;
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const log = pino(
    { base: { member: id, kind, formation: config.name }, level: opts.logLevel ?? 'info' },
    // Synchronous; on standard error under systemd each line carries its journald priority.
    logDestination(opts.log ?? stderrFd).stream,
  );
  // Before anything that keeps deadlines runs: renewals, heartbeats and revokes must not queue behind CPU hogs.
  const priority = raiseProcessPriority(opts.priority ?? { nice: null, oomScoreAdj: null });
  for (const problem of priority.problems) log.warn({ nice: priority.nice, oomScoreAdj: priority.oomScoreAdj }, problem);
  const { keyPath, seed } = await readMemberKey(opts.key, opts.config, config);
  if (!publicKeyOfSeed(seed).equals(Buffer.from(me.publicKey))) {
    throw new StartupError(exitConfig, `${keyPath} is not the key configured for ${me.address} (tollbooth-member-key)`);
  }
  const clock = new SystemClock();
  const fingerprint = configFingerprint(config);
  const storage = await LevelStorage.open(join(stateDir, 'registry'));
  let persisted = await storage.load();
  // docs/protocol.md §10: an empty store is a new incarnation, never one an earlier store of this member had.
  const freshIncarnation = randomInt(1, freshIncarnationMax);
  if (persisted === null) {
    // First start: the bootstrap state is stored before anything else, so that every later start
    // replays the log onto it, whatever the file says by then (issue 11: the registry owns the config).
    // The hard state carries the fresh incarnation: written without one, the store read back as the
    // bootstrap incarnation 0, so a member whose state directory was wiped voted as the member it
    // was (seen by test/e2e/rolling-restart.test.ts). The core would write both with its first persist too.
    const hardState: HardState = { term: term(0), votedFor: null, commit: index(0), incarnation: freshIncarnation };
    await storage.persist({ hardState, snapshot: bootstrapSnapshot(toCoreConfig(config, id)), truncateFrom: null, entries: [] });
    persisted = await storage.load();
  }
  const sinkKind = opts.ticketSink ?? 'crm_ticket';
  const sink = kind === 'site' ? await ticketSinkFor(sinkKind, config, me, stateDir, bootId(), clock) : null;
  let guardWatch: NodeJS.Timeout | null = null;
  if (sink !== null && sinkKind === 'crm_ticket') {
    // The lease guard outlives this process and revokes our grants on time if we die (DESIGN.md §4).
    // It must run before the first grant can be written; it is checked on and restarted if it dies.
    const guardOpts = {
      stateDir,
      tollbooth: tollboothArgv(),
      args: ['-c', opts.config, ...(opts.self === undefined ? [] : ['--self', opts.self])],
      logPath: join(stateDir, 'lease-guard.log'),
    };
    const g = await ensureLeaseGuard(guardOpts);
    log.info({ pid: g.pid, started: g.started }, 'lease guard running');
    guardWatch = setInterval(() => {
      void ensureLeaseGuard(guardOpts).then(
        (r) => r.started && log.warn({ pid: r.pid }, 'lease guard was gone: restarted'),
        (err: unknown) => log.error(errorFields(err), 'cannot start the lease guard'),
      );
    }, leaseGuardWatchIntervalMs);
    guardWatch.unref();
  }
  let atStart: SinkStartRead;
  try {
    atStart = sink === null ? { tickets: [], complete: false } : await sink.readAtStart();
  } catch (err) {
    throw new StartupError(1, `cannot read the ticket state at start-up: ${(err as Error).message}`);
  }
  if (sink !== null && !atStart.complete) {
    log.warn({ reason: atStart.incomplete ?? null }, 'start-up read of the ticket sink not complete: every ticket not granted here is written as a revoke');
  }
  // The committed timings, when the store has them, not the file's: every member dates its leases with the same ones.
  const fileCoreConfig = toCoreConfig(config, id);
  const committedTiming = persisted?.snapshot?.table.timing;
  const coreConfig = committedTiming === undefined ? fileCoreConfig : { ...fileCoreConfig, timing: committedTiming };
  // One persisted epoch per start orders this incarnation's transport sequence
  // numbers and renewal numbers above every earlier one, across reboots too.
  const epoch = await nextEpoch(stateDir);
  // Issue 11: the transport admits, and gossip verifies, the committed configuration's members (committed-peers.ts).
  const fileMembers = config.members.map((m) => ({ id: memberIdOf(m), host: m.address, port: m.port, publicKey: m.publicKey }));
  const committedPeers = new CommittedPeers({ self: id, file: fileMembers, port: me.port, setPeers: (peers) => transport.setPeers(peers), log: log.child({ module: 'peers' }) });
  const core = new Member(coreConfig, {
    now: clock.now(),
    random: new SeededRandom(Number(process.hrtime.bigint() % 4294967296n)),
    snapshotCodec,
    ...(persisted === null ? {} : { persisted }),
    cib: atStart.tickets,
    // The sink's own word: its start-up read named every ticket state it holds (core/tickets/sink-at-start.ts).
    cibComplete: atStart.complete,
    renewSeqStart: epoch * 2 ** 32,
    freshIncarnation,
    // Gossip (DESIGN.md §3): membership, relay and dissemination, claims signed with this member's key.
    gossip: gossipInitFor({
      self: id,
      seed,
      publicKeyOf: (member) => committedPeers.publicKeyOf(member),
      timing: toSwimTiming(config),
      epoch,
    }),
  });
  const transport = new Libp2pTransport({
    formation: config.name,
    self: id,
    seed,
    epoch,
    listenHost: me.address,
    listenPort: me.port,
    peers: fileMembers.filter((m) => m.id !== id),
    adminKeys: config.adminKeys,
    // The member's own monotonic clock: `peers` dates lastRecvAt against clock.now() (booth peers' "last recv").
    clock: () => clock.now(),
    // Frames up to the wire's messageBytesMaxDefault (3 MiB): snapshots go in chunks.
    logger: log.child({ module: 'transport' }),
    ...(announced === null ? {} : { protocolVersion: announced.version }),
  });
  const pump = new Pump({ core, storage, transport, sink, clock, wallClock: new SystemWallClock(), log: log.child({ module: 'pump' }) });
  committedPeers.update(core.committedMembers());
  pump.on('event', (e) => {
    if ((e.type === 'applied' && e.data.type === 'config') || (e.type === 'snapshot-transfer' && e.stage === 'installed')) committedPeers.update(core.committedMembers());
  });
  // The admin socket answers before the transport and the pump have started (issue 15: spawn → answer); until
  // 'member ready' `status` says `ready: false` and every other request waits for the start's end.
  let ready = false;
  let markReady!: () => void;
  const started = new Promise<void>((resolve) => (markReady = resolve));
  const admin = new AdminService({
    self: id,
    pump,
    transport,
    clock,
    // status --json: the alert handler's counts beside the member's own (issue 13).
    describe: () => ({ formation: config.name, kind, fingerprint, ready, pid: process.pid, nice: priority.nice, oomScoreAdj: priority.oomScoreAdj, ...alertStatus(), ...(configWatch === null ? {} : { configFile: configWatch.status() }) }),
    isSite: kind === 'site',
    ...(kind === 'site' && sinkKind === 'crm_ticket' ? { resources: (ticket: string) => ticketResources(ticket) } : {}),
    ...(guardianSettings === null ? {} : { quorum: () => guardian?.status() ?? null }),
  });
  let guardian: QuorumGuardianLoop | null = null;
  let configWatch: ReturnType<typeof watchCommittedConfig> | null = null;
  // Set once the observation starts; status answers before that show no counts.
  const alertStatus = (): Record<string, unknown> => {
    const handler = config.alertHandler;
    if (handler === null) return {};
    const counts = observation?.alerts?.counts() ?? null;
    return { alertHandler: { program: handler.program, args: handler.args, timeoutMs: config.alertTimeoutMs, ...(counts === null ? {} : counts) } };
  };
  const siteCounters: SiteCounters = { handlerFailures: 0, runnabilityFailures: 0 };
  let observation: Observation | undefined;
  try {
    observation = await startObservation(
      {
        self: id,
        kind,
        formation: config.name,
        pump,
        transport,
        clock,
        admin,
        log: log.child({ module: 'observe' }),
        ...(guardianSettings === null ? {} : { guardian: () => guardian?.status() ?? null }),
        ...(kind === 'site' ? { siteCounters } : {}),
        ...(config.alertHandler === null ? {} : { alertHandler: { command: config.alertHandler, timeoutMs: config.alertTimeoutMs } }),
      },
      opts.http,
    );
  } catch (err) {
    await storage.close();
    throw new StartupError(1, (err as Error).message);
  }
  const socketPath = opts.socket ?? `/run/tollbooth/${config.name}.sock`;
  await mkdir(join(socketPath, '..'), { recursive: true, mode: 0o755 });
  const server = await listenAdminSocket(socketPath, config.adminGroup, async (body, peer) => {
    const req = AdminService.check(body);
    if (typeof req === 'string') return { ok: false, code: 'invalid', message: req, answeredBy: id };
    if (!ready && !(req.op === 'status' && (req.site === undefined || req.site === id))) await started;
    return admin.handle(req, false, { via: 'socket', credentials: () => peer.credentials() });
  }, (body, stream) => {
    if (!isWatchRequest(body)) return false;
    serveWatch(observation.events, id, stream);
    return true;
  });
  let protocolViolations = 0;
  const nonMembersWarned = new Set<string>();
  pump.on('event', (e) => {
    if (e.type === 'role') log.info({ role: e.role, term: e.term, leader: e.leader }, 'role changed');
    else if (e.type === 'applied' && e.data.type !== 'noop') log.info({ index: e.index, entry: e.data, ok: e.ok }, 'registry entry applied');
    else if (e.type === 'lease-lost') log.warn({ ticket: e.ticket, reason: e.reason }, 'renewal refused');
    // docs/protocol.md §10: a member that lost its store (or moved to another node of its site) is re-admitted.
    else if (e.type === 'member-rejoin') log.info({ rejoining: e.member, incarnation: e.incarnation, previous: e.previous }, 'member rejoins as a new incarnation: replacing its old one (non-voter until caught up)');
    else if (e.type === 'bootstrapped') log.info({ members: e.members }, 'bootstrapped a new formation as incarnation 0');
    else if (e.type === 'sink-speed') {
      // docs/protocol.md §4: a revoke must land within half the revoke lead; the holder raises the lead to
      // twice its slowest recent write, up to what the lease leaves room for (issue 12 item 6).
      const fields = { speed: e.speed, slowestWriteMs: Math.round(e.slowestWriteMs) };
      if (e.speed === 'beyond') log.error(fields, 'CIB writes are slower than half of what the lease leaves for the revoke lead: a revoke may land after the lease ends; lengthen expire or find what slows the CIB');
      else if (e.speed === 'raised') log.warn(fields, 'CIB writes are slow: revoke lead raised to twice the slowest recent write');
      else log.info(fields, 'CIB writes are back within half of every configured revoke lead');
    }
    else if (e.type === 'message-ignored' && e.reason === 'not a member' && !nonMembersWarned.has(e.from) && nonMembersWarned.size < nonMemberWarningsMax) {
      // A removed member still running (one removed by force that came back, docs/operations.md §8 (disaster recovery)): said once per member.
      nonMembersWarned.add(e.from);
      log.warn({ from: e.from, msgType: e.msgType }, 'registry message from a member not in the configuration (removed): ignored; it neither votes nor counts until added again with member add');
    } else if (e.type === 'protocol-violation') log.warn({ from: e.from, msgType: e.msgType, reason: e.reason, count: ++protocolViolations }, 'protocol violation by a member: ignored');
    else if (e.type === 'snapshot-transfer') {
      const fields = { peer: e.peer, stage: e.stage, index: e.index, bytes: e.bytes, ...(e.offset === undefined ? {} : { offset: e.offset }), ...(e.reason === undefined ? {} : { reason: e.reason }) };
      if (e.stage === 'refused') log.warn(fields, 'snapshot transfer');
      else log.info(fields, 'snapshot transfer');
    }
  });
  pump.on('guard', (g) => log.info(g, 'lease guard deadlines moved'));
  pump.on('effect', (e, outcome) => {
    // Only what was written: a write that failed is the pump's warning `ticket effect failed`, with the error.
    if (outcome.ok) log.info({ ticket: e.ticket, granted: e.granted, generation: e.generation, revokeBy: e.revokeBy, ok: true }, e.granted ? 'ticket granted locally' : 'ticket revoked locally');
  });
  let stopHealth = (): void => undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping = false;
  const stop = async (code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({}, 'stopping');
    // A restart right after this stop (rolling restart) gets the whole lease: the guard's deadlines go to the latest the lease allows.
    if (code === 0) await pump.flushGuard(stopGuardFlushMsMax);
    if (guardWatch !== null) clearInterval(guardWatch);
    configWatch?.stop();
    stopHealth();
    await guardian?.stop();
    await observation.stop();
    server.close();
    await pump.stop();
    await transport.stop();
    await storage.close();
    log.info({}, 'stopped');
    resolveDone(code);
  };
  pump.on('fatal', (err) => {
    log.fatal({ ...errorFields(err), stack: err instanceof Error ? (err.stack ?? null) : null }, 'fatal error in the protocol pump');
    void stop(1);
  });
  await transport.start();
  pump.start();
  if (kind === 'site') {
    const monitor = siteHealthMonitor(config, me, id, opts, sinkKind, coreConfig.timing.renewIntervalMs, pump, clock, log.child({ module: 'health' }), siteCounters);
    if (monitor !== null) {
      pump.on('event', (e) => {
        if (e.type === 'applied' && e.ok && e.data.type === 'grant' && e.data.site === id) void monitor.checkNow(e.data.ticket);
      });
      stopHealth = () => monitor.stop();
      // A grant the CIB will not take, again and again, gives the ticket up here (site-health.ts).
      pump.on('effect', (e, outcome) => {
        monitor.cibWriteResult(e.ticket, e.granted, outcome.ok);
      });
      await monitor.start();
    }
  }
  if (guardianSettings !== null && guardianModule !== null) {
    const glog = log.child({ module: 'quorum-guardian' });
    for (const w of guardianSettings.warnings) glog.warn({}, w);
    guardian = guardianModule.quorumGuardianLoop(guardianSettings.settings, seed, me.address, glog);
    guardian.start();
  }
  configWatch = watchCommittedConfig(pump, admin, opts.config, log.child({ module: 'config' }));
  ready = true;
  markReady();
  const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  log.info({ startupMs: Math.round(startupMs), socket: socketPath, stateDir, fingerprint, nice: priority.nice, oomScoreAdj: priority.oomScoreAdj, ...(opts.codeLoad === undefined ? {} : { codeLoad: opts.codeLoad }), ...(observation.http === null ? {} : { http: observation.http }) }, 'member ready');
  return { id, log, stop: () => stop(0), done };
}

/**
 * The site's health probes (src/runtime/site-health.ts): booth's
 * before-acquire handlers where tickets have one, and with the crm_ticket sink
 * the cluster's quorum (crm_mon) and the runnability check (crm_simulate).
 * Null when there is nothing to probe (the file stand-in without handlers).
 */
function siteHealthMonitor(
  config: FormationConfig,
  me: FormationMember,
  id: MemberId,
  opts: MemberOptions,
  sinkKind: TicketSinkKind,
  intervalMs: number,
  pump: Pump,
  clock: SystemClock,
  log: Logger,
  counters: SiteCounters,
): SiteHealthMonitor {
  const handlers = new Map(config.tickets.filter((t) => t.beforeAcquireHandler !== null).map((t) => [t.name, t.beforeAcquireHandler!]));
  const probes: { -readonly [K in keyof HealthProbes]: HealthProbes[K] } = {};
  if (handlers.size > 0) {
    const runner = new HandlerRunner({ site: { site: id, local: me.address, confPath: opts.config, confName: config.name } });
    probes.handler = async (ticket, phase, expiresUnixSec) => {
      const command = handlers.get(ticket)!;
      const r = await runner.run({ ticket, phase, expiresUnixSec, command: { program: command.program, args: command.args } });
      if (!r.ok) counters.handlerFailures += 1;
      return r.ok ? { ok: true } : { ok: false, message: r.message };
    };
  }
  if (sinkKind === 'crm_ticket') {
    if (opts.quorumCheck !== false) probes.quorate = async () => (await readClusterState()).quorate;
    // One small CIB read per round; crm_mon and crm_simulate only when it changed (or a minute passed).
    if (opts.quorumCheck !== false || opts.runnabilityCheck !== false) probes.cibVersion = () => readCibVersion();
    if (opts.runnabilityCheck !== false) {
      const checker = new RunnabilityChecker({});
      probes.runnable = async (tickets) => {
        const out = new Map<string, { runnable: boolean; reason?: string } | Error>();
        for (const [ticket, v] of await checker.checkAll(tickets)) {
          if (v instanceof Error || !v.runnable) counters.runnabilityFailures += 1;
          out.set(ticket, v instanceof Error ? v : v.runnable ? { runnable: true } : { runnable: false, reason: v.reason });
        }
        return out;
      };
    }
  }
  // Even without probes the monitor runs: it turns repeated CIB write failures into an unrunnable
  // ticket, so a site whose sink cannot take a grant gives it up (issue 12, item 5).
  return new SiteHealthMonitor({
    tickets: config.tickets.map((t) => ({ name: t.name, hasHandler: handlers.has(t.name) })),
    probes,
    intervalMs,
    held: (ticket) => {
      const v = pump.core.holderView(ticket);
      const held = v?.gen !== null && v?.gen !== undefined;
      const left = v?.leaseEnd === null || v?.leaseEnd === undefined ? null : v.leaseEnd - clock.now();
      return { held, expiresUnixSec: left === null || left <= 0 ? 0 : Math.floor((Date.now() + left) / 1000) };
    },
    report: (health) => pump.report((core, now) => core.report({ type: 'health', health }, now)),
    log,
  });
}

/**
 * Issue 11: the registry owns the formation's config. A member whose file
 * differs from the committed config (tickets, members, timings) runs with the
 * committed one and says so: a warning naming every difference, at start-up
 * and whenever a committed change or a re-read file (SIGHUP) changes the
 * difference, and `status` (`configFile`). SIGHUP re-reads the file and logs
 * the difference; it applies nothing (`tollbooth config apply` does).
 * Files with errors, another formation name or without this member's key are
 * refused at start-up (findSelf, the key check) as before.
 */
function watchCommittedConfig(pump: Pump, admin: AdminService, configPath: string, log: Logger): { status: () => ConfigFileStatus; stop: () => void } {
  let wanted: WantedConfig | null = null;
  let fileProblem: string | null = null;
  let last: ConfigFileStatus = { path: configPath, matchesCommitted: true, difference: [] };
  const compare = (why: string): void => {
    if (wanted === null) return;
    const committed = admin.committedConfig();
    const difference = describeDiff(diffConfig(committed, wanted));
    const changed = difference.join('\n') !== last.difference.join('\n');
    last = { path: configPath, matchesCommitted: difference.length === 0, difference, ...(fileProblem === null ? {} : { problem: fileProblem }) };
    if (!changed && why !== 'sighup') return;
    if (difference.length === 0) log.info({ config: configPath, version: committed.version, why }, 'config file matches the committed config');
    else log.warn({ config: configPath, version: committed.version, difference, why }, 'config file differs from the committed config: running with the committed one (tollbooth config apply proposes the file)');
  };
  const read = async (why: string): Promise<void> => {
    const r = await wantedConfigOf(configPath);
    if (r.ok) {
      wanted = r.wanted;
      fileProblem = null;
    } else {
      fileProblem = r.message;
      log.error({ config: configPath, problems: r.message }, 'config file re-read has errors: still running with the committed config');
    }
    compare(why);
  };
  void read('start-up').catch((err: unknown) => log.error(errorFields(err), 'cannot read the config file'));
  const onApplied = (e: CoreEvent): void => {
    if (e.type === 'applied' && e.ok && (e.data.type === 'config' || e.data.type === 'ticket-add' || e.data.type === 'ticket-remove' || e.data.type === 'ticket-change')) compare('committed change');
  };
  pump.on('event', onApplied);
  const onHup = (): void => {
    log.info({ config: configPath }, 'SIGHUP: re-reading the config file (nothing is applied)');
    void read('sighup').catch((err: unknown) => log.error(errorFields(err), 'cannot read the config file'));
  };
  process.on('SIGHUP', onHup);
  return { status: () => last, stop: () => void process.off('SIGHUP', onHup) };
}

/** What `status` says about this member's file against the committed config. */
interface ConfigFileStatus {
  readonly path: string;
  readonly matchesCommitted: boolean;
  readonly difference: readonly string[];
  readonly problem?: string;
}

/** Runs a member until SIGTERM/SIGINT; returns the process exit code. */
export async function runMember(kind: MemberKind, opts: MemberOptions): Promise<number> {
  let m: RunningMember | null = null;
  // The admin socket answers before the start ends (startMember): a signal sent once it answered stops the
  // member cleanly when the start ends, rather than killing it half-started. A second signal kills it (once).
  let signalled: string | null = null;
  const onSignal = (sig: string): void => {
    if (m === null) {
      signalled = sig;
      return;
    }
    m.log.info({ signal: sig }, 'signal received');
    void m.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    m = await startMember(kind, opts);
  } catch (err) {
    const code = err instanceof StartupError ? err.exitCode : 1;
    process.stderr.write(`tollbooth ${kind === 'site' ? 'site-agent' : 'arbitrator'}: ${(err as Error).message}\n`);
    return code;
  }
  if (signalled !== null) onSignal(signalled);
  return m.done;
}
