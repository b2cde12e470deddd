// The leader's side of ticket leases (DESIGN.md §2): its view of every lease
// (from receipt, stretched by the drift bound), the sites it heard from, the
// renewals it answers, releases, automatic placement, and the admin commands
// it turns into log entries. The holder's side is site-holder.ts. Pure and
// synchronous; the node (member.ts) owns one and calls it only while the
// registry says this member leads (takeOffice … leaveOffice).

import type { Cause, Entry, EntryData, RaftMessage, RenewGrant, RenewItem, RenewRefusal, Requester, TicketRumor } from '../messages.js';
import type { AdminCommand, CommandErrorCode, CoreEvent } from '../ready.js';
import type { Registry } from '../registry/registry.js';
import { assert, generation, index, type Generation, type Index, type MemberId } from '../types.js';
import { chooseSite, isEligible, type SiteView } from './placement.js';
import { honouredLeaseMs, isConfigChange, type TicketTable } from './ticket-table.js';
import { answerByIndex } from './renew-by-index.js';
import { autoGrantEntries, ticketsOf, type AutoGrant } from './batch-grants.js';
import { attrRefusal, configChangeRefusal } from './attr-check.js';
import { PlacementWatch } from './placement-watch.js';
import { grantTargetProblem, type PendingGrant } from './grant-target.js';
import { silentMajorityRefusal } from '../registry/reconfig-check.js';

export interface LeaseOfficeTiming {
  readonly renewIntervalMs: number;
  readonly clockDriftPpmMax: number;
  readonly siteAliveWindowMs: number;
}

export interface LeaseOfficeLimits {
  readonly pendingCommandsMax: number;
  readonly attrCharsMax: number;
}

export interface LeaseOfficeRules {
  readonly leaderViewEnd: (receivedAtMs: number, leaseDurationMs: number, clockDriftPpmMax: number) => number;
  readonly viewOnTakingOffice: (nowMs: number, leaseDurationMs: number, clockDriftPpmMax: number) => number;
  readonly viewAfterTicketChange: (untilMs: number, fromMs: number, honouredMs: number, newLeaseMs: number, clockDriftPpmMax: number) => number;
  readonly renewalRefusesChangesAfter: (sinceIndex: number, appliedIndex: number) => number;
  readonly batchGrantLeaseEnded: (viewUntilMs: number | null, nowMs: number) => boolean;
}

export interface LeaseOfficeDeps {
  readonly timing: LeaseOfficeTiming;
  readonly limits: LeaseOfficeLimits;
  readonly rules: LeaseOfficeRules;
  readonly time: { readonly now: number };
  /** The applied ticket table (replaced when a snapshot is installed, hence a getter). */
  readonly table: () => TicketTable;
  readonly registry: Pick<Registry, 'isLeader' | 'leaderNow' | 'term' | 'config' | 'kindOf' | 'canServeLeases' | 'propose' | 'uncommitted' | 'lastIndex' | 'canChangeMembership' | 'transferLeadership' | 'heardRecently'>;
  readonly send: (to: MemberId, msg: RaftMessage) => void;
  readonly event: (e: CoreEvent) => void;
  /** Spreads a committed change of a ticket by gossip (DESIGN.md §3.3). */
  readonly publish: (name: string, at: Index, rumor: TicketRumor) => void;
  /** Whether every voter speaks protocol 1.2, so automatic grants may go as `grant-batch` entries (batch-grants.ts). */
  readonly batchGrants: () => boolean;
}

interface LeaseView {
  /** Null: a revoked ticket whose last holder may still hold a lease this leader cannot see (takeOffice). */
  readonly holder: MemberId | null;
  readonly generation: Generation;
  until: number;
  /** The time `until` was dated from (receipt, taking office, commit): a ticket-change re-dates from it. */
  from: number;
  /**
   * Where the view comes from: 'office' (assumed when this leader took office: renewals answered by an earlier leader are
   * unknown), 'commit' (the grant committed under this leader, no renewal answered yet) or the seq of the newest renewal
   * this leader answered for it.
   */
  basis: 'office' | 'commit' | number;
  /** The store incarnation of the renewal that is the basis: seqs are ordered only within one (docs/protocol.md §10). */
  basisInc?: number;
  /** For a view assumed on taking office: its end, which bounds every earlier leader's answers. */
  readonly officeUntil: number | null;
  /** The holder released the ticket (onReleased ended the view early): what the history says of the failover. */
  released?: boolean;
}

type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;
type Command<T extends AdminCommand['type']> = Extract<AdminCommand, { type: T }>;

