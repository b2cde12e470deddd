// `tollbooth move TICKET --to SITE`: a graceful move. Put the ticket in
// standby at its holder (Pacemaker stops its resources without applying the
// loss-policy), wait until the holder's cluster shows them stopped, hand the
// ticket over with a guarded grant (the old holder revokes first; the new one
// grants after the old lease is gone), wait until the new holder has it
// granted in its CIB, then activate it there. Each step prints a line with
// the time it took; a step that cannot finish leaves the ticket in a stated
// state and says how to undo it.

import type { AdminRequest, AdminResponse, TicketResources, TicketView } from '../runtime/admin-service.js';
import { TollboothError } from '../errors.js';

export interface MoveOptions {
  readonly ticket: string;
  readonly to: string;
  /** How long to wait for the resources to stop at the old holder. */
  readonly stopTimeoutMs: number;
  /** How long to wait for the new holder to have the ticket granted (and its resources started). */
  readonly startTimeoutMs: number;
  readonly ask: (req: AdminRequest) => Promise<AdminResponse>;
  readonly say: (line: string) => void;
  /** Poll interval. Default 250 ms. */
  readonly pollMs?: number;
  /** How long a step waits for a leader when the formation has none (an election): default 30 s. */
  readonly leaderWaitMs?: number;
}

