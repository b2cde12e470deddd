// Snapshots sent in chunks (Raft dissertation §5.3's InstallSnapshot with
// offsets, as etcd-raft and hashicorp/raft do it). One frame can no longer
// carry a whole ticket table: 20 000 tickets were 4.27 MiB, past what the
// transport buffers for one stream (issue 12, item 2). So:
//
//  - The leader encodes the snapshot once (the host's SnapshotCodec: an ASCII
//    text, so a chunk of n characters is n bytes on the wire) and sends it in
//    chunks of at most `snapshotChunkBytesMax`, one chunk in flight per
//    follower. Each chunk names its snapshot (last index, last term, total
//    length, digest) and its offset.
//  - The follower keeps one partial snapshot, keyed by (last index, last term,
//    length, digest), appends a chunk only at the offset it has reached, and
//    answers every chunk with the offset it holds: the leader resumes there.
//    Loss, duplication and reordering cost a resend at most; a chunk at
//    another offset changes nothing. The partial survives a leader change: a
//    new leader that sends the same snapshot (same key) resumes it; any other
//    snapshot replaces it.
//  - The follower installs only when it holds every byte, the digest matches
//    and the text decodes to a snapshot at the announced index and term.
//  - A transfer pins the encoded snapshot it started with, so a compaction at
//    the leader mid-transfer does not restart it (under a steady stream of
//    proposals it would never finish).
// Timeouts ride on the leader's heartbeats: each heartbeat to a follower in
// a transfer is an empty chunk (a probe) that keeps the leader lease's
// acknowledgements coming and reports the follower's offset. The pending
// chunk goes again when the follower answers a probe sent after it (the
// answer echoes the probe's `sentAt`) still without it — the chunk was lost,
// as a link keeps the order of what it delivers — or when it has gone
// unanswered for an election timeout. Resending it at every heartbeat piled
// copies into a slow follower's stream buffer (4 MiB) until the stream was
// aborted; a slow follower answers a later probe only after it took the
// chunk, so the answered probe never adds a copy behind a pending one. Waiting
// out the election timeout for each lost chunk instead cost seconds per
// chunk under loss: at 20 % loss a follower one entry behind a compaction
// held 256 of 2,084 bytes 6 s into the transfer (256-byte chunks), had not
// learnt a grant of its own when its lease ran out in the leader's view, and
// the ticket failed over (simulator seed 395 --loss 0.2). Partial snapshots live in memory only; a restarted follower starts
// over.
//
// Pure and synchronous, like the registry: bytes and digests are the host's
// business (the codec), the bookkeeping is here.

import type { Snapshot } from '../messages.js';
import type { CoreEvent } from '../ready.js';
import type { Index, MemberId, Term } from '../types.js';

/** Encoding of a snapshot for transfer, supplied by the host (src/wire/snapshot-codec.ts). */
export interface SnapshotCodec {
  /** The snapshot as ASCII text: one character is one byte in a frame. Equal snapshots encode equally. */
  encode(s: Snapshot): string;
  /** The snapshot a text encodes, checked as any message from the network is; never throws. */
  decode(text: string): { readonly ok: true; readonly snapshot: Snapshot } | { readonly ok: false; readonly reason: string };
  /** A digest of the text (collision-resistant: it names the snapshot together with index and term). */
  digest(text: string): string;
}

/** What names one snapshot in a transfer. */
export interface SnapshotKey {
  readonly index: Index;
  readonly lastTerm: Term;
  readonly totalBytes: number;
  readonly digest: string;
}

export function sameSnapshot(a: SnapshotKey, b: SnapshotKey): boolean {
  return a.index === b.index && a.lastTerm === b.lastTerm && a.totalBytes === b.totalBytes && a.digest === b.digest;
}

/** A snapshot encoded for sending: its key and its text. */
export interface EncodedSnapshot extends SnapshotKey {
  readonly text: string;
}

export function encodeSnapshot(codec: SnapshotCodec, s: Snapshot): EncodedSnapshot {
  const text = codec.encode(s);
  return { index: s.index, lastTerm: s.term, totalBytes: text.length, digest: codec.digest(text), text };
}

/** The leader's side of one follower's transfer (kept in its Progress). */
export interface SnapshotSend {
  readonly snapshot: EncodedSnapshot;
  /** Bytes the follower last said it holds: the next chunk starts here. */
  acked: number;
  /** When the chunk at `acked` was last sent (leader clock): a heartbeat an election timeout later sends it again. */
  dataSentAt: number;
  /** The heartbeat time (`sentAt`) the chunk at `acked` rode with when last sent: an answer to a later probe without it means it was lost. */
  dataHeartbeatAt: number;
  /** Whether this transfer sent any data yet (an offset reported before that was resumed from an earlier transfer). */
  dataSent: boolean;
}

