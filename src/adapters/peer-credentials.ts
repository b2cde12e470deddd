// Who is at the other end of an admin connection, in the kernel's words
// (issue 13, item 3: the audit history names the local user who asked).
//
// Linux records the credentials of a UNIX socket's peer when it connects
// (SO_PEERCRED: pid, uid, gid); the client cannot choose them. Node has no
// call for getsockopt, so we hand the accepted socket to a short-lived perl
// as its file descriptor 3 (duplicated by spawn; ours stays open) and perl
// asks the kernel, and looks the uid's name up with getpwuid (NSS, the same
// database `id` reads). Why perl: perl-base is Essential in Debian (always
// installed; Socket.pm is in it), it starts in a few ms, and its getsockopt
// is the plain system call. The alternatives we weighed: `ss -xpn` (sock_diag)
// tells who holds the peer socket *now*, not who connected, and needs the
// peer inode matched by parsing; a native addon needs a compiler at install.
// Cost: one process per request that changes something (reads do not ask):
// measured in test/adapters/peer-credentials.test.ts, docs/operations.md §5.
// Loading perl's Socket module costs more than the rest of the run (~17 of
// ~22 ms here), so the two constants it provides (their values differ between
// Linux architectures: 1/17 on x86 and arm, others on mips, ppc, sparc) are
// asked of it once per process and passed to every lookup as arguments.

import type { Socket } from 'node:net';
import { TollboothError } from '../errors.js';
import { describeFailedRun, runProcess, type RunResult } from './process-runner.js';

/** The kernel's account of an admin client (SO_PEERCRED), and its user's name where this host has one. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** getpwuid(uid) on this host; null when the uid has no entry. */
  readonly user: string | null;
}

export class PeerCredentialsError extends TollboothError<'PEER_CREDENTIALS_FAILED'> {}

/** Deadline of one lookup, ms: perl starts in ~5-20 ms here; a loaded host may take far longer, and the admin waits. */
export const peerCredentialsTimeoutMs = 5_000;
/** Output bound: one line of three numbers and a name. */
const outputBytesMax = 1024;

/** Prints this architecture's SOL_SOCKET and SO_PEERCRED (once per process: see the file comment). */
const constantsScript = 'use Socket qw(SOL_SOCKET SO_PEERCRED); print SOL_SOCKET, " ", SO_PEERCRED, "\\n";';
const constantsLine = /^(\d+) (\d+)\n?$/;

/**
 * The perl program: fd 3 is the socket, argv SOL_SOCKET and SO_PEERCRED.
 * SO_PEERCRED's struct ucred is three 32-bit ints (pid_t, uid_t, gid_t;
 * "iII"). Exit 2 with a message on stderr when the kernel refuses (not a
 * UNIX socket, already closed).
 */
const script = [
  'use strict; my ($level, $option) = @ARGV;',
  'open(my $s, "+<&=", 3) or do { print STDERR "fd 3: $!\\n"; exit 2 };',
  'my $c = getsockopt($s, $level, $option) or do { print STDERR "SO_PEERCRED: $!\\n"; exit 2 };',
  'my ($pid, $uid, $gid) = unpack("iII", $c);',
  'my $name = getpwuid($uid);',
  'print "$pid $uid $gid ", (defined $name ? $name : ""), "\\n";',
].join(' ');

const answerLine = /^(\d+) (\d+) (\d+) ([^\s]*)\n?$/;

/** Parses the helper's answer; exported for tests. */
export function parsePeerCredentials(r: RunResult): PeerCredentials {
  if (r.kind !== 'exited') throw new PeerCredentialsError('PEER_CREDENTIALS_FAILED', `cannot ask the kernel who connected: ${describeFailedRun(r)}`);
  if (r.exitCode !== 0) throw new PeerCredentialsError('PEER_CREDENTIALS_FAILED', `cannot ask the kernel who connected: perl exited ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}`);
  const m = answerLine.exec(r.stdout);
  if (m === null) throw new PeerCredentialsError('PEER_CREDENTIALS_FAILED', `cannot read the peer credentials from ${JSON.stringify(r.stdout.slice(0, 100))}`);
  return { pid: Number(m[1]), uid: Number(m[2]), gid: Number(m[3]), user: m[4] === '' ? null : m[4]! };
}

/** A fixed, minimal environment: no PERL5LIB or PERL5OPT from ours can change what runs. */
const perlEnv = { PATH: '/usr/bin:/bin' };

let constants: Promise<readonly [string, string]> | null = null;

/** SOL_SOCKET and SO_PEERCRED as perl's Socket module knows them; asked once (a failure is asked again next time). */
function socketConstants(signal?: AbortSignal): Promise<readonly [string, string]> {
  constants ??= runProcess({ tool: 'perl', argv: ['-e', constantsScript], timeoutMs: peerCredentialsTimeoutMs, outputBytesMax, env: perlEnv, ...(signal === undefined ? {} : { signal }) }).then((r) => {
    const m = r.kind === 'exited' && r.exitCode === 0 ? constantsLine.exec(r.stdout) : null;
    if (m === null) {
      constants = null;
      throw new PeerCredentialsError('PEER_CREDENTIALS_FAILED', `cannot read SOL_SOCKET and SO_PEERCRED from perl's Socket module: ${r.kind === 'exited' ? `exit ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}` : describeFailedRun(r)}`);
    }
    return [m[1]!, m[2]!] as const;
  });
  return constants;
}

/** Asks the kernel who connected `socket` (an accepted UNIX socket). Rejects with PeerCredentialsError. */
export async function peerCredentials(socket: Socket, signal?: AbortSignal): Promise<PeerCredentials> {
  const [level, name] = await socketConstants(signal);
  const r = await runProcess({
    tool: 'perl',
    argv: ['-e', script, level, name],
    timeoutMs: peerCredentialsTimeoutMs,
    outputBytesMax,
    passFds: [socket],
    env: perlEnv,
    ...(signal === undefined ? {} : { signal }),
  });
  return parsePeerCredentials(r);
}
