// Alert hooks (issue 13, item 2): every formation event
// (src/runtime/formation-events.ts) handed to the configured
// `tollbooth-alert-handler`, with Pacemaker-alert-style environment
// variables (alertEnvironment below; docs/operations.md §5 lists them).
//
// A hook must never block or slow the protocol. The event stream calls
// push() synchronously right after the pump carried out a Ready; push only
// appends to a bounded queue (alertQueueEventsMax) and returns. One run at a
// time takes events off the queue in order, so a hook sees the events of one
// member in the order they happened (its seq grows by one, except where
// events were dropped), and a slow or hanging hook costs at most one process
// and its deadline (the adapter kills its process group). When the queue is
// full the oldest waiting event is dropped — the newest say most about the
// present — and counted; a warning is logged at most once per
// dropLogIntervalMs with the count, so a flood of events cannot become a
// flood of log lines. Failures (non-zero exit, killed at the deadline, not
// found, not executable, unsafe) are counted by result and logged; nothing a
// hook does reaches the pump.

import type { FormationEvent } from './formation-events.js';
import type { AlertHandlerCounts } from './metrics.js';
import type { AlertProgramOutcome, AlertRunner } from '../ports/alert-handler.js';

/** Events waiting for the hook at most; past it the oldest is dropped. About a minute of a busy formation's events. */
export const alertQueueEventsMax = 256;
/** At most one "queue full" warning per this interval, ms. */
export const dropLogIntervalMs = 10_000;
/** Longest TOLLBOOTH_REASON passed, characters (a failed write's error can be long). */
export const alertReasonCharsMax = 1024;

/**
 * The environment of one hook run: `base` without its BOOTH_* and
 * TOLLBOOTH_* variables (as for the before-acquire handlers: a hook must not
 * read stale ones inherited from the agent's own environment), plus every
 * TOLLBOOTH_* variable below. Every variable is always set, so a script run
 * with `set -u` can read any of them; one that does not apply to the event
 * (a ticket for `member-dead`) or has no value (no previous holder) is the
 * empty string.
 */
export function alertEnvironment(e: FormationEvent, formation: string, base: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !k.startsWith('BOOTH_') && !k.startsWith('TOLLBOOTH_')) env[k] = v;
  }
  const text = (v: string | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));
  const ours: Record<string, string> = {
    TOLLBOOTH_EVENT: e.event,
    TOLLBOOTH_SEQ: String(e.seq),
    TOLLBOOTH_MEMBER: e.member,
    TOLLBOOTH_FORMATION: formation,
    TOLLBOOTH_TIMESTAMP: new Date(e.timeUnixMs).toISOString(),
    TOLLBOOTH_TIMESTAMP_EPOCH_MS: String(e.timeUnixMs),
    TOLLBOOTH_TICKET: text(e.ticket),
    TOLLBOOTH_SITE: text(e.site),
    TOLLBOOTH_PREVIOUS: text(e.previous),
    TOLLBOOTH_GENERATION: text(e.generation),
    TOLLBOOTH_INDEX: text(e.index),
    TOLLBOOTH_PEER: text(e.peer),
    TOLLBOOTH_LEADER: text(e.leader),
    TOLLBOOTH_TERM: text(e.term),
    TOLLBOOTH_ROUTE: text(e.route),
    TOLLBOOTH_REASON: text(e.reason).slice(0, alertReasonCharsMax),
  };
  // A NUL cannot pass through execve; an event's text never needs one.
  for (const [k, v] of Object.entries(ours)) env[k] = v.replaceAll('\u0000', '');
  return env;
}

