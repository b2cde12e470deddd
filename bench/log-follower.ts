// Follows a member's pino log file incrementally (only the bytes added since
// the last poll are read), for two things the admin socket is too costly or
// too coarse for while thousands of tickets are being placed: progress (the
// 'ticket granted locally' / 'ticket revoked locally' lines the site agent
// logs after each sink write) and trouble (role changes, dropped frames and
// their sizes, disconnects) to explain a run that does not converge.

import { open } from 'node:fs/promises';

export interface LogTrouble {
  roleChanges: number;
  peerDisconnects: number;
  /** Frames the transport refused to send because they were larger than messageBytesMax. */
  oversizeDrops: number;
  /** The largest such frame, and the limit it broke. */
  oversizeLargestBytes: number;
  oversizeLimitBytes: number;
  otherDrops: number;
  renewalsRefused: number;
  fatal: string | null;
}

export class LogFollower {
  private offset = 0;
  private partial = '';
  /** Per ticket: whether the last sink write this member logged granted it (sites only). */
  readonly granted = new Map<string, boolean>();
  grantedCount = 0;
  /** Sink writes this member logged (grant or revoke, successful), in all. */
  sinkWrites = 0;
  /** Lease guard updates ('lease guard deadlines moved'), each one write covering many tickets. */
  guardWrites = 0;
  readonly trouble: LogTrouble = {
    roleChanges: 0,
    peerDisconnects: 0,
    oversizeDrops: 0,
    oversizeLargestBytes: 0,
    oversizeLimitBytes: 0,
    otherDrops: 0,
    renewalsRefused: 0,
    fatal: null,
  };

  constructor(
    readonly path: string,
    /** Called for every successful sink write this member logs (sites), in log order, at poll time. */
    private readonly onSinkWrite?: (w: { ticket: string; granted: boolean; generation: number | null }) => void,
  ) {}

  async poll(): Promise<void> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const chunk = Buffer.alloc(1 << 20);
      for (;;) {
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const text = this.partial + chunk.toString('utf8', 0, bytesRead);
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) this.line(line);
      }
    } finally {
      await fh.close();
    }
  }

  private line(line: string): void {
    const at = line.indexOf('"msg":"');
    if (at < 0) return;
    const msg = line.slice(at + 7, line.indexOf('"', at + 7));
    switch (msg) {
      case 'ticket granted locally':
      case 'ticket revoked locally': {
        const o = JSON.parse(line) as { ticket?: string; granted?: boolean; ok?: boolean; generation?: number };
        if (o.ticket === undefined || o.ok !== true) return;
        this.sinkWrites += 1;
        this.onSinkWrite?.({ ticket: o.ticket, granted: o.granted === true, generation: typeof o.generation === 'number' ? o.generation : null });
        const was = this.granted.get(o.ticket) === true;
        const now = o.granted === true;
        this.granted.set(o.ticket, now);
        this.grantedCount += (now ? 1 : 0) - (was ? 1 : 0);
        return;
      }
      case 'lease guard deadlines moved':
        this.guardWrites += 1;
        return;
      case 'role changed':
        this.trouble.roleChanges += 1;
        return;
      case 'peer disconnected':
        this.trouble.peerDisconnects += 1;
        return;
      case 'renewal refused':
        this.trouble.renewalsRefused += 1;
        return;
      case 'frame dropped': {
        const m = /frame would be (\d+) bytes, limit (\d+)/.exec(line);
        if (m === null) {
          this.trouble.otherDrops += 1;
          return;
        }
        this.trouble.oversizeDrops += 1;
        this.trouble.oversizeLargestBytes = Math.max(this.trouble.oversizeLargestBytes, Number(m[1]));
        this.trouble.oversizeLimitBytes = Number(m[2]);
        return;
      }
      default:
        if (line.startsWith('{"level":60')) this.trouble.fatal ??= msg;
    }
  }
}

/** Sums the trouble of several members' logs. */
export function totalTrouble(followers: readonly LogFollower[]): LogTrouble {
  const t: LogTrouble = { roleChanges: 0, peerDisconnects: 0, oversizeDrops: 0, oversizeLargestBytes: 0, oversizeLimitBytes: 0, otherDrops: 0, renewalsRefused: 0, fatal: null };
  for (const f of followers) {
    const x = f.trouble;
    t.roleChanges += x.roleChanges;
    t.peerDisconnects += x.peerDisconnects;
    t.oversizeDrops += x.oversizeDrops;
    t.oversizeLargestBytes = Math.max(t.oversizeLargestBytes, x.oversizeLargestBytes);
    t.oversizeLimitBytes = Math.max(t.oversizeLimitBytes, x.oversizeLimitBytes);
    t.otherDrops += x.otherDrops;
    t.renewalsRefused += x.renewalsRefused;
    t.fatal ??= x.fatal;
  }
  return t;
}
