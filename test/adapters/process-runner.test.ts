// Checks the one process runner (src/adapters/process-runner.ts) against real
// programs — /bin/sh, sleep, head, a missing binary, a file without the
// execute bit — for every outcome of its union: an exit code, our timeout,
// another signal, the caller's abort (before and during the run), a missing
// or unstartable program, output over the bound (and the keep-head mode that
// never fails on output). It checks that argv reaches the program untouched
// (no shell in between), that a process-group kill takes the grandchildren,
// and that a background child holding the pipes open does not hold the run
// past its grace period. Then the exit-code tables (src/adapters/exit-codes.ts)
// are checked against the real Pacemaker tools: every name against
// `crm_error --exit -n`, and crm_ticket's measured codes read as the adapters
// expect. No test sleeps: each waits for the run's own result, or for a
// process to be gone with a deadline.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandLine, describeFailedRun, runFailureCode, runProcess, type RunRequest, type RunResult } from '../../src/adapters/process-runner.js';
import { exitCodeTables, pacemakerExitNames, readExit } from '../../src/adapters/exit-codes.js';

const sh = (script: string, extra: Partial<RunRequest> = {}): Promise<RunResult> =>
  runProcess({ tool: 'sh', file: '/bin/sh', argv: ['-c', script], timeoutMs: 20_000, outputBytesMax: 1 << 20, ...extra });

const dirs: string[] = [];
const strays: number[] = [];
/** Longest deadline tried for a shell to start its grandchild on a loaded machine (400 ms doubled up to it). */
const grandchildStartMsMax = 25_600;
afterEach(async () => {
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'process-runner-'));
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

