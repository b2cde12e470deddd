// Checks src/core/config.ts: validateCoreConfig and validateTicketDef. They
// must report every violation at once (an operator fixes a config in one
// pass, not one error per restart), check each field, and check the relations
// between fields that the protocol's safety and liveness rest on: heartbeat at
// most half the election timeout, a leader lease (the election timeout shrunk
// by the drift bound) longer than a heartbeat, renewRetry ≤ renewInterval, an
// alive window of at least two renewals, a usable lease (lease − revokeLead)
// of at least two renewals and longer than two elections plus a renewal, and
// weights that name sites only (S3). Each relation is tested on both sides of
// its boundary from one valid base config, changing one thing at a time.
// Finally, a Member refuses to start from an invalid config (AssertionError).
import { describe, expect, it } from 'vitest';
import { defaultLimits, validateCoreConfig, validateTicketDef, type CoreConfig, type CoreTiming } from '../../src/core/config.js';
import { Member } from '../../src/core/member.js';
import { SeededRandom } from '../../src/core/random.js';
import { AssertionError, memberId, ms, type TicketDef } from '../../src/core/types.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';
import { testTiming } from '../support/core-formation.js';

const timing = testTiming;

const ticket: TicketDef = { name: 'ticket-a', mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };

const members = [
  { id: memberId('site-a'), kind: 'site' as const },
  { id: memberId('site-b'), kind: 'site' as const },
  { id: memberId('arb'), kind: 'arbitrator' as const },
];

function config(over: { timing?: Partial<CoreTiming>; tickets?: TicketDef[]; members?: CoreConfig['members']; self?: string } = {}): CoreConfig {
  return {
    self: memberId(over.self ?? 'site-a'),
    members: over.members ?? members,
    tickets: over.tickets ?? [ticket],
    timing: { ...timing, ...over.timing },
    limits: defaultLimits,
  };
}

function fields(c: CoreConfig): string[] {
  return validateCoreConfig(c).map((v) => v.field);
}

describe('a valid config', () => {
  it('has no violations', () => {
    expect(validateCoreConfig(config())).toEqual([]);
  });
});

describe('every violation at once', () => {
  it('reports each bad field, not just the first', () => {
    const bad = config({
      timing: { heartbeatIntervalMs: 0, renewRetryMs: -1, effectRetryMs: 1.5, clockDriftPpmMax: 200_000 },
      tickets: [{ ...ticket, name: 'bad name!', acquireAfterMs: -1 }],
      self: 'nobody',
    });
    const got = fields(bad);
    expect(got).toEqual(
      expect.arrayContaining([
        'timing.heartbeatIntervalMs',
        'timing.renewRetryMs',
        'timing.effectRetryMs',
        'timing.clockDriftPpmMax',
        'self',
        'tickets.bad name!.name',
        'tickets.bad name!.acquireAfterMs',
      ]),
    );
    expect(got.length).toBeGreaterThanOrEqual(7);
    for (const v of validateCoreConfig(bad)) expect(v.message.length).toBeGreaterThan(0);
  });

  it.each([
    ['heartbeatIntervalMs', Number.NaN],
    ['electionTimeoutMs', -5],
    ['renewIntervalMs', 0],
    ['renewRetryMs', 2.5],
    ['effectRetryMs', Number.POSITIVE_INFINITY],
    ['siteAliveWindowMs', -1],
  ] as const)('timing.%s must be a positive integer (%s is not)', (field, value) => {
    expect(fields(config({ timing: { [field]: value } }))).toContain(`timing.${field}`);
  });

  it('clockDriftPpmMax must be an integer in [0, 100000]', () => {
    expect(fields(config({ timing: { clockDriftPpmMax: 0 } }))).toEqual([]);
    expect(fields(config({ timing: { clockDriftPpmMax: 100_000 } }))).toEqual([]);
    expect(fields(config({ timing: { clockDriftPpmMax: 100_001 } }))).toContain('timing.clockDriftPpmMax');
    expect(fields(config({ timing: { clockDriftPpmMax: -1 } }))).toContain('timing.clockDriftPpmMax');
    expect(fields(config({ timing: { clockDriftPpmMax: 0.5 } }))).toContain('timing.clockDriftPpmMax');
  });
});

