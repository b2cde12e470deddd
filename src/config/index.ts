// The formation config reader: booth.conf plus tollbooth's `tollbooth-*`
// keys in, a FormationConfig and every problem out. A config with errors is
// still returned (best effort, e.g. for `tollbooth config check` to show);
// requireValidConfig() is what a process calls before it runs on one.
import { parseBoothConf, configFileBytesMax, type ConfigDocument } from './booth-conf.js';
import { buildFormationConfig } from './build-formation-config.js';
import { ConfigFileReadError, ConfigFileTooLargeError, ConfigInvalidError } from './errors.js';
import type { FormationConfig, ValidFormationConfig, ValidFormationMember } from './formation-config.js';
import { configProblem, hasConfigErrors, sortConfigProblems, type ConfigProblem } from './problems.js';
import { readRegularFileSync, RegularFileError } from './regular-file.js';
import { tollboothKeys } from './tollbooth-keys.js';
import { validateFormation } from './validate.js';

export interface ConfigLoadResult {
  /** The file name or path the problems refer to. */
  readonly fileName: string;
  /** Best effort when problems contains errors; see requireValidConfig. */
  readonly config: FormationConfig;
  /** Every problem found, ordered by line (file-level ones last). */
  readonly problems: readonly ConfigProblem[];
  /** The handler programs the file names, each with its line: `config check` checks them on this machine. */
  readonly handlers: readonly ConfiguredHandler[];
}

/** A handler program named by the file (`before-acquire-handler`, `tollbooth-alert-handler`) and the line that names it. */
export interface ConfiguredHandler {
  readonly key: string;
  readonly line: number;
  readonly program: string;
  /** The ticket whose handler it is; absent for the alert handler. */
  readonly ticket?: string;
}

/**
 * Parses config text. `fileName` labels the problems and, as in booth, gives
 * the formation name when the file has no `name` line (`booth.conf` → `booth`).
 */
export function parseConfigText(text: string, fileName: string): ConfigLoadResult {
  return parseWithProblems(text, fileName, []);
}

function parseWithProblems(text: string, fileName: string, earlier: readonly ConfigProblem[]): ConfigLoadResult {
  const { document, problems } = parseBoothConf(text, fileName);
  const config = buildFormationConfig(document);
  const relationProblems = validateFormation(document, config);
  return { fileName, config, problems: sortConfigProblems([...earlier, ...problems, ...relationProblems]), handlers: configuredHandlers(document) };
}

function configuredHandlers(document: ConfigDocument): ConfiguredHandler[] {
  const out: ConfiguredHandler[] = [];
  const alert = document.alertHandler;
  if (alert !== null) out.push({ key: tollboothKeys.alertHandler, line: document.valueLines[tollboothKeys.alertHandler] ?? 0, program: alert.program });
  for (const t of document.tickets) {
    if (t.beforeAcquireHandler === null) continue;
    out.push({ key: 'before-acquire-handler', line: t.valueLines['before-acquire-handler'] ?? t.line, program: t.beforeAcquireHandler.program, ticket: t.name });
  }
  return out;
}

/**
 * Reads and parses a config file. Throws ConfigFileReadError if it cannot be
 * read and ConfigFileTooLargeError above configFileBytesMax; problems in the
 * text come back in `problems`. Synchronous: it runs once at start-up,
 * before there is anything to cancel.
 */
export function loadConfigFile(path: string): ConfigLoadResult {
  const bytes = readBounded(path);
  const { text, problems } = decodeUtf8Lines(bytes, path);
  return parseWithProblems(text, path, problems);
}

/**
 * The config with what validation proved in its type (every member has its
 * key), or null when a problem is an error. A member without a key in a
 * config without errors is a bug in validate.ts: it throws.
 */
