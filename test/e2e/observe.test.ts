// Prometheus metrics of a real formation (issue 13): two site agents and an
// arbitrator spawned on 127.0.0.1–3, each with `--http ADDRESS:PORT`. The
// test scrapes /metrics from every member, checks the text with Debian's
// `promtool check metrics`, reads a ticket's holder from the info-style gauge,
// kills the holder with SIGKILL and waits until the survivors' metrics show
// the new holder, a higher generation and a counted failover. A real
// Prometheus server (Debian's `prometheus`, started here on 127.0.0.1 with a
// temporary config and store) scrapes the same members; its HTTP API is
// asked for the holder before and after the failover. Two `tollbooth watch`
// processes (JSON on the arbitrator, text on the surviving site) run across
// the failover and must print it, and stop with exit 0 on SIGINT. A bad --http
// value is refused at start-up with exit 78, naming the value. Every wait is
// an event with a deadline.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import { formationWaitMs } from '../support/led-calls.js';
import { startWithHttp } from '../support/http-members.js';

const tsxCommand = [process.execPath, '--import', 'tsx', 'bin/tollbooth.ts'];
const leaseS = 4;
/** Budget of the failover test: a dozen waits for the formation, Prometheus and two CLI processes, each far shorter when the machine is idle. */
const failoverTestMs = 10 * 60_000;

/** Runs promtool with `input` on stdin; resolves with its exit code and output. */
function promtool(args: readonly string[], input: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const p = execFile('promtool', [...args], (err, stdout, stderr) => {
      if (err !== null && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new Error(`promtool could not run: ${err.message}`));
        return;
      }
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), output: stdout + stderr });
    });
    p.stdin?.end(input);
  });
}

/** One sample line's value: `name{labels} value`, labels matched as a substring. */
function sample(text: string, name: string, labels = ''): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

function holderOf(text: string, ticket: string): string | null {
  const m = new RegExp(`^tollbooth_ticket_holder_info\\{ticket="${ticket}",holder="([^"]*)"\\} 1$`, 'm').exec(text);
  return m === null ? null : m[1]!;
}

/** A running `tollbooth watch`: its output so far, and a way to wait for a line. */
interface Watcher {
  readonly proc: ChildProcess;
  out: string;
  err: string;
}

