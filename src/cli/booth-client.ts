// booth's client, served by tollbooth: `tollbooth booth ARGS…`, and the same
// code when the program runs under the name `booth` (/usr/sbin/booth is a
// link to it in the package). pcs, crmsh and Hawk call /usr/sbin/booth and
// read its output and exit codes; this file reproduces what they rely on, as
// /work/shared/reference/booth.md §5 records booth 1.0's client:
//
//   booth [client] list    [-s SITE] [-c NAME|FILE]
//   booth [client] grant   [-s SITE] [-c …] [-F] [-w] [-C] {-t TICKET | TICKET}
//   booth [client] revoke  [-s SITE] [-c …] [-w] {-t TICKET | TICKET}
//   booth [client] peers   [-s SITE] [-c …]
//   booth status [-c …] [-l LOCKFILE] [-D]
//   booth --version | -V | version,  booth -h | --help | help
//
// Options may come before or after the ticket (glibc's getopt permutes), `-c`
// takes a path or a short name (/etc/booth/NAME.conf, src/config/paths.ts),
// `-s other` is the other site of a two-site formation, and the ticket may be
// left out when the config has exactly one. Usage errors exit 1, as booth's.
//
// Where tollbooth's semantics differ on purpose, this client follows booth
// unless an option asks otherwise: boothClientDifferences below says how (it
// is also the man page's "DIFFERENCES FROM BOOTH" and docs/operations.md's).
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { quoted } from '../config/printable.js';
import { adminTimeoutMsRange, rangeText } from './numeric-option.js';
import { loadConfigFile } from '../config/index.js';
import type { FormationConfig } from '../config/formation-config.js';
import { formatConfigProblem, hasConfigErrors } from '../config/problems.js';
import { defaultSocketPath, resolveConfigPath } from '../config/paths.js';
import type { AdminRequest, AdminResponse, PeersView, TicketView } from '../runtime/admin-service.js';
import { TollboothError } from '../errors.js';

/** Where this client differs from booth 1.0's, and why; booth(8) prints this list. */
export const boothClientDifferences: readonly string[] = [
  "grant of a ticket that some site holds is refused with booth's \"You're granting a granted ticket\" (exit 1), as booth refuses it; tollbooth's own grant would make it a guarded move, and booth grant --move asks for that move.",
  '-F is accepted for booth\'s sake ("do not wait for unreachable sites"); the registry guards every grant anyway, and a ticket, manual ones included, is never granted to a second site.',
  'status exits 0 while the local member answers on its admin socket and 7 when it does not (the two codes pcs accepts); -l is accepted and ignored (tollbooth has no lock file).',
  'list answers from the local member\'s own view when no majority of the formation is reachable, says so on standard error, and exits 0 (booth\'s members always answer from their own copy). expires is the lease end as the registry leader sees it, or as the holder does (asked when the answering member neither leads nor holds the ticket: only those two know it), and is left out only when neither answers (the holder is asked best effort: one that does not answer in time, a dead one, never fails the list); a local member that does not answer a forwarded read within --timeout gives the local view too; leader is NONE for a ticket never granted, none for one revoked or lost.',
  '-s SITE is served by the local member, which forwards to that site; no admin key is needed on a member. SITE is an address of the config, a host name that resolves to one (the first of its addresses the config lists; booth takes the first IPv4 address only), or other: the other site of a two-site formation.',
  'revoke of a free ticket says "ticket is not owned" and exits 0, as booth does; revoke -w waits until the old holder has revoked it in its CIB.',
  'grant exits 1 on every failure (booth 1.0 exits 0 on some, fixed upstream in 1.1).',
  'boothd daemon (and booth daemon: one binary, two names, as booth) runs this host\'s member, a site agent or an arbitrator as the config says, with -S or -D in the foreground and otherwise started in the background (logging to /var/log/tollbooth/NAME.log) once it answers; -l is ignored, and tollbooth\'s own options follow "--". The booth-site resource and booth@NAME run tollbooth directly.',
  'peers shows the counters tollbooth keeps: frames sent and received per member, and rejected frames as authfail (bad signature, unknown key) or invalid; error and resends are always 0.',
];

