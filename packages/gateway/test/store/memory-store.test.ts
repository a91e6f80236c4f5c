import { afterEach, describe, expect, it } from 'vitest';
import { callerRecords } from '../../../../test/support/store-records.js';
import { MemoryStore } from '../../src/index.js';

/*
 * What a request costs in the memory store must not grow with the records of
 * other callers (as in the Redis store, whose scripts read indexes): a query by
 * a field reads the index of that field, never the whole table. Checked by
 * counting the iterations of any Map or Set as large as the tables filled here
 * while each operation runs; the contract suite checks the answers.
 */

const NOW = 1_700_000_000_000;
const OTHERS = 2_000;
const { phone, device, registration, session, ended, subscription } = callerRecords(NOW);

/** A store holding `OTHERS` registrations, live and ended sessions, and subscriptions of other callers. */
async function filledStore(): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (let i = 1; i <= OTHERS; i++) {
    await store.createRegistration(registration(i), { maxPerUser: 5, maxDevicesPerUser: 5 }, NOW);
    await store.createSession(session(i));
    // Every other one ended: kept as text, which a scan would have to parse.
    await store.createSession(ended(OTHERS + i));
    await store.createSubscription(subscription(i), { maxPerOwner: 5 });
  }
  return store;
}

const ITERATORS = ['values', 'keys', 'entries', 'forEach', Symbol.iterator] as const;
const restores: (() => void)[] = [];
afterEach(() => {
  for (const restore of restores.splice(0)) restore();
});

/** Counts from now on each iteration of a Map or Set of at least `size` entries. */
function countLargeIterations(size: number): { count: number } {
  const counter = { count: 0 };
  for (const proto of [Map.prototype, Set.prototype] as unknown as Record<PropertyKey, unknown>[]) {
    for (const name of ITERATORS) {
      const original = proto[name] as (this: Map<unknown, unknown>, ...args: unknown[]) => unknown;
      proto[name] = function (this: Map<unknown, unknown>, ...args: unknown[]) {
        if (this.size >= size) counter.count++;
        return original.apply(this, args);
      };
      restores.push(() => {
        proto[name] = original;
      });
    }
  }
  return counter;
}

describe('MemoryStore: a request reads only the records it is about', () => {
  it('no operation of a request iterates a table of every caller', async () => {
    const store = await filledStore();
    const me = OTHERS + 10_000;
    const ops: [string, () => Promise<unknown>][] = [
      [
        'createRegistration',
        () =>
          store.createRegistration(
            registration(me),
            { maxPerUser: 5, maxPerMsisdn: 5, maxDevicesPerUser: 5 },
            NOW,
          ),
      ],
      ['findRegistrations by number', () => store.findRegistrations({ phoneNumber: phone(me) })],
      ['findRegistrations by device', () => store.findRegistrations({ deviceId: device(me) })],
      ['createSession', () => store.createSession(session(me), { maxActivePerNumber: 3 })],
      ['saveSession', () => store.saveSession(ended(me), 'seq')],
      ['findSessions by registration', () => store.findSessions({ registrationId: `reg-${me}` })],
      ['findSessions by number', () => store.findSessions({ phoneNumber: phone(me) })],
      ['findSessions by node', () => store.findSessions({ owner: `node-${me}` })],
      ['countActiveSessions', () => store.countActiveSessions(phone(me))],
      ['createSubscription', () => store.createSubscription(subscription(me), { maxPerOwner: 5 })],
      ['numberSubscriptions', () => store.numberSubscriptions(phone(me))],
      ['findSubscriptions by owner', () => store.findSubscriptions({ ownerKey: `${phone(me)}|client-1` })],
      ['findSubscriptions by device', () => store.findSubscriptions({ deviceId: device(me) })],
      ['saveSubscription', () => store.saveSubscription(subscription(me, { phoneNumber: phone(me + 1) }))],
      ['takeSubscription', () => store.takeSubscription(`sub-${me}`)],
      ['deleteSession', () => store.deleteSession(`session-${me}`)],
      ['takeRegistration', () => store.takeRegistration(`reg-${me}`)],
    ];
    const scans: string[] = [];
    for (const [name, run] of ops) {
      const counter = countLargeIterations(OTHERS);
      const parse = JSON.parse;
      let parsed = 0;
      JSON.parse = (...args: Parameters<typeof JSON.parse>) => {
        parsed++;
        return parse(...args);
      };
      try {
        await run();
      } finally {
        JSON.parse = parse;
        for (const restore of restores.splice(0)) restore();
      }
      // At most the caller's own ended session is parsed (a scan would parse every one of the others').
      if (counter.count > 0 || parsed > 1) scans.push(`${name}: ${counter.count} scans, ${parsed} parsed`);
    }
    expect(scans).toEqual([]);
    // The answers still come from the indexes.
    expect(await store.findRegistrations({ deviceId: device(7) })).toEqual([registration(7)]);
    expect(await store.findSessions({ registrationId: 'reg-7' })).toEqual([session(7)]);
    expect(await store.findSubscriptions({ phoneNumber: phone(7) })).toEqual([subscription(7)]);
  });

  it('the check itself sees a scan: listing everything iterates the tables', async () => {
    const store = await filledStore();
    const counter = countLargeIterations(OTHERS);
    expect(await store.findRegistrations({})).toHaveLength(OTHERS);
    expect(await store.findSubscriptions({})).toHaveLength(OTHERS);
    expect(await store.findSessions({})).toHaveLength(2 * OTHERS);
    expect(counter.count).toBeGreaterThanOrEqual(3);
  });
});
