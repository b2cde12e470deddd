// Member key files: one line, the base64 of the 32-byte Ed25519 seed, mode 0600.
// `tollbooth keygen` writes one and prints the config line with its public key.

import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { readRegularFile } from '../config/regular-file.js';
import { TollboothError } from '../errors.js';

export class KeyFileError extends TollboothError<'KEY_FILE_UNREADABLE' | 'KEY_FILE_INVALID' | 'KEY_FILE_PERMISSIONS' | 'KEY_FILE_EXISTS'> {}

const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The raw 32-byte public key of a seed. */
export function publicKeyOfSeed(seed: Uint8Array): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32);
}

/** A key file is one line of base64 (45 bytes with its newline); anything much longer is not one. */
export const keyFileBytesMax = 1024;

export async function readSeedFile(path: string): Promise<Buffer> {
  let text: string;
  try {
    // Only a regular file: a FIFO would block start-up with no message (regular-file.ts). The
    // permissions are those of the descriptor read, not of a path that could change in between.
    const { bytes, stats } = await readRegularFile(path, keyFileBytesMax);
    if ((stats.mode & 0o077) !== 0) throw new KeyFileError('KEY_FILE_PERMISSIONS', `${path}: key file must not be readable by group or others (chmod 600 ${path})`);
    text = bytes.toString('utf8');
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    throw new KeyFileError('KEY_FILE_UNREADABLE', `${path}: cannot read the key: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  const seed = Buffer.from(trimmed, 'base64');
  if (seed.length !== 32 || seed.toString('base64') !== trimmed) {
    throw new KeyFileError('KEY_FILE_INVALID', `${path}: expected one line with the base64 of a 32-byte Ed25519 seed`);
  }
  return seed;
}

export async function writeSeedFile(path: string, overwrite: boolean): Promise<{ seed: Buffer; publicKey: Buffer }> {
  const seed = randomBytes(32);
  try {
    await writeFile(path, `${seed.toString('base64')}\n`, { mode: 0o600, flag: overwrite ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError('KEY_FILE_EXISTS', `${path} exists; use --force to replace it`);
    throw err;
  }
  await chmod(path, 0o600);
  return { seed, publicKey: publicKeyOfSeed(seed) };
}