export class LeaseOffice {
  private readonly leases = new Map<string, LeaseView>();
  private readonly sites = new Map<MemberId, SiteView>();
  private readonly proposals = new Map<number, string>();
  private readonly pendingGrants = new Map<string, PendingGrant>();
  /** Guarded removals (ticket-remove with revokeFirst): the command waiting for the revoked holder's lease to end. */
  private readonly pendingRemovals = new Map<string, string>();
  private placeUnheldFrom = 0;
  /** The tickets placeTickets looks at (placement-watch.ts): not the whole table on every Ready. */
  private readonly watch = new PlacementWatch();
  /**
   * Who asked for each pending command (AdminCommand.requester), so that every entry the command leads to names them, also
   * the ones proposed later (a guarded grant or removal). Dropped with the command's result; bounded as the commands are.
   */
  private readonly requesters = new Map<string, Requester>();
  /** A forced removal waiting for its revokes to commit: the config entry follows them (the leaving site must learn them first). */
  private pendingRemoval: Command<'member-remove' | 'member-replace'> | null = null;

  constructor(private readonly deps: LeaseOfficeDeps) {}

  private get now(): number { return this.deps.time.now; }
  private get table(): TicketTable { return this.deps.table(); }
  /** No admin command waits here: a leadership hand-over now would answer none of them with not-leader. */
  idle(): boolean { return this.proposals.size + this.pendingGrants.size + this.pendingRemovals.size === 0 && this.pendingRemoval === null; }

  /** The leader's view of a held ticket's lease (not the wait for a revoked holder this leader could not see). */
  leaseView(name: string): { holder: MemberId; generation: Generation; until: number } | undefined {
    const v = this.leases.get(name);
    return v === undefined || v.holder === null ? undefined : { ...v, holder: v.holder };
  }

  /** The earliest time at which a lease runs out or placement needs another look (leader only). */
  nextDeadline(): number {
    // The leases placement waits on (placement-watch.ts): placeTickets, which ran before this, took those due.
    const wake = this.watch.nextWake();
    // Placement needs a periodic look even without expiries (sites coming back).
    return Math.min(wake > this.now ? wake : this.now + 1, this.now + this.deps.timing.renewIntervalMs);
  }

  // ─────────────────────────── office ───────────────────────────

  /** DESIGN.md §2: a new leader does not know when held tickets were last renewed; it treats them as renewed now. */
  takeOffice(): void {
    this.leases.clear();
    this.sites.clear();
    this.watch.everything();
    // Sites renew as soon as they hear of a new leader; give them a renewal round to report
    // before placing unheld tickets, so placement sees every site (weights, health): less once every site has.
    this.placeUnheldFrom = this.now + this.deps.timing.renewIntervalMs;
    const drift = this.deps.timing.clockDriftPpmMax;
    for (const t of this.table.all()) {
      // A held ticket, and also one that was ever granted and is unheld now: a revoke committed just
      // before this leader took office may not have reached its holder, which keeps its CIB grant until
      // its own lease ends — a guarded grant elsewhere must wait for that too (S1). Never-granted
      // tickets (generation 0) have no lease anywhere.
      if (t.holder !== null || t.generation > 0) {
        // The longest D owed for this generation: an earlier leader may have answered under a D a change has shortened since.
        const until = this.deps.rules.viewOnTakingOffice(this.now, honouredLeaseMs(t), drift);
        this.leases.set(t.def.name, { holder: t.holder, generation: t.generation, until, from: this.now, basis: 'office', officeUntil: null });
      }
    }
  }

  leaveOffice(): void {
    for (const [, id] of this.proposals) {
      this.result(id, false, 'unknown-outcome', 'leadership lost before the command committed; check the ticket state');
    }
    this.proposals.clear();
    for (const [, g] of this.pendingGrants) {
      this.result(g.commandId, false, 'not-leader', 'leadership lost while waiting for the old lease to end');
    }
    this.pendingGrants.clear();
    for (const [, id] of this.pendingRemovals) {
      this.result(id, false, 'unknown-outcome', 'leadership lost while waiting for the revoked holder\'s lease to end; the ticket may be revoked and not removed: apply the config again');
    }
    this.pendingRemovals.clear();
    if (this.pendingRemoval !== null) this.result(this.pendingRemoval.id, false, 'unknown-outcome', 'leadership lost while revoking the tickets of the member to remove; check the tickets and ask again');
    this.pendingRemoval = null;
    this.leases.clear();
  }

