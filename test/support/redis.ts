import { afterAll, beforeAll } from 'vitest';
import { type LocalRedis, startRedis } from './redis-server.js';

export {
  type LocalRedis,
  type LocalSentinel,
  type StartRedisOptions,
  startRedis,
  startSentinel,
} from './redis-server.js';

/**
 * One redis-server for the tests of the calling `describe` (or file): started
 * before them, stopped after. `redis()` returns it, or throws why it could not
 * start, so every test fails with that message instead of being skipped.
 */
export function useRedis(): () => LocalRedis {
  let redis: LocalRedis | undefined;
  let failure: unknown;
  beforeAll(async () => {
    try {
      redis = await startRedis();
    } catch (error) {
      failure = error;
    }
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return () => {
    if (redis === undefined)
      throw failure ?? new Error('redis-server is not started yet (use it inside a test)');
    return redis;
  };
}
