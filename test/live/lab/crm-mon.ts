// Parser for `crm_mon -1 --output-as=xml` (Pacemaker 2.1.5, api-version
// 2.25): the parts the live tests look at — DC and quorum, nodes, where each
// resource runs and in which role, tickets. crm_mon's XML is machine-made and
// regular (attributes in double quotes, no CDATA), so a tag scanner with an
// element stack is enough and keeps the lab free of an XML dependency.
import { LabError } from './run.js';

export interface CrmMonNode {
  readonly name: string;
  readonly id: string;
  readonly online: boolean;
  readonly standby: boolean;
  readonly unclean: boolean;
  readonly isDc: boolean;
  /** 'member' (corosync node) or 'remote' (pacemaker_remote). */
  readonly type: string;
}

export interface CrmMonResource {
  readonly id: string;
  /** e.g. 'ocf:pacemaker:Dummy'. */
  readonly agent: string;
  /** 'Started', 'Stopped', 'Promoted', 'Unpromoted', 'Starting', … */
  readonly role: string;
  readonly active: boolean;
  readonly failed: boolean;
  readonly managed: boolean;
  /** Nodes it is active on (empty when stopped). */
  readonly nodes: readonly string[];
  /** Enclosing group, clone or bundle id, if any. */
  readonly parent: string | null;
}

export interface CrmMonTicket {
  readonly id: string;
  readonly granted: boolean;
  readonly standby: boolean;
  /** As crm_mon prints it (a date), when the ticket was ever granted. */
  readonly lastGranted: string | null;
}

export interface CrmMonState {
  /** Name of the DC, or null when none is elected. */
  readonly dc: string | null;
  /** The DC's partition has quorum (false when there is no DC). */
  readonly quorate: boolean;
  readonly nodes: readonly CrmMonNode[];
  /** One entry per resource instance (a clone gives one per instance, all with the same id). */
  readonly resources: readonly CrmMonResource[];
  readonly tickets: readonly CrmMonTicket[];
  /** The XML as read. */
  readonly xml: string;
}

/** Where `id` runs: the nodes of every active instance, each with its role. */
export function placements(state: CrmMonState, id: string): { node: string; role: string }[] {
  return state.resources
    .filter((r) => r.id === id && r.active)
    .flatMap((r) => r.nodes.map((node) => ({ node, role: r.role })));
}

/** Names of the online nodes ('member' and 'remote'). */
export function onlineNodes(state: CrmMonState): string[] {
  return state.nodes.filter((n) => n.online).map((n) => n.name);
}

export function ticket(state: CrmMonState, id: string): CrmMonTicket | undefined {
  return state.tickets.find((t) => t.id === id);
}

const tagRe = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>/g;
const attrRe = /([\w:.-]+)\s*=\s*"([^"]*)"/g;
const containerTags: ReadonlySet<string> = new Set(['group', 'clone', 'bundle']);

function decode(s: string): string {
  return s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

function attrsOf(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of text.matchAll(attrRe)) m.set(a[1] ?? '', decode(a[2] ?? ''));
  return m;
}

interface OpenResource {
  attrs: Map<string, string>;
  nodes: string[];
  parent: string | null;
}

export function parseCrmMon(xml: string): CrmMonState {
  if (!xml.includes('<pacemaker-result')) throw new LabError('COMMAND_FAILED', `not crm_mon XML: ${xml.slice(0, 200)}`);
  const stack: { tag: string; id: string | null }[] = [];
  const nodes: CrmMonNode[] = [];
  const resources: CrmMonResource[] = [];
  const tickets: CrmMonTicket[] = [];
  let dc: string | null = null;
  let quorate = false;
  let open: OpenResource | null = null;

  const closeResource = (): void => {
    if (open === null) return;
    const a = open.attrs;
    resources.push({
      id: a.get('id') ?? '',
      agent: a.get('resource_agent') ?? '',
      role: a.get('role') ?? '',
      active: a.get('active') === 'true',
      failed: a.get('failed') === 'true',
      managed: a.get('managed') !== 'false',
      nodes: open.nodes,
      parent: open.parent,
    });
    open = null;
  };

  for (const m of xml.matchAll(tagRe)) {
    const closing = m[1] === '/';
    const tag = m[2] ?? '';
    const selfClosing = m[4] === '/';
    if (closing) {
      const top = stack.pop();
      if (top?.tag !== tag) throw new LabError('COMMAND_FAILED', `crm_mon XML: </${tag}> does not close <${top?.tag ?? ''}>`);
      if (tag === 'resource') closeResource();
      continue;
    }
    const attrs = attrsOf(m[3] ?? '');
    const parentTag = stack[stack.length - 1]?.tag;
    const section = stack[1]?.tag; // child of <pacemaker-result>
    if (tag === 'current_dc' && parentTag === 'summary') {
      if (attrs.get('present') === 'true') {
        dc = attrs.get('name') ?? null;
        quorate = attrs.get('with_quorum') === 'true';
      }
    } else if (tag === 'node' && parentTag === 'nodes' && section === 'nodes') {
      nodes.push({
        name: attrs.get('name') ?? '',
        id: attrs.get('id') ?? '',
        online: attrs.get('online') === 'true',
        standby: attrs.get('standby') === 'true',
        unclean: attrs.get('unclean') === 'true',
        isDc: attrs.get('is_dc') === 'true',
        type: attrs.get('type') ?? '',
      });
    } else if (tag === 'resource' && section === 'resources') {
      closeResource();
      const container = [...stack].reverse().find((s) => containerTags.has(s.tag));
      open = { attrs, nodes: [], parent: container?.id ?? null };
      if (selfClosing) closeResource();
    } else if (tag === 'node' && parentTag === 'resource' && open !== null) {
      open.nodes.push(attrs.get('name') ?? '');
    } else if (tag === 'ticket' && parentTag === 'tickets') {
      tickets.push({
        id: attrs.get('id') ?? '',
        granted: attrs.get('status') === 'granted',
        standby: attrs.get('standby') === 'true',
        lastGranted: attrs.get('last-granted') ?? null,
      });
    }
    if (!selfClosing) stack.push({ tag, id: attrs.get('id') ?? null });
  }
  if (stack.length !== 0) throw new LabError('COMMAND_FAILED', `crm_mon XML: <${stack[stack.length - 1]?.tag ?? ''}> not closed`);
  return { dc, quorate, nodes, resources, tickets, xml };
}