  /** A committed entry was applied to the table: answer its command; at the leader, start a granted lease and publish. */
  applied(e: Entry, failure: string | null): void {
    const d = e.data;
    if (d.type === 'config') this.watch.everything();
    for (const name of 'ticket' in d ? [d.ticket] : 'def' in d ? [d.def.name] : ticketsOf(d)) this.watch.mark(name);
    const id = this.proposals.get(e.index);
    if (id !== undefined) {
      this.proposals.delete(e.index);
      if (failure === null) this.result(id, true, undefined, 'committed', e.index);
      else this.result(id, false, failure === 'no-such-ticket' ? 'no-such-ticket' : 'rejected', `not applied: ${failure}`, e.index);
    }
    if (!this.deps.registry.isLeader()) return;
    const removal = this.pendingRemoval;
    if (removal !== null && this.deps.registry.uncommitted().every((u) => u.data.type !== 'revoke')) {
      // Its revokes committed (the leaving site learns them with the commit): now the change itself.
      this.pendingRemoval = null;
      this.changeMembership(removal);
    }
    if (failure !== null) return;
    if (d.type === 'grant') {
      const t = this.table.get(d.ticket);
      // Counted as renewed at commit, so that the new holder is not failed over before it could renew.
      if (t !== undefined) {
        const until = this.deps.rules.leaderViewEnd(this.now, t.def.leaseDurationMs, this.deps.timing.clockDriftPpmMax);
        this.leases.set(d.ticket, { holder: d.site, generation: t.generation, until, from: this.now, basis: 'commit', officeUntil: null });
      }
    }
    if (d.type === 'grant-batch') {
      for (const g of d.grants) {
        const t = this.table.get(g.ticket);
        // Only the items that applied (each is its own compare-and-set): the table shows them granted to their site.
        if (t === undefined || t.holder !== g.site || t.generation !== g.expectedGeneration + 1) continue;
        const until = this.deps.rules.leaderViewEnd(this.now, t.def.leaseDurationMs, this.deps.timing.clockDriftPpmMax);
        this.leases.set(g.ticket, { holder: g.site, generation: t.generation, until, from: this.now, basis: 'commit', officeUntil: null });
        this.deps.publish(g.ticket, e.index, this.rumorOf(g.ticket));
      }
    }
    if (d.type === 'ticket-change') this.redateAfterChange(d.def.name);
    const changed = d.type === 'grant' || d.type === 'revoke' || d.type === 'standby' || d.type === 'ticket-remove' ? d.ticket : d.type === 'ticket-add' || d.type === 'ticket-change' ? d.def.name : null;
    if (changed !== null) this.deps.publish(changed, e.index, this.rumorOf(changed));
  }

  /**
   * A ticket-change was applied here while leading: the view of the held lease
   * is dated again from its own start with the longest D owed (a leader that
   * applied a lengthening before this one did may have answered with it), and
   * never moves back (issue 11: a change never shortens a granted lease).
   */
  private redateAfterChange(name: string): void {
    const t = this.table.get(name);
    const v = this.leases.get(name);
    if (t === undefined || v === undefined || v.holder !== t.holder || v.generation !== t.generation) return;
    const until = this.deps.rules.viewAfterTicketChange(v.until, v.from, honouredLeaseMs(t), t.def.leaseDurationMs, this.deps.timing.clockDriftPpmMax);
    v.until = until;
  }

  private rumorOf(name: string): TicketRumor {
    const t = this.table.get(name);
    if (t === undefined) return { holder: null, generation: generation(0), standby: false, managed: false, removed: true, leaseLeftMs: null };
    const lease = this.leases.get(name);
    const leaseLeftMs = t.holder !== null && lease !== undefined && lease.holder === t.holder ? Math.max(0, Math.floor(lease.until - this.now)) : null;
    return { holder: t.holder, generation: t.generation, standby: t.standby, managed: t.managed, removed: false, leaseLeftMs };
  }

  // ─────────────────────────── renewals and releases ───────────────────────────

