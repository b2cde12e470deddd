// The protocol version rule (issue 11, item 6; src/wire/protocol-version.ts):
// same major and minors at most one apart interoperate, nothing else does;
// the verdict is symmetric, so both ends of a link agree; and a version from
// the network is read strictly, every malformed form refused with a message
// saying what was there. Checked against a plain reference over a grid of
// versions, and on each malformed form the hello's reader can meet.
import { describe, expect, it } from 'vitest';
import {
  compatibility,
  formatProtocolVersion,
  helloPayload,
  minorVersionsApartMax,
  parseHello,
  parseProtocolVersion,
  protocolVersion,
  protocolVersionPartMax,
  type ProtocolVersion,
} from '../../src/wire/protocol-version.js';

const v = (major: number, minor: number): ProtocolVersion => ({ major, minor });

describe('compatibility', () => {
  it('one minor apart interoperates, either way', () => {
    expect(compatibility(v(1, 0), v(1, 1))).toEqual({ compatible: true });
    expect(compatibility(v(1, 1), v(1, 0))).toEqual({ compatible: true });
    expect(compatibility(v(1, 4), v(1, 4))).toEqual({ compatible: true });
  });

  it('two minors apart is refused, naming both versions', () => {
    expect(compatibility(v(1, 0), v(1, 2))).toEqual({
      compatible: false,
      reason: 'minor-too-far',
      detail: 'protocol 1.2 there, 1.0 here: more than 1 minor version apart (upgrade one minor version at a time)',
    });
  });

  it('another major is refused, however close the minors, naming both versions', () => {
    expect(compatibility(v(1, 0), v(2, 0))).toEqual({ compatible: false, reason: 'major-differs', detail: 'protocol 2.0 there, 1.0 here: major versions differ' });
    expect(compatibility(v(2, 9), v(1, 9))).toMatchObject({ compatible: false, reason: 'major-differs' });
  });

  it('agrees with the reference rule, and is symmetric, over a grid of versions', () => {
    const grid: ProtocolVersion[] = [];
    for (let major = 0; major <= 3; major++) for (let minor = 0; minor <= 4; minor++) grid.push(v(major, minor));
    for (const a of grid) {
      for (const b of grid) {
        const expected = a.major === b.major && Math.abs(a.minor - b.minor) <= minorVersionsApartMax;
        expect(compatibility(a, b).compatible, `${formatProtocolVersion(a)} with ${formatProtocolVersion(b)}`).toBe(expected);
        expect(compatibility(b, a).compatible).toBe(compatibility(a, b).compatible);
      }
    }
  });

  it('this build is compatible with itself, and its version has the text form the hello carries', () => {
    expect(compatibility(protocolVersion, protocolVersion).compatible).toBe(true);
    expect(parseHello(helloPayload(protocolVersion))).toEqual({ ok: true, version: protocolVersion });
    expect(Object.isFrozen(protocolVersion)).toBe(true);
  });
});

describe('parseProtocolVersion and parseHello', () => {
  it('reads major.minor', () => {
    expect(parseProtocolVersion('1.0')).toEqual({ ok: true, version: v(1, 0) });
    expect(parseProtocolVersion('0.12')).toEqual({ ok: true, version: v(0, 12) });
    expect(parseProtocolVersion(`${protocolVersionPartMax}.${protocolVersionPartMax}`)).toEqual({ ok: true, version: v(protocolVersionPartMax, protocolVersionPartMax) });
  });

  it.each([
    [undefined, 'no protocol version'],
    [null, 'protocol version is a null, not a "major.minor" string'],
    [1, 'protocol version is a number, not a "major.minor" string'],
    [{ major: 1 }, 'protocol version is a object, not a "major.minor" string'],
    ['1', 'protocol version "1" is not "major.minor"'],
    ['1.0.0', 'protocol version "1.0.0" is not "major.minor"'],
    ['01.0', 'protocol version "01.0" is not "major.minor"'],
    ['-1.0', 'protocol version "-1.0" is not "major.minor"'],
    [' 1.0', 'protocol version " 1.0" is not "major.minor"'],
    ['1.0\n', 'protocol version "1.0\\n" is not "major.minor"'],
    ['1.x', 'protocol version "1.x" is not "major.minor"'],
    ['65536.0', 'protocol version "65536.0" has a part above 65535'],
    ['123456.0', 'protocol version "123456.0" is not "major.minor"'],
    ['9'.repeat(100), `protocol version "${'9'.repeat(40)}"… is not "major.minor"`],
  ])('refuses %j: %s', (value, detail) => {
    expect(parseProtocolVersion(value)).toEqual({ ok: false, detail });
  });

  it('refuses a hello payload that is not an object, or has no version', () => {
    expect(parseHello('1.0')).toEqual({ ok: false, detail: 'hello payload is not a JSON object' });
    expect(parseHello(null)).toEqual({ ok: false, detail: 'hello payload is not a JSON object' });
    expect(parseHello(['1.0'])).toEqual({ ok: false, detail: 'hello payload is not a JSON object' });
    expect(parseHello({})).toEqual({ ok: false, detail: 'no protocol version' });
    expect(parseHello({ protocol: '1.1', extra: true })).toEqual({ ok: true, version: v(1, 1) });
  });
});
