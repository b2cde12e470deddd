// The live test of issue 4: tollbooth feeding two REAL corosync + Pacemaker
// clusters (test/live/lab.ts). Site A has two corosync nodes, site B one; each
// runs an ocf:pacemaker:Dummy resource `svc` under `rsc_ticket ticketA
// loss-policy=stop`. node1 of each site and an arbitrator namespace share a
// WAN; a tollbooth site agent runs inside node1 of each site (its crm_ticket
// writes that cluster's live CIB over IPC, and its lease guard runs beside
// it), an arbitrator in the WAN namespace, all with their WAN addresses,
// the `lan` preset, expire 8 s and acquire-after 2 s.
//
// What is asserted comes from each cluster's own state: `crm_mon` (ticket
// granted, where svc is active and Started) polled in node1 of both sites at
// the same time, every ~50 ms between probes, and `crm_ticket -q` for booth's
// attributes. All times are this process's performance.now(). A probe reads
// the CIB at some instant inside [its start, its end], so a change lies
// between the start of the last probe that did not see it and the end of the
// first that did; "X before Y" is asserted on those bounds (X's upper bound
// before Y's lower bound), never on a single reading. Across the whole run a
// checker also asserts that the windows in which the ticket may have been
// granted (and in which svc may have been active) at the two sites never
// overlap.
//
//  1. automatic grant: ticketA is granted in exactly one CIB, with owner =
//     booth's site id of the holder, term = the registry's generation and
//     booth-cfg-name = booth; svc is Started there and nowhere at the other
//     site;
//  2. SIGTERM of the holder's agent: its lease guard revokes the grant at the
//     deadline, svc stops, and only then is the ticket granted and svc started
//     at the other site; the agent is restarted and rejoins;
//  3. the holder's WAN link is cut (nftables): the same order; after the heal
//     the cut site's agent rejoins (`tollbooth status` / `list --local` from
//     its socket) and the ticket stays where it is for a whole lease plus
//     acquire-after (no flapping back);
//  4. `kill -9` of the holder's agent: its CIB shows the ticket revoked (by the
//     lease guard, owner 0) before the other CIB shows it granted.
// The term grows with every failover. Then everything is torn down and
// nothing of the lab may be left (namespaces, processes, files). Needs root
// and the lab's Debian packages; it FAILS (never skips) without them. Waits
// are polls with deadlines; the one observation window (3) is a poll that
// checks every probe until its end.
import { rm, rmdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQueryOutput } from '../../src/adapters/crm-ticket-sink.js';
import { boothSiteId } from '../../src/config/site-id.js';
import {
  cleanupStaleLabs,
  labLeftovers,
  labRoot,
  placements,
  startCluster,
  startWan,
  ticket,
  waitFor,
  type Cluster,
  type Wan,
  type WanEndpoint,
  type WanHost,
  type WaitOptions,
} from './lab.js';
import { cmdlineOf } from './lab/ns-host.js';
import { run } from './lab/run.js';
import { LiveFormation, tollboothScript, type LiveMember, type RunningMember } from './formation.js';

const prefix = 'tbt';
const ticketName = 'ticketA';
const expireS = 8;
const acquireAfterS = 2;
/** `lan` by default; TOLLBOOTH_LIVE_PRESET=loopback to compare (see the report). */
const preset = (process.env.TOLLBOOTH_LIVE_PRESET ?? 'lan') as 'lan' | 'loopback';
const port = 9929;
/** Pause between two probes of one site (each probe is an nsenter + crm_mon). */
const probeGapMs = 50;
const startTimeoutMs = 120_000;
/** Generous: a failover takes about expire + acquire-after + Pacemaker's reaction; the machine has 2 busy cores. */
const failoverTimeoutMs = 60_000;
const joinTimeoutMs = 60_000;

const svcCib = `<configuration>
  <resources>
    <primitive id="svc" class="ocf" provider="pacemaker" type="Dummy">
      <operations><op id="svc-monitor" name="monitor" interval="5s"/></operations>
    </primitive>
  </resources>
  <constraints>
    <rsc_ticket id="svc-needs-ticketA" rsc="svc" ticket="${ticketName}" loss-policy="stop"/>
  </constraints>
</configuration>`;

