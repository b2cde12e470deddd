// The link monitor: notices a hung peer (its process stopped, or the path to
// it silently dropping packets) and closes the connection, so that frames
// stop going into a dead socket and the redial loop takes over (stack.md,
// gotcha 3). It replaces libp2p's connection monitor (issue 15, item 1).
//
// libp2p's monitor pings by opening a new stream per connection per period:
// a yamux SYN, a multistream-select negotiation, a peer-store update at both
// ends, 32 bytes each way, and a FIN each way — about ten encrypted messages
// and two dozen TCP segments per ping. With a 1 s period on every link that
// was 45 % of an idle formation's TCP segments and a third of an idle site
// agent's CPU (docs/benchmarks.md, "Idle footprint"). yamux has pings of its
// own, one 12-byte frame each way on the connection's stream 0, answered by
// the peer's muxer as soon as it reads them — exactly as alive as the peer's
// event loop, which is what a hung peer lacks. Same period, same timeout, same
// verdict (close the connection); one frame each way instead of ~20.
//
// One timer for every connection; a connection whose ping is still out is
// not pinged again. A connection that delivered an authenticated frame within
// the last period (`lastHeardAt`) is not pinged either: that frame showed the
// peer's event loop and the path alive more recently than a ping would
// (issue 15, item 1: between a Raft leader and its followers the heartbeats
// flow both ways several times a period, so those links carry no pings at
// all). The price is the bound on noticing a hang: the last frame may come
// just before it, so a hung peer is noticed within 2 × intervalMs +
// timeoutMs (3 s at the defaults) rather than intervalMs + timeoutMs. Raft's
// and SWIM's own failure detection do not depend on this monitor; it only
// stops frames going into a dead socket and hands the link to the redial loop. A connection whose muxer cannot ping (not yamux) is left
// alone and counted in `unmonitored`, so that a library change shows up in
// the tests rather than as a silent loss of hung-peer detection.

import type { Connection } from '@libp2p/interface';

export interface LinkMonitorOptions {
  /** How often every open connection is pinged, ms. */
  readonly intervalMs: number;
  /** A ping unanswered this long closes its connection, ms. */
  readonly timeoutMs: number;
  /** The connections to watch, asked at every period. */
  readonly connections: () => readonly Connection[];
  /** Called when a connection is closed for an unanswered ping. */
  readonly onHung: (connection: Connection, error: Error) => void;
  /**
   * When this connection last delivered an authenticated frame, on `clock`, or
   * null: a connection heard within the last intervalMs is not pinged. Absent: every connection is pinged.
   */
  readonly lastHeardAt?: (connection: Connection) => number | null;
  /** Monotonic ms for lastHeardAt. Default performance.now. */
  readonly clock?: () => number;
}

/** The yamux muxer's ping, as libp2p's Connection holds it (not part of the Connection interface). */
interface PingingMuxer {
  ping(options: { signal: AbortSignal }): Promise<number>;
}

function muxerOf(connection: Connection): PingingMuxer | null {
  const muxer = (connection as unknown as { muxer?: unknown }).muxer;
  if (typeof muxer !== 'object' || muxer === null) return null;
  return typeof (muxer as { ping?: unknown }).ping === 'function' ? (muxer as PingingMuxer) : null;
}

/**
 * A connection that carries frames is still pinged once in this many periods,
 * so that its round-trip time (peers, tollbooth_peer_rtt_seconds) stays
 * measured; its liveness needs no ping.
 */
export const busyPingEveryPeriods = 10;

export class LinkMonitor {
  #timer: NodeJS.Timeout | null = null;
  readonly #inFlight = new WeakSet<Connection>();
  readonly #pingedAt = new WeakMap<Connection, number>();
  #unmonitored = 0;
  #skipped = 0;

  constructor(private readonly o: LinkMonitorOptions) {
    if (!Number.isSafeInteger(o.intervalMs) || o.intervalMs <= 0) throw new RangeError(`intervalMs must be a positive integer, got ${o.intervalMs}`);
    if (!Number.isSafeInteger(o.timeoutMs) || o.timeoutMs <= 0) throw new RangeError(`timeoutMs must be a positive integer, got ${o.timeoutMs}`);
  }

  /** Connections seen that could not be pinged (their muxer has no ping). */
  get unmonitored(): number {
    return this.#unmonitored;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#pingAll(), this.o.intervalMs);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Connections not pinged in a period because they delivered a frame within it. */
  get skipped(): number {
    return this.#skipped;
  }

  #pingAll(): void {
    const now = (this.o.clock ?? performance.now.bind(performance))();
    for (const connection of this.o.connections()) {
      if (connection.status !== 'open' || this.#inFlight.has(connection)) continue;
      const heardAt = this.o.lastHeardAt?.(connection) ?? null;
      // A busy connection first seen now counts as pinged now: its first ping comes busyPingEveryPeriods later.
      if (!this.#pingedAt.has(connection)) this.#pingedAt.set(connection, now);
      const pingedAt = this.#pingedAt.get(connection)!;
      if (heardAt !== null && now - heardAt < this.o.intervalMs && now - pingedAt < busyPingEveryPeriods * this.o.intervalMs) {
        this.#skipped += 1;
        continue;
      }
      const muxer = muxerOf(connection);
      if (muxer === null) {
        this.#unmonitored += 1;
        continue;
      }
      this.#inFlight.add(connection);
      this.#pingedAt.set(connection, now);
      // A timer cleared on the answer (AbortSignal.timeout's timer would fire anyway, a second later).
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new Error(`no answer to a ping within ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
      muxer.ping({ signal: deadline.signal }).then(
        (rttMs) => {
          clearTimeout(timer);
          this.#inFlight.delete(connection);
          // The same field libp2p's monitor set: peers() reports it.
          connection.rtt = rttMs;
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.#inFlight.delete(connection);
          if (this.#timer === null || connection.status !== 'open') return;
          const error = err instanceof Error ? err : new Error(String(err));
          this.o.onHung(connection, error);
          connection.abort(error);
        },
      );
    }
  }
}
