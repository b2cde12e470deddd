// An emulated WAN between the members of a bench formation: round-trip time,
// jitter and loss, each member in its own network namespace.
//
// This kernel has no sch_netem (`tc qdisc ... netem` → "Specified qdisc kind
// is unknown"), so the delay is made in user space, per packet:
//
//   member i (netns PREFIX-mI)          router (netns PREFIX-r)
//     wan0 10.77.I.2/24 ── veth ── mI 10.77.I.1/24
//                                    every packet in on an mI → table 100 →
//                                    TUN device dly0 → bench/wan/delay-line.py
//                                    holds it delay ± jitter (or drops it: loss)
//                                    and writes it back into dly0 → main table
//                                    → mJ → member j
//
// Every packet between two members crosses the delay line once, so the
// round trip is 2 × delay (± 2 × jitter) and each direction loses `loss` —
// what netem on the two ends of a link would do. TCP sees the real round
// trip (a relay that terminates connections would hide it from TCP's
// retransmission timer). Source addresses are kept: members see each
// other's real addresses, as over a routed WAN.
//
// cut(i) isolates member i (nftables in the router's forward chain drops
// everything to and from its address: established connections stall, as
// when a site's uplink dies); heal(i) undoes it. stop() kills the delay line
// and deletes the namespaces; a process exit handler does the same if the
// bench dies first.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, run } from '../test/live/lab/run.js';

export interface WanProfile {
  /** Round-trip time between any two members, ms (the delay line holds each packet half of it). */
  readonly rttMs: number;
  /** Jitter of each one-way delay, ± ms, uniform (kept in order per address pair). */
  readonly jitterMs: number;
  /** Packets lost in each direction, percent. */
  readonly lossPct: number;
}

export interface DelayLineStats {
  readonly seen: number;
  readonly dropped: number;
  readonly overflow: number;
  readonly sent: number;
  readonly notIpv4: number;
  /** Worst lateness of a release on the delay line's own clock, ms (a loaded host shows here). */
  readonly lateMsMax: number;
  readonly held: number;
}

const delayLineScript = join(dirname(fileURLToPath(import.meta.url)), 'wan', 'delay-line.py');
/** Debian's python3 (crmsh needs it, so every host with the Pacemaker tools has it). */
const python = '/usr/bin/python3';
const tunName = 'dly0';
const delayTable = '100';
const nftTable = 'tollbooth_wan';
const membersMax = 200;
const readyDeadlineMs = 15_000;
const statsDeadlineMs = 10_000;

export class WanNet {
  readonly addresses: readonly string[];
  readonly routerNetns: string;
  #delayLine: ChildProcess | null = null;
  #lines: AsyncIterator<string> | null = null;
  readonly #cut = new Set<number>();
  #stopped = false;
  readonly #onExit = (): void => this.#removeSync();

  private constructor(
    readonly prefix: string,
    readonly members: number,
    readonly profile: WanProfile,
    private readonly seed: number,
  ) {
    this.routerNetns = `${prefix}-r`;
    this.addresses = Array.from({ length: members }, (_, i) => `10.77.${i + 1}.2`);
  }

  /** The network namespace of member i (0-based). */
  netnsOf(i: number): string {
    return `${this.prefix}-m${i + 1}`;
  }

  /** argv prefix that runs a program inside member i's namespace. */
  wrap(i: number): string[] {
    return ['ip', 'netns', 'exec', this.netnsOf(i)];
  }

  /**
   * Builds the namespaces and starts the delay line. `prefix` names the namespaces (unique per
   * process by default); `seed` seeds the delay line's jitter and loss draws.
   */
  static async start(members: number, profile: WanProfile, o: { prefix?: string; seed?: number } = {}): Promise<WanNet> {
    const prefix = o.prefix ?? `tbwan${process.pid}`;
    if (!Number.isSafeInteger(members) || members < 2 || members > membersMax) throw new Error(`WanNet: members must be an integer in 2..${membersMax}, not ${members}`);
    checkProfile(profile);
    if (process.getuid?.() !== 0) throw new Error('WanNet: needs root (network namespaces, a TUN device, nftables)');
    const w = new WanNet(prefix, members, profile, o.seed ?? process.pid);
    process.on('exit', w.#onExit);
    try {
      await w.#build();
    } catch (err) {
      await w.stop();
      throw err;
    }
    return w;
  }

  async #build(): Promise<void> {
    const r = this.routerNetns;
    await addNetns(r);
    for (const [key, value] of [
      ['net.ipv4.ip_forward', '1'],
      // Packets come back out of dly0 with sources that route via the mI links: no reverse-path check.
      ['net.ipv4.conf.all.rp_filter', '0'],
      ['net.ipv4.conf.default.rp_filter', '0'],
      // The router forwards, it does not advise the members of shorter paths.
      ['net.ipv4.conf.all.send_redirects', '0'],
      ['net.ipv4.conf.default.send_redirects', '0'],
    ] as const) {
      await must(['ip', 'netns', 'exec', r, 'sysctl', '-q', '-w', `${key}=${value}`]);
    }
    for (let i = 0; i < this.members; i++) {
      const ns = this.netnsOf(i);
      await addNetns(ns);
      const link = `m${i + 1}`;
      await must(['ip', '-n', r, 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'wan0', 'netns', ns]);
      await must(['ip', '-n', r, 'addr', 'add', `10.77.${i + 1}.1/24`, 'dev', link]);
      await must(['ip', '-n', r, 'link', 'set', link, 'up']);
      await must(['ip', '-n', ns, 'addr', 'add', `${this.addresses[i]!}/24`, 'dev', 'wan0']);
      await must(['ip', '-n', ns, 'link', 'set', 'wan0', 'up']);
      await must(['ip', '-n', ns, 'route', 'add', 'default', 'via', `10.77.${i + 1}.1`]);
      await must(['ip', '-n', r, 'rule', 'add', 'iif', link, 'lookup', delayTable, 'pref', '100']);
    }
    await this.#startDelayLine();
    await must(['ip', 'netns', 'exec', r, 'sysctl', '-q', '-w', `net.ipv4.conf.${tunName}.rp_filter=0`]);
    await must(['ip', '-n', r, 'link', 'set', tunName, 'up']);
    await must(['ip', '-n', r, 'route', 'add', 'default', 'dev', tunName, 'table', delayTable]);
    await this.#applyCuts();
  }

