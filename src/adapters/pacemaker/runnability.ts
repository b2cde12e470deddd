// The built-in runnability check (DESIGN.md §4): would the resources that
// depend on a ticket run at this site if the ticket were granted here? It
// replaces booth's `service-runnable` script, which greps crm_simulate's text
// output and has never matched anything since Pacemaker 2.1 changed that text
// (reference/pacemaker.md §5). We ask the scheduler itself, in its XML form,
// and read the answer strictly:
//
//  1. `cibadmin -Q` takes one snapshot of the CIB (the live one, or the file
//     named by CIB_file). We parse it ourselves: it must be a real CIB with a
//     configuration section. Pacemaker's tools "repair" a broken file into
//     `<cib validate-with="none"><status/></cib>` and exit 0 (pacemaker.md
//     §2.2); on such a CIB crm_simulate would happily report nothing to do.
//  2. The rsc_ticket constraints naming the ticket (by `rsc`, through resource
//     sets, through tags) say which resources, in which role, depend on it. A
//     ticket nothing depends on is runnable: there is nothing to check, and no
//     process is spawned for the simulation.
//  3. The snapshot is written to a private temp dir (0700: a CIB holds resource
//     parameters, passwords among them), the ticket is granted and activated in
//     that copy (`crm_ticket -t T -g --force -S standby --attr-value=false` with
//     CIB_file = the copy; never the live CIB), and
//     `crm_simulate --simulate --show-scores --show-failcounts --output-as=xml --xml-file <copy>`
//     runs the scheduler on it and simulates carrying out the transition.
//     CIB_shadow_dir points into the temp dir too: crm_simulate otherwise
//     writes its working copy to /var/lib/pacemaker/cib (observed with strace
//     on 2.1.5), which needs root or hacluster and leaks if it is killed.
//  4. From the XML we read the resources' state after the simulated transition
//     (`<revised_cluster_status>`): a requirement is met when an instance of
//     the resource is active in the required role on one of our nodes and is
//     neither failed nor blocked. Already running counts, so the same check
//     serves before an acquire and before a renewal. When a requirement is not
//     met, the allocation scores (`<allocations>`), fail counts
//     (`<node_history>`), node states and the CIB's own location and colocation
//     constraints explain why, per node, in the reason.
//
// A failing tool (missing, non-zero exit, timeout, abort) or output we do not
// understand is an error (RunnabilityError with a code), never a "not
// runnable" answer: the caller must not move a ticket because a check broke.
//
// Resources disabled by an administrator (target-role=Stopped, or Unpromoted
// for a Promoted requirement) do not make a ticket unrunnable, as with booth's
// service-runnable: they are stopped on purpose, at every site alike.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../core/types.js';
import type { AbortOptions, MonotonicClock } from '../../ports/ports.js';
import { SystemClock } from '../system-clock.js';
import { childElements, descendants, firstChild, parseXmlDocument, XmlSyntaxError, type XmlElement } from '../xml-cursor.js';
import { readExit, type ExitMeaning } from '../exit-codes.js';
import { commandLine, describeFailedRun, runFailureCode, systemProcessRunner, type ProcessRunner, type RunResult } from '../process-runner.js';
import { TollboothError } from '../../errors.js';

export type RunnabilityErrorCode =
  /** The ticket name is not one we pass to Pacemaker tools. */
  | 'INVALID_TICKET'
  /** A Pacemaker binary could not be found (ENOENT). */
  | 'BINARY_MISSING'
  /** A binary could not be started for another reason (EACCES, ...). */
  | 'SPAWN_FAILED'
  /** A call did not finish within callTimeoutMs (it was killed). */
  | 'TIMEOUT'
  /** A tool was killed by a signal we did not send (a crash, the OOM killer). */
  | 'KILLED'
  /** The caller's signal aborted the check. */
  | 'ABORTED'
  /** cibadmin could not reach a CIB (rc 102, or 105 "Could not connect": no cluster, CIB_file missing). */
  | 'NO_CIB_CONNECTION'
  /** The CIB is not valid (rc 78), or is what Pacemaker's tools make of a broken file (no configuration). */
  | 'CIB_INVALID'
  /** A tool did not understand its command line (rc 64). */
  | 'USAGE'
  /** A tool exited non-zero for another reason, or crm_simulate reported a non-OK status. */
  | 'FAILED'
  /** Output that is not well-formed XML, lacks what we need, or exceeds outputBytesMax. */
  | 'BAD_OUTPUT'
  /** The temp dir or file for the CIB copy could not be created or written. */
  | 'TEMP_FILE';

export type PacemakerTool = 'cibadmin' | 'crm_ticket' | 'crm_simulate';

/** A runnability check that could not give an answer, with flat log fields. */
export class RunnabilityError extends TollboothError<RunnabilityErrorCode> {
  /** The tool that failed, when one did. */
  readonly tool: PacemakerTool | null;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  /** The exit code's reading was transient (exit-codes.ts). */
  readonly transient: boolean;

  constructor(
    code: RunnabilityErrorCode,
    message: string,
    details: { tool?: PacemakerTool; args?: readonly string[]; exitCode?: number | null; stderr?: string; transient?: boolean; cause?: unknown } = {},
  ) {
    super(code, `${code}: ${message}`, {
      details: { tool: details.tool, args: details.args, exitCode: details.exitCode, stderr: details.stderr, transient: details.transient },
      cause: details.cause,
    });
    this.tool = details.tool ?? null;
    this.args = details.args ?? [];
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? '';
    this.transient = details.transient ?? false;
  }
}

