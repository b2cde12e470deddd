// The Transport compliance suite (STYLE.md, from js-libp2p: one suite runs
// against every implementation of a port, so the in-memory twin cannot drift
// from the real thing). test/adapters/libp2p-transport.test.ts and
// test/adapters/memory-transport.test.ts each call
// describeTransportCompliance() with a factory that builds a cluster of
// members on their implementation, every member with the test fault hook
// enabled. The suite checks the contract of src/runtime/ports.ts plus what
// both adapters promise: three members exchange core messages and admin
// frames, in order per peer; sending to a peer that is down, unknown, or from
// a stopped transport is dropped and counted, never thrown; a burst beyond
// sendQueueFramesMax drops the oldest frames; a member that is stopped and
// started again as a new instance (same identity, next epoch) is reached
// again; and the fault hook's cut/heal, drop and delay do what
// transport-faults.ts says. Gossip (issue 5): SWIM messages arrive intact;
// a registry message sent with `via` crosses a cut link through the relay
// and arrives with `via` set, only while the relay's policy allows it.
// Nothing sleeps for a fixed time: every wait polls a condition until a
// deadline and fails with what it was waiting for.
import { afterEach, describe, expect, it } from 'vitest';
import type { TransportFaults } from '../../../src/adapters/transport/transport-faults.js';
import type { DropReason } from '../../../src/adapters/transport/transport-support.js';
import type { Envelope, Message } from '../../../src/core/messages.js';
import { generation, index, memberId, ms, term, type MemberId } from '../../../src/core/types.js';
import type { AdminFrame, Transport } from '../../../src/ports/ports.js';

/** What the suite needs beyond the port: the fault hook and the drop counters both adapters expose. */
export interface TransportUnderTest extends Transport {
  readonly faults: TransportFaults | null;
  droppedFrames(peer: MemberId, reason?: DropReason): number;
}

export interface ComplianceCluster {
  readonly ids: readonly MemberId[];
  /** The current instance of member i (a restart replaces it). */
  transport(i: number): TransportUnderTest;
  /** Stops member i; it stays down until restart(i). */
  stop(i: number): Promise<void>;
  /** Starts a new instance of member i: same id, key and address, next sequence epoch. */
  restart(i: number): Promise<void>;
  /** Stops every member. */
  close(): Promise<void>;
}

export interface ComplianceOptions {
  readonly sendQueueFramesMax?: number;
}

export interface ComplianceFactory {
  /** Builds and starts n members with test faults enabled (not necessarily connected yet). */
  create(n: number, options?: ComplianceOptions): Promise<ComplianceCluster>;
  /** Upper bound for anything the implementation does asynchronously (connect, reconnect, deliver). */
  readonly deadlineMs: number;
}

