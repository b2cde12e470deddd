// The Pacemaker feed (DESIGN.md §4): the TicketSink that drives the real
// `crm_ticket`. Every call goes through the one process runner
// (process-runner.ts: an argv array, never a shell, a timeout, the caller's
// AbortSignal, bounded output), with a bounded number of attempts with
// doubling backoff for transient failures, and its exit code read with
// crm_ticket's table (exit-codes.ts; reference/pacemaker.md §2.2, measured on
// Pacemaker 2.1.5) into a named error code.
//
// What it writes is booth's drop-in surface (reference/booth.md §4,
// reference/pacemaker.md §4): one `-g|-r --force` call that also sets `owner`,
// `expires`, `term` and `booth-cfg-name`, so pcs, crmsh, crm_mon and existing
// rsc_ticket constraints keep working. Geo attributes (effect.attrs) travel in
// that same call (several -S/-D in one call are one CIB update), and only the
// ones that differ from the CIB. Standby goes through `--standby`/`--activate`,
// ordered so that a ticket never runs un-standby'd in between: standby before
// the grant, activate after it.
//
// What it reads back is `crm_ticket -q`, parsed strictly: `-l`/`-L` render
// `expires`/`last-granted` as dates and add tickets known only from a
// constraint, which cannot carry our `booth-cfg-name` anyway; `-q` gives the
// raw ticket_state attributes, as booth itself reads them. At start-up it
// reads every ticket_state of the CIB status section, ours or not, with one
// `cibadmin -Q --scope status` (readAtStart), so that the core may leave
// unwritten a start-up revoke the CIB already holds (core/tickets/sink-at-start.ts).

import { setTimeout as sleep } from 'node:timers/promises';
import type { CibTicketState, GuardUpdate, TicketEffect } from '../../core/tickets/site-holder.js';
import type { CibTicketShown } from '../../core/tickets/holder-effects.js';
import { assert, generation, ms, type MemberId } from '../../core/types.js';
import type { AbortOptions, EffectOutcome, MonotonicClock, SinkStartRead, TicketSink } from '../../ports/ports.js';
import type { LeaseGuardFile } from './lease-guard-file.js';
import { childElements, parseXmlDocument, XmlSyntaxError, type XmlElement } from '../xml-cursor.js';
import { readExit, type ExitMeaning } from '../exit-codes.js';
import { commandLine, describeFailedRun, runFailureCode, systemProcessRunner, type ProcessRunner, type RunFailureCode, type RunResult } from '../process-runner.js';
import { TollboothError } from '../../errors.js';

/**
 * What a site agent taking over a grant from another node of its site (docs/operations.md, "move the
 * agent") takes off booth's `expires` for the wall clocks of the two nodes, which are not assumed to
 * agree (DESIGN.md §1) beyond what NTP keeps inside a cluster. Taking it off only ends a hold sooner.
 */
export const cibExpiresSlackMs = 1_000;

/** Booth's `owner` when the ticket was lost (no leader known). */
export const boothOwnerLost = 0;
/** Booth's `owner` when the ticket was revoked (explicitly nobody; NO_ONE as int32). */
export const boothOwnerNone = -1;

/** Attributes Pacemaker or booth own: never geo attributes, never deleted or set from effect.attrs. */
const reservedAttrs: ReadonlySet<string> = new Set([
  'id',
  'granted',
  'standby',
  'last-granted',
  'owner',
  'expires',
  'term',
  'booth-cfg-name',
]);

/**
 * Ticket ids and attribute names: crm_ticket validates neither (pacemaker.md
 * §2.1: `-t 'bad id'` is accepted), so we do. XML NCName-ish, ASCII only.
 */
const namePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Longest ticket id or attribute name we accept. */
const nameBytesMax = 128;
/** Longest attribute value we accept. */
const valueBytesMax = 4096;
/** Most geo attributes on one ticket (matches the core's attrsPerTicketMax default). */
const attrsPerTicketMax = 64;
/** Most tickets accepted from one `crm_ticket -q`: a bound on what we parse. */
const ticketsPerCibMax = 10_000;

export type CrmTicketErrorCode =
  /** rc 4 (Pacemaker 2.1) or 107 (CRM_EX_UNSAFE, Pacemaker >= 3.0): the change needs --force. */
  | 'NEEDS_FORCE'
  /** rc 105: the ticket (or attribute) has no ticket_state. */
  | 'NO_SUCH_TICKET'
  /** rc 102, or rc 105 with "Could not connect to the CIB" (CIB_file missing): no CIB to talk to. */
  | 'NO_CIB_CONNECTION'
  /** rc 78: the CIB (file) is not XML, is empty, or violates the schema. */
  | 'CIB_INVALID'
  /** rc 64: crm_ticket did not understand the command line (a bug here, or an incompatible crm_ticket). */
  | 'USAGE'
  /**
   * The call did not end with an exit code (process-runner.ts): BINARY_MISSING,
   * SPAWN_FAILED, TIMEOUT (killed past callTimeoutMs), KILLED (by a signal we
   * did not send), ABORTED (the caller's signal), OUTPUT_TOO_LARGE.
   */
  | RunFailureCode
  /** rc 0, but the output is not what crm_ticket prints. */
  | 'BAD_OUTPUT'
  /** The ticket's booth-cfg-name names another booth configuration: not ours to change. */
  | 'FOREIGN_TICKET'
  /** The effect cannot be written safely (bad name, reserved attribute, grant without or past its deadline). */
  | 'INVALID_EFFECT'
  /** The lease guard's record could not be written (before a grant, or after a revoke). */
  | 'GUARD_FAILED'
  /** Any other non-zero exit. */
  | 'FAILED';

/**
 * Failures worth another attempt besides the exit codes crm_ticket's table
 * marks transient (the CIB manager restarting, TEMPFAIL, UNAVAILABLE,
 * TIMEOUT): a call we killed past its deadline, or one killed by someone else
 * (a write of the same attributes again is harmless).
 */
const transientCodes: ReadonlySet<CrmTicketErrorCode> = new Set(['TIMEOUT', 'KILLED']);

/**
 * Most ticket states in one `cibadmin --modify` (a batch of effects, a guard update, the lease guard's
 * revokes). Measured on CIB files (docs/benchmarks.md, "One CIB update for many tickets"): a call
 * costs about the same for 1 and for 1,000 states (the whole CIB is parsed and written either way),
 * and grows faster than the count beyond ~2,000 (10,000 in one call: 3 s).
 */
export const cibBatchTicketsMax = 1000;
/**
 * A batch that finds more tickets than this whose CIB state this sink does not know reads every
 * ticket with one `crm_ticket -q`; fewer are read one by one (a whole-CIB read costs as much as one
 * ticket's on a CIB file, but its output grows with the ticket count).
 */
const queryOneByOneMax = 4;

