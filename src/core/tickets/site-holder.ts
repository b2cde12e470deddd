// The site's side of ticket leases (DESIGN.md §2, §4): batched renewals
// measured from the send time, the revoke deadline s + D − revokeLead, the
// acquire-after wait, and the desired CIB state handed to the Pacemaker feed
// as ticket effects. Pure and synchronous; the Member owns one per site.

import type { RenewItem, SiteHealth } from '../messages.js';
import type { TicketState, TicketTable } from './ticket-table.js';
import { RenewalBook, type HeldAtIndex, type RenewAnswer } from './site-renewals.js';
import { holderRevokeAt } from '../lease.js';
import { SinkWriteTimes, type SinkSpeedChange } from './sink-write-times.js';
import { EarliestPerKeyHeap } from '../min-heap.js';
import type { CibTicketState, GuardUpdate, TicketEffect } from './holder-effects.js';
import { assertGuardInsideLease, sameAttrs } from './holder-checks.js';
import { newHeldTicket, type HeldTicket, type Issued } from './held-ticket.js';
import { Takeovers } from './site-takeover.js';
import { guardExtensions, guardNeedsExtending, onGuardResult, sinkLost, type GuardSent } from './holder-guard.js';
import { SinkProbe, type SinkProbeTiming } from './sink-probe.js';
import { assert, ms, type Generation, type Index, type MemberId, type Ms } from '../types.js';

export type { CibTicketState, GuardExtension, GuardUpdate, TicketEffect } from './holder-effects.js';

export interface HolderHooks {
  /** Lease end computed from a renewal's send and receive times (overridden only by test mutants). */
  leaseEnd(sentAt: number, receivedAt: number, leaseDurationMs: number): number;
  /** The revoke lead to work with, given the configured one and the slowest recent write (rules.ts). */
  revokeLead(revokeLeadMs: number, slowestWriteMs: number, leaseDurationMs: number, usableMinMs: number): number;
}

export class SiteHolder {
  private readonly held = new Map<string, HeldTicket>();
  /** Renewals in flight (site-renewals.ts). */
  private readonly renewals: RenewalBook;
  /** Local quorum and handlers are fine; while not, the site neither renews nor grants. */
  private healthy = true;
  /** Tickets this site cannot run now (a before-acquire handler failed, or not runnable here): given up one by one. */
  private blocked: ReadonlySet<string> = new Set();
  // Incremental reconcile: a ticket is looked at when something about it changed
  // (dirty) or a deadline of its own came up (wakeups), not on every input, so
  // the cost of a Ready does not grow with the number of tickets.
  private readonly dirty = new Set<string>();
  private allDirty = true;
  private readonly wakeups = new EarliestPerKeyHeap();
  private readonly lastSeen = new Map<string, TicketState>();
  private readonly issuedBy = new Map<number, string>();
  private readonly owed = new Set<string>();
  /** Guard updates in flight: per update, each ticket's deadline as it was sent. */
  private readonly guardBatches = new Map<number, readonly GuardSent[]>();
  /** Tickets whose last effect is a grant the host confirmed: what a probe writes again. */
  private readonly confirmedGrants = new Set<string>();
  /** Sink probes while renewals go unanswered (sink-probe.ts); null: this holder does not probe. */
  private readonly probe: SinkProbe | null;
  /** Set during a reconcile that writes every confirmed grant again (a probe). */
  private rewriteAll = false;
  private nextEffectId = 1;
  /** The latest sink write times: the slowest sets a floor under every revoke lead. */
  private readonly writes: SinkWriteTimes;
  lastRenewSentAt: Ms = ms(Number.NEGATIVE_INFINITY);

