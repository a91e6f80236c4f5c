/**
 * Matching a call's session-status events reads the subscriptions of its number
 * once while they are unchanged: each status change is stored with the version
 * of those subscriptions, and an event whose version is the one read goes to
 * what was read. A subscription created or ended on another node changes the
 * version, so the next event reads them again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENT_TYPES, MemoryStore } from '../src/index.js';
import { ALICE, auth, createBody, DEVICE, type Harness, harness, SINK, settle, summary } from './helpers.js';

class CountingStore extends MemoryStore {
  numberReads = 0;

  override async numberSubscriptions(phoneNumber: string) {
    this.numberReads++;
    return super.numberSubscriptions(phoneNumber);
  }
}

const subscriptionBody = {
  protocol: 'HTTP',
  sink: SINK,
  sinkCredential: {
    credentialType: 'ACCESSTOKEN',
    accessToken: 'eyJ2ZXIiOiIxLjAiLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc123',
    accessTokenExpiresUtc: '2030-01-01T00:00:00Z',
    accessTokenType: 'bearer',
  },
  types: [EVENT_TYPES.sessionStatus],
  config: { subscriptionDetail: { deviceId: DEVICE } },
};

let store: CountingStore;
let nodeA: Harness;
let nodeB: Harness;
let registrationId: string;

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
  store = new CountingStore();
  // Two nodes on one store: calls on node A, subscriptions changed on node B.
  nodeA = harness({ store });
  nodeB = harness({ store });
  ({ registrationId } = await nodeA.gw.registrations.create(auth(ALICE), { deviceId: DEVICE }));
});

afterEach(async () => {
  await nodeA.gw.close();
  await nodeB.gw.close();
  vi.useRealTimers();
});

const call = async () => {
  const created = await nodeA.gw.calls.create(auth(ALICE), registrationId, createBody());
  await settle(nodeA.gw, 1000);
  return created.mediaSessionId;
};

describe('session-status events and the subscriptions of the number as last read', () => {
  it('reads them once for a call’s events while they are unchanged', async () => {
    const first = await nodeB.gw.subscriptions.create(auth(ALICE), subscriptionBody);
    await call();
    expect(summary(nodeA.sink, first.id).map((e) => e.status)).toEqual([
      'InProgress',
      'Ringing',
      'Connected',
    ]);
    expect(store.numberReads).toBe(1);
    await call();
    expect(summary(nodeA.sink, first.id)).toHaveLength(6);
    expect(store.numberReads).toBe(1);
  });

  it('a read serves events for at most 10 s, whatever their version', async () => {
    await call();
    expect(store.numberReads).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    await call();
    expect(store.numberReads).toBe(2);
  });

  it('a subscription created on another node gets the next event; one ended there gets none after its end', async () => {
    const id = await call();
    expect(store.numberReads).toBe(1);
    const late = await nodeB.gw.subscriptions.create(auth(ALICE), subscriptionBody);
    await nodeA.gw.calls.delete(auth(ALICE), id);
    await settle(nodeA.gw);
    expect(summary(nodeA.sink, late.id).map((e) => e.status)).toEqual(['Terminated']);
    expect(store.numberReads).toBe(2);

    await nodeB.gw.subscriptions.delete(auth(ALICE), late.id);
    await settle(nodeB.gw);
    await call();
    expect(summary(nodeA.sink, late.id).map((e) => e.status)).toEqual(['Terminated']);
    expect(store.numberReads).toBe(3);
  });
});
