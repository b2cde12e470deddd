// The HTTP listener's server-sent events (src/adapters/http-listener.ts
// serverSentEvents), over a real listener on 127.0.0.1 and real sockets: the
// headers and the `retry` field come first, each send is one `event:`/`data:`
// block, a line break in an event is refused (it could pose as another
// event), a client that reads nothing shows as a growing backlog (what
// the status page's stream drops such a client on), close() cuts the client
// off, and a client that goes away is reported through onClose. Waits are for
// the socket's own events, with the test's deadline. A text response
// (sendText, /metrics) is gzip-compressed when the client's Accept-Encoding
// takes gzip, and plain otherwise.
import { connect, type Socket } from 'node:net';
import { request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptsGzip, listenHttp, sendText, serverSentEvents, sseRetryMs } from '../../src/adapters/http-listener.js';
import type { EventStream } from '../../src/ports/event-stream.js';

describe('server-sent events on the HTTP listener', () => {
  let server: Server | null = null;

  afterEach(async () => {
    if (server === null) return;
    server.closeAllConnections();
    const s = server;
    server = null;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  /** Serves /events with serverSentEvents; resolves each stream as a client connects. */
  async function start(): Promise<{ port: number; next: () => Promise<EventStream> }> {
    const waiting: Array<(s: EventStream) => void> = [];
    const ready: EventStream[] = [];
    server = await listenHttp({ host: '127.0.0.1', port: 0 }, {
      '/events': (req, res) => {
        const s = serverSentEvents(req, res);
        const w = waiting.shift();
        if (w === undefined) ready.push(s);
        else w(s);
      },
    }, (err) => {
      throw err;
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return { port, next: () => (ready.length > 0 ? Promise.resolve(ready.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
  }

  /** A raw client: what it has read so far, and a wait for text to arrive. */
  function client(port: number, read = true): { socket: Socket; text: () => string; until: (s: string) => Promise<void>; closed: Promise<void> } {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let waiters: Array<{ s: string; resolve: () => void }> = [];
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      waiters = waiters.filter((w) => (text.includes(w.s) ? (w.resolve(), false) : true));
    });
    if (!read) socket.pause();
    socket.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    return { socket, text: () => text, until: (s) => (text.includes(s) ? Promise.resolve() : new Promise((resolve) => waiters.push({ s, resolve }))), closed };
  }

  it('sends the headers and the retry field, then one block per event', async () => {
    const { port, next } = await start();
    const c = client(port);
    const stream = await next();
    await c.until(`retry: ${sseRetryMs}\n\n`);
    expect(c.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.text()).toContain('content-type: text/event-stream; charset=utf-8\r\n');
    expect(c.text()).toContain('cache-control: no-store\r\n');
    stream.send('render', '{"html":"<p>x</p>"}');
    stream.send('formation', '{"event":"grant"}');
    await c.until('data: {"event":"grant"}\n\n');
    // (The body is chunked: each write is one chunk, so each block arrives whole.)
    const render = c.text().indexOf('event: render\ndata: {"html":"<p>x</p>"}\n\n');
    expect(render).toBeGreaterThan(0);
    expect(c.text().indexOf('event: formation\ndata: {"event":"grant"}\n\n')).toBeGreaterThan(render);
    expect(() => stream.send('render', 'a\nevent: forged')).toThrow(/single lines/);
    expect(() => stream.send('a\rb', '{}')).toThrow(/single lines/);
    c.socket.destroy();
  });

  it('shows a client that reads nothing as a growing backlog, and cuts it off on close', async () => {
    const { port, next } = await start();
    const c = client(port, false);
    const stream = await next();
    const chunk = JSON.stringify({ html: 'x'.repeat(64 * 1024) });
    // Loopback buffers take a few MiB; past them, what the client does not read waits at the server.
    const bound = 512 * 1024;
    let sent = 0;
    while (stream.backlogBytes <= bound && sent < 4096) {
      stream.send('render', chunk);
      sent += 1;
    }
    expect(stream.backlogBytes).toBeGreaterThan(bound);
    let told = false;
    stream.onClose(() => (told = true));
    stream.close();
    await c.closed;
    expect(told).toBe(true);
  });

  it('reports a client that goes away', async () => {
    const { port, next } = await start();
    const c = client(port);
    const stream = await next();
    const gone = new Promise<void>((resolve) => stream.onClose(resolve));
    c.socket.destroy();
    await gone;
    // Sends after that are dropped, not thrown.
    stream.send('render', '{}');
    let late = false;
    stream.onClose(() => (late = true));
    expect(late).toBe(true);
  });
});

describe('a text response, compressed when the client accepts it (sendText)', () => {
  let server: Server | null = null;
  const text = Array.from({ length: 5_000 }, (_, i) => `tollbooth_ticket_holder_info{ticket="t${i}",holder="10.0.0.1"} 1`).join('\n');

  afterEach(async () => {
    const s = server;
    server = null;
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  /** GET /metrics with `acceptEncoding` (none when null): the status, headers and raw body. */
  async function get(acceptEncoding: string | null): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    if (server === null) server = await listenHttp({ host: '127.0.0.1', port: 0 }, { '/metrics': (req, res) => sendText(req, res, { 'content-type': 'text/plain' }, text) }, (err) => {
      throw err;
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false, headers: acceptEncoding === null ? {} : { 'accept-encoding': acceptEncoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('gzip when asked for, as Prometheus does: the same text, far fewer bytes', async () => {
    const r = await get('gzip');
    expect(r.status).toBe(200);
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers.vary).toBe('accept-encoding');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(gunzipSync(r.body).toString('utf8')).toBe(text);
    expect(r.body.length).toBeLessThan(Buffer.byteLength(text) / 10);
  });

  it('plain without Accept-Encoding, with gzip refused (q=0) or with other codings only', async () => {
    for (const accept of [null, 'gzip;q=0', 'identity', 'br, deflate', 'gzip; q=0.0, identity']) {
      const r = await get(accept);
      expect(r.headers['content-encoding'], String(accept)).toBeUndefined();
      expect(r.body.toString('utf8'), String(accept)).toBe(text);
    }
  });

  it('reads Accept-Encoding as RFC 9110 lists it: any case, a weight, the wildcard', () => {
    const req = (v: string): IncomingMessage => ({ headers: { 'accept-encoding': v } }) as IncomingMessage;
    expect(acceptsGzip(req('deflate, GZIP;q=0.5'))).toBe(true);
    expect(acceptsGzip(req('*'))).toBe(true);
    expect(acceptsGzip(req('gzip;q=0.000'))).toBe(false);
    expect(acceptsGzip(req('x-gzip2'))).toBe(false);
  });
});
