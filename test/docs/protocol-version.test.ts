// The protocol version is defined once, in src/wire/protocol-version.ts;
// docs/protocol.md §10 states it and the compatibility rule. This keeps the
// page true when the version is bumped (issue 11, item 6).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProtocolVersion, minorVersionsApartMax, protocolVersion } from '../../src/wire/protocol-version.js';

const protocol = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');

describe('docs/protocol.md §10', () => {
  it('states this build\'s protocol version and the minor distance that interoperates', () => {
    expect(protocol).toContain(`(\`protocolVersion\`; this build: **${formatProtocolVersion(protocolVersion)}**)`);
    expect(protocol).toContain(`(\`compatibility()\`; \`minorVersionsApartMax\` = ${minorVersionsApartMax})`);
  });
});