/** The role an rsc_ticket constrains (`rsc-role`, or `role` on a resource set). */
export type TicketRole = 'Started' | 'Promoted' | 'Unpromoted';

/** One resource that depends on the ticket, from one rsc_ticket constraint. */
export interface TicketRequirement {
  /** The rsc_ticket constraint's id. */
  readonly constraint: string;
  /** The resource's id in the configuration (a primitive, group, clone or bundle). */
  readonly resource: string;
  readonly role: TicketRole;
  /** The tag the constraint named, when the resource came through one. */
  readonly tag: string | null;
}

/** What the simulation says about one requirement. */
export interface ResourceVerdict extends TicketRequirement {
  readonly ok: boolean;
  /** Our nodes where it would be active in the required role after the transition. */
  readonly nodes: readonly string[];
  /** A plain phrase: where it would run, why not, or why it is not counted. */
  readonly detail: string;
}

export type RunnabilityVerdict =
  | {
      readonly runnable: true;
      readonly ticket: string;
      readonly resources: readonly ResourceVerdict[];
      /** Things worth a log line that do not change the answer. */
      readonly notes: readonly string[];
      readonly ms: number;
    }
  | {
      readonly runnable: false;
      readonly ticket: string;
      /** One line naming each resource that would not run here and why. */
      readonly reason: string;
      readonly resources: readonly ResourceVerdict[];
      readonly notes: readonly string[];
      readonly ms: number;
    };

export interface RunnabilityQuery {
  readonly ticket: string;
  /**
   * Our nodes: a requirement is met only by an instance active on one of
   * them. Null or absent: every node of the cluster (a site is one cluster).
   */
  readonly nodes?: readonly string[] | null;
}

/** One finished tool call, for logs, metrics and tests. */
export interface RunnabilityCall {
  readonly tool: PacemakerTool;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly durationMs: number;
  readonly attempt: number;
  readonly code: RunnabilityErrorCode | null;
}

export interface RunnabilityCheckerOptions {
  /** The binaries. Defaults `cibadmin`, `crm_ticket`, `crm_simulate` (looked up on PATH). */
  readonly binaries?: { readonly cibadmin?: string; readonly crmTicket?: string; readonly crmSimulate?: string };
  /**
   * Variables added to the environment of `cibadmin -Q` (a CIB file instead
   * of the live CIB: `CIB_file`). The calls on the copy always get CIB_file =
   * the copy and CIB_shadow_dir = the temp dir, whatever this says.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Per-call deadline in ms; the call is killed past it. Default runnabilityCallTimeoutMsDefault. */
  readonly callTimeoutMs?: number;
  /** Attempts per call for transient failures, including the first. Default runnabilityAttemptsMaxDefault. */
  readonly attemptsMax?: number;
  /** Wait before a retry in ms, doubled for each further one. Default runnabilityRetryBackoffMsDefault. */
  readonly retryBackoffMs?: number;
  /** Largest stdout accepted from one call (the CIB, the simulation), in bytes. Default runnabilityOutputBytesMaxDefault. */
  readonly outputBytesMax?: number;
  /** Where the private temp dirs go. Default os.tmpdir(). */
  readonly tmpDir?: string;
  /** For durations. Default: the system monotonic clock. */
  readonly clock?: MonotonicClock;
  /** Called after every tool call. */
  readonly onCall?: (call: RunnabilityCall) => void;
  /** Runs the tools. Default: the real one (tests may inject a fake). */
  readonly runner?: ProcessRunner;
}

function checkTicketName(ticket: string): void {
  if (ticket.length > ticketBytesMax || !ticketPattern.test(ticket)) {
    throw new RunnabilityError('INVALID_TICKET', `ticket name ${JSON.stringify(ticket.slice(0, ticketBytesMax))} is not a valid name (${ticketPattern.source})`);
  }
}

/** Ticket names we hand to crm_ticket: the same rule as crm-ticket-sink.ts. */
const ticketPattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const ticketBytesMax = 128;
/** Nodes named per resource in a reason before "and N more". */
const reasonNodesMax = 8;
/** Resources named in a reason before "and N more". */
const reasonResourcesMax = 4;
/** Deadline of one tool call, ms (a 3-node CIB takes ~30 ms). */
export const runnabilityCallTimeoutMsDefault = 30_000;
/** Attempts per call for transient failures (CIB manager unreachable or busy), the first included. */
export const runnabilityAttemptsMaxDefault = 2;
/** Wait before a retry, ms; doubled for each further one. */
export const runnabilityRetryBackoffMsDefault = 200;
/** Largest stdout accepted from one call (the CIB, the simulation), bytes. */
export const runnabilityOutputBytesMaxDefault = 64 * 1024 * 1024;
/** Pacemaker's INFINITY score: scores are clamped to ±this. */
const pacemakerScoreInfinity = 1_000_000;

/** Longest stderr kept in a RunnabilityError, characters. */
const stderrCharsMax = 2000;

export class RunnabilityChecker {
  private readonly cibadmin: string;
  private readonly crmTicket: string;
  private readonly crmSimulate: string;
  private readonly callTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly retryBackoffMs: number;
  private readonly outputBytesMax: number;
  private readonly tmpDir: string;
  private readonly clock: MonotonicClock;
  private readonly runner: ProcessRunner;

