// Snapshots sent in chunks (src/core/registry/snapshot-transfer.ts; Raft
// dissertation §5.3's InstallSnapshot with offsets). Two levels:
//
//  1. The follower's SnapshotReceiver on its own, with the real codec
//     (src/wire/snapshot-codec.ts): chunks lost, duplicated and reordered in
//     every way a seeded PRNG draws still assemble exactly the leader's
//     snapshot, and nothing is installed before the last byte; a chunk of
//     another snapshot replaces the partial one; a whole that does not match
//     its digest, or a chunk or a whole over the limits, is refused.
//  2. Real Members (three: two sites and an arbitrator) on a hand-driven
//     in-memory network with one virtual clock, tiny compaction and chunk
//     limits so that a 20-odd-entry log makes a snapshot of several chunks.
//     A member cut off while the others compact catches up by a snapshot
//     transfer: with every chunk delivered once; with chunks and answers
//     dropped, duplicated and reordered (seeded); and across a leader change
//     in the middle of the transfer, where the new leader holds the same
//     snapshot and resumes at the offset the follower reports. Each time the
//     follower ends with the leader's table and keeps replicating new entries,
//     and no chunk carries more than snapshotChunkBytesMax characters.
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig, type CoreLimits } from '../../../src/core/config.js';
import { Member } from '../../../src/core/member.js';
import type { Envelope, Snapshot } from '../../../src/core/messages.js';
import { SeededRandom } from '../../../src/core/random.js';
import type { CoreEvent } from '../../../src/core/ready.js';
import { encodeSnapshot, SnapshotReceiver, type ChunkIn, type EncodedSnapshot } from '../../../src/core/registry/snapshot-transfer.js';
import { TicketTable } from '../../../src/core/tickets/ticket-table.js';
import { index, memberId, ms, term, type MemberId, type TicketDef } from '../../../src/core/types.js';
import { snapshotCodec } from '../../../src/wire/snapshot-codec.js';
import { arb, ids, siteA, siteB, testMembers, testTiming } from '../../support/core-formation.js';

// ───────────── 1. the receiver alone ─────────────

const manual = (name: string): TicketDef => ({ name, mode: 'manual', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} });

function bigSnapshot(tickets: number, at = 40): Snapshot {
  const limits = { ticketCountMax: tickets, attrsPerTicketMax: 4 };
  const table = TicketTable.fromDefs(Array.from({ length: tickets }, (_, i) => manual(`t-${i}`)), limits);
  return { index: index(at), term: term(3), members: [{ id: memberId('site-a'), kind: 'site' }], table: table.snapshot() };
}

function chunksOf(e: EncodedSnapshot, size: number): ChunkIn[] {
  const out: ChunkIn[] = [];
  for (let offset = 0; offset < e.totalBytes; offset += size) out.push({ ...e, offset, data: e.text.slice(offset, offset + size) });
  return out;
}

