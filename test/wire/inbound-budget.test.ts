// The per-peer, per-kind inbound budgets (src/wire/inbound-budget.ts) and the
// kind byte they are chosen by (envelopeKindOf). With a hand clock: a burst
// up to the bucket passes, then the sustained rate; each peer and each class
// has its own bucket (a gossip flood leaves the same peer's raft budget
// whole); a frame with no known kind byte passes (decoding refuses it
// cheaply). The defaults are derived from the gossip config: the gossip
// budget is gossipBudgetFactor times the legitimate peak rate of the fastest
// preset, which also covers the timing derived from booth's keys at its
// floors, and the registry, relay and admin budgets are larger.
import { describe, expect, it } from 'vitest';
import { timingFromBoothKeys } from '../../src/config/presets.js';
import { swimFramesPerSecondMax, swimPresets } from '../../src/core/gossip/config.js';
import { Ed25519Signer, encodeEnvelope, envelopeKindOf, privateKeyFromSeed } from '../../src/wire/index.js';
import { burstSeconds, gossipBudgetFactor, gossipFramesPerSecondLegit, InboundBudget, inboundBudgetDefaults } from '../../src/wire/inbound-budget.js';

describe('envelopeKindOf', () => {
  it('reads the kind byte of a real frame, and nothing from a frame too short or a byte no kind has', () => {
    const signer = new Ed25519Signer(privateKeyFromSeed(new Uint8Array(32).fill(7)));
    for (const kind of ['raft', 'gossip', 'admin', 'admin-reply', 'relay'] as const) {
      const frame = encodeEnvelope({ kind, formation: 'f', sender: 'a', recipient: 'b', seq: 1, term: 0, payload: {} }, signer);
      expect(envelopeKindOf(frame)).toBe(kind);
    }
    expect(envelopeKindOf(new Uint8Array([0x54, 0x42, 1]))).toBeUndefined();
    expect(envelopeKindOf(new Uint8Array([0x54, 0x42, 1, 99, 0]))).toBeUndefined();
  });
});

describe('InboundBudget', () => {
  const budgets = {
    gossip: { framesPerSecond: 10, burstFrames: 5 },
    registry: { framesPerSecond: 100, burstFrames: 50 },
    relay: { framesPerSecond: 100, burstFrames: 50 },
    admin: { framesPerSecond: 1, burstFrames: 2 },
  };
  const passed = (b: InboundBudget, peer: string, kind: Parameters<InboundBudget['take']>[1], at: number, n: number): number =>
    Array.from({ length: n }, () => b.take(peer, kind, at)).filter(Boolean).length;

  it('passes a burst, then the sustained rate, per peer and per class', () => {
    const b = new InboundBudget(budgets, 4);
    expect(passed(b, 'a', 'gossip', 0, 20)).toBe(5);
    // The same peer's registry traffic has its own bucket: the gossip flood did not touch it.
    expect(passed(b, 'a', 'raft', 0, 60)).toBe(50);
    expect(passed(b, 'a', 'relay', 0, 60)).toBe(50);
    // Another peer has its own buckets.
    expect(passed(b, 'b', 'gossip', 0, 20)).toBe(5);
    // 10 per second: one more every 100 ms, and the bucket never holds more than its burst.
    expect(passed(b, 'a', 'gossip', 100, 3)).toBe(1);
    expect(passed(b, 'a', 'gossip', 10_100, 20)).toBe(5);
    // admin and admin-reply share a class.
    expect(passed(b, 'a', 'admin', 0, 1) + passed(b, 'a', 'admin-reply', 0, 5)).toBe(2);
    // A clock that goes backwards refills nothing.
    expect(passed(b, 'a', 'gossip', 5_000, 5)).toBe(0);
  });

  it('lets a frame with no known kind byte through (decoding refuses it before the signature)', () => {
    const b = new InboundBudget(budgets, 1);
    expect(passed(b, 'a', undefined, 0, 100)).toBe(100);
  });

  it('refuses peers beyond peersMax and nonsense limits', () => {
    const b = new InboundBudget(budgets, 1);
    expect(b.take('a', 'gossip', 0)).toBe(true);
    expect(b.take('b', 'gossip', 0)).toBe(false);
    expect(() => new InboundBudget({ ...budgets, gossip: { framesPerSecond: 0, burstFrames: 1 } }, 1)).toThrow(RangeError);
  });
});

describe('inboundBudgetDefaults', () => {
  it('derives the gossip budget from the fastest preset, with room for the timing derived from booth keys', () => {
    // loopback, 3 members: per 500 ms period 1 ping + 1 ack + 1 ping-req + 2 (ack, nack) + 2·1 (helper pings and acks) + 5 gossip rounds.
    expect(swimFramesPerSecondMax(swimPresets.loopback, 3)).toBe(24);
    expect(gossipFramesPerSecondLegit(3)).toBe(24);
    const d3 = inboundBudgetDefaults(3);
    expect(d3.gossip).toEqual({ framesPerSecond: 96, burstFrames: 192 });
    for (const n of [2, 3, 5, 9, 20]) {
      const d = inboundBudgetDefaults(n);
      for (const t of [...Object.values(swimPresets), timingFromBoothKeys([1]), timingFromBoothKeys([])]) {
        const legit = swimFramesPerSecondMax({ ...swimPresets.wan, ...t }, n);
        expect(d.gossip.framesPerSecond, `${n} members`).toBeGreaterThanOrEqual(gossipBudgetFactor * legit);
      }
      expect(d.gossip.burstFrames).toBe(burstSeconds * d.gossip.framesPerSecond);
      // Registry traffic gets more than gossip.
      expect(d.registry.framesPerSecond).toBeGreaterThan(d.gossip.framesPerSecond);
      expect(d.relay.framesPerSecond).toBeGreaterThan(d.gossip.framesPerSecond);
    }
  });
});
