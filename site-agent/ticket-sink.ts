// Builds a site's ticket sink from the formation config: the Pacemaker feed
// through crm_ticket (the default) with its lease guard record, or the file
// stand-in (demo, tests). Shared by the site agent, `tollbooth lease-guard`
// and `tollbooth cib-revoke-all`, so that all three write the same owner,
// booth-cfg-name and guard record.

import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { CrmTicketSink } from '../src/adapters/pacemaker/crm-ticket-sink.js';
import { FileTicketSink } from '../src/adapters/pacemaker/file-ticket-sink.js';
import { LeaseGuardFile } from '../src/adapters/pacemaker/lease-guard-file.js';
import { boothSiteId } from '../src/config/site-id.js';
import type { FormationConfig, FormationMember } from '../src/config/formation-config.js';
import { memberIdOf } from '../src/config/member-id.js';
import type { MemberId } from '../src/core/types.js';
import type { MonotonicClock, TicketSink } from '../src/ports/ports.js';
import type { TicketSinkKind } from './ticket-sink-kind.js';

export { ticketSinkKinds, type TicketSinkKind } from './ticket-sink-kind.js';

/** The lease guard record of a state directory (crm_ticket sink). */
export function guardRecordPath(stateDir: string): string {
  return join(stateDir, 'lease-guard');
}

/** booth's site id of a member: of its address literal, or of what its host name resolves to now. */
export async function siteIdOfMember(m: FormationMember): Promise<number> {
  const literal = boothSiteId(m.address);
  if (literal !== null) return literal;
  const resolved = await lookup(m.address);
  const id = boothSiteId(resolved.address);
  if (id === null) throw new Error(`cannot compute the booth site id of ${m.address} (resolved to ${resolved.address})`);
  return id;
}

export interface CrmSinkParts {
  readonly sink: CrmTicketSink;
  readonly guard: LeaseGuardFile;
}

/** The crm_ticket sink of `me`, writing booth's owner ids and `booth-cfg-name` = the formation name. */
export async function crmSinkFor(config: FormationConfig, me: FormationMember, stateDir: string, boot: string, clock: MonotonicClock): Promise<CrmSinkParts> {
  const ids = new Map<MemberId, number>();
  for (const m of config.members) {
    if (m.kind !== 'site') continue;
    try {
      ids.set(memberIdOf(m), await siteIdOfMember(m));
    } catch (err) {
      if (m === me) throw err;
      // Another site's id only labels `owner` on our revokes; 0 ("lost") stands in.
    }
  }
  // The member each site id stands for, where it stands for one alone (two sites may share a CRC-32).
  const memberOfSiteId = new Map<number, MemberId>();
  const shared = new Set<number>();
  for (const [m, siteId] of ids) {
    if (memberOfSiteId.has(siteId)) shared.add(siteId);
    memberOfSiteId.set(siteId, m);
  }
  for (const siteId of shared) memberOfSiteId.delete(siteId);
  const guard = await LeaseGuardFile.open(guardRecordPath(stateDir), boot);
  const sink = new CrmTicketSink({
    siteId: ids.get(memberIdOf(me))!,
    boothCfgName: config.name,
    siteIdOf: (m) => ids.get(m) ?? null,
    memberOfSiteId: (siteId) => memberOfSiteId.get(siteId) ?? null,
    clock,
    guard,
  });
  return { sink, guard };
}

export async function ticketSinkFor(kind: TicketSinkKind, config: FormationConfig, me: FormationMember, stateDir: string, boot: string, clock: MonotonicClock): Promise<TicketSink> {
  if (kind === 'file') return new FileTicketSink(join(stateDir, 'tickets'), boot, clock);
  return (await crmSinkFor(config, me, stateDir, boot, clock)).sink;
}
