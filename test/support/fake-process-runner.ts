// Builds results of the process runner (src/adapters/process-runner.ts) for
// fake runners that replay recorded tool outputs: the shape the real runner
// returns, so an adapter under test cannot tell the difference.

import type { RunOutcome, RunRequest, RunResult } from '../../src/adapters/process-runner.js';

/** A result for `request` with the given outcome and output. */
export function fakeRun(request: RunRequest, outcome: RunOutcome, stdout = '', stderr = ''): RunResult {
  return {
    ...outcome,
    tool: request.tool,
    file: request.file ?? request.tool,
    argv: request.argv,
    stdout,
    stderr,
    output: stdout + stderr,
    outputDroppedBytes: 0,
    durationMs: 1,
  };
}

/** The program exited with `exitCode`. */
export function exited(request: RunRequest, exitCode: number, stdout = '', stderr = ''): RunResult {
  return fakeRun(request, { kind: 'exited', exitCode }, stdout, stderr);
}

/** `file argv…` as a test records it. */
export function callLine(request: RunRequest): string {
  return [request.file ?? request.tool, ...request.argv].join(' ');
}
