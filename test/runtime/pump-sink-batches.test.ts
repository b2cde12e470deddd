// How the pump (src/runtime/pump.ts) hands ticket effects to the sink: one
// writer; whenever it is free, every effect waiting (the newest per ticket)
// goes to TicketSink.applyBatch as ONE write, up to sinkBatchEffectsMax;
// start-up revokes (TicketEffect.background) go only when nothing else waits,
// in batches of their own of at most backgroundBatchEffectsMax; a grant whose
// deadline passed while it waited is reported failed without being written;
// a write that throws fails every effect in it; and the core gets one
// effect-result per effect written (with the write's time), none for an
// effect superseded while it waited. A Ready that asks for a read of the sink
// (readSink) gets one, reported as a sink-state.
//
// How: the real Pump around a scripted core (it hands out the Readies the test
// queues and records the reports it gets) and a sink that records each batch
// and holds it open until the test releases it, so the test decides what
// arrives while a write is in flight. Time is a hand-moved clock. Waits are
// turns of the event loop until a condition holds, bounded.
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/adapters/storage/memory-storage.js';
import type { Member } from '../../src/core/member.js';
import type { Ready, Report } from '../../src/core/ready.js';
import type { TicketEffect } from '../../src/core/tickets/site-holder.js';
import { generation, ms, type Ms } from '../../src/core/types.js';
import type { EffectOutcome, MonotonicClock, PeerStatus, TicketSink, Transport } from '../../src/ports/ports.js';
import { backgroundBatchEffectsMax, Pump, sinkBatchEffectsMax } from '../../src/runtime/pump.js';

class HandClock implements MonotonicClock {
  t = 1_000_000;
  now(): Ms {
    return ms(this.t);
  }
}

/** Hands out the Readies the test queues; records every report. */
class ScriptedCore {
  readonly readies: Ready[] = [];
  readonly reports: Report[] = [];
  step(): void {}
  tick(): void {}
  command(): void {}
  setWallClock(): void {}
  setBatchGrantPeers(): void {}
  canRelayTo(): boolean {
    return false;
  }
  report(r: Report): void {
    this.reports.push(r);
  }
  hasReady(): boolean {
    return this.readies.length > 0;
  }
  ready(): Ready {
    return this.readies.shift()!;
  }
  advance(): void {}
  nextDeadline(): Ms {
    return ms(Number.MAX_SAFE_INTEGER);
  }
  results(): Array<Extract<Report, { type: 'effect-result' }>> {
    return this.reports.filter((r): r is Extract<Report, { type: 'effect-result' }> => r.type === 'effect-result');
  }
}

/** Records each batch and holds it until released; `throwNext` makes the next batch throw. */
class HeldSink implements TicketSink {
  readonly batches: TicketEffect[][] = [];
  private readonly held: Array<() => void> = [];
  throwNext = false;
  readAll(): Promise<never[]> {
    return Promise.resolve([]);
  }
  readAtStart(): Promise<{ tickets: never[]; complete: false }> {
    return Promise.resolve({ tickets: [], complete: false });
  }
  apply(): Promise<{ ok: boolean }> {
    throw new Error('the pump writes through applyBatch');
  }
  extendGuard(): Promise<{ ok: boolean }> {
    return Promise.resolve({ ok: true });
  }
  async applyBatch(effects: readonly TicketEffect[]): Promise<EffectOutcome[]> {
    this.batches.push([...effects]);
    await new Promise<void>((release) => this.held.push(release));
    if (this.throwNext) {
      this.throwNext = false;
      throw new Error('the CIB is gone');
    }
    return effects.map((e) => ({ id: e.id, ok: true }));
  }
  get waiting(): number {
    return this.held.length;
  }
  release(): void {
    this.held.shift()!();
  }
}

