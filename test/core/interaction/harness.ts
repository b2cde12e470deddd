// The interpreter behind the interaction tests (testdata/*.txt): a small,
// line-based language that drives real src/core Members on virtual time, in
// the manner of etcd-io/raft's interaction environment. It plays the host of
// ready.ts — persist (synced) → send → ticket effects → advance — and models
// what a host depends on:
//
//  - a network with a fixed delay, partitions that can be one-way, and
//    message loss (off unless asked for);
//  - one monotonic clock per member with its own rate and offset against the
//    harness's true time (DESIGN.md §1: no synchronised clocks);
//  - a store per member that survives a crash (everything a Ready persisted);
//  - a CIB per site whose writes apply after a configured latency (0: in the
//    same millisecond), one at a time, as ready.ts asks: a newer effect for a
//    ticket replaces one not yet started, and a grant whose revokeBy has
//    passed is not written but reported failed;
//  - a lease guard per site, a process separate from the agent, that revokes
//    a grant when its `revokeBy` deadline comes on the site's clock, whether
//    the agent is running, paused or dead;
//  - kill -9 (crash: queued CIB writes are lost, the one in progress lands),
//    restart from the store and the CIB, SIGSTOP/SIGCONT (messages and effect
//    results wait in the inbox; the clock runs on).
//
// True time is an integer number of milliseconds; a member's clock reads
// floor(anchorLocal + rate·(t − anchorTrue)). Every command prints a
// deterministic text: the state it was asked for, or what happened while it
// ran — leader changes, entries the leader commits, admin command results,
// CIB grants and revokes (by the agent or the guard), lost leases, releases
// and ignored messages, one line each, stamped with true time `t=`.
//
// Commands (`key=value` arguments are optional unless shown without brackets):
//
//   setup, before `start`
//     formation sites=a,b arbitrators=c
//     timing [heartbeat=100] [election=1000] [renew=500] [renew-retry=250]
//            [drift=0 (ppm)] [effect-retry=200] [alive=1500]
//     ticket <name> [mode=automatic|manual] [lease=10000] [acquire-after=1000]
//            [revoke-lead=1000] [weights=a:10,b:20]
//     jitter <member> <x>       fixes the member's random source to x ∈ [0,1):
//                               its election timeout is election·(1+x); in a
//                               new formation (term 0) heartbeat·(1+x) for an
//                               arbitrator, heartbeat·(2+x) for a site
//     seed <n>                  seed of the random sources not fixed by jitter
//     gossip on [preset=loopback] [probe=<ms>] [probe-timeout=<ms>] [indirect=<k>]
//                               every member runs SWIM (DESIGN.md §3) with that
//                               preset's timing (gossip/config.ts), its own seeded random
//                               stream and stand-in claim signatures; off by
//                               default, so scripts written before gossip keep
//                               their exact traffic. With it, a message the core
//                               sends through a relay (`via`) takes two legs,
//                               and the relay forwards it where its core allows
//                               (canRelayTo), as the runtime does.
//     start                     builds every member at true time 0
//   any time
//     clock <member> [rate=<r>] [offset=<ms>]   (offset only before start)
//     net [delay=5] [loss=0]
//     cib-latency <site> <ms>
//     guard <site> <on|off>     the site's lease guard (on by default)
//     run <ms>                  advances true time, delivering and firing timers
//     crash <m> | restart <m> | pause <m> | resume <m>
//     cut <a> <b> | cut-oneway <a> <b> | isolate <m> | heal
//     delay-next <from> <to> <message-type> <ms>   the next such message takes ms longer
//     admin <m|leader> grant <ticket> <site> [force] | revoke <ticket>
//                     | standby <ticket> | activate <ticket>
//     health <site> [quorate=true] [handlers=true]
//     trace <roles|renewals|applied> <on|off>
//     trace messages <on|off> [sender]   every message sent (by one member)
//   output
//     status | clocks | tickets [m] | leases [m] | holder-view <site> [ticket]
//     peers <m>                 m's gossip view: state, incarnation and route per member
//     cib [site…] | cib-history [ticket] | history <ticket> [m]
//     sent <m>                  messages m sent per type since the last `sent <m>`
//                               (the first one only starts counting)
//     expect-leader <m> | expect-holder <ticket> <site|none>
//     expect-cib-granted <ticket> <site> | expect-cib-revoked <ticket> <site>
//     expect-no-double-grant [ticket]
//
// An expect-* command prints `ok` or a line starting with `FAIL:`; the test
// runner accepts a FAIL only in a file that declares a `# known-bug:`.

import { defaultLimits, type CoreConfig, type CoreTiming } from '../../../src/core/config.js';
import { CibWriteQueue } from '../../support/cib-write-queue.js';
import { emptyRaftStore, loadFrom, persistInto, type RaftStore } from '../../support/raft-store.js';
import { Member } from '../../../src/core/member.js';
import type { Cause, EntryData, Envelope, Message } from '../../../src/core/messages.js';
import { swimPresets, type SwimTiming } from '../../../src/core/gossip/config.js';
import type { Piggyback } from '../../../src/core/gossip/messages.js';
import { fakeClaimAuth } from '../../support/fake-claim-auth.js';
import { SeededRandom, type RandomSource } from '../../../src/core/random.js';
import type { AdminCommand, CoreEvent, PersistBatch, Report, Role } from '../../../src/core/ready.js';
import type { CibTicketState, GuardUpdate, TicketEffect } from '../../../src/core/tickets/site-holder.js';
import { EventHeap } from '../../sim/heap.js';
import {
  generation,
  memberId,
  ms,
  type Member as MemberInfo,
  type MemberId,
  type TicketDef,
} from '../../../src/core/types.js';
import { snapshotCodec } from '../../../src/wire/snapshot-codec.js';

/** A mistake in a script (unknown command, bad argument): reported with file:line, never as output. */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

interface Clock {
  anchorTrue: number;
  anchorLocal: number;
  rate: number;
}

interface CibTicket {
  granted: boolean;
  standby: boolean;
  generation: number;
  owner: MemberId | null;
  /** The guard's deadline on the site's clock, while granted. */
  revokeBy: number | null;
}

/** What waits in a paused member's socket buffers and pipes, in arrival order. */
type Inbound = { readonly kind: 'msg'; readonly env: Envelope } | { readonly kind: 'report'; readonly report: Report };

interface Node {
  readonly idx: number;
  readonly info: MemberInfo;
  clock: Clock;
  jitter: number | null;
  cibLatencyMs: number;
  /** Whether the lease guard runs at this site (on unless a script turns it off). */
  guard: boolean;
  core: Member | null;
  paused: boolean;
  inbox: Inbound[];
  timerToken: number;
  /** Bumped on every start: effect results of an old incarnation are not reported to the new one. */
  incarnation: number;
  restarts: number;
  store: RaftStore;
  cib: Map<string, CibTicket>;
  cibQueue: CibWriteQueue;
  role: Role;
}

