// booth's daemon command line (src/cli/boothd.ts), pure parts: booth's
// getopt rules for `boothd daemon` (bundled flags, -s only after -D, -l
// ignored, tollbooth's own options after `--`), which member a host runs as
// booth decides it (the one config address on a local interface, or the one
// named), and the tollbooth command line that runs it. The processes
// themselves: test/e2e/boothd.test.ts.
import { describe, expect, it } from 'vitest';
import { backgroundPaths, daemonMember, memberArgv, parseBoothDaemonArgs } from '../../src/cli/boothd.js';
import { parse, validConfig } from '../config/fixtures.js';

const config = parse(validConfig).config;

describe('boothd daemon: booth\'s options', () => {
  it('reads bundled flags, inline values, the aliases and what follows "--"', () => {
    expect(parseBoothDaemonArgs(['daemon', '-SD', '-cgeo', '-l', '/run/booth.pid'])).toEqual({ kind: 'run', args: { config: 'geo', foreground: true, debug: true, self: undefined, passthrough: [] } });
    expect(parseBoothDaemonArgs(['start', '-c', '/etc/booth/x.conf'])).toMatchObject({ kind: 'run', args: { config: '/etc/booth/x.conf', foreground: false, debug: false } });
    expect(parseBoothDaemonArgs(['arbitrator', '-D', '-s', '192.0.2.13'])).toMatchObject({ kind: 'run', args: { self: '192.0.2.13', foreground: true } });
    expect(parseBoothDaemonArgs(['site', '-S', '--', '--self', '192.0.2.12', '--http', '9100'])).toMatchObject({ kind: 'run', args: { self: '192.0.2.12', passthrough: ['--self', '192.0.2.12', '--http', '9100'] } });
    expect(parseBoothDaemonArgs(['daemon', '-h']).kind).toBe('help');
  });

  it('refuses what booth refuses, naming it, and two identities that disagree', () => {
    expect(parseBoothDaemonArgs(['daemon', '-s', '192.0.2.11'])).toEqual({ kind: 'error', message: '"-s" is taken only after -D (booth\'s rule), or give "-- --self ADDRESS"' });
    expect(parseBoothDaemonArgs(['daemon', '-x'])).toEqual({ kind: 'error', message: 'unknown option: -x' });
    expect(parseBoothDaemonArgs(['daemon', '-c'])).toEqual({ kind: 'error', message: "option requires an argument -- 'c'" });
    expect(parseBoothDaemonArgs(['daemon', 'extra']).kind).toBe('error');
    expect(parseBoothDaemonArgs(['daemon', '--self', 'x']).kind).toBe('error');
    expect(parseBoothDaemonArgs(['daemon', '-D', '-s', '192.0.2.11', '--', '--self=192.0.2.12'])).toEqual({ kind: 'error', message: '-s 192.0.2.11 and --self 192.0.2.12 name two members' });
  });
});

describe('boothd daemon: which member, and how it runs', () => {
  it('is the member whose address is local, a site or an arbitrator as the config says', () => {
    expect(daemonMember(config, new Set(['127.0.0.1', '192.0.2.13']), undefined)).toEqual({ kind: 'arbitrator', address: '192.0.2.13' });
    expect(daemonMember(config, new Set(['192.0.2.11']), undefined)).toEqual({ kind: 'site', address: '192.0.2.11' });
    expect(daemonMember(config, new Set(['127.0.0.1']), '192.0.2.12')).toEqual({ kind: 'site', address: '192.0.2.12' });
    expect(daemonMember(config, new Set(['127.0.0.1']), undefined)).toHaveProperty('error', expect.stringContaining('no address of the config is configured on this host'));
    expect(daemonMember(config, new Set(['192.0.2.11', '192.0.2.12']), undefined)).toHaveProperty('error', expect.stringContaining('several addresses of the config are local (192.0.2.11, 192.0.2.12)'));
    expect(daemonMember(config, new Set(), '192.0.2.99')).toHaveProperty('error', expect.stringContaining('192.0.2.99 is no member of the config'));
  });

  it('runs as tollbooth site-agent or arbitrator with the config, the identity, -D as the debug level, and the passed options last', () => {
    const run = (argv: string[]) => {
      const p = parseBoothDaemonArgs(argv);
      if (p.kind !== 'run') throw new Error(JSON.stringify(p));
      return p.args;
    };
    expect(memberArgv(run(['daemon', '-S']), '/etc/booth/booth.conf', { kind: 'site', address: '192.0.2.11' })).toEqual(['site-agent', '-c', '/etc/booth/booth.conf', '--self', '192.0.2.11']);
    expect(memberArgv(run(['daemon', '-D', '--', '--http', '9100']), '/etc/booth/b.conf', { kind: 'arbitrator', address: '192.0.2.13' })).toEqual(['arbitrator', '-c', '/etc/booth/b.conf', '--self', '192.0.2.13', '--log-level', 'debug', '--http', '9100']);
    expect(memberArgv(run(['daemon', '-D', '--', '--self', '192.0.2.13', '--log-level', 'trace']), 'c', { kind: 'arbitrator', address: '192.0.2.13' })).toEqual(['arbitrator', '-c', 'c', '--self', '192.0.2.13', '--log-level', 'trace']);
  });

  it('in the background: the config\'s socket and /var/log/tollbooth/NAME.log, unless the member options name their own', () => {
    const args = (argv: string[]) => {
      const p = parseBoothDaemonArgs(argv);
      if (p.kind !== 'run') throw new Error(JSON.stringify(p));
      return p.args;
    };
    expect(backgroundPaths(args(['daemon']), 'booth', '/run/tollbooth/booth.sock')).toEqual({ socket: '/run/tollbooth/booth.sock', log: '/var/log/tollbooth/booth.log' });
    expect(backgroundPaths(args(['daemon', '--', '--socket', '/tmp/s.sock', '--log', '/tmp/m.log']), 'booth', '/run/tollbooth/booth.sock')).toEqual({ socket: '/tmp/s.sock', log: null });
  });
});
