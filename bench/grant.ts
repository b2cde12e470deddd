// Grant latency: an admin grant of a manual ticket (acquire-after 0), sent to
// the target site's admin socket as `tollbooth grant` does (the site forwards
// it to the registry leader when it does not lead), until that site's ticket
// sink has written the grant (<state-dir>/tickets/<name>.json with
// granted: true and the new generation), timed on the bench's monotonic
// clock from just before the request. Between grants the ticket is revoked
// and the revoke's write is awaited too. Grants alternate between the two
// sites, so both the "target site leads" and the "forwarded" paths are in the
// sample; each sample records which it was.

import { join } from 'node:path';
import type { LoopbackMember } from '../src/cli/loopback-formation.js';
import { nowMs } from './clock.js';
import { agreedLeader, statusOf, type Bench } from './harness.js';
import { round, summarize, type Summary } from './stats.js';
import { TicketFileWatch } from './ticket-watch.js';

export interface GrantSample {
  readonly site: string;
  readonly siteLeads: boolean;
  /** Request → the admin call's answer (the grant committed in the registry). */
  readonly commitMs: number;
  /** Request → the site's sink file shows the grant. */
  readonly sinkMs: number;
  /** Request → the site's status reports grantedHere (the core saw the write confirmed). */
  readonly confirmedMs: number;
  /** Revoke request → the site's sink file shows the ticket revoked. */
  readonly revokeSinkMs: number;
  readonly via: 'watch' | 'poll';
}

export interface GrantResult {
  readonly grantLatencyMs: Summary;
  readonly grantCommitMs: Summary;
  readonly grantConfirmedMs: Summary;
  readonly revokeLatencyMs: Summary;
  readonly byPath: { readonly targetLeads: Summary | null; readonly forwarded: Summary | null };
  readonly samples: GrantSample[];
}

const ticket = 'bench-grant';
const stepDeadlineMs = 30_000;

export async function measureGrants(b: Bench, count: number): Promise<GrantResult> {
  const f = await b.formation({ sites: 2, arbitrators: 1, tickets: [{ name: ticket, expireS: 10, acquireAfterS: 0, mode: 'manual' }] });
  try {
    await f.startAll();
    const leader = await b.waitFor('an agreed registry leader', 30_000, () => agreedLeader(f), 20);
    b.say(`grant latency: formation up, registry leader ${leader.address}; ${count} grants of manual ticket ${ticket} (acquire-after 0)`);
    const samples: GrantSample[] = [];
    let generation = 0;
    for (let i = 0; i < count; i++) {
      const site: LoopbackMember = f.sites[i % f.sites.length]!;
      const dir = join(site.dir, 'tickets');
      const leads = (await statusOf(f, site)).role === 'leader';
      const granted = new TicketFileWatch(dir, ticket, (s) => s.granted && s.generation > generation);
      const t0 = nowMs();
      const r = await f.call(site, { op: 'grant', ticket, site: site.address }, stepDeadlineMs);
      const committedAt = nowMs();
      if (!r.ok) {
        granted.close();
        throw new Error(`grant ${i + 1} to ${site.address} refused: ${r.code ?? ''} ${r.message}`);
      }
      const hit = await granted.done(`grant ${i + 1} written at ${site.address}`, stepDeadlineMs, b.signal);
      const confirmedAt = await b.waitFor(`${site.address} to report grantedHere`, stepDeadlineMs, async () => ((await f.localTicket(site, ticket))?.grantedHere === true ? nowMs() : null), 5);
      generation = hit.state.generation;
      const revoked = new TicketFileWatch(dir, ticket, (s) => !s.granted && s.generation >= generation);
      const t1 = nowMs();
      const rv = await f.call(site, { op: 'revoke', ticket }, stepDeadlineMs);
      if (!rv.ok) {
        revoked.close();
        throw new Error(`revoke ${i + 1} refused: ${rv.code ?? ''} ${rv.message}`);
      }
      const gone = await revoked.done(`revoke ${i + 1} written at ${site.address}`, stepDeadlineMs, b.signal);
      const s: GrantSample = {
        site: site.address,
        siteLeads: leads,
        commitMs: round(committedAt - t0, 2),
        sinkMs: round(hit.at - t0, 2),
        confirmedMs: round(confirmedAt - t0, 2),
        revokeSinkMs: round(gone.at - t1, 2),
        via: hit.via,
      };
      samples.push(s);
      b.say(
        `grant ${String(i + 1).padStart(2)}/${count} → ${site.address}${leads ? ' (leader)' : ' (forwarded)'}: committed ${s.commitMs.toFixed(1)} ms, ` +
          `sink written ${s.sinkMs.toFixed(1)} ms${hit.via === 'poll' ? ' (seen by poll)' : ''}, grantedHere ${s.confirmedMs.toFixed(1)} ms; revoke written ${s.revokeSinkMs.toFixed(1)} ms`,
      );
    }
    const lead = samples.filter((s) => s.siteLeads).map((s) => s.sinkMs);
    const fwd = samples.filter((s) => !s.siteLeads).map((s) => s.sinkMs);
    return {
      grantLatencyMs: summarize(samples.map((s) => s.sinkMs)),
      grantCommitMs: summarize(samples.map((s) => s.commitMs)),
      grantConfirmedMs: summarize(samples.map((s) => s.confirmedMs)),
      revokeLatencyMs: summarize(samples.map((s) => s.revokeSinkMs)),
      byPath: { targetLeads: lead.length > 0 ? summarize(lead) : null, forwarded: fwd.length > 0 ? summarize(fwd) : null },
      samples,
    };
  } finally {
    await b.release(f);
  }
}