  constructor(private readonly options: RunnabilityCheckerOptions = {}) {
    this.runner = options.runner ?? systemProcessRunner;
    this.cibadmin = options.binaries?.cibadmin ?? 'cibadmin';
    this.crmTicket = options.binaries?.crmTicket ?? 'crm_ticket';
    this.crmSimulate = options.binaries?.crmSimulate ?? 'crm_simulate';
    this.callTimeoutMs = options.callTimeoutMs ?? runnabilityCallTimeoutMsDefault;
    this.attemptsMax = options.attemptsMax ?? runnabilityAttemptsMaxDefault;
    this.retryBackoffMs = options.retryBackoffMs ?? runnabilityRetryBackoffMsDefault;
    this.outputBytesMax = options.outputBytesMax ?? runnabilityOutputBytesMaxDefault;
    this.tmpDir = options.tmpDir ?? tmpdir();
    this.clock = options.clock ?? new SystemClock();
    assert(this.callTimeoutMs > 0, 'callTimeoutMs must be positive');
    assert(Number.isSafeInteger(this.attemptsMax) && this.attemptsMax >= 1 && this.attemptsMax <= 10, 'attemptsMax must be 1..10');
    assert(this.retryBackoffMs >= 0, 'retryBackoffMs must not be negative');
    assert(this.outputBytesMax > 0, 'outputBytesMax must be positive');
  }

  /**
   * Would the ticket's resources run on our nodes if it were granted here?
   * Resolves with a verdict; throws RunnabilityError when it cannot tell.
   */
  async check(query: RunnabilityQuery, options?: AbortOptions): Promise<RunnabilityVerdict> {
    const started = this.clock.now();
    checkTicketName(query.ticket);
    const cibText = await this.readCib(options?.signal);
    return this.verdict(query, cibText, parseCib(cibText), started, options?.signal);
  }

  /**
   * The same for several tickets against one reading of the CIB: one
   * `cibadmin -Q` for all of them, and a simulation only for the tickets
   * that rsc_ticket constraints name. Per ticket, the verdict or the
   * RunnabilityError that kept it from one; throws when the CIB cannot be read.
   */
  async checkAll(tickets: readonly string[], nodes: readonly string[] | null = null, options?: AbortOptions): Promise<Map<string, RunnabilityVerdict | RunnabilityError>> {
    const out = new Map<string, RunnabilityVerdict | RunnabilityError>();
    const cibText = await this.readCib(options?.signal);
    const cib = parseCib(cibText);
    for (const ticket of tickets) {
      const started = this.clock.now();
      try {
        checkTicketName(ticket);
        out.set(ticket, await this.verdict({ ticket, nodes }, cibText, cib, started, options?.signal));
      } catch (err) {
        if (!(err instanceof RunnabilityError)) throw err;
        out.set(ticket, err);
      }
    }
    return out;
  }

  private readCib(signal: AbortSignal | undefined): Promise<string> {
    return this.call('cibadmin', this.cibadmin, ['-Q'], { ...process.env, ...this.options.env }, signal);
  }

