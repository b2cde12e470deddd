// `npm run package`: builds the Debian package build/tollbooth_VERSION_ARCH.deb
// with dpkg-deb (issue 14, item 3). What goes in, and from where:
//
//   /usr/lib/tollbooth/                 dist/ (npm run build) and the production dependencies,
//                                       installed with `npm ci --omit=dev` from package-lock.json
//                                       (the locked tree, overrides included; no install scripts)
//   /usr/sbin/tollbooth, /usr/sbin/booth,  links to dist/bin/tollbooth.js (run as `booth` or
//   /usr/sbin/boothd                    `boothd`, one binary as booth's: `daemon` runs this host's
//                                       member, src/cli/boothd.ts; the rest is booth's client,
//                                       src/cli/booth-client.ts)
//   /usr/sbin/geostore,                 links too: booth's attribute client (src/cli/geostore.ts)
//   /usr/sbin/booth-keygen              and key writer (src/cli/booth-keygen.ts)
//   /lib/systemd/system/                packaging/systemd/*, plus booth@.service and
//                                       booth-arbitrator.service made from the arbitrator unit
//                                       (the names pcs and crmsh start for an arbitrator), and
//                                       booth.service, an alias of booth-arbitrator.service
//                                       (pcs booth disable acts only when booth.service exists)
//   /usr/lib/ocf/resource.d/            tollbooth/tollbooth and pacemaker/booth-site
//   /usr/lib/firewalld/services/        tollbooth.xml and booth.xml (the config's port, TCP)
//   /usr/share/tollbooth/alert-handlers/   packaging/alert-handlers/* (syslog, webhook), mode 0755
//   /usr/share/man/                     tollbooth(8) from the CLI's commander definitions
//                                       (`tollbooth cli-spec`), booth(8), geostore(8) and
//                                       booth-keygen(8) from those programs' usage texts,
//                                       tollbooth.conf(5) from docs/configuration.md
//   /usr/share/bash-completion/         tollbooth and booth, from the same command tree
//   /usr/share/doc/tollbooth/           README, docs/, copyright, examples/booth.conf (the
//                                       complete example of docs/configuration.md §9),
//                                       examples/prometheus/tollbooth-rules.yml (alerting rules)
//
// Control: Depends nodejs (>= 20.19); Provides booth (= the transitional
// package's version), Conflicts and Replaces booth (<< 1:0), i.e. every booth
// built from booth's sources (no epoch), not the transitional one.
//
// A second package, build/booth_1:VERSION_all.deb (buildBoothTransitionalDeb):
// an empty package named booth that Depends on tollbooth (= VERSION). crmsh's
// geo bootstrap checks `dpkg-query --status booth`, which a virtual package
// does not satisfy. Its epoch 1 puts it above every booth version Debian has
// (none has an epoch), so apt does not replace it with booth's own.
// Reproducible as far as dpkg-deb goes: every mtime is SOURCE_DATE_EPOCH (the
// last commit's time), man pages are gzipped without a time stamp, owners
// are root (--root-owner-group).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { CliCommandSpec } from '../../src/cli/cli-spec.js';
import { boothClientDifferences, boothUsage } from '../../src/cli/booth-client.js';
import { boothdUsage } from '../../src/cli/boothd.js';
import { geostoreUsage } from '../../src/cli/geostore.js';
import { boothKeygenUsage } from '../../src/cli/booth-keygen.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const nodeVersionMin = '20.19';
const boothPortDefault = 9929;
/**
 * The transitional booth package's epoch: above every booth of Debian's (none has one), and what
 * tollbooth's Conflicts/Replaces booth (<< 1:0) leave out.
 */
const boothTransitionalEpoch = 1;
export const boothTransitionalVersion = (version: string): string => `${boothTransitionalEpoch}:${version}`;

function sh(file: string, args: readonly string[], cwd = repo): string {
  return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
}

function write(path: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

// ───────────── roff ─────────────

/** Escapes text for roff: backslashes, a leading dot or quote, and hyphens of options. */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((l) => (l.startsWith('.') || l.startsWith("'") ? `\\&${l}` : l))
    .join('\n');
}

function manHeader(name: string, section: number, version: string, date: string, title: string): string {
  return `.TH ${name.toUpperCase()} ${section} "${date}" "tollbooth ${version}" "${title}"\n`;
}

