// A member's /metrics text (src/runtime/metrics.ts, src/runtime/ticket-metrics.ts)
// over stand-ins for its reads (bench/metrics-stand-in.ts), without a
// formation: with few tickets every per-ticket series; beyond
// ticketDetailSeriesMax only the ones an alert needs (holder, managed,
// granted here), so that 10 000 tickets stay a scrape of under 2 MiB; the
// ticket counts whatever the number; label values escaped; and Debian's
// `promtool check metrics` accepts the text (skipped without promtool). The
// same metrics on a real formation: test/e2e/observe.test.ts.
import { describe, expect, it } from 'vitest';
import { memberMetrics } from '../../src/runtime/metrics.js';
import { ticketDetailSeriesMax } from '../../src/runtime/ticket-metrics.js';
import type { TicketView } from '../../src/runtime/admin-service.js';
import { standInReadings } from '../../bench/metrics-stand-in.js';
import { havePromtool, promtool } from '../support/promtool.js';

const detailNames = ['tollbooth_ticket_generation', 'tollbooth_ticket_lease_remaining_seconds', 'tollbooth_ticket_lease_duration_seconds', 'tollbooth_ticket_standby', 'tollbooth_ticket_last_change_timestamp_seconds'];

/** The sample lines of `name` (labels included), in order. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

/** Ticket 1 unheld, ticket 2 revoked by an admin, ticket 3 in standby; the others held by 10.0.0.1. */
function mixed(t: TicketView, i: number): TicketView {
  if (i === 1) return { ...t, holder: null, leaseLeftMs: null, grantedHere: t.grantedHere === null ? null : false };
  if (i === 2) return { ...t, holder: null, managed: false, leaseLeftMs: null, grantedHere: t.grantedHere === null ? null : false };
  if (i === 3) return { ...t, standby: true, leaseLeftMs: 4_500 };
  return t;
}

async function check(text: string): Promise<void> {
  if (!havePromtool) return;
  const r = await promtool(['check', 'metrics'], text);
  expect(r.output).toBe('');
  expect(r.code).toBe(0);
}