/** Deadline of one crm_ticket or cibadmin call, ms (a call takes ~25 ms, pacemaker.md §2.3). */
export const crmTicketCallTimeoutMsDefault = 10_000;
/** Attempts per call for transient failures, the first included. */
export const crmTicketAttemptsMaxDefault = 3;
/** Wait before the second attempt, ms; doubled for each further one. */
export const crmTicketRetryBackoffMsDefault = 100;
/** Largest stdout or stderr accepted from one call, bytes. */
export const crmTicketOutputBytesMaxDefault = 4 * 1024 * 1024;
/**
 * Largest output accepted from the start-up read of the CIB status section, bytes: besides the ticket
 * states (~170 bytes each) it holds every node's resource history, which a live cluster keeps long.
 * A larger one makes the read not complete (every start-up revoke is written), never a failed start.
 */
const statusOutputBytesMax = 64 * 1024 * 1024;

/** A failed crm_ticket call (or an effect refused before any call), with flat log fields. */
export class CrmTicketError extends TollboothError<CrmTicketErrorCode> {
  /** The argv that failed (without the binary), when a call was made. */
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  /** The exit code's reading was transient (exit-codes.ts). */
  readonly transient: boolean;

  constructor(
    code: CrmTicketErrorCode,
    message: string,
    details: { args?: readonly string[]; exitCode?: number | null; stderr?: string; transient?: boolean; cause?: unknown } = {},
  ) {
    super(code, `${code}: ${message}`, {
      details: { args: details.args, exitCode: details.exitCode, stderr: details.stderr, transient: details.transient },
      cause: details.cause,
    });
    this.args = details.args ?? [];
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? '';
    this.transient = details.transient ?? false;
  }
}

/** One finished crm_ticket (or cibadmin) attempt, for logs, metrics and tests. */
export interface CrmTicketCall {
  /** Absent: crm_ticket. */
  readonly tool?: 'cibadmin';
  /** cibadmin only: the size of the XML it was given on standard input. */
  readonly stdinBytes?: number;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly durationMs: number;
  readonly attempt: number;
  readonly code: CrmTicketErrorCode | null;
}

export interface CrmTicketSinkOptions {
  /** Our booth site id (CRC-32 of the site address, src/config/site-id.ts): `owner` while we hold a ticket. */
  readonly siteId: number;
  /** booth's `booth-cfg-name` (`booth` for booth.conf): we read and write only tickets carrying it. */
  readonly boothCfgName: string;
  /** Booth site id of another holder, written as `owner` on a revoke; null/absent: `0` (lost). */
  readonly siteIdOf?: (member: MemberId) => number | null;
  /**
   * The member a booth site id stands for, where it names one site alone (the inverse of siteIdOf): the
   * owner the start-up read shows of a ticket not granted, so that a revoke writing the same is not
   * written again (readAtStart). Absent: no owner is shown, and every start-up revoke is written.
   */
  readonly memberOfSiteId?: (siteId: number) => MemberId | null;
  /** The crm_ticket binary. Default `crm_ticket` (looked up on PATH). */
  readonly binary?: string;
  /** The cibadmin binary (refreshes `expires` of many tickets in one CIB update). Default `cibadmin`. */
  readonly cibadmin?: string;
  /** Variables added to the process environment for every call (tests: `CIB_file`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Per-call deadline in ms; the call is killed past it. Default crmTicketCallTimeoutMsDefault. */
  readonly callTimeoutMs?: number;
  /** Attempts per call for transient failures (including the first). Default crmTicketAttemptsMaxDefault. */
  readonly attemptsMax?: number;
  /** Wait before the 2nd attempt in ms, doubled for each further one. Default crmTicketRetryBackoffMsDefault. */
  readonly retryBackoffMs?: number;
  /** Largest stdout/stderr accepted from one call, in bytes. Default crmTicketOutputBytesMaxDefault. */
  readonly outputBytesMax?: number;
  /** Runs crm_ticket and cibadmin. Default: the real one (tests may inject a fake). */
  readonly runner?: ProcessRunner;
  /** The monotonic clock effect.revokeBy is on. */
  readonly clock: MonotonicClock;
  /**
   * The lease guard's record: each grant's deadline is armed in it before the
   * grant is written and dropped after the revoke is, and guard updates move
   * it; the lease guard process revokes from it when the agent cannot.
   */
  readonly guard: LeaseGuardFile;
  /** Wall clock in Unix ms, for booth's `expires`. Default Date.now. */
  readonly wallClockMs?: () => number;
  /** Called after every attempt. */
  readonly onCall?: (call: CrmTicketCall) => void;
}

export type CrmTicketApplyResult = { ok: true } | { ok: false; code: CrmTicketErrorCode; error: string };

/** A grant to revoke without the agent (CrmTicketSink.revokeLostAll). */
export interface LostRevoke {
  readonly ticket: string;
  /** Leave a grant at a higher term alone (a newer agent wrote it); null: any term. */
  readonly upToGeneration: number | null;
  /** Leave a grant whose `expires` is later than this (Unix s) alone: another agent of this site took it over. */
  readonly unlessExpiresAfterSec?: number;
}

/** changed: the grant was revoked now (false: there was nothing to revoke); takenOver: left to another agent of this site. */
export type LostRevokeResult = CrmTicketApplyResult & { changed?: boolean; takenOver?: boolean };

/** One ticket_state as `crm_ticket -q` shows it: raw attributes, entities decoded. */
export interface RawTicketState {
  readonly id: string;
  readonly attrs: ReadonlyMap<string, string>;
}

export class CrmTicketSink implements TicketSink {
  private readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly callTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly retryBackoffMs: number;
  private readonly outputBytesMax: number;
  private readonly wallClockMs: () => number;
  private readonly runner: ProcessRunner;
  /**
   * What the CIB holds for each ticket, as this sink last read it (`-q`) or
   * wrote it: a write needs the current state (booth-cfg-name, standby, the
   * geo attributes to change or delete), and reading it before every write
   * doubled the calls of a grant. A ticket that is not here is read first; a
   * failed write drops it (the CIB state is unknown then); every read of all
   * tickets (the pump's read-back) refreshes it, so a change made by hand is
   * seen within one read-back.
   */
  private readonly known = new Map<string, RawTicketState>();
  /** Bumped by every write; a read of all tickets refreshes `known` only for tickets not written since it started. */
  private writeSeq = 0;
  private readonly writtenAt = new Map<string, number>();

  constructor(private readonly options: CrmTicketSinkOptions) {
    this.runner = options.runner ?? systemProcessRunner;
    this.binary = options.binary ?? 'crm_ticket';
    this.env = { ...process.env, ...options.env };
    this.callTimeoutMs = options.callTimeoutMs ?? crmTicketCallTimeoutMsDefault;
    this.attemptsMax = options.attemptsMax ?? crmTicketAttemptsMaxDefault;
    this.retryBackoffMs = options.retryBackoffMs ?? crmTicketRetryBackoffMsDefault;
    this.outputBytesMax = options.outputBytesMax ?? crmTicketOutputBytesMaxDefault;
    this.wallClockMs = options.wallClockMs ?? Date.now;
    assert(Number.isSafeInteger(options.siteId) && options.siteId > 0, `siteId must be a positive integer, got ${options.siteId}`);
    assert(namePattern.test(options.boothCfgName), `boothCfgName ${JSON.stringify(options.boothCfgName)} is not a valid name`);
    assert(this.callTimeoutMs > 0, 'callTimeoutMs must be positive');
    assert(Number.isSafeInteger(this.attemptsMax) && this.attemptsMax >= 1 && this.attemptsMax <= 10, 'attemptsMax must be 1..10');
    assert(this.retryBackoffMs >= 0, 'retryBackoffMs must not be negative');
  }

