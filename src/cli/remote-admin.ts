// The remote admin client (DESIGN.md §7: admin commands arriving over the
// network are signed with an admin key). One request, one short-lived libp2p
// node: a Libp2pTransport in client mode (listening on nothing) whose
// identity is the admin seed and whose one peer is the member asked. It dials
// the member's configured address, checks through Noise that the far end
// holds the member's configured key, sends one signed 'admin' envelope with
// the request, waits for the 'admin-reply' with the same request id, and
// stops. The member admits the connection only if the admin key is one of its
// tollbooth-admin-key lines; otherwise its connection gater closes the
// connection, which the client reports as refused.
//
// Sequence numbers: the client has no store, so it starts at its wall-clock
// time in microseconds (split into epoch and counter, wire/replay-window.ts).
// The member's replay window per admin key is 1024 numbers wide, so two
// calls with the same key whose frames arrive more than about a millisecond
// out of start order, or a call from a host whose clock stepped back, are
// refused as too old (the client then times out); retry.

import { randomUUID } from 'node:crypto';
import type { FormationConfig } from '../config/formation-config.js';
import { memberIdOf } from '../config/to-core.js';
import { adminSenderId, Libp2pTransport, type TransportPeer } from '../adapters/transport/libp2p-transport.js';
import type { TransportLogger } from '../adapters/transport/transport-support.js';
import type { AdminRequest, AdminResponse } from '../runtime/admin-service.js';
import { sequenceCounterLimit } from '../wire/replay-window.js';
import { publicKeyOfSeed } from './keys.js';
import { TollboothError } from '../errors.js';

export class RemoteAdminError extends TollboothError<'REMOTE_ADMIN_CONFIG' | 'REMOTE_ADMIN_REFUSED' | 'REMOTE_ADMIN_TIMEOUT' | 'REMOTE_ADMIN_PROTOCOL'> {}

/** Longest wait for one dial of the member, ms; the call's own deadline may be shorter. */
const remoteAdminDialTimeoutMsMax = 3_000;

export interface RemoteAdminOptions {
  /** The formation's name (labels every envelope). */
  readonly formation: string;
  /** The member to ask: its address, port and configured public key. */
  readonly member: TransportPeer;
  /** The admin key's 32-byte seed. */
  readonly seed: Uint8Array;
  /** Bound on the whole call: dial, request and answer. */
  readonly timeoutMs: number;
  /** Wall clock in ms, for the first sequence number. Default Date.now. */
  readonly wallClockMs?: () => number;
  readonly logger?: TransportLogger;
}

const silentLogger: TransportLogger = { warn: () => undefined };
/** Redial period while the member is not yet reachable. */
const redialIntervalMs = 250;

/** Epoch and counter of the first sequence number of a stateless sender: its wall-clock time in µs. */
export function wallClockSequence(nowMs: number): { epoch: number; counterStart: number } {
  const us = Math.floor(nowMs * 1000);
  return { epoch: Math.floor(us / sequenceCounterLimit), counterStart: us % sequenceCounterLimit };
}

/** The member at `address` in the config, as the transport's peer. */
export function remoteMember(config: FormationConfig, address: string): TransportPeer {
  const m = config.members.find((x) => x.address === address);
  if (m === undefined) {
    throw new RemoteAdminError('REMOTE_ADMIN_CONFIG', `--remote ${address}: no member with that address in the config (${config.members.map((x) => x.address).join(', ')})`);
  }
  if (m.publicKey === null) throw new RemoteAdminError('REMOTE_ADMIN_CONFIG', `--remote ${address}: the config has no tollbooth-member-key for it`);
  return { id: memberIdOf(m), host: m.address, port: m.port, publicKey: m.publicKey };
}

/** Refuses before dialling when the admin key is not among the config's tollbooth-admin-key lines. */
export function checkAdminKey(config: FormationConfig, seed: Uint8Array, keyPath: string): void {
  const publicKey = publicKeyOfSeed(seed);
  if (!config.adminKeys.some((k) => publicKey.equals(Buffer.from(k)))) {
    throw new RemoteAdminError(
      'REMOTE_ADMIN_REFUSED',
      `${keyPath} is not an admin key of this formation; the members would refuse it. Add "tollbooth-admin-key = ${publicKey.toString('base64')}" to the config of every member and restart them`,
    );
  }
}

function isResponse(x: unknown): x is AdminResponse {
  return typeof x === 'object' && x !== null && typeof (x as AdminResponse).ok === 'boolean' && typeof (x as AdminResponse).message === 'string';
}

/** Sends one request to a member over the network, signed with the admin key; resolves with its answer. */
export async function remoteAdminRequest(o: RemoteAdminOptions, req: AdminRequest): Promise<AdminResponse> {
  const self = adminSenderId(publicKeyOfSeed(o.seed));
  const { epoch, counterStart } = wallClockSequence((o.wallClockMs ?? Date.now)());
  const transport = new Libp2pTransport({
    formation: o.formation,
    self,
    seed: o.seed,
    epoch,
    sequenceCounterStart: counterStart,
    clientOnly: true,
    // Answers up to the wire's frame cap (messageBytesMaxDefault); a larger one comes back as a 'too-large' error.
    listenHost: '127.0.0.1',
    listenPort: 0,
    peers: [o.member],
    logger: o.logger ?? silentLogger,
    redialIntervalMs,
    dialTimeoutMs: Math.min(o.timeoutMs, remoteAdminDialTimeoutMsMax),
  });
  const target = `${o.member.id} (${o.member.host}:${o.member.port})`;
  const rid = randomUUID();
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<AdminResponse>((resolve, reject) => {
    let sent = false;
    timer = setTimeout(() => {
      reject(
        new RemoteAdminError(
          'REMOTE_ADMIN_TIMEOUT',
          sent
            ? `${target} did not answer within ${o.timeoutMs} ms`
            : `could not reach ${target} within ${o.timeoutMs} ms: is it running, and is this admin key among its tollbooth-admin-key lines?`,
        ),
      );
    }, o.timeoutMs);
    transport.onAdmin((f) => {
      const body = f.body as { rid?: unknown; res?: unknown } | null;
      if (f.kind !== 'admin-reply' || f.from !== o.member.id || typeof body !== 'object' || body === null || body.rid !== rid) return;
      if (isResponse(body.res)) resolve(body.res);
      else reject(new RemoteAdminError('REMOTE_ADMIN_PROTOCOL', `malformed answer from ${target}`));
    });
    transport.onRefused((peer, detail) => {
      if (peer === o.member.id) reject(new RemoteAdminError('REMOTE_ADMIN_REFUSED', `${target} and this client do not interoperate: ${detail}`));
    });
    transport.onConnection((peer, connected) => {
      if (peer !== o.member.id) return;
      if (connected && !sent) {
        sent = true;
        transport.sendAdmin({ from: self, to: o.member.id, kind: 'admin', body: { rid, req } });
      } else if (!connected && sent) {
        // The member's gater closes a connection from a key it does not list right after the handshake.
        reject(new RemoteAdminError('REMOTE_ADMIN_REFUSED', `${target} closed the connection without answering: it does not accept this admin key (tollbooth-admin-key in its config?)`));
      }
    });
  });
  // Handled below once started; this keeps an early rejection from counting as unhandled meanwhile.
  answer.catch(() => undefined);
  try {
    await transport.start();
    return await answer;
  } finally {
    clearTimeout(timer);
    await transport.stop();
  }
}
