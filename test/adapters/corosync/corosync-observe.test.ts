// Checks the quorum guardian's observer (src/adapters/corosync/corosync-observe.ts) on
// outputs captured from a real corosync 3.1.7 + Pacemaker 2.1.5 cluster
// (the reference lab, 3 core + 2 remote nodes; fixtures/corosync/, one
// directory per moment: healthy, node3 lost, after the nodelist reload, after
// the promotion, node2 lost, promoted twice, no quorum; plus what a remote
// node prints). Each parser must read every capture to the values the lab
// showed, and refuse — with a named code and reason — outputs altered in the
// ways that matter (numbers that do not add up, missing blocks, an error
// hidden in a status-OK crm_mon result, XML we do not accept). The tracker is
// checked on sequences of captures: when a voter is first seen lost, that it
// is forgotten once it leaves the nodelist, what counts as a change in
// progress, and that the policy's decisions on the lab's states are the ones
// an operator expects. observeCluster runs against a fake runner replaying
// the captures (argv checked exactly, exit codes as measured). The process
// runner itself is checked against real programs in
// test/adapters/process-runner.test.ts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CorosyncObserveError,
  isFenced,
  MembershipTracker,
  observeCluster,
  parseCmapNodelist,
  parseCrmMonXml,
  parseCrmNodeList,
  parseQuorumtoolList,
  parseQuorumtoolStatus,
  parseXml,
} from '../../../src/adapters/corosync/corosync-observe.js';
import type { ClusterSnapshot } from '../../../src/ports/guardian.js';
import type { ProcessRunner, RunRequest, RunResult } from '../../../src/adapters/process-runner.js';
import { callLine, exited, fakeRun } from '../../support/fake-process-runner.js';
import { decideQuorumGuardian, type GuardianConfig } from '../../../src/core/guardian/quorum-guardian.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'corosync');
const phases = ['1-healthy', '2-node3-lost', '3-after-reload', '4-promoted', '5-node2-lost', '6-promoted-twice', '7-no-quorum'] as const;
type Phase = (typeof phases)[number];
const read = (phase: string, file: string): string => readFileSync(join(fixtures, phase, file), 'utf8');

function snapshotOf(phase: Phase): ClusterSnapshot {
  return {
    quorum: parseQuorumtoolStatus(read(phase, 'quorumtool-s-p.txt')),
    nodelist: parseCmapNodelist(read(phase, 'cmapctl-nodelist.txt')),
    mon: parseCrmMonXml(read(phase, 'crm_mon-fence-history.xml')),
    peers: parseCrmNodeList(read(phase, 'crm_node-l.txt')),
  };
}

function observeError(fn: () => unknown): CorosyncObserveError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CorosyncObserveError) return err;
    throw err;
  }
  throw new Error('expected a CorosyncObserveError');
}

const config: GuardianConfig = { targetVoters: 3, graceMs: 30_000, promotable: ['remote1', 'remote2'], preferZones: [], requireFencing: false, enabled: true };

