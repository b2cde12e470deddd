// The admin socket's streaming answer (`tollbooth watch`): what the host side
// (src/runtime/watch-stream.ts) writes to, and the adapter
// (src/adapters/admin-socket.ts) provides over one UNIX-socket connection.

/**
 * A connection the server keeps open to stream lines (`tollbooth watch`):
 * write one line at a time; `backlogBytes` tells how much the client has not
 * read yet, so the producer can drop a client that does not keep up rather
 * than buffer without bound.
 */
export interface AdminStream {
  write(line: string): void;
  readonly backlogBytes: number;
  close(): void;
  onClose(listener: () => void): void;
}
