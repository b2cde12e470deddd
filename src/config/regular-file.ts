// Reading the operator's own files — formation config, member and admin
// keys, quorum guardian settings, corosync.conf — whole, bounded, and only if
// they are regular files. A FIFO given by mistake (or left by someone else)
// would block open() until a writer appears and read() until it closes: a
// start-up that hangs with no message. A device could be endless. So the file
// is opened with O_NONBLOCK (a FIFO opens at once, with or without a writer;
// a regular file reads as usual), checked with fstat on the very descriptor
// that is read (no window for a swap between check and read), and read to
// at most bytesMax + 1 bytes so that a file growing after the fstat is still
// caught.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { TollboothError } from '../errors.js';

/** The path is not a regular file, or holds more than the reader's limit. */
export class RegularFileError extends TollboothError<'NOT_REGULAR_FILE' | 'FILE_TOO_LARGE'> {
  readonly path: string;
  /** NOT_REGULAR_FILE: what the path is instead ('a FIFO', 'a directory', ...). */
  readonly kind: string;
  /** FILE_TOO_LARGE: the size seen and the limit. */
  readonly sizeBytes: number;
  readonly sizeBytesMax: number;

  constructor(code: 'NOT_REGULAR_FILE' | 'FILE_TOO_LARGE', path: string, details: { kind?: string; sizeBytes?: number; sizeBytesMax?: number }) {
    super(
      code,
      code === 'NOT_REGULAR_FILE'
        ? `not a regular file (${details.kind ?? 'unknown kind'})`
        : `${details.sizeBytes ?? 0} bytes or more; at most ${details.sizeBytesMax ?? 0} are read`,
      { details: { path, kind: details.kind, sizeBytes: details.sizeBytes, sizeBytesMax: details.sizeBytesMax } },
    );
    this.path = path;
    this.kind = details.kind ?? 'a regular file';
    this.sizeBytes = details.sizeBytes ?? 0;
    this.sizeBytesMax = details.sizeBytesMax ?? 0;
  }
}

export interface RegularFileContent {
  readonly bytes: Buffer;
  /** fstat of the descriptor read (mode bits for a key file's permission check). */
  readonly stats: Stats;
}

// O_NONBLOCK: a FIFO opens without waiting for a writer. O_NOCTTY: a terminal device never becomes ours.
const openFlags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a plain file';
}

function checkKind(path: string, stats: Stats, bytesMax: number): number {
  if (!stats.isFile()) throw new RegularFileError('NOT_REGULAR_FILE', path, { kind: kindOf(stats) });
  if (stats.size > bytesMax) throw new RegularFileError('FILE_TOO_LARGE', path, { sizeBytes: stats.size, sizeBytesMax: bytesMax });
  // One byte more than allowed, so that growth after the fstat shows.
  return Math.min(stats.size, bytesMax) + 1;
}

function tooLarge(path: string, got: number, bytesMax: number): RegularFileError {
  return new RegularFileError('FILE_TOO_LARGE', path, { sizeBytes: got, sizeBytesMax: bytesMax });
}

/**
 * Reads a regular file of at most bytesMax bytes. Throws RegularFileError for
 * anything else, and the fs error (ENOENT, EACCES...) as is when it cannot be
 * opened or read. Synchronous, for readers that run once at start-up.
 */
export function readRegularFileSync(path: string, bytesMax: number): RegularFileContent {
  const fd = openSync(path, openFlags);
  try {
    const stats = fstatSync(fd);
    const buffer = Buffer.alloc(checkKind(path, stats, bytesMax));
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > bytesMax) throw tooLarge(path, length, bytesMax);
    return { bytes: buffer.subarray(0, length), stats };
  } finally {
    closeSync(fd);
  }
}

/** As readRegularFileSync, without blocking the event loop. */
export async function readRegularFile(path: string, bytesMax: number): Promise<RegularFileContent> {
  const handle = await open(path, openFlags);
  try {
    const stats = await handle.stat();
    const buffer = Buffer.alloc(checkKind(path, stats, bytesMax));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > bytesMax) throw tooLarge(path, length, bytesMax);
    return { bytes: buffer.subarray(0, length), stats };
  } finally {
    await handle.close();
  }
}

/** A regular file's text (UTF-8), at most bytesMax bytes. */
export async function readRegularTextFile(path: string, bytesMax: number): Promise<string> {
  return (await readRegularFile(path, bytesMax)).bytes.toString('utf8');
}
