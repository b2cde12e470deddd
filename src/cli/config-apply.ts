// `tollbooth config apply` and `config check --against-running` (issue 11):
// the difference between a config file and the formation config the registry
// has committed, and the steps that carry it out, one committed change at a
// time. Type-only imports from the core: an admin command loads none of it.
//
// What changes at runtime and what does not:
//   - tickets: added, removed (a held one is revoked first and removed once the
//     old holder's lease has run out), changed (every registry setting: mode,
//     expire, acquire-after, revoke lead, weights). A change never moves a held
//     ticket and never shortens a lease already granted (lease-office.ts).
//   - members: their own commands (`tollbooth member …`); until those exist,
//     `config apply` names the command and changes nothing.
//   - formation timings (heartbeat, election timeout, renewal, drift bound…):
//     every member dates its leader lease and vote refusals with them, so they
//     are fixed for a formation's life; `config apply` refuses a difference and
//     names what to do (docs/configuration.md §10).

import type { CoreTiming } from '../core/config.js';
import type { MemberKind, TicketDef } from '../core/types.js';
import { Buffer } from 'node:buffer';
import type { AdminRequest, AdminResponse, CommittedConfigData } from '../runtime/admin-service.js';

/** `config show --json`'s data (admin-service.ts), its members and tickets. */
export type CommittedConfigView = CommittedConfigData;
export type CommittedMember = CommittedConfigData['members'][number];
export type CommittedTicket = CommittedConfigData['tickets'][number];

/** What the file asks for, in the registry's terms (src/config/core-defs.ts). */
export interface WantedConfig {
  readonly members: ReadonlyArray<{ readonly id: string; readonly kind: MemberKind; readonly publicKeyBase64: string | null }>;
  readonly tickets: readonly TicketDef[];
  readonly timing: CoreTiming;
}

export interface SettingChange {
  readonly setting: string;
  readonly from: string;
  readonly to: string;
}

export interface ConfigDiff {
  readonly ticketsAdded: readonly TicketDef[];
  readonly ticketsRemoved: ReadonlyArray<{ readonly name: string; readonly holder: string | null }>;
  readonly ticketsChanged: ReadonlyArray<{ readonly def: TicketDef; readonly holder: string | null; readonly settings: readonly SettingChange[] }>;
  readonly membersAdded: ReadonlyArray<{ readonly address: string; readonly role: MemberKind; readonly publicKeyBase64: string | null }>;
  readonly membersRemoved: readonly CommittedMember[];
  /** Same address, another role. */
  readonly membersReplaced: ReadonlyArray<{ readonly address: string; readonly from: MemberKind; readonly to: MemberKind; readonly publicKeyBase64: string | null }>;
  /** Empty when the committed timings are unknown (an older store): nothing to compare. */
  readonly timings: readonly SettingChange[];
}

/** The booth.conf / tollbooth names of the settings, as the operator wrote them. */
const timingNames: ReadonlyArray<[keyof CoreTiming, string]> = [
  ['heartbeatIntervalMs', 'heartbeat interval (ms)'],
  ['electionTimeoutMs', 'election timeout (ms)'],
  ['renewIntervalMs', 'renew interval (ms)'],
  ['renewRetryMs', 'renew retry (ms)'],
  ['clockDriftPpmMax', 'tollbooth-clock-drift-ppm'],
  ['effectRetryMs', 'effect retry (ms)'],
  ['siteAliveWindowMs', 'site alive window (ms)'],
];

