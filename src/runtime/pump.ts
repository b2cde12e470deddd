// The one pump that feeds a core and carries out its Ready in order
// (DESIGN.md §6, contract in src/core/ready.ts): one inbox, the core fed
// synchronously, each Ready handled as persist (synced) → send → effects →
// advance, and one timer on nextDeadline(). Inputs that arrive while a Ready
// is being persisted wait in the inbox, so the core never sees them early.
//
// The inbox is three queues. Local inputs and registry (Raft) messages,
// relayed ones included, are fed to the core in arrival order; gossip (SWIM)
// messages only when neither waits (issue 12, item 4: a member's flood of
// gossip must not hold up the Raft traffic that keeps the leader's lease and
// the tickets' leases). Network messages are bounded together
// (networkQueueMax): a flood from peers drops the oldest gossip message
// first and a registry message only when no gossip waits, counted by class,
// which the protocol tolerates (Raft and SWIM resend). Local inputs
// are never dropped, since each is owed to someone: an effect result is what
// the site holder waits on before it trusts or retries a CIB write (drop it and
// the ticket is stranded), an admin command has a caller waiting, a health
// report is sent only on a change, a tick is the core's only clock. They are
// bounded by construction instead: one effect result per effect written,
// which the core issued (at most one waits per ticket), and one per guard
// batch (a guard write's next one starts only from a Ready, which
// waits behind the queue), one tick (the timer is armed only when the pump is
// idle), one health report per health round; admin commands are the
// one local input a caller can multiply, so beyond commandsQueuedMax they are
// refused at once with 'busy' rather than queued.

import { EventEmitter } from 'node:events';
import type { Member } from '../core/member.js';
import { isSwimMessage, type Envelope } from '../core/messages.js';
import type { AdminCommand, CoreEvent, Ready } from '../core/ready.js';
import type { GuardUpdate, TicketEffect } from '../core/tickets/site-holder.js';
import type { MemberId, Ms } from '../core/types.js';
import type { MonotonicClock, Storage, TicketSink, Transport, WallClock } from '../ports/ports.js';
import { batchGrantsSince, speaksAtLeast } from '../wire/protocol-version.js';

export interface PumpLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PumpComponents {
  readonly core: Member;
  readonly storage: Storage;
  readonly transport: Transport;
  /** Sites only. */
  readonly sink: TicketSink | null;
  readonly clock: MonotonicClock;
  /** Stamps the entries this member appends while it leads (the history's times); absent: entries carry no time. */
  readonly wallClock?: WallClock;
  readonly log: PumpLogger;
}

/** Bound on network messages waiting for the pump; beyond it the oldest gossip one is dropped, else the oldest registry one (counted in inputsDropped). */
export const networkQueueMax = 10_000;

/**
 * How often a site reads its sink back even when no guard update prompts it
 * (each guard update is followed by one): a revoke the agent did not make (an
 * admin's crm_ticket -r) is noticed within this time.
 */
export const sinkReadBackIntervalMs = 30_000;

/** Bound on admin commands waiting for the pump; beyond it a command is answered 'busy' at once. */
export const commandsQueuedMax = 1024;
/** How often flushGuard looks whether the stop's guard write is done, ms. */
const guardFlushPollMs = 10;

/**
 * Inputs fed to the core before its Ready is carried out. Bounded so that a
 * deadline that came due during a batch (a revoke) waits at most one batch.
 */
export const inputsPerReadyMax = 256;

type Input = (core: Member, now: Ms) => void;

export type CommandResult = Extract<CoreEvent, { type: 'command-result' }>;

/** Network messages by class: registry (Raft, relayed or not) goes ahead of gossip (SWIM). */
export type NetworkClass = 'registry' | 'gossip';

/** The pump's counters, for `tollbooth status` (admin-service.ts). */
export interface PumpStats {
  /** Network messages dropped because networkQueueMax were already waiting. */
  readonly inputsDropped: number;
  /** inputsDropped by class. */
  readonly inputsDroppedByClass: Readonly<Record<NetworkClass, number>>;
  readonly networkQueueMax: number;
  /** Network messages waiting now. */
  readonly networkQueued: number;
  /** networkQueued by class. */
  readonly networkQueuedByClass: Readonly<Record<NetworkClass, number>>;
  /** Local inputs (effect results, commands, health reports, ticks) waiting now. */
  readonly localQueued: number;
  /** Admin commands answered 'busy' because commandsQueuedMax were already waiting. */
  readonly commandsRefused: number;
}

