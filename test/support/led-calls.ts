// Admin requests that need a registry leader, for tests of real formations
// (LoopbackFormation). A formation on a loaded machine loses its leader for a
// moment now and then — an election is the protocol doing its job, and a
// request that meets one is refused as not-leader or no-leader, having changed
// nothing; a request forwarded to a leader that fell silent is answered
// 'timeout' after forwardTimeoutMs. A test that means "the formation answers"
// waits that out: it asks again, within a deadline — a read after any of
// those answers, a command only after the first two (an answer of any other
// kind goes back to the test as it is: a command that timed out may have
// been carried out, and must not be sent twice). The socket waits longer than
// the member's own forward timeout, so that the member's answer, not the
// client's impatience, ends a try.
import type { LoopbackFormation, LoopbackMember } from '../../src/cli/loopback-formation.js';
import { exitNoLeader } from '../../src/cli/admin-client.js';
import { forwardTimeoutMs, type AdminRequest, type AdminResponse } from '../../src/runtime/admin-service.js';

/** How long a test waits for a formation to have a leader again, generous for a loaded machine. */
export const leaderWaitMsMax = 30_000;
/**
 * How long a test waits for a formation of real members to reach a state (a
 * leader all follow, a grant written): seconds on an idle machine, far more
 * when the members share two busy cores with other tests.
 */
export const formationWaitMs = 60_000;
/** One try's wait on the admin socket: the member's forward timeout and then some. */
const socketWaitMs = forwardTimeoutMs + 10_000;
/** Pause between two tries, in ms. */
const retryPauseMs = 100;
/** Requests that change nothing: safe to send again whatever became of the first. */
const readOps: ReadonlySet<AdminRequest['op']> = new Set(['list', 'status', 'history', 'attr-get', 'peers', 'fingerprint', 'resources', 'quorum', 'config-show']);

/** Answers that say "no leader answered this now", after which `req` may be sent again. */
export function worthRetrying(req: AdminRequest, r: AdminResponse): boolean {
  if (r.ok) return false;
  if (r.code === 'not-leader' || r.code === 'no-leader') return true;
  return r.code === 'timeout' && readOps.has(req.op);
}

/** Sends `req` to `m` until a leader answers it (see the opening comment), within deadlineMs. */
export async function callLed(f: LoopbackFormation, m: LoopbackMember, req: AdminRequest, deadlineMs = leaderWaitMsMax): Promise<AdminResponse> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const r = await f.call(m, req, socketWaitMs);
    if (!worthRetrying(req, r) || performance.now() >= end) return r;
    await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
  }
}

/**
 * Runs a CLI command until it ends other than with the no-leader exit code
 * (3), within deadlineMs. For reads and `status` only: exit 3 also stands for
 * a command whose outcome is unknown, which must not be sent twice.
 */
export async function runLed<T extends { readonly code: number }>(run: () => Promise<T>, deadlineMs = leaderWaitMsMax): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const r = await run();
    if (r.code !== exitNoLeader || performance.now() >= end) return r;
    await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
  }
}
