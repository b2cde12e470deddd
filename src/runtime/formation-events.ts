// What an operator watches (issue 13): the core's events, the pump's CIB
// writes and a few sampled views turned into one stream of named events —
// grant, revoke, failover, standby, activate, leader change, member alive /
// suspect / dead, relay route change, CIB write failure, lease-guard revoke,
// quorum-guardian plan and promotion. `tollbooth watch`, the alert hooks and
// the metrics read this stream; none of them can slow the protocol: listeners
// are called synchronously after the pump has carried out a Ready, and each
// must only queue (bounded) what it does with an event.
//
// Each member reports what it sees: every member applies every committed
// entry, so a grant is reported by all of them (`member` names the reporter,
// `index` the log entry, so a consumer of several members can drop repeats).
// Events that only one member can see (a CIB write failed here, the lease
// guard revoked here, this member's view of a peer) come from that member.

import type { CoreEvent } from '../core/ready.js';
import type { Route } from '../core/gossip/routes.js';
import type { Pump } from './pump.js';

export const formationEventNames = [
  'grant',
  'revoke',
  'failover',
  'standby',
  'activate',
  'lease-lost',
  'leader-change',
  'member-alive',
  'member-suspect',
  'member-dead',
  'route-change',
  'cib-write-failed',
  'lease-guard-revoke',
  'sink-speed',
  'quorum-plan',
  'quorum-promotion',
] as const;
export type FormationEventName = (typeof formationEventNames)[number];

export interface FormationEvent {
  /** Per reporting member, from 1 at its start: a gap tells a consumer it missed events. */
  readonly seq: number;
  readonly event: FormationEventName;
  /** Wall clock of the reporting member when it saw the event, Unix ms. */
  readonly timeUnixMs: number;
  /** The reporting member. */
  readonly member: string;
  readonly ticket?: string;
  /** The site concerned: the new holder (grant, failover), the site that wrote or lost (CIB, lease). */
  readonly site?: string | null;
  /** The holder before the change (grant, revoke, failover). */
  readonly previous?: string | null;
  readonly generation?: number;
  /** The registry log index of the change. */
  readonly index?: number;
  /** The member a membership or route event is about. */
  readonly peer?: string;
  readonly leader?: string | null;
  readonly term?: number;
  /** `direct`, `via <member>` or `none`. */
  readonly route?: string;
  /** Why (the cause of a grant, a failed write's error, a plan's message). */
  readonly reason?: string;
}

export type FormationEventInput = Omit<FormationEvent, 'seq' | 'timeUnixMs' | 'member'>;

export type FormationEventListener = (e: FormationEvent) => void;

export interface FormationEventsComponents {
  readonly self: string;
  readonly pump: Pump;
  /** Wall clock, Unix ms (only for the event's timestamp). */
  readonly wallClockMs: () => number;
  /** At a site running the quorum guardian: its decision and promotions, sampled. */
  readonly guardian?: () => GuardianSample | null;
  /** How often routes and the guardian are sampled, ms. */
  readonly sampleIntervalMs?: number;
  /** A listener that threw: logged by the caller, never propagated into the pump. */
  readonly onListenerError?: (err: unknown) => void;
}

/** The part of the quorum guardian's status the events need (src/guardian/guardian-loop.ts GuardianStatus). */
export interface GuardianSample {
  readonly decision: { readonly kind: string; readonly replace: string | null; readonly with: string | null; readonly message: string; readonly sinceUnixMs: number } | null;
  readonly lastPromotion: { readonly replace: string; readonly with: string; readonly ok: boolean; readonly finishedAtUnixMs: number; readonly reason: string | null } | null;
}

/** Default period of route and guardian sampling, ms: a route change shows within it. */
export const eventSampleIntervalMsDefault = 1_000;

function routeText(r: Route | null): string {
  if (r === null) return 'none';
  return 'via' in r ? `via ${r.via}` : 'direct';
}

