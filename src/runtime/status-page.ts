// The status page (issue 13, item 5): one small HTML document rendered on the
// server from a StatusSnapshot, so that everything static works without
// JavaScript; a few lines of inline script then keep it live from the
// member's server-sent events (/events: the same event stream as `tollbooth
// watch`), replacing <main> with the fragment the server renders again after
// each change, and counting the lease bars down between renders. No build
// step, nothing fetched from anywhere: the CSS and the script are in this file.
//
// Every value reaches the HTML through the `html` tag below, which escapes
// whatever is not itself rendered HTML: ticket names, attribute values,
// addresses and reasons are data, never markup. The page's Content-Security-
// Policy admits only this script and this style (by hash) and connections to
// its own origin, so that a mistake in escaping still could not run a script.

import { createHash } from 'node:crypto';
import type { FormationEvent } from './formation-events.js';
import type { StatusHistoryEntry, StatusMember, StatusSnapshot, StatusTicket } from './status-snapshot.js';

/** Rendered HTML: the only thing the `html` tag inserts without escaping. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type HtmlValue = string | number | boolean | null | undefined | SafeHtml | readonly SafeHtml[];

const htmlEscapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for an element's content and for a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => htmlEscapes[ch]!);
}

/** A template of HTML whose values are escaped unless they are SafeHtml (or arrays of it); null and undefined are empty. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    if (v instanceof SafeHtml) out += v.text;
    else if (Array.isArray(v)) out += (v as readonly SafeHtml[]).map((x) => x.text).join('');
    else if (v !== null && v !== undefined) out += escapeHtml(String(v));
    out += strings[i + 1]!;
  });
  return new SafeHtml(out);
}

export const statusPageCss = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; font-size: 15px; }
body { margin: 0 auto; max-width: 72rem; padding: 0 1rem 2rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1rem; border-bottom: 1px solid #8886; }
h1 { font-size: 1.3rem; margin: .8rem 0; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .6rem .25rem 0; border-bottom: 1px solid #8883; vertical-align: top; }
th { font-weight: 600; font-size: .85rem; opacity: .8; }
code, .mono { font-family: ui-monospace, monospace; font-size: .9em; }
progress { width: 8rem; vertical-align: middle; }
.muted { opacity: .65; }
.alive, .ok { color: #2a7d2a; } .suspect { color: #b36b00; } .dead, .none, .down { color: #c0392b; }
.leader { font-weight: 600; }
#conn { font-size: .85rem; }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 2px solid #8886; }
ol.timeline li { padding: .2rem 0 .2rem .8rem; }
footer { margin-top: 2rem; font-size: .85rem; }
`;

/**
 * Keeps the page live: replaces <main> with each fragment the server sends on
 * /events (rendered and escaped there), and moves the lease bars between
 * renders. Without EventSource (or without JavaScript) the page stays the
 * server's snapshot.
 */
export const statusPageScript = `
(function () {
  'use strict';
  var main = document.getElementById('status');
  var conn = document.getElementById('conn');
  var renderedAt = performance.now();
  function countDown() {
    var spent = performance.now() - renderedAt;
    var bars = main.querySelectorAll('progress[data-left-ms]');
    for (var i = 0; i < bars.length; i++) {
      var left = Math.max(0, Number(bars[i].getAttribute('data-left-ms')) - spent);
      bars[i].value = left;
      var text = bars[i].nextElementSibling;
      if (text !== null) text.textContent = (left / 1000).toFixed(1) + ' s';
    }
  }
  setInterval(countDown, 250);
  if (typeof EventSource !== 'function') return;
  var source = new EventSource('/events');
  source.addEventListener('render', function (m) {
    main.innerHTML = JSON.parse(m.data).html;
    renderedAt = performance.now();
    countDown();
  });
  source.addEventListener('formation', function (m) {
    var e = JSON.parse(m.data);
    conn.textContent = 'live; last event ' + e.event + (e.ticket ? ' ' + e.ticket : '') + ' at ' + new Date(e.timeUnixMs).toISOString();
  });
  source.onopen = function () { conn.textContent = 'live'; conn.className = 'ok'; };
  source.onerror = function () { conn.textContent = 'connection lost; retrying'; conn.className = 'down'; };
})();
`;

