// Checks src/wire/replay-window.ts: the per-sender sliding window accepts
// each sequence number at most once, refuses numbers that fell below the
// window, and accepts any reordering inside it; the epoch·2^32 + counter
// scheme makes a restarted sender's numbers jump past its old window. Small
// scenarios pin each rule; then a model test replays seeded random streams
// (duplicates, reordering, jumps) against a dumb reference — a Set of every
// accepted number plus the highest — and requires the same verdict each step.
import { describe, expect, it } from 'vitest';
import {
  ReplayWindow,
  ReplayWindowError,
  replayWindowSizeDefault,
  SequenceSource,
  sequenceCounterLimit,
  sequenceEpoch,
  sequenceEpochMax,
  sequenceNumber,
  type ReplayVerdict,
} from '../../src/wire/index.js';
import { randomInt, seededRandom } from './helpers.js';

function verdictOf(verdict: ReplayVerdict): string {
  return verdict.ok ? 'accepted' : verdict.reason;
}

function expectReplayError(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ReplayWindowError);
    expect((error as ReplayWindowError).code).toBe(code);
    return;
  }
  expect.fail(`expected ReplayWindowError ${code}`);
}

describe('window rules', () => {
  it('accepts a first number, then refuses it as a duplicate', () => {
    const window = new ReplayWindow();
    expect(verdictOf(window.accept('a', 100))).toBe('accepted');
    expect(verdictOf(window.accept('a', 100))).toBe('duplicate');
    expect(window.highest('a')).toBe(100);
  });

  it('keeps senders apart', () => {
    const window = new ReplayWindow();
    expect(verdictOf(window.accept('a', 5))).toBe('accepted');
    expect(verdictOf(window.accept('b', 5))).toBe('accepted');
    expect(window.senderCount).toBe(2);
  });

  it('accepts reordering inside the window, each number once', () => {
    const window = new ReplayWindow({ windowSize: 64 });
    for (const seq of [10, 7, 9, 8, 12, 11, 0]) expect(verdictOf(window.accept('a', seq)), `seq ${seq}`).toBe('accepted');
    for (const seq of [10, 7, 9, 8, 12, 11, 0]) expect(verdictOf(window.accept('a', seq)), `seq ${seq}`).toBe('duplicate');
  });

  it('refuses numbers that fell out of the window, at exactly windowSize behind', () => {
    const window = new ReplayWindow({ windowSize: 64 });
    window.accept('a', 1000);
    expect(verdictOf(window.check('a', 1000 - 63))).toBe('accepted');
    expect(verdictOf(window.check('a', 1000 - 64))).toBe('too-old');
    expect(verdictOf(window.check('a', 0))).toBe('too-old');
  });

  it('clears the bits a slide passes over, so numbers reused modulo the window are not mistaken for duplicates', () => {
    const window = new ReplayWindow({ windowSize: 32 });
    window.accept('a', 5);
    window.accept('a', 30);
    expect(verdictOf(window.accept('a', 37))).toBe('accepted'); // 37 mod 32 = 5, a different number
    expect(verdictOf(window.accept('a', 5))).toBe('too-old');
    expect(verdictOf(window.accept('a', 30))).toBe('duplicate');
  });

  it('a jump of more than the window forgets everything below', () => {
    const window = new ReplayWindow({ windowSize: 64 });
    for (let seq = 0; seq < 50; seq += 1) window.accept('a', seq);
    expect(verdictOf(window.accept('a', 10_000))).toBe('accepted');
    expect(verdictOf(window.accept('a', 49))).toBe('too-old');
    expect(verdictOf(window.accept('a', 9_999))).toBe('accepted');
  });

  it('check() changes nothing', () => {
    const window = new ReplayWindow();
    expect(verdictOf(window.check('a', 1))).toBe('accepted');
    expect(verdictOf(window.check('a', 1))).toBe('accepted');
    expect(window.senderCount).toBe(0);
    expect(window.highest('a')).toBeUndefined();
  });

  it('raiseFloor refuses lower numbers, even before the first frame, and never lowers', () => {
    const window = new ReplayWindow();
    window.raiseFloor('a', sequenceNumber(3, 0));
    expect(verdictOf(window.accept('a', sequenceNumber(2, 99)))).toBe('too-old');
    expect(verdictOf(window.accept('a', sequenceNumber(3, 0)))).toBe('accepted');
    window.raiseFloor('a', 0);
    expect(verdictOf(window.accept('a', sequenceNumber(2, 100)))).toBe('too-old');
  });

  it('tracks at most sendersMax senders and refuses new ones beyond, without evicting', () => {
    const window = new ReplayWindow({ sendersMax: 2 });
    window.accept('a', 1);
    window.accept('b', 1);
    expect(verdictOf(window.accept('c', 1))).toBe('sender-limit');
    expect(verdictOf(window.accept('a', 1))).toBe('duplicate');
    expectReplayError(() => window.raiseFloor('c', 10), 'REPLAY_CONFIG');
    window.forget('b');
    expect(verdictOf(window.accept('c', 1))).toBe('accepted');
  });

  it('refuses bad options and sequence numbers with a coded error', () => {
    for (const windowSize of [0, 31, 33, 100, 65_536 * 2]) expectReplayError(() => new ReplayWindow({ windowSize }), 'REPLAY_CONFIG');
    expectReplayError(() => new ReplayWindow({ sendersMax: 0 }), 'REPLAY_CONFIG');
    const window = new ReplayWindow();
    for (const seq of [-1, 0.5, 2 ** 53, Number.NaN]) expectReplayError(() => window.accept('a', seq), 'REPLAY_SEQUENCE_RANGE');
  });

  it('handles sequence numbers up to 2^53 − 1', () => {
    const window = new ReplayWindow();
    const top = Number.MAX_SAFE_INTEGER;
    expect(verdictOf(window.accept('a', top - 1))).toBe('accepted');
    expect(verdictOf(window.accept('a', top))).toBe('accepted');
    expect(verdictOf(window.accept('a', top - 1))).toBe('duplicate');
    expect(verdictOf(window.accept('a', top - replayWindowSizeDefault))).toBe('too-old');
  });
});