/** A FIFO of inputs, each with its arrival number; O(1) at both ends. */
class InputQueue {
  private items: Array<{ readonly seq: number; readonly input: Input; readonly command: boolean }> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(seq: number, input: Input, command: boolean): void {
    this.items.push({ seq, input, command });
  }

  peek(): { readonly seq: number; readonly input: Input; readonly command: boolean } | undefined {
    return this.items[this.head];
  }

  shift(): void {
    this.head += 1;
    // Drop the consumed prefix once it is most of the array, so the memory stays bounded by the length.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Most effects in one sink write (TicketSink.applyBatch): every effect waiting
 * when the sink is free goes in one write, up to this many. The crm_ticket sink
 * writes them with one `cibadmin --modify` per cibBatchTicketsMax (1,000, the
 * same figure: measured flat in the count up to there, docs/benchmarks.md);
 * the file sink writes one file each, fileWritesInFlightMax at once.
 */
export const sinkBatchEffectsMax = 1000;

/**
 * Most start-up revokes (TicketEffect.background) in one sink write. They are
 * written only while no other effect waits, in batches of their own, so the
 * grants and revokes that leases depend on never queue behind them (issue 15
 * item 5: 10,000 of them at start-up held every grant back); one of theirs in
 * flight delays a grant by one write at most, so they go in smaller batches.
 * They are the first writes of their tickets, so their batch also reads the
 * CIB state those tickets have (one `crm_ticket -q`).
 */
export const backgroundBatchEffectsMax = 250;

export class Pump extends EventEmitter<{
  event: [CoreEvent];
  fatal: [Error];
  /** A ticket effect's outcome; `ms`: how long the sink write (of its whole batch) took (0 when it was not attempted). */
  effect: [TicketEffect, { ok: boolean; error?: string; ms: number }];
  /** One sink write of a batch of effects: how many, how many failed, how long it took. */
  effects: [{ effects: number; failed: number; background: boolean; ms: number }];
  guard: [{ tickets: number; skipped: number; ok: boolean; ms: number }];
}> {
  /** Network messages by class: bounded together, the oldest gossip dropped first (see the opening comment). */
  private readonly network: Readonly<Record<NetworkClass, InputQueue>> = { registry: new InputQueue(), gossip: new InputQueue() };
  /** Everything else: never dropped (see the opening comment). */
  private readonly local = new InputQueue();
  private arrivals = 0;
  private commandsQueued = 0;
  private readonly inputsDropped: Record<NetworkClass, number> = { registry: 0, gossip: 0 };
  private commandsRefused = 0;
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** The core deadline the timer was armed for (meaningful while `timer` is set). */
  private armedFor = Number.NaN;
  private readonly waiters = new Map<string, (r: CommandResult) => void>();
  /**
   * Per ticket, the newest effect waiting for the sink (a newer one supersedes it, ready.ts contract:
   * the core ignores superseded effects, so they get no result). Insertion order is arrival order.
   */
  private readonly effectsWaiting = new Map<string, TicketEffect>();
  /** Start-up revokes waiting, by ticket; written only when effectsWaiting is empty. */
  private readonly backgroundWaiting = new Map<string, TicketEffect>();
  /** One batch of effects is being written: the next waits for it (one writer, so each ticket's effects stay in order). */
  private effectsBusy = false;
  /** Guard updates waiting for the one being written; written together as one (group commit). */
  private guardWaiting: GuardUpdate[] = [];
  private guardBusy = false;
  /** Set by flushGuard: called once the Ready holding its guard update has been handed to the sink. */
  private guardFlushPending: (() => void) | null = null;
  private readingBack = false;
  private readBackTimer: NodeJS.Timeout | null = null;
  readonly abort = new AbortController();
  /** The last protocol version each peer announced, kept while it is disconnected (noteProtocols). */
  private readonly peerProtocols = new Map<string, string>();
  private batchPeersKey: string | null = null;

  constructor(private readonly c: PumpComponents) {
    super();
  }

  start(): void {
    this.c.transport.onMessage((env: Envelope) => this.enqueueNetwork((core, now) => core.step(env, now), isSwimMessage(env.msg) ? 'gossip' : 'registry'));
    // DESIGN.md §3.2: pass another member's frame on unless gossip holds the recipient dead (member.ts
    // canRelayTo); the transport keeps it to one hop.
    this.c.transport.setRelayPolicy((to) => this.c.core.canRelayTo(to));
    this.enqueue((core, now) => core.tick(now));
    const sink = this.c.sink;
    if (sink !== null) {
      this.readBackTimer = setInterval(() => void this.readBack(sink), sinkReadBackIntervalMs);
      this.readBackTimer.unref();
    }
  }

  /**
   * Reads the sink and tells the core what it holds (Report 'sink-state'), so
   * the holder learns of every revoke it did not make: the lease guard's after
   * a guard update that came too late, an admin's by hand (issue 12). One read
   * at a time; a read that fails is logged and changes nothing.
   */
  private async readBack(sink: TicketSink): Promise<void> {
    if (this.readingBack || this.stopped) return;
    this.readingBack = true;
    const readStartedAt = this.c.clock.now();
    try {
      const tickets = await sink.readAll({ signal: this.abort.signal });
      this.enqueue((core, now) => core.report({ type: 'sink-state', tickets, readStartedAt }, now));
    } catch (err) {
      if (!this.stopped) this.c.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot read the ticket sink back; trying again later');
    } finally {
      this.readingBack = false;
    }
  }

  /**
   * Before a clean stop (SIGTERM), at a site: moves every confirmed grant's
   * lease guard deadline to the latest its lease allows and waits for that
   * write (Report 'stopping'), so that a member restarted at once — a rolling
   * restart — has the whole lease to renew in before its guard revokes, not
   * only what was left since the last extension (as little as half; issue 11,
   * item 6). Bounded by timeoutMs: a guard that cannot be written in time
   * keeps the deadline it had, which is as safe, only shorter.
   */
  async flushGuard(timeoutMs: number): Promise<void> {
    if (this.c.sink === null || this.stopped) return;
    const end = this.c.clock.now() + timeoutMs;
    let handled = false;
    this.enqueue((core, now) => {
      core.report({ type: 'stopping' }, now);
      // No Ready, nothing to extend; otherwise the guard write starts when this run handles its Ready.
      if (!core.hasReady()) handled = true;
      else this.guardFlushPending = () => (handled = true);
    });
    while (this.c.clock.now() < end && !this.stopped && (!handled || this.guardBusy || this.guardWaiting.length > 0)) {
      await new Promise((r) => setTimeout(r, guardFlushPollMs));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.readBackTimer !== null) clearInterval(this.readBackTimer);
    // Let a Ready in flight finish its persist so the store stays consistent.
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  /** Runs an admin command through the core; resolves with its result (from this member or the leader hint). */
  command(cmd: AdminCommand, timeoutMs: number): Promise<CommandResult> {
    if (this.commandsQueued >= commandsQueuedMax) {
      this.commandsRefused += 1;
      return Promise.resolve({ type: 'command-result', id: cmd.id, ok: false, code: 'busy', message: `${commandsQueuedMax} commands are already waiting; try again` });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(cmd.id);
        resolve({ type: 'command-result', id: cmd.id, ok: false, code: 'unknown-outcome', message: `no result within ${timeoutMs} ms` });
      }, timeoutMs);
      this.waiters.set(cmd.id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.enqueue((core, now) => core.command(cmd, now), true);
    });
  }

  /** A local input (a health report): never dropped. */
  report(input: Input): void {
    this.enqueue(input);
  }

  get core(): Member {
    return this.c.core;
  }

  stats(): PumpStats {
    const { registry, gossip } = this.network;
    return {
      inputsDropped: this.inputsDropped.registry + this.inputsDropped.gossip,
      inputsDroppedByClass: { ...this.inputsDropped },
      networkQueueMax,
      networkQueued: registry.length + gossip.length,
      networkQueuedByClass: { registry: registry.length, gossip: gossip.length },
      localQueued: this.local.length,
      commandsRefused: this.commandsRefused,
    };
  }

  /** A network message: when networkQueueMax wait, the oldest gossip one makes room (this one, if it is the only gossip), else the oldest registry one. */
  private enqueueNetwork(input: Input, networkClass: NetworkClass): void {
    if (this.stopped) return;
    const { registry, gossip } = this.network;
    if (registry.length + gossip.length >= networkQueueMax) {
      const victim = gossip.length > 0 || networkClass === 'gossip' ? 'gossip' : 'registry';
      this.inputsDropped[victim] += 1;
      if (victim === 'gossip' && gossip.length === 0) return;
      this.network[victim].shift();
    }
    this.network[networkClass].push(this.arrivals++, input, false);
    if (!this.running) void this.run();
  }

  private enqueue(input: Input, command = false): void {
    if (this.stopped) return;
    if (command) this.commandsQueued += 1;
    this.local.push(this.arrivals++, input, command);
    if (!this.running) void this.run();
  }

  /** The oldest local or registry input, else the oldest gossip one, removed; undefined when all are empty. */
  private next(): Input | undefined {
    const r = this.network.registry.peek();
    const l = this.local.peek();
    if (r === undefined && l === undefined) {
      const g = this.network.gossip.peek();
      if (g !== undefined) this.network.gossip.shift();
      return g?.input;
    }
    if (l === undefined || (r !== undefined && r.seq < l.seq)) {
      this.network.registry.shift();
      return r!.input;
    }
    this.local.shift();
    if (l.command) this.commandsQueued -= 1;
    return l.input;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.network.registry.length + this.network.gossip.length + this.local.length > 0 && !this.stopped) {
        // Feed what has queued up (bounded) before taking one Ready: whole-table work
        // in the core runs once per Ready, and one sync covers the whole batch.
        this.noteProtocols();
        for (let n = 0; n < inputsPerReadyMax; n++) {
          const input = this.next();
          if (input === undefined) break;
          if (this.c.wallClock !== undefined) this.c.core.setWallClock(this.c.wallClock.nowMs());
          input(this.c.core, this.c.clock.now());
        }
        while (this.c.core.hasReady()) await this.handle(this.c.core.ready());
      }
      if (!this.stopped) this.arm();
    } catch (err) {
      // A failed persist or a broken invariant: the member must stop rather than go on unsafely.
      this.stopped = true;
      this.emit('fatal', err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running = false;
    }
  }