export function diffConfig(committed: CommittedConfigView, wanted: WantedConfig): ConfigDiff {
  const have = new Map(committed.tickets.map((t) => [t.name, t]));
  const want = new Map(wanted.tickets.map((t) => [t.name, t]));
  const ticketsAdded = wanted.tickets.filter((t) => !have.has(t.name));
  const ticketsRemoved = committed.tickets.filter((t) => !want.has(t.name)).map((t) => ({ name: t.name, holder: t.holder }));
  const ticketsChanged: Array<ConfigDiff['ticketsChanged'][number]> = [];
  for (const def of wanted.tickets) {
    const old = have.get(def.name);
    if (old === undefined) continue;
    const settings = ticketSettingChanges(old, def);
    if (settings.length > 0) ticketsChanged.push({ def, holder: old.holder, settings });
  }
  const members = new Map(committed.members.map((m) => [m.address, m]));
  const wantedIds = new Set(wanted.members.map((m) => m.id));
  const membersAdded = wanted.members.filter((m) => !members.has(m.id)).map((m) => ({ address: m.id, role: m.kind, publicKeyBase64: m.publicKeyBase64 }));
  const membersRemoved = committed.members.filter((m) => !wantedIds.has(m.address));
  const membersReplaced = wanted.members.flatMap((m) => {
    const old = members.get(m.id);
    return old !== undefined && old.role !== m.kind ? [{ address: m.id, from: old.role, to: m.kind, publicKeyBase64: m.publicKeyBase64 }] : [];
  });
  const timings: SettingChange[] = [];
  if (committed.timing !== null) {
    for (const [key, name] of timingNames) {
      if (committed.timing[key] !== wanted.timing[key]) timings.push({ setting: name, from: String(committed.timing[key]), to: String(wanted.timing[key]) });
    }
  }
  return { ticketsAdded, ticketsRemoved, ticketsChanged, membersAdded, membersRemoved, membersReplaced, timings };
}

function ticketSettingChanges(old: TicketDef, def: TicketDef): SettingChange[] {
  const out: SettingChange[] = [];
  const cmp = (setting: string, a: string | number, b: string | number): void => {
    if (a !== b) out.push({ setting, from: String(a), to: String(b) });
  };
  cmp('mode', old.mode, def.mode);
  cmp('expire (ms)', old.leaseDurationMs, def.leaseDurationMs);
  cmp('acquire-after (ms)', old.acquireAfterMs, def.acquireAfterMs);
  cmp('tollbooth-revoke-lead (ms)', old.revokeLeadMs, def.revokeLeadMs);
  const sites = [...new Set([...Object.keys(old.weights), ...Object.keys(def.weights)])].sort();
  for (const site of sites) cmp(`weight of ${site}`, old.weights[site] ?? 0, def.weights[site] ?? 0);
  return out;
}

export function isEmptyDiff(d: ConfigDiff): boolean {
  return (
    d.ticketsAdded.length + d.ticketsRemoved.length + d.ticketsChanged.length + d.membersAdded.length + d.membersRemoved.length + d.membersReplaced.length + d.timings.length ===
    0
  );
}

/** The difference in words, one line each (`config apply`, `config check --against-running`, the agent's warning). */
export function describeDiff(d: ConfigDiff): string[] {
  const lines: string[] = [];
  for (const t of d.ticketsAdded) lines.push(`ticket ${t.name}: added (${t.mode}, expire ${t.leaseDurationMs} ms, acquire-after ${t.acquireAfterMs} ms, revoke lead ${t.revokeLeadMs} ms)`);
  for (const t of d.ticketsRemoved) lines.push(`ticket ${t.name}: removed${t.holder === null ? '' : ` (held by ${t.holder}: revoked first, removed once its lease has run out)`}`);
  for (const t of d.ticketsChanged) {
    lines.push(`ticket ${t.def.name}: changed${t.holder === null ? '' : ` (held by ${t.holder}: stays there)`}`);
    for (const s of t.settings) lines.push(`  ${s.setting}: ${s.from} → ${s.to}`);
  }
  for (const m of d.membersAdded) lines.push(`member ${m.address}: added (${m.role})`);
  for (const m of d.membersRemoved) lines.push(`member ${m.address}: removed (${m.role})`);
  for (const m of d.membersReplaced) lines.push(`member ${m.address}: replaced (${m.from} → ${m.to})`);
  for (const s of d.timings) lines.push(`timing ${s.setting}: ${s.from} → ${s.to}`);
  return lines;
}

