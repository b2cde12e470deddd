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
// What stays outside: classic-level (a native addon, found by node-gyp-build
// next to its package), and level and pino (loaded as packages so their own
// `require`s and worker files resolve as they expect). Everything the bundle
// leaves out is a production dependency, so the installed package
// (packaging/deb) and `npm ci` both carry it.
//
// The bundle is written over dist/bin/tollbooth.js itself, with its chunks
// beside it: every test, bench and the .deb then run what ships, and
// site-agent/main.ts finds `../bin/tollbooth.js` (the lease guard's command)
// from a chunk in dist/bin as from dist/site-agent. tsc is not incremental
// here (tsconfig.build.json), so each build starts from tsc's own output.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(repo, 'dist', 'bin');
const entry = join(binDir, 'tollbooth.js');
/** Packages loaded from node_modules at run time rather than bundled (see above). */
const external = ['classic-level', 'level', 'pino'];
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
  });
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
  process.stdout.write(`bundle: ${entry} → ${outputs.length} files in dist/bin\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