/** booth's exit codes: success, any failure, and (status only) "not running" (OCF_NOT_RUNNING). */
export const boothExitOk = 0;
export const boothExitFailure = 1;
export const boothExitNotRunning = 7;

/** How long one request to the local member may take (the member's forwarding bound is 5 s). */
export const boothRequestTimeoutMsDefault = 10_000;
/** How long `grant -C` waits for the site's CIB write, and `-w` for the definite outcome. */
export const boothWaitMsDefault = 120_000;
const waitPollMs = 200;

/** How long `-s NAME` may wait for the resolver (getaddrinfo has no timeout of its own). */
export const boothLookupTimeoutMs = 5_000;

/**
 * A host name's addresses as getaddrinfo gives them (the system resolver:
 * /etc/hosts, then DNS), bounded by timeoutMs; rejects with the resolver's
 * code (ENOTFOUND, EAI_AGAIN) or ETIMEDOUT.
 */
export async function lookupHost(host: string, timeoutMs: number): Promise<readonly string[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer from the resolver within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  try {
    const found = await Promise.race([lookup(host, { all: true, verbatim: true }), late]);
    return found.map((a) => a.address);
  } finally {
    clearTimeout(timer);
  }
}

export type BoothOp = 'list' | 'grant' | 'revoke' | 'peers' | 'status';

export interface BoothArgs {
  readonly op: BoothOp;
  /** `-c`: a path or a short name; undefined = booth's default (/etc/booth/booth.conf). */
  readonly config: string | undefined;
  /** `-s`: a site address, or `other`. */
  readonly site: string | undefined;
  readonly ticket: string | undefined;
  /** `-F` (grant): booth's "immediately"; see the top of the file. */
  readonly immediate: boolean;
  /** `-w` (grant, revoke): wait for the definite outcome. */
  readonly wait: boolean;
  /** `-C` (grant): wait until the site has written the grant to its CIB. */
  readonly waitCommit: boolean;
  /** `-l` (status): booth's lock file; tollbooth has none and ignores it. */
  readonly lockfile: string | undefined;
  /** tollbooth's own: the local member's admin socket (else $TOLLBOOTH_SOCKET, else the config's name). */
  readonly socket: string | undefined;
  /** tollbooth's own: grant a ticket held elsewhere as a guarded move. */
  readonly move: boolean;
  readonly timeoutMs: number;
}

/** A parse of one of booth's programs: what to run, or help, version or a usage error. */
export type ParsedBoothProgram<A> = { readonly kind: 'run'; readonly args: A } | { readonly kind: 'help' } | { readonly kind: 'version' } | { readonly kind: 'error'; readonly message: string };

export type ParsedBoothArgs = ParsedBoothProgram<BoothArgs>;

const clientOps: readonly BoothOp[] = ['list', 'grant', 'revoke', 'peers'];

/** Options that take a value, with the ops that accept them (booth's getopt string "c:Dl:t:s:FhSwC"). */
const valueOptions = new Set(['-c', '-l', '-t', '-s', '--socket', '--timeout']);

/**
 * Parses booth's command line (argv without the program name). Pure: the
 * config is not read here.
 */
