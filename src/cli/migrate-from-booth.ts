// `tollbooth migrate-from-booth [-c NAME|FILE] [--out DIR]` (issue 14, item
// 7): takes an existing booth.conf (and its authfile setup), generates one
// member key per site and arbitrator, writes the formation config (booth's
// lines unchanged, one tollbooth-member-key line per member, an authfile line
// naming where each member keeps its own key) and the keys into DIR, and
// prints what to run on each member and which booth settings change meaning.
//
// Where the member key lives: at the config's `authfile` path (booth's
// shared HMAC key there is no longer used once booth is stopped), because
// `pcs booth sync` and csync2 copy the config and the file its authfile
// names to every node of a site — so the site's key reaches each node that
// may run the site agent. Every member has its own key; the config is the
// same everywhere.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseConfigText } from '../config/index.js';
import { boothConfDir, resolveConfigPath } from '../config/paths.js';
import { formatConfigProblem } from '../config/problems.js';
import { tollboothKeys } from '../config/tollbooth-keys.js';
import { publicKeyOfSeed } from './keys.js';
import { randomBytes } from 'node:crypto';

export interface MigrateOptions {
  /** `-c`: a path or a short name (src/config/paths.ts). */
  readonly config: string | undefined;
  /** Where to write the config and keys; must not exist yet unless `force`. */
  readonly out: string;
  readonly force: boolean;
}

export interface MigrateResult {
  readonly ok: boolean;
  /** The report for the admin (what was written, what to run, what changes). */
  readonly text: string;
  readonly configPath: string | null;
}

/** What each booth key means under tollbooth, for the keys whose meaning changes (docs/configuration.md §2). */
const meaningChanges: ReadonlyArray<{ key: string; present: (text: string) => boolean; note: string }> = [
  { key: 'authfile', present: (t) => /^\s*authfile\s*=/m.test(t), note: "names where each member keeps its OWN tollbooth key (Ed25519, one line of base64), no longer booth's shared HMAC key; every member's file differs. pcs booth sync still copies it within a site." },
  { key: 'transport / port', present: () => true, note: 'members talk over TCP (libp2p, Noise) on `port`, not UDP: open TCP port in firewalls (firewalld service "tollbooth" or "booth" from the package).' },
  { key: 'maxtimeskew', present: (t) => /^\s*maxtimeskew\s*=/m.test(t), note: 'read and checked, not used: signed messages carry sequence numbers, not wall-clock times.' },
  { key: 'weights', present: (t) => /^\s*weights\s*=/m.test(t), note: 'USED for placement (booth ignores them): an automatic ticket goes to the eligible site with the highest weight; ties to the site listed first.' },
  { key: 'mode = automatic (the default)', present: () => true, note: 'an automatic ticket is granted by the registry as soon as the formation has a leader (booth waits for a first "booth grant"); revoke takes it out of management as in booth.' },
  { key: 'timeout, retries, renewal-freq', present: () => true, note: "without a tollbooth-preset line, the registry's timers derive from the smallest timeout (election timeout = timeout, a site renews every timeout, revoke lead 2 × timeout); booth's rule timeout × (retries + 1) < renewal-freq is still checked." },
  { key: 'acquire-after', present: (t) => /^\s*acquire-after\s*=/m.test(t), note: 'a newly granted site waits this long before it writes the grant into its CIB (booth: the other sites wait before electing).' },
  { key: 'before-acquire-handler', present: (t) => /^\s*before-acquire-handler\s*=/m.test(t), note: "runs with booth's environment at every site; a handler running booth's service-runnable should go (the built-in runnability check does its job); paths must be absolute and owned by root." },
  { key: 'attr-prereq', present: (t) => /^\s*attr-prereq\s*=/m.test(t), note: 'checked only, not evaluated.' },
  { key: 'site-user, site-group, arbitrator-user, arbitrator-group', present: (t) => /^\s*(site|arbitrator)-(user|group)\s*=/m.test(t), note: 'checked only (broken in booth as well); the agent runs as root, or as the OCF agent\'s user/group parameters.' },
];

const keyFileMode = 0o600;
const seedBytes = 32;

