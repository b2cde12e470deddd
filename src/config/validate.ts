// Checks of ranges and of relations between fields (in the spirit of etcd's
// Config.validate), reported all at once, each at the line that set the value
// concerned. The syntax of each value was checked while parsing
// (booth-conf.ts); this file decides whether the values make a formation that
// can run safely.
//
// Relations and why they matter:
//   - timeout × (retries + 1) < renewal-freq: a renewal round must be able
//     to finish its resends before the next one starts; booth refuses a
//     config without it, so we do too.
//   - renewal-freq < expire: otherwise the lease runs out before the first
//     renewal and the ticket flaps.
//   - revoke-lead < expire − renewal-freq: the holder must still be inside
//     its lease when it gives up, and have time to retry a failed renewal
//     first (DESIGN.md §2).
//   - expire − revoke-lead ≥ 2 × renewIntervalMs and
//     > 2 × electionTimeoutMs + renewIntervalMs of the preset: two renewal
//     attempts and a registry leader change fit in every lease (the core
//     asserts the same, presets.ts leaseTimingProblems). Without a
//     tollbooth-preset line the timers derive from booth's `timeout`
//     (presets.ts timingFromBoothKeys), which makes this hold for every file
//     booth accepts; it is checked all the same, with the preset's own
//     relations (timingPresetProblems).
//   - clock drift bound ≤ 100000 ppm: beyond it (1+ρ)/(1−ρ) is meaningless.
//   - every member has exactly one key, no key is shared, no address or site
//     id appears twice: identities must be unambiguous (DESIGN.md §7).
//   - a renewal naming every ticket fits in one frame (renewalFrameBytesMax ≤
//     messageBytesMaxDefault): a site holding them all could not renew otherwise.
import { addressIdentity, addressIdentityOfText } from './address.js';
import { messageBytesMaxDefault } from '../wire/envelope.js';
import { renewalFrameBytesMax } from '../wire/message-schema.js';
import { formationNameBytesMax, type ConfigDocument, type TicketBlock, type TicketKey } from './booth-conf.js';
import type { FormationConfig, TicketDefinition } from './formation-config.js';
import { configProblem, type ConfigProblem, type ConfigProblemSeverity } from './problems.js';
import { boothDerivedTimingName, leaseTimingProblems, timingLabel, timingPresetProblems } from './presets.js';
import { clockDriftPpmMaxLimit, tollboothKeys } from './tollbooth-keys.js';

/** booth's range for `retries`. */
export const retriesMin = 3;
export const retriesMax = 100;

/**
 * Names that reach the CIB (ticket ids, the formation's booth-cfg-name):
 * ticket_state ids are XML IDs, so no "/" and no leading digit or "-".
 */
export const cibNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const cibNameCharsMax = 128;

/** Highest TCP/UDP port number. */
const portMax = 65_535;

/**
 * Every problem of a parsed config that the parser could not see line by
 * line. `config` must be buildFormationConfig(document).
 */
export function validateFormation(document: ConfigDocument, config: FormationConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const report = (line: number, severity: ConfigProblemSeverity, message: string, key?: string): void => {
    problems.push(configProblem(document.fileName, line, severity, message, key));
  };
  checkGlobals(document, config, report);
  checkDerivedTiming(document, config, report);
  // The formation name is written into the CIB as booth's `booth-cfg-name` attribute.
  if (!cibNamePattern.test(config.name) || config.name.length > cibNameCharsMax) {
    const where = document.name === null ? `the file name gives the formation name "${config.name}"` : `name: "${config.name}"`;
    report(0, 'error', `${where}: it is written to the CIB as booth-cfg-name and must match ${cibNamePattern.source} (at most ${cibNameCharsMax} characters); set "name = …"`, 'name');
  }
  checkMembers(document, config, report);
  checkMemberKeys(document, report);
  checkAdminKeys(document, report);
  if (document.tickets.length === 0) {
    report(0, 'warning', 'no "ticket" lines: the formation manages no tickets');
  }
  document.tickets.forEach((block, index) => {
    const ticket = config.tickets[index];
    if (ticket !== undefined) checkTicket(block, ticket, document, config, report);
  });
  // A site renews all its tickets in one frame: with every ticket held at one site, it must still fit.
  const renewalBytes = renewalFrameBytesMax(config.tickets.map((t) => t.name));
  if (renewalBytes > messageBytesMaxDefault) {
    report(
      document.tickets[0]?.line ?? 0,
      'error',
      `${config.tickets.length} tickets make a renewal of up to ${renewalBytes} bytes when one site holds them all, over the ${messageBytesMaxDefault}-byte frame limit: use fewer tickets or shorter names`,
      'ticket',
    );
  }
  return problems;
}