  /**
   * Our tickets in the CIB. Throws CrmTicketError when crm_ticket fails or
   * prints something we do not understand (nothing is changed either way).
   */
  async readAll(options?: AbortOptions): Promise<CibTicketState[]> {
    return (await this.queryAll(options)).filter((s) => this.ours(s)).map((s) => this.stateOf(s));
  }

  /**
   * Every ticket_state of the CIB status section, read in one `cibadmin -Q
   * --scope status` (crm_ticket -q exits 105 both when there are no tickets and
   * when it cannot query them; the status section is always there): ours as
   * readAll gives them, with all a revoke writes of those not granted (`shown`,
   * the owner where memberOfSiteId names it), and the others as they are
   * (`notOurs`: their start-up revoke is written, sink-at-start.ts). Complete
   * only when that read succeeded and was understood in full; otherwise (the
   * call failed, its output was too large or not what cibadmin prints) not
   * complete, with the reason, from readAll — which throws when that fails too.
   * Changes nothing in the CIB either way.
   */
  async readAtStart(options?: AbortOptions): Promise<SinkStartRead> {
    const readStartSeq = this.writeSeq;
    let tickets: CibTicketState[];
    try {
      const stdout = await this.callTool({ tool: 'cibadmin', args: ['-Q', '--scope', 'status'], outputBytesMax: statusOutputBytesMax }, options, false);
      const states = parseStatusTickets(stdout ?? '');
      tickets = states.map((s) => (this.ours(s) ? this.stateOf(s, true) : notOursState(s)));
      this.remember(states, readStartSeq);
    } catch (err) {
      if (!(err instanceof CrmTicketError) || err.code === 'ABORTED') throw err;
      return { tickets: await this.readAll(options), complete: false, incomplete: `cibadmin -Q --scope status: ${err.message}` };
    }
    return { tickets, complete: true };
  }

  private ours(s: RawTicketState): boolean {
    return s.attrs.get('booth-cfg-name') === this.options.boothCfgName;
  }

  /** One of our ticket states as the core takes it; with `withShown`, all a revoke writes of one not granted. Throws BAD_OUTPUT. */
  private stateOf(s: RawTicketState, withShown = false): CibTicketState {
    const granted = parseBool(s, 'granted', false);
    const termText = s.attrs.get('term');
    if (termText === undefined && granted) {
      throw new CrmTicketError('BAD_OUTPUT', `ticket ${s.id} is granted but has no term attribute`);
    }
    const gen = generation(termText === undefined ? 0 : parseTerm(s.id, termText));
    const rec = this.options.guard.get(s.id);
    const expiresText = s.attrs.get('expires');
    const expiresSec = expiresText !== undefined && /^\d{1,12}$/.test(expiresText) ? Number(expiresText) : null;
    const attrs = (): Record<string, string> => Object.fromEntries([...s.attrs].filter(([k]) => !reservedAttrs.has(k)));
    return {
      name: s.id,
      granted,
      generation: gen,
      // The CIB stores only the wall-clock `expires`; the monotonic deadline
      // of a grant lives in the lease guard's record (same generation only).
      revokeBy: granted && rec !== undefined && rec.generation === gen ? ms(rec.revokeBy) : null,
      // For a grant an agent of this site wrote on another node (no record here): how long it may stay.
      expiresAt: granted && expiresSec !== null ? ms(this.options.clock.now() + expiresSec * 1000 - this.wallClockMs() - cibExpiresSlackMs) : null,
      // What such a grant is written again with before the agent's table shows it (site-takeover.ts).
      ...(granted ? { shown: { standby: parseBool(s, 'standby', false), attrs: attrs() } } : {}),
      // Of one not granted, what a start-up revoke would compare with (sink-at-start.ts).
      ...(!granted && withShown ? { shown: this.shownRevoked(s, attrs()) } : {}),
    };
  }

  /** CibTicketState.shown of our ticket not granted: its owner only where it is exactly what ownerFor writes for one. */
  private shownRevoked(s: RawTicketState, attrs: Record<string, string>): CibTicketShown {
    const text = s.attrs.get('owner');
    let owner: MemberId | null | undefined;
    if (text === String(boothOwnerNone)) owner = null;
    else if (text !== undefined && /^[1-9][0-9]{0,9}$/.test(text) && Number(text) !== this.options.siteId) {
      // `0` (lost) stands for this site or any site without an id: it names no one, and is left unshown.
      const m = this.options.memberOfSiteId?.(Number(text)) ?? null;
      if (m !== null && this.options.siteIdOf?.(m) === Number(text)) owner = m;
    }
    return { standby: parseBool(s, 'standby', false), ...(owner === undefined ? {} : { owner }), attrs };
  }

  /** Every ticket_state in the CIB, ours or not. */
  async queryAll(options?: AbortOptions): Promise<RawTicketState[]> {
    const readStartSeq = this.writeSeq;
    const r = await this.call(['-q'], options, true);
    const states = r === null ? [] : parseQueryOutput(r, null);
    this.remember(states, readStartSeq);
    return states;
  }

  /** Refreshes `known` from a read of every ticket_state that started at readStartSeq (tickets written since are left). */
  private remember(states: readonly RawTicketState[], readStartSeq: number): void {
    const seen = new Set<string>();
    for (const s of states) {
      seen.add(s.id);
      if ((this.writtenAt.get(s.id) ?? -1) < readStartSeq) this.known.set(s.id, s);
    }
    for (const id of [...this.known.keys()]) if (!seen.has(id) && (this.writtenAt.get(id) ?? -1) < readStartSeq) this.known.delete(id);
  }

  /** One ticket's state; null when it has no ticket_state yet. */
  async queryOne(ticket: string, options?: AbortOptions): Promise<RawTicketState | null> {
    checkName('ticket', ticket);
    const readStartSeq = this.writeSeq;
    const r = await this.call(['-t', ticket, '-q'], options, true);
    const s = r === null ? null : (parseQueryOutput(r, ticket)[0] ?? null);
    if ((this.writtenAt.get(ticket) ?? -1) < readStartSeq) {
      if (s === null) this.known.delete(ticket);
      else this.known.set(ticket, s);
    }
    return s;
  }