describe('corosync-quorumtool -s / -s -p', () => {
  it('reads the healthy cluster, with and without the Qdevice column', () => {
    for (const file of ['quorumtool-s.txt', 'quorumtool-s-p.txt']) {
      const s = parseQuorumtoolStatus(read('1-healthy', file));
      expect(s).toMatchObject({ provider: 'corosync_votequorum', nodeCount: 3, localNodeId: 1, ringId: '1.d', quorate: true, expectedVotes: 3, highestExpected: 3, totalVotes: 3, quorum: 2, activityBlocked: false, flags: ['Quorate'], qdeviceVotes: null });
      expect(s.members.map((m) => [m.nodeid, m.votes, m.name, m.local])).toEqual([[1, 1, 'node1', true], [2, 1, 'node2', false], [3, 1, 'node3', false]]);
      expect(s.members[0]!.qdevice).toBe(file === 'quorumtool-s-p.txt' ? 'NR' : null);
    }
  });

  it('reads every captured moment', () => {
    const seen = phases.map((p) => {
      const s = parseQuorumtoolStatus(read(p, 'quorumtool-s-p.txt'));
      return [p, s.quorate, s.expectedVotes, s.totalVotes, s.members.map((m) => m.name).join(' ')];
    });
    expect(seen).toEqual([
      ['1-healthy', true, 3, 3, 'node1 node2 node3'],
      ['2-node3-lost', true, 3, 2, 'node1 node2'],
      ['3-after-reload', true, 3, 2, 'node1 node2'],
      ['4-promoted', true, 3, 3, 'node1 node2 remote1'],
      ['5-node2-lost', true, 3, 2, 'node1 remote1'],
      ['6-promoted-twice', true, 3, 3, 'node1 remote1 remote2'],
      ['7-no-quorum', false, 3, 1, 'node1'],
    ]);
    const lonely = parseQuorumtoolStatus(read('7-no-quorum', 'quorumtool-s.txt'));
    expect(lonely).toMatchObject({ quorate: false, quorum: 2, activityBlocked: true, flags: [] });
  });

  it('reads -l -p, the membership table alone', () => {
    expect(parseQuorumtoolList(read('4-promoted', 'quorumtool-l-p.txt')).map((m) => [m.nodeid, m.name])).toEqual([[1, 'node1'], [2, 'node2'], [4, 'remote1']]);
    expect(parseQuorumtoolList(read('1-healthy', 'quorumtool-l.txt'), 'corosync-quorumtool -l')).toHaveLength(3);
  });

  it('reads a quorum device row and hex node ids', () => {
    const text = read('1-healthy', 'quorumtool-s-p.txt')
      .replace('Total votes:      3', 'Total votes:      4')
      .replace('Flags:            Quorate ', 'Flags:            Quorate Qdevice ')
      .replace(/\n$/, '\n         0          1            Qdevice\n')
      .replace('         2          1         NR node2', '0x00000002          1    A,V,NMW node2');
    const s = parseQuorumtoolStatus(text);
    expect(s.qdeviceVotes).toBe(1);
    expect(s.flags).toEqual(['Quorate', 'Qdevice']);
    expect(s.members[1]).toMatchObject({ nodeid: 2, qdevice: 'A,V,NMW', name: 'node2' });
  });

  const healthy = read('1-healthy', 'quorumtool-s-p.txt');
  it.each([
    ['votes that do not add up', healthy.replace('Total votes:      3', 'Total votes:      5'), /Total votes 5 but the rows add up to 3/],
    ['a node count that does not match the table', healthy.replace('Nodes:            3', 'Nodes:            4'), /Nodes is 4 but the table lists 3/],
    ['Quorate disagreeing with Flags', healthy.replace('Quorate:          Yes', 'Quorate:          No'), /disagrees with Flags/],
    ['a missing Expected votes line', healthy.replace(/Expected votes:.*\n/, ''), /no Expected votes line/],
    ['a missing membership block', healthy.slice(0, healthy.indexOf('Membership information')), /no "Membership information" block/],
    ['a garbled row', healthy.replace('NR node2', 'NR node2 extra'), /unexpected membership row/],
    ['a duplicated key', healthy.replace('Ring ID:', 'Nodes:            3\nRing ID:'), /Nodes twice/],
    ['no local row', healthy.replace(' (local)', ''), /\(local\) row/],
    ['a title without its rule', healthy.replace('------------------\n', ''), /underlined with dashes/],
  ])('refuses %s', (_, text, reason) => {
    const e = observeError(() => parseQuorumtoolStatus(text));
    expect(e.code).toBe('BAD_OUTPUT');
    expect(e.source).toBe('corosync-quorumtool -s -p');
    expect(e.message).toMatch(reason);
  });

  it('refuses a quorum provider other than votequorum as UNSUPPORTED', () => {
    expect(observeError(() => parseQuorumtoolStatus(healthy.replace('corosync_votequorum', 'corosync_ykd'))).code).toBe('UNSUPPORTED');
  });
});

