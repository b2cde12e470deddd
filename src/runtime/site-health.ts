// The site's health as the core needs it (SiteHealth, DESIGN.md §4): local
// quorum, and per ticket whether this site can run it — booth's
// before-acquire-handler (run before acquiring and on renewals) and the
// built-in runnability check (crm_simulate). A round runs every intervalMs
// and at once for a ticket the registry has just given this site; the core
// hears only changes. A probe that cannot answer (crm_mon down, crm_simulate
// failing) keeps the last answer instead of flapping the site's health: a
// lost quorum shows up as a failing quorum probe only if crm_mon answers
// "no quorum" (no DC counts as no quorum).

import type { SiteHealth } from '../core/messages.js';
import { errorFields } from '../errors.js';

export interface HealthProbes {
  /** Runs the ticket's before-acquire handler (only for tickets that have one). */
  readonly handler?: (ticket: string, phase: 'acquire' | 'renew', expiresUnixSec: number) => Promise<{ ok: boolean; message?: string }>;
  /**
   * Whether each ticket's resources would run here, for several tickets at
   * once (one reading of the CIB); per ticket an Error when it cannot tell;
   * throws when it can tell nothing.
   */
  readonly runnable?: (tickets: readonly string[]) => Promise<ReadonlyMap<string, { runnable: boolean; reason?: string } | Error>>;
  /** Whether this site's cluster partition has quorum; throws when it cannot tell. */
  readonly quorate?: () => Promise<boolean>;
  /**
   * A cheap reading that changes whenever anything `quorate` and `runnable`
   * read could change (the CIB's root element: epoch, num_updates,
   * admin_epoch, have-quorum, dc-uuid; crm_mon takes the DC and quorum from
   * those too). While it stays the same, a round keeps the last quorum and
   * runnability answers instead of running crm_mon and crm_simulate again
   * (at most fullRoundMaxAgeMs apart). Throws when it cannot tell: the round
   * then runs every probe.
   */
  readonly cibVersion?: () => Promise<string>;
}

export interface HealthLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Consecutive failed grant writes after which a site gives a ticket up (a CIB that cannot take it). */
export const writeFailuresMaxDefault = 3;
/** How long a ticket given up for failed writes stays unrunnable here, ms. */
export const writeFailureHoldMsDefault = 60_000;
/**
 * Longest time between two rounds that run the quorum and runnability probes
 * even though the CIB did not change, ms: time-based rules and expiring fail
 * counts change what crm_simulate says without a CIB write. booth runs its
 * service-runnable check once per renewal (expire / 2, 300 s by default).
 */
export const fullRoundMaxAgeMsDefault = 60_000;

export interface SiteHealthMonitorOptions {
  readonly tickets: ReadonlyArray<{ readonly name: string; readonly hasHandler: boolean }>;
  readonly probes: HealthProbes;
  readonly intervalMs: number;
  /** Whether this site holds the ticket now, and its lease end in Unix seconds (0 when unknown). */
  readonly held: (ticket: string) => { held: boolean; expiresUnixSec: number };
  /** Hands a changed health to the core. */
  readonly report: (health: SiteHealth) => void;
  readonly log: HealthLogger;
  /** Consecutive failed grant writes after which a ticket is given up here. Default writeFailuresMaxDefault. */
  readonly writeFailuresMax?: number;
  /** How long a ticket given up for failed writes stays unrunnable here before the site tries again. Default writeFailureHoldMsDefault. */
  readonly writeFailureHoldMs?: number;
  /** See HealthProbes.cibVersion. Default fullRoundMaxAgeMsDefault. */
  readonly fullRoundMaxAgeMs?: number;
  /** Monotonic ms. Default performance.now. */
  readonly now?: () => number;
}

export class SiteHealthMonitor {
  private quorate = true;
  private readonly handlerFailed = new Set<string>();
  private readonly notRunnable = new Set<string>();
  /** Consecutive failed grant writes per ticket. */
  private readonly writeFailures = new Map<string, number>();
  /** Tickets given up because their grant could not be written, with when that was decided. */
  private readonly writeFailed = new Map<string, number>();
  private last: SiteHealth | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly urgent = new Set<string>();
  /** The CIB version the last full round started from, and when (monotonic ms). */
  private fullRound: { version: string; at: number } | null = null;
  /** Rounds that ran the quorum and runnability probes, and rounds that kept their answers (metrics, tests). */
  readonly rounds = { full: 0, kept: 0 };

  constructor(private readonly o: SiteHealthMonitorOptions) {}

