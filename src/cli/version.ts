// The program's version, for `tollbooth --version` and `booth --version`
// (crmsh's `crm report` records the latter). Read from the package.json of
// this installation: it sits two levels above src/cli in a checkout and three
// above dist/src/cli in a build or the installed package.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packageJsonSearchDepthMax = 4;

export function tollboothVersion(): string {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < packageJsonSearchDepthMax; depth++) {
    dir = new URL('..', dir);
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('package.json', dir)), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tollbooth' && typeof pkg.version === 'string') return pkg.version;
    } catch (err) {
      // Not at this level (ENOENT) or not ours: look one level up.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
  }
  return 'unknown';
}