/** The chunk of `send` that starts at its acknowledged offset; empty for a probe. */
export function chunkAt(send: SnapshotSend, chunkBytesMax: number, probe: boolean): { offset: number; data: string } {
  const offset = Math.min(send.acked, send.snapshot.totalBytes);
  return { offset, data: probe ? '' : send.snapshot.text.slice(offset, offset + chunkBytesMax) };
}

/** One chunk as the leader sends it (the registry adds its term and the heartbeat time). */
export interface ChunkOut extends SnapshotKey {
  readonly offset: number;
  readonly data: string;
}

export interface SenderDeps {
  readonly codec: SnapshotCodec;
  readonly limits: ReceiverLimits;
  /** A chunk unanswered this long is sent again (the election timeout). */
  readonly resendAfterMs: number;
  readonly send: (to: MemberId, chunk: ChunkOut) => void;
  readonly event: (e: CoreEvent) => void;
}

/** The leader's side: encodes its snapshot once per compaction and drives each follower's transfer. */
export class SnapshotSender {
  /** The log's current snapshot, encoded: made on the first transfer, reused by the next ones. */
  private encoded: EncodedSnapshot | null = null;

  constructor(private readonly d: SenderDeps) {}

  /** A follower needs entries compacted away: a transfer of `s`, opened with a probe for what it already holds. Null (and an event) when too large. */
  start(to: MemberId, s: Snapshot, now: number, heartbeatAt: number): SnapshotSend | null {
    if (this.encoded?.index !== s.index || this.encoded.lastTerm !== s.term) this.encoded = encodeSnapshot(this.d.codec, s);
    const e = this.encoded;
    const max = this.d.limits.snapshotBytesMax;
    if (e.totalBytes > max) {
      this.d.event({ type: 'snapshot-transfer', peer: to, stage: 'refused', index: e.index, bytes: e.totalBytes, reason: `snapshot of ${e.totalBytes} bytes exceeds snapshotBytesMax ${max}` });
      return null;
    }
    const send: SnapshotSend = { snapshot: e, acked: 0, dataSentAt: now, dataHeartbeatAt: Number.POSITIVE_INFINITY, dataSent: false };
    this.d.event({ type: 'snapshot-transfer', peer: to, stage: 'sending', index: e.index, bytes: e.totalBytes });
    this.sendChunk(to, send, true, now, heartbeatAt);
    return send;
  }

  /** At a heartbeat: a probe, or the pending chunk again once it went unanswered for resendAfterMs (lost). */
  heartbeat(to: MemberId, send: SnapshotSend, now: number, heartbeatAt: number): void {
    this.sendChunk(to, send, now - send.dataSentAt < this.d.resendAfterMs, now, heartbeatAt);
  }

  /**
   * The follower's answer: it holds `offset` bytes of the snapshot named by the rest, as of the
   * chunk or probe that rode with heartbeat `sentAt` (the time the answer echoes).
   */
  onAnswer(from: MemberId, send: SnapshotSend, a: { index: Index; lastTerm: Term; digest: string; offset: number; sentAt: number }, now: number, heartbeatAt: number): void {
    const k = send.snapshot;
    // An answer about another transfer (an earlier snapshot, a late duplicate) moves nothing.
    if (a.index !== k.index || a.lastTerm !== k.lastTerm || a.digest !== k.digest || a.offset > k.totalBytes) return;
    const moved = a.offset > send.acked;
    if (moved && !send.dataSent) this.d.event({ type: 'snapshot-transfer', peer: from, stage: 'resumed', index: k.index, bytes: k.totalBytes, offset: a.offset });
    // Lower too: a follower that lost its partial (a restart, a refused whole) starts again from there.
    send.acked = a.offset;
    // One chunk in flight: only the answer to the opening probe, or one that shows progress, sends
    // the next, so a duplicated answer cannot double the traffic. A chunk is lost when the follower
    // answers a probe of a later heartbeat without it: it goes again at once (once per heartbeat at
    // most: the copy rides with the current heartbeat, and only a probe of a later one can ask again);
    // otherwise resendAfterMs after it was sent (heartbeat()).
    const lost = send.dataSent && !moved && a.offset === send.acked && a.sentAt > send.dataHeartbeatAt;
    if ((moved || !send.dataSent || lost) && a.offset < k.totalBytes) this.sendChunk(from, send, false, now, heartbeatAt);
  }

  /** Whether the follower's log now matches up to `match` at or past the snapshot: the transfer is over. */
  done(from: MemberId, send: SnapshotSend, match: number): boolean {
    const k = send.snapshot;
    if (match < k.index) return false;
    this.d.event({ type: 'snapshot-transfer', peer: from, stage: 'sent', index: k.index, bytes: k.totalBytes });
    return true;
  }

