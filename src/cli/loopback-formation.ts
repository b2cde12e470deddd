// A formation of real member processes on loopback addresses (127.0.0.1,
// 127.0.0.2, …), each in its own directory under one temporary root: keys,
// config, state, admin socket and log file. Used by `tollbooth demo`, the
// end-to-end tests and the benchmarks. Processes are real `tollbooth
// site-agent` / `tollbooth arbitrator` runs; nothing is simulated.

import { runningLeaseGuard } from '../adapters/pacemaker/lease-guard.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminRequest, AdminResponse, TicketView } from '../runtime/admin-service.js';
import { call } from './admin-client.js';
import { writeSeedFile } from './keys.js';
import { TollboothError } from '../errors.js';

export interface LoopbackMember {
  readonly address: string;
  readonly kind: 'site' | 'arbitrator';
  readonly dir: string;
  readonly socket: string;
  readonly key: string;
  readonly log: string;
  proc: ChildProcess | null;
}

export interface LoopbackTicket {
  readonly name: string;
  readonly expireS: number;
  readonly acquireAfterS?: number;
  readonly mode?: 'automatic' | 'manual';
  readonly extra?: readonly string[];
  /** booth's `timeout` of the ticket (default expire/10, at least 100 ms). */
  readonly timeoutMs?: number;
}

export interface LoopbackOptions {
  readonly sites: number;
  readonly arbitrators: number;
  readonly tickets: readonly LoopbackTicket[];
  /** The timing preset line (default loopback); `booth`: no `tollbooth-preset` line, timers derived from the tickets' booth keys as for any booth.conf. */
  readonly preset?: 'loopback' | 'lan' | 'wan' | 'booth';
  /** Where sites write ticket state (default: the file stand-in; crm_ticket needs a CIB, e.g. CIB_file from siteEnv). */
  readonly ticketSink?: 'file' | 'crm_ticket';
  /** Extra arguments of every site agent. */
  readonly siteArgs?: readonly string[];
  /** Extra environment of a site's process (and of the lease guard it starts). */
  readonly siteEnv?: (m: LoopbackMember) => Readonly<Record<string, string>>;
  /** How to run the CLI: argv before the subcommand (default: this very process's node, flags and script). */
  readonly command?: readonly string[];
  /** Extra global config lines. */
  readonly extraConfig?: readonly string[];
  /**
   * Member addresses, in member order (default 127.0.0.1, 127.0.0.2, …): e.g. addresses in network
   * namespaces of an emulated WAN (bench/wan-net.ts). Then `port` must be given too (a free port
   * cannot be probed from here) and `wrap` usually (to run each member in its namespace).
   */
  readonly addresses?: readonly string[];
  readonly port?: number;
  /** argv put before each member's command line (e.g. `ip netns exec NS`). */
  readonly wrap?: (m: LoopbackMember, index: number) => readonly string[];
}

/** A TCP port free on every given address. */
export async function freePort(addresses: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (const host of addresses) {
      ok = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(false));
        s.listen(port, host, () => s.close(() => resolve(true)));
      });
      if (!ok) break;
    }
    if (ok) return port;
  }
  throw new Error(`no free port found on ${addresses.join(', ')}`);
}

/** Characters of a member's stderr kept for the error when it fails to start. */
const memberStderrCharsMax = 10_000;
/**
 * How long waitReady waits for a member to answer on its admin socket: a
 * second or two on an idle machine, far more from source (tsx compiles the
 * CLI at each start) on a loaded one.
 */
export const memberReadyMsMax = 90_000;
/** How long a member may take to stop on SIGTERM before it is killed, ms. */
const memberStopGraceMs = 15_000;
/** The generated tickets' booth `timeout` is a tenth of the lease, but at least this, ms. */
const ticketTimeoutMsMin = 100;
/** The generated tickets' booth `retries` (booth's minimum is 3). */
const ticketRetries = 3;

/** Thrown by a probe to stop waiting at once (the awaited thing can no longer happen). */
export class WaitAborted extends TollboothError<'WAIT_ABORTED'> {
  constructor(message: string) {
    super('WAIT_ABORTED', message);
  }
}