  constructor(
    private readonly self: MemberId,
    renewalsInFlightMax: number,
    private readonly effectRetryMs: number,
    private readonly hooks: HolderHooks,
    /** The least of a lease that a raised revoke lead leaves to hold the ticket in (lease.ts usableLeaseMinMs). */
    private readonly usableMinMs: number,
    cib: readonly CibTicketState[],
    now: Ms,
    seqStart: number,
    /** Absent: the holder never probes its sink (unit tests of other concerns). */
    probeTiming: SinkProbeTiming | null = null,
  ) {
    this.probe = probeTiming === null ? null : new SinkProbe(probeTiming, now);
    this.renewals = new RenewalBook(renewalsInFlightMax, seqStart);
    this.writes = new SinkWriteTimes(usableMinMs);
    for (const c of cib) {
      const h = this.ticket(c.name);
      if (c.granted) {
        // A deadline of this store's guard that has passed is no memory of a live lease: that guard
        // revoked the grant, or stood down because another agent of this site took it over.
        const revokeBy = c.revokeBy !== null && c.revokeBy > now ? c.revokeBy : null;
        // A grant found in the CIB at start-up came from a real renewal before
        // a restart; its guard deadline is the only safe memory of that lease.
        h.issued = {
          id: 0,
          granted: true,
          standby: false,
          generation: c.generation,
          owner: this.self,
          revokeBy,
          attrs: {},
          confirmed: true,
          confirmedAt: now,
        };
        this.confirmedGrants.add(c.name);
        h.gen = null;
        h.acquireReadyAt = now;
        h.leaseEnd = null;
        h.startup = false;
        this.cibLease.set(c.name, { gen: c.generation, revokeBy });
        // No deadline of ours, but booth's `expires` is still ahead: an agent of this site wrote the
        // grant on another node and stopped (the group moved). Hold it, neither revoked nor written,
        // until the registry confirms this site holds that generation — then it stays granted, no
        // resource restarts — or refuses, or `expires` comes (docs/protocol.md §10, the hand-over).
        if (revokeBy === null && c.expiresAt !== undefined && c.expiresAt !== null) this.takeovers.add(c.name, c.generation, c.expiresAt, now);
      }
    }
  }

  /** Grants an agent of this site wrote on another node, held until the registry answers (site-takeover.ts). */
  private readonly takeovers = new Takeovers();

  /** Leases recovered from the CIB at start-up, adopted once the table confirms the generation. */
  private readonly cibLease = new Map<string, { gen: Generation; revokeBy: Ms | null }>();

  private ticket(name: string): HeldTicket {
    let h = this.held.get(name);
    if (h === undefined) {
      h = newHeldTicket(name);
      this.held.set(name, h);
    }
    return h;
  }

  /** Follows the committed table: new grants start the acquire-after wait, lost ones a release. */
  syncWithTable(tickets: Iterable<TicketState>, now: Ms): boolean {
    let gained = false;
    const seen = new Set<string>();
    for (const t of tickets) {
      seen.add(t.def.name);
      if (this.lastSeen.get(t.def.name) !== t) {
        this.lastSeen.set(t.def.name, t);
        this.dirty.add(t.def.name);
      }
      const h = this.ticket(t.def.name);
      const mine = t.holder === this.self ? t.generation : null;
      if (mine === h.gen) continue;
      if (h.gen !== null) this.owe(h, h.gen);
      h.gen = mine;
      Object.assign(h, { leaseEnd: null, leaseEndHigh: null, leaseMsHigh: 0 });
      h.releasedGen = null;
      if (mine !== null && (!this.healthy || this.blocked.has(t.def.name))) {
        // Granted to us while we cannot run it: give it straight back.
        h.releasedGen = mine;
        this.owe(h, mine);
      } else if (mine !== null) {
        gained = true;
        const recovered = this.cibLease.get(t.def.name);
        if (recovered !== undefined && recovered.gen === mine && recovered.revokeBy !== null) {
          // Restarted while holding: keep the lease the guard still protects; no new acquire-after.
          h.leaseEnd = ms(recovered.revokeBy + t.def.revokeLeadMs);
          h.acquireReadyAt = now;
        } else {
          h.acquireReadyAt = ms(now + t.def.acquireAfterMs);
        }
      }
      this.cibLease.delete(t.def.name);
    }
    for (const [name, h] of this.held) {
      if (seen.has(name)) continue;
      // Ticket removed from the table: make sure it is revoked, then forget it.
      this.lastSeen.delete(name);
      this.dirty.add(name);
      if (h.gen !== null) this.owe(h, h.gen);
      h.gen = null;
      h.leaseEnd = null;
    }
    return gained;
  }

  /**
   * Owes the leader a `released` for `gen`, with the current seq as its floor:
   * from now on answers to earlier renewals do not extend this ticket's lease,
   * and the leader honours the release only if it answered no later renewal.
   */
  private owe(h: HeldTicket, gen: Generation): void {
    h.releaseGen = gen;
    h.answerSeqFloor = this.renewals.nextSeq;
    this.owed.add(h.name);
    this.dirty.add(h.name);
  }

