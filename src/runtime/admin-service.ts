// Answers admin requests (from the local UNIX socket, from a remote admin
// client that signed with a configured admin key, or forwarded by another
// member) against the running core: reads are linearizable by default (the
// leader answers while it holds its leader lease), `local` reads answer from
// this member's committed state; commands go to the leader, forwarded over the
// transport when this member does not lead. A remote admin client's request
// is handled like a local one (forwarded when needed); a member's forwarded
// request is answered here or refused, never forwarded again.

import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { HistoryRecord, TicketState } from '../core/tickets/ticket-table.js';
import type { AdminCommand, CommandErrorCode } from '../core/ready.js';
import type { Requester } from '../core/messages.js';
import type { MemberId, MemberKind, TicketDef } from '../core/types.js';
import type { CoreTiming } from '../core/config.js';
import { parseRequester, parseTicketDef } from '../wire/message-schema.js';
import type { MemberStatus, SiteHealthSeen } from '../core/member.js';
import type { SwimView } from '../core/gossip/view.js';
import type { AdminFrame, MonotonicClock, PeerStatus, Transport } from '../ports/ports.js';
import type { Pump } from './pump.js';
import { envelopeOverheadBytesMax, messageBytesMaxDefault } from '../wire/envelope.js';
import { formatProtocolVersion, protocolVersion } from '../wire/protocol-version.js';

/** The largest admin reply body sent over the network: the frame cap less the envelope around it. */
export const replyBodyBytesMax = messageBytesMaxDefault - envelopeOverheadBytesMax;

export const adminOps = [
  'list',
  'status',
  'fingerprint',
  'peers',
  'history',
  'resources',
  'quorum',
  'grant',
  'revoke',
  'standby',
  'activate',
  'attr-set',
  'attr-get',
  'attr-delete',
  // Issue 11: the committed formation config, and the ticket changes `config apply` makes.
  'config-show',
  'ticket-add',
  'ticket-change',
  'ticket-remove',
  'member-add',
  'member-remove',
  'member-replace',
] as const;
export type AdminOp = (typeof adminOps)[number];

export interface AdminRequest {
  readonly op: AdminOp;
  readonly ticket?: string;
  readonly site?: string;
  readonly force?: boolean;
  readonly key?: string;
  readonly value?: string;
  /** Answer from this member's own committed state instead of asking the leader. */
  readonly local?: boolean;
  /** ticket-add, ticket-change: the ticket's definition (checked with the wire schema's ticket parser). */
  readonly def?: TicketDef;
  /** Config changes: refused unless the committed config is at this version (compare-and-set). */
  readonly expectedVersion?: number;
  /** ticket-remove: revoke a held ticket first, and remove it once its holder's lease has run out. */
  readonly revokeFirst?: boolean;
  /** member-add, member-remove, member-replace: the member (its address); replace: the one leaving. */
  readonly address?: string;
  /** member-remove with force: the majority is lost for good and the member is fenced; run on a survivor (docs/operations.md §8 (disaster recovery)). */
  readonly confirmFenced?: boolean;
  /** member-replace: the member that takes `address`'s place. */
  readonly newAddress?: string;
  /** member-add (and replace, default: the leaving member's): site or arbitrator. */
  readonly role?: string;
  /** member-add, member-replace: the joining member's Ed25519 public key, base64 of its 32 raw bytes. */
  readonly publicKey?: string;
  /** history: only records whose leader wall time (wallMs) is at or after this, ms since the Unix epoch. */
  readonly sinceMs?: number;
  /** The user name the client says it runs as: a hint, recorded as `claimedUser` beside the kernel's word when they differ. */
  readonly user?: string;
  /**
   * Who asked, as the member that received the request established it: set by
   * this service, and accepted from a request body only when another member
   * forwarded it (signed by that member); a client's own is dropped (check).
   */
  readonly requester?: Requester;
}

