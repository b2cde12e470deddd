// The quorum guardian's site-local settings file (src/guardian/guardian-settings.ts):
// a complete file reads into the values it says, an empty one into the
// documented defaults; every kind of mistake — unknown key, repeated scalar
// key, bad value, out-of-range number, bad address or endpoint, duplicate
// node or address, and each relation (a promotable node without a helper,
// links that differ, auto = yes with nothing to promote) — is reported as an
// error naming the file, the line and the reason, all of them in one go;
// harmless oddities are warnings. The file on disk: size limit, invalid
// UTF-8 reported at its line, a missing file. And the run-time check of the
// settings against a running nodelist.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigFileReadError, ConfigFileTooLargeError } from '../../src/config/errors.js';
import { formatConfigProblem } from '../../src/config/problems.js';
import {
  guardianConfBytesMax,
  guardianDefaults,
  guardianSettingsAgainstNodelist,
  loadQuorumGuardianFile,
  parseHostPort,
  parseQuorumGuardianConf,
  QuorumGuardianConfError,
  requireValidGuardianConf,
} from '../../src/guardian/guardian-settings.js';

const file = '/etc/tollbooth/quorum-guardian.conf';

const complete = `# site A's quorum guardian
auto = yes
target-voters = 3
grace = 90
require-fencing = no
promotable = remote1 rack-a 10.0.0.21
promotable = remote2 rack-b 10.0.0.22
prefer-zones = rack-b rack-a
interval = 2500ms
verify-timeout = 60
retry-after = 600
corosync-conf = /etc/corosync/corosync.conf
node-helper = node1 10.0.0.11:9931
node-helper = node2 10.0.0.12:9931
node-helper = node3 [fd00::13]:9931
node-helper = remote1 10.0.0.21:9931
node-helper = "remote2 10.0.0.22:9931"   # a quoted value may be followed by a comment
helper-timeout = 30
helper-site = 192.168.1.10
`;

function problemsOf(text: string): string[] {
  return parseQuorumGuardianConf(text, file).problems.map(formatConfigProblem);
}

function errorsOf(text: string): string[] {
  return parseQuorumGuardianConf(text, file).problems.filter((p) => p.severity === 'error').map(formatConfigProblem);
}

describe('reading the guardian settings', () => {
  it('reads every key of a complete file', () => {
    const { settings, problems } = parseQuorumGuardianConf(complete, file);
    expect(problems.map(formatConfigProblem)).toEqual([
      `${file}:5: warning: require-fencing = no with auto = yes: a voter that is only cut off (not dead) may come back after it was replaced; it can no longer join (it is out of the nodelist), but it keeps running what it ran until it notices`,
    ]);
    expect(settings).toEqual({
      file,
      auto: true,
      targetVoters: 3,
      graceMs: 90_000,
      requireFencing: false,
      promotable: [
        { name: 'remote1', zone: 'rack-a', addrs: new Map([[0, '10.0.0.21']]), line: 6 },
        { name: 'remote2', zone: 'rack-b', addrs: new Map([[0, '10.0.0.22']]), line: 7 },
      ],
      preferZones: ['rack-b', 'rack-a'],
      intervalMs: 2_500,
      verifyTimeoutMs: 60_000,
      retryAfterMs: 600_000,
      corosyncConf: '/etc/corosync/corosync.conf',
      helpers: [
        { node: 'node1', host: '10.0.0.11', port: 9931, line: 13 },
        { node: 'node2', host: '10.0.0.12', port: 9931, line: 14 },
        { node: 'node3', host: 'fd00::13', port: 9931, line: 15 },
        { node: 'remote1', host: '10.0.0.21', port: 9931, line: 16 },
        { node: 'remote2', host: '10.0.0.22', port: 9931, line: 17 },
      ],
      helperTimeoutMs: 30_000,
      helperSite: '192.168.1.10',
    });
    expect(requireValidGuardianConf(parseQuorumGuardianConf(complete, file)).auto).toBe(true);
  });

  it('gives the documented defaults for an empty file (report only)', () => {
    const { settings, problems } = parseQuorumGuardianConf('# nothing here\n\n', file);
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      file,
      auto: false,
      targetVoters: null,
      graceMs: guardianDefaults.graceMs,
      requireFencing: true,
      promotable: [],
      preferZones: [],
      intervalMs: 5_000,
      verifyTimeoutMs: 120_000,
      retryAfterMs: 300_000,
      corosyncConf: '/etc/corosync/corosync.conf',
      helpers: [],
      helperTimeoutMs: 120_000,
      helperSite: null,
    });
  });

  it('reads several links per promotable node, a zone-less node, CRLF lines and IPv6 addresses', () => {
    const text = 'promotable = r1 - 10.0.0.21,10.1.0.21\r\npromotable = r2 - fd00::22,fd01::22\r\nnode-helper = r1 r1.example:1\r\nnode-helper = r2 [fd00::22]:65535\r\n';
    const { settings, problems } = parseQuorumGuardianConf(text, file);
    expect(problems).toEqual([]);
    expect(settings.promotable.map((p) => [p.name, p.zone, [...p.addrs]])).toEqual([
      ['r1', '', [[0, '10.0.0.21'], [1, '10.1.0.21']]],
      ['r2', '', [[0, 'fd00::22'], [1, 'fd01::22']]],
    ]);
    expect(settings.helpers.map((h) => `${h.host}|${h.port}`)).toEqual(['r1.example|1', 'fd00::22|65535']);
  });
});

