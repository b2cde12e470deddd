// CommittedPeers (src/runtime/committed-peers.ts): the transport's peers and
// gossip's claim keys follow the committed configuration. Checked here with a
// recording stand-in for the transport's setPeers: a bootstrap member takes
// its key and port from the file, a member added at runtime its key from the
// configuration entry (no file lists it) and this member's port, a removed
// member is dropped from both although the file still lists it, an
// unchanged configuration calls nothing, a member with no key anywhere is
// left out and logged, and a list the transport refuses changes neither the
// peers nor the keys.
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CommittedPeers, peersOfCommitted, type PeerAddress } from '../../src/runtime/committed-peers.js';
import { memberId, type Member } from '../../src/core/types.js';
import { privateKeyFromSeed, publicKeyToRaw } from '../../src/wire/signer.js';

function keyOf(n: number): Uint8Array {
  return publicKeyToRaw(createPublicKey(privateKeyFromSeed(new Uint8Array(32).fill(n))));
}
const b64 = (k: Uint8Array): string => Buffer.from(k).toString('base64');

const port = 9929;
const file: PeerAddress[] = [
  { id: memberId('10.0.0.1'), host: '10.0.0.1', port, publicKey: keyOf(1) },
  { id: memberId('10.0.0.2'), host: '10.0.0.2', port, publicKey: keyOf(2) },
  { id: memberId('10.0.0.3'), host: '10.0.0.3', port, publicKey: keyOf(3) },
];
const bootstrap: Member[] = [
  { id: memberId('10.0.0.1'), kind: 'site' },
  { id: memberId('10.0.0.2'), kind: 'site' },
  { id: memberId('10.0.0.3'), kind: 'arbitrator' },
];
const added: Member = { id: memberId('10.0.0.4'), kind: 'arbitrator', key: b64(keyOf(4)), voter: false };

interface Line {
  readonly level: string;
  readonly obj: object;
  readonly msg: string;
}

function harness(refuse = false): { peers: CommittedPeers; calls: PeerAddress[][]; lines: Line[] } {
  const calls: PeerAddress[][] = [];
  const lines: Line[] = [];
  const log = {
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg: string) => lines.push({ level: 'error', obj, msg }),
  };
  const setPeers = (list: readonly PeerAddress[]): void => {
    if (refuse) throw new Error('peer 10.0.0.4: public key must be 32 bytes');
    calls.push([...list]);
  };
  return { peers: new CommittedPeers({ self: memberId('10.0.0.1'), file, port, setPeers, log }), calls, lines };
}

const ids = (list: readonly PeerAddress[]): string[] => list.map((p) => p.id);

describe('peersOfCommitted', () => {
  it('takes a bootstrap member\'s key and port from the file, an added member\'s key from its entry', () => {
    const { peers, keyless } = peersOfCommitted([...bootstrap, added], file, port);
    expect(keyless).toEqual([]);
    expect(ids(peers)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(peers[3]).toEqual({ id: '10.0.0.4', host: '10.0.0.4', port, publicKey: keyOf(4) });
    expect(peers[1]!.publicKey).toEqual(keyOf(2));
  });

  it('prefers the entry\'s key to the file\'s, and leaves out a member with no key anywhere', () => {
    const rekeyed: Member = { id: memberId('10.0.0.2'), kind: 'site', key: b64(keyOf(9)) };
    const unknown: Member = { id: memberId('10.0.0.5'), kind: 'site' };
    const { peers, keyless } = peersOfCommitted([bootstrap[0]!, rekeyed, unknown], file, port);
    expect(ids(peers)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(peers[1]!.publicKey).toEqual(keyOf(9));
    expect(keyless).toEqual(['10.0.0.5']);
  });

  it('leaves out a member whose entry\'s key is not the canonical base64 of 32 bytes', () => {
    const short: Member = { id: memberId('10.0.0.6'), kind: 'site', key: b64(keyOf(6).subarray(0, 31)) };
    // The last digit carries two unused bits: set, the text decodes to the same bytes but is not canonical.
    const canonical = b64(keyOf(7));
    const loose: Member = { id: memberId('10.0.0.7'), kind: 'site', key: `${canonical.slice(0, 42)}${canonical[42] === 'A' ? 'B' : String.fromCharCode(canonical.charCodeAt(42) ^ 1)}=` };
    const { peers, keyless } = peersOfCommitted([bootstrap[0]!, short, loose], file, port);
    expect(ids(peers)).toEqual(['10.0.0.1']);
    expect(keyless).toEqual(['10.0.0.6', '10.0.0.7']);
  });
});

describe('CommittedPeers', () => {
  it('admits a member added at runtime and drops a removed one, in the transport and for gossip', () => {
    const { peers, calls } = harness();
    // The file's members are where the transport starts: the bootstrap configuration changes nothing.
    expect(peers.update(bootstrap)).toBe(false);
    expect(calls).toEqual([]);
    expect(peers.publicKeyOf('10.0.0.4')).toBeUndefined();
    expect(peers.update([...bootstrap, added])).toBe(true);
    expect(calls.map(ids)[0]).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
    expect(publicKeyToRaw(peers.publicKeyOf('10.0.0.4')!)).toEqual(keyOf(4));
    // Removed: gone from the transport and from gossip, although the file still lists it.
    expect(peers.update([bootstrap[0]!, bootstrap[1]!, added])).toBe(true);
    expect(calls.map(ids)[1]).toEqual(['10.0.0.2', '10.0.0.4']);
    expect(peers.publicKeyOf('10.0.0.3')).toBeUndefined();
    expect(publicKeyToRaw(peers.publicKeyOf('10.0.0.1')!)).toEqual(keyOf(1));
  });

  it('calls nothing for an unchanged configuration', () => {
    const { peers, calls } = harness();
    peers.update([...bootstrap, added]);
    // Another voter flag is not a change of who is admitted.
    expect(peers.update([...bootstrap, { ...added, voter: true }])).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('logs a committed member with no key, and admits the others', () => {
    const { peers, calls, lines } = harness();
    peers.update([...bootstrap, { id: memberId('10.0.0.5'), kind: 'site' }]);
    expect(calls.map(ids)).toEqual([['10.0.0.2', '10.0.0.3']]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', obj: { members: ['10.0.0.5'] } }));
  });

  it('keeps the previous peers and keys when the transport refuses the list', () => {
    const { peers, calls, lines } = harness(true);
    expect(peers.update([...bootstrap, added])).toBe(false);
    expect(calls).toEqual([]);
    expect(peers.publicKeyOf('10.0.0.4')).toBeUndefined();
    expect(publicKeyToRaw(peers.publicKeyOf('10.0.0.3')!)).toEqual(keyOf(3));
    expect(lines.find((l) => l.level === 'error')?.msg).toMatch(/committed members not admitted/);
  });
});
