import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cibFileTicketCounts, cibTicketCounts, cibWriteMeans, parseTicketsSink, writeSerializedCibTools } from '../../bench/tickets-sink.js';

const execFileP = promisify(execFile);

describe('parseTicketsSink (--tickets-sink of bench/run.ts)', () => {
  it('takes file and crm_ticket', () => {
    expect(parseTicketsSink('file')).toBe('file');
    expect(parseTicketsSink('crm_ticket')).toBe('crm_ticket');
  });

  it('rejects an unknown sink, naming it and the known ones', () => {
    expect(() => parseTicketsSink('cib')).toThrow('--tickets-sink: unknown sink "cib" (file, crm_ticket)');
    expect(() => parseTicketsSink('')).toThrow('unknown sink ""');
  });
});

describe('cibTicketCounts', () => {
  const cib = (states: string): string => `<cib epoch="1"><configuration/><status><tickets>${states}</tickets></status></cib>`;

  it('counts the ticket states, the granted ones, and the revoked ones owned by the given site', () => {
    const xml = cib(
      '<ticket_state id="t1" granted="true" owner="7" term="3"/>' +
        '<ticket_state id="t2" granted="false" owner="7" term="3"/>' +
        '<ticket_state id="t3" granted="false" owner="0"/>' +
        '<ticket_state id="t4" granted="false" owner="-1"/>',
    );
    expect(cibTicketCounts(xml, 7)).toEqual({ ticketStates: 4, granted: 1, revokedOwnedBy: 1 });
    expect(cibTicketCounts(xml, null)).toEqual({ ticketStates: 4, granted: 1, revokedOwnedBy: 0 });
  });

  it('an empty status section has no ticket states', () => {
    expect(cibTicketCounts('<cib><configuration/><status/></cib>', 7)).toEqual({ ticketStates: 0, granted: 0, revokedOwnedBy: 0 });
  });
});

describe('cibWriteMeans', () => {
  it('reads the count and mean of each kind of tollbooth_cib_write_duration_seconds', () => {
    const text = [
      '# HELP tollbooth_cib_write_duration_seconds How long a ticket sink write took',
      '# TYPE tollbooth_cib_write_duration_seconds histogram',
      'tollbooth_cib_write_duration_seconds_bucket{le="0.025",kind="grant"} 0',
      'tollbooth_cib_write_duration_seconds_bucket{le="+Inf",kind="grant"} 1000',
      'tollbooth_cib_write_duration_seconds_sum{kind="grant"} 250.5',
      'tollbooth_cib_write_duration_seconds_count{kind="grant"} 1000',
      'tollbooth_cib_write_duration_seconds_sum{kind="guard"} 0',
      'tollbooth_cib_write_duration_seconds_count{kind="guard"} 0',
      'tollbooth_cib_write_duration_seconds_sum{kind="revoke"} 0.06',
      'tollbooth_cib_write_duration_seconds_count{kind="revoke"} 2',
    ].join('\n');
    expect(cibWriteMeans(text)).toEqual({ grant: { count: 1000, meanMs: 251 }, revoke: { count: 2, meanMs: 30 } });
  });
});

describe('writeSerializedCibTools', () => {
  it('runs crm_ticket calls on one CIB file one at a time: 20 grants at once all land', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollbooth-cib-tools-'));
    try {
      const cib = join(dir, 'cib.xml');
      await copyFile(join(import.meta.dirname, '..', 'adapters', 'fixtures', 'cib-tickets.xml'), cib);
      await writeSerializedCibTools(join(dir, 'tools'));
      const env = { ...process.env, CIB_file: cib, PATH: `${join(dir, 'tools')}:${process.env['PATH'] ?? ''}` };
      const names = Array.from({ length: 20 }, (_, i) => `race${i}`);
      // Unserialized, most of these are lost: each call reads the file, changes it and writes it back.
      await Promise.all(names.map((t) => execFileP('crm_ticket', ['-t', t, '-g', '--force'], { env })));
      const counts = await cibFileTicketCounts(cib, null);
      expect(counts).toEqual({ ticketStates: 20, granted: 20, revokedOwnedBy: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