describe('errors name the file, the line and the reason', () => {
  it('reports every mistake of a file at once, in line order', () => {
    const text = [
      'auto = maybe', // 1
      'target-voters = 2', // 2
      'target-voters = 5', // 3 repeated
      'grace = 10s', // 4
      'interval = 50ms', // 5
      'frobnicate = 1', // 6
      'promotable = remote1 rack-a', // 7 two words
      'promotable = remote1 rack-a 10.0.0.300', // 8 bad address
      'promotable = -bad rack-a 10.0.0.21', // 9 bad name
      'node-helper = node1 10.0.0.11', // 10 no port
      'node-helper = node1 10.0.0.11:70000', // 11 port range
      'corosync-conf = etc/corosync.conf', // 12 relative
      'just words', // 13
      'require-fencing = ', // 14 no value
      'prefer-zones = a a', // 15
      'helper-site = "two words"', // 16
      'grace = 60 # one minute', // 17
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      `${file}:1: error: auto: expected yes or no, got "maybe"`,
      `${file}:2: error: target-voters: 2 is outside 3..256 (fewer than 3 voters cannot lose one and keep quorum)`,
      `${file}:3: error: target-voters is already given on line 2`,
      `${file}:4: error: grace: "10s" is not a time: write whole seconds ("600") or milliseconds ("1500ms")`,
      `${file}:5: error: interval: 50 ms is below the minimum of 100 ms`,
      `${file}:6: error: unknown key "frobnicate" (known: auto, target-voters, grace, require-fencing, prefer-zones, interval, verify-timeout, retry-after, corosync-conf, helper-timeout, helper-site, promotable, node-helper)`,
      `${file}:7: error: promotable: expected "NAME ZONE ADDR[,ADDR...]", got 2 word(s)`,
      `${file}:8: error: promotable: "10.0.0.300" is not an IP address or host name`,
      `${file}:9: error: promotable: "-bad" is not a node name`,
      `${file}:10: error: node-helper: "10.0.0.11" is not HOST:PORT (IPv6 as [ADDR]:PORT)`,
      `${file}:11: error: node-helper: "10.0.0.11:70000" is not HOST:PORT (IPv6 as [ADDR]:PORT)`,
      `${file}:12: error: corosync-conf: "etc/corosync.conf" is not an absolute path`,
      `${file}:13: error: expected "=" after the key "just"`,
      `${file}:14: error: no value after "require-fencing ="`,
      `${file}:15: error: prefer-zones: a zone is named twice`,
      `${file}:16: error: helper-site: must be 1..256 characters without blanks`,
      `${file}:17: error: grace: a "#" after a bare value is part of the value (booth.conf rules); put the comment on its own line or quote the value`,
    ]);
  });

  it('checks the relations between keys', () => {
    expect(errorsOf('promotable = remote1 - 10.0.0.21\n')).toEqual([
      `${file}:1: error: promotable: remote1 has no node-helper line (the promotion writes its corosync.conf and starts its cluster stack through it)`,
    ]);
    expect(errorsOf('promotable = r1 - 10.0.0.21\npromotable = r2 - 10.0.0.22,10.1.0.22\nnode-helper = r1 10.0.0.21:1\nnode-helper = r2 10.0.0.22:1\n')).toEqual([
      `${file}:2: error: promotable: r2 has 2 link address(es), r1 (line 1) 1; corosync needs the same links on every node`,
    ]);
    expect(errorsOf('promotable = r1 - 10.0.0.21\npromotable = r1 - 10.0.0.22\npromotable = r2 - 10.0.0.21\nnode-helper = r1 10.0.0.21:1\n')).toEqual([
      `${file}:2: error: promotable: r1 is already listed on line 1`,
      `${file}:3: error: promotable: an address of r2 is already r1's (line 1)`,
    ]);
    expect(errorsOf('node-helper = n1 10.0.0.1:1\nnode-helper = n1 10.0.0.2:1\n')).toEqual([`${file}:2: error: node-helper: n1 already has a helper on line 1`]);
    expect(errorsOf('auto = yes\n')).toEqual([`${file}:1: error: auto = yes but no promotable node is listed: there is nothing to promote`]);
    expect(errorsOf('auto = no\n')).toEqual([]);
  });

  it('warns about what is legal but probably not meant', () => {
    expect(problemsOf('target-voters = 4\n')).toEqual([`${file}:1: warning: target-voters: 4 is even; 4 voters tolerate no more failures than 3`]);
    expect(problemsOf('grace = 1\ninterval = 5\n')).toEqual([
      `${file}:1: warning: grace (1000 ms) is shorter than interval (5000 ms): a loss is only seen every interval, so the effective grace is at least one interval`,
    ]);
    expect(problemsOf('promotable = r1 rack-a 10.0.0.21\nnode-helper = r1 10.0.0.21:1\nprefer-zones = rack-z\n')).toEqual([`${file}:3: warning: prefer-zones: no promotable node is in zone rack-z`]);
  });

  it('refuses a file with errors when a usable one is required, listing them', () => {
    const r = parseQuorumGuardianConf('auto = sure\ngrace = -1\n', file);
    expect(() => requireValidGuardianConf(r)).toThrow(QuorumGuardianConfError);
    try {
      requireValidGuardianConf(r);
    } catch (err) {
      expect((err as Error).message).toBe(
        `quorum guardian settings ${file} have 2 error(s):\n${file}:1: error: auto: expected yes or no, got "sure"\n${file}:2: error: grace: -1000 ms is below the minimum of 0 ms`,
      );
    }
  });

  it('parses HOST:PORT strictly', () => {
    expect(parseHostPort('10.0.0.1:9931')).toEqual({ host: '10.0.0.1', port: 9931 });
    expect(parseHostPort('[::1]:1')).toEqual({ host: '::1', port: 1 });
    expect(parseHostPort('host.example:80')).toEqual({ host: 'host.example', port: 80 });
    for (const bad of ['::1:80', '10.0.0.1:0', '10.0.0.1:', ':80', '[nothex]:80', '10.0.0.1:80x', 'a b:1', '999.1.1.1:1']) expect(parseHostPort(bad)).toBeNull();
  });
});

