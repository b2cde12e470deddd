// Per-peer, per-kind budgets for inbound frames (issue 12, item 4; DESIGN.md
// §7: floods are dropped and counted). Verifying a frame's Ed25519 signature
// is the expensive step of receiving it, and everything after it (JSON, the
// schema, the core's step and its answer) costs more again; a member with a
// bug, or with a stolen key, could otherwise spend the receiver's CPU at the
// rate it can sign. So the transport reads the kind byte of each frame
// (envelopeKindOf: offset 3, unauthenticated but cheap) and takes one token
// from the delivering peer's bucket for that kind before anything else; a
// frame over budget is rejected 'rate-limited' without being verified. The
// peer is the one Noise authenticated, so no one can spend another's budget;
// a frame that lies about its kind only spends the budget of the kind it
// claims, and then fails as what it is.
//
// The budgets (frames per second sustained; the bucket holds burstSeconds of
// that), per delivering peer:
//   - gossip: gossipBudgetFactor × the most SWIM messages one member sends
//     one other per second on the fastest preset (swimFramesPerSecondMax over
//     swimPresets; the timing derived from booth's keys is floored at the
//     loopback preset's periods, so it is no faster). 3 members: 24/s legit,
//     96/s budget, 192 frames of burst.
//   - raft: a leader sends a follower one append per Ready at most, and every
//     Ready waits for a synced write (330 fdatasync/s measured on the 2-core
//     test host's disk), plus heartbeats (at most every 10 ms, the derived
//     timing's floor); a follower answers each and renews. registryFramesPerSecond
//     covers a disk several times faster than that; a registry message over
//     budget is lost like any other and Raft sends it again.
//   - relay: registry traffic passed through a member for up to all the
//     others; the same as raft. (What a relay passes on is further bounded
//     by RelayBudget.)
//   - admin (and admin-reply): a member forwards at most the commands its
//     pump lets wait (commandsQueuedMax, 1024) at once; an admin client sends
//     one request per CLI call.
// A kind byte no kind has gets no bucket: decodeEnvelope refuses it
// ('unknown-kind') before the signature, as it does a frame too short to
// have one.
import { swimFramesPerSecondMax, swimPresets } from '../core/gossip/config.js';
import type { EnvelopeKind } from './envelope.js';
import { PeerBudget, type PeerBudgetOptions } from './peer-budget.js';

/** Budget classes: kinds that share a bucket. */
export type InboundBudgetClass = 'registry' | 'relay' | 'gossip' | 'admin';

const classOfKind: Readonly<Record<EnvelopeKind, InboundBudgetClass>> = {
  raft: 'registry',
  relay: 'relay',
  gossip: 'gossip',
  admin: 'admin',
  'admin-reply': 'admin',
  // One per stream a peer opens (at most a few per connection): the admin bucket holds any legitimate number.
  hello: 'admin',
};

/**
 * The gossip budget over the legitimate peak rate. That rate is already a worst case (every probe
 * failing, every helper path in use, a gossip round every period), so 4 leaves wide room; a false
 * refusal costs a probe, which SWIM retries. Not more: each accepted ping costs a verify, a signed
 * ack and a write (about 1 ms of CPU on the loaded 2-core test host), so the budget is also what a
 * flooding member can make us spend.
 */
export const gossipBudgetFactor = 4;
/** Seconds of the sustained rate a bucket holds: a burst after a stall on either side (GC, CPU starvation) passes. */
export const burstSeconds = 2;
/** Registry (raft) frames per second from one peer; see the file comment. */
export const registryFramesPerSecond = 2_000;
/** Admin frames per second from one peer. */
export const adminFramesPerSecond = 500;
/** Admin frames in one burst from one peer: a member's whole queue of waiting commands (commandsQueuedMax). */
export const adminBurstFrames = 1_024;

export type InboundBudgets = Readonly<Record<InboundBudgetClass, Omit<PeerBudgetOptions, 'peersMax'>>>;

/** The most SWIM frames per second one member sends another on the fastest preset. */
export function gossipFramesPerSecondLegit(memberCount: number): number {
  return Math.max(...Object.values(swimPresets).map((t) => swimFramesPerSecondMax(t, memberCount)));
}

/** The budgets for a formation of `memberCount` members (see the file comment). */
export function inboundBudgetDefaults(memberCount: number): InboundBudgets {
  const gossip = Math.ceil(gossipBudgetFactor * gossipFramesPerSecondLegit(memberCount));
  return {
    gossip: { framesPerSecond: gossip, burstFrames: burstSeconds * gossip },
    registry: { framesPerSecond: registryFramesPerSecond, burstFrames: burstSeconds * registryFramesPerSecond },
    relay: { framesPerSecond: registryFramesPerSecond, burstFrames: burstSeconds * registryFramesPerSecond },
    admin: { framesPerSecond: adminFramesPerSecond, burstFrames: adminBurstFrames },
  };
}

export class InboundBudget {
  readonly #buckets: Readonly<Record<InboundBudgetClass, PeerBudget>>;

  constructor(budgets: InboundBudgets, peersMax: number) {
    const bucket = (c: InboundBudgetClass): PeerBudget => new PeerBudget({ ...budgets[c], peersMax });
    this.#buckets = { registry: bucket('registry'), relay: bucket('relay'), gossip: bucket('gossip'), admin: bucket('admin') };
  }

  /**
   * Spends one frame of `peer`'s budget for `kind` at `nowMs` (monotonic);
   * false when it has none left. A kind of undefined (not a known kind
   * byte) always passes: decoding refuses it cheaply.
   */
  take(peer: string, kind: EnvelopeKind | undefined, nowMs: number): boolean {
    if (kind === undefined) return true;
    return this.#buckets[classOfKind[kind]].take(peer, nowMs);
  }
}
