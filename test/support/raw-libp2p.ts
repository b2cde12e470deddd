// A bare libp2p node with a member's key, for tests that speak to a real
// transport from outside it (hostile or flooding peers): TCP, Noise and yamux
// as the transport uses them, no discovery, and no connection monitor, so that
// only the side under test can end a link.
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p';

export async function createRawLibp2p(seed: Uint8Array, services: ServiceFactoryMap = {}): Promise<Libp2p> {
  return createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', seed),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    connectionMonitor: { enabled: false },
    services,
  });
}
