import { describe, expect, it } from 'vitest';
import { expectedSteadyFrames } from '../../bench/steady-expected.js';
import { timingPresets } from '../../src/config/presets.js';

describe('expectedSteadyFrames', () => {
  it('counts SWIM probes and acks beside Raft heartbeats and renewals (lan, 2 sites + arbitrator leading: 50, not 44)', () => {
    // Measured at 69b39df with a per-kind tally, 1 ticket, lan, arbitrator leading: 10/s append and
    // 10/s append-resp per follower, 1/s renew and renew-resp per site, and 1 ping + 1 ack per member per second.
    expect(expectedSteadyFrames(timingPresets.lan, 3, 2)).toEqual({ raftPerSec: 40, renewalsPerSec: 4, probesPerSec: 6, totalPerSec: 50 });
  });

  it('a site leading renews locally: one renewing site fewer', () => {
    expect(expectedSteadyFrames(timingPresets.lan, 3, 1).totalPerSec).toBe(48);
  });

  it('follows the preset timers (loopback: heartbeat 50 ms, renew 200 ms, probe 500 ms)', () => {
    expect(expectedSteadyFrames(timingPresets.loopback, 3, 2)).toEqual({ raftPerSec: 80, renewalsPerSec: 20, probesPerSec: 12, totalPerSec: 112 });
  });
});
