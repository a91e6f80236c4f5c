/**
 * createSession reads the caller's registration as its node last read it, and
 * the store confirms it unchanged as the call is stored: a registration another
 * node refreshed or ended meanwhile is read again, never acted on as it was.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Gateway, type MediaSessionRecord, MemoryStore, type SessionConditions } from '../src/index.js';
import { ALICE, auth, createBody, DEVICE, expectError, harness } from './helpers.js';

/** A memory store that records what each createSession was asked to confirm, and how reads went. */
class WatchedStore extends MemoryStore {
  readonly creates: { registration: boolean; outcome: string }[] = [];
  registrationReads = 0;

  override async getRegistration(id: string) {
    this.registrationReads++;
    return super.getRegistration(id);
  }

  override async createSession(record: MediaSessionRecord, conditions?: SessionConditions) {
    const outcome = await super.createSession(record, conditions);
    this.creates.push({
      registration: conditions?.registration !== undefined,
      outcome: outcome.ok ? 'ok' : outcome.reason,
    });
    return outcome;
  }
}

let store: WatchedStore;
let nodeA: Gateway;
let nodeB: Gateway;
let registrationId: string;

const callFromA = () => nodeA.calls.create(auth(ALICE), registrationId, createBody());

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
  store = new WatchedStore();
  // Two nodes on one store.
  nodeA = harness({ store }).gw;
  nodeB = harness({ store }).gw;
  ({ registrationId } = await nodeB.registrations.create(auth(ALICE), { deviceId: DEVICE }));
});

afterEach(async () => {
  await nodeA.close();
  await nodeB.close();
  vi.useRealTimers();
});

describe('createSession and the registration as the node last read it', () => {
  it('reads a registration once while it is unchanged; the store confirms it with each call', async () => {
    for (let i = 0; i < 3; i++) await callFromA();
    expect(store.registrationReads).toBe(1);
    expect(store.creates).toEqual(Array(3).fill({ registration: true, outcome: 'ok' }));
  });

  it('refreshed on another node: the call is placed with the registration read again', async () => {
    await callFromA();
    await vi.advanceTimersByTimeAsync(60_000);
    await nodeB.registrations.refresh(auth(ALICE), registrationId, {});
    const created = await callFromA();
    expect(created.status).toBe('Initial');
    expect(store.creates.slice(1)).toEqual([
      { registration: true, outcome: 'REGISTRATION_CHANGED' },
      { registration: false, outcome: 'ok' },
    ]);
    // Read again (node B's refresh read it once too), and kept: the next call needs no read.
    expect(store.registrationReads).toBe(3);
    await callFromA();
    expect(store.registrationReads).toBe(3);
    expect(store.creates.at(-1)).toEqual({ registration: true, outcome: 'ok' });
    // Only the placed calls are stored and live; the refused attempt left no media endpoint.
    expect(nodeA.calls.live).toHaveLength(3);
    expect(nodeA.network!.media.endpoints.size).toBe(3);
  });

  it('ended on another node: 403 INVALID_TOKEN_CONTEXT, nothing stored, no INVITE sent', async () => {
    await callFromA();
    await nodeB.registrations.delete(auth(ALICE), registrationId);
    await expectError(callFromA(), 403, 'INVALID_TOKEN_CONTEXT');
    expect(store.creates.at(-1)).toEqual({ registration: true, outcome: 'REGISTRATION_CHANGED' });
    expect(nodeA.network!.outgoingCallId(1)).toBeUndefined();
    expect(await store.findSessions({ registrationId })).toHaveLength(1);
    expect(nodeA.network!.media.endpoints.size).toBe(1);
  });

  it('ended or refreshed on the same node: forgotten at once, no refused attempt', async () => {
    await callFromA();
    await vi.advanceTimersByTimeAsync(60_000);
    await nodeA.registrations.refresh(auth(ALICE), registrationId, {});
    await callFromA();
    expect(store.creates.map((c) => c.outcome)).toEqual(['ok', 'ok']);
    await nodeA.registrations.delete(auth(ALICE), registrationId);
    await expectError(callFromA(), 403, 'INVALID_TOKEN_CONTEXT');
    expect(store.creates).toHaveLength(2);
  });
});
