// Checks the before-acquire handler adapter (src/adapters/handlers.ts) with
// real programs: small /bin/sh scripts written into a fresh temp dir per test.
// They record what they saw into files the test reads back: their exact
// initial environment (from /proc/$$/environ, which a shell's own additions
// such as PWD do not touch), their arguments, the order in which a directory's
// programs ran. Failures are real ones: a non-zero exit, a signal the script
// sends itself, a missing #! interpreter, a program that runs past its
// deadline after starting a grandchild (whose death we then observe in /proc).
// The runner's one-run-per-ticket rule is driven with FIFOs: a script blocks
// reading its exit code from a FIFO, so the test decides when each run ends
// and which result it gives. Permission rules for handler paths use chmod and,
// as root, chown. Nothing sleeps a fixed time: waits poll for an observable
// condition with a deadline.
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkHandlerPath,
  handlerEnvironment,
  HandlerRunner,
  listHandlerPrograms,
  runHandler,
  type HandlerCommand,
  type HandlerInvocation,
  type HandlerRequest,
  type HandlerResult,
  type HandlerSite,
} from '../../../src/adapters/pacemaker/handlers.js';

const site: HandlerSite = { site: 'site-a', local: '192.0.2.11', confPath: '/etc/booth/booth.conf', confName: 'booth' };
const acquire: HandlerInvocation = { ticket: 'ticketA', phase: 'acquire', expiresUnixSec: 1_800_000_030 };
const baseEnv = { PATH: '/usr/bin:/bin' };
const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;
/** Longest deadline tried for a handler to start its grandchild on a loaded machine (400 ms doubled up to it). */
const handlerStartMsMax = 25_600;
/** How long a test waits for a process it started to start, write a line or die: milliseconds idle, seconds on a loaded machine. */
const processStepMsMax = 30_000;

let dir = '';
const strays: number[] = [];

afterEach(async () => {
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone: that is what we want
    }
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

async function tempDir(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'handlers-test-'));
  return dir;
}

/** Writes a /bin/sh script (or raw content when `raw`) and sets its mode. */
async function script(path: string, body: string, mode = 0o755, raw = false): Promise<string> {
  await writeFile(path, raw ? body : `#!/bin/sh\n${body}\n`);
  await chmod(path, mode);
  return path;
}

