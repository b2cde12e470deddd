// Checks the one error base (src/errors.ts): a TollboothError carries a
// stable code and flat details, is named after its class, keeps its cause,
// and becomes `{ err, code, ...details }` in a real pino log line. Then the
// project's error classes, one from each layer that throws them, are checked
// to be TollboothErrors whose log fields say what went wrong without
// reading the message (the composition roots and the CLI rely on `code`).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { errorFields, errorMessage, TollboothError } from '../src/errors.js';
import { UsageError } from '../src/cli/usage-error.js';
import { KeyFileError } from '../src/cli/keys.js';
import { ConfigFileTooLargeError } from '../src/config/errors.js';
import { StorageCorruptError } from '../src/adapters/storage/storage-errors.js';
import { CrmTicketError } from '../src/adapters/pacemaker/crm-ticket-sink.js';
import { RunnabilityError } from '../src/adapters/pacemaker/runnability.js';
import { CorosyncObserveError } from '../src/adapters/corosync/corosync-observe.js';
import { parseXmlDocument, XmlSyntaxError } from '../src/adapters/xml-cursor.js';
import { EnvelopeError } from '../src/wire/envelope.js';
import { StartupError } from '../site-agent/main.js';

/** One pino line per call, parsed. */
function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ base: null, timestamp: false }, sink), lines };
}

describe('TollboothError', () => {
  it('carries a code, flat details, its class name and its cause', () => {
    class ProbeError extends TollboothError<'PROBE_FAILED' | 'PROBE_SLOW'> {}
    const cause = new Error('inner');
    const e = new ProbeError('PROBE_SLOW', 'probe took too long', { details: { ms: 1200, node: 'node1', tries: ['a', 'b'], gone: undefined }, cause });
    expect(e).toBeInstanceOf(TollboothError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ProbeError');
    expect(e.code).toBe('PROBE_SLOW');
    expect(e.cause).toBe(cause);
    expect(e.logFields()).toEqual({ code: 'PROBE_SLOW', ms: 1200, node: 'node1', tries: ['a', 'b'] });
  });

  it('goes into a pino line as { err, code, ...details }; other errors as { err } (and Node\'s own code)', () => {
    const { log, lines } = capture();
    const e = new StorageCorruptError('/var/lib/tollbooth', 'log/7', 'not JSON');
    log.error({ member: 'm1', ...errorFields(e) }, 'store unreadable');
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    log.warn(errorFields(enoent), 'plain error');
    log.warn(errorFields('a string'), 'not an error');
    expect(lines).toEqual([
      { level: 50, member: 'm1', err: e.message, code: 'STORAGE_CORRUPT', location: '/var/lib/tollbooth', key: 'log/7', reason: 'not JSON', msg: 'store unreadable' },
      { level: 40, err: 'no such file', code: 'ENOENT', msg: 'plain error' },
      { level: 40, err: 'a string', msg: 'not an error' },
    ]);
    expect(errorMessage(enoent)).toBe('no such file');
  });
});

describe('the project\'s errors derive from it', () => {
  const xmlError = ((): unknown => {
    try {
      parseXmlDocument('<a>');
    } catch (err) {
      return err;
    }
    return null;
  })();
  const cases: Array<[string, unknown, Record<string, unknown>]> = [
    ['UsageError (one for the whole CLI)', new UsageError('--listen: expected HOST:PORT'), { code: 'USAGE' }],
    ['KeyFileError', new KeyFileError('KEY_FILE_INVALID', 'bad key'), { code: 'KEY_FILE_INVALID' }],
    ['ConfigFileTooLargeError', new ConfigFileTooLargeError('/etc/booth/booth.conf', 2_000_000, 1_048_576), { code: 'CONFIG_FILE_TOO_LARGE', path: '/etc/booth/booth.conf', sizeBytes: 2_000_000, sizeBytesMax: 1_048_576 }],
    ['CrmTicketError', new CrmTicketError('NO_SUCH_TICKET', 'crm_ticket -t T -q exited 105', { args: ['-t', 'T', '-q'], exitCode: 105 }), { code: 'NO_SUCH_TICKET', args: ['-t', 'T', '-q'], exitCode: 105 }],
    ['RunnabilityError', new RunnabilityError('TIMEOUT', 'slow', { tool: 'crm_simulate' }), { code: 'TIMEOUT', tool: 'crm_simulate' }],
    ['CorosyncObserveError', new CorosyncObserveError('NOT_RUNNING', 'crm_node -l', 'no controller'), { code: 'NOT_RUNNING', source: 'crm_node -l' }],
    ['XmlSyntaxError', xmlError, { code: 'XML_SYNTAX', offset: 3, line: 1, column: 4 }],
    ['EnvelopeError', new EnvelopeError('ENVELOPE_CONFIG', 'bad limit', 'messageBytesMax'), { code: 'ENVELOPE_CONFIG', field: 'messageBytesMax' }],
    ['StartupError', new StartupError(78, 'no member with that address'), { code: 'STARTUP_FAILED', exitCode: 78 }],
  ];
  it.each(cases)('%s', (_, err, fields) => {
    expect(err).toBeInstanceOf(TollboothError);
    expect((err as TollboothError).logFields()).toMatchObject(fields);
    expect(err instanceof XmlSyntaxError || (err as Error).name !== 'Error').toBe(true);
  });
});