/** What the queue logs through (a pino logger fits). */
export interface AlertLog {
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export interface AlertQueueComponents {
  /** Runs the handler's programs (src/adapters/alert-handler.ts runAlertHandler). */
  readonly run: AlertRunner;
  /** The formation's name: TOLLBOOTH_FORMATION. */
  readonly formation: string;
  readonly log: AlertLog;
  /** Monotonic ms, for the drop-log rate limit. */
  readonly nowMs: () => number;
  /** Wall clock, Unix ms, for the delay from an event to its run (logged). */
  readonly wallClockMs: () => number;
  /** The environment hooks inherit (alertEnvironment's base). Default process.env. */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Default alertQueueEventsMax. */
  readonly queueEventsMax?: number;
  /** Called after each event's run with its outcomes and the delay from the event to the run's start, ms (tests, figures). */
  readonly onRun?: (e: FormationEvent, outcomes: readonly AlertProgramOutcome[], delayMs: number) => void;
}

export class AlertQueue {
  private readonly waiting: FormationEvent[] = [];
  private running = false;
  private closed = false;
  private current: Promise<void> | null = null;
  private readonly controller = new AbortController();
  private readonly runs = new Map<string, number>();
  private dropped = 0;
  private droppedSinceLog = 0;
  private lastDropLogMs: number | null = null;
  private lastDurationMs: number | null = null;
  private readonly queueEventsMax: number;

  constructor(private readonly c: AlertQueueComponents) {
    this.queueEventsMax = c.queueEventsMax ?? alertQueueEventsMax;
    if (!(Number.isSafeInteger(this.queueEventsMax) && this.queueEventsMax >= 1)) throw new RangeError(`queueEventsMax must be a positive integer, got ${this.queueEventsMax}`);
  }

  /** Queues the event for the hook; never blocks, never throws for a full queue (the oldest is dropped). */
  push(e: FormationEvent): void {
    if (this.closed) return;
    if (this.waiting.length >= this.queueEventsMax) {
      const lost = this.waiting.shift()!;
      this.dropped += 1;
      this.droppedSinceLog += 1;
      const now = this.c.nowMs();
      if (this.lastDropLogMs === null || now - this.lastDropLogMs >= dropLogIntervalMs) {
        this.c.log.warn(
          { dropped: this.droppedSinceLog, droppedTotal: this.dropped, queueEventsMax: this.queueEventsMax, oldestLost: { seq: lost.seq, event: lost.event } },
          'alert handler queue full: oldest events dropped',
        );
        this.lastDropLogMs = now;
        this.droppedSinceLog = 0;
      }
    }
    this.waiting.push(e);
    if (!this.running) this.next();
  }

  counts(): AlertHandlerCounts {
    return { runs: Object.fromEntries(this.runs), dropped: this.dropped, queued: this.waiting.length, lastDurationMs: this.lastDurationMs };
  }

  /** Drops what waits, kills a running hook's process group, and resolves once it has ended. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiting.length = 0;
    this.controller.abort();
    await this.current;
  }

  private next(): void {
    const e = this.waiting.shift();
    if (e === undefined || this.closed) {
      this.running = false;
      return;
    }
    this.running = true;
    this.current = this.runOne(e).finally(() => this.next());
  }

  private async runOne(e: FormationEvent): Promise<void> {
    const delayMs = this.c.wallClockMs() - e.timeUnixMs;
    let outcomes: readonly AlertProgramOutcome[];
    try {
      outcomes = await this.c.run(alertEnvironment(e, this.c.formation, this.c.baseEnv), this.controller.signal);
    } catch (err) {
      // Only an abort (close) gets here; anything else is a bug in the runner, logged and not counted as a run.
      if (!this.closed) this.c.log.warn({ err, event: e.event, seq: e.seq }, 'alert handler run failed');
      return;
    }
    for (const o of outcomes) {
      this.runs.set(o.result, (this.runs.get(o.result) ?? 0) + 1);
      this.lastDurationMs = o.ms;
      const fields = { program: o.program, result: o.result, event: e.event, seq: e.seq, ms: Math.round(o.ms), delayMs };
      if (o.result === 'ok') this.c.log.debug(fields, 'alert handler ran');
      else this.c.log.warn({ ...fields, message: o.message, output: o.output }, 'alert handler failed');
    }
    try {
      this.c.onRun?.(e, outcomes, delayMs);
    } catch (err) {
      this.c.log.warn({ err }, 'alert handler observer failed');
    }
  }
}
