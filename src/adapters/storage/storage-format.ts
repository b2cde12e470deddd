// The on-disk format of the registry store, shared by LevelStorage and its
// in-memory twin: both keep the same string records and go through the
// functions below, so that they cannot differ in what they accept and read.
//
// Format version 1. Keys are UTF-8 strings; values are UTF-8 JSON.
//
//   key                          value
//   meta/format-version          1
//   raft/hard-state              HardState  {"term":…,"votedFor":…,"commit":…[,"incarnation":…]}
//   raft/snapshot                Snapshot   (absent until the first compaction or install)
//   raft/log/<index>             Entry, <index> in 16 zero-padded decimal digits
//
// 16 digits hold Number.MAX_SAFE_INTEGER, and zero-padding makes the byte
// order of the keys the numeric order of the indexes (LevelDB sorts keys
// bytewise). Decimal rather than binary keeps the key readable in error
// messages and in a `ldb scan` dump.
//
// Invariants of a non-empty store, enforced on every write (encodeBatch,
// planPersist) and checked on every read (decodeStore):
//   - the format version and the hard state are present, and every record is
//     JSON of the expected kind;
//   - the log entries are exactly snapshot.index+1 … last, without holes
//     (snapshot.index is 0 when there is no snapshot), each stored under its
//     own index.
// On write only (a read cannot tell): the snapshot never goes backwards.
// A batch that would break them is refused whole (StorageBatchError), so a
// store that fails to load was damaged from outside, never by this code.

import type { Entry, EntryData, Snapshot } from '../../core/messages.js';
import type { HardState, PersistBatch, PersistedState } from '../../core/ready.js';
import { index, term } from '../../core/types.js';
import { StorageBatchError, StorageCorruptError, StorageVersionError } from './storage-errors.js';

export const storageFormatVersion = 1;
export const storageFormatVersionsSupported: readonly number[] = [storageFormatVersion];

export const storageKeys = {
  formatVersion: 'meta/format-version',
  hardState: 'raft/hard-state',
  snapshot: 'raft/snapshot',
  logPrefix: 'raft/log/',
} as const;

const logIndexDigits = 16;
const logKeyPattern = /^raft\/log\/(\d{16})$/;

/** What an empty store reports once anything was written without a hard state (a member's first batch may carry only entries). */
export const initialHardState: HardState = { term: term(0), votedFor: null, commit: index(0) };

export function logKey(i: number): string {
  if (!Number.isSafeInteger(i) || i < 1) throw new RangeError(`log index must be a positive safe integer, got ${i}`);
  return storageKeys.logPrefix + String(i).padStart(logIndexDigits, '0');
}

/** Where the log stands: entries are exactly snapshotIndex+1 … lastIndex (none when equal). */
export interface StoreShape {
  readonly snapshotIndex: number;
  readonly lastIndex: number;
}

export type StoreOp = { readonly type: 'put'; readonly key: string; readonly value: string } | { readonly type: 'del'; readonly key: string };

// ───────────────────────────── writing ─────────────────────────────

/** A batch checked and turned into JSON text: what the caller does with its objects afterwards no longer matters. */
export interface EncodedBatch {
  readonly hardState: string | null;
  readonly snapshot: { readonly index: number; readonly text: string } | null;
  readonly truncateFrom: number | null;
  readonly entries: ReadonlyArray<{ readonly index: number; readonly text: string }>;
}

/**
 * Checks each part of a batch on its own (well-formed values, entries
 * contiguous among themselves) and encodes it. Throws StorageBatchError.
 */
