// The tests that install the .deb (test/packaging/deb.test.ts, and
// test/live/booth-tools.test.ts) install into the same system paths: one at a
// time, through a lock directory holding the holder's pid.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const packageTestLockDir = '/run/lock/tollbooth-deb-test';

/** Takes the lock (true), or null while another live run holds it; a holder that died leaves its pid behind and loses the lock. */
export async function tryTakePackageTestLock(): Promise<true | null> {
  try {
    await mkdir(packageTestLockDir);
    await writeFile(join(packageTestLockDir, 'pid'), String(process.pid));
    return true;
  } catch {
    const pid = Number(await readFile(join(packageTestLockDir, 'pid'), 'utf8').catch(() => '0'));
    if (pid > 0 && !existsSync(`/proc/${pid}`)) await rm(packageTestLockDir, { recursive: true, force: true });
    return null;
  }
}

export async function releasePackageTestLock(): Promise<void> {
  await rm(packageTestLockDir, { recursive: true, force: true });
}
