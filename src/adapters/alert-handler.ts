// Runs the `tollbooth-alert-handler` for one event (issue 13, item 2): the
// program, or every program of the directory in name order. What a path
// stands for and whether we may run it (absolute, root- or our own, no group
// or world write bit on it or above it) is the before-acquire handlers' rule,
// and each program runs the way theirs do — own process group killed at the
// deadline, stdin /dev/null, cwd /, bounded output, never a shell — through
// src/adapters/pacemaker/handlers.ts, so the two cannot drift apart.
//
// One difference, on purpose: a before-acquire directory stops at the first
// failure (one failing check fails the site, as in booth), while every
// program of an alert directory runs, whatever the others did — each is its
// own recipient (syslog, a webhook, a pager), as Pacemaker's alerts are, and
// one broken recipient must not silence the rest.

import { systemProcessRunner, type ProcessRunner } from './process-runner.js';
import {
  HandlerError,
  handlerOutputBytesMaxDefault,
  handlerOutputGraceMsDefault,
  handlerPathFailureReason,
  listHandlerPrograms,
  runHandlerProgram,
  type HandlerCommand,
} from './pacemaker/handlers.js';
import type { AlertProgramOutcome } from '../ports/alert-handler.js';

export interface AlertHandlerOptions {
  /** Deadline of each program, ms. */
  readonly timeoutMs: number;
  /** Aborting kills the running program's group; the run rejects with HandlerError ABORTED. */
  readonly signal?: AbortSignal;
  readonly runner?: ProcessRunner;
  /** For `ms`. Default performance.now. */
  readonly nowMs?: () => number;
}

/**
 * Runs every program the handler path stands for with `env` (the complete
 * environment), one after the other; one outcome per program, or one for
 * the path when it cannot be used (missing, unsafe, nothing to run). Never
 * rejects for a failing program; rejects with HandlerError ABORTED when
 * options.signal fires.
 */
export async function runAlertHandler(
  command: HandlerCommand,
  env: Readonly<Record<string, string>>,
  options: AlertHandlerOptions,
): Promise<AlertProgramOutcome[]> {
  const now = options.nowMs ?? (() => performance.now());
  const started = now();
  const listing = await listHandlerPrograms(command.program);
  if (!listing.ok) {
    const p = listing.problem;
    return [{ program: p.path, result: handlerPathFailureReason(p), ms: now() - started, message: `alert handler not run: ${p.message}` }];
  }
  const outcomes: AlertProgramOutcome[] = [];
  for (const program of listing.programs) {
    if (options.signal?.aborted === true) throw new HandlerError('ABORTED', env.TOLLBOOTH_EVENT ?? 'alert', `alert handler ${program} was not started: aborted`);
    const t0 = now();
    const r = await runHandlerProgram(options.runner ?? systemProcessRunner, program, command.args, env, `alert handler ${program} for event ${env.TOLLBOOTH_EVENT ?? '?'} (seq ${env.TOLLBOOTH_SEQ ?? '?'})`, env.TOLLBOOTH_EVENT ?? 'alert', {
      timeoutMs: options.timeoutMs,
      outputBytesMax: handlerOutputBytesMaxDefault,
      outputGraceMs: handlerOutputGraceMsDefault,
      cwd: '/',
      signal: options.signal,
    });
    const ms = now() - t0;
    outcomes.push(r.ok ? { program, result: 'ok', ms } : { program, result: r.reason, ms, message: r.message, output: r.output });
  }
  return outcomes;
}
