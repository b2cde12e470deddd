// `tollbooth quorum status|plan` (src/cli/quorum.ts) with the guardian file:
// the file's settings become the report's, and only options given on the
// command line override them (the promotable list as a whole). `status`
// asks the running agent first: over a real admin socket served by the real
// AdminService (op `quorum`), the guardian's status comes back and is
// printed with loss times, decision and the last promotion; an agent without
// a guardian, or no agent at all, makes the CLI fall back (with the reason).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listenAdminSocket } from '../../src/adapters/admin-socket.js';
import { promotionNodelist } from '../../src/adapters/corosync/corosync-conf.js';
import { MembershipTracker, parseCmapNodelist, parseCrmMonXml, parseCrmNodeList, parseQuorumtoolStatus } from '../../src/adapters/corosync/corosync-observe.js';
import type { ClusterSnapshot, QuorumHelpers } from '../../src/ports/guardian.js';
import { askAgentGuardian, formatGuardianStatus, reportOptions } from '../../src/cli/quorum.js';
import { parseQuorumGuardianConf, requireValidGuardianConf } from '../../src/guardian/guardian-settings.js';
import { AdminService, type AdminServiceComponents } from '../../src/runtime/admin-service.js';
import type { Pump } from '../../src/runtime/pump.js';
import type { Transport } from '../../src/ports/ports.js';
import { QuorumGuardianLoop } from '../../src/guardian/guardian-loop.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'adapters', 'fixtures', 'corosync');
const read = (phase: string, file: string): string => readFileSync(join(fixtures, phase, file), 'utf8');
const snapshotOf = (phase: string): ClusterSnapshot => ({
  quorum: parseQuorumtoolStatus(read(phase, 'quorumtool-s-p.txt')),
  nodelist: parseCmapNodelist(read(phase, 'cmapctl-nodelist.txt')),
  mon: parseCrmMonXml(read(phase, 'crm_mon-fence-history.xml')),
  peers: parseCrmNodeList(read(phase, 'crm_node-l.txt')),
});

const guardianText = `auto = yes
target-voters = 3
grace = 20
require-fencing = no
promotable = remote1 rack-a 10.93.0.21
promotable = remote2 rack-b 10.93.0.22
prefer-zones = rack-b
corosync-conf = /srv/corosync.conf
node-helper = node1 10.93.0.11:9931
node-helper = node2 10.93.0.12:9931
node-helper = remote1 10.93.0.21:9931
node-helper = remote2 10.93.0.22:9931
`;
const settings = requireValidGuardianConf(parseQuorumGuardianConf(guardianText, '/etc/tollbooth/qg.conf'));

const cliDefaults = {
  agent: true,
  grace: 60_000,
  promotable: [] as string[],
  zone: [] as string[],
  preferZone: [] as string[],
  requireFencing: true,
  lostFor: 0,
  remoteAddr: [] as string[],
  corosyncConf: '/etc/corosync/corosync.conf',
  timeout: 10_000,
};

describe('the report options', () => {
  it('come from the guardian file unless an option is given on the command line', () => {
    const fromFile = reportOptions(cliDefaults, () => false, settings);
    expect(fromFile).toEqual({
      targetVoters: 3,
      graceMs: 20_000,
      promotable: ['remote1', 'remote2'],
      zones: new Map([
        ['remote1', 'rack-a'],
        ['remote2', 'rack-b'],
      ]),
      preferZones: ['rack-b'],
      requireFencing: false,
      lostForMs: 0,
      remoteAddrs: new Map([
        ['remote1', new Map([[0, '10.93.0.21']])],
        ['remote2', new Map([[0, '10.93.0.22']])],
      ]),
      corosyncConfPath: '/srv/corosync.conf',
      commandTimeoutMs: 10_000,
      auto: true,
    });
    const overridden = reportOptions({ ...cliDefaults, grace: 5_000, promotable: ['remote9'], remoteAddr: ['remote9=10.0.0.9'] }, (o) => o === 'grace' || o === 'promotable' || o === 'remoteAddr', settings);
    expect(overridden).toMatchObject({ graceMs: 5_000, promotable: ['remote9'], zones: new Map(), requireFencing: false, corosyncConfPath: '/srv/corosync.conf' });
    expect(overridden.remoteAddrs).toEqual(new Map([['remote9', new Map([[0, '10.0.0.9']])]]));
  });

  it('are the options alone without a file', () => {
    expect(reportOptions(cliDefaults, () => false, null)).toMatchObject({ graceMs: 60_000, promotable: [], requireFencing: true, corosyncConfPath: '/etc/corosync/corosync.conf' });
  });
});

