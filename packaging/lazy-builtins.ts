// Node built-ins that the member's bundle (dist/bin/member.cjs) loads on first use rather than when
// the module that imports them is evaluated (issue 15: spawn → admin socket). In the bundle every
// static `import … from 'node:child_process'` is a `require()` run with the importing module's
// body, so a member loaded child_process (and with it dgram, net's socket list), assert, zlib and
// timers/promises before its admin socket could bind, though with the file sink only zlib (booth's
// site id) runs before then: ~5–10 ms of CPU of a start (docs/benchmarks.md, "CLI start-up and the lease guard's
// footprint"). Here each of them is, for the bundle, a small module whose exports are getters that
// require the real one the first time any of them is read; a module that destructures at its top
// level (`const { x } = require(...)`) still loads it then, as before.
//
// Only built-ins whose users read their exports (never assign them, as graceful-fs does to fs) are
// listed; assert is itself a function, and stays callable. The export names are this Node's, read
// at build time; a name a later Node adds is not there (the build and its code cache are made for
// one Node version: bin/member-loader.ts checks it).
import type { Plugin } from 'esbuild';
import { createRequire } from 'node:module';

/** The built-ins made lazy in the member's bundle (see above). */
export const lazyBuiltins = ['child_process', 'assert', 'zlib', 'timers/promises'] as const;

const namespace = 'tollbooth-lazy-builtin';
const filter = new RegExp(`^(node:)?(${lazyBuiltins.map((b) => b.replace('/', '\\/')).join('|')})$`);

/** The CommonJS source of the lazy stand-in for built-in `name`. */
export function lazyBuiltinSource(name: string): string {
  const real = createRequire(import.meta.url)(`node:${name}`) as object;
  const callable = typeof real === 'function';
  const names = Object.keys(real);
  return [
    `let real;`,
    `const load = () => (real ??= require(${JSON.stringify(`node:${name}`)}));`,
    callable ? `const lazy = function (...args) { return load()(...args); };` : `const lazy = {};`,
    `for (const k of ${JSON.stringify(names)}) Object.defineProperty(lazy, k, { get: () => load()[k], enumerable: true });`,
    `module.exports = lazy;`,
    '',
  ].join('\n');
}

/** esbuild plugin: each listed built-in, imported or required anywhere in the bundle, becomes its lazy stand-in. */
export const lazyBuiltinsPlugin: Plugin = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter }, (args) => {
      const name = args.path.replace(/^node:/, '');
      // The stand-in's own require of the real module stays a require of Node's.
      if (args.namespace === namespace) return { path: `node:${name}`, external: true };
      return { path: name, namespace };
    });
    b.onLoad({ filter: /.*/, namespace }, (args) => ({ contents: lazyBuiltinSource(args.path), loader: 'js' }));
  },
};
