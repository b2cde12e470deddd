// The names of files in one directory that changed since the caller last
// asked (fs.watch: inotify on Linux), for the file ticket sink's read-back
// (issue 15): with 10 000 ticket files, a stat of every file at every
// read-back was most of an idle holding site's CPU. A watch reports a file
// written in place, replaced (rename) or removed, whoever did it. What it
// cannot promise is every event: the kernel's queue can overflow and drop
// them without a word to Node, the watch can fail, the directory can be
// replaced. So `take` says whether its names can be trusted (`complete`):
// they cannot before the first take, after a watch error, after an event
// without a name, or when the directory is another one than the one watched
// — and the caller falls back to looking at every file. It does so
// periodically anyway (FileTicketSink.fullSweepMs), so an event lost
// without a trace delays a read-back by at most that.

import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface Changes {
  /** False: something may have changed that `names` does not hold; look at every file. */
  readonly complete: boolean;
  /** The files (names inside the directory) reported changed since the last take. */
  readonly names: ReadonlySet<string>;
}

export class DirectoryChanges {
  private watcher: FSWatcher | null = null;
  /** The inode of the directory being watched. */
  private watchedIno: bigint | null = null;
  private changed = new Set<string>();
  private complete = false;

  constructor(private readonly dir: string) {}

  /**
   * What changed since the last take, and from now on a new record. The directory must exist. A watch
   * that failed, or a directory that was replaced, is watched anew, and that take is not complete.
   */
  async take(): Promise<Changes> {
    const ino = (await stat(this.dir, { bigint: true })).ino;
    if (this.watcher === null || ino !== this.watchedIno) {
      this.close();
      this.start(ino);
    }
    const out = { complete: this.complete, names: this.changed };
    this.changed = new Set();
    this.complete = this.watcher !== null;
    return out;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.watchedIno = null;
    this.complete = false;
  }

  private start(ino: bigint): void {
    try {
      // Not persistent: the watch alone does not keep the process running.
      const w = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name === null) this.complete = false;
        else this.changed.add(name);
      });
      w.on('error', () => {
        if (this.watcher === w) this.close();
      });
      this.watcher = w;
      this.watchedIno = ino;
    } catch {
      this.watcher = null; // out of inotify watches, or no such directory: every take is incomplete
    }
    this.complete = false;
  }
}
