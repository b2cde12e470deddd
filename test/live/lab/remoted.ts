// pacemaker-remoted for the lab's remote nodes. Debian's pacemaker-remote
// package Conflicts with pacemaker (installing one removes the other,
// reference/pacemaker.md §1), so it is never installed: `apt-get download`
// fetches the .deb of the installed pacemaker's exact version and
// `dpkg-deb -x` unpacks it into a cache directory, keyed by that version, so
// later runs reuse it. The binary needs only libraries pacemaker already
// brings. Unpacking goes to a temporary directory renamed into place, so two
// runs that race both end with a whole binary.
import { access, constants, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError, must, run } from './run.js';

export const defaultRemotedCacheDir = '/var/cache/tollbooth-lab';

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of a pacemaker-remoted binary matching the installed pacemaker; downloads it on first use. */
export async function ensureRemoted(cacheDir: string = defaultRemotedCacheDir): Promise<string> {
  const version = (await must(['dpkg-query', '-W', '-f=${Version}', 'pacemaker'])).stdout.trim();
  if (!/^[\w.:+~-]+$/.test(version)) throw new LabError('REMOTED_UNAVAILABLE', `odd pacemaker version '${version}'`);
  const dir = join(cacheDir, version.replaceAll(':', '_'));
  const bin = join(dir, 'usr/sbin/pacemaker-remoted');
  if (await executable(bin)) return bin;

  await mkdir(cacheDir, { recursive: true });
  const tmp = await mkdtemp(join(cacheDir, '.unpack-'));
  try {
    // Run as root in a root-owned directory: tell apt not to drop to _apt for the download.
    const dl = await run(['apt-get', 'download', '-o', 'APT::Sandbox::User=root', `pacemaker-remote=${version}`], {
      cwd: tmp,
      timeoutMs: 120_000,
    });
    if (dl.code !== 0) {
      throw new LabError(
        'REMOTED_UNAVAILABLE',
        `apt-get download pacemaker-remote=${version} failed (rc ${dl.code}; run \`apt-get update\` first?): ${dl.stderr.trim()}`,
        { exitCode: dl.code, stderr: dl.stderr },
      );
    }
    const deb = (await readdir(tmp)).find((f) => f.startsWith('pacemaker-remote_') && f.endsWith('.deb'));
    if (deb === undefined) throw new LabError('REMOTED_UNAVAILABLE', `apt-get download left no pacemaker-remote .deb in ${tmp}`);
    const root = join(tmp, 'root');
    await must(['dpkg-deb', '-x', join(tmp, deb), root]);
    if (!(await executable(join(root, 'usr/sbin/pacemaker-remoted')))) {
      throw new LabError('REMOTED_UNAVAILABLE', `${deb} has no usr/sbin/pacemaker-remoted`);
    }
    try {
      await rename(root, dir);
    } catch (e) {
      // Another run got there first: use its copy.
      if (!(await executable(bin))) throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return bin;
}
