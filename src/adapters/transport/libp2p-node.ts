// The libp2p node under a member's transport: TCP, Noise and yamux, with our
// changes to two of them (coalesce-writes.ts, yamux-window-updates.ts). A
// module of its own, which Libp2pTransport.start() imports when it runs
// (issue 15, item 2): the libp2p stack is the larger part of a member's code,
// and loading and compiling it before the admin socket could answer made up a
// good part of a member's start; a member answers `status` truthfully before
// its transport is up (peers not yet connected), as it always did between
// opening the socket and starting the transport. Everything else about the
// node (the gater, admission, limits) is decided by the transport and passed in.
//
// In the member's bundle (dist/bin/member.cjs) an import is no longer a file read but a synchronous
// evaluation of the package, and the transport's start ran 40–60 ms of CPU (Noise compiling its
// WebAssembly, libp2p checking its allow list's multiaddrs) without one turn of the event loop
// between the admin socket's bind and its first answer. So the stack is imported here piece by
// piece, with a turn of the event loop before each piece and before the node is built: a `status`
// that reached the socket meanwhile is answered in between (docs/benchmarks.md, "CLI start-up").
import type { ConnectionGater, PrivateKey } from '@libp2p/interface';
import type { Libp2p } from 'libp2p';
import { coalescingEncrypter } from './coalesce-writes.js';

export interface MemberNodeOptions {
  readonly privateKey: PrivateKey;
  /** Multiaddrs to listen on; none for a client. */
  readonly listen: readonly string[];
  /** TCP connections at most (the transport's and the connection manager's limit). */
  readonly connectionsMax: number;
  readonly dialTimeoutMs: number;
  /** libp2p's allow list (members' addresses). */
  readonly allow: readonly string[];
  readonly pendingConnectionsMax: number;
  readonly inboundUpgradeTimeoutMs: number;
  /** yamux's stream read buffer limit, bytes. */
  readonly streamBufferBytes: number;
  readonly connectionGater: ConnectionGater;
}

/** One turn of the event loop (its poll phase: the admin socket's connections and requests). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A libp2p node, not started: TCP, Noise (one socket write per message), yamux (window updates at half). */
export async function createMemberNode(o: MemberNodeOptions): Promise<Libp2p> {
  await nextTurn();
  const { noise } = await import('@libp2p/noise');
  await nextTurn();
  const [{ tcp }, { yamux }, { sendWindowUpdatesAtHalf }] = await Promise.all([import('@libp2p/tcp'), import('@libp2p/yamux'), import('./yamux-window-updates.js')]);
  await nextTurn();
  const { createLibp2p } = await import('libp2p');
  await nextTurn();
  const noiseEncrypter = noise();
  sendWindowUpdatesAtHalf();
  return createLibp2p({
    privateKey: o.privateKey,
    start: false,
    addresses: { listen: [...o.listen] },
    transports: [tcp({ maxConnections: o.connectionsMax })],
    connectionEncrypters: [(components) => coalescingEncrypter(noiseEncrypter(components))],
    streamMuxers: [yamux({ streamOptions: { maxReadBufferLength: o.streamBufferBytes } })],
    peerDiscovery: [],
    connectionManager: {
      maxConnections: o.connectionsMax,
      dialTimeout: o.dialTimeoutMs,
      allow: [...o.allow],
      maxIncomingPendingConnections: o.pendingConnectionsMax,
      inboundUpgradeTimeout: o.inboundUpgradeTimeoutMs,
    },
    connectionGater: o.connectionGater,
    // Our LinkMonitor pings instead (yamux ping frames); nothing else here uses libp2p's ping service.
    connectionMonitor: { enabled: false },
  });
}
