// Every way a config can be wrong is reported with the file, the line that
// caused it and a reason in plain words — and the reader never stops at the
// first problem. Each case below appends one bad line (or a few) to an
// otherwise valid config and checks the exact line, key and severity of
// what comes back, and that nothing else is reported. A final test puts many
// mistakes in one file and expects all of them, in line order.
import { describe, expect, it } from 'vitest';
import {
  ConfigInvalidError,
  formatConfigProblem,
  requireValidConfig,
  validConfig as validConfigOf,
  type ConfigProblem,
} from '../../src/config/index.js';
import { errorsOf, keyOf, memberKeyLines, parse, validConfig, warningsOf } from './fixtures.js';

/** Lines of validConfig; appended lines start after it. */
const baseLineCount = validConfig.split('\n').length - 1;
const appended = (offset: number): number => baseLineCount + offset;

interface Expected {
  readonly line: number;
  readonly severity: 'error' | 'warning';
  /** null: the problem has no key (lexical errors). */
  readonly key: string | null;
  /** A part of the message. */
  readonly message: string;
}

interface Case {
  readonly name: string;
  readonly lines: string;
  readonly expected: readonly Expected[];
}

const err = (line: number, key: string | null, message: string): Expected => ({ line, severity: 'error', key, message });
const warn = (line: number, key: string | null, message: string): Expected => ({ line, severity: 'warning', key, message });

