import { describe, expect, it } from 'vitest';
import { medianInterval, percentile, settledGoal } from './bench/util.js';

describe('medianInterval (sign-test interval for the median)', () => {
  const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  it('takes the order statistics the binomial tables give at 95%', () => {
    // n = 6: P(B ≤ 0) = 1/64 ≤ 2.5% < P(B ≤ 1) = 7/64, so the extremes.
    expect(medianInterval(ranks(6))).toEqual([1, 6]);
    // n = 24: P(B ≤ 6) ≈ 1.13% ≤ 2.5% < P(B ≤ 7) ≈ 3.20%, so the 7th from each end.
    expect(medianInterval(ranks(24))).toEqual([7, 18]);
    // n = 32: P(B ≤ 9) ≈ 1.00% ≤ 2.5% < P(B ≤ 10) ≈ 2.51%.
    expect(medianInterval(ranks(32))).toEqual([10, 23]);
  });

  it('sorts its input and leaves it as it was', () => {
    const values = [5, 1, 4, 2, 6, 3];
    expect(medianInterval(values)).toEqual([1, 6]);
    expect(values).toEqual([5, 1, 4, 2, 6, 3]);
  });

  it('gives no interval when too few samples reach the confidence', () => {
    expect(medianInterval(ranks(5))).toBeUndefined(); // P(B ≤ 0) = 1/32 > 2.5%
    expect(medianInterval([])).toBeUndefined();
    expect(medianInterval(ranks(5), 0.9)).toEqual([1, 5]); // 1/32 ≤ 5%
  });

  it('covers the true median at least as often as it promises', () => {
    // A fixed-seed 32-bit linear congruential generator: the same draws on every run.
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      // Exponential samples, median ln 2: skewed, as round ratios are.
      const values = Array.from({ length: 24 }, () => -Math.log(1 - random()));
      const [low, high] = medianInterval(values)!;
      if (low <= Math.LN2 && Math.LN2 <= high) covered++;
    }
    // Exact coverage at n = 24 is 1 − 2·P(B ≤ 6) ≈ 97.7%.
    expect(covered / trials).toBeGreaterThan(0.96);
  });
});

describe('settledGoal', () => {
  it('is met only when the whole interval clears the limit', () => {
    expect(settledGoal([0.9, 1.2], 0.9)).toBe('met');
    expect(settledGoal([0.85, 1.2], 0.9)).toBe('not settled');
    expect(settledGoal([0.7, 0.89], 0.9)).toBe('missed');
  });
});

describe('percentile (nearest rank), the one every benchmark uses', () => {
  it('is the smallest value with at least p % of the values at or below it, from unsorted input', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile(Float64Array.from([0.5, 10, 2]), 99)).toBe(10);
    expect(hundred[0]).toBe(100); // the input is left as it was
    expect(percentile([], 99)).toBeNaN();
  });
});
