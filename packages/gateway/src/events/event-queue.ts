/** One queued CloudEvent as the queue keeps it (JSON text), with the id the queue gave it. */
export interface QueuedEntry {
  id: string;
  entry: string;
}

/**
 * Per-subscription queues of CloudEvents shared by several gateway nodes (a
 * Redis stream per subscription with one consumer group): events are appended
 * in publication order and delivered by one node at a time, the holder of the
 * subscription's delivery lock. Entries a node read but did not finish stay
 * pending; the next holder claims them first, so nothing is lost when a node
 * dies (at least once: the receiver drops repeated event ids).
 */
export interface EventQueue {
  /**
   * Appends an entry to the subscription's queue, unless `max` (> 0) entries
   * are queued already, every subscription together (`appended: false` then);
   * with the entries queued after it, every subscription together.
   */
  append(subscriptionId: string, entry: string, max?: number): Promise<{ appended: boolean; size: number }>;
  /** Entries queued, every subscription together. */
  size(): Promise<number>;
  /** Ids of the subscriptions with entries waiting. */
  waiting(): Promise<string[]>;
  /** Takes, or extends, the subscription's delivery lock for `ms`; `true` when `nodeId` holds it. */
  lock(subscriptionId: string, nodeId: string, ms: number): Promise<boolean>;
  /** Releases the lock if `nodeId` holds it. */
  unlock(subscriptionId: string, nodeId: string): Promise<void>;
  /**
   * Up to `count` entries to deliver, oldest first: those read before and not
   * finished (by any node: they are claimed for `nodeId`), else new ones.
   */
  next(subscriptionId: string, nodeId: string, count: number): Promise<QueuedEntry[]>;
  /**
   * The entry is finished (delivered or given up): removed; an empty queue leaves `waiting()`.
   * Answers the entries still queued, every subscription together.
   */
  done(subscriptionId: string, id: string): Promise<number>;
}
