// Reading booth.conf the way booth reads it. The examples from booth's own man
// page must parse unchanged — every value as booth would hold it, and no
// problem other than the member keys that only tollbooth needs. Then the
// details: booth's defaults, `__defaults__` (which keys it passes on, and
// only to later tickets), times in seconds or `<n>ms`, quoting and comments,
// CRLF files, global keys between tickets, and booth's own quirks (strtol
// base 0 for retries and weights, `#` inside a bare value, `mode` spelling).
import { describe, expect, it } from 'vitest';
import { parseBoothConf } from '../../src/config/booth-conf.js';
import { parseConfigText } from '../../src/config/index.js';
import {
  boothManMinimal,
  boothManMinimalAddresses,
  boothManVerbose,
  boothManVerboseAddresses,
  errorsOf,
  keyOf,
  memberKeyLines,
  parse,
  validConfig,
  warningsOf,
} from './fixtures.js';

describe('booth man page examples', () => {
  it('reads the verbose example with every value as booth holds it', () => {
    const { config, problems } = parse(boothManVerbose);
    expect(config.transport).toBe('UDP');
    expect(config.port).toBe(9930);
    expect(config.name).toBe('booth');
    expect(config.members.map((m) => [m.index, m.kind, m.address, m.port])).toEqual([
      [0, 'site', '192.168.201.100', 9930],
      [1, 'site', '::ffff:192.168.202.100', 9930],
      [2, 'arbitrator', '192.168.203.100', 9930],
    ]);
    expect(config.tickets).toEqual([
      {
        name: 'ticket-db8',
        mode: 'automatic',
        expireMs: 600_000,
        acquireAfterMs: 60_000,
        renewalFreqMs: 300_000,
        timeoutMs: 10_000,
        retries: 5,
        weights: [0, 0, 0],
        beforeAcquireHandler: null,
        attrPrereqs: [],
        revokeLeadMs: 20_000, // 2 × timeout: no tollbooth-preset line, the timers follow booth's timeout
      },
    ]);
    // The only problems: tollbooth needs a key per member; each points at its member line.
    expect(warningsOf({ problems })).toEqual([]);
    expect(problems.map((p) => [p.line, p.severity, p.key])).toEqual([
      [5, 'error', 'site'],
      [7, 'error', 'site'],
      [9, 'error', 'arbitrator'],
    ]);
    expect(problems[0]?.message).toContain('tollbooth-member-key = 192.168.201.100 <base64 Ed25519 public key>');
  });

  it('reads both examples without any problem once member keys are added', () => {
    const examples = [
      [boothManMinimal, boothManMinimalAddresses],
      [boothManVerbose, boothManVerboseAddresses],
    ] as const;
    for (const [example, addresses] of examples) {
      const result = parse(example + memberKeyLines(addresses));
      expect(result.problems).toEqual([]);
      expect(result.config.members.map((m) => m.publicKey?.length)).toEqual([32, 32, 32]);
    }
  });
});

