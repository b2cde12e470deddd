// Process figures from /proc (Linux): resident memory (VmRSS in
// /proc/<pid>/status) and CPU time (utime + stime in /proc/<pid>/stat, in
// clock ticks of `getconf CLK_TCK`).

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

let clockTicksPerS: number | null = null;

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every common Linux). */
export async function clockTicks(): Promise<number> {
  if (clockTicksPerS !== null) return clockTicksPerS;
  try {
    const { stdout } = await execFileP('getconf', ['CLK_TCK'], { timeout: 5000 });
    const n = Number(stdout.trim());
    clockTicksPerS = Number.isSafeInteger(n) && n > 0 ? n : 100;
  } catch {
    // getconf missing: USER_HZ is 100 on Linux for every architecture that matters here.
    clockTicksPerS = 100;
  }
  return clockTicksPerS;
}

/** CPU time (user + system) the process has used so far, in seconds. */
export async function cpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return (utime + stime) / (await clockTicks());
}

/** Resident set size in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** The machine's load average over one minute (context for noisy figures). */
export async function loadAverage1m(): Promise<number> {
  const text = await readFile('/proc/loadavg', 'utf8');
  return Number(text.split(' ')[0]);
}
