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
// The bundle is dist/bin/tollbooth.mjs (the ES entry, bin/tollbooth.ts), with its chunks
// (chunk-*.mjs) beside it. dist/bin/tollbooth.js itself, the path every launch runs (the package's
// "bin", the .deb's links, the tests, the bench), becomes the CommonJS entry bin/tollbooth-entry.ts
// (issue 15: a member's start skips Node's ES-module loader), with dist/bin/package.json saying
// "type": "commonjs" for the .js files there; the chunks are .mjs so that they stay ES modules.
// site-agent/main.ts finds `../bin/tollbooth.js` (the lease guard's command) from dist/bin as from
// dist/site-agent. tsc is not incremental here (tsconfig.build.json), so each build starts from
// tsc's own output (and first removes the package.json, which would make tsc's ES output in
// dist/bin CommonJS).
import { build, type Plugin } from 'esbuild';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoopbackFormation } from '../src/cli/loopback-formation.js';
import { lazyBuiltinsPlugin } from './lazy-builtins.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(repo, 'dist', 'bin');
const entry = join(binDir, 'tollbooth.js');
/** tsc's output of bin/tollbooth-entry.ts: the CommonJS entry written over `entry` (see above). */
const cjsEntry = join(binDir, 'tollbooth-entry.js');
/** Marks dist/bin's .js files (the CommonJS entry; tsc's leftovers there are not run) as CommonJS. */
const binPackageJson = join(binDir, 'package.json');
/** The member as one CommonJS file, and the V8 code cache of its start (bin/member-loader.ts). */
const memberEntry = join(binDir, 'member-bundle.js');
const memberBundle = join(binDir, 'member.cjs');
const memberCache = `${memberBundle}.cache`;
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
/** esbuild names the shared pieces `chunk-<hash>.mjs` (`.js` before the CommonJS entry). */
const chunkPrefix = 'chunk-';
/**
 * The banner of code bundled as CommonJS: `import.meta.url`'s stand-in (version.ts and
 * member-loader.ts find files beside the script) after "use strict", which must come first to be a
 * directive (esbuild's own "use strict" follows the banner, where it is a plain string; the modules
 * were written as ES modules, strict).
 */
const importMetaUrl = {
  define: { 'import.meta.url': 'tollboothImportMetaUrl' },
  banner: "\"use strict\";\nvar tollboothImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
};

function removeOldChunks(): void {
  for (const f of readdirSync(binDir)) {
    if (f.startsWith(chunkPrefix)) rmSync(join(binDir, f));
  }
}