type Ev =
  | {
      readonly at: number;
      readonly seq: number;
      readonly kind: 'deliver';
      readonly env: Envelope;
      readonly to: number;
      readonly late: boolean;
      /** The node that put it on this link: the sender, or for a relayed message's second leg the relay. */
      readonly hop: number;
    }
  | { readonly at: number; readonly seq: number; readonly kind: 'timer'; readonly node: number; readonly token: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'cib-done'; readonly node: number; readonly effect: TicketEffect; readonly incarnation: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'guard'; readonly node: number; readonly ticket: string; readonly revokeBy: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'guard-done'; readonly node: number; readonly update: GuardUpdate; readonly incarnation: number };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One site's continuous stretch of "granted" in its CIB, on true time. */
interface GrantInterval {
  readonly site: MemberId;
  readonly from: number;
  to: number | null;
  gen: number;
}

interface Overlap {
  readonly ticket: string;
  readonly at: number;
  readonly site: MemberId;
  readonly gen: number;
  readonly others: readonly GrantInterval[];
}

const defaultTiming: CoreTiming = {
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  renewIntervalMs: 500,
  renewRetryMs: 250,
  clockDriftPpmMax: 0,
  effectRetryMs: 200,
  siteAliveWindowMs: 1500,
};

/** Parsed arguments of one command line: positionals and key=value pairs, each used at most once. */
class Args {
  private readonly used = new Set<string>();

  constructor(
    readonly name: string,
    readonly positional: readonly string[],
    private readonly kv: ReadonlyMap<string, string>,
  ) {}

  static parse(line: string): Args {
    const tokens = line.split(/\s+/).filter((t) => t !== '');
    const [name, ...rest] = tokens;
    if (name === undefined) throw new ScriptError('empty command');
    const pos: string[] = [];
    const kv = new Map<string, string>();
    for (const t of rest) {
      const eq = t.indexOf('=');
      if (eq > 0) kv.set(t.slice(0, eq), t.slice(eq + 1));
      else pos.push(t);
    }
    return new Args(name, pos, kv);
  }

  pos(i: number, what: string): string {
    const v = this.positional[i];
    if (v === undefined) throw new ScriptError(`${this.name}: missing ${what}`);
    return v;
  }

  str(key: string): string | undefined {
    this.used.add(key);
    return this.kv.get(key);
  }

  num(key: string, dflt: number): number {
    const v = this.str(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ScriptError(`${this.name}: ${key}=${v} is not a number`);
    return n;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.str(key);
    if (v === undefined) return dflt;
    if (v === 'true' || v === 'ok' || v === 'on') return true;
    if (v === 'false' || v === 'fail' || v === 'off') return false;
    throw new ScriptError(`${this.name}: ${key}=${v} is not a boolean`);
  }

  /** Fails on key=value arguments the command did not read and on surplus positionals. */
  done(positionalMax: number): void {
    for (const k of this.kv.keys()) if (!this.used.has(k)) throw new ScriptError(`${this.name}: unknown argument ${k}=`);
    if (this.positional.length > positionalMax) throw new ScriptError(`${this.name}: unexpected argument ${this.positional[positionalMax]}`);
  }
}

function fixedRandom(x: number): RandomSource {
  return { next: () => x };
}

function describeCause(c: Cause): string {
  if (c.by === 'auto') return `auto ${c.reason}`;
  return `admin ${c.commandId}${c.force ? ' FORCE' : ''}`;
}

function describeEntry(d: EntryData): string {
  switch (d.type) {
    case 'noop':
      return 'noop';
    case 'config':
      return `config ${d.members.map((m) => m.id).join(',')}`;
    case 'grant':
      return `grant ${d.ticket} -> ${d.site} gen ${d.expectedGeneration + 1} (${describeCause(d.cause)})`;
    case 'grant-batch':
      return `grant-batch ${d.grants.map((g) => `${g.ticket} -> ${g.site} gen ${g.expectedGeneration + 1}`).join(', ')} (${describeCause(d.cause)})`;
    case 'revoke':
      return `revoke ${d.ticket} gen ${d.expectedGeneration + 1} (${describeCause(d.cause)})`;
    case 'standby':
      return `${d.standby ? 'standby' : 'activate'} ${d.ticket} (${describeCause(d.cause)})`;
    case 'attr-set':
      return `attr-set ${d.ticket} ${d.key}=${d.value} (${describeCause(d.cause)})`;
    case 'attr-delete':
      return `attr-delete ${d.ticket} ${d.key} (${describeCause(d.cause)})`;
    case 'ticket-add':
      return `ticket-add ${d.def.name} (${describeCause(d.cause)})`;
    case 'ticket-remove':
      return `ticket-remove ${d.ticket} (${describeCause(d.cause)})`;
    case 'ticket-change':
      return `ticket-change ${d.def.name} expire ${d.def.leaseDurationMs} ms (${describeCause(d.cause)})`;
  }
}

function describeMessage(m: Message): string {
  switch (m.type) {
    case 'pre-vote':
    case 'vote':
      return `${m.type} term=${m.term} last=${m.lastIndex}/${m.lastTerm}`;
    case 'pre-vote-resp':
    case 'vote-resp':
      return `${m.type} term=${m.term} granted=${m.granted}`;
    case 'join':
      return `join term=${m.term} inc=${m.inc}`;
    case 'timeout-now':
      return `timeout-now term=${m.term}`;
    case 'join-resp':
      return `join-resp term=${m.term} inc=${m.inc} empty=${m.empty} leader=${m.leader ?? 'none'}`;
    case 'append':
      return `append term=${m.term} prev=${m.prevIndex}/${m.prevTerm} entries=${m.entries.length} commit=${m.commit} sentAt=${m.sentAt}`;
    case 'append-resp':
      return `append-resp term=${m.term} success=${m.success} index=${m.index} sentAt=${m.sentAt}`;
    case 'snapshot-chunk':
      return `snapshot-chunk term=${m.term} snap=${m.index}/${m.lastTerm} bytes=${m.totalBytes} offset=${m.offset} data=${m.data.length} sentAt=${m.sentAt}`;
    case 'snapshot-resp':
      return `snapshot-resp term=${m.term} snap=${m.index}/${m.lastTerm} offset=${m.offset} sentAt=${m.sentAt}`;
    case 'renew':
      if ('since' in m) return `renew term=${m.term} seq=${m.seq} since=${m.since} except=[${m.except.join(' ')}]`;
      return `renew term=${m.term} seq=${m.seq} [${m.tickets.map((t) => `${t.name}@${t.generation}`).join(' ')}]`;
    case 'renew-resp': {
      const refused = m.refused.map((r) => `${r.name}:${r.reason}`).join(' ');
      const byIndex = m.since === undefined ? '' : ` since=${m.since}${m.refusedAll === undefined ? '' : ` refused-all=${m.refusedAll}`}`;
      return `renew-resp term=${m.term} seq=${m.seq}${byIndex} granted=[${m.granted.map((t) => `${t.name}@${t.generation}`).join(' ')}] refused=[${refused}]`;
    }
    case 'released':
      return `released term=${m.term} ${m.name}@${m.generation}`;
    case 'ping':
    case 'ack':
    case 'nack':
      return `${m.type} seq=${m.seq}${gossipItems(m)}`;
    case 'ping-req':
      return `ping-req seq=${m.seq} target=${m.target}${gossipItems(m)}`;
    case 'gossip':
      return `gossip${gossipItems(m)}`;
  }
}

/** Membership updates and rumors a gossip message carries, briefly. */
function gossipItems(m: Piggyback): string {
  const items = [...m.updates.map((u) => `${u.member}:${u.state}@${u.incarnation}`), ...m.rumors.map((r) => `${r.kind}:${r.key}@${r.version}`)];
  return items.length === 0 ? '' : ` [${items.join(' ')}]`;
}

function describeCommand(c: AdminCommand): string {
  switch (c.type) {
    case 'grant':
      return `grant ${c.ticket} ${c.site}${c.force ? ' force' : ''}`;
    case 'revoke':
    case 'standby':
    case 'activate':
      return `${c.type} ${c.ticket}`;
    default:
      return c.type;
  }
}

export class Interaction {
  private timing: CoreTiming = defaultTiming;
  private readonly ticketDefs: TicketDef[] = [];
  private nodes: Node[] = [];
  private started = false;
  private seed = 1;
  /** The protocol every member speaks: from 1.2 on, every member is told the others announced it (batch grants). */
  private protocolMinor = 1;
  private readonly heap = new EventHeap<Ev>();
  private seq = 0;
  /** True time, integer milliseconds. */
  now = 0;
  private delayMs = 5;
  private lossRate = 0;
  private readonly netRandom = new SeededRandom(0x6e6574);
  private readonly blocked = new Set<string>(); // "a>b": messages from a to b are dropped
  /** One-shot extra delays: the next message of a type on a directed link (`delay-next`). */
  private readonly delayNext: Array<{ from: MemberId; to: MemberId; type: string; extraMs: number }> = [];
  private readonly trace = { roles: false, messages: false, renewals: false, applied: false };
  /** Messages sent per member and type since the last `sent` for that member. */
  private readonly sentCounts = new Map<MemberId, { since: number; byType: Map<string, number> }>();
  /** With `trace messages on <member>`: only messages this member sends. */
  private traceMessagesFrom: MemberId | null = null;
  /** SWIM timing when `gossip on`; null: the members run the registry alone. */
  private gossip: SwimTiming | null = null;
  private out: string[] = [];
  private adminSeq = 0;
  private readonly commands = new Map<string, string>();
  private readonly intervals = new Map<string, GrantInterval[]>();
  private readonly overlaps: Overlap[] = [];
  private sameTimeEvents = 0;

