// Keeps the documented frame and snapshot limits true (issue 12, item 2: frames
// were documented up to 8 MiB while the transport buffered 4 MiB). Each limit
// is one named constant in the code; docs/protocol.md's "Frame limits" table
// names it in a row that must state its value exactly ("(N bytes)", or
// "N tickets"), and configuration.md's ticket limit must be the same number.
// The relations the limits rest on are checked here too: the frame cap leaves
// the margin free in the stream buffer, and a chunk fits in a frame.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { streamBufferBytes, streamBufferMarginBytes } from '../../src/adapters/transport/libp2p-transport.js';
import { defaultLimits } from '../../src/core/config.js';
import { envelopeOverheadBytesMax, messageBytesMaxDefault } from '../../src/wire/envelope.js';

const repo = join(import.meta.dirname, '..', '..');
const protocol = readFileSync(join(repo, 'docs/protocol.md'), 'utf8');
const configuration = readFileSync(join(repo, 'docs/configuration.md'), 'utf8');

function rowOf(name: string): string {
  const rows = protocol.split('\n').filter((l) => l.startsWith('|') && l.includes(`\`${name}\``));
  expect(rows, `one row of docs/protocol.md names \`${name}\``).toHaveLength(1);
  return rows[0]!;
}

describe('the documented limits are the code constants', () => {
  it.each([
    ['streamBufferBytes', streamBufferBytes],
    ['streamBufferMarginBytes', streamBufferMarginBytes],
    ['messageBytesMaxDefault', messageBytesMaxDefault],
    ['snapshotChunkBytesMax', defaultLimits.snapshotChunkBytesMax],
    ['snapshotBytesMax', defaultLimits.snapshotBytesMax],
  ])('%s = %i bytes', (name, value) => {
    expect(rowOf(name)).toContain(`(${value} bytes)`);
  });

  it('ticketCountMax, in the protocol and in the configuration reference', () => {
    const n = defaultLimits.ticketCountMax;
    expect(rowOf('ticketCountMax')).toContain(`| ${n} tickets |`);
    const stated = [...configuration.matchAll(/(?:≤|more than) (\d+) tickets/g)].map((m) => Number(m[1]));
    expect(stated.length).toBeGreaterThan(0);
    expect(new Set(stated)).toEqual(new Set([n]));
  });

  it('the frame cap leaves the margin free, and a chunk fits in a frame', () => {
    expect(messageBytesMaxDefault + streamBufferMarginBytes).toBeLessThanOrEqual(streamBufferBytes);
    // A chunk's frame: its data, the few fields around it (well under 1 KiB) and the envelope.
    expect(defaultLimits.snapshotChunkBytesMax + 1024 + envelopeOverheadBytesMax).toBeLessThanOrEqual(messageBytesMaxDefault);
  });
});