  onRenew(from: MemberId, msg: Msg<'renew'>): void {
    if (this.deps.registry.kindOf(from) !== 'site') {
      this.deps.event({ type: 'message-ignored', from, msgType: 'renew', reason: 'renewal from a non-site' });
      return;
    }
    if (!this.deps.registry.isLeader()) return; // the sender learns the leader from heartbeats
    this.sites.set(from, { lastHeardAt: this.now, health: msg.health, inc: msg.inc ?? 0 });
    if (!this.deps.registry.canServeLeases()) return; // no answer at all: the holder's lease simply runs on its own clock
    const term = this.deps.registry.term;
    const pending = this.ticketsWithUncommittedChange();
    if ('since' in msg) {
      // By index (docs/protocol.md §3): no ticket named but those refused, no D (the site dates with the D it held at `since`).
      const renewOne = (item: RenewItem): RenewRefusal | null => this.renewOne(from, item, msg.seq, msg.inc ?? 0, pending);
      const a = answerByIndex(from, msg.since, msg.except, { table: this.table, renewOne, refusesChangesAfter: this.deps.rules.renewalRefusesChangesAfter });
      const all = a.refusedAll === undefined ? {} : { refusedAll: a.refusedAll };
      this.deps.send(from, { type: 'renew-resp', term, seq: msg.seq, granted: [], refused: a.refused, since: msg.since, ...all, renewsByIndex: true });
      return;
    }
    const granted: RenewGrant[] = [];
    const refused: Array<{ name: string; reason: RenewRefusal }> = [];
    for (const item of msg.tickets) {
      const reason = this.renewOne(from, item, msg.seq, msg.inc ?? 0, pending);
      // The D this view was dated with goes with the answer: the holder dates its lease with the same D.
      if (reason === null) granted.push({ ...item, leaseDurationMs: this.table.get(item.name)!.def.leaseDurationMs });
      else refused.push({ name: item.name, reason });
    }
    this.deps.send(from, { type: 'renew-resp', term, seq: msg.seq, granted, refused, renewsByIndex: true });
  }

  /** Extends this leader's view of one lease, or says why not. */
  private renewOne(from: MemberId, item: RenewItem, seq: number, inc: number, pending: ReadonlySet<string>): RenewRefusal | null {
    const t = this.table.get(item.name);
    if (t === undefined) return 'no-such-ticket';
    if (t.holder !== from) return 'not-holder';
    if (t.generation !== item.generation) return 'stale-generation';
    if (pending.has(item.name)) return 'change-pending';
    const until = this.deps.rules.leaderViewEnd(this.now, t.def.leaseDurationMs, this.deps.timing.clockDriftPpmMax);
    const v = this.leases.get(item.name);
    if (v !== undefined && v.holder === from && v.generation === t.generation && typeof v.basis === 'number' && (v.basisInc ?? 0) === inc && seq < v.basis) {
      // Overtaken by a newer renewal we already answered: its answer could only give an earlier
      // lease end, and extending our view from it would delay a failover for nothing.
      return 'superseded';
    }
    if (v === undefined || v.holder !== from || v.generation !== t.generation) {
      this.leases.set(item.name, { holder: from, generation: t.generation, until, from: this.now, basis: seq, basisInc: inc, officeUntil: null });
    } else if (v.basis === 'office') {
      // From now on this leader knows the newest answer; what earlier leaders answered ends by officeUntil.
      this.leases.set(item.name, { ...v, until: Math.max(until, v.until), from: until >= v.until ? this.now : v.from, basis: seq, basisInc: inc, officeUntil: v.until });
    } else {
      // The view of one generation's lease never moves back: an answered renewal only extends it.
      if (until > v.until) Object.assign(v, { until, from: this.now });
      // Another incarnation's renewal (a site agent moved to another node, §10) becomes the basis too.
      if (v.basis === 'commit' || (v.basisInc ?? 0) !== inc || seq > v.basis) Object.assign(v, { basis: seq, basisInc: inc });
    }
    return null;
  }

  private ticketsWithUncommittedChange(): Set<string> {
    const out = new Set<string>();
    for (const e of this.deps.registry.uncommitted()) for (const name of ticketsOf(e.data)) out.add(name);
    for (const name of this.pendingGrants.keys()) out.add(name);
    for (const name of this.pendingRemovals.keys()) out.add(name);
    return out;
  }

  onReleased(from: MemberId, msg: Msg<'released'>): void {
    if (!this.deps.registry.isLeader()) return;
    // The release says why: a site that gave a ticket up for its health is not eligible now.
    if (this.deps.registry.kindOf(from) === 'site') this.sites.set(from, { lastHeardAt: this.now, health: msg.health, inc: msg.inc ?? 0 });
    const v = this.leases.get(msg.name);
    const t = this.table.get(msg.name);
    if (v === undefined || v.holder !== from || v.generation !== msg.generation) return;
    this.watch.mark(msg.name);
    // A release ends the lease early only if no renewal answered later than the
    // release was sent can be outstanding: renewals sent after it carry a seq ≥
    // seqFloor. A view assumed on taking office may cover answers from an earlier
    // leader that we cannot see: it runs its course.
    // Seqs compare only within one store incarnation (§10): another incarnation's release says nothing of that answer.
    if (v.basis === 'office' || (typeof v.basis === 'number' && ((v.basisInc ?? 0) !== (msg.inc ?? 0) || v.basis >= msg.seqFloor))) return;
    const floor = v.officeUntil ?? this.now;
    if (floor > this.now) {
      v.until = floor;
    } else if (t !== undefined && t.holder === from && t.generation === msg.generation) {
      // Voluntary release by a holder that is still the registered one: it stops renewing.
      v.until = this.now;
      v.released = true;
    } else {
      this.leases.delete(msg.name);
    }
    this.deps.event({ type: 'released', ticket: msg.name, site: from });
    this.placeTickets();
  }