export type MoveOutcome =
  | { readonly ok: true; readonly from: string | null; readonly to: string; readonly ms: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** How often `tollbooth move` asks about the ticket and its resources, ms. */
export const movePollMsDefault = 250;
/** How long a step of `tollbooth move` waits out an election (answers that say nothing was applied), ms. */
export const moveLeaderWaitMsDefault = 30_000;
/** Answers that say the request reached no leader, so nothing was applied: asking again is safe. */
const notAppliedCodes: ReadonlySet<string> = new Set(['no-leader', 'not-leader']);

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export async function moveTicket(o: MoveOptions): Promise<MoveOutcome> {
  const started = performance.now();
  const poll = o.pollMs ?? movePollMsDefault;
  const fail = (code: string, message: string): MoveOutcome => ({ ok: false, code, message });
  const leaderWait = o.leaderWaitMs ?? moveLeaderWaitMsDefault;
  // A step asked during an election is asked again (bounded): the answer said nothing was applied.
  const askLed = async (req: AdminRequest): Promise<AdminResponse> => {
    const end = performance.now() + leaderWait;
    for (;;) {
      const r = await o.ask(req);
      if (r.ok || !notAppliedCodes.has(r.code ?? '') || performance.now() >= end) return r;
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  };
  const must = async (req: AdminRequest, what: string): Promise<AdminResponse> => {
    const r = await askLed(req);
    if (!r.ok) throw new MoveError(r.code ?? 'failed', `${what}: ${r.message}`);
    return r;
  };
  const waitFor = async <T>(what: string, deadlineMs: number, probe: () => Promise<T | null>): Promise<T | null> => {
    const end = performance.now() + deadlineMs;
    for (;;) {
      const v = await probe();
      if (v !== null) return v;
      if (performance.now() >= end) return null;
      await new Promise((r) => setTimeout(r, poll));
    }
  };
  try {
    const list = (await must({ op: 'list' }, 'cannot read the tickets')).data as TicketView[];
    const t = list.find((v) => v.name === o.ticket);
    if (t === undefined) return fail('no-such-ticket', `no ticket ${o.ticket}`);
    const from = t.holder;
    if (from === o.to) {
      o.say(`${o.ticket} is already held by ${o.to}${t.standby ? ' (in standby: tollbooth activate to start its resources)' : ''}`);
      return { ok: true, from, to: o.to, ms: performance.now() - started };
    }

    if (from !== null) {
      // 1. Standby at the holder: its resources stop, no loss-policy applies.
      let step = performance.now();
      if (!t.standby) await must({ op: 'standby', ticket: o.ticket }, `cannot put ${o.ticket} in standby`);
      o.say(`[1/4] ${o.ticket} in standby at ${from} (${secs(performance.now() - step)})`);

      // 2. Wait until the holder's cluster shows the ticket's resources stopped.
      step = performance.now();
      const first = await askLed({ op: 'resources', ticket: o.ticket, site: from });
      if (!first.ok && first.code === 'unsupported') {
        o.say(`[2/4] cannot see ${from}'s resources (${first.message}); going on once the standby is written there`);
        const written = await waitFor('the standby write', o.stopTimeoutMs, async () => {
          const st = await o.ask({ op: 'status', site: from });
          const v = (st.data as { tickets?: TicketView[] } | undefined)?.tickets?.find((x) => x.name === o.ticket);
          return v?.standby === true ? true : null;
        });
        if (written === null) return fail('timeout', `${from} did not confirm the standby within ${secs(o.stopTimeoutMs)}; ${o.ticket} stays at ${from} in standby (tollbooth activate ${o.ticket} to undo)`);
      } else {
        if (!first.ok) throw new MoveError(first.code ?? 'failed', `cannot ask ${from} about the resources: ${first.message}`);
        let last = first.data as TicketResources;
        const stopped = await waitFor('the resources to stop', o.stopTimeoutMs, async () => {
          const r = await o.ask({ op: 'resources', ticket: o.ticket, site: from });
          if (r.ok) last = r.data as TicketResources;
          return r.ok && last.active.length === 0 ? true : null;
        });
        if (stopped === null) {
          const still = last.active.map((a) => `${a.id} (${a.role} on ${a.nodes.join(', ')})`).join('; ');
          return fail('timeout', `resources still active at ${from} after ${secs(o.stopTimeoutMs)}: ${still}; ${o.ticket} stays at ${from} in standby (tollbooth activate ${o.ticket} to undo)`);
        }
        o.say(`[2/4] resources of ${o.ticket} stopped at ${from}: ${last.resources.join(', ') || 'none configured'} (${secs(performance.now() - step)})`);
      }
    }

    // 3. Hand over: a guarded grant (the old holder revokes, then the new one grants).
    let step = performance.now();
    await must({ op: 'grant', ticket: o.ticket, site: o.to }, `cannot grant ${o.ticket} to ${o.to}`);
    const granted = await waitFor('the grant at the new holder', o.startTimeoutMs, async () => {
      const st = await o.ask({ op: 'status', site: o.to });
      const v = (st.data as { tickets?: TicketView[] } | undefined)?.tickets?.find((x) => x.name === o.ticket);
      return v?.grantedHere === true && v.holder === o.to ? true : null;
    });
    if (granted === null) return fail('timeout', `${o.to} did not have ${o.ticket} granted within ${secs(o.startTimeoutMs)}; see tollbooth list`);
    o.say(`[3/4] ${o.ticket} granted at ${o.to}${from === null ? '' : ` (revoked at ${from} first)`} (${secs(performance.now() - step)})`);

    // 4. Activate: the resources start at the new holder.
    step = performance.now();
    await must({ op: 'activate', ticket: o.ticket }, `cannot activate ${o.ticket}`);
    const res = await o.ask({ op: 'resources', ticket: o.ticket, site: o.to });
    if (res.ok && (res.data as TicketResources).resources.length > 0) {
      const want = (res.data as TicketResources).resources;
      const up = await waitFor('the resources to start', o.startTimeoutMs, async () => {
        const r = await o.ask({ op: 'resources', ticket: o.ticket, site: o.to });
        if (!r.ok) return null;
        const active = new Set((r.data as TicketResources).active.flatMap((a) => [a.id, ...a.parents]));
        return want.every((w) => active.has(w)) ? true : null;
      });
      o.say(
        up === null
          ? `[4/4] ${o.ticket} active at ${o.to}, but not all of ${want.join(', ')} started within ${secs(o.startTimeoutMs)} (see crm_mon there)`
          : `[4/4] ${o.ticket} active at ${o.to}; ${want.join(', ')} running (${secs(performance.now() - step)})`,
      );
    } else {
      o.say(`[4/4] ${o.ticket} active at ${o.to} (${secs(performance.now() - step)})`);
    }
    return { ok: true, from, to: o.to, ms: performance.now() - started };
  } catch (err) {
    if (err instanceof MoveError) return fail(err.code, err.message);
    throw err;
  }
}

class MoveError extends TollboothError {}