export function encodeBatch(location: string, batch: PersistBatch): EncodedBatch {
  // Explicitly typed so that tsc knows a call never returns (narrowing after it).
  const refuse: (reason: string, cause?: unknown) => never = (reason, cause) => {
    throw new StorageBatchError(location, reason, cause);
  };
  const encode = (what: string, problem: string | null, value: unknown): string => {
    if (problem !== null) refuse(`${what}: ${problem}`);
    try {
      return JSON.stringify(value);
    } catch (err) {
      return refuse(`${what} cannot be encoded as JSON: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  };
  const hardState = batch.hardState === null ? null : encode('hard state', checkHardState(batch.hardState), batch.hardState);
  const snapshot =
    batch.snapshot === null
      ? null
      : { index: batch.snapshot.index, text: encode('snapshot', checkSnapshot(batch.snapshot), batch.snapshot) };
  if (batch.truncateFrom !== null && !isPositiveSafe(batch.truncateFrom)) {
    refuse(`truncateFrom must be a positive safe integer, got ${show(batch.truncateFrom)}`);
  }
  const entries = batch.entries.map((e, k) => {
    const text = encode(`entry #${k} of the batch`, checkEntry(e), e);
    const prev = batch.entries[k - 1];
    if (prev !== undefined && e.index !== prev.index + 1) {
      refuse(`the batch's entries are not contiguous: ${e.index} follows ${prev.index}`);
    }
    return { index: e.index, text };
  });
  return { hardState, snapshot, truncateFrom: batch.truncateFrom, entries };
}

/**
 * Turns one encoded batch into the record operations that carry it out, in
 * the order of ready.ts (hard state; snapshot, dropping the entries it covers;
 * entries ≥ truncateFrom dropped; entries written), and gives the shape after
 * it. `shape` is null for an empty store: the first batch also writes the
 * format version, and the initial hard state if the batch has none. Throws
 * StorageBatchError for a batch that would break the store's invariants.
 */
export function planPersist(location: string, shape: StoreShape | null, batch: EncodedBatch): { ops: StoreOp[]; shape: StoreShape } {
  const refuse: (reason: string) => never = (reason) => {
    throw new StorageBatchError(location, reason);
  };
  const ops: StoreOp[] = [];
  if (shape === null) {
    ops.push({ type: 'put', key: storageKeys.formatVersion, value: JSON.stringify(storageFormatVersion) });
    if (batch.hardState === null) ops.push({ type: 'put', key: storageKeys.hardState, value: JSON.stringify(initialHardState) });
  }
  let snapshotIndex = shape?.snapshotIndex ?? 0;
  let lastIndex = shape?.lastIndex ?? 0;
  const deleteEntries = (from: number, to: number): void => {
    for (let i = from; i <= to; i++) ops.push({ type: 'del', key: logKey(i) });
  };

  if (batch.hardState !== null) ops.push({ type: 'put', key: storageKeys.hardState, value: batch.hardState });
  if (batch.snapshot !== null) {
    const s = batch.snapshot.index;
    if (s < snapshotIndex) refuse(`snapshot at index ${s} is older than the stored one at ${snapshotIndex}`);
    deleteEntries(snapshotIndex + 1, Math.min(lastIndex, s));
    ops.push({ type: 'put', key: storageKeys.snapshot, value: batch.snapshot.text });
    snapshotIndex = s;
    lastIndex = Math.max(lastIndex, s);
  }
  if (batch.truncateFrom !== null) {
    deleteEntries(Math.max(batch.truncateFrom, snapshotIndex + 1), lastIndex);
    lastIndex = Math.max(snapshotIndex, Math.min(lastIndex, batch.truncateFrom - 1));
  }
  const first = batch.entries[0];
  const last = batch.entries[batch.entries.length - 1];
  if (first !== undefined && last !== undefined) {
    if (first.index <= snapshotIndex) refuse(`entry ${first.index} is at or below the snapshot at index ${snapshotIndex}`);
    if (first.index > lastIndex + 1) refuse(`entry ${first.index} would leave a hole after the last stored entry ${lastIndex}`);
    for (const e of batch.entries) ops.push({ type: 'put', key: logKey(e.index), value: e.text });
    lastIndex = Math.max(lastIndex, last.index);
  }
  return { ops, shape: { snapshotIndex, lastIndex } };
}

// ───────────────────────────── reading ─────────────────────────────

export interface DecodedStore {
  /** null for an empty store. */
  readonly state: PersistedState | null;
  /** null for an empty store. */
  readonly shape: StoreShape | null;
}

/**
 * Reads every record of a store (in any order) back into the state it holds,
 * checking the format version, each value and the invariants above. Throws
 * StorageVersionError or StorageCorruptError naming the offending key; never
 * skips a record it does not understand.
 */
export function decodeStore(location: string, records: Iterable<readonly [string, string]>): DecodedStore {
  const corrupt: (key: string, reason: string, cause?: unknown) => never = (key, reason, cause) => {
    throw new StorageCorruptError(location, key, reason, cause);
  };
  let versionText: string | undefined;
  let hardStateText: string | undefined;
  let snapshotText: string | undefined;
  const log: Array<{ key: string; index: number; text: string }> = [];
  const unknownKeys: string[] = [];
  let count = 0;
  for (const [key, text] of records) {
    count += 1;
    if (key === storageKeys.formatVersion) versionText = text;
    else if (key === storageKeys.hardState) hardStateText = text;
    else if (key === storageKeys.snapshot) snapshotText = text;
    else {
      const m = logKeyPattern.exec(key);
      const i = m?.[1] === undefined ? NaN : Number(m[1]);
      if (isPositiveSafe(i)) log.push({ key, index: i, text });
      else unknownKeys.push(key);
    }
  }
  if (count === 0) return { state: null, shape: null };

  // The version first: a newer format may well have keys this one does not know.
  if (versionText === undefined) corrupt(storageKeys.formatVersion, 'missing, although the store holds other records');
  const version = parseJson(storageKeys.formatVersion, versionText, corrupt);
  if (!isSafeNat(version)) corrupt(storageKeys.formatVersion, `not a format version number: ${truncateText(versionText)}`);
  if (!storageFormatVersionsSupported.includes(version)) {
    throw new StorageVersionError(location, storageKeys.formatVersion, version, storageFormatVersionsSupported);
  }
  const stray = unknownKeys.sort()[0];
  if (stray !== undefined) corrupt(stray, `unexpected key in a version ${storageFormatVersion} store`);

  if (hardStateText === undefined) corrupt(storageKeys.hardState, 'missing, although the store holds other records');
  const hardState = parseJson(storageKeys.hardState, hardStateText, corrupt);
  checkOrCorrupt(corrupt, storageKeys.hardState, checkHardState(hardState));

  let snapshot: Snapshot | null = null;
  if (snapshotText !== undefined) {
    const value = parseJson(storageKeys.snapshot, snapshotText, corrupt);
    checkOrCorrupt(corrupt, storageKeys.snapshot, checkSnapshot(value));
    snapshot = value as Snapshot;
  }

  const snapshotIndex = snapshot?.index ?? 0;
  const entries: Entry[] = [];
  log.sort((a, b) => a.index - b.index);
  for (const { key, index: i, text } of log) {
    const expected = snapshotIndex + entries.length + 1;
    if (i < expected) corrupt(key, `entry ${i} is at or below the snapshot at index ${snapshotIndex}`);
    if (i > expected) {
      const what = entries.length === 0 ? `the log must start right after the snapshot at index ${snapshotIndex}` : `it follows entry ${expected - 1}`;
      corrupt(key, `entries ${expected}…${i - 1} are missing (${what})`);
    }
    const value = parseJson(key, text, corrupt);
    checkOrCorrupt(corrupt, key, checkEntry(value));
    const e = value as Entry;
    if (e.index !== i) corrupt(key, `holds entry ${e.index}, not entry ${i}`);
    entries.push(e);
  }
  return {
    state: { hardState: hardState as HardState, snapshot, entries },
    shape: { snapshotIndex, lastIndex: snapshotIndex + entries.length },
  };
}

function parseJson(key: string, text: string, corrupt: (key: string, reason: string, cause?: unknown) => never): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    return corrupt(key, `not valid JSON (${err instanceof Error ? err.message : String(err)}): ${truncateText(text)}`, err);
  }
}

