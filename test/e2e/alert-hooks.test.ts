// Alert hooks on a real formation (issue 13, item 2): two site agents and an
// arbitrator spawned on 127.0.0.1–3 with `tollbooth-alert-handler` naming a
// directory of real shell scripts and `tollbooth-alert-timeout = 5000ms`.
// 10-record appends the hook's TOLLBOOTH_* environment and the time it ran
// to a file per member; 20-hang sleeps (with a background child) while a
// marker file exists; 30-fail always exits 1. The test waits for the first
// grant and for a failover (the holder killed with SIGKILL) and checks the
// lines the survivors' hooks wrote against the registry's view: event,
// ticket, site, previous holder, generation, index, reporting member,
// timestamp. The latency from each event's timestamp to its hook running is
// printed. Then the hang is switched on: every run of 20-hang is killed at
// its deadline with its child and counted (status --json and /metrics),
// while admin commands (standby, activate, revoke, grant) go through at
// their usual speed and the formation keeps serving. Every wait is an event
// with a deadline.
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LoopbackFormation, memberReadyMsMax, until, type LoopbackMember } from '../../src/cli/loopback-formation.js';
import { callLed, formationWaitMs } from '../support/led-calls.js';

const tsxCommand = [process.execPath, '--import', 'tsx', 'bin/tollbooth.ts'];
const leaseS = 4;
/**
 * The hooks' deadline. Long enough that a record hook (a shell, date, env, grep
 * and sort) finishes within it on a loaded machine, and that four admin
 * commands which waited for hanging hooks (at least this each) stand well
 * apart from four that do not (a few Raft commits, seconds under load).
 */
const alertTimeoutMs = 5_000;
/** Budget of the one test: a dozen waits for the formation and the hooks, each far shorter when the machine is idle. */
const hooksTestMs = 8 * 60_000;

type HookLine = Record<string, string>;