  /** Health changed: losing it gives every held ticket up; regaining it takes back what was not yet released. */
  setHealthy(ok: boolean): void {
    if (ok === this.healthy) return;
    this.healthy = ok;
    this.allDirty = true;
    if (ok) this.resumeAll();
    else this.releaseAll();
  }

  /**
   * The tickets this site cannot run changed: a newly blocked ticket held here
   * is given up (revoked in the CIB, then released to the leader); an
   * unblocked one is renewed again if the registry still lists us.
   */
  setBlocked(names: ReadonlySet<string>): void {
    const before = this.blocked;
    this.blocked = names;
    for (const name of new Set([...before, ...names])) {
      const now = names.has(name);
      if (now === before.has(name)) continue;
      const h = this.held.get(name);
      if (h === undefined) continue;
      this.dirty.add(name);
      if (now) {
        if (h.gen !== null && h.releasedGen !== h.gen) {
          h.releasedGen = h.gen;
          this.owe(h, h.gen);
          h.leaseEnd = null;
        }
      } else if (this.healthy) {
        this.resume(h);
      }
    }
  }

  /** Tickets to renew now: those this site holds and has not given up. */
  renewItems(): RenewItem[] {
    const items: RenewItem[] = [];
    if (!this.healthy) return items;
    for (const [name, h] of this.held) {
      // A grant held for a take-over is renewed at the CIB's generation: the answer is the registry's word on it.
      const tk = this.takeovers.renewGen(name);
      if (tk !== null) items.push({ name, generation: tk });
      else if (h.gen !== null && h.releasedGen !== h.gen) items.push({ name, generation: h.gen });
    }
    return items;
  }

  /**
   * A renewal by index (docs/protocol.md §3): the table's applied index, the
   * tickets it gives this site there that are renewed (with their generation
   * and D) and those given up (`except`). Null when a list says it better: the
   * site renews nothing (unhealthy), or gave up more than it renews.
   */
  renewalByIndex(table: Pick<TicketTable, 'appliedIndex' | 'heldBy' | 'get'>): { since: Index; except: string[]; held: HeldAtIndex[] } | null {
    // A take-over renews what the CIB holds, which the table may not show yet: only a list says it.
    if (!this.healthy || this.takeovers.pending()) return null;
    const held: HeldAtIndex[] = [];
    const except: string[] = [];
    for (const name of table.heldBy(this.self)) {
      const [t, h] = [table.get(name), this.held.get(name)];
      assert(t !== undefined && t.holder === this.self, `ticket ${name} indexed as held here but not in the table`);
      // Held at that generation and not given up (a holder view behind the table counts as given up).
      if (h !== undefined && h.gen === t.generation && h.releasedGen !== h.gen) held.push({ name, generation: t.generation, leaseDurationMs: t.def.leaseDurationMs });
      else except.push(name);
    }
    return except.length > held.length ? null : { since: table.appliedIndex, except, held };
  }

  hasUnanswered(): boolean {
    return this.renewals.hasUnanswered();
  }

  /** A renewal sent now: by index (`since`, with what `renewalByIndex` found held) or a list (`since` null). */
  recordRenewal(since: Index | null, held: readonly HeldAtIndex[], now: Ms): number {
    this.lastRenewSentAt = now;
    return this.renewals.record(since, held, now);
  }