// ---------------------------------------------------------------------------
// Watching a site's own state

interface Sample {
  /** performance.now() when the probe started and ended: the CIB was read at some instant in between. */
  readonly t0: number;
  readonly t1: number;
  /** null when the probe failed (unknown state). */
  readonly state: { readonly granted: boolean; readonly svcActive: readonly string[]; readonly svcStarted: readonly string[] } | null;
  readonly error: string | null;
}
type State = NonNullable<Sample['state']>;

/** A change seen by a monitor: it happened at some instant in [lo, hi]. */
interface Seen {
  readonly lo: number;
  readonly hi: number;
}

/**
 * Polls `crm_mon` in node1 of one site, one probe after another with a short
 * gap, and keeps every reading (the checker and the timing table use them).
 */
class SiteMonitor {
  readonly samples: Sample[] = [];
  private stopping = false;
  private loop: Promise<void> | null = null;

  constructor(
    readonly label: string,
    private readonly cluster: Cluster,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const t0 = performance.now();
      try {
        const s = await this.cluster.crmMon({ node: 'node1', timeoutMs: 10_000 });
        const p = placements(s, 'svc');
        this.samples.push({
          t0,
          t1: performance.now(),
          state: {
            granted: ticket(s, ticketName)?.granted ?? false,
            svcActive: p.map((x) => x.node),
            svcStarted: p.filter((x) => x.role === 'Started').map((x) => x.node),
          },
          error: null,
        });
      } catch (e) {
        this.samples.push({ t0, t1: performance.now(), state: null, error: e instanceof Error ? e.message : String(e) });
      }
      if (this.stopping) break;
      await new Promise((r) => setTimeout(r, probeGapMs));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /** The newest successful reading. */
  latest(): State | null {
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i]!.state !== null) return this.samples[i]!.state;
    return null;
  }

  /**
   * Waits until a probe that started at or after `since` sees `pred`; the
   * change lies between the start of the last earlier probe that did not see
   * it and the end of that probe.
   */
  async until(pred: (s: State) => boolean, since: number, what: string, timeoutMs = failoverTimeoutMs): Promise<Seen> {
    return await waitFor(
      () => {
        const k = this.samples.findIndex((s) => s.t0 >= since && s.state !== null && pred(s.state));
        if (k < 0) return undefined;
        let lo = Number.NEGATIVE_INFINITY;
        for (let j = k - 1; j >= 0; j--) {
          const s = this.samples[j]!;
          if (s.state !== null && !pred(s.state)) {
            lo = s.t0;
            break;
          }
        }
        return { lo, hi: this.samples[k]!.t1 };
      },
      { timeoutMs, intervalMs: 20, what: `${this.label}: ${what} (last probe: ${this.describeLast()})` },
    );
  }

  /**
   * Polls until `deadline`, failing at once if a reading breaks `invariant`.
   * An observation window, not a sleep: every probe in it is checked.
   */
  async holdsUntil(invariant: (s: State) => boolean, deadline: number, what: string): Promise<number> {
    const first = this.samples.length;
    const bad = (): string | null => {
      const s = this.samples.slice(first).find((x) => x.state !== null && !invariant(x.state));
      return s === undefined ? null : `${this.label}: ${what} broken at ${Math.round(s.t1)} ms: ${JSON.stringify(s.state)}`;
    };
    await waitUnless(() => (performance.now() >= deadline ? true : undefined), bad, {
      timeoutMs: deadline - performance.now() + 10_000,
      intervalMs: 50,
      what: `${this.label}: ${what}`,
    });
    const broken = bad();
    if (broken !== null) throw new Error(broken);
    return this.samples.slice(first).filter((s) => s.state !== null).length;
  }

  describeLast(): string {
    const s = this.samples[this.samples.length - 1];
    if (s === undefined) return 'none yet';
    return s.state === null ? `failed: ${s.error ?? ''}` : JSON.stringify(s.state);
  }
}

/**
 * Outer bounds of the intervals in which `pred` may have held at a site: a
 * maximal run of readings that saw it (or failed) is widened to the start of
 * the last reading before it that did not see it and the end of the first one
 * after it. A run still open at the end extends to +Infinity.
 */