describe('sequence epochs across restarts', () => {
  it('seq = epoch · 2^32 + counter, and the epoch is recoverable', () => {
    expect(sequenceNumber(0, 0)).toBe(0);
    expect(sequenceNumber(1, 5)).toBe(2 ** 32 + 5);
    expect(sequenceNumber(sequenceEpochMax, sequenceCounterLimit - 1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(sequenceEpoch(sequenceNumber(77, 123))).toBe(77);
    expectReplayError(() => sequenceNumber(sequenceEpochMax + 1, 0), 'SEQUENCE_EPOCH_EXHAUSTED');
    expectReplayError(() => sequenceNumber(-1, 0), 'SEQUENCE_EPOCH_EXHAUSTED');
    expectReplayError(() => sequenceNumber(0, sequenceCounterLimit), 'SEQUENCE_COUNTER_EXHAUSTED');
  });

  it('SequenceSource counts up from epoch · 2^32', () => {
    const source = new SequenceSource(4);
    expect([source.next(), source.next(), source.next()]).toEqual([4 * 2 ** 32, 4 * 2 ** 32 + 1, 4 * 2 ** 32 + 2]);
    expect(source.remaining).toBe(sequenceCounterLimit - 3);
    expectReplayError(() => new SequenceSource(sequenceEpochMax + 1), 'SEQUENCE_EPOCH_EXHAUSTED');
  });

  it('a restarted sender (epoch + 1) is accepted at once; its old frames, seen or not, are too old', () => {
    const window = new ReplayWindow();
    const first = new SequenceSource(1);
    const sent = Array.from({ length: 10 }, () => first.next());
    for (const seq of sent.slice(0, 5)) expect(verdictOf(window.accept('a', seq))).toBe('accepted');
    const second = new SequenceSource(2);
    expect(verdictOf(window.accept('a', second.next()))).toBe('accepted');
    for (const seq of sent) expect(verdictOf(window.accept('a', seq))).toBe('too-old');
  });

  it('a sender that restarts without bumping its epoch is refused rather than trusted', () => {
    const window = new ReplayWindow();
    const before = new SequenceSource(1);
    for (let i = 0; i < 3; i += 1) window.accept('a', before.next());
    const buggy = new SequenceSource(1);
    expect(verdictOf(window.accept('a', buggy.next()))).toBe('duplicate');
  });
});

describe('against a reference model', () => {
  for (const seed of [1, 2, 3, 42, 2024]) {
    it(`random streams give the model's verdicts (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const windowSize = 32 * (1 + randomInt(random, 4));
      const window = new ReplayWindow({ windowSize });
      const accepted = new Set<number>();
      let highest = -1;
      let next = randomInt(random, 1000);
      for (let step = 0; step < 5000; step += 1) {
        const roll = random();
        let seq: number;
        if (roll < 0.5) {
          seq = next;
          next += 1 + randomInt(random, 3);
        } else if (roll < 0.8) {
          seq = Math.max(0, next - 1 - randomInt(random, windowSize * 2)); // reordered or replayed
        } else if (roll < 0.98) {
          seq = next + randomInt(random, windowSize); // sent out of order, arrives early
        } else {
          next += windowSize + randomInt(random, 10 * windowSize); // a restart or a long loss
          seq = next;
        }
        let expected: string;
        if (highest >= 0 && seq <= highest && highest - seq >= windowSize) expected = 'too-old';
        else if (accepted.has(seq)) expected = 'duplicate';
        else expected = 'accepted';
        expect(verdictOf(window.accept('s', seq)), `step ${step} seq ${seq}`).toBe(expected);
        if (expected === 'accepted') {
          accepted.add(seq);
          highest = Math.max(highest, seq);
        }
      }
    });
  }
});
