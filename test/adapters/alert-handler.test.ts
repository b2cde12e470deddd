// Running the alert handler's programs (src/adapters/alert-handler.ts) for
// real: shell scripts in a temporary directory, through the before-acquire
// handlers' runner. A directory runs every executable in name order, also
// after one fails (each is its own recipient); the environment given is the
// programs' whole environment; a program past its deadline is killed with
// its process group (its background child too); a missing path, a program
// others could replace and a directory with nothing to run are outcomes, not
// exceptions.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertHandler } from '../../src/adapters/alert-handler.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollbooth-alert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(path: string, body: string, mode = 0o755): Promise<string> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, mode);
  return path;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const env = { PATH: '/usr/bin:/bin', TOLLBOOTH_EVENT: 'grant', TOLLBOOTH_SEQ: '4', TOLLBOOTH_TICKET: 'db' };

describe('runAlertHandler', () => {
  it('runs every program of a directory in name order, with the arguments and exactly the environment given', async () => {
    const d = join(dir, 'hooks.d');
    await mkdir(d, { mode: 0o755 });
    const out = join(dir, 'order.txt');
    await script(join(d, '20-fails'), `echo "20 $TOLLBOOTH_EVENT $*" >> ${out}; echo broken >&2; exit 3`);
    await script(join(d, '10-first'), `echo "10 $TOLLBOOTH_TICKET $* HOME=\${HOME-unset}" >> ${out}`);
    await script(join(d, '30-last'), `echo "30 $TOLLBOOTH_SEQ" >> ${out}`);
    await writeFile(join(d, '15-not-executable'), 'x');
    await script(join(d, '25-backup~'), `echo "backup ran" >> ${out}`);
    const outcomes = await runAlertHandler({ program: d, args: ['-x', 'y'] }, env, { timeoutMs: 10_000 });
    expect(outcomes.map((o) => [o.program, o.result])).toEqual([
      [join(d, '10-first'), 'ok'],
      [join(d, '20-fails'), 'exit'],
      [join(d, '30-last'), 'ok'],
    ]);
    expect(outcomes[1]!.message).toContain('exited with code 3: broken');
    expect(await readFile(out, 'utf8')).toBe('10 db -x y HOME=unset\n20 grant -x y\n30 4\n');
  }, 30_000);

  it('kills a program past its deadline with its process group', async () => {
    const pidFile = join(dir, 'child.pid');
    const hang = await script(join(dir, 'hang'), `sleep 300 & echo $! > ${pidFile}; wait`);
    const t0 = performance.now();
    const [o] = await runAlertHandler({ program: hang, args: [] }, env, { timeoutMs: 300 });
    expect(o).toMatchObject({ program: hang, result: 'timeout' });
    expect(o!.message).toContain('did not finish within 300 ms');
    expect(performance.now() - t0).toBeLessThan(20_000);
    const child = Number((await readFile(pidFile, 'utf8')).trim());
    // SIGKILL to the group has been sent; the kernel reaps the child at once or nearly.
    const deadline = Date.now() + 10_000;
    while (alive(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(alive(child)).toBe(false);
  }, 30_000);

  it('reports a missing path, an unsafe program and an empty directory as outcomes', async () => {
    const [missing] = await runAlertHandler({ program: join(dir, 'nope'), args: [] }, env, { timeoutMs: 1_000 });
    expect(missing).toMatchObject({ result: 'not-found' });
    expect(missing!.message).toContain('does not exist');
    const writable = await script(join(dir, 'writable'), 'exit 0', 0o777);
    await chmod(writable, 0o777);
    const [unsafe] = await runAlertHandler({ program: writable, args: [] }, env, { timeoutMs: 1_000 });
    expect(unsafe).toMatchObject({ result: 'unsafe', program: writable });
    const empty = join(dir, 'empty.d');
    await mkdir(empty, { mode: 0o755 });
    const [none] = await runAlertHandler({ program: empty, args: [] }, env, { timeoutMs: 1_000 });
    expect(none).toMatchObject({ result: 'not-found' });
    const relative = await runAlertHandler({ program: 'hook', args: [] }, env, { timeoutMs: 1_000 });
    expect(relative[0]!.result).toBe('spawn');
  }, 30_000);

  it('a program whose interpreter is missing fails with spawn', async () => {
    const p = join(dir, 'bad-interp');
    await writeFile(p, '#!/nonexistent/interpreter\n');
    await chmod(p, 0o755);
    const [o] = await runAlertHandler({ program: p, args: [] }, env, { timeoutMs: 1_000 });
    expect(o).toMatchObject({ result: 'spawn' });
  }, 30_000);
});
