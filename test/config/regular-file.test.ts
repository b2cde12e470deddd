// The reader of the operator's files (src/config/regular-file.ts) and the
// terminal escaping of quoted file text (src/config/printable.ts): a FIFO, a
// directory or a device is refused at once by both the synchronous and the
// asynchronous reader, with the path and what it is; a file above the limit
// is refused with its size; a regular file reads whole. printable() escapes
// every terminal control character and nothing else, and is idempotent.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable, quoted } from '../../src/config/printable.js';
import { readRegularFile, readRegularFileSync, RegularFileError } from '../../src/config/regular-file.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollbooth-regular-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readRegularFile and readRegularFileSync', () => {
  const both = async (path: string, bytesMax: number): Promise<unknown[]> => {
    const out: unknown[] = [];
    try {
      out.push(readRegularFileSync(path, bytesMax));
    } catch (err) {
      out.push(err);
    }
    out.push(await readRegularFile(path, bytesMax).catch((err: unknown) => err));
    return out;
  };

  it('reads a regular file whole', async () => {
    const path = join(dir, 'plain');
    writeFileSync(path, 'hello\n');
    for (const r of await both(path, 6)) expect((r as { bytes: Buffer }).bytes.toString()).toBe('hello\n');
  });

  it('refuses a FIFO at once (no writer, no hang), naming what it is', async () => {
    const path = join(dir, 'fifo');
    execFileSync('mkfifo', [path]);
    for (const r of await both(path, 100)) {
      expect(r).toBeInstanceOf(RegularFileError);
      expect(r).toMatchObject({ code: 'NOT_REGULAR_FILE', path, kind: 'a FIFO', message: 'not a regular file (a FIFO)' });
    }
  });

  it('refuses a directory and a character device', async () => {
    for (const r of await both(dir, 100)) expect(r).toMatchObject({ code: 'NOT_REGULAR_FILE', kind: 'a directory' });
    for (const r of await both('/dev/zero', 100)) expect(r).toMatchObject({ code: 'NOT_REGULAR_FILE', kind: 'a character device' });
  });

  it('refuses a file above the limit with its size', async () => {
    const path = join(dir, 'big');
    writeFileSync(path, Buffer.alloc(101, 0x41));
    for (const r of await both(path, 100)) expect(r).toMatchObject({ code: 'FILE_TOO_LARGE', sizeBytes: 101, sizeBytesMax: 100 });
  });

  it('passes a missing file through as the fs error', async () => {
    for (const r of await both(join(dir, 'missing'), 100)) expect(r).toMatchObject({ code: 'ENOENT' });
  });
});

describe('printable', () => {
  it('escapes C0, DEL, C1, line separators and bidi controls', () => {
    expect(printable('a\x1b[2Jb\rc\td\ne\x07\x7f\u009b31m\u2028\u202e\u2066')).toBe('a\\x1b[2Jb\\rc\\td\\ne\\x07\\x7f\\x9b31m\\u2028\\u202e\\u2066');
  });

  it('leaves ordinary text, UTF-8 and backslashes alone, and is idempotent', () => {
    const text = 'café — "x" C:\\conf ✓';
    expect(printable(text)).toBe(text);
    const once = printable('\x1b]0;t\x07');
    expect(printable(once)).toBe(once);
    expect(quoted('a\x1b')).toBe('"a\\x1b"');
  });
});