const cspHash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page's Content-Security-Policy: its own script and style only, connections to itself only. */
export const statusPageCsp = [
  "default-src 'none'",
  `script-src ${cspHash(statusPageScript)}`,
  `style-src ${cspHash(statusPageCss)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function isoTime(unixMs: number): string {
  return new Date(unixMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function leaseCell(t: StatusTicket): SafeHtml {
  if (t.leaseLeftMs === null) return html`<span class="muted">${t.holder === null ? 'none' : 'not known here'}</span>`;
  // <progress> needs no inline style (the CSP admits none); the script moves it between renders.
  return html`<progress max="${t.leaseDurationMs}" value="${t.leaseLeftMs}" data-left-ms="${t.leaseLeftMs}"></progress> <span class="mono">${seconds(t.leaseLeftMs)}</span>`;
}

function ticketRow(t: StatusTicket): SafeHtml {
  const attrs = Object.entries(t.attrs).map(([k, v]) => html`<code>${k}=${v}</code> `);
  const here = t.grantedHere === null ? null : t.grantedHere ? 'granted in this CIB' : null;
  return html`<tr data-ticket="${t.name}">
<td><strong>${t.name}</strong> <span class="muted">${t.mode}</span></td>
<td class="holder">${t.holder === null ? html`<span class="none">none</span>` : t.holder}${here === null ? null : html` <span class="ok">(${here})</span>`}</td>
<td class="generation mono">${t.generation}</td>
<td class="lease">${leaseCell(t)}</td>
<td class="standby">${t.standby ? 'standby' : t.managed ? '' : 'revoked by admin'}</td>
<td>${attrs}</td>
</tr>`;
}

function memberRow(m: StatusMember, leader: string | null): SafeHtml {
  const state = m.state ?? 'this member';
  return html`<tr data-member="${m.id}">
<td class="mono${m.id === leader ? ' leader' : ''}">${m.id}</td>
<td>${m.kind}</td>
<td class="role">${m.role}</td>
<td class="state ${m.state ?? 'muted'}">${state}</td>
<td class="mono">${m.rttMs === null || m.state === 'dead' ? null : `${m.rttMs.toFixed(1)} ms`}</td>
<td class="route">${m.route}</td>
</tr>`;
}

function historyItem(h: StatusHistoryEntry): SafeHtml {
  const at = h.timeUnixMs;
  return html`<li data-index="${h.index}">${at === null ? null : html`<span class="mono">${isoTime(at)}</span> <span class="muted">(leader's clock)</span> `}<span class="mono muted">#${h.index}</span> <strong>${h.ticket}</strong> ${h.change}${h.holder === null ? null : html` → ${h.holder}`} <span class="muted">generation ${h.generation}; ${h.by}</span></li>`;
}

function eventItem(e: FormationEvent): SafeHtml {
  const fields: Array<[string, string | number | null | undefined]> = [
    ['ticket', e.ticket],
    ['site', e.site],
    ['previous', e.previous],
    ['generation', e.generation],
    ['peer', e.peer],
    ['leader', e.leader],
    ['term', e.term],
    ['route', e.route],
    ['reason', e.reason],
  ];
  const shown = fields.filter(([, v]) => v !== undefined).map(([k, v]) => html` <span class="muted">${k}</span> ${v === null ? 'none' : v}`);
  return html`<li data-seq="${e.seq}"><span class="mono">${isoTime(e.timeUnixMs)}</span> <strong>${e.event}</strong>${shown}</li>`;
}

/** The live part of the page: what /events re-sends after each change. */
export function renderStatusMain(s: StatusSnapshot): SafeHtml {
  const r = s.registry;
  const hidden = s.ticketCount - s.tickets.length;
  return html`<section id="registry"><h2>Registry</h2>
<p>Leader <strong class="leader" id="leader">${r.leader ?? 'none known'}</strong>, term <span class="mono" id="term">${r.term}</span>, commit index <span class="mono">${r.commit}</span>. This member: <span class="mono">${s.self}</span> (${s.kind}, ${r.role}).</p></section>
<section id="tickets"><h2>Tickets</h2>
<table><thead><tr><th>Ticket</th><th>Holder</th><th>Generation</th><th>Lease left</th><th>Standby</th><th>Attributes</th></tr></thead>
<tbody>${s.tickets.map(ticketRow)}</tbody></table>
${s.ticketCount === 0 ? html`<p class="muted">No tickets.</p>` : null}${hidden > 0 ? html`<p class="muted">${hidden} more tickets not shown: see <code>tollbooth list</code> or /metrics.</p>` : null}</section>
<section id="members"><h2>Members</h2>
<table><thead><tr><th>Member</th><th>Kind</th><th>Role</th><th>State</th><th>RTT</th><th>Route</th></tr></thead>
<tbody>${s.members.map((m) => memberRow(m, r.leader))}</tbody></table></section>
<section id="history"><h2>History</h2>
${s.history.length === 0 ? html`<p class="muted">No changes yet.</p>` : html`<ol class="timeline">${s.history.map(historyItem)}</ol>`}</section>
<section id="events"><h2>Events seen here</h2>
${s.events.length === 0 ? html`<p class="muted">None since this member started.</p>` : html`<ol class="timeline">${s.events.map(eventItem)}</ol>`}</section>
<p class="muted" id="generated">As of ${isoTime(s.generatedAtUnixMs)} (this member's clock).</p>`;
}

/** The whole document, as served at `/`. */
export function renderStatusPage(s: StatusSnapshot): string {
  return `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tollbooth ${s.formation}: ${s.self}</title>
<style>${new SafeHtml(statusPageCss)}</style></head>
<body><header><h1>tollbooth <span class="muted">${s.formation}</span></h1><span class="mono">${s.self}</span> <span class="muted">${s.version}</span> <span id="conn" class="muted">snapshot; reload to refresh</span></header>
<main id="status">${renderStatusMain(s)}</main>
<footer class="muted">Read-only. Machine-readable: <a href="/state.json">/state.json</a>, <a href="/metrics">/metrics</a>, <a href="/events">/events</a> (server-sent events).</footer>
<script>${new SafeHtml(statusPageScript)}</script></body></html>`.text}\n`;
}