/**
 * Where a request came from, as the receiving end knows it (for the audit
 * history): the local socket, whose peer's credentials are asked of the
 * kernel only when a command needs them (reads never ask; it costs a process,
 * src/adapters/peer-credentials.ts), or an admin key whose signature the
 * transport verified.
 */
export type RequestSource =
  | { readonly via: 'socket'; readonly credentials: () => Promise<{ readonly pid: number; readonly uid: number; readonly user: string | null }> }
  | { readonly via: 'admin-key'; readonly keyId: string };

/**
 * One record of the `history` answer: the table's record (ticket-table.ts
 * HistoryRecord: index, ticket, change, holder, generation, cause with its
 * requester or detail, wallMs) and, when the entry carries a time, that time
 * as text. Additive: fields are only ever added (the status page reads it).
 */
export interface HistoryView extends HistoryRecord {
  /**
   * ISO 8601 in UTC of wallMs: when the leader appended the entry to its log,
   * on that leader's wall clock — before replication, so a round trip before
   * the commit. Absent when the entry carries no time (older leader).
   */
  readonly appendedAt?: string;
  /** Whose clock appendedAt was read from: the leader's that appended the entry (members' clocks are not synchronised). */
  readonly clock?: 'leader';
}

/** The `history` answer's records, oldest first, from `sinceMs` on (records without a time are left out then). */
export function historyViews(records: readonly HistoryRecord[], sinceMs?: number): HistoryView[] {
  const kept = sinceMs === undefined ? records : records.filter((h) => h.wallMs !== undefined && h.wallMs >= sinceMs);
  return kept.map((h) => (h.wallMs === undefined ? h : { ...h, appendedAt: new Date(h.wallMs).toISOString(), clock: 'leader' }));
}

/**
 * A requester as every member's wire schema will take it in a log entry, or
 * why not: an entry a follower refuses would stop its replication for good
 * (message-schema.ts), so nothing the schema refuses may reach the leader's log.
 */
function fitForTheLog(r: Requester): { requester: Requester | null; problem: string | null } {
  const parsed = parseRequester(r);
  return parsed.ok ? { requester: parsed.requester, problem: null } : { requester: null, problem: `requester not recordable: ${parsed.reason}` };
}

/** `config show`'s answer (issue 11): the formation config the registry has committed. */
export interface CommittedConfigData {
  readonly version: number;
  readonly members: ReadonlyArray<{ readonly address: string; readonly role: MemberKind }>;
  readonly tickets: ReadonlyArray<TicketDef & { readonly holder: string | null; readonly generation: number; readonly leaseDurationHonouredMs?: number }>;
  readonly timing: CoreTiming | null;
}

/**
 * Why an admin request failed: a stable, machine-readable code (the CLI maps
 * them to exit codes, booth's client to its own). The core's command codes,
 * and those this service and its clients add.
 */
export type AdminErrorCode =
  | CommandErrorCode
  /** The ticket has no such attribute (`attr get`). */
  | 'no-such-attribute'
  /** This member cannot answer that (no Pacemaker feed, no quorum guardian, an arbitrator asked for a site). */
  | 'unsupported'
  /** The cluster state could not be read (crm_mon, cibadmin). */
  | 'cluster-error'
  /** No leader is known: no majority reachable. */
  | 'no-leader'
  /** The leader did not answer a forwarded request in time. */
  | 'timeout'
  /** The handler threw: a bug. */
  | 'internal'
  /** The answer does not fit in one frame (replyBodyBytesMax): ask over the member's local socket, or for less. */
  | 'too-large'
  /** The client could not reach the member at all (set by the CLI, never sent). */
  | 'unreachable';

export interface AdminResponse {
  readonly ok: boolean;
  /** Stable machine-readable code on failure. */
  readonly code?: AdminErrorCode;
  readonly message: string;
  readonly answeredBy: string;
  readonly data?: unknown;
}

