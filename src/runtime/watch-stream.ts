// `tollbooth watch` on the server side (issue 13, item 4): a client that
// sends `{"op":"watch"}` on the admin socket gets one line saying what it
// watches, then one JSON line per event (src/runtime/formation-events.ts)
// until it disconnects. A client that does not read is cut off once
// watchBacklogBytesMax bytes wait for it: the member never buffers without
// bound, and never waits for a watcher.

import type { AdminStream } from '../ports/admin-stream.js';
import type { FormationEvents } from './formation-events.js';

/** Bytes that may wait for one slow watcher before it is disconnected. */
export const watchBacklogBytesMax = 1024 * 1024;
/** Watchers served at once by one member. */
export const watchersMax = 32;

/** True when `body` asks to watch. */
export function isWatchRequest(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { op?: unknown }).op === 'watch';
}

export function serveWatch(events: FormationEvents, self: string, stream: AdminStream): void {
  if (events.listenerCount >= watchersMax + 4) {
    // + 4: the metrics, the alert hooks, the status page's record of recent events and its live pages (one listener for all) listen too.
    stream.write(JSON.stringify({ ok: false, code: 'busy', message: `${watchersMax} watchers already`, answeredBy: self }));
    stream.close();
    return;
  }
  stream.write(JSON.stringify({ ok: true, message: 'watching', answeredBy: self }));
  const stop = events.subscribe((e) => {
    if (stream.backlogBytes > watchBacklogBytesMax) {
      stop();
      stream.close();
      return;
    }
    stream.write(JSON.stringify(e));
  });
  stream.onClose(stop);
}