const cases: readonly Case[] = [
  // Lexical errors.
  { name: 'a line without "="', lines: 'port 9929', expected: [err(appended(1), null, 'expected "=" after the key "port"')] },
  { name: 'a line without a key', lines: '= 9929', expected: [err(appended(1), null, 'expected a key')] },
  { name: 'a key without a value', lines: 'port =   ', expected: [err(appended(1), null, 'no value after "port ="')] },
  { name: 'an unterminated quote', lines: 'name = "geo', expected: [err(appended(1), null, 'unterminated quoted value for "name"')] },
  { name: 'text after a quoted value', lines: "name = 'geo' x", expected: [err(appended(1), null, 'unexpected text after the quoted value')] },
  { name: 'a line over 1023 bytes', lines: `# ${'x'.repeat(1022)}`, expected: [err(appended(1), null, 'booth reads at most 1023 per line')] },
  { name: 'a key over 64 bytes', lines: `${'k'.repeat(65)} = 1`, expected: [err(appended(1), 'k'.repeat(65), 'unknown key')] },
  { name: 'a value over 64 bytes', lines: `name = ${'n'.repeat(65)}`, expected: [err(appended(1), 'name', 'longer than 64 bytes')] },
  // Keys.
  { name: 'an unknown key', lines: 'expires = 5', expected: [err(appended(1), 'expires', 'unknown key "expires"')] },
  { name: "booth's documented but unimplemented key", lines: 'exclude_site = 192.0.2.11', expected: [err(appended(1), 'exclude_site', 'booth documents it but never implemented it')] },
  { name: 'a tollbooth key without its prefix', lines: 'preset = lan', expected: [err(appended(1), 'preset', 'did you mean "tollbooth-preset"?')] },
  { name: 'transport given twice', lines: 'transport = UDP\ntransport = UDP', expected: [err(appended(2), 'transport', `already given on line ${appended(1)}`)] },
  { name: 'an unknown transport', lines: 'transport = tcp', expected: [err(appended(1), 'transport', '"tcp" is not UDP or SCTP')] },
  { name: 'a repeated global key', lines: 'port = 9930\nport = 9931', expected: [warn(appended(2), 'port', `already set on line ${appended(1)}`)] },
  { name: 'a repeated ticket key', lines: '  expire = 90', expected: [warn(appended(1), 'expire', 'already set for ticket "db" on line 11')] },
  // Global values.
  { name: 'a port that is no number', lines: 'port = http', expected: [err(appended(1), 'port', '"http" is not a number')] },
  { name: 'a port out of range', lines: 'port = 70000', expected: [err(appended(1), 'port', '70000 is not a port number')] },
  { name: 'text after a port', lines: 'port = 9929 # booth', expected: [
    warn(appended(1), 'port', 'not a comment'),
    warn(appended(1), 'port', 'after the number is ignored'),
  ] },
  { name: 'an unknown preset', lines: 'tollbooth-preset = fast', expected: [err(appended(1), 'tollbooth-preset', 'not one of lan, wan, loopback')] },
  { name: 'a drift bound above 100000 ppm', lines: 'tollbooth-clock-drift-ppm-max = 200000', expected: [err(appended(1), 'tollbooth-clock-drift-ppm-max', 'above 100000 ppm')] },
  { name: 'a negative drift bound', lines: 'tollbooth-clock-drift-ppm-max = -5', expected: [err(appended(1), 'tollbooth-clock-drift-ppm-max', 'not a non-negative decimal integer')] },
  { name: 'a bad admin group', lines: 'tollbooth-admin-group = "ha client"', expected: [err(appended(1), 'tollbooth-admin-group', 'not a valid group name')] },
  { name: 'a bad admin key', lines: 'tollbooth-admin-key = c2hvcnQ=', expected: [err(appended(1), 'tollbooth-admin-key', 'not a base64 Ed25519 public key')] },
  { name: 'an admin key listed twice', lines: `tollbooth-admin-key = ${keyOf(30)}\ntollbooth-admin-key = ${keyOf(30)}`, expected: [warn(appended(2), 'tollbooth-admin-key', `already listed on line ${appended(1)}`)] },
  { name: 'a member key used as admin key', lines: `tollbooth-admin-key = ${keyOf(1)}`, expected: [warn(appended(1), 'tollbooth-admin-key', 'member key of 192.0.2.11 (line 5)')] },
  // Members and their keys.
  { name: 'an invalid address', lines: 'site = 192.0.2.300', expected: [err(appended(1), 'site', '"192.0.2.300" is not an IPv4 address, an IPv6 address or a host name')] },
  { name: 'an address written twice', lines: 'site = 192.0.2.11', expected: [
    err(appended(1), 'site', '192.0.2.11 is already a member (line 2)'),
    warn(appended(1), 'site', 'an odd number is strongly recommended'),
  ] },
  { name: 'an IPv6 address in two spellings', lines: 'site = 2001:db8::1\narbitrator = 2001:DB8:0:0::1\ntollbooth-member-key = 2001:db8::1 ' + keyOf(40), expected: [
    err(appended(2), 'arbitrator', `2001:DB8:0:0::1 is already a member (line ${appended(1)})`),
  ] },
  { name: 'a member without a key', lines: 'site = 192.0.2.14\narbitrator = 192.0.2.15\ntollbooth-member-key = 192.0.2.15 ' + keyOf(41), expected: [
    err(appended(1), 'site', 'site 192.0.2.14 has no public key: add "tollbooth-member-key = 192.0.2.14 <base64 Ed25519 public key>"'),
  ] },
  { name: 'a key for an unknown address', lines: `tollbooth-member-key = 192.0.2.99 ${keyOf(42)}`, expected: [err(appended(1), 'tollbooth-member-key', '192.0.2.99 is not the address of any')] },
  { name: 'two keys for one member', lines: `tollbooth-member-key = 192.0.2.12 ${keyOf(43)}`, expected: [err(appended(1), 'tollbooth-member-key', '192.0.2.12 already has a key (line 6)')] },
  { name: 'one key for two members', lines: `site = 192.0.2.14\narbitrator = 192.0.2.15\n${memberKeyLines(['192.0.2.14', '192.0.2.15'])}`, expected: [
    err(appended(3), 'tollbooth-member-key', 'same public key as 192.0.2.11 (line 5)'),
    err(appended(4), 'tollbooth-member-key', 'same public key as 192.0.2.12 (line 6)'),
  ] },
  { name: 'a member key line without a key', lines: 'tollbooth-member-key = 192.0.2.11', expected: [err(appended(1), 'tollbooth-member-key', 'expected "<member address> <base64 Ed25519 public key>"')] },
  { name: 'an even member count', lines: `site = 192.0.2.14\ntollbooth-member-key = 192.0.2.14 ${keyOf(44)}`, expected: [warn(appended(1), 'site', '4 members: an odd number is strongly recommended')] },
  // Tickets.
  { name: 'a ticket name with "_"', lines: 'ticket = db_2', expected: [err(appended(1), 'ticket', '"_" is not allowed')] },
  { name: 'a ticket name with other characters', lines: 'ticket = "db 2"', expected: [err(appended(1), 'ticket', 'may contain only letters, digits, "-" and "/"')] },
  { name: 'a ticket name over 63 bytes', lines: `ticket = ${'t'.repeat(64)}`, expected: [err(appended(1), 'ticket', 'longer than 63 bytes')] },
  { name: 'an empty ticket name', lines: 'ticket = ""', expected: [err(appended(1), 'ticket', 'the name is empty')] },
  { name: 'a ticket defined twice', lines: 'ticket = db', expected: [err(appended(1), 'ticket', '"db" is already defined on line 10')] },
  { name: 'keys of a rejected ticket are still checked', lines: 'ticket = bad_name\n  expire = soon', expected: [
    err(appended(1), 'ticket', '"_" is not allowed'),
    err(appended(2), 'expire', '"soon" is not a time'),
  ] },
  { name: 'expire of 0', lines: 'ticket = t2\n  expire = 0', expected: [err(appended(2), 'expire', 'expire must be greater than 0')] },
  { name: 'a negative acquire-after', lines: '  acquire-after = -1', expected: [err(appended(1), 'acquire-after', 'acquire-after must not be negative')] },
  { name: 'retries below 3', lines: '  retries = 2', expected: [err(appended(1), 'retries', 'retries must be within 3–100')] },
  { name: 'retries above 100', lines: '  retries = 101', expected: [err(appended(1), 'retries', 'retries must be within 3–100')] },
  { name: 'retries that are no integer', lines: '  retries = 5x', expected: [err(appended(1), 'retries', '"5x" is not a plain integer')] },
  { name: 'bad weights', lines: '  weights = 1,x', expected: [err(appended(1), 'weights', 'invalid character in weights at "x"')] },
  { name: 'more weights than members', lines: '  weights = 1,2,0,4', expected: [warn(appended(1), 'weights', '4 weights for 3 members')] },
  { name: 'a weight for an arbitrator', lines: '  weights = 1,2,3', expected: [warn(appended(1), 'weights', 'weight 3 is given to arbitrator 192.0.2.13')] },
  { name: 'a handler with 15 arguments', lines: `  before-acquire-handler = /bin/h ${'a '.repeat(15)}`, expected: [err(appended(1), 'before-acquire-handler', 'booth passes at most 14')] },
  { name: 'a handler given by a relative path', lines: '  before-acquire-handler = service-runnable db', expected: [err(appended(1), 'before-acquire-handler', 'not an absolute path')] },
  { name: 'a formation name the CIB cannot hold', lines: 'name = 1formation', expected: [err(0, 'name', 'written to the CIB as booth-cfg-name')] },
  { name: 'a ticket name the CIB cannot hold', lines: 'ticket = "9lives"', expected: [err(appended(1), 'ticket', 'not usable in the CIB')] },
  { name: 'an attr-prereq with too few words', lines: '  attr-prereq = auto repl eq', expected: [err(appended(1), 'attr-prereq', 'got 3 word(s)')] },
  { name: 'an attr-prereq with a bad grant type', lines: '  attr-prereq = always repl eq ACTIVE', expected: [err(appended(1), 'attr-prereq', '"always" is not a grant type')] },
  { name: 'an attr-prereq with a bad operation', lines: '  attr-prereq = auto repl gt 1', expected: [err(appended(1), 'attr-prereq', '"gt" is not an attribute operation')] },
  { name: 'an attr-prereq with extra words', lines: '  attr-prereq = auto repl eq ACTIVE now', expected: [warn(appended(1), 'attr-prereq', '"now" are ignored')] },
  { name: 'a key in __defaults__ that booth does not pass on', lines: 'ticket = __defaults__\n  before-acquire-handler = /bin/true', expected: [
    warn(appended(1), 'ticket', 'comes after ticket "db" (line 10)'),
    warn(appended(2), 'before-acquire-handler', 'has no effect'),
  ] },
  // Relations.
  { name: "booth's resend rule", lines: '  retries = 20', expected: [err(appended(1), 'renewal-freq', 'timeout × (retries + 1) = 2000 ms × 21 = 42000 ms must be less than renewal-freq (30000 ms)')] },
  { name: 'renewal-freq not below expire', lines: '  renewal-freq = 60', expected: [err(appended(1), 'renewal-freq', 'renewal-freq (60000 ms) must be less than expire (60000 ms)')] },
  { name: 'a revoke lead that does not fit the renewal window', lines: '  tollbooth-revoke-lead = 30', expected: [err(appended(1), 'tollbooth-revoke-lead', 'must be less than expire − renewal-freq (30000 ms)')] },
  { name: 'a revoke lead of 0', lines: '  tollbooth-revoke-lead = 0', expected: [err(appended(1), 'tollbooth-revoke-lead', 'must be greater than 0')] },
  { name: 'a lease too short for the preset', lines: 'tollbooth-preset = wan\nticket = quick\n  expire = 8\n  timeout = 300ms', expected: [
    warn(appended(1), 'tollbooth-preset', 'already set on line 8'),
    err(appended(3), 'expire', 'must exceed 2 × electionTimeoutMs + renewIntervalMs of the wan preset (8000 ms)'),
  ] },
];