export interface TicketView {
  readonly name: string;
  readonly mode: TicketDef['mode'];
  readonly holder: string | null;
  readonly generation: number;
  readonly standby: boolean;
  readonly managed: boolean;
  readonly attrs: Readonly<Record<string, string>>;
  readonly leaseDurationMs: number;
  /** Lease left as this member sees it (the leader's view, or the holder's own); null when unknown. */
  readonly leaseLeftMs: number | null;
  /** At a site, in a local view: whether this site's ticket sink has the ticket granted (confirmed write). */
  readonly grantedHere: boolean | null;
  /** In a local view: from this member's applied log, or a newer commit learned by gossip (issue 5). */
  readonly source?: 'table' | 'gossip';
}

/** The `peers` answer: the transport's links, the gossip view (null when gossip is off) and site health. */
export interface PeersView {
  readonly self: string;
  readonly status: MemberStatus;
  readonly peers: readonly PeerStatus[];
  readonly gossip: SwimView | null;
  readonly health: readonly SiteHealthSeen[];
  /** This member's protocol version, major.minor (wire/protocol-version.ts); absent from older members. */
  readonly protocol?: string;
  /** This member's monotonic clock when it answered, so that a client can date PeerStatus.lastRecvAt. */
  readonly nowMs?: number;
}

/** Bound on how long a forwarded request waits for the leader's answer. */
export const forwardTimeoutMs = 5_000;
/** After a leadership handover (removing the leader): how long to wait for the new leader, and how often to look. */
const handoverWaitMs = 10_000;
const handoverPollMs = 100;
/** A member's address as the config names it (a host name or an IP literal; src/config member ids). */
const memberAddress = /^[A-Za-z0-9.:_\-[\]]{1,64}$/;
/** Base64 of a 32-byte key: 43 characters and one '='. */
const publicKeyBase64 = /^[A-Za-z0-9+/]{43}=$/;
const ed25519PublicKeyBytes = 32;

function isMemberOp(op: AdminOp): op is 'member-add' | 'member-remove' | 'member-replace' {
  return op === 'member-add' || op === 'member-remove' || op === 'member-replace';
}
const admitChars = 256;

export interface AdminServiceComponents {
  readonly self: MemberId;
  readonly pump: Pump;
  readonly transport: Transport;
  readonly clock: MonotonicClock;
  /** Formation facts for status output. */
  readonly describe: () => Record<string, unknown>;
  /** Whether this member is a site (a grant without a site means "here"). */
  readonly isSite: boolean;
  /** At a site with the Pacemaker feed: the ticket's rsc_ticket resources and which are active here. */
  readonly resources?: (ticket: string) => Promise<TicketResources>;
  /** At a site running the quorum guardian: its status (src/guardian/guardian-loop.ts). */
  readonly quorum?: () => unknown;
}

/** What a site's cluster runs of a ticket's resources (for `tollbooth move`). */
export interface TicketResources {
  /** The resources rsc_ticket constraints tie to the ticket. */
  readonly resources: readonly string[];
  /** Instances of them that are active at this site, with their parents (group, clone), role and node(s). */
  readonly active: ReadonlyArray<{ readonly id: string; readonly parents: readonly string[]; readonly role: string; readonly nodes: readonly string[] }>;
}

export class AdminService {
  private readonly pending = new Map<string, (r: AdminResponse) => void>();

  constructor(private readonly c: AdminServiceComponents) {
    c.transport.onAdmin((f) => this.onFrame(f));
  }

  /** The protocol version this member announces: its transport's, else this build's. */
  private protocol(): string {
    return this.c.transport.protocol ?? formatProtocolVersion(protocolVersion);
  }

