import { describe, expect, it } from 'vitest';
import { NodeLease } from '../../src/cluster/node-lease.js';
import type { Clock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';

/** A clock the test moves; timers are never run (the test calls `beat()`). */
const manualClock = () => {
  let now = 1_000_000;
  const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
  return { clock, advance: (ms: number) => (now += ms) };
};

const lease = (nodeId: string, store: Store, clock: Clock, events: string[]) =>
  new NodeLease(
    { nodeId, store, clock, logger: silentLogger },
    { leaseMs: 1000 },
    {
      republish: async (why) => {
        events.push(`${nodeId} republish ${why}`);
      },
      takeOver: async (dead) => {
        events.push(`${nodeId} takes over ${dead}`);
      },
    },
  );

describe('NodeLease: heartbeats, dead nodes, a store that lost its data', () => {
  it('a node silent past its lease is taken over once, by a node with a full lease of healthy heartbeats', async () => {
    const store = new MemoryStore();
    const { clock, advance } = manualClock();
    const events: string[] = [];
    const a = lease('a', store, clock, events);
    const b = lease('b', store, clock, events);
    await a.beat();
    await b.beat();
    advance(1500); // b goes silent; a has been healthy for 1.5 s
    await a.beat();
    await a.beat();
    expect(events).toEqual(['a takes over b']);
  });

  it('after a store outage a node first renews its lease before it takes others for dead', async () => {
    const store = new MemoryStore();
    const { clock, advance } = manualClock();
    const events: string[] = [];
    let failing = false;
    const flaky: Store = Object.create(store, {
      heartbeat: {
        value: (id: string, until: number) =>
          failing ? Promise.reject(new Error('down')) : store.heartbeat(id, until),
      },
    });
    const a = lease('a', flaky, clock, events);
    await a.beat();
    await store.heartbeat('b', clock.now() + 1000);
    failing = true;
    advance(5000);
    await a.beat(); // fails
    failing = false;
    await a.beat(); // the store is back: b's lease looks over, but a waits a lease
    expect(events).toEqual([]);
    await store.heartbeat('b', clock.now() + 1000); // b renews within that lease
    advance(900);
    await a.beat();
    expect(events).toEqual([]);
  });

  it('a new epoch (the store lost its data) or losing its listing makes a node store its calls again', async () => {
    const store = new MemoryStore();
    const { clock } = manualClock();
    const events: string[] = [];
    let epoch = 'one';
    let listed = true;
    const stub: Store = Object.create(store, {
      heartbeat: { value: async () => ({ epoch, listed }) },
    });
    const a = lease('a', stub, clock, events);
    await a.beat();
    epoch = 'two';
    await a.beat();
    listed = false;
    await a.beat();
    expect(events).toEqual(['a republish store-emptied', 'a republish lease-lost']);
  });
});