describe('status from the running agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollbooth-quorum-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function guardianAfterPromotion(): Promise<QuorumGuardianLoop> {
    let now = 0;
    let phase = '2-node3-lost';
    let joined = false;
    const helpers: QuorumHelpers = {
      removeRemoteResource: () => Promise.resolve(),
      crmNodeRemove: () => Promise.resolve(),
      writeNodelist: () => Promise.resolve({ changed: true }),
      reload: () => Promise.resolve(),
      startClusterStack: () => {
        joined = true;
        return Promise.resolve();
      },
      quorumStatus: () => {
        const members = joined ? ['node1', 'node2', 'remote2'] : ['node1', 'node2'];
        return Promise.resolve({ quorate: true, expectedVotes: 3, totalVotes: members.length, members });
      },
    };
    const loop = new QuorumGuardianLoop({
      settings,
      observe: () => Promise.resolve(snapshotOf(phase)),
      tracker: new MembershipTracker(),
      readText: () => Promise.resolve(read('2-node3-lost', 'corosync.conf')),
      nodelistOf: promotionNodelist,
      helpers,
      nowMs: () => now,
      wallClockMs: () => 1_800_000_000_000 + now,
      sleep: (ms) => {
        now += ms;
        return Promise.resolve();
      },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    await loop.round();
    now += 20_000;
    await loop.round();
    await loop.promotionDone;
    phase = '2-node3-lost';
    now += 1_000;
    return loop;
  }

  function admin(quorum: AdminServiceComponents['quorum']): AdminService {
    const transport = { onAdmin: () => undefined } as unknown as Transport;
    const pump = { core: {} } as unknown as Pump;
    return new AdminService({ self: '10.0.0.1' as never, pump, transport, clock: { now: () => 0 } as never, describe: () => ({}), isSite: true, ...(quorum === undefined ? {} : { quorum }) });
  }

  async function serve(service: AdminService, name: string): Promise<{ path: string; close: () => void }> {
    const path = join(dir, name);
    const server = await listenAdminSocket(path, null, (body) => {
      const req = AdminService.check(body);
      if (typeof req === 'string') return Promise.resolve({ ok: false, code: 'invalid', message: req, answeredBy: '10.0.0.1' });
      return service.handle(req);
    });
    return { path, close: () => server.close() };
  }

  it('prints the agent guardian status: loss times, decision, last promotion', async () => {
    const loop = await guardianAfterPromotion();
    const s = await serve(admin(() => loop.status()), 'agent.sock');
    try {
      const answer = await askAgentGuardian(s.path, 5_000);
      if (!('status' in answer)) throw new Error(answer.why);
      expect(answer.answeredBy).toBe('10.0.0.1');
      const text = formatGuardianStatus(answer.status, answer.answeredBy);
      expect(text).toContain('site agent 10.0.0.1: quorum guardian, auto = yes; settings /etc/tollbooth/qg.conf');
      expect(text).toContain('corosync: quorate; expected votes 3, total votes 2, quorum 2');
      expect(text).toMatch(/node3 +3 +lost +21 s +no +10\.93\.0\.13/);
      expect(text).toMatch(/remote2 +yes +yes +rack-b +yes/);
      expect(text).toContain('last promotion: remote2 replaced node3 in');
      expect(text).toMatch(/ok {3}verify +node1/);
      expect(text).toContain('corosync then: quorate, expected votes 3, total votes 3, members node1 node2 remote2');
    } finally {
      s.close();
    }
  });

  it('falls back when the agent runs no guardian, or no agent answers', async () => {
    const s = await serve(admin(undefined), 'plain.sock');
    try {
      expect(await askAgentGuardian(s.path, 5_000)).toEqual({ why: `the site agent at ${s.path} answered: 10.0.0.1 runs no quorum guardian (site-agent --quorum-guardian FILE)` });
    } finally {
      s.close();
    }
    const none = await askAgentGuardian(join(dir, 'nobody.sock'), 1_000);
    expect('why' in none && none.why.startsWith(`no site agent answered at ${join(dir, 'nobody.sock')}`)).toBe(true);
  });
});
