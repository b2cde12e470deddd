// Composition of the quorum guardian (DESIGN.md §5) in the site agent: its
// site-local settings (--quorum-guardian FILE, src/guardian/guardian-settings.ts)
// and the real adapters — observeCluster over corosync/Pacemaker's tools, a
// MembershipTracker, promotionNodelist over the local corosync.conf, and the
// node helpers reached with NodeHelperClient, whose requests are signed with
// this site agent's member key (the helpers list its public key).

import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { Logger } from 'pino';
import { corosyncConfBytesMax, promotionNodelist } from '../src/adapters/corosync/corosync-conf.js';
import { MembershipTracker, observeCluster } from '../src/adapters/corosync/corosync-observe.js';
import { NodeHelperClient, quorumHelpersOver } from '../src/adapters/corosync/node-helper.js';
import { loadQuorumGuardianFile, type QuorumGuardianSettings } from '../src/guardian/guardian-settings.js';
import { formatConfigProblem, hasConfigErrors } from '../src/config/problems.js';
import { readRegularTextFile } from '../src/config/regular-file.js';
import { QuorumGuardianLoop } from '../src/guardian/guardian-loop.js';
import { privateKeyFromSeed } from '../src/wire/signer.js';

/** Reads the guardian file; returns the settings or the problems (each `file:line: severity: reason`). */
export function readGuardianSettings(path: string): { settings: QuorumGuardianSettings; warnings: string[] } | { errors: string } {
  let loaded;
  try {
    loaded = loadQuorumGuardianFile(path);
  } catch (err) {
    return { errors: (err as Error).message };
  }
  if (hasConfigErrors(loaded.problems)) return { errors: `${path} has errors:\n${loaded.problems.map(formatConfigProblem).join('\n')}` };
  return { settings: loaded.settings, warnings: loaded.problems.map(formatConfigProblem) };
}

/** The guardian loop over the real cluster tools and node helpers. `site` is the default helper site label (the agent's address). */
export function quorumGuardianLoop(settings: QuorumGuardianSettings, seed: Uint8Array, site: string, log: Logger): QuorumGuardianLoop {
  const client = new NodeHelperClient({
    site: settings.helperSite ?? site,
    privateKey: privateKeyFromSeed(seed),
    endpoints: settings.helpers.map((h) => ({ node: h.node, host: h.host, port: h.port })),
    timeoutMs: settings.helperTimeoutMs,
  });
  return new QuorumGuardianLoop({
    settings,
    observe: ({ signal }) => observeCluster({ ...(signal === undefined ? {} : { signal }) }),
    tracker: new MembershipTracker(),
    readText: (path) => readRegularTextFile(path, corosyncConfBytesMax),
    nodelistOf: promotionNodelist,
    helpers: quorumHelpersOver(client),
    nowMs: () => performance.now(),
    wallClockMs: () => Date.now(),
    sleep: (ms, o) => sleepTimer(ms, undefined, o?.signal === undefined ? {} : { signal: o.signal }),
    log,
  });
}