  /**
   * Moves the guard record's deadlines, then refreshes booth's `expires` of
   * the tickets whose deadline moved in one `cibadmin --modify` (one CIB update
   * however many tickets): readers of `expires` (crm_ticket -L, booth's
   * tools, and the cluster-wide guard, `tollbooth lease-guard --cib`) see the
   * current deadline, never a later one (floored to the second). An entry the
   * record already had as late or later is not written: its `expires` went
   * with that deadline, and one written from this entry would be earlier than
   * the record's (the cluster-wide guard would revoke a live grant early).
   */
  async extendGuard(update: GuardUpdate, options?: AbortOptions): Promise<{ ok: boolean; error?: string; skipped?: string[] }> {
    let skipped: string[];
    let advanced: ReadonlyMap<string, number>;
    // The `expires` each deadline is written with goes into the guard record first (GuardRecord.expiresSec).
    const wallNow = this.wallClockMs();
    const monoNow = this.options.clock.now();
    const entries = update.extend.map((e) => ({ ...e, expiresSec: Math.floor((wallNow + (e.revokeBy - monoNow)) / 1000) }));
    try {
      const r = await this.options.guard.extendMoved(entries, () => this.options.clock.now());
      skipped = r.skipped;
      advanced = r.moved;
    } catch (err) {
      return { ok: false, error: `lease guard record ${this.options.guard.path}: ${(err as Error).message}` };
    }
    // The entry that moved each ticket (an update may name a ticket twice; the record took the later).
    const moved = [...new Map(entries.filter((e) => advanced.get(e.ticket) === e.revokeBy && namePattern.test(e.ticket) && e.ticket.length <= nameBytesMax).map((e) => [e.ticket, e])).values()];
    if (moved.length === 0) return { ok: true, skipped };
    try {
      for (let i = 0; i < moved.length; i += cibBatchTicketsMax) {
        await this.modifyTicketStates(
          moved.slice(i, i + cibBatchTicketsMax).map((e) => ({ id: e.ticket, attrs: new Map([['expires', String(e.expiresSec)]]) })),
          options,
        );
      }
    } catch (err) {
      if (!(err instanceof CrmTicketError)) throw err;
      // The guard record moved, but the CIB's `expires` did not (or not everywhere): report a failure,
      // so the core writes these grants again in full (which rewrites `expires`).
      return { ok: false, error: `cibadmin --modify (expires of ${moved.length} tickets) failed: ${err.message}`, skipped };
    }
    return { ok: true, skipped };
  }

  /**
   * Writes many effects (at most one per ticket) with one `cibadmin --modify`
   * of their ticket_state elements per cibBatchTicketsMax, with one durable
   * write of the guard record before it (the grants' deadlines) and one after
   * it (the revokes'): the order `apply` keeps for one ticket. A modify sets
   * only the attributes it names and creates a missing ticket_state, so a
   * concurrent change to another ticket, or to an attribute we do not write,
   * is kept (crm_ticket itself writes a ticket with a modify of the status
   * section). One CIB update is applied whole or not at all: a failed call
   * fails every effect in it. An effect refused before the call (a bad name,
   * its deadline passed, another booth configuration's ticket, its grant's
   * guard record not written) fails alone. An effect that removes a geo
   * attribute, which a modify cannot do, is written alone with crm_ticket, as
   * `apply` writes it.
   */
  async applyBatch(effects: readonly TicketEffect[], options?: AbortOptions): Promise<EffectOutcome[]> {
    assert(new Set(effects.map((e) => e.ticket)).size === effects.length, 'a batch holds at most one effect per ticket');
    const failed = new Map<number, string>();
    const fail = (e: TicketEffect, err: unknown): void => {
      // AssertionError and other programmer errors are not CIB errors: let them out.
      if (!(err instanceof CrmTicketError)) throw err;
      failed.set(e.id, err.message);
    };
    const outcomes = (): EffectOutcome[] => effects.map((e) => (failed.has(e.id) ? { id: e.id, ok: false, error: failed.get(e.id)! } : { id: e.id, ok: true }));

    // Refused before any call: what `apply` refuses.
    const nowMono = this.options.clock.now();
    let live: Array<{ e: TicketEffect; expiresSec: number }> = [];
    for (const e of effects) {
      try {
        validateEffect(e);
        if (e.granted) {
          assert(e.revokeBy !== null, 'a granted effect carries revokeBy');
          if (e.revokeBy <= nowMono) throw new CrmTicketError('INVALID_EFFECT', `refusing to grant ${e.ticket}: its revoke deadline passed ${nowMono - e.revokeBy} ms ago`);
        }
        live.push({ e, expiresSec: e.granted ? this.expiresSecOf(e.revokeBy!) : Math.floor(this.wallClockMs() / 1000) });
      } catch (err) {
        fail(e, err);
      }
    }
    if (live.length === 0) return outcomes();

    // The CIB state a write needs: booth-cfg-name, standby, granted (for last-granted), geo attributes to remove.
    const unknown = live.filter((x) => !this.known.has(x.e.ticket));
    try {
      if (unknown.length > queryOneByOneMax) await this.queryAll(options);
      else for (const x of unknown) await this.queryOne(x.e.ticket, options);
    } catch (err) {
      for (const x of live) fail(x.e, err);
      return outcomes();
    }
    live = live.filter((x) => {
      const cfg = this.known.get(x.e.ticket)?.attrs.get('booth-cfg-name');
      if (cfg === undefined || cfg === this.options.boothCfgName) return true;
      fail(x.e, new CrmTicketError('FOREIGN_TICKET', `ticket ${x.e.ticket} belongs to booth configuration ${JSON.stringify(cfg)}, not ${JSON.stringify(this.options.boothCfgName)}`));
      return false;
    });

    // The guard learns of the grants (and the `expires` each is written with) before any is written.
    const grants = live.filter((x) => x.e.granted);
    try {
      await this.options.guard.armAll(grants.map((x) => ({ ticket: x.e.ticket, generation: x.e.generation, revokeBy: x.e.revokeBy!, expiresSec: x.expiresSec, ...(x.e.leaseEnd === undefined ? {} : { leaseEnd: x.e.leaseEnd }) })));
    } catch (err) {
      const guardErr = new CrmTicketError('GUARD_FAILED', `cannot arm the lease guard for ${grants.length} tickets (${this.options.guard.path}): ${(err as Error).message}`, { cause: err });
      for (const x of grants) fail(x.e, guardErr);
      live = live.filter((x) => !x.e.granted);
    }

    const simple: Array<{ e: TicketEffect; expiresSec: number; current: RawTicketState | null }> = [];
    const alone: Array<{ e: TicketEffect; expiresSec: number }> = [];
    for (const x of live) {
      const current = this.known.get(x.e.ticket) ?? null;
      const removes = current !== null && [...current.attrs.keys()].some((k) => !reservedAttrs.has(k) && !Object.hasOwn(x.e.attrs, k));
      if (removes) alone.push(x);
      else simple.push({ ...x, current });
    }

    const written: TicketEffect[] = [];
    for (let i = 0; i < simple.length; i += cibBatchTicketsMax) {
      const chunk = simple.slice(i, i + cibBatchTicketsMax);
      const states = chunk.map((x) => ({ id: x.e.ticket, attrs: this.stateAttrs(x.e, x.current, x.expiresSec) }));
      // From here the CIB may change: the state of these tickets is unknown until the call succeeds.
      this.writeSeq += 1;
      for (const x of chunk) {
        this.writtenAt.set(x.e.ticket, this.writeSeq);
        this.known.delete(x.e.ticket);
      }
      try {
        await this.modifyTicketStates(states, options);
        for (const [j, x] of chunk.entries()) {
          const attrs = new Map(x.current?.attrs ?? []);
          for (const [k, v] of states[j]!.attrs) attrs.set(k, v);
          attrs.set('id', x.e.ticket);
          this.known.set(x.e.ticket, { id: x.e.ticket, attrs });
          written.push(x.e);
        }
      } catch (err) {
        for (const x of chunk) fail(x.e, err);
      } finally {
        // A read that starts after this write ended may refresh these tickets again.
        this.writeSeq += 1;
      }
    }
    for (const x of alone) {
      try {
        await this.applyOrThrow(x.e, options, x.expiresSec);
        written.push(x.e);
      } catch (err) {
        fail(x.e, err);
      }
    }

    // The guard forgets a grant only once its revoke is in the CIB.
    const revoked = written.filter((e) => !e.granted);
    try {
      await this.options.guard.disarmAll(revoked.map((e) => e.ticket));
    } catch (err) {
      const guardErr = new CrmTicketError('GUARD_FAILED', `revoked ${revoked.length} tickets, but cannot update the lease guard record (${this.options.guard.path}): ${(err as Error).message}`, { cause: err });
      for (const e of revoked) fail(e, guardErr);
    }
    return outcomes();
  }

