import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter, statusVerdict } from '../../src/callbacks/index.js';

describe('statusVerdict', () => {
  it.each([
    [200, 'delivered'],
    [202, 'delivered'],
    [204, 'delivered'],
    [301, 'rejected'],
    [400, 'rejected'],
    [401, 'rejected'],
    [403, 'rejected'],
    [404, 'rejected'],
    [408, 'retry'],
    [410, 'gone'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
  ])('%i → %s', (status, verdict) => {
    expect(statusVerdict(status)).toBe(verdict);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it.each([
    ['120', 120_000],
    [' 3 ', 3000],
    ['0', 0],
    ['Sun, 01 Jun 2025 12:00:05 GMT', 5000],
    ['Sunday, 01-Jun-25 12:00:07 GMT', 7000],
    ['Sun, 01 Jun 2025 11:00:00 GMT', 0],
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('%j → %s', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });
});

describe('backoffDelay', () => {
  const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  it.each([
    [1, 50, 100],
    [2, 100, 200],
    [3, 200, 400],
    [4, 400, 800],
    [5, 500, 1000],
    [9, 500, 1000],
  ])('retry %i is within [%i, %i]', (retry, low, high) => {
    expect(backoffDelay(retry, policy, () => 0)).toBe(low);
    expect(backoffDelay(retry, policy, () => 0.999_999)).toBe(high);
    const sample = backoffDelay(retry, policy, Math.random);
    expect(sample).toBeGreaterThanOrEqual(low);
    expect(sample).toBeLessThanOrEqual(high);
  });
});
