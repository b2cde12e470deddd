// Composition root of an arbitrator: the same member process as a site agent,
// without a ticket sink (arbitrators vote and never hold tickets, S3).
import { runMember, type MemberOptions } from '../site-agent/main.js';

export function runArbitrator(opts: MemberOptions): Promise<number> {
  return runMember('arbitrator', opts);
}
