// Losing a majority for good (issue 11 item 5; docs/operations.md §8 (disaster recovery)): `member
// remove DEAD --force --confirm-fenced`, run on a survivor over its admin
// socket, as etcd's --force-new-cluster. The survivor writes, without a
// majority, a configuration in which it is the only voter (registry.ts
// forceConfiguration), elects itself and goes on as a formation of one; the
// members it removed are refused if they come back (their votes and
// acknowledgements come from non-members) until added again with `member add`.
//
// What makes it safe, and so what is checked here before anything is written:
// - The admin confirms each removed member fenced (powered off, its agent
//   stopped for good): it sends nothing any more. Gossip that still hears it
//   refuses the confirmation.
// - No leader is known here: with one reachable, `member remove --force` goes
//   through the log as every change does.
// - The result is this member alone: every other voter is confirmed fenced
//   first. Two survivors that each kept the other would each win the other's
//   vote with a forced entry of a later term and overwrite entries the other
//   committed; a survivor left out is added back with a wiped store (a new
//   incarnation), which holds no entry to overwrite.
// - Every lease a removed member may hold has run out in this member's view.
//   Any leader that answered its renewals held a leader lease; while this
//   member is part of every majority (two voters), such a lease ended before
//   this member's vote block did (election.ts), so the lease ends by the
//   vote block's end stretched by the drift bound (lease.ts). Where the others
//   could form a majority without this member, only the admin's confirmation
//   dates their last answer: it counts from the latest confirmation.
// Then this member, leading alone, also treats every held ticket as renewed
// when it took office (DESIGN.md §2), as every new leader does.
//
// Pure and synchronous: the node (member.ts) owns one and passes it the time.

import type { EntryData } from './messages.js';
import type { AdminCommand, CommandErrorCode, CoreEvent } from './ready.js';
import type { Registry } from './registry/registry.js';
import { majority } from './registry/quorum.js';
import { honouredLeaseMs, type TicketTable } from './tickets/ticket-table.js';
import { votes, type Index, type MemberId } from './types.js';

type RemoveCommand = Extract<AdminCommand, { type: 'member-remove' }>;

export interface ForcedRemovalRules {
  /**
   * When every lease a fenced member may hold has run out in this member's view: `answeredBeforeMs`
   * bounds the last renewal answer anywhere, `leaseDurationMs` is the longest D owed. The mutant
   * `confirm-fenced-early` answers too soon.
   */
  readonly fencedLeasesEnd: (answeredBeforeMs: number, leaseDurationMs: number, clockDriftPpmMax: number) => number;
}

export interface ForcedRemovalDeps {
  readonly self: MemberId;
  readonly time: { readonly now: number };
  readonly clockDriftPpmMax: number;
  readonly rules: ForcedRemovalRules;
  readonly registry: Pick<Registry, 'config' | 'isLeader' | 'leaderNow' | 'selfVotes' | 'votesBlockedUntil' | 'uncommitted' | 'forceConfiguration'>;
  readonly table: () => TicketTable;
  /** Whether gossip hears `member` now (alive): then it is not fenced. */
  readonly heardNow: (member: MemberId) => boolean;
  readonly event: (e: CoreEvent) => void;
}

export class ForcedRemoval {
  /**
   * Members the admin confirmed fenced, and when (first confirmation). Kept in memory on purpose
   * (docs/protocol.md §10, "Confirmations are not persisted"): a restart asks again, which only
   * dates the wait later; and a confirmation speaks of the present, so it lapses when a leader is
   * heard again or gossip hears the member.
   */
  private readonly confirmedAt = new Map<MemberId, number>();

  constructor(private readonly deps: ForcedRemovalDeps) {}

  handle(cmd: RemoveCommand): void {
    const refusal = this.refusal(cmd);
    if (refusal !== null) return this.result(cmd.id, false, refusal.code, refusal.message);
    const d = this.deps;
    const r = d.registry;
    const removed = r.config.filter((m) => m.id !== d.self).map((m) => m.id);
    const data: Extract<EntryData, { type: 'config' }> = { type: 'config', members: r.config.filter((m) => m.id === d.self), forced: { removed, commandId: cmd.id, ...(cmd.requester === undefined ? {} : { requester: cmd.requester }) } };
    const at: Index = r.forceConfiguration(data);
    this.confirmedAt.clear();
    const led = r.isLeader() ? 'this member now leads a formation of one' : 'this member campaigns alone';
    this.result(cmd.id, true, undefined, `forced removal of ${removed.join(', ')}, confirmed fenced, written at index ${at}: ${led}; add the others back with member add (wiped stores)`, at);
  }

