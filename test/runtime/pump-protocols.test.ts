// What the pump tells the core about its peers' protocol versions (batch
// grants, docs/protocol.md §3 and §9): the core may append `grant-batch`
// entries only while every member of the configuration has announced 1.2 or
// later, so the pump hands it exactly the peers whose last hello said so
// (noteProtocols) — a member still on 1.1 (a rolling upgrade) is left out,
// and the core then proposes one `grant` per ticket (Member.setBatchGrantPeers,
// checked in test/core/tickets/batch-grants.test.ts and the interaction
// tests). A peer's version is remembered while it is disconnected (a dead
// site's failover must still go in batches), replaced when it comes back with
// another one, and the core is told again only when the set changes.
//
// How: the real Pump with a stub core that records every setBatchGrantPeers
// call and a stub transport whose peers() the test sets; an injected message
// makes the pump take its inputs (where it looks at the peers). No clock or
// timer beyond event-loop turns.
import { describe, expect, it } from 'vitest';
import type { Member } from '../../src/core/member.js';
import type { Envelope, Message } from '../../src/core/messages.js';
import type { Ready } from '../../src/core/ready.js';
import { memberId, ms, type MemberId, type Ms } from '../../src/core/types.js';
import type { AdminFrame, PeerStatus, Transport } from '../../src/ports/ports.js';
import { MemoryStorage } from '../../src/adapters/storage/memory-storage.js';
import { Pump } from '../../src/runtime/pump.js';

const self = memberId('a');
const b = memberId('b');
const c = memberId('c');

const noReady: Ready = { persist: null, messages: [], effects: [], guard: [], events: [] };

class StubCore {
  readonly told: string[][] = [];
  step(): void {}
  tick(): void {}
  report(): void {}
  hasReady(): boolean {
    return false;
  }
  ready(): Ready {
    return noReady;
  }
  advance(): void {}
  nextDeadline(): Ms {
    return ms(1e12);
  }
  canRelayTo(): boolean {
    return true;
  }
  setBatchGrantPeers(ids: Iterable<MemberId>): void {
    this.told.push([...ids].sort());
  }
}

class StubTransport implements Transport {
  links: PeerStatus[] = [];
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
    return this.links;
  }
  inject(): void {
    const msg = { type: 'vote-resp', term: 1, granted: false } as Message;
    this.#handler!({ from: b, to: self, msg });
  }
}

const link = (id: MemberId, protocol: string | null, state: PeerStatus['state'] = 'connected'): PeerStatus => ({
  id,
  state,
  rttMs: null,
  lastRecvAt: null,
  sent: 0,
  received: 0,
  rejected: {},
  protocol,
});

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('Pump: which peers speak protocol 1.2 (batch grants)', () => {
  it('names only the peers whose last hello announced 1.2 or later, remembers them while disconnected, and tells the core only of changes', async () => {
    const core = new StubCore();
    const transport = new StubTransport();
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const pump = new Pump({ core: core as unknown as Member, storage: await MemoryStorage.open(), transport, sink: null, clock: { now: () => ms(0) }, log });
    const feed = async (): Promise<void> => {
      transport.inject();
      await turns(5);
    };
    pump.start();
    try {
      // A mixed formation: c still runs 1.1 (a rolling upgrade).
      transport.links = [link(b, '1.2'), link(c, '1.1')];
      await feed();
      expect(core.told.at(-1), 'a 1.1 member is left out: the core proposes one grant per ticket').toEqual([b]);
      const calls = core.told.length;
      await feed();
      expect(core.told.length, 'nothing changed: the core is not told again').toBe(calls);
      // c upgraded (restarted announcing 1.2), and a later minor counts too.
      transport.links = [link(b, '1.3'), link(c, '1.2')];
      await feed();
      expect(core.told.at(-1), 'every peer speaks 1.2 or later').toEqual([b, c]);
      // c goes away: its last version stands, so the failover of its tickets still goes in batches.
      transport.links = [link(b, '1.3'), link(c, null, 'disconnected')];
      await feed();
      expect(core.told.at(-1)).toEqual([b, c]);
      // c comes back on 1.1 (a downgrade): left out again.
      transport.links = [link(b, '1.3'), link(c, '1.1')];
      await feed();
      expect(core.told.at(-1)).toEqual([b]);
    } finally {
      await pump.stop();
    }
  });
});
