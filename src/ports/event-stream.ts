// A stream of named events to one client that the server keeps open: the
// status page's server-sent events (src/runtime/status-stream.ts writes them,
// src/adapters/http-listener.ts serverSentEvents provides them over an HTTP
// response). As with AdminStream, `backlogBytes` tells how much the client
// has not read yet, so the producer drops a client that does not keep up.

export interface EventStream {
  /** Sends one event; `event` and `data` are single lines (JSON for data). */
  send(event: string, data: string): void;
  readonly backlogBytes: number;
  /** Drops the client at once (what it has not read is lost). */
  close(): void;
  onClose(listener: () => void): void;
}
