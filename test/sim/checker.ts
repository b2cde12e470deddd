// The simulator's checker: after every event it holds the real core's outputs
// against the safety invariants of DESIGN.md §1, measured on the simulator's
// true time (no member's clock):
//   S1 one holder      — at no instant do two sites' CIBs hold a ticket granted;
//   S2 fencing token   — a grant written to a CIB never carries a generation
//                        below an earlier one, nor an equal one at another site;
//                        a member's committed generation never decreases;
//   S3 arbitrators     — never holders in any committed table, never in a CIB;
//   S4 manual tickets  — change holder only through an admin command;
// and the Raft properties the registry rests on:
//   election safety    — at most one leader per term;
//   state machine      — every member commits the same entry at each index,
//                        and applies it with the same outcome (applied or
//                        refused, and why; a batch's skipped items);
//   assertion          — a core's own assertions never fire.
//
// A majority lost for good (the simulator's 'lost-majority' fault, docs/operations.md §8, disaster
// recovery) ends the history of the members lost: `member remove --force --confirm-fenced` promises
// that they never run again with their stores, and the survivor goes on from its own log. What the
// lost members alone had committed (entries past the survivor's commit index, terms they led, the
// generations they were granted) is gone with them: from the forced removal on, the checker judges
// the survivor's history, and counts what was lost (onForcedRecovery). S1 is not rebased: a lost
// site's CIB keeps its grant until its lease guard revokes it, and no other site may hold the
// ticket meanwhile.

import type { CoreEvent } from '../../src/core/ready.js';
import type { EntryData } from '../../src/core/messages.js';
import type { MemberId } from '../../src/core/types.js';

export type Invariant = 'S1' | 'S2' | 'S3' | 'S4' | 'electionSafety' | 'stateMachineSafety' | 'assertion';

export interface Violation {
  readonly invariant: Invariant;
  readonly atMs: number;
  readonly detail: string;
}

interface CibGrant {
  site: MemberId;
  since: number;
  generation: number;
}

export class Checker {
  readonly violations: Violation[] = [];
  private readonly leaders = new Map<number, MemberId>();
  private readonly committed = new Map<number, string>();
  /** Per log index: the entry applied there and its outcome, as the first member to apply it saw them. */
  private readonly outcomes = new Map<number, { entry: string; outcome: string; member: MemberId }>();
  private readonly committedGen = new Map<string, { gen: number; index: number }>(); // member|ticket → last applied change
  private readonly granted = new Map<string, CibGrant[]>(); // ticket → sites granted now
  private readonly maxGen = new Map<string, { gen: number; site: MemberId }>();
  private readonly lastRevokeAt = new Map<string, { site: MemberId; at: number }>();
  minGuardGapMs = Number.POSITIVE_INFINITY;
  /** Per ticket, per site: the highest generation its CIB held (S2 is rebased on it after a forced removal). */
  private readonly siteGen = new Map<string, Map<MemberId, number>>();
  /** What forced removals lost: committed entries the survivor overwrote, grants at a generation a lost site had held. */
  readonly forcedLoss = { entries: 0, generationsReused: 0 };
  private readonly lostEntries = new Map<number, string>();
  private readonly lostGen = new Map<string, number>();
  /** Committed config changes by entry type: the log indexes applied anywhere. */
  readonly configChanges = new Map<string, Set<number>>();

  constructor(
    private readonly arbitrators: ReadonlySet<MemberId>,
    private readonly manualTickets: ReadonlySet<string>,
    private readonly adminCommands: ReadonlySet<string>,
  ) {}

  /** A core threw: its own assertions caught a broken invariant (the process would die). */
  onAssertion(member: MemberId, atMs: number, err: Error): void {
    this.fail('assertion', atMs, `${member}: ${err.message}`);
  }

  private fail(invariant: Invariant, atMs: number, detail: string): void {
    // Keep the first few: one violation is enough to fail a seed, and memory stays bounded.
    if (this.violations.length < 20) this.violations.push({ invariant, atMs, detail });
  }