  /** An answer from a leader that held its leader lease when it replied; returns the tickets a renewal by index held at its index. */
  onRenewed(seq: number, answer: RenewAnswer, tickets: (name: string) => TicketState | undefined, now: Ms): ReadonlySet<string> {
    const p = this.renewals.take(seq, answer, (name) => tickets(name)?.def.leaseDurationMs);
    if (p === null) return new Set();
    this.probe?.answered(now);
    for (const name of this.takeovers.answered(p.sentAt, p.renewed, answer.refused, now, (s, r, d) => this.hooks.leaseEnd(s, r, d))) this.dirty.add(name);
    for (const g of p.renewed) {
      const h = this.held.get(g.name);
      const t = tickets(g.name);
      if (h === undefined || t === undefined || h.gen !== g.generation || h.releasedGen === g.generation) continue;
      if (seq < h.answerSeqFloor) continue; // sent before a release the leader may already have honoured
      const leaseMs = g.leaseDurationMs; // the D the leader dated its view with (RenewGrant, or held at the index)
      const end = ms(this.hooks.leaseEnd(p.sentAt, now, leaseMs));
      // A lease runs at most D past the answer: it is measured from a time no later than the answer's arrival.
      assert(p.sentAt <= now && end <= now + leaseMs, `lease end of ${g.name} (${end}) past the answer at ${now} plus ${leaseMs} ms`);
      // Answers come in send order (older renewals dropped, seq floor): an end moves back only if a ticket-change shortened D.
      assert(h.leaseEndHigh === null || end >= h.leaseEndHigh || leaseMs < h.leaseMsHigh, `lease end of ${g.name} moving back from ${h.leaseEndHigh} to ${end}`);
      h.leaseMsHigh = Math.max(h.leaseMsHigh, leaseMs);
      if (h.leaseEnd === null || end > h.leaseEnd) {
        h.leaseEnd = end;
        h.leaseEndHigh = end;
        this.dirty.add(g.name);
      }
    }
    return new Set(p.held.map((x) => x.name));
  }

  /** Whether a grant held for a take-over stays untouched now; adopts a confirmed one (site-takeover.ts). */
  private holdsForTakeover(h: HeldTicket, t: TicketState | undefined, now: Ms): boolean {
    const v = this.takeovers.verdict(h.name, h.gen, t?.generation, this.healthy && !this.blocked.has(h.name), t === undefined ? null : this.revokeLead(t), now);
    if (v.kind === 'hold') this.wakeups.push(v.until, h.name);
    if (v.kind !== 'adopt') return v.kind === 'hold';
    if (h.leaseEnd === null || v.leaseEnd > h.leaseEnd) Object.assign(h, { leaseEnd: v.leaseEnd, leaseEndHigh: v.leaseEnd, leaseMsHigh: Math.max(h.leaseMsHigh, v.leaseMs) });
    // A lease the registry vouches for, of a grant already in the CIB: no acquire-after.
    h.acquireReadyAt = ms(Math.min(h.acquireReadyAt, now));
    return false;
  }

  /** Gives up every held ticket voluntarily (local quorum lost or handlers failing). */
  private releaseAll(): void {
    for (const h of this.held.values()) {
      if (h.gen !== null && h.releasedGen !== h.gen) {
        h.releasedGen = h.gen;
        this.owe(h, h.gen);
        h.leaseEnd = null;
      }
    }
  }

  /**
   * Health is back: renew given-up generations again (the registry may still
   * list us). A release still owed is cancelled; one already sent carries a
   * seq floor, so a leader that answered a later renewal ignores it.
   */
  private resumeAll(): void {
    for (const h of this.held.values()) if (!this.blocked.has(h.name)) this.resume(h);
  }

  private resume(h: HeldTicket): void {
    if (h.releasedGen !== null && h.releaseGen === h.releasedGen) h.releaseGen = null;
    h.releasedGen = null;
  }

  /** Whether this site may write the grant into its CIB now. */
  private grantable(h: HeldTicket, t: TicketState, now: Ms): boolean {
    if (!this.healthy || h.gen === null || h.gen !== t.generation || h.releasedGen === h.gen) return false;
    if (h.leaseEnd === null || now < h.acquireReadyAt) return false;
    const lead = this.revokeLead(t);
    const revokeAt = holderRevokeAt(h.leaseEnd, lead);
    // A fresh grant must land before revokeAt: CIB writes are assumed to take at
    // most half the lead (the lead is kept at twice the slowest recent write), so
    // the guard's revoke at revokeAt still ends it in time.
    const fresh = h.issued?.granted !== true;
    return fresh ? now + lead / 2 < revokeAt : now < revokeAt;
  }