describe('relations between timing fields', () => {
  it('heartbeat at most half the election timeout', () => {
    expect(fields(config({ timing: { heartbeatIntervalMs: 500 } }))).toEqual([]);
    expect(fields(config({ timing: { heartbeatIntervalMs: 501 } }))).toContain('timing.heartbeatIntervalMs');
  });

  it('the leader lease (election timeout shrunk by the drift) must exceed a heartbeat', () => {
    // ET 2 ms, heartbeat 1 ms: half is fine, but the lease floor(2/1.001) = 1 ms is not longer than a heartbeat.
    const tiny = { heartbeatIntervalMs: 1, electionTimeoutMs: 2 };
    expect(fields(config({ timing: { ...tiny, clockDriftPpmMax: 500 } }))).toEqual(['timing.electionTimeoutMs']);
    expect(fields(config({ timing: { ...tiny, clockDriftPpmMax: 0 } }))).toEqual([]);
  });

  it('renewRetry must not exceed renewInterval', () => {
    expect(fields(config({ timing: { renewRetryMs: 500 } }))).toEqual([]);
    expect(fields(config({ timing: { renewRetryMs: 501 } }))).toEqual(['timing.renewRetryMs']);
  });

  it('the alive window must cover two renewals', () => {
    expect(fields(config({ timing: { siteAliveWindowMs: 1000 } }))).toEqual([]);
    expect(fields(config({ timing: { siteAliveWindowMs: 999 } }))).toEqual(['timing.siteAliveWindowMs']);
  });
});

describe('relations between a ticket and the timing', () => {
  it('lease − revokeLead must cover two renewal intervals', () => {
    // ET 200 keeps the election relation out of the way: 2·200 + 500 = 900 < usable.
    const fast = { heartbeatIntervalMs: 50, electionTimeoutMs: 200 };
    expect(fields(config({ timing: fast, tickets: [{ ...ticket, leaseDurationMs: 1500 }] }))).toEqual([]);
    expect(fields(config({ timing: fast, tickets: [{ ...ticket, leaseDurationMs: 1450 }] }))).toEqual(['tickets.ticket-a.leaseDurationMs']);
  });

  it('lease − revokeLead must exceed two election timeouts plus a renewal interval', () => {
    // 2·1000 + 500 = 2500: usable 2500 is not enough, 2501 is.
    expect(fields(config({ tickets: [{ ...ticket, leaseDurationMs: 3001 }] }))).toEqual([]);
    expect(fields(config({ tickets: [{ ...ticket, leaseDurationMs: 3000 }] }))).toEqual(['tickets.ticket-a.leaseDurationMs']);
    // A longer revokeLead eats into the usable lease the same way.
    expect(fields(config({ tickets: [{ ...ticket, leaseDurationMs: 3001, revokeLeadMs: 501 }] }))).toEqual(['tickets.ticket-a.leaseDurationMs']);
  });

  it('a short lease breaks both lease relations at once, and both are reported', () => {
    const v = validateCoreConfig(config({ tickets: [{ ...ticket, leaseDurationMs: 1400 }] }));
    expect(v.map((x) => x.field)).toEqual(['tickets.ticket-a.leaseDurationMs', 'tickets.ticket-a.leaseDurationMs']);
    expect(v[0]!.message).toMatch(/renewIntervalMs/);
    expect(v[1]!.message).toMatch(/electionTimeoutMs/);
  });

  it('weights must name sites: an arbitrator is refused (S3), an unknown name too', () => {
    const v = validateCoreConfig(config({ tickets: [{ ...ticket, weights: { arb: 1, 'site-b': 2, ghost: 1 } }] }));
    expect(v.map((x) => x.field).sort()).toEqual(['tickets.ticket-a.weights.arb', 'tickets.ticket-a.weights.ghost']);
    expect(v.find((x) => x.field.endsWith('.arb'))!.message).toMatch(/arbitrator/);
    expect(v.find((x) => x.field.endsWith('.ghost'))!.message).toMatch(/no member/);
  });

  it('weights must be finite', () => {
    expect(fields(config({ tickets: [{ ...ticket, weights: { 'site-b': Number.NaN } }] }))).toEqual(['tickets.ticket-a.weights.site-b']);
  });

  it('checks the ticket fields themselves', () => {
    const v = validateTicketDef({ ...ticket, name: '', leaseDurationMs: 0, acquireAfterMs: 0.5, revokeLeadMs: 0 }, timing, members);
    expect(v.map((x) => x.field)).toEqual(expect.arrayContaining(['name', 'leaseDurationMs', 'acquireAfterMs', 'revokeLeadMs']));
  });

  it('accepts booth-style ticket names up to 63 characters', () => {
    expect(validateTicketDef({ ...ticket, name: 'db/primary-1' }, timing, members)).toEqual([]);
    expect(validateTicketDef({ ...ticket, name: 'x'.repeat(63) }, timing, members)).toEqual([]);
    expect(validateTicketDef({ ...ticket, name: 'x'.repeat(64) }, timing, members).map((v) => v.field)).toEqual(['name']);
  });
});

