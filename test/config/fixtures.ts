// Shared material for the config tests: deterministic fake Ed25519 public
// keys (the reader checks length and encoding, not the curve point) and the
// booth.conf examples from booth's own man page (docs/boothd.8.txt), copied
// byte for byte.
import { parseConfigText, type ConfigLoadResult, type ConfigProblem } from '../../src/config/index.js';

/** A 32-byte key filled with `fill`, in standard base64. */
export function keyOf(fill: number): string {
  return Buffer.alloc(32, fill).toString('base64');
}

/** `tollbooth-member-key` lines for the given addresses, keys 1, 2, 3... */
export function memberKeyLines(addresses: readonly string[]): string {
  return addresses.map((address, index) => `tollbooth-member-key = ${address} ${keyOf(index + 1)}\n`).join('');
}

/** booth man page, "A minimal file may look like this". */
export const boothManMinimal = `site="192.168.201.100"
site="192.168.202.100"
arbitrator="192.168.203.100"
ticket="ticket-db8"
`;

/** booth man page, "A more verbose example of a configuration file". */
export const boothManVerbose = `transport = udp
port = 9930

# D-85774
site="192.168.201.100"
# D-90409
site="::ffff:192.168.202.100"
# A-1120
arbitrator="192.168.203.100"

ticket="ticket-db8"
    expire        = 600
    acquire-after = 60
    timeout       = 10
    retries       = 5
`;

export const boothManMinimalAddresses = ['192.168.201.100', '192.168.202.100', '192.168.203.100'] as const;
export const boothManVerboseAddresses = ['192.168.201.100', '::ffff:192.168.202.100', '192.168.203.100'] as const;

/** Three members with keys and the LAN preset: a complete tollbooth config to vary in tests. */
export const validConfig = `# two sites and an arbitrator
site = 192.0.2.11
site = 192.0.2.12
arbitrator = 192.0.2.13
${memberKeyLines(['192.0.2.11', '192.0.2.12', '192.0.2.13'])}tollbooth-preset = lan

ticket = db
  expire = 60
  timeout = 2
`;

export function parse(text: string, fileName = 'booth.conf'): ConfigLoadResult {
  return parseConfigText(text, fileName);
}

export function errorsOf(result: Pick<ConfigLoadResult, 'problems'>): ConfigProblem[] {
  return result.problems.filter((problem) => problem.severity === 'error');
}

export function warningsOf(result: Pick<ConfigLoadResult, 'problems'>): ConfigProblem[] {
  return result.problems.filter((problem) => problem.severity === 'warning');
}
