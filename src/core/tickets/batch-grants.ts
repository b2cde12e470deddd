// Automatic grants in batches (issue 15 item 5; docs/protocol.md §3 "Batch
// grants"): when the leader places or fails over many tickets at once, they
// go as a few `grant-batch` entries of at most grantsPerEntryMax tickets each
// instead of one entry per ticket. Ten thousand one-ticket entries were ten
// thousand appends to every follower (each signed, sent direct and through
// relays) in one Ready: the leader's event loop stalled for seconds and the
// formation churned through elections before any grant committed. Pure and
// synchronous, as the rest of the core.

import type { BatchGrant, Cause, EntryData } from '../messages.js';
import type { Generation, MemberId } from '../types.js';

/**
 * Tickets in one `grant-batch` entry. An item is about 70 bytes of JSON with
 * short names (160 with 63-byte ones): 256 keep one entry near 20–40 KB, and an
 * append of entriesPerAppendMax (64) such entries inside the 3 MiB frame limit.
 */
export const grantsPerEntryMax = 256;

/** One automatic grant the leader decided on: where, from which generation, and why. */
export interface AutoGrant {
  readonly ticket: string;
  readonly site: MemberId;
  readonly expectedGeneration: Generation;
  /** The cause a grant entry of its own would carry (it names the site and the old holder). */
  readonly cause: Cause & { readonly by: 'auto' };
}

/**
 * The entries that commit `grants`: with batches (every voter speaks protocol
 * 1.2), one `grant-batch` per reason and up to grantsPerEntryMax tickets, a
 * lone grant still as a `grant` entry (its cause says more); without, one
 * `grant` entry per ticket, as before 1.2.
 */
export function autoGrantEntries(grants: readonly AutoGrant[], batches: boolean): EntryData[] {
  const single = (g: AutoGrant): EntryData => ({ type: 'grant', ticket: g.ticket, site: g.site, expectedGeneration: g.expectedGeneration, cause: g.cause });
  if (!batches) return grants.map(single);
  const out: EntryData[] = [];
  for (const reason of ['initial', 'failover'] as const) {
    const group = grants.filter((g) => g.cause.reason === reason);
    if (group.length === 1) out.push(single(group[0]!));
    for (let i = 0; group.length > 1 && i < group.length; i += grantsPerEntryMax) {
      const part = group.slice(i, i + grantsPerEntryMax);
      const items: BatchGrant[] = part.map((g) => ({ ticket: g.ticket, site: g.site, expectedGeneration: g.expectedGeneration }));
      out.push({ type: 'grant-batch', grants: items, cause: { by: 'auto', reason, detail: batchDetail(reason, part.length) } });
    }
  }
  return out;
}

function batchDetail(reason: 'initial' | 'failover', n: number): string {
  return reason === 'initial'
    ? `${n} tickets held nowhere, placed in one batch`
    : `${n} tickets whose holder's lease ran out in the leader's view (or was released), failed over in one batch`;
}

/** The tickets an entry grants or revokes (a batch: each of its items). */
export function ticketsOf(d: EntryData): readonly string[] {
  if (d.type === 'grant-batch') return d.grants.map((g) => g.ticket);
  if (d.type === 'grant' || d.type === 'revoke' || d.type === 'ticket-remove') return [d.ticket];
  return [];
}
