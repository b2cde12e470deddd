// Inbound admission on the real libp2p transport (src/adapters/transport/
// inbound-admission.ts, issue 12 item 3), with raw idle TCP sockets from
// loopback source addresses: a socket from an address that is no member's
// and never starts a handshake is aborted after handshakeTimeoutMs, while one
// from a member's address opened at the same moment is still open then; the
// connections one non-member address may hold in the handshake phase are
// bounded (the one over the bound is closed at once); refusals and aborts are
// counted by reason. The end-to-end effect (a restarted member reconnecting
// under a flood) is test/e2e/connection-flood.test.ts.
import { createHash, createPublicKey } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Libp2pTransport } from '../../../src/adapters/transport/libp2p-transport.js';
import { memberId } from '../../../src/core/types.js';
import { privateKeyFromSeed, publicKeyToRaw } from '../../../src/wire/index.js';

const handshakeTimeoutMs = 600;
/**
 * The handshake timeout where a test tells "refused at once" from "cut off by
 * the timeout": long enough that an immediate refusal, seen through this
 * process's own event loop, stays well under it on a loaded machine.
 */
const refusalHandshakeTimeoutMs = 5_000;
const pendingPerAddressMax = 2;
/** Generous: the abort must come, on a loaded machine too. */
const deadlineMs = 15_000;

const seedOf = (name: string): Uint8Array => new Uint8Array(createHash('sha256').update(`tollbooth admission test ${name}`).digest());
const publicKeyOf = (seed: Uint8Array): Uint8Array => publicKeyToRaw(createPublicKey(privateKeyFromSeed(seed)));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Idle {
  readonly socket: Socket;
  readonly connected: Promise<void>;
  readonly closed: Promise<number>;
  isOpen(): boolean;
}

/** An idle TCP connection from `localAddress`; `closed` resolves with the ms from connect to close. */
function idleFrom(localAddress: string, port: number): Idle {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  let open = false;
  let at = 0;
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve) =>
    socket.once('connect', () => {
      open = true;
      at = performance.now();
      resolve();
    }),
  );
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      open = false;
      resolve(performance.now() - at);
    }),
  );
  return { socket, connected, closed, isOpen: () => open };
}

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)), deadlineMs);
    }),
  ]);
}

describe('inbound admission', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function started(handshakeMs = handshakeTimeoutMs): Promise<{ t: Libp2pTransport; port: number }> {
    const port = await freePort();
    const seedA = seedOf('a');
    const seedB = seedOf('b');
    const t = new Libp2pTransport({
      formation: 'tb-admission',
      self: memberId('a'),
      seed: seedA,
      epoch: 1,
      listenHost: '127.0.0.1',
      listenPort: port,
      // b is configured at 127.0.0.2; it never runs: only its address matters here.
      peers: [{ id: memberId('b'), host: '127.0.0.2', port: await freePort(), publicKey: publicKeyOf(seedB) }],
      logger: { warn: () => undefined },
      handshakeTimeoutMs: handshakeMs,
      pendingPerAddressMax,
    });
    await t.start();
    cleanup.push(() => t.stop());
    return { t, port };
  }

  it('aborts an idle connection from a non-member address after the handshake timeout, and keeps one from a member address', async () => {
    const { t, port } = await started();
    const member = idleFrom('127.0.0.2', port);
    const stranger = idleFrom('127.0.0.60', port);
    cleanup.push(() => void member.socket.destroy(), () => void stranger.socket.destroy());
    await within(Promise.all([member.connected, stranger.connected]), 'both connections');
    const lifetimeMs = await within(stranger.closed, 'the stranger to be cut off');
    expect(lifetimeMs).toBeGreaterThanOrEqual(handshakeTimeoutMs - 50);
    expect(member.isOpen()).toBe(true);
    expect(t.admissionCounts()['handshake-timeout']).toBe(1);
  });

  it(`refuses a non-member address's connection beyond ${pendingPerAddressMax} in the handshake at once, and not another address's`, async () => {
    const { t, port } = await started(refusalHandshakeTimeoutMs);
    const first = Array.from({ length: pendingPerAddressMax }, () => idleFrom('127.0.0.61', port));
    for (const s of first) cleanup.push(() => void s.socket.destroy());
    await within(Promise.all(first.map((s) => s.connected)), 'the first connections');
    // The gater runs as libp2p takes each socket: wait until both are counted as pending.
    const over = idleFrom('127.0.0.61', port);
    const other = idleFrom('127.0.0.62', port);
    cleanup.push(() => void over.socket.destroy(), () => void other.socket.destroy());
    const overLifetimeMs = await within(over.closed, 'the connection over the bound to be refused');
    expect(overLifetimeMs).toBeLessThan(refusalHandshakeTimeoutMs);
    expect(t.admissionCounts()['address-busy']).toBeGreaterThanOrEqual(1);
    // The other address still got its slot: it is cut off only by the handshake timeout.
    await within(other.closed, 'the other address to time out');
    expect(t.admissionCounts()['handshake-timeout']).toBeGreaterThanOrEqual(1);
  });
});
