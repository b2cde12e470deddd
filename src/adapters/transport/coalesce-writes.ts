// One socket write per send: a connection encrypter that wraps Noise and
// makes the TCP connection under it hand each batch of bytes to the kernel
// in one write (issue 15, item 1).
//
// Why. @libp2p/noise encrypts each chunk into two buffers, its 2-byte length
// and the ciphertext, and @libp2p/tcp writes every buffer of a batch with its
// own socket.write(); with TCP_NODELAY (libp2p's default, and what a
// heartbeat protocol wants) each write is its own syscall and its own TCP
// segment. So every frame cost two segments, and so did every yamux window
// update that answers it: an idle lan formation sent 355 data segments a
// second for 50 frames (docs/benchmarks.md, "Idle footprint"). Joining the
// buffers of one batch before the write halves the segments and the write
// syscalls, and the peer reads one segment instead of two. Nothing changes on
// the wire but the segmentation: the bytes are the same, in the same order.
//
// How. The encrypter receives the raw TCP connection before the handshake;
// its sendData (libp2p's AbstractMessageStream contract: send what it can of
// the list, report what was sent) is wrapped once to join the list's buffers
// into one. libp2p copies the list before calling sendData, precisely so that
// a connection may change it (abstract-message-stream.js, processSendQueue).
// A connection without sendData (another transport) is left as it is.

import type { ConnectionEncrypter, MessageStream, SecureConnectionOptions, SecuredConnection } from '@libp2p/interface';

/** The part of libp2p's AbstractMessageStream that is wrapped: send a list of buffers, report bytes sent. */
interface SendsData {
  sendData(data: JoinableList): unknown;
}

/** The part of a Uint8ArrayList used here (the type is not re-exported by libp2p). */
interface JoinableList {
  readonly byteLength: number;
  subarray(): Uint8Array;
  consume(bytes: number): void;
  append(...bufs: Uint8Array[]): void;
  [Symbol.iterator](): Iterator<Uint8Array>;
}

const wrapped = new WeakSet<object>();

function sendsData(conn: unknown): conn is SendsData {
  return typeof conn === 'object' && conn !== null && typeof (conn as { sendData?: unknown }).sendData === 'function';
}

/** True when the list holds more than one buffer (joining one buffer would copy it for nothing). */
function isSplit(list: JoinableList): boolean {
  let n = 0;
  for (const _ of list) if (++n > 1) return true;
  return false;
}

/**
 * Makes `conn` write each batch as one buffer. Idempotent; returns whether it
 * applied (false for a connection that has no sendData to wrap).
 */
export function coalesceWrites(conn: unknown): boolean {
  if (!sendsData(conn)) return false;
  if (wrapped.has(conn)) return true;
  const send = conn.sendData.bind(conn);
  conn.sendData = (data: JoinableList): unknown => {
    if (isSplit(data)) {
      // subarray() of a multi-buffer list is a fresh copy: the list can then be emptied and refilled.
      const joined = data.subarray();
      data.consume(data.byteLength);
      data.append(joined);
    }
    return send(data);
  };
  wrapped.add(conn);
  return true;
}

/** `inner` (Noise), with the raw connection under it writing one buffer per batch. */
export function coalescingEncrypter<E>(inner: ConnectionEncrypter<E>): ConnectionEncrypter<E> {
  return {
    protocol: inner.protocol,
    secureInbound: (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<E>> => {
      coalesceWrites(connection);
      return inner.secureInbound(connection, options);
    },
    secureOutbound: (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection<E>> => {
      coalesceWrites(connection);
      return inner.secureOutbound(connection, options);
    },
  };
}
