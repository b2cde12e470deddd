// Problems found while reading a formation config. The reader never stops at
// the first one: an operator fixing a file wants the whole list in one go, the
// way a compiler reports every error (booth itself stops at the first, which
// turns a migration into a long edit-restart loop).
import { printable } from './printable.js';

/** `error` makes the config unusable; `warning` is worth reading but harmless. */
export type ConfigProblemSeverity = 'error' | 'warning';

/** One thing wrong with a config file, located precisely enough to fix it. */
export interface ConfigProblem {
  /** The file name as given to the reader (a path or a label). */
  readonly file: string;
  /** 1-based line number; 0 means the file as a whole (e.g. "no site lines"). */
  readonly line: number;
  /** The config key the problem is about, when there is one. */
  readonly key?: string;
  readonly severity: ConfigProblemSeverity;
  /** A plain sentence saying what is wrong and, where possible, how to fix it. */
  readonly message: string;
}

/** Builds a problem; `key` is left out rather than set to undefined (exactOptionalPropertyTypes). */
export function configProblem(
  file: string,
  line: number,
  severity: ConfigProblemSeverity,
  message: string,
  key?: string,
): ConfigProblem {
  return key === undefined ? { file, line, severity, message } : { file, line, key, severity, message };
}

/** True if any problem is an error (warnings alone leave the config usable). */
export function hasConfigErrors(problems: readonly ConfigProblem[]): boolean {
  return problems.some((problem) => problem.severity === 'error');
}

/**
 * `file:line: severity: message`, the form editors and CI logs link to. The
 * message quotes the file's text and the name may be anything: both are
 * escaped (printable.ts), so a control sequence in the file is shown, not
 * obeyed by the terminal.
 */
export function formatConfigProblem(problem: ConfigProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return printable(`${where}: ${problem.severity}: ${problem.message}`);
}

/**
 * Orders problems by line (file-level ones, line 0, last), keeping the order
 * in which they were found for equal lines, so output reads top to bottom.
 */
export function sortConfigProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const rank = (problem: ConfigProblem): number => (problem.line > 0 ? problem.line : Number.MAX_SAFE_INTEGER);
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => rank(a.problem) - rank(b.problem) || a.index - b.index)
    .map(({ problem }) => problem);
}