const transport: Transport = {
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
  send: () => undefined,
  sendAdmin: () => undefined,
  onMessage: () => undefined,
  setRelayPolicy: () => undefined,
  onAdmin: () => undefined,
  peers: (): PeerStatus[] => [],
};

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Turns of the event loop until `cond` holds; fails after `turnsMax`. */
async function until(what: string, cond: () => boolean, turnsMax = 5_000): Promise<void> {
  for (let i = 0; i < turnsMax; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`not reached within ${turnsMax} event-loop turns: ${what}`);
}

let nextId = 1;
function fx(ticket: string, over: Partial<TicketEffect> = {}): TicketEffect {
  return { id: nextId++, ticket, granted: true, standby: false, generation: generation(1), owner: null, revokeBy: ms(9_000_000), attrs: {}, ...over };
}
const bg = (ticket: string): TicketEffect => fx(ticket, { granted: false, revokeBy: null, background: true });

async function setup(): Promise<{ core: ScriptedCore; sink: HeldSink; clock: HandClock; pump: Pump; issue: (effects: TicketEffect[]) => void; batchEvents: Array<{ effects: number; failed: number; background: boolean }> }> {
  const core = new ScriptedCore();
  const sink = new HeldSink();
  const clock = new HandClock();
  const pump = new Pump({ core: core as unknown as Member, storage: await MemoryStorage.open(), transport, sink, clock, log: quiet });
  const batchEvents: Array<{ effects: number; failed: number; background: boolean }> = [];
  pump.on('effects', ({ effects, failed, background }) => batchEvents.push({ effects, failed, background }));
  pump.start();
  const issue = (effects: TicketEffect[]): void => {
    core.readies.push({ persist: null, messages: [], effects, guard: [], events: [] });
    pump.report(() => undefined);
  };
  return { core, sink, clock, pump, issue, batchEvents };
}

const ticketsOf = (b: readonly TicketEffect[] | undefined): string[] => (b ?? []).map((e) => e.ticket);

