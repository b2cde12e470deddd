// Which launches of `tollbooth` run a member from its own bundle (dist/bin/member.cjs): both entry
// points ask this, the installed CommonJS one (bin/tollbooth-entry.ts) and the ES one
// (bin/tollbooth.ts). A small module of its own, so that neither loads more to decide.
import { basename } from 'node:path';

/** The names under which bin/cli.ts rewrites argv before parsing (booth's programs linked to the entry). */
const boothNames = new Set(['booth', 'boothd', 'geostore', 'booth-keygen']);

/** True for `tollbooth site-agent|arbitrator …` run under tollbooth's own name (not under one of booth's). */
export function runsMemberCommand(argv: readonly string[]): boolean {
  const command = argv[2];
  const script = basename(argv[1] ?? '').replace(/\.js$/, '');
  return (command === 'site-agent' || command === 'arbitrator') && !boothNames.has(script);
}
