// Bytes the formation's members put on the wire: the kernel's per-socket
// counters (tcp_info bytes_sent, shown by `ss -ti`) summed over every
// established TCP connection to or from the formation's port. Both ends of a
// loopback connection are on this host, so each byte is counted once, at the
// end that sent it. Counts TCP payload: Noise, Yamux, length prefixes,
// libp2p's pings and our signed envelopes; not IP/TCP headers. A connection
// that closes inside a window takes its counters with it (the bench checks
// that the set of connections did not change). Packets: the same sockets'
// segs_out (every TCP segment sent, pure ACKs included) and data_segs_out
// (segments that carried payload).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TcpSample {
  /** Sum of bytes_sent over the connections, keyed by "local remote" so two samples can be matched. */
  readonly bytesByConnection: ReadonlyMap<string, number>;
  /** segs_out (all segments sent) and data_segs_out per connection, same keys. */
  readonly segmentsByConnection: ReadonlyMap<string, { readonly all: number; readonly data: number }>;
}

export async function sampleTcp(port: number): Promise<TcpSample> {
  const { stdout } = await execFileP('ss', ['-tinH', 'state', 'established', `( sport = :${port} or dport = :${port} )`], {
    timeout: 5000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const out = new Map<string, number>();
  const segments = new Map<string, { all: number; data: number }>();
  let current: string | null = null;
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      // "Recv-Q Send-Q Local:Port Peer:Port" (state is omitted when filtered by state).
      const cols = line.trim().split(/\s+/);
      current = cols.length >= 4 ? `${cols[2]} ${cols[3]}` : null;
      continue;
    }
    if (current === null) continue;
    const m = /\bbytes_sent:(\d+)/.exec(line) ?? /\bbytes_acked:(\d+)/.exec(line);
    if (m !== null) out.set(current, Number(m[1]));
    const all = /\bsegs_out:(\d+)/.exec(line);
    const data = /\bdata_segs_out:(\d+)/.exec(line);
    if (all !== null) segments.set(current, { all: Number(all[1]), data: data === null ? 0 : Number(data[1]) });
    current = null;
  }
  return { bytesByConnection: out, segmentsByConnection: segments };
}

/** Segments sent between two samples over the connections present in both: all of them, and those that carried data. */
export function segmentsBetween(a: TcpSample, b: TcpSample): { all: number; data: number } {
  let all = 0;
  let data = 0;
  for (const [k, after] of b.segmentsByConnection) {
    const before = a.segmentsByConnection.get(k);
    if (before === undefined) continue;
    all += after.all - before.all;
    data += after.data - before.data;
  }
  return { all, data };
}

/** Bytes sent between two samples over the connections present in both; `changed` tells whether connections came or went. */
export function bytesBetween(a: TcpSample, b: TcpSample): { bytes: number; connections: number; changed: boolean } {
  let bytes = 0;
  let common = 0;
  for (const [k, after] of b.bytesByConnection) {
    const before = a.bytesByConnection.get(k);
    if (before === undefined) continue;
    common += 1;
    bytes += after - before;
  }
  const changed = common !== a.bytesByConnection.size || common !== b.bytesByConnection.size;
  return { bytes, connections: common, changed };
}
