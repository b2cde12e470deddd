// Where a process's pino lines go, and in what form (issue 13, item 6).
//
// Under systemd, standard error (or output) is a stream socket to the
// journal. journald reads a `<N>` prefix (N a syslog priority, 0–7) at the
// start of each line as that line's priority and strips it (sd-daemon(3),
// SyslogLevelPrefix= in systemd.exec(5), on by default), so with it
// `journalctl -p warning` shows the warnings and worse. systemd tells a
// program that a stream is the journal through JOURNAL_STREAM=<dev>:<ino>,
// the device and inode of that socket: a program must compare them with its
// own fd's fstat, because the variable is inherited by children whose fds
// point elsewhere (the lease guard's stdout is a log file; a shell pipe) —
// systemd.exec(5), "$JOURNAL_STREAM". Only a match gets prefixes; otherwise
// the lines stay plain pino JSON, which is what a file or a pipe reader
// expects.
//
// The prefix comes from pino's level: fatal → <2> (crit), error → <3> (err),
// warn → <4> (warning), info → <6> (info), debug and trace → <7> (debug).
// pino's multistream with `dedupe` sends each line to exactly one stream,
// the one of the highest level not above the line's, and every stream here
// writes (synchronously, through the one SonicBoom destination) its prefix
// and the line in one write, so a line is never split from its prefix.

import { fstatSync } from 'node:fs';
import { pino, type DestinationStream, type Level } from 'pino';

/** syslog priority per pino level (RFC 5424 severities). */
export const journalPriorityOfLevel: Readonly<Record<Level, number>> = {
  fatal: 2,
  error: 3,
  warn: 4,
  info: 6,
  debug: 7,
  trace: 7,
};

/**
 * Whether fd `fd` is the journal stream named by `journalStream` (the value
 * of JOURNAL_STREAM, `<dev>:<ino>` in decimal). False when it is unset,
 * malformed, or names another file; false when the fd cannot be examined.
 */
export function isJournalStream(fd: number, journalStream: string | undefined = process.env.JOURNAL_STREAM): boolean {
  if (journalStream === undefined) return false;
  const m = /^(\d+):(\d+)$/.exec(journalStream.trim());
  if (m === null) return false;
  let st;
  try {
    st = fstatSync(fd, { bigint: true });
  } catch (err) {
    // A closed fd 2 (a daemon started without one): then it is no journal.
    if ((err as NodeJS.ErrnoException).code === 'EBADF') return false;
    throw err;
  }
  return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
}

export interface LogDestination {
  readonly stream: DestinationStream;
  /** Whether lines carry journald priority prefixes. */
  readonly journal: boolean;
}

/**
 * The destination of a process's log: the file `dest` (created, with its
 * directory), or the fd `dest` — with journald priority prefixes when that
 * fd is the journal stream. Writes are synchronous either way: the line
 * saying a ticket was revoked must be written before a crash right after.
 */
export function logDestination(dest: string | number, journalStream: string | undefined = process.env.JOURNAL_STREAM): LogDestination {
  const out = pino.destination({ dest, sync: true, ...(typeof dest === 'string' ? { mkdir: true } : {}) });
  if (typeof dest === 'string' || !isJournalStream(dest, journalStream)) return { stream: out, journal: false };
  const levels: Level[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  const streams = levels.map((level) => {
    const prefix = `<${journalPriorityOfLevel[level]}>`;
    return { level, stream: { write: (line: string) => out.write(prefix + line) } };
  });
  return { stream: pino.multistream(streams, { dedupe: true }), journal: true };
}