type Report = (line: number, severity: ConfigProblemSeverity, message: string, key?: string) => void;

function checkGlobals(document: ConfigDocument, config: FormationConfig, report: Report): void {
  const nameLine = document.valueLines.name ?? 0;
  const nameSource = document.name === null ? ` (taken from the file name "${document.fileName}"; set "name" to choose one)` : '';
  if (config.name === '') {
    report(nameLine, 'error', `the formation name is empty${nameSource}`, 'name');
  } else if (Buffer.byteLength(config.name, 'utf8') > formationNameBytesMax) {
    report(nameLine, 'error', `the formation name "${config.name}" is longer than ${formationNameBytesMax} bytes${nameSource}`, 'name');
  }
  if (!Number.isInteger(config.port) || config.port < 1 || config.port > portMax) {
    report(document.valueLines.port ?? 0, 'error', `port: ${config.port} is not a port number (1–${portMax})`, 'port');
  }
  if (config.maxTimeSkewMs < 0) {
    report(document.valueLines.maxtimeskew ?? 0, 'error', 'maxtimeskew: must not be negative', 'maxtimeskew');
  }
  if (config.clockDriftPpmMax > clockDriftPpmMaxLimit) {
    report(
      document.valueLines[tollboothKeys.clockDriftPpmMax] ?? 0,
      'error',
      `${tollboothKeys.clockDriftPpmMax}: ${config.clockDriftPpmMax} ppm is above ${clockDriftPpmMaxLimit} ppm; a clock that far off is broken, not drifting`,
      tollboothKeys.clockDriftPpmMax,
    );
  }
}

/**
 * Without a `tollbooth-preset` line the timers follow booth's `timeout`
 * (presets.ts timingFromBoothKeys). Its relations hold for every file booth
 * accepts, but they are checked here all the same, at the line of the ticket
 * whose timeout set them.
 */
function checkDerivedTiming(document: ConfigDocument, config: FormationConfig, report: Report): void {
  if (config.timing.name !== boothDerivedTimingName) return;
  const problems = timingPresetProblems(config.timing);
  if (problems.length === 0) return;
  const setter = document.tickets.reduce<TicketBlock | null>((best, t) => (best === null || t.timeoutMs < best.timeoutMs ? t : best), null);
  const line = setter === null ? 0 : (setter.valueLines.timeout ?? setter.line);
  for (const problem of problems) {
    report(line, 'error', `the ${timingLabel(config.timing)}: ${problem}; change timeout or add a ${tollboothKeys.preset} line`, 'timeout');
  }
}

function checkMembers(document: ConfigDocument, config: FormationConfig, report: Report): void {
  const members = document.members;
  if (members.length === 0) {
    report(0, 'error', 'no "site" or "arbitrator" lines: a formation needs members');
    return;
  }
  if (!members.some((member) => member.kind === 'site')) {
    report(members[0]?.line ?? 0, 'error', 'no "site" line: only sites can hold tickets', 'site');
  }
  const byIdentity = new Map<string, number>();
  const bySiteId = new Map<number, { address: string; line: number }>();
  for (const [index, member] of members.entries()) {
    const identity = addressIdentity(member.parsed);
    const earlierLine = byIdentity.get(identity);
    if (earlierLine !== undefined) {
      report(member.line, 'error', `${member.kind}: ${member.address} is already a member (line ${earlierLine})`, member.kind);
      continue;
    }
    byIdentity.set(identity, member.line);
    const siteId = config.members[index]?.siteId ?? null;
    if (siteId === null) continue;
    const clash = bySiteId.get(siteId);
    if (clash !== undefined) {
      report(
        member.line,
        'error',
        `${member.kind}: ${member.address} has the same booth site id (${siteId}) as ${clash.address} on line ${clash.line}; booth refuses to start with such a collision`,
        member.kind,
      );
    } else {
      bySiteId.set(siteId, { address: member.address, line: member.line });
    }
  }
  const lastMember = members[members.length - 1];
  if (members.length % 2 === 0 && lastMember !== undefined) {
    report(
      lastMember.line,
      'warning',
      `${members.length} members: an odd number is strongly recommended, since a split into two equal halves leaves neither with a majority`,
      lastMember.kind,
    );
  }
}

