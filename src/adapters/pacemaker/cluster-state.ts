// What the site's own cluster says about itself, from `crm_mon -1
// --output-as=xml` (run through process-runner.ts: argv, timeout, bounded
// output; strict XML): whether the partition this agent runs in has quorum (a
// site without it must give its tickets up, DESIGN.md §4), and which
// resources are active where (for `tollbooth move`, which waits for a
// ticket's resources to stop).

import { readCibModel } from './runnability.js';
import { childElements, descendants, firstChild, parseXmlDocument, type XmlElement } from '../xml-cursor.js';
import { readExit } from '../exit-codes.js';
import { commandLine, describeFailedRun, runFailureCode, stderrExcerpt, systemProcessRunner, type ProcessRunner, type RunFailureCode } from '../process-runner.js';
import { TollboothError } from '../../errors.js';

export class ClusterStateError extends TollboothError<RunFailureCode | 'FAILED' | 'BAD_OUTPUT'> {
  constructor(code: RunFailureCode | 'FAILED' | 'BAD_OUTPUT', message: string) {
    super(code, `${code}: ${message}`);
  }
}

export interface ClusterState {
  /** A DC is elected and its partition has quorum. No DC (starting, or cut off) counts as no quorum. */
  readonly quorate: boolean;
  readonly dc: string | null;
  /** Every primitive resource instance that is active, with the node(s) it runs on and its role. */
  readonly active: ReadonlyArray<{ readonly id: string; readonly parents: readonly string[]; readonly role: string; readonly nodes: readonly string[] }>;
}

export interface ClusterStateOptions {
  readonly binary?: string;
  /** Variables added to this process's environment (tests: `CIB_file`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Deadline of one tool call, ms. Default clusterStateTimeoutMsDefault. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Runs crm_mon and cibadmin. Default: the real one. */
  readonly runner?: ProcessRunner;
}

/** Deadline of one crm_mon or cibadmin call, ms (a call takes ~25 ms, pacemaker.md §2.3). */
export const clusterStateTimeoutMsDefault = 10_000;
/** Largest output read from crm_mon or cibadmin -Q (a whole CIB), bytes. */
const clusterStateOutputBytesMax = 64 * 1024 * 1024;

