// The timing presets lan, wan and loopback: each is internally consistent
// (every relation the core relies on holds, including for the default ticket
// it offers), wan and loopback derive from the lan base so that fields they do
// not override are the base's, the key `tollbooth-preset` picks one (wan by
// default), and the preset's lease checks are applied to configured tickets.
import { describe, expect, it } from 'vitest';
import { leaseTimingProblems } from '../../src/config/presets.js';
import { timingPresetNames, timingPresetProblems, timingPresets, type TimingPreset } from '../../src/config/index.js';
import { parse, validConfig } from './fixtures.js';

describe('timing presets', () => {
  it.each(timingPresetNames)('%s is consistent', (name) => {
    expect(timingPresets[name].name).toBe(name);
    expect(timingPresetProblems(timingPresets[name])).toEqual([]);
  });

  it('derives wan and loopback from the lan base', () => {
    expect(timingPresets.wan.indirectProbeCount).toBe(timingPresets.lan.indirectProbeCount);
    expect(timingPresets.wan.effectRetryMs).toBe(timingPresets.lan.effectRetryMs);
    expect(timingPresets.loopback.gossipFanout).toBe(timingPresets.lan.gossipFanout);
    expect(Object.keys(timingPresets.wan).sort()).toEqual(Object.keys(timingPresets.lan).sort());
    expect(Object.keys(timingPresets.loopback).sort()).toEqual(Object.keys(timingPresets.lan).sort());
  });

  it('orders the presets from slow to fast', () => {
    const { wan, lan, loopback } = timingPresets;
    for (const field of ['heartbeatIntervalMs', 'electionTimeoutMs', 'renewIntervalMs', 'probeIntervalMs'] as const) {
      expect(wan[field], field).toBeGreaterThan(lan[field]);
      expect(lan[field], field).toBeGreaterThan(loopback[field]);
    }
  });

  it('reports broken relations', () => {
    const broken: TimingPreset = { ...timingPresets.lan, heartbeatIntervalMs: 400, probeTimeoutMs: 1_000, siteAliveWindowMs: 1_000 };
    const problems = timingPresetProblems(broken);
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('at least 5 × heartbeatIntervalMs');
    expect(leaseTimingProblems(3_000, 500, timingPresets.lan)).toHaveLength(1);
    expect(leaseTimingProblems(3_000, 2_000, timingPresets.lan)).toHaveLength(2);
    expect(leaseTimingProblems(600_000, 10_000, timingPresets.wan)).toEqual([]);
  });

  it('is chosen with tollbooth-preset, wan by default', () => {
    expect(parse(validConfig).config.timing).toBe(timingPresets.lan);
    expect(parse(validConfig.replace('tollbooth-preset = lan\n', '')).config.timing).toBe(timingPresets.wan);
    expect(parse(validConfig.replace('= lan', '= loopback')).config.timing).toBe(timingPresets.loopback);
  });

  it("gives booth's default ticket a lease that fits every preset", () => {
    for (const name of timingPresetNames) {
      const text = validConfig.replace('= lan', `= ${name}`).replace('  expire = 60\n  timeout = 2\n', '');
      expect(parse(text).problems, name).toEqual([]);
    }
  });
});
