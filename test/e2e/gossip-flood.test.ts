// A member's flood of valid gossip does not depose the leader (issue 12, item
// 4). Three real member processes (2 sites, 1 arbitrator on 127.0.0.1–3,
// libp2p over TCP, the lan preset as on a real LAN) elect a leader; then one
// member that does not lead is killed (-9) and its key is taken over by a
// bare libp2p node in this test process — a buggy member, authenticated by
// Noise as itself. It writes the leader floodFrames gossip pings, each
// validly signed with that member's envelope key and numbered afresh (every
// one would pass the replay window), over floodDurationMs; they are signed
// before the flood starts, so that this process spends its CPU on the
// writing, not on signatures. The leader and the remaining member must come
// through it as they went in: the same leader at the same term on both,
// observed every 100 ms and at the end (a term that did not move means no
// election took place in between), no 'peer disconnected' line between them
// in either log, and the flooding link itself never dropped. The leader's
// `peers` view must count the frames it refused unverified as 'rate-limited'
// against the flooding member. On main before the per-peer budget and the
// registry-first queues, the leader lost its leadership to such a flood.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ping } from '@libp2p/ping';
import { publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { lpStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tollboothProtocol } from '../../src/adapters/transport/libp2p-transport.js';
import { publicKeyOfSeed, readSeedFile } from '../../src/cli/keys.js';
import { LoopbackFormation, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import { defaultFormationName } from '../../src/config/index.js';
import type { PeersView } from '../../src/runtime/admin-service.js';
import { Ed25519Signer, encodeEnvelope, helloPayload, privateKeyFromSeed, protocolVersion, sequenceNumber } from '../../src/wire/index.js';
import { inboundBudgetDefaults } from '../../src/wire/inbound-budget.js';
import { createRawLibp2p } from '../support/raw-libp2p.js';

const command = [process.execPath, 'dist/bin/tollbooth.js'];
/** The flood of issue 12: 10,000 valid pings in 3 s from one member key. */
const floodFrames = 10_000;
const floodDurationMs = 3_000;
/** Frames written at once; batches are paced to spread the flood evenly over floodDurationMs. */
const floodBatchFrames = 50;
/** Far above any epoch the killed member used (one per start): its fresh sequence numbers. */
const floodEpoch = 1_000;
/** After the flood, the formation is watched this long more: several election timeouts of the lan preset (1 s). */
const settleMs = 3_000;
/** An admin call to a member under the flood; generous for a loaded 2-core host. */
const adminCallTimeoutMs = 5_000;

interface Observation {
  readonly who: string;
  readonly leader: string | null;
  readonly term: number;
  readonly linkUp: boolean;
}

/** How many times `peer` was logged as disconnected in a member's log file. */
async function disconnectsLogged(m: LoopbackMember, peer: string): Promise<number> {
  const text = await readFile(m.log, 'utf8');
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.includes('"peer disconnected"')) continue;
    const entry = JSON.parse(line) as { peer?: string };
    if (entry.peer === peer) n += 1;
  }
  return n;
}

/** A bare libp2p node with a member's key: it answers pings and drains what it is sent, and writes what the test gives it. */
async function startRawMember(seed: Uint8Array): Promise<Libp2p> {
  // The leader's connection monitor pings us (ping answers); we ping no one, so that only the leader can end the link.
  const node = await createRawLibp2p(seed, { ping: ping() });
  await node.handle(tollboothProtocol, (stream) => {
    void (async () => {
      const lp = lpStream(stream);
      for (;;) await lp.read();
    })().catch(() => undefined);
  });
  return node;
}

