// The site's side of ticket leases (DESIGN.md §2, §4): batched renewals
// measured from the send time, the revoke deadline s + D − revokeLead, the
// acquire-after wait, and the desired CIB state handed to the Pacemaker feed
// as ticket effects. Pure and synchronous; the Member owns one per site.

import type { RenewItem, SiteHealth } from '../messages.js';
import type { TicketState, TicketTable } from './ticket-table.js';
import { ByIndexRenewals, RenewalBook, type ByIndexRenewal, type HeldAtIndex, type RenewAnswer } from './site-renewals.js';
import { holderRevokeAt } from '../lease.js';
import { SinkWriteTimes, type SinkSpeedChange } from './sink-write-times.js';
import { EarliestPerKeyHeap } from '../min-heap.js';
import type { CibTicketState, GuardUpdate, TicketEffect } from './holder-effects.js';
import { assertGuardInsideLease, sameAttrs } from './holder-checks.js';
import { foundGranted, newHeldTicket, releasesDue, type HeldTicket, type Issued } from './held-ticket.js';
import { Takeovers } from './site-takeover.js';
import { guardExtensions, guardNeedsExtending, nextWakeAt, onGuardResult, sinkLost, type GuardSent } from './holder-guard.js';
import { SinkProbe, type SinkProbeTiming } from './sink-probe.js';
import { renewEach, type LeaseCohort } from './lease-cohort.js';
import { SinkAtStart } from './sink-at-start.js';
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
  /** The leases the last answer gave, shared per D (lease-cohort.ts); granted tickets on them wake through it. */
  private cohort: LeaseCohort | null = null;
  /** Held tickets (a generation of ours) whose last effect is not a grant: a later lease end can change what they need. */
  private readonly pendingGrant = new Set<string>();
  /** Renewals by index, worked out again after a change of a ticket's generation, release or of health (`version`). */
  private readonly byIndex = new ByIndexRenewals();
  private version = 0;
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
    cibComplete = false, // the start-up read names every ticket state the sink holds (sink-at-start.ts)
  ) {
    this.atStart = new SinkAtStart(cib, cibComplete, now);
    this.probe = probeTiming === null ? null : new SinkProbe(probeTiming, now);
    this.renewals = new RenewalBook(renewalsInFlightMax, seqStart);
    this.writes = new SinkWriteTimes(usableMinMs);
    this.takeovers = new Takeovers(effectRetryMs, self, usableMinMs);
    for (const c of cib) {
      // Not written by this formation: only the start-up read's word that the ticket has a state (atStart).
      if (c.notOurs === true) continue;
      const h = this.ticket(c.name);
      if (!c.granted) continue;
      // A deadline of this store's guard that has passed is no memory of a live lease: that guard
      // revoked the grant, or stood down because another agent of this site took it over.
      const revokeBy = c.revokeBy !== null && c.revokeBy > now ? c.revokeBy : null;
      foundGranted(h, c.generation, this.self, revokeBy, now);
      this.confirmedGrants.add(c.name);
      this.cibLease.set(c.name, { gen: c.generation, revokeBy });
      // No deadline of ours, but booth's `expires` is still ahead: an agent of this site wrote the
      // grant on another node and stopped (the group moved). Hold it, neither revoked nor written,
      // until the registry confirms this site holds that generation — then it is written again with this
      // store's deadline, no resource restarts — or refuses, or `expires` comes (docs/protocol.md §10).
      if (revokeBy === null && c.expiresAt !== undefined && c.expiresAt !== null) this.takeovers.add(c, c.expiresAt, now);
    }
  }

  /** Grants an agent of this site wrote on another node, held until the registry answers (site-takeover.ts). */
  private readonly takeovers: Takeovers;

  /** Leases recovered from the CIB at start-up, adopted once the table confirms the generation. */
  private readonly cibLease = new Map<string, { gen: Generation; revokeBy: Ms | null }>();
  private readonly atStart: SinkAtStart; // what the start-up read showed of tickets not granted: only what differs is written

  private ticket(name: string): HeldTicket {
    let h = this.held.get(name);
    if (h === undefined) {
      h = newHeldTicket(name);
      this.atStart.adopt(h);
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
      this.version += 1;
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
      this.version += 1;
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
    this.version += 1;
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
      this.version += 1;
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
  renewalByIndex(table: Pick<TicketTable, 'appliedIndex' | 'heldBy' | 'get'>): ByIndexRenewal | null {
    // A take-over renews what the CIB holds, which the table may not show yet: only a list says it.
    if (!this.healthy || this.takeovers.pending()) return null;
    return this.byIndex.renewal(table, this.self, this.version, (name) => this.held.get(name));
  }

  hasUnanswered(): boolean {
    return this.renewals.hasUnanswered();
  }

  /** A renewal sent now: by index (`since`, with what `renewalByIndex` found held) or a list (`since` null). */
  recordRenewal(since: Index | null, held: readonly HeldAtIndex[], now: Ms): number {
    this.lastRenewSentAt = now;
    return this.renewals.record(since, held, now);
  }

  /** An answer from a leader that held its leader lease when it replied; returns whether a ticket was held at a renewal by index's index. */
  onRenewed(seq: number, answer: RenewAnswer, tickets: (name: string) => TicketState | undefined, now: Ms): (name: string) => boolean {
    const p = this.renewals.take(seq, answer, (name) => tickets(name)?.def.leaseDurationMs);
    if (p === null) return () => false;
    this.probe?.answered(now);
    const leaseEnd = (s: number, r: number, d: number): number => this.hooks.leaseEnd(s, r, d);
    for (const name of this.takeovers.answered(p.sentAt, p.renewed, answer.refused, now, leaseEnd)) this.dirty.add(name);
    // Whole: no ticket of the cohort changed (each change writes its lease end, which takes it out) and the
    // table applied since was synced (Member: appliedBatch), so renewEach would move every one the same way.
    if (this.cohort?.extendWhole(p.renewed, p.sentAt, now, leaseEnd) === true) {
      // A later lease end changes nothing for a granted ticket but its wake-ups, which the cohort keeps (park).
      for (const name of this.pendingGrant) this.dirty.add(name);
    } else {
      // The tickets parked on the cohort replaced are looked at again: their wake-ups go with it.
      for (const name of this.cohort?.names ?? []) this.dirty.add(name);
      this.cohort = renewEach(p, seq, this.held, (n) => tickets(n) !== undefined, now, leaseEnd, this.dirty);
    }
    let names: Set<string> | null = null;
    return (name) => (names ??= new Set(p.held.map((x) => x.name))).has(name);
  }

  /** Whether a grant held for a take-over is left to it now: held, or written again on the registry's word (site-takeover.ts step). */
  private holdsForTakeover(h: HeldTicket, t: TicketState | undefined, now: Ms, out: TicketEffect[]): boolean {
    const s = this.takeovers.step(h, t?.generation, t === undefined ? null : this.revokeLead(t), this.healthy && !this.blocked.has(h.name), this.slowestWriteMs(), now);
    if (s.wakeAt !== null) this.wakeups.push(s.wakeAt, h.name);
    if (s.write !== null) this.issue(h, h.name, s.write, now, out, true);
    // A write that failed is tried again after the retry delay.
    if (s.write !== null && h.issued === null) this.wakeups.push(h.retryAt, h.name);
    return s.hold;
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
      this.cohort?.unparkAll();
    } else {
      while ((this.wakeups.peekTime() ?? Number.POSITIVE_INFINITY) <= now) this.dirty.add(this.wakeups.pop()!);
      // Parked tickets have no wake-ups of their own: once the first of them can need a look, all are looked at.
      if (this.cohort !== null && this.cohort.wakeAt() <= now) {
        for (const name of this.cohort.names) this.dirty.add(name);
        this.cohort.unparkAll();
      }
      names = this.dirty;
    }
    this.rewriteAll = this.probeDue(now);
    if (this.rewriteAll) {
      this.probe!.probed(now);
      for (const name of this.confirmedGrants) this.dirty.add(name);
    }
    for (const name of [...names]) {
      if (this.visit(name, lookup(name), now, out)) extendDue = true;
      const h = this.held.get(name);
      if (h !== undefined && h.gen !== null && h.issued?.granted !== true) this.pendingGrant.add(name);
      else this.pendingGrant.delete(name);
    }
    this.dirty.clear();
    this.allDirty = false;
    this.rewriteAll = false;
    if (extendDue) this.extendGuard(lookup, now, guardOut);
  }

  /** Brings one ticket's desired CIB state up to date; returns whether its guard deadline is due to be extended. */
  private visit(name: string, t: TicketState | undefined, now: Ms, out: TicketEffect[]): boolean {
    const h = this.ticket(name);
    if (this.holdsForTakeover(h, t, now, out)) return false;
    if (t === undefined) {
      const gen = h.issued?.generation ?? (0 as Generation);
      this.issue(h, name, { granted: false, standby: false, generation: gen, owner: null, revokeBy: null, attrs: {} }, now, out);
      if (h.issued?.confirmed === true && !h.issued.granted && !this.owed.has(name)) {
        this.held.delete(name);
        this.confirmedGrants.delete(name);
      } else this.scheduleWake(h, null, now);
      return false;
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
      return false;
    }
    this.issue(h, name, { granted, standby: t.standby, generation: t.generation, owner: t.holder, revokeBy, attrs: t.attrs }, now, out);
    if (!this.park(h, t)) this.scheduleWake(h, t, now);
    return h.issued?.granted === true && h.issued.confirmed && guardNeedsExtending(h.issued.revokeBy, revokeBy, now);
  }

  /**
   * A grant whose lease end is the cohort's (lease-cohort.ts) hands its wake-ups to it instead of the
   * heap: they are lease end − lead and the guard's half time (scheduleWake), both moving with every answer.
   */
  private park(h: HeldTicket, t: TicketState): boolean {
    const s = h.sharedLease;
    if (this.cohort === null || !this.cohort.owns(s) || h.issued?.granted !== true || h.gen === null) return false;
    s.park(this.revokeLead(t), h.issued.confirmed ? h.issued.revokeBy : null);
    return true;
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

  /** Schedules this ticket's next wake-up (holder-guard.ts nextWakeAt). */
  private scheduleWake(h: HeldTicket, t: TicketState | null, now: Ms): void {
    const at = nextWakeAt(h, t === null ? null : this.revokeLead(t), now);
    if (Number.isFinite(at)) this.wakeups.push(at, h.name);
  }

  /** Hands out an effect unless the last one issued has the same outcome; `rewrite`: a grant written again whatever the last one. */
  private issue(h: HeldTicket, name: string, want: Omit<Issued, 'id' | 'confirmed' | 'confirmedAt'>, now: number, out: TicketEffect[], rewrite = false): void {
    const cur = h.issued;
    if (cur === null && now < h.retryAt) return;
    // A granted ticket whose deadline moves later needs no CIB write: the guard update covers it
    // (a grant found without a known guard deadline is written again, which arms the guard).
    const same = (c: Issued): boolean => c.generation === want.generation && c.owner === want.owner && (!want.granted || (c.revokeBy !== null && !this.mustRewrite(c, want.revokeBy, now)));
    if (!rewrite && cur !== null && cur.granted === want.granted && cur.standby === want.standby && sameAttrs(cur.attrs, want.attrs) && same(cur)) return;
    // A probe writes a grant again at its recorded deadline or earlier, never later: that is a guard update's job.
    if (this.rewriteAll && cur?.granted === true && want.granted && cur.revokeBy !== null && want.revokeBy !== null && want.revokeBy > cur.revokeBy) want = { ...want, revokeBy: cur.revokeBy };
    const id = this.nextEffectId++;
    if (cur !== null) this.issuedBy.delete(cur.id);
    this.issuedBy.set(id, name);
    h.issued = { ...want, id, confirmed: false, confirmedAt: null };
    this.confirmedGrants.delete(name);
    const leaseEnd = want.leaseEnd ?? h.leaseEnd;
    out.push({
      id,
      ticket: name,
      granted: want.granted,
      standby: want.standby,
      generation: want.generation,
      owner: want.owner,
      revokeBy: want.revokeBy === null ? null : ms(want.revokeBy),
      ...(want.granted && leaseEnd !== null ? { leaseEnd } : {}),
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
    if (this.writes.note(writeMs, this.heldStates(), now)) {
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
    const lost = (h: HeldTicket): void => {
      this.forget(h);
      h.retryAt = now;
      this.dirty.add(h.name);
    };
    const grants = sinkLost(states, readStartedAt, this.held.values(), lost);
    // A take-over whose grant is gone ends: from here on a ticket this site does not hold (site-takeover.ts).
    for (const name of this.takeovers.sinkRead(states, readStartedAt)) lost(this.ticket(name));
    return grants;
  }

  /** Whether the host is to read the sink back (a take-over hold past `expires`: Ready.readSink). */
  wantsSinkRead(): boolean { return this.takeovers.wantsRead(); }

  /** As wantsSinkRead, for the Ready that asks: cleared. */
  takeSinkRead(): boolean { return this.takeovers.takeRead(); }

  /** Generations given up whose CIB revoke is confirmed: tell the leader so it can move them at once. */
  takeReleases(): Array<{ name: string; generation: Generation; seqFloor: number }> {
    return releasesDue(this.owed, this.held);
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
    const heap = t !== undefined && t > now ? t : t === undefined ? Number.POSITIVE_INFINITY : now + 1;
    const next = Math.min(heap, Math.max(now + 1, this.cohort?.wakeAt() ?? Number.POSITIVE_INFINITY));
    // A probe can come due without input only while a grant is held and renewals go unanswered.
    const p = this.probe;
    const at = p === null || this.confirmedGrants.size === 0 || this.guardBatches.size > 0 ? null : p.nextAt(this.slowestWriteMs(), this.renewals.hasUnanswered());
    return at === null ? next : Math.min(next, Math.max(now + 1, at));
  }

  /** The CIB state this side believes in (for status output and the simulator's checks). */
  view(name: string): { granted: boolean; confirmed: boolean; leaseEnd: Ms | null; gen: Generation | null } | undefined {
    const h = this.held.get(name);
    if (h === undefined) return undefined;
    // A take-over confirmed while the table lags holds the CIB's generation on that lease: its grant is written with it.
    const tk = h.gen === null ? this.takeovers.lease(name) : null;
    return { granted: h.issued?.granted ?? false, confirmed: h.issued?.confirmed ?? false, leaseEnd: tk?.leaseEnd ?? h.leaseEnd, gen: tk?.gen ?? h.gen };
  }
}

export type { SiteHealth };