  private async verdict(query: RunnabilityQuery, cibText: string, cib: XmlElement, started: number, signal: AbortSignal | undefined): Promise<RunnabilityVerdict> {
    const { ticket } = query;
    const baseEnv = { ...process.env, ...this.options.env };
    const model = readCibModel(cib, ticket);
    if (model.requirements.length === 0) {
      return {
        runnable: true,
        ticket,
        resources: [],
        notes: [...model.notes, `no rsc_ticket constraint names ticket ${ticket}: nothing here depends on it`],
        ms: this.clock.now() - started,
      };
    }

    let dir: string;
    try {
      dir = await mkdtemp(join(this.tmpDir, 'tollbooth-runnable-'));
    } catch (err) {
      throw new RunnabilityError('TEMP_FILE', `cannot create a temp dir in ${this.tmpDir}: ${String(err)}`, { cause: err });
    }
    try {
      const copy = join(dir, 'cib.xml');
      try {
        await writeFile(copy, cibText, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        throw new RunnabilityError('TEMP_FILE', `cannot write the CIB copy ${copy}: ${String(err)}`, { cause: err });
      }
      // Never the live CIB from here on: both variables point into our temp dir.
      const copyEnv = { ...baseEnv, CIB_file: copy, CIB_shadow_dir: dir };
      await this.call('crm_ticket', this.crmTicket, ['-t', ticket, '-g', '--force', '-S', 'standby', '--attr-value=false'], copyEnv, signal);
      const simText = await this.call(
        'crm_simulate',
        this.crmSimulate,
        ['--simulate', '--show-scores', '--show-failcounts', '--output-as=xml', '--xml-file', copy],
        copyEnv,
        signal,
      );
      const sim = readSimulation(parseSimulation(simText));
      return evaluate(ticket, model, sim, query.nodes ?? null, this.clock.now() - started);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async call(tool: PacemakerTool, binary: string, args: readonly string[], env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.once(tool, binary, args, env, signal, attempt);
      if (r.error === null) return r.stdout;
      // Besides what the tool's table calls transient, a CIB we could not reach at all
      // (105 "Could not connect": the CIB manager restarting) is tried again.
      const transient = r.error.code === 'NO_CIB_CONNECTION' || r.error.transient;
      if (!transient || attempt >= this.attemptsMax) throw r.error;
      try {
        await sleep(this.retryBackoffMs * 2 ** (attempt - 1), undefined, signal === undefined ? undefined : { signal });
      } catch (err) {
        throw new RunnabilityError('ABORTED', `aborted while waiting to retry ${tool}`, { tool, args, cause: err });
      }
    }
  }

  private async once(
    tool: PacemakerTool,
    binary: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    signal: AbortSignal | undefined,
    attempt: number,
  ): Promise<{ stdout: string; error: RunnabilityError | null }> {
    const started = this.clock.now();
    const r = await this.runner.run({
      tool,
      file: binary,
      argv: args,
      env,
      timeoutMs: this.callTimeoutMs,
      outputBytesMax: this.outputBytesMax,
      ...(signal === undefined ? {} : { signal }),
    });
    const error = r.kind === 'exited' && r.exitCode === 0 ? null : runnabilityErrorOf(tool, r);
    this.options.onCall?.({
      tool,
      args,
      exitCode: r.kind === 'exited' ? r.exitCode : null,
      durationMs: this.clock.now() - started,
      attempt,
      code: error?.code ?? null,
    });
    return { stdout: r.stdout, error };
  }
}

/** The tools' exit meanings (exit-codes.ts) as error codes of the check. */
const runnabilityCodeOf: Partial<Record<ExitMeaning, RunnabilityErrorCode>> = {
  'not-connected': 'NO_CIB_CONNECTION',
  'invalid-config': 'CIB_INVALID',
  usage: 'USAGE',
};

/** The error of a tool run that did not exit 0. */
function runnabilityErrorOf(tool: PacemakerTool, r: RunResult): RunnabilityError {
  const stderr = r.stderr.trim().slice(0, stderrCharsMax);
  const base = { tool, args: r.argv, stderr };
  if (r.kind === 'output-over-bound') {
    // Documented as BAD_OUTPUT: output we will not read.
    return new RunnabilityError('BAD_OUTPUT', `${commandLine(r)} printed more than outputBytesMax (${r.outputBytesMax} bytes)`, base);
  }
  if (r.kind !== 'exited') {
    const message = r.kind === 'not-found' ? `${r.file} not found (is pacemaker-cli-utils installed?)` : describeFailedRun(r);
    const code = runFailureCode(r);
    return new RunnabilityError(code === 'OUTPUT_TOO_LARGE' ? 'BAD_OUTPUT' : code, message, base);
  }
  const reading = readExit(tool, r.exitCode, stderr);
  // crm_simulate reports its own failures as <status code=… message=…> on stdout too.
  const status = /<status code="(\d+)" message="([^"]*)"/.exec(r.stdout);
  const said = status === null ? '' : ` (status ${status[1]}: ${status[2]})`;
  const what = `${commandLine(r)} exited ${r.exitCode}${said}${stderr === '' ? '' : `: ${stderr.split('\n').slice(-3).join(' / ')}`}`;
  return new RunnabilityError(runnabilityCodeOf[reading.meaning] ?? 'FAILED', what, { ...base, exitCode: r.exitCode, transient: reading.transient });
}

// ---------------------------------------------------------------------------
// The CIB snapshot

function parseCib(text: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXmlDocument(text);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new RunnabilityError('BAD_OUTPUT', `cibadmin -Q output is not well-formed XML: ${err.message}`, { tool: 'cibadmin', cause: err });
    throw err;
  }
  if (root.name !== 'cib') throw new RunnabilityError('BAD_OUTPUT', `cibadmin -Q printed <${root.name}>, not <cib>`, { tool: 'cibadmin' });
  const configuration = firstChild(root, 'configuration');
  if (configuration === null || firstChild(configuration, 'resources') === null || firstChild(configuration, 'constraints') === null) {
    throw new RunnabilityError(
      'CIB_INVALID',
      `the CIB has no configuration with resources and constraints (validate-with=${JSON.stringify(root.attrs.get('validate-with') ?? '')}): ` +
        'a file Pacemaker could not read comes back like this',
      { tool: 'cibadmin' },
    );
  }
  return root;
}

type ResourceKind = 'primitive' | 'group' | 'clone' | 'bundle';

interface CibResource {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly parent: string | null;
  /** Ids of the primitives at or below this resource. */
  readonly primitives: string[];
}

interface LocationConstraint {
  readonly id: string;
  readonly rsc: string;
  readonly node: string | null;
  readonly score: string | null;
  readonly role: TicketRole | 'Stopped' | null;
  readonly hasRules: boolean;
}

interface ColocationConstraint {
  readonly id: string;
  readonly rsc: string;
  readonly withRsc: string;
  readonly score: string;
}

/** What the check needs from the CIB snapshot. */
export interface CibModel {
  /** The `have-quorum` attribute of the CIB; null when absent. */
  readonly haveQuorum: boolean | null;
  readonly resources: ReadonlyMap<string, CibResource>;
  readonly requirements: readonly TicketRequirement[];
  readonly locations: readonly LocationConstraint[];
  readonly colocations: readonly ColocationConstraint[];
  readonly notes: readonly string[];
}

const resourceKinds: Readonly<Record<string, ResourceKind>> = {
  primitive: 'primitive',
  group: 'group',
  clone: 'clone',
  master: 'clone', // the pre-2.0 name of a promotable clone
  bundle: 'bundle',
};

