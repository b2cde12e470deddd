// What a member process gives its core for gossip (DESIGN.md §3, issue 5):
// the formation's SWIM timing, a random stream of its own, Ed25519 claim
// signatures with the member's key (checked against the formation config's
// keys), and its start epoch as the first incarnation. One function so that
// the composition root adds gossip with one call.
import { randomInt } from 'node:crypto';
import type { GossipInit } from '../core/member.js';
import { SeededRandom } from '../core/random.js';
import type { SwimTiming } from '../core/gossip/config.js';
import type { KeyObject } from 'node:crypto';
import { Ed25519ClaimAuthenticator } from '../wire/claim-signer.js';
import { privateKeyFromSeed, publicKeyFromRaw } from '../wire/signer.js';

export interface GossipMember {
  readonly id: string;
  /** Raw 32-byte Ed25519 public key from the formation config. */
  readonly publicKey: Uint8Array;
}

export interface GossipInitOptions {
  readonly self: string;
  /** This member's 32-byte Ed25519 seed (its envelope key). */
  readonly seed: Uint8Array;
  /** Every member with its configured public key. */
  readonly members: readonly GossipMember[];
  readonly timing: SwimTiming;
  /** The persisted start epoch: it grows with every start, as SWIM incarnations must. */
  readonly epoch: number;
}

export function gossipInitFor(o: GossipInitOptions): GossipInit {
  const keys = new Map<string, KeyObject>();
  for (const m of o.members) keys.set(m.id, publicKeyFromRaw(m.publicKey));
  return {
    timing: o.timing,
    // Jitter only (probe order, helper choice); a process need not replay its gossip draws.
    random: new SeededRandom(randomInt(2 ** 31)),
    auth: new Ed25519ClaimAuthenticator({ self: o.self, privateKey: privateKeyFromSeed(o.seed), publicKeyOf: (id) => keys.get(id) }),
    // SWIM incarnations and site-health versions are counted from it (member.ts).
    incarnation: o.epoch % 2 ** 32,
  };
}