describe('each problem comes with file, line, key and reason', () => {
  it.each(cases)('$name', ({ lines, expected }) => {
    const result = parse(`${validConfig}${lines}\n`, '/etc/booth/geo.conf');
    const got = result.problems.map((p) => ({ line: p.line, severity: p.severity, key: p.key, message: p.message }));
    expect(got).toHaveLength(expected.length);
    expected.forEach((want, index) => {
      const problem = got[index];
      expect(problem?.line, want.message).toBe(want.line);
      expect(problem?.severity, want.message).toBe(want.severity);
      expect(problem?.key ?? null, want.message).toBe(want.key);
      expect(problem?.message).toContain(want.message);
    });
    for (const problem of result.problems) expect(problem.file).toBe('/etc/booth/geo.conf');
  });

  it('a per-ticket key before the first ticket', () => {
    const result = parse('expire = 600\nsite = 192.0.2.11\n');
    expect(errorsOf(result)[0]).toMatchObject({ line: 1, key: 'expire', message: '"expire" is a per-ticket key; it must follow a "ticket" line' });
  });

  it('a file without members', () => {
    const result = parse('ticket = t\n');
    expect(errorsOf(result)).toEqual([
      { file: 'booth.conf', line: 0, severity: 'error', message: 'no "site" or "arbitrator" lines: a formation needs members' },
    ]);
  });

  it('a file with arbitrators only, and no tickets', () => {
    const result = parse(`arbitrator = 192.0.2.13\n${memberKeyLines(['192.0.2.13'])}`);
    expect(result.problems.map((p) => [p.line, p.severity, p.message])).toEqual([
      [1, 'error', 'no "site" line: only sites can hold tickets'],
      [0, 'warning', 'no "ticket" lines: the formation manages no tickets'],
    ]);
  });

  it('more than 16 members', () => {
    const addresses = Array.from({ length: 17 }, (_, i) => `192.0.2.${i + 1}`);
    const text = `${addresses.map((a) => `site = ${a}\n`).join('')}${memberKeyLines(addresses.slice(0, 16))}ticket = t\n`;
    const result = parse(text);
    expect(errorsOf(result).map((p) => [p.line, p.message])).toEqual([[17, 'site: more than 16 members; booth allows at most 16 site and arbitrator lines']]);
    expect(result.config.members).toHaveLength(16);
  });

  it('a formation name taken from a file name that is too long', () => {
    const result = parse(validConfig, `/etc/booth/${'n'.repeat(64)}.conf`);
    expect(errorsOf(result)[0]?.message).toContain('is longer than 63 bytes (taken from the file name');
  });

  it('a byte-order mark', () => {
    const result = parse(`\uFEFF${validConfig}`);
    expect(errorsOf(result).map((p) => p.line)).toEqual([1]);
    expect(errorsOf(result)[0]?.message).toContain('byte-order mark');
  });
});

