// Gossip inside a Member (src/core/member.ts with src/core/gossip/; DESIGN.md §3):
// what the registry gets from SWIM and gives to it, on a small hand-driven
// network of three members (two sites, one arbitrator) with virtual time.
// Messages take 1 ms per hop; a directed link can be cut; a message the core
// sends through a relay (`via`) goes to the relay first, which passes it on
// where its core allows (canRelayTo), as the runtime does. Nothing sleeps.
//
// Checked here, by the sentence of the design or the issue it stands for:
//  - without `gossip` in MemberInit the member runs the registry alone: no
//    gossip traffic, every route direct, gossip messages ignored and said so;
//  - gossip's random draws come from its own stream: the registry draws the
//    same election timeouts with gossip as without (seeds replay);
//  - relay: with the holder–leader link cut, the leader's messages to the
//    holder also go through the third member, `peers()` says "via", the
//    holder keeps its ticket for several leases;
//  - a message that arrived through a relay makes the receiver look for a
//    way back at once (a route probe: a ping to the sender);
//  - dissemination: the leader publishes committed ticket state; a member
//    whose replication lags shows the newer commit in its local view
//    (`list --local`), marked as learned by gossip;
//  - site health spreads to every member; a health rumor about one site
//    signed by another is refused.
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig, type CoreTiming } from '../../src/core/config.js';
import { Member } from '../../src/core/member.js';
import type { GossipInit } from '../../src/core/gossip/bridge.js';
import { isSwimMessage, siteHealthRumorKind, type Envelope } from '../../src/core/messages.js';
import { SeededRandom, type RandomSource } from '../../src/core/random.js';
import type { CoreEvent } from '../../src/core/ready.js';
import { swimPresets } from '../../src/core/gossip/config.js';
import { index, memberId, ms, term, type MemberId, type TicketDef } from '../../src/core/types.js';
import { fakeClaimAuth, fakeClaimSig } from '../support/fake-claim-auth.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';

const site1 = memberId('site1');
const site2 = memberId('site2');
const arb = memberId('arb');
const ids = [site1, site2, arb];

const timing: CoreTiming = {
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  renewIntervalMs: 500,
  renewRetryMs: 250,
  clockDriftPpmMax: 0,
  effectRetryMs: 200,
  siteAliveWindowMs: 1500,
};
const ticket: TicketDef = { name: 't1', mode: 'automatic', leaseDurationMs: 5000, acquireAfterMs: 0, revokeLeadMs: 500, weights: { site1: 10 } };

function configFor(self: MemberId): CoreConfig {
  return {
    self,
    members: [
      { id: site1, kind: 'site' },
      { id: site2, kind: 'site' },
      { id: arb, kind: 'arbitrator' },
    ],
    tickets: [ticket],
    timing,
    limits: defaultLimits,
  };
}

function gossipFor(id: MemberId): GossipInit {
  return { timing: swimPresets.loopback, random: new SeededRandom(7 + ids.indexOf(id)), auth: fakeClaimAuth(id), incarnation: 1 };
}

/** The arbitrator draws the shortest election timeout, so it leads. */
function raftRandom(id: MemberId): RandomSource {
  return id === arb ? { next: () => 0 } : { next: () => 0.9 };
}

interface Delivery {
  readonly at: number;
  readonly hop: MemberId;
  readonly to: MemberId;
  readonly env: Envelope;
}

class Net {
  now = 0;
  readonly members = new Map<MemberId, Member>();
  readonly events: Array<{ member: MemberId; at: number; event: CoreEvent }> = [];
  readonly sent: Array<{ at: number; env: Envelope }> = [];
  private queue: Delivery[] = [];
  readonly cut = new Set<string>();
  /** Messages matching it are lost (at the first hop). */
  drop: (env: Envelope) => boolean = () => false;

  constructor(gossip: boolean) {
    for (const id of ids) {
      this.members.set(id, new Member(configFor(id), { now: ms(0), random: raftRandom(id), snapshotCodec, ...(gossip ? { gossip: gossipFor(id) } : {}), cib: [] }));
    }
    for (const id of ids) this.drain(id);
  }

  member(id: MemberId): Member {
    return this.members.get(id)!;
  }