  // ─────────────────────────── placement ───────────────────────────

  /** Commits automatic grants and guarded admin grants whose old lease has run out. */
  placeTickets(): void {
    const table = this.table;
    const names = this.watch.due(this.now, table, () => table.names(), [...this.pendingRemovals.keys(), ...this.pendingGrants.keys()]);
    if (!this.deps.registry.canServeLeases()) return;
    const pending = this.ticketsWithUncommittedChange();
    const batches = this.deps.batchGrants();
    const auto: AutoGrant[] = [];
    const placeUnheld = this.now >= this.placeUnheldFrom || this.deps.registry.config.every((m) => m.kind !== 'site' || this.sites.has(m.id));
    for (const name of names) {
      const t = table.get(name);
      if (t === undefined) {
        this.watch.settled(name);
        continue;
      }
      const v = this.leases.get(name);
      const live = v !== undefined && v.until > this.now;
      if (v !== undefined && !live && (t.holder !== v.holder || t.generation !== v.generation)) this.leases.delete(name);
      if (live) this.watch.wakeUpAt(name, v.until);
      const removal = this.pendingRemovals.get(name);
      if (removal !== undefined) {
        if (!live && !this.hasUncommittedChange(name)) this.completeGuardedRemoval(name, removal, t.holder);
        continue;
      }
      const pg = this.pendingGrants.get(name);
      if (pg !== undefined) {
        this.completeGuardedGrant(name, pg, t.holder, t.generation, live);
        continue;
      }
      if (t.def.mode !== 'automatic' || !t.managed) this.watch.settled(name);
      if (t.def.mode !== 'automatic' || !t.managed || pending.has(name)) continue;
      // Only once the last lease has run out in this leader's view (S1); in a batch the rule says so (rules.ts).
      if (batches ? !this.deps.rules.batchGrantLeaseEnded(v === undefined ? null : v.until, this.now) : live) {
        // Its wake-up at the lease's end brings it back (or a change of it before).
        if (live) this.watch.settled(name);
        continue;
      }
      if (t.holder === null && !placeUnheld) continue;
      // The holder's lease has run out (or it released): another eligible site takes it. Not the
      // holder itself: a healthy, connected holder renews instead (and a renewal of its generation
      // is accepted again as long as nothing else was committed).
      const config = this.deps.registry.config;
      const eligible = (s: MemberId): boolean => isEligible(s, name, this.sites.get(s), this.now, this.deps.timing.siteAliveWindowMs, config.find((m) => m.id === s));
      const site = chooseSite(t.def, config, eligible, t.holder, this.deps.registry.leaderNow);
      if (site === null) continue;
      const cause: AutoGrant['cause'] =
        t.holder === null
          ? { by: 'auto', reason: 'initial', detail: `held nowhere: placed on ${site}` }
          : { by: 'auto', reason: 'failover', detail: v?.released === true ? `${t.holder} released it` : `the lease of ${t.holder} (generation ${t.generation}) ran out in the leader's view` };
      auto.push({ ticket: name, site, expectedGeneration: t.generation, cause });
    }
    for (const data of autoGrantEntries(auto, batches)) this.propose(data, null);
  }

  /** The old holder's lease has run out (or there was none): the guarded grant goes ahead, unless its site left (grant-target.ts). */
  private completeGuardedGrant(name: string, pg: PendingGrant, holder: MemberId | null, gen: Generation, live: boolean): void {
    const gone = grantTargetProblem(this.deps.registry.kindOf(pg.site), pg.site);
    if (gone === null && (live || this.hasUncommittedChange(name))) return;
    this.pendingGrants.delete(name);
    if (gone !== null) return this.result(pg.commandId, false, gone.code, `${gone.message} any more: ${name} was not granted`);
    if (holder === pg.site) {
      this.result(pg.commandId, true, undefined, 'already held by that site');
      return;
    }
    this.propose({ type: 'grant', ticket: name, site: pg.site, expectedGeneration: gen, cause: this.adminCause(pg.commandId) }, pg.commandId);
  }

