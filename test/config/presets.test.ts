// The timing presets lan, wan and loopback: each is internally consistent
// (every relation the core relies on holds, including for the default ticket
// it offers), wan and loopback derive from the lan base so that fields they do
// not override are the base's, their gossip timing is the gossip config's
// preset of the same name (one table, src/core/gossip/config.ts) and reaches
// the core unchanged (toSwimTiming), the key `tollbooth-preset` picks one, and
// the preset's lease checks are applied to configured tickets. Without the key
// the timers derive from booth's own `timeout` (gossip: wan's, with the periods
// on booth's scale): a property test draws ticket timings that booth accepts
// and checks that each passes every check.
import { describe, expect, it } from 'vitest';
import { leaseTimingProblems } from '../../src/config/presets.js';
import { toSwimTiming } from '../../src/config/to-core.js';
import { swimPresets } from '../../src/core/gossip/config.js';
import { timingPresetNames, timingPresetProblems, timingPresets, type TimingPreset } from '../../src/config/index.js';
import { timingFromBoothKeys } from '../../src/config/presets.js';
import fc from 'fast-check';
import { errorsOf, parse, validConfig } from './fixtures.js';

describe('timing presets', () => {
  it.each(timingPresetNames)('%s is consistent', (name) => {
    expect(timingPresets[name].name).toBe(name);
    expect(timingPresetProblems(timingPresets[name])).toEqual([]);
  });

  it('derives wan and loopback from the lan base', () => {
    expect(timingPresets.wan.effectRetryMs).toBe(timingPresets.lan.effectRetryMs);
    expect(timingPresets.loopback.renewIntervalMs).not.toBe(timingPresets.lan.renewIntervalMs);
    expect(Object.keys(timingPresets.wan).sort()).toEqual(Object.keys(timingPresets.lan).sort());
    expect(Object.keys(timingPresets.loopback).sort()).toEqual(Object.keys(timingPresets.lan).sort());
  });

  it("takes its gossip timing from the gossip config's preset of the same name, and hands it to the core as it is", () => {
    for (const name of timingPresetNames) {
      expect(timingPresets[name].gossip, name).toBe(swimPresets[name]);
      const config = parse(validConfig.replace('= lan', `= ${name}`)).config;
      expect(config === null ? null : toSwimTiming(config), name).toBe(swimPresets[name]);
    }
  });

  it("derives the gossip timing without a preset line from wan's, with the periods on booth's scale", () => {
    // booth's timeout T: probe every T within the loopback and wan periods, ack timeout 0.6 of that, push every T/5 within theirs.
    const { loopback, wan } = swimPresets;
    for (const [timeoutMs, probeIntervalMs, gossipIntervalMs] of [
      [300, loopback.probeIntervalMs, loopback.gossipIntervalMs],
      [2_000, 2_000, 400],
      [60_000, wan.probeIntervalMs, wan.gossipIntervalMs],
    ] as const) {
      const probeTimeoutMs = Math.floor((probeIntervalMs * 3) / 5);
      expect(timingFromBoothKeys([timeoutMs]).gossip, `${timeoutMs} ms`).toEqual({ ...wan, probeIntervalMs, probeTimeoutMs, gossipIntervalMs });
    }
    const config = parse(validConfig.replace('tollbooth-preset = lan\n', '')).config;
    expect(config === null ? null : toSwimTiming(config)).toEqual({ ...wan, probeIntervalMs: 2_000, probeTimeoutMs: 1_200, gossipIntervalMs: 400 });
  });

  it('orders the presets from slow to fast', () => {
    const { wan, lan, loopback } = timingPresets;
    for (const field of ['heartbeatIntervalMs', 'electionTimeoutMs', 'renewIntervalMs'] as const) {
      expect(wan[field], field).toBeGreaterThan(lan[field]);
      expect(lan[field], field).toBeGreaterThan(loopback[field]);
    }
    expect(wan.gossip.probeIntervalMs).toBeGreaterThan(lan.gossip.probeIntervalMs);
    expect(lan.gossip.probeIntervalMs).toBeGreaterThan(loopback.gossip.probeIntervalMs);
  });

  it('reports broken relations', () => {
    const lan = timingPresets.lan;
    const broken: TimingPreset = { ...lan, heartbeatIntervalMs: 400, gossip: { ...lan.gossip, probeTimeoutMs: 1_000 }, siteAliveWindowMs: 1_000 };
    const problems = timingPresetProblems(broken);
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('at least 5 × heartbeatIntervalMs');
    expect(problems.join('\n')).toContain('gossip: probeTimeoutMs (1000) must be less than probeIntervalMs (1000)');
    expect(leaseTimingProblems(3_000, 500, timingPresets.lan)).toHaveLength(1);
    expect(leaseTimingProblems(3_000, 2_000, timingPresets.lan)).toHaveLength(2);
    expect(leaseTimingProblems(600_000, 10_000, timingPresets.wan)).toEqual([]);
  });

  it("is chosen with tollbooth-preset; without one the timers follow booth's timeout", () => {
    expect(parse(validConfig).config.timing).toBe(timingPresets.lan);
    expect(parse(validConfig.replace('tollbooth-preset = lan\n', '')).config.timing).toEqual(timingFromBoothKeys([2_000]));
    expect(parse(validConfig.replace('= lan', '= loopback')).config.timing).toBe(timingPresets.loopback);
  });

  it("gives booth's default ticket a lease that fits every preset", () => {
    for (const name of timingPresetNames) {
      const text = validConfig.replace('= lan', `= ${name}`).replace('  expire = 60\n  timeout = 2\n', '');
      expect(parse(text).problems, name).toEqual([]);
    }
  });
});