describe('corosync-cmapctl -b nodelist and crm_node -l', () => {
  it('reads the running nodelist before and after the reload', () => {
    const before = parseCmapNodelist(read('1-healthy', 'cmapctl-nodelist.txt'));
    expect(before.localIndex).toBe(0);
    expect(before.nodes.map((n) => [n.index, n.nodeid, n.name, n.addrs.get(0), n.votes])).toEqual([
      [0, 1, 'node1', '10.93.0.11', 1],
      [1, 2, 'node2', '10.93.0.12', 1],
      [2, 3, 'node3', '10.93.0.13', 1],
    ]);
    expect(parseCmapNodelist(read('3-after-reload', 'cmapctl-nodelist.txt')).nodes.map((n) => `${n.name}/${n.nodeid}`)).toEqual(['node1/1', 'node2/2', 'remote1/4']);
  });

  it('refuses a gap in the indexes, a node without id, an odd line', () => {
    const text = read('1-healthy', 'cmapctl-nodelist.txt');
    expect(observeError(() => parseCmapNodelist(text.replace(/nodelist\.node\.1\./g, 'nodelist.node.5.'))).message).toMatch(/indexes are not 0\.\.2/);
    expect(observeError(() => parseCmapNodelist(text.replace(/nodelist\.node\.2\.nodeid.*\n/, ''))).message).toMatch(/node 2 lacks nodeid or name/);
    expect(observeError(() => parseCmapNodelist(`${text}totem.token (u32) = 3000\n`)).message).toMatch(/unexpected line/);
  });

  it('reads crm_node -l at each moment, including a purged voter that came back as lost', () => {
    const names = (p: Phase): string[] => parseCrmNodeList(read(p, 'crm_node-l.txt')).map((e) => `${e.id}:${e.name}:${e.state}`);
    expect(names('2-node3-lost')).toEqual(['1:node1:member', '2:node2:member', '3:node3:lost']);
    expect(names('3-after-reload')).toEqual(['1:node1:member', '2:node2:member']);
    // Measured: node2 was purged BEFORE the reload and reappeared (promotion-executor.ts purges after it).
    expect(names('6-promoted-twice')).toEqual(['1:node1:member', '2:node2:lost', '4:remote1:member', '5:remote2:member']);
    expect(observeError(() => parseCrmNodeList('1 node1 member\nx node2 lost\n')).message).toMatch(/unexpected line/);
  });
});

describe('crm_mon -1 --output-as=xml', () => {
  it('reads nodes, the remote connections and the cluster options', () => {
    const m = parseCrmMonXml(read('1-healthy', 'crm_mon.xml'));
    expect(m.dc).toEqual({ present: true, name: 'node1', withQuorum: true });
    expect(m.stonithEnabled).toBe(false);
    expect(m.noQuorumPolicy).toBe('stop');
    expect(m.pacemakerdState).toBe('running');
    expect(m.nodes.map((n) => [n.name, n.type, n.online, n.unclean])).toEqual([
      ['node1', 'member', true, false],
      ['node2', 'member', true, false],
      ['node3', 'member', true, false],
      ['remote1', 'remote', true, false],
      ['remote2', 'remote', true, false],
    ]);
    expect(m.remoteResources.map((r) => [r.id, r.role, r.runningOn])).toEqual([['remote1', 'Starting', ['node1']], ['remote2', 'Starting', ['node2']]]);
    expect(m.resourceIds).toEqual(['remote1', 'remote2']);
    expect(m.fenceEvents).toEqual([]);
  });

  it('reads the lost voter, the promoted nodes and the partition without quorum', () => {
    const lost = parseCrmMonXml(read('2-node3-lost', 'crm_mon-fence-history.xml'));
    expect(lost.nodes.find((n) => n.name === 'node3')).toMatchObject({ online: false, unclean: false, type: 'member' });
    const promoted = parseCrmMonXml(read('6-promoted-twice', 'crm_mon.xml'));
    expect(promoted.nodes.filter((n) => n.type === 'member').map((n) => `${n.name}:${n.id}:${n.online}`)).toEqual(['node1:1:true', 'node2:2:false', 'remote1:4:true', 'remote2:5:true']);
    expect(promoted.remoteResources).toEqual([]);
    expect(parseCrmMonXml(read('7-no-quorum', 'crm_mon.xml')).dc).toEqual({ present: true, name: 'node1', withQuorum: false });
  });

  it('refuses the status-OK result a remote node printed before its proxy was up, as NOT_RUNNING', () => {
    const e = observeError(() => parseCrmMonXml(read('remote-node', 'crm_mon.xml')));
    expect(e.code).toBe('NOT_RUNNING');
    expect(e.message).toMatch(/Could not connect to the CIB: Transport endpoint is not connected/);
  });

  it('reads crm_mon on a remote node once its proxy is up (no pacemakerd element there)', () => {
    const m = parseCrmMonXml(read('remote-node', 'crm_mon-proxied.xml'));
    expect(m.pacemakerdState).toBeNull();
    expect(m.dc).toEqual({ present: true, name: 'node2', withQuorum: true });
    expect(m.nodes.filter((n) => n.type === 'remote').map((n) => n.name)).toEqual(['remote1', 'remote2']);
  });

  const xml = read('1-healthy', 'crm_mon.xml');
  it.each([
    ['a failed status', xml.replace('<status code="0" message="OK"/>', '<status code="102" message="Not connected"/>'), /status 102/],
    ['a non-boolean', xml.replace('online="true"', 'online="yes"'), /not true\/false/],
    ['an unknown node type', xml.replace('type="remote"', 'type="guest"'), /node type "guest"/],
    ['a node listed twice', xml.replace('name="node2" id="2"', 'name="node1" id="2"'), /node node1 twice/],
    ['no summary', xml.replace(/<summary>[\s\S]*<\/summary>/, ''), /no <summary>/],
    ['a DOCTYPE', `<!DOCTYPE x>\n${xml}`, /DOCTYPE|expected "<"|name/],
    ['an unclosed element', xml.replace('</nodes>', ''), /does not match <nodes>|never closed/],
    ['an unknown entity', xml.replace('name="node1" id="1" online', 'name="node&bogus;" id="1" online'), /unknown entity/],
    ['content after the root', `${xml}<x/>`, /content after the root/],
  ])('refuses %s', (_, text, reason) => {
    const e = observeError(() => parseCrmMonXml(text));
    expect(e.code).toBe('BAD_OUTPUT');
    expect(e.message).toMatch(reason);
  });

  it('parses text, comments, entities and a prolog, and bounds nesting', () => {
    const el = parseXml('<?xml version="1.0"?>\n<!-- c --><a x="1 &amp; 2"><b>t &lt;3 &#65;</b><!-- d --><c/></a>\n', 't');
    expect(el.attrs.get('x')).toBe('1 & 2');
    expect(el.children.map((c) => [c.name, c.text])).toEqual([['b', 't <3 A'], ['c', '']]);
    expect(observeError(() => parseXml(`${'<a>'.repeat(40)}${'</a>'.repeat(40)}`, 't')).message).toMatch(/nested deeper than 32/);
  });
});