  /** Runs one command line; returns its output lines (never empty: `ok` when nothing happened). */
  exec(line: string): string[] {
    const a = Args.parse(line);
    this.out = [];
    this.dispatch(a);
    const lines = this.out;
    this.out = [];
    return lines.length === 0 ? ['ok'] : lines;
  }

  private dispatch(a: Args): void {
    switch (a.name) {
      case 'formation':
        return this.cmdFormation(a);
      case 'timing':
        return this.cmdTiming(a);
      case 'ticket':
        return this.cmdTicket(a);
      case 'jitter':
        return this.cmdJitter(a);
      case 'seed':
        return this.cmdSeed(a);
      case 'gossip':
        return this.cmdGossip(a);
      case 'protocol':
        return this.cmdProtocol(a);
      case 'peers':
        return this.cmdPeers(a);
      case 'start':
        return this.cmdStart(a);
      case 'clock':
        return this.cmdClock(a);
      case 'net':
        return this.cmdNet(a);
      case 'cib-latency':
        return this.cmdCibLatency(a);
      case 'guard':
        return this.cmdGuard(a);
      case 'run':
        return this.cmdRun(a);
      case 'crash':
        return this.cmdCrash(a);
      case 'restart':
        return this.cmdRestart(a);
      case 'pause':
        return this.cmdPause(a);
      case 'resume':
        return this.cmdResume(a);
      case 'cut':
      case 'cut-oneway':
        return this.cmdCut(a);
      case 'delay-next':
        return this.cmdDelayNext(a);
      case 'isolate':
        return this.cmdIsolate(a);
      case 'heal':
        a.done(0);
        this.blocked.clear();
        return;
      case 'admin':
        return this.cmdAdmin(a);
      case 'health':
        return this.cmdHealth(a);
      case 'trace':
        return this.cmdTrace(a);
      case 'status':
        return this.cmdStatus(a);
      case 'clocks':
        return this.cmdClocks(a);
      case 'tickets':
        return this.cmdTickets(a);
      case 'leases':
        return this.cmdLeases(a);
      case 'holder-view':
        return this.cmdHolderView(a);
      case 'cib':
        return this.cmdCib(a);
      case 'sent':
        return this.cmdSent(a);
      case 'cib-history':
        return this.cmdCibHistory(a);
      case 'history':
        return this.cmdHistory(a);
      case 'expect-leader':
        return this.cmdExpectLeader(a);
      case 'expect-holder':
        return this.cmdExpectHolder(a);
      case 'expect-cib-granted':
      case 'expect-cib-revoked':
        return this.cmdExpectCib(a);
      case 'expect-no-double-grant':
        return this.cmdExpectNoDoubleGrant(a);
      default:
        throw new ScriptError(`unknown command ${a.name}`);
    }
  }

  private emit(line: string): void {
    this.out.push(line);
  }

  private stamp(line: string): void {
    this.emit(`t=${this.now} ${line}`);
  }

  // ───────────── setup ─────────────

  private requireNotStarted(a: Args): void {
    if (this.started) throw new ScriptError(`${a.name} must come before start`);
  }

  private requireStarted(a: Args): void {
    if (!this.started) throw new ScriptError(`${a.name} needs start first`);
  }

  private cmdFormation(a: Args): void {
    this.requireNotStarted(a);
    const list = (key: string): string[] => (a.str(key) ?? '').split(',').filter((s) => s !== '');
    const infos: MemberInfo[] = [
      ...list('sites').map((s) => ({ id: memberId(s), kind: 'site' as const })),
      ...list('arbitrators').map((s) => ({ id: memberId(s), kind: 'arbitrator' as const })),
    ];
    a.done(0);
    if (infos.length === 0) throw new ScriptError('formation: no members');
    this.nodes = infos.map((info, idx) => ({
      idx,
      info,
      clock: { anchorTrue: 0, anchorLocal: 0, rate: 1 },
      jitter: null,
      cibLatencyMs: 0,
      guard: true,
      core: null,
      paused: false,
      inbox: [],
      timerToken: 0,
      incarnation: 0,
      restarts: 0,
      store: emptyRaftStore(),
      cib: new Map(),
      cibQueue: new CibWriteQueue(),
      role: 'follower',
    }));
  }

  private cmdTiming(a: Args): void {
    this.requireNotStarted(a);
    const t = this.timing;
    this.timing = {
      heartbeatIntervalMs: a.num('heartbeat', t.heartbeatIntervalMs),
      electionTimeoutMs: a.num('election', t.electionTimeoutMs),
      renewIntervalMs: a.num('renew', t.renewIntervalMs),
      renewRetryMs: a.num('renew-retry', t.renewRetryMs),
      clockDriftPpmMax: a.num('drift', t.clockDriftPpmMax),
      effectRetryMs: a.num('effect-retry', t.effectRetryMs),
      siteAliveWindowMs: a.num('alive', t.siteAliveWindowMs),
    };
    a.done(0);
  }

