export { MemoryStore } from './memory-store.js';
export * from './records.js';
export type { Store } from './store.js';