/** Polls `probe` until it returns non-null or the deadline passes; errors count as "not yet" (the last one is named on a timeout), except WaitAborted. */
export async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | null>, everyMs = 100): Promise<T> {
  const end = Date.now() + deadlineMs;
  // An object, so that the type survives the closure's assignment (a narrowed `let` would not).
  const last: { error: string | null } = { error: null };
  for (;;) {
    const v = await probe().catch((err: unknown) => {
      if (err instanceof WaitAborted) throw err;
      last.error = err instanceof Error ? err.message : String(err);
      return null;
    });
    if (v !== null) return v;
    // The probe's last error, if it threw: what a failed wait was up against.
    if (Date.now() >= end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last.error === null ? '' : ` (the last try failed: ${last.error})`}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class LoopbackFormation {
  private constructor(
    readonly root: string,
    readonly configPath: string,
    readonly port: number,
    readonly members: LoopbackMember[],
    private readonly command: readonly string[],
    private readonly options: LoopbackOptions,
  ) {}

  static async create(o: LoopbackOptions): Promise<LoopbackFormation> {
    const root = await mkdtemp(join(tmpdir(), 'tollbooth-'));
    const members: LoopbackMember[] = [];
    const kinds: Array<'site' | 'arbitrator'> = [...Array<'site'>(o.sites).fill('site'), ...Array<'arbitrator'>(o.arbitrators).fill('arbitrator')];
    if (o.addresses !== undefined && (o.addresses.length !== kinds.length || o.port === undefined)) {
      throw new Error(`loopback formation: ${kinds.length} addresses and a port are needed with addresses, got ${o.addresses.length} and ${o.port ?? 'no port'}`);
    }
    kinds.forEach((kind, i) => {
      const name = `member${i + 1}`;
      members.push({
        address: o.addresses?.[i] ?? `127.0.0.${i + 1}`,
        kind,
        dir: join(root, name),
        socket: join(root, `${name}.sock`),
        key: join(root, `${name}.key`),
        log: join(root, `${name}.log`),
        proc: null,
      });
    });
    const port = o.port ?? (await freePort(members.map((m) => m.address)));
    const keyLines: string[] = [];
    for (const m of members) {
      const { publicKey } = await writeSeedFile(m.key, false);
      keyLines.push(`tollbooth-member-key = ${m.address} ${publicKey.toString('base64')}`);
    }
    const configPath = join(root, 'formation.conf');
    const lines = [
      '# written by tollbooth (loopback formation): booth.conf syntax plus tollbooth-* keys',
      `port = ${port}`,
      ...(o.preset === 'booth' ? [] : [`tollbooth-preset = ${o.preset ?? 'loopback'}`]),
      ...(o.extraConfig ?? []),
      ...members.map((m) => `${m.kind} = ${m.address}`),
      ...keyLines,
    ];
    for (const t of o.tickets) {
      // booth's rule timeout × (retries + 1) < renewal-freq (= expire/2 by default) holds for short leases too.
      lines.push(`ticket = "${t.name}"`, `    expire = ${t.expireS}`, `    timeout = ${t.timeoutMs ?? Math.max(ticketTimeoutMsMin, Math.floor((t.expireS * 1000) / 10))}ms`, `    retries = ${ticketRetries}`);
      if (t.acquireAfterS !== undefined) lines.push(`    acquire-after = ${t.acquireAfterS}`);
      if (t.mode === 'manual') lines.push('    mode = manual');
      for (const x of t.extra ?? []) lines.push(`    ${x}`);
    }
    await writeFile(configPath, `${lines.join('\n')}\n`);
    const command = o.command ?? [process.execPath, ...process.execArgv, process.argv[1]!];
    return new LoopbackFormation(root, configPath, port, members, command, o);
  }

  member(address: string): LoopbackMember {
    const m = this.members.find((x) => x.address === address);
    if (m === undefined) throw new Error(`no member ${address}`);
    return m;
  }

  get sites(): LoopbackMember[] {
    return this.members.filter((m) => m.kind === 'site');
  }

  start(m: LoopbackMember, extraArgs: readonly string[] = []): ChildProcess {
    const sub = m.kind === 'site' ? 'site-agent' : 'arbitrator';
    const [exe, ...pre] = [...(this.options.wrap?.(m, this.members.indexOf(m)) ?? []), ...this.command];
    // Sites write the file stand-in: a loopback formation has no Pacemaker cluster behind it.
    const sink = m.kind === 'site' ? ['--ticket-sink', this.options.ticketSink ?? 'file', ...(this.options.siteArgs ?? [])] : [];
    const args = [...pre, sub, '-c', this.configPath, '--self', m.address, '-k', m.key, '--state-dir', m.dir, '--socket', m.socket, '--log', m.log, ...sink, ...extraArgs];
    const env = m.kind === 'site' && this.options.siteEnv !== undefined ? { ...process.env, ...this.options.siteEnv(m) } : process.env;
    const proc = spawn(exe!, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      if (stderr.length < memberStderrCharsMax) stderr += d;
    });
    (proc as ChildProcess & { stderrText: () => string }).stderrText = () => stderr;
    m.proc = proc;
    return proc;
  }

  async startAll(): Promise<void> {
    for (const m of this.members) this.start(m);
    await Promise.all(this.members.map((m) => this.waitReady(m)));
  }

  /** Waits until the member answers on its admin socket. */
  async waitReady(m: LoopbackMember, deadlineMs = memberReadyMsMax): Promise<void> {
    await until(`${m.address} to answer on its admin socket`, deadlineMs, async () => {
      if (m.proc !== null && m.proc.exitCode !== null) {
        throw new WaitAborted(`${m.address} exited with ${m.proc.exitCode}: ${(m.proc as ChildProcess & { stderrText?: () => string }).stderrText?.() ?? ''}`);
      }
      return (await this.call(m, { op: 'status' })).ok ? true : null;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; see ${m.log}`);
    });
  }

  call(m: LoopbackMember, req: AdminRequest, timeoutMs = 5000): Promise<AdminResponse> {
    return call({ socket: m.socket, json: true, timeoutMs }, req);
  }

  /** Sends a signal and waits for the process to exit; returns its exit code (or signal). */
  async kill(m: LoopbackMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | string | null> {
    const p = m.proc;
    if (p === null) return null;
    m.proc = null;
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode ?? p.signalCode;
    const exited = new Promise<number | string | null>((resolve) => p.once('exit', (code, sig) => resolve(code ?? sig)));
    p.kill(signal);
    // A member that does not stop on SIGTERM in time is killed: callers must not hang on it.
    const timer = signal === 'SIGKILL' ? null : setTimeout(() => p.kill('SIGKILL'), memberStopGraceMs);
    const code = await exited;
    if (timer !== null) clearTimeout(timer);
    return code;
  }

  /** The ticket as the site's own status shows it (grantedHere tells whether its sink holds the grant). */
  async localTicket(m: LoopbackMember, ticket: string): Promise<TicketView | null> {
    const st = await this.call(m, { op: 'status' });
    if (!st.ok) return null;
    return (st.data as { tickets: TicketView[] }).tickets.find((v) => v.name === ticket) ?? null;
  }

  /** The live site(s) whose sink has the ticket granted now. */
  async grantedAt(ticket: string): Promise<LoopbackMember[]> {
    const out: LoopbackMember[] = [];
    for (const m of this.sites) {
      if (m.proc === null) continue;
      const t = await this.localTicket(m, ticket).catch(() => null);
      if (t?.grantedHere === true) out.push(m);
    }
    return out;
  }

  async stop(keep = false): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m, 'SIGTERM')));
    // Lease guards outlive their agents by design; a test formation takes them down with it.
    for (const m of this.sites) {
      const pid = await runningLeaseGuard(m.dir);
      if (pid !== null) process.kill(pid, 'SIGTERM');
    }
    if (!keep) await rm(this.root, { recursive: true, force: true });
  }
}