describe('SnapshotReceiver', () => {
  const chunkBytes = 1000;
  const limits = { snapshotChunkBytesMax: chunkBytes, snapshotBytesMax: 1_000_000 };
  const encoded = encodeSnapshot(snapshotCodec, bigSnapshot(200));

  it('the test snapshot spans many chunks', () => {
    expect(encoded.totalBytes).toBeGreaterThan(10 * chunkBytes);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('assembles exactly the snapshot whatever is lost, doubled or reordered (seed %i)', (seed) => {
    const rng = new SeededRandom(seed);
    const r = new SnapshotReceiver(snapshotCodec, limits);
    const chunks = chunksOf(encoded, chunkBytes);
    let held = 0;
    let installed: Snapshot | null = null;
    // The leader's side, as the registry runs it: resend from the reported offset until it is all there.
    for (let round = 0; installed === null; round++) {
      expect(round).toBeLessThan(1000);
      // A burst: the pending chunk, plus stray copies of earlier and later ones, in random order, some lost.
      const burst = [chunks[held / chunkBytes]!, ...Array.from({ length: 3 }, () => chunks[Math.floor(rng.next() * chunks.length)]!)];
      for (let i = burst.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [burst[i], burst[j]] = [burst[j]!, burst[i]!];
      }
      for (const c of burst) {
        if (rng.next() < 0.3) continue;
        const out = r.offer(c);
        if (out.kind === 'complete') {
          installed = out.snapshot;
          break;
        }
        expect(out.kind).toBe('partial');
        if (out.kind === 'partial') {
          // Held bytes only grow, and only by whole chunks in order.
          expect(out.offset).toBeGreaterThanOrEqual(held);
          held = out.offset;
        }
      }
    }
    expect(installed).toEqual(snapshotCodec.decode(encoded.text).ok ? (snapshotCodec.decode(encoded.text) as { snapshot: Snapshot }).snapshot : null);
    expect(installed.index).toBe(encoded.index);
  });

  it('installs nothing before the last byte, and the last byte alone completes it', () => {
    const r = new SnapshotReceiver(snapshotCodec, limits);
    const chunks = chunksOf(encoded, chunkBytes);
    for (const c of chunks.slice(0, -1)) expect(r.offer(c).kind).toBe('partial');
    expect(r.heldOf(encoded)).toBe(encoded.totalBytes - chunks.at(-1)!.data.length);
    expect(r.offer(chunks.at(-1)!).kind).toBe('complete');
    expect(r.heldOf(encoded)).toBe(0);
  });

  it('a chunk of another snapshot replaces the partial one; the old one then starts over', () => {
    const other = encodeSnapshot(snapshotCodec, bigSnapshot(200, 41));
    const r = new SnapshotReceiver(snapshotCodec, limits);
    const mine = chunksOf(encoded, chunkBytes);
    r.offer(mine[0]!);
    r.offer(mine[1]!);
    expect(r.heldOf(encoded)).toBe(2 * chunkBytes);
    expect(r.offer(chunksOf(other, chunkBytes)[0]!)).toEqual({ kind: 'partial', offset: chunkBytes });
    expect(r.heldOf(encoded)).toBe(0);
    expect(r.offer(mine[2]!)).toEqual({ kind: 'partial', offset: 0 });
  });

  it('refuses a whole whose digest does not match, and keeps nothing of it', () => {
    const r = new SnapshotReceiver(snapshotCodec, limits);
    const forged = { ...encoded, digest: '0'.repeat(64) };
    const out = chunksOf(forged, chunkBytes).map((c) => r.offer(c));
    expect(out.at(-1)).toEqual({ kind: 'refused', reason: 'digest of the assembled snapshot does not match' });
    expect(r.heldOf(forged)).toBe(0);
  });

  it('refuses a whole at another index or term than announced', () => {
    const r = new SnapshotReceiver(snapshotCodec, limits);
    const lying = { ...encoded, index: index(39) };
    const out = chunksOf(lying, chunkBytes).map((c) => r.offer(c));
    expect(out.at(-1)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/announced 39\/3/) as unknown });
  });

  it('refuses chunks and wholes over the limits, and chunks past the end', () => {
    const r = new SnapshotReceiver(snapshotCodec, { snapshotChunkBytesMax: 10, snapshotBytesMax: 100 });
    const key = { index: index(5), lastTerm: term(1), totalBytes: 100, digest: 'd' };
    expect(r.offer({ ...key, offset: 0, data: 'x'.repeat(11) })).toMatchObject({ kind: 'refused', reason: 'chunk of 11 bytes, limit 10' });
    expect(r.offer({ ...key, totalBytes: 101, offset: 0, data: '' })).toMatchObject({ kind: 'refused', reason: 'snapshot of 101 bytes, limit 100' });
    expect(r.offer({ ...key, offset: 95, data: 'x'.repeat(10) })).toMatchObject({ kind: 'refused', reason: 'chunk ends at 105, past the snapshot\'s 100 bytes' });
  });
});