  onEvents(member: MemberId, events: readonly CoreEvent[], atMs: number): void {
    for (const e of events) {
      if (e.type === 'role' && e.role === 'leader') {
        const prev = this.leaders.get(e.term);
        if (prev !== undefined && prev !== member) {
          this.fail('electionSafety', atMs, `two leaders in term ${e.term}: ${prev} and ${member}`);
        }
        this.leaders.set(e.term, member);
      }
      if (e.type === 'applied') this.onOutcome(member, e, atMs);
      if (e.type === 'applied' && e.data.type === 'grant-batch') {
        // Each item of a batch is checked as the grant entry it stands for (the skipped ones changed nothing).
        const skipped = new Set(e.skipped ?? []);
        for (const g of e.data.grants) if (e.ok && !skipped.has(g.ticket)) this.onApplied(member, e.index, { type: 'grant', ...g, cause: e.data.cause }, true, atMs);
      } else if (e.type === 'applied') this.onApplied(member, e.index, e.data, e.ok, atMs);
    }
  }

  /**
   * The state machine is deterministic: a committed entry applies alike on every member, and again
   * on a member replaying its log after a restart. Seed 599 found a ticket-change checked against
   * the latest configuration in the log: a restarted member refused what the others had applied,
   * kept the longer lease duration, and its holder outlived the leader's view of its lease (S1).
   */
  private onOutcome(member: MemberId, e: Extract<CoreEvent, { type: 'applied' }>, atMs: number): void {
    const entry = JSON.stringify(e.data);
    const outcome = e.ok ? `applied${e.skipped === undefined || e.skipped.length === 0 ? '' : `, skipped ${e.skipped.join(' ')}`}` : `refused: ${e.reason ?? '?'}`;
    const prev = this.outcomes.get(e.index);
    // Another entry at this index is the committed-entry check's to judge (or one a forced removal lost).
    if (prev === undefined || prev.entry !== entry) this.outcomes.set(e.index, { entry, outcome, member });
    else if (prev.outcome !== outcome) {
      this.fail('stateMachineSafety', atMs, `index ${e.index} (${e.data.type}): ${member} ${outcome}, ${prev.member} ${prev.outcome}`);
    }
  }

  /** Every applied entry is also the committed entry at its index. */
  onCommittedEntry(member: MemberId, index: number, term: number, data: EntryData, atMs: number): void {
    const key = `${term}:${JSON.stringify(data)}`;
    const lost = this.lostEntries.get(index);
    if (lost !== undefined) {
      this.lostEntries.delete(index);
      if (lost !== key) this.forcedLoss.entries += 1;
    }
    const prev = this.committed.get(index);
    if (prev === undefined) this.committed.set(index, key);
    else if (prev !== key) this.fail('stateMachineSafety', atMs, `index ${index}: ${member} committed ${key}, another member ${prev}`);
  }

  private onApplied(member: MemberId, index: number, data: EntryData, ok: boolean, atMs: number): void {
    if (!ok) return;
    if (data.type === 'ticket-add' || data.type === 'ticket-remove' || data.type === 'ticket-change') {
      // Config changes committed (issue 11): counted once per log index, whoever applied it.
      const seen = this.configChanges.get(data.type) ?? new Set<number>();
      seen.add(index);
      this.configChanges.set(data.type, seen);
    }
    if (data.type === 'grant') {
      if (this.arbitrators.has(data.site)) this.fail('S3', atMs, `arbitrator ${data.site} granted ${data.ticket}`);
      if (this.manualTickets.has(data.ticket) && !(data.cause.by === 'admin' && this.adminCommands.has(data.cause.commandId))) {
        this.fail('S4', atMs, `manual ticket ${data.ticket} granted to ${data.site} without an admin command (${JSON.stringify(data.cause)})`);
      }
    }
    if (data.type === 'revoke' && this.manualTickets.has(data.ticket)) {
      if (!(data.cause.by === 'admin' && this.adminCommands.has(data.cause.commandId))) {
        this.fail('S4', atMs, `manual ticket ${data.ticket} revoked without an admin command`);
      }
    }
    if (data.type === 'grant' || data.type === 'revoke') {
      const key = `${member}|${data.ticket}`;
      const prev = this.committedGen.get(key);
      const next = data.expectedGeneration + 1;
      // A restarted member re-applies its log from its snapshot: the same index again is a replay.
      const replay = prev !== undefined && index <= prev.index;
      if (prev !== undefined && !replay && next <= prev.gen) {
        this.fail('S2', atMs, `${member}: ${data.ticket} generation went from ${prev.gen} to ${next}`);
      }
      if (!replay) this.committedGen.set(key, { gen: next, index });
    }
  }

