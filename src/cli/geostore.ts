// booth's `geostore`, served by tollbooth (issue 14): the package links
// /usr/sbin/geostore to tollbooth, and the program run under that name comes
// here (also `tollbooth geostore ARGS…`).
//
//   geostore {list|set|get|delete} [-t TICKET] [-s SITE] [-c NAME|FILE] [attr [value]]
//
// booth keeps "geo attributes" per ticket at each site: geostore talks TCP to
// the site named by -s (default: the local one), which keeps them in memory
// and in its CIB ticket state (crm_ticket -S), and sites do not replicate
// them. tollbooth has ticket attributes too (DESIGN.md §2: set and delete are
// registry log entries), but one set per ticket for the whole formation,
// replicated to every member. So here:
//
// - set / delete are admin commands of the formation (linearizable, through
//   the registry leader); a value set "at" a site is then the value every site
//   reads. -s still names a configured site as booth checks it (`other`, an
//   address, a host name; an arbitrator is refused with booth's words), so a
//   script with a wrong -s fails as under booth.
// - get / list are linearizable reads; with no majority they answer from the
//   local member's own committed view and say so on stderr (as booth list).
// - Every site agent writes the ticket's attributes into its CIB ticket
//   state (crm_ticket -S, docs/operations.md §7 "Attributes"), so each site's
//   CIB carries the same values, where booth's carry only that site's.
//   attr-prereq lines are checked but not evaluated (docs/configuration.md).
// - list prints booth's "NAME VALUE" lines, without booth's update time (the
//   registry keeps the change in the ticket's history: tollbooth history T).
//
// Output and exit codes as booth's client: `info: set succeeded!` on stderr,
// get prints the value, errors print `ERROR: …` and exit 1.
import type { AdminRequest, AdminResponse, TicketView } from '../runtime/admin-service.js';
import { defaultSocketPath, resolveConfigPath } from '../config/paths.js';
import { quoted } from '../config/printable.js';
import { adminTimeoutMsRange, rangeText } from './numeric-option.js';
import {
  askThroughElection,
  BoothFailure,
  boothExitOk,
  boothProgramArgs,
  boothRequestTimeoutMsDefault,
  localStatus,
  noMajorityCodes,
  readConfig,
  siteOf,
  ticketOf,
  type BoothClientIo,
  type ParsedBoothProgram,
} from './booth-client.js';

export type GeostoreOp = 'list' | 'set' | 'get' | 'delete';

export interface GeostoreArgs {
  readonly op: GeostoreOp;
  readonly config: string | undefined;
  readonly site: string | undefined;
  readonly ticket: string | undefined;
  readonly name: string | undefined;
  readonly value: string | undefined;
  readonly socket: string | undefined;
  readonly timeoutMs: number;
}

export type ParsedGeostoreArgs = ParsedBoothProgram<GeostoreArgs>;

const ops: readonly GeostoreOp[] = ['list', 'set', 'get', 'delete'];
/** Positional arguments after the operation: the attribute's name, and for set its value. */
const positionalCount: Readonly<Record<GeostoreOp, number>> = { list: 0, get: 1, delete: 1, set: 2 };
const valueOptions = new Set(['-c', '-t', '-s', '--socket', '--timeout']);

export const geostoreUsage = `Usage:
  geostore {list|set|get|delete} [-t ticket] [options] attr [value]

  list:          List all attributes
  set:           Set attribute to a value
  get:           Get attribute's value
  delete:        Delete attribute

  -t <ticket>   Ticket where attribute resides
                (required, if more than one ticket is configured)

Options:
  -c FILE       Specify config file [default /etc/booth/booth.conf]
                Can be a path or just a name without ".conf" suffix
  -s <site>     A site of the formation (its address, a host name, or "other")
  -h            Print this help
  --socket PATH the local member's admin socket [default $TOLLBOOTH_SOCKET,
                else /run/tollbooth/<name>.sock]
  --timeout MS  how long one request may take (${rangeText(adminTimeoutMsRange)}) [default ${boothRequestTimeoutMsDefault}]

Examples:

  # geostore list -t ticket-A -s 10.121.8.183
  # geostore set -s 10.121.8.183 sr_status ACTIVE
  # geostore get -t ticket-A -s 10.121.8.183 sr_status
  # geostore delete -s 10.121.8.183 sr_status

tollbooth keeps one set of attributes per ticket for the whole formation,
replicated through its registry and written into every site's CIB ticket
state: a value set at one site is the value every site reads (booth keeps
them per site). See geostore(8).
`;