  /** Validates an untrusted request body; returns a problem or null. */
  static check(body: unknown): AdminRequest | string {
    if (typeof body !== 'object' || body === null) return 'request must be a JSON object';
    const r = body as Record<string, unknown>;
    if (typeof r.op !== 'string' || !(adminOps as readonly string[]).includes(r.op)) return `unknown op ${JSON.stringify(r.op)}`;
    for (const k of ['ticket', 'site', 'key', 'value', 'address', 'newAddress', 'role', 'publicKey', 'user'] as const) {
      const v = r[k];
      if (v !== undefined && (typeof v !== 'string' || v.length > admitChars)) return `${k} must be a string of at most ${admitChars} characters`;
    }
    for (const k of ['force', 'local', 'revokeFirst', 'confirmFenced'] as const) if (r[k] !== undefined && typeof r[k] !== 'boolean') return `${k} must be true or false`;
    if (r.expectedVersion !== undefined && !(Number.isSafeInteger(r.expectedVersion) && (r.expectedVersion as number) >= 0)) return 'expectedVersion must be a non-negative integer';
    if (r.sinceMs !== undefined && !(Number.isSafeInteger(r.sinceMs) && (r.sinceMs as number) >= 0)) return 'sinceMs must be a non-negative integer (ms since the Unix epoch)';
    // Who asked is never the client's to say: only this service sets it (handle), or a member that forwards (onFrame).
    const { requester: _claimed, ...rest } = r;
    if (rest.def !== undefined) {
      const def = parseTicketDef(rest.def);
      if (!def.ok) return def.reason;
      if (rest.ticket !== undefined && rest.ticket !== def.def.name) return `ticket ${JSON.stringify(rest.ticket)} and def.name ${JSON.stringify(def.def.name)} differ`;
      return { ...(rest as unknown as AdminRequest), def: def.def };
    }
    return rest as unknown as AdminRequest;
  }

  /**
   * Who asked for a command received here (RequestSource), for its history
   * entries; null when unknown (no source: a caller that does not say, as
   * tests; or the kernel could not be asked — then `problem` says why, and the
   * command still runs: an admin in an emergency must not be stopped by the
   * audit trail).
   */
  private async requesterOf(req: AdminRequest, source: RequestSource | undefined): Promise<{ requester: Requester | null; problem: string | null }> {
    if (source === undefined) return { requester: null, problem: null };
    if (source.via === 'admin-key') return fitForTheLog({ via: 'admin-key', member: this.c.self, keyId: source.keyId });
    let c: Awaited<ReturnType<typeof source.credentials>>;
    try {
      c = await source.credentials();
    } catch (err) {
      return { requester: null, problem: err instanceof Error ? err.message : String(err) };
    }
    const verified: Requester = { via: 'socket', member: this.c.self, uid: c.uid, user: c.user, pid: c.pid };
    if (req.user === undefined || req.user === '' || req.user === c.user) return fitForTheLog(verified);
    // The client's claim is only a hint: one the wire would refuse (a control character, too long) is left out, not the record.
    const claimed = fitForTheLog({ ...verified, claimedUser: req.user });
    return claimed.requester !== null ? claimed : fitForTheLog(verified);
  }