  private cmdTicket(a: Args): void {
    this.requireNotStarted(a);
    const name = a.pos(0, 'ticket name');
    const mode = a.str('mode') ?? 'automatic';
    if (mode !== 'automatic' && mode !== 'manual') throw new ScriptError(`ticket: mode=${mode}`);
    const weights: Record<string, number> = {};
    for (const w of (a.str('weights') ?? '').split(',').filter((s) => s !== '')) {
      const [site, value] = w.split(':');
      if (site === undefined || value === undefined || !Number.isFinite(Number(value))) throw new ScriptError(`ticket: bad weight ${w}`);
      weights[site] = Number(value);
    }
    this.ticketDefs.push({
      name,
      mode,
      leaseDurationMs: a.num('lease', 10_000),
      acquireAfterMs: a.num('acquire-after', 1000),
      revokeLeadMs: a.num('revoke-lead', 1000),
      weights,
    });
    a.done(1);
  }

  private cmdJitter(a: Args): void {
    this.requireNotStarted(a);
    const n = this.node(a.pos(0, 'member'));
    const x = Number(a.pos(1, 'value'));
    if (!(x >= 0 && x < 1)) throw new ScriptError('jitter: value must be in [0, 1)');
    n.jitter = x;
    a.done(2);
  }

  private cmdSeed(a: Args): void {
    this.requireNotStarted(a);
    this.seed = Number(a.pos(0, 'seed'));
    a.done(1);
  }

  /** `protocol 1.2`: every member speaks (and is told the others speak) this version; default 1.1 (no batch grants). */
  private cmdProtocol(a: Args): void {
    this.requireNotStarted(a);
    const v = a.pos(0, 'major.minor');
    const m = /^1\.(\d+)$/.exec(v);
    if (m === null) throw new ScriptError(`protocol: ${v} is not 1.<minor>`);
    this.protocolMinor = Number(m[1]);
    a.done(1);
  }

  private cmdGossip(a: Args): void {
    this.requireNotStarted(a);
    const onOff = a.pos(0, 'on|off');
    if (onOff !== 'on' && onOff !== 'off') throw new ScriptError(`gossip: ${onOff} is neither on nor off`);
    const presetName = a.str('preset') ?? 'loopback';
    if (presetName !== 'lan' && presetName !== 'wan' && presetName !== 'loopback') throw new ScriptError(`gossip: unknown preset ${presetName}`);
    const base = swimPresets[presetName];
    const timing: SwimTiming = {
      ...base,
      probeIntervalMs: a.num('probe', base.probeIntervalMs),
      probeTimeoutMs: a.num('probe-timeout', base.probeTimeoutMs),
      indirectProbeCount: a.num('indirect', base.indirectProbeCount),
    };
    a.done(1);
    this.gossip = onOff === 'on' ? timing : null;
  }

  private cmdPeers(a: Args): void {
    this.requireStarted(a);
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    const v = n.core?.peers() ?? null;
    if (v === null) {
      this.emit(`${n.info.id}: ${n.core === null ? 'down' : 'gossip off'}`);
      return;
    }
    this.emit(`${n.info.id}: incarnation ${v.incarnation}, health ${v.healthScore}`);
    for (const p of v.peers) {
      const route = p.route === null ? 'no route' : 'via' in p.route ? `via ${p.route.via}` : 'direct';
      this.emit(`  ${p.id}: ${p.state} inc ${p.incarnation}, ${route} (last direct probe ${p.directProbe})`);
    }
  }

  private cmdStart(a: Args): void {
    this.requireNotStarted(a);
    a.done(0);
    if (this.nodes.length === 0) throw new ScriptError('start: no formation');
    this.started = true;
    for (const n of this.nodes) this.startNode(n);
  }

  private cmdClock(a: Args): void {
    const n = this.node(a.pos(0, 'member'));
    const rate = a.num('rate', n.clock.rate);
    const offset = a.str('offset');
    a.done(1);
    if (!(rate > 0)) throw new ScriptError('clock: rate must be positive');
    if (offset !== undefined) {
      if (this.started) throw new ScriptError('clock: offset only before start (a monotonic clock never jumps)');
      n.clock.anchorLocal = Number(offset);
    }
    // Re-anchor so that the clock keeps its reading and only its rate changes.
    n.clock = { anchorTrue: this.now, anchorLocal: this.local(n), rate };
    if (n.core !== null && !n.paused) this.scheduleTimer(n);
  }

  private cmdNet(a: Args): void {
    this.delayMs = a.num('delay', this.delayMs);
    this.lossRate = a.num('loss', this.lossRate);
    a.done(0);
    if (!Number.isInteger(this.delayMs) || this.delayMs < 0) throw new ScriptError('net: delay must be a non-negative integer');
  }

  private cmdCibLatency(a: Args): void {
    const n = this.site(a.pos(0, 'site'));
    n.cibLatencyMs = Number(a.pos(1, 'latency'));
    if (!Number.isInteger(n.cibLatencyMs) || n.cibLatencyMs < 0) throw new ScriptError('cib-latency: must be a non-negative integer');
    a.done(2);
  }

  private cmdGuard(a: Args): void {
    const n = this.site(a.pos(0, 'site'));
    const onOff = a.pos(1, 'on|off');
    a.done(2);
    if (onOff !== 'on' && onOff !== 'off') throw new ScriptError(`guard: ${onOff} is neither on nor off`);
    n.guard = onOff === 'on';
    if (n.guard) {
      // A guard started now arms itself from what the CIB holds.
      for (const [ticket, c] of n.cib) {
        if (c.granted && c.revokeBy !== null) this.push({ at: this.trueAt(n, c.revokeBy), kind: 'guard', node: n.idx, ticket, revokeBy: c.revokeBy });
      }
    }
  }

  private cmdTrace(a: Args): void {
    const kind = a.pos(0, 'kind');
    const onOff = a.pos(1, 'on|off');
    if (onOff !== 'on' && onOff !== 'off') throw new ScriptError(`trace: ${onOff} is neither on nor off`);
    if (!(kind in this.trace)) throw new ScriptError(`trace: unknown kind ${kind}`);
    const from = a.positional[2];
    if (from !== undefined && kind !== 'messages') throw new ScriptError('trace: only messages take a member filter');
    a.done(3);
    this.trace[kind as keyof typeof this.trace] = onOff === 'on';
    if (kind === 'messages') this.traceMessagesFrom = from === undefined ? null : this.node(from).info.id;
  }

  // ───────────── lookups ─────────────

  private node(id: string): Node {
    const n = this.nodes.find((x) => x.info.id === id);
    if (n === undefined) throw new ScriptError(`no member ${id}`);
    return n;
  }

  private site(id: string): Node {
    const n = this.node(id);
    if (n.info.kind !== 'site') throw new ScriptError(`${id} is not a site`);
    return n;
  }

  private ticketDef(name: string): TicketDef {
    const d = this.ticketDefs.find((t) => t.name === name);
    if (d === undefined) throw new ScriptError(`no ticket ${name}`);
    return d;
  }

  /** The running leader of the highest term (a paused or dead process leads nobody). */
  private leader(): Node | undefined {
    let best: Node | undefined;
    for (const n of this.nodes) {
      const s = n.core?.status();
      if (s === undefined || s.role !== 'leader' || n.paused) continue;
      if (best === undefined || s.term > best.core!.status().term) best = n;
    }
    return best;
  }

