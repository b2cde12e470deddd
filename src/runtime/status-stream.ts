// The status page's live updates (issue 13, item 5): server-sent events on
// `/events`. Each client gets every event the member reports (`formation`:
// the JSON line `tollbooth watch --json` prints) and, after a change, the
// page's <main> rendered again (`render`: {"html": ...}), so the browser only
// swaps in HTML the server escaped. A change is rendered once for all clients,
// at once for the first change and then at most every renderSpacingMs, so a
// burst of events costs a few renders, not one per event and client; and
// every refreshIntervalMs anyway, so that RTTs and leases stay current
// without events (this is also what tells a dead client from a quiet one).
//
// Bounded like `tollbooth watch`: at most statusStreamClientsMax clients
// (each is also one of the HTTP listener's connections), and a client that
// leaves more than statusStreamBacklogBytesMax unread is dropped; the member
// never buffers without bound and never waits for a browser. Nothing runs
// while no client is connected.

import type { EventStream } from '../ports/event-stream.js';
import { renderStatusMain } from './status-page.js';
import type { StatusSource } from './status-snapshot.js';

/** Browsers kept live at once by one member; the HTTP listener's other connections stay free for scrapers. */
export const statusStreamClientsMax = 16;
/** Bytes that may wait for one slow client before it is dropped (a few renders of a full page). */
export const statusStreamBacklogBytesMax = 512 * 1024;
/** Least time between two renders caused by events, ms. */
export const statusRenderSpacingMsDefault = 100;
/** A render without events this often, ms: RTTs and lease figures refresh, and dead clients are found. */
export const statusRefreshIntervalMsDefault = 2_000;

export interface StatusStreamComponents {
  readonly source: StatusSource;
  /** Monotonic ms (for the spacing of renders). */
  readonly nowMs: () => number;
  readonly renderSpacingMs?: number;
  readonly refreshIntervalMs?: number;
  /** A render that threw (a bug): logged by the caller; the clients keep their last page. */
  readonly onError?: (err: unknown) => void;
}

export class StatusStream {
  private readonly clients = new Set<EventStream>();
  private unsubscribe: (() => void) | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private renderTimer: NodeJS.Timeout | null = null;
  private lastRenderAt = Number.NEGATIVE_INFINITY;
  private renders = 0;

  constructor(private readonly c: StatusStreamComponents) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Renders sent since start (each to every client then connected). */
  get renderCount(): number {
    return this.renders;
  }

  /** Starts streaming to `client` with the page as it is now; false (nothing sent) when statusStreamClientsMax are connected. */
  serve(client: EventStream): boolean {
    if (this.clients.size >= statusStreamClientsMax) return false;
    this.clients.add(client);
    client.onClose(() => this.drop(client));
    if (this.unsubscribe === null) {
      this.unsubscribe = this.c.source.subscribe((e) => {
        this.broadcast('formation', JSON.stringify(e));
        this.scheduleRender();
      });
      this.refreshTimer = setInterval(() => this.render(), this.c.refreshIntervalMs ?? statusRefreshIntervalMsDefault);
      this.refreshTimer.unref();
    }
    const page = this.rendered();
    if (page !== null) this.sendTo(client, 'render', page);
    return true;
  }

  /** Drops every client and stops. */
  close(): void {
    for (const client of [...this.clients]) client.close();
    this.stopIfIdle(true);
  }

  private drop(client: EventStream): void {
    this.clients.delete(client);
    this.stopIfIdle(false);
  }

  private stopIfIdle(force: boolean): void {
    if (this.clients.size > 0 && !force) return;
    this.clients.clear();
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (this.renderTimer !== null) clearTimeout(this.renderTimer);
    this.refreshTimer = null;
    this.renderTimer = null;
  }

  /** Events call this synchronously from the pump: the render itself runs later, off the pump's turn. */
  private scheduleRender(): void {
    if (this.renderTimer !== null) return;
    const spacing = this.c.renderSpacingMs ?? statusRenderSpacingMsDefault;
    const waitMs = Math.max(0, this.lastRenderAt + spacing - this.c.nowMs());
    this.renderTimer = setTimeout(() => {
      this.renderTimer = null;
      this.render();
    }, waitMs);
    this.renderTimer.unref();
  }

  private render(): void {
    if (this.clients.size === 0) return;
    const page = this.rendered();
    if (page !== null) this.broadcast('render', page);
  }

  private rendered(): string | null {
    try {
      const data = JSON.stringify({ html: renderStatusMain(this.c.source.snapshot()).text });
      this.lastRenderAt = this.c.nowMs();
      this.renders += 1;
      return data;
    } catch (err) {
      this.c.onError?.(err);
      return null;
    }
  }

  private broadcast(event: string, data: string): void {
    for (const client of [...this.clients]) this.sendTo(client, event, data);
  }

  private sendTo(client: EventStream, event: string, data: string): void {
    if (client.backlogBytes > statusStreamBacklogBytesMax) {
      // It has not read the last few renders: it would only fall further behind.
      client.close();
      this.drop(client);
      return;
    }
    client.send(event, data);
  }
}
