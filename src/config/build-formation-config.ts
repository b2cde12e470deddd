// Turns a ConfigDocument into the FormationConfig the rest of tollbooth uses:
// applies the defaults that depend on other values (renewal-freq = expire/2,
// the revoke lead, the name from the file name), aligns weights with members,
// computes site ids and attaches member keys. It reports nothing: validate.ts
// looks at the same document and says what is wrong.
import { addressIdentity, addressIdentityOfText } from './address.js';
import type { ConfigDocument, TicketBlock } from './booth-conf.js';
import type { FormationConfig, FormationMember, TicketDefinition } from './formation-config.js';
import { timingFromBoothKeys, timingPresets, type TimingPreset } from './presets.js';
import { tollboothKeys } from './tollbooth-keys.js';
import { boothSiteIdOfBytes } from './site-id.js';

/**
 * booth's default config name: the file's base name up to its last dot
 * (`/etc/booth/booth.conf` → `booth`, `geo.v2.conf` → `geo.v2`).
 */
export function defaultFormationName(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot < 0 ? base : base.slice(0, dot);
}

/** booth's renewal-freq default: half the lease (integer ms, as booth divides). */
export function effectiveRenewalFreqMs(block: Pick<TicketBlock, 'expireMs' | 'renewalFreqMs'>): number {
  return block.renewalFreqMs ?? Math.floor(block.expireMs / 2);
}

/**
 * The revoke lead of a ticket that sets none: the preset's, capped at half
 * the slack between renewal and lease end so that a holder still has time to
 * retry a failed renewal before it must let go.
 */
export function defaultRevokeLeadMs(expireMs: number, renewalFreqMs: number, preset: TimingPreset): number {
  return Math.max(0, Math.min(preset.revokeLeadMs, Math.floor((expireMs - renewalFreqMs) / 2)));
}

export function buildFormationConfig(document: ConfigDocument): FormationConfig {
  // A `tollbooth-preset` line chooses a preset; without one the timers follow booth's own keys.
  const timing = document.valueLines[tollboothKeys.preset] === undefined ? timingFromBoothKeys(document.tickets.map((t) => t.timeoutMs)) : timingPresets[document.presetName];
  const keysByIdentity = new Map<string, Uint8Array>();
  for (const entry of document.memberKeys) {
    const identity = addressIdentityOfText(entry.address);
    // The first key for an address wins; validate.ts reports the others.
    if (!keysByIdentity.has(identity)) keysByIdentity.set(identity, entry.publicKey);
  }
  const members: FormationMember[] = document.members.map((member, index) => ({
    index,
    kind: member.kind,
    address: member.address,
    port: document.port,
    siteId: member.parsed.family === 'hostname' ? null : boothSiteIdOfBytes(member.parsed.bytes),
    publicKey: keysByIdentity.get(addressIdentity(member.parsed)) ?? null,
  }));
  const tickets = document.tickets.map((block) => buildTicket(block, members.length, timing));
  return {
    name: document.name ?? defaultFormationName(document.fileName),
    port: document.port,
    transport: document.transport,
    members,
    tickets,
    timing,
    clockDriftPpmMax: document.clockDriftPpmMax,
    adminKeys: document.adminKeys.map((entry) => entry.publicKey),
    adminGroup: document.adminGroup,
    authFile: document.authFile,
    maxTimeSkewMs: document.maxTimeSkewMs,
    siteUser: document.siteUser,
    siteGroup: document.siteGroup,
    arbitratorUser: document.arbitratorUser,
    arbitratorGroup: document.arbitratorGroup,
    debugLevel: document.debugLevel,
    alertHandler: document.alertHandler,
    alertTimeoutMs: document.alertTimeoutMs,
    historyRecordsMax: document.historyRecordsMax,
  };
}

function buildTicket(block: TicketBlock, memberCount: number, timing: TimingPreset): TicketDefinition {
  const renewalFreqMs = effectiveRenewalFreqMs(block);
  return {
    name: block.name,
    mode: block.mode,
    expireMs: block.expireMs,
    acquireAfterMs: block.acquireAfterMs,
    renewalFreqMs,
    timeoutMs: block.timeoutMs,
    retries: block.retries,
    // booth zero-fills weights past the ones given.
    weights: Array.from({ length: memberCount }, (_, index) => block.weights[index] ?? 0),
    beforeAcquireHandler: block.beforeAcquireHandler,
    attrPrereqs: block.attrPrereqs,
    revokeLeadMs: block.revokeLeadMs ?? defaultRevokeLeadMs(block.expireMs, renewalFreqMs, timing),
  };
}