export class FormationEvents {
  private readonly listeners = new Set<FormationEventListener>();
  private seq = 0;
  private readonly holders = new Map<string, string | null>();
  private readonly routes = new Map<string, string>();
  private leader: string | null = null;
  private guardianDecision = '';
  private guardianPromotion = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly c: FormationEventsComponents) {
    for (const t of c.pump.core.tickets()) this.holders.set(t.def.name, t.holder);
    this.leader = c.pump.core.status().leader;
    for (const p of c.pump.core.peers()?.peers ?? []) this.routes.set(p.id, routeText(p.route));
    const g = c.guardian?.() ?? null;
    if (g !== null) {
      this.guardianDecision = decisionKey(g);
      this.guardianPromotion = g.lastPromotion?.finishedAtUnixMs ?? 0;
    }
    c.pump.on('event', (e) => this.onCore(e));
    c.pump.on('effect', (e, outcome) => {
      if (!outcome.ok) this.emit({ event: 'cib-write-failed', ticket: e.ticket, site: c.self, generation: e.generation, reason: `${e.granted ? 'grant' : 'revoke'}: ${outcome.error ?? 'failed'}` });
    });
    c.pump.on('guard', (g) => {
      // A guard update the sink skipped means a deadline had passed there: the lease guard revoked (lease-guard.ts).
      if (g.skipped > 0) this.emit({ event: 'lease-guard-revoke', site: c.self, reason: `${g.skipped} of ${g.tickets} grants were past their lease-guard deadline` });
    });
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sample(), this.c.sampleIntervalMs ?? eventSampleIntervalMsDefault);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** Calls `listener` with every later event; returns the function that stops it. */
  subscribe(listener: FormationEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(input: FormationEventInput): void {
    this.seq += 1;
    const e: FormationEvent = { seq: this.seq, timeUnixMs: this.c.wallClockMs(), member: this.c.self, ...input };
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.c.onListenerError?.(err);
      }
    }
  }

  /**
   * A member that caught up by a snapshot (a late start, a lost store) applied no entry for what the
   * snapshot holds: each ticket whose holder differs from the one this member knew is told as the
   * entries would have told it — a grant (or, with no holder, a revoke) at the snapshot's index, with
   * reason `snapshot`. Without it, the hooks of a member caught up at start missed the first grant.
   */
  private holdersFromSnapshot(index: number): void {
    for (const t of this.c.pump.core.tickets()) {
      const previous = this.holders.get(t.def.name) ?? null;
      if (previous === t.holder) continue;
      this.holders.set(t.def.name, t.holder);
      this.emit({ event: t.holder === null ? 'revoke' : 'grant', ticket: t.def.name, site: t.holder, previous, generation: t.generation, index, reason: 'snapshot' });
    }
  }

  private onCore(e: CoreEvent): void {
    switch (e.type) {
      case 'role':
        if (e.leader !== this.leader) {
          this.leader = e.leader;
          this.emit({ event: 'leader-change', leader: e.leader, term: e.term });
        }
        return;
      case 'member-state': {
        const event = e.state === 'alive' ? 'member-alive' : e.state === 'suspect' ? 'member-suspect' : 'member-dead';
        this.emit({ event, peer: e.member, reason: `was ${e.previous}, by ${e.origin}` });
        return;
      }
      case 'lease-lost':
        this.emit({ event: 'lease-lost', ticket: e.ticket, site: this.c.self, reason: e.reason });
        return;
      case 'sink-speed':
        this.emit({ event: 'sink-speed', site: this.c.self, reason: `${e.speed}: slowest recent CIB write ${Math.round(e.slowestWriteMs)} ms` });
        return;
      case 'snapshot-transfer':
        if (e.stage === 'installed') this.holdersFromSnapshot(e.index);
        return;
      case 'applied': {
        if (!e.ok) return;
        const d = e.data;
        if (d.type === 'grant-batch') {
          // One event per ticket the batch granted, as one grant entry each would give.
          const skipped = new Set(e.skipped ?? []);
          const failover = d.cause.by === 'auto' && d.cause.reason === 'failover';
          const reason = d.cause.by === 'auto' ? `auto ${d.cause.reason}` : 'admin';
          for (const g of d.grants) {
            if (skipped.has(g.ticket)) continue;
            const previous = this.holders.get(g.ticket) ?? null;
            this.holders.set(g.ticket, g.site);
            this.emit({ event: failover ? 'failover' : 'grant', ticket: g.ticket, site: g.site, previous, generation: g.expectedGeneration + 1, index: e.index, reason });
          }
        } else if (d.type === 'grant') {
          const previous = this.holders.get(d.ticket) ?? null;
          this.holders.set(d.ticket, d.site);
          const failover = d.cause.by === 'auto' && d.cause.reason === 'failover';
          const reason = d.cause.by === 'auto' ? `auto ${d.cause.reason}` : `admin${d.cause.force ? ' (forced)' : ''}`;
          this.emit({ event: failover ? 'failover' : 'grant', ticket: d.ticket, site: d.site, previous, generation: d.expectedGeneration + 1, index: e.index, reason });
        } else if (d.type === 'revoke') {
          const previous = this.holders.get(d.ticket) ?? null;
          this.holders.set(d.ticket, null);
          this.emit({ event: 'revoke', ticket: d.ticket, site: null, previous, generation: d.expectedGeneration + 1, index: e.index, reason: d.cause.by === 'auto' ? `auto ${d.cause.reason}` : 'admin' });
        } else if (d.type === 'standby') {
          this.emit({ event: d.standby ? 'standby' : 'activate', ticket: d.ticket, site: this.holders.get(d.ticket) ?? null, index: e.index });
        } else if (d.type === 'ticket-add') {
          this.holders.set(d.def.name, null);
        } else if (d.type === 'ticket-remove') {
          this.holders.delete(d.ticket);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Routes and the guardian have no events of their own: compare with the last sample. */
  sample(): void {
    for (const p of this.c.pump.core.peers()?.peers ?? []) {
      const now = routeText(p.route);
      const before = this.routes.get(p.id);
      this.routes.set(p.id, now);
      if (before !== undefined && before !== now) this.emit({ event: 'route-change', peer: p.id, route: now, reason: `was ${before}` });
    }
    const g = this.c.guardian?.() ?? null;
    if (g === null) return;
    const key = decisionKey(g);
    if (key !== this.guardianDecision) {
      this.guardianDecision = key;
      if (g.decision?.kind === 'plan') this.emit({ event: 'quorum-plan', peer: g.decision.replace ?? '', site: g.decision.with, reason: g.decision.message });
    }
    const p = g.lastPromotion;
    if (p !== null && p.finishedAtUnixMs !== this.guardianPromotion) {
      this.guardianPromotion = p.finishedAtUnixMs;
      this.emit({ event: 'quorum-promotion', peer: p.replace, site: p.with, reason: p.ok ? 'done' : `failed: ${p.reason ?? ''}` });
    }
  }
}

function decisionKey(g: GuardianSample): string {
  const d = g.decision;
  return d === null ? '' : `${d.kind}\0${d.replace ?? ''}\0${d.with ?? ''}\0${d.sinceUnixMs}`;
}

/** One line for people: time, event, then key=value pairs. */
export function formatFormationEvent(e: FormationEvent): string {
  const parts = [new Date(e.timeUnixMs).toISOString(), e.member, e.event];
  const fields: Array<[string, string | number | null | undefined]> = [
    ['ticket', e.ticket],
    ['site', e.site],
    ['previous', e.previous],
    ['generation', e.generation],
    ['index', e.index],
    ['peer', e.peer],
    ['leader', e.leader],
    ['term', e.term],
    ['route', e.route],
    ['reason', e.reason],
  ];
  for (const [k, v] of fields) {
    if (v === undefined) continue;
    const text = v === null ? 'none' : String(v);
    parts.push(`${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`);
  }
  return parts.join(' ');
}
