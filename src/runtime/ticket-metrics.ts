// The ticket series of a member's /metrics (issue 13), sized for a formation
// of many tickets (issue 15). Every member exports the ticket counts (all,
// by holder, unmanaged, standby, granted here, the least lease left): a few
// series whatever the number of tickets. Per ticket it exports only what an
// alert or a holder query needs: who holds it (tollbooth_ticket_holder_info),
// whether it is managed, and at a site whether its CIB has it granted — the
// series the example alerting rules and docs/operations.md's queries read.
// The other per-ticket series (generation, lease left, lease duration,
// standby, last change) are exported only while the member has at most
// ticketDetailSeriesMax tickets: at 10 000 tickets, all eight series per
// ticket made a scrape of 4.8 MiB and a quarter of a second of CPU at every
// member (docs/benchmarks.md).
//
// This part of the exposition is written here rather than through
// prom-client: its text format for thousands of label sets (a label object,
// three regular expressions per label value and a shared-label lookup per
// sample) was most of a scrape's CPU. The tickets are read once per scrape.

import type { TicketView } from './admin-service.js';

/** Up to this many tickets, a member exports every per-ticket series; beyond, only holder, managed and granted-here. */
export const ticketDetailSeriesMax = 100;

export interface TicketMetricsReadings {
  readonly kind: 'site' | 'arbitrator';
  /** Every ticket as this member sees it (AdminService.views with local = true). */
  readonly tickets: () => readonly TicketView[];
  /** When this member applied each ticket's last grant, revoke or standby change (Unix seconds, its wall clock). */
  readonly lastChange: ReadonlyMap<string, number>;
}

/** The ticket families, in the Prometheus text format (0.0.4), each ending with a line break. */
export function ticketMetricsText(c: TicketMetricsReadings): string {
  const tickets = c.tickets();
  const names = tickets.map((t) => labelValue(t.name));
  const out: string[] = [];
  const perTicket = (name: string, help: string, value: (t: TicketView) => number | null): void => {
    gauge(out, name, help);
    for (let i = 0; i < tickets.length; i++) {
      const v = value(tickets[i]!);
      if (v !== null) out.push(`${name}{ticket="${names[i]!}"} ${v}`);
    }
  };
  gauge(out, 'tollbooth_ticket_holder_info', 'The site that holds the ticket in the registry, as the holder label (empty when none). Always 1.');
  for (let i = 0; i < tickets.length; i++) out.push(`tollbooth_ticket_holder_info{ticket="${names[i]!}",holder="${labelValue(tickets[i]!.holder ?? '')}"} 1`);
  perTicket('tollbooth_ticket_managed', '0 after an admin revoke: the ticket is not placed again until granted.', (t) => (t.managed ? 1 : 0));
  if (c.kind === 'site') perTicket('tollbooth_ticket_granted_here', '1 when this site\'s ticket sink (the CIB) has the ticket granted, confirmed by the write.', (t) => (t.grantedHere === true ? 1 : 0));
  if (tickets.length <= ticketDetailSeriesMax) {
    const only = ` Exported while this member has at most ${ticketDetailSeriesMax} tickets.`;
    perTicket('tollbooth_ticket_generation', `The ticket's generation (fencing token, the CIB term): it only grows.${only}`, (t) => t.generation);
    perTicket('tollbooth_ticket_lease_remaining_seconds', `Lease left in this member's view (the leader's, or the holder's own); absent when unknown.${only}`, (t) => (t.leaseLeftMs === null ? null : t.leaseLeftMs / 1000));
    perTicket('tollbooth_ticket_lease_duration_seconds', `The ticket's lease duration (booth expire).${only}`, (t) => t.leaseDurationMs / 1000);
    perTicket('tollbooth_ticket_standby', `1 while the ticket is in standby.${only}`, (t) => (t.standby ? 1 : 0));
    perTicket('tollbooth_ticket_last_change_timestamp_seconds', `When this member applied the ticket's last grant, revoke or standby change (its wall clock, Unix seconds); absent before the first since start.${only}`, (t) => c.lastChange.get(t.name) ?? null);
  }
  ticketCounts(out, c.kind, tickets);
  out.push('');
  return out.join('\n');
}

/** The ticket counts: a few series whatever the number of tickets. */
function ticketCounts(out: string[], kind: 'site' | 'arbitrator', tickets: readonly TicketView[]): void {
  const byHolder = new Map<string, number>();
  let unmanaged = 0;
  let standby = 0;
  let grantedHere = 0;
  let least: number | null = null;
  for (const t of tickets) {
    byHolder.set(t.holder ?? '', (byHolder.get(t.holder ?? '') ?? 0) + 1);
    if (!t.managed) unmanaged += 1;
    if (t.standby) standby += 1;
    if (t.grantedHere === true) grantedHere += 1;
    if (t.leaseLeftMs !== null && (least === null || t.leaseLeftMs < least)) least = t.leaseLeftMs;
  }
  gauge(out, 'tollbooth_tickets', 'Tickets this member knows (its configuration\'s).');
  out.push(`tollbooth_tickets ${tickets.length}`);
  gauge(out, 'tollbooth_tickets_by_holder', 'Tickets by the site that holds them in the registry (holder label; empty for none), in this member\'s view; a site that holds none is absent.');
  for (const [holder, n] of byHolder) out.push(`tollbooth_tickets_by_holder{holder="${labelValue(holder)}"} ${n}`);
  gauge(out, 'tollbooth_tickets_unmanaged', 'Tickets revoked by an admin, not placed again until granted (tollbooth_ticket_managed 0).');
  out.push(`tollbooth_tickets_unmanaged ${unmanaged}`);
  gauge(out, 'tollbooth_tickets_standby', 'Tickets in standby.');
  out.push(`tollbooth_tickets_standby ${standby}`);
  if (kind === 'site') {
    gauge(out, 'tollbooth_tickets_granted_here', 'Tickets this site\'s ticket sink (the CIB) has granted, confirmed by the write.');
    out.push(`tollbooth_tickets_granted_here ${grantedHere}`);
  }
  gauge(out, 'tollbooth_tickets_lease_remaining_min_seconds', 'The least lease left among the tickets this member knows a lease of (the leader\'s view, or the holder\'s own); absent when none.');
  if (least !== null) out.push(`tollbooth_tickets_lease_remaining_min_seconds ${least / 1000}`);
}

function gauge(out: string[], name: string, help: string): void {
  out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} gauge`);
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
export function labelValue(s: string): string {
  return /[\\"\n]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : s;
}