  /**
   * Answers one request. `forwarded`: another member sent it (its `requester`
   * stands, it is never forwarded again); `source`: where a request received
   * here came from, resolved into its requester for commands.
   */
  async handle(req: AdminRequest, forwarded = false, source?: RequestSource): Promise<AdminResponse> {
    const core = this.c.pump.core;
    const me = this.c.self;
    switch (req.op) {
      case 'status':
        if (req.site !== undefined && req.site !== me && !forwarded) return this.ask(req.site as MemberId, { op: 'status' });
        // `pump`: network input dropped under a flood, and what waits now (src/runtime/pump.ts).
        return { ok: true, message: 'status', answeredBy: me, data: { ...core.status(), protocol: this.protocol(), ...this.c.describe(), pump: this.c.pump.stats(), tickets: this.views(core.tickets(), true) } };
      case 'resources': {
        if (req.site !== undefined && req.site !== me && !forwarded) return this.ask(req.site as MemberId, { op: 'resources', ...(req.ticket === undefined ? {} : { ticket: req.ticket }) });
        if (req.ticket === undefined) return { ok: false, code: 'invalid', message: 'resources needs a ticket', answeredBy: me };
        if (this.c.resources === undefined) {
          return { ok: false, code: 'unsupported', message: `${me} has no Pacemaker feed to ask (${this.c.isSite ? 'file ticket sink' : 'an arbitrator'})`, answeredBy: me };
        }
        try {
          return { ok: true, message: 'resources', answeredBy: me, data: await this.c.resources(req.ticket) };
        } catch (err) {
          return { ok: false, code: 'cluster-error', message: `cannot read the cluster state: ${(err as Error).message}`, answeredBy: me };
        }
      }
      case 'quorum':
        // This member's own guardian, never forwarded: it is about this site's cluster.
        if (this.c.quorum === undefined) {
          return { ok: false, code: 'unsupported', message: `${me} runs no quorum guardian (site-agent --quorum-guardian FILE)`, answeredBy: me };
        }
        return { ok: true, message: 'quorum', answeredBy: me, data: this.c.quorum() };
      case 'fingerprint':
        // Small on purpose: members compare configs with it at start-up, whatever the table's size.
        return { ok: true, message: 'fingerprint', answeredBy: me, data: { fingerprint: this.c.describe().fingerprint } };
      case 'peers':
        // Another member's view (`booth peers -s SITE`), asked over the transport as `status` is.
        if (req.site !== undefined && req.site !== me && !forwarded) return this.ask(req.site as MemberId, { op: 'peers' });
        // Links as the transport sees them, members as gossip sees them (DESIGN.md §3.4), site health as gossip spread it.
        return {
          ok: true,
          message: 'peers',
          answeredBy: me,
          data: { self: me, status: core.status(), peers: this.c.transport.peers(), gossip: core.peers(), health: core.siteHealth(), protocol: this.protocol(), nowMs: this.c.clock.now() } satisfies PeersView,
        };
      case 'config-show': {
        // As list: linearizable at the leader by default, this member's own committed state with local.
        if (req.local !== true && core.readLinearizable(this.c.clock.now()) === null) return forwarded ? this.notLeader() : this.forward(req);
        return { ok: true, message: 'config', answeredBy: me, data: this.committedConfig() };
      }
      case 'list':
      case 'history':
      case 'attr-get': {
        if (req.local === true && req.op === 'list') return { ok: true, message: 'list', answeredBy: me, data: this.localViews() };
        const tickets = req.local === true ? core.tickets() : core.readLinearizable(this.c.clock.now());
        if (tickets === null) {
          if (forwarded) return this.notLeader();
          return this.forward(req);
        }
        if (req.op === 'list') return { ok: true, message: 'list', answeredBy: me, data: this.views(tickets, req.local === true) };
        if (req.op === 'history') return { ok: true, message: 'history', answeredBy: me, data: historyViews(core.history(req.ticket), req.sinceMs) };
        const t = tickets.find((x) => x.def.name === req.ticket);
        if (t === undefined) return { ok: false, code: 'no-such-ticket', message: `no ticket ${req.ticket ?? ''}`, answeredBy: me };
        const key = req.key ?? '';
        if (!Object.hasOwn(t.attrs, key)) return { ok: false, code: 'no-such-attribute', message: `ticket ${t.def.name} has no attribute ${key}`, answeredBy: me };
        return { ok: true, message: 'attr', answeredBy: me, data: t.attrs[key] };
      }
      default: {
        if (req.op === 'grant' && req.site === undefined && !forwarded) {
          // "Grant it here": here is where the command was run, not the leader it is forwarded to.
          if (!this.c.isSite) return { ok: false, code: 'invalid', message: 'this member is an arbitrator: name the site with --site', answeredBy: me };
          req = { ...req, site: me };
        }
        const checked = this.toCommand(req);
        if (typeof checked === 'string') return { ok: false, code: 'invalid', message: checked, answeredBy: me };
        let unknownRequester = '';
        if (!forwarded) {
          // Established here, where the request arrived, and carried along if it is forwarded to the leader.
          const { requester, problem } = await this.requesterOf(req, source);
          const { requester: _none, ...rest } = req;
          req = requester === null ? rest : { ...rest, requester };
          if (problem !== null) unknownRequester = ` (who asked is not recorded: ${problem})`;
        }
        const cmd: AdminCommand = req.requester === undefined ? checked : { ...checked, requester: req.requester };
        if (cmd.type === 'member-remove' && cmd.confirmFenced === true) return this.forcedRemoval(cmd, forwarded, unknownRequester);
        if (core.status().role !== 'leader') return forwarded ? this.notLeader() : this.forward(req);
        const r = await this.c.pump.command(cmd, forwardTimeoutMs);
        // Removing the leader hands leadership over first: the new leader takes the change once elected.
        if (!r.ok && r.code === 'not-leader' && !forwarded && isMemberOp(req.op)) return this.forwardOnceLed(req);
        if (!r.ok && r.code === 'not-leader' && !forwarded) return this.forward(req);
        return { ok: r.ok, ...(r.code === undefined ? {} : { code: r.code }), message: r.message + unknownRequester, answeredBy: me, data: { index: r.index ?? null } };
      }
    }
  }

