// Who gets a slot for an inbound connection before it has said who it is
// (issue 12, item 3). libp2p admits a bounded number of connections in their
// upgrade phase (TCP accepted, Noise not done) and holds each up to its
// inboundUpgradeTimeout. Ten idle TCP sockets from anywhere, re-opened as
// they closed, used to fill every slot for good: a restarted member could not
// reconnect for tens of seconds, and remote admin timed out. No key is needed
// for that, only TCP. Three rules close it:
//
//  1. Members' addresses always get a slot. The transport puts every
//     configured member's IP address on libp2p's allow list, which bypasses
//     the pending-connection limit, the per-host rate limit and the
//     connection cap. A connection from a member's address still has to
//     authenticate as a configured key (the gater), within the ordinary
//     upgrade timeout.
//  2. Any other address — admin clients, and everyone who should not be
//     there — must finish the Noise handshake within handshakeTimeoutMs
//     (default 2 s, against libp2p's 10 s), or the connection is aborted. An
//     idle socket then costs a slot for 2 s, not 10.
//  3. Any other address may have at most pendingPerAddressMax connections in
//     that phase at once; beyond that it is refused at once. One host cannot
//     hold all the slots that are left for admin clients.
//
// This class is the bookkeeping of rules 2 and 3; the transport calls it from
// its connection gater: admit() on denyInboundConnection (straight after
// libp2p accepted the socket), authenticated() on
// denyInboundEncryptedConnection (Noise done: the key is known, whatever the
// gater then decides). Every refusal and abort is counted by reason.
import { getNetConfig, isNetworkAddress } from '@libp2p/utils';
import type { MultiaddrConnection } from '@libp2p/interface';
import { isIPv4 } from 'node:net';

/** How long a connection from an address that is not a member's may take to authenticate (ms). */
export const handshakeTimeoutMsDefault = 2_000;
/** Connections from one non-member address in their handshake at once. */
export const pendingPerAddressMaxDefault = 4;
/**
 * Connections from non-member addresses in their handshake at once (libp2p's
 * maxIncomingPendingConnections; its default is 10). With pendingPerAddressMax,
 * filling them takes pendingConnectionsMax / pendingPerAddressMax hosts.
 */
export const pendingConnectionsMaxDefault = 32;
/**
 * The upgrade timeout for members' addresses (libp2p's inboundUpgradeTimeout,
 * which also bounds the others before handshakeTimeoutMs): generous, since a
 * member's handshake may cross a slow WAN on a loaded machine.
 */
export const memberUpgradeTimeoutMsDefault = 10_000;

export type AdmissionOutcome = 'address-busy' | 'handshake-timeout';

export interface InboundAdmissionOptions {
  /** IP addresses of the configured members (IPv4 dotted or IPv6 text). */
  readonly memberHosts: Iterable<string>;
  readonly handshakeTimeoutMs?: number;
  readonly pendingPerAddressMax?: number;
  /** Called on every refusal or abort (for counting and rate-limited logs). */
  readonly onRefused?: (host: string, outcome: AdmissionOutcome) => void;
}

interface Pending {
  readonly host: string;
  timer: NodeJS.Timeout | null;
  done: boolean;
}

/** An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, a dual-stack listener's view of an IPv4 peer) as its IPv4 form. */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('::ffff:') && isIPv4(lower.slice(7))) return lower.slice(7);
  return lower;
}

export class InboundAdmission {
  readonly #members: ReadonlySet<string>;
  readonly #handshakeTimeoutMs: number;
  readonly #perAddressMax: number;
  readonly #onRefused: (host: string, outcome: AdmissionOutcome) => void;
  /** Pending connections per non-member host; an entry exists only while its count is above zero. */
  readonly #pendingByHost = new Map<string, number>();
  readonly #pending = new WeakMap<MultiaddrConnection, Pending>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #counts: Record<AdmissionOutcome, number> = { 'address-busy': 0, 'handshake-timeout': 0 };

  constructor(o: InboundAdmissionOptions) {
    this.#members = new Set([...o.memberHosts].map(normalizeHost));
    this.#handshakeTimeoutMs = o.handshakeTimeoutMs ?? handshakeTimeoutMsDefault;
    this.#perAddressMax = o.pendingPerAddressMax ?? pendingPerAddressMaxDefault;
    // The transport checked both (TransportConfigError); these are assertions.
    if (!(Number.isSafeInteger(this.#handshakeTimeoutMs) && this.#handshakeTimeoutMs > 0)) throw new Error(`handshakeTimeoutMs must be a positive integer, got ${this.#handshakeTimeoutMs}`);
    if (!(Number.isSafeInteger(this.#perAddressMax) && this.#perAddressMax > 0)) throw new Error(`pendingPerAddressMax must be a positive integer, got ${this.#perAddressMax}`);
    this.#onRefused = o.onRefused ?? (() => undefined);
  }

  /** Refusals and aborts so far, by reason. */
  counts(): Readonly<Record<AdmissionOutcome, number>> {
    return { ...this.#counts };
  }

  /** Non-member connections in their handshake now. */
  pendingCount(): number {
    let n = 0;
    for (const c of this.#pendingByHost.values()) n += c;
    return n;
  }

  isMemberHost(host: string): boolean {
    return this.#members.has(normalizeHost(host));
  }

  /** The gater's denyInboundConnection: true refuses. A member's address is always admitted (rule 1). */
  deny(maConn: MultiaddrConnection): boolean {
    const host = isNetworkAddress(maConn.remoteAddr) ? normalizeHost(getNetConfig(maConn.remoteAddr).host) : 'non-network';
    if (this.#members.has(host)) return false;
    const n = this.#pendingByHost.get(host) ?? 0;
    if (n >= this.#perAddressMax) {
      this.#refused(host, 'address-busy');
      return true;
    }
    this.#pendingByHost.set(host, n + 1);
    const p: Pending = { host, timer: null, done: false };
    this.#pending.set(maConn, p);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      p.timer = null;
      if (p.done) return;
      this.#release(p);
      this.#refused(host, 'handshake-timeout');
      maConn.abort(new Error(`no Noise handshake within ${this.#handshakeTimeoutMs} ms from ${host}, which is no member's address`));
    }, this.#handshakeTimeoutMs);
    p.timer = timer;
    this.#timers.add(timer);
    maConn.addEventListener('close', () => this.#release(p), { once: true });
    return false;
  }

  /** The gater's denyInboundEncryptedConnection saw this connection: its handshake is done, its slot is free. */
  authenticated(maConn: MultiaddrConnection): void {
    const p = this.#pending.get(maConn);
    if (p !== undefined) this.#release(p);
  }

  /** Clears every timer (the transport is stopping; libp2p closes the connections). */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#pendingByHost.clear();
  }

  #release(p: Pending): void {
    if (p.done) return;
    p.done = true;
    if (p.timer !== null) {
      clearTimeout(p.timer);
      this.#timers.delete(p.timer);
      p.timer = null;
    }
    const n = (this.#pendingByHost.get(p.host) ?? 1) - 1;
    if (n <= 0) this.#pendingByHost.delete(p.host);
    else this.#pendingByHost.set(p.host, n);
  }

  #refused(host: string, outcome: AdmissionOutcome): void {
    this.#counts[outcome] += 1;
    this.#onRefused(host, outcome);
  }
}