function checkMemberKeys(document: ConfigDocument, report: Report): void {
  const key = tollboothKeys.memberKey;
  const memberIdentities = new Map(document.members.map((member) => [addressIdentity(member.parsed), member]));
  const keyLineByIdentity = new Map<string, number>();
  const ownerByKey = new Map<string, { address: string; line: number }>();
  for (const entry of document.memberKeys) {
    const identity = addressIdentityOfText(entry.address);
    if (!memberIdentities.has(identity)) {
      report(entry.line, 'error', `${key}: ${entry.address} is not the address of any "site" or "arbitrator" line`, key);
      continue;
    }
    const earlier = keyLineByIdentity.get(identity);
    if (earlier !== undefined) {
      report(entry.line, 'error', `${key}: ${entry.address} already has a key (line ${earlier})`, key);
      continue;
    }
    keyLineByIdentity.set(identity, entry.line);
    const keyText = Buffer.from(entry.publicKey).toString('base64');
    const owner = ownerByKey.get(keyText);
    if (owner !== undefined) {
      report(
        entry.line,
        'error',
        `${key}: ${entry.address} has the same public key as ${owner.address} (line ${owner.line}); every member needs its own key`,
        key,
      );
    } else {
      ownerByKey.set(keyText, { address: entry.address, line: entry.line });
    }
  }
  for (const member of document.members) {
    if (!keyLineByIdentity.has(addressIdentity(member.parsed))) {
      report(
        member.line,
        'error',
        `${member.kind} ${member.address} has no public key: add "${key} = ${member.address} <base64 Ed25519 public key>"`,
        member.kind,
      );
    }
  }
}

function checkAdminKeys(document: ConfigDocument, report: Report): void {
  const key = tollboothKeys.adminKey;
  const memberKeyLines = new Map(document.memberKeys.map((entry) => [Buffer.from(entry.publicKey).toString('base64'), entry]));
  const seen = new Map<string, number>();
  for (const entry of document.adminKeys) {
    const keyText = Buffer.from(entry.publicKey).toString('base64');
    const earlier = seen.get(keyText);
    if (earlier !== undefined) {
      report(entry.line, 'warning', `${key}: the same key is already listed on line ${earlier}`, key);
      continue;
    }
    seen.set(keyText, entry.line);
    const member = memberKeyLines.get(keyText);
    if (member !== undefined) {
      report(
        entry.line,
        'warning',
        `${key}: this is the member key of ${member.address} (line ${member.line}); give admins their own keys so that a member's key cannot issue admin commands`,
        key,
      );
    }
  }
}

/** The line to blame for a relation: the latest of the values involved, at least the ticket's own line. */
function relationLine(block: TicketBlock, keys: readonly TicketKey[]): number {
  return Math.max(block.line, ...keys.map((key) => block.valueLines[key] ?? 0));
}