function startWatch(socket: string, json: boolean): Watcher {
  const [exe, ...pre] = tsxCommand;
  const proc = spawn(exe!, [...pre, 'watch', '--socket', socket, ...(json ? ['--json'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Watcher = { proc, out: '', err: '' };
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (w.out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (w.err += d));
  return w;
}

describe('metrics and events of a real formation', () => {
  let f: LoopbackFormation;
  const http = new Map<string, number>();
  let prom: ChildProcess | null = null;
  let promDir = '';
  let promPort = 0;

  const scrape = async (m: LoopbackMember): Promise<string> => {
    const res = await fetch(`http://${m.address}:${http.get(m.address)!}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  beforeAll(async () => {
    f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, command: tsxCommand, tickets: [{ name: 'auto', expireS: leaseS, acquireAfterS: 0 }] });
    await startWithHttp(f, http);
    await Promise.all(f.members.map((m) => f.waitReady(m)));
    promDir = await mkdtemp(join(tmpdir(), 'tollbooth-prom-'));
    promPort = await freePort(['127.0.0.1']);
    const targets = f.members.map((m) => `'${m.address}:${http.get(m.address)!}'`).join(', ');
    await writeFile(
      join(promDir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: tollbooth\n    static_configs:\n      - targets: [${targets}]\n`,
    );
    prom = spawn('prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    await until('prometheus to be ready', 60_000, async () => ((await fetch(`http://127.0.0.1:${promPort}/-/ready`)).ok ? true : null), 200);
  }, memberReadyMsMax + 90_000);

  afterAll(async () => {
    if (prom !== null && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    if (promDir !== '') await rm(promDir, { recursive: true, force: true });
    await f.stop();
  });

  /** The holders Prometheus reports for the ticket right now, one per scraped member. */
  const promHolders = async (): Promise<string[]> => {
    const q = encodeURIComponent('tollbooth_ticket_holder_info{ticket="auto"}');
    const body = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`)).json()) as { status: string; data: { result: Array<{ metric: Record<string, string> }> } };
    expect(body.status).toBe('success');
    return body.data.result.map((r) => r.metric.holder ?? '').sort();
  };

  it('serves the metric set on every member, accepted by promtool, and follows a failover', async () => {
    const holder = await until('the ticket to be granted at one site', 90_000, async () => {
      const at = await f.grantedAt('auto');
      return at.length === 1 ? at[0]! : null;
    });
    const other = f.sites.find((s) => s !== holder)!;
    const arbitrator = f.members.find((m) => m.kind === 'arbitrator')!;

    // Every member reports the same holder; the holder's sink has it granted, the other's not.
    for (const m of f.members) {
      // Gossip settles after the registry: wait until this member sees both others alive and reached directly.
      const text = await until(`${m.address}'s metrics to show the holder, and both peers alive on a direct route`, formationWaitMs, async () => {
        const t = await scrape(m);
        const settled = f.members.filter((p) => p !== m).every((p) => sample(t, 'tollbooth_peer_state', `peer="${p.address}",state="alive"`) === 1 && sample(t, 'tollbooth_peer_route_info', `peer="${p.address}",route="direct"`) === 1);
        // A link that carries frames is pinged once in link-monitor.ts's busyPingEveryPeriods: its RTT comes within ~10 s.
        const rtt = sample(t, 'tollbooth_peer_rtt_seconds');
        return holderOf(t, 'auto') === holder.address && settled && typeof rtt === 'number' && rtt > 0 ? t : null;
      }, 200);
      const check = await promtool(['check', 'metrics'], text);
      expect(check.output, `promtool check metrics on ${m.address}:\n${check.output}`).toBe('');
      expect(check.code).toBe(0);
      for (const name of [
        'tollbooth_member_info',
        'tollbooth_ticket_generation',
        'tollbooth_ticket_lease_duration_seconds',
        'tollbooth_ticket_standby',
        'tollbooth_registry_term',
        'tollbooth_registry_commit_index',
        'tollbooth_registry_leader_changes_total',
        'tollbooth_peer_frames_sent_total',
        'tollbooth_peer_frames_received_total',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_seconds',
      ]) {
        expect(sample(text, name), `${name} on ${m.address}`).not.toBeNull();
      }
      expect(sample(text, 'tollbooth_registry_role', 'role="leader"')).not.toBeNull();
      expect(sample(text, 'tollbooth_peer_state', 'state="alive"')).toBe(1);
      expect(sample(text, 'tollbooth_peer_route_info', 'route="direct"')).toBe(1);
      expect(sample(text, 'tollbooth_peer_rtt_seconds')).toBeGreaterThan(0);
    }
    // On a loaded host the CIB write may trail the registry: wait for it.
    const before = await until('the holder\'s sink to have the ticket granted', formationWaitMs, async () => {
      const t = await scrape(holder);
      return sample(t, 'tollbooth_ticket_granted_here', 'ticket="auto"') === 1 ? t : null;
    }, 200);
    expect(sample(before, 'tollbooth_ticket_lease_remaining_seconds', 'ticket="auto"')).toBeGreaterThan(0);
    expect(sample(before, 'tollbooth_cib_writes_total', 'kind="grant",result="ok"')).toBeGreaterThanOrEqual(1);
    // Every timed grant write lands in the histogram's +Inf bucket; its sum is the time they took.
    expect(sample(before, 'tollbooth_cib_write_duration_seconds_bucket', 'le="+Inf",kind="grant"')).toBeGreaterThanOrEqual(1);
    expect(sample(before, 'tollbooth_cib_write_duration_seconds_sum', 'kind="grant"')).toBeGreaterThan(0);
    expect(sample(await scrape(other), 'tollbooth_ticket_granted_here', 'ticket="auto"')).toBe(0);
    // Arbitrators hold nothing (S3): no granted_here series there.
    expect(sample(await scrape(arbitrator), 'tollbooth_ticket_granted_here')).toBeNull();
    const generationBefore = sample(before, 'tollbooth_ticket_generation', 'ticket="auto"')!;

    // Prometheus itself scraped every member and reads the same holder.
    await until('prometheus to report the holder from all three members', formationWaitMs, async () => {
      const h = await promHolders();
      return h.length === 3 && h.every((x) => x === holder.address) ? true : null;
    }, 250);

    const jsonWatch = startWatch(arbitrator.socket, true);
    const textWatch = startWatch(other.socket, false);
    for (const w of [jsonWatch, textWatch]) await until('tollbooth watch to subscribe', memberReadyMsMax, () => Promise.resolve(w.err.includes('watching ') ? true : null), 100);

    await f.kill(holder, 'SIGKILL');
    const after = await until('the survivor\'s metrics to show it holding the ticket', formationWaitMs, async () => {
      const t = await scrape(other);
      return holderOf(t, 'auto') === other.address && sample(t, 'tollbooth_ticket_granted_here', 'ticket="auto"') === 1 ? t : null;
    }, 200);
    expect(sample(after, 'tollbooth_ticket_generation', 'ticket="auto"')).toBeGreaterThan(generationBefore);
    expect(sample(after, 'tollbooth_events_total', 'event="failover"')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'tollbooth_ticket_last_change_timestamp_seconds', 'ticket="auto"')).toBeGreaterThan(Date.now() / 1000 - 120);
    const arb = await until('the arbitrator to see the holder dead or suspect', formationWaitMs, async () => {
      const t = await scrape(arbitrator);
      return sample(t, 'tollbooth_peer_state', `peer="${holder.address}",state="alive"`) === 0 ? t : null;
    }, 200);
    expect(holderOf(arb, 'auto')).toBe(other.address);
    expect((await promtool(['check', 'metrics'], after)).code).toBe(0);

    // Both watchers printed the failover and the holder's fall, one line per event.
    const failover = await until('the JSON watcher to print the failover', formationWaitMs, () => {
      const lines = jsonWatch.out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      return Promise.resolve(lines.find((e) => e.event === 'failover' && e.ticket === 'auto') ?? null);
    }, 100);
    expect(failover).toMatchObject({ member: arbitrator.address, site: other.address, previous: holder.address });
    expect(failover.generation).toBeGreaterThan(generationBefore);
    await until('the JSON watcher to print the holder suspect or dead', formationWaitMs, () => Promise.resolve(jsonWatch.out.includes(`"event":"member-suspect","peer":"${holder.address}"`) || jsonWatch.out.includes(`"event":"member-dead","peer":"${holder.address}"`) ? true : null), 100);
    await until('the text watcher to print the failover', formationWaitMs, () => Promise.resolve(new RegExp(`^\\S+ ${other.address.replaceAll('.', '\\.')} failover ticket=auto site=${other.address.replaceAll('.', '\\.')} previous=${holder.address.replaceAll('.', '\\.')} `, 'm').test(textWatch.out) ? true : null), 100);
    for (const w of [jsonWatch, textWatch]) {
      const exited = new Promise<number | null>((r) => w.proc.once('exit', (code) => r(code)));
      w.proc.kill('SIGINT');
      expect(await exited, w.err).toBe(0);
    }

    // Prometheus: the dead member's series go stale; the two survivors report the new holder.
    await until('prometheus to report the new holder', formationWaitMs, async () => {
      const h = await promHolders();
      return h.length === 2 && h.every((x) => x === other.address) ? true : null;
    }, 250);
  }, failoverTestMs);

  it('refuses a bad --http value at start-up, naming it (exit 78)', async () => {
    const [exe, ...pre] = tsxCommand;
    const m = f.sites[0]!;
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(exe!, [...pre, 'site-agent', '-c', f.configPath, '--self', m.address, '-k', m.key, '--state-dir', join(f.root, 'bad-http'), '--socket', join(f.root, 'bad-http.sock'), '--ticket-sink', 'file', '--http', 'localhost:99999'], (err, _out, stderr) => {
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stderr });
      });
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('--http "localhost:99999"');
  }, memberReadyMsMax);
});