  /**
   * The attributes one modify sets for an effect: what `write` sets with crm_ticket (booth's four,
   * `granted`, standby where it is or was set, the geo attributes), and `last-granted` where the
   * ticket was not granted, as crm_ticket -g sets it.
   */
  private stateAttrs(e: TicketEffect, current: RawTicketState | null, expiresSec: number): Map<string, string> {
    const standbyNow = current === null ? false : parseBool(current, 'standby', false);
    const grantedNow = current === null ? false : parseBool(current, 'granted', false);
    const attrs = new Map<string, string>([
      ['granted', e.granted ? 'true' : 'false'],
      ['owner', String(this.ownerFor(e))],
      ['expires', String(expiresSec)],
      ['term', String(e.generation)],
      ['booth-cfg-name', this.options.boothCfgName],
    ]);
    if (e.granted && !grantedNow) attrs.set('last-granted', String(Math.floor(this.wallClockMs() / 1000)));
    if (e.standby || standbyNow) attrs.set('standby', e.standby ? 'true' : 'false');
    for (const [k, v] of Object.entries(e.attrs)) attrs.set(k, v);
    return attrs;
  }

  /**
   * One `cibadmin --modify` of the status section that sets these attributes of these ticket_state
   * elements (created where missing). The XML goes on standard input: 1,000 states are ~150 KB, more
   * than one argv string may hold (128 KiB). Throws CrmTicketError. One CIB update: applied whole or
   * not at all.
   */
  private async modifyTicketStates(states: ReadonlyArray<{ id: string; attrs: ReadonlyMap<string, string> }>, options?: AbortOptions): Promise<void> {
    assert(states.length > 0 && states.length <= cibBatchTicketsMax, `a CIB update holds 1..${cibBatchTicketsMax} ticket states, got ${states.length}`);
    const parts: string[] = ['<status><tickets>'];
    for (const st of states) {
      checkName('ticket', st.id);
      parts.push(`<ticket_state id="${st.id}"`);
      for (const [k, v] of st.attrs) {
        checkName('attribute', k);
        parts.push(` ${k}="${xmlAttrValue(v)}"`);
      }
      parts.push('/>');
    }
    parts.push('</tickets></status>');
    await this.cibadmin(['--modify', '--scope', 'status', '--xml-pipe'], parts.join(''), options);
  }

  async apply(effect: TicketEffect, options?: AbortOptions): Promise<CrmTicketApplyResult> {
    try {
      // The guard learns of a grant (and the `expires` it is written with) before it is written, and
      // forgets it only once the revoke is.
      const expiresSec = effect.granted && effect.revokeBy !== null ? this.expiresSecOf(effect.revokeBy) : null;
      if (effect.granted && effect.revokeBy !== null) await this.armGuard(effect.ticket, effect.generation, effect.revokeBy, expiresSec ?? undefined, effect.leaseEnd);
      await this.applyOrThrow(effect, options, expiresSec);
      if (!effect.granted) await this.disarmGuard(effect.ticket);
      return { ok: true };
    } catch (err) {
      if (err instanceof CrmTicketError) return { ok: false, code: err.code, error: err.message };
      // AssertionError and other programmer errors are not CIB errors: let them out.
      throw err;
    }
  }

  /** booth's `expires` for a deadline: floored, so a reader (booth, an operator) never sees a lease end later than ours. */
  private expiresSecOf(revokeBy: number): number {
    return Math.floor((this.wallClockMs() + (revokeBy - this.options.clock.now())) / 1000);
  }

  private async applyOrThrow(e: TicketEffect, options?: AbortOptions, grantExpiresSec: number | null = null): Promise<void> {
    validateEffect(e);
    let expiresSec: number;
    if (e.granted) {
      assert(e.revokeBy !== null, 'a granted effect carries revokeBy');
      const leftMs = e.revokeBy - this.options.clock.now();
      if (leftMs <= 0) {
        throw new CrmTicketError('INVALID_EFFECT', `refusing to grant ${e.ticket}: its revoke deadline passed ${-leftMs} ms ago`);
      }
      // The value the guard record holds (computed once, before the guard was armed).
      expiresSec = grantExpiresSec ?? this.expiresSecOf(e.revokeBy);
    } else {
      expiresSec = Math.floor(this.wallClockMs() / 1000);
    }

    // One crm_ticket call per write where the state is known (issue 15): read only what was never read or written.
    const cached = this.known.get(e.ticket);
    const current = cached ?? (await this.queryOne(e.ticket, options));
    const cfg = current?.attrs.get('booth-cfg-name');
    if (cfg !== undefined && cfg !== this.options.boothCfgName) {
      throw new CrmTicketError(
        'FOREIGN_TICKET',
        `ticket ${e.ticket} belongs to booth configuration ${JSON.stringify(cfg)}, not ${JSON.stringify(this.options.boothCfgName)}`,
      );
    }
    const standbyNow = current === null ? false : parseBool(current, 'standby', false);

    // From here the CIB may change: its state is unknown until every call below succeeds.
    this.writeSeq += 1;
    this.writtenAt.set(e.ticket, this.writeSeq);
    this.known.delete(e.ticket);
    try {
      await this.write(e, current, standbyNow, expiresSec, options);
    } finally {
      // A read that starts after this write ended may refresh the ticket again.
      this.writeSeq += 1;
    }
  }

