// A member's readings for src/runtime/metrics.ts without a member (issue 15):
// n tickets, all held by site 10.0.0.1, seen from that site (every ticket
// granted here, its lease left the holder's own) or from the arbitrator
// 10.0.0.3 (the leader), 2 peers on the links and in gossip, every ticket
// granted once since the start (so each has its last change). The ticket
// views are built anew at every call, as AdminService.views does. Used by
// bench/metrics-scrape.ts and test/runtime/metrics.test.ts.

import type { MetricsComponents } from '../src/runtime/metrics.js';
import type { TicketView } from '../src/runtime/admin-service.js';
import type { FormationEvents } from '../src/runtime/formation-events.js';
import type { Pump } from '../src/runtime/pump.js';
import type { MonotonicClock, PeerStatus, Transport } from '../src/ports/ports.js';

const holdingSite = '10.0.0.1';
const members = [holdingSite, '10.0.0.2', '10.0.0.3'];

/**
 * A member's readings over stand-ins: n tickets, all held by site 10.0.0.1, seen from that site or from
 * the arbitrator; `adjust` changes ticket i's view (unheld, unmanaged, standby, ...).
 */
export function standInReadings(kind: 'site' | 'arbitrator', n: number, adjust: (t: TicketView, i: number) => TicketView = (t) => t): MetricsComponents {
  const names = Array.from({ length: n }, (_, i) => `ticket-${String(i).padStart(5, '0')}`);
  const me = kind === 'site' ? holdingSite : '10.0.0.3';
  const others = members.filter((m) => m !== me);
  const tickets = (): TicketView[] =>
    names.map((name, i) =>
      adjust({ name, mode: 'automatic', holder: holdingSite, generation: 3 + (i % 5), standby: false, managed: true, attrs: {}, leaseDurationMs: 30_000, leaseLeftMs: 21_000 + (i % 997), grantedHere: kind === 'site' ? true : null }, i),
    );
  const peers: PeerStatus[] = others.map((id) => ({ id, state: 'connected', sent: 123_456, received: 123_400, rejected: {}, lastRecvAt: 1_000, rttMs: 0.4, protocol: '1.0' }) as unknown as PeerStatus);
  const core = {
    status: () => ({ id: me, role: kind === 'site' ? 'follower' : 'leader', term: 4, leader: '10.0.0.3', commit: 2_345 }),
    peers: () => ({ peers: others.map((id) => ({ id, state: 'alive', rttMs: 0.4, route: { direct: true } })) }),
    siteHealth: () => [{ site: me, health: { quorate: true, unrunnable: [] } }],
    id: me,
  };
  const pump = { core, on: () => undefined, stats: () => ({ inputsDropped: 0, commandsRefused: 0 }) } as unknown as Pump;
  const transport = { peers: () => peers, protocol: '1.0' } as unknown as Transport;
  const clock: MonotonicClock = { now: () => 2_000 } as MonotonicClock;
  // Every ticket granted once since the start, so each has its last change.
  const events = {
    subscribe: (listener: (e: { event: string; ticket: string; timeUnixMs: number }) => void) => {
      for (const ticket of names) listener({ event: 'grant', ticket, timeUnixMs: 1_796_000_000_000 });
      return () => undefined;
    },
  } as unknown as FormationEvents;
  return {
    self: me,
    kind,
    formation: 'geo',
    version: '0.1.0',
    pump,
    transport,
    clock,
    events,
    tickets,
    ...(kind === 'site' ? { siteCounters: { handlerFailures: 0, runnabilityFailures: 0 } } : {}),
  };
}
