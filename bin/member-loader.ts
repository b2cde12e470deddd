// Loads the member (site agent, arbitrator) from dist/bin/member.cjs, the one
// CommonJS file packaging/bundle.ts builds of it, with V8's code cache
// (issue 15: spawn → admin socket ≤ 250 ms; start-up time counts against a
// lease when a member restarts). Node 20 has no compile cache for ES modules
// (module.enableCompileCache is Node 22), but vm.Script takes `cachedData`:
// the bytecode V8 compiled in an earlier run, so a start need not parse and
// compile the member's 2.4 MB again, nor the functions its start runs.
//
// The cache, member.cjs.cache beside the bundle, is written at build time
// only (packaging/bundle.ts starts a site agent once with
// TOLLBOOTH_WRITE_CODE_CACHE and keeps what it wrote): never at run time, so
// a member writes no code into a place it then executes from. V8 checks the
// cache's V8 version and flags, and of the source only its length; so the
// cache starts with a SHA-256 of the source and of this Node's version and
// platform, checked here first. A cache that fails either check is not used
// (the member compiles its code as without one: slower, not different).
//
// Without member.cjs (running from tsc's output or from source) the member is
// imported as an ES module, as before.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type { runMember } from '../site-agent/main.js';
import type { runMemberCli } from './member-bundle.js';

/** How the member's code was loaded: 'member.cjs, code cache' is the fast path; logged with 'member ready'. */
export type MemberCodeLoad = 'member.cjs, code cache' | 'member.cjs, cache rejected' | 'member.cjs, no cache' | 'ES modules';

export interface LoadedMember {
  readonly runMember: typeof runMember;
  readonly load: MemberCodeLoad;
  /** Writes the code cache V8 holds now (functions compiled so far included) to `path`; build time only. */
  readonly writeCache: (path: string) => void;
}

/** The bundle, loaded: also the parser of the member commands (bin/member-bundle.ts). */
export interface LoadedMemberBundle extends LoadedMember {
  /** Parses argv, runs the member command, writes the cache if asked (writeCacheIfAsked) and exits. */
  readonly runCli: (argv: readonly string[]) => Promise<void>;
}

/** Build time only (packaging/bundle.ts): with TOLLBOOTH_WRITE_CODE_CACHE, keep the code this start compiled as the shipped cache. */
export function writeCacheIfAsked(member: LoadedMember): void {
  const out = process.env['TOLLBOOTH_WRITE_CODE_CACHE'];
  if (out !== undefined && out !== '') member.writeCache(out);
}

const keyBytes = 32;

/** What a cache must have been made for: this source, this Node, this platform. */
export function codeCacheKey(source: Buffer): Buffer {
  return createHash('sha256').update(source).update(`\0${process.version}\0${process.platform}\0${process.arch}`).digest();
}

/** The cache's V8 data if its key matches `key`, else undefined. */
function readCache(path: string, key: Buffer): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  if (bytes.length <= keyBytes || !bytes.subarray(0, keyBytes).equals(key)) return undefined;
  return bytes.subarray(keyBytes);
}

function loadBundle(file: string): LoadedMemberBundle {
  const bytes = readFileSync(file);
  const source = bytes.toString('utf8');
  const key = codeCacheKey(bytes);
  const cachePath = `${file}.cache`;
  const cachedData = readCache(cachePath, key);
  // Node's own CommonJS wrapper, so that the bundle runs as `require(file)` would run it.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const load: MemberCodeLoad = cachedData === undefined ? 'member.cjs, no cache' : script.cachedDataRejected === true ? 'member.cjs, cache rejected' : 'member.cjs, code cache';
  const mod = { exports: {} as { runMember?: typeof runMember; runMemberCli?: typeof runMemberCli } };
  (script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, createRequire(file), mod, file, dirname(file));
  const { runMember: run, runMemberCli: runCli } = mod.exports;
  if (typeof run !== 'function' || typeof runCli !== 'function') throw new Error(`${file} does not export runMember and runMemberCli`);
  const member: LoadedMemberBundle = {
    runMember: run,
    load,
    writeCache: (path) => {
      writeFileSync(`${path}.tmp`, Buffer.concat([key, script.createCachedData()]));
      renameSync(`${path}.tmp`, path);
    },
    runCli: (argv) => runCli(argv, load, () => writeCacheIfAsked(member)),
  };
  return member;
}

/** dist/bin/member.cjs loaded (with its cache when valid), or null when the build has none (tsc's output, sources). */
export function loadMemberBundle(): LoadedMemberBundle | null {
  const bundle = fileURLToPath(new URL('./member.cjs', import.meta.url));
  return existsSync(bundle) ? loadBundle(bundle) : null;
}

/** The member: from the bundle when the build made one, else imported as ES modules. */
export async function loadMember(): Promise<LoadedMember> {
  const bundled = loadMemberBundle();
  if (bundled !== null) return bundled;
  const m = await import('../site-agent/main.js');
  return { runMember: m.runMember, load: 'ES modules', writeCache: () => undefined };
}
