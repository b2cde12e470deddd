// A site's conversation with the registry leader about the tickets it holds
// (DESIGN.md §2, §4): one renewal for all of them on a period (sooner when a
// new leader appears or health changes), the answers that extend the leases,
// releases of tickets given up, and the reconcile that turns the holder's
// view into CIB effects. The lease bookkeeping itself is site-holder.ts.

import type { RaftMessage, SiteHealth } from '../messages.js';
import type { CoreEvent } from '../ready.js';
import type { MemberId, Ms, Term } from '../types.js';
import type { GuardUpdate, SiteHolder, TicketEffect } from './site-holder.js';
import type { TicketTable } from './ticket-table.js';

export interface SiteLinkDeps {
  readonly time: { readonly now: Ms };
  readonly timing: { readonly renewIntervalMs: number; readonly renewRetryMs: number };
  readonly table: () => TicketTable;
  readonly leader: () => MemberId | null;
  readonly term: () => Term;
  /** This store's incarnation (docs/protocol.md §10): renewals and releases carry it, their numbers being ordered only within it. */
  readonly inc: () => number;
  /** The health this site last reported (carried by every renewal and release). */
  readonly health: () => SiteHealth;
  readonly send: (to: MemberId, msg: RaftMessage) => void;
  readonly probeRoute: (member: MemberId) => void;
  readonly event: (e: CoreEvent) => void;
  /** Delivers messages the member sent to itself (a site that also leads answers its own renewal). */
  readonly drainSelfQueue: () => void;
}

export class SiteLink {
  private lastRenewTo: MemberId | null = null;
  /**
   * The leader (and its term) whose answer was marked `renewsByIndex`: renewals to it go by index
   * (docs/protocol.md §3). A member's build cannot change within a term (a restart means an election).
   */
  private byIndexWith: string | null = null;
  /** The leader refused a renewal by index whole: the retry lists the tickets (whatever lags, a list can be answered). */
  private listNext = false;

  constructor(
    private readonly deps: SiteLinkDeps,
    readonly holder: SiteHolder,
  ) {}

  /** When the next renewal is due: a period after the last one, sooner while it is unanswered. */
  renewalDueAt(): number {
    const t = this.deps.timing;
    return this.holder.lastRenewSentAt + (this.holder.hasUnanswered() ? t.renewRetryMs : t.renewIntervalMs);
  }

  sendRenewal(): void {
    const h = this.holder;
    const to = this.deps.leader();
    if (to === null) {
      // No leader known: nothing to renew with; retry on the normal period.
      h.lastRenewSentAt = this.deps.time.now;
      return;
    }
    // A retry: the last renewal got no answer; look for another way to the leader.
    if (h.hasUnanswered()) this.deps.probeRoute(to);
    this.lastRenewTo = to;
    const term = this.deps.term();
    const now = this.deps.time.now;
    const byIndex = this.byIndexWith === leaderKey(to, term) && !this.listNext ? h.renewalByIndex(this.deps.table()) : null;
    this.listNext = false;
    if (byIndex !== null) {
      const seq = h.recordRenewal(byIndex.since, byIndex.held, now);
      this.deps.send(to, { type: 'renew', term, seq, since: byIndex.since, except: byIndex.except, health: this.deps.health(), ...this.incTag() });
      return;
    }
    const items = h.renewItems();
    const seq = h.recordRenewal(null, [], now);
    this.deps.send(to, { type: 'renew', term, seq, tickets: items, health: this.deps.health(), ...this.incTag() });
  }

  /** The incarnation tag: absent for 0, so a bootstrap member's messages are as before. */
  private incTag(): { inc?: number } {
    const i = this.deps.inc();
    return i === 0 ? {} : { inc: i };
  }

  onRenewResp(from: MemberId, msg: Extract<RaftMessage, { type: 'renew-resp' }>): void {
    if (from !== this.lastRenewTo && from !== this.deps.leader()) return;
    if (msg.renewsByIndex === true) this.byIndexWith = leaderKey(from, msg.term);
    if (msg.refusedAll !== undefined) this.listNext = true;
    const table = this.deps.table();
    const heldAtIndex = this.holder.onRenewed(msg.seq, msg, (n) => table.get(n), this.deps.time.now);
    for (const r of msg.refused) {
      if (r.reason === 'change-pending' || r.reason === 'superseded' || r.reason === 'changed') continue;
      // An answer by index refuses every ticket changed since its index: a loss here only for those held there.
      if (msg.since === undefined || heldAtIndex(r.name)) this.deps.event({ type: 'lease-lost', ticket: r.name, reason: r.reason });
    }
  }

  /**
   * A site without local quorum, or whose handlers fail, gives its tickets up
   * (DESIGN.md §4); a ticket it cannot run (its handler failed, or not
   * runnable here) is given up alone. The leader hears at once (the renewal
   * carries the health) so the site is not chosen again.
   */
  healthChanged(previous: SiteHealth, health: SiteHealth): void {
    const isOk = health.quorate && health.handlersOk;
    const wasOk = previous.quorate && previous.handlersOk;
    this.holder.setHealthy(isOk);
    this.holder.setBlocked(new Set(health.unrunnable));
    if (wasOk !== isOk || !sameNames(previous.unrunnable, health.unrunnable)) this.sendRenewal();
  }

  /** Before a clean stop: every confirmed grant's guard deadline moved to the latest its lease allows (Report 'stopping'). */
  extendGuardFully(guard: GuardUpdate[]): void {
    const table = this.deps.table();
    this.holder.extendGuard((n) => table.get(n), this.deps.time.now, guard);
  }

  /** Brings the CIB's desired state up to date and tells the leader of tickets given up. */
  reconcile(effects: TicketEffect[], guard: GuardUpdate[]): void {
    const table = this.deps.table();
    this.holder.reconcile((n) => table.get(n), () => table.all(), this.deps.time.now, effects, guard);
    const releases = this.holder.takeReleases();
    const leader = this.deps.leader();
    if (releases.length === 0 || leader === null) return;
    const term = this.deps.term();
    const health = this.deps.health();
    for (const r of releases) this.deps.send(leader, { type: 'released', term, name: r.name, generation: r.generation, health, seqFloor: r.seqFloor, ...this.incTag() });
    this.deps.drainSelfQueue();
  }
}

function leaderKey(leader: MemberId, term: Term): string {
  return `${leader}@${term}`;
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
}
