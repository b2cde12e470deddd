// Errors of the registry store (the Storage port, src/runtime/ports.ts), shared
// by LevelStorage and its in-memory twin so that both fail the same way. Each
// has a stable `code` and flat metadata that goes straight into log fields
// (STYLE.md, from lodestar). `location` is the store's directory (or the name
// of the in-memory disk).
//
// None of these is ever swallowed: a store that cannot be read as written
// stops the member (DESIGN.md §1 — safety first). Restoring it is an
// operator's decision (rejoin with an empty store, or a backup).

import { TollboothError } from '../../errors.js';

/** Another open store holds the directory (LevelDB's LOCK file): most likely a second agent. */
export class StorageLockedError extends TollboothError<'STORAGE_LOCKED'> {
  readonly location: string;

  constructor(location: string, cause?: unknown) {
    super('STORAGE_LOCKED', `storage ${location} is already open elsewhere (its LOCK is held): is another tollbooth agent running on this directory?`, {
      details: { location },
      cause,
    });
    this.location = location;
  }
}

/** The store could not be opened for a reason other than the lock (missing parent directory, permissions, LevelDB's own corruption check...). */
export class StorageOpenError extends TollboothError<'STORAGE_OPEN_FAILED'> {
  readonly location: string;
  readonly reason: string;

  constructor(location: string, cause: unknown) {
    const reason = describeCause(cause);
    super('STORAGE_OPEN_FAILED', `cannot open storage ${location}: ${reason}`, { details: { location, reason }, cause });
    this.location = location;
    this.reason = reason;
  }
}

/** A record does not hold what this version wrote there, or the records do not fit together. */
export class StorageCorruptError extends TollboothError<'STORAGE_CORRUPT'> {
  readonly location: string;
  /** The offending record's key. */
  readonly key: string;
  readonly reason: string;

  constructor(location: string, key: string, reason: string, cause?: unknown) {
    super('STORAGE_CORRUPT', `storage ${location} is corrupt at key ${key}: ${reason}`, { details: { location, key, reason }, cause });
    this.location = location;
    this.key = key;
    this.reason = reason;
  }
}

/** The store was written in a format this version does not know (typically: written by a newer tollbooth). */
export class StorageVersionError extends TollboothError<'STORAGE_VERSION_UNSUPPORTED'> {
  readonly location: string;
  readonly key: string;
  readonly version: number;
  readonly versionsSupported: readonly number[];

  constructor(location: string, key: string, version: number, versionsSupported: readonly number[]) {
    super('STORAGE_VERSION_UNSUPPORTED', `storage ${location} has format version ${version} at key ${key}; this tollbooth reads version ${versionsSupported.join(', ')}`, {
      details: { location, key, version, versionsSupported },
    });
    this.location = location;
    this.key = key;
    this.version = version;
    this.versionsSupported = versionsSupported;
  }
}

/**
 * A persist batch that would leave the store unreadable (a hole in the log, a
 * snapshot going backwards, a value that is not JSON...). A programmer error
 * in the caller: nothing of the batch is written.
 */
export class StorageBatchError extends TollboothError<'STORAGE_BATCH_INVALID'> {
  readonly location: string;
  readonly reason: string;

  constructor(location: string, reason: string, cause?: unknown) {
    super('STORAGE_BATCH_INVALID', `refused to persist to ${location}: ${reason}`, { details: { location, reason }, cause });
    this.location = location;
    this.reason = reason;
  }
}

/** A write failed in the database. Whether it reached the disk is unknown, so the store refuses further writes until reopened. */
export class StorageWriteError extends TollboothError<'STORAGE_WRITE_FAILED'> {
  readonly location: string;
  readonly reason: string;

  constructor(location: string, cause: unknown) {
    const reason = describeCause(cause);
    super('STORAGE_WRITE_FAILED', `write to storage ${location} failed: ${reason}`, { details: { location, reason }, cause });
    this.location = location;
    this.reason = reason;
  }
}

/** The store was used after close(). */
export class StorageClosedError extends TollboothError<'STORAGE_CLOSED'> {
  readonly location: string;

  constructor(location: string) {
    super('STORAGE_CLOSED', `storage ${location} is closed`, { details: { location } });
    this.location = location;
  }
}

/** The error's message, followed by its cause's (LevelDB puts the useful part, e.g. "IO error: ...", in the cause). */
export function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
  return `${cause.message}${inner}`;
}