  /** Computes the effects needed to bring the CIB to the desired state. */
  reconcile(
    lookup: (name: string) => TicketState | undefined,
    all: () => Iterable<TicketState>,
    now: Ms,
    out: TicketEffect[],
    guardOut: GuardUpdate[],
  ): void {
    let extendDue = false;
    let names: Iterable<string>;
    if (this.allDirty) {
      const every = new Set<string>(this.held.keys());
      for (const t of all()) every.add(t.def.name);
      names = every;
    } else {
      while ((this.wakeups.peekTime() ?? Number.POSITIVE_INFINITY) <= now) this.dirty.add(this.wakeups.pop()!);
      names = this.dirty;
    }
    this.rewriteAll = this.probeDue(now);
    if (this.rewriteAll) {
      this.probe!.probed(now);
      for (const name of this.confirmedGrants) this.dirty.add(name);
    }
    for (const name of [...names]) {
      const t = lookup(name);
      const h = this.ticket(name);
      if (this.holdsForTakeover(h, t, now)) continue;
      if (t === undefined) {
        const gen = h.issued?.generation ?? (0 as Generation);
        this.issue(h, name, { granted: false, standby: false, generation: gen, owner: null, revokeBy: null, attrs: {} }, now, out);
        if (h.issued?.confirmed === true && !h.issued.granted && !this.owed.has(name)) {
          this.held.delete(name);
          this.confirmedGrants.delete(name);
        } else this.scheduleWake(h, null, now);
        continue;
      }
      const granted = this.grantable(h, t, now);
      const revokeBy = granted && h.leaseEnd !== null ? ms(holderRevokeAt(h.leaseEnd, this.revokeLead(t))) : null;
      if (granted) assertGuardInsideLease(revokeBy, h.leaseEnd, t.def.revokeLeadMs, name);
      // A grant of a new generation to this site that waits only for its lease or acquire-after, with a revoke issued (written, or
      // waiting: a start-up revoke): a revoke carrying the new term would be a second write per grant (issue 15: one call,
      // as booth's), ahead of the grants. The grant writes the term; a revoke that fails is forgotten and issued again.
      const grantPending =
        !granted &&
        this.healthy &&
        t.holder === this.self &&
        h.gen === t.generation &&
        h.releasedGen !== h.gen &&
        h.issued?.granted === false &&
        (h.leaseEnd === null || now < h.acquireReadyAt);
      if (grantPending) {
        this.scheduleWake(h, t, now);
        continue;
      }
      this.issue(h, name, { granted, standby: t.standby, generation: t.generation, owner: t.holder, revokeBy, attrs: t.attrs }, now, out);
      if (!extendDue && h.issued?.granted === true && h.issued.confirmed && guardNeedsExtending(h.issued.revokeBy, revokeBy, now)) extendDue = true;
      this.scheduleWake(h, t, now);
    }
    this.dirty.clear();
    this.allDirty = false;
    this.rewriteAll = false;
    if (extendDue) this.extendGuard(lookup, now, guardOut);
  }

  /** Whether to write every confirmed grant again to time the sink (sink-probe.ts); not beside a guard update (mustRewrite). */
  private probeDue(now: Ms): boolean {
    if (this.probe === null || this.confirmedGrants.size === 0 || this.guardBatches.size > 0) return false;
    return this.probe.due(now, this.slowestWriteMs(), this.renewals.hasUnanswered());
  }

  /**
   * One guard update for every confirmed grant whose deadline can move later,
   * not only the one that came due: renewals answer all tickets together, so
   * their deadlines stay aligned and the next update again covers them all.
   * Also called before a clean stop (Report 'stopping'), due or not.
   */
  extendGuard(lookup: (name: string) => TicketState | undefined, now: Ms, guardOut: GuardUpdate[]): void {
    // Not with a lead this incarnation has not measured (sink-probe.ts): its probe comes first.
    if (this.probe !== null && !this.probe.timed()) return;
    const { extend, sent } = guardExtensions(this.held.values(), (h) => {
      const t = lookup(h.name);
      if (t === undefined || h.leaseEnd === null || !this.grantable(h, t, now)) return null;
      return { revokeBy: ms(holderRevokeAt(h.leaseEnd, this.revokeLead(t))), revokeLeadMs: t.def.revokeLeadMs };
    });
    if (extend.length === 0) return;
    const id = this.nextEffectId++;
    this.guardBatches.set(id, sent);
    guardOut.push({ id, extend });
  }