describe('formation checks', () => {
  it('refuses a member listed twice, self not a member, and a formation without sites', () => {
    expect(fields(config({ members: [...members, members[1]!] }))).toEqual(['members']);
    expect(fields(config({ self: 'nobody' }))).toEqual(['self']);
    const arbsOnly = [{ id: memberId('arb'), kind: 'arbitrator' as const }];
    expect(fields(config({ members: arbsOnly, self: 'arb', tickets: [] }))).toEqual(['members']);
  });

  it('refuses a ticket defined twice and more tickets than ticketCountMax', () => {
    expect(fields(config({ tickets: [ticket, ticket] }))).toEqual(['tickets.ticket-a']);
    const c: CoreConfig = { ...config({ tickets: [ticket, { ...ticket, name: 'ticket-b' }] }), limits: { ...defaultLimits, ticketCountMax: 1 } };
    expect(fields(c)).toEqual(['tickets']);
  });
});

describe('limits', () => {
  // Regression, found by these tests and fixed (src/core/config.ts): validateCoreConfig checks no field of
  // config.limits. A zero or negative limit passes and then fails silently at
  // run time: entriesPerAppendMax 0 sends appends without entries forever (no
  // entry ever replicates), renewalsInFlightMax 0 forgets each renewal as it is
  // recorded (recordRenewal trims to the bound), so no answer is ever used and
  // no site ever holds a lease; logEntriesBeforeSnapshot 0 compacts after
  // every applied entry. Each should be a positive integer.
  it('reports limits that are not positive integers', () => {
    const c: CoreConfig = { ...config(), limits: { ...defaultLimits, entriesPerAppendMax: 0, renewalsInFlightMax: 0, pendingCommandsMax: -1 } };
    expect(fields(c)).toEqual(expect.arrayContaining(['limits.entriesPerAppendMax', 'limits.renewalsInFlightMax', 'limits.pendingCommandsMax']));
  });
});

describe('the Member asserts its config at start-up', () => {
  const init = { now: ms(0), random: new SeededRandom(1), snapshotCodec };

  it('starts from a valid config', () => {
    expect(() => new Member(config(), init)).not.toThrow();
  });

  it('throws AssertionError naming every violation for an invalid one', () => {
    const bad = config({ timing: { heartbeatIntervalMs: 600, renewRetryMs: 600 } });
    let caught: unknown;
    try {
      new Member(bad, init);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AssertionError);
    const message = (caught as AssertionError).message;
    expect(message).toMatch(/timing\.heartbeatIntervalMs/);
    expect(message).toMatch(/timing\.renewRetryMs/);
  });
});
