// Direct tests of the Member API (src/core/member.ts) on a tiny hand-driven
// in-memory network: three members (two sites and an arbitrator) share one
// explicit virtual clock; messages are delivered at once, in send order, and
// every input is followed by draining the member's Ready batches the way the
// host must (ready.ts): persist into an in-memory store, check the messages
// against what is now durable, queue the messages, queue the ticket effects
// (the CIB write succeeds and is reported back), advance. Time moves only
// when the test says so: runUntil(t) ticks each member at its nextDeadline()
// and delivers until the network is quiet, so nothing sleeps. A test can drop
// or hold back messages and make one site's CIB writes slow; these are data
// (predicates and sets on the network), not code paths in the core.
//
// The harness itself checks, after every input: nextDeadline() is never in
// the past (and after a tick it lies strictly in the future, so a host timer
// loop cannot spin); a granted vote is sent only in a Ready that persists the
// vote (hardState.votedFor); no message carries a term that is not durable;
// an acknowledged entry is in the store; at most one site has a ticket granted
// in its CIB at any moment; and arbitrators never receive ticket effects (S3).
// The tests then check the scenarios one by one: election of exactly one
// leader, the automatic ticket's grant after an answered renewal, admin
// commands (at a non-leader, revoke, guarded grant), config changes of a
// held ticket (issue 11: a shortened expire, a guarded removal, a stale
// config version), and time going backwards. Two scenarios pin bugs found (and since fixed) in
// src/core, explained next to it.
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig } from '../../src/core/config.js';
import { Member } from '../../src/core/member.js';
import { revokeLeadCeilingMs, usableLeaseMinMs } from '../../src/core/lease.js';
import { isSwimMessage, type Entry, type Envelope, type Snapshot } from '../../src/core/messages.js';
import { SeededRandom, type RandomSource } from '../../src/core/random.js';
import type { AdminCommand, CoreEvent, HardState, Ready, Report } from '../../src/core/ready.js';
import type { TicketEffect } from '../../src/core/tickets/site-holder.js';
import { writeSampleWindowMs } from '../../src/core/tickets/sink-write-times.js';
import { AssertionError, generation, index, ms, term as term0Of, type MemberId, type TicketDef } from '../../src/core/types.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';
import { holderRevokeAt } from '../../src/core/lease.js';
import { arb, ids, siteA, siteB, testMembers, testTiming } from '../support/core-formation.js';

const term0 = term0Of(0);

// ───────────── the formation ─────────────


const timing = testTiming;

const ticketName = 'ticket-a';
const ticketDef: TicketDef = { name: ticketName, mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };

function configFor(self: MemberId): CoreConfig {
  return {
    self,
    members: testMembers,
    tickets: [ticketDef],
    timing,
    limits: defaultLimits,
  };
}

// ───────────── the in-memory network and host ─────────────

type Input =
  | { readonly kind: 'start' }
  | { readonly kind: 'tick' }
  | { readonly kind: 'step'; readonly env: Envelope }
  | { readonly kind: 'command'; readonly cmd: AdminCommand }
  | { readonly kind: 'report'; readonly report: Report };

interface Recorded {
  readonly member: MemberId;
  readonly at: number;
  readonly input: Input;
  readonly ready: Ready;
}

interface Store {
  hardState: HardState | null;
  snapshot: Snapshot | null;
  entries: Map<number, Entry>;
}

interface Node {
  readonly id: MemberId;
  readonly member: Member;
  readonly store: Store;
  /** What the CIB holds, written by effects (sites only). */
  readonly cib: Map<string, { granted: boolean; generation: number }>;
}

type Queued = { readonly kind: 'deliver'; readonly env: Envelope } | { readonly kind: 'effect-done'; readonly to: MemberId; readonly effect: TicketEffect };

/**
 * Random sources: the `first` member draws the shortest election timeout
 * (exactly 1×), the others draw from the upper half, so the test decides who
 * stands first without stubbing anything inside the core.
 */
function randomFor(id: MemberId, seed: number, first: MemberId | null): RandomSource {
  const rng = new SeededRandom(seed * 31 + ids.indexOf(id));
  if (first === null) return rng;
  return id === first ? { next: () => 0 } : { next: () => 0.5 + rng.next() / 2 };
}

class Net {
  now = 0;
  readonly nodes = new Map<MemberId, Node>();
  readonly log: Recorded[] = [];
  private readonly queue: Queued[] = [];
  /** Messages matching `drop` are lost; those matching `hold` wait in `held` until releaseHeld(). */
  drop: (env: Envelope) => boolean = () => false;
  hold: (env: Envelope) => boolean = () => false;
  readonly held: Envelope[] = [];
  /** Sites whose CIB writes stay pending until releaseEffects() (a slow crm_ticket). */
  readonly slowCib = new Set<MemberId>();
  private readonly pendingCib: Queued[] = [];
  /** Counts of the contract checks that ran, so a test can show they were not vacuous. */
  readonly checked = { grantedVotes: 0, acknowledgedAppends: 0, deadlines: 0 };

  constructor(options: { seed?: number; first?: MemberId | null } = {}) {
    for (const id of ids) {
      const member = new Member(configFor(id), { now: ms(0), random: randomFor(id, options.seed ?? 1, options.first ?? null), snapshotCodec });
      const node: Node = { id, member, store: { hardState: null, snapshot: null, entries: new Map() }, cib: new Map() };
      this.nodes.set(id, node);
      this.drain(node, { kind: 'start' });
    }
  }

  node(id: MemberId): Node {
    return this.nodes.get(id)!;
  }

  /** Feeds one input at the current time and carries out the resulting Ready batches. */
  input(id: MemberId, input: Input): void {
    const node = this.node(id);
    const now = ms(this.now);
    switch (input.kind) {
      case 'start':
        break;
      case 'tick':
        node.member.tick(now);
        break;
      case 'step':
        node.member.step(input.env, now);
        break;
      case 'command':
        node.member.command(input.cmd, now);
        break;
      case 'report':
        node.member.report(input.report, now);
        break;
    }
    this.drain(node, input);
  }

  command(id: MemberId, cmd: AdminCommand): void {
    this.input(id, { kind: 'command', cmd });
  }

  report(id: MemberId, report: Report): void {
    this.input(id, { kind: 'report', report });
  }

  /** Puts the held messages back on the network (they were in flight all along). */
  releaseHeld(): void {
    this.queue.push(...this.held.splice(0).map((env): Queued => ({ kind: 'deliver', env })));
  }

  /** Lets the pending CIB writes of slow sites complete. */
  releaseEffects(): void {
    this.queue.push(...this.pendingCib.splice(0));
  }