/** The lines a member's record hook wrote: one object per run, TOLLBOOTH_* plus RAN_MS. */
async function hookLines(outDir: string, member: string): Promise<HookLine[]> {
  let text: string;
  try {
    text = await readFile(join(outDir, `${member}.env`), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  // Records are separated by a line `--`; each variable on its own line (values never hold newlines here).
  // The hook appends a record in several writes (the environment, then RAN_MS, then ARGS): a record read
  // between them is still being written and is left out until its ARGS line, its last, is there (a read
  // in between once gave a failover record without RAN_MS: CI dry run beside stress-ng, 2026-12-07).
  return text
    .split('\n--\n')
    .filter((r) => r.trim() !== '')
    .map((r): HookLine => Object.fromEntries(r.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])))
    .filter((r) => r['ARGS'] !== undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('alert hooks of a real formation', () => {
  let f: LoopbackFormation;
  let hooksDir = '';
  let outDir = '';
  let hangMarker = '';
  let arbitratorHttp = 0;
  let root = '';

  beforeAll(async () => {
    // Root-owned, mode 0755 (mkdtemp's 0700, widened): the handler checks refuse what others could change.
    root = await mkdtemp(join(tmpdir(), 'tollbooth-alert-e2e-'));
    hooksDir = join(root, 'hooks.d');
    outDir = join(root, 'hook-out');
    hangMarker = join(root, 'hang');
    await mkdir(hooksDir, { mode: 0o755 });
    await mkdir(outDir, { mode: 0o755 });
    await chmod(root, 0o755);
    const record = join(hooksDir, '10-record');
    await writeFile(record, `#!/bin/sh\n# Appends this run's TOLLBOOTH_* variables and the time it ran (epoch ms).\nset -eu\nran=$(date +%s%3N)\n{ env | grep '^TOLLBOOTH_' | sort; echo "RAN_MS=$ran"; echo "ARGS=$*"; echo --; } >> ${outDir}/"$TOLLBOOTH_MEMBER".env\n`);
    await writeFile(join(hooksDir, '20-hang'), `#!/bin/sh\n# While the marker exists: a child that outlives any deadline, its pid noted, then wait.\nif [ -e ${hangMarker} ]; then sleep 600 & echo $! >> ${outDir}/hang-children; wait; fi\n`);
    await writeFile(join(hooksDir, '30-fail'), '#!/bin/sh\necho "30-fail: always fails" >&2\nexit 1\n');
    for (const p of await readdir(hooksDir)) await chmod(join(hooksDir, p), 0o755);
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command: tsxCommand,
      tickets: [{ name: 'auto', expireS: leaseS, acquireAfterS: 0 }],
      extraConfig: [`tollbooth-alert-handler = ${hooksDir} --from-test`, `tollbooth-alert-timeout = ${alertTimeoutMs}ms`],
    });
    const arbitrator = f.members.find((m) => m.kind === 'arbitrator')!;
    arbitratorHttp = await freePort([arbitrator.address]);
    for (const m of f.members) f.start(m, m === arbitrator ? ['--http', `${m.address}:${arbitratorHttp}`] : []);
    await Promise.all(f.members.map((m) => f.waitReady(m)));
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    await f?.stop(process.env['TOLLBOOTH_KEEP'] === '1');
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  const status = async (m: LoopbackMember): Promise<Record<string, unknown>> => {
    const r = await f.call(m, { op: 'status' });
    expect(r.ok).toBe(true);
    return r.data as Record<string, unknown>;
  };

  it('runs the hook on a grant and a failover with the right variables, kills a hanging one at its deadline, and never slows the formation', async () => {
    const latencies: Array<{ event: string; member: string; ms: number }> = [];
    const holder = await until('the ticket to be granted at one site', 90_000, async () => {
      const at = await f.grantedAt('auto');
      return at.length === 1 ? at[0]! : null;
    });
    const other = f.sites.find((s) => s !== holder)!;
    const arbitrator = f.members.find((m) => m.kind === 'arbitrator')!;
    const view = (await f.localTicket(arbitrator, 'auto'))!;

    // The first grant, as every member's hook saw it.
    for (const m of f.members) {
      const grant = await until(`${m.address}'s hook to record the grant`, formationWaitMs, async () => (await hookLines(outDir, m.address)).find((l) => l.TOLLBOOTH_EVENT === 'grant' && l.TOLLBOOTH_TICKET === 'auto') ?? null, 100);
      expect(grant).toMatchObject({
        TOLLBOOTH_SITE: holder.address,
        TOLLBOOTH_PREVIOUS: '',
        TOLLBOOTH_GENERATION: String(view.generation),
        TOLLBOOTH_MEMBER: m.address,
        TOLLBOOTH_PEER: '',
        ARGS: '--from-test',
      });
      expect(grant.TOLLBOOTH_INDEX).toMatch(/^\d+$/);
      expect(grant.TOLLBOOTH_TIMESTAMP).toBe(new Date(Number(grant.TOLLBOOTH_TIMESTAMP_EPOCH_MS)).toISOString());
      expect(grant.TOLLBOOTH_TIMESTAMP).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      latencies.push({ event: 'grant', member: m.address, ms: Number(grant.RAN_MS) - Number(grant.TOLLBOOTH_TIMESTAMP_EPOCH_MS) });
    }

    // The failover: the survivors' hooks name the new holder, the old one and the next generation.
    await f.kill(holder, 'SIGKILL');
    for (const m of [other, arbitrator]) {
      const failover = await until(`${m.address}'s hook to record the failover`, formationWaitMs, async () => (await hookLines(outDir, m.address)).find((l) => l.TOLLBOOTH_EVENT === 'failover') ?? null, 100);
      expect(failover).toMatchObject({
        TOLLBOOTH_TICKET: 'auto',
        TOLLBOOTH_SITE: other.address,
        TOLLBOOTH_PREVIOUS: holder.address,
        TOLLBOOTH_GENERATION: String(view.generation + 1),
        TOLLBOOTH_REASON: 'auto failover',
        TOLLBOOTH_MEMBER: m.address,
      });
      latencies.push({ event: 'failover', member: m.address, ms: Number(failover.RAN_MS) - Number(failover.TOLLBOOTH_TIMESTAMP_EPOCH_MS) });
      const lines = await hookLines(outDir, m.address);
      // One member's runs see its events in order: seq only grows.
      const seqs = lines.map((l) => Number(l.TOLLBOOTH_SEQ));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(lines.some((l) => (l.TOLLBOOTH_EVENT === 'member-suspect' || l.TOLLBOOTH_EVENT === 'member-dead') && l.TOLLBOOTH_PEER === holder.address)).toBe(true);
    }
    for (const l of latencies) expect(l.ms, `${l.event} at ${l.member}`).toBeGreaterThanOrEqual(0);
    const sorted = latencies.map((l) => l.ms).sort((a, b) => a - b);
    console.log(`alert hook latency, event timestamp to hook running (ms): ${latencies.map((l) => `${l.event}@${l.member} ${l.ms}`).join(', ')}; min ${sorted[0]} median ${sorted[Math.floor(sorted.length / 2)]} max ${sorted[sorted.length - 1]}`);

    // 30-fail fails every run: counted, and the formation kept working regardless.
    const st = await status(other);
    expect(st.alertHandler).toMatchObject({ program: hooksDir, args: ['--from-test'], timeoutMs: alertTimeoutMs });
    const runs0 = (st.alertHandler as { runs: Record<string, number> }).runs;
    expect(runs0.exit).toBeGreaterThanOrEqual(2);
    expect(runs0.ok).toBeGreaterThanOrEqual(4);

    // Hooks hang from now on: each run of 20-hang is killed at its deadline (with its child).
    await writeFile(hangMarker, '');
    const timeoutsBefore = runs0.timeout ?? 0;
    const t0 = performance.now();
    for (const req of [{ op: 'standby', ticket: 'auto' }, { op: 'activate', ticket: 'auto' }, { op: 'revoke', ticket: 'auto' }, { op: 'grant', ticket: 'auto', site: other.address }] as const) {
      const r = await callLed(f, other, req);
      expect(r.ok, `${req.op}: ${JSON.stringify(r)}`).toBe(true);
    }
    const adminMs = performance.now() - t0;
    // Four admin commands while every hook run hangs to its deadline: they do not wait for hooks.
    expect(adminMs).toBeLessThan(4 * alertTimeoutMs);
    await until('the ticket to be granted at the survivor again', formationWaitMs, async () => ((await f.grantedAt('auto')).map((m) => m.address).join() === other.address ? true : null), 100);
    const counted = await until('a hanging run to be counted as timeout', formationWaitMs, async () => {
      const a = (await status(other)).alertHandler as { runs: Record<string, number> };
      return (a.runs.timeout ?? 0) > timeoutsBefore ? a : null;
    }, 200);
    expect(counted.runs.timeout).toBeGreaterThan(timeoutsBefore);
    const metrics = await until('the arbitrator\'s /metrics to count a timeout', formationWaitMs, async () => {
      const text = await (await fetch(`http://${arbitrator.address}:${arbitratorHttp}/metrics`)).text();
      return /^tollbooth_alert_handler_runs_total\{result="timeout"\} [1-9]/m.test(text) ? text : null;
    }, 200);
    expect(metrics).toMatch(/^tollbooth_alert_handler_runs_total\{result="exit"\} [1-9]/m);
    expect(metrics).toMatch(/^tollbooth_alert_handler_runs_total\{result="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^tollbooth_alert_handler_events_dropped_total 0$/m);
    // The hanging scripts' children died with their process groups.
    const children = (await readFile(join(outDir, 'hang-children'), 'utf8')).split('\n').filter((l) => l !== '').map(Number);
    expect(children.length).toBeGreaterThan(0);
    await rm(hangMarker);
    const last = children[children.length - 1]!;
    await until('the killed hook\'s children to be gone', formationWaitMs, () => Promise.resolve(children.filter((p) => p !== last).every((p) => !alive(p)) ? true : null), 100);
    // Still serving: the survivor holds the ticket and answers at once.
    const v = await f.localTicket(other, 'auto');
    expect(v?.holder).toBe(other.address);
    // No hook process outlives its deadline by much: the log names the kills.
    const log = await readFile(other.log, 'utf8');
    expect(log).toContain('"msg":"alert handler failed"');
    expect(log).toMatch(new RegExp(`did not finish within ${alertTimeoutMs} ms; its process group was killed`));
  }, hooksTestMs);
});