async function waitFor(cond: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('runProcess: how a run ends', () => {
  it('reports the exit code with stdout, stderr and both interleaved', async () => {
    const r = await sh('echo out; echo err >&2; exit 3');
    expect(r).toMatchObject({ kind: 'exited', exitCode: 3, tool: 'sh', file: '/bin/sh', stdout: 'out\n', stderr: 'err\n', outputDroppedBytes: 0 });
    expect(r.output).toBe('out\nerr\n');
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(commandLine(r)).toBe("sh -c echo out; echo err >&2; exit 3");
  });

  it('kills a program that outlives timeoutMs and says so (not "killed by a signal")', async () => {
    const r = await runProcess({ tool: 'sleep', argv: ['300'], timeoutMs: 300, outputBytesMax: 1024 });
    expect(r).toMatchObject({ kind: 'timed-out', timeoutMs: 300 });
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
    if (r.kind === 'exited') throw new Error('unreachable');
    expect(runFailureCode(r)).toBe('TIMEOUT');
    expect(describeFailedRun(r)).toBe('sleep 300 did not finish within 300 ms (killed by SIGKILL)');
  });

  it('tells a signal it did not send (kill -9 $$) from its own timeout', async () => {
    const r = await sh('echo dying >&2; kill -9 $$');
    expect(r).toMatchObject({ kind: 'signaled', signal: 'SIGKILL', stderr: 'dying\n' });
    if (r.kind === 'exited') throw new Error('unreachable');
    expect(runFailureCode(r)).toBe('KILLED');
    expect(describeFailedRun(r)).toMatch(/was killed by SIGKILL: dying$/);
  });

  it('kills a program that writes more than outputBytesMax and keeps exactly the bound', async () => {
    const r = await sh('head -c 1000000 /dev/zero | tr "\\000" x; echo done >&2', { outputBytesMax: 1024 });
    expect(r).toMatchObject({ kind: 'output-over-bound', stream: 'stdout', outputBytesMax: 1024 });
    expect(r.stdout).toBe('x'.repeat(1024));
    if (r.kind === 'exited') throw new Error('unreachable');
    expect(runFailureCode(r)).toBe('OUTPUT_TOO_LARGE');
  });

  it('bounds stderr the same way', async () => {
    const r = await sh('head -c 100000 /dev/zero >&2', { outputBytesMax: 100 });
    expect(r).toMatchObject({ kind: 'output-over-bound', stream: 'stderr' });
    expect(r.stderr.length).toBe(100);
  });

  it('in keep-head mode keeps the first bytes of both streams in arrival order, reads the rest, and lets the program finish', async () => {
    const r = await sh('echo first; echo second >&2; head -c 1000000 /dev/zero | tr "\\000" x; exit 4', { outputBytesMax: 1024, overflow: 'keep-head' });
    expect(r).toMatchObject({ kind: 'exited', exitCode: 4 });
    expect(r.output.length).toBe(1024);
    // Each stream keeps its own order; which pipe is read first is the kernel's and the event loop's choice
    // (on a busy host stdout's first chunk can arrive before stderr's line, which then falls past the bound).
    const stderrAt = r.output.indexOf('second\n');
    const stdoutOnly = stderrAt < 0 ? r.output : r.output.slice(0, stderrAt) + r.output.slice(stderrAt + 'second\n'.length);
    expect(stdoutOnly).toMatch(/^first\nx+$/);
    expect(r.outputDroppedBytes).toBe('first\nsecond\n'.length + 1_000_000 - 1024);
  });

  it('reports a missing binary as not-found, without throwing', async () => {
    const r = await runProcess({ tool: 'crm_ticket', file: '/nonexistent/crm_ticket', argv: ['-q'], timeoutMs: 10_000, outputBytesMax: 1024 });
    expect(r).toMatchObject({ kind: 'not-found', file: '/nonexistent/crm_ticket' });
    if (r.kind === 'exited') throw new Error('unreachable');
    expect(runFailureCode(r)).toBe('BINARY_MISSING');
    expect(describeFailedRun(r)).toBe('/nonexistent/crm_ticket not found');
  });

  it('reports a file without the execute bit as spawn-failed with its errno', async () => {
    const d = await tempDir();
    const f = join(d, 'not-executable');
    await writeFile(f, '#!/bin/sh\nexit 0\n');
    await chmod(f, 0o644);
    const r = await runProcess({ tool: 'not-executable', file: f, argv: [], timeoutMs: 10_000, outputBytesMax: 1024 });
    expect(r).toMatchObject({ kind: 'spawn-failed', errno: 'EACCES' });
  });

  it('does not start a program when the signal has already fired', async () => {
    const d = await tempDir();
    const marker = join(d, 'ran');
    const r = await sh(`touch "${marker}"`, { signal: AbortSignal.abort() });
    expect(r).toMatchObject({ kind: 'aborted', started: false });
    if (r.kind === 'exited') throw new Error('unreachable');
    expect(describeFailedRun(r)).toBe(`aborted before sh -c touch "${marker}"`);
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('kills a running program when the signal fires', async () => {
    const ac = new AbortController();
    const d = await tempDir();
    const pidFile = join(d, 'pid');
    const run = sh(`echo $$ > "${pidFile}"; exec sleep 300`, { signal: ac.signal });
    let pid = 0;
    await waitFor(() => {
      try {
        pid = Number(readFileSync(pidFile, 'utf8').trim());
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
      return pid > 0;
    }, 10_000, 'the program to start');
    ac.abort();
    const r = await run;
    expect(r).toMatchObject({ kind: 'aborted', started: true });
    await waitFor(() => !alive(pid), 10_000, `pid ${pid} to be gone`);
  });
});

describe('runProcess: argv, environment, process group, pipes', () => {
  it('passes argv untouched: no shell expands, splits or runs anything', async () => {
    const tricky = ['$(echo pwned)', 'a b', ';', '*', '"quoted"', '-1', ''];
    const r = await runProcess({ tool: 'printf', file: '/usr/bin/printf', argv: ['%s\\n', ...tricky], timeoutMs: 10_000, outputBytesMax: 1024 });
    expect(r).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(r.stdout).toBe(tricky.map((t) => `${t}\n`).join(''));
  });

  it('gives the program exactly the environment, working directory and argv[0] asked for', async () => {
    const d = await tempDir();
    const r = await sh('echo "$ONLY_THIS|${HOME-unset}|$(pwd)|$0"', { env: { ONLY_THIS: 'yes', PATH: '/usr/bin:/bin' }, cwd: d, argv0: 'custom-name' });
    expect(r.stdout).toBe(`yes|unset|${d}|custom-name\n`);
  });

  it('with processGroup, a timeout kills the grandchildren too', async () => {
    const d = await tempDir();
    const pidFile = join(d, 'grandchild.pid');
    // The deadline must fall after the shell has started its grandchild and written its pid. On a
    // loaded machine that can take longer than the 400 ms tried first: a run killed before the shell
    // got there is tried again with twice the deadline (the kill is the same at any deadline).
    const script = `sleep 300 & echo $! > "${pidFile}.tmp" && mv "${pidFile}.tmp" "${pidFile}"; wait`;
    let timeoutMs = 400;
    let r = await sh(script, { timeoutMs, processGroup: true });
    while (!existsSync(pidFile) && timeoutMs < grandchildStartMsMax) {
      timeoutMs *= 2;
      r = await sh(script, { timeoutMs, processGroup: true });
    }
    expect(r).toMatchObject({ kind: 'timed-out', timeoutMs });
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    expect(grandchild).toBeGreaterThan(0);
    strays.push(grandchild);
    await waitFor(() => !alive(grandchild), 10_000, `grandchild ${grandchild} to be gone`);
  });

  it('does not wait past outputGraceMs for a background child that keeps the pipes open', async () => {
    const d = await tempDir();
    const pidFile = join(d, 'bg.pid');
    const started = performance.now();
    const r = await sh(`sleep 300 & echo $! > "${pidFile}"; echo done`, { outputGraceMs: 100 });
    strays.push(Number((await readFile(pidFile, 'utf8')).trim()));
    expect(r).toMatchObject({ kind: 'exited', exitCode: 0, stdout: 'done\n' });
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('refuses a request that breaks its own bounds (a programmer error)', () => {
    expect(() => runProcess({ tool: 'x', argv: [], timeoutMs: 0, outputBytesMax: 1 })).toThrow(RangeError);
    expect(() => runProcess({ tool: 'x', argv: [], timeoutMs: 1, outputBytesMax: -1 })).toThrow(RangeError);
  });
});

describe('exit-code tables', () => {
  it('name every Pacemaker code as crm_error does (real crm_error)', async () => {
    for (const [code, name] of pacemakerExitNames) {
      const r = await runProcess({ tool: 'crm_error', argv: ['--exit', '-n', String(code)], timeoutMs: 10_000, outputBytesMax: 4096 });
      expect(r, `crm_error for ${code}`).toMatchObject({ kind: 'exited', exitCode: 0 });
      expect(r.stdout.split(' - ')[0], `code ${code}`).toBe(name);
    }
  });

  it('read crm_ticket as measured: 4 and 107 need --force, 105 is "no such ticket" unless the CIB is unreachable', () => {
    expect(readExit('crm_ticket', 4)).toEqual({ meaning: 'needs-force', name: 'CRM_EX_INSUFFICIENT_PRIV', transient: false });
    expect(readExit('crm_ticket', 107).meaning).toBe('needs-force');
    expect(readExit('crm_ticket', 105, 'crm_ticket: Could not query ticket XML: No such device or address').meaning).toBe('no-such-object');
    expect(readExit('crm_ticket', 105, 'crm_ticket: Could not connect to the CIB: No such device or address').meaning).toBe('not-connected');
    expect(readExit('crm_ticket', 102)).toEqual({ meaning: 'not-connected', name: 'CRM_EX_DISCONNECT', transient: true });
    expect(readExit('crm_ticket', 78).meaning).toBe('invalid-config');
    expect(readExit('crm_ticket', 64).meaning).toBe('usage');
    expect(readExit('crm_ticket', 70)).toEqual({ meaning: 'failed', name: 'CRM_EX_SOFTWARE', transient: false });
    // 4 is "needs --force" only for crm_ticket.
    expect(readExit('cibadmin', 4).meaning).toBe('failed');
  });

  it('read corosync and systemd codes, which carry no Pacemaker names', () => {
    expect(readExit('corosync-quorumtool', 2)).toEqual({ meaning: 'not-quorate', name: 'exit 2', transient: false });
    expect(readExit('corosync-quorumtool', 1, 'Cannot initialize QUORUM service').meaning).toBe('not-running');
    expect(readExit('corosync-quorumtool', 1, 'something else').meaning).toBe('failed');
    expect(readExit('systemctl', 5).meaning).toBe('unit-not-loaded');
    for (const rules of Object.values(exitCodeTables)) expect(rules.some((r) => r.exitCode === 0 && r.meaning === 'ok')).toBe(true);
  });

  it('read what the real crm_ticket exits with on a missing CIB file, through the runner', async () => {
    const r = await runProcess({ tool: 'crm_ticket', argv: ['-q'], env: { ...process.env, CIB_file: '/nonexistent/cib.xml' }, timeoutMs: 20_000, outputBytesMax: 1 << 20 });
    expect(r).toMatchObject({ kind: 'exited', exitCode: 105 });
    if (r.kind !== 'exited') throw new Error('unreachable');
    expect(readExit('crm_ticket', r.exitCode, r.stderr)).toEqual({ meaning: 'not-connected', name: 'CRM_EX_NOSUCH', transient: false });
  });
});
