// Bytes the formation's members put on the wire: the kernel's per-socket
// counters (tcp_info bytes_sent, shown by `ss -ti`) summed over every
// established TCP connection to or from the formation's port. Both ends of a
// loopback connection are on this host, so each byte is counted once, at the
// end that sent it. Counts TCP payload: Noise, Yamux, length prefixes,
// libp2p's pings and our signed envelopes; not IP/TCP headers. A connection
// that closes inside a window takes its counters with it (the bench checks
// that the set of connections did not change).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TcpSample {
  /** Sum of bytes_sent over the connections, keyed by "local remote" so two samples can be matched. */
  readonly bytesByConnection: ReadonlyMap<string, number>;
}

export async function sampleTcp(port: number): Promise<TcpSample> {
  const { stdout } = await execFileP('ss', ['-tinH', 'state', 'established', `( sport = :${port} or dport = :${port} )`], {
    timeout: 5000,
    maxBuffer: 4 * 1024 * 1024,
  });
  const out = new Map<string, number>();
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
    current = null;
  }
  return { bytesByConnection: out };
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
