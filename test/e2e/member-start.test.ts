// A member's start as the built bundle runs it (dist/bin/tollbooth.js → member.cjs; issue 15): the
// admin socket answers before the transport and the pump have started, so what it answers then
// must be true and every command must still work. Checked on one site agent started alone, with
// requests sent the moment its socket file appears:
// - `status` answers at once, `ok`, and says whether the start has ended (`ready`);
// - any other request (`peers` here) is answered only once the start has ended: when its answer
//   arrives, 'member ready' is already in the log (site-agent/main.ts writes it before it lets
//   waiting requests through);
// - a SIGTERM sent then stops the member cleanly once its start ends (exit 0, 'stopped' logged)
//   rather than killing it half-started (runMember defers it).
// Waits are events with deadlines (the socket file, the process's exit); nothing sleeps.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, memberReadyMsMax, type LoopbackMember } from '../../src/cli/loopback-formation.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const built = join(repo, 'dist', 'bin', 'tollbooth.js');
/** The flags of the script's `#!` line, under which the bundle's code cache was made. */
const command = [process.execPath, '--max-semi-space-size=1', built];
/** Polling the socket file: the requests should reach the member right after its bind. */
const socketPollMs = 1;

async function logMessages(m: LoopbackMember): Promise<string[]> {
  const text = await readFile(m.log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
}

/** Starts `m` (removing a socket file left from before) and resolves when its socket file exists. */
async function startToBind(f: LoopbackFormation, m: LoopbackMember): Promise<void> {
  await rm(m.socket, { force: true });
  f.start(m);
  await until(`${m.socket} to appear`, memberReadyMsMax, () => Promise.resolve(existsSync(m.socket) ? true : null), socketPollMs);
}

describe.skipIf(!existsSync(join(repo, 'dist', 'bin', 'member.cjs')))('a member\'s start (the built bundle)', () => {
  let f: LoopbackFormation;
  let m: LoopbackMember;

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, preset: 'lan', command, tickets: [{ name: 't', expireS: 10, acquireAfterS: 0 }] });
    m = f.members[0]!;
  });

  // A test that failed half-way leaves its member running: the next start would meet its LevelDB lock.
  afterEach(async () => {
    await f.kill(m, 'SIGKILL');
  });

  afterAll(async () => {
    await f.stop();
  });

  it('answers status at once and every other request once the start has ended', async () => {
    await startToBind(f, m);
    const [status, peers] = await Promise.all([
      f.call(m, { op: 'status' }, memberReadyMsMax),
      f.call(m, { op: 'peers' }, memberReadyMsMax).then(async (r) => ({ r, log: await logMessages(m) })),
    ]);
    expect(status.ok).toBe(true);
    expect(typeof (status.data as { ready: unknown }).ready).toBe('boolean');
    expect(peers.r.ok).toBe(true);
    expect(peers.log).toContain('member ready');
    const later = await f.call(m, { op: 'status' });
    expect((later.data as { ready: boolean }).ready).toBe(true);
    expect(await f.kill(m, 'SIGTERM')).toBe(0);
  }, 2 * memberReadyMsMax);

  it('stops cleanly on a SIGTERM sent while it starts', async () => {
    await startToBind(f, m);
    expect(await f.kill(m, 'SIGTERM')).toBe(0);
    const log = await logMessages(m);
    expect(log.lastIndexOf('signal received')).toBeGreaterThan(log.lastIndexOf('member ready'));
    expect(log.at(-1)).toBe('stopped');
  }, 2 * memberReadyMsMax);
});
