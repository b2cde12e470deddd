// The loopback formation's `booth` timing (bench/idle.ts measures a booth.conf's own timers with it):
// no `tollbooth-preset` line, so the timers derive from the tickets' booth keys, as for any booth.conf.
import { describe, expect, it } from 'vitest';
import { LoopbackFormation } from '../../src/cli/loopback-formation.js';
import { loadConfigFile, requireValidConfig } from '../../src/config/index.js';

async function timingOf(o: Parameters<typeof LoopbackFormation.create>[0]) {
  const f = await LoopbackFormation.create(o);
  try {
    return requireValidConfig(loadConfigFile(f.configPath)).timing;
  } finally {
    await f.stop();
  }
}

describe('loopback formation timing', () => {
  it('derives the timers from booth keys with preset booth (booth defaults: expire 600 s, timeout 5 s)', async () => {
    const t = await timingOf({ sites: 2, arbitrators: 1, preset: 'booth', tickets: [{ name: 'a', expireS: 600, timeoutMs: 5_000 }] });
    expect(t).toMatchObject({ name: 'booth', electionTimeoutMs: 5_000, heartbeatIntervalMs: 500, renewIntervalMs: 5_000 });
  });

  it('keeps the named preset otherwise', async () => {
    const t = await timingOf({ sites: 2, arbitrators: 1, preset: 'lan', tickets: [{ name: 'a', expireS: 30 }] });
    expect(t).toMatchObject({ name: 'lan', electionTimeoutMs: 1_000, heartbeatIntervalMs: 100 });
  });
});
