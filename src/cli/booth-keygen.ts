// booth's `booth-keygen [auth-file]`, served by tollbooth (issue 14): the
// package links /usr/sbin/booth-keygen to tollbooth. crmsh's `crm cluster
// geo-init` runs `booth-keygen /etc/booth/authkey` and then writes
// `authfile="/etc/booth/authkey"` into booth.conf.
//
// booth's key is one shared HMAC secret (64 random bytes) copied to every
// member. Under tollbooth the config's authfile names where each member keeps
// its OWN Ed25519 key (src/config/paths.ts), and the config lists every
// member's public key. So booth-keygen writes a tollbooth member key at that
// path, with booth-keygen's rules (an absolute path, default
// /etc/booth/authkey, never over an existing file, mode 0600), and tells on
// stderr the config line that the member's public key needs; stdout stays
// empty, as booth's. Copying that file to the other nodes of the same site
// (csync2, pcs booth sync) is right: they run the same site member. Another
// site or an arbitrator needs its own key (tollbooth keygen -a ADDRESS --force
// FILE), which docs/operations.md says.
import { isAbsolute } from 'node:path';
import { writeSeedFile } from './keys.js';
import { boothConfDir } from '../config/paths.js';

export const boothKeygenDefaultFile = `${boothConfDir}/authkey`;

export const boothKeygenUsage = `usage: booth-keygen [-h] [auth-file]

Writes a new tollbooth member key (Ed25519, one line of base64, mode 0600) to
auth-file [default ${boothKeygenDefaultFile}], the file the config's authfile
names. Unlike booth's shared key, each member of a formation has its own: the
config lists every member's public key in a tollbooth-member-key line, which
this prints on stderr. See booth-keygen(8) and tollbooth(8).
`;

export interface BoothKeygenIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Writes a new key at path (refusing an existing file) and returns its public key. */
  readonly writeKey: (path: string) => Promise<Buffer>;
}

export const boothKeygenIo = (out: (t: string) => void, err: (t: string) => void): BoothKeygenIo => ({
  out,
  err,
  writeKey: async (path) => (await writeSeedFile(path, false)).publicKey,
});

/** Runs booth-keygen; returns the exit code (0, or 1 with an ERROR line as booth's script). */
export async function runBoothKeygen(argv: readonly string[], io: BoothKeygenIo): Promise<number> {
  const a = argv[0];
  if (a === '-h' || a === '--help' || a === '-?') {
    io.out(boothKeygenUsage);
    return 0;
  }
  if (argv.length > 1) {
    io.err(`ERROR: one auth-file at most, not ${argv.length} arguments\n`);
    return 1;
  }
  if (a !== undefined && !isAbsolute(a)) {
    io.err('ERROR: please use absolute path for the key file\n');
    return 1;
  }
  const file = a ?? boothKeygenDefaultFile;
  let publicKey: Buffer;
  try {
    publicKey = await io.writeKey(file);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    io.err(code === 'KEY_FILE_EXISTS' ? `ERROR: file ${file} already exists\n` : `ERROR: cannot write ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  io.err(
    `info: wrote a tollbooth member key to ${file}; add this line to the formation config with this member's address (every member has its own key):\n` +
      `tollbooth-member-key = ADDRESS ${publicKey.toString('base64')}\n`,
  );
  return 0;
}