  /** Delivers every pending message and effect result at the current time, until quiet. */
  deliverAll(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      expect(guard, 'message storm').toBeLessThan(100_000);
      const q = this.queue.shift()!;
      if (q.kind === 'deliver') {
        this.input(q.env.to, { kind: 'step', env: q.env });
        continue;
      }
      // The CIB write completes: the CIB changes, then the agent reports the outcome.
      const node = this.node(q.to);
      node.cib.set(q.effect.ticket, { granted: q.effect.granted, generation: q.effect.generation });
      this.checkOneHolder(q.effect.ticket);
      this.input(q.to, { kind: 'report', report: { type: 'effect-result', id: q.effect.id, ok: true } });
    }
  }

  /** Moves virtual time to t, ticking each member whenever its deadline comes and delivering until quiet. */
  runUntil(t: number): void {
    this.deliverAll();
    for (let guard = 0; ; guard++) {
      expect(guard, 'deadline storm').toBeLessThan(1_000_000);
      let next = Number.POSITIVE_INFINITY;
      for (const n of this.nodes.values()) next = Math.min(next, n.member.nextDeadline());
      if (next > t) break;
      this.now = Math.max(this.now, next);
      for (const n of this.nodes.values()) if (n.member.nextDeadline() <= this.now) this.input(n.id, { kind: 'tick' });
      this.deliverAll();
    }
    this.now = t;
  }

  /** The host's side of a Ready, in the order ready.ts prescribes, with the contract checks. */
  private drain(node: Node, input: Input): void {
    while (node.member.hasReady()) {
      const ready = node.member.ready();
      this.log.push({ member: node.id, at: this.now, input, ready });
      // 1. persist (synced).
      this.persist(node.store, ready);
      // 2. send — but first check that every message's dependencies are durable.
      for (const env of ready.messages) {
        this.checkDurable(node, env, ready);
        if (this.drop(env)) continue;
        if (this.hold(env)) this.held.push(env);
        else this.queue.push({ kind: 'deliver', env });
      }
      // 3. effects: the CIB write succeeds (at once, or when released for a slow site) and is reported back in order.
      for (const effect of ready.effects) {
        expect(node.member.status().members.find((m) => m.id === node.id)?.kind, 'S3: effects only at sites').toBe('site');
        (this.slowCib.has(node.id) ? this.pendingCib : this.queue).push({ kind: 'effect-done', to: node.id, effect });
      }
      // 4. advance.
      node.member.advance(ready);
    }
    const deadline = node.member.nextDeadline();
    expect(deadline, `${node.id}: nextDeadline() in the past`).toBeGreaterThanOrEqual(this.now);
    if (input.kind === 'tick') expect(deadline, `${node.id}: nextDeadline() still due right after a tick`).toBeGreaterThan(this.now);
    this.checked.deadlines++;
  }

  private persist(store: Store, ready: Ready): void {
    const p = ready.persist;
    if (p === null) return;
    if (p.hardState !== null) store.hardState = p.hardState;
    if (p.snapshot !== null) {
      store.snapshot = p.snapshot;
      for (const k of [...store.entries.keys()]) if (k <= p.snapshot.index) store.entries.delete(k);
    }
    if (p.truncateFrom !== null) for (const k of [...store.entries.keys()]) if (k >= p.truncateFrom) store.entries.delete(k);
    for (const e of p.entries) store.entries.set(e.index, e);
  }

  private checkDurable(node: Node, env: Envelope, ready: Ready): void {
    const msg = env.msg;
    if (isSwimMessage(msg)) return;
    const durableTerm = node.store.hardState?.term ?? 0;
    if (msg.type !== 'pre-vote' && msg.type !== 'pre-vote-resp') {
      // PreVote asks about term+1 without adopting it (Raft §9.6); every other term sent must be durable.
      expect(msg.term, `${node.id} sent ${msg.type} at a term not yet persisted`).toBeLessThanOrEqual(durableTerm);
    }
    if (msg.type === 'vote-resp' && msg.granted) {
      // The vote must be made durable in this very Ready, before the answer leaves.
      expect(ready.persist?.hardState, 'a granted vote without a persisted hard state').toMatchObject({ votedFor: env.to, term: msg.term });
      this.checked.grantedVotes++;
    }
    if (msg.type === 'vote') expect(node.store.hardState).toMatchObject({ votedFor: node.id, term: msg.term });
    if (msg.type === 'append-resp' && msg.success) {
      const snapIndex = node.store.snapshot?.index ?? 0;
      for (let i = snapIndex + 1; i <= msg.index; i++) expect(node.store.entries.has(i), `${node.id} acknowledged entry ${i} before storing it`).toBe(true);
      this.checked.acknowledgedAppends++;
    }
  }

  /** S1 breaches seen; with `strictS1` (the default) the first one fails the test on the spot. */
  readonly s1Violations: string[] = [];
  strictS1 = true;

  private checkOneHolder(ticket: string): void {
    const holders = [...this.nodes.values()].filter((n) => n.cib.get(ticket)?.granted === true).map((n) => n.id);
    if (holders.length <= 1) return;
    const what = `S1: ${ticket} granted in the CIBs of ${holders.join(', ')} at ${this.now} ms`;
    this.s1Violations.push(what);
    if (this.strictS1) expect.fail(what);
  }

  leaders(): MemberId[] {
    return [...this.nodes.values()].filter((n) => n.member.status().role === 'leader').map((n) => n.id);
  }

  events(member?: MemberId): CoreEvent[] {
    return this.log.filter((r) => member === undefined || r.member === member).flatMap((r) => r.ready.events);
  }

  effects(member?: MemberId): Array<{ record: Recorded; effect: TicketEffect }> {
    return this.log.filter((r) => member === undefined || r.member === member).flatMap((record) => record.ready.effects.map((effect) => ({ record, effect })));
  }
}

/** A Net run until it has a leader and the automatic ticket is placed and granted. */
function settled(options: { seed?: number; first?: MemberId | null } = {}): Net {
  const net = new Net(options);
  net.runUntil(5000);
  return net;
}

// ───────────── tests ─────────────

