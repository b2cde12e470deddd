// A member's own rumors are signed when they first go out, not when they are
// published (src/core/gossip/rumors.ts, RumorStore.seal; docs/protocol.md §7,
// "Rumors are signed when first sent"). A leader applying a 1,000-ticket
// grant batch used to make 1,000 Ed25519 signatures in the commit's turn.
// Checked here, with a signer that counts its calls (the test hosts' stand-in
// signatures, test/support/fake-claim-auth.ts):
//  - publishing signs nothing; the first send signs once, and every later
//    copy carries the same signature, the one signing at publish time gave;
//  - a rumor superseded, or known by every member (its commit is in their
//    logs), before it goes out is never signed;
//  - what goes on the wire verifies at a receiver exactly as before, and a
//    relay's change to a sealed rumor still fails the check;
//  - a received rumor is passed on with its origin's signature, never re-signed.
import { describe, expect, it } from 'vitest';
import { swimPresets } from '../../../src/core/gossip/config.js';
import type { Claim, ClaimAuthenticator, Rumor, RumorClaim } from '../../../src/core/gossip/messages.js';
import { RumorStore } from '../../../src/core/gossip/rumors.js';
import { SwimNode } from '../../../src/core/gossip/swim-node.js';
import { SeededRandom } from '../../../src/core/random.js';
import { memberId, ms, type MemberId } from '../../../src/core/types.js';
import { fakeClaimAuth, fakeClaimSig } from '../../support/fake-claim-auth.js';

const [m1, m2, m3] = ['m1', 'm2', 'm3'].map(memberId) as [MemberId, MemberId, MemberId];
const kinds = { ticket: { priority: 50 } };
const limits = { rumorsMax: 100_000, rumorKeyCharsMax: 256 };

/** The stand-in signer of `self`, counting the rumors it signs. */
function countingAuth(self: MemberId): ClaimAuthenticator & { readonly signed: Claim[] } {
  const inner = fakeClaimAuth(self);
  const signed: Claim[] = [];
  return {
    signed,
    sign(c) {
      if (c.about === 'rumor') signed.push(c);
      return inner.sign(c);
    },
    verify: (c, sig) => inner.verify(c, sig),
  };
}

function claimOf(r: RumorClaim): Claim {
  return { about: 'rumor', kind: r.kind, key: r.key, version: r.version, origin: r.origin, payload: r.payload };
}

describe('RumorStore: own rumors are signed when first sealed', () => {
  it('publish signs nothing; seal signs once, with the signature publishing used to make', () => {
    const auth = countingAuth(m1);
    const store = new RumorStore(kinds, limits, auth);
    const q = store.publish(m1, 'ticket', 't1', 7, { holder: 'site1' })!;
    expect(auth.signed).toHaveLength(0);
    expect(q.rumor.sig).toBeNull();
    const wire = store.seal(q.rumor);
    expect(wire.sig).toBe(fakeClaimSig(claimOf(wire)));
    expect(store.seal(q.rumor)).toBe(wire);
    expect(auth.signed).toHaveLength(1);
    // The store holds the signed rumor: republishing the same version queues it signed.
    expect(store.publish(m1, 'ticket', 't1', 7, { holder: 'ignored' })!.rumor.sig).toBe(wire.sig);
    expect(auth.signed).toHaveLength(1);
  });

  it('a value superseded before it was sealed is never signed; a received rumor keeps its signature', () => {
    const auth = countingAuth(m1);
    const store = new RumorStore(kinds, limits, auth);
    store.publish(m1, 'ticket', 't1', 1, { holder: 'site1' });
    const newer = store.publish(m1, 'ticket', 't1', 2, { holder: 'site2' })!;
    store.seal(newer.rumor);
    expect(auth.signed.map((c) => (c.about === 'rumor' ? c.version : -1))).toEqual([2]);
    const theirs: Rumor = { kind: 'ticket', key: 't2', version: 3, origin: m2, payload: { holder: 'site2' }, sig: '' };
    const received = store.receive({ ...theirs, sig: fakeClaimSig(claimOf(theirs)) }, () => true);
    expect(typeof received).toBe('object');
    const sealed = store.seal((received as { rumor: Rumor }).rumor);
    expect(sealed.sig).toBe(fakeClaimSig(claimOf(theirs)));
    expect(auth.signed).toHaveLength(1);
  });
});

describe('SwimNode: signatures follow what is sent', () => {
  function leader(auth: ClaimAuthenticator, rumorKnown: (m: MemberId, r: RumorClaim) => boolean): SwimNode {
    return new SwimNode({ self: m1, members: [m1, m2, m3], timing: swimPresets.lan, now: ms(0), rumorKinds: kinds, rumorKnown }, { random: new SeededRandom(3), auth });
  }

  /** Runs `node` for `untilMs`, acking its pings; every rumor it sends, by receiver. */
  function run(node: SwimNode, untilMs: number): Map<MemberId, Rumor[]> {
    const sent = new Map<MemberId, Rumor[]>();
    for (let t = 0; t <= untilMs; t += 50) {
      node.tick(ms(t));
      for (const e of node.ready().messages) {
        sent.set(e.to, [...(sent.get(e.to) ?? []), ...e.msg.rumors]);
        if (e.msg.type === 'ping') node.onMessage(e.to, { type: 'ack', seq: e.msg.seq, updates: [], rumors: [] }, ms(t));
      }
    }
    return sent;
  }

  it('1,000 published rumors every member has by other means cost no signature', () => {
    const auth = countingAuth(m1);
    const node = leader(auth, () => true);
    for (let i = 0; i < 1_000; i++) node.piggyback('ticket', `t${i}`, 10, { holder: 'site1' });
    expect(auth.signed).toHaveLength(0);
    const sent = run(node, 5_000);
    expect([...sent.values()].flat()).toEqual([]);
    expect(auth.signed).toHaveLength(0);
    expect(node.view().queueLength).toBe(0);
  });

  it('rumors a member lacks are signed once each, however often they are sent, and verify at the receiver', () => {
    const auth = countingAuth(m1);
    // m2's log holds the commit; m3's does not.
    const node = leader(auth, (m) => m === m2);
    for (let i = 0; i < 40; i++) node.piggyback('ticket', `t${i}`, 10, { holder: 'site1', i });
    const sent = run(node, 10_000);
    expect(sent.get(m2) ?? []).toEqual([]);
    const toM3 = sent.get(m3) ?? [];
    const keys = new Set(toM3.map((r) => r.key));
    expect(keys.size).toBe(40);
    // Sent more than once each (retransmissions), signed once each.
    expect(toM3.length).toBeGreaterThan(40);
    expect(auth.signed).toHaveLength(40);
    const receiver = new RumorStore(kinds, limits, fakeClaimAuth(m3));
    for (const r of toM3) {
      expect(r.sig).toBe(fakeClaimSig(claimOf(r)));
      const json = JSON.parse(JSON.stringify(r)) as Rumor;
      expect(receiver.receive(json, () => true)).not.toBe('bad-signature');
      // A relay cannot change what the origin signed.
      expect(receiver.receive({ ...json, version: json.version + 1, payload: { holder: 'site9' } }, () => true)).toBe('bad-signature');
    }
  });
});