/**
 * Why the difference cannot be applied at runtime by `config apply`, or null.
 * Timings never; members through their own commands (named here).
 */
export function refusalOf(d: ConfigDiff): string | null {
  const reasons: string[] = [];
  if (d.timings.length > 0) {
    reasons.push(
      `formation timings cannot change on a running formation (${d.timings.map((s) => s.setting).join(', ')}): every member dates its leader lease and its vote refusals with them, and a member that applied a change before another would overlap leases. Put the committed values back in the file (tollbooth config show), or change them by re-forming the formation (docs/configuration.md §10, "Changing formation timings")`,
    );
  }
  const memberCommands = [
    ...d.membersAdded.map((m) => `tollbooth member add ${m.address} --role ${m.role} --key ${m.publicKeyBase64 ?? 'BASE64'}`),
    ...d.membersRemoved.map((m) => `tollbooth member remove ${m.address}`),
    ...d.membersReplaced.map((m) => `tollbooth member remove ${m.address}, then tollbooth member add ${m.address} --role ${m.to} --key ${m.publicKeyBase64 ?? 'BASE64'}`),
  ];
  if (memberCommands.length > 0) {
    reasons.push(`membership changes go one at a time through their own command; run, in order: ${memberCommands.join('; ')}; then config apply again for the tickets`);
  }
  return reasons.length === 0 ? null : reasons.join('\n');
}

export type Caller = (req: AdminRequest) => Promise<AdminResponse>;

export interface ApplyStep {
  readonly what: string;
  readonly req: AdminRequest;
  /** A held ticket's removal waits for its old holder's lease: poll `config show` until it is gone, this long at most. */
  readonly waitGoneMs?: number;
}

/** (1+ρ)/(1−ρ) at the largest drift bound a config may set (100,000 ppm) is 1.22: a ceiling for every formation. */
const driftStretchCeiling = 1.25;
/** Time allowed for leader changes when the committed timings are unknown (an older store), ms. */
const electionAllowanceMsDefault = 10_000;

/** Removal of a held ticket: the longest it can take (its lease, drift-stretched, with room for a leader change), ms. */
export function removalWaitMs(t: CommittedTicket, timing: CoreTiming | null): number {
  const lease = Math.max(t.leaseDurationMs, t.leaseDurationHonouredMs ?? 0);
  const election = timing === null ? electionAllowanceMsDefault : 4 * timing.electionTimeoutMs;
  return Math.ceil(lease * driftStretchCeiling) + election;
}

/** The steps, in order: additions first (nothing depends on them), then changes, then removals. Each carries the version it expects. */
export function planSteps(d: ConfigDiff, committed: CommittedConfigView): ApplyStep[] {
  const steps: ApplyStep[] = [];
  let version = committed.version;
  const held = new Map(committed.tickets.map((t) => [t.name, t]));
  for (const def of d.ticketsAdded) steps.push({ what: `add ticket ${def.name}`, req: { op: 'ticket-add', ticket: def.name, def, expectedVersion: version++ } });
  for (const c of d.ticketsChanged) steps.push({ what: `change ticket ${c.def.name}`, req: { op: 'ticket-change', ticket: c.def.name, def: c.def, expectedVersion: version++ } });
  for (const r of d.ticketsRemoved) {
    const t = held.get(r.name)!;
    steps.push({
      what: `remove ticket ${r.name}${r.holder === null ? '' : ` (revoke at ${r.holder} first)`}`,
      req: { op: 'ticket-remove', ticket: r.name, revokeFirst: true, expectedVersion: version++ },
      waitGoneMs: removalWaitMs(t, committed.timing),
    });
  }
  return steps;
}

/** How often a removal's wait asks `config show`, ms. */
const removalPollMs = 250;