  /** The member named by `who`, or the leader when `who` is undefined or `leader`. */
  private viewer(who: string | undefined): Node | undefined {
    if (who === undefined || who === 'leader') return this.leader();
    return this.node(who);
  }

  // ───────────── clocks and scheduling ─────────────

  local(n: Node, at = this.now): number {
    return Math.floor(n.clock.anchorLocal + n.clock.rate * (at - n.clock.anchorTrue));
  }

  /** The first true millisecond (not before now) at which n's clock reads at least `localMs`. */
  private trueAt(n: Node, localMs: number): number {
    let t = Math.max(this.now, Math.ceil(n.clock.anchorTrue + (localMs - n.clock.anchorLocal) / n.clock.rate));
    while (this.local(n, t) < localMs) t++;
    while (t > this.now && this.local(n, t - 1) >= localMs) t--;
    return t;
  }

  private push(e: DistributiveOmit<Ev, 'seq'>): void {
    this.heap.push({ ...e, seq: this.seq++ });
  }

  private scheduleTimer(n: Node): void {
    const core = n.core;
    if (core === null || n.paused) return;
    n.timerToken += 1;
    const d = core.nextDeadline();
    if (!Number.isFinite(d)) return;
    // A deadline already reached would fire again and again at the same instant: take the next millisecond.
    const at = d <= this.local(n) ? this.now + 1 : this.trueAt(n, d);
    this.push({ at, kind: 'timer', node: n.idx, token: n.timerToken });
  }

  private cmdRun(a: Args): void {
    this.requireStarted(a);
    const d = Number(a.pos(0, 'duration'));
    a.done(1);
    if (!Number.isInteger(d) || d < 0) throw new ScriptError('run: duration must be a non-negative integer (ms)');
    this.runUntil(this.now + d);
  }