describe('election', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('elects exactly one leader that every member follows (seed %i)', (seed) => {
    const net = settled({ seed });
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    const leader = leaders[0]!;
    const term = net.node(leader).member.status().term;
    for (const n of net.nodes.values()) {
      expect(n.member.status().leader, `${n.id}'s leader`).toBe(leader);
      expect(n.member.status().term).toBe(term);
    }
    // And never two leaders in one term during the run (Raft §5.2 election safety).
    const leaderOfTerm = new Map<number, Set<MemberId>>();
    for (const r of net.log) {
      for (const e of r.ready.events) {
        if (e.type === 'role' && e.role === 'leader') leaderOfTerm.set(e.term, (leaderOfTerm.get(e.term) ?? new Set()).add(r.member));
      }
    }
    for (const [t, s] of leaderOfTerm) expect(s.size, `leaders of term ${t}`).toBe(1);
  });

  it('keeps the same leader while nothing fails (no needless elections)', () => {
    const net = settled({ seed: 3 });
    const [leader] = net.leaders();
    const term = net.node(leader!).member.status().term;
    net.runUntil(60_000);
    expect(net.leaders()).toEqual([leader]);
    expect(net.node(leader!).member.status().term).toBe(term);
  });

  it('persists a granted vote in the same Ready that sends it', () => {
    const net = settled({ seed: 2 });
    // The harness checked every granted vote-resp; make sure there was at least one.
    expect(net.checked.grantedVotes).toBeGreaterThan(0);
    const voteReadies = net.log.filter((r) => r.ready.messages.some((m) => m.msg.type === 'vote-resp' && m.msg.granted));
    for (const r of voteReadies) {
      const resp = r.ready.messages.find((m) => m.msg.type === 'vote-resp' && m.msg.granted)!;
      expect(r.ready.persist?.hardState?.votedFor).toBe(resp.to);
    }
  });
});

describe('an append at the current term from a member that does not lead it (issue 12)', () => {
  // Raft's election safety allows one leader per term, so such an append can
  // only come from a buggy or hostile member. Found from outside: a single one
  // made the leader step down. It must be ignored and reported.
  it('deposes no one: the leader stays, and the follower keeps its leader; both report a protocol violation', () => {
    const net = settled({ seed: 4 });
    const [leader] = net.leaders();
    const followers = ids.filter((id) => id !== leader);
    const [forger, victim] = followers as [MemberId, MemberId];
    const term = net.node(leader!).member.status().term;
    const forged = (to: MemberId): Envelope => ({
      from: forger,
      to,
      msg: { type: 'append', term, prevIndex: index(0), prevTerm: term0, entries: [], commit: index(0), sentAt: ms(net.now) },
    });
    const before = net.log.length;
    net.input(leader!, { kind: 'step', env: forged(leader!) });
    net.input(victim, { kind: 'step', env: forged(victim) });
    const events = net.log.slice(before).flatMap((r) => r.ready.events.map((e) => ({ member: r.member, e })));
    const violations = events.filter((x) => x.e.type === 'protocol-violation');
    expect(violations.map((x) => x.member).sort()).toEqual([leader, victim].sort());
    expect(events.some((x) => x.e.type === 'role')).toBe(false);
    expect(net.node(leader!).member.status()).toMatchObject({ role: 'leader', term, leader });
    expect(net.node(victim).member.status()).toMatchObject({ role: 'follower', term, leader });
    net.runUntil(net.now + 5_000);
    expect(net.leaders()).toEqual([leader]);
  });
});

describe('the sink read back (issue 12: learn of every revoke the holder did not make)', () => {
  it('a confirmed grant missing from a read begun after it was confirmed is reported lost and written again', () => {
    const net = settled({ seed: 4 });
    const holder = net.node(net.leaders()[0]!).member.ticket(ticketName)!.holder!;
    expect(net.node(holder).member.holderView(ticketName)).toMatchObject({ granted: true, confirmed: true, gen: 1 });
    const before = net.log.length;
    // A read that began before the grant was confirmed proves nothing: ignored.
    net.report(holder, { type: 'sink-state', tickets: [], readStartedAt: ms(0) });
    expect(net.log.slice(before).flatMap((r) => r.ready.events).filter((e) => e.type === 'grant-lost')).toEqual([]);
    // A read begun now that shows the ticket revoked: the grant was lost behind the holder's back.
    const at = net.log.length;
    net.report(holder, { type: 'sink-state', tickets: [{ name: ticketName, granted: false, generation: generation(1), revokeBy: null }], readStartedAt: ms(net.now) });
    net.deliverAll();
    const after = net.log.slice(at);
    expect(after.flatMap((r) => r.ready.events).filter((e) => e.type === 'grant-lost')).toEqual([{ type: 'grant-lost', ticket: ticketName, generation: generation(1) }]);
    const rewritten = after.flatMap((r) => (r.member === holder ? r.ready.effects : [])).filter((e) => e.ticket === ticketName);
    expect(rewritten.map((e) => ({ granted: e.granted, generation: e.generation }))).toEqual([{ granted: true, generation: generation(1) }]);
    expect(net.node(holder).member.holderView(ticketName)).toMatchObject({ granted: true, confirmed: true, gen: 1 });
  });
});

