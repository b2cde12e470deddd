// The quorum guardian in the site agent (DESIGN.md §5): every interval it
// observes the site cluster (corosync-quorumtool, corosync-cmapctl, crm_mon,
// crm_node through the injected `observe`), remembers since when each voter
// is lost (MembershipTracker), and runs the pure policy
// (src/core/guardian/quorum-guardian.ts). It logs the decision when it changes. When
// the decision is a plan and `auto = yes`, it builds the promotion request —
// the new nodelist from the local corosync.conf (which must match the running
// nodelist), the live voters, a driver (this node when it is a live voter),
// the stale Pacemaker peers to purge — and carries it out with
// executePromotion through the node helpers, one plan at a time; while it
// runs, the policy sees `changeInProgress`. A failed promotion is logged with
// its step and reason and blocks new ones for `retry-after`. With
// `auto = no` the guardian only reports (the admin op `quorum` and the log).
//
// Nothing here touches the cluster directly: observing, reading the file,
// building the nodelist and the helpers are injected, so the loop runs on
// recorded cluster states in test/guardian/guardian-loop.test.ts and
// on the real adapters in site-agent/main.ts.

import { decideQuorumGuardian, type GuardianConfig, type GuardianDecision } from '../core/guardian/quorum-guardian.js';
import type { ClusterSnapshot, GuardianInput, GuardianInputSettings, PromotionNodelist, QuorumHelpers, QuorumSnapshot } from '../ports/guardian.js';
import type { QuorumGuardianSettings } from './guardian-settings.js';
import { guardianSettingsAgainstNodelist } from './guardian-settings.js';
import { executePromotion, type PromotionOutcome, type PromotionRequest, type StepRecord } from './promotion-executor.js';
import type { AbortOptions } from '../ports/ports.js';
import { errorFields } from '../errors.js';

export interface GuardianLoopLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface QuorumGuardianLoopComponents {
  readonly settings: QuorumGuardianSettings;
  /** One observation of the cluster (observeCluster over the real tools). */
  readonly observe: (options: AbortOptions) => Promise<ClusterSnapshot>;
  /** Remembers loss times across rounds (a MembershipTracker). */
  readonly tracker: { input(snapshot: ClusterSnapshot, nowMs: number, settings?: GuardianInputSettings): GuardianInput };
  readonly readText: (path: string) => Promise<string>;
  /** corosync.conf before and after the swap (promotionNodelist). */
  readonly nodelistOf: (currentText: string, file: string, change: { readonly replace: string; readonly promote: string; readonly addrs: ReadonlyMap<number, string> }) => PromotionNodelist;
  readonly helpers: QuorumHelpers;
  /** Monotonic clock, ms. */
  readonly nowMs: () => number;
  /** Wall clock, Unix ms: only for what the status shows. */
  readonly wallClockMs: () => number;
  /** Waits between the executor's verify polls. */
  readonly sleep: (ms: number, options?: AbortOptions) => Promise<void>;
  readonly log: GuardianLoopLogger;
}

/** Promotion records kept for the status (the log has them all). */
export const promotionHistoryMax = 10;
/** How long stop() lets a running promotion finish before aborting it, ms (one takes about 5 s). */
export const promotionStopWaitMsDefault = 60_000;
/** Longest error text kept for the status. */
const errorCharsMax = 2_000;

export interface PromotionRecord {
  readonly replace: string;
  readonly with: string;
  readonly driver: string | null;
  readonly ok: boolean;
  readonly startedAtUnixMs: number;
  readonly finishedAtUnixMs: number;
  readonly totalMs: number;
  /** Executor step, or 'prepare' when the request could not be built (nothing was run). */
  readonly failedStep: string | null;
  readonly code: string | null;
  readonly reason: string | null;
  readonly warnings: readonly string[];
  readonly steps: readonly StepRecord[];
  /** The driver's corosync at the end (after success, or after the failure when it could be asked). */
  readonly final: QuorumSnapshot | null;
}

