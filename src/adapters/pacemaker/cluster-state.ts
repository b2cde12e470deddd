// What the site's own cluster says about itself, from `crm_mon -1
// --output-as=xml` (argv through execFile, timeout, strict XML): whether the
// partition this agent runs in has quorum (a site without it must give its
// tickets up, DESIGN.md §4), and which resources are active where (for
// `tollbooth move`, which waits for a ticket's resources to stop).

import { execFile } from 'node:child_process';
import { readCibModel } from './runnability.js';
import { childElements, descendants, firstChild, parseXmlDocument, type XmlElement } from '../xml-cursor.js';

export class ClusterStateError extends Error {
  constructor(
    readonly code: 'BINARY_MISSING' | 'TIMEOUT' | 'FAILED' | 'BAD_OUTPUT',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ClusterStateError';
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
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export async function readClusterState(o: ClusterStateOptions = {}): Promise<ClusterState> {
  const binary = o.binary ?? 'crm_mon';
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      binary,
      ['-1', '--output-as=xml'],
      { env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, out, stderr) => {
        if (err === null) return resolve(out);
        const e = err as Error & { code?: unknown; killed?: boolean };
        if (e.code === 'ENOENT') return reject(new ClusterStateError('BINARY_MISSING', `${binary} not found (is pacemaker-cli-utils installed?)`));
        if (e.killed === true) return reject(new ClusterStateError('TIMEOUT', `crm_mon did not answer within ${o.timeoutMs ?? 10_000} ms`));
        // crm_mon prints its XML (with an error status) even when it fails to connect; parse what it said.
        if (out.includes('<pacemaker-result')) return resolve(out);
        reject(new ClusterStateError('FAILED', `crm_mon exited ${String(e.code)}: ${stderr.trim().slice(0, 500)}`));
      },
    );
  });
  return parseClusterState(stdout);
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
  const binary = o.cibadmin ?? 'cibadmin';
  const xml = await new Promise<string>((resolve, reject) => {
    execFile(binary, ['-Q'], { env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, out, stderr) => {
      if (err === null) return resolve(out);
      const e = err as Error & { code?: unknown; killed?: boolean };
      if (e.code === 'ENOENT') return reject(new ClusterStateError('BINARY_MISSING', `${binary} not found (is pacemaker-cli-utils installed?)`));
      if (e.killed === true) return reject(new ClusterStateError('TIMEOUT', `cibadmin -Q did not answer within ${o.timeoutMs ?? 10_000} ms`));
      reject(new ClusterStateError('FAILED', `cibadmin -Q exited ${String(e.code)}: ${stderr.trim().slice(0, 500)}`));
    });
  });
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
