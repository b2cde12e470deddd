// The keys a member admits follow the registry's committed configuration
// (issue 11: members added and removed at runtime, no file edit, no restart).
// The transport's member peers and gossip's claim keys are both made from
// the committed members (core Member.committedMembers()): a member the entry
// gives a key (one added by member add or replace, or by config apply) with
// that key; a member it gives none (one of the bootstrap formation) with the
// key the config file lists for it, as at bootstrap. The file also gives a
// member's port; one it does not list gets this member's port (booth has one
// port for every member). A committed member with no key anywhere cannot be
// admitted: it is logged, and left out.
//
// Nothing outside the committed configuration is admitted: once this runs
// (the composition root calls update() before the transport starts, and after
// every applied configuration entry and installed snapshot), a member the
// file lists but the registry removed is dropped, and one the registry added
// is admitted though no file lists it. A store just created from the file
// (a first start, or a wiped one) has the file's members as its committed
// configuration, so such a member starts from its file, as before.
//
// A list the transport refuses (TransportConfigError: a bad key) changes
// nothing, neither there nor here: logged as an error, tried again at the
// next change.
import { Buffer } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import type { Member, MemberId } from '../core/types.js';
import { parsePublicKey } from '../config/values.js';
import { publicKeyFromRaw } from '../wire/signer.js';

/** A member as the transport dials and admits it. */
export interface PeerAddress {
  readonly id: MemberId;
  readonly host: string;
  readonly port: number;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

export interface CommittedPeersLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CommittedPeersOptions {
  readonly self: MemberId;
  /** Every member the config file lists, this one included, with its port and key. */
  readonly file: readonly PeerAddress[];
  /** The port of a member the file does not list. */
  readonly port: number;
  /** The transport's setPeers (every member but this one); throws to refuse the list. */
  readonly setPeers: (peers: readonly PeerAddress[]) => void;
  readonly log: CommittedPeersLogger;
}

/** The raw key of a committed member's `key` (the canonical base64 of 32 bytes, as the config file's), or null when it is not one. */
function rawKey(base64: string): Uint8Array | null {
  const r = parsePublicKey(base64);
  return r.ok ? r.value : null;
}

/** The committed members as peers (see the file comment), and those that have no key to admit them with. */
export function peersOfCommitted(committed: readonly Member[], file: readonly PeerAddress[], port: number): { peers: PeerAddress[]; keyless: MemberId[] } {
  const listed = new Map(file.map((p) => [p.id, p]));
  const peers: PeerAddress[] = [];
  const keyless: MemberId[] = [];
  for (const m of committed) {
    const f = listed.get(m.id);
    const publicKey = m.key === undefined ? (f?.publicKey ?? null) : rawKey(m.key);
    if (publicKey === null) {
      keyless.push(m.id);
      continue;
    }
    peers.push({ id: m.id, host: f?.host ?? m.id, port: f?.port ?? port, publicKey });
  }
  return { peers, keyless };
}

/** One line per member: what the transport and gossip are given (a change of any of it is a change). */
function fingerprintOf(peers: readonly PeerAddress[]): string {
  return peers.map((p) => `${p.id} ${p.host} ${p.port} ${Buffer.from(p.publicKey).toString('base64')}`).join('\n');
}

export class CommittedPeers {
  readonly #o: CommittedPeersOptions;
  #fingerprint: string;
  #keys: ReadonlyMap<string, KeyObject>;

  /** Starts from the file (what the transport was built with) until the first update(). */
  constructor(o: CommittedPeersOptions) {
    this.#o = o;
    this.#fingerprint = fingerprintOf(o.file);
    this.#keys = new Map(o.file.map((p) => [p.id, publicKeyFromRaw(p.publicKey)]));
  }

  /** A member's claim key for gossip (this member's too); undefined for one that is not admitted. */
  publicKeyOf(id: string): KeyObject | undefined {
    return this.#keys.get(id);
  }

  /** Makes the transport's peers and gossip's keys those of `committed`; true when they changed. */
  update(committed: readonly Member[]): boolean {
    const { peers, keyless } = peersOfCommitted(committed, this.#o.file, this.#o.port);
    // The members left out count too: a member without a key is said once per configuration that has it.
    const fingerprint = [fingerprintOf(peers), ...keyless.map((k) => `${k} (no key)`)].join('\n');
    if (fingerprint === this.#fingerprint) return false;
    if (keyless.length > 0) {
      this.#o.log.warn({ members: keyless }, 'committed member with no key in its configuration entry nor in the config file: not admitted');
    }
    try {
      this.#o.setPeers(peers.filter((p) => p.id !== this.#o.self));
    } catch (err) {
      this.#o.log.error({ err: err instanceof Error ? err.message : String(err), members: peers.map((p) => p.id) }, 'committed members not admitted: the transport refused them; it keeps its previous peers');
      return false;
    }
    this.#fingerprint = fingerprint;
    this.#keys = new Map(peers.map((p) => [p.id, publicKeyFromRaw(p.publicKey)]));
    return true;
  }
}