describe('the file on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollbooth-guardian-conf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and labels problems with its path', () => {
    const path = join(dir, 'ok.conf');
    writeFileSync(path, 'auto = no\ngrace = x\n');
    expect(loadQuorumGuardianFile(path).problems.map(formatConfigProblem)).toEqual([`${path}:2: error: grace: "x" is not a time: write whole seconds ("600") or milliseconds ("1500ms")`]);
  });

  it('reports invalid UTF-8 at its line', () => {
    const path = join(dir, 'latin1.conf');
    writeFileSync(path, Buffer.concat([Buffer.from('auto = no\nhelper-site = caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(loadQuorumGuardianFile(path).problems.map(formatConfigProblem)).toEqual([`${path}:2: error: the line is not valid UTF-8`]);
  });

  it('refuses a missing or oversized file', () => {
    expect(() => loadQuorumGuardianFile(join(dir, 'missing.conf'))).toThrow(ConfigFileReadError);
    const big = join(dir, 'big.conf');
    writeFileSync(big, `# ${'x'.repeat(guardianConfBytesMax)}\n`);
    expect(() => loadQuorumGuardianFile(big)).toThrow(ConfigFileTooLargeError);
  });
});

describe('the settings against the running nodelist', () => {
  const settings = requireValidGuardianConf(parseQuorumGuardianConf(complete, file));
  const voters = (names: string[], links = 1): { name: string; links: number }[] => names.map((name) => ({ name, links }));

  it('is silent when they fit', () => {
    expect(guardianSettingsAgainstNodelist(settings, voters(['node1', 'node2', 'node3']))).toEqual([]);
  });

  it('names voters without a helper, a low target and other links; a promoted voter is fine', () => {
    expect(guardianSettingsAgainstNodelist(settings, voters(['node1', 'node2', 'remote1']))).toEqual([]);
    expect(guardianSettingsAgainstNodelist(settings, voters(['node1', 'node4', 'remote1', 'node5'], 2))).toEqual([
      'no node-helper line for voter(s) node4, node5: a promotion needs one on every live voter',
      "target-voters 3 is below the nodelist's 4 voters: the guardian never replaces a lost voter",
      'promotable node remote1 has 1 link address(es), the nodelist uses 2',
      'promotable node remote2 has 1 link address(es), the nodelist uses 2',
    ]);
  });
});
