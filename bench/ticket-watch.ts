// Waits for a site's ticket sink file (<state-dir>/tickets/<name>.json, see
// src/adapters/file-ticket-sink.ts) to reach a state, and tells when: the
// time is taken on the bench's monotonic clock when inotify reports the
// file's atomic rename (fs.watch on the directory), so the figure is the
// sink's write, not the next poll of a status call. A slow poll (pollMs)
// backs the watch up in case an event is missed; hits found that way are
// marked `via: 'poll'` and carry up to pollMs of extra latency.

import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { FileTicketSink, readTicketFile, type FileTicketState } from '../src/adapters/pacemaker/file-ticket-sink.js';
import { nowMs } from './clock.js';

export interface TicketFileHit {
  /** Monotonic ms (bench clock) when the change was seen. */
  readonly at: number;
  readonly state: FileTicketState;
  readonly via: 'watch' | 'poll';
}

export class TicketFileWatch {
  private readonly watcher: FSWatcher;
  private readonly poller: NodeJS.Timeout;
  private readonly path: string;
  private hit: TicketFileHit | null = null;
  private waiter: ((h: TicketFileHit) => void) | null = null;
  private closed = false;

  /** Starts watching at once: create the watch before causing the change. */
  constructor(
    dir: string,
    ticket: string,
    private readonly predicate: (s: FileTicketState) => boolean,
    pollMs = 100,
  ) {
    const file = FileTicketSink.fileName(ticket);
    this.path = join(dir, file);
    this.watcher = watch(dir, (_event, name) => {
      if (name === file) this.check(nowMs(), 'watch');
    });
    this.watcher.on('error', () => this.check(nowMs(), 'poll'));
    this.poller = setInterval(() => this.check(nowMs(), 'poll'), pollMs);
  }

  private check(at: number, via: TicketFileHit['via']): void {
    if (this.closed || this.hit !== null) return;
    void readTicketFile(this.path).then((state) => {
      if (this.closed || state === null || !this.predicate(state)) return;
      // Reads finish in about the order they started; keep the earliest time that showed the state.
      if (this.hit !== null && this.hit.at <= at) return;
      this.hit = { at, state, via };
      this.waiter?.(this.hit);
    });
  }

  /** Resolves with the first hit; rejects after deadlineMs or on abort. Closes the watch either way. */
  async done(what: string, deadlineMs: number, signal: AbortSignal): Promise<TicketFileHit> {
    try {
      if (this.hit !== null) return this.hit;
      return await new Promise<TicketFileHit>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)), deadlineMs);
        const onAbort = (): void => reject(new Error('interrupted'));
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiter = (h) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          // Let reads already in flight report an earlier time for the same change.
          setImmediate(() => resolve(this.hit ?? h));
        };
      });
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    clearInterval(this.poller);
  }
}
