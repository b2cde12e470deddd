// Incarnations (docs/protocol.md §10): a member that starts with an empty store
// is a new incarnation of itself, which neither votes nor counts toward any
// majority until admitted. It asks every configured member (`join`): in a
// brand-new formation, where every other member says it never took part, it
// bootstraps as incarnation 0; otherwise the leader replaces its old
// incarnation by the new one as a non-voter, and promotes it to voter once
// its log caught up. The registry (registry.ts) owns one and reaches it
// through the narrow AdmissionHost.

import type { EntryData, RaftMessage } from '../messages.js';
import type { CoreEvent } from '../ready.js';
import { incarnationOf, votes, type Member, type MemberId, type Term } from '../types.js';
import type { Progress } from './tracker.js';

type Msg<T extends RaftMessage['type']> = Extract<RaftMessage, { type: T }>;

export interface AdmissionHost {
  readonly self: MemberId;
  /** The leader's clock, and how long a voter's silence must last before a join replaces its admitted incarnation. */
  now(): number;
  readonly electionTimeoutMs: number;
  members(): readonly Member[];
  /** Term 0 and an empty log: no vote, no entry, nothing a member that lost its store may have counted on. */
  neverTookPart(): boolean;
  /** No vote in its current term and an empty log (its term may have moved: an unadmitted store learns it from appends). */
  holdsNothing(): boolean;
  /** RegistryRules.vouchesFor. */
  vouchesFor(counted: number | undefined, asking: number): boolean;
  term(): Term;
  leader(): MemberId | null;
  commitIndex(): number;
  /** The leader's record of a member (undefined elsewhere). */
  progressOf(id: MemberId): Progress | undefined;
  canChangeMembership(): boolean;
  propose(data: EntryData): void;
  send(to: MemberId, msg: RaftMessage): void;
  event(e: CoreEvent): void;
  /** This store became incarnation 0: the hard state must be written again. */
  bootstrapped(): void;
}

export class Admission {
  /** Answers to this incarnation's join: whether each member never took part, vouched for it, and its own incarnation. */
  private readonly joinAnswers = new Map<MemberId, Pick<Msg<'join-resp'>, 'empty' | 'vouch' | 'ownInc'>>();
  /**
   * Once this store bootstrapped: the incarnation of each member whose `empty` answer it counted. It vouches for
   * that incarnation's own bootstrap (§10); kept in memory only, so a restart makes it answer as any member that took part.
   */
  private readonly countedOn = new Map<MemberId, number>();
  /** At the leader: when it first vouched for a member's incarnation asking to join, which that member should bootstrap as 0. */
  private readonly vouchedJoins = new Map<MemberId, { inc: number; since: number }>();
  /** When to ask again (only while not admitted). */
  nextJoinAt = 0;

  constructor(
    /** This store's incarnation: persisted in the hard state; drawn by the host when the store was empty. */
    private selfInc: number,
    private readonly host: AdmissionHost,
  ) {}

  get own(): number {
    return this.selfInc;
  }

  /** Asks every configured member whether the formation is new and, the leader, to admit this incarnation. */
  sendJoin(nextAt: number): void {
    this.nextJoinAt = nextAt;
    const h = this.host;
    for (const m of h.members()) if (m.id !== h.self) h.send(m.id, { type: 'join', term: h.term(), inc: this.selfInc });
  }

