// The status page's rendering and live stream (issue 13, item 5), without a
// member: snapshots are written here, with hostile strings wherever a string
// reaches the page (ticket names, holders, attribute values, member
// addresses, history and event reasons), and the rendered HTML must carry
// them as text only. The stream is driven with a fake source and fake
// clients: the first render on connection, a formation event followed by a
// render, the client limit, a slow client dropped, and nothing left
// subscribed once the last client leaves. The feed that builds snapshots from
// a running member, over a stand-in for the reads it makes: members' roles,
// states and routes (gossip's, else the links'), history newest first with
// its time and cause, and the bounds on tickets, history and events. Renders run on timers; the tests
// wait for the client to receive them (a promise with the test's deadline),
// never for a fixed time. The page in a real browser, on a real formation:
// test/e2e/status-page.test.ts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EventStream } from '../../src/ports/event-stream.js';
import type { FormationEvent } from '../../src/runtime/formation-events.js';
import { escapeHtml, html, renderStatusMain, renderStatusPage, SafeHtml, statusPageCsp } from '../../src/runtime/status-page.js';
import type { MonotonicClock, Transport } from '../../src/ports/ports.js';
import type { TicketView } from '../../src/runtime/admin-service.js';
import type { FormationEvents } from '../../src/runtime/formation-events.js';
import type { Pump } from '../../src/runtime/pump.js';
import { StatusFeed, statusEventsShownMax, statusHistoryShownMax, statusTicketsShownMax, type StatusSnapshot, type StatusSource } from '../../src/runtime/status-snapshot.js';
import { StatusStream, statusStreamBacklogBytesMax, statusStreamClientsMax } from '../../src/runtime/status-stream.js';

const hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">"\'&';

function snapshot(over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    self: '10.0.0.1',
    kind: 'site',
    formation: 'geo',
    version: '0.1.0',
    generatedAtUnixMs: Date.UTC(2026, 11, 6, 10, 0, 0),
    registry: { role: 'leader', term: 3, leader: '10.0.0.1', commit: 12 },
    tickets: [{ name: 'db', mode: 'automatic', holder: '10.0.0.1', generation: 4, standby: false, managed: true, leaseDurationMs: 10_000, leaseLeftMs: 7_500, grantedHere: true, attrs: {} }],
    ticketCount: 1,
    members: [
      { id: '10.0.0.1', kind: 'site', self: true, role: 'leader', state: null, rttMs: null, route: null },
      { id: '10.0.0.2', kind: 'site', self: false, role: 'follower', state: 'alive', rttMs: 0.8, route: 'direct' },
      { id: '10.0.0.9', kind: 'arbitrator', self: false, role: 'follower', state: 'suspect', rttMs: null, route: 'via 10.0.0.2' },
    ],
    history: [{ index: 7 as never, ticket: 'db', change: 'grant', holder: '10.0.0.1' as never, generation: 4 as never, cause: { by: 'auto', reason: 'failover' }, by: 'auto failover', timeUnixMs: null }],
    events: [{ seq: 1, event: 'failover', timeUnixMs: Date.UTC(2026, 11, 6, 9, 59, 0), member: '10.0.0.1', ticket: 'db', site: '10.0.0.1', previous: '10.0.0.2', generation: 4, index: 7, reason: 'auto failover' }],
    ...over,
  };
}

function hostileSnapshot(): StatusSnapshot {
  const base = snapshot();
  return snapshot({
    self: hostile,
    formation: hostile,
    version: hostile,
    registry: { role: 'follower', term: 1, leader: hostile, commit: 1 },
    tickets: [{ ...base.tickets[0]!, name: hostile, mode: hostile, holder: hostile, attrs: { [hostile]: hostile } }],
    members: [{ id: hostile, kind: hostile, self: false, role: hostile, state: hostile, rttMs: 1, route: hostile }],
    history: [{ ...base.history[0]!, ticket: hostile, change: hostile, holder: hostile as never, by: hostile }],
    events: [{ ...base.events[0]!, ticket: hostile, site: hostile, previous: hostile, reason: hostile, peer: hostile, route: hostile }],
  });
}