describe('defaults', () => {
  it("applies booth's defaults when keys are absent", () => {
    const { config } = parse(boothManMinimal, '/etc/booth/geo-east.conf');
    expect(config.name).toBe('geo-east');
    expect(config.port).toBe(9929);
    expect(config.transport).toBe('UDP');
    expect(config.maxTimeSkewMs).toBe(600_000);
    expect([config.siteUser, config.siteGroup, config.arbitratorUser, config.arbitratorGroup]).toEqual([
      'hacluster',
      'haclient',
      'nobody',
      'nobody',
    ]);
    expect(config.authFile).toBeNull();
    expect(config.debugLevel).toBe(0);
    const [ticket] = config.tickets;
    expect(ticket).toMatchObject({
      mode: 'automatic',
      expireMs: 600_000,
      renewalFreqMs: 300_000,
      timeoutMs: 5_000,
      retries: 10,
      acquireAfterMs: 0,
      weights: [0, 0, 0],
      beforeAcquireHandler: null,
      attrPrereqs: [],
    });
  });

  it("applies tollbooth's defaults: timing from booth's keys, 500 ppm, no admin keys, root-only socket", () => {
    const { config } = parse(boothManMinimal);
    expect(config.timing.name).toBe('booth');
    expect(config.timing.electionTimeoutMs).toBe(5_000);
    expect(config.clockDriftPpmMax).toBe(500);
    expect(config.adminKeys).toEqual([]);
    expect(config.adminGroup).toBeNull();
    // The timing's revoke lead (2 × timeout), capped at (expire − renewal-freq) / 2 for short leases.
    expect(config.tickets[0]?.revokeLeadMs).toBe(10_000);
    const short = parse(`${boothManMinimal}  expire = 30\n  timeout = 1\n`);
    expect(short.config.tickets[0]?.revokeLeadMs).toBe(2_000);
    const capped = parse(`tollbooth-preset = wan\n${boothManMinimal}  expire = 30\n  timeout = 1\n`);
    expect(capped.config.tickets[0]?.revokeLeadMs).toBe(7_500);
  });

  it('takes the name from the base name up to the last dot, as booth does', () => {
    expect(parse(boothManMinimal, 'geo.v2.conf').config.name).toBe('geo.v2');
    expect(parse(boothManMinimal, 'plain').config.name).toBe('plain');
    expect(parse(`name = prod\n${boothManMinimal}`, 'x.conf').config.name).toBe('prod');
  });

  it('reads every booth global key', () => {
    const { config, problems } = parse(`transport = "SCTP"
port = 9931
name = "geo"
authfile = /etc/booth/authkey
maxtimeskew = 120
site-user = hauser
site-group = hagroup
arbitrator-user = arbuser
arbitrator-group = arbgroup
debug = 2
${boothManMinimal}`);
    expect(config).toMatchObject({
      transport: 'SCTP',
      port: 9931,
      name: 'geo',
      authFile: '/etc/booth/authkey',
      maxTimeSkewMs: 120_000,
      siteUser: 'hauser',
      siteGroup: 'hagroup',
      arbitratorUser: 'arbuser',
      arbitratorGroup: 'arbgroup',
      debugLevel: 2,
    });
    // SCTP is a no-op in booth, and the *-user/*-group keys are broken in booth: both are flagged.
    expect(warningsOf({ problems }).map((p) => p.key)).toEqual([
      'transport',
      'site-user',
      'site-group',
      'arbitrator-user',
      'arbitrator-group',
    ]);
  });
});

describe('ticket = __defaults__', () => {
  const text = `site = 192.0.2.11
site = 192.0.2.12
arbitrator = 192.0.2.13
ticket = __defaults__
  expire = 120
  timeout = 3
  retries = 5
  weights = 1,2
  mode = manual
  tollbooth-revoke-lead = 4
  acquire-after = 30
  renewal-freq = 20
ticket = first
ticket = second
  expire = 90
  mode = automatic
`;

  it('passes expire, timeout, retries, weights, mode (and our revoke lead) to later tickets', () => {
    const { config } = parse(text);
    expect(config.tickets.map((t) => t.name)).toEqual(['first', 'second']);
    expect(config.tickets[0]).toMatchObject({
      expireMs: 120_000,
      timeoutMs: 3_000,
      retries: 5,
      weights: [1, 2, 0],
      mode: 'manual',
      revokeLeadMs: 4_000,
    });
    // A ticket's own values win over the defaults block.
    expect(config.tickets[1]).toMatchObject({ expireMs: 90_000, mode: 'automatic', timeoutMs: 3_000, renewalFreqMs: 45_000 });
  });

  it('does not pass acquire-after or renewal-freq, and warns that they have no effect there', () => {
    const result = parse(text);
    expect(result.config.tickets[0]).toMatchObject({ acquireAfterMs: 0, renewalFreqMs: 60_000 });
    expect(warningsOf(result).map((p) => [p.line, p.key])).toEqual([
      [11, 'acquire-after'],
      [12, 'renewal-freq'],
    ]);
    expect(warningsOf(result)[0]?.message).toContain('has no effect');
  });

  it('applies only to tickets after it, with a warning when it follows a ticket', () => {
    const result = parse(`${boothManMinimal}ticket = __defaults__\n  expire = 100\nticket = later\n`);
    expect(result.config.tickets.map((t) => [t.name, t.expireMs])).toEqual([
      ['ticket-db8', 600_000],
      ['later', 100_000],
    ]);
    const warning = warningsOf(result).find((p) => p.key === 'ticket');
    expect(warning?.line).toBe(5);
    expect(warning?.message).toContain('only to the tickets that follow');
  });

  it('blames a relation broken by an inherited value on the ticket line', () => {
    const result = parse(`${validConfig}ticket = __defaults__\n  expire = 60\n  timeout = 10\nticket = web\n`);
    const problem = errorsOf(result).find((p) => p.message.includes('timeout × (retries + 1)'));
    expect(problem?.line).toBe(16);
    expect(problem?.message).toContain('ticket "web"');
  });
});

