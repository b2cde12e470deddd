// The observation e2e tests (test/e2e/observe.test.ts, status-page.test.ts):
// every member of a loopback formation started with `--http` on a free port
// of its own address.
import { freePort, type LoopbackFormation } from '../../src/cli/loopback-formation.js';

/** Starts each member with `--http ADDRESS:PORT`; `ports` gets each member's port by address. */
export async function startWithHttp(f: LoopbackFormation, ports: Map<string, number>): Promise<void> {
  for (const m of f.members) {
    const port = await freePort([m.address]);
    ports.set(m.address, port);
    f.start(m, ['--http', `${m.address}:${port}`]);
  }
}
