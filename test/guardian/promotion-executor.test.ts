// Checks the promotion executor (src/guardian/promotion-executor.ts) against a
// fake cluster that stands in for the node helpers: it records every call,
// keeps per-node corosync.conf files, the running nodelist (changed only by a
// reload, from the driver's file), the corosync members, the remote
// resources and Pacemaker's peers, and can fail any call or run an event
// (a node dying, an abort) before any call. Checked: the exact order of the
// happy path on the lab's own corosync.conf; a failure at every single call
// stops the plan at the right step with nothing changed afterwards but the
// restore of files already written; the pre-check and the guards refuse when
// the live voters would not be a majority (S5), when D is back, when the
// running nodelist is not the plan's; inconsistent requests run nothing;
// verification times out on a fake clock; and a property over random
// cluster sizes, failure points and node deaths: a reload only ever follows
// a look at corosync that found the live voters a majority of the new
// nodelist, the new member
// starts only after the reload, and after a failure nothing but restores run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corosyncConfSha256, parseCorosyncConf, promotionNodelist, summarizeCorosyncConf } from '../../src/adapters/corosync/corosync-conf.js';
import { majority } from '../../src/core/registry/quorum.js';
import {
  checkPromotionRequest,
  executePromotion,
  type PromotionOutcome,
  type PromotionRequest,
} from '../../src/guardian/promotion-executor.js';
import type { QuorumHelpers, QuorumSnapshot } from '../../src/ports/guardian.js';
import type { AbortOptions } from '../../src/ports/ports.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'adapters', 'fixtures', 'corosync');
const labConf = readFileSync(join(fixtures, '1-healthy', 'corosync.conf'), 'utf8');

function confOf(names: readonly string[]): string {
  const nodes = names.map((n, i) => `    node {\n        name: ${n}\n        nodeid: ${i + 1}\n        ring0_addr: 10.0.0.${i + 1}\n    }\n`).join('');
  return `totem {\n    version: 2\n    transport: knet\n}\nquorum {\n    provider: corosync_votequorum\n}\nnodelist {\n${nodes}}\n`;
}

const mutating = new Set(['removeRemoteResource', 'crmNodeRemove', 'writeNodelist', 'reload', 'startClusterStack']);

/** The cluster as the helpers would see it. */
class FakeCluster implements QuorumHelpers {
  readonly calls: { action: string; node: string; arg: string }[] = [];
  readonly files = new Map<string, string>();
  running: string[];
  readonly up: Set<string>;
  readonly started = new Set<string>();
  /** Nodes whose helper cannot be reached (lost voters, nodes killed by a test). */
  readonly dead: Set<string>;
  readonly remoteResources: Set<string>;
  readonly peers: Set<string>;
  failAt = -1;
  /** Polls after startClusterStack before the new member shows up. */
  joinAfterPolls = 2;
  readonly before = new Map<number, () => void>();
  /**
   * At every reload: how many voters of the nodelist being loaded the
   * executor last saw live (its last quorumStatus), and the nodelist's size.
   * A node dying between that look and the reload is beyond its control.
   */
  readonly reloads: { live: number; voters: number }[] = [];
  #lastSeen: string[] = [];
  #pollsSinceStart = 0;

  constructor(conf: string, voters: readonly string[], up: readonly string[], remotes: readonly string[]) {
    this.running = [...voters];
    this.up = new Set(up);
    this.dead = new Set(voters.filter((v) => !up.includes(v)));
    for (const n of up) this.files.set(n, conf);
    this.remoteResources = new Set(remotes);
    this.peers = new Set([...voters, ...remotes]);
  }