describe('fencing confirmation', () => {
  const base = read('2-node3-lost', 'crm_mon-fence-history.xml').replace('stonith-enabled="false"', 'stonith-enabled="true"');
  const withHistory = (events: string, unclean = 'false'): string =>
    base.replace('name="node3" id="3" online="false" standby="false" standby_onfail="false" maintenance="false" pending="false" unclean="false"', `name="node3" id="3" online="false" standby="false" standby_onfail="false" maintenance="false" pending="false" unclean="${unclean}"`).replace('  <status code="0"', `  <fence_history status="0">${events}</fence_history>\n  <status code="0"`);
  const ev = (status: string, completed: string): string => `<fence_event action="reboot" target="node3" client="pacemaker-controld.1" origin="node1" delegate="node2" status="${status}"${completed === '' ? '' : ` completed="${completed}"`}/>`;
  const fenced = (text: string): boolean => {
    const mon = parseCrmMonXml(text);
    return isFenced('node3', mon.nodes.find((n) => n.name === 'node3')!, mon);
  };

  it('counts a node fenced only when it is offline, clean, and its latest fence succeeded', () => {
    expect(fenced(withHistory(ev('success', '2026-11-25 23:44:05Z')))).toBe(true);
    expect(fenced(withHistory(ev('success', '2026-11-25 23:44:05Z'), 'true'))).toBe(false);
    expect(fenced(withHistory(''))).toBe(false);
    expect(fenced(withHistory(ev('failed', '2026-11-25 23:44:05Z')))).toBe(false);
    expect(fenced(withHistory(ev('success', '2026-11-25 23:44:05Z') + ev('failed', '2026-11-25 23:50:00Z')))).toBe(false);
    expect(fenced(withHistory(ev('failed', '2026-11-25 23:44:05Z') + ev('success', '2026-11-25 23:50:00Z')))).toBe(true);
    expect(fenced(withHistory(ev('success', '2026-11-25 23:44:05Z') + ev('pending', '')))).toBe(false);
  });

  it('never counts a node fenced while stonith is disabled (the lab)', () => {
    const mon = parseCrmMonXml(withHistory(ev('success', '2026-11-25 23:44:05Z')).replace('stonith-enabled="true"', 'stonith-enabled="false"'));
    expect(isFenced('node3', mon.nodes.find((n) => n.name === 'node3')!, mon)).toBe(false);
  });
});

