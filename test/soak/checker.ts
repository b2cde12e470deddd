// The soak's safety and liveness checker (issue 12, "Keep doing"): pure
// bookkeeping over what the harness reads from the sites' ticket files and
// from the registry, with no clock of its own (every observation carries its
// CLOCK_MONOTONIC time in ms, the clock the members' deadlines use).
//
// Holding. A site holds a ticket while its ticket file says granted and the
// deadline (`revokeBy`, moved later by the guard record) has not passed
// (file-ticket-sink.ts). One grant content (file written at `writtenAt`)
// existed from its write until at least the end of the read that saw it, and
// until the write that replaced it; so each observed grant gives a *known*
// holding interval [writtenAt, min(seen until, revokeBy)). Extensions that
// were never observed only make the interval shorter than the truth: the
// checker can miss an overlap, never invent one.
//
// S1, overlaps. Two grant episodes of one ticket at two sites whose known
// intervals intersect by more than toleranceMs (writtenAt has ms resolution
// and is converted from wall time) are an overlap; each pair of grants (site
// and generation on each side) is counted once, from the first to the last
// instant both were seen holding.
//
// Stranded tickets. The registry (a linearizable `list`) names holder H, yet
// no site holds the ticket: once that has lasted strandBoundMs without a break
// (timed from the last heal: while faults are active a missing grant is
// expected), the episode counts as one stranded ticket.
//
// Moves while quiet (L2). After a heal has converged and until the next fault,
// a ticket's registry generation should not change: each increase is counted.

/** One read of one site's ticket file (null fields: no file yet). */
export interface SinkObservation {
  readonly site: string;
  readonly ticket: string;
  readonly granted: boolean;
  readonly generation: number;
  /** Monotonic ms at which the grant is void; null for a revoke. */
  readonly revokeByMs: number | null;
  /** Monotonic ms of the file's write (converted from its wall-clock writtenAt, so it jitters by a ms between reads). */
  readonly writtenAtMs: number;
  /** What identifies one written content across reads (the file's own writtenAt text). */
  readonly content: string;
  /** Monotonic ms when the read finished: the content existed at least until then. */
  readonly readEndMs: number;
}

/** One linearizable read of the ticket table. */
export interface RegistryObservation {
  readonly atMs: number;
  readonly tickets: ReadonlyArray<{ readonly name: string; readonly holder: string | null; readonly generation: number }>;
}

export interface Overlap {
  readonly ticket: string;
  readonly sites: readonly [string, string];
  readonly generations: readonly [number, number];
  /** Monotonic ms where the known intervals start to intersect, and for how long. */
  readonly fromMs: number;
  readonly lengthMs: number;
}

export interface Strand {
  readonly ticket: string;
  readonly holder: string;
  readonly generation: number;
  readonly fromMs: number;
  /** How long it had lasted when last seen (it may go on). */
  readonly lengthMs: number;
}

interface Episode {
  readonly id: number;
  readonly site: string;
  readonly ticket: string;
  readonly generation: number;
  readonly startMs: number;
  endMs: number;
  revokeByMs: number;
}

interface Latest {
  readonly content: string;
  readonly granted: boolean;
  readonly episode: Episode | null;
}

export interface CheckerOptions {
  /** Intersections up to this long are read noise, not overlaps (ms). */
  readonly toleranceMs: number;
  /** A registry holder with no granting sink for this long (after the last heal) is stranded (ms). */
  readonly strandBoundMs: number;
  /** Closed episodes kept per ticket to compare later observations with. */
  readonly episodesKeptPerTicket?: number;
}

const episodesKeptDefault = 64;

export class SoakChecker {
  readonly #o: CheckerOptions;
  readonly #latest = new Map<string, Latest>();
  readonly #episodes = new Map<string, Episode[]>();
  readonly #overlaps = new Map<string, Overlap>();
  readonly #strands: Strand[] = [];
  readonly #open = new Map<string, { holder: string; generation: number; fromMs: number; strandIndex: number | null }>();
  readonly #lastGeneration = new Map<string, number>();
  #nextId = 1;
  #faultsActive = false;
  #lastHealMs = -Infinity;
  #quiet = false;
  #movesWhileQuiet = 0;
  #generationChanges = 0;
  readonly #moves: Array<{ ticket: string; atMs: number; from: number; to: number }> = [];

  constructor(o: CheckerOptions) {
    this.#o = o;
  }

