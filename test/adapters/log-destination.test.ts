// journald priorities on log lines (issue 13, item 6; src/adapters/log-destination.ts).
// A child process logs one line per pino level to its standard error, which
// is a file here; the test sets JOURNAL_STREAM to that file's own dev:ino,
// as systemd does for the journal socket, and expects each line to start
// with its syslog priority and to be pino JSON after it. Without the
// variable, or with one naming another file (a variable inherited by a child
// whose stderr goes elsewhere), the lines are plain JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isJournalStream, journalPriorityOfLevel } from '../../src/adapters/log-destination.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/log-lines.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tollbooth-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the fixture with stderr on a fresh file; `journal` picks JOURNAL_STREAM from that file's stat. */
async function logLines(name: string, journal: (st: { dev: bigint; ino: bigint }) => string | undefined): Promise<string[]> {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const st = statSync(path, { bigint: true });
  const value = journal(st);
  const env: Record<string, string | undefined> = { ...process.env, JOURNAL_STREAM: value };
  if (value === undefined) delete env.JOURNAL_STREAM;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { cwd: projectRoot, env, stdio: ['ignore', 'ignore', fd] });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  } finally {
    closeSync(fd);
  }
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

describe('log lines on the journal stream', () => {
  it('start with the syslog priority of their level, then pino JSON', async () => {
    const lines = await logLines('journal.log', (st) => `${st.dev}:${st.ino}`);
    expect(lines.map((l) => /^<(\d)>/.exec(l)?.[1])).toEqual(['7', '7', '6', '4', '3', '2']);
    const objects = lines.map((l) => JSON.parse(l.slice(3)) as { level: number; msg: string; journal: boolean });
    expect(objects.map((o) => o.msg)).toEqual(['at trace', 'at debug', 'at info', 'at warn', 'at error', 'at fatal']);
    expect(objects.map((o) => o.level)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(objects.every((o) => o.journal)).toBe(true);
  }, 60_000);

  it('are plain pino JSON without JOURNAL_STREAM', async () => {
    const lines = await logLines('plain.log', () => undefined);
    expect(lines).toHaveLength(6);
    for (const l of lines) expect((JSON.parse(l) as { journal: boolean }).journal).toBe(false);
  }, 60_000);

  it('are plain pino JSON when JOURNAL_STREAM names another file (inherited, stderr elsewhere)', async () => {
    const other = statSync(dir, { bigint: true });
    const lines = await logLines('other.log', () => `${other.dev}:${other.ino}`);
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(l.startsWith('{')).toBe(true);
  }, 60_000);
});

describe('isJournalStream', () => {
  it('is false for a malformed value and for a closed fd', () => {
    expect(isJournalStream(2, '')).toBe(false);
    expect(isJournalStream(2, '12')).toBe(false);
    expect(isJournalStream(2, 'a:b')).toBe(false);
    expect(isJournalStream(987, '1:2')).toBe(false);
  });

  it('maps pino levels as journald reads them', () => {
    expect(journalPriorityOfLevel).toEqual({ fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 });
  });
});