  /** member remove --confirm-fenced: decided by this survivor alone, never by a leader (src/core/forced-removal.ts). */
  private async forcedRemoval(cmd: AdminCommand, forwarded: boolean, unknownRequester: string): Promise<AdminResponse> {
    const me = this.c.self;
    if (forwarded) return { ok: false, code: 'invalid', message: `--confirm-fenced is run on the survivor itself (its admin socket), never forwarded to ${me}`, answeredBy: me };
    const r = await this.c.pump.command(cmd, forwardTimeoutMs);
    return { ok: r.ok, ...(r.code === undefined ? {} : { code: r.code }), message: r.message + unknownRequester, answeredBy: me, data: { index: r.index ?? null } };
  }

  private notLeader(): AdminResponse {
    const leader = this.c.pump.core.status().leader;
    return { ok: false, code: 'not-leader', message: leader === null ? 'no leader known' : `the leader is ${leader}`, answeredBy: this.c.self };
  }

  private toCommand(req: AdminRequest): AdminCommand | string {
    const id = randomUUID();
    if (isMemberOp(req.op)) return this.memberCommand(id, req);
    const ticket = req.ticket;
    if (ticket === undefined || ticket === '') return `${req.op} needs a ticket`;
    switch (req.op) {
      case 'grant': {
        const site = req.site ?? this.c.self;
        return { id, type: 'grant', ticket, site: site as MemberId, force: req.force === true };
      }
      case 'revoke':
        return { id, type: 'revoke', ticket };
      case 'standby':
        return { id, type: 'standby', ticket };
      case 'activate':
        return { id, type: 'activate', ticket };
      case 'attr-set':
        if (req.key === undefined || req.value === undefined) return 'attr set needs a name and a value';
        return { id, type: 'attr-set', ticket, key: req.key, value: req.value };
      case 'attr-delete':
        if (req.key === undefined) return 'attr delete needs a name';
        return { id, type: 'attr-delete', ticket, key: req.key };
      case 'ticket-add':
      case 'ticket-change': {
        if (req.def === undefined) return `${req.op} needs a ticket definition (def)`;
        return { id, type: req.op, def: req.def, ...(req.expectedVersion === undefined ? {} : { expectedVersion: req.expectedVersion }) };
      }
      case 'ticket-remove':
        return { id, type: 'ticket-remove', ticket, revokeFirst: req.revokeFirst === true, ...(req.expectedVersion === undefined ? {} : { expectedVersion: req.expectedVersion }) };
      default:
        return `${req.op} is not a command`;
    }
  }

