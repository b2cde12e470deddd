// Debian's promtool (the prometheus package; .ci/run installs it), for the
// tests that check the exposition and the example alerting rules with it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const havePromtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].some((p) => existsSync(p));

/** Runs promtool with `args`, `input` on its standard input; its exit code and output. */
export function promtool(args: readonly string[], input?: string): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const p = execFile('promtool', [...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof (err as NodeJS.ErrnoException).code === 'string') {
        fail(new Error(`promtool could not run: ${err.message}`));
        return;
      }
      done({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), output: stdout + stderr });
    });
    p.stdin?.end(input ?? '');
  });
}
