// Errors thrown by the config reader. Problems *in* a file are not thrown:
// they come back as a list of ConfigProblem (see problems.ts). These classes
// cover what stops reading altogether, and the caller that insists on a
// usable config (requireValidConfig). Metadata is flat so that it can go
// straight into structured log fields.
import { formatConfigProblem, type ConfigProblem } from './problems.js';
import { TollboothError } from '../errors.js';

/** The config file could not be read at all (missing, unreadable, a directory...). */
export class ConfigFileReadError extends TollboothError<'CONFIG_FILE_READ_FAILED'> {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('CONFIG_FILE_READ_FAILED', `cannot read config file ${path}: ${reason}`, { details: { path }, cause });
    this.path = path;
  }
}

/** The config file is larger than any sane formation config (configFileBytesMax). */
export class ConfigFileTooLargeError extends TollboothError<'CONFIG_FILE_TOO_LARGE'> {
  readonly path: string;
  readonly sizeBytes: number;
  readonly sizeBytesMax: number;

  constructor(path: string, sizeBytes: number, sizeBytesMax: number) {
    super('CONFIG_FILE_TOO_LARGE', `config file ${path} has ${sizeBytes} bytes; at most ${sizeBytesMax} are read`, { details: { path, sizeBytes, sizeBytesMax } });
    this.path = path;
    this.sizeBytes = sizeBytes;
    this.sizeBytesMax = sizeBytesMax;
  }
}

/** The config has at least one problem of severity `error`. */
export class ConfigInvalidError extends TollboothError<'CONFIG_INVALID'> {
  readonly file: string;
  readonly errorCount: number;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[]) {
    const errors = problems.filter((problem) => problem.severity === 'error');
    super('CONFIG_INVALID', `config ${file} has ${errors.length} error(s):\n${errors.map(formatConfigProblem).join('\n')}`, { details: { file, errorCount: errors.length } });
    this.file = file;
    this.errorCount = errors.length;
    this.problems = problems;
  }
}
