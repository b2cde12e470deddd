// The transport's member peers, checked and compared (issue 11: members added
// and removed at runtime). One check serves the constructor and setPeers(), so
// a peer list refused at start is refused at runtime with the same error, and
// a list that fails the check changes nothing: the check runs, in full, before
// the transport touches any of its state. planPeerChange() says what a new
// list changes against the current one: members to admit, members to drop,
// and members whose address moved. A member whose key changed is dropped and
// admitted again (its libp2p peer id is its key), never re-keyed in place.
import { Buffer } from 'node:buffer';
import { isIPv4, isIPv6 } from 'node:net';
import { publicKeyFromRaw as libp2pPublicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { PeerId } from '@libp2p/interface';
import type { MemberId } from '../../core/types.js';
import { memberIdBytesMax } from '../../wire/envelope.js';
import { ed25519PublicKeyBytes } from '../../wire/signer.js';
import { TollboothError } from '../../errors.js';

export interface TransportPeer {
  readonly id: MemberId;
  /** IPv4 or IPv6 literal (brackets allowed) or a host name, resolved when dialled. */
  readonly host: string;
  readonly port: number;
  /** The member's raw 32-byte Ed25519 public key, from the formation config. */
  readonly publicKey: Uint8Array;
}

export class TransportConfigError extends TollboothError<'TRANSPORT_CONFIG'> {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super('TRANSPORT_CONFIG', message, { details: { field } });
  }
}

export function checkPort(port: number, field: string, allowZero: boolean): void {
  if (!Number.isSafeInteger(port) || port < (allowZero ? 0 : 1) || port > 65_535) {
    throw new TransportConfigError(`${field} must be a TCP port, got ${port}`, field);
  }
}

/** The multiaddr for a host and TCP port: /ip4, /ip6 or /dns. */
export function tcpMultiaddr(host: string, port: number): Multiaddr {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv4(bare)) return multiaddr(`/ip4/${bare}/tcp/${port}`);
  if (isIPv6(bare)) return multiaddr(`/ip6/${bare}/tcp/${port}`);
  return multiaddr(`/dns/${bare}/tcp/${port}`);
}

/** A member peer that passed checkPeers: its key as hex, its libp2p peer id and the address it is dialled at. */
export interface CheckedPeer {
  readonly peer: TransportPeer;
  readonly keyHex: string;
  readonly peerId: PeerId;
  readonly address: Multiaddr;
}

/**
 * Checks a member list: 32-byte keys, this member's own entry (skipped) with
 * the key of its seed, ids of 1–memberIdBytesMax bytes listed once, no key
 * shared, TCP ports. Throws TransportConfigError naming the first problem.
 */
export function checkPeers(self: MemberId, selfKeyHex: string, peers: readonly TransportPeer[]): CheckedPeer[] {
  const checked: CheckedPeer[] = [];
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  for (const peer of peers) {
    const keyHex = Buffer.from(peer.publicKey).toString('hex');
    if (peer.publicKey.byteLength !== ed25519PublicKeyBytes) {
      throw new TransportConfigError(`peer ${peer.id}: public key must be ${ed25519PublicKeyBytes} bytes`, 'peers.publicKey');
    }
    if (peer.id === self) {
      if (keyHex !== selfKeyHex) {
        throw new TransportConfigError(`the configured public key of ${peer.id} (this member) does not match its seed`, 'peers.publicKey');
      }
      continue;
    }
    if (peer.id.length === 0 || Buffer.byteLength(peer.id, 'utf8') > memberIdBytesMax) {
      throw new TransportConfigError(`peer id ${JSON.stringify(peer.id)} must be 1–${memberIdBytesMax} bytes`, 'peers.id');
    }
    if (seenIds.has(peer.id)) throw new TransportConfigError(`peer ${peer.id} listed twice`, 'peers.id');
    if (seenKeys.has(keyHex) || keyHex === selfKeyHex) {
      throw new TransportConfigError(`peer ${peer.id} shares its public key with another member`, 'peers.publicKey');
    }
    seenIds.add(peer.id);
    seenKeys.add(keyHex);
    checkPort(peer.port, `peers.${peer.id}.port`, false);
    const peerId = peerIdFromPublicKey(libp2pPublicKeyFromRaw(peer.publicKey));
    checked.push({ peer, keyHex, peerId, address: tcpMultiaddr(peer.host, peer.port).encapsulate(`/p2p/${peerId.toString()}`) });
  }
  return checked;
}

/** What a new member list changes against the current one. */
export interface PeerChange {
  readonly added: readonly CheckedPeer[];
  readonly removed: readonly MemberId[];
  /** Same id and key, another host or port. */
  readonly readdressed: readonly CheckedPeer[];
}

/** The change from `current` (by id: key and address) to the checked list `next`. */
export function planPeerChange(current: ReadonlyMap<MemberId, { readonly peer: TransportPeer; readonly peerId: PeerId }>, next: readonly CheckedPeer[]): PeerChange {
  const byId = new Map(next.map((c) => [c.peer.id, c]));
  const added: CheckedPeer[] = [];
  const removed: MemberId[] = [];
  const readdressed: CheckedPeer[] = [];
  for (const [id, now] of current) {
    const c = byId.get(id);
    if (c === undefined || !c.peerId.equals(now.peerId)) removed.push(id);
    else if (c.peer.host !== now.peer.host || c.peer.port !== now.peer.port) readdressed.push(c);
  }
  for (const c of next) {
    const now = current.get(c.peer.id);
    if (now === undefined || !c.peerId.equals(now.peerId)) added.push(c);
  }
  return { added, removed, readdressed };
}