  /** Runs a first round (so the core starts from a known health), then one every intervalMs. */
  async start(): Promise<void> {
    await this.round(null);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Checks one ticket now (the registry just gave it to this site); resolves once it has been checked. */
  checkNow(ticket: string): Promise<void> {
    this.urgent.add(ticket);
    const done = new Promise<void>((resolve) => this.urgentWaiters.push(resolve));
    if (this.running === null) void this.runUrgent();
    return done;
  }

  private readonly urgentWaiters: Array<() => void> = [];

  /**
   * The outcome of a CIB write. A grant that cannot be written (CIB
   * unreachable, invalid, crm_ticket failing) writeFailuresMax times in a row
   * makes the ticket unrunnable here, so the site gives it up and the
   * registry moves it to a site whose CIB works, rather than keep renewing a
   * ticket it cannot run. It becomes eligible again after writeFailureHoldMs.
   */
  cibWriteResult(ticket: string, grant: boolean, ok: boolean): void {
    if (!grant) return;
    if (ok) {
      this.writeFailures.delete(ticket);
      return;
    }
    const n = (this.writeFailures.get(ticket) ?? 0) + 1;
    this.writeFailures.set(ticket, n);
    if (n >= (this.o.writeFailuresMax ?? writeFailuresMaxDefault) && !this.writeFailed.has(ticket)) {
      this.writeFailed.set(ticket, this.now());
      this.o.log.warn({ ticket, failures: n }, 'the grant could not be written to the CIB: giving the ticket up here');
      this.publish();
    }
  }

  private now(): number {
    return this.o.now?.() ?? performance.now();
  }

  current(): SiteHealth | null {
    return this.last;
  }

  private async runUrgent(): Promise<void> {
    while (this.urgent.size > 0 && !this.stopped) {
      const names = new Set(this.urgent);
      this.urgent.clear();
      const waiters = this.urgentWaiters.splice(0);
      this.running = this.round(names);
      await this.running;
      this.running = null;
      for (const w of waiters) w();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void (async () => {
        while (this.running !== null) await this.running;
        this.running = this.round(null);
        await this.running;
        this.running = null;
        if (this.urgent.size > 0) await this.runUrgent();
        this.schedule();
      })();
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** One round over `only` (or every ticket), then a report if anything changed. */
  private async round(only: ReadonlySet<string> | null): Promise<void> {
    const p = this.o.probes;
    const probe = only !== null || (await this.cibChanged());
    if (only === null) this.rounds[probe ? 'full' : 'kept'] += 1;
    if (only === null && probe && p.quorate !== undefined) {
      try {
        const q = await p.quorate();
        if (q !== this.quorate) this.o.log.warn({ quorate: q }, q ? 'the site cluster has quorum again' : 'the site cluster has lost quorum: giving tickets up');
        this.quorate = q;
      } catch (err) {
        this.o.log.warn(errorFields(err), 'cannot read the site cluster quorum; keeping the last answer');
        this.fullRound = null; // ask again next round, not only once the CIB changes
      }
    }
    const hold = this.o.writeFailureHoldMs ?? writeFailureHoldMsDefault;
    for (const [ticket, since] of this.writeFailed) {
      if (this.now() - since < hold) continue;
      this.writeFailed.delete(ticket);
      this.writeFailures.delete(ticket);
      this.o.log.info({ ticket }, 'trying the CIB again for this ticket: eligible here again');
    }
    const tickets = only === null ? this.o.tickets : this.o.tickets.filter((t) => only.has(t.name));
    let runnable: ReadonlyMap<string, { runnable: boolean; reason?: string } | Error> | null = null;
    if (probe && p.runnable !== undefined && tickets.length > 0) {
      try {
        runnable = await p.runnable(tickets.map((t) => t.name));
      } catch (err) {
        this.o.log.warn(errorFields(err), 'runnability check failed; keeping the last answers');
        this.fullRound = null;
      }
    }
    for (const t of tickets) {
      if (this.stopped) return;
      if (t.hasHandler && p.handler !== undefined) {
        // Asked only for a ticket with a handler: at 10,000 tickets, asking for each was 5 % of a site's CPU at rest.
        const h = this.o.held(t.name);
        const r = await p.handler(t.name, h.held ? 'renew' : 'acquire', h.expiresUnixSec);
        this.flip(this.handlerFailed, t.name, !r.ok, r.message ?? 'before-acquire handler failed', 'before-acquire handler passes again');
      }
      const r = runnable?.get(t.name);
      if (r instanceof Error) {
        this.o.log.warn({ ticket: t.name, ...errorFields(r) }, 'runnability check failed; keeping the last answer');
        this.fullRound = null;
      }
      else if (r !== undefined) this.flip(this.notRunnable, t.name, !r.runnable, r.reason ?? 'not runnable here', 'runnable here again');
    }
    this.publish();
  }

  /**
   * Whether a periodic round must run the quorum and runnability probes: the
   * CIB changed since the last full round (or cannot be read), or that round
   * is older than fullRoundMaxAgeMs. The version is read before the probes
   * run, so a change while they run shows at the next round.
   */
  private async cibChanged(): Promise<boolean> {
    const read = this.o.probes.cibVersion;
    if (read === undefined) return true;
    const at = this.now();
    let version: string;
    try {
      version = await read();
    } catch (err) {
      this.fullRound = null;
      this.o.log.warn(errorFields(err), 'cannot read the CIB version; running every health probe');
      return true;
    }
    const last = this.fullRound;
    if (last !== null && last.version === version && at - last.at < (this.o.fullRoundMaxAgeMs ?? fullRoundMaxAgeMsDefault)) return false;
    this.fullRound = { version, at };
    return true;
  }

  private flip(set: Set<string>, ticket: string, bad: boolean, badMsg: string, goodMsg: string): void {
    if (bad === set.has(ticket)) return;
    if (bad) {
      set.add(ticket);
      this.o.log.warn({ ticket, reason: badMsg }, 'ticket cannot run at this site');
    } else {
      set.delete(ticket);
      this.o.log.info({ ticket }, goodMsg);
    }
  }

  private publish(): void {
    const unrunnable = [...new Set([...this.handlerFailed, ...this.notRunnable, ...this.writeFailed.keys()])].sort();
    const next: SiteHealth = { quorate: this.quorate, handlersOk: true, unrunnable };
    const l = this.last;
    if (l !== null && l.quorate === next.quorate && l.handlersOk === next.handlersOk && l.unrunnable.join('\n') === unrunnable.join('\n')) return;
    this.last = next;
    this.o.report(next);
  }
}