describe('several problems in one file', () => {
  const text = `site = 192.0.2.11
site = 192.0.2.11
arbitrator = not_a host
tollbooth-member-key = 192.0.2.11 ${keyOf(1)}
ticket = a_b
  expire = 10s
ticket = good
  retries = 1
  weights = 1,2,3
port = 99999
tollbooth-preset = slow
`;

  it('reports all of them, in line order, and each with its line', () => {
    const result = parse(text, 'multi.conf');
    const lines = result.problems.map((p) => `${p.line}:${p.severity}:${p.key ?? ''}`);
    expect(lines).toEqual([
      '2:error:site',
      '2:warning:site',
      '3:error:arbitrator',
      '5:error:ticket',
      '6:error:expire',
      '8:error:retries',
      '9:warning:weights',
      '10:error:port',
      '11:error:tollbooth-preset',
    ]);
    expect(result.problems.map(formatConfigProblem)).toContain('multi.conf:10: error: port: 99999 is not a port number (1–65535)');
  });

  it('requireValidConfig throws a ConfigInvalidError that lists every error', () => {
    const result = parse(text, 'multi.conf');
    let thrown: unknown;
    try {
      requireValidConfig(result);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigInvalidError);
    const invalid = thrown as ConfigInvalidError;
    expect(invalid.code).toBe('CONFIG_INVALID');
    expect(invalid.errorCount).toBe(7);
    expect(invalid.problems).toHaveLength(9);
    expect(invalid.message).toContain('multi.conf:6: error: expire: "10s" is not a time');
  });

  it('requireValidConfig returns the config when there are only warnings', () => {
    const result = parse(`${validConfig}  weights = 1,2,3\n`);
    expect(warningsOf(result)).toHaveLength(1);
    expect(requireValidConfig(result).tickets[0]?.weights).toEqual([1, 2, 3]);
  });

  it('a valid config carries every member\'s key in its type; a member without a key makes the config invalid, not zero-keyed', () => {
    const valid = validConfigOf(parse(validConfig));
    expect(valid).not.toBeNull();
    for (const m of valid!.members) expect(m.publicKey.byteLength, m.address).toBe(32);
    // The same config without the last member's key line: an error at that member, and no config to run on.
    const lines = validConfig.split('\n');
    const lastKey = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('tollbooth-member-key')).pop()!;
    const keyless = parse(lines.filter((_, i) => i !== lastKey[1]).join('\n'));
    expect(errorsOf(keyless).map((p) => p.message)).toEqual([expect.stringMatching(/has no public key/) as unknown]);
    expect(keyless.config.members.some((m) => m.publicKey === null)).toBe(true);
    expect(validConfigOf(keyless)).toBeNull();
    expect(() => requireValidConfig(keyless)).toThrow(ConfigInvalidError);
  });
});

describe('formatConfigProblem', () => {
  it('prints file:line for a line and the file alone for the whole file', () => {
    const atLine: ConfigProblem = { file: 'b.conf', line: 3, severity: 'warning', message: 'm' };
    const wholeFile: ConfigProblem = { file: 'b.conf', line: 0, severity: 'error', message: 'n' };
    expect(formatConfigProblem(atLine)).toBe('b.conf:3: warning: m');
    expect(formatConfigProblem(wholeFile)).toBe('b.conf: error: n');
  });
});
