// The example alerting rules (packaging/prometheus/tollbooth-rules.yml,
// issue 13 item 1): Debian's `promtool check rules` accepts them, and
// `promtool test rules` replays small input series through three of them
// (tollbooth-rules-test.yml beside this file: a ticket held nowhere past the
// bound and not before it, an admin-revoked ticket ignored; a site that
// loses its arbitrator; failed CIB writes; a link refused at the protocol
// handshake). Every metric name the rules use
// must be one tollbooth exports, read from the exposition of a site and an
// arbitrator with more tickets than ticketDetailSeriesMax (src/runtime/
// ticket-metrics.ts), so a renamed metric, or one left out when there are
// many tickets, cannot leave a rule that never fires. Skipped without
// promtool (.ci/run installs the prometheus package).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memberMetrics } from '../../src/runtime/metrics.js';
import { standInReadings } from '../../bench/metrics-stand-in.js';
import { havePromtool, promtool } from '../support/promtool.js';

const repo = resolve(import.meta.dirname, '../..');
const rules = resolve(repo, 'packaging/prometheus/tollbooth-rules.yml');
const ruleTests = resolve(import.meta.dirname, 'prometheus/tollbooth-rules-test.yml');
describe.skipIf(!havePromtool)('example Prometheus alerting rules', () => {
  it('pass promtool check rules', async () => {
    const r = await promtool(['check', 'rules', rules]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code, r.output).toBe(0);
  }, 60_000);

  it('fire as expected on the input series of promtool test rules', async () => {
    const r = await promtool(['test', 'rules', ruleTests]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  }, 60_000);
});

describe('the metric names in the rules', () => {
  it('are all exported by a member with many tickets', async () => {
    // The exposition of a site and an arbitrator (bench/metrics-stand-in.ts) with more tickets than
    // ticketDetailSeriesMax, with an alert handler configured: the rules must work in a formation of many tickets.
    const exported = new Set<string>();
    for (const kind of ['site', 'arbitrator'] as const) {
      const text = await memberMetrics({ ...standInReadings(kind, 1_000), alertHandler: () => ({ runs: {}, dropped: 0, queued: 0, lastDurationMs: null }) }).text();
      for (const m of text.matchAll(/^# TYPE (tollbooth_[a-z_]+) /gm)) exported.add(m[1]!);
    }
    const used = new Set([...readFileSync(rules, 'utf8').matchAll(/\b(tollbooth_[a-z_]+)\b/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
  });
});
