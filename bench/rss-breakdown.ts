// Where an idle member's resident memory goes (issue 15, item 1): a `lan` formation of 2 site agents and an
// arbitrator with one automatic ticket, idle for a window after the grant, and beside it the idle Node
// baseline `node -e "setInterval(()=>{},1000)"`. For each process:
//   - VmRSS and its anonymous part (/proc/<pid>/smaps_rollup), and the resident pages of each mapped file;
//   - the node binary's resident pages by what they hold: /proc/<pid>/pagemap says which pages are in memory,
//     `nm -C` of the binary says which symbol each lies in, grouped (V8's optimizing compiler, its builtins,
//     OpenSSL, ICU, …) — the code and data a member touches that an idle Node does not;
//   - with --heap-snapshot: a V8 heap snapshot of each member (`--heapsnapshot-signal`), summed by kind
//     (code and bytecode, strings — the largest named —, array buffers, closures, the rest).
// Root is needed for pagemap's present bits of another process (the bench runs as root here).
//
//   npx tsx bench/rss-breakdown.ts [--window-s 40] [--heap-snapshot] [--node-flags "..."] [--json]

import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { windowElapsed } from './clock.js';
import { Bench, pidOf, statusOf } from './harness.js';

const execFileP = promisify(execFile);
const pageBytes = 4096;
const mib = 1024 * 1024;

/** Symbol groups of the node binary, first match wins. */
const symbolGroups: ReadonlyArray<readonly [string, RegExp]> = [
  ['V8 optimizing compiler (TurboFan)', /^v8::internal::compiler::/],
  ['V8 WebAssembly', /^v8::internal::wasm::/],
  ['V8 embedded builtins', /^(v8_Default_embedded_blob|Builtins_)/],
  ['V8 heap and GC', /^(v8::internal::(Heap|heap|MarkCompact|Scavenger|Sweeper|Concurrent|Minor)|cppgc::)/],
  ['V8 other', /^(v8::|v8_|vtable for v8::|non-virtual thunk to v8::)/],
  ['ICU code and data', /^(icu_\d+::|icudt\d+|u[a-z]+_\d+\b|vtable for icu_)/],
  ['OpenSSL', /^(ossl_|OPENSSL_|EVP_|BN_|bn_|EC_|ec_|X509|x509|SSL_|ssl_|tls_|CRYPTO_|ERR_|ASN1_|asn1_|RSA_|rsa_|PEM_|BIO_|OBJ_|RAND_|EVP|sha\d|SHA\d|aes|AES|ChaCha|chacha|Poly1305|poly1305|x25519|ED25519|ed25519|curve25519|ecp_nistz|gcm_|bsaes|vpaes|OSSL_|DH_|DSA_|ECDSA|HMAC|CMS_|PKCS|EC_GROUP)/],
  ['node', /^(node::|vtable for node::|non-virtual thunk to node::)/],
  ['libuv', /^uv_|^uv__/],
];

interface SymbolTable {
  readonly addrs: Float64Array;
  readonly groups: Uint8Array;
}

const symbolTables = new Map<string, Promise<SymbolTable>>();

async function symbolTable(binary: string): Promise<SymbolTable> {
  let t = symbolTables.get(binary);
  if (t === undefined) {
    t = (async () => {
      const { stdout } = await execFileP('nm', ['-C', '--defined-only', '-n', binary], { maxBuffer: 1 << 30 });
      const addrs: number[] = [];
      const groups: number[] = [];
      for (const line of stdout.split('\n')) {
        const sp1 = line.indexOf(' ');
        const sp2 = line.indexOf(' ', sp1 + 1);
        if (sp1 < 0 || sp2 < 0) continue;
        const addr = parseInt(line.slice(0, sp1), 16);
        if (!Number.isFinite(addr)) continue;
        const name = line.slice(sp2 + 1);
        const g = symbolGroups.findIndex(([, re]) => re.test(name));
        addrs.push(addr);
        groups.push(g < 0 ? symbolGroups.length : g);
      }
      return { addrs: Float64Array.from(addrs), groups: Uint8Array.from(groups) };
    })();
    symbolTables.set(binary, t);
  }
  return t;
}

function groupAt(t: SymbolTable, addr: number): number {
  let lo = 0;
  let hi = t.addrs.length - 1;
  if (hi < 0 || addr < t.addrs[0]!) return symbolGroups.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t.addrs[mid]! <= addr) lo = mid;
    else hi = mid - 1;
  }
  return t.groups[lo]!;
}

/** The ELF address a file offset of `binary` is loaded at (program headers: the PT_LOAD segment holding it). */
const elfAddresses = new Map<string, Promise<(offset: number) => number>>();

async function elfAddressOf(binary: string): Promise<(offset: number) => number> {
  let f = elfAddresses.get(binary);
  if (f === undefined) {
    f = readElfLoads(binary);
    elfAddresses.set(binary, f);
  }
  return f;
}

async function readElfLoads(binary: string): Promise<(offset: number) => number> {
  const { stdout } = await execFileP('readelf', ['-lW', binary]);
  const loads: Array<{ off: number; va: number; size: number }> = [];
  for (const m of stdout.matchAll(/^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)/gim)) loads.push({ off: Number(m[1]), va: Number(m[2]), size: Number(m[3]) });
  return (offset) => {
    const l = loads.find((x) => offset >= x.off && offset < x.off + x.size);
    return l === undefined ? -1 : l.va + (offset - l.off);
  };
}

export interface ResidentBreakdown {
  readonly rssMiB: number;
  readonly anonymousMiB: number;
  /** Resident pages of each mapped file (basename), MiB, largest first. */
  readonly files: Readonly<Record<string, number>>;
  /** Resident pages of the node binary by symbol group, MiB, largest first. */
  readonly nodeBinary: Readonly<Record<string, number>>;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const sortedRecord = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round1(v / mib)]));