describe('MembershipTracker: from snapshots to the guardian', () => {
  it('remembers when a voter was first seen lost, and plans only after the grace period', () => {
    const t = new MembershipTracker();
    const healthy = t.input(snapshotOf('1-healthy'), 1_000);
    expect(healthy.observation.core.map((c) => c.state)).toEqual(['up', 'up', 'up']);
    // The healthy capture was taken while the remote connections were still Starting.
    expect(healthy.changeSignals).toEqual(['remote connection remote1 is Starting', 'remote connection remote2 is Starting']);

    const first = t.input(snapshotOf('2-node3-lost'), 10_000);
    expect(first.observation).toEqual({
      core: [
        { name: 'node1', state: 'up', fenced: false },
        { name: 'node2', state: 'up', fenced: false },
        { name: 'node3', state: 'lost', lostSinceMs: 10_000, fenced: false },
      ],
      remotes: [
        { name: 'remote1', online: true, healthy: true, zone: '' },
        { name: 'remote2', online: true, healthy: true, zone: '' },
      ],
      quorum: { quorate: true, expectedVotes: 3, totalVotes: 2 },
      nowMs: 10_000,
      changeInProgress: false,
    });
    expect(decideQuorumGuardian(first.observation, config)).toMatchObject({ kind: 'wait', reason: 'grace-not-over' });
    const later = t.input(snapshotOf('2-node3-lost'), 40_000);
    expect(later.observation.core[2]).toEqual({ name: 'node3', state: 'lost', lostSinceMs: 10_000, fenced: false });
    expect(decideQuorumGuardian(later.observation, config)).toMatchObject({ kind: 'plan', replace: 'node3', with: 'remote1', votersAfter: 3 });
    expect(decideQuorumGuardian(later.observation, { ...config, requireFencing: true })).toMatchObject({ kind: 'wait', reason: 'not-fenced' });
    expect(decideQuorumGuardian(later.observation, { ...config, promotable: ['remote2'] })).toMatchObject({ kind: 'plan', with: 'remote2' });

    // After the reload node3 is out of the nodelist: forgotten; remote1 is a voter not yet up.
    const reloaded = t.input(snapshotOf('3-after-reload'), 41_000);
    expect(t.lostSince('node3')).toBeUndefined();
    expect(reloaded.observation.core.map((c) => `${c.name}:${c.state}`)).toEqual(['node1:up', 'node2:up', 'remote1:lost']);
    expect(reloaded.observation.remotes.map((r) => r.name)).toEqual(['remote2']);
    expect(t.input(snapshotOf('4-promoted'), 45_000).observation.core.every((c) => c.state === 'up')).toBe(true);
    expect(t.lostSince('remote1')).toBeUndefined();
  });

  it('uses the configured zones', () => {
    const input = new MembershipTracker().input(snapshotOf('2-node3-lost'), 0, { zoneOf: (n) => (n === 'remote2' ? 'rack-b' : 'rack-a') });
    expect(input.observation.remotes.map((r) => r.zone)).toEqual(['rack-a', 'rack-b']);
    expect(decideQuorumGuardian({ ...input.observation, nowMs: 60_000 }, { ...config, preferZones: ['rack-b'] })).toMatchObject({ kind: 'plan', with: 'remote2' });
  });

  it('sees a change in progress while a remote connection moves, and our own executor running', () => {
    const moving = new MembershipTracker().input(snapshotOf('5-node2-lost'), 0);
    expect(moving.changeSignals).toEqual(['remote connection remote2 is Starting']);
    expect(moving.remotes[0]).toMatchObject({ name: 'remote2', healthy: false, unhealthyBecause: ['connection Starting'] });
    expect(decideQuorumGuardian({ ...moving.observation, nowMs: 60_000 }, config)).toMatchObject({ kind: 'wait', reason: 'change-in-progress' });
    const ours = new MembershipTracker().input(snapshotOf('4-promoted'), 0, { changeInProgress: true });
    expect(ours.changeSignals).toEqual(['a membership change of ours is running']);
  });

  it('reports a purged voter Pacemaker still lists, and refuses to act without quorum', () => {
    const twice = new MembershipTracker().input(snapshotOf('6-promoted-twice'), 0);
    expect(twice.stalePeers).toEqual(['node2']);
    expect(decideQuorumGuardian(twice.observation, config)).toMatchObject({ kind: 'none', reason: 'nothing-lost' });
    const alone = new MembershipTracker().input(snapshotOf('7-no-quorum'), 0);
    expect(alone.observation.quorum).toEqual({ quorate: false, expectedVotes: 3, totalVotes: 1 });
    expect(decideQuorumGuardian({ ...alone.observation, nowMs: 1e9 }, config)).toMatchObject({ kind: 'wait', reason: 'no-quorum' });
  });

  it('is not quorate when corosync and Pacemaker disagree, and refuses weighted votes', () => {
    const s = snapshotOf('2-node3-lost');
    const disagree = { ...s, mon: { ...s.mon, dc: { ...s.mon.dc, withQuorum: false } } };
    expect(new MembershipTracker().input(disagree, 0).observation.quorum.quorate).toBe(false);
    const weighted = { ...s, nodelist: { ...s.nodelist, nodes: s.nodelist.nodes.map((n, i) => (i === 0 ? { ...n, votes: 2 } : n)) } };
    expect(observeError(() => new MembershipTracker().input(weighted, 0)).code).toBe('UNSUPPORTED');
  });
});

