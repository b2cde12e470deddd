// The tollbooth node helper (DESIGN.md §5, §7): a small daemon on every
// cluster node of a site that carries out the steps of a quorum-guardian
// promotion which must run on that node. It is NOT a remote shell: it knows
// six actions, each a fixed sequence of commands run through the one process
// runner (process-runner.ts: argv arrays, timeouts, bounded output), and it runs one only when the request is signed by one of the
// site agent keys it was configured with.
//
//   remove-remote-resource R   stop R's ocf:pacemaker:remote resource, wait
//                              until it is not running, delete it
//                              (crm_resource; pcs node_remove_remote and
//                              crmsh do the same, pacemaker.md §6.1)
//   crm-node-remove NAME       crm_node --force --remove NAME (refused while
//                              NAME is an online node)
//   write-nodelist H+TEXT      atomically replace corosync.conf with TEXT
//                              whose sha256 is H (optionally only if the
//                              current file has a given hash), after checking
//                              TEXT is a config we accept and lists this node
//   cfgtool-reload             corosync-cfgtool -R (cluster-wide reload)
//   start-cluster-stack        the configured start commands (default:
//                              systemctl stop pacemaker_remote, start
//                              corosync, start pacemaker); refused unless
//                              corosync.conf lists this node
//   quorum-status              corosync-quorumtool -s -p, parsed, and (best
//                              effort) the members crm_mon lists online
//
// Wire: TCP, one request per connection, one line of JSON each way.
//   request  {"v":1,"signer":B64(raw Ed25519 public key),"body":B64(body JSON),"sig":B64(signature)}
//   body     {"purpose":"tollbooth-node-helper/v1","site":S,"node":N,"action":A,"args":{…},"ts":UNIX_MS,"nonce":RANDOM}
//   signed   "tollbooth-node-helper/v1\0" ‖ body bytes (node:crypto Ed25519, as src/wire/signer.ts)
//   answer   {"v":1,"ok":true,"action":A,"result":{…}} | {"v":1,"ok":false,"reason":R,"message":…}
// The body names the site and the node, so a request cannot be replayed at
// another helper; `ts` must lie within ±timestampWindowMs of the helper's
// wall clock and `nonce` is remembered until `ts` leaves the window, so a
// request cannot be replayed at the same helper either. The nodes of one
// site share a LAN and (as Pacemaker itself assumes) NTP; the window, 30 s by
// default, bounds the skew tolerated. Refusals are named (RefusalReason) and
// change nothing: every check runs before any command.
//
// Answers are not signed: a forged "ok" could at worst make the executor go
// on to its next step, which re-checks quorum through corosync-quorumtool
// before every change and verifies the final votes (guardian/promotion-executor.ts).
//
// Run it as root (it writes corosync.conf and starts services), e.g. with
// systemd (the command line is the lead's wiring, see src/cli/quorum.ts):
//   [Unit]
//   Description=tollbooth node helper (quorum guardian actions)
//   After=network-online.target
//   [Service]
//   ExecStart=/usr/bin/tollbooth quorum helper --site SITE --node %H \
//             --listen 10.0.0.11:9931 --agent-key BASE64
//   Restart=on-failure
//   NoNewPrivileges=yes
//   [Install]
//   WantedBy=multi-user.target

import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, open, rename, stat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { corosyncConfBytesMax, CorosyncConfError, parseCorosyncConf, summarizeCorosyncConf } from './corosync-conf.js';
import { CorosyncObserveError, parseCrmMonXml, parseQuorumtoolStatus, parseXml } from './corosync-observe.js';
import { describeFailedRun, stderrExcerpt, systemProcessRunner, type ProcessRunner } from '../process-runner.js';
import { readRegularTextFile } from '../../config/regular-file.js';
import type { QuorumHelpers, QuorumtoolStatus } from '../../ports/guardian.js';
import type { AbortOptions } from '../../ports/ports.js';
import { Ed25519Signer, publicKeyFromRaw, publicKeyToRaw, verifyEd25519 } from '../../wire/signer.js';
import { errorFields, TollboothError } from '../../errors.js';
import { timestampWindowMsDefault } from './node-helper-limits.js';

export const nodeHelperPurpose = 'tollbooth-node-helper/v1';
const signaturePrefix = Buffer.from(`${nodeHelperPurpose}\0`, 'utf8');

export const nodeHelperActions = [
  'remove-remote-resource',
  'crm-node-remove',
  'write-nodelist',
  'cfgtool-reload',
  'start-cluster-stack',
  'quorum-status',
] as const;
export type NodeHelperAction = (typeof nodeHelperActions)[number];