describe('status page rendering', () => {
  it('escapes every string of the snapshot: no element, attribute or script comes from data', () => {
    const page = renderStatusPage(hostileSnapshot());
    expect(page).not.toContain('<script>window.pwned');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('onerror="');
    expect(page).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;&quot;&#39;&amp;');
    // The only script and style elements are the page's own.
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page.match(/<style/g)).toHaveLength(1);
    // Attribute values stay inside their quotes.
    expect(page).toMatch(/data-ticket="&lt;script&gt;[^"]*&quot;[^"]*"/);
  });

  it('escapes with the html tag unless the value is rendered HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html`<p>${'<b>'}${new SafeHtml('<i>x</i>')}${[html`<u>${'&'}</u>`]}${null}${undefined}${3}</p>`.text).toBe('<p>&lt;b&gt;<i>x</i><u>&amp;</u>3</p>');
  });

  it('shows holder, generation, lease, members with state, RTT and route, leader, term and history', () => {
    const main = renderStatusMain(snapshot()).text;
    expect(main).toMatch(/<tr data-ticket="db">[\s\S]*<td class="holder">10\.0\.0\.1 <span class="ok">\(granted in this CIB\)<\/span><\/td>/);
    expect(main).toContain('<td class="generation mono">4</td>');
    expect(main).toContain('<progress max="10000" value="7500" data-left-ms="7500"></progress> <span class="mono">7.5 s</span>');
    expect(main).toContain('<strong class="leader" id="leader">10.0.0.1</strong>, term <span class="mono" id="term">3</span>');
    expect(main).toMatch(/<tr data-member="10\.0\.0\.9">[\s\S]*<td class="state suspect">suspect<\/td>[\s\S]*<td class="route">via 10\.0\.0\.2<\/td>/);
    expect(main).toContain('<td class="mono">0.8 ms</td>');
    expect(main).toMatch(/<li data-index="7">.*<strong>db<\/strong> grant → 10\.0\.0\.1 .*generation 4; auto failover/);
    expect(main).toMatch(/<li data-seq="1"><span class="mono">2026-12-06 09:59:00Z<\/span> <strong>failover<\/strong>/);
  });

  it('shows a history entry\'s commit time when the entry has one, and who caused it', () => {
    const base = snapshot();
    const main = renderStatusMain(snapshot({ history: [{ ...base.history[0]!, cause: { by: 'admin', commandId: 'c1', force: false }, by: 'admin: root (uid 0) on 10.0.0.1', timeUnixMs: Date.UTC(2026, 11, 6, 9, 0, 0) }] })).text;
    expect(main).toContain('2026-12-06 09:00:00Z</span> <span class="muted">(leader\'s clock)</span>');
    expect(main).toContain('generation 4; admin: root (uid 0) on 10.0.0.1');
    expect(renderStatusMain(snapshot()).text).not.toContain('leader\'s clock');
  });

  it('bounds the ticket table and says how many it left out', () => {
    const main = renderStatusMain(snapshot({ ticketCount: 10_000 })).text;
    expect(main).toContain('9999 more tickets not shown');
  });

  it('admits its own script and style by hash in its Content-Security-Policy', () => {
    const page = renderStatusPage(snapshot());
    const script = /<script>([\s\S]*)<\/script>/.exec(page)![1]!;
    const style = /<style>([\s\S]*)<\/style>/.exec(page)![1]!;
    const hash = (t: string): string => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    expect(statusPageCsp).toContain(`script-src ${hash(script)}`);
    expect(statusPageCsp).toContain(`style-src ${hash(style)}`);
    expect(statusPageCsp).toContain("default-src 'none'");
  });
});

/** A client that records what it is sent; `next(event)` resolves with the next such event. */
class FakeClient implements EventStream {
  readonly sent: Array<{ event: string; data: string }> = [];
  backlogBytes = 0;
  closed = false;
  private readonly closeListeners: Array<() => void> = [];
  private waiters: Array<{ event: string; resolve: (data: string) => void }> = [];