describe('observeCluster', () => {
  type Canned = (request: RunRequest) => RunResult;
  const replay = (phase: string, calls: string[], rc: Partial<Record<string, Canned>> = {}): ProcessRunner => ({
    run: (request) => {
      calls.push(callLine(request));
      const files: Record<string, string> = { 'corosync-quorumtool': 'quorumtool-s-p.txt', 'corosync-cmapctl': 'cmapctl-nodelist.txt', crm_mon: 'crm_mon-fence-history.xml', crm_node: 'crm_node-l.txt' };
      const canned = rc[request.tool];
      if (canned !== undefined) return Promise.resolve(canned(request));
      return Promise.resolve(exited(request, phase === '7-no-quorum' && request.tool === 'corosync-quorumtool' ? 2 : 0, read(phase, files[request.tool]!)));
    },
  });

  it('runs the four tools with these exact argv and accepts quorumtool exit 2 (not quorate)', async () => {
    const calls: string[] = [];
    const snap = await observeCluster({ runner: replay('7-no-quorum', calls), binaries: { crm_mon: '/usr/sbin/crm_mon' } });
    expect(calls).toEqual(['corosync-quorumtool -s -p', 'corosync-cmapctl -b nodelist', '/usr/sbin/crm_mon -1 --output-as=xml --fence-history=2', 'crm_node -l']);
    expect(snap.quorum.quorate).toBe(false);
  });

  it('maps "corosync is not running here" (measured on a remote node) to NOT_RUNNING', async () => {
    const stderr = readFileSync(join(fixtures, 'remote-node', 'quorumtool-s-p.stderr'), 'utf8');
    const err = await observeCluster({ runner: replay('1-healthy', [], { 'corosync-quorumtool': (q) => exited(q, 1, '', stderr) }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorosyncObserveError);
    expect(err).toMatchObject({ code: 'NOT_RUNNING', source: 'corosync-quorumtool -s -p' });
    const crmNode = readFileSync(join(fixtures, 'remote-node', 'crm_node-l.stderr'), 'utf8');
    await expect(observeCluster({ runner: replay('1-healthy', [], { crm_node: (q) => exited(q, 1, '', crmNode) }) })).rejects.toMatchObject({ code: 'NOT_RUNNING', source: 'crm_node -l' });
    await expect(observeCluster({ runner: replay('1-healthy', [], { crm_node: (q) => exited(q, 64, '', 'crm_node: Unknown option') }) })).rejects.toMatchObject({ code: 'FAILED' });
  });

  it('passes a run that did not end with an exit code on with its code', async () => {
    const slow: ProcessRunner = { run: (q) => Promise.resolve(fakeRun(q, { kind: 'timed-out', timeoutMs: q.timeoutMs })) };
    await expect(observeCluster({ runner: slow })).rejects.toMatchObject({ code: 'TIMEOUT', source: 'corosync-quorumtool -s -p' });
    const crashed: ProcessRunner = { run: (q) => Promise.resolve(fakeRun(q, { kind: 'signaled', signal: 'SIGSEGV' })) };
    await expect(observeCluster({ runner: crashed })).rejects.toMatchObject({ code: 'KILLED', message: expect.stringMatching(/killed by SIGSEGV/) as unknown });
    const missing: ProcessRunner = { run: (q) => Promise.resolve(fakeRun(q, { kind: 'not-found' })) };
    await expect(observeCluster({ runner: missing, binaries: { 'corosync-quorumtool': '/opt/x/corosync-quorumtool' } })).rejects.toMatchObject({ code: 'BINARY_MISSING', message: expect.stringMatching(/\/opt\/x\/corosync-quorumtool not found/) as unknown });
  });
});
