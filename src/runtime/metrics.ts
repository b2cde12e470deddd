// The Prometheus metrics of a member (issue 13), through prom-client but for
// the ticket series (src/runtime/ticket-metrics.ts, sized for many tickets): names
// with the `tollbooth_` prefix, base units (seconds), `_total` counters,
// state as one 0/1 series per state, and who holds a ticket or leads the
// registry as a label of an info-style gauge (value 1), so a query can read
// the holder and an alert can compare it across members. Everything is read
// at scrape time from the running member (the pump's core, the transport's
// link counters, this module's own counters fed by the event stream), so a
// scrape costs nothing between scrapes and never blocks the pump: the core's
// accessors are synchronous reads of its state.
//
// Counts kept elsewhere (the transport's frames, the pump's drops) are
// cumulative since the process started; they are exposed as counters that
// are reset and set to the source's value at each scrape.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PeerState, Transport } from '../ports/ports.js';
import { formatProtocolVersion, protocolVersion } from '../wire/protocol-version.js';
import type { MemberReadings } from './member-readings.js';
import { ticketMetricsText } from './ticket-metrics.js';

/** Counters kept by the composition root's probes (a site's health probes, its alert hooks). */
export interface SiteCounters {
  handlerFailures: number;
  runnabilityFailures: number;
}

/** What the alert handler's queue counts (src/runtime/alert-hooks.ts AlertQueue.counts). */
export interface AlertHandlerCounts {
  /** Finished runs, one per event and program, by result: ok, exit, signal, timeout, spawn, not-found, unsafe. */
  readonly runs: Readonly<Record<string, number>>;
  /** Events dropped (the oldest) because the queue was full. */
  readonly dropped: number;
  /** Events waiting, the running one not included. */
  readonly queued: number;
  /** Duration of the last finished run, ms; null before the first. */
  readonly lastDurationMs: number | null;
}

export interface MetricsComponents extends MemberReadings {
  /** Sites only. */
  readonly siteCounters?: SiteCounters;
  /** With an alert handler configured. */
  readonly alertHandler?: () => AlertHandlerCounts;
}

const roles = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;
const peerStates = ['alive', 'suspect', 'dead'] as const;
const linkStates: readonly PeerState[] = ['connected', 'connecting', 'disconnected', 'incompatible'];

/**
 * Buckets of tollbooth_cib_write_duration_seconds: from a quick crm_ticket call (tens of ms) to the
 * seconds seen under CPU starvation, around the revoke leads of the presets (1 s loopback, 5 s lan).
 */
const cibWriteBucketsSeconds = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10];

/** A member's /metrics: the exposition and its content type. */
export interface MemberMetrics {
  readonly contentType: string;
  /** The whole exposition, read from the member now. */
  text(): Promise<string>;
}

/**
 * Every tollbooth metric and Node's default ones: the ticket series from src/runtime/ticket-metrics.ts
 * (per ticket only what an alert needs beyond ticketDetailSeriesMax tickets), the rest through prom-client.
 */
export function memberMetrics(c: MetricsComponents): MemberMetrics {
  const lastChange = new Map<string, number>();
  const registry = memberRegistry(c, lastChange);
  return {
    contentType: registry.contentType,
    text: async () => `${await registry.metrics()}\n${ticketMetricsText({ kind: c.kind, tickets: c.tickets, lastChange })}`,
  };
}

