// The gossip configuration (src/core/gossip/config.ts): the lan / wan /
// loopback presets pass every check and derive from the lan base (the
// formation presets of src/config/presets.ts take them as they are:
// test/config/presets.test.ts); a broken field or relation is reported in
// words that name it.
import { describe, expect, it } from 'vitest';
import { swimLimitsDefault, swimLimitsProblems, swimPresets, swimTimingProblems } from '../../../src/core/gossip/config.js';

const lan = swimPresets.lan;

describe('gossip presets', () => {
  it('pass every check', () => {
    for (const name of ['lan', 'wan', 'loopback'] as const) {
      expect(swimTimingProblems(swimPresets[name])).toEqual([]);
      expect(swimLimitsProblems(swimLimitsDefault, swimPresets[name])).toEqual([]);
    }
  });

  it('derive wan and loopback from the lan base', () => {
    expect(Object.keys(swimPresets.wan).sort()).toEqual(Object.keys(lan).sort());
    expect(Object.keys(swimPresets.loopback).sort()).toEqual(Object.keys(lan).sort());
    expect(swimPresets.wan.healthScoreMax).toBe(lan.healthScoreMax);
    expect(swimPresets.loopback.retransmitMultiplier).toBe(lan.retransmitMultiplier);
  });
});

describe('gossip checks', () => {
  it('report a broken field or relation by name', () => {
    expect(swimTimingProblems({ ...lan, probeTimeoutMs: lan.probeIntervalMs }).join()).toMatch(/probeTimeoutMs .* must be less than probeIntervalMs/);
    expect(swimTimingProblems({ ...lan, gossipFanout: 0 }).join()).toMatch(/both be 0/);
    expect(swimTimingProblems({ ...lan, nackTimeoutPercent: 100 }).join()).toMatch(/nackTimeoutPercent must be in \(0, 100\)/);
    expect(swimTimingProblems({ ...lan, indirectProbeCount: -1 }).join()).toMatch(/indirectProbeCount must be a non-negative integer/);
    expect(swimLimitsProblems({ ...swimLimitsDefault, broadcastQueueMax: 0 }, lan).join()).toMatch(/limits.broadcastQueueMax must be a positive integer/);
    expect(swimLimitsProblems({ ...swimLimitsDefault, itemsPerMessageMax: lan.piggybackItemsMax }, lan).join()).toMatch(/itemsPerMessageMax must exceed piggybackItemsMax/);
  });
});
