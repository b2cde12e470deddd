// Who is at the other end of an admin connection, in the kernel's words
// (src/adapters/peer-credentials.ts): the admin socket (mode 0660, group
// nogroup, as `tollbooth-admin-group` sets it) is served here, and real clients
// connect to it — this process (root), and a child that setpriv started as
// nobody:nogroup. The handler asks the kernel (SO_PEERCRED, through perl on
// the connection's descriptor) and must name each one by uid, name and pid,
// whatever the client wrote in its request. Then the cost of one lookup is
// measured on this machine (printed; docs/operations.md §12 quotes it), and a
// failed helper run gives an error that says what failed. Waits are the
// clients' own answers, with deadlines; nothing sleeps.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest, listenAdminSocket } from '../../src/adapters/admin-socket.js';
import { parsePeerCredentials, PeerCredentialsError } from '../../src/adapters/peer-credentials.js';

/** A client's whole run, node start included, on a loaded machine. */
const clientRunMsMax = 60_000;
const lookups = 20;

describe('the admin socket asks the kernel who connected (SO_PEERCRED)', () => {
  let dir: string;
  let path: string;
  let server: Server;
  const costsMs: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollbooth-peercred-'));
    // Others may pass through the directory to the socket; the socket itself is root:nogroup 0660.
    await chmod(dir, 0o711);
    path = join(dir, 'admin.sock');
    server = await listenAdminSocket(path, 'nogroup', async (body, peer) => {
      const started = performance.now();
      const c = await peer.credentials();
      costsMs.push(performance.now() - started);
      // Asked twice on one connection: one lookup (the second call answers from the first).
      const again = await peer.credentials();
      return { ...c, same: again === c, claimed: body };
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('names this process as root, uid 0, whatever the request claims', async () => {
    const r = (await adminRequest(path, { op: 'grant', requester: { via: 'socket', uid: 1234, user: 'mallory' } }, clientRunMsMax)) as Record<string, unknown>;
    expect(r).toMatchObject({ uid: 0, user: 'root', gid: 0, pid: process.pid, same: true });
  });

  it('names a client that setpriv started as nobody:nogroup by its own uid, name and pid', async () => {
    const client = `
      const c = require('node:net').createConnection(${JSON.stringify(path)});
      let b = '';
      c.on('connect', () => c.write(JSON.stringify({ op: 'grant', user: 'root' }) + '\\n'));
      c.on('data', (d) => (b += d));
      c.on('end', () => process.stdout.write(b));`;
    const { out, pid } = await new Promise<{ out: string; pid: number | undefined }>((resolve, reject) => {
      const child = execFile('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', client], { timeout: clientRunMsMax }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${err.message}: ${stderr}`));
        else resolve({ out: stdout, pid: child.pid });
      });
    });
    const r = JSON.parse(out) as Record<string, unknown>;
    // setpriv execs node in place: the kernel's pid is the child's.
    expect(r).toMatchObject({ uid: 65534, user: 'nobody', gid: 65534, pid, claimed: { op: 'grant', user: 'root' } });
  });

  it(`costs one short process per lookup (${lookups} measured)`, async () => {
    costsMs.length = 0;
    for (let i = 0; i < lookups; i++) await adminRequest(path, { op: 'grant' }, clientRunMsMax);
    const sorted = [...costsMs].sort((a, b) => a - b);
    const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
    process.stdout.write(`peer credential lookup: median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms over ${sorted.length}\n`);
    expect(sorted).toHaveLength(lookups);
  });

  it('says what failed when the kernel cannot be asked', () => {
    const base = { tool: 'perl', file: 'perl', argv: [], stdout: '', output: '', outputDroppedBytes: 0, durationMs: 1 };
    expect(() => parsePeerCredentials({ kind: 'exited', exitCode: 2, ...base, stderr: 'SO_PEERCRED: Bad file descriptor\n' })).toThrow(
      new PeerCredentialsError('PEER_CREDENTIALS_FAILED', 'cannot ask the kernel who connected: perl exited 2: SO_PEERCRED: Bad file descriptor'),
    );
    expect(() => parsePeerCredentials({ kind: 'not-found', ...base, stderr: '' })).toThrow(/cannot ask the kernel who connected: .*perl/);
    expect(parsePeerCredentials({ kind: 'exited', exitCode: 0, ...base, stderr: '', stdout: '42 1000 1000 \n' })).toEqual({ pid: 42, uid: 1000, gid: 1000, user: null });
  });
});