  private refusal(cmd: RemoveCommand): { code: CommandErrorCode; message: string } | null {
    const d = this.deps;
    const r = d.registry;
    const dead = cmd.member;
    if (cmd.force !== true) return { code: 'invalid', message: '--confirm-fenced goes with --force' };
    if (dead === d.self) return { code: 'invalid', message: `${dead} is this member: run the command on a survivor, naming the member that is gone` };
    if (!r.config.some((m) => m.id === dead)) return { code: 'no-such-member', message: `${dead} is not a member` };
    if (!r.selfVotes()) return { code: 'invalid', message: `${d.self} does not vote (a non-voter or another incarnation): run it on a voting survivor` };
    // The formation of one that results must be able to hold tickets (as member remove keeps the last site).
    if (r.config.find((m) => m.id === d.self)?.kind !== 'site') return { code: 'invalid', message: `${d.self} is an arbitrator: a formation of it alone holds no tickets; run it on a surviving site` };
    if (r.isLeader() || r.leaderNow !== null) {
      // The majority is reachable again: whatever was confirmed fenced belonged to an incident that is over.
      this.confirmedAt.clear();
      return { code: 'not-fenced', message: `a leader is known (${r.leaderNow}): a majority is reachable, so remove ${dead} with member remove --force (through the log)` };
    }
    if (d.heardNow(dead)) return { code: 'not-fenced', message: `${dead} answers gossip: it is not fenced; power it off or stop its agent for good first` };
    // One confirmed before that gossip hears now was not fenced (or came back): its confirmation goes.
    const back = [...this.confirmedAt.keys()].filter((id) => d.heardNow(id));
    for (const id of back) this.confirmedAt.delete(id);
    if (back.length > 0) return { code: 'not-fenced', message: `${back.join(', ')} answer${back.length === 1 ? 's' : ''} gossip again: ${back.length === 1 ? 'its' : 'their'} confirmation is void; fence and confirm again` };
    const now = d.time.now;
    if (!this.confirmedAt.has(dead)) this.confirmedAt.set(dead, now);
    const voters = r.config.filter(votes).map((m) => m.id);
    const unconfirmed = voters.filter((id) => id !== d.self && !this.confirmedAt.has(id));
    if (unconfirmed.length > 0) {
      return {
        code: 'not-fenced',
        message: `${dead} noted as fenced, nothing written: a formation that lost its majority recovers as this one member, and ${unconfirmed.join(', ')} still vote${unconfirmed.length === 1 ? 's' : ''}; stop ${unconfirmed.length === 1 ? 'it' : 'each'} for good and confirm it the same way (docs/operations.md §8 (disaster recovery))`,
      };
    }
    const leftMs = this.leaseWaitEnd(voters) - now;
    if (leftMs > 0) {
      return { code: 'lease-running', message: `a lease ${dead} may hold can still run for ${Math.ceil(leftMs)} ms in this member's view; ask again then` };
    }
    return null;
  }

  /** When every lease that a removed member may hold has run out here (see the opening comment). */
  private leaseWaitEnd(voters: readonly MemberId[]): number {
    const d = this.deps;
    const othersMakeMajority = voters.length - 1 >= majority(voters.length);
    let answeredBefore = d.registry.votesBlockedUntil;
    if (othersMakeMajority) for (const at of this.confirmedAt.values()) answeredBefore = Math.max(answeredBefore, at);
    return d.rules.fencedLeasesEnd(answeredBefore, this.longestLeaseMs(), d.clockDriftPpmMax);
  }

  /** The longest D owed for any ticket, in the table or in a definition still in the uncommitted log. */
  private longestLeaseMs(): number {
    let longest = 0;
    for (const t of this.deps.table().all()) longest = Math.max(longest, honouredLeaseMs(t));
    for (const e of this.deps.registry.uncommitted()) if (e.data.type === 'ticket-add' || e.data.type === 'ticket-change') longest = Math.max(longest, e.data.def.leaseDurationMs);
    return longest;
  }

  private result(id: string, ok: boolean, code: CommandErrorCode | undefined, message: string, at?: Index): void {
    this.deps.event({ type: 'command-result', id, ok, message, ...(code === undefined ? {} : { code }), ...(at === undefined ? {} : { index: at }) });
  }
}
