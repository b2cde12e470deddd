// Numeric options: a sign is accepted only where the range has negatives, and
// every value outside the range is a usage error that names the range.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { adminTimeoutMsRange, intInRange, niceRange, oomScoreAdjRange } from '../../src/cli/numeric-option.js';

describe('intInRange', () => {
  it('signed ranges (--nice, --oom-score-adj) take negative values and refuse what lies outside', () => {
    const nice = intInRange(niceRange);
    expect(nice('-10')).toBe(-10);
    expect(nice('19')).toBe(19);
    expect(() => nice('-21')).toThrow(new InvalidArgumentError('expected a whole number in -20..19'));
    expect(() => nice('20')).toThrow(InvalidArgumentError);
    expect(() => nice('--5')).toThrow(InvalidArgumentError);
    expect(() => nice('-')).toThrow(InvalidArgumentError);
    expect(intInRange(oomScoreAdjRange)('-1000')).toBe(-1000);
    expect(() => intInRange(oomScoreAdjRange)('-1001')).toThrow(InvalidArgumentError);
  });

  it('unsigned ranges still refuse a sign, even on zero', () => {
    const timeout = intInRange(adminTimeoutMsRange);
    expect(() => timeout('-1')).toThrow(new InvalidArgumentError('expected a whole number of milliseconds in 1..3600000 ms'));
    expect(() => timeout('-0')).toThrow(InvalidArgumentError);
    expect(timeout('3600000')).toBe(3_600_000);
  });
});
