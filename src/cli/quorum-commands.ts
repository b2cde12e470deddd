// The definitions of `tollbooth quorum status|plan|helper` (options, defaults,
// help), apart from what they run (quorum.ts): building the command tree for
// --help, the man page or any other command must not load the corosync
// adapters, the node helper or the guardian policy (issue 15, item 3). Each
// action imports quorum.ts when it runs.

import type { Command } from 'commander';
import { guardianDefaults, guardianNodeCountMax, targetVotersMin } from '../guardian/guardian-settings.js';
import { timestampWindowMsDefault } from '../adapters/corosync/node-helper-limits.js';
import type { HelperCliOptions, ReportCliOptions } from './quorum.js';
import { adminTimeoutMsRange, guardianDelayMsRange, helperWindowMsRange, intInRange, withRange, type IntRange } from './numeric-option.js';

/** Deadline of each cluster command (crm_mon, corosync-quorumtool...) unless told (ms). */
const clusterCommandTimeoutMsDefault = 10_000;
const targetVotersRange: IntRange = { min: targetVotersMin, max: guardianNodeCountMax, unit: '' };
const collect = (v: string, prev: string[]): string[] => [...prev, v];

function reportCommand(parent: Command, name: 'status' | 'plan', description: string): void {
  const cmd = parent
    .command(name)
    .description(description)
    .option('--json', 'print the report as JSON')
    .option('-c, --guardian <file>', 'the quorum guardian settings the site agent reads (--quorum-guardian); options below override single settings');
  if (name === 'status') {
    cmd
      .option('--socket <path>', "the site agent's admin socket (default $TOLLBOOTH_SOCKET or /run/tollbooth/booth.sock)")
      .option('--no-agent', 'do not ask the running site agent: observe once from here');
  }
  cmd
    .option('--target-voters <n>', withRange('voters the site wants (target-voters; default: the nodelist size)', targetVotersRange), intInRange(targetVotersRange))
    .option('--grace <ms>', withRange('how long a voter must be lost before it is replaced (grace)', guardianDelayMsRange), intInRange(guardianDelayMsRange), guardianDefaults.graceMs)
    .option('--promotable <names>', 'remote nodes that may be promoted, comma-separated (promotable)', collect, [])
    .option('--zone <name=zone>', 'zone of a remote node (repeatable)', collect, [])
    .option('--prefer-zone <zone>', 'preferred zone, most preferred first (repeatable; prefer-zones)', collect, [])
    .option('--no-require-fencing', 'replace lost voters that are not confirmed fenced (require-fencing = no)')
    .option('--lost-for <ms>', withRange('one-shot: treat each lost voter as lost at least this long (only the running agent knows)', guardianDelayMsRange), intInRange(guardianDelayMsRange), 0)
    .option('--remote-addr <name=addr[,addr1...]>', 'corosync link addresses of a remote node (repeatable; plan)', collect, [])
    .option('--corosync-conf <path>', 'corosync.conf to derive the new nodelist from (plan; corosync-conf)', '/etc/corosync/corosync.conf')
    .option('--timeout <ms>', withRange('deadline of each cluster command', adminTimeoutMsRange), intInRange(adminTimeoutMsRange), clusterCommandTimeoutMsDefault)
    .action(async (o: ReportCliOptions, self: Command) => {
      await (await import('./quorum.js')).runQuorumReport(name, o, self);
    });
}

/** Registers `quorum status`, `quorum plan` and `quorum helper` on the program. */
export function registerQuorumCommands(program: Command): void {
  const quorum = program.command('quorum').description('the quorum guardian: promote pacemaker_remote nodes to keep the site quorate');
  reportCommand(quorum, 'status', 'voters, remote nodes, votes and the guardian\'s decision for this cluster');
  reportCommand(quorum, 'plan', 'what the guardian would do now (steps and corosync.conf change), without doing it');
  quorum
    .command('helper')
    .description('run the node helper: the fixed promotion actions, for requests signed by the site agent key')
    .requiredOption('--site <label>', 'site label the requests must carry')
    .requiredOption('--node <name>', 'this node\'s name in corosync.conf / Pacemaker')
    .requiredOption('--listen <host:port>', 'TCP address to listen on')
    .requiredOption('--agent-key <base64>', 'Ed25519 public key of the site agent (repeatable)', collect, [])
    .option('--corosync-conf <path>', 'corosync.conf to write', '/etc/corosync/corosync.conf')
    .option('--start-command <argv>', 'start-cluster-stack command, words separated by spaces, no shell (repeatable; default systemctl stop pacemaker_remote, start corosync, start pacemaker)', collect, [])
    .option('--window <ms>', withRange('accepted clock difference for request timestamps', helperWindowMsRange), intInRange(helperWindowMsRange), timestampWindowMsDefault)
    .action(async (o: HelperCliOptions) => {
      await (await import('./quorum.js')).runQuorumHelper(o);
    });
}
