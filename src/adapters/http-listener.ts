// The member's HTTP listener (`--http ADDRESS:PORT`, issue 13): read-only
// observation, off unless asked for. A bare port (`9471` or `:9471`) listens
// on loopback only; to serve other hosts the operator names the address.
// Bounded: a few connections at a time, a deadline per request, GET only.

import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { HttpListenError, type HttpListen } from './http-listen-address.js';
import type { EventStream } from '../ports/event-stream.js';
import { assert } from '../core/types.js';

/** Connections served at once; scrapers and a browser or two need far fewer. */
export const httpConnectionsMax = 64;

/** A request that has not arrived whole within this is dropped, ms. */
export const httpRequestTimeoutMs = 10_000;

/** How long a browser waits before reconnecting a lost event stream, ms (the SSE `retry` field). */
export const sseRetryMs = 2_000;

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Serves `routes` by exact path (query ignored); anything else is 404, a method other than GET or HEAD 405. */
export async function listenHttp(listen: HttpListen, routes: Readonly<Record<string, HttpRoute>>, onError: (err: unknown) => void): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no ${path} here; try ${Object.keys(routes).join(', ')}\n`);
      return;
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        onError(err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
  });
  server.maxConnections = httpConnectionsMax;
  server.requestTimeout = httpRequestTimeoutMs;
  server.headersTimeout = httpRequestTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new HttpListenError('HTTP_LISTEN_FAILED', `cannot listen on ${listen.host}:${listen.port} for --http: ${err.code ?? err.message}`, { details: { host: listen.host, port: listen.port }, cause: err })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  server.on('error', onError);
  return server;
}

/**
 * Turns `res` into a stream of server-sent events (text/event-stream): the
 * headers go out at once, then one `event:`/`data:` block per send. Closing
 * drops the connection without flushing: it is how a slow client is cut off.
 */
export function serverSentEvents(req: IncomingMessage, res: ServerResponse): EventStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // A reverse proxy must not hold events back to fill a buffer.
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${sseRetryMs}\n\n`);
  req.socket.setNoDelay(true);
  let closed = false;
  const listeners: Array<() => void> = [];
  res.once('close', () => {
    closed = true;
    for (const l of listeners.splice(0)) l();
  });
  return {
    send(event, data) {
      // A line break would end the field early and let data pose as another event.
      assert(!/[\r\n]/.test(event) && !/[\r\n]/.test(data), `server-sent event ${JSON.stringify(event)}: event and data must be single lines`);
      if (!closed) res.write(`event: ${event}\ndata: ${data}\n\n`);
    },
    get backlogBytes() {
      return res.writableLength;
    },
    close() {
      res.destroy();
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
  };
}

const gzipAsync = promisify(gzip);

/**
 * Whether the request's Accept-Encoding takes gzip (RFC 9110 §12.5.3: a
 * listed `gzip` or `*` whose q is not 0). Prometheus asks for gzip.
 */
export function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    return (coding === 'gzip' || coding === '*') && !params.some((p) => /^q=0(\.0{0,3})?$/.test(p));
  });
}

/**
 * A 200 with `text`, gzip-compressed when the client accepts it. Level 1:
 * /metrics at 10 000 tickets (1.7 MiB) shrinks to 85 KiB for ~5 ms of CPU,
 * spent on libuv's thread pool, not on the event loop.
 */
export async function sendText(req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, text: string): Promise<void> {
  const vary = { ...headers, vary: 'accept-encoding' };
  if (!acceptsGzip(req)) {
    res.writeHead(200, vary).end(text);
    return;
  }
  const body = await gzipAsync(text, { level: 1 });
  res.writeHead(200, { ...vary, 'content-encoding': 'gzip' }).end(body);
}
