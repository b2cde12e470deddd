// The local admin socket: a UNIX socket that only root (mode 0600) or root
// and a configured group (mode 0660) can open (DESIGN.md §7). Protocol: the
// client writes one JSON request line, the server answers with one JSON line
// and closes. Requests are bounded in size and time; a bad request gets a
// clear error and changes nothing. Who connected is the kernel's word
// (SO_PEERCRED, peer-credentials.ts), asked only when the handler needs it.

import { statSync, unlinkSync } from 'node:fs';
import { chmod, chown, readFile, rename, unlink } from 'node:fs/promises';
import { createConnection, Server } from 'node:net';
import { TollboothError } from '../errors.js';
import type { AdminStream } from '../ports/admin-stream.js';
import { peerCredentials, type PeerCredentials } from './peer-credentials.js';

export const adminRequestBytesMax = 64 * 1024;
export const adminResponseBytesMax = 16 * 1024 * 1024;
/** A client connection idle this long is closed, ms (a request is one line; `watch` streams keep writing). */
export const adminSocketIdleTimeoutMs = 30_000;

/** The client at the other end of one connection. */
export interface AdminPeer {
  /** The kernel's SO_PEERCRED for this connection: asked once, on the first call (it costs a process). */
  credentials(): Promise<PeerCredentials>;
}

export interface AdminSocketHandler {
  (body: unknown, peer: AdminPeer): Promise<unknown>;
}

export class AdminSocketError extends TollboothError<'ADMIN_SOCKET_UNREACHABLE' | 'ADMIN_SOCKET_TIMEOUT' | 'ADMIN_SOCKET_PROTOCOL' | 'ADMIN_SOCKET_GROUP' | 'ADMIN_SOCKET_PATH'> {}

/** The longest path a UNIX socket can be bound at (sun_path less its NUL); Node cuts a longer one short without a word. */
export const socketPathBytesMax = 107;
/** The suffix of the name the admin socket is bound under before it is moved to its path. */
const bindingSuffix = '.new';

