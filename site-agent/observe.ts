// Composition of what operators watch (issue 13) in a member process: the
// event stream (src/runtime/formation-events.ts), and with `--http` the
// metrics listener (src/runtime/metrics.ts over src/adapters/http-listener.ts).

import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { listenHttp, parseHttpListen, HttpListenError } from '../src/adapters/http-listener.js';
import type { MonotonicClock, Transport } from '../src/ports/ports.js';
import type { AdminService } from '../src/runtime/admin-service.js';
import { FormationEvents, type GuardianSample } from '../src/runtime/formation-events.js';
import { memberMetrics, type AlertHandlerCounts, type SiteCounters } from '../src/runtime/metrics.js';
import type { Pump } from '../src/runtime/pump.js';
import { tollboothVersion } from '../src/cli/version.js';

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
  readonly alertHandler?: () => AlertHandlerCounts;
}

export interface Observation {
  readonly events: FormationEvents;
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
  events.start();
  let server: Server | null = null;
  let bound: { host: string; port: number } | null = null;
  if (http !== undefined) {
    const listen = parseHttpListen(http);
    const registry = memberMetrics({
      self: c.self,
      kind: c.kind,
      formation: c.formation,
      version: tollboothVersion(),
      pump: c.pump,
      transport: c.transport,
      clock: c.clock,
      events,
      tickets: () => c.admin.views(c.pump.core.tickets(), true),
      ...(c.siteCounters === undefined ? {} : { siteCounters: c.siteCounters }),
      ...(c.alertHandler === undefined ? {} : { alertHandler: c.alertHandler }),
    });
    server = await listenHttp(
      listen,
      {
        '/metrics': async (_req, res) => {
          const text = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType }).end(text);
        },
      },
      (err) => c.log.warn({ err }, 'http request failed'),
    );
    const addr = server.address();
    bound = addr !== null && typeof addr === 'object' ? { host: addr.address, port: addr.port } : { host: listen.host, port: listen.port };
    c.log.info({ http: bound }, 'serving /metrics');
  }
  return {
    events,
    http: bound,
    stop: async () => {
      events.stop();
      if (server !== null) {
        server.closeAllConnections();
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

export { HttpListenError };