export function validConfig(result: ConfigLoadResult): ValidFormationConfig | null {
  if (hasConfigErrors(result.problems)) return null;
  const members = result.config.members.map((m): ValidFormationMember => {
    if (m.publicKey === null) throw new Error(`validate.ts let ${m.kind} ${m.address} through without a public key`);
    return { ...m, publicKey: m.publicKey };
  });
  return { ...result.config, members };
}

/** Returns the config if no problem is an error; otherwise throws ConfigInvalidError listing them. */
export function requireValidConfig(result: ConfigLoadResult): ValidFormationConfig {
  const config = validConfig(result);
  if (config === null) throw new ConfigInvalidError(result.fileName, result.problems);
  return config;
}

function readBounded(path: string): Buffer {
  try {
    // Only a regular file: a FIFO would block start-up with no message (regular-file.ts).
    return readRegularFileSync(path, configFileBytesMax).bytes;
  } catch (error) {
    if (error instanceof RegularFileError && error.code === 'FILE_TOO_LARGE') throw new ConfigFileTooLargeError(path, error.sizeBytes, configFileBytesMax);
    throw new ConfigFileReadError(path, error);
  }
}

/**
 * Decodes the file as UTF-8 line by line, so that an invalid byte sequence is
 * reported at its line instead of failing the whole file. The byte-order mark
 * is kept (ignoreBOM) so that the parser can report it: booth cannot read it.
 */
function decodeUtf8Lines(bytes: Buffer, path: string): { text: string; problems: ConfigProblem[] } {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  try {
    return { text: strict.decode(bytes), problems: [] };
  } catch {
    // The decoder's error carries no position: decode line by line to report each bad line.
    const problems: ConfigProblem[] = [];
    const lines: string[] = [];
    let start = 0;
    let lineNumber = 1;
    while (start <= bytes.length) {
      const newline = bytes.indexOf(0x0a, start);
      const end = newline < 0 ? bytes.length : newline;
      const lineBytes = bytes.subarray(start, end);
      try {
        lines.push(strict.decode(lineBytes));
      } catch (lineError) {
        const reason = lineError instanceof Error ? lineError.message : String(lineError);
        problems.push(configProblem(path, lineNumber, 'error', `the line is not valid UTF-8 (${reason})`));
        lines.push(lenient.decode(lineBytes));
      }
      if (newline < 0) break;
      start = newline + 1;
      lineNumber += 1;
    }
    return { text: lines.join('\n'), problems };
  }
}

export { parseBoothConf, configFileBytesMax } from './booth-conf.js';
export type { ConfigDocument, ParsedBoothConf, TicketBlock, MemberLine, MemberKeyLine, AdminKeyLine } from './booth-conf.js';
export {
  boothDefaults,
  configLineBytesMax,
  boothKeyBytesMax,
  boothValueBytesMax,
  memberCountMax,
  ticketNameBytesMax,
  formationNameBytesMax,
  ticketCountMax,
  attrPrereqCountMax,
  defaultsTicketName,
} from './booth-conf.js';
export { buildFormationConfig, defaultFormationName } from './build-formation-config.js';
export { ConfigFileReadError, ConfigFileTooLargeError, ConfigInvalidError } from './errors.js';
export type {
  AttrPrereq,
  FormationConfig,
  FormationMember,
  MemberKind,
  TicketDefinition,
  TicketHandler,
  TicketMode,
  ValidFormationConfig,
  ValidFormationMember,
} from './formation-config.js';
export { canonicalConfigText, configFingerprint, configFingerprintVersion } from './fingerprint.js';
export { timingPresets, timingPresetNames, timingPresetDefault, timingPresetProblems } from './presets.js';
export type { TimingPreset, TimingPresetName } from './presets.js';
export { formatConfigProblem, hasConfigErrors } from './problems.js';
export type { ConfigProblem, ConfigProblemSeverity } from './problems.js';
export { boothSiteId, boothSiteIdOfBytes } from './site-id.js';
export { tollboothKeys, clockDriftPpmMaxDefault, clockDriftPpmMaxLimit } from './tollbooth-keys.js';
export { validateFormation } from './validate.js';
