// Connection admission under a flood of idle TCP connections (issue 12, item
// 3). libp2p admits a bounded number of inbound connections in their upgrade
// phase and, by default, holds each for 10 s: idle sockets from any address,
// re-opened as they close, used to keep a restarted member from reconnecting
// for tens of seconds. Here three real member processes (2 sites, 1
// arbitrator on 127.0.0.1–3) run while a bounded flood of idle sockets from
// other loopback addresses (127.0.0.101–116) is held against every member's
// port; a member that is not the leader is killed (-9) and started again, and
// must be connected to a leader and follow it within reconnectDeadlineMs of
// answering on its admin socket. Configured members' addresses always get a
// slot (the transport's allow list), so the deadline holds however many
// unknown connections wait; before that change this took 5 s to over a minute.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, memberReadyMsMax, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import type { PeersView } from '../../src/runtime/admin-service.js';
import { startIdleFlood, type IdleFlood } from '../support/idle-flood.js';

const command = [process.execPath, 'dist/bin/tollbooth.js'];
/**
 * From "answers on its admin socket" to "linked to a leader and following it". Measured at load
 * 17–29 on 2 cores: 0.34–1.7 s (once 4.8 s at load 27); without the allow list 5.1, 13.1, 14.0,
 * 25.5 s and once not within 60 s. The bound sits above what a starved but admitted member
 * needs (the suite must pass beside two CPU hogs) and below what the flood cost before the
 * allow list in four runs of five; the sub-second figure itself is a measurement, not this test.
 */
const reconnectDeadlineMs = 10_000;
/** Idle connections per member port: more than libp2p's default of 10 pending upgrades. */
const floodSocketsPerTarget = 16;
const floodSources = Array.from({ length: 16 }, (_, i) => `127.0.0.${101 + i}`);

describe('a restarted member reconnects while idle connections flood every member', () => {
  let f: LoopbackFormation;
  let flood: IdleFlood | null = null;

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, command, tickets: [{ name: 'db', expireS: 4, acquireAfterS: 0 }] });
    await f.startAll();
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    flood?.stop();
    await f.stop();
  });

  const peersOf = async (m: LoopbackMember): Promise<PeersView> => (await f.call(m, { op: 'peers' }, 2_000)).data as PeersView;

  const agreedLeader = (): Promise<string> =>
    until('a leader every member follows', 60_000, async () => {
      const leaders = new Set<string | null>();
      for (const m of f.members) leaders.add((await peersOf(m)).status.leader);
      return leaders.size === 1 && !leaders.has(null) ? [...leaders][0]! : null;
    });

  it(`is linked to a leader and follows it within ${reconnectDeadlineMs} ms of starting`, async () => {
    const leader = await agreedLeader();
    // A member that does not lead now, so that the restart tests reconnecting, not electing.
    const victim = f.members.find((m) => m.address !== leader && m.kind === 'site') ?? f.members.find((m) => m.address !== leader)!;

    flood = startIdleFlood({
      targets: f.members.map((m) => ({ host: m.address, port: f.port })),
      socketsPerTarget: floodSocketsPerTarget,
      sources: floodSources,
      durationMsMax: 180_000,
    });
    // The flood holds at least libp2p's default 10 pending slots at every member before the restart.
    await until('the flood to hold idle connections at every member', 60_000, () => Promise.resolve(flood!.open() >= 10 * f.members.length ? true : null), 20);

    await f.kill(victim, 'SIGKILL');
    f.start(victim);
    await f.waitReady(victim);
    const readyAt = performance.now();
    let linkedAt: number | null = null;
    // The leader it follows, whoever that is by now: under load a leader may change while the victim is down.
    await until(`${victim.address} to be linked to a leader and follow it`, 60_000, async () => {
      const v = await peersOf(victim);
      const leaderNow = v.status.leader;
      if (leaderNow === null || v.peers.find((p) => p.id === leaderNow)?.state !== 'connected') return null;
      linkedAt = performance.now();
      return true;
    }, 20);
    const tookMs = linkedAt! - readyAt;
    // Under the flood all along: it still held the slots it could.
    expect(flood.open()).toBeGreaterThan(0);
    expect(tookMs, `reconnect took ${Math.round(tookMs)} ms (flood: ${flood.opened()} connections opened)`).toBeLessThan(reconnectDeadlineMs);
  }, 240_000);
});
