// Runs the Transport compliance suite (./transport-compliance.ts) against the
// in-memory twin: a MemoryNetwork hub and one MemoryTransport per member, all
// in this process, so connection state changes at once and delivery takes a
// macrotask. A few checks of what only the twin can show follow: a payload
// that the real receiver's schema would refuse is refused here too (it goes
// through JSON and parseMessage), a sender missing from the receiver's peer
// list is refused as the libp2p gater would, and without `testFaults` there
// is no fault hook.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork, type MemoryTransport } from '../../../src/adapters/transport/memory-transport.js';
import { memberId, type MemberId } from '../../../src/core/types.js';
import type { Message } from '../../../src/core/messages.js';
import { describeTransportCompliance, Inbox, vote, waitFor, type ComplianceCluster, type ComplianceOptions } from './transport-compliance.js';

async function createCluster(n: number, options: ComplianceOptions = {}): Promise<ComplianceCluster> {
  const network = new MemoryNetwork();
  const ids: MemberId[] = Array.from({ length: n }, (_, i) => memberId(`m${i}`));
  const make = (i: number): MemoryTransport =>
    network.createTransport({
      self: ids[i]!,
      peers: ids,
      testFaults: true,
      faultSeed: 17 + i,
      ...(options.sendQueueFramesMax === undefined ? {} : { sendQueueFramesMax: options.sendQueueFramesMax }),
    });
  const transports = ids.map((_, i) => make(i));
  await Promise.all(transports.map((t) => t.start()));
  return {
    ids,
    transport: (i) => transports[i]!,
    stop: (i) => transports[i]!.stop(),
    restart: async (i) => {
      await transports[i]!.stop();
      transports[i] = make(i);
      await transports[i].start();
    },
    close: async () => {
      await Promise.all(transports.map((t) => t.stop()));
    },
  };
}

// The memory network delivers on the next turns of the event loop; the deadline is for a loaded machine.
/** Upper bound on one delivery or refusal: a few event-loop turns, which a loaded machine can stretch to seconds. */
const deadlineMs = 10_000;

describeTransportCompliance('MemoryTransport', { create: createCluster, deadlineMs });

describe('MemoryTransport only', () => {
  const started: MemoryTransport[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.stop()));
  });

  async function pair(network: MemoryNetwork, aPeers: MemberId[], bPeers: MemberId[], testFaults = true): Promise<[MemoryTransport, MemoryTransport]> {
    const a = network.createTransport({ self: memberId('a'), peers: aPeers, testFaults });
    const b = network.createTransport({ self: memberId('b'), peers: bPeers, testFaults });
    started.push(a, b);
    await a.start();
    await b.start();
    return [a, b];
  }

  it('refuses a payload that fails the message schema, as the real receiver would', async () => {
    const [a, b] = await pair(new MemoryNetwork(), [memberId('b')], [memberId('a')]);
    const inbox = new Inbox(b);
    const bad = { type: 'vote-resp', term: -1, granted: true } as unknown as Message;
    a.send({ from: memberId('a'), to: memberId('b'), msg: bad });
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(2) });
    await waitFor(() => inbox.messages.length === 1, deadlineMs, 'the good message');
    expect(b.rejectedFrames('a', 'invalid-message')).toBe(1);
    expect(b.peers()[0]!.rejected).toEqual({ 'invalid-message': 1 });
  });

  it('refuses frames from a member missing from its peer list', async () => {
    const [a, b] = await pair(new MemoryNetwork(), [memberId('b')], [memberId('c')]);
    const inbox = new Inbox(b);
    a.send({ from: memberId('a'), to: memberId('b'), msg: vote(1) });
    await waitFor(() => b.rejectedFrames('a', 'unknown-peer') === 1, deadlineMs, 'the refusal');
    expect(inbox.messages).toHaveLength(0);
  });

  it('has no fault hook unless built with testFaults', async () => {
    const [a] = await pair(new MemoryNetwork(), [memberId('b')], [memberId('a')], false);
    expect(a.faults).toBeNull();
  });

  it('refuses two running instances of one member on a network', async () => {
    const network = new MemoryNetwork();
    const first = network.createTransport({ self: memberId('a'), peers: [] });
    started.push(first);
    await first.start();
    await expect(network.createTransport({ self: memberId('a'), peers: [] }).start()).rejects.toThrow(/already running/);
  });
});