  private runUntil(t: number): void {
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.at > t) break;
      this.heap.pop();
      if (e.at === this.now) {
        this.sameTimeEvents += 1;
        if (this.sameTimeEvents > 100_000) throw new Error(`event storm at t=${this.now}: a deadline that never moves on`);
      } else this.sameTimeEvents = 0;
      this.now = e.at;
      this.handle(e);
    }
    this.now = t;
  }

  private handle(e: Ev): void {
    switch (e.kind) {
      case 'deliver': {
        const n = this.nodes[e.to]!;
        // A link cut while the message was in flight loses it too.
        if (n.core === null || this.blocked.has(`${e.hop}>${e.to}`)) return;
        if (e.late) this.stamp(`${e.env.to} receives the delayed ${describeMessage(e.env.msg)} from ${e.env.from}`);
        if (n.paused) {
          n.inbox.push({ kind: 'msg', env: e.env });
          return;
        }
        if (e.env.to !== n.info.id && e.env.via === n.info.id) this.forward(n, e.env);
        else this.feed(n, (c, now) => c.step(e.env, now));
        return;
      }
      case 'timer': {
        const n = this.nodes[e.node]!;
        if (e.token !== n.timerToken || n.paused || n.core === null) return;
        this.feed(n, (c, now) => c.tick(now));
        return;
      }
      case 'cib-done':
        return this.cibDone(this.nodes[e.node]!, e.effect, e.incarnation);
      case 'guard':
        return this.guardFires(this.nodes[e.node]!, e.ticket, e.revokeBy);
      case 'guard-done':
        return this.guardDone(this.nodes[e.node]!, e.update, e.incarnation);
    }
  }

  // ───────────── member lifecycle and the host loop ─────────────

  private startNode(n: Node): void {
    const persisted = loadFrom(n.store);
    const cib: CibTicketState[] = [];
    for (const [name, c] of n.cib) {
      cib.push({ name, granted: c.granted, generation: generation(c.generation), revokeBy: c.revokeBy === null ? null : ms(c.revokeBy) });
    }
    n.incarnation += 1;
    n.role = 'follower';
    const config: CoreConfig = { self: n.info.id, members: this.nodes.map((x) => x.info), tickets: this.ticketDefs, timing: this.timing, limits: defaultLimits };
    const random = n.jitter !== null ? fixedRandom(n.jitter) : new SeededRandom(this.seed * 31 + n.idx * 1009 + n.restarts * 7919);
    const gossip =
      this.gossip === null
        ? {}
        : {
            gossip: {
              timing: this.gossip,
              random: new SeededRandom((this.seed * 53 + n.idx * 7907 + n.restarts * 104_729) ^ 0x90551b),
              auth: fakeClaimAuth(n.info.id),
              incarnation: n.incarnation,
            },
          };
    n.core = new Member(config, { now: ms(this.local(n)), random, snapshotCodec, ...(persisted === undefined ? {} : { persisted }), cib, ...gossip });
    if (this.protocolMinor >= 2) n.core.setBatchGrantPeers(this.nodes.map((x) => x.info.id));
    this.drain(n);
  }

  private feed(n: Node, input: (core: Member, now: ReturnType<typeof ms>) => void): void {
    if (n.core === null || n.paused) return;
    input(n.core, ms(this.local(n)));
    this.drain(n);
  }

  /** ready.ts: persist (synced) → send → effects → advance, until the member has nothing more. */
  private drain(n: Node): void {
    const core = n.core;
    if (core === null) return;
    while (core.hasReady()) {
      const r = core.ready();
      this.persist(n, r.persist);
      for (const env of r.messages) this.send(env);
      this.onEvents(n, r.events);
      for (const effect of r.effects) this.enqueueEffect(n, effect);
      // The guard record is a local file, written beside the CIB queue (as fast as a CIB write here).
      for (const update of r.guard) this.push({ at: this.now + n.cibLatencyMs, kind: 'guard-done', node: n.idx, update, incarnation: n.incarnation });
      core.advance(r);
    }
    this.scheduleTimer(n);
  }

  private persist(n: Node, p: PersistBatch | null): void {
    persistInto(n.store, p);
  }


  private onEvents(n: Node, events: readonly CoreEvent[]): void {
    const id = n.info.id;
    for (const e of events) {
      switch (e.type) {
        case 'role': {
          const was = n.role;
          n.role = e.role;
          if (this.trace.roles) this.stamp(`${id} ${e.role} term ${e.term}${e.leader === null ? '' : ` leader ${e.leader}`}`);
          else if (e.role === 'leader') this.stamp(`${id} becomes leader (term ${e.term})`);
          else if (was === 'leader') this.stamp(`${id} steps down (term ${e.term}, ${e.role})`);
          break;
        }
        case 'applied': {
          if (e.data.type === 'noop' && !this.trace.applied) break;
          if (!this.trace.applied && n.role !== 'leader') break;
          const what = e.ok ? describeEntry(e.data) : `${describeEntry(e.data)} REJECTED ${e.reason ?? ''}`;
          this.stamp(`${id} ${n.role === 'leader' ? 'commits' : 'applies'} #${e.index} ${what}`);
          break;
        }
        case 'command-result': {
          const what = this.commands.get(e.id) ?? '?';
          if (e.ok) this.stamp(`${id} ${e.id} (${what}) ok: ${e.message}`);
          else this.stamp(`${id} ${e.id} (${what}) failed ${e.code ?? ''}: ${e.message}`);
          break;
        }
        case 'lease-lost':
          this.stamp(`${id} lease-lost ${e.ticket} (${e.reason})`);
          break;
        case 'released':
          this.stamp(`${id} hears ${e.site} released ${e.ticket}`);
          break;
        case 'message-ignored':
          this.stamp(`${id} ignores ${e.msgType} from ${e.from}: ${e.reason}`);
          break;
        case 'member-state':
          this.stamp(`${id} sees ${e.member} ${e.state} (inc ${e.incarnation}, by ${e.origin})`);
          break;
        case 'refuted':
          this.stamp(`${id} refutes ${e.origin}'s suspicion (inc ${e.accusedIncarnation} -> ${e.incarnation})`);
          break;
      }
    }
  }

  private cmdCrash(a: Args): void {
    this.requireStarted(a);
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    if (n.core === null) throw new ScriptError(`crash: ${n.info.id} is already down`);
    n.core = null;
    n.paused = false;
    n.inbox = [];
    n.timerToken += 1;
    // CIB writes not yet started die with the agent; the one in progress completes.
    n.cibQueue.dropWaiting();
    this.stamp(`${n.info.id} crashed`);
  }

  private cmdRestart(a: Args): void {
    this.requireStarted(a);
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    if (n.core !== null) throw new ScriptError(`restart: ${n.info.id} is running`);
    n.restarts += 1;
    this.stamp(`${n.info.id} restarts`);
    this.startNode(n);
  }

  private cmdPause(a: Args): void {
    this.requireStarted(a);
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    if (n.core === null || n.paused) throw new ScriptError(`pause: ${n.info.id} is not running`);
    n.paused = true;
    this.stamp(`${n.info.id} paused`);
  }

  private cmdResume(a: Args): void {
    this.requireStarted(a);
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    if (!n.paused) throw new ScriptError(`resume: ${n.info.id} is not paused`);
    n.paused = false;
    const waiting = new Map<string, number>();
    for (const i of n.inbox) {
      const k = i.kind === 'msg' ? i.env.msg.type : i.report.type;
      waiting.set(k, (waiting.get(k) ?? 0) + 1);
    }
    const list = [...waiting.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, c]) => `${k} ×${c}`);
    this.stamp(`${n.info.id} resumes (waiting: ${list.length === 0 ? 'nothing' : list.join(', ')})`);
    const inbox = n.inbox;
    n.inbox = [];
    for (const i of inbox) {
      if (i.kind === 'msg' && i.env.to !== n.info.id && i.env.via === n.info.id) this.forward(n, i.env);
      else if (i.kind === 'msg') this.feed(n, (c, now) => c.step(i.env, now));
      else this.feed(n, (c, now) => c.report(i.report, now));
    }
    this.feed(n, (c, now) => c.tick(now));
  }

  // ───────────── network ─────────────

  private idxOf(id: MemberId): number {
    return this.nodes.findIndex((n) => n.info.id === id);
  }

  /** A relay passes a message on, unchanged, where its core allows (one hop, as the runtime). */
  private forward(relay: Node, env: Envelope): void {
    const to = this.idxOf(env.to);
    const ok = to >= 0 && (relay.core?.canRelayTo(env.to) ?? false);
    const traced = (this.trace.messages && (this.traceMessagesFrom === null || this.traceMessagesFrom === env.from)) || (this.trace.renewals && (env.msg.type === 'renew' || env.msg.type === 'renew-resp'));
    const dropped = !ok || this.blocked.has(`${relay.idx}>${to}`) || (this.lossRate > 0 && this.netRandom.chance(this.lossRate));
    if (traced) this.stamp(`${relay.info.id} relays ${env.from} -> ${env.to} ${describeMessage(env.msg)}${dropped ? ' (dropped)' : ''}`);
    if (dropped) return;
    this.push({ at: this.now + this.delayMs, kind: 'deliver', env, to, late: false, hop: relay.idx });
  }

  private send(env: Envelope): void {
    const from = this.idxOf(env.from);
    const to = env.via === undefined ? this.idxOf(env.to) : this.idxOf(env.via);
    const traced =
      (this.trace.messages && (this.traceMessagesFrom === null || this.traceMessagesFrom === env.from)) ||
      (this.trace.renewals && (env.msg.type === 'renew' || env.msg.type === 'renew-resp'));
    const counts = this.sentCounts.get(env.from);
    if (counts !== undefined) counts.byType.set(env.msg.type, (counts.byType.get(env.msg.type) ?? 0) + 1);
    const dropped = to < 0 || this.blocked.has(`${from}>${to}`) || (this.lossRate > 0 && this.netRandom.chance(this.lossRate));
    if (traced) this.stamp(`${env.from} -> ${env.to}${env.via === undefined ? '' : ` via ${env.via}`} ${describeMessage(env.msg)}${dropped ? ' (dropped)' : ''}`);
    if (dropped) return;
    let extra = 0;
    const slow = this.delayNext.findIndex((d) => d.from === env.from && d.to === env.to && d.type === env.msg.type);
    if (slow >= 0) {
      extra = this.delayNext[slow]!.extraMs;
      this.delayNext.splice(slow, 1);
      this.stamp(`${env.from} -> ${env.to} ${describeMessage(env.msg)} delayed by ${extra} ms more`);
    }
    this.push({ at: this.now + this.delayMs + extra, kind: 'deliver', env, to, late: extra > 0, hop: from });
  }

  private cmdCut(a: Args): void {
    const x = this.node(a.pos(0, 'member'));
    const y = this.node(a.pos(1, 'member'));
    a.done(2);
    this.blocked.add(`${x.idx}>${y.idx}`);
    if (a.name === 'cut') this.blocked.add(`${y.idx}>${x.idx}`);
  }

  private cmdDelayNext(a: Args): void {
    const from = this.node(a.pos(0, 'sender')).info.id;
    const to = this.node(a.pos(1, 'receiver')).info.id;
    const type = a.pos(2, 'message type');
    const extraMs = Number(a.pos(3, 'extra delay'));
    a.done(4);
    if (!Number.isInteger(extraMs) || extraMs < 0) throw new ScriptError('delay-next: the extra delay must be a non-negative integer');
    this.delayNext.push({ from, to, type, extraMs });
  }

  private cmdIsolate(a: Args): void {
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    for (const m of this.nodes) {
      if (m === n) continue;
      this.blocked.add(`${n.idx}>${m.idx}`);
      this.blocked.add(`${m.idx}>${n.idx}`);
    }
  }

  // ───────────── CIB and lease guard ─────────────

  private enqueueEffect(n: Node, effect: TicketEffect): void {
    n.cibQueue.enqueue(effect, n.incarnation);
    this.pumpCib(n);
  }

  private pumpCib(n: Node): void {
    const next = n.cibQueue.take(this.local(n), (late) => {
      this.stamp(`${n.info.id} cib ${late.effect.ticket}: grant not written, revokeBy=${late.effect.revokeBy} has passed`);
      this.report(n, late.incarnation, { type: 'effect-result', id: late.effect.id, ok: false, error: 'expired' });
    });
    if (next === undefined) return;
    this.push({ at: this.now + n.cibLatencyMs, kind: 'cib-done', node: n.idx, effect: next.effect, incarnation: next.incarnation });
  }

  private cibDone(n: Node, effect: TicketEffect, incarnation: number): void {
    n.cibQueue.done();
    this.writeCib(n, effect.ticket, {
      granted: effect.granted,
      standby: effect.standby,
      generation: effect.generation,
      owner: effect.owner,
      revokeBy: effect.granted ? effect.revokeBy : null,
    }, 'agent');
    this.report(n, incarnation, { type: 'effect-result', id: effect.id, ok: true });
    this.pumpCib(n);
  }

  /** A guard update lands: each deadline moves later where the CIB holds a grant of that generation. */
  private guardDone(n: Node, update: GuardUpdate, incarnation: number): void {
    const skipped: string[] = [];
    for (const x of update.extend) {
      const c = n.cib.get(x.ticket);
      if (c === undefined || !c.granted || c.generation !== x.generation || c.revokeBy === null || c.revokeBy <= this.local(n)) {
        this.stamp(`${n.info.id} guard ${x.ticket}: not extended (no live grant of gen ${x.generation})`);
        skipped.push(x.ticket);
        continue;
      }
      if (x.revokeBy <= c.revokeBy) continue;
      this.writeCib(n, x.ticket, { ...c, revokeBy: x.revokeBy }, 'guard update');
    }
    this.report(n, incarnation, { type: 'effect-result', id: update.id, ok: true, skipped });
  }

  /** An effect's outcome goes to the agent incarnation that asked for it, if it still runs. */
  private report(n: Node, incarnation: number, report: Report): void {
    if (n.incarnation !== incarnation || n.core === null) return;
    if (n.paused) n.inbox.push({ kind: 'report', report });
    else this.feed(n, (c, now) => c.report(report, now));
  }

  private writeCib(n: Node, ticket: string, next: CibTicket, by: string): void {
    const prev = n.cib.get(ticket);
    n.cib.set(ticket, next);
    const site = n.info.id;
    const wasGranted = prev?.granted ?? false;
    const changed = wasGranted !== next.granted || (next.granted && prev?.generation !== next.generation) || (prev?.standby ?? false) !== next.standby;
    if (changed) {
      const state = `${next.granted ? 'granted' : 'revoked'}${next.standby ? ' standby' : ''} gen ${next.generation}`;
      const guard = next.granted && next.revokeBy !== null ? ` revokeBy=${next.revokeBy}` : '';
      this.stamp(`${site} cib ${ticket}: ${state}${guard} (${by})`);
    } else if (next.granted && this.trace.renewals && prev?.revokeBy !== next.revokeBy) {
      this.stamp(`${site} cib ${ticket}: revokeBy=${next.revokeBy ?? 'none'} (${by})`);
    }
    this.recordGrant(site, ticket, wasGranted, next);
    if (next.granted && next.revokeBy !== null) {
      this.push({ at: this.trueAt(n, next.revokeBy), kind: 'guard', node: n.idx, ticket, revokeBy: next.revokeBy });
    }
  }

  private guardFires(n: Node, ticket: string, revokeBy: number): void {
    const c = n.cib.get(ticket);
    if (!n.guard || c === undefined || !c.granted || c.revokeBy !== revokeBy) return; // off, extended or revoked since
    if (this.local(n) < revokeBy) {
      // The site's clock rate changed since the guard was armed.
      this.push({ at: this.trueAt(n, revokeBy), kind: 'guard', node: n.idx, ticket, revokeBy });
      return;
    }
    this.writeCib(n, ticket, { ...c, granted: false, revokeBy: null }, `guard at local ${revokeBy}`);
  }

  /** The S1 monitor: grant intervals per ticket on true time, and any instant two sites are granted. */
  private recordGrant(site: MemberId, ticket: string, wasGranted: boolean, next: CibTicket): void {
    const list = this.intervals.get(ticket) ?? [];
    this.intervals.set(ticket, list);
    const open = list.find((i) => i.site === site && i.to === null);
    if (next.granted && !wasGranted) {
      const others = list.filter((i) => i.to === null && i.site !== site);
      if (others.length > 0) this.overlaps.push({ ticket, at: this.now, site, gen: next.generation, others });
      list.push({ site, from: this.now, to: null, gen: next.generation });
    } else if (next.granted && open !== undefined) {
      open.gen = next.generation;
    } else if (!next.granted && open !== undefined) {
      open.to = this.now;
    }
  }

  // ───────────── admin and reports ─────────────

  private cmdAdmin(a: Args): void {
    this.requireStarted(a);
    const who = a.pos(0, 'member or "leader"');
    const n = this.viewer(who);
    const verb = a.pos(1, 'verb');
    const ticket = a.pos(2, 'ticket');
    const id = `cmd-${++this.adminSeq}`;
    let cmd: AdminCommand;
    switch (verb) {
      case 'grant': {
        const site = memberId(a.pos(3, 'site'));
        const force = a.positional[4] === 'force';
        if (a.positional[4] !== undefined && !force) throw new ScriptError(`admin grant: unexpected ${a.positional[4]}`);
        a.done(5);
        cmd = { id, type: 'grant', ticket, site, force };
        break;
      }
      case 'revoke':
      case 'standby':
      case 'activate':
        a.done(3);
        cmd = { id, type: verb, ticket };
        break;
      default:
        throw new ScriptError(`admin: unknown verb ${verb}`);
    }
    this.commands.set(id, describeCommand(cmd));
    if (n === undefined) {
      this.emit(`${id} (${describeCommand(cmd)}): no leader to send it to`);
      return;
    }
    if (n.core === null || n.paused) {
      this.emit(`${id} (${describeCommand(cmd)}): ${n.info.id} does not answer`);
      return;
    }
    this.stamp(`${id} (${describeCommand(cmd)}) -> ${n.info.id}`);
    this.feed(n, (c, now) => c.command(cmd, now));
  }

  private cmdHealth(a: Args): void {
    this.requireStarted(a);
    const n = this.site(a.pos(0, 'site'));
    const health = { quorate: a.bool('quorate', true), handlersOk: a.bool('handlers', true), unrunnable: [] };
    a.done(1);
    if (n.core === null) throw new ScriptError(`health: ${n.info.id} is down`);
    const report: Report = { type: 'health', health };
    if (n.paused) n.inbox.push({ kind: 'report', report });
    else this.feed(n, (c, now) => c.report(report, now));
  }

  // ───────────── output ─────────────

  private cmdStatus(a: Args): void {
    a.done(0);
    for (const n of this.nodes) {
      const id = n.info.id;
      if (n.core === null) {
        this.emit(`${id}: down`);
        continue;
      }
      const s = n.core.status();
      const parts = [`${s.role} term ${s.term}`];
      if (s.role !== 'leader') parts.push(`leader ${s.leader ?? 'none'}`);
      parts.push(`commit ${s.commit}/${s.lastIndex}`);
      if (s.leaderLeaseEnd !== null) {
        parts.push(Number.isFinite(s.leaderLeaseEnd) ? `leader-lease until local ${s.leaderLeaseEnd}` : 'no leader-lease');
      }
      this.emit(`${id}: ${n.paused ? 'PAUSED ' : ''}${parts.join(', ')}`);
    }
  }

  private cmdClocks(a: Args): void {
    a.done(0);
    for (const n of this.nodes) this.emit(`${n.info.id}: local ${this.local(n)} (rate ${n.clock.rate})`);
  }

  private cmdTickets(a: Args): void {
    const n = this.viewer(a.positional[0]);
    a.done(1);
    if (n?.core === undefined || n.core === null) {
      this.emit('no leader');
      return;
    }
    for (const t of n.core.tickets()) {
      const attrs = Object.entries(t.attrs).map(([k, v]) => ` ${k}=${v}`).join('');
      const flags = `${t.managed ? '' : ' unmanaged'}${t.standby ? ' standby' : ''}`;
      this.emit(`${t.def.name}: holder ${t.holder ?? 'none'} gen ${t.generation} ${t.def.mode}${flags}${attrs} (seen by ${n.info.id})`);
    }
  }

  private cmdLeases(a: Args): void {
    const n = this.viewer(a.positional[0]);
    a.done(1);
    if (n?.core === undefined || n.core === null) {
      this.emit('no leader');
      return;
    }
    const nowLocal = this.local(n);
    for (const d of this.ticketDefs) {
      const v = n.core.leaseView(d.name);
      if (v === undefined) this.emit(`${d.name}: no lease view (at ${n.info.id})`);
      else {
        const left = v.until - nowLocal;
        this.emit(`${d.name}: ${v.holder} gen ${v.generation} until local ${v.until} (${left > 0 ? `${left} ms left` : 'expired'}, at ${n.info.id})`);
      }
    }
  }

  private cmdHolderView(a: Args): void {
    const n = this.site(a.pos(0, 'site'));
    const only = a.positional[1];
    a.done(2);
    if (n.core === null) {
      this.emit(`${n.info.id}: down`);
      return;
    }
    for (const d of this.ticketDefs) {
      if (only !== undefined && d.name !== only) continue;
      const v = n.core.holderView(d.name);
      if (v === undefined) {
        this.emit(`${d.name}: nothing`);
        continue;
      }
      const lease = v.leaseEnd === null ? 'no lease' : `lease until local ${v.leaseEnd}, revoke at ${v.leaseEnd - d.revokeLeadMs}`;
      this.emit(`${d.name}: gen ${v.gen ?? 'none'} ${v.granted ? 'granted' : 'revoked'}${v.confirmed ? '' : ' (unconfirmed)'}, ${lease} (local now ${this.local(n)})`);
    }
  }

  private cmdCib(a: Args): void {
    const sites = a.positional.length > 0 ? a.positional.map((s) => this.site(s)) : this.nodes.filter((n) => n.info.kind === 'site');
    a.done(sites.length);
    for (const n of sites) {
      if (n.cib.size === 0) {
        this.emit(`${n.info.id}: empty`);
        continue;
      }
      for (const [name, c] of n.cib) {
        const guard = c.granted && c.revokeBy !== null ? ` revokeBy=${c.revokeBy} (local now ${this.local(n)})` : '';
        this.emit(`${n.info.id}: ${name} ${c.granted ? 'granted' : 'revoked'}${c.standby ? ' standby' : ''} gen ${c.generation} owner ${c.owner ?? 'none'}${guard}`);
      }
    }
  }

  private cmdSent(a: Args): void {
    const n = this.node(a.pos(0, 'member'));
    a.done(1);
    const c = this.sentCounts.get(n.info.id);
    if (c !== undefined) {
      const types = [...c.byType.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
      this.emit(`${n.info.id} sent since t=${c.since}: ${types.length === 0 ? 'nothing' : types.map(([t, k]) => `${t} ×${k}`).join(', ')}`);
    }
    this.sentCounts.set(n.info.id, { since: this.now, byType: new Map() });
  }

  private cmdCibHistory(a: Args): void {
    const only = a.positional[0];
    a.done(1);
    for (const d of this.ticketDefs) {
      if (only !== undefined && d.name !== only) continue;
      const list = [...(this.intervals.get(d.name) ?? [])].sort((x, y) => x.from - y.from);
      if (list.length === 0) {
        this.emit(`${d.name}: never granted`);
        continue;
      }
      let prev: GrantInterval | undefined;
      for (const i of list) {
        if (prev !== undefined && prev.site !== i.site) {
          // An interval still open overlaps everything that starts after it.
          const gap = i.from - (prev.to ?? Number.POSITIVE_INFINITY);
          const what = gap >= 0 ? `gap ${gap} ms` : Number.isFinite(gap) ? `OVERLAP ${-gap} ms` : 'OVERLAP (both still granted)';
          this.emit(`${d.name}: handover ${prev.site} -> ${i.site}: ${what}`);
        }
        this.emit(`${d.name}: ${i.site} gen ${i.gen} granted t=${i.from} .. ${i.to === null ? 'now' : `t=${i.to}`}`);
        prev = i;
      }
    }
  }

  private cmdHistory(a: Args): void {
    const ticket = a.pos(0, 'ticket');
    const n = this.viewer(a.positional[1]);
    a.done(2);
    if (n?.core === undefined || n.core === null) {
      this.emit('no leader');
      return;
    }
    for (const h of n.core.history(ticket)) {
      this.emit(`entry ${h.index}: ${h.change} holder ${h.holder ?? 'none'} gen ${h.generation} (${describeCause(h.cause)})`);
    }
  }

  private cmdExpectLeader(a: Args): void {
    const want = a.pos(0, 'member');
    a.done(1);
    const l = this.leader();
    if (l?.info.id === want) this.emit('ok');
    else this.emit(`FAIL: leader is ${l?.info.id ?? 'none'}, expected ${want}`);
  }

  private cmdExpectHolder(a: Args): void {
    const ticket = a.pos(0, 'ticket');
    const want = a.pos(1, 'site or none');
    a.done(2);
    this.ticketDef(ticket);
    const l = this.leader();
    if (l === undefined) {
      this.emit('FAIL: no leader');
      return;
    }
    const holder = l.core!.ticket(ticket)?.holder ?? 'none';
    if (holder === want) this.emit('ok');
    else this.emit(`FAIL: ${ticket} is held by ${holder} (seen by ${l.info.id}), expected ${want}`);
  }

  private cmdExpectCib(a: Args): void {
    const ticket = a.pos(0, 'ticket');
    const n = this.site(a.pos(1, 'site'));
    a.done(2);
    this.ticketDef(ticket);
    const granted = n.cib.get(ticket)?.granted ?? false;
    const want = a.name === 'expect-cib-granted';
    if (granted === want) this.emit('ok');
    else this.emit(`FAIL: ${ticket} is ${granted ? 'granted' : 'not granted'} in ${n.info.id}'s CIB`);
  }

  private cmdExpectNoDoubleGrant(a: Args): void {
    const only = a.positional[0];
    a.done(1);
    if (only !== undefined) this.ticketDef(only);
    const bad = this.overlaps.filter((o) => only === undefined || o.ticket === only);
    if (bad.length === 0) {
      this.emit('ok');
      return;
    }
    for (const o of bad) {
      const others = o.others.map((i) => `${i.site} (gen ${i.gen}, granted t=${i.from} .. ${i.to === null ? 'now' : `t=${i.to}`})`).join(', ');
      this.emit(`FAIL: ${o.ticket} granted at ${o.site} (gen ${o.gen}) at t=${o.at} while granted at ${others}`);
    }
  }
}