// ───────────── 2. members on a hand-driven network ─────────────


const timing = testTiming;

const chunkBytesMax = 512;
/** Small: a few dozen entries compact several times, and the snapshot of 30 tickets spans many chunks. */
const limits: CoreLimits = { ...defaultLimits, logEntriesBeforeSnapshot: 8, snapshotChunkBytesMax: chunkBytesMax };
const tickets = Array.from({ length: 30 }, (_, i) => manual(`ticket-${i}`));

function configFor(self: MemberId): CoreConfig {
  return {
    self,
    members: testMembers,
    tickets,
    timing,
    limits,
  };
}

class Net {
  now = 0;
  readonly members = new Map<MemberId, Member>();
  readonly events: Array<{ member: MemberId; event: CoreEvent; at: number }> = [];
  readonly chunksSent: Envelope[] = [];
  private queue: Envelope[] = [];
  /** Members that neither receive nor send (crashed or cut off); they still tick, as a partitioned process does. */
  readonly down = new Set<MemberId>();
  /** What the network does to each message: deliver it n times (0 = lost). */
  copies: (env: Envelope) => number = () => 1;
  /** Reorders each batch of queued messages before delivery. */
  shuffle: (batch: Envelope[]) => Envelope[] = (b) => b;

  constructor() {
    ids.forEach((id, i) => {
      // The arbitrator draws the shortest election timeout: it leads first.
      const random = id === arb ? { next: () => 0 } : { next: () => 0.5 + new SeededRandom(i + 1).next() / 2 };
      this.members.set(id, new Member(configFor(id), { now: ms(0), random, snapshotCodec, cib: [] }));
    });
    for (const id of ids) this.drain(id);
  }

  member(id: MemberId): Member {
    return this.members.get(id)!;
  }

  leader(): MemberId | undefined {
    return ids.find((id) => !this.down.has(id) && this.member(id).status().role === 'leader');
  }

  private drain(id: MemberId): void {
    const m = this.member(id);
    while (m.hasReady()) {
      const r = m.ready();
      for (const e of r.events) this.events.push({ member: id, event: e, at: this.now });
      for (const env of r.messages) {
        if (env.via !== undefined) continue; // no gossip here: direct links only
        if (env.msg.type === 'snapshot-chunk') this.chunksSent.push(env);
        this.queue.push(env);
      }
      // Sites' CIB writes succeed at once.
      for (const e of r.effects) m.report({ type: 'effect-result', id: e.id, ok: true }, ms(this.now));
      for (const g of r.guard) m.report({ type: 'effect-result', id: g.id, ok: true, skipped: [] }, ms(this.now));
      m.advance(r);
    }
  }

  private deliverAll(): void {
    for (let rounds = 0; this.queue.length > 0; rounds++) {
      expect(rounds).toBeLessThan(10_000);
      const batch = this.shuffle(this.queue);
      this.queue = [];
      for (const env of batch) {
        if (this.down.has(env.from) || this.down.has(env.to)) continue;
        for (let n = this.copies(env); n > 0; n--) {
          this.member(env.to).step(env, ms(this.now));
          this.drain(env.to);
        }
      }
    }
  }

  /** Moves time to `t` in steps of 10 ms, ticking every member and delivering until quiet. */
  runUntil(t: number): void {
    while (this.now < t) {
      this.now = Math.min(t, this.now + 10);
      for (const id of ids) {
        this.member(id).tick(ms(this.now));
        this.drain(id);
      }
      this.deliverAll();
    }
  }

  runUntilTrue(what: string, cond: () => boolean, forMs: number): void {
    const end = this.now + forMs;
    while (!cond()) {
      if (this.now >= end) throw new Error(`${what}: not within ${forMs} ms`);
      this.runUntil(this.now + 10);
    }
  }

