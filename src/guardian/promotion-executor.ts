// Carries out one quorum-guardian plan — replace lost voter D by remote node
// R (src/core/guardian/quorum-guardian.ts, DESIGN.md §5) — step by step, through the
// node helpers (src/adapters/corosync/node-helper.ts) of the nodes concerned:
//
//   pre-check               on the driver (a live voter): corosync says
//                           quorate, D and R are not members, every voter
//                           the plan counts as live is a member, and the live
//                           voters alone are a majority of the new nodelist
//   remove-remote-resource  R's ocf:pacemaker:remote resource (driver)
//   purge-remote            crm_node --force --remove R (driver)
//   write-nodelist          the new corosync.conf on every live voter (each
//                           only if its file is still the one the plan was
//                           made from), then on R
//   reload                  corosync-cfgtool -R (driver); corosync must then
//                           report the new expected votes and still quorate
//   start-cluster-stack     corosync + Pacemaker on R
//   verify                  poll the driver until corosync reports expected
//                           votes = votersAfter, total votes = live voters + 1
//                           with R a member, and (when the helper could ask
//                           crm_mon) Pacemaker lists R as an online member
//   purge-lost              crm_node --force --remove D, and any stale peer
//                           the caller names (driver)
//
// The order is the one pcs and crmsh use and the lab measured
// (reference/pacemaker.md §6.1–6.2): the nodelist is on every live node and
// reloaded before the new member starts, otherwise membership breaks for
// about a minute. One deviation from the issue's list, measured in four lab
// runs (test/adapters/fixtures/corosync/lab-timings.txt): D purged with
// crm_node before R had joined (before or after the reload) was back in the
// CIB as an offline member a few seconds later in 2 of 3 tries — the DC's
// join round re-writes the peers its in-memory cache still holds (crm_node -l
// lists every purged voter as "lost" until the controllers restart). Purged
// after R had joined (verify waits for Pacemaker too), D was out of the CIB
// in 3 of 3 tries. A voter purged at an earlier promotion can still come back
// at a later join (seen once in 2 chances), which is why the caller may name
// such stale peers to purge again (alsoPurge). They carry no vote and the
// guardian ignores nodes outside the nodelist, so a failed final purge does
// not undo a promotion that succeeded: it is reported as a warning.
//
// S5 (a change never costs the live nodes their quorum): the swap is
// one-for-one, so the voter count is unchanged and the only moment that
// could cost quorum is the reload; before every changing step from the
// nodelist write on, the driver's corosync-quorumtool is asked again and the
// plan stops unless the live voters are still quorate on their own in the new
// nodelist. A failed step stops the plan and reports which step, on which
// node, and why; if the nodelist write fails part-way, the files already
// written get the old content back (before any reload).
//
// No I/O of its own: the helpers and the clock are injected (DESIGN.md §6).

import { majority } from '../core/registry/quorum.js';
import type { AbortOptions } from '../ports/ports.js';
import type { NodelistVersion, QuorumHelpers, QuorumSnapshot } from '../ports/guardian.js';
import { TollboothError } from '../errors.js';

export interface PromotionRequest {
  /** The lost voter that leaves the nodelist (the plan's `replace`). */
  readonly replace: string;
  /** The remote node that joins it (the plan's `with`). */
  readonly with: string;
  readonly votersAfter: number;
  /** A live voter that runs the cluster-wide commands (resource removal, purges, reload, checks). */
  readonly driver: string;
  /** The voters that were up when the plan was made. */
  readonly liveMembers: readonly string[];
  /** corosync.conf as the plan found it on the live voters, and as it will be. */
  readonly nodelist: { readonly before: NodelistVersion; readonly after: NodelistVersion };
  /**
   * Offline nodes Pacemaker still lists outside the nodelist (GuardianInput.stalePeers),
   * purged after D. Measured: a voter purged earlier comes back into the CIB,
   * offline, after a later join, because the controllers' peer caches still hold it.
   */
  readonly alsoPurge?: readonly string[];
}

export const promotionSteps = [
  'pre-check',
  'remove-remote-resource',
  'purge-remote',
  'write-nodelist',
  'reload',
  'start-cluster-stack',
  'verify',
  'purge-lost',
] as const;
export type PromotionStep = (typeof promotionSteps)[number];

export interface StepRecord {
  readonly step: PromotionStep | 'quorum-check' | 'restore-nodelist';
  readonly node: string;
  readonly ok: boolean;
  readonly startedMs: number;
  readonly durationMs: number;
  readonly detail: string;
}