export async function migrateFromBooth(o: MigrateOptions): Promise<MigrateResult> {
  const source = resolveConfigPath(o.config);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    return { ok: false, text: `tollbooth migrate-from-booth: cannot read ${source}: ${(err as Error).message}\n`, configPath: null };
  }
  if (text.split('\n').some((l) => /^\s*tollbooth-/.test(l))) {
    return { ok: false, text: `tollbooth migrate-from-booth: ${source} already has tollbooth-* lines: it is a tollbooth config (check it with tollbooth config check)\n`, configPath: null };
  }
  const parsed = parseConfigText(text, source);
  const members = parsed.config.members;
  if (members.length === 0) return { ok: false, text: `tollbooth migrate-from-booth: ${source} has no site or arbitrator lines\n`, configPath: null };
  if (existsSync(o.out) && !o.force) return { ok: false, text: `tollbooth migrate-from-booth: ${o.out} exists; choose another --out or add --force\n`, configPath: null };
  await mkdir(o.out, { recursive: true, mode: 0o700 });

  const name = parsed.config.name;
  const keyPath = parsed.config.authFile ?? join(boothConfDir, `${name}.key`);
  const keyLines: string[] = [];
  const keyFiles: Array<{ member: (typeof members)[number]; file: string }> = [];
  for (const m of members) {
    const seed = randomBytes(seedBytes);
    const file = join(o.out, `${name}.${m.address.replaceAll(':', '_')}.key`);
    await writeFile(file, `${seed.toString('base64')}\n`, { mode: keyFileMode });
    await chmod(file, keyFileMode);
    keyLines.push(`${tollboothKeys.memberKey} = ${m.address} ${publicKeyOfSeed(seed).toString('base64')}`);
    keyFiles.push({ member: m, file });
  }
  const added = [
    '',
    `# ---- added by tollbooth migrate-from-booth (from ${source}) ----`,
    '# Each member keeps its own key (tollbooth keygen) at the authfile path; the',
    '# lines below are their public halves. booth cannot read this file any more.',
    ...(parsed.config.authFile === null ? [`authfile = ${keyPath}`] : []),
    ...keyLines,
  ];
  const outConfig = join(o.out, basename(source));
  const newText = `${text.endsWith('\n') ? text : `${text}\n`}${added.join('\n')}\n`;
  await writeFile(outConfig, newText, { mode: 0o644 });

  const check = parseConfigText(newText, outConfig);
  const errors = check.problems.filter((p) => p.severity === 'error');
  const lines: string[] = [];
  lines.push(`Wrote ${outConfig} (booth's lines unchanged, ${members.length} member keys added) and one key per member in ${o.out}.`);
  if (errors.length > 0) {
    lines.push('', 'The new config has errors that booth allowed; fix them before you switch:');
    for (const p of check.problems) lines.push(`  ${formatConfigProblem(p)}`);
  } else {
    const warnings = check.problems.filter((p) => p.severity === 'warning');
    lines.push(`tollbooth config check: ok${warnings.length === 0 ? '' : ` (${warnings.length} warning(s): tollbooth config check ${outConfig})`}.`);
  }
  const target = source.startsWith(`${boothConfDir}/`) ? source : join(boothConfDir, basename(source));
  lines.push('', 'Then, with booth stopped everywhere (systemctl stop booth@NAME; the booth-site resource disabled):');
  for (const { member, file } of keyFiles) {
    lines.push('', `# ${member.kind} ${member.address}${member.kind === 'site' ? ' — on one node of that site' : ''}:`);
    lines.push(`install -m 0644 ${outConfig} ${target}`);
    lines.push(`install -m 0600 ${file} ${keyPath}`);
    if (member.kind === 'site') {
      lines.push('pcs booth sync    # or csync2 -x: copies the config and the key to the site\'s other nodes');
      lines.push(`# the booth-site resource (ocf:pacemaker:booth-site, config=${target}) is tollbooth's agent once the package is installed: enable it again`);
    } else {
      lines.push(`systemctl enable --now booth@${name}    # the tollbooth arbitrator under booth's unit name`);
    }
  }
  lines.push('', `Copy each key to its member only (ssh/scp), and delete ${o.out} afterwards: it holds every member's secret key.`);
  lines.push('', 'Settings whose meaning changes under tollbooth (docs/configuration.md §2):');
  for (const c of meaningChanges) if (c.present(text)) lines.push(`  - ${c.key}: ${c.note}`);
  return { ok: errors.length === 0, text: `${lines.join('\n')}\n`, configPath: outConfig };
}