async function main(): Promise<void> {
  removeOldChunks();
  rmSync(binPackageJson, { force: true });
  const shebang = readFileSync(entry, 'utf8').split('\n', 1)[0]!;
  if (!shebang.startsWith('#!')) throw new Error(`${entry}: no #! line (tsc's output of bin/tollbooth.ts expected)`);
  const result = await build({
    entryPoints: [{ in: entry, out: 'tollbooth' }],
    outdir: binDir,
    outExtension: { '.js': '.mjs' },
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
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs'));
  process.stdout.write(`bundle: ${entry} → ${outputs.length} files in dist/bin\n`);
  await buildMember();
  await buildCommonJsEntry(shebang);
  await writeMemberCodeCache(shebang);
}

/**
 * dist/bin/tollbooth.js: bin/tollbooth-entry.ts (with bin/member-loader.ts) as one CommonJS script,
 * under the `#!` line of bin/tollbooth.ts (the flags the member's code cache is made under), and the
 * package.json that makes Node run it as CommonJS. `import('./tollbooth.mjs')` stays an import.
 */
async function buildCommonJsEntry(shebang: string): Promise<void> {
  await build({
    entryPoints: [cjsEntry],
    outfile: entry,
    allowOverwrite: true,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // member-loader.ts's ES-module fallback (loadMember, for builds without member.cjs) is not this
    // script's: left as an import, it keeps the member out of the entry.
    external: ['../site-agent/main.js'],
    sourcemap: true,
    define: importMetaUrl.define,
    banner: { js: `${shebang}\n${importMetaUrl.banner}` },
    logLevel: 'warning',
  });
  // Executable, as esbuild leaves an ES output with a `#!` line (the .deb and npm's bin link set it too).
  chmodSync(entry, 0o755);
  writeFileSync(binPackageJson, `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
  process.stdout.write(`bundle: ${cjsEntry} → ${entry} (CommonJS)\n`);
}

/**
 * dist/bin/member.cjs: the member (site agent, arbitrator) as one CommonJS file, which Node 20 can
 * load with a V8 code cache (vm.Script's cachedData; ES modules have none before Node 22). No
 * splitting: the member's lazy imports (libp2p's stack, the HTTP observation, the quorum guardian)
 * become functions of the one file that run when first called, as before.
 */
async function buildMember(): Promise<void> {
  rmSync(memberCache, { force: true });
  await build({
    entryPoints: [memberEntry],
    outfile: memberBundle,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: [...external, 'classic-level/package.json'],
    sourcemap: true,
    // A CommonJS file has no import.meta: its URL is the file's own (version.ts and the lease guard's
    // command line find files beside it, as from the ES chunks in the same directory).
    define: importMetaUrl.define,
    banner: { js: importMetaUrl.banner },
    logLevel: 'warning',
    // Built-ins not needed before the admin socket answers load on first use (packaging/lazy-builtins.ts).
    plugins: [classicLevelBinding, lazyBuiltinsPlugin],
  });
  writeFileSync(memberBundle, asciiSource(readFileSync(memberBundle, 'utf8')));
  process.stdout.write(`bundle: ${memberEntry} → ${memberBundle}\n`);
}

/**
 * The bundle's text with every non-ASCII UTF-16 unit written as a `\uXXXX` escape. esbuild escapes
 * strings but keeps the comments it attaches to class fields and the text of tagged templates
 * (status-page.ts's `html`), some hundred lines with a dash or an arrow in them; one such character
 * made the 2.5 MB source a two-byte string: 25–50 ms to decode at each start instead of a few, and
 * twice the bytes for V8 to scan (issue 15). The escape means the same character in a comment, a
 * string, a template's cooked text (what `html` reads; the bundle uses no String.raw), an identifier
 * and a regular expression; the one place it would not is right after a backslash, refused here.
 * (Columns after such a character in member.cjs.map are off by five per character; lines are not.)
 */
function asciiSource(text: string): string {
  if (/\\[^\x00-\x7f]/.test(text)) throw new Error(`${memberBundle}: a backslash before a non-ASCII character; cannot escape it to ASCII`);
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The node flags of a `#!/usr/bin/env -S node FLAGS` line: V8 rejects a cache made under other flags. */
function shebangFlags(first: string): string[] {
  return first.replace(/^#!\/usr\/bin\/env -S node\s*/, '').split(/\s+/).filter((x) => x !== '' && !x.startsWith('#!'));
}

/**
 * dist/bin/member.cjs.cache: a site agent (lan preset, file sink, alone) is started twice on the same
 * store, the second time with TOLLBOOTH_WRITE_CODE_CACHE, and stopped once its socket answers; at its
 * exit it writes the code V8 compiled, the functions its start ran included. A restart on an existing
 * store is the start that counts against a lease. Without the cache a member still runs, compiling
 * its code at each start; so a failure here is a warning, not a failed build.
 */
async function writeMemberCodeCache(shebang: string): Promise<void> {
  const f = await LoopbackFormation.create({
    sites: 2,
    arbitrators: 1,
    preset: 'lan',
    tickets: [{ name: 'warm-up', expireS: 10, acquireAfterS: 0 }],
    command: [process.execPath, ...shebangFlags(shebang), entry],
  });
  const m = f.members[0]!;
  try {
    for (const write of [false, true]) {
      if (write) process.env['TOLLBOOTH_WRITE_CODE_CACHE'] = memberCache;
      f.start(m);
      delete process.env['TOLLBOOTH_WRITE_CODE_CACHE'];
      await f.waitReady(m);
      await f.kill(m, 'SIGTERM');
    }
  } catch (err) {
    process.stderr.write(`bundle: WARNING: no code cache for ${memberBundle} (members will compile their code at each start): ${(err as Error).message}\n`);
  } finally {
    await f.stop();
  }
  if (existsSync(memberCache)) process.stdout.write(`bundle: code cache ${memberCache}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