describe('times', () => {
  const timeOf = (value: string): { ms: number | undefined; errors: string[] } => {
    const result = parse(`${validConfig}  acquire-after = ${value}\n`);
    return { ms: result.config.tickets[0]?.acquireAfterMs, errors: errorsOf(result).map((p) => p.message) };
  };

  it('reads whole seconds and milliseconds with an ms suffix', () => {
    expect(timeOf('7')).toEqual({ ms: 7_000, errors: [] });
    expect(timeOf('1500ms')).toEqual({ ms: 1_500, errors: [] });
    expect(timeOf('0')).toEqual({ ms: 0, errors: [] });
    expect(timeOf('+3')).toEqual({ ms: 3_000, errors: [] });
    expect(timeOf('" 2ms"')).toEqual({ ms: 2, errors: [] });
  });

  it('refuses every other form, as booth does', () => {
    for (const bad of ['1.5', '5s', '5 ms', '"5 "', 'ms', '5MS', '10m']) {
      const { errors } = timeOf(bad);
      expect(errors, bad).toHaveLength(1);
      expect(errors[0]).toContain('is not a time');
    }
  });

  it('uses milliseconds for every per-ticket time', () => {
    const { config, problems } = parse(
      `${validConfig}ticket = web\n  expire = 45000ms\n  renewal-freq = 20000ms\n  timeout = 1500ms\n  tollbooth-revoke-lead = 2500ms\n`,
    );
    expect(problems).toEqual([]);
    expect(config.tickets[1]).toMatchObject({ expireMs: 45_000, renewalFreqMs: 20_000, timeoutMs: 1_500, revokeLeadMs: 2_500 });
  });
});