export function parseBoothArgs(argv: readonly string[]): ParsedBoothArgs {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'version' || first === '--version' || first === '-V') return { kind: 'version' };
  let op: string;
  let rest: readonly string[];
  if (first === 'client') {
    if (argv[1] === undefined) return { kind: 'help' };
    op = argv[1];
    rest = argv.slice(2);
  } else {
    op = first;
    rest = argv.slice(1);
  }
  if (op === 'daemon' || op === 'site' || op === 'arbitrator' || op === 'start') {
    // Reached only as `tollbooth booth daemon`: under the names booth and boothd, bin/tollbooth.ts runs src/cli/boothd.ts.
    return { kind: 'error', message: `"booth ${op}" starts booth's daemon: run it as "boothd ${op}" (/usr/sbin/boothd), or "tollbooth site-agent" / "tollbooth arbitrator"` };
  }
  if (first !== 'client' && op === 'status') {
    // status is its own mode in booth, not a client operation.
  } else if (!clientOps.includes(op as BoothOp)) {
    return { kind: 'error', message: `client operation "${op}" is unknown` };
  }
  const bop = op as BoothOp;
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--') {
      positional.push(...rest.slice(i + 1));
      break;
    }
    if (a === '--move') {
      flags.add(a);
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!valueOptions.has(name)) return { kind: 'error', message: `unknown option: ${a}` };
      const v = eq < 0 ? rest[++i] : a.slice(eq + 1);
      if (v === undefined) return { kind: 'error', message: `option ${name} needs a value` };
      values.set(name, v);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // Bundled short options as getopt reads them: -wC, -cNAME, -s SITE.
      for (let j = 1; j < a.length; j++) {
        const name = `-${a[j]}`;
        if (valueOptions.has(name)) {
          const inline = a.slice(j + 1);
          const v = inline !== '' ? inline : rest[++i];
          if (v === undefined) return { kind: 'error', message: `option requires an argument -- '${a[j]}'` };
          values.set(name, v);
          break;
        }
        if (!'DFhSwC'.includes(a[j]!)) return { kind: 'error', message: `unknown option: ${a}` };
        flags.add(name);
      }
      continue;
    }
    positional.push(a);
  }
  if (flags.has('-h')) return { kind: 'help' };
  const only = (flag: string, ops: readonly BoothOp[], what: string): string | null => (flags.has(flag) && !ops.includes(bop) ? `use "${flag}" only for ${what}` : null);
  const wrong =
    only('-F', ['grant'], 'client grant') ??
    only('-w', ['grant', 'revoke'], 'grant and revoke') ??
    only('-C', ['grant'], 'grant') ??
    only('--move', ['grant'], 'grant') ??
    (values.has('-t') && bop !== 'grant' && bop !== 'revoke' ? 'use "-t" only for grant and revoke' : null) ??
    (values.has('-s') && bop === 'status' ? '"-s" is not used with status' : null);
  if (wrong !== null) return { kind: 'error', message: wrong };
  let ticket = values.get('-t');
  if (ticket === undefined && (bop === 'grant' || bop === 'revoke')) ticket = positional.shift();
  if (positional.length > 0) return { kind: 'error', message: `Superfluous argument${positional.length === 1 ? '' : 's'}: ${positional[0]}${positional.length === 1 ? '' : '...'}` };
  let timeoutMs = boothRequestTimeoutMsDefault;
  const t = values.get('--timeout');
  if (t !== undefined) {
    const n = /^\d{1,15}$/.test(t) ? Number(t) : NaN;
    if (!(n >= adminTimeoutMsRange.min && n <= adminTimeoutMsRange.max)) return { kind: 'error', message: `--timeout: expected a whole number of milliseconds in ${rangeText(adminTimeoutMsRange)}, not ${quoted(t)}` };
    timeoutMs = n;
  }
  return {
    kind: 'run',
    args: {
      op: bop,
      config: values.get('-c'),
      site: values.get('-s'),
      ticket,
      immediate: flags.has('-F'),
      wait: flags.has('-w') || flags.has('-C'),
      waitCommit: flags.has('-C'),
      lockfile: values.get('-l'),
      socket: values.get('--socket'),
      move: flags.has('--move'),
      timeoutMs,
    },
  };
}

export const boothUsage = `Usage:
  booth list [options]
  booth {grant|revoke} [options] <ticket>
  booth peers [options]
  booth status [options]

  list:          List all tickets
  grant:         Grant ticket to site
  revoke:        Revoke ticket
  peers:         List the other members and what this one hears from them
  status:        Exit 0 if the local member runs, 7 if not

Options:
  -c FILE       Specify config file [default /etc/booth/booth.conf]
                Can be a path or just a name without ".conf" suffix
                (looked up in /etc/booth, then /etc/tollbooth)
  -s <site>     Connect/grant to a different site: its address, a host name
                that resolves to it, or "other" (the other one of two)
  -t <ticket>   The ticket (or give it as the last argument)
  -F            Accepted for booth's sake: tollbooth's registry guards every grant
  -w            Wait for the outcome of the request
  -C            Wait until the ticket is committed to the CIB (grant only)
  -h            Print this help
  --move        grant: move a ticket held by another site (guarded by its lease)
  --socket PATH the local member's admin socket [default $TOLLBOOTH_SOCKET,
                else /run/tollbooth/<name>.sock]
  --timeout MS  how long one request may take (${rangeText(adminTimeoutMsRange)}) [default ${boothRequestTimeoutMsDefault}]

This is tollbooth's booth-compatible client; see booth(8) and tollbooth(8).
`;