function commandsRoff(spec: CliCommandSpec, path: string[]): string {
  let out = '';
  for (const c of spec.commands) {
    const full = [...path, c.name];
    if (c.commands.length === 0 || c.options.length > 1 || c.arguments.length > 0) {
      const args = c.arguments.map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`)).join(' ');
      out += `.SS "${roff(full.join(' '))}${c.options.length > 0 ? ' [options]' : ''}${args === '' ? '' : ` ${roff(args)}`}"\n${roff(c.description)}\n`;
      for (const o of c.options) {
        if (o.long === '--help') continue;
        out += `.TP\n.B ${roff(o.flags)}\n${roff(o.description)}${o.defaultValue === null ? '' : ` (default: ${roff(o.defaultValue)})`}${o.choices === null ? '' : ` (one of: ${roff(o.choices.join(', '))})`}\n`;
      }
    } else {
      out += `.SS "${roff(full.join(' '))} ..."\n${roff(c.description)}\n`;
    }
    out += commandsRoff(c, full);
  }
  return out;
}

function tollboothMan(spec: CliCommandSpec, version: string, date: string): string {
  return `${manHeader('tollbooth', 8, version, date, 'System Administration')}.SH NAME
tollbooth \\- multi\\-site ticket arbitrator for Pacemaker clusters (booth\\-compatible)
.SH SYNOPSIS
.B tollbooth
.I command
[options] [arguments]
.br
.B booth
.I operation
[options] (see
.BR booth (8))
.SH DESCRIPTION
${roff(spec.description)}
Site agents at each site and arbitrators at a third location decide which site
holds each ticket; each site agent writes that decision into its cluster's CIB
with crm_ticket, as booth does, so rsc_ticket constraints, crm_mon, pcs and
crmsh keep working.
.SH COMMANDS
${commandsRoff(spec, ['tollbooth'])}.SH FILES
.TP
.I /etc/booth/NAME.conf
The formation config (booth.conf syntax plus tollbooth\\-* keys), the same on
every member; see
.BR tollbooth.conf (5).
\\fB\\-c NAME\\fR finds it there, or in /etc/tollbooth.
.TP
.I the config's authfile, else NAME.key beside the config, else /etc/tollbooth/NAME.key
This member's own key (mode 0600), written by \\fBtollbooth keygen\\fR.
\\fBpcs booth sync\\fR and csync2 copy the config's authfile to every node of a
site, which is how the site key reaches each node that may run the agent.
.TP
.I /var/lib/tollbooth/NAME
The registry store and ticket state of a member.
.TP
.I /run/tollbooth/NAME.sock
The local admin socket (root, or the tollbooth\\-admin\\-group).
.TP
.I tollbooth\\-site\\-agent@NAME.service, tollbooth\\-arbitrator@NAME.service, booth@NAME.service, booth\\-arbitrator.service, tollbooth\\-cib\\-guard@NAME.service
systemd units; booth@ and booth\\-arbitrator run an arbitrator, as
\\fBpcs booth enable|start\\fR and \\fBcrm cluster geo\\-init\\-arbitrator\\fR expect.
.TP
.I ocf:tollbooth:tollbooth, ocf:pacemaker:booth\\-site
The OCF resource agent of the site agent, under both names.
.SH EXIT STATUS
Admin commands: 0 done; 1 refused (the message says why); 2 bad arguments;
3 no leader, the formation cannot answer now; 7 the local member is not
running or not reachable.
.SH NOTES
.SS "A grant made behind tollbooth's back is reverted"
\\fBcrm \\-F site ticket grant T\\fR (and \\fBcrm_ticket \\-t T \\-g \\-\\-force\\fR) on a
formation ticket that the registry has not given to this site is revoked again
by the cluster lease guard (\\fBtollbooth lease\\-guard \\-\\-cib\\fR) within
about a second: the grant carries no live lease, and keeping it could make two
sites run the ticket's resources. The guard logs it at warning level
("CIB expires passed: ticket revoked by the cluster lease guard", with a
reason field that says why). Grant through the formation instead:
\\fBtollbooth grant T \\-s SITE\\fR, \\fBbooth grant \\-s SITE T\\fR or \\fBpcs booth
ticket grant T SITE\\fR.
.SH SEE ALSO
.BR booth (8),
.BR geostore (8),
.BR booth\\-keygen (8),
.BR tollbooth.conf (5),
.BR crm_ticket (8),
.BR pcs (8),
.BR crm (8)
.PP
/usr/share/doc/tollbooth/operations.md
`;
}

function boothMan(version: string, date: string): string {
  return `${manHeader('booth', 8, version, date, 'System Administration')}.SH NAME
booth, boothd \\- booth's ticket client and daemon entry point, served by tollbooth
.SH SYNOPSIS
.nf
${roff(boothUsage.trimEnd())}

${roff(boothdUsage.trimEnd())}
.fi
.SH DESCRIPTION
/usr/sbin/booth and /usr/sbin/boothd are tollbooth run under booth's names
(one binary, as booth's): they take booth's operations, options, output
formats and exit codes, so that pcs, crmsh, Hawk and scripts written for
booth work unchanged. The client talks to the local tollbooth member's admin
socket; \\fB\\-s SITE\\fR is served by the local member, which asks that
site. The same client runs as \\fBtollbooth booth ...\\fR.
\\fBboothd daemon \\-c NAME\\fR runs this host's member of the formation: a
site agent or an arbitrator, as the config address configured on a local
interface says; with \\fB\\-S\\fR or \\fB\\-D\\fR in the foreground, otherwise
in the background, once it answers on its admin socket.
.SH EXIT STATUS
0 success; 1 failure (booth's "ERROR:" or "info:" line on standard error says
why); \\fBstatus\\fR exits 7 when the local member does not run;
\\fBdaemon\\fR exits 78 on a config problem, and a background start with the
member's own status when it stops before it answers.
.SH DIFFERENCES FROM BOOTH
${boothClientDifferences.map((d) => `.IP \\(bu 2\n${roff(d)}`).join('\n')}
.SH SEE ALSO
.BR tollbooth (8),
.BR geostore (8),
.BR booth\\-keygen (8),
.BR tollbooth.conf (5)
`;
}

/** geostore(8) and booth-keygen(8): each program's usage text, and what differs from booth's. */
function boothToolMan(name: 'geostore' | 'booth-keygen', version: string, date: string): string {
  const summary = name === 'geostore' ? "booth's ticket attribute client, served by tollbooth" : "writes this member's key at booth's authfile path, served by tollbooth";
  const usage = name === 'geostore' ? geostoreUsage : boothKeygenUsage;
  const description =
    name === 'geostore'
      ? `/usr/sbin/geostore is tollbooth run under booth's name. set, get, delete and list
act on tollbooth's ticket attributes: one set per ticket for the whole
formation, replicated through the registry and written by every site agent
into its CIB ticket state (booth keeps them per site, each in its own site's
CIB). A value set at one site is the value every site reads; \\fB\\-s SITE\\fR is still checked
against the config as booth checks it. Reads answer from the registry leader,
or without a majority from the local member's own view (said on standard
error). The config's attr\\-prereq lines are checked but not evaluated.`
      : `/usr/sbin/booth\\-keygen is tollbooth run under booth's name, as crmsh's
\\fBcrm cluster geo\\-init\\fR runs it. booth's authfile is one shared HMAC
secret; under tollbooth the config's authfile names where each member keeps
its own Ed25519 key, and the config lists every member's public key. So this
writes a new tollbooth member key (mode 0600, never over an existing file) and
prints, on standard error, the tollbooth\\-member\\-key line the config needs,
with ADDRESS to be replaced by the member's address. Copying the file to the
other nodes of the same site is right (csync2, pcs booth sync); another site
or an arbitrator writes its own (\\fBtollbooth keygen \\-a ADDRESS \\-\\-force FILE\\fR).`;
  return `${manHeader(name, 8, version, date, 'System Administration')}.SH NAME
${roff(name)} \\- ${roff(summary)}
.SH SYNOPSIS
.nf
${roff(usage.trimEnd())}
.fi
.SH DESCRIPTION
${description}
.SH EXIT STATUS
0 success; 1 failure or bad usage (an "ERROR:" line on standard error says why).
.SH SEE ALSO
.BR booth (8),
.BR tollbooth (8),
.BR tollbooth.conf (5)
`;
}

/** A plain markdown → roff conversion for docs/configuration.md: headings, paragraphs, code, tables, lists. */
function markdownMan(md: string, version: string, date: string): string {
  let out = `${manHeader('tollbooth.conf', 5, version, date, 'File Formats')}.SH NAME
tollbooth.conf \\- tollbooth formation config (booth.conf syntax plus tollbooth\\-* keys)
`;
  let inCode = false;
  const inline = (t: string): string => roff(t.replace(/\*\*([^*]+)\*\*/g, '$1').replace(/`([^`]+)`/g, '$1').replace(/\[([^\]]+)\]\([^)]+\)/g, '$1'));
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) {
      out += inCode ? '.fi\n.RE\n' : '.RS 4\n.nf\n';
      inCode = !inCode;
      continue;
    }
    if (inCode) {
      out += `${roff(line)}\n`;
      continue;
    }
    const h = /^(#+)\s+(.*)$/.exec(line);
    if (h !== null) {
      if (h[1]!.length === 1) continue;
      out += `${h[1]!.length === 2 ? '.SH' : '.SS'} "${inline(h[2]!).toUpperCase().replaceAll('"', '')}"\n`;
      continue;
    }
    if (/^\|[-\s|]+\|$/.test(line)) continue;
    if (line.startsWith('|')) {
      out += `.IP \\(bu 2\n${inline(line.slice(1, -1).split('|').map((c) => c.trim()).join(' — '))}\n`;
      continue;
    }
    if (/^\s*[-*] /.test(line)) {
      out += `.IP \\(bu 2\n${inline(line.replace(/^\s*[-*] /, ''))}\n`;
      continue;
    }
    out += line.trim() === '' ? '.PP\n' : `${inline(line)}\n`;
  }
  return out;
}