function parseRole(value: string | undefined): TicketRole | 'Stopped' | null {
  switch ((value ?? 'Started').toLowerCase()) {
    case 'started':
      return 'Started';
    case 'promoted':
    case 'master':
      return 'Promoted';
    case 'unpromoted':
    case 'slave':
      return 'Unpromoted';
    case 'stopped':
      return 'Stopped';
    default:
      return null;
  }
}

/**
 * Reads the resources and the constraints the check needs from a parsed CIB
 * (`<cib>`): the requirements of `ticket`, and the location and colocation
 * constraints that help explain a "no".
 */
export function readCibModel(cib: XmlElement, ticket: string): CibModel {
  const notes: string[] = [];
  const configuration = firstChild(cib, 'configuration');
  const resourcesEl = configuration === null ? null : firstChild(configuration, 'resources');
  const constraintsEl = configuration === null ? null : firstChild(configuration, 'constraints');

  const resources = new Map<string, CibResource>();
  const walk = (el: XmlElement, parent: CibResource | null): void => {
    const kind = resourceKinds[el.name];
    const id = el.attrs.get('id');
    if (kind === undefined || id === undefined) return;
    const r: CibResource = { id, kind, parent: parent?.id ?? null, primitives: [] };
    resources.set(id, r);
    for (const c of el.children) walk(c, r);
    if (kind === 'primitive') {
      for (let p: CibResource | undefined = r; p !== undefined; p = p.parent === null ? undefined : resources.get(p.parent)) p.primitives.push(id);
    }
  };
  for (const el of resourcesEl?.children ?? []) walk(el, null);

  const tags = new Map<string, string[]>();
  for (const tag of descendants(configuration ?? cib, 'tag')) {
    const id = tag.attrs.get('id');
    if (id !== undefined) tags.set(id, childElements(tag, 'obj_ref').flatMap((r) => r.attrs.get('id') ?? []));
  }

  const requirements: TicketRequirement[] = [];
  const seen = new Set<string>();
  const require = (constraint: string, ref: string, roleText: string | undefined): void => {
    const role = parseRole(roleText);
    if (role === null || role === 'Stopped') {
      notes.push(`rsc_ticket ${constraint}: role ${JSON.stringify(roleText)} is not one a ticket can require; ${ref} not checked`);
      return;
    }
    const viaTag = !resources.has(ref) && tags.has(ref);
    const targets = viaTag ? (tags.get(ref) ?? []) : [ref];
    for (const resource of targets) {
      if (!resources.has(resource)) {
        notes.push(`rsc_ticket ${constraint} names ${JSON.stringify(resource)}, which is no resource or tag here (Pacemaker ignores it)`);
        continue;
      }
      const key = `${constraint}\u0000${resource}\u0000${role}`;
      if (seen.has(key)) continue;
      seen.add(key);
      requirements.push({ constraint, resource, role, tag: viaTag ? ref : null });
    }
  };

  const locations: LocationConstraint[] = [];
  const colocations: ColocationConstraint[] = [];
  for (const c of constraintsEl?.children ?? []) {
    const id = c.attrs.get('id') ?? '(no id)';
    if (c.name === 'rsc_ticket' && c.attrs.get('ticket') === ticket) {
      const rsc = c.attrs.get('rsc');
      if (rsc !== undefined) require(id, rsc, c.attrs.get('rsc-role'));
      for (const set of childElements(c, 'resource_set')) {
        for (const ref of childElements(set, 'resource_ref')) {
          const refId = ref.attrs.get('id');
          if (refId !== undefined) require(id, refId, set.attrs.get('role'));
        }
      }
    } else if (c.name === 'rsc_location') {
      const rsc = c.attrs.get('rsc');
      if (rsc === undefined) continue; // rsc-pattern and sets: not used for explanations
      const rules = childElements(c, 'rule');
      const ruleRole = rules.length === 1 ? rules[0]?.attrs.get('role') : undefined;
      locations.push({
        id,
        rsc,
        node: c.attrs.get('node') ?? null,
        score: c.attrs.get('score') ?? null,
        role: parseRole(c.attrs.get('role') ?? ruleRole),
        hasRules: rules.length > 0,
      });
    } else if (c.name === 'rsc_colocation') {
      const rsc = c.attrs.get('rsc');
      const withRsc = c.attrs.get('with-rsc');
      const score = c.attrs.get('score');
      if (rsc !== undefined && withRsc !== undefined && score !== undefined) colocations.push({ id, rsc, withRsc, score });
    }
  }

  const q = cib.attrs.get('have-quorum');
  const haveQuorum = q === undefined ? null : ['1', 'true', 'yes', 'on'].includes(q.toLowerCase());
  return { haveQuorum, resources, requirements, locations, colocations, notes };
}

// ---------------------------------------------------------------------------
// The simulation

function parseSimulation(text: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXmlDocument(text);
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new RunnabilityError('BAD_OUTPUT', `crm_simulate output is not well-formed XML: ${err.message}`, { tool: 'crm_simulate', cause: err });
    throw err;
  }
  const bad = (what: string): never => {
    throw new RunnabilityError('BAD_OUTPUT', `crm_simulate output: ${what}`, { tool: 'crm_simulate' });
  };
  if (root.name !== 'pacemaker-result') bad(`root element is <${root.name}>, not <pacemaker-result>`);
  const status = firstChild(root, 'status');
  if (status === null) bad('no <status> element');
  const code = status?.attrs.get('code');
  if (code !== '0') {
    throw new RunnabilityError('FAILED', `crm_simulate reported status ${code ?? '?'}: ${status?.attrs.get('message') ?? ''}`, { tool: 'crm_simulate' });
  }
  return root;
}

