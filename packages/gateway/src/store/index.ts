export { DeferredWrites, type DeferredWritesOptions } from './deferred-writes.js';
export { MemoryStore } from './memory-store.js';
export * from './records.js';
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_KEY_PREFIX,
  RedisConnectError,
  type RedisConnectOptions,
  RedisStore,
  type RedisStoreOptions,
  redactRedisUrl,
} from './redis-store.js';
export type { NumberedSave, SessionConditions, Store } from './store.js';
