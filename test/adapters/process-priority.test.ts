// raiseProcessPriority in real child processes: as root it raises nice and
// lowers oom_score_adj (read back from /proc by the parent, not from the
// child's own report); without the capabilities it changes nothing, says why,
// and the process goes on; it never lowers what the process already has.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';

const repo = new URL('../..', import.meta.url).pathname;
const asRoot = process.getuid?.() === 0;
/** Whether this process may lower oom_score_adj: CAP_SYS_RESOURCE (bit 24) in its effective set. Containers often lack it. */
const capSysResourceBit = 24n;
function hasEffectiveCap(bit: bigint): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return ((BigInt(`0x${hex}`) >> bit) & 1n) === 1n;
}
const capSysResource = hasEffectiveCap(capSysResourceBit);
/** The expectations below assume the children start from the defaults (nice 0, oom_score_adj 0), which `nice -n` and fork inherit. */
const fromDefaults = getPriority() === 0 && readFileSync('/proc/self/oom_score_adj', 'utf8').trim() === '0';
const childDeadlineMs = 60_000;

interface ChildResult {
  readonly report: { nice: number; oomScoreAdj: number | null; problems: string[] };
  /** Read by the parent from /proc/<pid>/ while the child waits. */
  readonly seenNice: number;
  readonly seenOom: number;
}

/** Runs raiseProcessPriority(target) in a child (optionally under `prefix`, e.g. setpriv), then inspects it from outside. */
function runChild(target: { nice: number | null; oomScoreAdj: number | null }, prefix: readonly string[] = [], startNice = 0): Promise<ChildResult> {
  const script = `
    import { raiseProcessPriority } from './src/adapters/process-priority.ts';
    const r = raiseProcessPriority(${JSON.stringify(target)});
    process.stdout.write(JSON.stringify(r) + '\\n');
    process.stdin.once('data', () => process.exit(0));
  `;
  const argv = [...prefix, 'nice', '-n', String(startNice), process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repo, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child gave no report within ${childDeadlineMs} ms`));
    }, childDeadlineMs);
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      try {
        const report = JSON.parse(out) as ChildResult['report'];
        const pid = child.pid!;
        const seenNice = getPriority(pid);
        const seenOom = Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim());
        child.stdin.write('x');
        resolve({ report, seenNice, seenOom });
      } catch (err) {
        child.kill('SIGKILL');
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    child.on('error', reject);
  });
}

describe.skipIf(!asRoot || !fromDefaults)('raiseProcessPriority', () => {
  it('as root: raises nice to the target and lowers oom_score_adj where CAP_SYS_RESOURCE allows, as seen from outside', async () => {
    const r = await runChild({ nice: -7, oomScoreAdj: -450 });
    expect(r.seenNice).toBe(-7);
    if (capSysResource) {
      expect(r.report.problems).toEqual([]);
      expect(r.seenOom).toBe(-450);
    } else {
      // This machine's root has no CAP_SYS_RESOURCE (a container): the one thing refused, said, and nothing else lost.
      expect(r.report.problems).toEqual(['cannot lower oom_score_adj to -450 (EACCES; needs root or CAP_SYS_RESOURCE): it stays at 0']);
      expect(r.seenOom).toBe(0);
    }
    expect(r.report).toMatchObject({ nice: r.seenNice, oomScoreAdj: r.seenOom });
  });

  it('never lowers a priority the process already has (a unit\'s Nice=)', async () => {
    const r = await runChild({ nice: -5, oomScoreAdj: null }, [], -12);
    expect(r.report.problems).toEqual([]);
    expect(r.seenNice).toBe(-12);
  });

  it('null leaves both alone', async () => {
    const r = await runChild({ nice: null, oomScoreAdj: null }, [], 3);
    expect(r.seenNice).toBe(3);
    expect(r.report.problems).toEqual([]);
  });

  it('without CAP_SYS_NICE and CAP_SYS_RESOURCE: changes nothing, names what and why, and goes on', async () => {
    // As root but with an empty bounding set and no capabilities: what a unit's CapabilityBoundingSet does.
    const r = await runChild({ nice: -10, oomScoreAdj: -900 }, ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--']);
    expect(r.seenNice).toBe(0);
    expect(r.seenOom).toBe(0);
    expect(r.report.problems).toHaveLength(2);
    expect(r.report.problems[0]).toMatch(/cannot raise the scheduling priority to nice -10 \(EACCES; needs root or CAP_SYS_NICE\): it stays at nice 0/);
    expect(r.report.problems[1]).toMatch(/cannot lower oom_score_adj to -900 \(EACCES; needs root or CAP_SYS_RESOURCE\): it stays at 0/);
  });
});
