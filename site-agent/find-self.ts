// Which member this process is, and the start-up error every composition root
// of a site exits with — apart from main.ts, so that the lease guard and
// `cib-revoke-all` (lease-guard-main.ts) find their site without loading the
// member's transport, store and core (issue 15, item 2).

import { networkInterfaces } from 'node:os';
import type { FormationMember, MemberKind } from '../src/config/formation-config.js';
import { TollboothError } from '../src/errors.js';

/** EX_CONFIG: a config or key problem (systemd's RestartPreventExitStatus can name it). */
export const exitConfig = 78;

export class StartupError extends TollboothError<'STARTUP_FAILED'> {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super('STARTUP_FAILED', message, { details: { exitCode } });
  }
}

/** Which member this process is: `--self`, else the member whose address is configured on a local interface. */
export function findSelf<M extends FormationMember>(config: { readonly members: readonly M[] }, kind: MemberKind, self: string | undefined): M {
  const members = config.members.filter((m) => m.kind === kind);
  if (self !== undefined) {
    const m = config.members.find((x) => x.address === self);
    if (m === undefined) throw new StartupError(exitConfig, `--self ${self}: no member with that address in the config`);
    if (m.kind !== kind) throw new StartupError(exitConfig, `--self ${self} is configured as ${m.kind === 'site' ? 'a site' : 'an arbitrator'}, not as ${kind === 'site' ? 'a site' : 'an arbitrator'}`);
    return m;
  }
  const local = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) local.add(a.address);
  const mine = members.filter((m) => local.has(m.address));
  if (mine.length === 1) return mine[0]!;
  if (mine.length === 0) throw new StartupError(exitConfig, `no ${kind} address of the config is configured on this host; pass --self ADDRESS`);
  throw new StartupError(exitConfig, `several ${kind} addresses are local (${mine.map((m) => m.address).join(', ')}); pass --self ADDRESS`);
}