  /** Faults applied (true) or all healed (false), at atMs. */
  setFaultsActive(active: boolean, atMs: number): void {
    if (this.#faultsActive && !active) this.#lastHealMs = atMs;
    this.#faultsActive = active;
    if (active) this.#quiet = false;
  }

  /** From now until the next fault, a generation change is a move while quiet (L2). */
  setQuiet(quiet: boolean): void {
    this.#quiet = quiet;
  }

  observeSink(o: SinkObservation): void {
    const key = `${o.site}\0${o.ticket}`;
    const prev = this.#latest.get(key);
    if (prev !== undefined && prev.content === o.content && prev.granted === o.granted) {
      // The same content, seen again: it existed until this read ended.
      if (prev.episode !== null) this.#extend(prev.episode, o.readEndMs, o.revokeByMs);
      return;
    }
    // A new content: the previous one existed until this one was written.
    if (prev?.episode != null) this.#extend(prev.episode, o.writtenAtMs, null);
    let episode: Episode | null = null;
    if (o.granted && o.revokeByMs !== null) {
      episode = { id: this.#nextId++, site: o.site, ticket: o.ticket, generation: o.generation, startMs: o.writtenAtMs, endMs: o.writtenAtMs, revokeByMs: o.revokeByMs };
      const list = this.#episodes.get(o.ticket) ?? [];
      list.push(episode);
      const kept = this.#o.episodesKeptPerTicket ?? episodesKeptDefault;
      if (list.length > kept) list.splice(0, list.length - kept);
      this.#episodes.set(o.ticket, list);
      this.#extend(episode, o.readEndMs, o.revokeByMs);
    }
    this.#latest.set(key, { content: o.content, granted: o.granted, episode });
  }

  /** Sites whose last seen content holds `ticket` at nowMs (granted, deadline ahead). */
  holdersAt(ticket: string, nowMs: number): string[] {
    const out: string[] = [];
    for (const [key, l] of this.#latest) {
      if (l.episode === null || l.episode.ticket !== ticket) continue;
      if (l.episode.revokeByMs > nowMs) out.push(key.split('\0')[0]!);
    }
    return out;
  }

  observeRegistry(r: RegistryObservation): void {
    for (const t of r.tickets) {
      const before = this.#lastGeneration.get(t.name);
      if (before !== undefined && t.generation > before) this.#generationChanges += 1;
      if (before !== undefined && t.generation > before && this.#quiet) {
        this.#movesWhileQuiet += 1;
        this.#moves.push({ ticket: t.name, atMs: r.atMs, from: before, to: t.generation });
      }
      this.#lastGeneration.set(t.name, t.generation);
      const held = t.holder !== null && this.holdersAt(t.name, r.atMs).length > 0;
      if (t.holder === null || held || this.#faultsActive) {
        this.#open.delete(t.name);
        continue;
      }
      let open = this.#open.get(t.name);
      if (open === undefined || open.holder !== t.holder || open.generation !== t.generation) {
        open = { holder: t.holder, generation: t.generation, fromMs: Math.max(r.atMs, this.#lastHealMs), strandIndex: null };
        this.#open.set(t.name, open);
      }
      const lengthMs = r.atMs - open.fromMs;
      const strand = { ticket: t.name, holder: open.holder, generation: open.generation, fromMs: open.fromMs, lengthMs };
      if (open.strandIndex !== null) this.#strands[open.strandIndex] = strand;
      else if (lengthMs > this.#o.strandBoundMs) open.strandIndex = this.#strands.push(strand) - 1;
    }
  }

  overlaps(): Overlap[] {
    return [...this.#overlaps.values()];
  }

  strands(): readonly Strand[] {
    return this.#strands;
  }

  /** Generation increases seen in the registry (grants to a new holder, revokes, forced grants). */
  generationChanges(): number {
    return this.#generationChanges;
  }

  movesWhileQuiet(): { count: number; moves: ReadonlyArray<{ ticket: string; atMs: number; from: number; to: number }> } {
    return { count: this.#movesWhileQuiet, moves: this.#moves };
  }

  #extend(e: Episode, seenUntilMs: number, revokeByMs: number | null): void {
    if (revokeByMs !== null) e.revokeByMs = Math.max(e.revokeByMs, revokeByMs);
    const end = Math.min(seenUntilMs, e.revokeByMs);
    if (end <= e.endMs) return;
    e.endMs = end;
    for (const other of this.#episodes.get(e.ticket) ?? []) {
      if (other.site === e.site) continue;
      const from = Math.max(e.startMs, other.startMs);
      const lengthMs = Math.min(e.endMs, other.endMs) - from;
      if (lengthMs <= this.#o.toleranceMs) continue;
      // One overlap per pair of grants (site and generation): a grant rewritten at the same
      // generation is the same grant; the overlap spans every intersection seen.
      const [a, b] = e.site < other.site ? [e, other] : [other, e];
      const key = `${e.ticket}\0${a.site}\0${a.generation}\0${b.site}\0${b.generation}`;
      const known = this.#overlaps.get(key);
      const fromMs = Math.min(from, known?.fromMs ?? from);
      const toMs = Math.max(from + lengthMs, (known?.fromMs ?? 0) + (known?.lengthMs ?? 0));
      this.#overlaps.set(key, { ticket: e.ticket, sites: [a.site, b.site], generations: [a.generation, b.generation], fromMs, lengthMs: toMs - fromMs });
    }
  }
}
