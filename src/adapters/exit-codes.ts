// What the exit codes of the tools we run mean, as data: one table per tool,
// read by every adapter through readExit (process-runner.ts runs the tools).
//
// Pacemaker's tools exit with crm_exit_t (include/crm/common/results.h);
// the names and descriptions below are what `crm_error --exit -n N` prints on
// Pacemaker 2.1.5 (measured on this machine). What each code means for a
// given tool was measured too (reference/pacemaker.md §2.2, §6.4):
//   crm_ticket   rc 4 (2.1) or 107 (>= 3.0): the change needs --force;
//                rc 105: no ticket_state — unless stderr says "Could not
//                connect to the CIB" (CIB_file missing): then no CIB at all;
//                rc 102: no CIB connection; rc 78: CIB invalid; rc 64: usage.
//   cibadmin, crm_simulate, crm_mon: the same CIB codes.
//   corosync-quorumtool  0 quorate, 2 not quorate (both print the status),
//                1 with "Cannot initialize CMAP/QUORUM service": corosync is
//                not running here.
//   corosync-cmapctl     0, or 1 with "Cannot initialize CMAP service".
//   crm_node     1 with "Could not connect to controller" on a remote node.
//   systemctl    5: the unit is not loaded (not installed).
// A code a table does not name means 'failed'.

/** What an exit code says, in the words the adapters act on. */
export type ExitMeaning =
  /** Success. */
  | 'ok'
  /** corosync-quorumtool: this partition is not quorate (the status is printed all the same). */
  | 'not-quorate'
  /** crm_ticket: the change needs --force. */
  | 'needs-force'
  /** The object (ticket state, attribute, resource) does not exist. */
  | 'no-such-object'
  /** No connection to the CIB or the cluster (no cluster, CIB_file missing, not root or haclient). */
  | 'not-connected'
  /** corosync or the Pacemaker controller does not run here (or this is a remote node). */
  | 'not-running'
  /** The CIB (or the given configuration) is not valid. */
  | 'invalid-config'
  /** The tool did not understand its command line. */
  | 'usage'
  /** A service the tool needs is unavailable; worth another try. */
  | 'unavailable'
  /** A temporary failure; worth another try. */
  | 'temporary-failure'
  /** The tool's own timeout; worth another try. */
  | 'timed-out'
  /** systemctl: the unit is not loaded. */
  | 'unit-not-loaded'
  /** Anything else. */
  | 'failed';

export type ToolName =
  | 'crm_ticket'
  | 'cibadmin'
  | 'crm_simulate'
  | 'crm_mon'
  | 'crm_node'
  | 'crm_resource'
  | 'corosync-quorumtool'
  | 'corosync-cmapctl'
  | 'corosync-cfgtool'
  | 'systemctl';

/** One row of a tool's table: an exit code (and optionally what stderr says) and its meaning. */
export interface ExitRule {
  readonly exitCode: number;
  /** The row applies only when stderr matches (rows are tried in order). */
  readonly stderr?: RegExp;
  readonly meaning: ExitMeaning;
  /** Worth another attempt of the same call (the CIB manager restarting, a busy service). */
  readonly transient?: boolean;
}

/** Pacemaker's crm_exit_t: code → name (crm_error --exit -n, Pacemaker 2.1.5). */
export const pacemakerExitNames: ReadonlyMap<number, string> = new Map([
  [0, 'CRM_EX_OK'],
  [1, 'CRM_EX_ERROR'],
  [2, 'CRM_EX_INVALID_PARAM'],
  [3, 'CRM_EX_UNIMPLEMENT_FEATURE'],
  [4, 'CRM_EX_INSUFFICIENT_PRIV'],
  [5, 'CRM_EX_NOT_INSTALLED'],
  [6, 'CRM_EX_NOT_CONFIGURED'],
  [7, 'CRM_EX_NOT_RUNNING'],
  [8, 'CRM_EX_PROMOTED'],
  [9, 'CRM_EX_FAILED_PROMOTED'],
  [64, 'CRM_EX_USAGE'],
  [65, 'CRM_EX_DATAERR'],
  [66, 'CRM_EX_NOINPUT'],
  [67, 'CRM_EX_NOUSER'],
  [68, 'CRM_EX_NOHOST'],
  [69, 'CRM_EX_UNAVAILABLE'],
  [70, 'CRM_EX_SOFTWARE'],
  [71, 'CRM_EX_OSERR'],
  [72, 'CRM_EX_OSFILE'],
  [73, 'CRM_EX_CANTCREAT'],
  [74, 'CRM_EX_IOERR'],
  [75, 'CRM_EX_TEMPFAIL'],
  [76, 'CRM_EX_PROTOCOL'],
  [77, 'CRM_EX_NOPERM'],
  [78, 'CRM_EX_CONFIG'],
  [100, 'CRM_EX_FATAL'],
  [101, 'CRM_EX_PANIC'],
  [102, 'CRM_EX_DISCONNECT'],
  [103, 'CRM_EX_OLD'],
  [104, 'CRM_EX_DIGEST'],
  [105, 'CRM_EX_NOSUCH'],
  [106, 'CRM_EX_QUORUM'],
  [107, 'CRM_EX_UNSAFE'],
  [108, 'CRM_EX_EXISTS'],
  [109, 'CRM_EX_MULTIPLE'],
  [110, 'CRM_EX_EXPIRED'],
  [111, 'CRM_EX_NOT_YET_IN_EFFECT'],
  [112, 'CRM_EX_INDETERMINATE'],
  [113, 'CRM_EX_UNSATISFIED'],
  [114, 'CRM_EX_UNKNOWN'],
  [124, 'CRM_EX_TIMEOUT'],
  [190, 'CRM_EX_DEGRADED'],
  [191, 'CRM_EX_DEGRADED_PROMOTED'],
  [193, 'CRM_EX_NONE'],
]);