export interface GuardianStatus {
  readonly auto: boolean;
  readonly settings: {
    readonly file: string;
    readonly targetVoters: number | null;
    readonly graceMs: number;
    readonly requireFencing: boolean;
    readonly intervalMs: number;
    readonly verifyTimeoutMs: number;
    readonly retryAfterMs: number;
    readonly corosyncConf: string;
    readonly preferZones: readonly string[];
    readonly promotable: readonly { readonly name: string; readonly zone: string; readonly addrs: readonly string[] }[];
    readonly helpers: readonly { readonly node: string; readonly host: string; readonly port: number }[];
  };
  /** Wall clock of the answer: the ages below are relative to it. */
  readonly nowUnixMs: number;
  readonly rounds: number;
  readonly observedAtUnixMs: number | null;
  readonly observeError: { readonly atUnixMs: number; readonly message: string } | null;
  readonly observation: {
    readonly quorate: boolean;
    readonly expectedVotes: number;
    readonly totalVotes: number;
    readonly votesNeeded: number;
    readonly flags: readonly string[];
    readonly dc: string | null;
    readonly dcWithQuorum: boolean;
    readonly stonithEnabled: boolean;
    readonly voters: readonly {
      readonly name: string;
      readonly nodeid: number;
      readonly state: 'up' | 'lost';
      /** When this agent first saw it lost (its loss time; the grace runs from here). */
      readonly lostSinceUnixMs: number | null;
      readonly lostForMs: number | null;
      readonly fenced: boolean;
      readonly addrs: readonly string[];
    }[];
    readonly remotes: readonly { readonly name: string; readonly online: boolean; readonly healthy: boolean; readonly zone: string; readonly promotable: boolean; readonly unhealthyBecause: readonly string[] }[];
    readonly changeSignals: readonly string[];
    readonly stalePeers: readonly string[];
    /** The settings against the running nodelist (missing helpers, …). */
    readonly settingsProblems: readonly string[];
  } | null;
  readonly decision: {
    readonly kind: GuardianDecision['kind'];
    readonly reason: string | null;
    readonly replace: string | null;
    readonly with: string | null;
    readonly votersAfter: number | null;
    readonly message: string;
    /** When the decision last changed. */
    readonly sinceUnixMs: number;
    /** Why a plan is not carried out now (auto = no, retry-after, a promotion running); null when it is. */
    readonly held: string | null;
  } | null;
  readonly promotion: { readonly replace: string; readonly with: string; readonly driver: string; readonly startedAtUnixMs: number } | null;
  readonly lastPromotion: PromotionRecord | null;
  readonly promotions: readonly PromotionRecord[];
  /** A failed promotion blocks the next one until then. */
  readonly retryAfterUnixMs: number | null;
}

interface Running {
  readonly replace: string;
  readonly with: string;
  readonly driver: string;
  readonly startedMs: number;
  readonly startedAtUnixMs: number;
  readonly done: Promise<void>;
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, errorCharsMax);
}

export class QuorumGuardianLoop {
  readonly #c: QuorumGuardianLoopComponents;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #roundRunning: Promise<void> | null = null;
  #stopped = false;
  #rounds = 0;
  #input: GuardianInput | null = null;
  #observedAtUnixMs: number | null = null;
  #observeError: { atUnixMs: number; message: string } | null = null;
  #settingsProblems: string[] = [];
  #decision: GuardianDecision | null = null;
  #decisionKey = '';
  #decisionSinceUnixMs = 0;
  #held: string | null = null;
  #running: Running | null = null;
  #promotions: PromotionRecord[] = [];
  #retryAfterMs: number | null = null;
  #lastSettingsProblemsKey = '';

  constructor(components: QuorumGuardianLoopComponents) {
    this.#c = components;
  }

