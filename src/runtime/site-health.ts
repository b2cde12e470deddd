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

export interface HealthProbes {
  /** Runs the ticket's before-acquire handler (only for tickets that have one). */
  readonly handler?: (ticket: string, phase: 'acquire' | 'renew', expiresUnixSec: number) => Promise<{ ok: boolean; message?: string }>;
  /** Whether the ticket's resources would run here; throws when it cannot tell. */
  readonly runnable?: (ticket: string) => Promise<{ runnable: boolean; reason?: string }>;
  /** Whether this site's cluster partition has quorum; throws when it cannot tell. */
  readonly quorate?: () => Promise<boolean>;
}

export interface HealthLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SiteHealthMonitorOptions {
  readonly tickets: ReadonlyArray<{ readonly name: string; readonly hasHandler: boolean }>;
  readonly probes: HealthProbes;
  readonly intervalMs: number;
  /** Whether this site holds the ticket now, and its lease end in Unix seconds (0 when unknown). */
  readonly held: (ticket: string) => { held: boolean; expiresUnixSec: number };
  /** Hands a changed health to the core. */
  readonly report: (health: SiteHealth) => void;
  readonly log: HealthLogger;
}

export class SiteHealthMonitor {
  private quorate = true;
  private readonly handlerFailed = new Set<string>();
  private readonly notRunnable = new Set<string>();
  private last: SiteHealth | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly urgent = new Set<string>();

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

  /** Checks one ticket now (the registry just gave it to this site). */
  checkNow(ticket: string): void {
    this.urgent.add(ticket);
    if (this.running === null) void this.runUrgent();
  }

  current(): SiteHealth | null {
    return this.last;
  }

  private async runUrgent(): Promise<void> {
    while (this.urgent.size > 0 && !this.stopped) {
      const names = new Set(this.urgent);
      this.urgent.clear();
      this.running = this.round(names);
      await this.running;
      this.running = null;
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
    if (only === null && p.quorate !== undefined) {
      try {
        const q = await p.quorate();
        if (q !== this.quorate) this.o.log.warn({ quorate: q }, q ? 'the site cluster has quorum again' : 'the site cluster has lost quorum: giving tickets up');
        this.quorate = q;
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'cannot read the site cluster quorum; keeping the last answer');
      }
    }
    for (const t of this.o.tickets) {
      if (this.stopped) return;
      if (only !== null && !only.has(t.name)) continue;
      const h = this.o.held(t.name);
      if (t.hasHandler && p.handler !== undefined) {
        const r = await p.handler(t.name, h.held ? 'renew' : 'acquire', h.expiresUnixSec);
        this.flip(this.handlerFailed, t.name, !r.ok, r.message ?? 'before-acquire handler failed', 'before-acquire handler passes again');
      }
      if (p.runnable !== undefined) {
        try {
          const r = await p.runnable(t.name);
          this.flip(this.notRunnable, t.name, !r.runnable, r.reason ?? 'not runnable here', 'runnable here again');
        } catch (err) {
          this.o.log.warn({ ticket: t.name, err: (err as Error).message }, 'runnability check failed; keeping the last answer');
        }
      }
    }
    this.publish();
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
    const unrunnable = [...new Set([...this.handlerFailed, ...this.notRunnable])].sort();
    const next: SiteHealth = { quorate: this.quorate, handlersOk: true, unrunnable };
    const l = this.last;
    if (l !== null && l.quorate === next.quorate && l.handlersOk === next.handlersOk && l.unrunnable.join('\n') === unrunnable.join('\n')) return;
    this.last = next;
    this.o.report(next);
  }
}