  /** One attr-set at the leader, then time until every live member applied it (one entry at a time: equal compaction points). */
  setAttr(i: number): void {
    const l = this.leader();
    expect(l).toBeDefined();
    this.member(l!).command({ id: `c${i}`, type: 'attr-set', ticket: tickets[i % tickets.length]!.name, key: 'k', value: `v${i}` }, ms(this.now));
    this.drain(l!);
    this.deliverAll();
    const target = this.member(l!).status().lastIndex;
    this.runUntilTrue(`entry ${target} applied everywhere`, () => ids.every((id) => this.down.has(id) || this.member(id).status().commit >= target), 2000);
  }

  transfers(member?: MemberId): Array<Extract<CoreEvent, { type: 'snapshot-transfer' }>> {
    return this.events.flatMap((e) => (e.event.type === 'snapshot-transfer' && (member === undefined || e.member === member) ? [e.event] : []));
  }
}

/** A formation whose arbitrator leads, with site-b cut off while 20 entries commit and compact. */
function behind(): Net {
  const net = new Net();
  net.runUntilTrue('a leader', () => net.leader() === arb, 5000);
  net.down.add(siteB);
  for (let i = 0; i < 20; i++) net.setAttr(i);
  expect(net.member(arb).snapshotIndex()).toBeGreaterThan(net.member(siteB).status().commit);
  expect(net.member(siteA).snapshotIndex()).toBe(net.member(arb).snapshotIndex());
  return net;
}

function expectCaughtUp(net: Net): void {
  const leader = net.leader()!;
  expect(net.member(siteB).tickets()).toEqual(net.member(leader).tickets());
  expect(net.member(siteB).history()).toEqual(net.member(leader).history());
  // Replication goes on after the snapshot: a new entry reaches site-b.
  net.setAttr(100);
  expect(net.member(siteB).ticket(tickets[100 % tickets.length]!.name)?.attrs['k']).toBe('v100');
  for (const c of net.chunksSent) expect(c.msg.type === 'snapshot-chunk' && c.msg.data.length).toBeLessThanOrEqual(chunkBytesMax);
}

