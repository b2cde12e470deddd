// The config fingerprint lets members compare configs. It must depend only on
// what the config means: comments, blank lines, spacing, quoting, CRLF, `600`
// versus `600000ms`, and a value inherited from `__defaults__` versus written
// out all give the same fingerprint; any change in meaning (an expire, the
// order of members or tickets, a key, the preset) gives another. The debug
// level is local and left out; of the gossip timing, the fields a preset sets
// are hashed (the rest are the same in every preset). The fingerprint is sha256 in lower-case hex,
// recomputed here with node:crypto over the canonical text.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalConfigText, configFingerprint, configFingerprintVersion, timingPresetNames, timingPresets } from '../../src/config/index.js';
import { keyOf, memberKeyLines, parse, validConfig } from './fixtures.js';

const fingerprintOf = (text: string, fileName = 'booth.conf'): string => {
  const result = parse(text, fileName);
  expect(result.problems, text).toEqual([]);
  return configFingerprint(result.config);
};

const base = fingerprintOf(validConfig);

describe('config fingerprint', () => {
  it('is the sha256 hex of the canonical text, with a version', () => {
    const { config } = parse(validConfig);
    const canonical = canonicalConfigText(config);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(base).toBe(createHash('sha256').update(canonical).digest('hex'));
    expect(JSON.parse(canonical)).toMatchObject({ version: configFingerprintVersion, name: 'booth' });
  });

  it('is the same for the same text parsed twice', () => {
    expect(fingerprintOf(validConfig)).toBe(base);
  });

  it('ignores comments, blank lines, spacing, quoting and line ends', () => {
    const restyled = validConfig
      .replace('# two sites and an arbitrator\n', '')
      .replace('site = 192.0.2.11', '# Berlin\nsite="192.0.2.11"   # comment after a quoted value')
      .replace('arbitrator = 192.0.2.13', "\n\n  arbitrator\t=  '192.0.2.13'")
      .replace('  expire = 60', 'expire=60')
      .replaceAll('\n', '\r\n');
    expect(restyled).not.toBe(validConfig);
    expect(fingerprintOf(restyled)).toBe(base);
  });

  it('ignores how a value is written: seconds or ms, inherited or explicit, default or spelled out', () => {
    expect(fingerprintOf(validConfig.replace('expire = 60', 'expire = 60000ms'))).toBe(base);
    const viaDefaults = validConfig.replace('ticket = db\n  expire = 60\n', 'ticket = __defaults__\n  expire = 60\nticket = db\n');
    expect(fingerprintOf(viaDefaults)).toBe(base);
    expect(fingerprintOf(`${validConfig}  retries = 10\n  renewal-freq = 30\n`)).toBe(base);
    expect(fingerprintOf(`port = 9929\n${validConfig}`)).toBe(base);
  });

  it('changes when expire changes, and nothing else does', () => {
    // renewal-freq and the revoke lead are pinned so that only expireMs differs.
    const pinned = `${validConfig}  renewal-freq = 30\n  tollbooth-revoke-lead = 5\n`;
    const longer = pinned.replace('expire = 60', 'expire = 70');
    expect(parse(longer).config.tickets[0]).toEqual({ ...parse(pinned).config.tickets[0], expireMs: 70_000 });
    expect(fingerprintOf(longer)).not.toBe(fingerprintOf(pinned));
  });

  it('covers every field of the config except the local ones: debug level, alert handler and its timeout, history retention', () => {
    const { config } = parse(`${validConfig}  before-acquire-handler = /bin/true\n  attr-prereq = auto a eq b\n`);
    const canonical = JSON.parse(canonicalConfigText(config)) as Record<string, unknown> & {
      members: Array<Record<string, unknown>>;
      tickets: Array<Record<string, unknown>>;
      timing: Record<string, unknown>;
    };
    const keysOf = (value: object): string[] => Object.keys(value).sort();
    expect(keysOf(canonical)).toEqual([...keysOf(config).filter((key) => !['debugLevel', 'alertHandler', 'alertTimeoutMs', 'historyRecordsMax'].includes(key)), 'version'].sort());
    expect(keysOf(canonical.members[0] ?? {})).toEqual(keysOf(config.members[0] ?? {}));
    expect(keysOf(canonical.tickets[0] ?? {})).toEqual(keysOf(config.tickets[0] ?? {}));
    const { gossip, ...registryTiming } = config.timing;
    const gossipHashed = ['probeIntervalMs', 'probeTimeoutMs', 'indirectProbeCount', 'suspicionMultiplier', 'gossipIntervalMs', 'gossipFanout'];
    expect(keysOf(canonical.timing)).toEqual([...keysOf(registryTiming), ...gossipHashed].sort());
    // A gossip field left out is the same in every preset (and in the timing derived from booth's keys, which takes wan's).
    for (const field of keysOf(gossip).filter((key) => !gossipHashed.includes(key)) as Array<keyof typeof gossip>) {
      for (const name of timingPresetNames) expect(timingPresets[name].gossip[field], `${name} ${field}`).toBe(gossip[field]);
    }
  });

  it('is the same with tollbooth-history-records as without: a file from before the key keeps its fingerprint', () => {
    // The history's retention is local (tollbooth-keys.ts): a rolling restart that sets it must not look like a config split.
    const withRetention = `tollbooth-history-records = 4096\n${validConfig}`;
    expect(parse(withRetention).config.historyRecordsMax).toBe(4096);
    expect(parse(validConfig).config.historyRecordsMax).toBe(1024);
    expect(fingerprintOf(withRetention)).toBe(base);
  });

  it('changes with anything else that changes behaviour', () => {
    const variants = [
      validConfig.replace('tollbooth-preset = lan', 'tollbooth-preset = loopback'),
      validConfig.replace(`192.0.2.12 ${keyOf(2)}`, `192.0.2.12 ${keyOf(7)}`),
      `${validConfig}  weights = 1,2\n`,
      `${validConfig}  mode = manual\n`,
      `${validConfig}ticket = web\n`,
      `name = other\n${validConfig}`,
      `tollbooth-clock-drift-ppm-max = 501\n${validConfig}`,
      `tollbooth-admin-key = ${keyOf(9)}\n${validConfig}`,
    ];
    const fingerprints = new Set([base, ...variants.map((variant) => fingerprintOf(variant))]);
    expect(fingerprints.size).toBe(variants.length + 1);
  });

  it('depends on the order of members and of tickets, as booth does', () => {
    const swapped = validConfig.replace('site = 192.0.2.11\nsite = 192.0.2.12', 'site = 192.0.2.12\nsite = 192.0.2.11');
    expect(fingerprintOf(swapped)).not.toBe(base);
    const twoTickets = `${validConfig}ticket = a\nticket = b\n`;
    const reordered = `${validConfig}ticket = b\nticket = a\n`;
    expect(fingerprintOf(twoTickets)).not.toBe(fingerprintOf(reordered));
  });

  it('does not depend on the order of member-key lines, which only attach keys', () => {
    const keys = memberKeyLines(['192.0.2.11', '192.0.2.12', '192.0.2.13']);
    const reversedKeys = keys.trimEnd().split('\n').reverse().join('\n') + '\n';
    expect(fingerprintOf(validConfig.replace(keys, reversedKeys))).toBe(base);
  });

  it('depends on the file name only through the default formation name', () => {
    expect(fingerprintOf(validConfig, '/etc/booth/booth.conf')).toBe(base);
    expect(fingerprintOf(validConfig, 'other.conf')).not.toBe(base);
    expect(fingerprintOf(`name = booth\n${validConfig}`, 'other.conf')).toBe(base);
  });

  it('leaves out the local debug level', () => {
    expect(fingerprintOf(`debug = 3\n${validConfig}`)).toBe(base);
  });

  it('leaves out the local alert handler and its timeout', () => {
    expect(fingerprintOf(`tollbooth-alert-handler = /usr/share/tollbooth/alert-handlers/syslog -t x\ntollbooth-alert-timeout = 1500ms\n${validConfig}`)).toBe(base);
  });
});
