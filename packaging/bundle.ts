// The last step of `npm run build`: dist/bin/tollbooth.js, as tsc wrote it,
// becomes one bundle of our code and the pure-JavaScript dependencies (libp2p,
// Noise, yamux, commander, …), split at every `await import(...)` the CLI
// makes (bin/tollbooth.ts loads each command's module lazily), so that
// `--help` and the admin commands still load only what they need.
//
// Why: a member spent ~400 of its ~480 ms from spawn to a listening admin
// socket resolving, reading and compiling some thousand ES modules one file
// at a time (docs/benchmarks.md, "Start-up"). Start-up time counts against a
// lease when a member restarts (issue 15), and a cold formation's first grant
// waits for its members to start. A bundle is a few dozen files.
//
// pino and classic-level's JavaScript are bundled too (issue 15: loaded as
// packages, they were some thirty CommonJS files resolved, read and compiled
// one at a time, their sources scanned again for the named exports an ES
// module imports; docs/benchmarks.md, "CLI start-up"). Two things of theirs
// still come from node_modules at run time:
// - classic-level's native addon: its binding.js asks node-gyp-build for the
//   addon next to `__dirname`, which in a bundle would be dist/bin (and an ES
//   module has no `__dirname` at all). The plugin below gives node-gyp-build
//   the package's own directory instead, found with `require.resolve` from
//   the chunk, so the addon is the one `npm ci` or the .deb installed
//   (prebuilds/ or build/, as node-gyp-build picks).
// - pino's transports (worker threads that load pino/lib/worker.js by path,
//   from `__dirname`): tollbooth writes its logs to a synchronous destination
//   and starts none; in the bundle a transport would throw at once.
// Both stay production dependencies, so the installed package (packaging/deb)
// and `npm ci` carry their files. `level` stays outside: only tests use it.
//
// The bundle is written over dist/bin/tollbooth.js itself, with its chunks
// beside it: every test, bench and the .deb then run what ships, and
// site-agent/main.ts finds `../bin/tollbooth.js` (the lease guard's command)
// from a chunk in dist/bin as from dist/site-agent. tsc is not incremental
// here (tsconfig.build.json), so each build starts from tsc's own output.
import { build, type Plugin } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(repo, 'dist', 'bin');
const entry = join(binDir, 'tollbooth.js');
/** Packages loaded from node_modules at run time rather than bundled (see above). */
const external = ['level'];

/**
 * classic-level's binding.js is `require('node-gyp-build')(__dirname)`: in the bundle, the directory
 * of the installed package instead (see the file comment). `require` is the chunk's own (the banner).
 */
const classicLevelBinding: Plugin = {
  name: 'classic-level-binding',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]classic-level[\\/]binding\.js$/ }, () => ({
      contents: "module.exports = require('node-gyp-build')(require('node:path').dirname(require.resolve('classic-level/package.json')));\n",
      loader: 'js',
    }));
  },
};
/** esbuild names the shared pieces `chunk-<hash>.js`, the lazily imported modules after their source. */
const chunkPrefix = 'chunk-';

function removeOldChunks(): void {
  for (const f of readdirSync(binDir)) {
    if (f.startsWith(chunkPrefix)) rmSync(join(binDir, f));
  }
}

async function main(): Promise<void> {
  removeOldChunks();
  const result = await build({
    entryPoints: [entry],
    outdir: binDir,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    sourcemap: true,
    chunkNames: `${chunkPrefix}[hash]`,
    // commander and a few libp2p helpers are CommonJS and call require() for
    // Node built-ins; an ES module has no `require`, so give each chunk one.
    banner: { js: "import { createRequire as tollboothCreateRequire } from 'node:module'; const require = tollboothCreateRequire(import.meta.url);" },
    logLevel: 'warning',
    metafile: true,
    plugins: [classicLevelBinding],
  });
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
  process.stdout.write(`bundle: ${entry} → ${outputs.length} files in dist/bin\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
