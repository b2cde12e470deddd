// When the admin socket file appears (src/adapters/admin-socket.ts): a client that finds it must be able to
// connect at once, and must never find it with a mode other than the one the agent sets. CI of 2026-12-07
// failed on this: test/e2e/member-start.test.ts saw the file and got ECONNREFUSED — bind(2) makes the file,
// listen(2) comes after, and the mode came later still. A watcher in another process (inotify through
// fs.watch) looks at the path the moment anything happens in the directory, as a monitoring script polling
// for the file would, only faster: it stats the file and connects. Repeated over several starts, each with a
// stale socket file left in place as a killed agent leaves it. Waits are the watcher's own reports, with
// deadlines; nothing sleeps.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, linkSync, renameSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSocketError, adminRequest, listenAdminSocket, socketPathBytesMax } from '../../src/adapters/admin-socket.js';

/** One sighting: the file's mode and whether a connection to it was accepted. */
interface Sighting {
  mode: number;
  connected: boolean;
  error?: string;
}

/**
 * The watcher: told `arm INO` on stdin, it reports the first socket file at `path` whose inode is not INO
 * (the stale file there, or -1), then waits to be armed again.
 */
const watcherScript = `
const fs = require('node:fs');
const net = require('node:net');
const path = process.argv[1];
let ignore = null;
const look = () => {
  if (ignore === null) return;
  let st;
  try { st = fs.statSync(path); } catch { return; }
  if (!st.isSocket() || st.ino === ignore) return;
  ignore = null;
  const c = net.createConnection(path);
  const report = (connected, error) => {
    process.stdout.write(JSON.stringify({ mode: st.mode & 0o7777, connected, ...(error ? { error } : {}) }) + '\\n');
    c.destroy();
  };
  c.on('connect', () => report(true));
  c.on('error', (e) => report(false, e.code));
};
fs.watch(require('node:path').dirname(path), look);
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  ignore = Number(l.split(' ')[1]);
  process.stdout.write('armed\\n');
  look();
});
process.stdout.write('watching\\n');
`;

/** A watcher's whole start, or one report, on a loaded machine. */
const reportMsMax = 60_000;
const starts = 12;

describe('the admin socket file', () => {
  let dir: string;
  let path: string;
  let watcher: ChildProcess;
  let lines: AsyncIterator<string>;

  async function nextLine(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no report from the watcher within ${reportMsMax} ms`)), reportMsMax)));
    try {
      const r = await Promise.race([lines.next(), timeout]);
      if (r.done === true) throw new Error('the watcher exited');
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollbooth-admin-sock-'));
    path = join(dir, 'site.sock');
    watcher = spawn(process.execPath, ['-e', watcherScript, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    lines = createInterface({ input: watcher.stdout! })[Symbol.asyncIterator]();
    expect(await nextLine()).toBe('watching');
  }, reportMsMax);

  afterAll(async () => {
    watcher?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  /** Arms the watcher, ignoring the file now at `path`. */
  async function arm(): Promise<void> {
    const ino = existsSync(path) ? statSync(path).ino : -1;
    watcher.stdin!.write(`arm ${ino}\n`);
    expect(await nextLine()).toBe('armed');
  }

  it('appears listening and with its final mode, replacing a stale one, start after start', async () => {
    for (let i = 0; i < starts; i++) {
      await arm();
      const server = await listenAdminSocket(path, null, () => Promise.resolve({ ok: true }));
      expect({ start: i, ...(JSON.parse(await nextLine()) as Sighting) }).toEqual({ start: i, mode: 0o600, connected: true });
      expect(await adminRequest(path, { op: 'status' }, reportMsMax)).toEqual({ ok: true });
      // Left behind as a killed agent leaves it: a socket file nothing listens on (every other start), or
      // another file (close() removes the socket file itself: checked below).
      if (i % 2 === 0) linkSync(path, `${path}.kept`);
      server.close();
      if (i % 2 === 0) renameSync(`${path}.kept`, path);
      else await writeFile(path, '');
    }
  }, starts * reportMsMax);

  it('is removed by close(), but not when another server has taken its path since', async () => {
    await rm(path, { force: true });
    const first = await listenAdminSocket(path, null, () => Promise.resolve('first'));
    first.close();
    expect(existsSync(path)).toBe(false);
    const second = await listenAdminSocket(path, null, () => Promise.resolve('second'));
    const third = await listenAdminSocket(path, null, () => Promise.resolve('third'));
    second.close();
    expect(await adminRequest(path, {}, reportMsMax)).toBe('third');
    third.close();
    expect(existsSync(path)).toBe(false);
  }, reportMsMax);

  it('refuses a path too long to bind, naming it, and leaves nothing behind', async () => {
    const long = join(dir, 'x'.repeat(socketPathBytesMax - dir.length - 4));
    const err = await listenAdminSocket(long, null, () => Promise.resolve(null)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminSocketError);
    expect((err as AdminSocketError).code).toBe('ADMIN_SOCKET_PATH');
    expect((err as Error).message).toContain(long);
    expect(existsSync(long)).toBe(false);
  });
});