  /**
   * Tells the core which peers speak protocol 1.2 (batch grants, docs/protocol.md §9): the version of
   * each peer's last accepted hello, remembered across disconnects — a site that died must not turn
   * the failover of its many tickets back into one entry each.
   */
  private noteProtocols(): void {
    for (const p of this.c.transport.peers()) if (typeof p.protocol === 'string') this.peerProtocols.set(p.id, p.protocol);
    const ids = [...this.peerProtocols].filter(([, v]) => speaksAtLeast(v, batchGrantsSince)).map(([id]) => id as MemberId);
    const key = ids.join('\n');
    if (key === this.batchPeersKey) return;
    this.batchPeersKey = key;
    this.c.core.setBatchGrantPeers(ids);
  }

  private async handle(r: Ready): Promise<void> {
    if (r.persist !== null) await this.c.storage.persist(r.persist, { signal: this.abort.signal });
    for (const env of r.messages) this.c.transport.send(env);
    for (const e of r.effects) this.queueEffect(e);
    // Started once the whole Ready's effects wait: they go in one write.
    if (r.effects.length > 0 && this.c.sink !== null && !this.effectsBusy) void this.runEffects(this.c.sink);
    if (r.guard.length > 0) this.startGuard(r.guard);
    // A take-over hold past `expires` (site-takeover.ts): the old node's guard may have revoked the grant.
    if (r.readSink === true && this.c.sink !== null) void this.readBack(this.c.sink);
    if (this.guardFlushPending !== null) {
      this.guardFlushPending();
      this.guardFlushPending = null;
    }
    for (const e of r.events) {
      if (e.type === 'command-result') {
        const w = this.waiters.get(e.id);
        if (w !== undefined) {
          this.waiters.delete(e.id);
          w(e);
        }
      }
      this.emit('event', e);
    }
    this.c.core.advance(r);
  }