  /** The revoked holder's lease has run out in this leader's view: the ticket can go (issue 11 item 2). */
  private completeGuardedRemoval(name: string, commandId: string, holder: MemberId | null): void {
    this.pendingRemovals.delete(name);
    if (holder !== null) {
      this.result(commandId, false, 'superseded', `${name} was granted to ${holder} again before it could be removed`);
      return;
    }
    this.propose({ type: 'ticket-remove', ticket: name, cause: this.adminCause(commandId) }, commandId);
  }

  /** The cause of an entry an admin command leads to, naming who asked when the command said (requesters). */
  private adminCause(commandId: string, force = false): Cause {
    const requester = this.requesters.get(commandId);
    return { by: 'admin', commandId, force, ...(requester === undefined ? {} : { requester }) };
  }

  private hasUncommittedChange(name: string): boolean {
    return this.deps.registry.uncommitted().some((e) => ('ticket' in e.data && e.data.ticket === name) || (e.data.type === 'grant-batch' && e.data.grants.some((g) => g.ticket === name)));
  }

  private propose(data: EntryData, commandId: string | null): Index {
    // Registered before the append: a formation of one voter commits inside propose().
    const at = index(this.deps.registry.lastIndex + 1);
    if (commandId !== null) this.proposals.set(at, commandId);
    const i = this.deps.registry.propose(data);
    assert(i === at, `proposal landed at ${i}, expected ${at}`);
    return i;
  }

  // ─────────────────────────── admin commands ───────────────────────────

  private result(id: string, ok: boolean, code: CommandErrorCode | undefined, message: string, at?: Index): void {
    this.requesters.delete(id);
    this.deps.event({
      type: 'command-result',
      id,
      ok,
      message,
      ...(code === undefined ? {} : { code }),
      ...(at === undefined ? {} : { index: at }),
      ...(code === 'not-leader' ? { leader: this.deps.registry.leaderNow } : {}),
    });
  }

  handleCommand(cmd: AdminCommand): void {
    const leader = this.deps.registry.leaderNow;
    if (!this.deps.registry.isLeader()) {
      return this.result(cmd.id, false, 'not-leader', leader === null ? 'no leader known' : `the leader is ${leader}`);
    }
    const max = this.deps.limits.pendingCommandsMax;
    if (this.proposals.size + this.pendingGrants.size + this.pendingRemovals.size >= max) return this.result(cmd.id, false, 'busy', `${max} commands already pending`);
    if (cmd.requester !== undefined && this.requesters.size < max) this.requesters.set(cmd.id, cmd.requester);
    if (cmd.type === 'member-add' || cmd.type === 'member-remove' || cmd.type === 'member-replace') return this.changeMembership(cmd);
    if (cmd.type === 'ticket-add' || cmd.type === 'ticket-change' || cmd.type === 'ticket-remove') {
      const refusal = configChangeRefusal(this.deps.registry.uncommitted(), this.pendingRemovals.size > 0, this.table.configVersion, cmd.expectedVersion);
      if (refusal !== null) return this.result(cmd.id, false, refusal.code, refusal.message);
    }
    if (cmd.type === 'ticket-add' || cmd.type === 'ticket-change') return this.defineTicket(cmd);
    const t = this.table.get(cmd.ticket);
    if (t === undefined) return this.result(cmd.id, false, 'no-such-ticket', `no ticket ${cmd.ticket}`);
    switch (cmd.type) {
      case 'grant':
        return this.grant(cmd, t.holder, t.generation);
      case 'revoke':
        return this.revoke(cmd, t.holder, t.managed, t.generation);
      case 'standby':
      case 'activate':
        this.propose({ type: 'standby', ticket: cmd.ticket, standby: cmd.type === 'standby', cause: this.adminCause(cmd.id) }, cmd.id);
        return;
      case 'attr-set':
        return this.attrSet(cmd);
      case 'attr-delete':
        this.propose({ type: 'attr-delete', ticket: cmd.ticket, key: cmd.key, cause: this.adminCause(cmd.id) }, cmd.id);
        return;
      case 'ticket-remove':
        return this.removeTicket(cmd, t.holder, t.generation);
    }
  }

