// What a formation at rest should send, from its preset's timers alone (bench/steady.ts compares the
// measured frames/s with it). At rest means: nothing changes, and every member's gossip broadcast
// queue is empty — right after a placement it is not: each grant publishes a ticket rumor
// (src/core/tickets/lease-office.ts), every member queues it for retransmitLimit sends, and the
// gossip round sends piggybackItemsMax of them per message to each peer every gossipIntervalMs until
// the queue is empty (src/core/gossip/dissemination.ts), whatever the ticket count.

import type { TimingPreset } from '../src/config/presets.js';
import { round } from './stats.js';

export interface ExpectedFrames {
  /** AppendEntries from the leader to each follower per heartbeat, and each answer. */
  readonly raftPerSec: number;
  /** One batched renewal per interval from each site that does not lead, and its answer (the leader's site renews locally). */
  readonly renewalsPerSec: number;
  /** SWIM: every member probes one peer per probe period, a ping and its ack (no indirect probes while all answer). */
  readonly probesPerSec: number;
  readonly totalPerSec: number;
}

export function expectedSteadyFrames(preset: Pick<TimingPreset, 'heartbeatIntervalMs' | 'renewIntervalMs' | 'gossip'>, members: number, remoteSites: number): ExpectedFrames {
  const raftPerSec = (2 * (members - 1) * 1000) / preset.heartbeatIntervalMs;
  const renewalsPerSec = (2 * remoteSites * 1000) / preset.renewIntervalMs;
  const probesPerSec = members < 2 ? 0 : (2 * members * 1000) / preset.gossip.probeIntervalMs;
  return { raftPerSec: round(raftPerSec, 1), renewalsPerSec: round(renewalsPerSec, 1), probesPerSec: round(probesPerSec, 1), totalPerSec: round(raftPerSec + renewalsPerSec + probesPerSec, 1) };
}