  /** The committed formation config as this member has applied it (`config show`). */
  committedConfig(): CommittedConfigData {
    const core = this.c.pump.core;
    const c = core.committedConfig();
    const states = new Map(core.tickets().map((t) => [t.def.name, t]));
    return {
      version: c.version,
      members: c.members.map((m) => ({ address: m.id, role: m.kind })),
      tickets: c.tickets.map((def) => {
        const t = states.get(def.name);
        const honoured = t?.leaseDurationHonouredMs;
        return { ...def, holder: t?.holder ?? null, generation: t?.generation ?? 0, ...(honoured === undefined ? {} : { leaseDurationHonouredMs: honoured }) };
      }),
      timing: c.timing,
    };
  }

  /**
   * `list --local`: this member's committed state, or a newer commit the
   * leader published by gossip (marked `gossip`; its lease left is the
   * leader's figure at publication, aged on this member's clock).
   */
  localViews(): TicketView[] {
    const core = this.c.pump.core;
    const now = this.c.clock.now();
    const local = core.localTickets();
    const views = this.views(
      local.map((v) => v.state),
      true,
    );
    return views.map((view, i) => {
      if (local[i]!.source === 'table') return { ...view, source: 'table' };
      const seen = core.ticketSeen(view.name);
      const left = seen?.leaseLeftMs === null || seen === undefined ? null : Math.max(0, seen.leaseLeftMs - (now - seen.receivedAt));
      return { ...view, leaseLeftMs: left, source: 'gossip' };
    });
  }

  views(tickets: readonly TicketState[], local: boolean): TicketView[] {
    const core = this.c.pump.core;
    const now = this.c.clock.now();
    return tickets.map((t) => {
      let left: number | null = null;
      const lease = core.leaseView(t.def.name);
      if (lease !== undefined && lease.holder === t.holder) left = Math.max(0, lease.until - now);
      const own = core.holderView(t.def.name);
      if (local && own?.leaseEnd !== null && own?.leaseEnd !== undefined && t.holder === this.c.self) left = Math.max(0, own.leaseEnd - now);
      return {
        name: t.def.name,
        mode: t.def.mode,
        holder: t.holder,
        generation: t.generation,
        standby: t.standby,
        managed: t.managed,
        attrs: t.attrs,
        leaseDurationMs: t.def.leaseDurationMs,
        leaseLeftMs: left,
        grantedHere: local && own !== undefined ? own.granted && own.confirmed : null,
      };
    });
  }

  /** member add / remove / replace (docs/operations.md §8): checked here, decided by the leader. */
  private memberCommand(id: string, req: AdminRequest): AdminCommand | string {
    const address = req.address;
    if (address === undefined || !memberAddress.test(address)) return `${req.op} needs the member's address (1-64 characters: letters, digits, '.', ':', '-', '_'), got ${JSON.stringify(address ?? null)}`;
    if (req.op === 'member-remove') return { id, type: 'member-remove', member: address as MemberId, force: req.force === true, ...(req.confirmFenced === true ? { confirmFenced: true } : {}) };
    const joining = req.op === 'member-add' ? address : req.newAddress;
    if (joining === undefined || !memberAddress.test(joining)) return `${req.op} needs the new member's address, got ${JSON.stringify(joining ?? null)}`;
    const key = req.publicKey;
    if (key === undefined || !publicKeyBase64.test(key) || Buffer.from(key, 'base64').length !== ed25519PublicKeyBytes) {
      return `--key must be the new member's Ed25519 public key: base64 of 32 bytes (44 characters, as tollbooth-member-key lines), got ${JSON.stringify(key ?? null)}`;
    }
    const role = req.role ?? (req.op === 'member-replace' ? this.c.pump.core.status().members.find((m) => m.id === address)?.kind : undefined);
    if (role !== 'site' && role !== 'arbitrator') return `--role must be site or arbitrator, got ${JSON.stringify(role ?? null)}`;
    const member = { id: joining as MemberId, kind: role, key } as const;
    return req.op === 'member-add' ? { id, type: 'member-add', member } : { id, type: 'member-replace', old: address as MemberId, member, force: req.force === true };
  }

