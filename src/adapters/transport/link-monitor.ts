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
// not pinged again. A connection whose muxer cannot ping (not yamux) is left
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

export class LinkMonitor {
  #timer: NodeJS.Timeout | null = null;
  readonly #inFlight = new WeakSet<Connection>();
  #unmonitored = 0;

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

  #pingAll(): void {
    for (const connection of this.o.connections()) {
      if (connection.status !== 'open' || this.#inFlight.has(connection)) continue;
      const muxer = muxerOf(connection);
      if (muxer === null) {
        this.#unmonitored += 1;
        continue;
      }
      this.#inFlight.add(connection);
      muxer.ping({ signal: AbortSignal.timeout(this.o.timeoutMs) }).then(
        (rttMs) => {
          this.#inFlight.delete(connection);
          // The same field libp2p's monitor set: peers() reports it.
          connection.rtt = rttMs;
        },
        (err: unknown) => {
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
