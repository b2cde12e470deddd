// `tollbooth config check` checks the handler programs the file names on
// this machine (before-acquire-handler per ticket, tollbooth-alert-handler),
// with the rule the site agent runs them under, and warns with the line.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlerPathProblems } from '../../src/cli/config-check-handlers.js';
import { parseConfigText } from '../../src/config/index.js';
import { validConfig } from '../config/fixtures.js';

/** A tsx start of the CLI takes seconds on a loaded machine. */
const cliDeadlineMs = 120_000;

let dir: string;
let good: string;
let notExecutable: string;
let emptyDir: string;
let missing: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tb-handlers-'));
  chmodSync(dir, 0o755);
  good = join(dir, 'ok.sh');
  writeFileSync(good, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  notExecutable = join(dir, 'plain.sh');
  writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  emptyDir = join(dir, 'handlers.d');
  mkdirSync(emptyDir, { mode: 0o755 });
  missing = join(dir, 'gone.sh');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(lines: { alert?: string; db?: string; web?: string }): string {
  return (
    validConfig +
    (lines.db === undefined ? '' : `  before-acquire-handler = ${lines.db}\n`) +
    `\nticket = web\n  expire = 60\n  timeout = 2\n` +
    (lines.web === undefined ? '' : `  before-acquire-handler = ${lines.web}\n`) +
    (lines.alert === undefined ? '' : `tollbooth-alert-handler = ${lines.alert}\n`)
  );
}

describe('config check: handler paths', () => {
  it('lists every handler the file names, with its line and ticket', () => {
    const text = configWith({ db: `${good} --flag`, web: missing, alert: emptyDir });
    const r = parseConfigText(text, 'booth.conf');
    const lineOf = (needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
    expect(r.handlers).toEqual([
      { key: 'tollbooth-alert-handler', line: lineOf(`tollbooth-alert-handler = ${emptyDir}`), program: emptyDir },
      { key: 'before-acquire-handler', line: lineOf(`before-acquire-handler = ${good}`), program: good, ticket: 'db' },
      { key: 'before-acquire-handler', line: lineOf(`before-acquire-handler = ${missing}`), program: missing, ticket: 'web' },
    ]);
  });

  it('warns for each path a site here could not use, and says what it would do', async () => {
    const r = parseConfigText(configWith({ db: notExecutable, web: missing, alert: emptyDir }), 'booth.conf');
    const problems = await handlerPathProblems('booth.conf', r.handlers);
    expect(problems.map((p) => [p.severity, p.key])).toEqual([
      ['warning', 'tollbooth-alert-handler'],
      ['warning', 'before-acquire-handler'],
      ['warning', 'before-acquire-handler'],
    ]);
    expect(problems[0]!.message).toContain(emptyDir);
    expect(problems[0]!.message).toMatch(/no program to run/);
    expect(problems[1]!.message).toContain(notExecutable);
    expect(problems[1]!.message).toContain('ticket "db"');
    expect(problems[2]!.message).toContain(missing);
    expect(problems[2]!.message).toContain('ticket "web"');
  });

  it('says nothing about a usable program', async () => {
    const r = parseConfigText(configWith({ db: good }), 'booth.conf');
    expect(await handlerPathProblems('booth.conf', r.handlers)).toEqual([]);
  });

  it('prints the warning with file and line through the real CLI, and still exits 0', () => {
    const file = join(dir, 'formation.conf');
    const text = configWith({ web: missing });
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes(missing)) + 1;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/tollbooth.ts', 'config', 'check', file], { encoding: 'utf8', timeout: cliDeadlineMs });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${file}:${line}`);
    expect(r.stdout).toContain(missing);
    expect(r.stdout).toMatch(/: ok \(3 members, 2 tickets/);
  }, cliDeadlineMs + 10_000);
});
