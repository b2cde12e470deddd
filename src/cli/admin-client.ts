// The admin side of the CLI: sends requests to the local agent's socket and
// prints the answers for people (booth-like) or as JSON. Exit codes:
//   0 done; 1 the request was refused (the message says why);
//   2 bad arguments; 3 no leader / the formation cannot answer now;
//   7 the agent is not running or not reachable (as `booth status`).

import { adminRequest, AdminSocketError } from '../adapters/admin-socket.js';
import { userInfo } from 'node:os';
import type { AdminRequest, AdminResponse, HistoryView, PeersView, TicketView } from '../runtime/admin-service.js';

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

/**
 * The name this client says it runs as, sent with every local request: under
 * sudo the invoking user's (SUDO_USER), else this process's. Only a hint — the
 * agent records the kernel's uid for the connection and keeps this beside it
 * as `claimedUser` when it differs. Null when this uid has no name here.
 */
export function claimedUser(): string | null {
  const sudo = process.env.SUDO_USER;
  if (sudo !== undefined && sudo !== '') return sudo;
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for this uid (a container's arbitrary uid): the kernel's uid is recorded anyway.
    return null;
  }
}

export async function call(opts: ClientOptions, req: AdminRequest): Promise<AdminResponse> {
  const user = req.user ?? claimedUser();
  const res = await adminRequest(opts.socket, user === null ? req : { ...req, user }, opts.timeoutMs);
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

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

export function formatList(views: readonly TicketView[]): string {
  // A local view that took a newer commit from gossip says so (issue 5).
  const gossip = views.some((v) => v.source === 'gossip');
  const rows = [['TICKET', 'MODE', 'HOLDER', 'GEN', 'LEASE LEFT', 'STATE', ...(gossip ? ['FROM'] : [])]];
  for (const v of views) {
    const state = v.holder === null ? (v.managed ? 'free' : 'revoked') : v.standby ? 'standby' : 'granted';
    rows.push([v.name, v.mode, v.holder ?? 'none', String(v.generation), seconds(v.leaseLeftMs), state, ...(gossip ? [v.source === 'gossip' ? 'gossip' : 'log'] : [])]);
  }
  return table(rows).join('\n');
}

function healthText(h: PeersView['health'][number] | undefined): string {
  if (h === undefined) return '-';
  const bad = [...(h.health.quorate ? [] : ['no quorum']), ...(h.health.handlersOk ? [] : ['handlers failing']), ...h.health.unrunnable.map((t) => `${t} not runnable`)];
  return bad.length === 0 ? 'ok' : bad.join(', ');
}

/**
 * `tollbooth peers`: every member as this one sees it (DESIGN.md §3.4) —
 * its gossip state (alive, suspect, dead) and incarnation, the round trip
 * of direct probes, whether it is reached directly or through whom, the
 * transport link, and a site's health as gossip spread it.
 */
export function formatPeers(data: PeersView): string {
  const g = data.gossip;
  const lines = [
    `self ${data.self}: ${data.status.role}, term ${data.status.term}, leader ${data.status.leader ?? 'none'}` +
      (data.protocol === undefined ? '' : `, protocol ${data.protocol}`) +
      (g === null ? '; gossip off' : `; incarnation ${g.incarnation}, health score ${g.healthScore}`),
  ];
  const health = new Map(data.health.map((h) => [h.site as string, h]));
  const ids = [...new Set([...data.peers.map((p) => p.id as string), ...(g?.peers.map((p) => p.id) ?? [])])].sort();
  const rows = [['MEMBER', 'STATE', 'INC', 'RTT', 'ROUTE', 'LINK', 'SITE HEALTH', 'REJECTED']];
  for (const id of ids) {
    const gp = g?.peers.find((p) => p.id === id);
    const link = data.peers.find((p) => p.id === id);
    const rtt = gp?.rttMs ?? link?.rttMs ?? null;
    const route = gp === undefined ? '-' : gp.route === null ? 'none' : 'via' in gp.route ? `via ${gp.route.via}` : 'direct';
    const state = gp === undefined ? '-' : gp.state === 'suspect' && gp.suspectedBy.length > 0 ? `suspect (by ${gp.suspectedBy.join(',')})` : gp.state;
    const rejected = link === undefined ? 0 : Object.values(link.rejected).reduce((a, b) => a + b, 0);
    // A link refused at the handshake names the peer's version (none: it sent no usable hello).
    const linkText = link === undefined ? '-' : link.state === 'incompatible' ? `incompatible (${link.protocol ?? 'no version'})` : link.state;
    rows.push([id, state, gp === undefined ? '-' : String(gp.incarnation), rtt === null ? '-' : `${rtt.toFixed(1)}ms`, route, linkText, healthText(health.get(id)), String(rejected)]);
  }
  lines.push(...table(rows));
  for (const link of data.peers) if (link.refused !== undefined) lines.push(`${link.id} refused: ${link.refused}`);
  const own = health.get(data.self);
  if (own !== undefined) lines.push(`this site's health: ${healthText(own)}`);
  return lines.join('\n');
}

/** Who caused a history record, in words: the verified requester first, then what it claimed. */
export function describeCause(c: HistoryView['cause']): string {
  if (c.by === 'auto') return `auto ${c.reason}${c.detail === undefined ? '' : `: ${c.detail}`}`;
  const forced = c.force ? ' FORCED' : '';
  const command = ` [command ${c.commandId.slice(0, commandIdShownChars)}]`;
  const r = c.requester;
  if (r === undefined) return `admin${forced} (requester not recorded)${command}`;
  if (r.via === 'admin-key') return `admin${forced}: admin key ${r.keyId} to ${r.member}${command}`;
  const who = r.user === null ? `uid ${r.uid}` : `${r.user} (uid ${r.uid})`;
  const claimed = r.claimedUser === undefined ? '' : `, said to be ${r.claimedUser}`;
  return `admin${forced}: ${who} on ${r.member}, pid ${r.pid}${claimed}${command}`;
}

/** Characters of a command id shown in the human history (the JSON has it whole). */
const commandIdShownChars = 8;

/**
 * `tollbooth history`: oldest first. TIME is when the leader appended the
 * entry, on the leader's wall clock, in UTC (- when the entry has no time).
 */
export function formatHistory(records: readonly HistoryView[]): string {
  if (records.length === 0) return 'no history';
  const rows = [['TIME (LEADER, UTC)', 'INDEX', 'TICKET', 'CHANGE', 'HOLDER', 'GEN', 'BY']];
  for (const h of records) {
    const time = h.wallMs === undefined ? '-' : new Date(h.wallMs).toISOString().replace('T', ' ');
    rows.push([time, `#${h.index}`, h.ticket, h.change, h.holder ?? 'none', String(h.generation), describeCause(h.cause)]);
  }
  return table(rows).join('\n');
}
