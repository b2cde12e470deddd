// The port between the alert queue (src/runtime/alert-hooks.ts) and what runs
// the configured alert programs (src/adapters/alert-handler.ts): types only.

/** How one alert program's run for one event ended. */
export interface AlertProgramOutcome {
  /** The program (or, when the handler path cannot be used, that path). */
  readonly program: string;
  /** `ok`, or why it failed: exit (non-zero), signal, timeout, spawn, not-found, unsafe. */
  readonly result: AlertRunResult;
  /** Run time of this program, ms. */
  readonly ms: number;
  /** For a failure: a log line naming the program and why. */
  readonly message?: string;
  /** For a failure: its captured stdout and stderr, bounded. */
  readonly output?: string;
}

export const alertRunResults = ['ok', 'exit', 'signal', 'timeout', 'spawn', 'not-found', 'unsafe'] as const;
export type AlertRunResult = (typeof alertRunResults)[number];

/**
 * Runs the handler's programs for one event with `env` as their complete
 * environment. Resolves with one outcome per program (never rejects for a
 * failing program); `signal` aborts the run (the queue closing).
 */
export type AlertRunner = (env: Readonly<Record<string, string>>, signal: AbortSignal) => Promise<readonly AlertProgramOutcome[]>;