describe('the automatic ticket', () => {
  it.each([
    { first: arb, who: 'an arbitrator leads: the renewal answer crosses the network' },
    { first: siteB, who: 'a site draws the shortest timeout: in a new formation the arbitrator stands first all the same' },
    { first: null, who: 'seeded election' },
  ])('is granted at exactly one site, once its renewal is answered ($who)', ({ first }) => {
    const net = settled({ seed: 4, first });
    const leader = net.leaders()[0]!;
    // An arbitrator holds no tickets: a site that leads hands the leadership to it (docs/protocol.md §3, "who leads").
    if (first !== null) expect(leader).toBe(arb);

    const t = net.node(leader).member.ticket(ticketName)!;
    expect(t.holder).not.toBeNull();
    expect(t.generation).toBe(1);
    const holder = t.holder!;
    for (const n of net.nodes.values()) expect(n.member.ticket(ticketName)).toMatchObject({ holder, generation: 1 });

    const granted = net.effects().filter(({ effect }) => effect.ticket === ticketName && effect.granted);
    expect(granted.length).toBeGreaterThan(0);
    expect(new Set(granted.map(({ record }) => record.member))).toEqual(new Set([holder]));
    expect(net.effects(arb)).toEqual([]); // S3
    expect(net.node(holder).cib.get(ticketName)).toEqual({ granted: true, generation: 1 });

    // The first grant in the CIB comes with the answer to a renewal: a lease end is known,
    // and the CIB guard's deadline is that lease end minus revokeLead.
    const first_ = granted[0]!;
    expect(first_.effect.generation).toBe(generation(1));
    expect(first_.effect.owner).toBe(holder);
    expect(first_.effect.revokeBy).not.toBeNull();
    expect(first_.effect.revokeBy!).toBeLessThanOrEqual(first_.record.at + ticketDef.leaseDurationMs - ticketDef.revokeLeadMs);
    expect(first_.effect.revokeBy!).toBeGreaterThan(first_.record.at);
    if (holder !== leader) {
      const input = first_.record.input;
      expect(input.kind).toBe('step');
      if (input.kind === 'step') {
        expect(input.env.from).toBe(leader);
        expect(input.env.msg.type).toBe('renew-resp');
        // Listing the ticket, or by index (docs/protocol.md §3): the grant at or before the renewal's index, not refused.
        const m = input.env.msg;
        if (m.type === 'renew-resp' && m.since === undefined) expect(m.granted).toEqual([{ name: ticketName, generation: 1, leaseDurationMs: 10_000 }]);
        if (m.type === 'renew-resp' && m.since !== undefined) expect({ refused: m.refused, all: m.refusedAll }).toEqual({ refused: [], all: undefined });
      }
    }
    expect(net.node(holder).member.holderView(ticketName)).toMatchObject({ granted: true, confirmed: true, gen: 1 });
  });

  it('a site that leads while the arbitrator is away hands the leadership to it once it is back and caught up, and nothing else moves', () => {
    const net = new Net({ seed: 4, first: siteB });
    net.runUntil(50); // every member bootstrapped (they asked each other whether the formation is new)
    net.drop = (env) => env.from === arb || env.to === arb;
    net.runUntil(2000);
    expect(net.leaders()).toEqual([siteB]);
    // Placement breaks the tie in weight away from the leading site.
    const placed = net.node(siteB).member.ticket(ticketName)!;
    expect(placed).toMatchObject({ holder: siteA, generation: 1 });
    expect(net.log.flatMap((r) => r.ready.messages).filter((env) => env.msg.type === 'timeout-now')).toEqual([]);
    net.drop = () => false;
    net.runUntil(5000);
    expect(net.leaders()).toEqual([arb]);
    // One timeout-now, from the site to the arbitrator; the ticket stays where it was.
    const handovers = net.log.flatMap((r) => r.ready.messages).filter((env) => env.msg.type === 'timeout-now');
    expect(handovers.map((env) => `${env.from}->${env.to}`)).toEqual([`${siteB}->${arb}`]);
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder: siteA, generation: 1 });
    const term = net.node(arb).member.status().term;
    // Nothing moves afterwards: no further hand-over, no new term.
    net.runUntil(30_000);
    expect(net.leaders()).toEqual([arb]);
    expect(net.node(arb).member.status().term).toBe(term);
    expect(net.log.flatMap((r) => r.ready.messages).filter((env) => env.msg.type === 'timeout-now')).toHaveLength(1);
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder: siteA, generation: 1 });
  });

  it('a new formation elects its arbitrator first, within a few heartbeat intervals of the start', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const net = new Net({ seed });
      net.runUntil(600);
      expect(net.leaders(), `seed ${seed}`).toEqual([arb]);
      expect(net.node(arb).member.status().term).toBe(1);
    }
  });

  it('keeps its holder and keeps renewing while nothing fails (L2)', () => {
    const net = settled({ seed: 5, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    net.runUntil(60_000);
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder, generation: 1 });
    expect(net.node(holder).cib.get(ticketName)).toEqual({ granted: true, generation: 1 });
    // The leader's view of the lease runs ahead of now: renewals keep arriving.
    expect(net.node(arb).member.leaseView(ticketName)!.until).toBeGreaterThan(net.now);
    expect(net.events().filter((e) => e.type === 'lease-lost')).toEqual([]);
  });

  it('moves the guard deadline with guard updates, not CIB writes, and never past the lease', () => {
    const net = settled({ seed: 5, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    const from = net.log.length;
    net.runUntil(120_000);
    const mine = net.log.slice(from).filter((r) => r.member === holder);
    // The grant is already in the CIB: two minutes of renewals need no CIB write at all.
    expect(mine.flatMap((r) => r.ready.effects)).toEqual([]);
    const updates = mine.flatMap((r) => r.ready.guard.map((u) => ({ at: r.at, u })));
    // Extended once half the guard's time is used: about every (D − revokeLead) / 2.
    const period = (ticketDef.leaseDurationMs - ticketDef.revokeLeadMs) / 2;
    expect(updates.length).toBeGreaterThanOrEqual(Math.floor(110_000 / (period + ticketDef.leaseDurationMs / 10)));
    let last = 0;
    for (const { at, u } of updates) {
      expect(u.extend).toEqual([{ ticket: ticketName, generation: 1, revokeBy: expect.any(Number) as number, leaseEnd: expect.any(Number) as number }]);
      const d = u.extend[0]!.revokeBy;
      // The lease end the deadline came from goes with it (for the lease guard's own timing).
      expect(u.extend[0]!.leaseEnd! - d).toBe(ticketDef.revokeLeadMs);
      expect(d).toBeGreaterThan(last);
      expect(d).toBeGreaterThan(at);
      expect(d).toBeLessThanOrEqual(at + ticketDef.leaseDurationMs - ticketDef.revokeLeadMs);
      last = d;
    }
    expect(net.node(holder).cib.get(ticketName)).toEqual({ granted: true, generation: 1 });
  });
});

