// loadConfigFile reads a real file: the formation name comes from the file's
// base name, problems carry the path, invalid UTF-8 is reported at its line
// (the rest of the file is still read), and a missing or oversized file
// raises a named error with a code instead of returning a half-read config.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigFileReadError,
  ConfigFileTooLargeError,
  configFileBytesMax,
  loadConfigFile,
  parseConfigText,
} from '../../src/config/index.js';
import { validConfig } from './fixtures.js';

const directory = mkdtempSync(join(tmpdir(), 'tollbooth-config-'));
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

function writeConfig(name: string, content: string | Buffer): string {
  const path = join(directory, name);
  writeFileSync(path, content);
  return path;
}

describe('loadConfigFile', () => {
  it('reads a file like parseConfigText reads its text, named after the file', () => {
    const path = writeConfig('geo-east.conf', validConfig);
    const loaded = loadConfigFile(path);
    expect(loaded.problems).toEqual([]);
    expect(loaded.fileName).toBe(path);
    expect(loaded.config.name).toBe('geo-east');
    expect(loaded.config).toEqual(parseConfigText(validConfig, path).config);
  });

  it('reports invalid UTF-8 at its line and reads the other lines', () => {
    const bytes = Buffer.concat([Buffer.from(validConfig), Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nport = 9940\n')]);
    const path = writeConfig('latin1.conf', bytes);
    const loaded = loadConfigFile(path);
    expect(loaded.problems.map((p) => [p.file, p.line, p.severity])).toEqual([[path, 13, 'error']]);
    expect(loaded.problems[0]?.message).toContain('not valid UTF-8');
    expect(loaded.config.port).toBe(9940);
  });

  it('throws ConfigFileReadError for a missing file', () => {
    const path = join(directory, 'missing.conf');
    expect(() => loadConfigFile(path)).toThrow(ConfigFileReadError);
    try {
      loadConfigFile(path);
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_FILE_READ_FAILED', path });
    }
  });

  it('throws ConfigFileReadError for a directory', () => {
    expect(() => loadConfigFile(directory)).toThrow(ConfigFileReadError);
  });

  it('throws ConfigFileTooLargeError above the size limit, without parsing', () => {
    const path = writeConfig('huge.conf', Buffer.alloc(configFileBytesMax + 1, 0x23));
    expect(() => loadConfigFile(path)).toThrow(ConfigFileTooLargeError);
    try {
      loadConfigFile(path);
    } catch (error) {
      expect(error).toMatchObject({ code: 'CONFIG_FILE_TOO_LARGE', sizeBytes: configFileBytesMax + 1 });
    }
  });
});