type NoArgs = Record<string, never>;
export interface NodeHelperArgs {
  'remove-remote-resource': { readonly resource: string };
  'crm-node-remove': { readonly name: string };
  'write-nodelist': { readonly sha256: string; readonly content: string; readonly ifSha256?: string };
  'cfgtool-reload': NoArgs;
  'start-cluster-stack': NoArgs;
  'quorum-status': NoArgs;
}
export interface NodeHelperResults {
  'remove-remote-resource': { readonly alreadyAbsent: boolean; readonly stopWaitMs: number };
  'crm-node-remove': NoArgs;
  'write-nodelist': { readonly previousSha256: string | null; readonly sha256: string; readonly changed: boolean };
  'cfgtool-reload': NoArgs;
  'start-cluster-stack': NoArgs;
  'quorum-status': {
    readonly status: QuorumtoolStatus;
    /** Pacemaker's members as crm_mon lists them; null when crm_mon could not answer (pacemakerError says why). */
    readonly pacemaker: { readonly members: readonly { readonly name: string; readonly online: boolean }[] } | null;
    readonly pacemakerError: string | null;
  };
}

export const refusalReasons = [
  /** The request line is longer than requestBytesMax. */
  'oversized',
  /** Not the request shape (JSON, fields, base64, sizes). */
  'malformed',
  /** Signed by a key that is not one of the configured agent keys. */
  'unknown-key',
  /** The signature does not verify. */
  'bad-signature',
  /** Meant for another site or another node. */
  'wrong-site',
  'wrong-node',
  /** `ts` is older than the window (or so far ahead that clocks disagree). */
  'expired',
  'not-yet-valid',
  /** This nonce was already used inside the window. */
  'replayed',
  /** Too many nonces live at once: refused rather than forgetting one (which would allow a replay). */
  'replay-cache-full',
  'unknown-action',
  'bad-args',
  /** Another changing action is running (they run one at a time). */
  'busy',
  'too-many-connections',
  /** The request did not arrive within requestReadTimeoutMs. */
  'read-timeout',
  /** The action's precondition does not hold (see each action); nothing was run. */
  'precondition',
  /** A command of the action failed (exit code, timeout, missing binary): the message says which. */
  'failed',
] as const;
export type RefusalReason = (typeof refusalReasons)[number];

export type HelperBinary = 'crm_resource' | 'crm_node' | 'crm_mon' | 'corosync-cfgtool' | 'corosync-quorumtool' | 'systemctl';

/** One start-cluster-stack command: a binary (a HelperBinary key or a path) and its argv. */
export interface StackCommand {
  readonly binary: string;
  readonly args: readonly string[];
  /** Exit codes that count as success; default [0]. */
  readonly okExitCodes?: readonly number[];
}

/** Default start sequence on a systemd host. Exit 5 = unit not loaded (no pacemaker_remote installed). */
export const defaultStartCommands: readonly StackCommand[] = [
  { binary: 'systemctl', args: ['stop', 'pacemaker_remote.service'], okExitCodes: [0, 5] },
  { binary: 'systemctl', args: ['start', 'corosync.service'] },
  { binary: 'systemctl', args: ['start', 'pacemaker.service'] },
];

export interface HelperLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface HelperRequestEvent {
  readonly action: string | null;
  readonly ok: boolean;
  readonly reason: RefusalReason | null;
  readonly durationMs: number;
}

export { timestampWindowMsDefault } from './node-helper-limits.js';

export interface NodeHelperOptions {
  /** This node's name as in corosync.conf / Pacemaker. */
  readonly node: string;
  /** The site label requests must carry (the site agent's address or the formation name). */
  readonly site: string;
  readonly host: string;
  /** 0 = any free port (tests). */
  readonly port: number;
  /** Raw 32-byte Ed25519 public keys of the site agent(s) allowed to ask. */
  readonly agentKeys: readonly Uint8Array[];
  readonly corosyncConfPath?: string;
  /** Paths of the binaries; in unit tests, stubs. Default: looked up on PATH. */
  readonly binaries?: Partial<Record<HelperBinary, string>>;
  readonly startCommands?: readonly StackCommand[];
  /** Runs the commands. Default: the real one (tests inject fakes). */
  readonly runner?: ProcessRunner;
  /** Wall clock, Unix ms. Default Date.now. */
  readonly wallClockMs?: () => number;
  /** Accepted |helper clock − ts|. Default timestampWindowMsDefault. */
  readonly timestampWindowMs?: number;
  /** Nonces remembered at once. Default helperNonceCountMaxDefault. */
  readonly nonceCountMax?: number;
  /** Longest request line. Default helperRequestBytesMaxDefault. */
  readonly requestBytesMax?: number;
  /** Connections served at once. Default helperConnectionsMaxDefault. */
  readonly connectionsMax?: number;
  readonly requestReadTimeoutMs?: number;
  /** Deadline of one command. Default helperCommandTimeoutMsDefault. */
  readonly commandTimeoutMs?: number;
  /** How long remove-remote-resource waits for the connection to stop. Default remoteStopTimeoutMsDefault. */
  readonly remoteStopTimeoutMs?: number;
  readonly pollIntervalMs?: number;
  /** Waits between polls (tests: resolve at once). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Monotonic clock for the stop deadline, ms. Default performance.now. */
  readonly nowMs?: () => number;
  readonly logger?: HelperLogger;
  readonly onRequest?: (event: HelperRequestEvent) => void;
}

