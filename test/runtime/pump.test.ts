// The host we ship (src/runtime/pump.ts) against the contract of
// src/core/ready.ts: each Ready is carried out as persist (synced) → send →
// ticket effects and guard updates → advance, and nothing of a Ready — nor of
// any later one — leaves the process before its persist has resolved.
//
// How: three real cores (three sites — site-a, site-b and the one called arb —
// with gossip; with an arbitrator, a leading site-a would hand the registry to
// it) each run in a real Pump over the in-memory transport twin; the sites
// write to real FileTicketSinks in a temp dir. Site-a's storage holds every persist open
// until the test releases it, and a journal records, in order, every persist
// begin and end, every send on site-a's transport, every call into site-a's
// sink, and every Ready site-a's core hands out (the core's own ready(),
// wrapped to note what it returned). Time is a virtual monotonic clock shared
// by the three pumps: the test advances it in steps, only while site-a's sink
// is idle and every persist has been looked at, so the run is the same on a
// loaded machine (no wall-clock deadline, no fixed sleep: the waits are turns
// of the event loop and sink calls finishing).
//
// At each held persist the test checks that no output of that Ready or of a
// later one is in the journal, gives the pump a few more event-loop turns to
// misbehave, checks again, and releases it. It drives the formation until
// site-a has persisted a vote before sending it, persisted a commit before
// writing the grant it carries into the sink, and persisted a log entry
// before writing a guard update that came in the same Ready (the last one
// built on purpose: a command and a tick fed in one batch). A final pass
// checks the whole journal: every output of Ready k comes after the persist
// of every Ready up to k, and every message of a persisted Ready was sent.
// Checked against three broken pumps (persist not awaited; effects, or guard
// updates, started before the persist): each fails here.
//
// Then flushGuard, what a site agent does before a clean stop: with the
// lease run ahead of the guard's last write, it writes one guard update moving
// the deadline to the latest the lease allows (never past it) and resolves
// once that write is done.
//
// The last part checks the pump's bound on queued input on the same
// formation: with site-a's pump stuck on a held persist, a CIB write finishes
// (its effect result queues), an admin command queues, and more network
// messages arrive than networkQueueMax. The network messages beyond the bound
// are dropped and counted, the effect result and the command are not (the
// core gets the result, the command is answered), commands beyond
// commandsQueuedMax are refused 'busy' at once, and the admin `status` answer
// shows the count.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTicketSink } from '../../src/adapters/pacemaker/file-ticket-sink.js';
import { MemoryStorage } from '../../src/adapters/storage/memory-storage.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/adapters/transport/memory-transport.js';
import { defaultLimits, type CoreConfig } from '../../src/core/config.js';
import { swimPresets } from '../../src/core/gossip/config.js';
import { Member } from '../../src/core/member.js';
import type { Envelope } from '../../src/core/messages.js';
import { SeededRandom, type RandomSource } from '../../src/core/random.js';
import type { PersistBatch, PersistedState, Ready } from '../../src/core/ready.js';
import type { GuardExtension, GuardUpdate, TicketEffect } from '../../src/core/tickets/site-holder.js';
import { ms, type MemberId, type Ms, type TicketDef } from '../../src/core/types.js';
import { holderRevokeAt } from '../../src/core/lease.js';
import type { AbortOptions, AdminFrame, EffectOutcome, MonotonicClock, PeerStatus, Storage, TicketSink, Transport } from '../../src/ports/ports.js';
import { AdminService } from '../../src/runtime/admin-service.js';
import { commandsQueuedMax, networkQueueMax, Pump, type CommandResult } from '../../src/runtime/pump.js';
import { fakeClaimAuth } from '../support/fake-claim-auth.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';
import { arb, ids, siteA, testMembers, testTiming } from '../support/core-formation.js';