export type StepOutcome = { readonly ok: true } | { readonly ok: false; readonly unknown: boolean; readonly message: string };

/**
 * Carries out one step and waits until it is committed. A removal that waits
 * for a lease outlasts one admin request: when its answer is 'unknown-outcome'
 * (the request's time ran out, the command still waits at the leader) it
 * polls the committed config until the ticket is gone.
 */
export async function runStep(call: Caller, step: ApplyStep, now: () => number, sleep: (ms: number) => Promise<void>): Promise<StepOutcome> {
  const res = await call(step.req);
  if (res.ok) return { ok: true };
  const unknown = res.code === 'unknown-outcome' || res.code === 'timeout' || res.code === 'no-leader' || res.code === 'not-leader' || res.code === 'unreachable';
  if (!unknown || step.waitGoneMs === undefined) return { ok: false, unknown, message: `${step.what}: ${res.message}${res.code === undefined ? '' : ` (${res.code})`}` };
  const end = now() + step.waitGoneMs;
  while (now() < end) {
    const show = await call({ op: 'config-show' });
    const view = show.data as CommittedConfigView | undefined;
    if (show.ok && view !== undefined && !view.tickets.some((t) => t.name === step.req.ticket)) return { ok: true };
    await sleep(removalPollMs);
  }
  return { ok: false, unknown: true, message: `${step.what}: not committed within ${step.waitGoneMs} ms; see tollbooth config show and tollbooth history ${step.req.ticket ?? ''}` };
}

// ───────────── the commands ─────────────

export interface ConfigCommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Exit codes, as every admin command (admin-client.ts): 0 done, 1 refused, 3 outcome unknown. */
const exitDone = 0;
const exitRefusedCode = 1;
const exitUnknown = 3;

/** Reads and checks the file; the problems as text when it has errors. */
export async function wantedConfigOf(path: string): Promise<{ ok: true; wanted: WantedConfig; name: string } | { ok: false; message: string }> {
  const { loadConfigFile } = await import('../config/index.js');
  const { formatConfigProblem, hasConfigErrors } = await import('../config/problems.js');
  const { coreMembersOf, coreTimingOf, ticketDefsOf } = await import('../config/core-defs.js');
  const r = loadConfigFile(path);
  if (hasConfigErrors(r.problems)) return { ok: false, message: r.problems.map(formatConfigProblem).join('\n') };
  const keys = new Map(r.config.members.map((m) => [m.address, m.publicKey === null ? null : Buffer.from(m.publicKey).toString('base64')]));
  const members = coreMembersOf(r.config).map((m) => ({ id: m.id, kind: m.kind, publicKeyBase64: keys.get(m.id) ?? null }));
  return { ok: true, name: r.config.name, wanted: { members, tickets: ticketDefsOf(r.config), timing: coreTimingOf(r.config) } };
}

async function committedOf(call: Caller, io: ConfigCommandIo): Promise<CommittedConfigView | null> {
  const res = await call({ op: 'config-show' });
  if (!res.ok) {
    io.err(`tollbooth: cannot read the committed config: ${res.message}${res.code === undefined ? '' : ` (${res.code})`}\n`);
    return null;
  }
  return res.data as CommittedConfigView;
}

/** `config check FILE --against-running`: 0 when the file says what the formation has committed, 1 when it differs (printed). */
export async function runConfigCheckAgainstRunning(path: string, call: Caller, io: ConfigCommandIo): Promise<number> {
  const file = await wantedConfigOf(path);
  if (!file.ok) {
    io.out(`${file.message}\n`);
    return exitRefusedCode;
  }
  const committed = await committedOf(call, io);
  if (committed === null) return exitUnknown;
  const diff = diffConfig(committed, file.wanted);
  if (isEmptyDiff(diff)) {
    io.out(`${path}: matches the committed config (version ${committed.version})\n`);
    return exitDone;
  }
  io.out(`${path} differs from the committed config (version ${committed.version}); the formation runs with the committed one:\n`);
  for (const line of describeDiff(diff)) io.out(`  ${line}\n`);
  return exitRefusedCode;
}