/** Polls `condition` every few ms until it holds or the deadline passes. */
export async function waitFor(condition: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Records what a transport delivers. */
export class Inbox {
  readonly messages: Array<{ env: Envelope; at: number }> = [];
  readonly admin: AdminFrame[] = [];

  constructor(transport: Transport) {
    transport.onMessage((env) => this.messages.push({ env, at: performance.now() }));
    transport.onAdmin((frame) => this.admin.push(frame));
  }

  from(peer: MemberId): Message[] {
    return this.messages.filter((m) => m.env.from === peer).map((m) => m.env.msg);
  }

  has(peer: MemberId, predicate: (msg: Message) => boolean): boolean {
    return this.messages.some((m) => m.env.from === peer && predicate(m.env.msg));
  }
}

export function vote(termValue: number): Message {
  return { type: 'vote-resp', term: term(termValue), granted: true };
}

/** A registry message's term; gossip messages (which carry none) give -1. */
const termOf = (msg: Message): number => ('term' in msg ? msg.term : -1);

const isTerm = (termValue: number) => (msg: Message) => termOf(msg) === termValue;

export function describeTransportCompliance(name: string, factory: ComplianceFactory): void {
  describe(`Transport compliance: ${name}`, () => {
    const deadline = factory.deadlineMs;
    let cluster: ComplianceCluster | null = null;
    let inboxes = new Map<TransportUnderTest, Inbox>();

    async function setup(n: number, options?: ComplianceOptions): Promise<ComplianceCluster> {
      cluster = await factory.create(n, options);
      inboxes = new Map();
      for (let i = 0; i < n; i += 1) inboxOf(i);
      return cluster;
    }

    function c(): ComplianceCluster {
      if (cluster === null) throw new Error('no cluster');
      return cluster;
    }

    function inboxOf(i: number): Inbox {
      const t = c().transport(i);
      let inbox = inboxes.get(t);
      if (inbox === undefined) {
        inbox = new Inbox(t);
        inboxes.set(t, inbox);
      }
      return inbox;
    }

    const stateOf = (i: number, j: number): string | undefined =>
      c().transport(i).peers().find((p) => p.id === c().ids[j])?.state;

    async function allConnected(indexes: readonly number[]): Promise<void> {
      for (const i of indexes) {
        for (const j of indexes) {
          if (i !== j) await waitFor(() => stateOf(i, j) === 'connected', deadline, `member ${i} connected to member ${j}`);
        }
      }
    }

    function send(i: number, j: number, msg: Message): void {
      c().transport(i).send({ from: c().ids[i]!, to: c().ids[j]!, msg });
    }

    /** Sends from i to j every 50 ms until j has it: the way to cross a reconnect without a fixed sleep. */
    async function deliverEventually(i: number, j: number, termValue: number): Promise<void> {
      let lastSend = Number.NEGATIVE_INFINITY;
      await waitFor(
        () => {
          if (inboxOf(j).has(c().ids[i]!, isTerm(termValue))) return true;
          if (performance.now() - lastSend >= 50) {
            send(i, j, vote(termValue));
            lastSend = performance.now();
          }
          return false;
        },
        deadline,
        `delivery of term ${termValue} from member ${i} to member ${j}`,
      );
    }

    afterEach(async () => {
      await cluster?.close();
      cluster = null;
    });

    it('three members exchange core messages, each addressed and attributed correctly', async () => {
      const cl = await setup(3);
      await allConnected([0, 1, 2]);
      for (let i = 0; i < 3; i += 1) for (let j = 0; j < 3; j += 1) if (i !== j) send(i, j, vote(100 * i + j));
      for (let j = 0; j < 3; j += 1) {
        await waitFor(() => inboxOf(j).messages.length === 2, deadline, `two messages at member ${j}`);
      }
      for (let j = 0; j < 3; j += 1) {
        const got = inboxOf(j).messages.map((m) => m.env);
        const expected = [0, 1, 2].filter((i) => i !== j).map((i) => ({ from: cl.ids[i], to: cl.ids[j], msg: vote(100 * i + j) }));
        expect(got).toEqual(expect.arrayContaining(expected));
        expect(got).toHaveLength(2);
      }
      const status = cl.transport(0).peers();
      expect(status.map((p) => p.id).sort()).toEqual([cl.ids[1], cl.ids[2]].sort());
      for (const p of status) {
        expect(p).toMatchObject({ state: 'connected', sent: 1, received: 1, rejected: {} });
        expect(p.lastRecvAt).not.toBeNull();
      }
    });

    it('carries a structured message (append with entries) intact', async () => {
      const cl = await setup(2);
      await allConnected([0, 1]);
      const msg: Message = {
        type: 'append',
        term: term(3),
        prevIndex: index(4),
        prevTerm: term(2),
        entries: [
          {
            index: index(5),
            term: term(3),
            data: { type: 'grant', ticket: 'ticketA', site: memberId('m1'), expectedGeneration: generation(0), cause: { by: 'admin', commandId: 'c1', force: false } },
          },
        ],
        commit: index(4),
        sentAt: ms(1234),
      };
      send(0, 1, msg);
      await waitFor(() => inboxOf(1).messages.length === 1, deadline, 'the append');
      expect(inboxOf(1).messages[0]!.env).toEqual({ from: cl.ids[0], to: cl.ids[1], msg });
    });

    it('carries gossip messages intact', async () => {
      const cl = await setup(2);
      await allConnected([0, 1]);
      const sig = 'A'.repeat(86) + '==';
      const msg: Message = {
        type: 'ping-req',
        seq: 9,
        target: cl.ids[0]!,
        timeoutMs: 300,
        updates: [{ member: cl.ids[1]!, incarnation: 2, state: 'suspect', origin: cl.ids[0]!, sig }],
        rumors: [{ kind: 'site-health', key: cl.ids[0]!, version: 5, origin: cl.ids[0]!, payload: { quorate: true, handlersOk: true, unrunnable: [] }, sig }],
      };
      send(0, 1, msg);
      await waitFor(() => inboxOf(1).messages.length === 1, deadline, 'the ping-req');
      expect(inboxOf(1).messages[0]!.env).toEqual({ from: cl.ids[0], to: cl.ids[1], msg });
    });

    it('relays a registry message across a cut link, only while the relay allows it', async () => {
      const cl = await setup(3);
      await allConnected([0, 1, 2]);
      cl.transport(0).faults!.cut(cl.ids[1]!);
      await waitFor(() => stateOf(0, 1) !== 'connected' && stateOf(1, 0) !== 'connected', deadline, 'the cut link to go down');
      const relay = cl.transport(2);
      // No policy yet: nothing is relayed.
      cl.transport(0).send({ from: cl.ids[0]!, to: cl.ids[1]!, via: cl.ids[2]!, msg: vote(1) });
      await waitFor(() => relay.droppedFrames(cl.ids[1]!, 'relay-refused') === 1, deadline, 'the relay to refuse');
      let allowed = true;
      relay.setRelayPolicy((to) => allowed && to === cl.ids[1]);
      cl.transport(0).send({ from: cl.ids[0]!, to: cl.ids[1]!, via: cl.ids[2]!, msg: vote(2) });
      await waitFor(() => inboxOf(1).has(cl.ids[0]!, isTerm(2)), deadline, 'the relayed message');
      const got = inboxOf(1).messages.find((m) => termOf(m.env.msg) === 2)!.env;
      expect(got).toEqual({ from: cl.ids[0], to: cl.ids[1], via: cl.ids[2], msg: vote(2) });
      // The relay's own core never sees it.
      expect(inboxOf(2).messages).toHaveLength(0);
      allowed = false;
      cl.transport(0).send({ from: cl.ids[0]!, to: cl.ids[1]!, via: cl.ids[2]!, msg: vote(3) });
      await waitFor(() => relay.droppedFrames(cl.ids[1]!, 'relay-refused') === 2, deadline, 'the relay to refuse again');
      expect(inboxOf(1).has(cl.ids[0]!, isTerm(3))).toBe(false);
    });

    it('keeps order per peer', async () => {
      await setup(2);
      await allConnected([0, 1]);
      for (let k = 1; k <= 200; k += 1) send(0, 1, vote(k));
      await waitFor(() => inboxOf(1).messages.length === 200, deadline, '200 messages');
      expect(inboxOf(1).messages.map((m) => termOf(m.env.msg))).toEqual(Array.from({ length: 200 }, (_, k) => k + 1));
    });

    it('carries admin frames both ways', async () => {
      const cl = await setup(2);
      await allConnected([0, 1]);
      cl.transport(0).sendAdmin({ from: cl.ids[0]!, to: cl.ids[1]!, kind: 'admin', body: { rid: 7, req: { op: 'peers' } } });
      await waitFor(() => inboxOf(1).admin.length === 1, deadline, 'the admin request');
      expect(inboxOf(1).admin[0]).toEqual({ from: cl.ids[0], to: cl.ids[1], kind: 'admin', body: { rid: 7, req: { op: 'peers' } } });
      cl.transport(1).sendAdmin({ from: cl.ids[1]!, to: cl.ids[0]!, kind: 'admin-reply', body: { rid: 7, res: null } });
      await waitFor(() => inboxOf(0).admin.length === 1, deadline, 'the admin reply');
      expect(inboxOf(0).admin[0]).toEqual({ from: cl.ids[1], to: cl.ids[0], kind: 'admin-reply', body: { rid: 7, res: null } });
      expect(inboxOf(0).messages).toHaveLength(0);
    });

    it('a message to a down peer is dropped and counted, never thrown', async () => {
      const cl = await setup(3);
      await allConnected([0, 1, 2]);
      await cl.stop(2);
      await waitFor(() => stateOf(0, 2) !== 'connected', deadline, 'member 0 to notice member 2 is down');
      const t0 = cl.transport(0);
      const before = t0.droppedFrames(cl.ids[2]!, 'not-connected');
      expect(() => send(0, 2, vote(1))).not.toThrow();
      expect(t0.droppedFrames(cl.ids[2]!, 'not-connected')).toBe(before + 1);
      // The others are unaffected.
      send(0, 1, vote(2));
      await waitFor(() => inboxOf(1).has(cl.ids[0]!, isTerm(2)), deadline, 'delivery to member 1');
      // Unknown recipients and a transport that is itself stopped: dropped too.
      const stranger = memberId('not-a-member');
      expect(() => t0.send({ from: cl.ids[0]!, to: stranger, msg: vote(3) })).not.toThrow();
      expect(t0.droppedFrames(stranger, 'unknown-peer') + t0.droppedFrames(memberId('(other)'), 'unknown-peer')).toBeGreaterThan(0);
      await cl.stop(0);
      expect(() => send(0, 1, vote(4))).not.toThrow();
      expect(() => t0.sendAdmin({ from: cl.ids[0]!, to: cl.ids[1]!, kind: 'admin', body: {} })).not.toThrow();
      expect(t0.droppedFrames(cl.ids[1]!, 'stopped')).toBeGreaterThanOrEqual(2);
    });

    it('a burst beyond sendQueueFramesMax drops the oldest frames and counts them', async () => {
      const cl = await setup(2, { sendQueueFramesMax: 8 });
      await allConnected([0, 1]);
      for (let k = 1; k <= 40; k += 1) send(0, 1, vote(k));
      const dropped = cl.transport(0).droppedFrames(cl.ids[1]!, 'queue-full');
      expect(dropped).toBeGreaterThan(0);
      await waitFor(() => inboxOf(1).messages.length === 40 - dropped, deadline, `${40 - dropped} messages`);
      const terms = inboxOf(1).messages.map((m) => termOf(m.env.msg));
      // The newest frames survive, in order.
      expect(terms[terms.length - 1]).toBe(40);
      expect([...terms].sort((a, b) => a - b)).toEqual(terms);
    });

    it('a restarted peer (new instance, same identity) is reached again', async () => {
      const cl = await setup(3);
      await allConnected([0, 1, 2]);
      await cl.stop(1);
      await waitFor(() => stateOf(0, 1) !== 'connected' && stateOf(2, 1) !== 'connected', deadline, 'members 0 and 2 to notice member 1 is down');
      expect(() => send(0, 1, vote(1))).not.toThrow();
      await cl.restart(1);
      inboxOf(1);
      await deliverEventually(0, 1, 10);
      await deliverEventually(2, 1, 11);
      await deliverEventually(1, 0, 12);
      await deliverEventually(1, 2, 13);
      await allConnected([0, 1, 2]);
      // Nothing sent to the old instance while it was down reached the new one.
      expect(inboxOf(1).has(cl.ids[0]!, isTerm(1))).toBe(false);
    });

    it('fault hook: cut stops traffic both ways until heal', async () => {
      const cl = await setup(3);
      await allConnected([0, 1, 2]);
      const faults = cl.transport(0).faults;
      expect(faults).not.toBeNull();
      faults!.cut(cl.ids[1]!);
      await waitFor(() => stateOf(0, 1) !== 'connected' && stateOf(1, 0) !== 'connected', deadline, 'the cut link to go down');
      expect(() => send(0, 1, vote(1))).not.toThrow();
      expect(() => send(1, 0, vote(2))).not.toThrow();
      // Other links still work; by the time a marker crossed them, the cut frames would have arrived if sent.
      send(0, 2, vote(3));
      send(2, 1, vote(4));
      send(2, 0, vote(5));
      await waitFor(() => inboxOf(2).has(cl.ids[0]!, isTerm(3)), deadline, 'marker 0→2');
      await waitFor(() => inboxOf(1).has(cl.ids[2]!, isTerm(4)), deadline, 'marker 2→1');
      await waitFor(() => inboxOf(0).has(cl.ids[2]!, isTerm(5)), deadline, 'marker 2→0');
      // The link stays down across redial attempts.
      expect(stateOf(0, 1)).not.toBe('connected');
      expect(inboxOf(1).from(cl.ids[0]!)).toHaveLength(0);
      expect(inboxOf(0).from(cl.ids[1]!)).toHaveLength(0);
      faults!.heal();
      await deliverEventually(0, 1, 6);
      await deliverEventually(1, 0, 7);
    });

    it('fault hook: drop discards a fraction of frames (seeded), the rest arrive', async () => {
      const cl = await setup(2);
      await allConnected([0, 1]);
      const t0 = cl.transport(0);
      t0.faults!.drop(cl.ids[1]!, 1);
      for (let k = 1; k <= 10; k += 1) send(0, 1, vote(k));
      expect(t0.droppedFrames(cl.ids[1]!, 'fault')).toBe(10);
      t0.faults!.drop(cl.ids[1]!, 0.5);
      for (let k = 11; k <= 110; k += 1) send(0, 1, vote(k));
      const dropped = t0.droppedFrames(cl.ids[1]!, 'fault') - 10;
      expect(dropped).toBeGreaterThan(20);
      expect(dropped).toBeLessThan(80);
      await waitFor(() => inboxOf(1).messages.length === 100 - dropped, deadline, `${100 - dropped} messages`);
      t0.faults!.heal();
      send(0, 1, vote(1000));
      await waitFor(() => inboxOf(1).has(cl.ids[0]!, isTerm(1000)), deadline, 'delivery after heal');
      expect(t0.droppedFrames(cl.ids[1]!, 'fault')).toBe(10 + dropped);
    });

    it('fault hook: delay holds frames back, in order', async () => {
      const cl = await setup(2);
      await allConnected([0, 1]);
      cl.transport(0).faults!.delay(cl.ids[1]!, 150);
      const sentAt = performance.now();
      for (let k = 1; k <= 5; k += 1) send(0, 1, vote(k));
      await waitFor(() => inboxOf(1).messages.length === 5, deadline, 'the delayed messages');
      // Node timers never fire early; allow 2 ms for clock granularity.
      for (const m of inboxOf(1).messages) expect(m.at - sentAt).toBeGreaterThanOrEqual(148);
      expect(inboxOf(1).messages.map((m) => termOf(m.env.msg))).toEqual([1, 2, 3, 4, 5]);
    });
  });
}