/** One primitive's state after the simulated transition (a `<resource>` element). */
interface PrimitiveState {
  readonly id: string;
  readonly role: string;
  readonly active: boolean;
  readonly blocked: boolean;
  readonly failed: boolean;
  readonly managed: boolean;
  readonly nodes: readonly string[];
}

/** An element of `<resources>` with its ancestors (nearest first). */
interface SimEntry {
  readonly el: XmlElement;
  readonly ancestors: readonly XmlElement[];
}

interface NodeState {
  readonly name: string;
  readonly online: boolean;
  readonly standby: boolean;
  readonly maintenance: boolean;
  readonly unclean: boolean;
  readonly shutdown: boolean;
}

interface Simulation {
  readonly nodes: ReadonlyMap<string, NodeState>;
  readonly entries: readonly SimEntry[];
  /** pcmk__primitive_assign scores: primitive instance id → node → score. */
  readonly assignScores: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Promotion scores: instance id → node → score (only instances placed on a node). */
  readonly promotionScores: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** node → primitive (base id) → fail count and threshold. */
  readonly failCounts: ReadonlyMap<string, ReadonlyMap<string, { failCount: string; threshold: string }>>;
}

const simContainers: ReadonlySet<string> = new Set(['group', 'clone', 'bundle', 'replica']);

function bool(el: XmlElement, attr: string, missing: boolean): boolean {
  const v = el.attrs.get(attr);
  if (v === undefined) return missing;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new RunnabilityError('BAD_OUTPUT', `crm_simulate output: <${el.name} id=${JSON.stringify(el.attrs.get('id') ?? '')}> has ${attr}=${JSON.stringify(v)} at offset ${el.offset}`, {
    tool: 'crm_simulate',
  });
}

function readSimulation(root: XmlElement): Simulation {
  const revised = firstChild(root, 'revised_cluster_status');
  if (revised === null) {
    throw new RunnabilityError('BAD_OUTPUT', 'crm_simulate output has no <revised_cluster_status> (was --simulate honoured?)', { tool: 'crm_simulate' });
  }
  const nodesEl = firstChild(revised, 'nodes');
  const resourcesEl = firstChild(revised, 'resources');
  if (nodesEl === null) throw new RunnabilityError('BAD_OUTPUT', 'crm_simulate output: <revised_cluster_status> has no <nodes>', { tool: 'crm_simulate' });

  const nodes = new Map<string, NodeState>();
  for (const n of childElements(nodesEl, 'node')) {
    const name = n.attrs.get('name');
    if (name === undefined) throw new RunnabilityError('BAD_OUTPUT', `crm_simulate output: a <node> without a name at offset ${n.offset}`, { tool: 'crm_simulate' });
    nodes.set(name, {
      name,
      online: bool(n, 'online', false),
      standby: bool(n, 'standby', false),
      maintenance: bool(n, 'maintenance', false),
      unclean: bool(n, 'unclean', false),
      shutdown: bool(n, 'shutdown', false),
    });
  }

  const entries: SimEntry[] = [];
  const walk = (el: XmlElement, ancestors: readonly XmlElement[]): void => {
    if (el.name !== 'resource' && !simContainers.has(el.name)) return;
    entries.push({ el, ancestors });
    for (const c of el.children) walk(c, [el, ...ancestors]);
  };
  for (const el of resourcesEl?.children ?? []) walk(el, []);

  const assignScores = new Map<string, Map<string, string>>();
  const promotionScores = new Map<string, Map<string, string>>();
  const put = (m: Map<string, Map<string, string>>, id: string, node: string, score: string): void => {
    let byNode = m.get(id);
    if (byNode === undefined) m.set(id, (byNode = new Map<string, string>()));
    byNode.set(node, score);
  };
  const allocations = firstChild(root, 'allocations');
  for (const w of allocations === null ? [] : childElements(allocations)) {
    const id = w.attrs.get('id');
    const node = w.attrs.get('node');
    const score = w.attrs.get('score');
    if (id === undefined || node === undefined || score === undefined) continue;
    if (w.name === 'node_weight' && w.attrs.get('function') === 'pcmk__primitive_assign') put(assignScores, id, node, score);
    else if (w.name === 'promotion_score') put(promotionScores, id, node, score);
  }

  const failCounts = new Map<string, Map<string, { failCount: string; threshold: string }>>();
  const history = firstChild(revised, 'node_history');
  for (const n of history === null ? [] : childElements(history, 'node')) {
    const name = n.attrs.get('name');
    if (name === undefined) continue;
    const byRsc = new Map<string, { failCount: string; threshold: string }>();
    for (const h of childElements(n, 'resource_history')) {
      const id = h.attrs.get('id');
      const failCount = h.attrs.get('fail-count');
      if (id === undefined || failCount === undefined) continue;
      byRsc.set(baseId(id), { failCount, threshold: h.attrs.get('migration-threshold') ?? 'INFINITY' });
    }
    failCounts.set(name, byRsc);
  }
  return { nodes, entries, assignScores, promotionScores, failCounts };
}

/** `db:1` → `db`: clone instance ids carry a `:n` suffix. */
function baseId(id: string): string {
  const m = /^(.*):\d+$/.exec(id);
  return m === null ? id : (m[1] as string);
}

