export { type Clock, systemClock, type TimerHandle, TimerSet } from './clock.js';
export type { Closable } from './closable.js';
export { type EventMap, type Listener, TypedEmitter } from './emitter.js';
export { type IdGenerator, randomIds } from './ids.js';
export { InflightWork } from './inflight.js';
export { type Logger, silentLogger } from './logger.js';
export { SerialQueue } from './serial-queue.js';
export { parseDateTime, toDateTime } from './time.js';
