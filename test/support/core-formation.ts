// The small formation most core and pump tests drive by hand: two sites and
// an arbitrator, with timings short enough for virtual time and far enough
// apart that one test step (a few ms) is like a short network delay.
import type { CoreConfig, CoreTiming } from '../../src/core/config.js';
import { memberId, type MemberId } from '../../src/core/types.js';

export const siteA = memberId('site-a');
export const siteB = memberId('site-b');
export const arb = memberId('arb');
export const ids: readonly MemberId[] = [siteA, siteB, arb];
export const testMembers: CoreConfig['members'] = [
  { id: siteA, kind: 'site' },
  { id: siteB, kind: 'site' },
  { id: arb, kind: 'arbitrator' },
];

export const testTiming: CoreTiming = {
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  renewIntervalMs: 500,
  renewRetryMs: 200,
  clockDriftPpmMax: 500,
  effectRetryMs: 200,
  siteAliveWindowMs: 1500,
};