  cutBoth(a: MemberId, b: MemberId): void {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }

  private transmit(from: MemberId, to: MemberId, env: Envelope): void {
    if (this.cut.has(`${from}>${to}`)) return;
    this.queue.push({ at: this.now + 1, hop: from, to, env });
  }

  drain(id: MemberId): void {
    const m = this.member(id);
    while (m.hasReady()) {
      const r = m.ready();
      for (const env of r.messages) {
        this.sent.push({ at: this.now, env });
        if (this.drop(env)) continue;
        this.transmit(id, env.via ?? env.to, env);
      }
      for (const event of r.events) this.events.push({ member: id, at: this.now, event });
      // The CIB write succeeds at once.
      for (const e of r.effects) m.report({ type: 'effect-result', id: e.id, ok: true }, ms(this.now));
      for (const g of r.guard) m.report({ type: 'effect-result', id: g.id, ok: true, skipped: [] }, ms(this.now));
      m.advance(r);
    }
  }

  runUntil(t: number): void {
    while (this.now < t) {
      const nextDelivery = this.queue.reduce((min, d) => Math.min(min, d.at), Number.POSITIVE_INFINITY);
      const nextTimer = Math.min(...ids.map((id) => this.member(id).nextDeadline()));
      const at = Math.min(nextDelivery, nextTimer, t);
      this.now = Math.max(this.now, at);
      const due = this.queue.filter((d) => d.at <= this.now);
      this.queue = this.queue.filter((d) => d.at > this.now);
      for (const d of due) {
        const m = this.member(d.to);
        if (d.env.to !== d.to && d.env.via === d.to) {
          // The relay's runtime: one hop, where its core allows.
          if (m.canRelayTo(d.env.to)) this.transmit(d.to, d.env.to, d.env);
          continue;
        }
        m.step(d.env, ms(this.now));
        this.drain(d.to);
      }
      for (const id of ids) {
        const m = this.member(id);
        if (m.nextDeadline() <= this.now) {
          m.tick(ms(this.now));
          this.drain(id);
        }
      }
      if (due.length === 0 && at === t) break;
    }
    this.now = t;
  }
}