  private async write(e: TicketEffect, current: RawTicketState | null, standbyNow: boolean, expiresSec: number, options?: AbortOptions): Promise<void> {
    if (e.standby && !standbyNow) await this.call(['-t', e.ticket, '--standby'], options, false);

    const args = [
      '-t',
      e.ticket,
      e.granted ? '-g' : '-r',
      '--force',
      // booth's exact form (booth.md §4): `--attr-value=V` rather than `-v V`,
      // so that a value such as `-1` can never be taken for an option.
      ...setAttr('owner', String(this.ownerFor(e))),
      ...setAttr('expires', String(expiresSec)),
      ...setAttr('term', String(e.generation)),
      ...setAttr('booth-cfg-name', this.options.boothCfgName),
    ];
    for (const [k, v] of Object.entries(e.attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (current?.attrs.get(k) !== v) args.push(...setAttr(k, v));
    }
    // The effect is the desired state: a geo attribute gone from it (deleted
    // in the registry) goes from the CIB too, as booth treats every
    // non-reserved attribute as a geo attribute (booth.md §4).
    for (const k of current === null ? [] : [...current.attrs.keys()].sort()) {
      if (!reservedAttrs.has(k) && !Object.hasOwn(e.attrs, k)) args.push('-D', k);
    }
    await this.call(args, options, false);

    if (!e.standby && standbyNow) await this.call(['-t', e.ticket, '--activate'], options, false);
    const attrs = new Map<string, string>([['id', e.ticket]]);
    for (const [k, v] of current?.attrs ?? []) if (reservedAttrs.has(k)) attrs.set(k, v);
    attrs.set('granted', e.granted ? 'true' : 'false');
    attrs.set('owner', String(this.ownerFor(e)));
    attrs.set('expires', String(expiresSec));
    attrs.set('term', String(e.generation));
    attrs.set('booth-cfg-name', this.options.boothCfgName);
    if (e.standby || standbyNow) attrs.set('standby', e.standby ? 'true' : 'false');
    for (const [k, v] of Object.entries(e.attrs)) attrs.set(k, v);
    this.known.set(e.ticket, { id: e.ticket, attrs });
  }

  /**
   * Revokes a grant of ours without the agent (the lease guard, the OCF
   * agent's stop): owner 0 ("lost", as booth writes when a lease ran out),
   * `expires` now, the term left as it is, standby untouched, and the guard
   * record not touched (only the agent writes it). A ticket that is not
   * granted, or has no ticket_state, is left alone. Never throws for CIB errors.
   */
  async revokeLost(ticket: string, upToGeneration: number | null = null, options?: AbortOptions, unlessExpiresAfterSec?: number): Promise<LostRevokeResult> {
    const r = await this.revokeLostAll([{ ticket, upToGeneration, ...(unlessExpiresAfterSec === undefined ? {} : { unlessExpiresAfterSec }) }], options);
    return r.get(ticket)!;
  }

  /**
   * revokeLost for many tickets at once (the lease guard revoking every grant
   * due at the same moment): one read of their state and one `cibadmin
   * --modify` per cibBatchTicketsMax, instead of two crm_ticket calls per
   * ticket one after another, which made the last revoke of N land N call
   * times after its deadline (docs/protocol.md §4). Each ticket is judged as
   * revokeLost judges it: left alone unless granted; left alone when granted
   * at a term above `upToGeneration` (a newer agent's grant) or with an
   * `expires` after `unlessExpiresAfterSec` (taken over by an agent of this
   * site on another node); refused when of another booth configuration. One
   * result per ticket; a failed read or CIB update fails every ticket it was
   * for. Never throws for CIB errors.
   */
  async revokeLostAll(items: readonly LostRevoke[], options?: AbortOptions): Promise<Map<string, LostRevokeResult>> {
    assert(new Set(items.map((x) => x.ticket)).size === items.length, 'revokeLostAll names each ticket once');
    const out = new Map<string, LostRevokeResult>();
    const fail = (ticket: string, err: unknown): void => {
      if (!(err instanceof CrmTicketError)) throw err;
      out.set(ticket, { ok: false, code: err.code, error: err.message });
    };
    const named = items.filter((x) => {
      try {
        checkName('ticket', x.ticket);
        return true;
      } catch (err) {
        fail(x.ticket, err);
        return false;
      }
    });
    if (named.length === 0) return out;
    // The state now, read for these tickets (never the cache: another agent may have written since).
    const current = new Map<string, RawTicketState>();
    try {
      if (named.length > queryOneByOneMax) for (const s of await this.queryAll(options)) current.set(s.id, s);
      else
        for (const x of named) {
          const s = await this.queryOne(x.ticket, options);
          if (s !== null) current.set(x.ticket, s);
        }
    } catch (err) {
      for (const x of named) fail(x.ticket, err);
      return out;
    }
    const toRevoke: string[] = [];
    for (const x of named) {
      try {
        const s = current.get(x.ticket);
        if (s === undefined || !parseBool(s, 'granted', false)) {
          out.set(x.ticket, { ok: true, changed: false });
          continue;
        }
        // A grant with a higher term was written after the one this deadline protects (a newer agent): not ours to end.
        const term = s.attrs.get('term');
        if (x.upToGeneration !== null && term !== undefined && parseTerm(x.ticket, term) > x.upToGeneration) {
          out.set(x.ticket, { ok: true, changed: false });
          continue;
        }
        // The same grant written since with a later `expires` than the one this deadline goes with: an agent
        // of this site on another node took it over (its own guard armed first) and keeps it (the hand-over).
        const expires = s.attrs.get('expires');
        if (x.unlessExpiresAfterSec !== undefined && expires !== undefined && /^\d{1,12}$/.test(expires) && Number(expires) > x.unlessExpiresAfterSec) {
          out.set(x.ticket, { ok: true, changed: false, takenOver: true });
          continue;
        }
        const cfg = s.attrs.get('booth-cfg-name');
        if (cfg !== undefined && cfg !== this.options.boothCfgName) {
          throw new CrmTicketError('FOREIGN_TICKET', `ticket ${x.ticket} belongs to booth configuration ${JSON.stringify(cfg)}, not ${JSON.stringify(this.options.boothCfgName)}`);
        }
        toRevoke.push(x.ticket);
      } catch (err) {
        fail(x.ticket, err);
      }
    }
    const expiresSec = String(Math.floor(this.wallClockMs() / 1000));
    for (let i = 0; i < toRevoke.length; i += cibBatchTicketsMax) {
      const chunk = toRevoke.slice(i, i + cibBatchTicketsMax);
      this.writeSeq += 1;
      for (const t of chunk) {
        this.known.delete(t);
        this.writtenAt.set(t, this.writeSeq);
      }
      try {
        await this.modifyTicketStates(
          chunk.map((t) => ({ id: t, attrs: new Map([['granted', 'false'], ['owner', String(boothOwnerLost)], ['expires', expiresSec]]) })),
          options,
        );
        for (const t of chunk) out.set(t, { ok: true, changed: true });
      } catch (err) {
        for (const t of chunk) fail(t, err);
      } finally {
        this.writeSeq += 1;
      }
    }
    return out;
  }

  /** Our tickets with their state as the CIB holds it: granted, `expires` (Unix s) and `term` (null when absent or not a number). */
  async ticketStates(options?: AbortOptions): Promise<Array<{ ticket: string; granted: boolean; expiresSec: number | null; term: number | null }>> {
    const out: Array<{ ticket: string; granted: boolean; expiresSec: number | null; term: number | null }> = [];
    for (const s of await this.queryAll(options)) {
      if (s.attrs.get('booth-cfg-name') !== this.options.boothCfgName) continue;
      const num = (k: string): number | null => {
        const v = s.attrs.get(k);
        return v !== undefined && /^-?\d{1,16}$/.test(v) ? Number(v) : null;
      };
      out.push({ ticket: s.id, granted: parseBool(s, 'granted', false), expiresSec: num('expires'), term: num('term') });
    }
    return out;
  }

  /** Our tickets that the CIB shows granted now. */
  async grantedHere(options?: AbortOptions): Promise<string[]> {
    return (await this.ticketStates(options)).filter((s) => s.granted).map((s) => s.ticket);
  }

  private async armGuard(ticket: string, gen: number, revokeBy: number, expiresSec?: number, leaseEnd?: number): Promise<void> {
    try {
      await this.options.guard.arm(ticket, gen, revokeBy, expiresSec, leaseEnd);
    } catch (err) {
      throw new CrmTicketError('GUARD_FAILED', `cannot arm the lease guard for ${ticket} (${this.options.guard.path}): ${(err as Error).message}`, { cause: err });
    }
  }

  private async disarmGuard(ticket: string): Promise<void> {
    try {
      await this.options.guard.disarm(ticket);
    } catch (err) {
      throw new CrmTicketError('GUARD_FAILED', `revoked ${ticket}, but cannot update the lease guard record (${this.options.guard.path}): ${(err as Error).message}`, { cause: err });
    }
  }

  private ownerFor(e: TicketEffect): number {
    if (e.granted) return this.options.siteId;
    if (e.owner === null) return boothOwnerNone;
    const id = this.options.siteIdOf?.(e.owner) ?? boothOwnerLost;
    // Revoked while the registry still names this site: the lease ran out (lost), as booth writes it.
    return id === this.options.siteId ? boothOwnerLost : id;
  }

  /**
   * Runs crm_ticket with bounded retries. Resolves with stdout, or null when
   * `noStateIsNull` and crm_ticket reports that no ticket_state exists
   * (rc 105 from a query). Throws CrmTicketError otherwise.
   */
  private async call(args: readonly string[], options: AbortOptions | undefined, noStateIsNull: true): Promise<string | null>;
  private async call(args: readonly string[], options: AbortOptions | undefined, noStateIsNull: false): Promise<string>;
  private async call(args: readonly string[], options: AbortOptions | undefined, noStateIsNull: boolean): Promise<string | null> {
    return this.callTool({ tool: 'crm_ticket', args }, options, noStateIsNull);
  }

  /** One cibadmin call (stdin: its --xml-pipe input), with the same bounded retries as crm_ticket's. */
  private async cibadmin(args: readonly string[], stdin: string, options: AbortOptions | undefined): Promise<void> {
    await this.callTool({ tool: 'cibadmin', args, stdin }, options, false);
  }

  private async callTool(what: ToolCall, options: AbortOptions | undefined, noStateIsNull: boolean): Promise<string | null> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.once(what, options?.signal, attempt);
      if (r.error === null) return r.stdout;
      if (noStateIsNull && r.error.code === 'NO_SUCH_TICKET') return null;
      const transient = transientCodes.has(r.error.code) || r.error.transient;
      if (!transient || attempt >= this.attemptsMax) throw r.error;
      try {
        await sleep(this.retryBackoffMs * 2 ** (attempt - 1), undefined, options?.signal === undefined ? undefined : { signal: options.signal });
      } catch (err) {
        throw new CrmTicketError('ABORTED', `aborted while waiting to retry ${what.tool} ${what.args.join(' ')}`, { args: what.args, cause: err });
      }
    }
  }

  private async once(what: ToolCall, signal: AbortSignal | undefined, attempt: number): Promise<{ stdout: string; error: CrmTicketError | null }> {
    const started = this.options.clock.now();
    const r = await this.runner.run({
      tool: what.tool,
      file: what.tool === 'crm_ticket' ? this.binary : (this.options.cibadmin ?? 'cibadmin'),
      argv: what.args,
      env: this.env,
      timeoutMs: this.callTimeoutMs,
      outputBytesMax: what.outputBytesMax ?? this.outputBytesMax,
      ...(what.stdin === undefined ? {} : { stdin: what.stdin }),
      ...(signal === undefined ? {} : { signal }),
    });
    const error = r.kind === 'exited' && r.exitCode === 0 ? null : crmTicketErrorOf(r);
    this.options.onCall?.({
      ...(what.tool === 'crm_ticket' ? {} : { tool: what.tool, stdinBytes: Buffer.byteLength(what.stdin ?? '') }),
      args: what.args,
      exitCode: r.kind === 'exited' ? r.exitCode : null,
      durationMs: this.options.clock.now() - started,
      attempt,
      code: error?.code ?? null,
    });
    return { stdout: r.stdout, error };
  }
}