describe('Pump: ticket effects go to the sink in batches', () => {
  it('hands the sink every effect waiting when it is free as one write, the newest per ticket; start-up revokes after, on their own', async () => {
    const { core, sink, clock, pump, issue, batchEvents } = await setup();
    const [a, b, c] = [fx('a'), fx('b'), fx('c')];
    const [x, y, z] = [bg('x'), bg('y'), bg('z')];
    issue([a, x, b, y, z, c]);
    await until('the first write', () => sink.waiting === 1);
    expect(ticketsOf(sink.batches[0])).toEqual(['a', 'b', 'c']);

    // While it is written: a new ticket, a newer effect of a ticket in flight (it waits), a newer effect
    // of a ticket whose start-up revoke waits (it supersedes it, and is no start-up revoke), and two
    // effects of one more ticket (the older is superseded before it starts).
    const d = fx('d');
    const a2 = fx('a', { granted: false, revokeBy: null });
    const x2 = fx('x');
    const e1 = fx('e');
    const e2 = fx('e', { generation: generation(2) });
    issue([d, a2, x2, e1]);
    issue([e2]);
    await until('the second Ready handled', () => core.readies.length === 0);
    clock.t += 40;
    sink.release();
    await until('the second write', () => sink.waiting === 1 && sink.batches.length === 2);
    expect(sink.batches[1]).toEqual([d, a2, x2, e2]);
    clock.t += 10;
    sink.release();
    await until('the start-up revokes', () => sink.waiting === 1 && sink.batches.length === 3);
    expect(sink.batches[2]).toEqual([y, z]);
    sink.release();
    await until('every result reported', () => core.results().length === 9);

    const results = core.results();
    expect(results.map((r) => r.id).sort((p, q) => p - q)).toEqual([a, b, c, d, a2, x2, e2, y, z].map((e) => e.id).sort((p, q) => p - q));
    expect(results.every((r) => r.ok)).toBe(true);
    // Each result carries the time of the write it was in.
    expect(results.find((r) => r.id === a.id)?.writeMs).toBe(40);
    expect(results.find((r) => r.id === d.id)?.writeMs).toBe(10);
    expect(batchEvents).toEqual([
      { effects: 3, failed: 0, background: false },
      { effects: 4, failed: 0, background: false },
      { effects: 2, failed: 0, background: true },
    ]);
    await pump.stop();
  });

  it('reports a grant whose deadline passed while it waited as failed, unwritten; a write that throws fails all of its effects', async () => {
    const { core, sink, clock, pump, issue, batchEvents } = await setup();
    const p = fx('p');
    issue([p]);
    await until('the first write', () => sink.waiting === 1);
    const late = fx('late', { revokeBy: ms(clock.t + 10) });
    const r = fx('r');
    const s = fx('s', { granted: false, revokeBy: null });
    issue([late, r, s]);
    await until('the Ready handled', () => core.readies.length === 0);
    clock.t += 20; // past late's deadline
    sink.throwNext = false;
    sink.release();
    await until('the second write', () => sink.waiting === 1 && sink.batches.length === 2);
    expect(sink.batches[1]).toEqual([r, s]);
    sink.throwNext = true;
    sink.release();
    await until('every result reported', () => core.results().length === 4);
    const byId = new Map(core.results().map((x) => [x.id, x]));
    expect(byId.get(p.id)).toMatchObject({ ok: true });
    expect(byId.get(late.id)).toMatchObject({ ok: false, error: 'lease ran out before the grant could be written' });
    expect(byId.get(late.id)?.writeMs).toBeUndefined();
    expect(byId.get(r.id)).toMatchObject({ ok: false, error: 'the CIB is gone' });
    expect(byId.get(s.id)).toMatchObject({ ok: false, error: 'the CIB is gone' });
    expect(batchEvents.map((e) => [e.effects, e.failed])).toEqual([
      [1, 0],
      [2, 2],
    ]);
    await pump.stop();
  });

  it(`caps a write at ${sinkBatchEffectsMax} effects and one of start-up revokes at ${backgroundBatchEffectsMax}; a grant waits at most for the start-up batch in flight`, async () => {
    const { core, sink, pump, issue } = await setup();
    const revokes = Array.from({ length: backgroundBatchEffectsMax * 2 + 7 }, (_, i) => bg(`r${i}`));
    issue(revokes);
    await until('the first start-up batch', () => sink.waiting === 1);
    expect(sink.batches[0]).toEqual(revokes.slice(0, backgroundBatchEffectsMax));
    const grants = Array.from({ length: sinkBatchEffectsMax + 1 }, (_, i) => fx(`g${i}`));
    issue(grants);
    await until('the Ready handled', () => core.readies.length === 0);
    const sizes: Array<[number, boolean]> = [];
    for (let n = 1; n < 5; n++) {
      sink.release();
      await until(`write ${n + 1}`, () => sink.waiting === 1 && sink.batches.length === n + 1);
      sizes.push([sink.batches[n]!.length, sink.batches[n]![0]!.background === true]);
    }
    sink.release();
    expect(sizes).toEqual([
      [sinkBatchEffectsMax, false],
      [1, false],
      [backgroundBatchEffectsMax, true],
      [7, true],
    ]);
    expect(sink.batches[1]).toEqual(grants.slice(0, sinkBatchEffectsMax));
    await until('every result reported', () => core.results().length === revokes.length + grants.length);
    await pump.stop();
  });
});

describe('Pump: a read of the sink the core asks for', () => {
  // Ready.readSink: a take-over hold past booth's `expires` (site-takeover.ts) learns only from a read
  // whether the old node's guard revoked the grant; the pump's own reads come every 30 s.
  it('reads the sink back and reports what it holds, with the time the read began', async () => {
    const { core, clock, pump } = await setup();
    core.readies.push({ persist: null, messages: [], effects: [], guard: [], events: [], readSink: true });
    pump.report(() => undefined);
    await until('the sink read back', () => core.reports.some((r) => r.type === 'sink-state'));
    expect(core.reports.filter((r) => r.type === 'sink-state')).toEqual([{ type: 'sink-state', tickets: [], readStartedAt: clock.t }]);
    await pump.stop();
  });
});