  onJoin(from: MemberId, msg: Msg<'join'>): void {
    const h = this.host;
    const vouch = h.vouchesFor(this.countedOn.get(from), msg.inc);
    h.send(from, { type: 'join-resp', term: h.term(), inc: msg.inc, empty: this.countedForNothing(), leader: h.leader(), ownInc: this.selfInc, ...(vouch ? { vouch } : {}) });
    const previous = configuredIncarnation(h.members(), from);
    if (from === h.self || previous === msg.inc || !h.canChangeMembership()) return;
    if (vouch && previous === 0 && this.awaitsBootstrap(from, msg.inc)) return;
    // A voter whose admitted incarnation was heard within an election timeout (or that timeout has not passed since this
    // leader took office) runs as that incarnation: this join was sent before its store bootstrapped as incarnation 0 and
    // arrived late (sim seed 341: the live voter was demoted, and the formation of three then had two voters and no
    // leader once one of them lost its store), or its store was lost since. A lost store asks again every heartbeat and
    // is admitted once the old incarnation has been silent for an election timeout.
    const voter = h.members().find((m) => m.id === from);
    const heardAt = h.progressOf(from)?.admittedHeardAt ?? Number.NEGATIVE_INFINITY;
    if (voter !== undefined && votes(voter) && h.now() - heardAt < h.electionTimeoutMs) return;
    // The configuration admits another incarnation of `from`: replace it by this one, as a
    // non-voter that catches up before it votes (one voter fewer: a single-server change).
    const members = h.members().map((m) => (m.id === from ? withVoter({ ...m, incarnation: msg.inc }, false) : m));
    h.event({ type: 'member-rejoin', member: from, incarnation: msg.inc, previous });
    h.propose({ type: 'config', members });
  }

  /**
   * Whether `msg` comes from another incarnation of its sender than the configuration admits (one
   * that lost its store, or an old one that came back): its votes and acknowledgements never count
   * (§10), and it is reported as ignored. A leader first binds a non-voter as it answers
   * (sawIncarnation), after which it counts as that incarnation.
   */
  refuses(from: MemberId, msg: RaftMessage): boolean {
    if (!carriesIncarnation(msg)) return false;
    const h = this.host;
    const inc = msg.inc ?? 0;
    if (inc !== configuredIncarnation(h.members(), from)) this.sawIncarnation(from, inc);
    // A refused append only moves the leader's `next` back: harmless from any incarnation, and needed by
    // a member re-added before it joined again (its log may lack what the leader would send first).
    const refusal = msg.type === 'append-resp' && !msg.success;
    const admitted = configuredIncarnation(h.members(), from);
    const p = inc === admitted ? h.progressOf(from) : undefined;
    if (p !== undefined) p.admittedHeardAt = h.now();
    if (refusal || inc === admitted) return false;
    h.event({ type: 'message-ignored', from, msgType: msg.type, reason: `incarnation ${inc} is not the admitted ${admitted}` });
    return true;
  }

  /**
   * At the leader: a non-voter that answers as another incarnation than the configuration binds (a
   * member added back with its store, which still believes an older configuration and so never
   * asks to join) is bound as it is: a non-voter counts toward nothing, and it is promoted only
   * once this incarnation caught up.
   */
  private sawIncarnation(from: MemberId, inc: number): void {
    const h = this.host;
    const m = h.members().find((x) => x.id === from);
    if (m === undefined || votes(m) || from === h.self || !h.canChangeMembership()) return;
    h.event({ type: 'member-rejoin', member: from, incarnation: inc, previous: incarnationOf(m) });
    h.propose({ type: 'config', members: h.members().map((x) => (x.id === from ? withVoter({ ...x, incarnation: inc }, false) : x)) });
  }

  /**
   * A member this leader vouches for is expected to bootstrap as incarnation 0 once every other member answered it
   * (empty or vouching): not replaced for an election timeout from its first such join, so that its bootstrap and a
   * replacement do not race. A member that still asks after that (another member down, say) is replaced as any other.
   */
  private awaitsBootstrap(from: MemberId, inc: number): boolean {
    const h = this.host;
    let seen = this.vouchedJoins.get(from);
    if (seen?.inc !== inc) {
      seen = { inc, since: h.now() };
      this.vouchedJoins.set(from, seen);
    }
    return h.now() - seen.since < h.electionTimeoutMs;
  }