/**
 * `config apply`: the difference, then (unless dry run) each step proposed and
 * waited for until committed. 0: every step committed (or nothing to do);
 * 1: refused (nothing proposed after the refusal; the reason printed);
 * 3: a step's outcome is unknown (leadership lost, no answer in time).
 */
export async function runConfigApply(path: string, dryRun: boolean, json: boolean, call: Caller, io: ConfigCommandIo): Promise<number> {
  const file = await wantedConfigOf(path);
  if (!file.ok) {
    io.err(`tollbooth: ${path} has errors:\n${file.message}\n`);
    return exitRefusedCode;
  }
  const committed = await committedOf(call, io);
  if (committed === null) return exitUnknown;
  const diff = diffConfig(committed, file.wanted);
  const lines = describeDiff(diff);
  const refusal = refusalOf(diff);
  const steps = planSteps(diff, committed);
  const report = (done: string[], result: string, code: number): number => {
    if (json) io.out(`${JSON.stringify({ ok: code === exitDone, data: { version: committed.version, difference: lines, dryRun, steps: steps.map((s) => s.what), done, result } })}\n`);
    else io.out(`${result}\n`);
    return code;
  };
  if (!json) {
    io.out(lines.length === 0 ? `nothing to change: ${path} matches the committed config (version ${committed.version})\n` : `difference to the committed config (version ${committed.version}):\n`);
    for (const line of lines) io.out(`  ${line}\n`);
  }
  if (refusal !== null) {
    if (!json) io.err(`tollbooth: refused, nothing applied:\n${refusal}\n`);
    return report([], `refused: ${refusal}`, exitRefusedCode);
  }
  if (steps.length === 0) return report([], 'nothing to do', exitDone);
  if (dryRun) return report([], `dry run: ${steps.length} step(s) not proposed`, exitDone);
  const done: string[] = [];
  for (const step of steps) {
    const started = io.now();
    const outcome = await runStep(call, step, io.now, io.sleep);
    if (!outcome.ok) {
      if (!json) io.err(`tollbooth: ${outcome.message}\n`);
      return report(done, outcome.unknown ? `outcome unknown: ${outcome.message}` : `refused: ${outcome.message}`, outcome.unknown ? exitUnknown : exitRefusedCode);
    }
    done.push(step.what);
    if (!json) io.out(`${step.what}: committed (${io.now() - started} ms)\n`);
  }
  return report(done, `applied: ${done.length} step(s) committed`, exitDone);
}

/** `config show` in words. */
export function formatCommittedConfig(c: CommittedConfigView): string {
  const lines = [`config version ${c.version}`, 'members:'];
  for (const m of c.members) lines.push(`  ${m.address}  ${m.role}`);
  lines.push('tickets:');
  for (const t of c.tickets) {
    const weights = Object.entries(t.weights)
      .map(([s, w]) => `${s}=${w}`)
      .join(',');
    const owed = t.leaseDurationHonouredMs === undefined ? '' : ` (a ${t.leaseDurationHonouredMs} ms lease still owed)`;
    lines.push(
      `  ${t.name}  ${t.mode}  expire ${t.leaseDurationMs} ms${owed}  acquire-after ${t.acquireAfterMs} ms  revoke-lead ${t.revokeLeadMs} ms  weights ${weights === '' ? '-' : weights}  holder ${t.holder ?? '-'}  generation ${t.generation}`,
    );
  }
  if (c.timing === null) lines.push('timings: not recorded by this store (written before they were)');
  else lines.push(`timings: ${timingNames.map(([k, name]) => `${name} ${c.timing![k]}`).join(', ')}`);
  return lines.join('\n');
}