/** Parses geostore's command line (argv without the program name). Pure. */
export function parseGeostoreArgs(argv: readonly string[]): ParsedGeostoreArgs {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'version' || first === '--version' || first === '-V') return { kind: 'version' };
  if (!ops.includes(first as GeostoreOp)) return { kind: 'error', message: `unknown operation "${first}": expected list, set, get or delete` };
  const op = first as GeostoreOp;
  const values = new Map<string, string>();
  const positional: string[] = [];
  const rest = argv.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--') {
      positional.push(...rest.slice(i + 1));
      break;
    }
    if (a === '-h') return { kind: 'help' };
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
      const name = a.slice(0, 2);
      if (!valueOptions.has(name)) return { kind: 'error', message: `unknown option: ${a}` };
      const v = a.length > 2 ? a.slice(2) : rest[++i];
      if (v === undefined) return { kind: 'error', message: `option requires an argument -- '${a[1]}'` };
      values.set(name, v);
      continue;
    }
    positional.push(a);
  }
  const want = positionalCount[op];
  if (positional.length < want) return { kind: 'error', message: op === 'set' ? 'set needs an attribute name and a value' : `${op} needs an attribute name` };
  if (positional.length > want) return { kind: 'error', message: `Superfluous argument: ${positional[want]}` };
  let timeoutMs = boothRequestTimeoutMsDefault;
  const t = values.get('--timeout');
  if (t !== undefined) {
    const n = /^\d{1,15}$/.test(t) ? Number(t) : NaN;
    if (!(n >= adminTimeoutMsRange.min && n <= adminTimeoutMsRange.max)) return { kind: 'error', message: `--timeout: expected a whole number of milliseconds in ${rangeText(adminTimeoutMsRange)}, not ${quoted(t)}` };
    timeoutMs = n;
  }
  return {
    kind: 'run',
    args: { op, config: values.get('-c'), site: values.get('-s'), ticket: values.get('-t'), name: positional[0], value: positional[1], socket: values.get('--socket'), timeoutMs },
  };
}

/**
 * booth's words for the registry's refusals (booth's attr.c test_attr_reply). A read says
 * no-such-attribute in its code; a command the log refused says it in its message
 * ("not applied: no-such-attribute", src/core/tickets/lease-office.ts).
 */
function failureOf(res: AdminResponse, ticket: string, name: string | undefined): BoothFailure {
  if (res.code === 'no-such-ticket') return new BoothFailure(`ticket "${ticket}" does not exist`);
  if (res.code === 'no-such-attribute' || (res.code === 'rejected' && res.message.endsWith(': no-such-attribute'))) return new BoothFailure(`attribute "${name ?? ''}" not set`);
  return new BoothFailure(res.message);
}

/** Runs geostore; returns the exit code. */
export async function runGeostore(argv: readonly string[], io: BoothClientIo): Promise<number> {
  const args = boothProgramArgs(parseGeostoreArgs(argv), geostoreUsage, 'geostore', io);
  if (typeof args === 'number') return args;
  try {
    const path = resolveConfigPath(args.config);
    const config = readConfig(path);
    const socket = args.socket ?? io.env.TOLLBOOTH_SOCKET ?? defaultSocketPath(config.name);
    const ask = async (req: AdminRequest): Promise<AdminResponse> => {
      try {
        return await io.call(socket, req, args.timeoutMs);
      } catch (err) {
        throw new BoothFailure(`cannot reach the local tollbooth member at ${socket}: ${(err as Error).message}`);
      }
    };
    const ticket = ticketOf(config, args.ticket);
    // booth checks -s against the config; the attribute itself is the formation's (see the top).
    if (args.site !== undefined) await siteOf(config, args.site, async () => (await localStatus(ask)).id, 'attr', io);
    switch (args.op) {
      case 'set':
      case 'delete': {
        const req: AdminRequest = args.op === 'set' ? { op: 'attr-set', ticket, key: args.name!, value: args.value! } : { op: 'attr-delete', ticket, key: args.name! };
        const res = await askThroughElection(io, ask, req, args.timeoutMs);
        if (!res.ok) throw failureOf(res, ticket, args.name);
        if (args.op === 'set') io.err('info: set succeeded!\n');
        return boothExitOk;
      }
      case 'get': {
        const res = await readWithLocalFallback(io, ask, { op: 'attr-get', ticket, key: args.name! });
        if (!res.ok) throw failureOf(res, ticket, args.name);
        io.out(`${String(res.data)}\n`);
        return boothExitOk;
      }
      case 'list': {
        const res = await readWithLocalFallback(io, ask, { op: 'list' });
        if (!res.ok) throw failureOf(res, ticket, undefined);
        const view = (res.data as TicketView[]).find((v) => v.name === ticket);
        if (view === undefined) throw new BoothFailure(`ticket "${ticket}" does not exist`);
        io.out(Object.entries(view.attrs).map(([k, v]) => `${k} ${v}\n`).join(''));
        return boothExitOk;
      }
    }
  } catch (err) {
    if (err instanceof BoothFailure) {
      io.err(`ERROR: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

/**
 * A linearizable read at the leader; with no majority, the local member's own
 * committed view, said on stderr (booth's sites each answer from their own copy).
 */
async function readWithLocalFallback(io: BoothClientIo, ask: (req: AdminRequest) => Promise<AdminResponse>, req: AdminRequest): Promise<AdminResponse> {
  const res = await ask(req);
  if (res.ok || res.code === undefined || !noMajorityCodes.has(res.code)) return res;
  const local = await ask({ ...req, local: true });
  if (local.ok) io.err(`warning: no majority of the formation is reachable (${res.message}); this is ${local.answeredBy}'s own view\n`);
  return local;
}
