// Checks the node helper (src/adapters/corosync/node-helper.ts) over real TCP on
// 127.0.0.1. The cluster binaries are stub shell scripts in a temp dir that
// append their argv to a log and print outputs captured from the lab
// (fixtures/corosync/2-node3-lost: node3 lost, remote1/remote2 connected),
// injected through the helper's binaries map; corosync.conf is a temp copy
// of the lab's. Every request that must be refused — signed by another key,
// a tampered signature, replayed, expired or dated ahead, meant for another
// node or site, an unknown action, bad arguments, oversized, malformed, too
// many at once — gets its named reason, and the stub log and corosync.conf
// show that nothing ran or changed. Valid requests run exactly the argv
// listed in the helper's header, in order. A runner whose commands finish
// only when the test says so checks that changing actions run one at a time
// without blocking quorum-status. The client is checked against the same
// server. Time is a fixed wall clock; no test sleeps: the read-timeout case
// waits for the server's own 50 ms timer to answer.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessRunner, RunResult } from '../../../src/adapters/process-runner.js';
import { callLine, exited } from '../../support/fake-process-runner.js';
import {
  encodeHelperRequest,
  exchangeLine,
  helperNonce,
  locatedOn,
  NodeHelperClient,
  NodeHelperError,
  NodeHelperServer,
  quorumHelpersOver,
  type HelperBinary,
  type NodeHelperOptions,
} from '../../../src/adapters/corosync/node-helper.js';
import { Ed25519Signer, generateMemberKey } from '../../../src/wire/signer.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'corosync');
const clock = 1_800_000_000_000;
const site = 'site-a';
const agent = generateMemberKey();
const agentSigner = new Ed25519Signer(agent.privateKey);
/** A helper call's deadline in these tests, ms: generous for a loaded machine. */
const clientTimeoutMs = 30_000;
const sha = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex');

interface Rig {
  server: NodeHelperServer;
  port: number;
  dir: string;
  conf: string;
  log: string;
  send(line: string): Promise<Record<string, unknown>>;
  request(action: string, args: unknown, fields?: Partial<{ site: string; node: string; ts: number; nonce: string; signer: Ed25519Signer }>): Promise<Record<string, unknown>>;
  calls(): Promise<string[]>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.server.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
});

async function stub(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\necho "${name} $*" >> "${join(dir, 'calls.log')}"\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

async function rig(overrides: Partial<NodeHelperOptions> = {}, stubBodies: Partial<Record<HelperBinary, string>> = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'node-helper-'));
  const conf = join(dir, 'corosync.conf');
  await copyFile(join(fixtures, '1-healthy', 'corosync.conf'), conf);
  const lost = join(fixtures, '2-node3-lost');
  const bodies: Record<HelperBinary, string> = {
    crm_mon: `cat "${join(lost, 'crm_mon.xml')}"`,
    crm_resource: `case "$*" in *--locate*) cat "${join(fixtures, 'crm_resource', 'locate-stopped.xml')}" | sed "s/svcA/$2/";; esac`,
    crm_node: '',
    'corosync-cfgtool': 'echo "Reloading corosync.conf..."; echo Done',
    'corosync-quorumtool': `cat "${join(lost, 'quorumtool-s-p.txt')}"`,
    systemctl: '',
    ...stubBodies,
  };
  const binaries: Partial<Record<HelperBinary, string>> = {};
  for (const [name, body] of Object.entries(bodies)) binaries[name as HelperBinary] = await stub(dir, name, body);
  const server = new NodeHelperServer({
    node: 'node1',
    site,
    host: '127.0.0.1',
    port: 0,
    agentKeys: [agent.publicKeyRaw],
    corosyncConfPath: conf,
    binaries,
    wallClockMs: () => clock,
    sleep: () => Promise.resolve(),
    ...overrides,
  });
  const { port } = await server.start();
  const send = async (line: string): Promise<Record<string, unknown>> => JSON.parse(await exchangeLine('127.0.0.1', port, line, { timeoutMs: 10_000, responseBytesMax: 1 << 20 })) as Record<string, unknown>;
  const r: Rig = {
    server,
    port,
    dir,
    conf,
    log: join(dir, 'calls.log'),
    send,
    request: (action, args, f = {}) =>
      send(encodeHelperRequest(f.signer ?? agentSigner, { site: f.site ?? site, node: f.node ?? 'node1', action, args, ts: f.ts ?? clock, nonce: f.nonce ?? helperNonce() })),
    calls: async () => (await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== ''),
  };
  rigs.push(r);
  return r;
}

