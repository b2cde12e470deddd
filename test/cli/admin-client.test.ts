// What `tollbooth peers` and `tollbooth list --local` print (src/cli/
// admin-client.ts) for gossip (issue 5): every member with its gossip state,
// incarnation, round trip, route (direct or via whom), transport link and
// site health (a link refused at the protocol handshake with the peer's
// version); a local list that took a newer commit from gossip says so.
import { describe, expect, it } from 'vitest';
import { formatList, formatPeers } from '../../src/cli/admin-client.js';
import type { PeersView, TicketView } from '../../src/runtime/admin-service.js';

const view = {
  self: 'site1',
  status: { id: 'site1', role: 'follower', term: 3, leader: 'arb1', commit: 9, lastIndex: 9, members: [], leaderLeaseEnd: null },
  peers: [
    { id: 'arb1', state: 'disconnected', rttMs: null, lastRecvAt: null, sent: 10, received: 4, rejected: {} },
    { id: 'site2', state: 'connected', rttMs: 0.6, lastRecvAt: 5, sent: 99, received: 98, rejected: { duplicate: 2 } },
  ],
  gossip: {
    self: 'site1',
    incarnation: 4,
    healthScore: 1,
    healthMultiplier: 2,
    probeIntervalMs: 1000,
    probeTimeoutMs: 400,
    queueLength: 0,
    peers: [
      { id: 'arb1', state: 'alive', incarnation: 2, rttMs: 1.25, route: { via: 'site2' }, directProbe: 'failed', suspectedBy: [], suspicionEndsAt: null },
      { id: 'site2', state: 'suspect', incarnation: 7, rttMs: 0.5, route: { direct: true }, directProbe: 'ok', suspectedBy: ['arb1'], suspicionEndsAt: 12_000 },
    ],
  },
  health: [
    { site: 'site1', health: { quorate: true, handlersOk: true, unrunnable: [] }, version: 1, receivedAt: 0 },
    { site: 'site2', health: { quorate: false, handlersOk: true, unrunnable: ['db'] }, version: 3, receivedAt: 0 },
  ],
} as unknown as PeersView;

describe('formatPeers', () => {
  it('shows every member: state, incarnation, round trip, route, link, site health', () => {
    expect(formatPeers(view).split('\n')).toEqual([
      'self site1: follower, term 3, leader arb1; incarnation 4, health score 1',
      'MEMBER  STATE              INC  RTT    ROUTE      LINK          SITE HEALTH                 REJECTED',
      'arb1    alive              2    1.3ms  via site2  disconnected  -                           0',
      'site2   suspect (by arb1)  7    0.5ms  direct     connected     no quorum, db not runnable  2',
      "this site's health: ok",
    ]);
  });

  it('shows a link refused at the handshake with the peer\'s version, and why under the table', () => {
    const refused = {
      ...view,
      protocol: '1.0',
      peers: [view.peers[0]!, { ...view.peers[1]!, state: 'incompatible', protocol: '2.0', refused: 'protocol 2.0 there, 1.0 here: major versions differ', rejected: { 'incompatible-version': 1 } }],
    } as PeersView;
    const lines = formatPeers(refused).split('\n');
    expect(lines[0]).toBe('self site1: follower, term 3, leader arb1, protocol 1.0; incarnation 4, health score 1');
    expect(lines[3]).toMatch(/^site2\s+suspect \(by arb1\)\s+7\s+0\.5ms\s+direct\s+incompatible \(2\.0\)\s+no quorum, db not runnable\s+1$/);
    expect(lines).toContain('site2 refused: protocol 2.0 there, 1.0 here: major versions differ');
  });

  it('says when gossip is off and still lists the links', () => {
    const out = formatPeers({ ...view, gossip: null, health: [] });
    expect(out).toContain('gossip off');
    expect(out).toMatch(/site2\s+-\s+-\s+0\.6ms\s+-\s+connected/);
  });
});

describe('formatList', () => {
  const base: TicketView = { name: 'db', mode: 'automatic', holder: 'site2', generation: 5, standby: false, managed: true, attrs: {}, leaseDurationMs: 60_000, leaseLeftMs: 41_200, grantedHere: false };
  it('marks a ticket whose newer commit came by gossip', () => {
    const out = formatList([{ ...base, source: 'gossip' }, { ...base, name: 'web', holder: 'site1', source: 'table' }]);
    expect(out.split('\n')[0]).toMatch(/FROM$/);
    expect(out).toMatch(/db\s+automatic\s+site2\s+5\s+41\.2s\s+granted\s+gossip/);
    expect(out).toMatch(/web\s+automatic\s+site1\s+5\s+41\.2s\s+granted\s+log/);
  });

  it('keeps the old columns when nothing came by gossip', () => {
    expect(formatList([base]).split('\n')[0]).toBe('TICKET  MODE       HOLDER  GEN  LEASE LEFT  STATE');
  });
});