function checkTicket(
  block: TicketBlock,
  ticket: TicketDefinition,
  document: ConfigDocument,
  config: FormationConfig,
  report: Report,
): void {
  const name = `ticket "${ticket.name}"`;
  const lineOf = (key: TicketKey): number => block.valueLines[key] ?? block.line;
  let rangesOk = true;
  const requireRange = (ok: boolean, key: TicketKey, message: string): void => {
    if (ok) return;
    rangesOk = false;
    report(lineOf(key), 'error', `${name}: ${message}`, key);
  };
  requireRange(ticket.expireMs > 0, 'expire', `expire must be greater than 0 (got ${ticket.expireMs} ms)`);
  requireRange(ticket.timeoutMs > 0, 'timeout', `timeout must be greater than 0 (got ${ticket.timeoutMs} ms)`);
  // Derived values (renewal-freq = expire/2, the default revoke lead) follow from
  // others; only values written in the file are range-checked, so that one
  // mistake is reported once.
  requireRange(
    block.renewalFreqMs === null || block.renewalFreqMs > 0,
    'renewal-freq',
    `renewal-freq must be greater than 0 (got ${ticket.renewalFreqMs} ms)`,
  );
  requireRange(ticket.acquireAfterMs >= 0, 'acquire-after', `acquire-after must not be negative (got ${ticket.acquireAfterMs} ms)`);
  requireRange(
    block.revokeLeadMs === null || block.revokeLeadMs > 0,
    tollboothKeys.revokeLead,
    `${tollboothKeys.revokeLead} must be greater than 0 (got ${ticket.revokeLeadMs} ms)`,
  );
  requireRange(
    ticket.retries >= retriesMin && ticket.retries <= retriesMax,
    'retries',
    `retries must be within ${retriesMin}–${retriesMax}, as in booth (got ${ticket.retries})`,
  );
  checkWeights(block, ticket, document, name, report);
  if (!rangesOk) return;

  const resendBudgetMs = ticket.timeoutMs * (ticket.retries + 1);
  if (resendBudgetMs >= ticket.renewalFreqMs) {
    report(
      relationLine(block, ['timeout', 'retries', 'renewal-freq', 'expire']),
      'error',
      `${name}: timeout × (retries + 1) = ${ticket.timeoutMs} ms × ${ticket.retries + 1} = ${resendBudgetMs} ms must be less than renewal-freq (${ticket.renewalFreqMs} ms); booth refuses this too`,
      'renewal-freq',
    );
  }
  if (ticket.renewalFreqMs >= ticket.expireMs) {
    report(
      relationLine(block, ['renewal-freq', 'expire']),
      'error',
      `${name}: renewal-freq (${ticket.renewalFreqMs} ms) must be less than expire (${ticket.expireMs} ms), or the lease runs out before it is renewed`,
      'renewal-freq',
    );
    return;
  }
  const windowMs = ticket.expireMs - ticket.renewalFreqMs;
  if (ticket.revokeLeadMs >= windowMs) {
    report(
      relationLine(block, [tollboothKeys.revokeLead, 'renewal-freq', 'expire']),
      'error',
      `${name}: ${tollboothKeys.revokeLead} (${ticket.revokeLeadMs} ms) must be less than expire − renewal-freq (${windowMs} ms), or the holder revokes before it could renew`,
      tollboothKeys.revokeLead,
    );
    return;
  }
  for (const problem of leaseTimingProblems(ticket.expireMs, ticket.revokeLeadMs, config.timing)) {
    report(
      relationLine(block, ['expire', tollboothKeys.revokeLead]),
      'error',
      `${name}: ${problem}; use a longer expire, a shorter ${tollboothKeys.revokeLead}, or ${config.timing.name === boothDerivedTimingName ? `a shorter timeout (or a ${tollboothKeys.preset} line)` : `a faster ${tollboothKeys.preset}`}`,
      'expire',
    );
  }
}

function checkWeights(block: TicketBlock, ticket: TicketDefinition, document: ConfigDocument, name: string, report: Report): void {
  const line = block.valueLines.weights;
  if (line === undefined) return;
  const members = document.members;
  if (block.weights.length > members.length) {
    report(line, 'warning', `${name}: ${block.weights.length} weights for ${members.length} members; the extra ones are ignored`, 'weights');
  }
  for (const [index, member] of members.entries()) {
    const weight = ticket.weights[index] ?? 0;
    if (member.kind === 'arbitrator' && weight !== 0) {
      report(
        line,
        'warning',
        `${name}: weight ${weight} is given to arbitrator ${member.address} (member ${index + 1}); arbitrators never hold tickets, so it is ignored`,
        'weights',
      );
    }
  }
}
