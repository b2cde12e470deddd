// `npx tsx bench/metrics-scrape.ts [--tickets 1,1000,10000] [--scrapes 7] [--json]`:
// the size of one member's /metrics and the CPU of one scrape, with N
// tickets, without a formation (issue 15). The metrics are
// src/runtime/metrics.ts's, built over stand-ins for the member's reads
// (bench/metrics-stand-in.ts): a site with every ticket granted here (the
// busiest case) and an arbitrator that sees every ticket held by one site.
// The stand-ins build fresh ticket views at every call, as the member's
// AdminService.views does. CPU is the process's user + system time around
// `text()` (median of the scrapes after two warm-up ones); bytes and series
// are of the last scrape's text, and the gzip bytes of that text at level 1
// (what /metrics sends a scraper that accepts gzip, as Prometheus does; the
// compression is not in the CPU figure: it runs on libuv's thread pool). A
// real member's scrape also pays for the HTTP response and its own reads of
// the core (`npm run bench -- --only tickets` scrapes real members).

import { gzipSync } from 'node:zlib';
import { memberMetrics } from '../src/runtime/metrics.js';
import { standInReadings } from './metrics-stand-in.js';
import { median, round } from './stats.js';

interface Options {
  readonly tickets: readonly number[];
  readonly scrapes: number;
  readonly json: boolean;
}

function parse(argv: readonly string[]): Options {
  let tickets = [1, 1000, 10_000];
  let scrapes = 7;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tickets') tickets = (argv[++i] ?? '').split(',').map(Number);
    else if (a === '--scrapes') scrapes = Number(argv[++i]);
    else if (a === '--json') json = true;
    else throw new Error(`unknown option ${a ?? ''}`);
  }
  if (tickets.some((n) => !Number.isInteger(n) || n < 0) || !Number.isInteger(scrapes) || scrapes < 1) throw new Error('--tickets takes counts, --scrapes a positive count');
  return { tickets, scrapes, json };
}

interface Figure {
  readonly kind: 'site' | 'arbitrator';
  readonly tickets: number;
  readonly bytes: number;
  /** The same text gzip-compressed at level 1, as /metrics sends it to a client that accepts gzip. */
  readonly gzipBytes: number;
  readonly series: number;
  readonly tollboothSeries: number;
  readonly cpuMsMedian: number;
  readonly cpuMsMax: number;
}

async function measure(kind: 'site' | 'arbitrator', n: number, scrapes: number): Promise<Figure> {
  const registry = memberMetrics(standInReadings(kind, n));
  for (let i = 0; i < 2; i++) await registry.text();
  const cpu: number[] = [];
  let text = '';
  for (let i = 0; i < scrapes; i++) {
    const before = process.cpuUsage();
    text = await registry.text();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  }
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return { kind, tickets: n, bytes: Buffer.byteLength(text), gzipBytes: gzipSync(text, { level: 1 }).length, series: lines.length, tollboothSeries: lines.filter((l) => l.startsWith('tollbooth_')).length, cpuMsMedian: round(median(cpu), 1), cpuMsMax: round(Math.max(...cpu), 1) };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const figures: Figure[] = [];
  for (const n of o.tickets) {
    for (const kind of ['site', 'arbitrator'] as const) {
      const f = await measure(kind, n, o.scrapes);
      figures.push(f);
      console.log(`${kind.padEnd(10)} ${String(n).padStart(6)} tickets: ${(f.bytes / 1024).toFixed(1)} KiB (gzip ${(f.gzipBytes / 1024).toFixed(1)} KiB), ${f.series} series (${f.tollboothSeries} tollbooth_), scrape CPU median ${f.cpuMsMedian} ms, max ${f.cpuMsMax} ms`);
    }
  }
  if (o.json) console.log(JSON.stringify({ node: process.version, scrapes: o.scrapes, figures }));
}

await main();