  /** Runs a round now and then one every interval, until stop(). */
  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    const s = this.#c.settings;
    this.#c.log.info(
      { auto: s.auto, targetVoters: s.targetVoters, graceMs: s.graceMs, requireFencing: s.requireFencing, intervalMs: s.intervalMs, promotable: s.promotable.map((p) => p.name), helpers: s.helpers.map((h) => h.node), file: s.file },
      s.auto ? 'quorum guardian started (auto: promotes remote nodes)' : 'quorum guardian started (auto = no: reports only)',
    );
    const loop = (): void => {
      this.#timer = null;
      if (this.#stopped) return;
      this.#roundRunning = this.round().then(
        () => undefined,
        (err: unknown) => this.#c.log.error({ ...errorFields(err), err: message(err) }, 'quorum guardian round failed'),
      );
      void this.#roundRunning.finally(() => {
        this.#roundRunning = null;
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#c.settings.intervalMs);
      });
    };
    loop();
  }

  /**
   * Stops the rounds and waits for them. A running promotion is given up to
   * `waitMs` to finish (one takes about 5 s; an abort between its steps could
   * leave corosync.conf written but not reloaded), then aborted.
   */
  async stop(waitMs = promotionStopWaitMsDefault): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#roundRunning;
    const running = this.#running;
    if (running !== null) {
      this.#c.log.warn({ replace: running.replace, with: running.with, waitMs }, 'stopping: waiting for the running quorum promotion');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)));
      const r = await Promise.race([running.done.then(() => 'done' as const), late]);
      clearTimeout(timer);
      if (r === 'late') {
        this.#c.log.error({ replace: running.replace, with: running.with }, 'stopping: aborting the running quorum promotion');
        this.#abort.abort();
        await running.done;
      }
    }
    this.#abort.abort();
  }

  /** The running promotion's completion, if one runs (tests). */
  get promotionDone(): Promise<void> | null {
    return this.#running?.done ?? null;
  }

  /** One round: observe, decide, log a changed decision, and start a promotion when due. */
  async round(): Promise<GuardianDecision | null> {
    this.#rounds += 1;
    const s = this.#c.settings;
    let snapshot: ClusterSnapshot;
    try {
      snapshot = await this.#c.observe({ signal: this.#abort.signal });
    } catch (err) {
      const text = message(err);
      if (this.#observeError?.message !== text) this.#c.log.warn({ ...errorFields(err), err: text }, 'quorum guardian cannot observe the cluster; no decision');
      this.#observeError = { atUnixMs: this.#c.wallClockMs(), message: text };
      return null;
    }
    const now = this.#c.nowMs();
    let input: GuardianInput;
    try {
      const zones = new Map(s.promotable.map((p) => [p.name, p.zone]));
      input = this.#c.tracker.input(snapshot, now, { zoneOf: (n) => zones.get(n) ?? '', changeInProgress: this.#running !== null });
    } catch (err) {
      const text = message(err);
      if (this.#observeError?.message !== text) this.#c.log.warn({ ...errorFields(err), err: text }, 'quorum guardian cannot use the observation; no decision');
      this.#observeError = { atUnixMs: this.#c.wallClockMs(), message: text };
      return null;
    }
    if (this.#observeError !== null) this.#c.log.info({}, 'quorum guardian observes the cluster again');
    this.#observeError = null;
    this.#input = input;
    this.#observedAtUnixMs = this.#c.wallClockMs();

    this.#settingsProblems = guardianSettingsAgainstNodelist(
      s,
      snapshot.nodelist.nodes.map((n) => ({ name: n.name, links: n.addrs.size })),
    );
    const problemsKey = this.#settingsProblems.join('\n');
    if (problemsKey !== this.#lastSettingsProblemsKey && this.#settingsProblems.length > 0) {
      this.#c.log.warn({ problems: this.#settingsProblems }, 'quorum guardian settings do not fit the running nodelist');
    }
    this.#lastSettingsProblemsKey = problemsKey;

    const decision = decideQuorumGuardian(input.observation, this.config(snapshot));
    let held: string | null = null;
    if (decision.kind === 'plan') {
      if (!s.auto) held = 'auto = no: reporting only';
      else if (this.#running !== null) held = 'a promotion is running';
      else if (this.#retryAfterMs !== null && now < this.#retryAfterMs) held = `the last promotion failed; retrying after ${Math.ceil((this.#retryAfterMs - now) / 1000)} s (retry-after)`;
    }
    const key = `${decision.kind}\0${decision.kind === 'plan' ? `${decision.replace}>${decision.with}` : decision.reason}\0${decision.message}\0${held === null ? '' : held.replace(/[0-9]+ s/, '')}`;
    if (key !== this.#decisionKey) {
      this.#decisionKey = key;
      this.#decisionSinceUnixMs = this.#c.wallClockMs();
      const lost = input.core.filter((c) => c.state === 'lost').map((c) => ({ name: c.name, lostForMs: c.lostSinceMs === undefined ? null : Math.round(now - c.lostSinceMs), fenced: c.fenced }));
      const fields = {
        decision: decision.kind,
        ...(decision.kind === 'plan' ? { replace: decision.replace, with: decision.with, votersAfter: decision.votersAfter } : { reason: decision.reason }),
        quorate: input.observation.quorum.quorate,
        expectedVotes: input.observation.quorum.expectedVotes,
        totalVotes: input.observation.quorum.totalVotes,
        lost,
        ...(held === null ? {} : { held }),
      };
      this.#c.log.info(fields, `quorum guardian: ${decision.kind}: ${decision.message}${held === null ? '' : ` (${held})`}`);
    }
    this.#decision = decision;
    this.#held = held;
    if (decision.kind === 'plan' && held === null) await this.#launch(decision, input, snapshot);
    return decision;
  }

  /** The policy's configuration for this snapshot (target: the nodelist's size unless set). */
  config(snapshot: ClusterSnapshot): GuardianConfig {
    const s = this.#c.settings;
    return {
      targetVoters: s.targetVoters ?? snapshot.nodelist.nodes.length,
      graceMs: s.graceMs,
      promotable: s.promotable.map((p) => p.name),
      preferZones: s.preferZones,
      requireFencing: s.requireFencing,
      // The policy always runs: with auto = no its plan is reported, not carried out.
      enabled: true,
    };
  }

  /** Builds the request, or records why it cannot be built; then runs it in the background. */
  async #launch(plan: Extract<GuardianDecision, { kind: 'plan' }>, input: GuardianInput, snapshot: ClusterSnapshot): Promise<void> {
    const s = this.#c.settings;
    const startedMs = this.#c.nowMs();
    const startedAtUnixMs = this.#c.wallClockMs();
    const live = input.core.filter((c) => c.state === 'up').map((c) => c.name);
    const local = snapshot.nodelist.localIndex === null ? undefined : snapshot.nodelist.nodes[snapshot.nodelist.localIndex];
    const driver = local !== undefined && live.includes(local.name) ? local.name : live[0];
    const refuse = (reason: string): void => {
      const rec: PromotionRecord = {
        replace: plan.replace,
        with: plan.with,
        driver: driver ?? null,
        ok: false,
        startedAtUnixMs,
        finishedAtUnixMs: this.#c.wallClockMs(),
        totalMs: Math.round(this.#c.nowMs() - startedMs),
        failedStep: 'prepare',
        code: 'PREPARE',
        reason,
        warnings: [],
        steps: [],
        final: null,
      };
      this.#record(rec);
      this.#c.log.error({ replace: plan.replace, with: plan.with, reason }, 'quorum promotion not started');
    };
    if (driver === undefined) return refuse('no live voter to drive the change');
    const promotable = s.promotable.find((p) => p.name === plan.with);
    if (promotable === undefined) return refuse(`${plan.with} is not in the promotable list`);
    const helperNodes = new Set(s.helpers.map((h) => h.node));
    const noHelper = [...live, plan.with].filter((n) => !helperNodes.has(n));
    if (noHelper.length > 0) return refuse(`no node-helper configured for ${noHelper.join(', ')}`);

    let nodelist: PromotionNodelist;
    try {
      nodelist = this.#c.nodelistOf(await this.#c.readText(s.corosyncConf), s.corosyncConf, { replace: plan.replace, promote: plan.with, addrs: promotable.addrs });
    } catch (err) {
      return refuse(`cannot derive the new nodelist from ${s.corosyncConf}: ${message(err)}`);
    }
    const running = snapshot.nodelist.nodes.map((n) => n.name).sort();
    const onDisk = [...nodelist.before.voters].sort();
    if (running.join(',') !== onDisk.join(',')) {
      return refuse(`${s.corosyncConf} lists ${onDisk.join(', ')} but corosync runs with ${running.join(', ')} (a change not yet reloaded?)`);
    }
    const request: PromotionRequest = {
      replace: plan.replace,
      with: plan.with,
      votersAfter: plan.votersAfter,
      driver,
      liveMembers: live,
      nodelist: { before: nodelist.before, after: nodelist.after },
      alsoPurge: input.stalePeers.filter((p) => p !== plan.replace && p !== plan.with),
    };
    this.#c.log.info(
      { replace: plan.replace, with: plan.with, driver, liveMembers: live, newNodeId: nodelist.newNodeId, alsoPurge: request.alsoPurge, beforeSha256: nodelist.before.sha256, afterSha256: nodelist.after.sha256 },
      `quorum promotion started: replace ${plan.replace} with ${plan.with}`,
    );
    const done = this.#execute(request, startedMs, startedAtUnixMs);
    this.#running = { replace: plan.replace, with: plan.with, driver, startedMs, startedAtUnixMs, done };
  }

  async #execute(request: PromotionRequest, startedMs: number, startedAtUnixMs: number): Promise<void> {
    let outcome: PromotionOutcome;
    try {
      outcome = await executePromotion(request, {
        helpers: this.#c.helpers,
        nowMs: this.#c.nowMs,
        sleep: this.#c.sleep,
        verifyTimeoutMs: this.#c.settings.verifyTimeoutMs,
        signal: this.#abort.signal,
        log: {
          info: (f, m) => this.#c.log.info({ replace: request.replace, with: request.with, ...f }, m),
          warn: (f, m) => this.#c.log.warn({ replace: request.replace, with: request.with, ...f }, m),
        },
      });
    } catch (err) {
      // executePromotion reports cluster and helper problems in its outcome; this is a bug.
      outcome = { ok: false, failedStep: 'pre-check', node: null, code: 'STEP_FAILED', reason: `internal error: ${message(err)}`, steps: [], totalMs: this.#c.nowMs() - startedMs, restored: [], after: null };
    }
    const rec: PromotionRecord = {
      replace: request.replace,
      with: request.with,
      driver: request.driver,
      ok: outcome.ok,
      startedAtUnixMs,
      finishedAtUnixMs: this.#c.wallClockMs(),
      totalMs: Math.round(this.#c.nowMs() - startedMs),
      failedStep: outcome.ok ? null : outcome.failedStep,
      code: outcome.ok ? null : outcome.code,
      reason: outcome.ok ? null : outcome.reason.slice(0, errorCharsMax),
      warnings: outcome.ok ? outcome.warnings : outcome.restored.filter((r) => !r.ok).map((r) => `${r.node}: old nodelist not written back: ${r.error ?? ''}`),
      steps: outcome.steps,
      final: outcome.ok ? outcome.final : outcome.after,
    };
    this.#running = null;
    this.#record(rec);
    if (outcome.ok) {
      this.#c.log.info(
        { replace: rec.replace, with: rec.with, totalMs: rec.totalMs, expectedVotes: outcome.final.expectedVotes, totalVotes: outcome.final.totalVotes, members: outcome.final.members, warnings: outcome.warnings },
        `quorum promotion done: ${rec.with} replaced ${rec.replace}`,
      );
      for (const w of outcome.warnings) this.#c.log.warn({ replace: rec.replace, with: rec.with }, w);
    } else {
      this.#c.log.error(
        { replace: rec.replace, with: rec.with, failedStep: outcome.failedStep, node: outcome.node, code: outcome.code, reason: outcome.reason, restored: outcome.restored, after: outcome.after, totalMs: rec.totalMs },
        `quorum promotion failed at ${outcome.failedStep}`,
      );
    }
  }

  #record(rec: PromotionRecord): void {
    this.#promotions.push(rec);
    if (this.#promotions.length > promotionHistoryMax) this.#promotions.shift();
    this.#retryAfterMs = rec.ok ? null : this.#c.nowMs() + this.#c.settings.retryAfterMs;
  }

  /** What `tollbooth quorum status` shows (JSON-ready). */
  status(): GuardianStatus {
    const s = this.#c.settings;
    const now = this.#c.nowMs();
    const wall = this.#c.wallClockMs();
    const toWall = (mono: number): number => Math.round(wall - (now - mono));
    const input = this.#input;
    const last = this.#promotions[this.#promotions.length - 1] ?? null;
    const d = this.#decision;
    return {
      auto: s.auto,
      settings: {
        file: s.file,
        targetVoters: s.targetVoters,
        graceMs: s.graceMs,
        requireFencing: s.requireFencing,
        intervalMs: s.intervalMs,
        verifyTimeoutMs: s.verifyTimeoutMs,
        retryAfterMs: s.retryAfterMs,
        corosyncConf: s.corosyncConf,
        preferZones: s.preferZones,
        promotable: s.promotable.map((p) => ({ name: p.name, zone: p.zone, addrs: [...p.addrs.values()] })),
        helpers: s.helpers.map((h) => ({ node: h.node, host: h.host, port: h.port })),
      },
      nowUnixMs: wall,
      rounds: this.#rounds,
      observedAtUnixMs: this.#observedAtUnixMs,
      observeError: this.#observeError,
      observation:
        input === null
          ? null
          : {
              quorate: input.observation.quorum.quorate,
              expectedVotes: input.snapshot.quorum.expectedVotes,
              totalVotes: input.snapshot.quorum.totalVotes,
              votesNeeded: input.snapshot.quorum.quorum,
              flags: input.snapshot.quorum.flags,
              dc: input.snapshot.mon.dc.name,
              dcWithQuorum: input.snapshot.mon.dc.withQuorum,
              stonithEnabled: input.snapshot.mon.stonithEnabled,
              voters: input.core.map((c) => ({
                name: c.name,
                nodeid: c.nodeid,
                state: c.state,
                lostSinceUnixMs: c.lostSinceMs === undefined ? null : toWall(c.lostSinceMs),
                lostForMs: c.lostSinceMs === undefined ? null : Math.round(now - c.lostSinceMs),
                fenced: c.fenced,
                addrs: [...c.addrs.values()],
              })),
              remotes: input.remotes.map((r) => ({ name: r.name, online: r.online, healthy: r.healthy, zone: r.zone, promotable: s.promotable.some((p) => p.name === r.name), unhealthyBecause: r.unhealthyBecause })),
              changeSignals: input.changeSignals,
              stalePeers: input.stalePeers,
              settingsProblems: this.#settingsProblems,
            },
      decision:
        d === null
          ? null
          : {
              kind: d.kind,
              reason: d.kind === 'plan' ? null : d.reason,
              replace: d.kind === 'plan' ? d.replace : null,
              with: d.kind === 'plan' ? d.with : null,
              votersAfter: d.kind === 'plan' ? d.votersAfter : null,
              message: d.message,
              sinceUnixMs: this.#decisionSinceUnixMs,
              held: this.#held,
            },
      promotion: this.#running === null ? null : { replace: this.#running.replace, with: this.#running.with, driver: this.#running.driver, startedAtUnixMs: this.#running.startedAtUnixMs },
      lastPromotion: last,
      promotions: [...this.#promotions],
      retryAfterUnixMs: this.#retryAfterMs === null || this.#retryAfterMs <= now ? null : toWall(this.#retryAfterMs),
    };
  }
}