describe('a clean stop (Report stopping)', () => {
  it('moves the holder\'s guard deadline to the latest its lease allows, in one update, whatever time is left', () => {
    const net = settled({ seed: 5, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    // Run to just after a guard update, when the recorded deadline is furthest behind the next one it could have.
    net.runUntil(net.now + 20_000);
    const m = net.node(holder).member;
    const lastGuarded = Math.max(...net.log.filter((r) => r.member === holder).flatMap((r) => [...r.ready.guard.flatMap((u) => u.extend.map((x) => x.revokeBy)), ...r.ready.effects.map((e) => e.revokeBy ?? 0)]));
    const view = m.holderView(ticketName)!;
    expect(view.leaseEnd).not.toBeNull();
    const most = holderRevokeAt(view.leaseEnd!, ticketDef.revokeLeadMs);
    expect(most).toBeGreaterThan(lastGuarded);
    m.report({ type: 'stopping' }, ms(net.now));
    const r = m.ready();
    expect(r.guard).toHaveLength(1);
    expect(r.guard[0]!.extend).toEqual([{ ticket: ticketName, generation: 1, revokeBy: most, leaseEnd: view.leaseEnd }]);
    // Inside the lease, as every extension; nothing else is written or sent for it.
    expect(most).toBeLessThanOrEqual(view.leaseEnd! - ticketDef.revokeLeadMs);
    expect(r.effects).toEqual([]);
    // Asked again with nothing renewed since, there is nothing to move.
    m.report({ type: 'stopping' }, ms(net.now));
    expect(m.ready().guard).toEqual([]);
  });

  it('changes nothing at an arbitrator', () => {
    const net = settled({ seed: 5, first: arb });
    const m = net.node(arb).member;
    m.report({ type: 'stopping' }, ms(net.now));
    expect(m.ready().guard).toEqual([]);
  });
});

describe('slow CIB writes raise the revoke lead (issue 12 item 6)', () => {
  const usableMin = usableLeaseMinMs(timing.renewIntervalMs, timing.electionTimeoutMs);
  const ceiling = revokeLeadCeilingMs(ticketDef.revokeLeadMs, ticketDef.leaseDurationMs, usableMin);

  /** Guard updates the holder issues from now until `untilMs`, with the time each was issued. */
  function guardUpdatesUntil(net: Net, holder: MemberId, untilMs: number): Array<{ at: number; revokeBy: number }> {
    const from = net.log.length;
    net.runUntil(untilMs);
    return net.log
      .slice(from)
      .filter((r) => r.member === holder)
      .flatMap((r) => r.ready.guard.flatMap((u) => u.extend.map((x) => ({ at: r.at, revokeBy: x.revokeBy }))));
  }

  it('keeps the guard deadline twice the slowest recent write before the lease end, says so, and comes back as writes speed up and the window passes', () => {
    expect(ceiling).toBeGreaterThan(3000); // the write times below fit under the ceiling
    const net = settled({ seed: 5, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    // A write of 1.5 s (any effect id: the time is what counts): the lead becomes 3 s instead of 500 ms.
    net.report(holder, { type: 'effect-result', id: 999_999, ok: true, writeMs: 1500 });
    const slowAt = net.now;
    expect(net.events(holder).filter((e) => e.type === 'sink-speed')).toEqual([{ type: 'sink-speed', speed: 'raised', slowestWriteMs: 1500 }]);
    const raised = guardUpdatesUntil(net, holder, net.now + 30_000);
    expect(raised.length).toBeGreaterThan(2);
    // A deadline issued at `at` rests on a renewal sent before `at`: lease end ≤ at + D.
    for (const u of raised) expect(u.revokeBy).toBeLessThanOrEqual(u.at + ticketDef.leaseDurationMs - 3000);
    // Nothing moved: the raised lead leaves the holder room to renew (L2).
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder, generation: 1 });
    expect(net.node(holder).cib.get(ticketName)).toEqual({ granted: true, generation: 1 });
    // Sixteen quick writes do not push the slow one out while it is younger than writeSampleWindowMs (issue 15:
    // a slow write that comes back, as a guard update of many tickets does, must not lower and raise the lead
    // again and again): the lead stays raised until the slow write is 16 writes and the window old.
    for (let i = 0; i < 16; i++) net.report(holder, { type: 'effect-result', id: 999_999, ok: true, writeMs: 20 });
    expect(net.events(holder).filter((e) => e.type === 'sink-speed').at(-1)).toMatchObject({ speed: 'raised' });
    const held = guardUpdatesUntil(net, holder, slowAt + writeSampleWindowMs - 1);
    expect(held.length).toBeGreaterThan(20);
    for (const u of held) expect(u.revokeBy).toBeLessThanOrEqual(u.at + ticketDef.leaseDurationMs - 3000);
    net.report(holder, { type: 'effect-result', id: 999_999, ok: true, writeMs: 20 });
    expect(net.events(holder).filter((e) => e.type === 'sink-speed').at(-1)).toMatchObject({ speed: 'raised' });
    // The window old: back to the configured lead, and an event saying so.
    net.runUntil(slowAt + writeSampleWindowMs);
    net.report(holder, { type: 'effect-result', id: 999_999, ok: true, writeMs: 20 });
    expect(net.events(holder).filter((e) => e.type === 'sink-speed').at(-1)).toEqual({ type: 'sink-speed', speed: 'normal', slowestWriteMs: 20 });
    const back = guardUpdatesUntil(net, holder, net.now + 30_000);
    expect(back.some((u) => u.revokeBy > u.at + ticketDef.leaseDurationMs - 3000)).toBe(true);
  });

  it('never raises the lead past the ceiling that leaves the lease room to be held; slower writes are reported as beyond', () => {
    const net = settled({ seed: 5, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    net.report(holder, { type: 'effect-result', id: 999_999, ok: true, writeMs: ceiling });
    expect(net.events(holder).filter((e) => e.type === 'sink-speed').at(-1)).toMatchObject({ speed: 'beyond' });
    const capped = guardUpdatesUntil(net, holder, net.now + 30_000);
    for (const u of capped) expect(u.revokeBy).toBeLessThanOrEqual(u.at + ticketDef.leaseDurationMs - ceiling);
    // Held all along: the ceiling keeps a fresh grant writable within usableLeaseMinMs of a renewal.
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder, generation: 1 });
    expect(net.node(holder).cib.get(ticketName)).toEqual({ granted: true, generation: 1 });
  });
});

describe('admin commands', () => {
  it('a grant at a non-leader is refused as not-leader, with a hint naming the leader', () => {
    const net = settled({ seed: 6, first: arb });
    const follower = siteA;
    net.command(follower, { id: 'cmd-1', type: 'grant', ticket: ticketName, site: siteB, force: false });
    const result = net.events(follower).find((e) => e.type === 'command-result' && e.id === 'cmd-1');
    expect(result).toMatchObject({ type: 'command-result', id: 'cmd-1', ok: false, code: 'not-leader', leader: arb });
    // And nothing changed anywhere.
    net.deliverAll();
    expect(net.node(arb).member.ticket(ticketName)!.generation).toBe(1);
  });

  it('a revoke at the leader commits, and the holder revokes the ticket in its CIB', () => {
    const net = settled({ seed: 7, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    const before = net.log.length;
    net.command(arb, { id: 'cmd-2', type: 'revoke', ticket: ticketName });
    net.deliverAll();

    expect(net.events(arb).find((e) => e.type === 'command-result' && e.id === 'cmd-2')).toMatchObject({ ok: true });
    // The leader tells a follower its new commit index at once only if that follower had already
    // acknowledged the entry; the other learns it with the next heartbeat.
    for (const id of [arb, holder]) expect(net.node(id).member.ticket(ticketName)).toMatchObject({ holder: null, generation: 2, managed: false });

    const revokes = net.log
      .slice(before)
      .filter((r) => r.member === holder)
      .flatMap((r) => r.ready.effects)
      .filter((e) => e.ticket === ticketName && !e.granted);
    expect(revokes.length).toBeGreaterThan(0);
    expect(revokes[0]).toMatchObject({ granted: false, generation: 2, owner: null, revokeBy: null });
    expect(net.node(holder).cib.get(ticketName)).toEqual({ granted: false, generation: 2 });

    net.runUntil(net.now + timing.heartbeatIntervalMs);
    for (const n of net.nodes.values()) expect(n.member.ticket(ticketName)).toMatchObject({ holder: null, generation: 2, managed: false });

    // An admin-revoked automatic ticket is not placed again until granted (booth semantics).
    net.runUntil(net.now + 30_000);
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder: null, generation: 2 });
    expect([...net.nodes.values()].some((n) => n.cib.get(ticketName)?.granted === true)).toBe(false);
  });

  it('an admin grant of a revoked ticket is one CIB write at the new holder: the grant, with its term (issue 15)', () => {
    const net = settled({ seed: 7, first: arb });
    const site = net.node(arb).member.ticket(ticketName)!.holder!;
    net.command(arb, { id: 'cmd-r', type: 'revoke', ticket: ticketName });
    net.runUntil(net.now + 5_000);
    expect(net.node(site).cib.get(ticketName)).toEqual({ granted: false, generation: 2 });
    const before = net.log.length;
    net.command(arb, { id: 'cmd-g', type: 'grant', ticket: ticketName, site, force: false });
    net.runUntil(net.now + 30_000);
    expect(net.events(arb).find((e) => e.type === 'command-result' && e.id === 'cmd-g')).toMatchObject({ ok: true });
    const writes = net.log
      .slice(before)
      .filter((r) => r.member === site)
      .flatMap((r) => r.ready.effects)
      .filter((e) => e.ticket === ticketName);
    // Before: a revoke carrying the new term while the lease was not yet confirmed, then the grant.
    expect(writes.map((e) => ({ granted: e.granted, generation: e.generation }))).toEqual([{ granted: true, generation: 3 }]);
    expect(net.node(site).cib.get(ticketName)).toEqual({ granted: true, generation: 3 });
  });

  it('an admin grant then moves the ticket to the named site', () => {
    const net = settled({ seed: 8, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    const other = holder === siteA ? siteB : siteA;
    net.command(arb, { id: 'cmd-3', type: 'grant', ticket: ticketName, site: other, force: false });
    // A guarded grant waits for the old holder's lease to run out (or its release).
    net.runUntil(net.now + 30_000);
    expect(net.events(arb).find((e) => e.type === 'command-result' && e.id === 'cmd-3')).toMatchObject({ ok: true });
    expect(net.node(arb).member.ticket(ticketName)!.holder).toBe(other);
    expect(net.node(other).cib.get(ticketName)?.granted).toBe(true);
    expect(net.node(holder).cib.get(ticketName)?.granted).toBe(false);
  });
});

// ───────────── a health flap during a slow CIB revoke ─────────────

const healthBad = { quorate: false, handlersOk: true, unrunnable: [] };
const healthGood = { quorate: true, handlersOk: true, unrunnable: [] };

/**
 * The holder loses local quorum (it gives the ticket up: CIB revoke, then a
 * `released` message), but quorum is back before the slow CIB revoke
 * completes. The holder renews again; the leader answers; the answer is still
 * in flight when the revoke completes and `released` goes out. Then the holder
 * is cut off from everyone (it still hears the answer already in flight).
 */
function healthFlapDuringSlowRevoke(): {
  net: Net;
  holder: MemberId;
  other: MemberId;
  heldAnswers: Envelope[];
  releasedAfterAnswer: boolean;
} {
  const net = settled({ seed: 9, first: arb });
  net.strictS1 = false;
  const holder = net.node(arb).member.ticket(ticketName)!.holder!;
  const other = holder === siteA ? siteB : siteA;

  net.slowCib.add(holder);
  net.report(holder, { type: 'health', health: healthBad });
  net.deliverAll();
  net.report(holder, { type: 'health', health: healthGood });
  net.hold = (env) => env.to === holder && env.msg.type === 'renew-resp';
  net.runUntil(net.now + timing.renewIntervalMs);
  const heldAnswers = [...net.held];
  const answeredAt = net.log.length;

  net.hold = () => false;
  net.drop = (env) => env.to === holder;
  net.slowCib.delete(holder);
  net.releaseEffects();
  net.deliverAll();
  const releasedAfterAnswer = net.log
    .slice(answeredAt)
    .some((r) => r.member === arb && r.ready.events.some((e) => e.type === 'released' && e.site === holder));

  net.releaseHeld();
  net.deliverAll();
  return { net, holder, other, heldAnswers, releasedAfterAnswer };
}

describe('a health flap during a slow CIB revoke', () => {
  it('the flap cancels the release still owed: the holder keeps generation 1 and nothing fails over', () => {
    const { net, holder, releasedAfterAnswer } = healthFlapDuringSlowRevoke();
    expect(releasedAfterAnswer).toBe(false);
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder, generation: 1 });
    expect(net.node(holder).member.holderView(ticketName)).toMatchObject({ gen: 1 });
  });

  // Regression, found by these tests and fixed (S1; src/core/site-holder.ts resumeAll/takeReleases with member.ts onReleased):
  // releaseAll() sets both releasedGen and releaseGen; resumeAll() clears only
  // releasedGen, so the holder renews generation 1 again while a `released`
  // for generation 1 is still owed, and takeReleases() sends it once the slow
  // CIB revoke completes — after the renewal. The leader, in onReleased, takes
  // that late message as "the holder stopped renewing", ends its view of the
  // lease at once (v.until = now) and fails the ticket over, while the answer
  // it gave to the later renewal lets the holder grant the ticket in its CIB
  // again for a whole lease (until sentAt + D − revokeLead). Both sites hold
  // the ticket. Nothing here needs message reordering: only a CIB write slower
  // than one renewal round trip and a health flap shorter than it. (The
  // simulator never reports health, so it cannot find this.) Possible fixes:
  // resumeAll() cancels an unsent release for the generation it resumes, or a
  // `released` carries the seq of the last renewal sent and the leader ignores
  // it when it has answered a later one.
  it('never lets two sites hold the ticket (S1)', () => {
    const { net } = healthFlapDuringSlowRevoke();
    expect(net.s1Violations).toEqual([]);
  });
});

describe('a ticket the holder cannot run (handler failed, not runnable)', () => {
  it('is revoked in the holder CIB, released, and moved to the other site', () => {
    const net = settled({ seed: 11, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    const other = holder === siteA ? siteB : siteA;
    net.report(holder, { type: 'health', health: { quorate: true, handlersOk: true, unrunnable: [ticketName] } });
    net.deliverAll();
    expect(net.node(holder).cib.get(ticketName)?.granted).toBe(false);
    net.runUntil(net.now + ticketDef.leaseDurationMs);
    // The release lets the leader move it at once, to the only site that can run it.
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder: other, generation: 2 });
    net.runUntil(net.now + 2 * ticketDef.leaseDurationMs);
    expect(net.node(other).cib.get(ticketName)).toEqual({ granted: true, generation: 2 });
    expect(net.node(holder).cib.get(ticketName)?.granted).toBe(false);
    // Runnable again: the ticket stays where it is (no flapping back).
    net.report(holder, { type: 'health', health: { quorate: true, handlersOk: true, unrunnable: [] } });
    net.runUntil(net.now + 3 * ticketDef.leaseDurationMs);
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder: other, generation: 2 });
    expect(net.s1Violations).toEqual([]);
  });

  it('is not taken by a site that reports it unrunnable when the holder dies', () => {
    const net = settled({ seed: 12, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    const other = holder === siteA ? siteB : siteA;
    net.report(other, { type: 'health', health: { quorate: true, handlersOk: true, unrunnable: [ticketName] } });
    net.runUntil(net.now + ticketDef.leaseDurationMs);
    net.drop = (env) => env.from === holder || env.to === holder;
    net.runUntil(net.now + 4 * ticketDef.leaseDurationMs);
    expect(net.node(arb).member.ticket(ticketName)?.holder).not.toBe(other);
    expect(net.node(other).cib.get(ticketName)?.granted ?? false).toBe(false);
  });
});

describe('an admin revoke while a guarded grant waits', () => {
  // Regression, found by these tests and fixed (src/core/member.ts handleCommand 'revoke'): a guarded grant waits in
  // pendingGrants until the old holder's lease has run out. A revoke of the
  // same ticket that arrives while the grant's own revoke of the old holder is
  // still uncommitted deletes that pending grant (pendingGrants.delete)
  // without a command-result for it, so the admin who issued the grant never
  // hears back (the CLI waits for its timeout). The 'superseded' error code in
  // ready.ts is declared for exactly this and used nowhere. Expected: the
  // grant is answered ok:false, code 'superseded'.
  it('answers the waiting grant instead of dropping it silently', () => {
    const net = settled({ seed: 10, first: arb });
    const holder = net.node(arb).member.ticket(ticketName)!.holder!;
    const other = holder === siteA ? siteB : siteA;
    // The grant first revokes the holder (an entry not yet committed) and waits; the admin
    // changes their mind at once and revokes the ticket.
    net.command(arb, { id: 'grant-1', type: 'grant', ticket: ticketName, site: other, force: false });
    expect(net.events(arb).some((e) => e.type === 'command-result' && e.id === 'grant-1')).toBe(false); // waiting
    net.command(arb, { id: 'revoke-1', type: 'revoke', ticket: ticketName });
    net.runUntil(net.now + 30_000);
    // The grant was dropped: the ticket stays unheld, nobody placed it.
    expect(net.node(arb).member.ticket(ticketName)).toMatchObject({ holder: null, managed: false });
    expect(holder).not.toBe(other);
    expect(net.events(arb).find((e) => e.type === 'command-result' && e.id === 'revoke-1')).toBeDefined();
    expect(net.events(arb).find((e) => e.type === 'command-result' && e.id === 'grant-1')).toMatchObject({ ok: false, code: 'superseded' });
  });
});

describe('time', () => {
  it('nextDeadline() is never in the past, whatever happened', () => {
    const net = settled({ seed: 1 });
    net.command(net.leaders()[0]!, { id: 'cmd-4', type: 'revoke', ticket: ticketName });
    net.runUntil(20_000);
    // Checked by the harness after every input; make sure it ran often.
    expect(net.checked.deadlines).toBeGreaterThan(100);
    for (const n of net.nodes.values()) expect(n.member.nextDeadline()).toBeGreaterThanOrEqual(net.now);
  });

  it('throws AssertionError when time goes backwards, for every kind of input', () => {
    const member = new Member(configFor(siteA), { now: ms(1000), random: new SeededRandom(1), snapshotCodec });
    expect(() => member.tick(ms(999))).toThrow(AssertionError);
    member.tick(ms(2000));
    expect(() => member.tick(ms(1999))).toThrow(AssertionError);
    expect(() => member.command({ id: 'c', type: 'revoke', ticket: ticketName }, ms(1500))).toThrow(AssertionError);
    expect(() => member.report({ type: 'health', health: { quorate: true, handlersOk: true, unrunnable: [] } }, ms(1500))).toThrow(AssertionError);
    const env: Envelope = { from: siteB, to: siteA, msg: { type: 'renew-resp', term: 0 as never, seq: 1, granted: [], refused: [] } };
    expect(() => member.step(env, ms(1500))).toThrow(AssertionError);
    expect(() => member.tick(ms(Number.NaN))).toThrow(AssertionError);
    // The same instant again is fine.
    expect(() => member.tick(ms(2000))).not.toThrow();
  });
});

describe('config changes of a held ticket (issue 11)', () => {
  const leaderOf = (net: Net): MemberId => net.leaders()[0]!;
  const resultOf = (net: Net, at: MemberId, id: string): CoreEvent | undefined => net.events(at).find((e) => e.type === 'command-result' && e.id === id);

  it('a shortened expire keeps holder and generation, never shortens the leader\'s view, and stays owed for the generation', () => {
    const net = settled({ seed: 7, first: arb });
    const leader = leaderOf(net);
    const before = net.node(leader).member.ticket(ticketName)!;
    const viewBefore = net.node(leader).member.leaseView(ticketName)!;
    net.command(leader, { id: 'cfg-1', type: 'ticket-change', def: { ...ticketDef, leaseDurationMs: 5_000 }, expectedVersion: 0 });
    net.deliverAll();
    expect(resultOf(net, leader, 'cfg-1')).toMatchObject({ ok: true });
    const after = net.node(leader).member.ticket(ticketName)!;
    expect(after).toMatchObject({ holder: before.holder, generation: before.generation, leaseDurationHonouredMs: ticketDef.leaseDurationMs });
    expect(net.node(leader).member.committedConfig().version).toBe(1);
    expect(net.node(leader).member.leaseView(ticketName)!.until).toBeGreaterThanOrEqual(viewBefore.until);
    // Renewals go on under the new D (by index: the holder dates with the D its table had at the renewal's
    // index, after the change); nothing moves while the holder renews.
    const changedAt = (resultOf(net, leader, 'cfg-1') as { index?: number }).index!;
    net.runUntil(net.now + 30_000);
    const answers = net.log.flatMap((r) => r.ready.messages).filter((e) => e.msg.type === 'renew-resp' && e.to === before.holder);
    const last = answers.at(-1)!.msg;
    expect(last).toMatchObject({ type: 'renew-resp', refused: [] });
    if (last.type === 'renew-resp') expect(last.since).toBeGreaterThanOrEqual(changedAt);
    const lease = net.node(before.holder!).member.holderView(ticketName)!;
    expect(lease.leaseEnd! - net.now).toBeLessThanOrEqual(5_000);
    expect(lease.leaseEnd! - net.now).toBeGreaterThan(0);
    expect(net.node(leader).member.ticket(ticketName)).toMatchObject({ holder: before.holder, generation: before.generation });
  });

  it('a held ticket is removed only after a revoke and once the leader\'s view of its lease has run out', () => {
    const net = settled({ seed: 7, first: arb });
    const leader = leaderOf(net);
    const gen = net.node(leader).member.ticket(ticketName)!.generation;
    // The holder's confirmation that it revoked would end the leader's view at once (as for a guarded
    // grant); without it the removal must wait the lease out.
    net.drop = (env) => env.msg.type === 'released';
    net.command(leader, { id: 'cfg-2', type: 'ticket-remove', ticket: ticketName });
    expect(resultOf(net, leader, 'cfg-2')).toMatchObject({ ok: false, code: 'ticket-held' });
    net.command(leader, { id: 'cfg-3', type: 'ticket-remove', ticket: ticketName, revokeFirst: true });
    net.deliverAll();
    // Revoked, not yet removed: the old holder's lease still runs in the leader's view.
    expect(net.node(leader).member.ticket(ticketName)).toMatchObject({ holder: null, generation: gen + 1 });
    const until = net.node(leader).member.leaseView(ticketName)!.until;
    expect(resultOf(net, leader, 'cfg-3')).toBeUndefined();
    net.command(leader, { id: 'cfg-4', type: 'ticket-add', def: { ...ticketDef, name: 'other' } });
    expect(resultOf(net, leader, 'cfg-4')).toMatchObject({ ok: false, code: 'change-in-progress' });
    net.runUntil(until - 1);
    expect(net.node(leader).member.ticket(ticketName)).toBeDefined();
    net.runUntil(until + timing.renewIntervalMs);
    expect(resultOf(net, leader, 'cfg-3')).toMatchObject({ ok: true });
    expect(net.node(leader).member.ticket(ticketName)).toBeUndefined();
    expect([...net.nodes.values()].some((n) => n.cib.get(ticketName)?.granted === true)).toBe(false);
  });

  it('refuses a change made against another config version, and a definition the formation cannot run', () => {
    const net = settled({ seed: 7, first: arb });
    const leader = leaderOf(net);
    net.command(leader, { id: 'cfg-5', type: 'ticket-change', def: { ...ticketDef, leaseDurationMs: 12_000 }, expectedVersion: 4 });
    expect(resultOf(net, leader, 'cfg-5')).toMatchObject({ ok: false, code: 'config-changed' });
    net.command(leader, { id: 'cfg-6', type: 'ticket-change', def: { ...ticketDef, leaseDurationMs: 1_000 } });
    expect(resultOf(net, leader, 'cfg-6')).toMatchObject({ ok: false, code: 'invalid' });
    expect(net.node(leader).member.committedConfig()).toMatchObject({ version: 0, timing });
  });
});

// docs/protocol.md §10: a site agent started on another node of its site with an
// empty store is a new incarnation that numbers its renewals afresh, below the
// old incarnation's. The leader orders renewal numbers only within one
// incarnation: the new one's first renewal is answered (not refused as
// superseded by the old one's higher numbers), and a release is honoured only
// against renewals of its own incarnation.
describe('renewal numbers of another store incarnation (a site agent moved to another node)', () => {
  const health = { quorate: true, handlersOk: true, unrunnable: [] };
  const sent = (net: Net, from: MemberId, to: MemberId, msg: Envelope['msg']): void => {
    net.input(to, { kind: 'step', env: { from, to, msg } });
    net.deliverAll();
  };
  const answers = (net: Net, leader: MemberId, holder: MemberId, seq: number): Array<Extract<Envelope['msg'], { type: 'renew-resp' }>> =>
    net.log
      .filter((r) => r.member === leader)
      .flatMap((r) => r.ready.messages)
      .filter((env) => env.to === holder && env.msg.type === 'renew-resp' && env.msg.seq === seq)
      .map((env) => env.msg as Extract<Envelope['msg'], { type: 'renew-resp' }>);

  it('answers the new incarnation\'s lower renewal numbers, and ignores a release of another incarnation than the last answered renewal\'s', () => {
    const net = settled({ seed: 7, first: arb });
    const leader = net.leaders()[0]!;
    const t = net.node(leader).member.ticket(ticketName)!;
    const holder = t.holder!;
    expect(holder).not.toBe(leader);
    const term = net.node(leader).member.status().term;
    // The old incarnation (0) renewed with high numbers; the new one (77) starts low.
    const highSeq = 1_000_000;
    sent(net, holder, leader, { type: 'renew', term, seq: highSeq, tickets: [{ name: ticketName, generation: t.generation }], health });
    expect(answers(net, leader, holder, highSeq).at(-1)).toMatchObject({ granted: [{ name: ticketName }], refused: [] });
    const lowSeq = 500;
    sent(net, holder, leader, { type: 'renew', term, seq: lowSeq, tickets: [{ name: ticketName, generation: t.generation }], health, inc: 77 });
    expect(answers(net, leader, holder, lowSeq).at(-1), 'the new incarnation is answered').toMatchObject({ granted: [{ name: ticketName }], refused: [] });
    // Within one incarnation a lower number is still superseded.
    sent(net, holder, leader, { type: 'renew', term, seq: lowSeq - 1, tickets: [{ name: ticketName, generation: t.generation }], health, inc: 77 });
    expect(answers(net, leader, holder, lowSeq - 1).at(-1)).toMatchObject({ granted: [], refused: [{ name: ticketName, reason: 'superseded' }] });
    // A late release of the old incarnation (its floor is above the new one's renewal, but that says
    // nothing about renewals of incarnation 77): not honoured, the lease runs on.
    const until = net.node(leader).member.leaseView(ticketName)!.until;
    sent(net, holder, leader, { type: 'released', term, name: ticketName, generation: t.generation, health, seqFloor: highSeq + 1 });
    expect(net.events(leader).some((e) => e.type === 'released')).toBe(false);
    expect(net.node(leader).member.leaseView(ticketName)!.until).toBe(until);
    // A release of the incarnation whose renewal was answered last, above its number: honoured.
    sent(net, holder, leader, { type: 'released', term, name: ticketName, generation: t.generation, health, seqFloor: lowSeq + 1, inc: 77 });
    expect(net.events(leader).some((e) => e.type === 'released' && e.site === holder)).toBe(true);
  });
});