/** Connections the helper serves at once. */
export const helperConnectionsMaxDefault = 8;
/** Longest request line, bytes (a corosync.conf is a few KiB). */
export const helperRequestBytesMaxDefault = 256 * 1024;
/** A request must arrive whole within this, ms. */
export const helperRequestReadTimeoutMsDefault = 5_000;
/** Nonces remembered at once (more live requests are refused, never forgotten: that would allow a replay). */
export const helperNonceCountMaxDefault = 4096;
/** How long remove-remote-resource waits for the connection to stop, ms (measured 0.4 s in the lab). */
export const remoteStopTimeoutMsDefault = 60_000;
/** Wait between crm_resource --locate polls while a connection stops, ms. */
export const remoteStopPollIntervalMsDefault = 200;
/** Longest answer the client accepts, bytes. */
export const helperResponseBytesMaxDefault = 1024 * 1024;
/** Characters of a tool's unexpected output quoted in a refusal. */
const outputQuoteCharsMax = 200;
/** Characters of a helper's refusal message the client keeps. */
const refusalMessageCharsMax = 2000;

/** Deadline of one command the helper runs, ms. */
export const helperCommandTimeoutMsDefault = 60_000;
/** Largest output read from one command, bytes (crm_mon of a big cluster). */
const helperOutputBytesMax = 8 * 1024 * 1024;

/** A refusal or failure inside the helper, carried to the client as {reason, message}. */
class Refusal extends TollboothError<'NODE_HELPER_REFUSAL'> {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super('NODE_HELPER_REFUSAL', message, { details: { reason } });
  }
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const sha256Pattern = /^[0-9a-f]{64}$/;
const noncePattern = /^[A-Za-z0-9_-]{16,64}$/;
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function strictBase64(text: unknown, what: string, bytesMax: number): Buffer {
  if (typeof text !== 'string' || !base64Pattern.test(text) || text.length > Math.ceil(bytesMax / 3) * 4) throw new Refusal('malformed', `${what} is not base64 of at most ${bytesMax} bytes`);
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) throw new Refusal('malformed', `${what} is not canonical base64`);
  return buf;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function exactKeys(o: Record<string, unknown>, required: readonly string[], optional: readonly string[], what: string, reason: RefusalReason): void {
  for (const k of required) if (!Object.hasOwn(o, k)) throw new Refusal(reason, `${what} lacks ${k}`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) throw new Refusal(reason, `${what} has an unknown field ${k}`);
}

/** Checks an action's args; returns them typed. Throws Refusal('bad-args'). */
export function validateArgs<A extends NodeHelperAction>(action: A, args: unknown): NodeHelperArgs[A] {
  if (!isRecord(args)) throw new Refusal('bad-args', 'args must be an object');
  const name = (k: string): void => {
    const v = args[k];
    if (typeof v !== 'string' || !namePattern.test(v)) throw new Refusal('bad-args', `${k} must be a node or resource name (${namePattern.source})`);
  };
  switch (action) {
    case 'remove-remote-resource':
      exactKeys(args, ['resource'], [], 'args', 'bad-args');
      name('resource');
      break;
    case 'crm-node-remove':
      exactKeys(args, ['name'], [], 'args', 'bad-args');
      name('name');
      break;
    case 'write-nodelist': {
      exactKeys(args, ['sha256', 'content'], ['ifSha256'], 'args', 'bad-args');
      if (typeof args.sha256 !== 'string' || !sha256Pattern.test(args.sha256)) throw new Refusal('bad-args', 'sha256 must be 64 lowercase hex digits');
      if (args.ifSha256 !== undefined && (typeof args.ifSha256 !== 'string' || !sha256Pattern.test(args.ifSha256))) throw new Refusal('bad-args', 'ifSha256 must be 64 lowercase hex digits');
      if (typeof args.content !== 'string' || Buffer.byteLength(args.content) > corosyncConfBytesMax) throw new Refusal('bad-args', 'content must be a string of at most 1 MiB');
      if (sha256Hex(args.content) !== args.sha256) throw new Refusal('bad-args', 'content does not hash to sha256');
      break;
    }
    default:
      exactKeys(args, [], [], 'args', 'bad-args');
  }
  return args as unknown as NodeHelperArgs[A];
}

// ───────────── the server ─────────────

export class NodeHelperServer {
  readonly #o: NodeHelperOptions;
  readonly #keys = new Map<string, KeyObject>();
  readonly #nonces = new Map<string, number>();
  readonly #sockets = new Set<Socket>();
  readonly #refusals = new Map<RefusalReason, number>();
  readonly #runner: ProcessRunner;
  readonly #confPath: string;
  #server: Server | null = null;
  #busy = false;

