// The example alerting rules (packaging/prometheus/tollbooth-rules.yml,
// issue 13 item 1): Debian's `promtool check rules` accepts them, and
// `promtool test rules` replays small input series through three of them
// (tollbooth-rules-test.yml beside this file: a ticket held nowhere past the
// bound and not before it, an admin-revoked ticket ignored; a site that
// loses its arbitrator; failed CIB writes; a link refused at the protocol
// handshake). Every metric name the rules use
// must be one tollbooth exports, read from src/runtime/metrics.ts, so a
// renamed metric cannot leave a rule that never fires. Skipped without
// promtool (.ci/run installs the prometheus package).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const rules = resolve(repo, 'packaging/prometheus/tollbooth-rules.yml');
const ruleTests = resolve(import.meta.dirname, 'prometheus/tollbooth-rules-test.yml');
const havePromtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].some((p) => existsSync(p));

function promtool(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    execFile('promtool', [...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null && typeof (err as NodeJS.ErrnoException).code === 'string') {
        fail(new Error(`promtool could not run: ${err.message}`));
        return;
      }
      done({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), output: stdout + stderr });
    });
  });
}

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
  it('are all exported by src/runtime/metrics.ts', () => {
    const exported = new Set([...readFileSync(resolve(repo, 'src/runtime/metrics.ts'), 'utf8').matchAll(/name: '(tollbooth_[a-z_]+)'/g)].map((m) => m[1]!));
    // The per-ticket gauges are declared through a helper: perTicket('name', ...).
    for (const m of readFileSync(resolve(repo, 'src/runtime/metrics.ts'), 'utf8').matchAll(/perTicket\('(tollbooth_[a-z_]+)'/g)) exported.add(m[1]!);
    const used = new Set([...readFileSync(rules, 'utf8').matchAll(/\b(tollbooth_[a-z_]+)\b/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
  });
});