  private defineTicket(cmd: Command<'ticket-add' | 'ticket-change'>): void {
    const existing = this.table.get(cmd.def.name);
    if (cmd.type === 'ticket-add' && existing !== undefined) return this.result(cmd.id, false, 'ticket-exists', `ticket ${cmd.def.name} exists`);
    if (cmd.type === 'ticket-change' && existing === undefined) return this.result(cmd.id, false, 'no-such-ticket', `no ticket ${cmd.def.name}`);
    // The table refuses a bad definition when it applies the entry too; refusing here names the problem to the admin.
    const problem = this.table.checkDef(cmd.def);
    if (problem !== null) return this.result(cmd.id, false, 'invalid', `ticket ${cmd.def.name}: ${problem}`);
    this.propose({ type: cmd.type, def: cmd.def, cause: this.adminCause(cmd.id) }, cmd.id);
  }

  private removeTicket(cmd: Command<'ticket-remove'>, holder: MemberId | null, gen: Generation): void {
    if (this.pendingGrants.has(cmd.ticket) || this.hasUncommittedChange(cmd.ticket)) {
      return this.result(cmd.id, false, 'change-in-progress', `a change of ${cmd.ticket} is in progress`);
    }
    const v = this.leases.get(cmd.ticket);
    const live = v !== undefined && v.until > this.now;
    if (holder === null && !live) {
      this.propose({ type: 'ticket-remove', ticket: cmd.ticket, cause: this.adminCause(cmd.id) }, cmd.id);
      return;
    }
    if (cmd.revokeFirst !== true) {
      return this.result(cmd.id, false, 'ticket-held', holder === null ? `${cmd.ticket}'s last holder's lease is still running` : `${cmd.ticket} is held by ${holder}; revoke it first`);
    }
    // Guarded, as revoke --wait: revoke (committed), then remove once the old holder's lease has run out
    // in this leader's view, so that the name added again can never be granted beside the old grant (S1).
    if (holder !== null) this.propose({ type: 'revoke', ticket: cmd.ticket, expectedGeneration: gen, cause: this.adminCause(cmd.id) }, null);
    this.pendingRemovals.set(cmd.ticket, cmd.id);
    this.placeTickets();
  }

  private grant(cmd: Command<'grant'>, holder: MemberId | null, gen: Generation): void {
    const target = grantTargetProblem(this.deps.registry.kindOf(cmd.site), cmd.site);
    if (target !== null) return this.result(cmd.id, false, target.code, target.message);
    if (holder === cmd.site) return this.result(cmd.id, false, 'already-granted', `${cmd.ticket} is already granted to ${cmd.site}`);
    if (this.pendingGrants.has(cmd.ticket) || this.hasUncommittedChange(cmd.ticket)) {
      return this.result(cmd.id, false, 'change-in-progress', `a change of ${cmd.ticket} is in progress`);
    }
    if (cmd.force) {
      // A logged force: the admin overrides the lease guard (booth's grant -F).
      this.leases.delete(cmd.ticket);
      this.watch.mark(cmd.ticket);
      this.propose({ type: 'grant', ticket: cmd.ticket, site: cmd.site, expectedGeneration: gen, cause: this.adminCause(cmd.id, true) }, cmd.id);
      return;
    }
    // Guarded grant: take the ticket from its holder first (if any), then
    // grant once the old holder's lease has run out or it confirmed release.
    if (holder !== null) this.propose({ type: 'revoke', ticket: cmd.ticket, expectedGeneration: gen, cause: this.adminCause(cmd.id) }, null);
    this.pendingGrants.set(cmd.ticket, { commandId: cmd.id, site: cmd.site });
    this.placeTickets();
  }

  private revoke(cmd: Command<'revoke'>, holder: MemberId | null, managed: boolean, gen: Generation): void {
    const waiting = this.pendingGrants.get(cmd.ticket);
    if (waiting !== undefined) {
      this.pendingGrants.delete(cmd.ticket);
      this.result(waiting.commandId, false, 'superseded', `revoked by command ${cmd.id} before the grant could complete`);
    }
    if (this.hasUncommittedChange(cmd.ticket)) {
      if (waiting !== undefined && holder !== null) {
        // The guarded grant's own revoke is on its way: that is this revoke.
        return this.result(cmd.id, true, undefined, 'revoke already in progress; the pending grant was cancelled');
      }
      return this.result(cmd.id, false, 'change-in-progress', `a change of ${cmd.ticket} is in progress`);
    }
    if (holder === null && !managed) {
      if (waiting !== undefined) return this.result(cmd.id, true, undefined, 'already revoked; the pending grant was cancelled');
      return this.result(cmd.id, false, 'not-granted', `${cmd.ticket} is not granted`);
    }
    this.propose({ type: 'revoke', ticket: cmd.ticket, expectedGeneration: gen, cause: this.adminCause(cmd.id) }, cmd.id);
  }