const timing = testTiming;
// Weighted to site-a, the leader: placement would otherwise break the tie away from the leading site.
const ticket: TicketDef = { name: 'db', mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: { 'site-a': 1 } };
/** Virtual time per driver step: well under every timeout above, so a step is like a short network delay. */
const stepMs = 50;
/** Bound on driver steps for one phase (virtual time, not wall time): 60 s of formation life. */
const stepsMax = 1200;
/** Event-loop turns that let the memory transport (setImmediate) and the pumps run between checks. */
const settleTurns = 5;
/** How long the test waits for flushGuard to resolve (a file write), generous for a loaded machine, ms. */
const flushWaitMs = 30_000;
/** Pause between two looks at whether it has, ms. */
const flushPollMs = 5;

class VirtualClock implements MonotonicClock {
  t = 1_000_000;
  now(): Ms {
    return ms(this.t);
  }
}

type JournalEntry =
  | { readonly kind: 'ready'; readonly k: number; readonly ready: Ready }
  | { readonly kind: 'persist-begin'; readonly batch: PersistBatch }
  | { readonly kind: 'persist-end'; readonly batch: PersistBatch }
  | { readonly kind: 'send'; readonly env: Envelope }
  | { readonly kind: 'apply'; readonly effect: TicketEffect }
  | { readonly kind: 'extend'; readonly update: GuardUpdate };

/** A storage whose persists wait, while `holding`, until the test releases them. */
class HeldStorage implements Storage {
  holding = true;
  readonly held: Array<{ readonly batch: PersistBatch; readonly release: () => void }> = [];

  constructor(
    private readonly inner: Storage,
    private readonly journal: JournalEntry[],
  ) {}

  load(options?: AbortOptions): Promise<PersistedState | null> {
    return this.inner.load(options);
  }

