// The HTTP side of what operators watch (issue 13), for a member started with
// `--http`: the listener (src/adapters/http-listener.ts) serving the metrics
// (src/runtime/metrics.ts), the status page `/` (src/runtime/status-page.ts),
// `/state.json` (src/runtime/status-snapshot.ts) and its live updates,
// `/events` (src/runtime/status-stream.ts). observe.ts imports this module
// only when `--http` is given: node:http, prom-client and the page are a good
// part of what a member would otherwise load before its admin socket answers
// (issue 15, item 2).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttp, sendText, serverSentEvents } from '../src/adapters/http-listener.js';
import { parseHttpListen } from '../src/adapters/http-listen-address.js';
import type { FormationEvents } from '../src/runtime/formation-events.js';
import { memberMetrics } from '../src/runtime/metrics.js';
import { tollboothVersion } from '../src/cli/version.js';
import { describeCause } from '../src/cli/admin-client.js';
import type { AlertQueue } from '../src/runtime/alert-hooks.js';
import { renderStatusPage, statusPageCsp } from '../src/runtime/status-page.js';
import { StatusFeed } from '../src/runtime/status-snapshot.js';
import type { MemberReadings } from '../src/runtime/member-readings.js';
import { StatusStream, statusStreamClientsMax } from '../src/runtime/status-stream.js';
import type { ObservationComponents, ServedHttp } from './observe.js';

/** Serves the metrics and the status page on `http` (ADDRESS:PORT); a bad or busy address throws HttpListenError. */
export async function serveHttp(c: ObservationComponents, events: FormationEvents, alerts: AlertQueue | null, http: string): Promise<ServedHttp> {
  const listen = parseHttpListen(http);
  const readings: MemberReadings = {
    self: c.self,
    kind: c.kind,
    formation: c.formation,
    version: tollboothVersion(),
    pump: c.pump,
    transport: c.transport,
    clock: c.clock,
    events,
    tickets: () => c.admin.views(c.pump.core.tickets(), true),
  };
  const metrics = memberMetrics({
    ...readings,
    ...(c.siteCounters === undefined ? {} : { siteCounters: c.siteCounters }),
    ...(alerts === null ? {} : { alertHandler: () => alerts.counts() }),
  });
  const status = new StatusFeed({
    ...readings,
    wallClockMs: () => Date.now(),
    // Who caused each history entry in the CLI's words (`tollbooth history`): the verified requester, or auto's reason.
    describeCause,
  });
  const live = new StatusStream({ source: status, nowMs: () => c.clock.now(), onError: (err) => c.log.error({ err }, 'status page render failed') });
  const server = await listenHttp(
    listen,
    {
      // Compressed when the scraper accepts it (Prometheus does): the text is repetitive, 1.7 MiB → 85 KiB at 10 000 tickets.
      '/metrics': async (req, res) => sendText(req, res, { 'content-type': metrics.contentType }, await metrics.text()),
      '/': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': statusPageCsp, ...noStore }).end(renderStatusPage(status.snapshot()));
      },
      '/state.json': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...noStore }).end(`${JSON.stringify(status.snapshot())}\n`);
      },
      '/events': (req, res) => serveEvents(live, req, res),
    },
    (err) => c.log.warn({ err }, 'http request failed'),
  );
  const addr = server.address();
  const bound = addr !== null && typeof addr === 'object' ? { host: addr.address, port: addr.port } : { host: listen.host, port: listen.port };
  c.log.info({ http: bound }, 'serving /metrics and the status page');
  return {
    bound,
    closeFeeds: () => {
      live.close();
      status.stop();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const noStore = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/** `/events`: one more live page, or 503 when statusStreamClientsMax are served (the browser retries). */
function serveEvents(live: StatusStream, req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'HEAD') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...noStore }).end();
    return;
  }
  if (live.clientCount >= statusStreamClientsMax) {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end(`${statusStreamClientsMax} live pages already served here\n`);
    return;
  }
  live.serve(serverSentEvents(req, res));
}