describe('Member with gossip', () => {
  it('runs the registry alone without gossip: no gossip traffic, direct routes, gossip messages ignored', () => {
    const net = new Net(false);
    net.runUntil(3000);
    expect(net.sent.filter((s) => isSwimMessage(s.env.msg))).toEqual([]);
    expect(net.member(site1).peers()).toBeNull();
    expect(net.member(site1).routeTo(arb)).toEqual({ direct: true });
    const m = net.member(site2);
    m.step({ from: arb, to: site2, msg: { type: 'ping', seq: 1, updates: [], rumors: [] } }, ms(3001));
    const r = m.ready();
    expect(r.messages).toEqual([]);
    expect(r.events).toContainEqual({ type: 'message-ignored', from: arb, msgType: 'ping', reason: 'gossip is off here' });
  });

  it('draws the registry’s election timeouts from the same stream with gossip as without', () => {
    const draws = (gossip: boolean): number => {
      let n = 0;
      const random: RandomSource = { next: () => (n++, 0.5) };
      // A member of a running formation (its store says so: docs/protocol.md §10), alone: nobody answers,
      // so its election timer fires a few times.
      const persisted = { hardState: { term: term(0), votedFor: null, commit: index(0) }, snapshot: null, entries: [] };
      const m = new Member(configFor(site1), { now: ms(0), random, snapshotCodec, persisted, ...(gossip ? { gossip: gossipFor(site1) } : {}) });
      for (let t = 0; t <= 10_000; t += 50) {
        m.tick(ms(t));
        while (m.hasReady()) m.advance(m.ready());
      }
      return n;
    };
    expect(draws(true)).toBe(draws(false));
    expect(draws(true)).toBeGreaterThan(1);
  });

  it('keeps the ticket of a holder cut from the leader: registry messages go through the member that reaches both', () => {
    const net = new Net(true);
    net.runUntil(3000);
    expect(net.member(arb).status().role).toBe('leader');
    expect(net.member(arb).ticket('t1')?.holder).toBe(site1);
    net.cutBoth(site1, arb);
    const cutAt = net.now;
    net.runUntil(cutAt + 4 * ticket.leaseDurationMs);
    // No failover: still held by site1 at generation 1, and site1's own view agrees.
    expect(net.member(arb).ticket('t1')).toMatchObject({ holder: site1, generation: 1 });
    expect(net.member(site1).holderView('t1')).toMatchObject({ granted: true });
    expect(net.events.filter((e) => e.event.type === 'applied' && e.event.data.type === 'grant' && e.at > cutAt)).toEqual([]);
    // Each side knows the way round, and nobody was suspected.
    expect(net.member(arb).peers()?.peers.find((p) => p.id === site1)?.route).toEqual({ via: site2 });
    expect(net.member(site1).peers()?.peers.find((p) => p.id === arb)?.route).toEqual({ via: site2 });
    expect(net.events.filter((e) => e.event.type === 'member-state')).toEqual([]);
    // Appends and renewals both went through site2.
    const relayed = net.sent.filter((s) => s.at > cutAt && s.env.via === site2).map((s) => s.env.msg.type);
    expect(relayed).toContain('append');
    expect(relayed).toContain('renew');
    expect(relayed).toContain('renew-resp');
  });

  it('looks for a way back at once when a message arrives through a relay', () => {
    const net = new Net(true);
    net.runUntil(3000);
    const m = net.member(site1);
    const before = net.sent.length;
    m.step({ from: arb, to: site1, via: site2, msg: { type: 'gossip', updates: [], rumors: [] } }, ms(net.now));
    net.drain(site1);
    const pings = net.sent.slice(before).filter((s) => s.env.msg.type === 'ping' && s.env.to === arb);
    expect(pings.length).toBe(1);
  });

  it('spreads committed ticket state: a member whose replication lags shows the newer commit, marked as gossip', () => {
    const net = new Net(true);
    net.runUntil(3000);
    // site2 stops receiving the registry's appends (only gossip reaches it).
    net.drop = (env) => env.to === site2 && env.msg.type === 'append';
    net.member(arb).command({ id: 'move', type: 'grant', ticket: 't1', site: site2, force: false }, ms(net.now));
    net.drain(arb);
    net.runUntil(net.now + 3000);
    const leader = net.member(arb).ticket('t1')!;
    expect(leader.holder).toBe(site2);
    const seen = net.member(site2).localTickets().find((v) => v.state.def.name === 't1')!;
    expect(net.member(site2).ticket('t1')?.holder).toBe(site1); // its applied table is behind
    expect(seen.source).toBe('gossip');
    expect(seen.state).toMatchObject({ holder: site2, generation: leader.generation });
    expect(net.member(site2).ticketSeen('t1')).toMatchObject({ holder: site2, origin: arb });
    // Where replication keeps up, the table itself shows it.
    expect(net.member(site1).localTickets().find((v) => v.state.def.name === 't1')).toMatchObject({ source: 'table', state: { holder: site2 } });
  });

  it('spreads site health to every member and refuses one site speaking for another', () => {
    const net = new Net(true);
    net.runUntil(2000);
    const bad = { quorate: false, handlersOk: true, unrunnable: [] };
    net.member(site2).report({ type: 'health', health: bad }, ms(net.now));
    net.drain(site2);
    net.runUntil(net.now + 2000);
    for (const id of ids) expect(net.member(id).siteHealth().find((h) => h.site === site2)?.health).toEqual(bad);
    // site1 signs a rumor about site2's health: valid signature, wrong speaker.
    const claim = { kind: siteHealthRumorKind, key: site2 as string, version: 99 * 2 ** 20, origin: site1, payload: { quorate: true, handlersOk: true, unrunnable: [] } };
    const forged = { ...claim, sig: fakeClaimSig({ about: 'rumor', ...claim }) };
    const m = net.member(arb);
    m.step({ from: site1, to: arb, msg: { type: 'gossip', updates: [], rumors: [forged] } }, ms(net.now));
    const r = m.ready();
    expect(r.events).toContainEqual({ type: 'gossip-rejected', from: site1, item: 'rumor', reason: 'wrong-origin' });
    expect(m.siteHealth().find((h) => h.site === site2)?.health).toEqual(bad);
  });
});