function possibleWindows(samples: readonly Sample[], pred: (s: State) => boolean): Seen[] {
  const out: Seen[] = [];
  let lastFalse: Sample | null = null;
  let open: number | null = null;
  for (const s of samples) {
    const holds = s.state === null ? null : pred(s.state);
    if (holds === true && open === null) open = lastFalse === null ? Number.NEGATIVE_INFINITY : lastFalse.t0;
    if (holds === false) {
      if (open !== null) {
        out.push({ lo: open, hi: s.t1 });
        open = null;
      }
      lastFalse = s;
    }
  }
  if (open !== null) out.push({ lo: open, hi: Number.POSITIVE_INFINITY });
  return out;
}

function overlaps(a: readonly Seen[], b: readonly Seen[]): string[] {
  const bad: string[] = [];
  for (const x of a) for (const y of b) if (x.lo < y.hi && y.lo < x.hi) bad.push(`[${Math.round(x.lo)}, ${Math.round(x.hi)}] and [${Math.round(y.lo)}, ${Math.round(y.hi)}]`);
  return bad;
}

/**
 * waitFor, but gives up at once when `fatal` returns a reason (a member
 * process exited, an invariant broke): waitFor counts a throwing probe as
 * "not yet".
 */
async function waitUnless<T>(probe: () => Promise<T | undefined> | T | undefined, fatal: () => string | null, options: WaitOptions): Promise<T> {
  const r = await waitFor(
    async (): Promise<{ fatal: string } | { value: T } | undefined> => {
      const f = fatal();
      if (f !== null) return { fatal: f };
      const v = await probe();
      return v === undefined ? undefined : { value: v };
    },
    options,
  );
  if ('fatal' in r) throw new Error(r.fatal);
  return r.value;
}

// ---------------------------------------------------------------------------
// The formation around the two clusters

interface Site {
  readonly label: 'A' | 'B';
  readonly cluster: Cluster;
  readonly endpoint: WanEndpoint;
  readonly member: LiveMember;
  readonly monitor: SiteMonitor;
  agent: RunningMember | null;
}

interface CoreStatus {
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commit: number;
}
interface TicketRow {
  readonly name: string;
  readonly holder: string | null;
  readonly generation: number;
  readonly grantedHere: boolean | null;
}
interface Answer<T> {
  readonly ok: boolean;
  readonly answeredBy: string;
  readonly data?: T;
}

/** Timings for the report (ms), printed per scenario and at the end. */
const report: string[] = [];
const t = (x: number, base: number): string => (Number.isFinite(x) ? `${Math.round(x - base)}` : '?');
/** "hi (window lo–hi)", relative to `base`. */
const at = (s: Seen, base: number): string => `${t(s.hi, base)} (${t(s.lo, base)}–${t(s.hi, base)})`;

