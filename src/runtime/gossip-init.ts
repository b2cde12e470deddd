// What a member process gives its core for gossip (DESIGN.md §3, issue 5):
// the formation's SWIM timing, a random stream of its own, Ed25519 claim
// signatures with the member's key (checked against the keys of the
// committed configuration's members, committed-peers.ts: a member added at
// runtime is verified, a removed one is not), and its start epoch as the first incarnation. One function so that
// the composition root adds gossip with one call.
import { randomInt } from 'node:crypto';
import type { GossipInit } from '../core/member.js';
import { SeededRandom } from '../core/random.js';
import type { SwimTiming } from '../core/gossip/config.js';
import type { KeyObject } from 'node:crypto';
import { Ed25519ClaimAuthenticator } from '../wire/claim-signer.js';
import { privateKeyFromSeed } from '../wire/signer.js';

export interface GossipInitOptions {
  readonly self: string;
  /** This member's 32-byte Ed25519 seed (its envelope key). */
  readonly seed: Uint8Array;
  /** A member's public key, asked at each claim (CommittedPeers.publicKeyOf); undefined for a member not admitted. */
  readonly publicKeyOf: (id: string) => KeyObject | undefined;
  readonly timing: SwimTiming;
  /** The persisted start epoch: it grows with every start, as SWIM incarnations must. */
  readonly epoch: number;
}

export function gossipInitFor(o: GossipInitOptions): GossipInit {
  return {
    timing: o.timing,
    // Jitter only (probe order, helper choice); a process need not replay its gossip draws.
    random: new SeededRandom(randomInt(2 ** 31)),
    auth: new Ed25519ClaimAuthenticator({ self: o.self, privateKey: privateKeyFromSeed(o.seed), publicKeyOf: o.publicKeyOf }),
    // SWIM incarnations and site-health versions are counted from it (member.ts).
    incarnation: o.epoch % 2 ** 32,
  };
}