  /** After a leadership handover: waits (bounded) for another leader, then asks it. */
  private async forwardOnceLed(req: AdminRequest): Promise<AdminResponse> {
    const end = this.c.clock.now() + handoverWaitMs;
    for (;;) {
      const leader = this.c.pump.core.status().leader;
      if (leader !== null && leader !== this.c.self) return this.ask(leader, req);
      if (this.c.clock.now() >= end) return { ok: false, code: 'no-leader', message: `leadership was handed over, but no new leader within ${handoverWaitMs} ms; ask again`, answeredBy: this.c.self };
      await new Promise((resolve) => setTimeout(resolve, handoverPollMs));
    }
  }

  /** Sends the request to the leader and waits for its answer. */
  private async forward(req: AdminRequest): Promise<AdminResponse> {
    const leader = this.c.pump.core.status().leader;
    if (leader === null) return { ok: false, code: 'no-leader', message: 'no leader known: is a majority of the formation reachable?', answeredBy: this.c.self };
    return this.ask(leader, req);
  }

  /** Asks a given member (forwarded request). */
  ask(to: MemberId, req: AdminRequest): Promise<AdminResponse> {
    const rid = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        resolve({ ok: false, code: 'timeout', message: `${to} did not answer within ${forwardTimeoutMs} ms`, answeredBy: this.c.self });
      }, forwardTimeoutMs);
      this.pending.set(rid, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.c.transport.sendAdmin({ from: this.c.self, to, kind: 'admin', body: { rid, req } });
    });
  }

  private onFrame(f: AdminFrame): void {
    const body = f.body as { rid?: unknown; req?: unknown; res?: unknown };
    if (typeof body !== 'object' || body === null || typeof body.rid !== 'string') return;
    const rid = body.rid;
    if (f.kind === 'admin-reply') {
      const w = this.pending.get(rid);
      if (w === undefined) return;
      this.pending.delete(rid);
      const res = body.res as AdminResponse | undefined;
      w(res !== undefined && typeof res === 'object' && typeof res.ok === 'boolean' ? res : { ok: false, code: 'invalid', message: 'malformed reply', answeredBy: f.from });
      return;
    }
    let req = AdminService.check(body.req);
    if (typeof req !== 'string' && f.origin !== 'admin-key') {
      // A member forwarding a request vouches for who asked there (it is signed by that member).
      const claimed = (body.req as { requester?: unknown }).requester;
      if (claimed !== undefined) {
        const parsed = parseRequester(claimed, 'req.requester');
        req = parsed.ok ? { ...req, requester: parsed.requester } : parsed.reason;
      }
    }
    const reply = (res: AdminResponse): void => {
      let body: unknown = { rid, res };
      // An answer over the frame cap would be dropped at our transport and the client left to time out: say why instead.
      const bytes = Buffer.byteLength(JSON.stringify(body), 'utf8');
      if (bytes > replyBodyBytesMax) {
        const message = `the answer is ${bytes} bytes, over the ${replyBodyBytesMax}-byte limit of one frame: ask ${this.c.self} over its local socket, or ask for less (one ticket)`;
        body = { rid, res: { ok: false, code: 'too-large', message, answeredBy: this.c.self } satisfies AdminResponse };
      }
      this.c.transport.sendAdmin({ from: this.c.self, to: f.from, kind: 'admin-reply', body, ...(f.via === undefined ? {} : { via: f.via }) });
    };
    if (typeof req === 'string') {
      reply({ ok: false, code: 'invalid', message: req, answeredBy: this.c.self });
      return;
    }
    // A request from an admin key is this member's to serve, as one from the local socket is.
    const forwarded = f.origin !== 'admin-key';
    const source: RequestSource | undefined = forwarded ? undefined : { via: 'admin-key', keyId: f.from };
    this.handle(req, forwarded, source).then(reply, (err: unknown) => reply({ ok: false, code: 'internal', message: String(err), answeredBy: this.c.self }));
  }
}