/** One run of crm_ticket or cibadmin. */
interface ToolCall {
  readonly tool: 'crm_ticket' | 'cibadmin';
  readonly args: readonly string[];
  readonly stdin?: string;
  /** Instead of the sink's outputBytesMax. */
  readonly outputBytesMax?: number;
}

/** crm_ticket's exit meanings (exit-codes.ts) as error codes of this sink. */
const crmTicketCodeOf: Partial<Record<ExitMeaning, CrmTicketErrorCode>> = {
  'needs-force': 'NEEDS_FORCE',
  'no-such-object': 'NO_SUCH_TICKET',
  'not-connected': 'NO_CIB_CONNECTION',
  'invalid-config': 'CIB_INVALID',
  usage: 'USAGE',
};

/** Longest stderr kept in a CrmTicketError, characters. */
const stderrCharsMax = 2000;

/** The error of a crm_ticket run that did not exit 0. */
function crmTicketErrorOf(r: RunResult): CrmTicketError {
  const stderr = r.stderr.trim().slice(0, stderrCharsMax);
  const base = { args: r.argv, stderr };
  if (r.kind !== 'exited') {
    const message = r.kind === 'not-found' ? `${r.file} not found (is pacemaker-cli-utils installed?)` : describeFailedRun(r);
    return new CrmTicketError(runFailureCode(r), message, base);
  }
  const reading = readExit(r.tool === 'cibadmin' ? 'cibadmin' : 'crm_ticket', r.exitCode, stderr);
  const what = `${commandLine(r)} exited ${r.exitCode}${stderr === '' ? '' : `: ${stderr}`}`;
  return new CrmTicketError(crmTicketCodeOf[reading.meaning] ?? 'FAILED', what, { ...base, exitCode: r.exitCode, transient: reading.transient });
}

