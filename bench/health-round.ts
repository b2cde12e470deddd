// The cost of one health round of a real site agent (the crm_ticket sink with
// its default quorum and runnability checks, src/runtime/site-health.ts), on
// a copy of test/adapters/fixtures/cib-tickets.xml through CIB_file: a full
// round (cibadmin -Q for the version, crm_mon for quorum, then cibadmin -Q,
// crm_ticket on a private copy and crm_simulate for each ticket that
// rsc_ticket constraints name) against a kept round (the CIB's root element
// alone, which is all a round reads while the CIB does not change). CPU is
// this process's own plus that of the tools it waited for (/proc/self/stat
// cutime + cstime), per round.

import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { readCibVersion, readClusterState } from '../src/adapters/pacemaker/cluster-state.js';
import { RunnabilityChecker } from '../src/adapters/pacemaker/runnability.js';
import { timingPresets } from '../src/config/presets.js';
import { nowMs } from './clock.js';
import { repoRoot } from './harness.js';
import { clockTicks } from './proc-stats.js';

export interface RoundFigures {
  readonly rounds: number;
  /** CPU of this process and its children per round, ms. */
  readonly cpuMsPerRound: number;
  readonly wallMsPerRound: number;
}

export interface HealthRoundResult {
  readonly full: RoundFigures;
  readonly kept: RoundFigures;
  /** % of one core a site agent spends on health rounds, per preset (a round every renewIntervalMs), all rounds full vs all kept. */
  readonly corePctByPreset: Record<string, { full: number; kept: number }>;
}

async function childrenCpuS(): Promise<number> {
  const text = await readFile('/proc/self/stat', 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 (cutime, cstime): CPU of waited-for children.
  return (Number(rest[13]) + Number(rest[14])) / (await clockTicks());
}

async function measure(rounds: number, round: () => Promise<void>): Promise<RoundFigures> {
  await round(); // warm-up: the first spawn of each tool reads it from disk
  const cpu0 = process.cpuUsage();
  const children0 = await childrenCpuS();
  const wall0 = nowMs();
  for (let i = 0; i < rounds; i++) await round();
  const wallMs = nowMs() - wall0;
  const own = process.cpuUsage(cpu0);
  const childrenMs = 1000 * ((await childrenCpuS()) - children0);
  const cpuMs = (own.user + own.system) / 1000 + childrenMs;
  return { rounds, cpuMsPerRound: Math.round((10 * cpuMs) / rounds) / 10, wallMsPerRound: Math.round((10 * wallMs) / rounds) / 10 };
}

export async function measureHealthRound(rounds: number): Promise<HealthRoundResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-health-'));
  try {
    const cib = join(dir, 'cib.xml');
    await copyFile(join(repoRoot, 'test', 'adapters', 'fixtures', 'cib-tickets.xml'), cib);
    const env = { CIB_file: cib };
    const checker = new RunnabilityChecker({ env, tmpDir: dir });
    const full = await measure(rounds, async () => {
      await readCibVersion({ env });
      await readClusterState({ env });
      await checker.checkAll(['ticketA']);
    });
    const kept = await measure(rounds, async () => {
      await readCibVersion({ env });
    });
    const corePctByPreset: Record<string, { full: number; kept: number }> = {};
    for (const [name, p] of Object.entries(timingPresets)) {
      const pct = (ms: number): number => Math.round((1000 * ms) / p.renewIntervalMs) / 10;
      corePctByPreset[name] = { full: pct(full.cpuMsPerRound), kept: pct(kept.cpuMsPerRound) };
    }
    return { full, kept, corePctByPreset };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
