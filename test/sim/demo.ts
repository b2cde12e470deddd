// npm run demo — a formation of 2 sites and 1 arbitrator running the real
// protocol core on the deterministic simulator's virtual time: a leader is
// elected, the automatic ticket is granted at one site, that site is killed
// (kill -9: its agent dies, its lease guard revokes the CIB grant on time), and
// the ticket moves to the other site. Prints a timeline a person can follow
// and exits 0 when the failover happened without any invariant broken.
//
// Until the real processes land (issue 3: libp2p, LevelDB, `tollbooth demo`),
// this is the project's main demonstration; it runs the same core code.
import '../../src/polyfills.js';
import { swimPresets } from '../../src/core/gossip/config.js';
import type { SimParams } from './params.js';
import { World } from './world.js';

const params: SimParams = {
  seed: 42,
  sites: 2,
  arbitrators: 1,
  timing: {
    heartbeatIntervalMs: 100,
    electionTimeoutMs: 1000,
    renewIntervalMs: 1000,
    renewRetryMs: 250,
    clockDriftPpmMax: 500,
    effectRetryMs: 200,
    siteAliveWindowMs: 3000,
  },
  swim: swimPresets.lan,
  scenario: null,
  tickets: [{ name: 'db', mode: 'automatic', leaseDurationMs: 10_000, acquireAfterMs: 1000, revokeLeadMs: 1000, weights: { site1: 10 } }],
  clockRates: [1.0002, 0.9998, 1],
  clockOffsets: [1_000_000, 2_500_000, 700_000],
  net: { delayBaseMs: 0.3, delayJitterMs: 0.2, lossRate: 0, duplicateRate: 0, tailRate: 0, tailMeanMs: 0 },
  cib: { latencyMinMs: 20, latencyMaxMs: 60, failRate: 0, guardLateRate: 0, ramp: null },
  faultClass: 'fault-free',
  faults: [],
  safetyPhaseMs: 0,
  faultEveryMs: 1,
  adminEveryMs: 1,
};

const world = new World(params);
const t0 = Date.now();
const fmt = (ms: number): string => `${(ms / 1000).toFixed(3).padStart(8)} s`;
const say = (line: string): void => {
  process.stdout.write(`${fmt(world.now)}  ${line}\n`);
};

process.stdout.write('tollbooth demo: 2 sites (site1, site2) + 1 arbitrator (arb1), ticket "db" (lease 10 s, acquire-after 1 s)\n');
process.stdout.write('virtual time; every member runs the real protocol core with its own drifting clock\n\n');

let lastLeader = '';
let lastHolders = '';
const watch = (until: number, stop?: () => boolean): void => {
  while (world.now < until) {
    world.runUntil(world.now + 10);
    const leader = world.leader()?.info.id ?? 'none';
    if (leader !== lastLeader) {
      say(`registry leader: ${leader}`);
      lastLeader = leader;
    }
    const holders = world.checker.holdersOf('db').join(', ') || 'nobody';
    if (holders !== lastHolders) {
      say(`ticket db granted in the CIB of: ${holders}`);
      lastHolders = holders;
    }
    if (stop?.()) return;
  }
};

watch(30_000, () => world.checker.holdersOf('db').length === 1);
const holderId = world.checker.holdersOf('db')[0];
const holder = world.nodes.find((n) => n.info.id === holderId);
if (holder === undefined) {
  process.stderr.write('demo: the ticket was not granted within 30 s of virtual time\n');
  process.exit(1);
}
world.runUntil(world.now + 5000);
say(`kill -9 ${holder.info.id} (the holder); its lease guard will revoke its CIB grant in time`);
const killedAt = world.now;
world.crash(holder);
watch(killedAt + 60_000, () => {
  const h = world.checker.holdersOf('db');
  return h.length === 1 && h[0] !== holder.info.id;
});
const newHolder = world.checker.holdersOf('db')[0];
const ok = newHolder !== undefined && newHolder !== holder.info.id && world.checker.violations.length === 0;
process.stdout.write('\n');
if (ok) {
  say(`failover complete: ${holder.info.id} → ${newHolder} in ${((world.now - killedAt) / 1000).toFixed(2)} s of virtual time`);
  process.stdout.write(`            guard gap between the old grant's revoke and the new grant: ${world.checker.minGuardGapMs.toFixed(0)} ms\n`);
  process.stdout.write(`            invariants checked after every event: no violation (real time taken ${Date.now() - t0} ms)\n`);
} else {
  process.stderr.write(`demo: failover did not complete cleanly: ${JSON.stringify(world.checker.violations)}\n`);
}
process.exitCode = ok ? 0 : 1;