// ───────────── bash completion ─────────────

function tollboothCompletion(spec: CliCommandSpec): string {
  const cmds: string[] = [];
  const opts: string[] = [];
  const walk = (c: CliCommandSpec, path: string): void => {
    cmds.push(`  [${JSON.stringify(path)}]=${JSON.stringify(c.commands.map((x) => x.name).join(' '))}`);
    opts.push(`  [${JSON.stringify(path)}]=${JSON.stringify(c.options.flatMap((o) => [o.short, o.long].filter((x): x is string => x !== null)).concat(['--help']).join(' '))}`);
    for (const x of c.commands) walk(x, `${path} ${x.name}`);
  };
  // Keys are command paths from the program name (bash refuses an empty key).
  walk(spec, 'tollbooth');
  return `# bash completion for tollbooth and booth; generated from the CLI's definitions (npm run package).
declare -A _tollbooth_cmds=(
${cmds.join('\n')}
)
declare -A _tollbooth_opts=(
${opts.join('\n')}
)
_tollbooth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} path=tollbooth w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    if [[ " \${_tollbooth_cmds[$path]} " == *" $w "* ]]; then path="$path $w"; fi
  done
  case $prev in
    -c|--config) COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "$(cd /etc/booth 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\\.conf$//')" -- "$cur")); return ;;
    -k|--key|--log|--socket|--state-dir|--admin-key|--quorum-guardian) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "\${_tollbooth_opts[$path]}" -- "$cur")); return; fi
  if [[ $path == "tollbooth booth" ]]; then
    COMPREPLY=($(compgen -W "list grant revoke peers status client" -- "$cur")); return
  fi
  COMPREPLY=($(compgen -W "\${_tollbooth_cmds[$path]}" -- "$cur"))
}
_booth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    -c) COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "$(cd /etc/booth 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\\.conf$//')" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "-c -s -t -F -w -C -h --move --socket --timeout" -- "$cur")); return; fi
  [[ $COMP_CWORD -eq 1 ]] && COMPREPLY=($(compgen -W "list grant revoke peers status client daemon --version --help" -- "$cur"))
}
complete -F _tollbooth tollbooth
_geostore() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    -c) COMPREPLY=($(compgen -f -- "$cur") $(compgen -W "$(cd /etc/booth 2>/dev/null && ls *.conf 2>/dev/null | sed 's/\\.conf$//')" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "-c -s -t -h --socket --timeout" -- "$cur")); return; fi
  [[ $COMP_CWORD -eq 1 ]] && COMPREPLY=($(compgen -W "list set get delete --version --help" -- "$cur"))
}
complete -F _booth booth boothd
complete -F _geostore geostore
complete -f booth-keygen
`;
}

