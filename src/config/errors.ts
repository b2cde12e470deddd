// Errors thrown by the config reader. Problems *in* a file are not thrown:
// they come back as a list of ConfigProblem (see problems.ts). These classes
// cover what stops reading altogether, and the caller that insists on a
// usable config (requireValidConfig). Metadata is flat so that it can go
// straight into structured log fields.
import { formatConfigProblem, type ConfigProblem } from './problems.js';

/** The config file could not be read at all (missing, unreadable, a directory...). */
export class ConfigFileReadError extends Error {
  readonly code = 'CONFIG_FILE_READ_FAILED';
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot read config file ${path}: ${reason}`, { cause });
    this.name = 'ConfigFileReadError';
    this.path = path;
  }
}

/** The config file is larger than any sane formation config (configFileBytesMax). */
export class ConfigFileTooLargeError extends Error {
  readonly code = 'CONFIG_FILE_TOO_LARGE';
  readonly path: string;
  readonly sizeBytes: number;
  readonly sizeBytesMax: number;

  constructor(path: string, sizeBytes: number, sizeBytesMax: number) {
    super(`config file ${path} has ${sizeBytes} bytes; at most ${sizeBytesMax} are read`);
    this.name = 'ConfigFileTooLargeError';
    this.path = path;
    this.sizeBytes = sizeBytes;
    this.sizeBytesMax = sizeBytesMax;
  }
}

/** The config has at least one problem of severity `error`. */
export class ConfigInvalidError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly file: string;
  readonly errorCount: number;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[]) {
    const errors = problems.filter((problem) => problem.severity === 'error');
    super(`config ${file} has ${errors.length} error(s):\n${errors.map(formatConfigProblem).join('\n')}`);
    this.name = 'ConfigInvalidError';
    this.file = file;
    this.errorCount = errors.length;
    this.problems = problems;
  }
}