  onJoinResp(from: MemberId, msg: Msg<'join-resp'>, admitted: boolean): void {
    if (admitted || msg.inc !== this.selfInc) return; // an answer to an earlier incarnation's join
    this.joinAnswers.set(from, { empty: msg.empty, ...(msg.vouch === true ? { vouch: true } : {}), ...(msg.ownInc === undefined ? {} : { ownInc: msg.ownInc }) });
    this.maybeBootstrap();
  }

  /**
   * A brand-new formation (§10): this member started with an empty store, the configuration
   * is the file's (its log is empty) and lists it at the bootstrap incarnation 0, and every
   * other configured member answered this incarnation's join saying it never took part, or
   * vouching for it (it bootstrapped on this incarnation's own empty answer, so it holds
   * nothing from before this incarnation existed). Then no majority ever formed without this
   * member's lost state being held by another member too, so it may vote as incarnation 0.
   * Otherwise it waits to be re-admitted.
   */
  maybeBootstrap(): void {
    const h = this.host;
    const members = h.members();
    if (!this.countedForNothing() || !members.some((m) => m.id === h.self) || configuredIncarnation(members, h.self) !== 0) return;
    for (const m of members) {
      const answer = this.joinAnswers.get(m.id);
      if (m.id !== h.self && answer?.empty !== true && answer?.vouch !== true) return;
    }
    for (const [id, answer] of this.joinAnswers) if (answer.empty && answer.ownInc !== undefined) this.countedOn.set(id, answer.ownInc);
    this.selfInc = 0;
    this.joinAnswers.clear();
    h.bootstrapped();
    // The election timer armed at start-up runs on: a new formation's first election is not delayed by the asking.
    h.event({ type: 'bootstrapped', members: members.length });
  }

  /**
   * Nothing this store holds was ever counted toward a majority (§10): it never took part (term 0, an empty log), or
   * its incarnation is not the bootstrap one and it holds no vote and no entry. Such an incarnation was never a voter
   * (a voter other than incarnation 0 was promoted once its log reached a commit index ≥ 1, and committed entries are
   * never truncated), so its votes and acknowledgements were refused; only its term may have moved, from appends.
   * The third members of a new formation that started late (sim seed 58, 7 members, 10 % loss) answer each other so.
   */
  private countedForNothing(): boolean {
    const h = this.host;
    return h.neverTookPart() || (this.selfInc !== 0 && h.holdsNothing());
  }

  /** At the leader: a non-voter that caught up (its log matches the commit index, no snapshot in flight) becomes a voter. */
  maybePromote(): void {
    const h = this.host;
    if (!h.canChangeMembership()) return;
    const members = h.members();
    for (const m of members) {
      if (votes(m)) continue;
      const p = h.progressOf(m.id);
      if (p === undefined || p.snapshot !== null || p.match < h.commitIndex()) continue;
      h.propose({ type: 'config', members: members.map((x) => (x.id === m.id ? withVoter(x, true) : x)) });
      return;
    }
  }
}

/** The incarnation a configuration admits for `id` (0 when it lists no such member). */
export function configuredIncarnation(members: readonly Member[], id: MemberId): number {
  const m = members.find((x) => x.id === id);
  return m === undefined ? 0 : incarnationOf(m);
}

/** Messages whose sender counts toward a majority (or asks to): tagged with its store incarnation. */
export function carriesIncarnation(msg: RaftMessage): msg is Extract<RaftMessage, { inc?: number }> {
  return msg.type === 'pre-vote' || msg.type === 'vote' || msg.type === 'pre-vote-resp' || msg.type === 'vote-resp' || msg.type === 'append-resp' || msg.type === 'snapshot-resp';
}

/** The member as a voter (the field dropped: voters are the default) or a non-voter. */
export function withVoter(m: Member, voter: boolean): Member {
  const { voter: _was, ...rest } = m;
  return voter ? rest : { ...rest, voter: false };
}