  constructor(options: NodeHelperOptions) {
    if (!namePattern.test(options.node)) throw new Error(`node name ${JSON.stringify(options.node)} is not a plain name`);
    if (options.site === '' || options.site.length > 256) throw new Error('site label must be 1..256 characters');
    if (options.agentKeys.length === 0) throw new Error('the node helper needs at least one agent key');
    for (const raw of options.agentKeys) {
      const key = publicKeyFromRaw(raw);
      this.#keys.set(Buffer.from(publicKeyToRaw(key)).toString('base64'), key);
    }
    this.#o = options;
    this.#runner = options.runner ?? systemProcessRunner;
    this.#confPath = options.corosyncConfPath ?? '/etc/corosync/corosync.conf';
  }

  /** Refusals so far, by reason (for logs and tests). */
  refusals(): ReadonlyMap<RefusalReason, number> {
    return this.#refusals;
  }

  async start(): Promise<{ host: string; port: number }> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('node helper: no TCP address');
    this.#o.logger?.info({ host: addr.address, port: addr.port, node: this.#o.node }, 'node helper listening');
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #count(reason: RefusalReason): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
  }

  #accept(socket: Socket): void {
    const max = this.#o.connectionsMax ?? helperConnectionsMaxDefault;
    if (this.#sockets.size >= max) {
      this.#count('too-many-connections');
      socket.end(`${JSON.stringify({ v: 1, ok: false, reason: 'too-many-connections', message: `more than ${max} connections` })}\n`);
      socket.destroySoon();
      return;
    }
    this.#sockets.add(socket);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      // A client that hung up before sending a whole line gets no answer and costs no refusal.
      if (!done) {
        done = true;
        clearTimeout(timer);
      }
    });
    socket.on('error', (err) => this.#o.logger?.warn(errorFields(err), 'node helper connection error'));
    const bytesMax = this.#o.requestBytesMax ?? helperRequestBytesMaxDefault;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const reply = (answer: object): void => {
      done = true;
      clearTimeout(timer);
      socket.end(`${JSON.stringify({ v: 1, ...answer })}\n`);
    };
    const timer = setTimeout(() => {
      if (done) return;
      this.#count('read-timeout');
      reply({ ok: false, reason: 'read-timeout', message: 'no complete request in time' });
    }, this.#o.requestReadTimeoutMs ?? helperRequestReadTimeoutMsDefault);
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      const nl = chunk.indexOf(0x0a);
      const part = nl < 0 ? chunk : chunk.subarray(0, nl);
      size += part.length;
      if (size > bytesMax) {
        this.#count('oversized');
        this.#emit(null, false, 'oversized', 0);
        reply({ ok: false, reason: 'oversized', message: `request longer than ${bytesMax} bytes` });
        return;
      }
      chunks.push(part);
      if (nl < 0) return;
      done = true;
      clearTimeout(timer);
      socket.pause();
      const line = Buffer.concat(chunks).toString('utf8');
      this.#handle(line).then(
        (answer) => {
          done = false;
          reply(answer);
        },
        (err: unknown) => {
          done = false;
          this.#o.logger?.warn(errorFields(err), 'node helper internal error');
          reply({ ok: false, reason: 'failed', message: `internal error: ${(err as Error).message}` });
        },
      );
    });
  }

  #emit(action: string | null, ok: boolean, reason: RefusalReason | null, durationMs: number): void {
    this.#o.onRequest?.({ action, ok, reason, durationMs });
  }

  /** Checks and runs one request line; returns the answer (without `v`). */
  async #handle(line: string): Promise<object> {
    const started = performance.now();
    let action: string | null = null;
    try {
      const req = this.#authenticate(line);
      action = req.action;
      const result = await this.#run(req.action, req.args);
      this.#o.logger?.info({ action, durationMs: Math.round(performance.now() - started) }, 'node helper action done');
      this.#emit(action, true, null, performance.now() - started);
      return { ok: true, action, result };
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      this.#count(err.reason);
      this.#o.logger?.warn({ action, reason: err.reason, message: err.message, code: err.code }, 'node helper refused a request');
      this.#emit(action, false, err.reason, performance.now() - started);
      return { ok: false, reason: err.reason, message: err.message };
    }
  }

  #authenticate(line: string): { action: NodeHelperAction; args: NodeHelperArgs[NodeHelperAction] } {
    let env: unknown;
    try {
      env = JSON.parse(line);
    } catch {
      throw new Refusal('malformed', 'request is not JSON');
    }
    if (!isRecord(env)) throw new Refusal('malformed', 'request is not a JSON object');
    exactKeys(env, ['v', 'signer', 'body', 'sig'], [], 'request', 'malformed');
    if (env.v !== 1) throw new Refusal('malformed', 'unsupported version');
    const signer = strictBase64(env.signer, 'signer', 32);
    const body = strictBase64(env.body, 'body', this.#o.requestBytesMax ?? helperRequestBytesMaxDefault);
    const sig = strictBase64(env.sig, 'sig', 64);
    const key = this.#keys.get(signer.toString('base64'));
    if (key === undefined) throw new Refusal('unknown-key', 'the request is signed by a key this helper does not accept');
    if (!verifyEd25519(key, Buffer.concat([signaturePrefix, body]), sig)) throw new Refusal('bad-signature', 'the signature does not verify');

    let b: unknown;
    try {
      b = JSON.parse(body.toString('utf8'));
    } catch {
      throw new Refusal('malformed', 'body is not JSON');
    }
    if (!isRecord(b)) throw new Refusal('malformed', 'body is not a JSON object');
    exactKeys(b, ['purpose', 'site', 'node', 'action', 'args', 'ts', 'nonce'], [], 'body', 'malformed');
    if (b.purpose !== nodeHelperPurpose) throw new Refusal('malformed', 'wrong purpose');
    if (b.site !== this.#o.site) throw new Refusal('wrong-site', `request is for site ${JSON.stringify(b.site)}, this helper serves ${JSON.stringify(this.#o.site)}`);
    if (b.node !== this.#o.node) throw new Refusal('wrong-node', `request is for node ${JSON.stringify(b.node)}, this is ${this.#o.node}`);
    if (typeof b.ts !== 'number' || !Number.isSafeInteger(b.ts)) throw new Refusal('malformed', 'ts must be an integer (Unix ms)');
    if (typeof b.nonce !== 'string' || !noncePattern.test(b.nonce)) throw new Refusal('malformed', 'nonce must be 16..64 base64url characters');
    const now = (this.#o.wallClockMs ?? Date.now)();
    const window = this.#o.timestampWindowMs ?? timestampWindowMsDefault;
    if (b.ts < now - window) throw new Refusal('expired', `request is ${now - b.ts} ms old; the window is ${window} ms`);
    if (b.ts > now + window) throw new Refusal('not-yet-valid', `request is dated ${b.ts - now} ms ahead; the window is ${window} ms`);
    for (const [n, expiry] of this.#nonces) if (expiry < now) this.#nonces.delete(n);
    if (this.#nonces.has(b.nonce)) throw new Refusal('replayed', 'this nonce was already used');
    if (this.#nonces.size >= (this.#o.nonceCountMax ?? helperNonceCountMaxDefault)) throw new Refusal('replay-cache-full', 'too many recent requests');
    // From here the request is authentic and fresh: remember its nonce even if it is refused below.
    this.#nonces.set(b.nonce, b.ts + window);
    if (typeof b.action !== 'string' || !(nodeHelperActions as readonly string[]).includes(b.action)) {
      throw new Refusal('unknown-action', `unknown action ${JSON.stringify(b.action)}; known: ${nodeHelperActions.join(', ')}`);
    }
    const action = b.action as NodeHelperAction;
    return { action, args: validateArgs(action, b.args) };
  }

  async #run(action: NodeHelperAction, args: NodeHelperArgs[NodeHelperAction]): Promise<object> {
    if (action === 'quorum-status') return this.#quorumStatus();
    if (this.#busy) throw new Refusal('busy', 'another action is running');
    this.#busy = true;
    try {
      switch (action) {
        case 'remove-remote-resource':
          return await this.#removeRemoteResource((args as NodeHelperArgs['remove-remote-resource']).resource);
        case 'crm-node-remove':
          return await this.#crmNodeRemove((args as NodeHelperArgs['crm-node-remove']).name);
        case 'write-nodelist':
          return await this.#writeNodelist(args as NodeHelperArgs['write-nodelist']);
        case 'cfgtool-reload':
          await this.#exec('corosync-cfgtool', ['-R']);
          return {};
        case 'start-cluster-stack':
          return await this.#startClusterStack();
      }
    } finally {
      this.#busy = false;
    }
  }

  async #exec(binary: string, args: readonly string[], okExitCodes: readonly number[] = [0]): Promise<string> {
    const r = await this.#runner.run({
      tool: binary,
      file: this.#o.binaries?.[binary as HelperBinary] ?? binary,
      argv: args,
      timeoutMs: this.#o.commandTimeoutMs ?? helperCommandTimeoutMsDefault,
      outputBytesMax: helperOutputBytesMax,
    });
    if (r.kind !== 'exited') throw new Refusal('failed', describeFailedRun(r));
    if (!okExitCodes.includes(r.exitCode)) {
      const stderr = stderrExcerpt(r);
      throw new Refusal('failed', `${binary} ${args.join(' ')} exited ${r.exitCode}${stderr === '' ? '' : `: ${stderr}`}`);
    }
    return r.stdout;
  }

  async #monitor(): Promise<ReturnType<typeof parseCrmMonXml>> {
    const out = await this.#exec('crm_mon', ['-1', '--output-as=xml', '--inactive']);
    try {
      return parseCrmMonXml(out, 'crm_mon -1 --output-as=xml --inactive');
    } catch (err) {
      if (err instanceof CorosyncObserveError) throw new Refusal('failed', err.message);
      throw err;
    }
  }

  async #quorumStatus(): Promise<NodeHelperResults['quorum-status']> {
    const out = await this.#exec('corosync-quorumtool', ['-s', '-p'], [0, 2]);
    let status: QuorumtoolStatus;
    try {
      status = parseQuorumtoolStatus(out);
    } catch (err) {
      if (err instanceof CorosyncObserveError) throw new Refusal('failed', err.message);
      throw err;
    }
    // Pacemaker's view is extra: corosync's answer stands even when crm_mon cannot answer.
    try {
      const mon = await this.#monitor();
      return { status, pacemaker: { members: mon.nodes.filter((n) => n.type === 'member').map((n) => ({ name: n.name, online: n.online })) }, pacemakerError: null };
    } catch (err) {
      if (err instanceof Refusal) return { status, pacemaker: null, pacemakerError: err.message };
      throw err;
    }
  }

  async #removeRemoteResource(resource: string): Promise<NodeHelperResults['remove-remote-resource']> {
    const mon = await this.#monitor();
    if (!mon.remoteResources.some((r) => r.id === resource)) {
      if (mon.resourceIds.includes(resource)) throw new Refusal('precondition', `${resource} is not an ocf:pacemaker:remote resource`);
      return { alreadyAbsent: true, stopWaitMs: 0 };
    }
    await this.#exec('crm_resource', ['--resource', resource, '--meta', '--set-parameter', 'target-role', '--parameter-value', 'Stopped']);
    // Stop, wait, then delete (measured 0.4 s in the lab): deleting a running
    // connection left crm_node --remove of the node taking 1 s. The XML form
    // of --locate: the text form prints "is NOT running" on stderr (measured).
    const nowMs = this.#o.nowMs ?? (() => performance.now());
    const started = nowMs();
    const remoteStopTimeoutMs = this.#o.remoteStopTimeoutMs ?? remoteStopTimeoutMsDefault;
    const deadline = started + remoteStopTimeoutMs;
    const sleep = this.#o.sleep ?? ((ms: number) => sleepTimer(ms));
    for (;;) {
      const out = await this.#exec('crm_resource', ['--resource', resource, '--locate', '--output-as=xml']);
      if (locatedOn(out, resource).length === 0) break;
      if (nowMs() >= deadline) throw new Refusal('failed', `${resource} still running after ${remoteStopTimeoutMs} ms (target-role=Stopped is set)`);
      await sleep(this.#o.pollIntervalMs ?? remoteStopPollIntervalMsDefault);
    }
    const stopWaitMs = Math.round(nowMs() - started);
    await this.#exec('crm_resource', ['--resource', resource, '--delete', '--resource-type', 'primitive']);
    return { alreadyAbsent: false, stopWaitMs };
  }

  async #crmNodeRemove(name: string): Promise<object> {
    const mon = await this.#monitor();
    const node = mon.nodes.find((n) => n.name === name);
    if (node?.online === true) throw new Refusal('precondition', `${name} is online; only a stopped node can be removed`);
    await this.#exec('crm_node', ['--force', '--remove', name]);
    return {};
  }

  async #readConf(): Promise<string | null> {
    try {
      // Only a regular file, bounded (regular-file.ts): a FIFO here would hang every request.
      return await readRegularTextFile(this.#confPath, corosyncConfBytesMax);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Refusal('failed', `cannot read ${this.#confPath}: ${(err as Error).message}`);
    }
  }

  async #writeNodelist(args: NodeHelperArgs['write-nodelist']): Promise<NodeHelperResults['write-nodelist']> {
    try {
      const summary = summarizeCorosyncConf(parseCorosyncConf(args.content, this.#confPath));
      if (!summary.nodes.some((n) => n.name === this.#o.node)) throw new Refusal('precondition', `the new nodelist does not list this node (${this.#o.node})`);
    } catch (err) {
      if (err instanceof CorosyncConfError) throw new Refusal('bad-args', `content: ${err.message}`);
      throw err;
    }
    const current = await this.#readConf();
    const previousSha256 = current === null ? null : sha256Hex(current);
    if (args.ifSha256 !== undefined && previousSha256 !== args.ifSha256) {
      throw new Refusal('precondition', `${this.#confPath} has sha256 ${previousSha256 ?? '(no file)'}, the request expects ${args.ifSha256}`);
    }
    if (previousSha256 === args.sha256) return { previousSha256, sha256: args.sha256, changed: false };
    await writeAtomically(this.#confPath, args.content, current !== null);
    return { previousSha256, sha256: args.sha256, changed: true };
  }

  async #startClusterStack(): Promise<object> {
    const conf = await this.#readConf();
    if (conf === null) throw new Refusal('precondition', `${this.#confPath} does not exist`);
    try {
      const summary = summarizeCorosyncConf(parseCorosyncConf(conf, this.#confPath));
      if (!summary.nodes.some((n) => n.name === this.#o.node)) throw new Refusal('precondition', `${this.#confPath} does not list this node (${this.#o.node}); write the nodelist first`);
    } catch (err) {
      if (err instanceof CorosyncConfError) throw new Refusal('precondition', `${this.#confPath}: ${err.message}`);
      throw err;
    }
    for (const c of this.#o.startCommands ?? defaultStartCommands) await this.#exec(c.binary, c.args, c.okExitCodes ?? [0]);
    return {};
  }
}

/**
 * Nodes that `crm_resource --resource R --locate --output-as=xml` says run R:
 * `<nodes resource="R"><node>node1</node>…</nodes>`, empty when stopped.
 * Throws Refusal('failed') on anything else.
 */
export function locatedOn(stdout: string, resource: string): string[] {
  const source = `crm_resource --resource ${resource} --locate --output-as=xml`;
  try {
    const root = parseXml(stdout, source);
    const status = root.children.find((c) => c.name === 'status');
    const nodes = root.children.find((c) => c.name === 'nodes');
    if (root.name !== 'pacemaker-result' || status?.attrs.get('code') !== '0' || nodes === undefined || nodes.attrs.get('resource') !== resource) {
      throw new CorosyncObserveError('BAD_OUTPUT', source, `unexpected answer ${JSON.stringify(stdout.slice(0, outputQuoteCharsMax))}`);
    }
    return nodes.children.map((n) => {
      const name = n.text.trim();
      if (n.name !== 'node' || name === '') throw new CorosyncObserveError('BAD_OUTPUT', source, `unexpected <${n.name}> in <nodes>`);
      return name;
    });
  } catch (err) {
    if (err instanceof CorosyncObserveError) throw new Refusal('failed', err.message);
    throw err;
  }
}

/**
 * Replaces `path` with `content` so that a crash leaves the old or the new
 * file, never a mix: a temp file in the same directory, fsync, rename, fsync
 * of the directory. The previous file is kept as `<path>.tollbooth-prev`.
 */
async function writeAtomically(path: string, content: string, hadFile: boolean): Promise<void> {
  const tmp = `${path}.tollbooth-tmp`;
  let mode = 0o644;
  if (hadFile) {
    mode = (await stat(path)).mode & 0o7777;
    await copyFile(path, `${path}.tollbooth-prev`);
  }
  const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, mode);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

// ───────────── the client ─────────────

export type NodeHelperErrorCode =
  /** No helper is configured for that node. */
  | 'UNKNOWN_NODE'
  /** The TCP connection failed. */
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'ABORTED'
  /** The helper answered with a refusal or failure (see `reason`). */
  | 'REFUSED'
  /** The answer is not what a helper sends. */
  | 'PROTOCOL';

export class NodeHelperError extends TollboothError<NodeHelperErrorCode> {
  constructor(
    code: NodeHelperErrorCode,
    readonly node: string,
    readonly action: NodeHelperAction,
    message: string,
    readonly reason: RefusalReason | null = null,
  ) {
    super(code, `${code}${reason === null ? '' : `/${reason}`}: ${action} on ${node}: ${message}`, { details: { node, action, reason } });
  }
}

export interface NodeHelperEndpoint {
  readonly node: string;
  readonly host: string;
  readonly port: number;
}

export interface NodeHelperClientOptions {
  readonly site: string;
  /** The site agent's Ed25519 private key (its member key). */
  readonly privateKey: KeyObject;
  readonly endpoints: readonly NodeHelperEndpoint[];
  /** Per-call deadline unless the call gives one: the guardian file's helper-timeout (remove-remote-resource waits for a stop). */
  readonly timeoutMs: number;
  readonly wallClockMs?: () => number;
  /** Longest answer accepted. Default helperResponseBytesMaxDefault. */
  readonly responseBytesMax?: number;
}

export interface HelperCallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** What the executor needs from the helpers; NodeHelperClient is the real one, tests use fakes. */
export interface NodeHelperPort {
  call<A extends NodeHelperAction>(node: string, action: A, args: NodeHelperArgs[A], options?: HelperCallOptions): Promise<NodeHelperResults[A]>;
}

/** The request line for one call (exported so tests can build good and bad ones). */
export function encodeHelperRequest(
  signer: Ed25519Signer,
  fields: { site: string; node: string; action: string; args: unknown; ts: number; nonce: string },
): string {
  const body = Buffer.from(JSON.stringify({ purpose: nodeHelperPurpose, site: fields.site, node: fields.node, action: fields.action, args: fields.args, ts: fields.ts, nonce: fields.nonce }), 'utf8');
  const sig = signer.sign(Buffer.concat([signaturePrefix, body]));
  return `${JSON.stringify({ v: 1, signer: Buffer.from(publicKeyToRaw(signer.publicKey)).toString('base64'), body: body.toString('base64'), sig: Buffer.from(sig).toString('base64') })}\n`;
}

/** A fresh nonce: 16 random bytes, base64url. */
export function helperNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** Sends one line to host:port and resolves with the one line answered. */
export function exchangeLine(host: string, port: number, line: string, o: { timeoutMs: number; signal?: AbortSignal; responseBytesMax: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | null, value?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === null) resolve(value!);
      else reject(err);
    };
    const onAbort = (): void => finish(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const timer = setTimeout(() => finish(Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT_HELPER' })), o.timeoutMs);
    if (o.signal?.aborted === true) {
      onAbort();
      return;
    }
    o.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => socket.write(line));
    socket.on('error', (err) => finish(err));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > o.responseBytesMax) {
        finish(Object.assign(new Error(`answer longer than ${o.responseBytesMax} bytes`), { code: 'EPROTO_HELPER' }));
        return;
      }
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(0x0a);
      if (nl >= 0) finish(null, all.subarray(0, nl).toString('utf8'));
    });
    socket.on('end', () => finish(Object.assign(new Error('connection closed without an answer'), { code: 'EPROTO_HELPER' })));
  });
}

export class NodeHelperClient implements NodeHelperPort {
  readonly #o: NodeHelperClientOptions;
  readonly #signer: Ed25519Signer;
  readonly #endpoints: ReadonlyMap<string, NodeHelperEndpoint>;

  constructor(options: NodeHelperClientOptions) {
    this.#o = options;
    this.#signer = new Ed25519Signer(options.privateKey);
    this.#endpoints = new Map(options.endpoints.map((e) => [e.node, e]));
  }

  async call<A extends NodeHelperAction>(node: string, action: A, args: NodeHelperArgs[A], options: HelperCallOptions = {}): Promise<NodeHelperResults[A]> {
    const ep = this.#endpoints.get(node);
    if (ep === undefined) throw new NodeHelperError('UNKNOWN_NODE', node, action, 'no node helper configured for this node');
    const line = encodeHelperRequest(this.#signer, {
      site: this.#o.site,
      node,
      action,
      args,
      ts: (this.#o.wallClockMs ?? Date.now)(),
      nonce: helperNonce(),
    });
    let answerLine: string;
    try {
      answerLine = await exchangeLine(ep.host, ep.port, line, {
        timeoutMs: options.timeoutMs ?? this.#o.timeoutMs,
        responseBytesMax: this.#o.responseBytesMax ?? helperResponseBytesMaxDefault,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ABORT_ERR') throw new NodeHelperError('ABORTED', node, action, 'aborted');
      if (code === 'ETIMEDOUT_HELPER') throw new NodeHelperError('TIMEOUT', node, action, (err as Error).message);
      if (code === 'EPROTO_HELPER') throw new NodeHelperError('PROTOCOL', node, action, (err as Error).message);
      throw new NodeHelperError('UNREACHABLE', node, action, `${ep.host}:${ep.port}: ${(err as Error).message}`);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(answerLine);
    } catch {
      throw new NodeHelperError('PROTOCOL', node, action, 'answer is not JSON');
    }
    if (!isRecord(answer) || answer.v !== 1 || typeof answer.ok !== 'boolean') throw new NodeHelperError('PROTOCOL', node, action, 'answer has the wrong shape');
    if (!answer.ok) {
      const reason = (refusalReasons as readonly string[]).includes(answer.reason as string) ? (answer.reason as RefusalReason) : null;
      throw new NodeHelperError('REFUSED', node, action, typeof answer.message === 'string' ? answer.message.slice(0, refusalMessageCharsMax) : 'refused', reason);
    }
    if (answer.action !== action || !isRecord(answer.result)) throw new NodeHelperError('PROTOCOL', node, action, 'answer is for another action or has no result');
    return answer.result as unknown as NodeHelperResults[A];
  }
}

/** The executor's helper port (guardian/promotion-executor.ts) over a node helper client. */
export function quorumHelpersOver(client: NodeHelperPort): QuorumHelpers {
  const call = <A extends NodeHelperAction>(node: string, action: A, args: NodeHelperArgs[A], o?: AbortOptions): Promise<NodeHelperResults[A]> =>
    client.call(node, action, args, o?.signal === undefined ? {} : { signal: o.signal });
  return {
    removeRemoteResource: async (node, resource, o) => {
      await call(node, 'remove-remote-resource', { resource }, o);
    },
    crmNodeRemove: async (node, name, o) => {
      await call(node, 'crm-node-remove', { name }, o);
    },
    writeNodelist: async (node, write, o) => {
      const r = await call(node, 'write-nodelist', write.ifSha256 === undefined ? { sha256: write.sha256, content: write.content } : { sha256: write.sha256, content: write.content, ifSha256: write.ifSha256 }, o);
      return { changed: r.changed };
    },
    reload: async (node, o) => {
      await call(node, 'cfgtool-reload', {}, o);
    },
    startClusterStack: async (node, o) => {
      await call(node, 'start-cluster-stack', {}, o);
    },
    quorumStatus: async (node, o) => {
      const { status, pacemaker } = await call(node, 'quorum-status', {}, o);
      return {
        quorate: status.quorate,
        expectedVotes: status.expectedVotes,
        totalVotes: status.totalVotes,
        members: status.members.map((m) => m.name),
        ...(pacemaker === null ? {} : { pacemakerOnline: pacemaker.members.filter((m) => m.online).map((m) => m.name) }),
      };
    },
  };
}
