// Rumors: versioned payloads that other modules disseminate through gossip
// (committed ticket state, site health; SwimNode.piggyback). One store per
// member keeps the newest value per (kind, key), bounded by rumorsMax; the
// node puts what is new into the broadcast queue.
//
// This member's own rumors are signed when they first go out (seal), not when
// published: a leader applying a batch of 1,000 grants used to make 1,000
// Ed25519 signatures in the commit's turn (docs/benchmarks.md, "## 10 000
// tickets"), though most of those rumors never leave the queue — the members
// whose logs hold the commit have them (dissemination.ts), and a newer value
// or an eviction can replace one first. What goes on the wire is signed
// exactly as before; a received rumor keeps its origin's signature.

import { assert, type MemberId } from '../types.js';
import type { SwimLimits } from './config.js';
import { isCount, type ClaimAuthenticator, type Rumor, type RumorClaim, type SwimRejectReason } from './messages.js';

export interface RumorKind {
  /** Queue priority of this kind's rumors: higher goes first (membership updates: memberUpdatePriority). */
  readonly priority: number;
}

/**
 * A rumor as this member keeps it (store and broadcast queue): a received one
 * with its origin's signature; this member's own with `sig` null until it is
 * first sent (RumorStore.seal), then with its signature, made once.
 */
export interface StoredRumor extends RumorClaim {
  sig: string | null;
}

/** A rumor to put in the broadcast queue, with its priority there. */
export interface RumorToQueue<R extends StoredRumor = StoredRumor> {
  readonly rumor: R;
  readonly priority: number;
}

export class RumorStore {
  /** By storeKey(kind, key). */
  private readonly rumors = new Map<string, StoredRumor>();
  private readonly kinds: ReadonlyMap<string, RumorKind>;

  constructor(
    kinds: Readonly<Record<string, RumorKind>>,
    private readonly limits: Pick<SwimLimits, 'rumorsMax' | 'rumorKeyCharsMax'>,
    private readonly auth: ClaimAuthenticator,
  ) {
    this.kinds = new Map(Object.entries(kinds));
  }

  /** The newest rumor known for (kind, key), ours or received. */
  get(kind: string, key: string): StoredRumor | undefined {
    return this.rumors.get(storeKey(kind, key));
  }

  /**
   * This member's value `payload` for (kind, key) at `version`, as `origin`
   * (SwimNode.piggyback documents the rules), unsigned until seal(): the
   * rumor to queue, or null when refused (an older version, or a new key with
   * the store full). The same version as the known one queues the known
   * rumor again.
   */
  publish(origin: MemberId, kind: string, key: string, version: number, payload: unknown, priority?: number): RumorToQueue | null {
    const k = this.kinds.get(kind);
    assert(k !== undefined, `rumor kind ${kind} is not registered`);
    assert(Number.isSafeInteger(version) && version >= 0, 'rumor version must be a non-negative integer');
    assert(key.length <= this.limits.rumorKeyCharsMax, 'rumor key too long');
    const rk = storeKey(kind, key);
    const known = this.rumors.get(rk);
    if (known !== undefined && version < known.version) return null;
    let rumor = known;
    if (known === undefined || version > known.version) {
      if (known === undefined && this.rumors.size >= this.limits.rumorsMax) return null;
      rumor = { kind, key, version, origin, payload, sig: null };
      this.rumors.set(rk, rumor);
    }
    return { rumor: rumor!, priority: priority ?? k.priority };
  }

  /**
   * A rumor from the wire: the rumor to queue (and hand to the host) when it
   * is newer than the known one and properly signed; null when it is not
   * newer; otherwise why it is refused. The signature is checked last, so
   * that the many redundant copies gossip produces cost no check.
   */
  receive(r: Rumor, isMember: (id: MemberId) => boolean): RumorToQueue<Rumor> | SwimRejectReason | null {
    if (typeof r.kind !== 'string' || typeof r.key !== 'string' || typeof r.sig !== 'string' || !isCount(r.version)) return 'bad-field';
    if (r.key.length > this.limits.rumorKeyCharsMax) return 'bad-field';
    const kind = this.kinds.get(r.kind);
    if (kind === undefined) return 'unknown-kind';
    if (!isMember(r.origin)) return 'unknown-origin';
    const rk = storeKey(r.kind, r.key);
    const known = this.rumors.get(rk);
    if (known !== undefined && r.version <= known.version) return null;
    if (known === undefined && this.rumors.size >= this.limits.rumorsMax) return 'rumors-full';
    const claim: RumorClaim = { kind: r.kind, key: r.key, version: r.version, origin: r.origin, payload: r.payload };
    if (!this.auth.verify({ about: 'rumor', ...claim }, r.sig)) return 'bad-signature';
    const rumor: Rumor = { ...claim, sig: r.sig };
    this.rumors.set(rk, rumor);
    return { rumor, priority: kind.priority };
  }

  /**
   * The rumor as it goes on the wire: signed by its origin. This member's own
   * rumor is signed here the first time it is sent and keeps that signature
   * (the store and the queue hold the same object); a received one already
   * carries its origin's.
   */
  seal(r: StoredRumor): Rumor {
    if (r.sig === null) {
      r.sig = this.auth.sign({ about: 'rumor', kind: r.kind, key: r.key, version: r.version, origin: r.origin, payload: r.payload });
      assert(typeof r.sig === 'string', 'the authenticator returned no signature');
    }
    return r as Rumor;
  }
}

function storeKey(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}
