// The admin side of the CLI: sends requests to the local agent's socket and
// prints the answers for people (booth-like) or as JSON. Exit codes:
//   0 done; 1 the request was refused (the message says why);
//   2 bad arguments; 3 no leader / the formation cannot answer now;
//   7 the agent is not running or not reachable (as `booth status`).

import { adminRequest, AdminSocketError } from '../adapters/admin-socket.js';
import type { AdminRequest, AdminResponse, TicketView } from '../runtime/admin-service.js';

export const exitOk = 0;
export const exitRefused = 1;
export const exitUsage = 2;
export const exitNoLeader = 3;
export const exitNotRunning = 7;

export interface ClientOptions {
  readonly socket: string;
  readonly json: boolean;
  readonly timeoutMs: number;
}

export async function call(opts: ClientOptions, req: AdminRequest): Promise<AdminResponse> {
  const res = await adminRequest(opts.socket, req, opts.timeoutMs);
  if (typeof res !== 'object' || res === null || typeof (res as AdminResponse).ok !== 'boolean') {
    throw new AdminSocketError('ADMIN_SOCKET_PROTOCOL', 'malformed answer from the agent');
  }
  return res as AdminResponse;
}

export function exitCodeOf(res: AdminResponse): number {
  if (res.ok) return exitOk;
  if (res.code === 'no-leader' || res.code === 'timeout' || res.code === 'not-leader' || res.code === 'unknown-outcome') return exitNoLeader;
  return exitRefused;
}

function seconds(msLeft: number | null): string {
  if (msLeft === null) return '-';
  return `${(msLeft / 1000).toFixed(1)}s`;
}

export function formatList(views: readonly TicketView[]): string {
  const rows = [['TICKET', 'MODE', 'HOLDER', 'GEN', 'LEASE LEFT', 'STATE']];
  for (const v of views) {
    const state = v.holder === null ? (v.managed ? 'free' : 'revoked') : v.standby ? 'standby' : 'granted';
    rows.push([v.name, v.mode, v.holder ?? 'none', String(v.generation), seconds(v.leaseLeftMs), state]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatPeers(data: { self: string; status: { role: string; term: number; leader: string | null }; peers: ReadonlyArray<{ id: string; state: string; rttMs: number | null; sent: number; received: number; rejected: Record<string, number> }> }): string {
  const lines = [`self ${data.self}: ${data.status.role}, term ${data.status.term}, leader ${data.status.leader ?? 'none'}`];
  const rows = [['PEER', 'STATE', 'RTT', 'SENT', 'RECV', 'REJECTED']];
  for (const p of data.peers) {
    const rejected = Object.values(p.rejected).reduce((a, b) => a + b, 0);
    rows.push([p.id, p.state, p.rttMs === null ? '-' : `${p.rttMs.toFixed(1)}ms`, String(p.sent), String(p.received), String(rejected)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  lines.push(...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()));
  return lines.join('\n');
}

export function formatHistory(records: ReadonlyArray<{ index: number; ticket: string; change: string; holder: string | null; generation: number; cause: { by: string; commandId?: string; reason?: string; force?: boolean } }>): string {
  if (records.length === 0) return 'no history';
  return records
    .map((h) => {
      const cause = h.cause.by === 'admin' ? `admin${h.cause.force === true ? ' (FORCED)' : ''} ${h.cause.commandId ?? ''}` : `auto ${h.cause.reason ?? ''}`;
      return `#${h.index}  ${h.ticket}  ${h.change}  holder ${h.holder ?? 'none'}  gen ${h.generation}  by ${cause.trim()}`;
    })
    .join('\n');
}