/** Runs one tool; its stdout when it exits 0 (or when `acceptOutput` takes what it printed anyway). */
async function runTool(tool: 'crm_mon' | 'cibadmin', file: string, argv: readonly string[], o: ClusterStateOptions, acceptOutput: (stdout: string) => boolean = () => false): Promise<string> {
  const r = await (o.runner ?? systemProcessRunner).run({
    tool,
    file,
    argv,
    env: { ...process.env, ...o.env },
    timeoutMs: o.timeoutMs ?? clusterStateTimeoutMsDefault,
    outputBytesMax: clusterStateOutputBytesMax,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  if (r.kind !== 'exited') {
    throw new ClusterStateError(runFailureCode(r), r.kind === 'not-found' ? `${r.file} not found (is pacemaker-cli-utils installed?)` : describeFailedRun(r));
  }
  if (r.exitCode === 0 || acceptOutput(r.stdout)) return r.stdout;
  throw new ClusterStateError('FAILED', `${commandLine(r)} exited ${r.exitCode} (${readExit(tool, r.exitCode, r.stderr).name}): ${stderrExcerpt(r)}`);
}

export async function readClusterState(o: ClusterStateOptions = {}): Promise<ClusterState> {
  // crm_mon prints its XML (with an error status) even when it fails to connect; parse what it said.
  const stdout = await runTool('crm_mon', o.binary ?? 'crm_mon', ['-1', '--output-as=xml'], o, (out) => out.includes('<pacemaker-result'));
  return parseClusterState(stdout);
}

/**
 * The CIB's root element alone (`cibadmin -Q --xpath /cib --no-children`: a
 * few hundred bytes whatever the CIB's size). Its admin_epoch, epoch and
 * num_updates change with every write to the CIB, and it carries have-quorum
 * and dc-uuid, from which crm_mon takes the quorum and the DC: while this
 * text stays the same, neither crm_mon's quorum nor crm_simulate's answer can
 * have changed through the CIB (site-health.ts). Throws ClusterStateError
 * when the CIB cannot be read or the answer is not one <cib> element.
 */
export async function readCibVersion(o: ClusterStateOptions & { readonly cibadmin?: string } = {}): Promise<string> {
  const xml = await runTool('cibadmin', o.cibadmin ?? 'cibadmin', ['-Q', '--xpath', '/cib', '--no-children'], o);
  let root: XmlElement;
  try {
    root = parseXmlDocument(xml);
  } catch (err) {
    throw new ClusterStateError('BAD_OUTPUT', `cibadmin -Q --xpath /cib output is not XML: ${(err as Error).message}`);
  }
  if (root.name !== 'cib') throw new ClusterStateError('BAD_OUTPUT', `cibadmin -Q --xpath /cib printed <${root.name}>, not <cib>`);
  if (!['admin_epoch', 'epoch', 'num_updates'].every((a) => root.attrs.has(a))) {
    throw new ClusterStateError('BAD_OUTPUT', '<cib> lacks admin_epoch, epoch or num_updates: cannot tell a change');
  }
  return [...root.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Parses `crm_mon -1 --output-as=xml`; throws ClusterStateError BAD_OUTPUT naming what is wrong. */
export function parseClusterState(xml: string): ClusterState {
  let root: XmlElement;
  try {
    root = parseXmlDocument(xml);
  } catch (err) {
    throw new ClusterStateError('BAD_OUTPUT', `crm_mon output is not XML: ${(err as Error).message}`);
  }
  if (root.name !== 'pacemaker-result') throw new ClusterStateError('BAD_OUTPUT', `crm_mon output has root <${root.name}>, not <pacemaker-result>`);
  const status = firstChild(root, 'status');
  if (status !== null && status.attrs.get('code') !== '0') {
    throw new ClusterStateError('FAILED', `crm_mon status ${status.attrs.get('code') ?? '?'}: ${status.attrs.get('message') ?? ''}`);
  }
  const summary = firstChild(root, 'summary');
  const dcEl = summary === null ? null : firstChild(summary, 'current_dc');
  if (dcEl === null) throw new ClusterStateError('BAD_OUTPUT', 'crm_mon output has no <summary><current_dc>');
  const present = dcEl.attrs.get('present') === 'true';
  const quorate = present && dcEl.attrs.get('with_quorum') === 'true';
  const active: Array<{ id: string; parents: string[]; role: string; nodes: string[] }> = [];
  const resources = firstChild(root, 'resources');
  const walk = (el: XmlElement, parents: string[]): void => {
    for (const c of childElements(el)) {
      if (c.name === 'resource') {
        if (c.attrs.get('active') !== 'true') continue;
        const nodes = descendants(c, 'node').map((n) => n.attrs.get('name') ?? '');
        active.push({ id: c.attrs.get('id') ?? '', parents, role: c.attrs.get('role') ?? '', nodes });
      } else if (c.name === 'clone' || c.name === 'group' || c.name === 'bundle' || c.name === 'replica') {
        walk(c, c.attrs.get('id') === undefined ? parents : [...parents, c.attrs.get('id')!]);
      }
    }
  };
  if (resources !== null) walk(resources, []);
  return { quorate, dc: present ? (dcEl.attrs.get('name') ?? null) : null, active };
}

/**
 * A ticket's resources (from the rsc_ticket constraints in the live CIB, read
 * with `cibadmin -Q`) and which of them are active in this cluster now.
 */
export async function ticketResources(
  ticket: string,
  o: ClusterStateOptions & { readonly cibadmin?: string } = {},
): Promise<{ resources: string[]; active: ClusterState['active'] }> {
  const xml = await runTool('cibadmin', o.cibadmin ?? 'cibadmin', ['-Q'], o);
  let cib: XmlElement;
  try {
    cib = parseXmlDocument(xml);
  } catch (err) {
    throw new ClusterStateError('BAD_OUTPUT', `cibadmin -Q output is not XML: ${(err as Error).message}`);
  }
  const resources = [...new Set(readCibModel(cib, ticket).requirements.map((r) => r.resource))].sort();
  const wanted = new Set(resources);
  const state = await readClusterState(o);
  const active = state.active.filter((a) => wanted.has(a.id) || a.parents.some((p) => wanted.has(p)));
  return { resources, active };
}
