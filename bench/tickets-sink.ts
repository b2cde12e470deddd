// The ticket sink the sites of the steady-state formations write (bench/steady.ts,
// `--tickets-sink` of bench/run.ts): the file stand-in (default; one fsync'd
// JSON file per ticket, src/adapters/pacemaker/file-ticket-sink.ts) or the
// real crm_ticket sink (one `cibadmin --modify` per batch of effects) on a
// copy of a CIB fixture per site (CIB_file), as bench/starvation.ts runs it.
// There is no cib daemon behind CIB_file: crm_ticket and cibadmin read and
// rewrite the file themselves, and nothing replicates it to other nodes. Nor
// does anything serialize their calls, as the daemon does a cluster's: two
// calls at once on one file lose an update or read a half-written file
// (CIB_INVALID). So each site runs them through wrappers that take a lock on
// its file first (writeSerializedCibTools); its lease guard, started by the
// agent, inherits them.

import { execFile } from 'node:child_process';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { descendants, parseXmlDocument } from '../src/adapters/xml-cursor.js';

const execFileP = promisify(execFile);

export const ticketsSinks = ['file', 'crm_ticket'] as const;
export type TicketsSink = (typeof ticketsSinks)[number];

/** The value of `--tickets-sink`; an unknown sink is an error naming it. */
export function parseTicketsSink(value: string): TicketsSink {
  if (!(ticketsSinks as readonly string[]).includes(value)) throw new Error(`--tickets-sink: unknown sink ${JSON.stringify(value)} (${ticketsSinks.join(', ')})`);
  return value as TicketsSink;
}

/** The Pacemaker tools a crm_ticket site runs on its CIB file. */
const cibTools = ['crm_ticket', 'cibadmin'] as const;

/** Where `tool` is on PATH (and the sbin directories), or an error naming it. */
async function locate(tool: string, skip: string): Promise<string> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter((d) => d !== '' && d !== skip);
  for (const d of dirs) {
    const path = join(d, tool);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  throw new Error(`${tool} not found on PATH (install pacemaker-cli-utils)`);
}

/**
 * Writes into `dir` a `crm_ticket` and a `cibadmin` that run the real ones under an exclusive lock on
 * `$CIB_file.lock` (flock(1)): one call at a time on a site's CIB file. Put `dir` first on the site's PATH.
 */
export async function writeSerializedCibTools(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const tool of cibTools) {
    const real = await locate(tool, dir);
    await writeFile(join(dir, tool), `#!/bin/sh\n# One call at a time on a CIB file, as the cib daemon serializes a cluster's (bench/tickets-sink.ts).\nexec flock "\${CIB_file:?CIB_file not set}.lock" ${real} "$@"\n`, { mode: 0o755 });
  }
}

/** What one site's CIB file shows of the tickets. */
export interface CibTicketCounts {
  /** ticket_state elements. */
  readonly ticketStates: number;
  /** granted="true". */
  readonly granted: number;
  /** Not granted, with `owner` set to the given site id (the holder's, written by the other site's revokes). */
  readonly revokedOwnedBy: number;
}

/** Counts the ticket states of a CIB document; `ownerId`: the booth site id expected as `owner` of the revoked ones. */
export function cibTicketCounts(xml: string, ownerId: number | null): CibTicketCounts {
  let granted = 0;
  let revokedOwnedBy = 0;
  const states = descendants(parseXmlDocument(xml), 'ticket_state');
  for (const t of states) {
    if (t.attrs.get('granted') === 'true') granted += 1;
    else if (ownerId !== null && t.attrs.get('owner') === String(ownerId)) revokedOwnedBy += 1;
  }
  return { ticketStates: states.length, granted, revokedOwnedBy };
}

/** Counts a CIB file's ticket states, read under the lock its sites' tools take (the tools rewrite it in place). */
export async function cibFileTicketCounts(path: string, ownerId: number | null): Promise<CibTicketCounts> {
  const { stdout } = await execFileP('flock', [`${path}.lock`, 'cat', path], { maxBuffer: 1 << 30 });
  return cibTicketCounts(stdout, ownerId);
}

/**
 * A site's CIB write times from its /metrics (tollbooth_cib_write_duration_seconds, by kind): how many
 * effects (or guard updates) were observed and their mean, ms. Each effect of a batch is observed with
 * the batch's time, so for grants and revokes the mean is that of the batches, weighted by their size.
 */
export function cibWriteMeans(metricsText: string): Record<string, { count: number; meanMs: number }> {
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const m of metricsText.matchAll(/^tollbooth_cib_write_duration_seconds_(sum|count)\{kind="([^"]+)"\} (\S+)$/gm)) {
    (m[1] === 'sum' ? sums : counts).set(m[2]!, Number(m[3]));
  }
  const out: Record<string, { count: number; meanMs: number }> = {};
  for (const [kind, count] of counts) {
    if (count > 0) out[kind] = { count, meanMs: Math.round((1000 * (sums.get(kind) ?? 0)) / count) };
  }
  return out;
}