describe('valid requests run fixed argv', () => {
  it('quorum-status answers corosync-quorumtool -s -p, parsed, and Pacemaker\'s members', async () => {
    const r = await rig();
    const a = await r.request('quorum-status', {});
    expect(a).toMatchObject({ v: 1, ok: true, action: 'quorum-status' });
    expect((a.result as { status: { totalVotes: number; members: { name: string }[] } }).status).toMatchObject({ quorate: true, expectedVotes: 3, totalVotes: 2 });
    expect((a.result as { pacemaker: unknown }).pacemaker).toEqual({ members: [{ name: 'node1', online: true }, { name: 'node2', online: true }, { name: 'node3', online: false }] });
    expect(await r.calls()).toEqual(['corosync-quorumtool -s -p', 'crm_mon -1 --output-as=xml --inactive']);
    // Without an answer from crm_mon, corosync's view still comes back.
    const noPcmk = await rig({}, { crm_mon: 'echo "crm_mon: Connection to cluster failed" >&2; exit 102' });
    expect(await noPcmk.request('quorum-status', {})).toMatchObject({ ok: true, result: { pacemaker: null, pacemakerError: expect.stringMatching(/exited 102/) as unknown } });
  });

  it('remove-remote-resource stops, waits for the stop, deletes', async () => {
    const r = await rig();
    expect(await r.request('remove-remote-resource', { resource: 'remote1' })).toMatchObject({ ok: true, result: { alreadyAbsent: false } });
    expect(await r.calls()).toEqual([
      'crm_mon -1 --output-as=xml --inactive',
      'crm_resource --resource remote1 --meta --set-parameter target-role --parameter-value Stopped',
      'crm_resource --resource remote1 --locate --output-as=xml',
      'crm_resource --resource remote1 --delete --resource-type primitive',
    ]);
  });

  it('remove-remote-resource of a resource that is gone is done already; of a non-remote resource, refused', async () => {
    const r = await rig();
    expect(await r.request('remove-remote-resource', { resource: 'remote9' })).toMatchObject({ ok: true, result: { alreadyAbsent: true } });
    expect(await r.calls()).toEqual(['crm_mon -1 --output-as=xml --inactive']);
    const xml = (await readFile(join(fixtures, '2-node3-lost', 'crm_mon.xml'), 'utf8')).replace('resource id="remote2" resource_agent="ocf:pacemaker:remote"', 'resource id="remote2" resource_agent="ocf:heartbeat:IPaddr2"');
    await writeFile(join(r.dir, 'mon.xml'), xml);
    const r2 = await rig({}, { crm_mon: `cat "${join(r.dir, 'mon.xml')}"` });
    expect(await r2.request('remove-remote-resource', { resource: 'remote2' })).toMatchObject({ ok: false, reason: 'precondition', message: 'remote2 is not an ocf:pacemaker:remote resource' });
    expect(await r2.calls()).toEqual(['crm_mon -1 --output-as=xml --inactive']);
  });

  it('remove-remote-resource gives up when the connection does not stop in time', async () => {
    let t = 0;
    const r = await rig(
      { remoteStopTimeoutMs: 1000, pollIntervalMs: 400, nowMs: () => t, sleep: (ms) => ((t += ms), Promise.resolve()) },
      { crm_resource: `case "$*" in *--locate*) cat "${join(fixtures, 'crm_resource', 'locate-running.xml')}" | sed "s/db-clone/$2/";; esac` },
    );
    const answer = await r.request('remove-remote-resource', { resource: 'remote1' });
    expect(t).toBe(1200);
    expect((await r.calls()).filter((c) => c.includes('--locate'))).toHaveLength(4);
    expect(answer).toMatchObject({ ok: false, reason: 'failed' });
    expect(answer.message).toMatch(/remote1 still running after 1000 ms/);
    expect((await r.calls()).filter((c) => c.includes('--delete'))).toEqual([]);
  });

  it('crm-node-remove removes a stopped node and refuses an online one', async () => {
    const r = await rig();
    expect(await r.request('crm-node-remove', { name: 'node3' })).toMatchObject({ ok: true });
    expect(await r.request('crm-node-remove', { name: 'node2' })).toMatchObject({ ok: false, reason: 'precondition', message: 'node2 is online; only a stopped node can be removed' });
    expect(await r.calls()).toEqual(['crm_mon -1 --output-as=xml --inactive', 'crm_node --force --remove node3', 'crm_mon -1 --output-as=xml --inactive']);
  });

  it('cfgtool-reload runs corosync-cfgtool -R; a failing command is reported with its stderr', async () => {
    const r = await rig();
    expect(await r.request('cfgtool-reload', {})).toMatchObject({ ok: true, result: {} });
    expect(await r.calls()).toEqual(['corosync-cfgtool -R']);
    const bad = await rig({}, { 'corosync-cfgtool': 'echo "Could not reload configuration: CS_ERR_TRY_AGAIN" >&2; exit 1' });
    const a = await bad.request('cfgtool-reload', {});
    expect(a).toMatchObject({ ok: false, reason: 'failed' });
    expect(a.message).toBe('corosync-cfgtool -R exited 1: Could not reload configuration: CS_ERR_TRY_AGAIN');
  });

  it('write-nodelist replaces corosync.conf atomically, keeps the old one, and honours ifSha256', async () => {
    const r = await rig();
    const old = await readFile(r.conf, 'utf8');
    const next = await readFile(join(fixtures, '4-promoted', 'corosync.conf'), 'utf8');
    const modeBefore = (await stat(r.conf)).mode & 0o777;
    // The file is not the one the plan was made from: refused, unchanged.
    expect(await r.request('write-nodelist', { sha256: sha(next), content: next, ifSha256: sha('something else') })).toMatchObject({ ok: false, reason: 'precondition' });
    expect(await readFile(r.conf, 'utf8')).toBe(old);
    expect(await r.request('write-nodelist', { sha256: sha(next), content: next, ifSha256: sha(old) })).toMatchObject({ ok: true, result: { previousSha256: sha(old), sha256: sha(next), changed: true } });
    expect(await readFile(r.conf, 'utf8')).toBe(next);
    expect(await readFile(`${r.conf}.tollbooth-prev`, 'utf8')).toBe(old);
    expect((await stat(r.conf)).mode & 0o777).toBe(modeBefore);
    // Again: nothing to do.
    expect(await r.request('write-nodelist', { sha256: sha(next), content: next })).toMatchObject({ ok: true, result: { changed: false } });
    expect(await r.calls()).toEqual([]);
  });

  it('write-nodelist refuses content that does not hash right, is not a valid config, or omits this node', async () => {
    const r = await rig();
    const old = await readFile(r.conf, 'utf8');
    const next = await readFile(join(fixtures, '4-promoted', 'corosync.conf'), 'utf8');
    expect(await r.request('write-nodelist', { sha256: sha(old), content: next })).toMatchObject({ ok: false, reason: 'bad-args', message: 'content does not hash to sha256' });
    const broken = next.replace('nodelist {', 'nodelist {{');
    expect(await r.request('write-nodelist', { sha256: sha(broken), content: broken })).toMatchObject({ ok: false, reason: 'bad-args' });
    const withoutMe = next.replace(/ {4}node \{\n {8}name: node1\n[^}]*\}\n/, '');
    expect(await r.request('write-nodelist', { sha256: sha(withoutMe), content: withoutMe })).toMatchObject({ ok: false, reason: 'precondition', message: 'the new nodelist does not list this node (node1)' });
    expect(await readFile(r.conf, 'utf8')).toBe(old);
  });

  it('start-cluster-stack runs the configured commands in order, only once corosync.conf lists this node', async () => {
    const r = await rig({ node: 'remote1' });
    expect(await r.request('start-cluster-stack', {}, { node: 'remote1' })).toMatchObject({ ok: false, reason: 'precondition' });
    expect(await r.calls()).toEqual([]);
    const next = await readFile(join(fixtures, '4-promoted', 'corosync.conf'), 'utf8');
    expect(await r.request('write-nodelist', { sha256: sha(next), content: next }, { node: 'remote1' })).toMatchObject({ ok: true });
    expect(await r.request('start-cluster-stack', {}, { node: 'remote1' })).toMatchObject({ ok: true });
    expect(await r.calls()).toEqual(['systemctl stop pacemaker_remote.service', 'systemctl start corosync.service', 'systemctl start pacemaker.service']);
  });
});