/** Looks a group name up in /etc/group (Node has no getgrnam). */
export async function groupId(name: string): Promise<number> {
  const text = await readFile('/etc/group', 'utf8');
  for (const line of text.split('\n')) {
    const [gname, , gid] = line.split(':');
    if (gname === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new AdminSocketError('ADMIN_SOCKET_GROUP', `admin group "${name}" is not in /etc/group`);
}

/** Takes the request over as a stream and returns true, or returns false to let `handler` answer it. */
export type AdminStreamHandler = (body: unknown, stream: AdminStream) => boolean;

/**
 * The admin socket's server. The socket is bound and listening under a temporary name and moved to its
 * path (rename(2)) only then, with its mode and group set: a client that finds the file can connect at
 * once (bind and listen are two system calls; a client between them got ECONNREFUSED from an agent that
 * was starting — CI, 2026-12-07) and never finds it with the default mode. close() removes the file as
 * Node removes a socket it bound, unless another agent's socket has replaced it since.
 */
class AdminSocketServer extends Server {
  /** The socket file at its path (device and inode), once moved there. */
  #placed: { path: string; dev: number; ino: number } | null = null;

  placed(path: string): void {
    const st = statSync(path);
    this.#placed = { path, dev: st.dev, ino: st.ino };
  }

  override close(callback?: (err?: Error) => void): this {
    const placed = this.#placed;
    this.#placed = null;
    if (placed !== null) {
      try {
        const st = statSync(placed.path);
        if (st.dev === placed.dev && st.ino === placed.ino) unlinkSync(placed.path);
      } catch {
        // gone already
      }
    }
    return super.close(callback);
  }
}

/** Removes `path` if it exists (a socket file left by a killed agent, or a half-made one). */
async function removeStale(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

export async function listenAdminSocket(path: string, group: string | null, handler: AdminSocketHandler, streamHandler?: AdminStreamHandler): Promise<Server> {
  // Bound under this name, then moved to `path`; a file left here by a killed agent would make listen() fail.
  const binding = `${path}${bindingSuffix}`;
  if (Buffer.byteLength(binding) > socketPathBytesMax) {
    throw new AdminSocketError('ADMIN_SOCKET_PATH', `admin socket path ${path} is ${Buffer.byteLength(path)} bytes: a UNIX socket path holds at most ${socketPathBytesMax - bindingSuffix.length} here (${socketPathBytesMax}, less the "${bindingSuffix}" it is bound under first)`, { details: { path } });
  }
  await removeStale(binding);
  const server = new AdminSocketServer((sock) => {
    let buf = '';
    let done = false;
    sock.setEncoding('utf8');
    sock.setTimeout(adminSocketIdleTimeoutMs, () => sock.destroy());
    let credentials: Promise<PeerCredentials> | undefined;
    const peer: AdminPeer = { credentials: () => (credentials ??= peerCredentials(sock)) };
    const answer = (obj: unknown): void => {
      done = true;
      sock.end(`${JSON.stringify(obj)}\n`);
    };
    sock.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      if (buf.length > adminRequestBytesMax) {
        answer({ ok: false, code: 'invalid', message: `request larger than ${adminRequestBytesMax} bytes`, answeredBy: '' });
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let body: unknown;
      try {
        body = JSON.parse(buf.slice(0, nl));
      } catch (err) {
        answer({ ok: false, code: 'invalid', message: `request is not JSON: ${(err as Error).message}`, answeredBy: '' });
        return;
      }
      if (streamHandler !== undefined) {
        const stream: AdminStream = {
          write: (line) => void sock.write(`${line}\n`),
          get backlogBytes() {
            return sock.writableLength;
          },
          close: () => sock.end(),
          onClose: (listener) => sock.once('close', listener),
        };
        if (streamHandler(body, stream)) {
          // A stream lives until either side closes it: no idle deadline.
          done = true;
          sock.setTimeout(0);
          return;
        }
      }
      handler(body, peer).then(answer, (err: unknown) => answer({ ok: false, code: 'internal', message: String(err), answeredBy: '' }));
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(binding, () => resolve());
  });
  try {
    if (group === null) await chmod(binding, 0o600);
    else {
      await chown(binding, 0, await groupId(group));
      await chmod(binding, 0o660);
    }
    // Replaces a socket file left by a killed agent at once: there is no moment without a file there.
    await rename(binding, path);
    server.placed(path);
  } catch (err) {
    server.close();
    await removeStale(binding);
    throw err;
  }
  return server;
}

export function adminRequest(path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new AdminSocketError('ADMIN_SOCKET_TIMEOUT', `no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(body)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > adminResponseBytesMax) sock.destroy(new Error('response too large'));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AdminSocketError('ADMIN_SOCKET_UNREACHABLE', `cannot reach the agent at ${path}: ${err.code ?? err.message} (is it running? are you root or in the admin group?)`));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.trim()) as unknown);
      } catch {
        reject(new AdminSocketError('ADMIN_SOCKET_PROTOCOL', `malformed answer from ${path}`));
      }
    });
  });
}

/**
 * Opens a stream (`tollbooth watch`): sends `body`, then calls `onLine` with
 * every line the agent writes until the agent closes it (resolves) or
 * `signal` fires (resolves after closing). Rejects with AdminSocketError when
 * the agent cannot be reached.
 */
export function adminStream(path: string, body: unknown, onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    let connected = false;
    sock.setEncoding('utf8');
    const onAbort = (): void => {
      sock.destroy();
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.on('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify(body)}\n`);
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line !== '') onLine(line);
      }
      if (buf.length > adminRequestBytesMax) sock.destroy(new Error('line too long'));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      if (connected) resolve();
      else reject(new AdminSocketError('ADMIN_SOCKET_UNREACHABLE', `cannot reach the agent at ${path}: ${err.code ?? err.message} (is it running? are you root or in the admin group?)`, { details: { path } }));
    });
    sock.on('close', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