/** The prom-client registry of every metric but the ticket series; keeps `lastChange` (each ticket's) from the events. */
function memberRegistry(c: MetricsComponents, lastChange: Map<string, number>): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges `_total`, which `promtool check metrics` rejects; each is the sum
  // of the per-type gauge without the suffix (nodejs_active_handles{type}), so nothing is lost.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const core = c.pump.core;
  const registers = [registry];
  const eventCounts = new Counter({ name: 'tollbooth_events_total', help: 'Events this member reported (tollbooth watch, alert hooks), by event.', labelNames: ['event'], registers });
  let leaderChanges = 0;
  let leaseGuardRevokes = 0;
  const cibWrites = new Map<string, number>();
  c.events.subscribe((e) => {
    eventCounts.inc({ event: e.event });
    if (e.event === 'leader-change') leaderChanges += 1;
    if (e.event === 'lease-guard-revoke') leaseGuardRevokes += 1;
    if (e.ticket !== undefined && (e.event === 'grant' || e.event === 'failover' || e.event === 'revoke' || e.event === 'standby' || e.event === 'activate')) lastChange.set(e.ticket, e.timeUnixMs / 1000);
  });
  // What docs/protocol.md §4 assumes (a CIB write within half the revoke lead) measured where it happens:
  // the guard's deadlines are only as good as the time a revoke takes to land.
  const writeSeconds = c.kind === 'site'
    ? new Histogram({
        name: 'tollbooth_cib_write_duration_seconds',
        help: 'How long a ticket sink write took, by kind (grant, revoke, guard: a lease guard record update), successful or not.',
        labelNames: ['kind'],
        buckets: cibWriteBucketsSeconds,
        registers,
      })
    : null;
  c.pump.on('effect', (e, outcome) => {
    const kind = e.granted ? 'grant' : 'revoke';
    const key = `${kind}\0${outcome.ok ? 'ok' : 'failed'}`;
    cibWrites.set(key, (cibWrites.get(key) ?? 0) + 1);
    if (outcome.ms > 0) writeSeconds?.observe({ kind }, outcome.ms / 1000);
  });
  c.pump.on('guard', (g) => {
    const key = `guard\0${g.ok ? 'ok' : 'failed'}`;
    cibWrites.set(key, (cibWrites.get(key) ?? 0) + 1);
    writeSeconds?.observe({ kind: 'guard' }, g.ms / 1000);
  });

  new Gauge({
    name: 'tollbooth_member_info',
    help: 'This member: its id, kind (site or arbitrator), formation, tollbooth version and protocol version (major.minor). Always 1.',
    labelNames: ['member', 'kind', 'formation', 'version', 'protocol'],
    registers,
    collect() {
      this.set({ member: c.self, kind: c.kind, formation: c.formation, version: c.version, protocol: c.transport.protocol ?? formatProtocolVersion(protocolVersion) }, 1);
    },
  });

  // ── registry ──
  new Gauge({
    name: 'tollbooth_registry_role',
    help: 'This member\'s Raft role: 1 for the current one.',
    labelNames: ['role'],
    registers,
    collect() {
      const role = core.status().role;
      for (const r of roles) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  new Gauge({ name: 'tollbooth_registry_term', help: 'The current Raft term.', registers, collect() { this.set(core.status().term); } });
  new Gauge({ name: 'tollbooth_registry_commit_index', help: 'The highest registry log index known committed here.', registers, collect() { this.set(core.status().commit); } });
  new Gauge({
    name: 'tollbooth_registry_leader_info',
    help: 'The registry leader this member follows, as the leader label (empty when none known). Always 1.',
    labelNames: ['leader'],
    registers,
    collect() {
      this.reset();
      this.set({ leader: core.status().leader ?? '' }, 1);
    },
  });
  new Counter({ name: 'tollbooth_registry_leader_changes_total', help: 'Times the leader this member follows changed.', registers, collect() { this.reset(); this.inc(leaderChanges); } });
  new Gauge({
    name: 'tollbooth_registry_leader_last_heard_seconds',
    help: 'Seconds since this member last received a frame from the leader (0 at the leader); absent when no leader is known or it was never heard.',
    registers,
    collect() {
      this.reset();
      const st = core.status();
      if (st.leader === null) return;
      if (st.leader === st.id) {
        this.set(0);
        return;
      }
      const link = c.transport.peers().find((p) => p.id === st.leader);
      if (link?.lastRecvAt !== null && link?.lastRecvAt !== undefined) this.set(Math.max(0, c.clock.now() - link.lastRecvAt) / 1000);
    },
  });

  // ── peers ──
  new Gauge({
    name: 'tollbooth_peer_state',
    help: 'Gossip\'s view of each other member: 1 for its current state (alive, suspect, dead).',
    labelNames: ['peer', 'state'],
    registers,
    collect() {
      this.reset();
      for (const p of core.peers()?.peers ?? []) for (const s of peerStates) this.set({ peer: p.id, state: s }, s === p.state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tollbooth_peer_link_state',
    help: 'The transport link to each other member: 1 for its current state (connected, connecting, disconnected, incompatible: connected but refused at the handshake, another protocol version or none).',
    labelNames: ['peer', 'state', 'protocol'],
    registers,
    collect() {
      this.reset();
      // protocol: the version the peer announced on this link ('' before its hello), so an upgrade's mix shows per member.
      for (const link of c.transport.peers()) for (const s of linkStates) this.set({ peer: link.id, state: s, protocol: link.protocol ?? '' }, s === link.state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tollbooth_peer_rtt_seconds',
    help: 'Smoothed round trip of direct probes to each member (gossip; the transport\'s ping without gossip).',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      const gossip = new Map((core.peers()?.peers ?? []).map((p) => [p.id as string, p.rttMs]));
      for (const link of c.transport.peers()) {
        const rtt = gossip.get(link.id) ?? link.rttMs;
        if (rtt !== null) this.set({ peer: link.id }, rtt / 1000);
      }
    },
  });
  new Gauge({
    name: 'tollbooth_peer_route_info',
    help: 'How this member reaches each other member: route direct, via (through the member in the via label) or none. Always 1.',
    labelNames: ['peer', 'route', 'via'],
    registers,
    collect() {
      this.reset();
      for (const p of core.peers()?.peers ?? []) {
        const r = p.route;
        this.set({ peer: p.id, route: r === null ? 'none' : 'via' in r ? 'via' : 'direct', via: r !== null && 'via' in r ? r.via : '' }, 1);
      }
    },
  });
  const linkCounter = (name: string, help: string, value: (p: ReturnType<Transport['peers']>[number]) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const p of c.transport.peers()) this.inc({ peer: p.id }, value(p));
      },
    });
  };
  linkCounter('tollbooth_peer_frames_sent_total', 'Frames sent to each member.', (p) => p.sent);
  linkCounter('tollbooth_peer_frames_received_total', 'Frames received from each member.', (p) => p.received);
  new Counter({
    name: 'tollbooth_peer_frames_rejected_total',
    help: 'Frames from each member that were rejected (bad signature, replay, oversize, ...), by reason.',
    labelNames: ['peer', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const p of c.transport.peers()) for (const [reason, n] of Object.entries(p.rejected)) this.inc({ peer: p.id, reason }, n);
    },
  });
  new Counter({
    name: 'tollbooth_pump_network_dropped_total',
    help: 'Network messages dropped because the pump\'s queue was full (peers resend).',
    registers,
    collect() {
      this.reset();
      this.inc(c.pump.stats().inputsDropped);
    },
  });
  new Counter({
    name: 'tollbooth_admin_commands_refused_total',
    help: 'Admin commands answered busy because too many were waiting.',
    registers,
    collect() {
      this.reset();
      this.inc(c.pump.stats().commandsRefused);
    },
  });

  // ── site ──
  if (c.kind === 'site') {
    new Counter({
      name: 'tollbooth_cib_writes_total',
      help: 'Writes to the ticket sink (the CIB): kind grant, revoke or guard (lease-guard deadlines), result ok or failed.',
      labelNames: ['kind', 'result'],
      registers,
      collect() {
        this.reset();
        for (const kind of ['grant', 'revoke', 'guard']) for (const result of ['ok', 'failed']) this.inc({ kind, result }, cibWrites.get(`${kind}\0${result}`) ?? 0);
      },
    });
    new Counter({
      name: 'tollbooth_lease_guard_revokes_total',
      help: 'Lease-guard updates that found a grant past its deadline (the lease guard revoked it in the CIB).',
      registers,
      collect() {
        this.reset();
        this.inc(leaseGuardRevokes);
      },
    });
    const counters = c.siteCounters;
    if (counters !== undefined) {
      new Counter({ name: 'tollbooth_handler_failures_total', help: 'before-acquire handler runs that failed.', registers, collect() { this.reset(); this.inc(counters.handlerFailures); } });
      new Counter({ name: 'tollbooth_runnability_failures_total', help: 'Runnability checks (crm_simulate) that found a ticket\'s resources could not run here, or could not tell.', registers, collect() { this.reset(); this.inc(counters.runnabilityFailures); } });
    }
    new Gauge({
      name: 'tollbooth_site_quorate',
      help: 'Whether this site\'s cluster has quorum, as last reported to the registry (1 before any report).',
      registers,
      collect() {
        const own = core.siteHealth().find((h) => h.site === core.id);
        this.set(own === undefined || own.health.quorate ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tollbooth_site_unrunnable_tickets',
      help: 'Tickets this site reports it cannot run (handler failing, runnability, CIB writes failing).',
      registers,
      collect() {
        const own = core.siteHealth().find((h) => h.site === core.id);
        this.set(own?.health.unrunnable.length ?? 0);
      },
    });
  }

  // ── alert handler ──
  const hooks = c.alertHandler;
  if (hooks !== undefined) {
    new Counter({
      name: 'tollbooth_alert_handler_runs_total',
      help: 'Finished tollbooth-alert-handler runs (one per event and program), by result: ok, exit (non-zero), signal, timeout, spawn, not-found, unsafe.',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'ok' }, 0);
        for (const [result, n] of Object.entries(hooks().runs)) this.inc({ result }, n);
      },
    });
    new Counter({ name: 'tollbooth_alert_handler_events_dropped_total', help: 'Events dropped (the oldest first) because the alert handler\'s queue was full.', registers, collect() { this.reset(); this.inc(hooks().dropped); } });
    new Gauge({ name: 'tollbooth_alert_handler_queued_events', help: 'Events waiting for the alert handler (the running one not included).', registers, collect() { this.set(hooks().queued); } });
    new Gauge({
      name: 'tollbooth_alert_handler_last_duration_seconds',
      help: 'Duration of the last alert handler run; absent before the first.',
      registers,
      collect() {
        this.reset();
        const ms = hooks().lastDurationMs;
        if (ms !== null) this.set(ms / 1000);
      },
    });
  }
  return registry;
}