  send(event: string, data: string): void {
    this.sent.push({ event, data });
    const w = this.waiters.find((x) => x.event === event);
    if (w !== undefined) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(data);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l();
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  next(event: string): Promise<string> {
    return new Promise((resolve) => this.waiters.push({ event, resolve }));
  }
}

class FakeSource implements StatusSource {
  current = snapshot();
  readonly listeners = new Set<(e: FormationEvent) => void>();
  snapshot(): StatusSnapshot {
    return this.current;
  }
  subscribe(listener: (e: FormationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: FormationEvent): void {
    for (const l of this.listeners) l(e);
  }
}

describe('status page stream', () => {
  const failover: FormationEvent = { seq: 2, event: 'failover', timeUnixMs: 0, member: '10.0.0.1', ticket: 'db', site: '10.0.0.2', previous: '10.0.0.1', generation: 5 };

  it('renders the page at connection, then sends each event and the page rendered after it', async () => {
    const source = new FakeSource();
    const stream = new StatusStream({ source, nowMs: () => performance.now(), renderSpacingMs: 0, refreshIntervalMs: 600_000 });
    const client = new FakeClient();
    expect(stream.serve(client)).toBe(true);
    expect(client.sent.map((s) => s.event)).toEqual(['render']);
    expect((JSON.parse(client.sent[0]!.data) as { html: string }).html).toContain('10.0.0.1 <span class="ok">');
    source.current = snapshot({ tickets: [{ ...snapshot().tickets[0]!, holder: '10.0.0.2', generation: 5 }] });
    const rendered = client.next('render');
    source.emit(failover);
    expect(client.sent.at(-1)).toEqual({ event: 'formation', data: JSON.stringify(failover) });
    const html = (JSON.parse(await rendered) as { html: string }).html;
    expect(html).toContain('<td class="holder">10.0.0.2');
    expect(html).toContain('<td class="generation mono">5</td>');
    stream.close();
    expect(client.closed).toBe(true);
    expect(source.listeners.size).toBe(0);
  });

  it('renders a burst of events once', async () => {
    const source = new FakeSource();
    const stream = new StatusStream({ source, nowMs: () => performance.now(), renderSpacingMs: 0, refreshIntervalMs: 600_000 });
    const client = new FakeClient();
    stream.serve(client);
    const rendered = client.next('render');
    for (let i = 0; i < 50; i++) source.emit({ ...failover, seq: 10 + i });
    await rendered;
    expect(client.sent.filter((s) => s.event === 'formation')).toHaveLength(50);
    expect(client.sent.filter((s) => s.event === 'render')).toHaveLength(2);
    stream.close();
  });

  it('serves at most statusStreamClientsMax clients, and unsubscribes when the last one leaves', () => {
    const source = new FakeSource();
    const stream = new StatusStream({ source, nowMs: () => performance.now(), refreshIntervalMs: 600_000 });
    const clients = Array.from({ length: statusStreamClientsMax }, () => new FakeClient());
    for (const c of clients) expect(stream.serve(c)).toBe(true);
    const extra = new FakeClient();
    expect(stream.serve(extra)).toBe(false);
    expect(extra.sent).toEqual([]);
    expect(source.listeners.size).toBe(1);
    for (const c of clients) c.close();
    expect(stream.clientCount).toBe(0);
    expect(source.listeners.size).toBe(0);
    expect(stream.serve(extra)).toBe(true);
    stream.close();
  });

  it('drops a client that leaves more than statusStreamBacklogBytesMax unread, and keeps serving the others', () => {
    const source = new FakeSource();
    const stream = new StatusStream({ source, nowMs: () => performance.now(), refreshIntervalMs: 600_000 });
    const slow = new FakeClient();
    const quick = new FakeClient();
    stream.serve(slow);
    stream.serve(quick);
    slow.backlogBytes = statusStreamBacklogBytesMax + 1;
    source.emit(failover);
    expect(slow.closed).toBe(true);
    expect(slow.sent.filter((s) => s.event === 'formation')).toHaveLength(0);
    expect(quick.sent.filter((s) => s.event === 'formation')).toHaveLength(1);
    expect(stream.clientCount).toBe(1);
    stream.close();
  });
});

/**
 * StatusFeed over a stand-in for the running member: only the reads it makes
 * (the core's status, gossip view and history, the transport's links, the
 * ticket views), so that each mapping can be checked by itself.
 */
describe('status feed (the snapshot of a running member)', () => {
  type Listener = (e: FormationEvent) => void;
  function feed(o: { gossip: boolean; history?: ReadonlyArray<Record<string, unknown>>; tickets?: number; describeCause?: (c: unknown) => string }): { feed: StatusFeed; emit: (e: FormationEvent) => void } {
    const listeners = new Set<Listener>();
    const peers = [
      { id: '10.0.0.2', state: 'suspect', rttMs: 1.5, route: { via: '10.0.0.9' } },
      { id: '10.0.0.9', state: 'alive', rttMs: 0.7, route: { direct: true } },
    ];
    const core = {
      status: () => ({ id: '10.0.0.1', role: 'follower', term: 6, leader: '10.0.0.9', commit: 40, members: [{ id: '10.0.0.1', kind: 'site' }, { id: '10.0.0.2', kind: 'site' }, { id: '10.0.0.9', kind: 'arbitrator' }] }),
      peers: () => (o.gossip ? { peers } : null),
      history: () => o.history ?? [],
    };
    const links = [
      { id: '10.0.0.2', state: 'disconnected', rttMs: null },
      { id: '10.0.0.9', state: 'connected', rttMs: 2.5 },
    ];
    const view = (i: number): TicketView => ({ name: `t${i}`, mode: 'automatic', holder: '10.0.0.9', generation: 1, standby: false, managed: true, attrs: {}, leaseDurationMs: 10_000, leaseLeftMs: null, grantedHere: false });
    const f = new StatusFeed({
      self: '10.0.0.1',
      kind: 'site',
      formation: 'geo',
      version: '0.1.0',
      pump: { core } as unknown as Pump,
      transport: { peers: () => links } as unknown as Transport,
      clock: { now: () => 0 } as MonotonicClock,
      events: { subscribe: (l: Listener) => (listeners.add(l), () => listeners.delete(l)) } as unknown as FormationEvents,
      tickets: () => Array.from({ length: o.tickets ?? 1 }, (_, i) => view(i)),
      wallClockMs: () => 1_000,
      ...(o.describeCause === undefined ? {} : { describeCause: o.describeCause }),
    });
    return { feed: f, emit: (e) => listeners.forEach((l) => l(e)) };
  }

  it('shows each member\'s kind and role, and gossip\'s state, RTT and route', () => {
    const s = feed({ gossip: true }).feed.snapshot();
    expect(s.registry).toEqual({ role: 'follower', term: 6, leader: '10.0.0.9', commit: 40 });
    expect(s.members).toEqual([
      { id: '10.0.0.1', kind: 'site', self: true, role: 'follower', state: null, rttMs: null, route: null },
      { id: '10.0.0.2', kind: 'site', self: false, role: 'follower', state: 'suspect', rttMs: 1.5, route: 'via 10.0.0.9' },
      { id: '10.0.0.9', kind: 'arbitrator', self: false, role: 'leader', state: 'alive', rttMs: 0.7, route: 'direct' },
    ]);
  });

  it('falls back to the transport\'s links without gossip', () => {
    const s = feed({ gossip: false }).feed.snapshot();
    expect(s.members.slice(1).map((m) => [m.state, m.rttMs, m.route])).toEqual([
      ['disconnected', null, 'none'],
      ['connected', 2.5, 'direct'],
    ]);
  });

  it('gives the newest history first, at most statusHistoryShownMax, with the append time and the cause in words', () => {
    const history = Array.from({ length: 30 }, (_, i) => ({ index: i + 1, ticket: 't0', change: 'grant', holder: '10.0.0.1', generation: i + 1, cause: { by: 'auto', reason: 'failover' }, ...(i === 29 ? { wallMs: 5_000 } : {}) }));
    const s = feed({ gossip: true, history }).feed.snapshot();
    expect(s.history).toHaveLength(statusHistoryShownMax);
    expect(s.history.map((h) => h.index)).toEqual(Array.from({ length: statusHistoryShownMax }, (_, i) => 30 - i));
    expect(s.history[0]).toMatchObject({ by: 'auto failover', timeUnixMs: 5_000 });
    expect(s.history[1]!.timeUnixMs).toBeNull();
    const worded = feed({ gossip: true, history, describeCause: () => 'in words' }).feed.snapshot();
    expect(worded.history[0]!.by).toBe('in words');
  });

  it('shows at most statusTicketsShownMax tickets and counts them all', () => {
    const s = feed({ gossip: true, tickets: statusTicketsShownMax + 5 }).feed.snapshot();
    expect(s.tickets).toHaveLength(statusTicketsShownMax);
    expect(s.ticketCount).toBe(statusTicketsShownMax + 5);
  });

  it('keeps the last statusEventsShownMax events, newest first, until stopped', () => {
    const { feed: f, emit } = feed({ gossip: true });
    for (let i = 1; i <= 30; i++) emit({ seq: i, event: 'member-alive', timeUnixMs: i, member: '10.0.0.1', peer: '10.0.0.2' });
    expect(f.snapshot().events.map((e) => e.seq)).toEqual(Array.from({ length: statusEventsShownMax }, (_, i) => 30 - i));
    f.stop();
    emit({ seq: 31, event: 'member-alive', timeUnixMs: 31, member: '10.0.0.1' });
    expect(f.snapshot().events[0]!.seq).toBe(30);
  });
});