  #call(action: string, node: string, arg = ''): void {
    const index = this.calls.length;
    this.before.get(index)?.();
    this.calls.push({ action, node, arg });
    if (index === this.failAt) throw new Error(`injected failure at call ${index} (${action} on ${node})`);
    if (this.dead.has(node)) throw new Error(`${node} is unreachable`);
  }

  members(): string[] {
    return this.running.filter((n) => this.up.has(n));
  }

  quorate(): boolean {
    return this.members().length >= majority(this.running.length);
  }

  quorumStatus(node: string): Promise<QuorumSnapshot> {
    this.#call('quorumStatus', node);
    for (const s of this.started) {
      if (this.running.includes(s) && ++this.#pollsSinceStart > this.joinAfterPolls) this.up.add(s);
    }
    const members = this.members();
    this.#lastSeen = members;
    return Promise.resolve({ quorate: this.quorate(), expectedVotes: this.running.length, totalVotes: members.length, members });
  }

  removeRemoteResource(node: string, resource: string): Promise<void> {
    this.#call('removeRemoteResource', node, resource);
    this.remoteResources.delete(resource);
    return Promise.resolve();
  }

  crmNodeRemove(node: string, name: string): Promise<void> {
    this.#call('crmNodeRemove', node, name);
    this.peers.delete(name);
    return Promise.resolve();
  }

  writeNodelist(node: string, w: { sha256: string; content: string; ifSha256?: string }, _o?: AbortOptions): Promise<{ changed: boolean }> {
    this.#call('writeNodelist', node, w.sha256.slice(0, 8));
    const current = this.files.get(node);
    if (w.ifSha256 !== undefined && (current === undefined || corosyncConfSha256(current) !== w.ifSha256)) throw new Error(`precondition: ${node}'s corosync.conf is not the expected one`);
    this.files.set(node, w.content);
    return Promise.resolve({ changed: current !== w.content });
  }

  reload(node: string): Promise<void> {
    this.#call('reload', node);
    const voters = summarizeCorosyncConf(parseCorosyncConf(this.files.get(node)!)).nodes.map((n) => n.name);
    this.reloads.push({ live: voters.filter((v) => this.#lastSeen.includes(v)).length, voters: voters.length });
    this.running = voters;
    return Promise.resolve();
  }

  startClusterStack(node: string): Promise<void> {
    this.#call('startClusterStack', node);
    this.started.add(node);
    this.#pollsSinceStart = 0;
    return Promise.resolve();
  }
}


interface Setup {
  cluster: FakeCluster;
  req: PromotionRequest;
}

function labSetup(): Setup {
  const nodelist = promotionNodelist(labConf, 'corosync.conf', { replace: 'node3', promote: 'remote1', addrs: new Map([[0, '10.93.0.21']]) });
  const cluster = new FakeCluster(labConf, ['node1', 'node2', 'node3'], ['node1', 'node2'], ['remote1', 'remote2']);
  return { cluster, req: { replace: 'node3', with: 'remote1', votersAfter: 3, driver: 'node1', liveMembers: ['node1', 'node2'], nodelist } };
}

async function run(s: Setup, extra: { verifyTimeoutMs?: number; signal?: AbortSignal } = {}): Promise<PromotionOutcome> {
  let t = 0;
  return executePromotion(s.req, {
    helpers: s.cluster,
    nowMs: () => t,
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
    pollIntervalMs: 500,
    verifyTimeoutMs: extra.verifyTimeoutMs ?? 60_000,
    ...(extra.signal === undefined ? {} : { signal: extra.signal }),
  });
}

const callText = (c: FakeCluster): string[] => c.calls.map((x) => `${x.action} ${x.node}${x.arg === '' ? '' : ` ${x.arg}`}`);

describe('the measured order', () => {
  it('runs every step in order on the lab\'s nodelist and ends with the planned votes', async () => {
    const s = labSetup();
    const after = s.req.nodelist.after.sha256.slice(0, 8);
    const out = await run(s);
    expect(out).toMatchObject({ ok: true, final: { quorate: true, expectedVotes: 3, totalVotes: 3, members: ['node1', 'node2', 'remote1'] } });
    expect(callText(s.cluster)).toEqual([
      'quorumStatus node1',
      'removeRemoteResource node1 remote1',
      'crmNodeRemove node1 remote1',
      'quorumStatus node1',
      `writeNodelist node1 ${after}`,
      `writeNodelist node2 ${after}`,
      `writeNodelist remote1 ${after}`,
      'quorumStatus node1',
      'reload node1',
      'quorumStatus node1',
      'quorumStatus node1',
      'startClusterStack remote1',
      'quorumStatus node1',
      'quorumStatus node1',
      'quorumStatus node1',
      'crmNodeRemove node1 node3',
    ]);
    expect(out.steps.map((x) => `${x.step}@${x.node}`)).toEqual([
      'quorum-check@node1',
      'remove-remote-resource@node1',
      'purge-remote@node1',
      'quorum-check@node1',
      'write-nodelist@node1',
      'write-nodelist@node2',
      'write-nodelist@remote1',
      'quorum-check@node1',
      'reload@node1',
      'quorum-check@node1',
      'quorum-check@node1',
      'start-cluster-stack@remote1',
      'verify@node1',
      'purge-lost@node1',
    ]);
    if (out.ok) expect(out.warnings).toEqual([]);
    expect([...s.cluster.files.values()].every((f) => f === s.req.nodelist.after.text)).toBe(true);
    expect(s.cluster.running).toEqual(['node1', 'node2', 'remote1']);
    expect([...s.cluster.peers].sort()).toEqual(['node1', 'node2', 'remote2']);
    expect([...s.cluster.remoteResources]).toEqual(['remote2']);
  });

  const stepAt = ['pre-check', 'remove-remote-resource', 'purge-remote', 'write-nodelist', 'write-nodelist', 'write-nodelist', 'write-nodelist', 'reload', 'reload', 'reload', 'start-cluster-stack', 'start-cluster-stack'];
  it.each(stepAt.map((step, k) => [k, step]))('a failure at call %i stops the plan in step %s and changes nothing after it', async (k, step) => {
    const s = labSetup();
    s.cluster.failAt = k;
    const out = await run(s);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.failedStep).toBe(step);
    expect(out.code).toBe('STEP_FAILED');
    expect(out.reason).toMatch(`injected failure at call ${k}`);
    const later = s.cluster.calls.slice((k) + 1);
    // Only restores of files already written and one last look at quorum.
    expect(later.filter((c) => mutating.has(c.action) && !(c.action === 'writeNodelist' && c.arg === s.req.nodelist.before.sha256.slice(0, 8)))).toEqual([]);
    expect(s.cluster.quorate()).toBe(true);
    expect(out.after).toMatchObject({ quorate: true });
    if (step === 'write-nodelist') {
      const written = k === 4 ? [] : k === 5 ? ['node1'] : k === 6 ? ['node1', 'node2'] : [];
      expect(out.restored).toEqual(written.map((node) => ({ node, ok: true })));
      for (const n of ['node1', 'node2']) expect(s.cluster.files.get(n)).toBe(labConf);
      expect(s.cluster.running).toEqual(['node1', 'node2', 'node3']);
    }
  });

  it('a failure while verifying is retried until the new member shows up', async () => {
    const s = labSetup();
    s.cluster.failAt = 13;
    expect(await run(s)).toMatchObject({ ok: true, warnings: [] });
  });

  it('a failed final purge of the lost voter leaves the promotion done, with a warning', async () => {
    const s = labSetup();
    s.cluster.failAt = 15;
    const out = await run(s);
    expect(out).toMatchObject({ ok: true, final: { expectedVotes: 3, totalVotes: 3 } });
    if (out.ok) expect(out.warnings).toEqual([expect.stringMatching(/node3 could not be purged from Pacemaker .*run crm_node --force --remove node3/)]);
    expect(s.cluster.peers.has('node3')).toBe(true);
  });

  it('purges stale peers after the lost voter, and refuses to purge a voter that way', async () => {
    const s = labSetup();
    s.cluster.peers.add('old9');
    const out = await run({ ...s, req: { ...s.req, alsoPurge: ['old9'] } });
    expect(out).toMatchObject({ ok: true, warnings: [] });
    expect(callText(s.cluster).slice(-2)).toEqual(['crmNodeRemove node1 node3', 'crmNodeRemove node1 old9']);
    expect(checkPromotionRequest({ ...s.req, alsoPurge: ['node2'] })).toEqual(['node2 cannot be purged as a stale peer: it is a voter or the promoted node']);
  });

  it('verify also waits for Pacemaker to list the new member online, when the helper can tell', async () => {
    const s = labSetup();
    let polls = 0;
    const corosyncOnly = s.cluster.quorumStatus.bind(s.cluster);
    s.cluster.quorumStatus = async (node: string) => {
      const q = await corosyncOnly(node);
      // Pacemaker lags corosync by four polls once R is a corosync member.
      if (q.members.includes('remote1')) polls++;
      return { ...q, pacemakerOnline: polls > 4 ? q.members : q.members.filter((m) => m !== 'remote1') };
    };
    const out = await run(s);
    expect(out).toMatchObject({ ok: true });
    expect(polls).toBe(5);
  });
});

describe('S5 and the cluster matching the plan', () => {
  it('refuses at the pre-check when the partition is not quorate', async () => {
    const s = labSetup();
    s.cluster.up.delete('node2');
    s.cluster.dead.add('node2');
    const out = await run(s);
    expect(out).toMatchObject({ ok: false, failedStep: 'pre-check', code: 'UNSAFE' });
    if (!out.ok) expect(out.reason).toMatch(/not quorate.*1 live voters would not be a majority of 3.*live member node2 is no longer a corosync member/);
    expect(s.cluster.calls.filter((c) => mutating.has(c.action))).toEqual([]);
  });

  it('refuses when the lost voter is back, or the running nodelist is not the plan\'s', async () => {
    const back = labSetup();
    back.cluster.up.add('node3');
    back.cluster.dead.delete('node3');
    expect(await run(back)).toMatchObject({ ok: false, failedStep: 'pre-check', code: 'UNSAFE', reason: expect.stringMatching(/node3 is a corosync member again/) as unknown });
    const grown = labSetup();
    grown.cluster.running = ['node1', 'node2', 'node3', 'node4'];
    grown.cluster.up.add('node4');
    expect(await run(grown)).toMatchObject({ ok: false, failedStep: 'pre-check', code: 'UNSAFE', reason: expect.stringMatching(/corosync expects 4 votes/) as unknown });
    for (const s of [back, grown]) expect(s.cluster.calls.filter((c) => mutating.has(c.action))).toEqual([]);
  });

  it('stops before writing when a live voter dies after the remote node was removed', async () => {
    const s = labSetup();
    s.cluster.before.set(3, () => {
      s.cluster.up.delete('node2');
      s.cluster.dead.add('node2');
    });
    const out = await run(s);
    expect(out).toMatchObject({ ok: false, failedStep: 'write-nodelist', code: 'UNSAFE' });
    expect(s.cluster.calls.filter((c) => c.action === 'writeNodelist' || c.action === 'reload')).toEqual([]);
  });

  it('restores the files already written when a member\'s file is not the one the plan was made from', async () => {
    const s = labSetup();
    s.cluster.files.set('node2', `${labConf}# edited by hand\n`);
    const out = await run(s);
    expect(out).toMatchObject({ ok: false, failedStep: 'write-nodelist', node: 'node2', restored: [{ node: 'node1', ok: true }] });
    expect(s.cluster.files.get('node1')).toBe(labConf);
    expect(s.cluster.calls.filter((c) => c.action === 'reload')).toEqual([]);
  });

  it('reports a timeout when the new member never joins, still quorate', async () => {
    const s = labSetup();
    s.cluster.joinAfterPolls = Number.POSITIVE_INFINITY;
    const out = await run(s, { verifyTimeoutMs: 10_000 });
    expect(out).toMatchObject({ ok: false, failedStep: 'verify', code: 'VERIFY_TIMEOUT', after: { quorate: true, expectedVotes: 3, totalVotes: 2 } });
    if (!out.ok) expect(out.reason).toMatch(/remote1 did not join with 3 expected and 3 total votes within 10000 ms; last seen: quorate true, expected 3, total 2/);
  });

  it('stops at once when aborted', async () => {
    const s = labSetup();
    const ac = new AbortController();
    s.cluster.before.set(2, () => ac.abort());
    const out = await run(s, { signal: ac.signal });
    expect(out).toMatchObject({ ok: false, code: 'ABORTED', failedStep: 'write-nodelist' });
    expect(s.cluster.calls.map((c) => c.action)).toEqual(['quorumStatus', 'removeRemoteResource', 'crmNodeRemove']);
  });
});

describe('requests that contradict themselves run nothing', () => {
  const base = labSetup().req;
  const other = promotionNodelist(labConf, 'corosync.conf', { replace: 'node2', promote: 'remote1', addrs: new Map([[0, '10.93.0.21']]) });
  it.each([
    ['a new nodelist that drops another voter', { ...base, nodelist: { ...base.nodelist, after: other.after } }, /is not the current one minus node3 plus remote1/],
    ['too few live voters for the new nodelist', { ...base, liveMembers: ['node1'] }, /1 live voters are not a majority of 3/],
    ['a driver that is not live', { ...base, driver: 'node3' }, /driver node3 is not a live member/],
    ['the lost voter listed as live', { ...base, liveMembers: ['node1', 'node2', 'node3'] }, /node3 is listed as live/],
    ['a promoted node already a voter', { ...base, with: 'node2' }, /node2 is already in the current nodelist/],
    ['a wrong voter count', { ...base, votersAfter: 5 }, /votersAfter is 5/],
  ])('%s', async (_, req, reason) => {
    expect(checkPromotionRequest(req).join('; ')).toMatch(reason);
    const s = { ...labSetup(), req };
    const out = await run(s);
    expect(out).toMatchObject({ ok: false, failedStep: 'pre-check', code: 'PLAN_INVALID' });
    expect(s.cluster.calls).toEqual([]);
  });
});

describe('property: over cluster sizes, failures and deaths', () => {
  it('reloads only after seeing the live voters a majority of the new nodelist; starts R only after a reload; after a failure only restores', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 7 }),
        fc.integer({ min: 0, max: 30 }),
        fc.option(fc.record({ at: fc.integer({ min: 0, max: 20 }), who: fc.nat() }), { nil: undefined }),
        fc.nat(),
        async (size, failAt, death, lostPick) => {
          const voters = Array.from({ length: size }, (_, i) => `n${i + 1}`);
          // Lose up to (size-1)/2 voters but keep the live ones a majority of the same-size nodelist.
          const lostCount = 1 + (lostPick % Math.max(1, Math.floor((size - 1) / 2)));
          const lost = voters.slice(size - lostCount);
          const live = voters.filter((v) => !lost.includes(v));
          const conf = confOf(voters);
          const nodelist = promotionNodelist(conf, 'c', { replace: lost[0]!, promote: 'r1', addrs: new Map([[0, '10.9.9.9']]) });
          const cluster = new FakeCluster(conf, voters, live, ['r1']);
          cluster.failAt = failAt;
          if (death !== undefined) {
            cluster.before.set(death.at, () => {
              const victim = live[death.who % live.length]!;
              cluster.up.delete(victim);
              cluster.dead.add(victim);
            });
          }
          const req: PromotionRequest = { replace: lost[0]!, with: 'r1', votersAfter: size, driver: live[0]!, liveMembers: live, nodelist };
          const out = await run({ cluster, req });
          for (const r of cluster.reloads) expect(r.live).toBeGreaterThanOrEqual(majority(r.voters));
          const start = cluster.calls.findIndex((c) => c.action === 'startClusterStack');
          const reload = cluster.calls.findIndex((c) => c.action === 'reload');
          if (start >= 0) expect(reload).toBeGreaterThanOrEqual(0);
          if (start >= 0) expect(start).toBeGreaterThan(reload);
          if (!out.ok && out.code !== 'PLAN_INVALID') {
            const failed = cluster.calls.findIndex((_, i) => i === failAt);
            const cut = failed >= 0 ? failed : cluster.calls.length;
            const restoresOnly = cluster.calls.slice(cut + 1).filter((c) => mutating.has(c.action) && !(c.action === 'writeNodelist' && c.arg === nodelist.before.sha256.slice(0, 8)));
            if (out.code === 'STEP_FAILED' && out.reason.includes('injected failure')) expect(restoresOnly).toEqual([]);
          }
          if (out.ok) {
            expect(cluster.running).toEqual(nodelist.after.voters);
            expect(out.final).toMatchObject({ quorate: true, expectedVotes: size, totalVotes: live.length + 1 });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
