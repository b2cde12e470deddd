// Where booth's tools look for a formation's files (issue 14, item 2): `-c`
// short names resolve as booth resolves them (/etc/booth/NAME.conf, ".conf"
// appended only to a name without a dot), tollbooth's older /etc/tollbooth is
// still found, and the member key is looked for at the config's authfile,
// beside the config, then at the old default.
import { describe, expect, it } from 'vitest';
import { memberKeyCandidates, resolveConfigPath } from '../../src/config/paths.js';

const has = (...paths: string[]) => (p: string): boolean => paths.includes(p);

describe('config paths', () => {
  it('resolves -c as booth does, preferring /etc/booth', () => {
    expect(resolveConfigPath(undefined, has())).toBe('/etc/booth/booth.conf');
    expect(resolveConfigPath('geo', has())).toBe('/etc/booth/geo.conf');
    expect(resolveConfigPath('geo.v2', has())).toBe('/etc/booth/geo.v2');
    expect(resolveConfigPath('./geo', has())).toBe('./geo');
    expect(resolveConfigPath('/srv/x.conf', has())).toBe('/srv/x.conf');
    expect(resolveConfigPath('geo', has('/etc/tollbooth/geo.conf'))).toBe('/etc/tollbooth/geo.conf');
    expect(resolveConfigPath('geo', has('/etc/tollbooth/geo.conf', '/etc/booth/geo.conf'))).toBe('/etc/booth/geo.conf');
  });

  it('looks for the member key at authfile, beside the config, then /etc/tollbooth', () => {
    expect(memberKeyCandidates('/etc/booth/booth.conf', 'booth', '/etc/booth/authkey')).toEqual(['/etc/booth/authkey', '/etc/booth/booth.key', '/etc/tollbooth/booth.key']);
    expect(memberKeyCandidates('/etc/tollbooth/geo.conf', 'geo', null)).toEqual(['/etc/tollbooth/geo.key']);
  });
});
