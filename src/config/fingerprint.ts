// A fingerprint of the formation config, so that members can tell whether
// they run the same config (booth asks for an identical file on every member
// but never checks it). It hashes the *parsed* config, so comments, blank
// lines, quoting, spacing, `600` vs `600000ms` and values inherited from
// `__defaults__` versus written out do not change it, while anything that
// changes behaviour does. Order of members and of tickets is significant, as
// in booth (a member's index selects its weight; the first ticket is the
// default of the CLI).
//
// The canonical form lists every field explicitly, in a fixed order, as JSON.
// A new FormationConfig field is therefore not hashed until it is added here:
// a deliberate step, with a version bump if old and new members would
// disagree. `debugLevel` is left out on purpose: it only changes local
// logging, and raising it on one member must not look like a config split.
// `alertHandler` and `alertTimeoutMs` (`tollbooth-alert-handler`,
// `tollbooth-alert-timeout`) are left out for the same reason: a hook is
// local behaviour — it tells people about events and decides nothing — so a
// member with a new or no hook must not be taken for a member with another
// config (which its peers would refuse to run beside). `historyRecordsMax`
// (`tollbooth-history-records`) likewise: the history informs people and
// decides nothing, and a file written before the key existed must keep its
// fingerprint (rolling upgrades compare them).
import { createHash } from 'node:crypto';
import type { FormationConfig } from './formation-config.js';

/** Bump when the canonical form changes, so old and new fingerprints never collide. */
export const configFingerprintVersion = 1;

function base64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('base64');
}

/** The canonical JSON text that the fingerprint hashes; useful to diff two members' configs. */
export function canonicalConfigText(config: FormationConfig): string {
  const timing = config.timing;
  const canonical = {
    version: configFingerprintVersion,
    name: config.name,
    port: config.port,
    transport: config.transport,
    members: config.members.map((member) => ({
      index: member.index,
      kind: member.kind,
      address: member.address,
      port: member.port,
      siteId: member.siteId,
      publicKey: base64(member.publicKey),
    })),
    tickets: config.tickets.map((ticket) => ({
      name: ticket.name,
      mode: ticket.mode,
      expireMs: ticket.expireMs,
      acquireAfterMs: ticket.acquireAfterMs,
      renewalFreqMs: ticket.renewalFreqMs,
      timeoutMs: ticket.timeoutMs,
      retries: ticket.retries,
      weights: [...ticket.weights],
      beforeAcquireHandler:
        ticket.beforeAcquireHandler === null
          ? null
          : { program: ticket.beforeAcquireHandler.program, args: [...ticket.beforeAcquireHandler.args] },
      attrPrereqs: ticket.attrPrereqs.map((prereq) => ({
        grantType: prereq.grantType,
        name: prereq.name,
        op: prereq.op,
        value: prereq.value,
      })),
      revokeLeadMs: ticket.revokeLeadMs,
    })),
    timing: {
      name: timing.name,
      heartbeatIntervalMs: timing.heartbeatIntervalMs,
      electionTimeoutMs: timing.electionTimeoutMs,
      renewIntervalMs: timing.renewIntervalMs,
      renewRetryMs: timing.renewRetryMs,
      effectRetryMs: timing.effectRetryMs,
      siteAliveWindowMs: timing.siteAliveWindowMs,
      // The gossip fields a preset sets, flat as they were in version 1 (the
      // others are the same for every preset, named by timing.name).
      probeIntervalMs: timing.gossip.probeIntervalMs,
      probeTimeoutMs: timing.gossip.probeTimeoutMs,
      indirectProbeCount: timing.gossip.indirectProbeCount,
      suspicionMultiplier: timing.gossip.suspicionMultiplier,
      gossipIntervalMs: timing.gossip.gossipIntervalMs,
      gossipFanout: timing.gossip.gossipFanout,
      dialTimeoutMs: timing.dialTimeoutMs,
      leaseDurationMs: timing.leaseDurationMs,
      revokeLeadMs: timing.revokeLeadMs,
    },
    clockDriftPpmMax: config.clockDriftPpmMax,
    adminKeys: config.adminKeys.map((key) => base64(key)),
    adminGroup: config.adminGroup,
    authFile: config.authFile,
    maxTimeSkewMs: config.maxTimeSkewMs,
    siteUser: config.siteUser,
    siteGroup: config.siteGroup,
    arbitratorUser: config.arbitratorUser,
    arbitratorGroup: config.arbitratorGroup,
  };
  return JSON.stringify(canonical);
}

/** sha256 (lower-case hex) of the canonical config text. */
export function configFingerprint(config: FormationConfig): string {
  return createHash('sha256').update(canonicalConfigText(config), 'utf8').digest('hex');
}