export async function residentBreakdown(pid: number): Promise<ResidentBreakdown> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN);
  const files = new Map<string, number>();
  let name = '';
  for (const line of (await readFile(`/proc/${pid}/smaps`, 'utf8')).split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      name = head[1]!.startsWith('/') ? head[1]!.split('/').pop()! : '';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null && name !== '') files.set(name, (files.get(name) ?? 0) + Number(rss[1]) * 1024);
  }
  // One binary's symbols and program headers serve every process that runs it.
  const exe = await realpath(`/proc/${pid}/exe`);
  const table = await symbolTable(exe);
  const elfAt = await elfAddressOf(exe);
  const byGroup = new Map<string, number>();
  const pagemap = await open(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of (await readFile(`/proc/${pid}/maps`, 'utf8')).split('\n')) {
      const f = line.split(/\s+/);
      if (f[5] !== exe) continue;
      const [lo, hi] = f[0]!.split('-').map((x) => parseInt(x, 16)) as [number, number];
      const off = parseInt(f[2]!, 16);
      const pages = (hi - lo) / pageBytes;
      const buf = Buffer.alloc(pages * 8);
      await pagemap.read(buf, 0, buf.length, (lo / pageBytes) * 8);
      for (let i = 0; i < pages; i++) {
        if ((buf.readBigUInt64LE(i * 8) >> 63n) === 0n) continue;
        const g = groupAt(table, elfAt(off + i * pageBytes));
        const label = g < symbolGroups.length ? symbolGroups[g]![0] : 'other';
        byGroup.set(label, (byGroup.get(label) ?? 0) + pageBytes);
      }
    }
  } finally {
    await pagemap.close();
  }
  return { rssMiB: round1(kib('Rss') / 1024), anonymousMiB: round1(kib('Anonymous') / 1024), files: sortedRecord(files), nodeBinary: sortedRecord(byGroup) };
}

interface HeapNodeMeta {
  readonly node_fields: string[];
  readonly node_types: [string[]];
}

/** A heap snapshot summed by kind, MiB; the largest string's size named apart. */
export function heapSummary(path: string): Record<string, number> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { meta: HeapNodeMeta }; nodes: number[]; strings: string[] };
  const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
  const [ti, ni, si] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const sums = new Map<string, number>();
  let largestString = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]!]!;
    const size = snap.nodes[i + si]!;
    const name = snap.strings[snap.nodes[i + ni]!]!;
    const kind = type === 'code' ? 'code, bytecode and function metadata' : type.endsWith('string') ? 'strings' : type === 'closure' ? 'closures' : name === 'system / JSArrayBufferData' ? 'array buffer data' : type === 'object shape' ? 'object shapes (maps, descriptors)' : 'objects, arrays and the rest';
    if (kind === 'strings') largestString = Math.max(largestString, size);
    sums.set(kind, (sums.get(kind) ?? 0) + size);
  }
  const total = [...sums.values()].reduce((a, b) => a + b, 0);
  return { total: round1(total / mib), ...sortedRecord(sums), 'largest string': round1(largestString / mib) };
}

async function snapshotOf(pid: number, dir: string, b: Bench): Promise<Record<string, number>> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const file = await b.waitFor(`a heap snapshot of ${pid}`, 60_000, () => {
    const f = readdirSync(dir).find((x) => !before.has(x) && x.endsWith('.heapsnapshot') && x.includes(`.${pid}.`));
    // Written in place: complete once it ends with its closing brace.
    if (f === undefined) return Promise.resolve(null);
    const text = readFileSync(join(dir, f), 'utf8');
    return Promise.resolve(text.trimEnd().endsWith('}') ? f : null);
  }, 250);
  return heapSummary(join(dir, file));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const windowS = Number(arg('--window-s') ?? 40);
  const heap = args.includes('--heap-snapshot');
  const json = args.includes('--json');
  const b = new Bench(json);
  const snapDir = join('/tmp', `tollbooth-rss-${process.pid}`);
  const nodeFlags = [...(arg('--node-flags') ?? '').split(' ').filter((x) => x !== ''), ...(heap ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`] : [])];
  if (heap) await execFileP('mkdir', ['-p', snapDir]);
  const f = await b.formation({ sites: 2, arbitrators: 1, preset: 'lan', tickets: [{ name: 'idle', expireS: 30, acquireAfterS: 0 }] }, nodeFlags);
  const baseline = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  try {
    for (const m of f.members) f.start(m);
    await Promise.all(f.members.map((m) => f.waitReady(m)));
    await b.waitFor('the ticket to be granted', 60_000, async () => {
      for (const m of f.sites) if ((await statusOf(f, m)).tickets[0]?.grantedHere === true) return true;
      return null;
    }, 200);
    b.say(`granted; idle for ${windowS} s`);
    await windowElapsed(windowS * 1000, b.signal);
    const out: Record<string, unknown> = { baseline: await residentBreakdown(baseline.pid!) };
    for (const m of f.members) {
      const r = await residentBreakdown(pidOf(m));
      out[`${m.address} ${m.kind}`] = heap && existsSync(snapDir) ? { ...r, heap: await snapshotOf(pidOf(m), snapDir, b) } : r;
    }
    process.stdout.write(`${JSON.stringify(out, null, json ? 0 : 1)}\n`);
  } finally {
    baseline.kill();
    await b.releaseAll();
    if (heap) await execFileP('rm', ['-rf', snapDir]);
  }
}

if (process.argv[1]?.endsWith('rss-breakdown.ts')) await main();
