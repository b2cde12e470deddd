// The test hosts' stand-in for the runtime's Ed25519 claim signatures
// (src/wire/claim-signer.ts): a readable tag naming the signer and the exact
// claim. It keeps what the core relies on — a signature binds a claim to its
// originator, the same claim always gets the same signature (seeds replay),
// and a changed claim no longer verifies — without crypto, so the simulator
// stays fast. There is no adversary in these hosts; the runtime signer and
// its tests cover forgery.
import type { Claim, ClaimAuthenticator } from '../../src/core/gossip/messages.js';
import type { MemberId } from '../../src/core/types.js';

function canonical(c: Claim): string {
  return c.about === 'member'
    ? `member|${c.member}|${c.incarnation}|${c.state}|${c.origin}`
    : `rumor|${c.kind}|${c.key}|${c.version}|${c.origin}|${JSON.stringify(c.payload)}`;
}

export function fakeClaimSig(c: Claim): string {
  return `signed-by:${c.origin}:${canonical(c)}`;
}

/** Signs only for `self` (the core must never ask for another member's signature). */
export function fakeClaimAuth(self: MemberId): ClaimAuthenticator {
  return {
    sign(c) {
      if (c.origin !== self) throw new Error(`${self} was asked to sign a claim by ${c.origin}`);
      return fakeClaimSig(c);
    },
    verify: (c, sig) => sig === fakeClaimSig(c),
  };
}
