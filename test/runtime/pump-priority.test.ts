// The pump's network inbox by class (issue 12, item 4): registry (Raft)
// messages, relayed ones included, are fed to the core ahead of gossip (SWIM)
// messages, in arrival order with the local inputs; gossip only when neither
// waits. Under overflow (networkQueueMax) the oldest gossip message goes
// first, a registry message only when no gossip waits, and the drops are
// counted by class; local inputs are never dropped.
//
// How: the real Pump with a stub core that records, in order, what it is fed,
// and whose first Ready carries a persist the stub storage holds open, so
// that inputs pile up in the inbox while the test injects them through a stub
// transport; releasing the persist lets the pump feed them. No clock or
// timer is involved beyond event-loop turns.
import { describe, expect, it } from 'vitest';
import type { Member } from '../../src/core/member.js';
import type { Envelope, Message } from '../../src/core/messages.js';
import type { PersistBatch, Ready } from '../../src/core/ready.js';
import { memberId, ms, type MemberId, type Ms } from '../../src/core/types.js';
import type { AdminFrame, PeerStatus, Storage, Transport } from '../../src/ports/ports.js';
import { networkQueueMax, Pump } from '../../src/runtime/pump.js';

const self = memberId('a');
const peer = memberId('b');

const noReady: Ready = { persist: null, messages: [], effects: [], guard: [], events: [] };

/** Records what it is fed; its first Ready after `holdNext` carries a persist. */
class StubCore {
  readonly fed: string[] = [];
  holdNext = false;
  #ready: Ready | null = null;

  step(env: Envelope): void {
    const msg = env.msg as { type: string; seq?: number; term?: number };
    this.fed.push(`${msg.type}:${msg.seq ?? msg.term}`);
  }
  tick(): void {
    if (this.holdNext) {
      this.holdNext = false;
      this.#ready = { ...noReady, persist: { entries: [] } as unknown as PersistBatch };
    }
  }
  report(input: { type: string }): void {
    this.fed.push(`report:${input.type}`);
  }
  hasReady(): boolean {
    return this.#ready !== null;
  }
  ready(): Ready {
    return this.#ready ?? noReady;
  }
  advance(): void {
    this.#ready = null;
  }
  nextDeadline(): Ms {
    return ms(1e12);
  }
  canRelayTo(): boolean {
    return true;
  }
  setBatchGrantPeers(): void {}
}

class HoldingStorage implements Storage {
  readonly held: Array<() => void> = [];
  load(): Promise<null> {
    return Promise.resolve(null);
  }
  async persist(): Promise<void> {
    await new Promise<void>((release) => this.held.push(release));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class StubTransport implements Transport {
  #handler: ((env: Envelope) => void) | null = null;
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  send(): void {}
  sendAdmin(_: AdminFrame): void {}
  onMessage(handler: (env: Envelope) => void): void {
    this.#handler = handler;
  }
  setRelayPolicy(): void {}
  onAdmin(): void {}
  peers(): PeerStatus[] {
    return [];
  }
  inject(msg: Message, via?: MemberId): void {
    this.#handler!({ from: peer, to: self, msg, ...(via === undefined ? {} : { via }) });
  }
}

const gossip = (seq: number): Message => ({ type: 'ping', seq, updates: [], rumors: [] });
const raft = (term: number): Message => ({ type: 'vote-resp', term, granted: false }) as Message;

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

async function heldPump(): Promise<{ pump: Pump; core: StubCore; storage: HoldingStorage; transport: StubTransport }> {
  const core = new StubCore();
  const storage = new HoldingStorage();
  const transport = new StubTransport();
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const pump = new Pump({ core: core as unknown as Member, storage, transport, sink: null, clock: { now: () => ms(0) }, log });
  core.holdNext = true;
  pump.start();
  await turns(5);
  expect(storage.held.length, 'the pump waits on the held persist').toBe(1);
  return { pump, core, storage, transport };
}

describe('Pump network inbox by class', () => {
  it('feeds registry messages and local inputs in arrival order, gossip only when neither waits', async () => {
    const { pump, core, storage, transport } = await heldPump();
    try {
      transport.inject(gossip(1));
      transport.inject(raft(1));
      transport.inject(gossip(2));
      pump.report((c, now) => c.report({ type: 'health' } as never, now));
      transport.inject(raft(2), memberId('c')); // relayed: still registry traffic
      transport.inject(gossip(3));
      expect(pump.stats().networkQueuedByClass).toEqual({ registry: 2, gossip: 3 });
      storage.held.shift()!();
      await turns(10);
      expect(core.fed).toEqual(['vote-resp:1', 'report:health', 'vote-resp:2', 'ping:1', 'ping:2', 'ping:3']);
    } finally {
      for (const release of storage.held) release();
      await pump.stop();
    }
  });

  it('under overflow drops the oldest gossip first, registry only when no gossip waits, counted by class', async () => {
    const { pump, core, storage, transport } = await heldPump();
    try {
      const registryCount = 10;
      for (let i = 0; i < registryCount; i++) transport.inject(raft(i));
      for (let i = 0; i < networkQueueMax - registryCount; i++) transport.inject(gossip(i));
      expect(pump.stats()).toMatchObject({ networkQueued: networkQueueMax, inputsDropped: 0 });
      // Full: a registry message pushes out the oldest gossip one; so does a gossip message.
      transport.inject(raft(registryCount));
      transport.inject(gossip(networkQueueMax));
      expect(pump.stats()).toMatchObject({
        networkQueued: networkQueueMax,
        inputsDropped: 2,
        inputsDroppedByClass: { registry: 0, gossip: 2 },
        networkQueuedByClass: { registry: registryCount + 1, gossip: networkQueueMax - registryCount - 1 },
      });
      // A local input is never dropped, and does not count against the network bound.
      pump.report((c, now) => c.report({ type: 'health' } as never, now));
      expect(pump.stats()).toMatchObject({ localQueued: 1, inputsDropped: 2 });
      storage.held.shift()!();
      await turns(50);
      expect(core.fed.slice(0, registryCount + 2)).toEqual([...Array.from({ length: registryCount + 1 }, (_, i) => `vote-resp:${i}`), 'report:health']);
      // The two oldest pings were the ones dropped.
      expect(core.fed[registryCount + 2]).toBe('ping:2');
      expect(core.fed.at(-1)).toBe(`ping:${networkQueueMax}`);
    } finally {
      for (const release of storage.held) release();
      await pump.stop();
    }
  });

  it('with only registry messages waiting, drops the oldest of them, and a gossip message arriving then is the one dropped', async () => {
    const { pump, core, storage, transport } = await heldPump();
    try {
      for (let i = 0; i < networkQueueMax; i++) transport.inject(raft(i));
      transport.inject(gossip(1));
      expect(pump.stats()).toMatchObject({ inputsDroppedByClass: { registry: 0, gossip: 1 }, networkQueuedByClass: { registry: networkQueueMax, gossip: 0 } });
      transport.inject(raft(networkQueueMax));
      expect(pump.stats()).toMatchObject({ inputsDroppedByClass: { registry: 1, gossip: 1 }, networkQueuedByClass: { registry: networkQueueMax, gossip: 0 } });
      storage.held.shift()!();
      await turns(50);
      expect(core.fed[0]).toBe('vote-resp:1');
      expect(core.fed.at(-1)).toBe(`vote-resp:${networkQueueMax}`);
      expect(core.fed).not.toContain('ping:1');
    } finally {
      for (const release of storage.held) release();
      await pump.stop();
    }
  });
});
