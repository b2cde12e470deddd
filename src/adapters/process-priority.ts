// Scheduling priority and OOM protection for the processes that keep the
// protocol's promises (issue 12, item 6): the member (renewals, heartbeats,
// its own revokes) and the lease guard (revokes at deadlines). Under CPU
// starvation a process at the default priority shares the run queue with
// every hog on the machine; its timers fire late, renewals stall and the
// guard revokes grants at sites that still reach a majority. booth answers
// the same problem with SCHED_RR at the highest priority and
// oom_score_adj = -999 (shared/reference/booth.md). We take a raised nice
// value instead of a real-time policy: a Node process has helper threads
// (GC, libuv's pool) that a real-time policy would put above the kernel's own
// work, and a bug that spins would take the whole CPU. A nice of -10 gives the
// process about nine times the CPU share of a nice-0 hog (CFS weights 9548
// against 1024) and wakes it ahead of them.
//
// Best effort: raising needs CAP_SYS_NICE (and CAP_SYS_RESOURCE to lower
// oom_score_adj). Without them the process runs as it was started and says
// why; nothing here can stop a member from starting. A value the process
// already has, or a better one (a systemd unit's Nice=, OOMScoreAdjust=), is
// kept: this only ever raises.

import { getPriority, setPriority } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';

/** The default nice value of members and lease guards (`--nice`). */
export const memberNiceDefault = -10;
/** The default oom_score_adj (`--oom-score-adj`): the kernel's OOM killer picks almost anything else first. */
export const memberOomScoreAdjDefault = -900;

const oomScoreAdjPath = '/proc/self/oom_score_adj';

export interface PriorityTarget {
  /** The nice value to raise to (lower is more CPU); null leaves it alone. */
  readonly nice: number | null;
  /** The oom_score_adj to lower to; null leaves it alone. */
  readonly oomScoreAdj: number | null;
}

export interface PriorityOutcome {
  /** The nice value the process runs with afterwards. */
  readonly nice: number;
  /** The oom_score_adj afterwards; null where /proc has none. */
  readonly oomScoreAdj: number | null;
  /** What could not be raised, and why: one sentence each, for a warning log line. */
  readonly problems: readonly string[];
}

function readOomScoreAdj(): number | null {
  try {
    const n = Number(readFileSync(oomScoreAdjPath, 'utf8').trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    // No /proc (not Linux, or a sandbox without it): nothing to read or set.
    return null;
  }
}

/** The errno name of a failed call (os.setPriority throws a SystemError whose errno sits in `info`). */
function errnoOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { info?: { code?: string } };
  return e.info?.code ?? e.code ?? e.message;
}

/** Raises this process's scheduling priority and OOM protection towards `target`; never lowers them. */
export function raiseProcessPriority(target: PriorityTarget): PriorityOutcome {
  const problems: string[] = [];
  let nice = getPriority();
  if (target.nice !== null && target.nice < nice) {
    try {
      setPriority(target.nice);
      nice = getPriority();
    } catch (err) {
      problems.push(`cannot raise the scheduling priority to nice ${target.nice} (${errnoOf(err)}; needs root or CAP_SYS_NICE): it stays at nice ${nice}, and under CPU load protocol timers may run late`);
    }
  }
  let oom = readOomScoreAdj();
  if (target.oomScoreAdj !== null && oom !== null && target.oomScoreAdj < oom) {
    try {
      writeFileSync(oomScoreAdjPath, String(target.oomScoreAdj));
      oom = readOomScoreAdj();
    } catch (err) {
      problems.push(`cannot lower oom_score_adj to ${target.oomScoreAdj} (${errnoOf(err)}; needs root or CAP_SYS_RESOURCE): it stays at ${oom}`);
    }
  }
  return { nice, oomScoreAdj: oom, problems };
}