/** An XML attribute value, quoted with `"`: the markup characters and the whitespace a parser would normalise, as character references. */
function xmlAttrValue(v: string): string {
  return v.replace(/[&<>"'\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function setAttr(name: string, value: string): string[] {
  return ['-S', name, `--attr-value=${value}`];
}

function checkName(what: string, name: string): void {
  if (name.length > nameBytesMax || !namePattern.test(name)) {
    throw new CrmTicketError('INVALID_EFFECT', `${what} name ${JSON.stringify(name.slice(0, nameBytesMax))} is not a valid name (${namePattern.source}, at most ${nameBytesMax} characters)`);
  }
}

function validateEffect(e: TicketEffect): void {
  checkName('ticket', e.ticket);
  assert(Number.isSafeInteger(e.generation) && e.generation >= 0, `generation must be a non-negative integer, got ${e.generation}`);
  const entries = Object.entries(e.attrs);
  if (entries.length > attrsPerTicketMax) {
    throw new CrmTicketError('INVALID_EFFECT', `ticket ${e.ticket} has ${entries.length} attributes, more than ${attrsPerTicketMax}`);
  }
  for (const [k, v] of entries) {
    checkName('attribute', k);
    if (reservedAttrs.has(k)) throw new CrmTicketError('INVALID_EFFECT', `attribute ${k} of ticket ${e.ticket} is reserved for Pacemaker or booth`);
    if (Buffer.byteLength(v) > valueBytesMax || /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(v)) {
      throw new CrmTicketError('INVALID_EFFECT', `value of attribute ${k} of ticket ${e.ticket} is too long or holds control characters`);
    }
  }
}

/** Pacemaker's crm_is_true / crm_str_to_boolean vocabulary. */
function parseBool(s: RawTicketState, attr: string, missing: boolean): boolean {
  const v = s.attrs.get(attr);
  if (v === undefined) return missing;
  const l = v.toLowerCase();
  if (l === 'true' || l === 'on' || l === 'yes' || l === 'y' || l === '1') return true;
  if (l === 'false' || l === 'off' || l === 'no' || l === 'n' || l === '0') return false;
  throw new CrmTicketError('BAD_OUTPUT', `ticket ${s.id} has ${attr}=${JSON.stringify(v)}, which is not a boolean`);
}

function parseTerm(ticket: string, text: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new CrmTicketError('BAD_OUTPUT', `ticket ${ticket} has term=${JSON.stringify(text)}, which is not a non-negative integer`);
  }
  return Number(text);
}

/**
 * Parses `crm_ticket -q` (all tickets, `ticket` null) or `crm_ticket -t T -q`:
 * the line `State XML:`, an empty line, then `<tickets>` holding
 * `<ticket_state …/>` elements, or one `<ticket_state …/>`, read with the
 * strict XML reader (xml-cursor.ts). Anything else throws BAD_OUTPUT naming
 * what was wrong.
 */
export function parseQueryOutput(stdout: string, ticket: string | null): RawTicketState[] {
  const header = 'State XML:\n\n';
  if (!stdout.startsWith(header)) {
    throw new CrmTicketError('BAD_OUTPUT', `crm_ticket -q output does not start with "State XML:" and an empty line: ${JSON.stringify(stdout.slice(0, 80))}`);
  }
  const bad = (what: string): never => {
    throw new CrmTicketError('BAD_OUTPUT', `crm_ticket -q output: ${what}`);
  };
  let root: XmlElement;
  try {
    root = parseXmlDocument(stdout.slice(header.length), { depthMax: 3, elementCountMax: ticketsPerCibMax + 2 });
  } catch (err) {
    if (err instanceof XmlSyntaxError) bad(err.message);
    throw err;
  }
  const out = root.name === 'ticket_state' ? [ticketStateOf(root, bad)] : root.name === 'tickets' ? ticketStatesOf(root, bad) : bad(`unexpected root element <${root.name}>`);
  if (ticket !== null && (out.length !== 1 || out[0]?.id !== ticket)) {
    throw new CrmTicketError('BAD_OUTPUT', `crm_ticket -t ${ticket} -q returned ${out.map((st) => st.id).join(', ') || 'no ticket'}`);
  }
  return out;
}

/** One `<ticket_state …/>`: an id and attributes, no content. */
function ticketStateOf(el: XmlElement, bad: (what: string) => never): RawTicketState {
  if (el.children.length > 0 || el.text.trim() !== '') bad(`<ticket_state> at offset ${el.offset} has content`);
  const id = el.attrs.get('id');
  if (id === undefined || id === '') bad(`<ticket_state> at offset ${el.offset} without an id`);
  return { id, attrs: el.attrs };
}

/** The `<ticket_state>` elements of a `<tickets>` element (nothing else in it), each id once. */
function ticketStatesOf(tickets: XmlElement, bad: (what: string) => never): RawTicketState[] {
  if (tickets.attrs.size !== 0) bad('<tickets> has attributes');
  if (tickets.text.trim() !== '') bad('text inside <tickets>');
  const out: RawTicketState[] = [];
  const ids = new Set<string>();
  for (const c of tickets.children) {
    if (c.name !== 'ticket_state') bad(`unexpected <${c.name}> inside <tickets>`);
    const st = ticketStateOf(c, bad);
    if (ids.has(st.id)) bad(`ticket ${st.id} appears twice`);
    ids.add(st.id);
    out.push(st);
  }
  return out;
}

/**
 * Parses `cibadmin -Q --scope status`: one `<status>` element, holding at most
 * one `<tickets>` (none: no ticket has a state) of at most ticketsPerCibMax + 1
 * states, read with the strict XML reader. Anything else throws BAD_OUTPUT
 * naming what was wrong.
 */
export function parseStatusTickets(stdout: string): RawTicketState[] {
  const bad = (what: string): never => {
    throw new CrmTicketError('BAD_OUTPUT', `cibadmin -Q --scope status output: ${what}`);
  };
  let root: XmlElement;
  try {
    root = parseXmlDocument(stdout);
  } catch (err) {
    if (err instanceof XmlSyntaxError) bad(err.message);
    throw err;
  }
  if (root.name !== 'status') bad(`root element <${root.name}>, not <status>`);
  const tickets = childElements(root, 'tickets');
  if (tickets.length > 1) bad(`${tickets.length} <tickets> elements`);
  if (tickets.length === 0) return [];
  // The bound crm_ticket -q's element count sets (its <tickets> and one more), so that this read is not the stricter.
  if (tickets[0]!.children.length > ticketsPerCibMax + 1) bad(`more than ${ticketsPerCibMax + 1} ticket states`);
  return ticketStatesOf(tickets[0]!, bad);
}

/** A ticket state this formation did not write, as the start-up read gives it (CibTicketState.notOurs). */
function notOursState(s: RawTicketState): CibTicketState {
  let granted: boolean;
  try {
    granted = parseBool(s, 'granted', false);
  } catch {
    // Not a boolean: taken as granted, the reading that never leaves a revoke unwritten.
    granted = true;
  }
  return { name: s.id, granted, generation: generation(0), revokeBy: null, expiresAt: null, notOurs: true };
}
