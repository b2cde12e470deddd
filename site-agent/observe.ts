// Composition of what operators watch (issue 13) in a member process: the
// event stream (src/runtime/formation-events.ts), and with `--http` the
// listener (src/adapters/http-listener.ts) serving the metrics
// (src/runtime/metrics.ts) and the status page: `/` (src/runtime/status-page.ts),
// `/state.json` (src/runtime/status-snapshot.ts) and its live updates,
// `/events` (src/runtime/status-stream.ts).

import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttp, parseHttpListen, HttpListenError, serverSentEvents } from '../src/adapters/http-listener.js';
import type { MonotonicClock, Transport } from '../src/ports/ports.js';
import type { AdminService } from '../src/runtime/admin-service.js';
import { FormationEvents, type GuardianSample } from '../src/runtime/formation-events.js';
import { memberMetrics, type SiteCounters } from '../src/runtime/metrics.js';
import type { Pump } from '../src/runtime/pump.js';
import { tollboothVersion } from '../src/cli/version.js';
import { describeCause } from '../src/cli/admin-client.js';
import { AlertQueue } from '../src/runtime/alert-hooks.js';
import { renderStatusPage, statusPageCsp } from '../src/runtime/status-page.js';
import { StatusFeed } from '../src/runtime/status-snapshot.js';
import type { MemberReadings } from '../src/runtime/member-readings.js';
import { StatusStream, statusStreamClientsMax } from '../src/runtime/status-stream.js';
import { runAlertHandler } from '../src/adapters/alert-handler.js';
import { checkHandlerPath, type HandlerCommand } from '../src/adapters/pacemaker/handlers.js';

export interface ObservationComponents {
  readonly self: string;
  readonly kind: 'site' | 'arbitrator';
  readonly formation: string;
  readonly pump: Pump;
  readonly transport: Transport;
  readonly clock: MonotonicClock;
  readonly admin: AdminService;
  readonly log: Logger;
  readonly guardian?: () => GuardianSample | null;
  readonly siteCounters?: SiteCounters;
  /** `tollbooth-alert-handler` and `tollbooth-alert-timeout`, when set. */
  readonly alertHandler?: { readonly command: HandlerCommand; readonly timeoutMs: number };
}

export interface Observation {
  readonly events: FormationEvents;
  /** The alert handler's queue, when one is configured. */
  readonly alerts: AlertQueue | null;
  /** The address the HTTP listener is bound to, when there is one. */
  readonly http: { host: string; port: number } | null;
  stop(): Promise<void>;
}

/** Starts the event stream, and the HTTP listener when `http` is set; a bad or busy address throws HttpListenError. */
export async function startObservation(c: ObservationComponents, http: string | undefined): Promise<Observation> {
  const events = new FormationEvents({
    self: c.self,
    pump: c.pump,
    wallClockMs: () => Date.now(),
    ...(c.guardian === undefined ? {} : { guardian: c.guardian }),
    onListenerError: (err) => c.log.error({ err }, 'event listener failed'),
  });
  const alerts = c.alertHandler === undefined ? null : await alertQueue(c, c.alertHandler);
  if (alerts !== null) events.subscribe((e) => alerts.push(e));
  events.start();
  let server: Server | null = null;
  let feed: StatusFeed | null = null;
  let stream: StatusStream | null = null;
  let bound: { host: string; port: number } | null = null;
  if (http !== undefined) {
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
    const registry = memberMetrics({
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
    feed = status;
    stream = live;
    server = await listenHttp(
      listen,
      {
        '/metrics': async (_req, res) => {
          const text = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType }).end(text);
        },
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
    bound = addr !== null && typeof addr === 'object' ? { host: addr.address, port: addr.port } : { host: listen.host, port: listen.port };
    c.log.info({ http: bound }, 'serving /metrics and the status page');
  }
  return {
    events,
    alerts,
    http: bound,
    stop: async () => {
      stream?.close();
      feed?.stop();
      events.stop();
      await alerts?.close();
      if (server !== null) {
        server.closeAllConnections();
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
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

/** The alert handler's queue (src/runtime/alert-hooks.ts) running the configured programs (src/adapters/alert-handler.ts). */
async function alertQueue(c: ObservationComponents, handler: { readonly command: HandlerCommand; readonly timeoutMs: number }): Promise<AlertQueue> {
  const log = c.log.child({ module: 'alert-handler' });
  // A hook that cannot run is said at start-up, then counted at every event; it never stops the member (a hook decides nothing).
  const problem = await checkHandlerPath(handler.command.program);
  if (problem !== null) log.warn({ code: problem.code, path: problem.path }, `alert handler cannot run: ${problem.message}`);
  else log.info({ program: handler.command.program, args: handler.command.args, timeoutMs: handler.timeoutMs }, 'alert handler configured');
  return new AlertQueue({
    formation: c.formation,
    log,
    nowMs: () => c.clock.now(),
    wallClockMs: () => Date.now(),
    run: (env, signal) => runAlertHandler(handler.command, env, { timeoutMs: handler.timeoutMs, signal }),
  });
}

export { HttpListenError };