export type PromotionFailureCode =
  /** The request contradicts itself (checked before anything runs). */
  | 'PLAN_INVALID'
  /** A quorum check found the change unsafe now (S5), or the cluster no longer matches the plan. */
  | 'UNSAFE'
  /** A helper refused or failed, or could not be reached. */
  | 'STEP_FAILED'
  /** R did not show up with the planned votes in time. */
  | 'VERIFY_TIMEOUT'
  | 'ABORTED';

export type PromotionOutcome =
  | {
      readonly ok: true;
      readonly steps: readonly StepRecord[];
      readonly totalMs: number;
      readonly final: QuorumSnapshot;
      /** Something left to tidy that does not undo the promotion (the final purge of D failed). */
      readonly warnings: readonly string[];
    }
  | {
      readonly ok: false;
      readonly failedStep: PromotionStep;
      readonly node: string | null;
      readonly code: PromotionFailureCode;
      readonly reason: string;
      readonly steps: readonly StepRecord[];
      readonly totalMs: number;
      /** Nodes whose nodelist was written back to the old content after a failed write. */
      readonly restored: readonly { readonly node: string; readonly ok: boolean; readonly error?: string }[];
      /** The driver's quorum after the failure, when it could be asked. */
      readonly after: QuorumSnapshot | null;
    };

export interface ExecutorLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Wait between the verify step's quorum-status polls, ms (R joins in about 3 s). */
export const verifyPollIntervalMsDefault = 500;

export interface QuorumExecutorOptions extends AbortOptions {
  readonly helpers: QuorumHelpers;
  /** Monotonic clock, ms. */
  readonly nowMs: () => number;
  /** Waits between verify polls; tests pass one that resolves at once. */
  readonly sleep: (ms: number, options?: AbortOptions) => Promise<void>;
  /** How long R may take to join (measured 3.1–3.5 s in the lab): the guardian file's verify-timeout. */
  readonly verifyTimeoutMs: number;
  /** Wait between verify polls. Default verifyPollIntervalMsDefault. */
  readonly pollIntervalMs?: number;
  readonly log?: ExecutorLogger;
}

/** Problems of a request that need no cluster to see; empty when it is consistent. */
export function checkPromotionRequest(req: PromotionRequest): string[] {
  const p: string[] = [];
  const before = new Set(req.nodelist.before.voters);
  const after = new Set(req.nodelist.after.voters);
  if (before.size !== req.nodelist.before.voters.length || after.size !== req.nodelist.after.voters.length) p.push('a nodelist names a voter twice');
  if (!before.has(req.replace)) p.push(`${req.replace} is not in the current nodelist`);
  if (before.has(req.with)) p.push(`${req.with} is already in the current nodelist`);
  const expected = new Set([...before].filter((v) => v !== req.replace));
  expected.add(req.with);
  if (after.size !== expected.size || [...expected].some((v) => !after.has(v))) {
    p.push(`the new nodelist (${[...after].join(', ')}) is not the current one minus ${req.replace} plus ${req.with}`);
  }
  if (after.size !== req.votersAfter) p.push(`votersAfter is ${req.votersAfter} but the new nodelist has ${after.size} voters`);
  if (req.liveMembers.includes(req.replace)) p.push(`${req.replace} is listed as live`);
  for (const m of req.liveMembers) if (!before.has(m)) p.push(`live member ${m} is not in the current nodelist`);
  if (!req.liveMembers.includes(req.driver)) p.push(`driver ${req.driver} is not a live member`);
  if (req.liveMembers.length < majority(req.votersAfter)) {
    p.push(`${req.liveMembers.length} live voters are not a majority of ${req.votersAfter} (S5)`);
  }
  if (req.nodelist.before.sha256 === req.nodelist.after.sha256) p.push('the new nodelist is the current one');
  for (const n of req.alsoPurge ?? []) {
    if (before.has(n) || after.has(n) || n === req.with) p.push(`${n} cannot be purged as a stale peer: it is a voter or the promoted node`);
  }
  return p;
}

/**
 * Whether the change can go on from the driver's current view: quorate,
 * neither D nor (unless `rJoined`) R a member, and the members that are
 * voters of the new nodelist alone a majority of it.
 */
export function quorumProblems(q: QuorumSnapshot, req: PromotionRequest, rJoined: boolean): string[] {
  const p: string[] = [];
  if (!q.quorate) p.push('the driver\'s partition is not quorate');
  if (q.members.includes(req.replace)) p.push(`${req.replace} is a corosync member again`);
  if (!rJoined && q.members.includes(req.with)) p.push(`${req.with} is already a corosync member`);
  const after = new Set(req.nodelist.after.voters);
  const liveAfter = q.members.filter((m) => after.has(m) && (rJoined || m !== req.with)).length;
  if (liveAfter < majority(req.votersAfter)) p.push(`${liveAfter} live voters would not be a majority of ${req.votersAfter} (S5)`);
  for (const m of req.liveMembers) if (!q.members.includes(m)) p.push(`live member ${m} is no longer a corosync member`);
  return p;
}