describe('lexical rules', () => {
  it('accepts double quotes, single quotes and bare values, with blanks anywhere around "="', () => {
    const { config } = parse(`site="192.0.2.11"\n\tsite =   '192.0.2.12'   \n  arbitrator=192.0.2.13\t\n`);
    expect(config.members.map((m) => m.address)).toEqual(['192.0.2.11', '192.0.2.12', '192.0.2.13']);
  });

  it('treats # after a quoted value as a comment, but as part of a bare value', () => {
    const quoted = parse(`${validConfig}  acquire-after = "2" # seconds\n`);
    expect(quoted.problems).toEqual([]);
    const bare = parse(`${validConfig}  acquire-after = 2 # seconds\n`);
    expect(warningsOf(bare)[0]?.message).toContain('not a comment');
    expect(errorsOf(bare)[0]?.message).toContain('"2 # seconds" is not a time');
  });

  it('reads a CRLF file exactly like an LF file', () => {
    const lf = parse(validConfig);
    const crlf = parse(validConfig.replaceAll('\n', '\r\n'));
    expect(crlf.problems).toEqual([]);
    expect(crlf.config).toEqual(lf.config);
  });

  it('takes global keys anywhere, also after tickets', () => {
    const { config, problems } = parse(`${validConfig}port = 9940\ntollbooth-admin-key = ${keyOf(9)}\n`);
    expect(problems).toEqual([]);
    expect(config.port).toBe(9940);
    expect(config.tickets[0]?.expireMs).toBe(60_000);
    expect(config.adminKeys.map((k) => Buffer.from(k).toString('base64'))).toEqual([keyOf(9)]);
  });

  it('keeps line numbers of every value in the parsed document', () => {
    const { document } = parseBoothConf(validConfig, 'booth.conf');
    expect(document.members.map((m) => m.line)).toEqual([2, 3, 4]);
    expect(document.tickets[0]?.line).toBe(10);
    expect(document.tickets[0]?.valueLines).toEqual({ expire: 11, timeout: 12 });
    expect(document.valueLines).toEqual({ 'tollbooth-preset': 8 });
  });
});

describe("booth's value quirks", () => {
  const ticketOf = (lines: string) => {
    const result = parse(`${validConfig}${lines}`);
    return { ticket: result.config.tickets[0], result };
  };

  it('reads retries with strtol base 0 (hex and octal)', () => {
    expect(ticketOf('  retries = 0x5\n').ticket?.retries).toBe(5);
    expect(ticketOf('  retries = 07\n').ticket?.retries).toBe(7);
  });

  it('reads weights with any of ",;:-+" or blanks between them', () => {
    expect(ticketOf('  weights = 1,2,3\n').ticket?.weights).toEqual([1, 2, 3]);
    expect(ticketOf('  weights = 5;0x10 : 010\n').ticket?.weights).toEqual([5, 16, 8]);
    // booth eats the "-" between numbers as a separator; only a leading sign counts.
    expect(ticketOf('  weights = -1 -2\n').ticket?.weights).toEqual([-1, 2, 0]);
  });

  it('reads mode case-insensitively; an unknown mode is automatic, with a warning', () => {
    expect(ticketOf('  mode = MANUAL\n').ticket?.mode).toBe('manual');
    expect(ticketOf('  mode = automatic\n').ticket?.mode).toBe('automatic');
    const odd = ticketOf('  mode = manaul\n');
    expect(odd.ticket?.mode).toBe('automatic');
    expect(warningsOf(odd.result)[0]?.message).toContain('booth treats it as automatic');
  });

  it('reads before-acquire-handler as a program and up to 14 arguments', () => {
    const { ticket, result } = ticketOf('  before-acquire-handler = /usr/share/booth/service-runnable  db-8\tfs\n');
    expect(result.problems).toEqual([]);
    expect(ticket?.beforeAcquireHandler).toEqual({ program: '/usr/share/booth/service-runnable', args: ['db-8', 'fs'] });
    const many = ticketOf(`  before-acquire-handler = /bin/h ${'a '.repeat(14)}\n`);
    expect(many.ticket?.beforeAcquireHandler?.args).toHaveLength(14);
  });

  it('reads repeated attr-prereq lines in order', () => {
    const { ticket, result } = ticketOf('  attr-prereq = auto repl eq ACTIVE\n  attr-prereq = manual disk ne FAILED\n');
    expect(result.problems).toEqual([]);
    expect(ticket?.attrPrereqs).toEqual([
      { grantType: 'auto', name: 'repl', op: 'eq', value: 'ACTIVE' },
      { grantType: 'manual', name: 'disk', op: 'ne', value: 'FAILED' },
    ]);
  });

  it('accepts IPv6 members and host names', () => {
    const { config, problems } = parseConfigText(
      `site = 2001:db8::11\nsite = site-b.example.com\narbitrator = 192.0.2.13\n${memberKeyLines(['2001:DB8:0::11', 'site-b.example.com', '192.0.2.13'])}ticket = t\n`,
      'booth.conf',
    );
    expect(problems).toEqual([]);
    expect(config.members.map((m) => m.address)).toEqual(['2001:db8::11', 'site-b.example.com', '192.0.2.13']);
    // The key line may spell the IPv6 address differently.
    expect(config.members[0]?.publicKey).toEqual(new Uint8Array(Buffer.alloc(32, 1)));
  });
});