// ───────────── the package ─────────────

function firewalld(short: string, description: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<service>
  <short>${short}</short>
  <description>${description}</description>
  <port protocol="tcp" port="${boothPortDefault}"/>
</service>
`;
}

function boothUnitFrom(arbitratorUnit: string, instance: string | null): string {
  const what = instance === null ? 'booth@NAME' : 'booth-arbitrator';
  const header = `# ${what}: booth's unit name for an arbitrator (pcs booth enable|start, crm cluster
# geo-init-arbitrator). Runs the tollbooth arbitrator of ${instance === null ? '/etc/booth/NAME.conf' : '/etc/booth/booth.conf'}.
# Made from tollbooth-arbitrator@.service by the package builder; what follows is that unit.
#
`;
  let unit = arbitratorUnit.replace(/^Description=.*$/m, `Description=tollbooth arbitrator, as booth's ${what}`);
  if (instance !== null) unit = unit.replaceAll('%i', instance);
  return header + unit;
}

function md5sums(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) lines.push(`${createHash('md5').update(readFileSync(p)).digest('hex')}  ${relative(root, p)}`);
    }
  };
  for (const top of readdirSync(root).sort()) if (top !== 'DEBIAN') walk(join(root, top));
  return `${lines.join('\n')}\n`;
}