  private sendChunk(to: MemberId, send: SnapshotSend, probe: boolean, now: number, heartbeatAt: number): void {
    const k = send.snapshot;
    const c = chunkAt(send, this.d.limits.snapshotChunkBytesMax, probe);
    if (c.data.length > 0) {
      send.dataSent = true;
      send.dataSentAt = now;
      send.dataHeartbeatAt = heartbeatAt;
    }
    this.d.send(to, { index: k.index, lastTerm: k.lastTerm, totalBytes: k.totalBytes, digest: k.digest, offset: c.offset, data: c.data });
  }
}

export interface ChunkIn extends SnapshotKey {
  readonly offset: number;
  readonly data: string;
}

export type OfferOutcome =
  /** Keep going: the follower holds `offset` bytes of this snapshot. */
  | { readonly kind: 'partial'; readonly offset: number }
  /** Every byte is here, the digest matches and it decodes to the announced snapshot. */
  | { readonly kind: 'complete'; readonly snapshot: Snapshot; readonly totalBytes: number }
  /** The chunk or the assembled whole is not acceptable; the partial is gone. */
  | { readonly kind: 'refused'; readonly reason: string };

export interface ReceiverLimits {
  readonly snapshotChunkBytesMax: number;
  readonly snapshotBytesMax: number;
}

/** The follower's partial snapshot: at most one, in memory. */
export class SnapshotReceiver {
  private key: SnapshotKey | null = null;
  private parts: string[] = [];
  private have = 0;

  constructor(
    private readonly codec: SnapshotCodec,
    private readonly limits: ReceiverLimits,
    /** Where 'installed' and 'refused' are reported (the registry's host). */
    private readonly event: (e: CoreEvent) => void = () => undefined,
  ) {}

  /** Bytes held of `key`'s snapshot (0 for any other). */
  heldOf(key: SnapshotKey): number {
    return this.key !== null && sameSnapshot(this.key, key) ? this.have : 0;
  }

  /** Drops a partial snapshot the log has caught up with otherwise (its index is committed). */
  dropCovered(commit: number): void {
    if (this.key !== null && this.key.index <= commit) this.clear();
  }

  clear(): void {
    this.key = null;
    this.parts = [];
    this.have = 0;
  }

  /** One chunk from `from`: what the follower holds now, or the whole snapshot to install. */
  offer(c: ChunkIn, from?: MemberId): OfferOutcome {
    const out = this.take(c);
    if (from !== undefined && out.kind !== 'partial') {
      const e = out.kind === 'complete' ? ({ stage: 'installed' } as const) : ({ stage: 'refused', reason: out.reason } as const);
      this.event({ type: 'snapshot-transfer', peer: from, index: c.index, bytes: c.totalBytes, ...e });
    }
    return out;
  }

  private take(c: ChunkIn): OfferOutcome {
    const l = this.limits;
    if (c.totalBytes < 1 || c.totalBytes > l.snapshotBytesMax) return this.refuse(`snapshot of ${c.totalBytes} bytes, limit ${l.snapshotBytesMax}`);
    if (c.data.length > l.snapshotChunkBytesMax) return this.refuse(`chunk of ${c.data.length} bytes, limit ${l.snapshotChunkBytesMax}`);
    if (c.offset + c.data.length > c.totalBytes) return this.refuse(`chunk ends at ${c.offset + c.data.length}, past the snapshot's ${c.totalBytes} bytes`);
    if (this.key === null || !sameSnapshot(this.key, c)) {
      // Another snapshot than the one in progress: one partial at a time, the newest sender's.
      this.clear();
      this.key = { index: c.index, lastTerm: c.lastTerm, totalBytes: c.totalBytes, digest: c.digest };
    }
    // Only the next bytes in order are taken: a duplicate, a late or an early chunk changes nothing.
    if (c.offset === this.have && c.data.length > 0) {
      this.parts.push(c.data);
      this.have += c.data.length;
    }
    if (this.have < c.totalBytes) return { kind: 'partial', offset: this.have };
    return this.assemble(c);
  }

  private assemble(key: SnapshotKey): OfferOutcome {
    const text = this.parts.join('');
    this.clear();
    if (text.length !== key.totalBytes) return this.refuse(`assembled ${text.length} bytes, announced ${key.totalBytes}`);
    if (this.codec.digest(text) !== key.digest) return this.refuse('digest of the assembled snapshot does not match');
    const d = this.codec.decode(text);
    if (!d.ok) return this.refuse(`assembled snapshot does not decode: ${d.reason}`);
    if (d.snapshot.index !== key.index || d.snapshot.term !== key.lastTerm) {
      return this.refuse(`assembled snapshot is at ${d.snapshot.index}/${d.snapshot.term}, announced ${key.index}/${key.lastTerm}`);
    }
    return { kind: 'complete', snapshot: d.snapshot, totalBytes: key.totalBytes };
  }

  private refuse(reason: string): OfferOutcome {
    this.clear();
    return { kind: 'refused', reason };
  }
}
