// CLI start-up cost (issue 15, item 3): `tollbooth --help`, `list`, `status`
// and `grant` of the compiled CLI against a running loopback formation (2
// sites + 1 arbitrator, lan preset, the same helpers as the other sections), each against
// `node -e 0` measured in the same run, interleaved, so that the machine's
// load at the time weighs on both alike. Each run is one process under GNU
// time (`/usr/bin/time -f`): wall time on the bench's monotonic clock around
// the whole spawn, user + system CPU and maximum RSS from time's report (its
// CPU figures have a resolution of 10 ms). Figures are medians of N runs;
// the ratio is median over median. Without /usr/bin/time, CPU and RSS are
// null and only wall time is measured.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nowMs } from './clock.js';
import { agreedLeader, cliCommand, type Bench } from './harness.js';
import { median, round } from './stats.js';

const gnuTime = '/usr/bin/time';
/** A CLI run that takes longer than this is stuck (the formation is up and idle). */
const runDeadlineMs = 60_000;

export interface RunFigures {
  readonly wallMs: number;
  readonly cpuMs: number | null;
  readonly maxRssMiB: number | null;
}

export interface CommandFigures {
  readonly argv: string;
  readonly runs: number;
  readonly wallMs: { readonly p50: number; readonly min: number; readonly max: number };
  readonly cpuMs: number | null;
  readonly maxRssMiB: number | null;
  /** Median wall time over `node -e 0`'s median wall time in the same run. */
  readonly wallRatio: number;
  readonly cpuRatio: number | null;
}

export interface CliStartupResult {
  readonly baseline: Omit<CommandFigures, 'wallRatio' | 'cpuRatio'>;
  readonly commands: Record<string, CommandFigures>;
  readonly runs: number;
  readonly timeTool: boolean;
}

async function timed(argv: readonly string[], okCodes: readonly number[]): Promise<RunFigures> {
  const useTime = existsSync(gnuTime);
  const [cmd, ...args] = useTime ? [gnuTime, '-f', '@@time %e %U %S %M', ...argv] : argv;
  const t0 = nowMs();
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: runDeadlineMs });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const wallMs = nowMs() - t0;
  if (code === null || !okCodes.includes(code)) throw new Error(`${argv.join(' ')} exited with ${code ?? 'a signal'}: ${err.trim().slice(-400)}`);
  if (!useTime) return { wallMs, cpuMs: null, maxRssMiB: null };
  const m = /@@time (\S+) (\S+) (\S+) (\d+)/.exec(err);
  if (m === null) throw new Error(`no figures from ${gnuTime}: ${err.trim().slice(-200)}`);
  return { wallMs, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, maxRssMiB: Number(m[4]) / 1024 };
}

function summarizeRuns(argv: string, runs: readonly RunFigures[]): Omit<CommandFigures, 'wallRatio' | 'cpuRatio'> {
  const walls = runs.map((r) => r.wallMs);
  const cpu = runs.every((r) => r.cpuMs !== null) ? median(runs.map((r) => r.cpuMs!)) : null;
  const rss = runs.every((r) => r.maxRssMiB !== null) ? median(runs.map((r) => r.maxRssMiB!)) : null;
  return {
    argv,
    runs: runs.length,
    wallMs: { p50: round(median(walls)), min: round(Math.min(...walls)), max: round(Math.max(...walls)) },
    cpuMs: cpu === null ? null : round(cpu, 0),
    maxRssMiB: rss === null ? null : round(rss),
  };
}

export async function measureCliStartup(b: Bench, runs: number): Promise<CliStartupResult> {
  // lan timings: the loopback preset's 500 ms election timeout loses its leader on a loaded machine, and a
  // `list` then answers "no leader" (exit 3); the CLI's own cost does not depend on the preset.
  const f = await b.formation({ sites: 2, arbitrators: 1, preset: 'lan', tickets: [{ name: 'bench-cli', expireS: 10, acquireAfterS: 0, mode: 'manual' }] });
  try {
    await f.startAll();
    const leader = await b.waitFor('an agreed registry leader', 30_000, () => agreedLeader(f), 20);
    const site = f.sites[0]!;
    b.say(`CLI start-up: formation up (leader ${leader.address}); ${runs} runs of each command against ${site.address}, interleaved with node -e 0`);
    const sock = ['--socket', site.socket];
    // Exit codes a healthy formation gives: 0 each. The ticket is revoked (not timed) after each grant.
    const commands: Record<string, { argv: string[]; ok: number[] }> = {
      help: { argv: ['--help'], ok: [0] },
      list: { argv: ['list', ...sock], ok: [0] },
      status: { argv: ['status', ...sock], ok: [0] },
      grant: { argv: ['grant', 'bench-cli', '--site', site.address, ...sock], ok: [0] },
    };
    const baseline: RunFigures[] = [];
    const samples: Record<string, RunFigures[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
      b.checkAborted();
      // Each round starts with a leader (a loaded machine can cost one between rounds): a CLI run measures the CLI.
      await b.waitFor('an agreed registry leader', 30_000, () => agreedLeader(f), 20);
      baseline.push(await timed([process.execPath, '-e', '0'], [0]));
      for (const [name, c] of Object.entries(commands)) samples[name]!.push(await timed([...cliCommand, ...c.argv], c.ok));
      const r = await f.call(site, { op: 'revoke', ticket: 'bench-cli' }, 30_000);
      if (!r.ok) throw new Error(`revoke after grant ${i + 1}: ${r.code ?? ''} ${r.message}`);
    }
    const base = summarizeRuns('node -e 0', baseline);
    const out: Record<string, CommandFigures> = {};
    for (const [name, c] of Object.entries(commands)) {
      const s = summarizeRuns(`tollbooth ${c.argv.join(' ')}`, samples[name]!);
      out[name] = {
        ...s,
        wallRatio: round(s.wallMs.p50 / base.wallMs.p50, 2),
        cpuRatio: s.cpuMs === null || base.cpuMs === null || base.cpuMs === 0 ? null : round(s.cpuMs / base.cpuMs, 2),
      };
      b.say(
        `  ${name.padEnd(6)} wall p50 ${s.wallMs.p50} ms (${s.wallMs.min}–${s.wallMs.max}), ×${out[name].wallRatio} node -e 0; ` +
          `CPU ${s.cpuMs ?? '?'} ms (×${out[name].cpuRatio ?? '?'}); max RSS ${s.maxRssMiB ?? '?'} MiB`,
      );
    }
    b.say(`  node -e 0: wall p50 ${base.wallMs.p50} ms (${base.wallMs.min}–${base.wallMs.max}); CPU ${base.cpuMs ?? '?'} ms; max RSS ${base.maxRssMiB ?? '?'} MiB`);
    return { baseline: base, commands: out, runs, timeTool: existsSync(gnuTime) };
  } finally {
    await b.release(f);
  }
}