describe('crm_resource --locate --output-as=xml', () => {
  const loc = (f: string): string => readFileSync(join(fixtures, 'crm_resource', f), 'utf8');
  it('reads where a resource runs, from captured outputs', () => {
    expect(locatedOn(loc('locate-running.xml'), 'db-clone')).toEqual(['node3', 'node2']);
    expect(locatedOn(loc('locate-stopped.xml'), 'svcA')).toEqual([]);
    expect(() => locatedOn(loc('locate-nosuch.xml'), 'nosuch')).toThrow(/unexpected answer/);
    expect(() => locatedOn(loc('locate-stopped.xml'), 'svcB')).toThrow(/unexpected answer/);
    // The text form prints "NOT running" on stderr, which is why the XML form is used.
    expect(loc('nosuch-text.stderr')).toMatch(/Resource 'nosuch' not found/);
  });
});

describe('refusals are named and change nothing', () => {
  const other = new Ed25519Signer(generateMemberKey().privateKey);
  const cases: [string, (r: Rig) => Promise<Record<string, unknown>>, string][] = [
    ['a request signed by another key', (r) => r.request('cfgtool-reload', {}, { signer: other }), 'unknown-key'],
    [
      'a tampered body',
      async (r) => {
        const env = JSON.parse(encodeHelperRequest(agentSigner, { site, node: 'node1', action: 'crm-node-remove', args: { name: 'node3' }, ts: clock, nonce: helperNonce() })) as { body: string };
        const body = Buffer.from(env.body, 'base64').toString('utf8').replace('node3', 'node2');
        return r.send(`${JSON.stringify({ ...env, body: Buffer.from(body).toString('base64') })}\n`);
      },
      'bad-signature',
    ],
    ['an expired request', (r) => r.request('cfgtool-reload', {}, { ts: clock - 30_001 }), 'expired'],
    ['a request dated ahead', (r) => r.request('cfgtool-reload', {}, { ts: clock + 30_001 }), 'not-yet-valid'],
    ['a request for another node', (r) => r.request('cfgtool-reload', {}, { node: 'node2' }), 'wrong-node'],
    ['a request for another site', (r) => r.request('cfgtool-reload', {}, { site: 'site-b' }), 'wrong-site'],
    ['an unknown action', (r) => r.request('shell', { cmd: 'rm -rf /' }), 'unknown-action'],
    ['a shell word in a name', (r) => r.request('crm-node-remove', { name: 'node3; reboot' }), 'bad-args'],
    ['an extra argument', (r) => r.request('cfgtool-reload', { force: true }), 'bad-args'],
    ['a missing argument', (r) => r.request('remove-remote-resource', {}), 'bad-args'],
    ['a line that is not JSON', (r) => r.send('cfgtool-reload\n'), 'malformed'],
    ['an envelope without a signature', (r) => r.send(`${JSON.stringify({ v: 1, signer: '', body: '' })}\n`), 'malformed'],
    ['a nonce that is too short', (r) => r.request('cfgtool-reload', {}, { nonce: 'abc' }), 'malformed'],
    ['an oversized request', (r) => r.send(`${'x'.repeat(300 * 1024)}\n`), 'oversized'],
  ];
  it.each(cases)('%s', async (_, make, reason) => {
    const r = await rig();
    const before = await readFile(r.conf, 'utf8');
    const a = await make(r);
    expect(a).toMatchObject({ v: 1, ok: false, reason });
    expect(typeof a.message).toBe('string');
    expect(await r.calls()).toEqual([]);
    expect(await readFile(r.conf, 'utf8')).toBe(before);
    expect(r.server.refusals().get(reason as never)).toBe(1);
  });

  it('a replayed request is refused the second time; the action ran once', async () => {
    const r = await rig();
    const line = encodeHelperRequest(agentSigner, { site, node: 'node1', action: 'cfgtool-reload', args: {}, ts: clock, nonce: helperNonce() });
    expect(await r.send(line)).toMatchObject({ ok: true });
    expect(await r.send(line)).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await r.calls()).toEqual(['corosync-cfgtool -R']);
  });

  it('refuses new nonces rather than forget live ones when the replay cache is full', async () => {
    const r = await rig({ nonceCountMax: 2 });
    expect(await r.request('cfgtool-reload', {})).toMatchObject({ ok: true });
    expect(await r.request('cfgtool-reload', {})).toMatchObject({ ok: true });
    expect(await r.request('cfgtool-reload', {})).toMatchObject({ ok: false, reason: 'replay-cache-full' });
    expect(await r.calls()).toHaveLength(2);
  });

  // Two tests, not one: with a short read timeout, whether a second connection still finds the silent
  // one open would be a race between that timeout and the second connect, which a loaded machine loses.
  const silentConnection = async (port: number): Promise<{ socket: Socket; answered: Promise<string> }> => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const answered = new Promise<string>((resolve) => {
      let buf = '';
      socket.on('data', (d: Buffer) => (buf += d.toString()));
      socket.on('end', () => resolve(buf));
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    return { socket, answered };
  };

  it('answers a silent connection with read-timeout', async () => {
    const r = await rig({ requestReadTimeoutMs: 50, connectionsMax: 1 });
    const silent = await silentConnection(r.port);
    expect(JSON.parse(await silent.answered)).toMatchObject({ ok: false, reason: 'read-timeout' });
    silent.socket.destroy();
    expect(await r.calls()).toEqual([]);
  });

  it('answers a connection beyond the limit with too-many-connections', async () => {
    // The silent connection stays open for the whole test: its read timeout is far beyond it.
    const r = await rig({ requestReadTimeoutMs: 10 * 60_000, connectionsMax: 1 });
    const silent = await silentConnection(r.port);
    const second = await r.send(encodeHelperRequest(agentSigner, { site, node: 'node1', action: 'cfgtool-reload', args: {}, ts: clock, nonce: helperNonce() }));
    expect(second).toMatchObject({ ok: false, reason: 'too-many-connections' });
    silent.socket.destroy();
    expect(await r.calls()).toEqual([]);
  });
});

