// What a ticket attribute (attr-set) may be called and hold: attributes become
// CIB ticket_state attributes, so a name the CIB cannot hold, or one that
// Pacemaker or booth own, would make every CIB write of the ticket fail at
// every site. Pure; the lease office refuses such a command (lease-office.ts).
// Also when a change of the ticket config may go into the log at all.

import type { Entry } from '../messages.js';
import type { CommandErrorCode } from '../ready.js';
import { isConfigChange } from './ticket-table.js';

/** Ticket attribute names: what a CIB ticket_state attribute can be called. */
const attrNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** Attributes that Pacemaker or booth own in the CIB: never geo attributes. */
const reservedAttrNames: ReadonlySet<string> = new Set(['id', 'granted', 'standby', 'last-granted', 'owner', 'expires', 'term', 'booth-cfg-name']);
const controlChars = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/** Why an attr-set of `key` = `value` is refused, or null when it may go into the log. */
export function attrRefusal(key: string, value: string, attrCharsMax: number): string | null {
  if (key.length === 0 || key.length > attrCharsMax || value.length > attrCharsMax) return `attribute name and value must be 1–${attrCharsMax} characters`;
  if (!attrNamePattern.test(key) || reservedAttrNames.has(key)) {
    return `"${key}" cannot be a ticket attribute: names match ${attrNamePattern.source} and are not one of ${[...reservedAttrNames].join(', ')}`;
  }
  if (controlChars.test(value)) return 'attribute values cannot hold control characters';
  return null;
}

/**
 * Config changes go one at a time (issue 11): none while another is
 * uncommitted (`uncommitted`: the leader's uncommitted entries) or a guarded
 * removal waits, and, with `expectedVersion`, only onto that committed
 * version (compare-and-set).
 */
export function configChangeRefusal(uncommitted: readonly Entry[], removalWaits: boolean, version: number, expectedVersion: number | undefined): { code: CommandErrorCode; message: string } | null {
  if (removalWaits || uncommitted.some((e) => isConfigChange(e.data))) return { code: 'change-in-progress', message: 'another config change is still in progress' };
  if (expectedVersion !== undefined && expectedVersion !== version) {
    return { code: 'config-changed', message: `the committed config is at version ${version}, not ${expectedVersion}: it changed meanwhile; look again (config show) and apply again` };
  }
  return null;
}