async function waitFor(condition: () => boolean | Promise<boolean>, deadlineMs: number, what: string): Promise<void> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > deadlineMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function lines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** True once `pid` is gone or a zombie (killed, waiting to be reaped by whoever adopted it). */
async function processGone(pid: number): Promise<boolean> {
  try {
    const st = await readFile(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function failed(r: HandlerResult): Extract<HandlerResult, { ok: false }> {
  if (r.ok) throw new Error('expected the handler to fail');
  return r;
}

describe('runHandler: one program', () => {
  it('passes exactly booth\'s and tollbooth\'s variables (stale ones dropped) and the configured arguments', async () => {
    const d = await tempDir();
    const prog = await script(join(d, 'record'), 'tr "\\000" "\\n" < /proc/$$/environ > "$1"\nprintf "%s\\n" "$@" > "$1.args"');
    const out = join(d, 'env.txt');
    const r = await runHandler({ program: prog, args: [out, 'two words'] }, site, acquire, {
      baseEnv: { ...baseEnv, BOOTH_TICKET: 'stale', TOLLBOOTH_PHASE: 'stale', LANG: 'C' },
    });
    expect(r).toMatchObject({ ok: true, programs: [prog] });
    expect((await lines(out)).sort()).toEqual(
      [
        'BOOTH_CONF_NAME=booth',
        'BOOTH_CONF_PATH=/etc/booth/booth.conf',
        'BOOTH_LOCAL=192.0.2.11',
        'BOOTH_TICKET=ticketA',
        'BOOTH_TICKET_EXPIRES=1800000030',
        'LANG=C',
        'PATH=/usr/bin:/bin',
        'TOLLBOOTH_CONF_NAME=booth',
        'TOLLBOOTH_CONF_PATH=/etc/booth/booth.conf',
        'TOLLBOOTH_PHASE=acquire',
        'TOLLBOOTH_SITE=site-a',
        'TOLLBOOTH_TICKET=ticketA',
        'TOLLBOOTH_TICKET_EXPIRES=1800000030',
      ].sort(),
    );
    expect(await lines(`${out}.args`)).toEqual([out, 'two words']);
  });

  it('tells a renewal from an acquire, and passes expiry 0 when there is no lease yet', () => {
    const env = handlerEnvironment(site, { ticket: 'ticketB', phase: 'renew', expiresUnixSec: 0 }, {});
    expect(env).toEqual({
      BOOTH_TICKET: 'ticketB',
      BOOTH_LOCAL: '192.0.2.11',
      BOOTH_CONF_PATH: '/etc/booth/booth.conf',
      BOOTH_CONF_NAME: 'booth',
      BOOTH_TICKET_EXPIRES: '0',
      TOLLBOOTH_TICKET: 'ticketB',
      TOLLBOOTH_SITE: 'site-a',
      TOLLBOOTH_CONF_PATH: '/etc/booth/booth.conf',
      TOLLBOOTH_CONF_NAME: 'booth',
      TOLLBOOTH_TICKET_EXPIRES: '0',
      TOLLBOOTH_PHASE: 'renew',
    });
  });

  it('reports a non-zero exit with its code, the output and a message naming the program', async () => {
    const d = await tempDir();
    const prog = await script(join(d, 'check-db'), 'echo "checking replica"\necho "replica lagging 40 s" >&2\nexit 3');
    const r = failed(await runHandler({ program: prog, args: [] }, site, acquire, { baseEnv }));
    expect(r).toMatchObject({ program: prog, reason: 'exit', code: 3, programs: [] });
    expect(r.output).toBe('checking replica\nreplica lagging 40 s\n');
    expect(r.message).toBe(`before-acquire handler ${prog} for ticket ticketA exited with code 3: checking replica`);
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it('reports a program killed by a signal', async () => {
    const d = await tempDir();
    const prog = await script(join(d, 'dies'), 'echo "about to die"\nkill -TERM $$');
    const r = failed(await runHandler({ program: prog, args: [] }, site, acquire, { baseEnv }));
    expect(r).toMatchObject({ program: prog, reason: 'signal', signal: 'SIGTERM' });
    expect(r.message).toContain('was killed by SIGTERM');
  });

  it('kills the whole process group past the deadline, grandchildren included', async () => {
    const d = await tempDir();
    const pidFile = join(d, 'grandchild.pid');
    const prog = await script(join(d, 'hangs'), 'sleep 300 &\necho $! > "$1"\necho "waiting for ever"\nwait');
    // The deadline must fall after the script has started its grandchild and said so. On a loaded
    // machine that can take longer than the 400 ms tried first: a run killed before the script got
    // there is tried again with twice the deadline (the kill is the same at any deadline).
    let timeoutMs = 400;
    let r = failed(await runHandler({ program: prog, args: [pidFile] }, site, acquire, { baseEnv, timeoutMs }));
    while (r.output !== 'waiting for ever\n' && timeoutMs < handlerStartMsMax) {
      timeoutMs *= 2;
      r = failed(await runHandler({ program: prog, args: [pidFile] }, site, acquire, { baseEnv, timeoutMs }));
    }
    expect(r).toMatchObject({ program: prog, reason: 'timeout', signal: 'SIGKILL' });
    expect(r.output).toBe('waiting for ever\n');
    expect(r.message).toBe(`before-acquire handler ${prog} for ticket ticketA did not finish within ${timeoutMs} ms; its process group was killed`);
    expect(r.ms).toBeGreaterThanOrEqual(timeoutMs);
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    expect(grandchild).toBeGreaterThan(0);
    strays.push(grandchild);
    await waitFor(() => processGone(grandchild), processStepMsMax, `grandchild ${grandchild} to die`);
  });

  it('does not wait for a background child that keeps the output open after the program exited', async () => {
    const d = await tempDir();
    const pidFile = join(d, 'bg.pid');
    const prog = await script(join(d, 'forks'), 'sleep 300 &\necho $! > "$1"\necho done');
    const started = performance.now();
    const r = await runHandler({ program: prog, args: [pidFile] }, site, acquire, { baseEnv, outputGraceMs: 100, timeoutMs: 20_000 });
    strays.push(Number((await readFile(pidFile, 'utf8')).trim()));
    expect(r).toMatchObject({ ok: true, programs: [prog] });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('keeps only the first outputBytesMax bytes but reads everything, so a chatty program finishes', async () => {
    const d = await tempDir();
    const prog = await script(join(d, 'chatty'), 'head -c 1000000 /dev/zero | tr "\\000" x\nexit 1');
    const r = failed(await runHandler({ program: prog, args: [] }, site, acquire, { baseEnv, outputBytesMax: 1024 }));
    expect(r).toMatchObject({ reason: 'exit', code: 1 });
    expect(r.output).toBe(`${'x'.repeat(1024)}\n[${1_000_000 - 1024} more bytes not kept]`);
  });

  it('reports a program that cannot be started (missing #! interpreter) as a spawn failure', async () => {
    const d = await tempDir();
    const prog = await script(join(d, 'bad-interp'), '#!/nonexistent/interpreter\nexit 0\n', 0o755, true);
    const r = failed(await runHandler({ program: prog, args: [] }, site, acquire, { baseEnv }));
    expect(r).toMatchObject({ program: prog, reason: 'spawn', output: '' });
    expect(r.message).toContain('#! interpreter');
  });

  it('reports a handler path that does not exist as not-found, and an unsafe one as unsafe, without running anything', async () => {
    const d = await tempDir();
    const missing = failed(await runHandler({ program: join(d, 'nope'), args: [] }, site, acquire, { baseEnv }));
    expect(missing).toMatchObject({ program: join(d, 'nope'), reason: 'not-found', programs: [] });
    expect(missing.message).toBe(`before-acquire handler for ticket ticketA not run: handler ${join(d, 'nope')} does not exist`);

    const marker = join(d, 'ran');
    const prog = await script(join(d, 'open-to-all'), `touch ${marker}`, 0o777);
    const unsafe = failed(await runHandler({ program: prog, args: [] }, site, acquire, { baseEnv }));
    expect(unsafe).toMatchObject({ program: prog, reason: 'unsafe' });
    expect(unsafe.message).toContain('is writable by everyone (mode 0777)');
    expect(await lines(marker)).toEqual([]);
  });

  it('rejects with ABORTED and kills the program when the signal fires', async () => {
    const d = await tempDir();
    const pidFile = join(d, 'self.pid');
    const prog = await script(join(d, 'slow'), 'echo $$ > "$1"\nexec sleep 300');
    const ac = new AbortController();
    const run = runHandler({ program: prog, args: [pidFile] }, site, acquire, { baseEnv, signal: ac.signal });
    await waitFor(async () => (await lines(pidFile)).length === 1, processStepMsMax, 'the handler to start');
    ac.abort();
    await expect(run).rejects.toMatchObject({ name: 'HandlerError', code: 'ABORTED', ticket: 'ticketA' });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    strays.push(pid);
    await waitFor(() => processGone(pid), processStepMsMax, 'the aborted handler to die');
  });
});

describe('runHandler: a directory of programs', () => {
  async function programDir(): Promise<{ d: string; handlers: string; log: string }> {
    const d = await tempDir();
    const handlers = join(d, 'handlers.d');
    await mkdir(handlers, { mode: 0o755 });
    return { d, handlers, log: join(d, 'log') };
  }
  const logName = 'echo "$(basename "$0")" >> "$1"';

  it('runs the programs in byte order, skipping dotfiles, backups, non-executables and subdirectories', async () => {
    const { handlers, log } = await programDir();
    for (const name of ['20-b', '10-a', '3-c', 'B-upper']) await script(join(handlers, name), logName);
    for (const name of ['.hidden', 'a~', '#a#', 'x.bak', 'x.dpkg-old', 'x.rpmsave', 'x.swp']) await script(join(handlers, name), logName);
    await script(join(handlers, 'not-executable'), logName, 0o644);
    await mkdir(join(handlers, 'subdir'));
    execFileSync('mkfifo', [join(handlers, 'a-fifo')]);
    await symlink(join(handlers, '10-a'), join(handlers, 'link-to-10-a'));

    const r = await runHandler({ program: handlers, args: [log] }, site, acquire, { baseEnv });
    const order = ['10-a', '20-b', '3-c', 'B-upper', 'link-to-10-a'];
    expect(r).toMatchObject({ ok: true, programs: order.map((n) => join(handlers, n)) });
    expect(await lines(log)).toEqual(['10-a', '20-b', '3-c', 'B-upper', 'link-to-10-a']);

    const listing = await listHandlerPrograms(handlers);
    expect(listing.ok && listing.skipped).toEqual([
      { name: '#a#', why: 'an editor or package-manager backup' },
      { name: '.hidden', why: 'a dotfile' },
      { name: 'a-fifo', why: 'not a regular file' },
      { name: 'a~', why: 'an editor or package-manager backup' },
      { name: 'not-executable', why: 'not executable by us (mode 0644)' },
      { name: 'subdir', why: 'a directory' },
      { name: 'x.bak', why: 'an editor or package-manager backup' },
      { name: 'x.dpkg-old', why: 'an editor or package-manager backup' },
      { name: 'x.rpmsave', why: 'an editor or package-manager backup' },
      { name: 'x.swp', why: 'an editor or package-manager backup' },
    ]);
  });

  it('stops at the first program that fails', async () => {
    const { handlers, log } = await programDir();
    await script(join(handlers, '10-a'), logName);
    await script(join(handlers, '15-fail'), `${logName}\necho "no quorum" >&2\nexit 2`);
    await script(join(handlers, '20-b'), logName);
    const r = failed(await runHandler({ program: handlers, args: [log] }, site, acquire, { baseEnv }));
    expect(r).toMatchObject({ program: join(handlers, '15-fail'), reason: 'exit', code: 2, output: 'no quorum\n', programs: [join(handlers, '10-a')] });
    expect(await lines(log)).toEqual(['10-a', '15-fail']);
  });
});

describe('checkHandlerPath', () => {
  it('accepts an executable file and a directory holding one', async () => {
    const d = await tempDir();
    await script(join(d, 'ok'), 'exit 0');
    await mkdir(join(d, 'dir.d'), { mode: 0o755 });
    await script(join(d, 'dir.d', '10-ok'), 'exit 0');
    expect(await checkHandlerPath(join(d, 'ok'))).toBeNull();
    expect(await checkHandlerPath(join(d, 'dir.d'))).toBeNull();
    // Root-owned system programs below root-owned 0755 directories are fine too.
    expect(await checkHandlerPath('/bin/true')).toBeNull();
  });

  it('reports paths that cannot be used, each with its code and the offending path', async () => {
    const d = await tempDir();
    await script(join(d, 'plain'), 'exit 0', 0o644);
    await mkdir(join(d, 'empty.d'), { mode: 0o755 });
    await mkdir(join(d, 'skipped.d'), { mode: 0o755 });
    await script(join(d, 'skipped.d', '.hidden'), 'exit 0');
    await script(join(d, 'skipped.d', 'run~'), 'exit 0');
    await script(join(d, 'world'), 'exit 0', 0o757);
    await script(join(d, 'group'), 'exit 0', 0o775);
    await mkdir(join(d, 'open.d'), { mode: 0o755 });
    await chmod(join(d, 'open.d'), 0o777);
    await script(join(d, 'open.d', '10-x'), 'exit 0');
    await mkdir(join(d, 'writable-parent'), { mode: 0o755 });
    await chmod(join(d, 'writable-parent'), 0o777);
    await script(join(d, 'writable-parent', 'prog'), 'exit 0');
    await mkdir(join(d, 'sticky-parent'), { mode: 0o755 });
    await chmod(join(d, 'sticky-parent'), 0o1777);
    await script(join(d, 'sticky-parent', 'prog'), 'exit 0');
    await mkdir(join(d, 'mixed.d'), { mode: 0o755 });
    await script(join(d, 'mixed.d', '10-ok'), 'exit 0');
    await script(join(d, 'mixed.d', '20-open'), 'exit 0', 0o777);
    execFileSync('mkfifo', [join(d, 'fifo')]);

    const cases: Array<[string, string, string, RegExp]> = [
      ['relative/handler', 'NOT_ABSOLUTE', 'relative/handler', /is not an absolute path/],
      [join(d, 'missing'), 'MISSING', join(d, 'missing'), /does not exist/],
      [join(d, 'plain'), 'NOT_EXECUTABLE', join(d, 'plain'), /is not executable by us \(mode 0644\)/],
      [join(d, 'fifo'), 'NOT_A_PROGRAM', join(d, 'fifo'), /neither a regular file nor a directory/],
      [join(d, 'empty.d'), 'NO_PROGRAMS', join(d, 'empty.d'), /holds no program to run \(it is empty\)/],
      [join(d, 'skipped.d'), 'NO_PROGRAMS', join(d, 'skipped.d'), /skipped \.hidden: a dotfile; run~: an editor or package-manager backup/],
      [join(d, 'world'), 'UNSAFE', join(d, 'world'), /is writable by everyone \(mode 0757\)/],
      [join(d, 'group'), 'UNSAFE', join(d, 'group'), /is writable by its group \(mode 0775\)/],
      [join(d, 'open.d'), 'UNSAFE', join(d, 'open.d'), /handler directory .* is writable by everyone \(mode 0777\)/],
      [join(d, 'writable-parent', 'prog'), 'UNSAFE', join(d, 'writable-parent'), /is writable by everyone without the sticky bit \(mode 0777\)/],
      [join(d, 'mixed.d'), 'UNSAFE', join(d, 'mixed.d', '20-open'), /is writable by everyone/],
    ];
    for (const [path, code, at, message] of cases) {
      const p = await checkHandlerPath(path);
      expect(p, path).toMatchObject({ code, path: at });
      expect(p?.message, path).toMatch(message);
    }
    // A sticky world-writable parent (like /tmp) cannot have our file replaced by others.
    expect(await checkHandlerPath(join(d, 'sticky-parent', 'prog'))).toBeNull();
  });

  it.runIf(isRoot)('refuses a program or directory owned by another user (root only: needs chown)', async () => {
    const d = await tempDir();
    await script(join(d, 'theirs'), 'exit 0');
    await chown(join(d, 'theirs'), 65534, 65534);
    await mkdir(join(d, 'their.d'), { mode: 0o755 });
    await script(join(d, 'their.d', '10-x'), 'exit 0');
    await chown(join(d, 'their.d'), 65534, 65534);
    const theirs = await checkHandlerPath(join(d, 'theirs'));
    expect(theirs).toMatchObject({ code: 'UNSAFE', path: join(d, 'theirs') });
    expect(theirs?.message).toMatch(/is owned by uid 65534, neither root nor us \(uid 0\)/);
    expect(await checkHandlerPath(join(d, 'their.d'))).toMatchObject({ code: 'UNSAFE', path: join(d, 'their.d') });
  });
});

describe('HandlerRunner', () => {
  /**
   * A handler that logs "start <phase> <expires>" and then blocks until the
   * test writes its exit code into the ticket's FIFO.
   */
  async function gated(): Promise<{ command: (fifo: string) => HandlerCommand; log: string; fifo: (name: string) => string }> {
    const d = await tempDir();
    const log = join(d, 'log');
    const prog = await script(join(d, 'gated'), 'echo "start $TOLLBOOTH_TICKET $TOLLBOOTH_PHASE $BOOTH_TICKET_EXPIRES $$" >> "$1"\nread code < "$2"\nexit "$code"');
    const fifo = (name: string): string => {
      const path = join(d, name);
      execFileSync('mkfifo', [path]);
      return path;
    };
    return { command: (f) => ({ program: prog, args: [log, f] }), log, fifo };
  }
  const request = (command: HandlerCommand, over: Partial<HandlerRequest> = {}): HandlerRequest => ({ ...acquire, command, ...over });

  it('runs one handler per ticket at a time; requests made meanwhile share the next run, which uses the newest request', async () => {
    const { command, log, fifo } = await gated();
    const gate = fifo('gate-a');
    const seen: HandlerResult[] = [];
    const runner = new HandlerRunner({ site, baseEnv, timeoutMs: 20_000, onResult: (_req, r) => seen.push(r) });

    const first = runner.run(request(command(gate), { expiresUnixSec: 100 }));
    await waitFor(async () => (await lines(log)).length === 1, processStepMsMax, 'the first run to start');
    expect(runner.isRunning('ticketA')).toBe(true);
    const second = runner.run(request(command(gate), { phase: 'renew', expiresUnixSec: 200 }));
    const third = runner.run(request(command(gate), { phase: 'renew', expiresUnixSec: 300 }));

    await writeFile(gate, '0\n');
    expect(await first).toMatchObject({ ok: true });
    await waitFor(async () => (await lines(log)).length === 2, processStepMsMax, 'the queued run to start');
    expect((await lines(log)).map((l) => l.split(' ').slice(0, 4).join(' '))).toEqual(['start ticketA acquire 100', 'start ticketA renew 300']);

    await writeFile(gate, '3\n');
    const [r2, r3] = await Promise.all([second, third]);
    expect(r2).toMatchObject({ ok: false, reason: 'exit', code: 3 });
    expect(r3).toBe(r2);
    expect(seen).toHaveLength(2);
    expect(await lines(log)).toHaveLength(2);
    await waitFor(() => !runner.isRunning('ticketA'), processStepMsMax, 'the runner to go idle');
    await runner.close();
  });

  it('runs the handlers of different tickets side by side', async () => {
    const { command, log, fifo } = await gated();
    const gateA = fifo('gate-a');
    const gateB = fifo('gate-b');
    const runner = new HandlerRunner({ site, baseEnv, timeoutMs: 20_000 });
    const a = runner.run(request(command(gateA)));
    const b = runner.run(request(command(gateB), { ticket: 'ticketB' }));
    await waitFor(async () => (await lines(log)).length === 2, processStepMsMax, 'both runs to start');
    await writeFile(gateB, '0\n');
    expect(await b).toMatchObject({ ok: true });
    expect(runner.isRunning('ticketA')).toBe(true);
    await writeFile(gateA, '0\n');
    expect(await a).toMatchObject({ ok: true });
    await runner.close();
  });

  it('lets a caller stop waiting without cancelling the run the others wait for', async () => {
    const { command, log, fifo } = await gated();
    const gate = fifo('gate-a');
    const runner = new HandlerRunner({ site, baseEnv, timeoutMs: 20_000 });
    const first = runner.run(request(command(gate)));
    await waitFor(async () => (await lines(log)).length === 1, processStepMsMax, 'the first run to start');
    const ac = new AbortController();
    const impatient = runner.run(request(command(gate), { phase: 'renew' }), { signal: ac.signal });
    const patient = runner.run(request(command(gate), { phase: 'renew' }));
    ac.abort();
    await expect(impatient).rejects.toMatchObject({ name: 'HandlerError', code: 'ABORTED' });
    await writeFile(gate, '0\n');
    expect(await first).toMatchObject({ ok: true });
    await waitFor(async () => (await lines(log)).length === 2, processStepMsMax, 'the queued run to start anyway');
    await writeFile(gate, '0\n');
    expect(await patient).toMatchObject({ ok: true });
    await runner.close();
  });

  it('close() kills the running handler and rejects every waiter', async () => {
    const { command, log, fifo } = await gated();
    const gate = fifo('gate-a');
    const runner = new HandlerRunner({ site, baseEnv, timeoutMs: 20_000 });
    const running = runner.run(request(command(gate)));
    await waitFor(async () => (await lines(log)).length === 1, processStepMsMax, 'the run to start');
    const queued = runner.run(request(command(gate), { phase: 'renew' }));
    const pid = Number((await lines(log))[0]?.split(' ')[4]);
    strays.push(pid);

    const outcomes = Promise.allSettled([running, queued]);
    await runner.close();
    const [r1, r2] = await outcomes;
    expect(r1).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } });
    expect(r2).toMatchObject({ status: 'rejected', reason: { code: 'CLOSED' } });
    await waitFor(() => processGone(pid), processStepMsMax, 'the handler to die');
    await expect(runner.run(request(command(gate)))).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await lines(log)).toHaveLength(1);
  });
});