function checkOrCorrupt(corrupt: (key: string, reason: string) => never, key: string, problem: string | null): void {
  if (problem !== null) corrupt(key, problem);
}

function truncateText(text: string): string {
  const shownCharsMax = 80;
  return text.length <= shownCharsMax ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, shownCharsMax))}… (${text.length} chars)`;
}

// ───────────────────────────── value checks ─────────────────────────────
// Structural only: enough to know the record is the kind of value this format
// stores there. The core owns the meaning of the fields.

function isSafeNat(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function isPositiveSafe(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 1;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as it appears in an error message, cut short (a record may be a whole snapshot). */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const shownCharsMax = 80;
  let text: string;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') text = String(v);
  else if (typeof v === 'string' || typeof v === 'object') {
    try {
      text = JSON.stringify(v);
    } catch {
      text = 'a value that is not JSON'; // a BigInt or a cycle inside: the message must still be built
    }
  } else text = typeof v;
  return text.length <= shownCharsMax ? text : `${text.slice(0, shownCharsMax)}…`;
}

/** Every EntryData type; the Record type makes tsc require exactly the union's members. */
const entryDataTypes: Readonly<Record<EntryData['type'], true>> = {
  noop: true,
  config: true,
  grant: true,
  'grant-batch': true,
  revoke: true,
  standby: true,
  'attr-set': true,
  'attr-delete': true,
  'ticket-add': true,
  'ticket-remove': true,
  'ticket-change': true,
};

export function checkHardState(v: unknown): string | null {
  if (!isRecord(v)) return `expected a hard state object, got ${show(v)}`;
  if (!isSafeNat(v.term)) return `term must be a non-negative safe integer, got ${show(v.term)}`;
  if (!(v.votedFor === null || typeof v.votedFor === 'string')) return `votedFor must be a member id or null, got ${show(v.votedFor)}`;
  if (!isSafeNat(v.commit)) return `commit must be a non-negative safe integer, got ${show(v.commit)}`;
  // docs/protocol.md §10: the store's incarnation, absent in stores written before incarnations (then 0).
  if (v.incarnation !== undefined && !isSafeNat(v.incarnation)) return `incarnation must be a non-negative safe integer, got ${show(v.incarnation)}`;
  return null;
}

export function checkSnapshot(v: unknown): string | null {
  if (!isRecord(v)) return `expected a snapshot object, got ${show(v)}`;
  if (!isSafeNat(v.index)) return `index must be a non-negative safe integer, got ${show(v.index)}`;
  if (!isSafeNat(v.term)) return `term must be a non-negative safe integer, got ${show(v.term)}`;
  if (!Array.isArray(v.members)) return 'members must be an array';
  for (const m of v.members as unknown[]) {
    if (!isRecord(m) || typeof m.id !== 'string' || (m.kind !== 'site' && m.kind !== 'arbitrator')) {
      return `members must be {id, kind: site|arbitrator} objects, got ${show(m)}`;
    }
  }
  if (!isRecord(v.table) || !Array.isArray(v.table.tickets) || !Array.isArray(v.table.history)) {
    return 'table must be an object with tickets and history arrays';
  }
  return checkCommittedConfig(v.table);
}

/** The formation timings a table records (CoreTiming): every field a positive safe integer, the drift bound a natural. */
const timingFields = ['heartbeatIntervalMs', 'electionTimeoutMs', 'renewIntervalMs', 'renewRetryMs', 'effectRetryMs', 'siteAliveWindowMs'] as const;

/** The committed config's parts of a table (issue 11): optional, as stores written before them lack them, but well-formed when present. */
function checkCommittedConfig(table: Record<string, unknown>): string | null {
  if (table.configVersion !== undefined && !isSafeNat(table.configVersion)) return `table.configVersion must be a non-negative safe integer, got ${show(table.configVersion)}`;
  if (table.timing !== undefined) {
    const t = table.timing;
    if (!isRecord(t)) return `table.timing must be an object, got ${show(t)}`;
    for (const f of timingFields) if (!isPositiveSafe(t[f])) return `table.timing.${f} must be a positive safe integer, got ${show(t[f])}`;
    if (!isSafeNat(t.clockDriftPpmMax)) return `table.timing.clockDriftPpmMax must be a non-negative safe integer, got ${show(t.clockDriftPpmMax)}`;
  }
  for (const [i, ticket] of (table.tickets as unknown[]).entries()) {
    if (!isRecord(ticket) || !isRecord(ticket.def)) return `table.tickets[${i}] must be an object with a def`;
    const problem = checkTicketDef(ticket.def);
    if (problem !== null) return `table.tickets[${i}].def: ${problem}`;
    const honoured = ticket.leaseDurationHonouredMs;
    if (honoured !== undefined && (!isPositiveSafe(honoured) || honoured <= (ticket.def.leaseDurationMs as number))) {
      return `table.tickets[${i}].leaseDurationHonouredMs must be a safe integer above def.leaseDurationMs, got ${show(honoured)}`;
    }
  }
  return null;
}

/** A ticket definition's shape (core/types.ts TicketDef); the core checks it against the formation when it applies it. */
function checkTicketDef(d: Record<string, unknown>): string | null {
  if (typeof d.name !== 'string' || d.name.length === 0) return `name must be a non-empty string, got ${show(d.name)}`;
  if (d.mode !== 'automatic' && d.mode !== 'manual') return `mode must be automatic or manual, got ${show(d.mode)}`;
  for (const f of ['leaseDurationMs', 'acquireAfterMs', 'revokeLeadMs'] as const) if (!isSafeNat(d[f])) return `${f} must be a non-negative safe integer, got ${show(d[f])}`;
  if (!isRecord(d.weights) || !Object.values(d.weights).every((w) => typeof w === 'number' && Number.isFinite(w))) return `weights must map members to finite numbers, got ${show(d.weights)}`;
  return null;
}

export function checkEntry(v: unknown): string | null {
  if (!isRecord(v)) return `expected an entry object, got ${show(v)}`;
  if (!isPositiveSafe(v.index)) return `index must be a positive safe integer, got ${show(v.index)}`;
  if (!isSafeNat(v.term)) return `term must be a non-negative safe integer, got ${show(v.term)}`;
  if (!isRecord(v.data) || typeof v.data.type !== 'string' || !Object.hasOwn(entryDataTypes, v.data.type)) {
    return `data must be an object with a known type, got ${show(isRecord(v.data) ? v.data.type : v.data)}`;
  }
  if (v.data.type === 'ticket-add' || v.data.type === 'ticket-change') {
    if (!isRecord(v.data.def)) return `data.def of a ${v.data.type} must be a ticket definition, got ${show(v.data.def)}`;
    const problem = checkTicketDef(v.data.def);
    if (problem !== null) return `data.def of a ${v.data.type}: ${problem}`;
  }
  return null;
}