async function requireLab(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the live test needs root (network namespaces, mounts)');
  const missing: string[] = [];
  for (const tool of ['corosync', 'pacemakerd', 'crm_mon', 'crm_ticket', 'cibadmin', 'nft', 'nsenter', 'unshare', 'ip']) {
    if ((await run(['sh', '-c', `command -v ${tool}`])).code !== 0) missing.push(tool);
  }
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: apt-get update && apt-get install -y corosync pacemaker pacemaker-cli-utils nftables iproute2 util-linux`,
    );
  }
  const built = await readFile(tollboothScript, 'utf8').catch(() => null);
  if (built === null) throw new Error(`${tollboothScript} is missing: run npm run build (npm ci does it)`);
}

/** Host processes whose command line names `dir` (agents, lease guards, CLIs): none may outlive the test. */
async function processesNaming(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if ((await cmdlineOf(Number(entry))).some((a) => a.includes(dir))) pids.push(Number(entry));
  }
  return pids;
}

describe('tollbooth feeds two live Pacemaker clusters', () => {
  const formationDir = join(labRoot, prefix, 'formation');
  let wan: Wan | undefined;
  let arbHost: WanHost | undefined;
  let clusterA: Cluster | undefined;
  let clusterB: Cluster | undefined;
  let formation: LiveFormation;
  let arbitrator: RunningMember | null = null;
  let A: Site;
  let B: Site;
  const sites = (): Site[] => [A, B];
  const otherOf = (s: Site): Site => (s === A ? B : A);
  /** Terms seen in the CIB at each grant, in order (must grow). */
  const terms: number[] = [];
  let holder: Site;
  let testStart = 0;

  async function diagnostics(): Promise<string> {
    const parts = [];
    for (const m of formation.members) parts.push(await formation.logTail(m));
    for (const s of sites()) parts.push(`--- site ${s.label} last probe: ${s.monitor.describeLast()}`);
    return parts.join('\n');
  }

  /** Runs `body`; on failure the error carries the agents' and lease guards' log tails. */
  async function explained<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      const logs = await diagnostics().catch((le: unknown) => `(no logs: ${String(le)})`);
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${logs}`, { cause: e });
    }
  }

  /** Why a member process that should run has exited, or null. */
  function exitedReason(): string | null {
    for (const r of [arbitrator, ...sites().map((s) => s.agent)]) {
      if (r !== null && r.proc.exitCode !== null) return `${r.member.name} exited with ${r.proc.exitCode}: ${r.stderr()}`;
    }
    return null;
  }

  function startAgent(s: Site): void {
    s.agent = formation.start(s.member, (argv) => s.cluster.spawn('node1', argv));
  }

  async function status(m: LiveMember): Promise<{ code: number; data: CoreStatus | null }> {
    const r = await formation.cliJson<Answer<CoreStatus>>(m, ['status']);
    return { code: r.code, data: r.answer?.ok === true ? (r.answer.data ?? null) : null };
  }

  async function list(m: LiveMember, local = false): Promise<{ answeredBy: string; row: TicketRow } | null> {
    const r = await formation.cliJson<Answer<TicketRow[]>>(m, ['list', ...(local ? ['--local'] : [])]);
    const row = r.answer?.ok === true ? r.answer.data?.find((x) => x.name === ticketName) : undefined;
    return row === undefined ? null : { answeredBy: r.answer!.answeredBy, row };
  }

  /** The member follows a leader (status exits 0) and has the ticket committed with `holder` and at least `generation`. */
  async function waitJoined(s: Site, holderAddress: string, generation: number): Promise<{ ms: number; status: CoreStatus; local: TicketRow }> {
    const t0 = performance.now();
    const got = await waitUnless(
      async () => {
        const st = await status(s.member);
        if (st.code !== 0 || st.data === null || st.data.leader === null) return undefined;
        const l = await list(s.member, true);
        if (l === null || l.row.holder !== holderAddress || l.row.generation < generation) return undefined;
        return { status: st.data, local: l.row };
      },
      () => exitedReason(),
      { timeoutMs: joinTimeoutMs, intervalMs: 200, what: `site ${s.label}'s agent to follow a leader and see ${ticketName} held by ${holderAddress} (generation ≥ ${generation})` },
    );
    return { ms: Math.round(performance.now() - t0), ...got };
  }

  /** booth's `owner` in words: 0 (lost), -1 (revoked), or whose site id. */
  function ownerName(owner: string | undefined): string {
    const site = sites().find((s) => String(boothSiteId(s.endpoint.address)) === owner);
    return site === undefined ? String(owner) : `${owner} (site ${site.label}'s id)`;
  }

  /** The registry leader as the arbitrator sees it (for the report: a failover takes longer when the holder was the leader). */
  async function leaderName(): Promise<string> {
    const st = await status(formation.member('arb'));
    const name = formation.members.find((m) => m.address === st.data?.leader)?.name;
    return name ?? String(st.data?.leader ?? 'none');
  }

  /** booth's attributes of ticketA in a site's CIB (`crm_ticket -q`, raw). */
  async function cibTicket(s: Site): Promise<ReadonlyMap<string, string>> {
    const r = await s.cluster.exec('node1', ['crm_ticket', '-t', ticketName, '-q'], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(0);
    const [st] = parseQueryOutput(r.stdout, ticketName);
    return st!.attrs;
  }

  /** How many tickets the site's lease guard has revoked so far (its log line). */
  async function guardRevokes(s: Site): Promise<number> {
    const text = await readFile(s.member.guardLog, 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.includes('ticket revoked by the lease guard')).length;
  }

  async function logCount(m: LiveMember, msg: string): Promise<number> {
    const text = await readFile(m.log, 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
  }

  interface Failover {
    readonly revoked: Seen;
    readonly stopped: Seen;
    readonly granted: Seen;
    readonly active: Seen;
    readonly started: Seen;
  }

  /**
   * Waits for the ticket to move from `from` to `to` after `since`, and
   * asserts the order on the bounds: revoked at `from` before granted at
   * `to`, svc inactive at `from` before it is active at `to`.
   */
  async function observeFailover(from: Site, to: Site, since: number): Promise<Failover> {
    const [revoked, stopped, granted, active, started] = await Promise.all([
      from.monitor.until((s) => !s.granted, since, `${ticketName} revoked in the CIB`),
      from.monitor.until((s) => s.svcActive.length === 0, since, 'svc stopped'),
      to.monitor.until((s) => s.granted, since, `${ticketName} granted in the CIB`),
      to.monitor.until((s) => s.svcActive.length > 0, since, 'svc active'),
      to.monitor.until((s) => s.svcStarted.length === 1, since, 'svc Started'),
    ]);
    expect(revoked.hi, `site ${from.label}'s CIB revoked before site ${to.label}'s CIB granted`).toBeLessThan(granted.lo);
    expect(stopped.hi, `svc stopped at site ${from.label} before it became active at site ${to.label}`).toBeLessThan(active.lo);
    // The same without trusting that a pending start shows in crm_mon: the CIB
    // records a stop once it has finished, and Pacemaker starts nothing at `to`
    // before the grant is in `to`'s CIB.
    expect(stopped.hi, `svc stopped at site ${from.label} before site ${to.label}'s CIB granted`).toBeLessThan(granted.lo);
    // loss-policy=stop: Pacemaker stops svc only once the ticket is revoked.
    expect(stopped.hi).toBeGreaterThan(revoked.lo);
    return { revoked, stopped, granted, active, started };
  }

  /** The CIB of the new holder has booth's attributes for this grant; returns the term. */
  async function checkGrantAttrs(s: Site): Promise<number> {
    const attrs = await cibTicket(s);
    expect(attrs.get('granted')).toBe('true');
    expect(attrs.get('owner')).toBe(String(boothSiteId(s.endpoint.address)));
    expect(attrs.get('booth-cfg-name')).toBe('booth');
    const term = Number(attrs.get('term'));
    expect(Number.isSafeInteger(term) && term > 0).toBe(true);
    if (terms.length > 0) expect(term).toBeGreaterThan(terms[terms.length - 1]!);
    terms.push(term);
    return term;
  }

  function failoverTable(title: string, from: Site, to: Site, base: number, f: Failover, extra: Record<string, string> = {}): void {
    const rows: Record<string, string> = {
      [`site ${from.label} CIB revoked`]: at(f.revoked, base),
      [`site ${from.label} svc stopped`]: at(f.stopped, base),
      [`site ${to.label} CIB granted`]: at(f.granted, base),
      [`site ${to.label} svc Started`]: at(f.started, base),
      [`gap: ${from.label} revoked -> ${to.label} granted (at least)`]: `${Math.round(f.granted.lo - f.revoked.hi)}`,
      [`gap: ${from.label} svc stopped -> ${to.label} svc active (at least)`]: `${Math.round(f.active.lo - f.stopped.hi)}`,
      [`${to.label} grant -> ${to.label} svc Started (seen / at most)`]: `${Math.round(f.started.hi - f.granted.hi)} / ${Math.round(f.started.hi - f.granted.lo)}`,
      ...extra,
    };
    const text = `${title} (ms after t0; "hi (lo–hi)": the change happened inside the window)\n${Object.entries(rows)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`;
    report.push(text);
    console.log(text);
  }

  beforeAll(async () => {
    testStart = performance.now();
    await requireLab();
    await cleanupStaleLabs(prefix);
    wan = await startWan({ name: 'wan', prefix, subnet: '10.92.100' });
    const t0 = performance.now();
    const [a, b] = await Promise.allSettled([
      startCluster({ name: 'sitea', prefix, subnet: '10.92.1', nodes: 2, cib: svcCib, startTimeoutMs }),
      startCluster({ name: 'siteb', prefix, subnet: '10.92.2', nodes: 1, cib: svcCib, startTimeoutMs }),
    ]);
    if (a.status === 'fulfilled') clusterA = a.value;
    if (b.status === 'fulfilled') clusterB = b.value;
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    report.push(
      `clusters online: A (2 nodes) ${clusterA!.timings.onlineMs} ms, B (1 node) ${clusterB!.timings.onlineMs} ms, both (in parallel, svc loaded) ${Math.round(performance.now() - t0)} ms`,
    );
    const aEnd = await wan.attach(clusterA!, 'node1');
    const bEnd = await wan.attach(clusterB!, 'node1');
    arbHost = await wan.addNamespace('arb');
    formation = await LiveFormation.create({
      dir: formationDir,
      port,
      preset,
      sites: [
        { name: 'sitea', address: aEnd.address },
        { name: 'siteb', address: bEnd.address },
      ],
      arbitrators: [{ name: 'arb', address: arbHost.address }],
      tickets: [{ name: ticketName, expireS, acquireAfterS }],
    });
    A = { label: 'A', cluster: clusterA!, endpoint: aEnd, member: formation.member('sitea'), monitor: new SiteMonitor('site A', clusterA!), agent: null };
    B = { label: 'B', cluster: clusterB!, endpoint: bEnd, member: formation.member('siteb'), monitor: new SiteMonitor('site B', clusterB!), agent: null };
    for (const s of sites()) s.monitor.start();
  }, 2 * startTimeoutMs);

  afterAll(async () => {
    // Safety net for a failed run; the last test stops everything and checks it. All of it is idempotent.
    for (const s of [A, B]) await s?.monitor.stop();
    const results = await Promise.allSettled([clusterA?.stop({ graceMs: 0 }), clusterB?.stop({ graceMs: 0 }), wan?.stop()]);
    if (process.env.TOLLBOOTH_LAB_KEEP !== '1') {
      await rm(formationDir, { recursive: true, force: true });
      await rmdir(join(labRoot, prefix)).catch(() => undefined);
    }
    report.push(`whole file: ${Math.round(performance.now() - testStart)} ms`);
    console.log(`tollbooth live timings (ms), preset ${preset}, expire ${expireS} s, acquire-after ${acquireAfterS} s:\n${report.map((l) => `  ${l}`).join('\n')}`);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }, 60_000);

  it('grants ticketA automatically to exactly one site, which starts svc; the other runs nothing', async () => {
    await explained(async () => {
      // Neither cluster has the ticket or svc before any agent runs.
      for (const s of sites()) {
        const st = await s.monitor.until(() => true, performance.now(), 'a first reading', 30_000).then(() => s.monitor.latest()!);
        expect(st).toEqual({ granted: false, svcActive: [], svcStarted: [] });
      }
      const t0 = performance.now();
      arbitrator = formation.start(formation.member('arb'), (argv) => arbHost!.spawn(argv));
      for (const s of sites()) startAgent(s);
      const first = await waitUnless(
        () => sites().find((s) => s.monitor.latest()?.granted === true),
        () => exitedReason(),
        { timeoutMs: failoverTimeoutMs, intervalMs: 20, what: `${ticketName} granted at one site` },
      );
      holder = first;
      const other = otherOf(holder);
      const granted = await holder.monitor.until((s) => s.granted, t0, `${ticketName} granted`);
      const started = await holder.monitor.until((s) => s.svcStarted.length === 1, t0, 'svc Started');
      const term = await checkGrantAttrs(holder);
      // The registry agrees: holder and generation, asked through the other site's agent.
      const seen = await waitFor(async () => (await list(other.member)) ?? undefined, { timeoutMs: 30_000, what: `tollbooth list from site ${other.label}` });
      expect(seen.row).toMatchObject({ holder: holder.endpoint.address, generation: term });
      const local = await list(holder.member, true);
      expect(local?.row.grantedHere).toBe(true);
      // The other site: never granted, svc never active since the agents started.
      for (const s of other.monitor.samples.filter((x) => x.t0 >= t0 && x.state !== null)) {
        expect(s.state).toEqual({ granted: false, svcActive: [], svcStarted: [] });
      }
      expect(other.monitor.latest()).toEqual({ granted: false, svcActive: [], svcStarted: [] });
      expect(holder.monitor.latest()?.svcStarted).toHaveLength(1);
      const otherAttrs = await other.cluster.exec('node1', ['crm_ticket', '-t', ticketName, '-G', 'granted'], { timeoutMs: 15_000 });
      expect(otherAttrs.stdout.trim() === 'false' || otherAttrs.code !== 0).toBe(true);
      const text = `scenario 1, automatic grant (ms after the agents were spawned): site ${holder.label} (${holder.endpoint.address}) got ${ticketName}, term ${term}\n  CIB granted: ${at(granted, t0)}\n  svc Started: ${at(started, t0)}\n  grant -> svc Started (seen / at most): ${Math.round(started.hi - granted.hi)} / ${Math.round(started.hi - granted.lo)}`;
      report.push(text);
      console.log(text);
    });
  }, 180_000);

  it('SIGTERM of the holder\'s agent: svc stops there before it starts at the other site', async () => {
    await explained(async () => {
      const from = holder;
      const to = otherOf(from);
      const guardBefore = await guardRevokes(from);
      const stoppedBefore = await logCount(from.member, 'stopped');
      const leader = await leaderName();
      const t0 = performance.now();
      from.agent!.proc.kill('SIGTERM');
      const f = await observeFailover(from, to, t0);
      // The agent stopped cleanly, and its lease guard (not the agent) revoked the grant at the deadline.
      await waitFor(async () => (await logCount(from.member, 'stopped')) > stoppedBefore, { timeoutMs: 30_000, what: `site ${from.label}'s agent to log "stopped"` });
      expect(await guardRevokes(from)).toBe(guardBefore + 1);
      const old = await cibTicket(from);
      expect(old.get('granted')).toBe('false');
      expect(old.get('owner')).toBe('0');
      const term = await checkGrantAttrs(to);
      failoverTable(`scenario 2, SIGTERM of site ${from.label}'s agent (t0 = kill)`, from, to, t0, f, {
        [`site ${to.label} term`]: String(term),
        'registry leader at t0': leader,
        [`site ${from.label} revoked by`]: `lease guard; owner now ${ownerName(old.get('owner'))}`,
      });
      holder = to;

      // Restart the stopped agent: it rejoins and leaves the ticket where it is.
      await from.agent!.exited;
      const t1 = performance.now();
      startAgent(from);
      const joined = await waitJoined(from, to.endpoint.address, term);
      expect(from.monitor.latest()?.granted).toBe(false);
      expect(to.monitor.latest()?.granted).toBe(true);
      report.push(`scenario 2: site ${from.label}'s agent restarted and rejoined (status exit 0, list --local holder ${to.label}) after ${Math.round(performance.now() - t1)} ms`);
      expect(joined.local.generation).toBe(term);
    });
  }, 180_000);

  it('cut of the holder\'s WAN link: svc stops there before it starts at the other site; after the heal it stays put', async () => {
    await explained(async () => {
      const from = holder;
      const to = otherOf(from);
      const guardBefore = await guardRevokes(from);
      const leader = await leaderName();
      const t0 = performance.now();
      await wan!.cut(from.endpoint);
      const f = await observeFailover(from, to, t0);
      const term = await checkGrantAttrs(to);
      const old = await cibTicket(from);
      expect(old.get('granted')).toBe('false');
      const byGuard = (await guardRevokes(from)) > guardBefore;
      failoverTable(`scenario 3, WAN cut of site ${from.label} (t0 = cut)`, from, to, t0, f, {
        [`site ${to.label} term`]: String(term),
        'registry leader at t0': leader,
        // Both the agent (its lease ran out) and the lease guard revoke at the same deadline; whichever writes last sets `owner`.
        [`site ${from.label} revoked by`]: `${byGuard ? 'lease guard (logged) and/or agent' : 'its agent'}; owner now ${ownerName(old.get('owner'))}`,
      });
      holder = to;

      const healAt = performance.now();
      await wan!.heal(from.endpoint);
      const joined = await waitJoined(from, to.endpoint.address, term);
      const leaderView = await list(from.member);
      expect(leaderView?.row).toMatchObject({ holder: to.endpoint.address, generation: term });
      console.log(
        `scenario 3: tollbooth status from site ${from.label} after the heal: ${JSON.stringify(joined.status)}; list --local: ${JSON.stringify(joined.local)}; list (answered by ${leaderView?.answeredBy}): ${JSON.stringify(leaderView?.row)}`,
      );
      // No flapping back: for a whole lease plus acquire-after after the rejoin, every reading of both clusters keeps the ticket and svc at `to`.
      const until = performance.now() + (expireS + acquireAfterS) * 1000;
      const [nTo, nFrom] = await Promise.all([
        to.monitor.holdsUntil((s) => s.granted && s.svcStarted.length === 1, until, `${ticketName} granted and svc Started`),
        from.monitor.holdsUntil((s) => !s.granted && s.svcActive.length === 0, until, `${ticketName} revoked and svc stopped`),
      ]);
      const after = await list(to.member);
      expect(after?.row).toMatchObject({ holder: to.endpoint.address, generation: term });
      expect((await cibTicket(to)).get('term')).toBe(String(term));
      report.push(
        `scenario 3: heal -> site ${from.label} rejoined in ${Math.round(joined.ms)} ms (${Math.round(performance.now() - healAt)} ms to the end of the ${(expireS + acquireAfterS) * 1000} ms no-flap window; ${nTo} + ${nFrom} readings, ticket stayed at ${to.label}, term ${term})`,
      );
    });
  }, 180_000);

  it('kill -9 of the holder\'s agent: its CIB shows the ticket revoked (by the lease guard) before the other CIB shows it granted', async () => {
    await explained(async () => {
      const from = holder;
      const to = otherOf(from);
      const guardBefore = await guardRevokes(from);
      const leader = await leaderName();
      const t0 = performance.now();
      from.agent!.proc.kill('SIGKILL');
      const f = await observeFailover(from, to, t0);
      expect(await guardRevokes(from)).toBe(guardBefore + 1);
      const old = await cibTicket(from);
      expect(old.get('granted')).toBe('false');
      expect(old.get('owner')).toBe('0');
      const term = await checkGrantAttrs(to);
      failoverTable(`scenario 4, kill -9 of site ${from.label}'s agent (t0 = kill)`, from, to, t0, f, {
        [`site ${to.label} term`]: String(term),
        'registry leader at t0': leader,
        [`site ${from.label} revoked by`]: `lease guard; owner now ${ownerName(old.get('owner'))}`,
      });
      holder = to;
    });
  }, 180_000);

  it('the ticket was never granted, and svc never active, at both sites at once (whole run)', async () => {
    for (const s of sites()) await s.monitor.stop();
    const [a, b] = [A.monitor.samples, B.monitor.samples];
    expect(overlaps(possibleWindows(a, (s) => s.granted), possibleWindows(b, (s) => s.granted))).toEqual([]);
    expect(overlaps(possibleWindows(a, (s) => s.svcActive.length > 0), possibleWindows(b, (s) => s.svcActive.length > 0))).toEqual([]);
    const probes = [...a, ...b];
    const durations = probes.map((s) => s.t1 - s.t0).sort((x, y) => x - y);
    report.push(
      `probes: ${a.length} at A, ${b.length} at B (${probes.filter((s) => s.state === null).length} failed); probe duration min/median/max ${Math.round(durations[0]!)}/${Math.round(durations[Math.floor(durations.length / 2)]!)}/${Math.round(durations[durations.length - 1]!)} ms`,
    );
    expect(terms.length).toBe(4);
  });

  it('teardown removes every namespace, process and file it made', async () => {
    const t0 = performance.now();
    await Promise.all([clusterA!.stop(), clusterB!.stop()]);
    await wan!.stop();
    report.push(`teardown: ${Math.round(performance.now() - t0)} ms`);
    expect(await labLeftovers(prefix)).toEqual({ namespaces: [], processes: [] });
    expect(await processesNaming(formationDir)).toEqual([]);
    if (process.env.TOLLBOOTH_LAB_KEEP !== '1') {
      await rm(formationDir, { recursive: true, force: true });
      await rmdir(join(labRoot, prefix)).catch(() => undefined);
      expect(await readdir(join(labRoot, prefix)).catch(() => null)).toBeNull();
    }
  }, 60_000);
});
