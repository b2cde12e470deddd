// The compiled CLI run once, for e2e tests that check its exit code and what
// it printed: never throws for a non-zero exit (the code is the answer).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The compiled CLI, as the e2e formations start it. */
export const cliCommand: readonly string[] = [process.execPath, 'dist/bin/tollbooth.js'];

export interface CliOutcome {
  readonly code: number;
  /** Standard output, then standard error. */
  readonly out: string;
}

export async function cliOutcome(args: readonly string[], command: readonly string[] = cliCommand): Promise<CliOutcome> {
  try {
    const r = await run(command[0]!, [...command.slice(1), ...args]);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