class StepFailure extends TollboothError<PromotionFailureCode> {
  constructor(
    readonly step: PromotionStep,
    readonly node: string | null,
    code: PromotionFailureCode,
    message: string,
  ) {
    super(code, message, { details: { step, node } });
  }
}

/** Carries out one promotion. Never throws for a cluster or helper problem: the outcome says what happened. */
export async function executePromotion(req: PromotionRequest, o: QuorumExecutorOptions): Promise<PromotionOutcome> {
  const t0 = o.nowMs();
  const steps: StepRecord[] = [];
  const restored: { node: string; ok: boolean; error?: string }[] = [];
  const opts: AbortOptions = o.signal === undefined ? {} : { signal: o.signal };
  const R = req.with;
  const D = req.replace;
  const log = o.log;
  // A function, not a narrowed property: the signal can fire during any await.
  const aborted = (): boolean => o.signal?.aborted === true;

  const record = (step: StepRecord['step'], node: string, started: number, ok: boolean, detail: string): void => {
    const rec = { step, node, ok, startedMs: started - t0, durationMs: o.nowMs() - started, detail };
    steps.push(rec);
    const fields = { step, node, durationMs: rec.durationMs, ok };
    if (ok) log?.info(fields, `quorum promotion: ${step} done`);
    else log?.warn(fields, `quorum promotion: ${step} failed`);
  };
  /** Runs one helper call as a step; turns any error into a StepFailure of that step. */
  const run = async <T>(step: PromotionStep, node: string, what: string, call: () => Promise<T>, recordAs: StepRecord['step'] = step): Promise<T> => {
    if (aborted()) throw new StepFailure(step, node, 'ABORTED', 'aborted before the step');
    const started = o.nowMs();
    try {
      const value = await call();
      record(recordAs, node, started, true, what);
      return value;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      record(recordAs, node, started, false, `${what}: ${message}`);
      if (err instanceof StepFailure) throw err;
      throw new StepFailure(step, node, aborted() ? 'ABORTED' : 'STEP_FAILED', `${what}: ${message}`);
    }
  };
  /** Asks the driver's corosync and stops the plan unless going on keeps S5. */
  const guard = async (before: PromotionStep, rJoined = false): Promise<QuorumSnapshot> => {
    const q = await run(before, req.driver, `quorum check before ${before}`, () => o.helpers.quorumStatus(req.driver, opts), 'quorum-check');
    const problems = quorumProblems(q, req, rJoined);
    if (problems.length > 0) throw new StepFailure(before, req.driver, 'UNSAFE', `not going on with ${before}: ${problems.join('; ')}`);
    return q;
  };

  try {
    const invalid = checkPromotionRequest(req);
    if (invalid.length > 0) throw new StepFailure('pre-check', null, 'PLAN_INVALID', invalid.join('; '));
    const q0 = await guard('pre-check');
    if (q0.expectedVotes > req.nodelist.before.voters.length) {
      throw new StepFailure('pre-check', req.driver, 'UNSAFE', `corosync expects ${q0.expectedVotes} votes but the plan's nodelist has ${req.nodelist.before.voters.length} voters: the running nodelist is not the one the plan was made from`);
    }

    await run('remove-remote-resource', req.driver, `remove the ocf:pacemaker:remote resource ${R}`, () => o.helpers.removeRemoteResource(req.driver, R, opts));
    await run('purge-remote', req.driver, `crm_node --force --remove ${R}`, () => o.helpers.crmNodeRemove(req.driver, R, opts));

    await guard('write-nodelist');
    const { before, after } = req.nodelist;
    const written: string[] = [];
    const writeTargets = [req.driver, ...req.liveMembers.filter((m) => m !== req.driver)];
    try {
      for (const node of writeTargets) {
        const r = await run('write-nodelist', node, `write the new nodelist (sha256 ${after.sha256.slice(0, 12)})`, () =>
          o.helpers.writeNodelist(node, { sha256: after.sha256, content: after.text, ifSha256: before.sha256 }, opts),
        );
        if (r.changed) written.push(node);
      }
      await run('write-nodelist', R, `write the new nodelist on ${R}`, () => o.helpers.writeNodelist(R, { sha256: after.sha256, content: after.text }, opts));
    } catch (err) {
      // Nothing was reloaded yet: put the old nodelist back where we wrote the new one.
      for (const node of written) {
        const started = o.nowMs();
        try {
          await o.helpers.writeNodelist(node, { sha256: before.sha256, content: before.text, ifSha256: after.sha256 }, opts);
          restored.push({ node, ok: true });
          record('restore-nodelist', node, started, true, 'old nodelist written back');
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          restored.push({ node, ok: false, error: msg });
          record('restore-nodelist', node, started, false, `old nodelist NOT written back: ${msg}`);
        }
      }
      throw err;
    }

    await guard('reload');
    await run('reload', req.driver, 'corosync-cfgtool -R', () => o.helpers.reload(req.driver, opts));
    const q1 = await run('reload', req.driver, 'quorum after the reload', () => o.helpers.quorumStatus(req.driver, opts), 'quorum-check');
    const afterReload = quorumProblems(q1, req, false);
    if (q1.expectedVotes !== req.votersAfter) afterReload.push(`corosync expects ${q1.expectedVotes} votes after the reload, the plan ${req.votersAfter}`);
    if (afterReload.length > 0) throw new StepFailure('reload', req.driver, 'UNSAFE', `after the reload: ${afterReload.join('; ')}`);

    await guard('start-cluster-stack');
    await run('start-cluster-stack', R, `start corosync and Pacemaker on ${R}`, () => o.helpers.startClusterStack(R, opts));

    const live = new Set(req.liveMembers);
    const wantTotal = live.size + 1;
    const deadline = o.nowMs() + o.verifyTimeoutMs;
    const started = o.nowMs();
    let last: QuorumSnapshot | null = null;
    let lastError = '';
    for (;;) {
      if (aborted()) throw new StepFailure('verify', req.driver, 'ABORTED', 'aborted while waiting for R to join');
      try {
        last = await o.helpers.quorumStatus(req.driver, opts);
        const pacemakerSeesR = last.pacemakerOnline === undefined || last.pacemakerOnline.includes(R);
        if (last.quorate && last.expectedVotes === req.votersAfter && last.totalVotes === wantTotal && last.members.includes(R) && !last.members.includes(D) && pacemakerSeesR) break;
      } catch (err) {
        // The driver's corosync is busy with the membership change: ask again until the deadline.
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (o.nowMs() >= deadline) {
        const seen =
          last === null
            ? `no answer (${lastError})`
            : `quorate ${last.quorate}, expected ${last.expectedVotes}, total ${last.totalVotes}, members ${last.members.join(' ')}${last.pacemakerOnline === undefined ? '' : `, Pacemaker online ${last.pacemakerOnline.join(' ')}`}`;
        record('verify', req.driver, started, false, `timed out; last seen: ${seen}`);
        throw new StepFailure('verify', req.driver, 'VERIFY_TIMEOUT', `${R} did not join with ${req.votersAfter} expected and ${wantTotal} total votes within ${o.verifyTimeoutMs} ms; last seen: ${seen}`);
      }
      await o.sleep(o.pollIntervalMs ?? verifyPollIntervalMsDefault, opts);
    }
    record('verify', req.driver, started, true, `expected ${last.expectedVotes}, total ${last.totalVotes}, members ${last.members.join(' ')}`);

    const warnings: string[] = [];
    for (const name of [D, ...(req.alsoPurge ?? []).filter((n) => n !== D)]) {
      try {
        await run('purge-lost', req.driver, `crm_node --force --remove ${name}`, () => o.helpers.crmNodeRemove(req.driver, name, opts));
      } catch (err) {
        if (!(err instanceof StepFailure)) throw err;
        warnings.push(`${name} could not be purged from Pacemaker (${err.message}); run crm_node --force --remove ${name}`);
      }
    }
    return { ok: true, steps, totalMs: o.nowMs() - t0, final: last, warnings };
  } catch (err) {
    if (!(err instanceof StepFailure)) throw err;
    let after: QuorumSnapshot | null = null;
    if (err.code !== 'PLAN_INVALID' && !aborted()) {
      try {
        after = await o.helpers.quorumStatus(req.driver, opts);
      } catch {
        // The report says the driver could not be asked (after: null); the failure itself is what matters.
        after = null;
      }
    }
    log?.warn({ step: err.step, node: err.node, code: err.code, reason: err.message }, 'quorum promotion stopped');
    return { ok: false, failedStep: err.step, node: err.node, code: err.code, reason: err.message, steps, totalMs: o.nowMs() - t0, restored, after };
  }
}