  private arm(): void {
    const deadline = this.c.core.nextDeadline();
    // Most inputs leave the next deadline where it was (a heartbeat answered, a probe acked): the armed
    // timer already fires then, so it is kept rather than cleared and made again after every input.
    if (this.timer !== null && deadline === this.armedFor) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const delay = Math.max(0, deadline - this.c.clock.now());
    this.armedFor = deadline;
    // Node timers are capped at 2^31−1 ms; the core asks again after waking anyway.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue((core, now) => core.tick(now));
    }, Math.min(delay, 2 ** 31 - 1));
  }

  private startGuard(updates: readonly GuardUpdate[]): void {
    const sink = this.c.sink;
    if (sink === null) return;
    this.guardWaiting.push(...updates);
    if (!this.guardBusy) void this.runGuard(sink);
  }

  private async runGuard(sink: TicketSink): Promise<void> {
    this.guardBusy = true;
    try {
      while (this.guardWaiting.length > 0 && !this.stopped) {
        const batch = this.guardWaiting;
        this.guardWaiting = [];
        // Later entries for a ticket win; the sink only ever moves a deadline later anyway.
        const merged = new Map<string, GuardUpdate['extend'][number]>();
        for (const u of batch) for (const x of u.extend) merged.set(x.ticket, x);
        let outcome: { ok: boolean; error?: string; skipped?: readonly string[] };
        const started = this.c.clock.now();
        try {
          outcome = await sink.extendGuard({ id: batch[0]!.id, extend: [...merged.values()] }, { signal: this.abort.signal });
        } catch (err) {
          outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
        if (!outcome.ok) this.c.log.warn({ tickets: merged.size, error: outcome.error }, 'lease guard update failed');
        const writeMs = this.c.clock.now() - started;
        this.emit('guard', { tickets: merged.size, skipped: outcome.skipped?.length ?? 0, ok: outcome.ok, ms: writeMs });
        // The sink as it is after the update: a grant the guard revoked meanwhile shows up as lost.
        if (outcome.ok) void this.readBack(sink);
        for (const u of batch) {
          this.enqueue((core, now) =>
            core.report(
              {
                type: 'effect-result',
                id: u.id,
                ok: outcome.ok,
                ...(outcome.error === undefined ? {} : { error: outcome.error }),
                ...(outcome.skipped === undefined ? {} : { skipped: outcome.skipped }),
                writeMs,
              },
              now,
            ),
          );
        }
      }
    } finally {
      this.guardBusy = false;
    }
  }

  private queueEffect(e: TicketEffect): void {
    if (this.c.sink === null) return;
    // The newest effect of a ticket supersedes a waiting one, of either kind (ready.ts contract).
    this.effectsWaiting.delete(e.ticket);
    this.backgroundWaiting.delete(e.ticket);
    (e.background === true ? this.backgroundWaiting : this.effectsWaiting).set(e.ticket, e);
  }

  /** Up to `max` effects from `waiting`, oldest first, removed from it. */
  private static take(waiting: Map<string, TicketEffect>, max: number): TicketEffect[] {
    const out: TicketEffect[] = [];
    for (const [ticket, e] of waiting) {
      if (out.length >= max) break;
      out.push(e);
      waiting.delete(ticket);
    }
    return out;
  }

  /**
   * The one sink writer: while effects wait, hands the sink every one waiting (up to
   * sinkBatchEffectsMax) as one write, and start-up revokes only when nothing else waits.
   */
  private async runEffects(sink: TicketSink): Promise<void> {
    this.effectsBusy = true;
    try {
      while (!this.stopped) {
        const background = this.effectsWaiting.size === 0;
        const batch = background ? Pump.take(this.backgroundWaiting, backgroundBatchEffectsMax) : Pump.take(this.effectsWaiting, sinkBatchEffectsMax);
        if (batch.length === 0) break;
        const results: Array<{ e: TicketEffect; ok: boolean; error?: string; written: boolean }> = [];
        // Checked once the write can start: a grant may have waited for the writer.
        const now = this.c.clock.now();
        const toWrite = batch.filter((e) => {
          if (!(e.granted && e.revokeBy !== null && now >= e.revokeBy)) return true;
          results.push({ e, ok: false, error: 'lease ran out before the grant could be written', written: false });
          return false;
        });
        let writeMs = 0;
        if (toWrite.length > 0) {
          const writeStarted = this.c.clock.now();
          let outcomes: ReadonlyArray<{ ok: boolean; error?: string }>;
          try {
            outcomes = await sink.applyBatch(toWrite, { signal: this.abort.signal });
            if (outcomes.length !== toWrite.length) throw new Error(`the sink answered ${outcomes.length} outcomes for ${toWrite.length} effects`);
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            outcomes = toWrite.map(() => ({ ok: false, error }));
          }
          writeMs = this.c.clock.now() - writeStarted;
          for (const [i, e] of toWrite.entries()) {
            const o = outcomes[i]!;
            results.push({ e, ok: o.ok, ...(o.error === undefined ? {} : { error: o.error }), written: true });
          }
          this.emit('effects', { effects: toWrite.length, failed: outcomes.filter((o) => !o.ok).length, background, ms: writeMs });
        }
        for (const r of results) {
          if (!r.ok) this.c.log.warn({ ticket: r.e.ticket, effect: r.e.id, granted: r.e.granted, error: r.error }, 'ticket effect failed');
          this.emit('effect', r.e, { ok: r.ok, ...(r.error === undefined ? {} : { error: r.error }), ms: r.written ? writeMs : 0 });
        }
        // One input per result, so that inputsPerReadyMax still bounds the work between two Readies.
        for (const r of results) {
          this.enqueue((core, t) =>
            core.report({ type: 'effect-result', id: r.e.id, ok: r.ok, ...(r.error === undefined ? {} : { error: r.error }), ...(r.written && writeMs > 0 ? { writeMs } : {}) }, t),
          );
        }
      }
    } finally {
      this.effectsBusy = false;
    }
  }
}