// ───────────── output formats ─────────────

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** strftime "%F %T" in local time, as booth prints times. */
export function boothTime(d: Date): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * `booth list` lines: `ticket: T, leader: L[, expires: TIME|INF][ [manual mode]]`.
 * leader is the holder's address, `NONE` for a ticket never granted and
 * `none` for one revoked or lost (as booth); expires is the lease end as the
 * leader or the holder sees it, in local time (INF for a manual ticket), and
 * is left out when neither answers (withHolderLease).
 */
export function formatBoothList(views: readonly TicketView[], now: Date): string {
  const lines: string[] = [];
  for (const v of views) {
    const leader = v.holder ?? (v.generation === 0 ? 'NONE' : 'none');
    let line = `ticket: ${v.name}, leader: ${leader}`;
    if (v.holder !== null) {
      if (v.mode === 'manual') line += ', expires: INF';
      else if (v.leaseLeftMs !== null) line += `, expires: ${boothTime(new Date(now.getTime() + v.leaseLeftMs))}`;
    }
    if (v.mode === 'manual') line += ' [manual mode]';
    lines.push(line);
  }
  return lines.map((l) => `${l}\n`).join('');
}

const kindColumnChars = 12;

/** `booth peers`: every other configured member, in config order, with booth's counters as far as tollbooth has them. */
export function formatBoothPeers(config: FormationConfig, view: PeersView, now: Date): string {
  const out: string[] = [];
  const monoNow = view.nowMs ?? null;
  for (const m of config.members) {
    if (m.address === view.self) continue;
    const link = view.peers.find((p) => p.id === m.address);
    const lastRecv = link?.lastRecvAt ?? null;
    // booth prints the epoch for a member never heard from; so do we.
    const when = lastRecv === null || monoNow === null ? new Date(0) : new Date(now.getTime() - Math.max(0, monoNow - lastRecv));
    const rejected = link === undefined ? {} : link.rejected;
    let authfail = 0;
    let invalid = 0;
    for (const [reason, n] of Object.entries(rejected)) {
      if (reason.includes('signature') || reason === 'unknown-peer') authfail += n;
      else invalid += n;
    }
    out.push(`${m.kind.padEnd(kindColumnChars)} ${m.address}, last recv: ${boothTime(when)}\n`);
    out.push(`\tSent pkts:${link?.sent ?? 0} error:0 resends:0\n`);
    out.push(`\tRecv pkts:${link?.received ?? 0} error:0 authfail:${authfail} invalid:${invalid}\n\n`);
  }
  return out.join('');
}

/** `booth status` line: booth's lock-file fields that tollbooth has. */
export function formatBoothStatus(config: FormationConfig, status: { id: string; kind: string; pid?: number }, socket: string): string {
  const me = config.members.find((m) => m.address === status.id);
  const siteId = me?.siteId ?? null;
  const pid = status.pid ?? 0;
  return (
    `booth_lockpid=${pid} booth_lockfile='${socket}' booth_pid=${pid} booth_state=started booth_type=${status.kind} ` +
    `booth_cfg_name='${config.name}' booth_id=${siteId ?? 0} booth_addr_string='${status.id}' booth_port=${config.port}\n`
  );
}

// ───────────── running ─────────────

export interface BoothClientIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => Date;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Sends one request to the admin socket. */
  readonly call: (socket: string, req: AdminRequest, timeoutMs: number) => Promise<AdminResponse>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly version: string;
  /** The name the program was run as, for messages and --version. */
  readonly programName: string;
  /**
   * A host name's addresses in the resolver's order (getaddrinfo, /etc/hosts
   * included, as booth's client resolves `-s`); rejects when it does not resolve.
   */
  readonly lookup: (host: string) => Promise<readonly string[]>;
}

