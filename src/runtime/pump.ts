// The one pump that feeds a core and carries out its Ready in order
// (DESIGN.md §6, contract in src/core/ready.ts): one inbox, the core fed
// synchronously, each Ready handled as persist (synced) → send → effects →
// advance, and one timer on nextDeadline(). Inputs that arrive while a Ready
// is being persisted wait in the inbox, so the core never sees them early.

import { EventEmitter } from 'node:events';
import type { Member } from '../core/member.js';
import type { Envelope } from '../core/messages.js';
import type { AdminCommand, CoreEvent, Ready } from '../core/ready.js';
import type { GuardUpdate, TicketEffect } from '../core/tickets/site-holder.js';
import type { Ms } from '../core/types.js';
import type { MonotonicClock, Storage, TicketSink, Transport } from '../ports/ports.js';

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
  readonly log: PumpLogger;
}

/** Bound on inputs waiting for the pump; beyond it the oldest network message is dropped (counted). */
export const inboxInputsMax = 10_000;

/**
 * Inputs fed to the core before its Ready is carried out. Bounded so that a
 * deadline that came due during a batch (a revoke) waits at most one batch.
 */
export const inputsPerReadyMax = 256;

type Input = (core: Member, now: Ms) => void;

export type CommandResult = Extract<CoreEvent, { type: 'command-result' }>;

export class Pump extends EventEmitter<{
  event: [CoreEvent];
  fatal: [Error];
  effect: [TicketEffect, { ok: boolean; error?: string }];
  guard: [{ tickets: number; skipped: number; ok: boolean; ms: number }];
}> {
  private readonly inbox: Input[] = [];
  private running = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiters = new Map<string, (r: CommandResult) => void>();
  /** Per ticket: the effect being written and the newest one waiting (older waiting ones are superseded). */
  private readonly effects = new Map<string, { busy: boolean; next: TicketEffect | null }>();
  /** Guard updates waiting for the one being written; written together as one (group commit). */
  private guardWaiting: GuardUpdate[] = [];
  private guardBusy = false;
  droppedInputs = 0;
  readonly abort = new AbortController();

  constructor(private readonly c: PumpComponents) {
    super();
  }

  start(): void {
    this.c.transport.onMessage((env: Envelope) => this.enqueue((core, now) => core.step(env, now)));
    // DESIGN.md §3.2: pass another member's frame on unless gossip holds the recipient dead (member.ts
    // canRelayTo); the transport keeps it to one hop.
    this.c.transport.setRelayPolicy((to) => this.c.core.canRelayTo(to));
    this.enqueue((core, now) => core.tick(now));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer !== null) clearTimeout(this.timer);
    // Let a Ready in flight finish its persist so the store stays consistent.
    while (this.running) await new Promise((r) => setImmediate(r));
  }

  /** Runs an admin command through the core; resolves with its result (from this member or the leader hint). */
  command(cmd: AdminCommand, timeoutMs: number): Promise<CommandResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(cmd.id);
        resolve({ type: 'command-result', id: cmd.id, ok: false, code: 'unknown-outcome', message: `no result within ${timeoutMs} ms` });
      }, timeoutMs);
      this.waiters.set(cmd.id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.enqueue((core, now) => core.command(cmd, now));
    });
  }

  report(input: Input): void {
    this.enqueue(input);
  }

  get core(): Member {
    return this.c.core;
  }

  private enqueue(input: Input): void {
    if (this.stopped) return;
    if (this.inbox.length >= inboxInputsMax) {
      this.inbox.shift();
      this.droppedInputs += 1;
    }
    this.inbox.push(input);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.inbox.length > 0 && !this.stopped) {
        // Feed what has queued up (bounded) before taking one Ready: whole-table work
        // in the core runs once per Ready, and one sync covers the whole batch.
        for (let n = 0; n < inputsPerReadyMax && this.inbox.length > 0; n++) {
          const input = this.inbox.shift()!;
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

  private async handle(r: Ready): Promise<void> {
    if (r.persist !== null) await this.c.storage.persist(r.persist, { signal: this.abort.signal });
    for (const env of r.messages) this.c.transport.send(env);
    for (const e of r.effects) this.startEffect(e);
    if (r.guard.length > 0) this.startGuard(r.guard);
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
    if (this.timer !== null) clearTimeout(this.timer);
    const delay = Math.max(0, this.c.core.nextDeadline() - this.c.clock.now());
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
        this.emit('guard', { tickets: merged.size, skipped: outcome.skipped?.length ?? 0, ok: outcome.ok, ms: this.c.clock.now() - started });
        for (const u of batch) {
          this.enqueue((core, now) =>
            core.report(
              {
                type: 'effect-result',
                id: u.id,
                ok: outcome.ok,
                ...(outcome.error === undefined ? {} : { error: outcome.error }),
                ...(outcome.skipped === undefined ? {} : { skipped: outcome.skipped }),
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

  private startEffect(e: TicketEffect): void {
    const sink = this.c.sink;
    if (sink === null) return;
    let slot = this.effects.get(e.ticket);
    if (slot === undefined) {
      slot = { busy: false, next: null };
      this.effects.set(e.ticket, slot);
    }
    slot.next = e; // supersedes a waiting one (ready.ts contract)
    if (!slot.busy) void this.runEffects(e.ticket, slot, sink);
  }

  private async runEffects(ticket: string, slot: { busy: boolean; next: TicketEffect | null }, sink: TicketSink): Promise<void> {
    slot.busy = true;
    try {
      while (slot.next !== null && !this.stopped) {
        const e = slot.next;
        slot.next = null;
        let outcome: { ok: boolean; error?: string };
        if (e.granted && e.revokeBy !== null && this.c.clock.now() >= e.revokeBy) {
          outcome = { ok: false, error: 'lease ran out before the grant could be written' };
        } else {
          try {
            outcome = await sink.apply(e, { signal: this.abort.signal });
          } catch (err) {
            outcome = { ok: false, error: err instanceof Error ? err.message : String(err) };
          }
        }
        if (!outcome.ok) this.c.log.warn({ ticket, effect: e.id, granted: e.granted, error: outcome.error }, 'ticket effect failed');
        this.emit('effect', e, outcome);
        this.enqueue((core, now) => core.report({ type: 'effect-result', id: e.id, ok: outcome.ok, ...(outcome.error === undefined ? {} : { error: outcome.error }) }, now));
      }
    } finally {
      slot.busy = false;
      this.effects.delete(ticket);
    }
  }
}