describe('a member behind the compaction point catches up by a chunked snapshot', () => {
  it('every chunk delivered once: one probe, then one chunk per answer', () => {
    const net = behind();
    net.down.delete(siteB);
    net.runUntilTrue('installed', () => net.transfers(siteB).some((t) => t.stage === 'installed'), 10_000);
    const [sending] = net.transfers(arb).filter((t) => t.stage === 'sending');
    expect(sending).toBeDefined();
    const chunks = Math.ceil(sending!.bytes / chunkBytesMax);
    expect(chunks).toBeGreaterThan(5);
    const withData = net.chunksSent.filter((c) => c.msg.type === 'snapshot-chunk' && c.msg.data.length > 0);
    // Heartbeat probes may ride along; data goes out once per chunk when nothing is lost.
    expect(withData).toHaveLength(chunks);
    net.runUntilTrue('the leader saw it installed', () => net.transfers(arb).some((t) => t.stage === 'sent'), 2000);
    // Nothing waited for a resend: on a network that loses nothing the transfer is round trips only.
    const at = (stage: string): number => net.events.find((e) => e.event.type === 'snapshot-transfer' && e.event.stage === stage)!.at;
    expect(at('installed') - at('sending')).toBeLessThan(timing.heartbeatIntervalMs);
    expectCaughtUp(net);
  });

  it('a lost chunk goes again with the answer to the next heartbeat\'s probe, not an election timeout later', () => {
    // Simulator seed 395 --loss 0.2: each lost chunk waited out an election timeout, the transfer
    // took ~6 s, and the follower learnt a grant of its own only after the leader's view of it ran out.
    const net = behind();
    let dropped: number | null = null;
    net.copies = (env) => {
      const m = env.msg;
      if (dropped !== null || m.type !== 'snapshot-chunk' || m.data.length === 0 || m.offset === 0) return 1;
      dropped = m.offset;
      return 0;
    };
    net.down.delete(siteB);
    net.runUntilTrue('installed', () => net.transfers(siteB).some((t) => t.stage === 'installed'), 10_000);
    expect(dropped).not.toBeNull();
    const at = (stage: string): number => net.events.find((e) => e.event.type === 'snapshot-transfer' && e.event.stage === stage)!.at;
    // One heartbeat for the probe that finds the chunk missing, then round trips: well inside an election timeout.
    expect(at('installed') - at('sending')).toBeLessThan(3 * timing.heartbeatIntervalMs);
    expect(timing.electionTimeoutMs).toBeGreaterThan(3 * timing.heartbeatIntervalMs);
    // The chunk went again once, not once per probe answered: one copy more than the chunks.
    const chunks = Math.ceil(net.transfers(arb).find((t) => t.stage === 'sending')!.bytes / chunkBytesMax);
    expect(net.chunksSent.filter((c) => c.msg.type === 'snapshot-chunk' && c.msg.data.length > 0)).toHaveLength(chunks + 1);
    expectCaughtUp(net);
  });

  it.each([1, 2, 3, 4, 5, 6])('chunks and answers lost, duplicated and reordered (seed %i)', (seed) => {
    const net = behind();
    const rng = new SeededRandom(seed * 7919);
    const isTransfer = (env: Envelope): boolean => env.msg.type === 'snapshot-chunk' || env.msg.type === 'snapshot-resp';
    net.copies = (env) => {
      if (!isTransfer(env)) return 1;
      const x = rng.next();
      return x < 0.25 ? 0 : x < 0.45 ? 2 : 1;
    };
    net.shuffle = (batch) => {
      const b = [...batch];
      for (let i = b.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [b[i], b[j]] = [b[j]!, b[i]!];
      }
      return b;
    };
    net.down.delete(siteB);
    net.runUntilTrue('installed', () => net.transfers(siteB).some((t) => t.stage === 'installed'), 60_000);
    expect(net.transfers(siteB).filter((t) => t.stage === 'installed')).toHaveLength(1);
    expect(net.transfers().filter((t) => t.stage === 'refused')).toEqual([]);
    net.copies = () => 1;
    net.shuffle = (b) => b;
    expectCaughtUp(net);
  });

  it('a leader change mid-transfer: the new leader holds the same snapshot and resumes where the follower is', () => {
    const net = behind();
    expect(net.member(siteA).snapshotIndex()).toBe(net.member(arb).snapshotIndex());
    // site-b takes three chunks from the arbitrator, then the arbitrator dies.
    let dataChunks = 0;
    net.copies = (env) => {
      if (env.msg.type !== 'snapshot-chunk' || env.msg.data.length === 0) return 1;
      dataChunks += 1;
      if (dataChunks === 3) net.down.add(arb);
      return 1;
    };
    net.down.delete(siteB);
    net.runUntilTrue('the arbitrator is gone', () => net.down.has(arb), 5000);
    const partial = net.chunksSent.filter((c) => c.from === arb && c.msg.type === 'snapshot-chunk' && c.msg.data.length > 0).length;
    expect(partial).toBe(3);
    expect(net.transfers(siteB).some((t) => t.stage === 'installed')).toBe(false);
    net.runUntilTrue('site-a leads', () => net.leader() === siteA, 10_000);
    net.runUntilTrue('installed', () => net.transfers(siteB).some((t) => t.stage === 'installed'), 10_000);
    const resumed = net.transfers(siteA).find((t) => t.stage === 'resumed');
    expect(resumed).toMatchObject({ peer: siteB, offset: 3 * chunkBytesMax });
    // site-a sent only what site-b lacked.
    const fromA = net.chunksSent.filter((c) => c.from === siteA && c.msg.type === 'snapshot-chunk' && c.msg.data.length > 0);
    expect(fromA.every((c) => c.msg.type === 'snapshot-chunk' && c.msg.offset >= 3 * chunkBytesMax)).toBe(true);
    expectCaughtUp(net);
  });
});
