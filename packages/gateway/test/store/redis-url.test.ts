import { describe, expect, it } from 'vitest';
import { parseSentinelUrl, redactRedisUrl } from '../../src/store/redis-url.js';

describe('parseSentinelUrl', () => {
  it.each([
    [
      'redis-sentinel://127.0.0.1:26379/main',
      { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'main' },
    ],
    [
      'redis-sentinel://:s%40cret@s1,s2:26380,[::1]:26381/main/2',
      {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'main',
        password: 's@cret',
        db: 2,
      },
    ],
    [
      'REDIS-SENTINEL://gw:pw@sentinel.internal/eu%20main/',
      {
        sentinels: [{ host: 'sentinel.internal', port: 26379 }],
        name: 'eu main',
        username: 'gw',
        password: 'pw',
      },
    ],
  ])('%s', (url, expected) => {
    expect(parseSentinelUrl(url)).toEqual(expected);
  });

  it.each([
    ['redis-sentinel://s1:26379', 'must be a redis-sentinel://'],
    ['redis-sentinel:///main', 'must be a redis-sentinel://'],
    ['redis-sentinel://s1:26379/main/zero', 'must be a redis-sentinel://'],
    ['redis-sentinel://s1:0/main', '(sentinel address "s1:0")'],
    ['redis-sentinel://s1,,s2/main', '(sentinel address "")'],
    ['redis-sentinel://s1/%E0%A4%A', '(bad %-escape)'],
  ])('%s is refused', (url, message) => {
    expect(() => parseSentinelUrl(url)).toThrow(message);
  });
});

describe('redactRedisUrl', () => {
  it.each([
    ['redis://:secret@cache:6380/2', 'redis://:***@cache:6380/2'],
    ['rediss://gw:secret@cache', 'rediss://gw:***@cache'],
    ['redis://cache', 'redis://cache'],
    ['redis-sentinel://gw:secret@s1:26379,s2/main', 'redis-sentinel://gw:***@s1:26379,s2/main'],
    ['redis-sentinel://s1/main', 'redis-sentinel://s1/main'],
  ])('%s → %s', (url, expected) => {
    expect(redactRedisUrl(url)).toBe(expected);
  });
});
