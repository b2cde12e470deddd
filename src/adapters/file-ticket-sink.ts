// The file-backed ticket sink: the STAND-IN for the Pacemaker feed until the
// crm_ticket sink lands (issue 4). One JSON file per ticket under
// <dir>/<encoded name>.json, written atomically (temp file, fsync, rename,
// fsync of the directory). A grant is only valid until `revokeBy` on the
// CLOCK_MONOTONIC of the boot named in `bootId`: readers (tests, the CLI)
// must treat a grant past its deadline, or from another boot, as revoked.

import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CibTicketState, TicketEffect } from '../core/site-holder.js';
import { generation, ms } from '../core/types.js';
import type { AbortOptions, TicketSink } from '../runtime/ports.js';

export interface FileTicketState {
  readonly ticket: string;
  readonly granted: boolean;
  readonly standby: boolean;
  readonly generation: number;
  readonly owner: string | null;
  /** CLOCK_MONOTONIC ms of `bootId` by which the grant is void. */
  readonly revokeBy: number | null;
  readonly bootId: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Wall-clock time of the write, for people only. */
  readonly writtenAt: string;
}

export class FileTicketSink implements TicketSink {
  constructor(
    private readonly dir: string,
    private readonly boot: string,
  ) {}

  static fileName(ticket: string): string {
    return `${encodeURIComponent(ticket)}.json`;
  }

  async readAll(_options?: AbortOptions): Promise<CibTicketState[]> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const out: CibTicketState[] = [];
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const s = await readTicketFile(join(this.dir, f));
      if (s === null) continue;
      const sameBoot = s.bootId === this.boot;
      out.push({
        name: s.ticket,
        granted: s.granted && sameBoot,
        generation: generation(s.generation),
        revokeBy: sameBoot && s.revokeBy !== null ? ms(s.revokeBy) : null,
      });
    }
    return out;
  }

  async apply(e: TicketEffect, _options?: AbortOptions): Promise<{ ok: boolean; error?: string }> {
    const state: FileTicketState = {
      ticket: e.ticket,
      granted: e.granted,
      standby: e.standby,
      generation: e.generation,
      owner: e.owner,
      revokeBy: e.revokeBy,
      bootId: this.boot,
      attrs: e.attrs,
      writtenAt: new Date().toISOString(),
    };
    try {
      await writeAtomic(this.dir, FileTicketSink.fileName(e.ticket), `${JSON.stringify(state)}\n`);
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}

/** Reads one ticket file; null when it is missing or not a ticket file (reported by the caller's checks). */
export async function readTicketFile(path: string): Promise<FileTicketState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const s = JSON.parse(text) as FileTicketState;
    if (typeof s.ticket !== 'string' || typeof s.granted !== 'boolean' || typeof s.generation !== 'number') return null;
    return s;
  } catch {
    return null;
  }
}

/** Whether a ticket file grants the ticket now (deadline and boot checked). */
export function grantedNow(s: FileTicketState | null, nowMonotonicMs: number, boot: string): boolean {
  return s !== null && s.granted && s.bootId === boot && s.revokeBy !== null && nowMonotonicMs < s.revokeBy;
}

async function writeAtomic(dir: string, name: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