describe('a member\'s /metrics', () => {
  it('with few tickets: every per-ticket series, and the ticket counts', async () => {
    const text = await memberMetrics(standInReadings('site', 5, mixed)).text();
    expect(samples(text, 'tollbooth_ticket_holder_info')).toEqual([
      'tollbooth_ticket_holder_info{ticket="ticket-00000",holder="10.0.0.1"} 1',
      'tollbooth_ticket_holder_info{ticket="ticket-00001",holder=""} 1',
      'tollbooth_ticket_holder_info{ticket="ticket-00002",holder=""} 1',
      'tollbooth_ticket_holder_info{ticket="ticket-00003",holder="10.0.0.1"} 1',
      'tollbooth_ticket_holder_info{ticket="ticket-00004",holder="10.0.0.1"} 1',
    ]);
    expect(samples(text, 'tollbooth_ticket_managed').map((l) => l.split(' ')[1])).toEqual(['1', '1', '0', '1', '1']);
    expect(samples(text, 'tollbooth_ticket_granted_here').map((l) => l.split(' ')[1])).toEqual(['1', '0', '0', '1', '1']);
    for (const name of detailNames) expect(samples(text, name).length, name).toBeGreaterThan(0);
    expect(samples(text, 'tollbooth_ticket_lease_remaining_seconds')).toEqual([
      'tollbooth_ticket_lease_remaining_seconds{ticket="ticket-00000"} 21',
      'tollbooth_ticket_lease_remaining_seconds{ticket="ticket-00003"} 4.5',
      'tollbooth_ticket_lease_remaining_seconds{ticket="ticket-00004"} 21.004',
    ]);
    expect(samples(text, 'tollbooth_ticket_generation')[2]).toBe('tollbooth_ticket_generation{ticket="ticket-00002"} 5');
    expect(samples(text, 'tollbooth_ticket_standby').map((l) => l.split(' ')[1])).toEqual(['0', '0', '0', '1', '0']);
    expect(samples(text, 'tollbooth_ticket_last_change_timestamp_seconds')[0]).toBe('tollbooth_ticket_last_change_timestamp_seconds{ticket="ticket-00000"} 1796000000');
    expect(samples(text, 'tollbooth_tickets')).toEqual(['tollbooth_tickets 5']);
    expect(samples(text, 'tollbooth_tickets_by_holder')).toEqual(['tollbooth_tickets_by_holder{holder="10.0.0.1"} 3', 'tollbooth_tickets_by_holder{holder=""} 2']);
    expect(samples(text, 'tollbooth_tickets_unmanaged')).toEqual(['tollbooth_tickets_unmanaged 1']);
    expect(samples(text, 'tollbooth_tickets_standby')).toEqual(['tollbooth_tickets_standby 1']);
    expect(samples(text, 'tollbooth_tickets_granted_here')).toEqual(['tollbooth_tickets_granted_here 3']);
    expect(samples(text, 'tollbooth_tickets_lease_remaining_min_seconds')).toEqual(['tollbooth_tickets_lease_remaining_min_seconds 4.5']);
    // The metrics that are not about tickets are still there (prom-client's part of the text).
    expect(samples(text, 'tollbooth_registry_term')).toEqual(['tollbooth_registry_term 4']);
    expect(samples(text, 'tollbooth_peer_state').length).toBe(6);
    await check(text);
  });

  it(`beyond ${ticketDetailSeriesMax} tickets: per ticket only holder, managed and granted here (sites)`, async () => {
    const n = ticketDetailSeriesMax + 1;
    const site = await memberMetrics(standInReadings('site', n, mixed)).text();
    const arbitrator = await memberMetrics(standInReadings('arbitrator', n, mixed)).text();
    for (const name of ['tollbooth_ticket_holder_info', 'tollbooth_ticket_managed', 'tollbooth_ticket_granted_here']) expect(samples(site, name).length, name).toBe(n);
    for (const name of ['tollbooth_ticket_holder_info', 'tollbooth_ticket_managed']) expect(samples(arbitrator, name).length, name).toBe(n);
    expect(samples(arbitrator, 'tollbooth_ticket_granted_here')).toEqual([]);
    for (const name of detailNames) {
      expect(samples(site, name), name).toEqual([]);
      expect(site, name).not.toContain(`# TYPE ${name} `);
    }
    expect(samples(site, 'tollbooth_tickets')).toEqual([`tollbooth_tickets ${n}`]);
    expect(samples(arbitrator, 'tollbooth_tickets_by_holder')).toEqual([`tollbooth_tickets_by_holder{holder="10.0.0.1"} ${n - 2}`, 'tollbooth_tickets_by_holder{holder=""} 2']);
    expect(samples(arbitrator, 'tollbooth_tickets_granted_here')).toEqual([]);
    await check(site);
    await check(arbitrator);
  });

  it('10 000 tickets: 3 series a ticket at a site, 2 at an arbitrator, under 2 MiB', async () => {
    const n = 10_000;
    for (const [kind, perTicket] of [['site', 3], ['arbitrator', 2]] as const) {
      const text = await memberMetrics(standInReadings(kind, n)).text();
      expect(text.split('\n').filter((l) => l.startsWith('tollbooth_ticket_')).length, kind).toBe(perTicket * n);
      expect(Buffer.byteLength(text), kind).toBeLessThan(2 * 1024 * 1024);
      await check(text);
    }
  }, 60_000);

  it('escapes a label value: backslash, double quote, line feed', async () => {
    const text = await memberMetrics(standInReadings('site', 1, (t) => ({ ...t, name: 'a"b\\c\nd', holder: 'x"y' }))).text();
    expect(samples(text, 'tollbooth_ticket_holder_info')).toEqual(['tollbooth_ticket_holder_info{ticket="a\\"b\\\\c\\nd",holder="x\\"y"} 1']);
    expect(samples(text, 'tollbooth_tickets_by_holder')).toEqual(['tollbooth_tickets_by_holder{holder="x\\"y"} 1']);
    await check(text);
  });
});
