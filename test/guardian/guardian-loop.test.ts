// The guardian loop of the site agent (src/guardian/guardian-loop.ts)
// on cluster states recorded in the lab (test/adapters/fixtures/corosync/,
// 3 core + 2 remote nodes), with the real MembershipTracker, policy,
// promotionNodelist and executor, and fake node helpers that keep just
// enough state to answer quorum-status. The clock is a number the test
// moves. Checked: no action within the grace period (the decision says
// grace-not-over), the promotion after it — the request built from the local
// corosync.conf (node3 out, remote1 in with a fresh nodeid), driven from the
// local node, the helper calls in the measured order — and the status
// afterwards (loss times, decision, outcome); with auto = no the plan is only
// reported, and logged once, not every round; without quorum nothing
// happens however long a voter is lost; one promotion at a time (a round
// during a running one sees a change in progress); a failed promotion blocks
// the next for retry-after; a request that cannot be built (corosync.conf on
// disk not the running nodelist, a live voter without a helper) runs no
// helper at all; an observation that fails leaves no decision; stop() waits
// for a running promotion.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { promotionNodelist } from '../../src/adapters/corosync/corosync-conf.js';
import {
  MembershipTracker,
  parseCmapNodelist,
  parseCrmMonXml,
  parseCrmNodeList,
  parseQuorumtoolStatus,
} from '../../src/adapters/corosync/corosync-observe.js';
import { parseQuorumGuardianConf, requireValidGuardianConf } from '../../src/guardian/guardian-settings.js';
import type { ClusterSnapshot, QuorumHelpers, QuorumSnapshot } from '../../src/ports/guardian.js';
import { QuorumGuardianLoop } from '../../src/guardian/guardian-loop.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'adapters', 'fixtures', 'corosync');
const read = (phase: string, file: string): string => readFileSync(join(fixtures, phase, file), 'utf8');

function snapshotOf(phase: string): ClusterSnapshot {
  return {
    quorum: parseQuorumtoolStatus(read(phase, 'quorumtool-s-p.txt')),
    nodelist: parseCmapNodelist(read(phase, 'cmapctl-nodelist.txt')),
    mon: parseCrmMonXml(read(phase, 'crm_mon-fence-history.xml')),
    peers: parseCrmNodeList(read(phase, 'crm_node-l.txt')),
  };
}