describe('one changing action at a time', () => {
  it('refuses a second changing action as busy but still answers quorum-status', async () => {
    const status = await readFile(join(fixtures, '2-node3-lost', 'quorumtool-s-p.txt'), 'utf8');
    const calls: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const reachedReload = new Promise<void>((resolve) => (reached = resolve));
    const runner: ProcessRunner = {
      run: async (request): Promise<RunResult> => {
        calls.push(callLine(request));
        if (request.tool === 'corosync-cfgtool') {
          reached();
          await released;
          return exited(request, 0, 'Done\n');
        }
        return exited(request, 0, status);
      },
    };
    const r = await rig({ runner, binaries: {} });
    const first = r.request('cfgtool-reload', {});
    await reachedReload;
    expect(await r.request('crm-node-remove', { name: 'node3' })).toMatchObject({ ok: false, reason: 'busy' });
    expect(await r.request('quorum-status', {})).toMatchObject({ ok: true });
    release();
    expect(await first).toMatchObject({ ok: true });
    expect(calls).toEqual(['corosync-cfgtool -R', 'corosync-quorumtool -s -p', 'crm_mon -1 --output-as=xml --inactive']);
  });
});

describe('NodeHelperClient', () => {
  it('calls actions, and reports refusals, unknown nodes and unreachable helpers by code', async () => {
    const r = await rig();
    const client = new NodeHelperClient({ site, privateKey: agent.privateKey, timeoutMs: clientTimeoutMs, endpoints: [{ node: 'node1', host: '127.0.0.1', port: r.port }, { node: 'node2', host: '127.0.0.1', port: 1 }], wallClockMs: () => clock });
    const q = await client.call('node1', 'quorum-status', {});
    expect(q.status.members.map((m) => m.name)).toEqual(['node1', 'node2']);
    const refused = await client.call('node1', 'crm-node-remove', { name: 'node2' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NodeHelperError);
    expect(refused).toMatchObject({ code: 'REFUSED', reason: 'precondition', node: 'node1', action: 'crm-node-remove' });
    await expect(client.call('node9', 'cfgtool-reload', {})).rejects.toMatchObject({ code: 'UNKNOWN_NODE' });
    await expect(client.call('node2', 'cfgtool-reload', {})).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const late = new NodeHelperClient({ site, privateKey: agent.privateKey, timeoutMs: clientTimeoutMs, endpoints: [{ node: 'node1', host: '127.0.0.1', port: r.port }], wallClockMs: () => clock - 60_000 });
    await expect(late.call('node1', 'cfgtool-reload', {})).rejects.toMatchObject({ code: 'REFUSED', reason: 'expired' });
    expect(await r.calls()).toEqual(['corosync-quorumtool -s -p', 'crm_mon -1 --output-as=xml --inactive', 'crm_mon -1 --output-as=xml --inactive']);
  });

  it('quorumHelpersOver maps the executor port onto the actions', async () => {
    const r = await rig();
    const client = new NodeHelperClient({ site, privateKey: agent.privateKey, timeoutMs: clientTimeoutMs, endpoints: [{ node: 'node1', host: '127.0.0.1', port: r.port }], wallClockMs: () => clock });
    const h = quorumHelpersOver(client);
    expect(await h.quorumStatus('node1')).toEqual({ quorate: true, expectedVotes: 3, totalVotes: 2, members: ['node1', 'node2'], pacemakerOnline: ['node1', 'node2'] });
    await h.reload('node1');
    await h.crmNodeRemove('node1', 'node3');
    const next = await readFile(join(fixtures, '4-promoted', 'corosync.conf'), 'utf8');
    expect(await h.writeNodelist('node1', { sha256: sha(next), content: next, ifSha256: sha(await readFile(join(fixtures, '1-healthy', 'corosync.conf'), 'utf8')) })).toEqual({ changed: true });
    expect(await r.calls()).toEqual(['corosync-quorumtool -s -p', 'crm_mon -1 --output-as=xml --inactive', 'corosync-cfgtool -R', 'crm_mon -1 --output-as=xml --inactive', 'crm_node --force --remove node3']);
  });
});