export class BoothFailure extends TollboothError<'BOOTH_CLIENT_FAILED'> {
  constructor(
    message: string,
    readonly exitCode: number = boothExitFailure,
  ) {
    super('BOOTH_CLIENT_FAILED', message, { details: { exitCode } });
  }
}

/**
 * The local member's socket gave no answer within the client's bound. The
 * member may well run: a request it forwards (to the leader, to a holder, to
 * `-s SITE`) waits up to its own forwardTimeoutMs for a member that may be
 * gone, and --timeout may be shorter than that.
 */
export class BoothNoAnswer extends BoothFailure {}

const info = (io: BoothClientIo, s: string): void => io.err(`info: ${s}\n`);

export const noMajorityCodes: ReadonlySet<string> = new Set(['no-leader', 'timeout', 'not-leader', 'unknown-outcome']);

/**
 * Answers help, --version and a usage error as booth's programs do (the
 * client, geostore): the exit code, or the arguments to run with.
 */
export function boothProgramArgs<A>(parsed: ParsedBoothProgram<A>, usage: string, what: string, io: BoothClientIo): A | number {
  switch (parsed.kind) {
    case 'help':
      io.out(usage);
      return boothExitOk;
    case 'version':
      io.out(`${io.programName} ${io.version} (tollbooth ${io.version}, booth-compatible ${what})\n`);
      return boothExitOk;
    case 'error':
      io.err(`${parsed.message}\nPlease use '-h' for usage.\n`);
      return boothExitFailure;
    case 'run':
      return parsed.args;
  }
}

