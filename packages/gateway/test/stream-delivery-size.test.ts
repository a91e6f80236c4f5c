import { describe, expect, it } from 'vitest';
import type { EventQueue, QueuedEntry } from '../src/events/event-queue.js';
import { type QueuedEvent, StreamDelivery } from '../src/events/stream-delivery.js';
import { ManualClock } from './sip-stack/manual-clock.js';

/** One shared queue in memory, as several nodes would see it, counting how often its size is read. */
function sharedQueue() {
  const streams = new Map<string, QueuedEntry[]>();
  let next = 0;
  let total = 0;
  const counts = { sizeReads: 0 };
  const queue: EventQueue = {
    append: async (subscriptionId, entry, max = 0) => {
      if (max > 0 && total >= max) return { appended: false, size: total };
      const stream = streams.get(subscriptionId) ?? [];
      stream.push({ id: String(++next), entry });
      streams.set(subscriptionId, stream);
      return { appended: true, size: ++total };
    },
    size: async () => {
      counts.sizeReads++;
      return total;
    },
    waiting: async () => [...streams.keys()],
    lock: async () => true,
    unlock: async () => {},
    next: async (subscriptionId, _nodeId, count) => (streams.get(subscriptionId) ?? []).slice(0, count),
    done: async (subscriptionId, id) => {
      const stream = streams.get(subscriptionId) ?? [];
      const at = stream.findIndex((e) => e.id === id);
      if (at >= 0) {
        stream.splice(at, 1);
        total--;
      }
      if (stream.length === 0) streams.delete(subscriptionId);
      return total;
    },
  };
  return { queue, counts, total: () => total };
}

const event = (subscriptionId: string, n: number): QueuedEvent =>
  ({
    target: { subscriptionId, sink: 'http://127.0.0.1:9/sink' },
    event: { id: `e${n}` },
    last: false,
  }) as unknown as QueuedEvent;

const logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('StreamDelivery.size(): the count of queued events every node shares', () => {
  it('answers the count its own appends and deliveries brought back, reading the store again only once it is older than sizeMaxAgeMs', async () => {
    const clock = new ManualClock(1_000);
    const shared = sharedQueue();
    const sent: string[] = [];
    const held: (() => void)[] = [];
    const delivery = new StreamDelivery(
      { nodeId: 'a', queue: shared.queue, clock, logger },
      { sizeMaxAgeMs: 100 },
      async (queued) => {
        await new Promise<void>((resolve) => held.push(resolve));
        sent.push((queued.event as { id: string }).id);
      },
    );
    // Nothing known yet: read from the store.
    expect(await delivery.size()).toBe(0);
    expect(shared.counts.sizeReads).toBe(1);

    // Appends bring the count back: exact at once, with no read.
    expect(await delivery.enqueue(event('s1', 1))).toBe(true);
    expect(await delivery.enqueue(event('s1', 2))).toBe(true);
    expect(await delivery.size()).toBe(2);
    expect(shared.counts.sizeReads).toBe(1);

    // Another node appends: this one sees it once its count is older than sizeMaxAgeMs.
    await shared.queue.append('s2', JSON.stringify(event('s2', 3)));
    await clock.advance(100);
    expect(await delivery.size()).toBe(2);
    await clock.advance(1);
    expect(await delivery.size()).toBe(3);
    expect(shared.counts.sizeReads).toBe(2);

    // A refused append (the queue at its max) brings the count back too.
    expect(await delivery.enqueue(event('s1', 4), 3)).toBe(false);
    expect(await delivery.size()).toBe(3);

    // Each delivered entry brings the count back down.
    while (held.length < 1) await new Promise((resolve) => setImmediate(resolve));
    held.shift()!();
    while (sent.length < 1) await new Promise((resolve) => setImmediate(resolve));
    while (shared.total() > 2) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await delivery.size()).toBe(2);
    expect(shared.counts.sizeReads).toBe(2);

    for (;;) {
      const go = held.shift();
      if (go !== undefined) go();
      else if (shared.total() === 1) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await delivery.close();
    expect(sent).toEqual(['e1', 'e2']);
  });
});