  async persist(batch: PersistBatch, options?: AbortOptions): Promise<void> {
    this.journal.push({ kind: 'persist-begin', batch });
    if (this.holding) await new Promise<void>((release) => this.held.push({ batch, release }));
    await this.inner.persist(batch, options);
    this.journal.push({ kind: 'persist-end', batch });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The memory transport, with every send journaled and a way to hand the pump inbound messages directly. */
class JournaledTransport implements Transport {
  private readonly handlers: Array<(env: Envelope) => void> = [];

  constructor(
    readonly inner: MemoryTransport,
    private readonly journal: JournalEntry[] | null,
  ) {}

  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  send(env: Envelope): void {
    this.journal?.push({ kind: 'send', env });
    this.inner.send(env);
  }
  sendAdmin(frame: AdminFrame): void {
    this.inner.sendAdmin(frame);
  }
  onMessage(handler: (env: Envelope) => void): void {
    this.handlers.push(handler);
    this.inner.onMessage(handler);
  }
  setRelayPolicy(canRelayTo: (to: MemberId) => boolean): void {
    this.inner.setRelayPolicy(canRelayTo);
  }
  onAdmin(handler: (frame: AdminFrame) => void): void {
    this.inner.onAdmin(handler);
  }
  peers(): PeerStatus[] {
    return this.inner.peers();
  }
  /** Delivers as if `env` had arrived from the network. */
  inject(env: Envelope): void {
    for (const h of this.handlers) h(env);
  }
}

/** A real sink with every call journaled, the calls in flight counted, and applies that can be held open. */
class JournaledSink implements TicketSink {
  inFlight = 0;
  holdApplies = false;
  readonly heldApplies: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly inner: TicketSink,
    private readonly journal: JournalEntry[] | null,
  ) {}

  readAll(options?: AbortOptions): ReturnType<TicketSink['readAll']> {
    return this.inner.readAll(options);
  }

  readAtStart(options?: AbortOptions): ReturnType<TicketSink['readAtStart']> {
    return this.inner.readAtStart(options);
  }

  async apply(effect: TicketEffect, options?: AbortOptions): Promise<{ ok: boolean; error?: string }> {
    this.journal?.push({ kind: 'apply', effect });
    // A held write does not count as in flight: the test advances time while it waits.
    if (this.holdApplies) await new Promise<void>((release) => this.heldApplies.push(release));
    return this.track(() => this.inner.apply(effect, options));
  }

  /** Journaled as one 'apply' per effect, in the batch's order; a held batch is held whole. */
  async applyBatch(effects: readonly TicketEffect[], options?: AbortOptions): Promise<EffectOutcome[]> {
    for (const effect of effects) this.journal?.push({ kind: 'apply', effect });
    if (this.holdApplies) await new Promise<void>((release) => this.heldApplies.push(release));
    return this.track(() => this.inner.applyBatch(effects, options));
  }

  extendGuard(update: GuardUpdate, options?: AbortOptions): ReturnType<TicketSink['extendGuard']> {
    this.journal?.push({ kind: 'extend', update });
    return this.track(() => this.inner.extendGuard(update, options));
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function turns(n: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => new Promise<void>((r) => setImmediate(r)));
  return p;
}

interface Node {
  readonly id: MemberId;
  readonly core: Member;
  readonly pump: Pump;
  readonly transport: JournaledTransport;
  readonly sink: JournaledSink | null;
}

interface Formation {
  readonly clock: VirtualClock;
  readonly nodes: Map<MemberId, Node>;
  readonly a: Node;
  readonly storageA: HeldStorage;
  readonly journal: JournalEntry[];
  /** Ids of the effect results site-a's core received. */
  readonly effectResultsA: number[];
  stop(): Promise<void>;
}

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

/**
 * Random sources: site-a draws the shortest election timeout (exactly 1×),
 * the others draw from the upper half, so site-a stands first and leads.
 */
function randomFor(id: MemberId): RandomSource {
  const rng = new SeededRandom(17 + ids.indexOf(id));
  return id === siteA ? { next: () => 0 } : { next: () => 0.5 + rng.next() / 2 };
}

async function formation(): Promise<Formation> {
  const clock = new VirtualClock();
  const net = new MemoryNetwork();
  const journal: JournalEntry[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'pump-test-'));
  dirs.push(dir);
  const nodes = new Map<MemberId, Node>();
  let storageA: HeldStorage | null = null;
  const effectResultsA: number[] = [];
  for (const id of ids) {
    const config: CoreConfig = {
      self: id,
      // Three sites: with an arbitrator, a leading site hands the registry to it (docs/protocol.md §3,
      // "who leads"), and this file watches the leader's Readies at site-a. The member called arb is a site here.
      members: testMembers.map((m) => (m.id === arb ? { ...m, kind: 'site' as const } : m)),
      tickets: [ticket],
      timing,
      limits: defaultLimits,
    };
    const core = new Member(config, {
      now: clock.now(),
      random: randomFor(id),
      snapshotCodec,
      cib: [],
      gossip: { timing: swimPresets.loopback, random: new SeededRandom(5 + ids.indexOf(id)), auth: fakeClaimAuth(id), incarnation: 1 },
    });
    const mine = id === siteA ? journal : null;
    const memory = await MemoryStorage.open();
    // Only site-a is watched; its peers persist at once.
    const storage = id === siteA ? (storageA = new HeldStorage(memory, journal)) : memory;
    const transport = new JournaledTransport(net.createTransport({ self: id, peers: ids }), mine);
    await transport.start();
    const sink = new JournaledSink(new FileTicketSink(join(dir, id), 'test-boot', clock), mine);
    if (id === siteA) {
      let k = 0;
      const ready = core.ready.bind(core);
      core.ready = (): Ready => {
        const r = ready();
        journal.push({ kind: 'ready', k: k++, ready: r });
        return r;
      };
      const report = core.report.bind(core);
      core.report = (r, now): void => {
        if (r.type === 'effect-result') effectResultsA.push(r.id);
        report(r, now);
      };
    }
    const pump = new Pump({ core, storage, transport, sink, clock, log: quiet });
    nodes.set(id, { id, core, pump, transport, sink });
  }
  for (const n of nodes.values()) n.pump.start();
  return {
    clock,
    nodes,
    a: nodes.get(siteA)!,
    storageA: storageA!,
    journal,
    effectResultsA,
    stop: async () => {
      storageA!.holding = false;
      for (const h of storageA!.held.splice(0)) h.release();
      for (const n of nodes.values()) {
        await n.pump.stop();
        await n.transport.stop();
      }
    },
  };
}

/** Where each output object came from: Ready k (by identity), and where each Ready's persist ended. */
function index(journal: readonly JournalEntry[]): {
  readyOf: Map<object, number>;
  readies: Ready[];
  persistEndAt: Map<number, number>;
} {
  const readyOf = new Map<object, number>();
  const readies: Ready[] = [];
  const persistEndAt = new Map<number, number>();
  const kOfBatch = new Map<PersistBatch, number>();
  journal.forEach((e, at) => {
    if (e.kind === 'ready') {
      readies[e.k] = e.ready;
      for (const m of e.ready.messages) readyOf.set(m, e.k);
      for (const x of e.ready.effects) readyOf.set(x, e.k);
      for (const g of e.ready.guard) for (const x of g.extend) readyOf.set(x, e.k);
      if (e.ready.persist !== null) kOfBatch.set(e.ready.persist, e.k);
    } else if (e.kind === 'persist-end') {
      persistEndAt.set(kOfBatch.get(e.batch)!, at);
    }
  });
  return { readyOf, readies, persistEndAt };
}

/** The Ready each journaled output belongs to, and its position; outputs of other sources are a test bug. */
function outputs(journal: readonly JournalEntry[], readyOf: Map<object, number>): Array<{ at: number; k: number; what: string }> {
  const out: Array<{ at: number; k: number; what: string }> = [];
  journal.forEach((e, at) => {
    const objs: object[] = e.kind === 'send' ? [e.env] : e.kind === 'apply' ? [e.effect] : e.kind === 'extend' ? [...e.update.extend] : [];
    for (const o of objs) {
      const k = readyOf.get(o);
      if (k === undefined) throw new Error(`journal entry ${at} (${e.kind}) is not the output of any Ready`);
      out.push({ at, k, what: e.kind === 'send' ? `send ${e.env.msg.type} to ${e.env.to}` : e.kind === 'apply' ? `apply ${e.effect.ticket} granted=${e.effect.granted}` : `extend guard of ${(o as GuardExtension).ticket}` });
    }
  });
  return out;
}

/** Every output of Ready k comes after the persist of every Ready up to k. */
function checkOrder(journal: readonly JournalEntry[]): void {
  const { readyOf, readies, persistEndAt } = index(journal);
  for (const o of outputs(journal, readyOf)) {
    for (let j = 0; j <= o.k; j++) {
      if (readies[j]?.persist === null) continue;
      const end = persistEndAt.get(j);
      expect(end !== undefined && end < o.at, `${o.what} (Ready ${o.k}, journal ${o.at}) before the persist of Ready ${j} ended (${end ?? 'never'})`).toBe(true);
    }
  }
}

function lastOf(journal: readonly JournalEntry[], match: (e: JournalEntry) => boolean): JournalEntry | undefined {
  for (let i = journal.length - 1; i >= 0; i--) if (match(journal[i]!)) return journal[i];
  return undefined;
}

interface Held {
  readonly k: number;
  readonly ready: Ready;
}

/**
 * Checks site-a's oldest held persist — none of its Ready's outputs, nor any
 * later Ready's, are out — gives the pump more turns, checks again, and
 * releases it. Returns the Ready it belonged to.
 */
async function checkAndRelease(f: Formation): Promise<Held> {
  // Left in `held` until the checks pass, so that stop() releases it when one fails.
  const h = f.storageA.held[0]!;
  const { readyOf, readies } = index(f.journal);
  const k = readies.findIndex((r) => r.persist === h.batch);
  expect(k, 'a held persist belongs to a Ready').toBeGreaterThanOrEqual(0);
  const early = (): string[] => outputs(f.journal, readyOf).filter((o) => o.k >= k).map((o) => `${o.what} (Ready ${o.k})`);
  expect(early(), `outputs while the persist of Ready ${k} is open`).toEqual([]);
  await turns(settleTurns);
  // New Readys cannot appear while the pump waits; index again anyway, the check must see everything.
  const again = index(f.journal);
  expect(outputs(f.journal, again.readyOf).filter((o) => o.k >= k).map((o) => o.what), `outputs while the persist of Ready ${k} is open`).toEqual([]);
  f.storageA.held.shift();
  h.release();
  return { k, ready: readies[k]! };
}

/**
 * Runs the formation one virtual step at a time — held persists checked and
 * released, then the clock advanced (only while site-a's sink is idle) and
 * every pump ticked — until `done` says so; every held Ready goes to `seen`.
 */
async function drive(f: Formation, what: string, done: () => boolean, seen: (h: Held) => void = () => undefined): Promise<void> {
  for (let step = 0; step < stepsMax; step++) {
    await turns(settleTurns);
    while (f.storageA.held.length > 0) {
      seen(await checkAndRelease(f));
      await turns(settleTurns);
    }
    await f.a.sink!.idle();
    if (done()) return;
    f.clock.t += stepMs;
    for (const n of f.nodes.values()) n.pump.report((core, now) => core.tick(now));
  }
  throw new Error(`${what}: not reached within ${stepsMax} steps of ${stepMs} ms (virtual)`);
}

describe('Pump: persist (synced) → send → effects → advance, with a real core', () => {
  it('sends nothing, and writes no ticket effect or guard update, before the persist of its Ready resolves', async () => {
    const f = await formation();
    try {
      const heldWith = { vote: 0, grant: 0, guard: 0 };
      const seen = (h: Held): void => {
        if (h.ready.persist?.hardState?.votedFor === siteA && h.ready.messages.some((m) => m.msg.type === 'vote')) heldWith.vote += 1;
        if (h.ready.effects.some((e) => e.granted)) heldWith.grant += 1;
        if (h.ready.guard.length > 0) heldWith.guard += 1;
      };
      // 1. The election: site-a persists its own vote, then asks for votes.
      await drive(f, 'site-a leads', () => f.a.core.status().role === 'leader', seen);
      expect(heldWith.vote, 'a held Ready carried site-a\'s vote and its vote requests').toBeGreaterThan(0);

      // 2. The grant: the leader commits db to itself (site-a) and writes it to the sink.
      const grantedAt = (): boolean => f.a.core.holderView('db')?.granted === true && f.a.core.holderView('db')?.confirmed === true;
      await drive(f, 'db granted and confirmed at site-a', grantedAt, seen);
      expect(heldWith.grant, 'a held Ready carried the grant with its commit').toBeGreaterThan(0);

      // 3. A guard update in the same Ready as a persist: while one command's persist is held, a second
      // command and a tick queue up; the pump feeds both in one batch, so the Ready that extends the
      // guard (the tick's self-renewal, once due) also persists the second command's entry. The value
      // never changes, so the commands leave the grant as it is: a changed attribute would rewrite the
      // grant with a fresh deadline, and the guard would never need extending.
      let attrs = 0;
      for (let step = 0; step < stepsMax && heldWith.guard === 0; step++) {
        await f.a.sink!.idle();
        void f.a.pump.command({ id: `c${attrs++}`, type: 'attr-set', ticket: 'db', key: 'k', value: 'v' }, 60_000);
        expect(f.storageA.held.length, 'the command\'s persist is held').toBe(1);
        f.clock.t += stepMs;
        void f.a.pump.command({ id: `c${attrs++}`, type: 'attr-set', ticket: 'db', key: 'k', value: 'v' }, 60_000);
        for (const n of f.nodes.values()) n.pump.report((core, now) => core.tick(now));
        await drive(f, 'persists released', () => true, seen);
      }
      expect(heldWith.guard, 'a held Ready carried a guard update').toBeGreaterThan(0);
      expect(f.a.core.holderView('db')?.granted).toBe(true);

      // Every Ready's outputs after its persist (and every earlier one's); every message of a persisted Ready sent.
      await f.a.sink!.idle();
      checkOrder(f.journal);
      const { readyOf, readies, persistEndAt } = index(f.journal);
      const sent = new Set(outputs(f.journal, readyOf).map((o) => o.k));
      readies.forEach((r, k) => {
        if (r.messages.length > 0 && (r.persist === null || persistEndAt.has(k))) expect(sent.has(k), `messages of Ready ${k} were sent`).toBe(true);
      });
      expect(f.journal.filter((e) => e.kind === 'extend').length).toBeGreaterThan(0);
    } finally {
      await f.stop();
    }
  });

  it('flushGuard (a clean stop) moves the guard deadline to the latest the lease allows, and resolves once that is written', async () => {
    const f = await formation();
    try {
      const view = (): ReturnType<Member['holderView']> => f.a.core.holderView('db');
      await drive(f, 'db granted and confirmed at site-a', () => view()?.granted === true && view()?.confirmed === true);
      /** The guard's deadline as last written: the newest grant write or extension in the journal. */
      const written = (): number => {
        const e = lastOf(f.journal, (x) => (x.kind === 'apply' && x.effect.granted) || x.kind === 'extend');
        return e?.kind === 'apply' ? e.effect.revokeBy! : e?.kind === 'extend' ? e.update.extend[0]!.revokeBy : 0;
      };
      const most = (): number => holderRevokeAt(view()!.leaseEnd!, ticket.revokeLeadMs);
      // Renewals answered since the last write: the lease allows a later deadline than the guard holds.
      await drive(f, 'the lease to run ahead of the guard', () => view()?.leaseEnd !== null && most() > written());
      const from = f.journal.length;
      const allowed = most();
      let flushed = false;
      void f.a.pump.flushGuard(60_000).then(() => (flushed = true));
      // Persists stay held in this formation: keep releasing them (a tick may be under way) until the flush is
      // done. The flush looks every few ms of real time whether its write is done: wait for it on the wall clock.
      const end = performance.now() + flushWaitMs;
      while (!flushed && performance.now() < end) {
        await turns(settleTurns);
        while (f.storageA.held.length > 0) await checkAndRelease(f);
        await f.a.sink!.idle();
        await new Promise((r) => setTimeout(r, flushPollMs));
      }
      expect(flushed, 'flushGuard resolved').toBe(true);
      const extensions = f.journal.slice(from).flatMap((e) => (e.kind === 'extend' ? e.update.extend : []));
      expect(extensions.map((x) => x.ticket)).toEqual(['db']);
      // At least what the lease allowed when asked (an answer may have come in meanwhile), never past it.
      expect(extensions[0]!.revokeBy).toBeGreaterThanOrEqual(allowed);
      expect(extensions[0]!.revokeBy).toBeLessThanOrEqual(most());
      expect(written()).toBe(extensions[0]!.revokeBy);
      checkOrder(f.journal);
    } finally {
      await f.stop();
    }
  });

  it('drops only network input under a flood: a waiting effect result and command go through, commands beyond the bound are refused, status counts the drops', async () => {
    const f = await formation();
    const waitMs = 10 * 60_000; // a command's own deadline; the test ends on events long before it
    const attrSet = (id: string, value: string): Promise<CommandResult> => f.a.pump.command({ id, type: 'attr-set', ticket: 'db', key: 'k', value }, waitMs);
    try {
      await drive(f, 'site-a leads', () => f.a.core.status().role === 'leader');
      await drive(f, 'db granted and confirmed at site-a', () => f.a.core.holderView('db')?.confirmed === true && f.a.core.holderView('db')?.granted === true);
      const sink = f.a.sink!;

      // 1. A CIB write held open: changing an attribute rewrites the grant.
      sink.holdApplies = true;
      const changed = attrSet('change', 'changed');
      await drive(f, 'the rewrite of db reaches the sink', () => sink.heldApplies.length > 0);
      const write = lastOf(f.journal, (e) => e.kind === 'apply');
      expect(write?.kind === 'apply' && write.effect.attrs.k).toBe('changed');
      const writeId = write?.kind === 'apply' ? write.effect.id : -1;
      expect((await changed).ok).toBe(true);

      // 2. The pump stuck on a held persist (another command), with a command queued behind it.
      const stuck = attrSet('stuck', 'changed');
      expect(f.storageA.held.length, 'the pump waits on a persist').toBe(1);
      const waiting = attrSet('waiting', 'changed');

      // 3. The write finishes: its effect result queues behind the held persist.
      const written = once(f.a.pump, 'effect');
      sink.holdApplies = false;
      sink.heldApplies.shift()!();
      await written;
      await turns(settleTurns);
      expect(f.effectResultsA).not.toContain(writeId);

      // 4. The flood: real envelopes (site-a's own last one to the arbitrator, which the core ignores
      // as addressed to another member), more than the network queue holds.
      const toArb = lastOf(f.journal, (e) => e.kind === 'send' && e.env.to === arb);
      expect(toArb?.kind).toBe('send');
      const overflow = 500;
      const before = f.a.pump.stats();
      for (let i = 0; i < networkQueueMax + overflow; i++) if (toArb?.kind === 'send') f.a.transport.inject(toArb.env);
      const flooded = f.a.pump.stats();
      expect(flooded.networkQueued).toBe(networkQueueMax);
      expect(flooded.inputsDropped - before.inputsDropped).toBe(before.networkQueued + overflow);
      // The effect result and the waiting command (and perhaps a timer tick) are all still there.
      expect(flooded.localQueued).toBeGreaterThanOrEqual(2);

      // 5. Commands up to the bound queue; the one beyond it is refused at once.
      const more: Array<Promise<CommandResult>> = [];
      for (let i = 1; i < commandsQueuedMax; i++) more.push(attrSet(`more-${i}`, 'changed'));
      const refused = await attrSet('one-too-many', 'changed');
      expect(refused).toMatchObject({ ok: false, code: 'busy' });
      expect(f.a.pump.stats().commandsRefused).toBe(1);

      // 6. Released: the effect result reaches the core, every queued command is answered.
      let answered = false;
      const all = Promise.all([stuck, waiting, ...more]).then((rs) => {
        answered = true;
        return rs;
      });
      await drive(f, 'the effect result reaches the core and every command is answered', () => f.effectResultsA.includes(writeId) && answered);
      for (const r of await all) expect(r.code, r.message).not.toBe('unknown-outcome');
      expect((await waiting).ok).toBe(true);

      // 7. `tollbooth status --json` shows the count.
      const admin = new AdminService({ self: siteA, pump: f.a.pump, transport: f.a.transport, clock: f.clock, describe: () => ({ formation: 'test', kind: 'site' }), isSite: true });
      const status = await admin.handle({ op: 'status' });
      expect(status.data).toMatchObject({ pump: { inputsDropped: f.a.pump.stats().inputsDropped, networkQueueMax, commandsRefused: 1 } });
      expect(f.a.pump.stats().inputsDropped).toBeGreaterThanOrEqual(overflow);
    } finally {
      await f.stop();
    }
  });
});