const cibNotConnected = /Could not connect to the CIB/;

/** The codes every Pacemaker CIB client shares (crm_ticket, cibadmin, crm_simulate, crm_mon). */
const pacemakerCibRules: readonly ExitRule[] = [
  { exitCode: 0, meaning: 'ok' },
  { exitCode: 105, stderr: cibNotConnected, meaning: 'not-connected' },
  { exitCode: 105, meaning: 'no-such-object' },
  // The CIB manager is (re)starting, or we may not talk to it: retried, then reported.
  { exitCode: 102, meaning: 'not-connected', transient: true },
  { exitCode: 78, meaning: 'invalid-config' },
  { exitCode: 64, meaning: 'usage' },
  { exitCode: 69, meaning: 'unavailable', transient: true },
  { exitCode: 75, meaning: 'temporary-failure', transient: true },
  { exitCode: 124, meaning: 'timed-out', transient: true },
];

/** corosync tools: one code for every failure; stderr says when corosync is not running. */
const corosyncNotRunning = /Cannot initialize (CMAP|QUORUM|CFG)/;

export const exitCodeTables: Readonly<Record<ToolName, readonly ExitRule[]>> = {
  crm_ticket: [{ exitCode: 4, meaning: 'needs-force' }, { exitCode: 107, meaning: 'needs-force' }, ...pacemakerCibRules],
  cibadmin: pacemakerCibRules,
  crm_simulate: pacemakerCibRules,
  crm_mon: pacemakerCibRules,
  crm_resource: pacemakerCibRules,
  crm_node: [
    { exitCode: 0, meaning: 'ok' },
    // Measured on a remote node: "Could not connect to controller: Remote I/O error", rc 1.
    { exitCode: 1, stderr: /Could not connect|Transport endpoint is not connected/, meaning: 'not-running' },
    { exitCode: 64, meaning: 'usage' },
  ],
  'corosync-quorumtool': [
    { exitCode: 0, meaning: 'ok' },
    { exitCode: 2, meaning: 'not-quorate' },
    { exitCode: 1, stderr: corosyncNotRunning, meaning: 'not-running' },
  ],
  'corosync-cmapctl': [
    { exitCode: 0, meaning: 'ok' },
    { exitCode: 1, stderr: corosyncNotRunning, meaning: 'not-running' },
  ],
  'corosync-cfgtool': [
    { exitCode: 0, meaning: 'ok' },
    { exitCode: 1, stderr: corosyncNotRunning, meaning: 'not-running' },
  ],
  systemctl: [
    { exitCode: 0, meaning: 'ok' },
    { exitCode: 5, meaning: 'unit-not-loaded' },
  ],
};

export interface ExitReading {
  readonly meaning: ExitMeaning;
  /** Pacemaker's name of the code (`CRM_EX_NOSUCH`) for Pacemaker tools, else `exit N`. */
  readonly name: string;
  readonly transient: boolean;
}

const pacemakerTools: ReadonlySet<ToolName> = new Set(['crm_ticket', 'cibadmin', 'crm_simulate', 'crm_mon', 'crm_node', 'crm_resource']);

/** What `exitCode` (with `stderr`) means from `tool`. */
export function readExit(tool: ToolName, exitCode: number, stderr = ''): ExitReading {
  const rule = exitCodeTables[tool].find((r) => r.exitCode === exitCode && (r.stderr === undefined || r.stderr.test(stderr)));
  const meaning = rule?.meaning ?? 'failed';
  const name = (pacemakerTools.has(tool) ? pacemakerExitNames.get(exitCode) : undefined) ?? `exit ${exitCode}`;
  return { meaning, name, transient: rule?.transient === true };
}

/** Whether `name` is a tool with a table here. */
export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(exitCodeTables, name);
}