  /** A site's CIB changed (a write completed) at true time `atMs`. */
  onCib(site: MemberId, ticket: string, granted: boolean, generation: number, atMs: number): void {
    if (this.arbitrators.has(site)) this.fail('S3', atMs, `arbitrator ${site} wrote a CIB`);
    const list = this.granted.get(ticket) ?? [];
    const mine = list.find((g) => g.site === site);
    if (granted) {
      if (mine !== undefined) {
        mine.generation = generation;
      } else {
        const others = list.filter((g) => g.site !== site);
        if (others.length > 0) {
          this.fail('S1', atMs, `${ticket} granted at ${site} (gen ${generation}) while granted at ${others.map((o) => `${o.site} (gen ${o.generation})`).join(', ')}`);
        }
        const last = this.lastRevokeAt.get(ticket);
        if (last !== undefined && last.site !== site) this.minGuardGapMs = Math.min(this.minGuardGapMs, atMs - last.at);
        list.push({ site, since: atMs, generation });
      }
      const perSite = this.siteGen.get(ticket) ?? new Map<MemberId, number>();
      perSite.set(site, Math.max(generation, perSite.get(site) ?? generation));
      this.siteGen.set(ticket, perSite);
      const lostGen = this.lostGen.get(ticket);
      if (lostGen !== undefined && generation <= lostGen) {
        this.forcedLoss.generationsReused += 1;
        this.lostGen.delete(ticket);
      }
      const max = this.maxGen.get(ticket);
      if (max !== undefined && (generation < max.gen || (generation === max.gen && max.site !== site))) {
        this.fail('S2', atMs, `${ticket} granted at ${site} with generation ${generation} after ${max.site} held ${max.gen}`);
      }
      if (max === undefined || generation > max.gen) this.maxGen.set(ticket, { gen: generation, site });
    } else if (mine !== undefined) {
      list.splice(list.indexOf(mine), 1);
      this.lastRevokeAt.set(ticket, { site, at: atMs });
    }
    this.granted.set(ticket, list);
  }

  /**
   * A forced removal was accepted on `survivor`, whose commit index was `survivorCommit`; `fenced`
   * are every other member, never to run again with their stores (see the opening comment).
   */
  onForcedRecovery(fenced: ReadonlySet<MemberId>, survivorCommit: number): void {
    for (const [i, key] of this.committed) {
      if (i <= survivorCommit) continue;
      this.committed.delete(i);
      this.lostEntries.set(i, key);
    }
    for (const i of this.outcomes.keys()) if (i > survivorCommit) this.outcomes.delete(i);
    for (const [t, m] of this.leaders) if (fenced.has(m)) this.leaders.delete(t);
    for (const key of this.committedGen.keys()) if (fenced.has(key.slice(0, key.indexOf('|')) as MemberId)) this.committedGen.delete(key);
    for (const [ticket, perSite] of this.siteGen) {
      let kept: { gen: number; site: MemberId } | undefined;
      let lost = -1;
      for (const [site, gen] of perSite) {
        if (fenced.has(site)) lost = Math.max(lost, gen);
        else if (kept === undefined || gen > kept.gen) kept = { gen, site };
      }
      for (const site of fenced) perSite.delete(site);
      if (kept === undefined) this.maxGen.delete(ticket);
      else this.maxGen.set(ticket, kept);
      if (lost >= 0 && (kept === undefined || lost >= kept.gen)) this.lostGen.set(ticket, lost);
    }
  }

  holdersOf(ticket: string): MemberId[] {
    return (this.granted.get(ticket) ?? []).map((g) => g.site);
  }

  counts(): Record<Invariant, number> {
    const out: Record<Invariant, number> = { S1: 0, S2: 0, S3: 0, S4: 0, electionSafety: 0, stateMachineSafety: 0, assertion: 0 };
    for (const v of this.violations) out[v.invariant] += 1;
    return out;
  }
}
