// The command tree of the `tollbooth` CLI as data: names, usage,
// descriptions, options and arguments, read from the commander definitions
// themselves. `tollbooth cli-spec` (hidden) prints it as JSON; the package
// builder (packaging/deb/build-deb.ts) makes the man page tollbooth(8) and the
// bash completion from it, so that neither is written a second time.
import type { Command } from 'commander';

export interface CliOptionSpec {
  readonly flags: string;
  readonly long: string | null;
  readonly short: string | null;
  readonly description: string;
  readonly takesValue: boolean;
  readonly defaultValue: string | null;
  readonly choices: readonly string[] | null;
}

export interface CliCommandSpec {
  readonly name: string;
  readonly usage: string;
  readonly description: string;
  readonly arguments: ReadonlyArray<{ readonly name: string; readonly required: boolean; readonly description: string }>;
  readonly options: readonly CliOptionSpec[];
  readonly commands: readonly CliCommandSpec[];
}

/** Internal commander fields this reads: documented in commander's typings as public (options, registeredArguments, commands). */
export function cliSpecOf(cmd: Command): CliCommandSpec {
  const hidden = (c: Command): boolean => (c as unknown as { _hidden?: boolean })._hidden === true;
  return {
    name: cmd.name(),
    usage: cmd.usage(),
    description: cmd.description(),
    arguments: cmd.registeredArguments.map((a) => ({ name: a.name(), required: a.required, description: a.description })),
    options: cmd.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: o.flags,
        long: o.long ?? null,
        short: o.short ?? null,
        description: o.description,
        takesValue: o.required || o.optional,
        defaultValue: o.defaultValue === undefined || typeof o.defaultValue === 'boolean' ? null : String(o.defaultValue as string | number),
        choices: o.argChoices ?? null,
      })),
    commands: cmd.commands.filter((c) => !hidden(c) && c.name() !== 'help').map(cliSpecOf),
  };
}