describe("tollbooth's keys", () => {
  it('reads every tollbooth key', () => {
    const { config, problems } = parse(`${validConfig}tollbooth-clock-drift-ppm-max = 2000
tollbooth-admin-key = ${keyOf(20)}
tollbooth-admin-key = ${keyOf(21)}
tollbooth-admin-group = haclient
  tollbooth-revoke-lead = 3
`);
    expect(problems).toEqual([]);
    expect(config.clockDriftPpmMax).toBe(2_000);
    expect(config.adminKeys).toHaveLength(2);
    expect(config.adminGroup).toBe('haclient');
    expect(config.tickets[0]?.revokeLeadMs).toBe(3_000);
    expect(config.timing.name).toBe('lan');
    expect(config.members.map((m) => Buffer.from(m.publicKey ?? []).toString('base64'))).toEqual([keyOf(1), keyOf(2), keyOf(3)]);
  });

  it('reads the alert handler and its timeout (global, anywhere in the file)', () => {
    const { config, problems } = parse(`${validConfig}tollbooth-alert-handler = /usr/share/tollbooth/alert-handlers/syslog -p daemon.notice
tollbooth-alert-timeout = 2500ms
`);
    expect(problems).toEqual([]);
    expect(config.alertHandler).toEqual({ program: '/usr/share/tollbooth/alert-handlers/syslog', args: ['-p', 'daemon.notice'] });
    expect(config.alertTimeoutMs).toBe(2_500);
    expect(parse(validConfig).config).toMatchObject({ alertHandler: null, alertTimeoutMs: 30_000 });
  });

  it('refuses a relative alert handler and a timeout out of range, naming the line', () => {
    const result = parse(`${validConfig}tollbooth-alert-handler = alert.sh
tollbooth-alert-timeout = 50ms
tollbooth-alert-timeout = 7200
`);
    const lines = validConfig.split('\n').length;
    expect(errorsOf(result).map((p) => [p.line, p.key])).toEqual([
      [lines, 'tollbooth-alert-handler'],
      [lines + 1, 'tollbooth-alert-timeout'],
      [lines + 2, 'tollbooth-alert-timeout'],
    ]);
    expect(errorsOf(result)[0]?.message).toContain('not an absolute path');
    expect(errorsOf(result)[1]?.message).toContain('50 ms is outside 100 ms');
    expect(result.config).toMatchObject({ alertHandler: null, alertTimeoutMs: 30_000 });
  });

  it('reads the history retention, and refuses one out of range or not a number, naming the line', () => {
    expect(parse(`${validConfig}tollbooth-history-records = 4096\n`).config.historyRecordsMax).toBe(4_096);
    const result = parse(`${validConfig}tollbooth-history-records = 0
tollbooth-history-records = 20000
tollbooth-history-records = lots
`);
    const lines = validConfig.split('\n').length;
    expect(errorsOf(result).map((p) => [p.line, p.key])).toEqual([
      [lines, 'tollbooth-history-records'],
      [lines + 1, 'tollbooth-history-records'],
      [lines + 2, 'tollbooth-history-records'],
    ]);
    expect(errorsOf(result)[0]?.message).toBe('tollbooth-history-records: 0 is outside 1 – 16384');
    expect(errorsOf(result)[2]?.message).toContain('"lots" is not a non-negative decimal integer');
    expect(result.config.historyRecordsMax).toBe(1_024);
  });
});