/** Runs booth's client; returns the exit code. */
export async function runBoothClient(argv: readonly string[], io: BoothClientIo): Promise<number> {
  const args = boothProgramArgs(parseBoothArgs(argv), boothUsage, 'client', io);
  if (typeof args === 'number') return args;
  try {
    const path = resolveConfigPath(args.config);
    const config = readConfig(path);
    const socket = args.socket ?? io.env.TOLLBOOTH_SOCKET ?? defaultSocketPath(config.name);
    const ask = async (req: AdminRequest): Promise<AdminResponse> => {
      try {
        return await io.call(socket, req, args.timeoutMs);
      } catch (err) {
        const exitCode = args.op === 'status' ? boothExitNotRunning : boothExitFailure;
        const message = `cannot reach the local tollbooth member at ${socket}: ${(err as Error).message}`;
        throw (err as { code?: unknown }).code === 'ADMIN_SOCKET_TIMEOUT' ? new BoothNoAnswer(message, exitCode) : new BoothFailure(message, exitCode);
      }
    };
    switch (args.op) {
      case 'status':
        return await status(config, socket, ask, io);
      case 'list':
        return await list(args, config, ask, io);
      case 'peers':
        return await peers(args, config, ask, io);
      case 'grant':
      case 'revoke':
        return await grantOrRevoke(args, config, ask, io);
    }
  } catch (err) {
    if (err instanceof BoothFailure) {
      io.err(`ERROR: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

export function readConfig(path: string): FormationConfig {
  if (!existsSync(path)) throw new BoothFailure(`config file ${path} does not exist`);
  let loaded;
  try {
    loaded = loadConfigFile(path);
  } catch (err) {
    throw new BoothFailure((err as Error).message);
  }
  if (hasConfigErrors(loaded.problems)) {
    throw new BoothFailure(`${path} has errors (tollbooth config check ${path}):\n${loaded.problems.filter((p) => p.severity === 'error').map(formatConfigProblem).join('\n')}`);
  }
  return loaded.config;
}

/**
 * The configured member `-s` names, as booth's client finds it: `other` is
 * the other site of two; an address of the config is itself; anything else is
 * looked up as a host name (getaddrinfo, so /etc/hosts counts) and the first
 * of its addresses that the config lists is the member (booth converts the
 * name to its first IPv4 address and compares that; taking the first listed
 * one also finds a site the name reaches over IPv6). A name that is no member
 * fails with booth's words: `cannot find site "X"` for list and peers, `Site
 * "X" not configured.` for grant and revoke, then what the name resolved to.
 */
export async function siteOf(config: FormationConfig, given: string, self: () => Promise<string>, op: BoothOp | 'attr', io: BoothClientIo): Promise<string> {
  const forTickets = op === 'grant' || op === 'revoke' || op === 'attr';
  const notFound = (why: string): BoothFailure =>
    new BoothFailure(`${forTickets ? `Site "${given}" not configured.` : `cannot find site "${given}"`}\n${why}; the formation's members are ${config.members.map((m) => `${m.address} (${m.kind})`).join(', ')}`);
  let m = config.members.find((x) => x.address === given);
  if (given === 'other') {
    const me = await self();
    const others = config.members.filter((x) => x.kind === 'site' && x.address !== me);
    if (others.length !== 1) throw notFound(`"other" is the other site when there are exactly two; besides ${me} there are ${others.length}`);
    m = others[0]!;
  } else if (m === undefined) {
    let addresses: readonly string[];
    try {
      addresses = await io.lookup(given);
    } catch (err) {
      throw notFound(`"${given}" is no address of the config and does not resolve as a host name (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
    for (const a of addresses) {
      m = config.members.find((x) => x.address === a);
      if (m !== undefined) break;
    }
    if (m === undefined) throw notFound(`"${given}" resolves to ${addresses.join(', ') || 'no address'}, none of them in the config`);
  }
  if (forTickets && m.kind === 'arbitrator') throw new BoothFailure(op === 'attr' ? `${given} is just an arbitrator, no attributes there.` : `${given} is just an arbitrator, cannot grant/revoke tickets there.`);
  return m.address;
}

export async function localStatus(ask: (req: AdminRequest) => Promise<AdminResponse>): Promise<{ id: string; kind: string; pid?: number; tickets: TicketView[] }> {
  const res = await ask({ op: 'status' });
  if (!res.ok) throw new BoothFailure(`the local member did not answer: ${res.message}`);
  return res.data as { id: string; kind: string; pid?: number; tickets: TicketView[] };
}

async function status(config: FormationConfig, socket: string, ask: (req: AdminRequest) => Promise<AdminResponse>, io: BoothClientIo): Promise<number> {
  let st;
  try {
    st = await localStatus(ask);
  } catch (err) {
    // booth: "not running" is exit 7, with the reason on stderr only in the foreground; pcs reads the code.
    io.err(`not running: ${(err as Error).message}\n`);
    return boothExitNotRunning;
  }
  io.out(formatBoothStatus(config, st, socket));
  return boothExitOk;
}

async function list(args: BoothArgs, config: FormationConfig, ask: (req: AdminRequest) => Promise<AdminResponse>, io: BoothClientIo): Promise<number> {
  if (args.site !== undefined) {
    const site = await siteOf(config, args.site, async () => (await localStatus(ask)).id, 'list', io);
    let res: AdminResponse;
    try {
      res = await ask({ op: 'status', site });
    } catch (err) {
      // The local member runs but did not relay that site's answer in time: say who was silent.
      if (err instanceof BoothNoAnswer) throw new BoothFailure(`${site} did not answer within ${args.timeoutMs} ms (asked through the local member)`);
      throw err;
    }
    if (!res.ok) throw new BoothFailure(`${site} did not answer: ${res.message}`);
    // That site's own view: unless it holds the ticket or leads the registry, it does not know the lease end.
    io.out(formatBoothList(await withHolderLease((res.data as { tickets: TicketView[] }).tickets, ask, io), io.now()));
    return boothExitOk;
  }
  let res: AdminResponse;
  try {
    res = await ask({ op: 'list' });
  } catch (err) {
    // The member runs but forwards the read to a leader that does not answer (one just killed is
    // still followed for an election timeout), and --timeout ran out before the member's own
    // forward bound: that is the no-majority case too, and the member's own view can answer.
    if (!(err instanceof BoothNoAnswer)) throw err;
    res = { ok: false, code: 'timeout', message: `no answer from the registry leader within ${args.timeoutMs} ms`, answeredBy: '' };
  }
  if (res.ok) {
    io.out(formatBoothList(await withHolderLease(res.data as TicketView[], ask, io), io.now()));
    return boothExitOk;
  }
  if (res.code === undefined || !noMajorityCodes.has(res.code)) throw new BoothFailure(res.message);
  // No majority: booth's members each answer from their own copy; so does this one, and says so.
  // From here on nothing but the local member's own answer may fail the list (pcs takes only 0 or 7).
  const local = await ask({ op: 'list', local: true });
  if (!local.ok) throw new BoothFailure(local.message);
  io.err(`warning: no majority of the formation is reachable (${res.message}); this is ${local.answeredBy}'s own view\n`);
  io.out(formatBoothList(await withHolderLease(local.data as TicketView[], ask, io), io.now()));
  return boothExitOk;
}

/**
 * Only the registry leader and the holder know a held ticket's lease end: a
 * site's own view (`list -s SITE`, the local view without a majority) leaves
 * leaseLeftMs null unless that site holds the ticket or leads. booth prints
 * every holder's expiry at every member (each keeps its own copy, and Hawk's
 * parser expects it), so ask the holder for its own view of it (as booth's
 * holder reports its own lease).
 *
 * Best effort: the list is already answered, and without a majority the
 * holder is often the member that died. A holder that does not answer —
 * refused, the member's forward timeout, or no answer on the socket within
 * --timeout — leaves the lease end unknown and expires is left out (stderr
 * says so); it never fails the list. The holders are asked at once, so a list
 * waits one bound however many silent holders it names.
 */
async function withHolderLease(views: readonly TicketView[], ask: (req: AdminRequest) => Promise<AdminResponse>, io: BoothClientIo): Promise<TicketView[]> {
  const unknown = (v: TicketView): v is TicketView & { holder: string } => v.holder !== null && v.mode !== 'manual' && v.leaseLeftMs === null;
  const holders = [...new Set(views.filter(unknown).map((v) => v.holder))];
  const answers = await Promise.all(
    holders.map(async (holder): Promise<readonly [string, TicketView[] | string]> => {
      try {
        const st = await ask({ op: 'status', site: holder });
        return [holder, st.ok ? (st.data as { tickets: TicketView[] }).tickets : st.message];
      } catch (err) {
        if (err instanceof BoothFailure) return [holder, err.message];
        throw err;
      }
    }),
  );
  const byHolder = new Map(answers);
  const out: TicketView[] = [];
  for (const v of views) {
    if (!unknown(v)) {
      out.push(v);
      continue;
    }
    const seen = byHolder.get(v.holder);
    const own = typeof seen === 'string' ? undefined : seen?.find((t) => t.name === v.name && t.holder === v.holder);
    if (typeof seen === 'string') info(io, `expires of ${v.name} left out: its holder ${v.holder} did not answer (${seen})`);
    out.push(own === undefined ? v : { ...v, leaseLeftMs: own.leaseLeftMs });
  }
  return out;
}

async function peers(args: BoothArgs, config: FormationConfig, ask: (req: AdminRequest) => Promise<AdminResponse>, io: BoothClientIo): Promise<number> {
  const site = args.site === undefined ? undefined : await siteOf(config, args.site, async () => (await localStatus(ask)).id, 'peers', io);
  const res = await ask({ op: 'peers', ...(site === undefined ? {} : { site }) });
  if (!res.ok) throw new BoothFailure(res.message);
  io.out(formatBoothPeers(config, res.data as PeersView, io.now()));
  return boothExitOk;
}

export function ticketOf(config: FormationConfig, given: string | undefined): string {
  if (given === undefined) {
    if (config.tickets.length === 1) return config.tickets[0]!.name;
    throw new BoothFailure('No ticket given.');
  }
  if (!config.tickets.some((t) => t.name === given)) throw new BoothFailure(`ticket "${given}" does not exist`);
  return given;
}

/** Codes that say the request was not applied: safe to send again once a leader is known. */
const notAppliedCodes = new Set(['no-leader', 'not-leader']);

/**
 * Sends a request again while the formation has no leader (an election is
 * running), for up to the request timeout: booth's client waits the same way
 * while its site runs an election ("More" replies). Reads are retried on
 * every no-majority code; commands only on those that say nothing was
 * applied, so a command is never applied twice.
 */
export async function askThroughElection(io: BoothClientIo, ask: (req: AdminRequest) => Promise<AdminResponse>, req: AdminRequest, timeoutMs: number): Promise<AdminResponse> {
  const retryable = req.op === 'list' || req.op === 'status' ? noMajorityCodes : notAppliedCodes;
  const end = io.now().getTime() + timeoutMs;
  for (;;) {
    const res = await ask(req);
    if (res.ok || res.code === undefined || !retryable.has(res.code) || io.now().getTime() >= end) return res;
    await io.sleep(waitPollMs);
  }
}

async function grantOrRevoke(args: BoothArgs, config: FormationConfig, rawAsk: (req: AdminRequest) => Promise<AdminResponse>, io: BoothClientIo): Promise<number> {
  const ask = (req: AdminRequest): Promise<AdminResponse> => askThroughElection(io, rawAsk, req, args.timeoutMs);
  const op = args.op as 'grant' | 'revoke';
  const ticket = ticketOf(config, args.ticket);
  const me = await localStatus(ask);
  let site: string;
  if (args.site === undefined) {
    if (me.kind !== 'site') throw new BoothFailure("We're just an arbitrator, cannot grant/revoke tickets here.");
    site = me.id;
  } else {
    site = await siteOf(config, args.site, () => Promise.resolve(me.id), op, io);
  }
  const current = await ask({ op: 'list' });
  if (!current.ok) throw new BoothFailure(`${op} failed: ${current.message}`);
  const view = (current.data as TicketView[]).find((v) => v.name === ticket);
  if (view === undefined) throw new BoothFailure(`ticket "${ticket}" does not exist`);
  if (op === 'revoke') {
    if (view.holder === null) {
      info(io, 'ticket is not owned');
      return boothExitOk;
    }
    const res = await ask({ op: 'revoke', ticket });
    if (!res.ok) throw new BoothFailure(`revoke failed: ${res.message}`);
    if (args.wait) await waitFor(io, `${ticket} to be revoked at ${view.holder}`, () => grantedAt(ask, view.holder!, ticket).then((g) => (g ? null : true)));
    info(io, 'revoke succeeded!');
    return boothExitOk;
  }
  if (view.holder !== null && !(args.move && view.holder !== site)) {
    info(io, "You're granting a granted ticket. If you wanted to migrate a ticket, use revoke first, then use grant.");
    if (view.holder !== site) io.err(`info: ${ticket} is held by ${view.holder}; "booth grant --move" moves it once that site's lease has run out\n`);
    return boothExitFailure;
  }
  info(io, 'grant request sent, waiting for the result ...');
  const res = await ask({ op: 'grant', ticket, site, force: false });
  if (!res.ok) {
    if (res.code === 'no-such-ticket') throw new BoothFailure(`ticket "${ticket}" does not exist`);
    throw new BoothFailure(`grant failed: ${res.message}${res.code === undefined ? '' : ` (${res.code})`}`);
  }
  if (args.waitCommit || args.wait) {
    if (args.waitCommit) info(io, 'waiting for the CIB commit ...');
    await waitFor(io, `${ticket} to be granted at ${site}`, async () => {
      const l = await ask({ op: 'list' });
      const v = l.ok ? (l.data as TicketView[]).find((x) => x.name === ticket) : undefined;
      if (v !== undefined && v.holder !== site && v.holder !== null) throw new BoothFailure(`${ticket} went to ${v.holder} instead`);
      if (v?.holder !== site) return null;
      if (!args.waitCommit) return true;
      return (await grantedAt(ask, site, ticket)) ? true : null;
    });
  }
  info(io, 'grant succeeded!');
  return boothExitOk;
}

async function grantedAt(ask: (req: AdminRequest) => Promise<AdminResponse>, site: string, ticket: string): Promise<boolean> {
  const st = await ask({ op: 'status', site });
  if (!st.ok) return false;
  return (st.data as { tickets: TicketView[] }).tickets.find((v) => v.name === ticket)?.grantedHere === true;
}

async function waitFor(io: BoothClientIo, what: string, probe: () => Promise<true | null>): Promise<void> {
  const end = io.now().getTime() + boothWaitMsDefault;
  for (;;) {
    if ((await probe()) !== null) return;
    if (io.now().getTime() >= end) throw new BoothFailure(`gave up after ${boothWaitMsDefault / 1000} s waiting for ${what}; use "booth list" later to see the outcome`);
    await io.sleep(waitPollMs);
  }
}