/** Pacemaker's INFINITY is 1 000 000; a score at or below −INFINITY forbids. */
function isMinusInfinity(score: string | null | undefined): boolean {
  if (score === null || score === undefined) return false;
  const s = score.trim().toLowerCase();
  if (s === '-infinity' || s === '-inf') return true;
  const n = Number(s);
  return Number.isFinite(n) && n <= -1_000_000;
}

function scoreNumber(score: string): number {
  const s = score.trim().toLowerCase();
  if (s === 'infinity' || s === '+infinity' || s === 'inf' || s === '+inf') return pacemakerScoreInfinity;
  if (s === '-infinity' || s === '-inf') return -pacemakerScoreInfinity;
  const n = Number(s);
  return Number.isFinite(n) ? Math.max(-pacemakerScoreInfinity, Math.min(pacemakerScoreInfinity, n)) : 0;
}

function primitiveState(el: XmlElement): PrimitiveState {
  return {
    id: el.attrs.get('id') ?? '',
    role: el.attrs.get('role') ?? 'Unknown',
    active: bool(el, 'active', false),
    blocked: bool(el, 'blocked', false),
    failed: bool(el, 'failed', false),
    managed: bool(el, 'managed', true),
    nodes: childElements(el, 'node').flatMap((n) => n.attrs.get('name') ?? []),
  };
}

/** The instances of an output element: each a set of primitives that must all be up together. */
function instancesOf(el: XmlElement): PrimitiveState[][] {
  switch (el.name) {
    case 'resource':
      return [[primitiveState(el)]];
    case 'group':
    case 'replica':
      return [descendants(el, 'resource').map(primitiveState)];
    case 'clone':
      return el.children.flatMap((c) => (c.name === 'resource' || c.name === 'group' ? instancesOf(c) : []));
    case 'bundle':
      return childElements(el, 'replica').flatMap(instancesOf);
    default:
      return [];
  }
}