function setTimes(dir: string, epoch: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) setTimes(p, epoch);
    lutimesSync(p, epoch, epoch);
  }
  lutimesSync(dir, epoch, epoch);
}

function installedSizeKb(root: string): number {
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else bytes += Math.ceil(st.size / 1024) * 1024;
    }
  };
  for (const top of readdirSync(root)) if (top !== 'DEBIAN') walk(join(root, top));
  return Math.ceil(bytes / 1024);
}

export function buildDeb(outDir: string): string {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; description: string; license: string };
  const arch = sh('dpkg', ['--print-architecture']).trim();
  if (!existsSync(join(repo, 'dist/bin/tollbooth.js'))) throw new Error('dist/ is missing: npm run build first (npm run package does)');
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? sh('git', ['log', '-1', '--format=%ct']).trim());
  const date = new Date(epoch * 1000).toISOString().slice(0, 10);
  const stage = mkdtempSync(join(tmpdir(), 'tollbooth-deb-'));
  const root = join(stage, 'tollbooth');
  try {
    const lib = join(root, 'usr/lib/tollbooth');
    mkdirSync(lib, { recursive: true });
    cpSync(join(repo, 'dist'), join(lib, 'dist'), { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(repo, f), join(lib, f));
    // The locked tree, production dependencies only; no install scripts (classic-level ships prebuilt binaries).
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: lib, stdio: ['ignore', 'ignore', 'inherit'] });
    chmodSync(join(lib, 'dist/bin/tollbooth.js'), 0o755);
    mkdirSync(join(root, 'usr/sbin'), { recursive: true });
    symlinkSync('../lib/tollbooth/dist/bin/tollbooth.js', join(root, 'usr/sbin/tollbooth'));
    symlinkSync('../lib/tollbooth/dist/bin/tollbooth.js', join(root, 'usr/sbin/booth'));
    // booth's daemon name: booth@.service, booth's own booth-site agent and scripts run `boothd daemon -c NAME`.
    symlinkSync('../lib/tollbooth/dist/bin/tollbooth.js', join(root, 'usr/sbin/boothd'));
    // booth's attribute client and key writer (crmsh's geo-init runs booth-keygen).
    symlinkSync('../lib/tollbooth/dist/bin/tollbooth.js', join(root, 'usr/sbin/geostore'));
    symlinkSync('../lib/tollbooth/dist/bin/tollbooth.js', join(root, 'usr/sbin/booth-keygen'));

    const units = join(root, 'lib/systemd/system');
    for (const f of readdirSync(join(repo, 'packaging/systemd'))) cpSync(join(repo, 'packaging/systemd', f), join(units, f));
    const arbitratorUnit = readFileSync(join(repo, 'packaging/systemd/tollbooth-arbitrator@.service'), 'utf8');
    write(join(units, 'booth@.service'), boothUnitFrom(arbitratorUnit, null));
    write(join(units, 'booth-arbitrator.service'), boothUnitFrom(arbitratorUnit, 'booth'));
    // pcs 0.11's systemd driver disables a unit only when `systemctl list-unit-files` lists
    // SERVICE.service (is_installed("booth")); booth@.service does not count, so without this
    // alias `pcs booth disable` printed "booth@booth disabled", exited 0 and left the unit enabled
    // (test/packaging/deb.test.ts). A symlink in the unit directory is an alias to systemd.
    symlinkSync('booth-arbitrator.service', join(units, 'booth.service'));

    write(join(root, 'usr/lib/ocf/resource.d/tollbooth/tollbooth'), readFileSync(join(repo, 'packaging/ocf/tollbooth')), 0o755);
    write(join(root, 'usr/lib/ocf/resource.d/pacemaker/booth-site'), readFileSync(join(repo, 'packaging/ocf/booth-site')), 0o755);
    // Example alert handlers (tollbooth-alert-handler = /usr/share/tollbooth/alert-handlers/syslog): root-owned 0755, as the handler checks require.
    for (const f of readdirSync(join(repo, 'packaging/alert-handlers'))) write(join(root, 'usr/share/tollbooth/alert-handlers', f), readFileSync(join(repo, 'packaging/alert-handlers', f)), 0o755);
    write(join(root, 'usr/lib/firewalld/services/tollbooth.xml'), firewalld('tollbooth', 'tollbooth members (site agents, arbitrators) talk over TCP on the formation config\'s port (booth.conf "port", 9929 by default).'));
    write(join(root, 'usr/lib/firewalld/services/booth.xml'), firewalld('booth', 'booth\'s service name, served by tollbooth: its members talk over TCP on the config\'s port (9929 by default).'));

    const spec = JSON.parse(sh(process.execPath, [join(repo, 'dist/bin/tollbooth.js'), 'cli-spec'])) as CliCommandSpec;
    write(join(root, 'usr/share/man/man8/tollbooth.8.gz'), gzipSync(tollboothMan(spec, pkg.version, date), { level: 9 }));
    write(join(root, 'usr/share/man/man8/booth.8.gz'), gzipSync(boothMan(pkg.version, date), { level: 9 }));
    // One page for both names, as booth's package links boothd.8 to booth.8.
    symlinkSync('booth.8.gz', join(root, 'usr/share/man/man8/boothd.8.gz'));
    for (const tool of ['geostore', 'booth-keygen'] as const) write(join(root, `usr/share/man/man8/${tool}.8.gz`), gzipSync(boothToolMan(tool, pkg.version, date), { level: 9 }));
    write(join(root, 'usr/share/man/man5/tollbooth.conf.5.gz'), gzipSync(markdownMan(readFileSync(join(repo, 'docs/configuration.md'), 'utf8'), pkg.version, date), { level: 9 }));
    const completion = tollboothCompletion(spec);
    write(join(root, 'usr/share/bash-completion/completions/tollbooth'), completion);
    write(join(root, 'usr/share/bash-completion/completions/booth'), completion);
    symlinkSync('booth', join(root, 'usr/share/bash-completion/completions/boothd'));
    symlinkSync('booth', join(root, 'usr/share/bash-completion/completions/geostore'));
    symlinkSync('booth', join(root, 'usr/share/bash-completion/completions/booth-keygen'));

    const doc = join(root, 'usr/share/doc/tollbooth');
    cpSync(join(repo, 'README.md'), join(doc, 'README.md'));
    for (const f of readdirSync(join(repo, 'docs'))) cpSync(join(repo, 'docs', f), join(doc, f));
    write(join(doc, 'copyright'), `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: tollbooth\n\nFiles: *\nLicense: ${pkg.license}\n On Debian systems the GNU General Public License version 2 is in\n /usr/share/common-licenses/GPL-2.\n\nFiles: usr/lib/tollbooth/node_modules/*\nLicense: see each module's package.json and license file\n`);
    const configMd = readFileSync(join(repo, 'docs/configuration.md'), 'utf8');
    const example = /## 9\. Complete example[\s\S]*?```\n([\s\S]*?)```/.exec(configMd);
    if (example === null) throw new Error('docs/configuration.md has no "## 9. Complete example" code block');
    write(join(doc, 'examples/booth.conf'), example[1]!);
    write(join(doc, 'examples/prometheus/tollbooth-rules.yml'), readFileSync(join(repo, 'packaging/prometheus/tollbooth-rules.yml')));

    const control = join(root, 'DEBIAN');
    mkdirSync(control, { recursive: true });
    write(join(control, 'postinst'), `#!/bin/sh
set -e
if [ "$1" = configure ]; then
\tmkdir -p /etc/booth /var/log/tollbooth
\tchmod 0755 /etc/booth
\tchmod 0750 /var/log/tollbooth
\tif [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
fi
exit 0
`, 0o755);
    write(join(control, 'postrm'), `#!/bin/sh
set -e
if [ "$1" = purge ]; then
\trm -rf /var/log/tollbooth
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
`, 0o755);
    setTimes(root, epoch);
    write(join(control, 'md5sums'), md5sums(root));
    write(
      join(control, 'control'),
      `Package: tollbooth
Version: ${pkg.version}
Architecture: ${arch}
Maintainer: tollbooth developers <root@localhost>
Installed-Size: ${installedSizeKb(root)}
Depends: nodejs (>= ${nodeVersionMin})
Recommends: pacemaker-cli-utils
Suggests: pcs | crmsh
Provides: booth (= ${boothTransitionalVersion(pkg.version)})
Conflicts: booth (<< ${boothTransitionalEpoch}:0)
Replaces: booth (<< ${boothTransitionalEpoch}:0)
Section: admin
Priority: optional
Description: multi-site ticket arbitrator for Pacemaker clusters (booth-compatible)
 Site agents and arbitrators decide which site of a geo cluster holds each
 ticket and feed that into Pacemaker with crm_ticket, as booth does. It
 replaces booth: /usr/sbin/booth is its booth-compatible client and
 /usr/sbin/boothd booth's daemon entry point (geostore and booth-keygen
 too), the OCF agent is also
 installed as ocf:pacemaker:booth-site, and booth@.service runs an
 arbitrator, so that pcs, crmsh and Hawk keep working.
`,
    );
    setTimes(root, epoch);
    mkdirSync(outDir, { recursive: true });
    const deb = join(outDir, `tollbooth_${pkg.version}_${arch}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * The transitional package named booth (see the top of the file): no files but its copyright,
 * Depends tollbooth of the same build. Returns its path.
 */
export function buildBoothTransitionalDeb(outDir: string): string {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; license: string };
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? sh('git', ['log', '-1', '--format=%ct']).trim());
  const version = boothTransitionalVersion(pkg.version);
  const stage = mkdtempSync(join(tmpdir(), 'booth-transitional-deb-'));
  const root = join(stage, 'booth');
  try {
    write(
      join(root, 'usr/share/doc/booth/copyright'),
      `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: tollbooth\n\nFiles: *\nLicense: ${pkg.license}\n On Debian systems the GNU General Public License version 2 is in\n /usr/share/common-licenses/GPL-2.\n`,
    );
    const control = join(root, 'DEBIAN');
    mkdirSync(control, { recursive: true });
    setTimes(root, epoch);
    write(join(control, 'md5sums'), md5sums(root));
    write(
      join(control, 'control'),
      `Package: booth
Version: ${version}
Architecture: all
Maintainer: tollbooth developers <root@localhost>
Installed-Size: ${installedSizeKb(root)}
Depends: tollbooth (= ${pkg.version})
Section: oldlibs
Priority: optional
Description: booth served by tollbooth (transitional package)
 Installs tollbooth, which replaces booth: /usr/sbin/booth, boothd, geostore
 and booth-keygen, booth@.service and ocf:pacemaker:booth-site are
 tollbooth's. This package exists because crmsh's geo bootstrap (crm cluster
 geo-init, geo-join, geo-init-arbitrator) requires an installed package named
 booth; it holds no files and may be removed when nothing checks for it.
`,
    );
    setTimes(root, epoch);
    mkdirSync(outDir, { recursive: true });
    const deb = join(outDir, `booth_${pkg.version}_all.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, deb], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outArg = process.argv.indexOf('--out');
  const out = outArg > 0 && process.argv[outArg + 1] !== undefined ? resolve(process.argv[outArg + 1]!) : join(repo, 'build');
  for (const deb of [buildDeb(out), buildBoothTransitionalDeb(out)]) process.stdout.write(`${deb} (${statSync(deb).size} bytes)\n`);
}
