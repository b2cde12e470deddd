// `tollbooth demo`: a real formation on loopback — 2 site agents and 1
// arbitrator as separate processes on 127.0.0.1, 127.0.0.2 and 127.0.0.3,
// talking libp2p, persisting in LevelDB, in a temporary directory. Waits for
// the automatic ticket to be granted, kills the holder with SIGKILL, shows the
// ticket moving to the other site, prints a summary and exits 0.

import { formatList } from '../src/cli/admin-client.js';
import { LoopbackFormation, until, type LoopbackMember } from '../src/cli/loopback-formation.js';
import type { TicketView } from '../src/runtime/admin-service.js';

const leaseS = 10;
const acquireAfterS = 1;
/** How long the demo waits for a registry leader, ms. */
const leaderWaitMs = 20_000;
/** How long it waits for the first grant, ms. */
const grantWaitMs = 30_000;
/** How long it waits for the failover after the kill, ms (the lease is leaseS). */
const failoverWaitMs = 60_000;
/** How often it looks while the lease runs out, ms (the countdown line). */
const failoverPollMs = 200;

export async function runDemo(opts: { keep: boolean }): Promise<number> {
  const t0 = Date.now();
  const say = (line: string): void => {
    process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  };
  const show = (title: string, views: TicketView[]): void => {
    process.stdout.write(`\n  $ tollbooth list   (${title})\n${formatList(views).replace(/^/gm, '    ')}\n\n`);
  };
  const f = await LoopbackFormation.create({ sites: 2, arbitrators: 1, tickets: [{ name: 'db', expireS: leaseS, acquireAfterS }] });
  let keep = opts.keep;
  try {
    say(`formation in ${f.root}: sites 127.0.0.1 and 127.0.0.2, arbitrator 127.0.0.3, port ${f.port}`);
    say(`ticket db: automatic, lease ${leaseS} s, acquire-after ${acquireAfterS} s`);
    for (const m of f.members) {
      const p = f.start(m);
      say(`started ${m.kind === 'site' ? 'site agent' : 'arbitrator'} ${m.address} (pid ${p.pid ?? '?'})`);
    }
    await Promise.all(f.members.map((m) => f.waitReady(m)));
    say('all three members answer on their admin sockets');
    const leader = await until('a registry leader', leaderWaitMs, async () => {
      const s = await f.call(f.members[0]!, { op: 'status' });
      return (s.data as { leader: string | null }).leader;
    });
    say(`registry leader elected: ${leader}`);
    const holder = await until<LoopbackMember>('ticket db to be granted at a site', grantWaitMs, async () => (await f.grantedAt('db'))[0] ?? null);
    say(`ticket db granted at ${holder.address}`);
    show('asked at the arbitrator', (await f.call(f.members[2]!, { op: 'list' })).data as TicketView[]);
    say(`kill -9 ${holder.address} (pid ${holder.proc?.pid ?? '?'}), the holder`);
    const killedAt = Date.now();
    await f.kill(holder, 'SIGKILL');
    const other = f.sites.find((m) => m !== holder)!;
    let lastLeft = '';
    await until('the ticket to move to the other site', failoverWaitMs, async () => {
      const t = await f.localTicket(other, 'db');
      if (t?.grantedHere === true) return true;
      const view = ((await f.call(f.members[2]!, { op: 'list' }).catch(() => null))?.data as TicketView[] | undefined)?.[0];
      const left = view?.holder !== holder.address || view.leaseLeftMs === null ? '' : `${Math.ceil(view.leaseLeftMs / 1000)}`;
      if (left !== '' && left !== lastLeft) {
        lastLeft = left;
        const line = `        waiting for ${holder.address}'s lease to run out in the registry's view: ${left.padStart(3)} s left`;
        process.stdout.write(process.stdout.isTTY ? `\r${line} ` : `${line}\n`);
      }
      return null;
    }, failoverPollMs);
    if (process.stdout.isTTY) process.stdout.write('\n');
    const failoverS = (Date.now() - killedAt) / 1000;
    say(`ticket db granted at ${other.address}, ${failoverS.toFixed(1)} s after the kill`);
    show(`asked at ${other.address}`, (await f.call(other, { op: 'list' })).data as TicketView[]);
    process.stdout.write(
      `summary: db granted at ${holder.address}; holder killed with SIGKILL; failed over to ${other.address} in ${failoverS.toFixed(1)} s\n` +
        `         (bounded by lease ${leaseS} s × drift stretch + acquire-after ${acquireAfterS} s + a renewal round)\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    for (const m of f.members) process.stderr.write(`  log of ${m.address}: ${m.log}\n`);
    keep = true;
    return 1;
  } finally {
    await f.stop(keep);
    if (keep) process.stdout.write(`kept ${f.root} (config, keys, logs)\n`);
  }
}