function isDisabled(entry: SimEntry, role: TicketRole): boolean {
  for (const el of [entry.el, ...entry.ancestors]) {
    if (el.attrs.get('disabled') === 'true') return true;
    const target = el.attrs.get('target_role')?.toLowerCase();
    if (target === 'stopped') return true;
    if (role === 'Promoted' && (target === 'unpromoted' || target === 'slave')) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// The verdict

function evaluate(ticket: string, model: CibModel, sim: Simulation, nodesWanted: readonly string[] | null, ms: number): RunnabilityVerdict {
  const notes = [...model.notes];
  const ours = nodesWanted === null ? [...sim.nodes.keys()] : [...nodesWanted];
  for (const n of ours) if (!sim.nodes.has(n)) notes.push(`node ${n} is not a node of this cluster`);
  const ourSet = new Set(ours);

  const resources = model.requirements.map((req) => judge(req, model, sim, ourSet, ours));
  const failing = resources.filter((r) => !r.ok);
  if (failing.length === 0) return { runnable: true, ticket, resources, notes, ms };

  const parts = failing.slice(0, reasonResourcesMax).map((r) => {
    const what = r.role === 'Promoted' ? `${r.resource} would not be promoted here` : `${r.resource} would not run here`;
    return `${what} (rsc_ticket ${r.constraint}${r.tag === null ? '' : ` via tag ${r.tag}`}): ${r.detail}`;
  });
  if (failing.length > reasonResourcesMax) parts.push(`and ${failing.length - reasonResourcesMax} more resource(s)`);
  let reason = `if ticket ${ticket} were granted: ${parts.join(' | ')}`;
  if (model.haveQuorum === false) reason += ' | the CIB says this cluster has no quorum';
  return { runnable: false, ticket, reason, resources, notes, ms };
}

function judge(req: TicketRequirement, model: CibModel, sim: Simulation, ourSet: ReadonlySet<string>, ours: readonly string[]): ResourceVerdict {
  const verdict = (ok: boolean, nodes: readonly string[], detail: string): ResourceVerdict => ({ ...req, ok, nodes, detail });
  const matches = sim.entries.filter((e) => {
    const id = e.el.attrs.get('id');
    return id !== undefined && (id === req.resource || baseId(id) === req.resource);
  });
  if (matches.length === 0) return verdict(false, [], 'it is missing from crm_simulate\'s output');

  if (matches.every((e) => isDisabled(e, req.role))) {
    const how = req.role === 'Promoted' ? 'held back by its target-role' : 'disabled (target-role=Stopped)';
    return verdict(true, [], `${how}: stopped on purpose, not counted`);
  }

  const instances = matches.flatMap((e) => instancesOf(e.el));
  const upOn = (inst: PrimitiveState[]): string | null => {
    if (inst.length === 0) return null;
    const node = inst[0]?.nodes.length === 1 ? (inst[0].nodes[0] as string) : null;
    if (node === null) return null;
    for (const p of inst) {
      if (!p.active || p.failed || p.blocked || p.nodes.length !== 1 || p.nodes[0] !== node) return null;
      if (req.role === 'Promoted' ? p.role !== 'Promoted' : !['Started', 'Promoted', 'Unpromoted'].includes(p.role)) return null;
    }
    return node;
  };
  const upNodes = [...new Set(instances.flatMap((i) => upOn(i) ?? []))];
  const here = upNodes.filter((n) => ourSet.has(n));
  if (here.length > 0) {
    return verdict(true, here, `${req.role === 'Promoted' ? 'promoted' : 'active'} on ${here.join(', ')}`);
  }

  // Not met: say why, per node, from what the simulation and the CIB show.
  const why: string[] = [];
  const troubleOn = (node: string): string | null => {
    const bad = instances.flat().filter((p) => p.nodes.includes(node) && (p.failed || p.blocked || !p.managed));
    if (bad.length === 0) return null;
    return bad
      .map((p) => `${p.id} is ${[p.blocked ? 'blocked' : null, p.failed ? 'failed' : null, p.managed ? null : 'unmanaged'].filter((f) => f !== null).join(', ')} here`)
      .join(', ');
  };
  const elsewhere = upNodes.filter((n) => !ourSet.has(n));
  if (elsewhere.length > 0) why.push(`it would be ${req.role === 'Promoted' ? 'promoted' : 'active'} on ${elsewhere.join(', ')}, which is not one of ours`);
  if (ours.length === 0) why.push('no node to run on');
  // Nodes with the same explanation are named together: "node1, node3: offline".
  const byExplanation = new Map<string, string[]>();
  for (const n of ours.slice(0, reasonNodesMax)) {
    const text = troubleOn(n) ?? explainNode(n, req, model, sim);
    byExplanation.set(text, [...(byExplanation.get(text) ?? []), n]);
  }
  for (const [text, nodes] of byExplanation) why.push(`${nodes.join(', ')}: ${text}`);
  if (ours.length > reasonNodesMax) why.push(`and ${ours.length - reasonNodesMax} more node(s)`);
  return verdict(false, [], why.join('; '));
}

/** Ids of `resource` and of its ancestors in the configuration. */
function selfAndAncestors(model: CibModel, resource: string): string[] {
  const out: string[] = [];
  for (let r = model.resources.get(resource); r !== undefined; r = r.parent === null ? undefined : model.resources.get(r.parent)) out.push(r.id);
  return out;
}

function explainNode(node: string, req: TicketRequirement, model: CibModel, sim: Simulation): string {
  const state = sim.nodes.get(node);
  if (state === undefined) return 'not a node of this cluster';
  if (state.unclean) return 'unclean (waiting to be fenced)';
  if (!state.online) return 'offline';
  if (state.standby) return 'in standby';
  if (state.maintenance) return 'in maintenance';
  if (state.shutdown) return 'shutting down';

  const lineage = selfAndAncestors(model, req.resource);
  const roleApplies = (role: LocationConstraint['role']): boolean =>
    role === null || role === 'Started' ? true : role === 'Promoted' ? req.role === 'Promoted' : false;
  const bans = model.locations.filter(
    (l) => lineage.includes(l.rsc) && l.node === node && !l.hasRules && isMinusInfinity(l.score) && roleApplies(l.role),
  );
  if (bans.length > 0) return `banned by rsc_location ${bans.map((b) => b.id).join(', ')}`;

  const primitives = model.resources.get(req.resource)?.primitives ?? [req.resource];
  const failures: string[] = [];
  for (const p of primitives) {
    const fc = sim.failCounts.get(node)?.get(p);
    if (fc !== undefined && scoreNumber(fc.failCount) >= scoreNumber(fc.threshold)) {
      failures.push(`${p} failed here (fail-count ${fc.failCount} reached migration-threshold ${fc.threshold})`);
    }
  }
  if (failures.length > 0) return failures.join(', ');

  const hints = (promotion: boolean): string => {
    const h: string[] = [];
    const ruled = model.locations.filter((l) => lineage.includes(l.rsc) && l.hasRules && (promotion ? l.role === 'Promoted' : l.role !== 'Promoted'));
    if (ruled.length > 0) h.push(`rule-based rsc_location ${ruled.map((l) => l.id).join(', ')} may apply`);
    const coloc = model.colocations.filter((c) => lineage.includes(c.rsc) && scoreNumber(c.score) >= 1_000_000);
    for (const c of coloc) h.push(`it must run with ${c.withRsc} by rsc_colocation ${c.id}`);
    return h.length === 0 ? '' : ` (${h.join(', ')})`;
  };

  // A primitive is forbidden on the node when every instance of it scores −INFINITY there.
  const forbidden = primitives.filter((p) => {
    const scores = [...sim.assignScores.entries()].filter(([id]) => baseId(id) === p).map(([, byNode]) => byNode.get(node));
    return scores.length > 0 && scores.every((s) => isMinusInfinity(s));
  });
  if (forbidden.length > 0) return `score -INFINITY for ${forbidden.join(', ')}${hints(false)}`;

  if (req.role === 'Promoted') {
    const promo = [...sim.promotionScores.entries()]
      .filter(([id]) => primitives.includes(baseId(id)))
      .flatMap(([, byNode]) => byNode.get(node) ?? []);
    if (promo.length > 0 && promo.every((s) => isMinusInfinity(s))) return `promotion score -INFINITY${hints(true)}`;
    if (promo.length > 0) return `not chosen for promotion (promotion score ${promo.join(', ')})`;
    return `no instance placed here to promote${hints(true)}`;
  }
  const scores = primitives.flatMap((p) => [...sim.assignScores.entries()].filter(([id]) => baseId(id) === p).flatMap(([, byNode]) => byNode.get(node) ?? []));
  return scores.length > 0 ? `not chosen (score ${scores.join(', ')})` : 'crm_simulate gives no reason';
}
