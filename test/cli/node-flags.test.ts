// The CLI's `#!/usr/bin/env -S node …` line carries the Node flags every
// installed launch gets (bin/tollbooth.ts): it must stay a line `env -S`
// splits into node and flags, and this Node must honour the heap cap it sets
// (an idle member's RSS depends on it: docs/benchmarks.md, "Idle footprint").
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const cliSource = fileURLToPath(new URL('../../bin/tollbooth.ts', import.meta.url));

describe('the CLI shebang', () => {
  it('runs node through env -S with a 1 MiB semi-space cap, which this Node applies', async () => {
    const first = readFileSync(cliSource, 'utf8').split('\n', 1)[0]!;
    const m = /^#!\/usr\/bin\/env -S node((?: --\S+)+)$/.exec(first);
    expect(m, first).not.toBeNull();
    const flags = m![1]!.trim().split(' ');
    expect(flags).toContain('--max-semi-space-size=1');
    const { stdout } = await execFileP(process.execPath, [...flags, '-e', 'process.stdout.write(String(require("v8").getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size))'], { timeout: 30_000 });
    // New space is two semi-spaces: at most 2 MiB with the cap (32 MiB without it on Node 20).
    expect(Number(stdout)).toBeLessThanOrEqual(2 * 1024 * 1024);
  });
});