  async #startDelayLine(): Promise<void> {
    const p = this.profile;
    const argv = [
      'ip', 'netns', 'exec', this.routerNetns, python, delayLineScript,
      '--tun', tunName, '--delay-ms', String(p.rttMs / 2), '--jitter-ms', String(p.jitterMs), '--loss-pct', String(p.lossPct),
      '--seed', String(this.seed),
    ];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#delayLine = child;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 10_000) stderr += d;
    });
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await this.#nextLine('the delay line to start', readyDeadlineMs, () => stderr);
    const ready = JSON.parse(first) as { ready?: boolean };
    if (ready.ready !== true) throw new Error(`delay line: unexpected first line ${first}`);
  }

  async #nextLine(what: string, deadlineMs: number, stderr: () => string = () => ''): Promise<string> {
    const lines = this.#lines;
    if (lines === null) throw new Error('WanNet: the delay line is not running');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)), deadlineMs);
    });
    try {
      const r = await Promise.race([lines.next(), late]);
      if (r.done === true) throw new Error(`delay line exited while waiting for ${what}: ${stderr().trim()}`);
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The delay line's counters (packets seen, dropped for loss, sent on, worst lateness). */
  async stats(): Promise<DelayLineStats> {
    this.#delayLine?.stdin?.write('stats\n');
    return JSON.parse(await this.#nextLine('the delay line stats', statsDeadlineMs)) as DelayLineStats;
  }

  /** Isolates member i from every other: its WAN is cut (both directions, established connections too). */
  async cut(i: number): Promise<void> {
    this.#cut.add(i);
    await this.#applyCuts();
  }

  async heal(i?: number): Promise<void> {
    if (i === undefined) this.#cut.clear();
    else this.#cut.delete(i);
    await this.#applyCuts();
  }

  async #applyCuts(): Promise<void> {
    const addresses = [...this.#cut].map((i) => this.addresses[i]!);
    let script = `table inet ${nftTable}\ndelete table inet ${nftTable}\n`;
    if (addresses.length > 0) {
      const set = `{ ${addresses.join(', ')} }`;
      script += `table inet ${nftTable} {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    ip saddr ${set} drop\n    ip daddr ${set} drop\n  }\n}\n`;
    }
    await must(['ip', 'netns', 'exec', this.routerNetns, 'nft', '-f', '-'], { input: script });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const child = this.#delayLine;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    for (const ns of [this.routerNetns, ...Array.from({ length: this.members }, (_, i) => this.netnsOf(i))]) {
      const r = await run(['ip', 'netns', 'del', ns]);
      if (r.code !== 0 && !/No such file|Cannot remove/.test(r.stderr)) throw new Error(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
    process.off('exit', this.#onExit);
  }

  /** The exit handler's clean-up: synchronous, best effort (the process is going away). */
  #removeSync(): void {
    if (this.#stopped) return;
    this.#delayLine?.kill('SIGKILL');
    for (const ns of [this.routerNetns, ...Array.from({ length: this.members }, (_, i) => this.netnsOf(i))]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // Already gone, or never made: either way there is nothing left to remove.
      }
    }
  }
}

function checkProfile(p: WanProfile): void {
  const ok = (v: number, lo: number, hi: number): boolean => Number.isFinite(v) && v >= lo && v <= hi;
  if (!ok(p.rttMs, 0, 10_000)) throw new Error(`WAN profile: rttMs must be in 0..10000, not ${p.rttMs}`);
  if (!ok(p.jitterMs, 0, p.rttMs / 2)) throw new Error(`WAN profile: jitterMs must be in 0..rttMs/2 (${p.rttMs / 2}), not ${p.jitterMs}`);
  if (!ok(p.lossPct, 0, 50)) throw new Error(`WAN profile: lossPct must be in 0..50, not ${p.lossPct}`);
}

async function addNetns(netns: string): Promise<void> {
  await must(['ip', 'netns', 'add', netns]);
  await must(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
}