  private attrSet(cmd: Command<'attr-set'>): void {
    const refusal = attrRefusal(cmd.key, cmd.value, this.deps.limits.attrCharsMax);
    if (refusal !== null) return this.result(cmd.id, false, 'invalid', refusal);
    this.propose({ type: 'attr-set', ticket: cmd.ticket, key: cmd.key, value: cmd.value, cause: this.adminCause(cmd.id) }, cmd.id);
  }

  /**
   * Membership changes (docs/protocol.md §9, operations.md §8): single-server changes, one at a time,
   * each committed before the next (registry.canChangeMembership). A member joins as a non-voter
   * and is promoted once caught up (registry/incarnation.ts). Removing this leader hands leadership
   * over first; the command is then the new leader's to take (code not-leader). A remove or replace is refused
   * when the voters left that this leader heard recently are no majority (reconfig-check.ts). A site that holds
   * tickets is removed only with `force`, which revokes them first: the revokes commit before the
   * change; while this leader stays, nobody else is granted them before their leases end (the lease
   * views run on). A new leader knows no view of a revoked lease: see docs/operations.md §8, caution.
   */
  private changeMembership(cmd: Command<'member-add' | 'member-remove' | 'member-replace'>): void {
    const reg = this.deps.registry;
    const leaving = cmd.type === 'member-remove' ? cmd.member : cmd.type === 'member-replace' ? cmd.old : null;
    const current = reg.config;
    if (leaving !== null && !current.some((m) => m.id === leaving)) return this.result(cmd.id, false, 'no-such-member', `${leaving} is not a member`);
    const joining = cmd.type === 'member-remove' ? null : cmd.member;
    if (joining !== null && current.some((m) => m.id === joining.id)) return this.result(cmd.id, false, 'invalid', `${joining.id} is already a member`);
    if (leaving !== null && leaving === reg.leaderNow) {
      // Hand leadership over first (Raft dissertation §3.10): a leader that is not in its own
      // configuration would manage a formation it does not belong to.
      const to = reg.transferLeadership();
      const why = to === null ? 'no other voter holds the whole log yet to take over; try again' : `leadership handed over to ${to}; the new leader takes the change`;
      return this.result(cmd.id, false, 'not-leader', `${leaving} leads: ${why}`);
    }
    if (!reg.canChangeMembership()) {
      return this.result(cmd.id, false, 'change-in-progress', 'a membership change is still uncommitted (or this leader has not committed an entry of its term yet)');
    }
    // Config changes go one at a time (issue 11, item 1): none beside a ticket change in flight either.
    if (this.pendingRemovals.size > 0 || reg.uncommitted().some((e) => e.data.type !== 'config' && isConfigChange(e.data))) {
      return this.result(cmd.id, false, 'change-in-progress', 'a ticket change of the config is still in progress');
    }
    const held = leaving === null ? [] : [...this.table.all()].filter((t) => t.holder === leaving);
    if (held.length > 0 && cmd.type !== 'member-add' && cmd.force !== true) {
      return this.result(cmd.id, false, 'ticket-held', `${leaving} holds ${held.map((t) => t.def.name).join(', ')}: move them first, or --force to revoke them first (guarded: granted elsewhere only after their leases end)`);
    }
    let members = leaving === null ? [...current] : current.filter((m) => m.id !== leaving);
    if (joining !== null) {
      // A non-voter until it caught up (docs/protocol.md §10): it joins with its own incarnation, the leader
      // admits it, replicates to it, and promotes it once its log matches the commit index.
      const { voter: _voter, incarnation: _inc, ...added } = joining;
      members = [...members, { ...added, voter: false }];
    }
    if (!members.some((x) => x.kind === 'site')) return this.result(cmd.id, false, 'invalid', 'the last site cannot be removed');
    const silent = leaving === null ? null : silentMajorityRefusal(members, leaving, (id) => reg.heardRecently(id));
    if (silent !== null) return this.result(cmd.id, false, 'voters-silent', silent);
    if (held.length > 0 && cmd.type !== 'member-add') {
      if (this.pendingRemoval !== null) return this.result(cmd.id, false, 'change-in-progress', `the removal of ${this.pendingRemoval.type === 'member-remove' ? this.pendingRemoval.member : this.pendingRemoval.old} is revoking its tickets`);
      // Revoke first; the change follows once they committed (applied()), so the site learns them while still a member.
      for (const t of held) this.propose({ type: 'revoke', ticket: t.def.name, expectedGeneration: t.generation, cause: this.adminCause(cmd.id, true) }, null);
      this.pendingRemoval = cmd;
      return;
    }
    this.propose({ type: 'config', members }, cmd.id);
  }
}