  /** The next instant this ticket's desired CIB state can change without any input. */
  private scheduleWake(h: HeldTicket, t: TicketState | null, now: Ms): void {
    let at = Number.POSITIVE_INFINITY;
    if (h.issued === null && h.retryAt > now) at = h.retryAt;
    if (t !== null && h.gen !== null && h.leaseEnd !== null) {
      const revokeAt = holderRevokeAt(h.leaseEnd, this.revokeLead(t));
      if (h.issued?.granted === true && revokeAt > now) {
        at = Math.min(at, revokeAt);
        // A confirmed grant's guard deadline is extended once half its remaining time has passed (guardNeedsExtending, guardExtensions).
        const cur = h.issued.revokeBy;
        if (h.issued.confirmed && cur !== null && cur < revokeAt) at = Math.min(at, Math.max(now + 1, 2 * cur - revokeAt + 1));
      } else if (h.acquireReadyAt > now && h.acquireReadyAt < revokeAt) at = Math.min(at, h.acquireReadyAt);
    }
    if (Number.isFinite(at)) this.wakeups.push(at, h.name);
  }

  private issue(h: HeldTicket, name: string, want: Omit<Issued, 'id' | 'confirmed' | 'confirmedAt'>, now: number, out: TicketEffect[]): void {
    const cur = h.issued;
    if (cur === null && now < h.retryAt) return;
    const same =
      cur !== null &&
      cur.granted === want.granted &&
      cur.standby === want.standby &&
      cur.generation === want.generation &&
      cur.owner === want.owner &&
      sameAttrs(cur.attrs, want.attrs) &&
      (!want.granted || (cur.revokeBy !== null && !this.mustRewrite(cur, want.revokeBy, now)));
    // A granted ticket whose deadline moves later needs no CIB write: the guard update covers it
    // (a grant found without a known guard deadline is written again, which arms the guard).
    if (same) return;
    // A probe writes a grant again at its recorded deadline or earlier, never later: that is a guard update's job.
    if (this.rewriteAll && cur?.granted === true && want.granted && cur.revokeBy !== null && want.revokeBy !== null && want.revokeBy > cur.revokeBy) want = { ...want, revokeBy: cur.revokeBy };
    const id = this.nextEffectId++;
    if (cur !== null) this.issuedBy.delete(cur.id);
    this.issuedBy.set(id, name);
    h.issued = { ...want, id, confirmed: false, confirmedAt: null };
    this.confirmedGrants.delete(name);
    out.push({
      id,
      ticket: name,
      granted: want.granted,
      standby: want.standby,
      generation: want.generation,
      owner: want.owner,
      revokeBy: want.revokeBy === null ? null : ms(want.revokeBy),
      ...(want.granted && h.leaseEnd !== null ? { leaseEnd: h.leaseEnd } : {}),
      attrs: want.attrs,
      ...(h.startup && !want.granted ? { background: true as const } : {}),
    });
    h.startup = false;
  }

  /**
   * Whether a confirmed grant is written again (arming the guard with its deadline, earlier too): a probe, or its deadline must
   * move earlier (a slower write raised the lead, or D shrank) — not while a guard update that could land later is in flight, nor
   * when a write as slow as the slowest recent one would run at the deadline and hold back its revoke (sim seed 83: 147 ms late). */
  private mustRewrite(cur: Issued, want: Ms | null, now: number): boolean {
    if (!cur.granted || !cur.confirmed || this.guardBatches.size > 0 || cur.revokeBy === null) return false;
    if (now + this.slowestWriteMs() >= Math.min(cur.revokeBy, want ?? cur.revokeBy)) return false;
    return this.rewriteAll || (want !== null && want < cur.revokeBy);
  }

  /** The host's report on an effect or a guard update. A failure makes the state unknown: re-issue after a delay. */
  onEffectResult(id: number, ok: boolean, now: Ms, skipped: readonly string[] = [], writeMs?: number): void {
    if (ok || writeMs !== undefined) this.probe?.wrote(now); // a write, timed or not (the pump leaves out 0 ms)
    // A changed lead moves the deadlines of the tickets held here: only those are looked at again (the
    // whole table, on every change of the slowest write, made a 50 000-ticket start-up quadratic).
    if (this.writes.note(writeMs, this.heldStates())) {
      for (const h of this.held.values()) if (h.gen !== null) this.dirty.add(h.name);
    }
    const batch = this.guardBatches.get(id);
    if (batch !== undefined) {
      this.guardBatches.delete(id);
      for (const name of onGuardResult(batch, ok, skipped, this.held, now, this.effectRetryMs, (h) => this.forget(h))) this.dirty.add(name);
      return;
    }
    const name = this.issuedBy.get(id);
    if (name === undefined) return; // superseded by a later effect
    const h = this.held.get(name);
    if (h?.issued?.id !== id) return;
    this.issuedBy.delete(id);
    this.dirty.add(name);
    if (ok) {
      h.issued.confirmed = true;
      h.issued.confirmedAt = now;
      if (h.issued.granted) this.confirmedGrants.add(name);
    } else {
      // A grant refused because its deadline had passed before the write could start (the host's
      // rule): the revoke is due now, not after the retry delay (a grant written again while held).
      const expired = h.issued.granted && h.issued.revokeBy !== null && h.issued.revokeBy <= now;
      this.forget(h);
      h.retryAt = expired ? now : ms(now + this.effectRetryMs);
    }
  }

