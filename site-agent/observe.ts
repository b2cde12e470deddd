// Composition of what operators watch (issue 13) in a member process: the
// event stream (src/runtime/formation-events.ts), the alert handler, and with
// `--http` the metrics and the status page (observe-http.ts, loaded only then).

import type { Logger } from 'pino';
import { HttpListenError } from '../src/adapters/http-listen-address.js';
import type { MonotonicClock, Transport } from '../src/ports/ports.js';
import type { AdminService } from '../src/runtime/admin-service.js';
import { FormationEvents, type GuardianSample } from '../src/runtime/formation-events.js';
import type { SiteCounters } from '../src/runtime/metrics.js';
import type { Pump } from '../src/runtime/pump.js';
import { AlertQueue } from '../src/runtime/alert-hooks.js';
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

/** What observe-http.ts serves, to be stopped with the observation. */
export interface ServedHttp {
  /** The address the listener is bound to. */
  readonly bound: { host: string; port: number };
  /** Ends the status page's feed and live streams (before the event stream stops). */
  closeFeeds(): void;
  /** Closes the listener and its connections. */
  close(): Promise<void>;
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
  let served: ServedHttp | null = null;
  if (http !== undefined) {
    // Only a member asked to serve HTTP loads the server, prom-client and the status page (issue 15, item 2).
    const { serveHttp } = await import('./observe-http.js');
    served = await serveHttp(c, events, alerts, http);
  }
  return {
    events,
    alerts,
    http: served?.bound ?? null,
    stop: async () => {
      served?.closeFeeds();
      events.stop();
      await alerts?.close();
      await served?.close();
    },
  };
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