const graceMs = 30_000;
function settingsText(auto: boolean): string {
  return [
    `auto = ${auto ? 'yes' : 'no'}`,
    'grace = 30',
    'interval = 1',
    'require-fencing = no',
    'retry-after = 60',
    'promotable = remote1 rack-a 10.93.0.21',
    'promotable = remote2 rack-b 10.93.0.22',
    'node-helper = node1 10.93.0.11:9931',
    'node-helper = node2 10.93.0.12:9931',
    'node-helper = node3 10.93.0.13:9931',
    'node-helper = remote1 10.93.0.21:9931',
    'node-helper = remote2 10.93.0.22:9931',
  ].join('\n');
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The helpers of the lab's cluster after node3 died: node1 and node2 members; R joins when started. */
class FakeHelpers implements QuorumHelpers {
  readonly calls: string[] = [];
  joined: string | null = null;
  failAction: string | null = null;
  /** Holds every call until resolved (a promotion "running"). */
  gate: Deferred | null = null;

  private async enter(call: string): Promise<void> {
    this.calls.push(call);
    if (this.gate !== null) await this.gate.promise;
    if (this.failAction !== null && call.startsWith(this.failAction)) throw new Error(`${this.failAction} failed (test)`);
  }
  async removeRemoteResource(node: string, resource: string): Promise<void> {
    await this.enter(`remove-remote-resource ${node} ${resource}`);
  }
  async crmNodeRemove(node: string, name: string): Promise<void> {
    await this.enter(`crm-node-remove ${node} ${name}`);
  }
  async writeNodelist(node: string, w: { sha256: string; content: string; ifSha256?: string }): Promise<{ changed: boolean }> {
    await this.enter(`write-nodelist ${node}${w.ifSha256 === undefined ? '' : ' if-unchanged'}`);
    return { changed: true };
  }
  async reload(node: string): Promise<void> {
    await this.enter(`reload ${node}`);
  }
  async startClusterStack(node: string): Promise<void> {
    await this.enter(`start-cluster-stack ${node}`);
    this.joined = node;
  }
  async quorumStatus(node: string): Promise<QuorumSnapshot> {
    await this.enter(`quorum-status ${node}`);
    const members = ['node1', 'node2', ...(this.joined === null ? [] : [this.joined])];
    return { quorate: true, expectedVotes: 3, totalVotes: members.length, members, pacemakerOnline: members };
  }
}

interface Harness {
  loop: QuorumGuardianLoop;
  helpers: FakeHelpers;
  logs: { level: string; msg: string; fields: object }[];
  setPhase(p: string | Error): void;
  setConf(text: string): void;
  advance(ms: number): void;
}

function harness(auto: boolean, edit: (text: string) => string = (t) => t): Harness {
  let now = 1_000;
  let phase: string | Error = '2-node3-lost';
  let conf = read('2-node3-lost', 'corosync.conf');
  const helpers = new FakeHelpers();
  const logs: Harness['logs'] = [];
  const log = (level: string) => (fields: object, msg: string) => logs.push({ level, msg, fields });
  const settings = requireValidGuardianConf(parseQuorumGuardianConf(edit(settingsText(auto)), '/etc/tollbooth/quorum-guardian.conf'));
  const loop = new QuorumGuardianLoop({
    settings,
    observe: () => (phase instanceof Error ? Promise.reject(phase) : Promise.resolve(snapshotOf(phase))),
    tracker: new MembershipTracker(),
    readText: () => Promise.resolve(conf),
    nodelistOf: promotionNodelist,
    helpers,
    nowMs: () => now,
    wallClockMs: () => 1_800_000_000_000 + now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
  });
  return {
    loop,
    helpers,
    logs,
    setPhase: (p) => (phase = p),
    setConf: (t) => (conf = t),
    advance: (ms) => (now += ms),
  };
}

const promotionOrder = [
  'quorum-status node1',
  'remove-remote-resource node1 remote1',
  'crm-node-remove node1 remote1',
  'quorum-status node1',
  'write-nodelist node1 if-unchanged',
  'write-nodelist node2 if-unchanged',
  'write-nodelist remote1',
  'quorum-status node1',
  'reload node1',
  'quorum-status node1',
  'quorum-status node1',
  'start-cluster-stack remote1',
  'quorum-status node1',
  'crm-node-remove node1 node3',
];

describe('the quorum guardian loop', () => {
  it('waits out the grace period, then replaces the lost voter through the helpers', async () => {
    const h = harness(true);
    expect(await h.loop.round()).toMatchObject({ kind: 'wait', reason: 'grace-not-over' });
    h.advance(graceMs - 1);
    expect(await h.loop.round()).toMatchObject({ kind: 'wait', reason: 'grace-not-over' });
    expect(h.helpers.calls).toEqual([]);
    const waiting = h.loop.status();
    expect(waiting.observation?.voters.find((v) => v.name === 'node3')).toMatchObject({ state: 'lost', lostForMs: graceMs - 1, lostSinceUnixMs: 1_800_000_001_000 });
    expect(waiting.decision).toMatchObject({ kind: 'wait', reason: 'grace-not-over', held: null });

    h.advance(1);
    expect(await h.loop.round()).toMatchObject({ kind: 'plan', replace: 'node3', with: 'remote1', votersAfter: 3 });
    expect(h.loop.status().promotion).toMatchObject({ replace: 'node3', with: 'remote1', driver: 'node1' });
    await h.loop.promotionDone;
    expect(h.helpers.calls).toEqual(promotionOrder);

    const st = h.loop.status();
    expect(st.promotion).toBeNull();
    expect(st.lastPromotion).toMatchObject({ ok: true, replace: 'node3', with: 'remote1', driver: 'node1', failedStep: null, final: { expectedVotes: 3, totalVotes: 3, members: ['node1', 'node2', 'remote1'] } });
    expect(st.lastPromotion!.steps.map((s) => s.step)).toEqual([
      'quorum-check',
      'remove-remote-resource',
      'purge-remote',
      'quorum-check',
      'write-nodelist',
      'write-nodelist',
      'write-nodelist',
      'quorum-check',
      'reload',
      'quorum-check',
      'quorum-check',
      'start-cluster-stack',
      'verify',
      'purge-lost',
    ]);
    const started = h.logs.find((l) => l.msg === 'quorum promotion started: replace node3 with remote1');
    expect(started?.fields).toMatchObject({ driver: 'node1', liveMembers: ['node1', 'node2'], newNodeId: 4, alsoPurge: [] });
    expect(h.logs.some((l) => l.msg === 'quorum promotion done: remote1 replaced node3')).toBe(true);

    // The cluster after the promotion: nothing lost, nothing to do.
    h.setPhase('4-promoted');
    expect(await h.loop.round()).toMatchObject({ kind: 'none', reason: 'nothing-lost' });
    expect(h.loop.status().observation?.voters.map((v) => `${v.name}:${v.state}`)).toEqual(['node1:up', 'node2:up', 'remote1:up']);
  });

  it('with auto = no reports the plan, logs it once and calls no helper', async () => {
    const h = harness(false);
    await h.loop.round();
    h.advance(graceMs);
    for (let i = 0; i < 5; i++) {
      expect(await h.loop.round()).toMatchObject({ kind: 'plan', replace: 'node3', with: 'remote1' });
      h.advance(1_000);
    }
    expect(h.helpers.calls).toEqual([]);
    expect(h.loop.promotionDone).toBeNull();
    expect(h.loop.status().decision).toMatchObject({ kind: 'plan', held: 'auto = no: reporting only', sinceUnixMs: 1_800_000_000_000 + 1_000 + graceMs });
    expect(h.logs.filter((l) => l.msg.startsWith('quorum guardian: plan')).map((l) => l.msg)).toEqual([
      'quorum guardian: plan: replace lost voter node3 with remote node remote1 (zone rack-a); 3 live of 3 voters after (auto = no: reporting only)',
    ]);
  });

  it('does nothing without quorum, however long a voter has been lost', async () => {
    const h = harness(true);
    h.setPhase('7-no-quorum');
    for (let i = 0; i < 4; i++) {
      expect(await h.loop.round()).toMatchObject({ kind: 'wait', reason: 'no-quorum' });
      h.advance(graceMs);
    }
    expect(h.helpers.calls).toEqual([]);
    expect(h.loop.status().observation).toMatchObject({ quorate: false, totalVotes: 1, expectedVotes: 3 });
  });

  it('runs one promotion at a time: a round meanwhile sees a change in progress', async () => {
    const h = harness(true);
    await h.loop.round();
    h.advance(graceMs);
    h.helpers.gate = deferred();
    expect(await h.loop.round()).toMatchObject({ kind: 'plan' });
    expect(await h.loop.round()).toMatchObject({ kind: 'wait', reason: 'change-in-progress' });
    expect(h.loop.status().observation?.changeSignals).toEqual(['a membership change of ours is running']);
    expect(h.helpers.calls).toEqual(['quorum-status node1']);
    h.helpers.gate.resolve();
    h.helpers.gate = null;
    await h.loop.promotionDone;
    expect(h.helpers.calls).toEqual(promotionOrder);
  });

  it('after a failed promotion waits retry-after before the next', async () => {
    const h = harness(true);
    await h.loop.round();
    h.advance(graceMs);
    h.helpers.failAction = 'write-nodelist node2';
    await h.loop.round();
    await h.loop.promotionDone;
    const failed = h.loop.status().lastPromotion;
    expect(failed).toMatchObject({ ok: false, failedStep: 'write-nodelist', code: 'STEP_FAILED' });
    expect(failed?.reason).toContain('write-nodelist node2 failed (test)');
    expect(h.logs.some((l) => l.level === 'error' && l.msg === 'quorum promotion failed at write-nodelist')).toBe(true);
    const callsAfterFailure = h.helpers.calls.length;

    h.helpers.failAction = null;
    h.advance(1_000);
    expect(await h.loop.round()).toMatchObject({ kind: 'plan' });
    expect(h.loop.status().decision?.held).toMatch(/^the last promotion failed; retrying after \d+ s \(retry-after\)$/);
    expect(h.loop.status().retryAfterUnixMs).not.toBeNull();
    expect(h.helpers.calls.length).toBe(callsAfterFailure);

    h.advance(60_000);
    await h.loop.round();
    await h.loop.promotionDone;
    expect(h.loop.status().lastPromotion).toMatchObject({ ok: true });
    expect(h.loop.status().promotions.map((p) => p.ok)).toEqual([false, true]);
  });

  it('runs no helper when the request cannot be built', async () => {
    // corosync.conf on disk is not the running nodelist (a change not reloaded).
    const h = harness(true);
    const withNode4 = read('2-node3-lost', 'corosync.conf').replace(/\n\}\n$/, '\n    node {\n        name: node4\n        nodeid: 4\n        ring0_addr: 10.93.0.14\n    }\n}\n');
    expect(withNode4).toContain('node4');
    h.setConf(withNode4);
    await h.loop.round();
    h.advance(graceMs);
    await h.loop.round();
    expect(h.helpers.calls).toEqual([]);
    expect(h.loop.status().lastPromotion).toMatchObject({ ok: false, failedStep: 'prepare', code: 'PREPARE' });
    expect(h.loop.status().lastPromotion?.reason).toMatch(/corosync.conf lists node1, node2, node3, node4 but corosync runs with node1, node2, node3 \(a change not yet reloaded\?\)$/);

    // A live voter without a helper: reported with the observation, and no helper runs.
    const k = harness(true, (t) => t.replace('node-helper = node2 10.93.0.12:9931\n', ''));
    await k.loop.round();
    expect(k.loop.status().observation?.settingsProblems).toEqual(['no node-helper line for voter(s) node2: a promotion needs one on every live voter']);
    k.advance(graceMs);
    await k.loop.round();
    expect(k.helpers.calls).toEqual([]);
    expect(k.loop.status().lastPromotion).toMatchObject({ ok: false, failedStep: 'prepare', reason: 'no node-helper configured for node2' });
  });

  it('leaves the decision unknown when the cluster cannot be observed, and logs that once', async () => {
    const h = harness(true);
    h.setPhase(new Error('NOT_RUNNING: corosync-quorumtool -s -p: exit 1: Cannot initialize CMAP service'));
    expect(await h.loop.round()).toBeNull();
    expect(await h.loop.round()).toBeNull();
    const st = h.loop.status();
    expect(st.decision).toBeNull();
    expect(st.observation).toBeNull();
    expect(st.observeError?.message).toContain('Cannot initialize CMAP service');
    expect(h.logs.filter((l) => l.msg === 'quorum guardian cannot observe the cluster; no decision')).toHaveLength(1);
    h.setPhase('2-node3-lost');
    expect(await h.loop.round()).toMatchObject({ kind: 'wait' });
    expect(h.loop.status().observeError).toBeNull();
  });

  it('stop() waits for a running promotion', async () => {
    const h = harness(true);
    await h.loop.round();
    h.advance(graceMs);
    h.helpers.gate = deferred();
    await h.loop.round();
    let stopped = false;
    const stopping = h.loop.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    h.helpers.gate.resolve();
    h.helpers.gate = null;
    await stopping;
    expect(h.loop.status().lastPromotion).toMatchObject({ ok: true });
  });
});