  /** The CIB state of this ticket is unknown now: the next reconcile issues an effect. */
  private forget(h: HeldTicket): void {
    if (h.issued !== null) this.issuedBy.delete(h.issued.id);
    h.issued = null;
    this.confirmedGrants.delete(h.name);
  }

  /**
   * The sink as the host read it back: a write confirmed before the read began that the sink does
   * not show is written again, or the ticket given up if its lease no longer allows (holder-guard.ts
   * sinkLost). Returns the grants found lost.
   */
  onSinkState(states: readonly CibTicketState[], readStartedAt: Ms, now: Ms): Array<{ ticket: string; generation: Generation }> {
    return sinkLost(states, readStartedAt, this.held.values(), (h) => {
      this.forget(h);
      h.retryAt = now;
      this.dirty.add(h.name);
    });
  }

  /** Generations given up whose CIB revoke is confirmed: tell the leader so it can move them at once. */
  takeReleases(): Array<{ name: string; generation: Generation; seqFloor: number }> {
    const out: Array<{ name: string; generation: Generation; seqFloor: number }> = [];
    for (const name of [...this.owed]) {
      const h = this.held.get(name);
      if (h === undefined || h.releaseGen === null) {
        this.owed.delete(name);
        continue;
      }
      if (h.issued === null || !h.issued.confirmed || h.issued.granted) continue;
      out.push({ name, generation: h.releaseGen, seqFloor: h.answerSeqFloor });
      h.releaseGen = null;
      this.owed.delete(name);
    }
    return out;
  }

  /** The revoke lead for this ticket now: its configured lead, or twice the slowest recent write if more. */
  private revokeLead(t: TicketState): number {
    const lead = this.hooks.revokeLead(t.def.revokeLeadMs, this.slowestWriteMs(), t.def.leaseDurationMs, this.usableMinMs);
    assert(lead >= 0 && lead <= t.def.leaseDurationMs, `revoke lead of ${t.def.name} (${lead} ms) outside 0..${t.def.leaseDurationMs} ms`);
    return lead;
  }

  /** The committed state of every ticket this site holds (the leads that writes can raise). */
  private *heldStates(): Iterable<TicketState> {
    for (const h of this.held.values()) {
      if (h.gen === null) continue;
      const t = this.lastSeen.get(h.name);
      if (t !== undefined) yield t;
    }
  }

  /** The slowest of the latest sink writes (0 before the first). */
  slowestWriteMs(): number { return this.writes.slowestMs(); }

  /** Sink speed changes since the last call (for `sink-speed` events). */
  takeSpeedChanges(): SinkSpeedChange[] { return this.writes.takeChanges(); }

  /** The earliest local time at which this side needs to act again. */
  nextDeadline(now: Ms): number {
    // Entries at or before now were taken by the reconcile that ran before this call.
    const t = this.wakeups.peekTime();
    const next = t !== undefined && t > now ? t : t === undefined ? Number.POSITIVE_INFINITY : now + 1;
    // A probe can come due without input only while a grant is held and renewals go unanswered.
    const p = this.probe;
    const at = p === null || this.confirmedGrants.size === 0 || this.guardBatches.size > 0 ? null : p.nextAt(this.slowestWriteMs(), this.renewals.hasUnanswered());
    return at === null ? next : Math.min(next, Math.max(now + 1, at));
  }

  /** The CIB state this side believes in (for status output and the simulator's checks). */
  view(name: string): { granted: boolean; confirmed: boolean; leaseEnd: Ms | null; gen: Generation | null } | undefined {
    const h = this.held.get(name);
    if (h === undefined) return undefined;
    return { granted: h.issued?.granted ?? false, confirmed: h.issued?.confirmed ?? false, leaseEnd: h.leaseEnd, gen: h.gen };
  }
}

export type { SiteHealth };