describe("timing derived from booth's keys (no tollbooth-preset line, issue 14)", () => {
  const head = validConfig.slice(0, validConfig.indexOf('tollbooth-preset'));

  it('runs the file from the issue that the wan preset refuses (expire 10, timeout 1, retries 3)', () => {
    const ticket = 'ticket = db\n  expire = 10\n  timeout = 1\n  retries = 3\n';
    expect(errorsOf(parse(`${head}${ticket}`))).toEqual([]);
    const wan = errorsOf(parse(`${head}tollbooth-preset = wan\n${ticket}`));
    expect(wan.map((p) => p.message).join('\n')).toContain('lease − revoke lead (7500 ms) must exceed 2 × electionTimeoutMs + renewIntervalMs of the wan preset (8000 ms)');
    const timing = parse(`${head}${ticket}`).config.timing;
    expect(timing).toMatchObject({ name: 'booth', electionTimeoutMs: 1_000, heartbeatIntervalMs: 100, renewIntervalMs: 1_000, revokeLeadMs: 2_000 });
  });

  it('accepts every ticket timing that booth accepts, and keeps every relation of the core', () => {
    // booth's rules: retries 3–100, timeout × (retries + 1) < renewal-freq (expire/2 by default) < expire.
    const booth = fc
      .record({
        // From 100 ms: the derived timers have floors (an election timeout of 100 ms), below which
        // a loaded host misses its own deadlines; a shorter timeout is refused, see the next test.
        timeoutMs: fc.integer({ min: 100, max: 120_000 }),
        retries: fc.integer({ min: 3, max: 100 }),
        slackMs: fc.integer({ min: 1, max: 3_600_000 }),
        explicitRenewal: fc.boolean(),
        extraMs: fc.integer({ min: 1, max: 3_600_000 }),
        ms: fc.boolean(),
      })
      .map(({ timeoutMs, retries, slackMs, explicitRenewal, extraMs, ms }) => {
        const t = ms ? timeoutMs : Math.ceil(timeoutMs / 1000) * 1000;
        const renewalMs = t * (retries + 1) + slackMs;
        const expireMs = explicitRenewal ? renewalMs + extraMs : 2 * renewalMs + 2;
        return { t, retries, renewalMs, expireMs, explicitRenewal };
      });
    fc.assert(
      fc.property(booth, ({ t, retries, renewalMs, expireMs, explicitRenewal }) => {
        const text = `${head}ticket = db\n  expire = ${expireMs}ms\n  timeout = ${t}ms\n  retries = ${retries}\n${explicitRenewal ? `  renewal-freq = ${renewalMs}ms\n` : ''}`;
        const r = parse(text);
        expect(errorsOf(r)).toEqual([]);
        expect(timingPresetProblems(r.config.timing)).toEqual([]);
        for (const ticket of r.config.tickets) expect(leaseTimingProblems(ticket.expireMs, ticket.revokeLeadMs, r.config.timing)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a lease too short for any host to keep, saying why at the line', () => {
    const r = parse(`${head}ticket = db\n  expire = 12ms\n  timeout = 1ms\n  retries = 3\n`);
    const errors = errorsOf(r);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ line: head.split('\n').length + 1, key: 'expire' });
    expect(errors[0]!.message).toContain("of the timing derived from booth's timeout (100 ms; no tollbooth-preset line)");
  });

  it('runs booth.conf.example once the member keys are added', () => {
    // Debian's booth package ships this file (test/cli/migrate-from-booth.test.ts reads the real one).
    const example = 'transport="UDP"\nport="9929"\narbitrator="147.2.207.14"\nsite="147.4.215.19"\nsite="147.18.2.1"\nticket="ticketA"\nticket="ticketB"\n\texpire = 600\n\tweights = 1,2,3\n';
    const keys = validConfig.slice(validConfig.indexOf('tollbooth-member-key'), validConfig.indexOf('tollbooth-preset')).replaceAll('192.0.2.11', '147.4.215.19').replaceAll('192.0.2.12', '147.18.2.1').replaceAll('192.0.2.13', '147.2.207.14');
    expect(errorsOf(parse(`${example}${keys}`))).toEqual([]);
  });
});
