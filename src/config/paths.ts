// Where a formation's files live, as booth and the tools around it (pcs,
// crmsh, Hawk, booth-site) expect them: /etc/booth/NAME.conf, with
// tollbooth's earlier /etc/tollbooth/NAME.conf still accepted.
//
// `-c` takes a path (anything with a "/") or a short name, as booth's does: a
// name gets ".conf" appended when it has no dot and is looked up in
// /etc/booth, then in /etc/tollbooth. The member key defaults to the file the
// config's `authfile` names (so that `pcs booth sync` and csync2, which copy
// the config and its authfile to every node of a site, carry the site's key
// along), else NAME.key beside the config, else the old default
// /etc/tollbooth/NAME.key.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** booth's configuration directory: every booth tool hard-codes it. */
export const boothConfDir = '/etc/booth';
/** tollbooth's earlier directory, still read. */
export const tollboothConfDir = '/etc/tollbooth';
/** booth's default config name (`/etc/booth/booth.conf`). */
export const defaultConfName = 'booth';
const confExtension = '.conf';

/** The directories a short config name is looked up in, in order. */
export const confSearchDirs: readonly string[] = [boothConfDir, tollboothConfDir];

/**
 * The path `-c ARG` means. A path is returned unchanged; a short name is the
 * first existing one of /etc/booth/NAME[.conf], /etc/tollbooth/NAME[.conf], or
 * the /etc/booth one when neither exists (so that the error names booth's
 * path). No argument means the name "booth".
 */
export function resolveConfigPath(arg: string | undefined, exists: (path: string) => boolean = existsSync): string {
  const given = arg ?? defaultConfName;
  if (given.includes('/')) return given;
  const file = given.includes('.') ? given : `${given}${confExtension}`;
  const candidates = confSearchDirs.map((dir) => join(dir, file));
  return candidates.find((path) => exists(path)) ?? candidates[0]!;
}

/**
 * The files a member looks in for its key when `-k` is not given, in order:
 * the config's `authfile` when it has one, NAME.key beside the config, and
 * (for setups made before /etc/booth was the default) /etc/tollbooth/NAME.key.
 * The member takes the first that exists and holds a tollbooth key; a booth
 * HMAC authfile left from booth is skipped, and named if nothing else fits.
 */
export function memberKeyCandidates(configPath: string, formationName: string, authFile: string | null): string[] {
  const candidates = [
    ...(authFile !== null && authFile !== '' ? [authFile] : []),
    join(dirname(configPath), `${formationName}.key`),
    join(tollboothConfDir, `${formationName}.key`),
  ];
  return [...new Set(candidates)];
}

/** The admin socket of a formation's local member. */
export function defaultSocketPath(formationName: string): string {
  return `/run/tollbooth/${formationName}.sock`;
}