describe('a flood of valid gossip from one member key', () => {
  let f: LoopbackFormation;
  let raw: Libp2p | null = null;

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, command, preset: 'lan', tickets: [{ name: 'db', expireS: 10, acquireAfterS: 0 }] });
    await f.startAll();
  }, 60_000);

  afterAll(async () => {
    await raw?.stop();
    await f.stop(process.env.KEEP_FORMATION === '1');
  });

  const peersOf = async (m: LoopbackMember): Promise<PeersView> => (await f.call(m, { op: 'peers' }, adminCallTimeoutMs)).data as PeersView;

  it('leaves the leader leading at the same term, its other link up, and counts the excess as rate-limited', async () => {
    // The leadership the formation settles on: a site that wins an election hands the registry to
    // the caught-up arbitrator soon after (docs/protocol.md §3, "who leads"). Picked before that
    // hand-over, the "leader" would stop leading on its own while the test waits for it below
    // (seen beside stress-ng, where the first election often goes to a site).
    const arbitrator = f.members.find((m) => m.kind === 'arbitrator')!;
    const leaderAddress = await until('the arbitrator to lead, followed by every member', 90_000, async () => {
      const leaders = new Set<string | null>();
      for (const m of f.members) leaders.add((await peersOf(m)).status.leader);
      return leaders.size === 1 && leaders.has(arbitrator.address) ? arbitrator.address : null;
    });
    const leader = f.member(leaderAddress);
    const victim = f.members.find((m) => m !== leader)!;
    const other = f.members.find((m) => m !== leader && m !== victim)!;

    // The victim's key, now held by this process: the leader sees the same authenticated member.
    const seed = await readSeedFile(victim.key);
    const signer = new Ed25519Signer(privateKeyFromSeed(seed));
    const formation = defaultFormationName(basename(f.configPath));
    const frames = Array.from({ length: floodFrames }, (_, i) =>
      encodeEnvelope(
        { kind: 'gossip', formation, sender: victim.address, recipient: leader.address, seq: sequenceNumber(floodEpoch, i + 1), term: 0, payload: { type: 'ping', seq: 1_000_000 + i, updates: [], rumors: [] } },
        signer,
      ),
    );
    await f.kill(victim, 'SIGKILL');
    raw = await startRawMember(seed);
    const leaderPeerId = peerIdFromPublicKey(publicKeyFromRaw(publicKeyOfSeed(await readSeedFile(leader.key))));
    const leaderAddr = multiaddr(`/ip4/${leader.address}/tcp/${f.port}/p2p/${leaderPeerId.toString()}`);
    const connection = await until('the flooding member to be linked to the leader', 30_000, () => raw!.dial(leaderAddr, { signal: AbortSignal.timeout(5_000) }));
    const linkDrops: number[] = [];
    raw.addEventListener('peer:disconnect', () => linkDrops.push(performance.now()));
    const stream = await connection.newStream(tollboothProtocol, { signal: AbortSignal.timeout(5_000) });
    const lp = lpStream(stream);
    // Every stream opens with a hello (the protocol version handshake); the flood follows it.
    await lp.write(encodeEnvelope({ kind: 'hello', formation, sender: victim.address, recipient: leader.address, seq: sequenceNumber(floodEpoch, 0), term: 0, payload: helloPayload(protocolVersion) }, signer));

    // The formation as it goes in: two members agree on a leader and term, their link is up.
    const before = await until('the leader and the other member to agree', 30_000, async () => {
      const l = await peersOf(leader);
      const o = await peersOf(other);
      return l.status.role === 'leader' && o.status.leader === leader.address && o.status.term === l.status.term ? l.status.term : null;
    });
    const disconnectsBefore = [await disconnectsLogged(leader, other.address), await disconnectsLogged(other, leader.address)];
    // What the leader took in from the victim's key so far (the killed process's own gossip).
    const countedFrom = performance.now();
    const receivedBefore = (await peersOf(leader)).peers.find((p) => p.id === victim.address)?.received ?? 0;

    const observations: Observation[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const [m, peer] of [[leader, other], [other, leader]] as const) {
          const v = await peersOf(m).catch(() => null);
          if (v === null) continue;
          observations.push({ who: m.address, leader: v.status.leader, term: v.status.term, linkUp: v.peers.find((p) => p.id === peer.address)?.state === 'connected' });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // The flood: paced batches of the pre-signed pings for floodDurationMs. A leader that stops
    // reading (backpressure) makes the writes wait; whatever is not written by then is not sent.
    const startedAt = performance.now();
    const floodEnd = startedAt + floodDurationMs;
    let written = 0;
    try {
      for (let at = 0; at < floodFrames && performance.now() < floodEnd; at += floodBatchFrames) {
        const batch = frames.slice(at, at + floodBatchFrames);
        await lp.writeV(batch, { signal: AbortSignal.timeout(Math.max(1, Math.ceil(floodEnd - performance.now()))) });
        written += batch.length;
        const dueAt = startedAt + ((at + floodBatchFrames) / floodFrames) * floodDurationMs;
        await new Promise((r) => setTimeout(r, Math.max(0, dueAt - performance.now())));
      }
    } catch (err) {
      // A write still waiting when the flood's time was up (the leader throttles us), or a link the leader ended (recorded as a drop).
      console.log(`flood write ended after ${written} frames: ${String(err)}`);
    }
    const floodMs = performance.now() - startedAt;
    const settleEnd = performance.now() + settleMs;
    await until('the watch after the flood', settleMs + 30_000, () => Promise.resolve(performance.now() >= settleEnd ? true : null));
    watching = false;
    await watch;

    const l = await peersOf(leader);
    const countedMs = performance.now() - countedFrom;
    const o = await peersOf(other);
    const rejected = l.peers.find((p) => p.id === victim.address)?.rejected ?? {};
    const off = observations.filter((x) => x.leader !== leader.address || x.term !== before || !x.linkUp);
    const summary = {
      floodMs: Math.round(floodMs),
      countedMs: Math.round(countedMs),
      written,
      rejectedAtLeader: rejected,
      receivedAtLeader: (l.peers.find((p) => p.id === victim.address)?.received ?? 0) - receivedBefore,
      termBefore: before,
      leaderAfter: { role: l.status.role, term: l.status.term, leader: l.status.leader },
      otherAfter: { leader: o.status.leader, term: o.status.term },
      pump: ((await f.call(leader, { op: 'status' })).data as { pump?: unknown }).pump,
      observations: observations.length,
      off: off.slice(0, 5),
      linkDrops: linkDrops.length,
    };
    console.log(`gossip flood: ${JSON.stringify(summary)}`);

    // No election in between: the term never moved, and the leader never changed.
    expect(l.status.role, JSON.stringify(summary)).toBe('leader');
    expect(l.status.term, JSON.stringify(summary)).toBe(before);
    expect(o.status, JSON.stringify(summary)).toMatchObject({ leader: leader.address, term: before });
    expect(off, JSON.stringify(summary)).toEqual([]);
    expect(observations.length).toBeGreaterThan(0);
    // The link between the two live members never dropped, nor the flooding one.
    expect([await disconnectsLogged(leader, other.address), await disconnectsLogged(other, leader.address)], JSON.stringify(summary)).toEqual(disconnectsBefore);
    expect(linkDrops, JSON.stringify(summary)).toEqual([]);
    // The excess was refused before verification, and counted as such; the leader took in about its
    // budget (inboundBudgetDefaults: 10 × the legitimate gossip rate), not the flood.
    expect(rejected['rate-limited'] ?? 0, JSON.stringify(summary)).toBeGreaterThan(0);
    const budget = inboundBudgetDefaults(f.members.length).gossip;
    // 10 % for the two clocks (ours and the leader's) not starting and stopping together.
    const budgetFrames = 1.1 * (budget.burstFrames + (budget.framesPerSecond * countedMs) / 1000);
    expect(summary.receivedAtLeader, JSON.stringify(summary)).toBeLessThanOrEqual(budgetFrames);
  }, 240_000);
});
