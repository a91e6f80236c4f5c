/**
 * A status change is stored and numbered in one store call; when that call
 * fails, the number is asked for on its own and the record is written again
 * later, without taking another number.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreUnavailableError } from '../src/errors.js';
import { type MediaSessionRecord, MemoryStore, type NumberedSave } from '../src/index.js';
import { ALICE, auth, createBody, type Harness, harness, onboard, settle, summary } from './helpers.js';

/** A memory store whose next numbered saves fail, as a store that just went away. */
class FlakyStore extends MemoryStore {
  failNumberedSaves = 0;
  readonly saves: { status: string; numbered: boolean }[] = [];

  override async saveSession(
    record: MediaSessionRecord,
    sequenceKey?: string,
  ): Promise<NumberedSave | undefined> {
    this.saves.push({ status: record.status, numbered: sequenceKey !== undefined });
    if (sequenceKey !== undefined && this.failNumberedSaves > 0) {
      this.failNumberedSaves--;
      throw new StoreUnavailableError(new Error('connection lost'));
    }
    return super.saveSession(record, sequenceKey);
  }
}

let h: Harness;
let store: FlakyStore;
let ids: { registrationId: string; subscriptionId: string };

beforeEach(async () => {
  vi.useFakeTimers({ now: new Date('2025-02-05T10:30:00.000Z') });
  store = new FlakyStore();
  h = harness({ store, events: { sequenceScope: 'session' }, storeWrites: { retryMs: 2000 } });
  ids = await onboard(h.gw);
});

afterEach(async () => {
  await h.gw.close();
  vi.useRealTimers();
});

/** Places a call that is answered; every event it raised arrived, numbered 1, 2, 3. */
async function answeredCall() {
  const created = await h.gw.calls.create(auth(ALICE), ids.registrationId, createBody());
  await settle(h.gw, 1000);
  expect(summary(h.sink, ids.subscriptionId).map((e) => [e.status, e.seq])).toEqual([
    ['InProgress', 1],
    ['Ringing', 2],
    ['Connected', 3],
  ]);
  return created;
}

describe('session-status numbers taken with the write of the status', () => {
  it('each status change is one store call that stores the record and numbers its event', async () => {
    const created = await answeredCall();
    expect(store.saves.filter((s) => s.numbered).map((s) => s.status)).toEqual([
      'InProgress',
      'Ringing',
      'Connected',
    ]);
    expect((await store.getSession(created.mediaSessionId))?.status).toBe('Connected');
    expect(await store.nextSequence(`session:${created.mediaSessionId}`)).toBe(4);
  });

  it('a failed write: the event is numbered on its own, the record written later without a number, none skipped', async () => {
    store.failNumberedSaves = 1;
    // Every event sent, numbered without a gap.
    const created = await answeredCall();
    // The later writes of the session wait behind the failed one (the store never goes back to an older state).
    expect((await store.getSession(created.mediaSessionId))?.status).toBe('Initial');
    expect(h.gw.writes.size).toBe(1);
    await settle(h.gw, 2000);
    expect(h.gw.writes.size).toBe(0);
    expect((await store.getSession(created.mediaSessionId))?.status).toBe('Connected');
    // The retry stored the latest record only: no number was taken for it.
    expect(store.saves.at(-1)).toEqual({ status: 'Connected', numbered: false });
    expect(await store.nextSequence(`session:${created.mediaSessionId}`)).toBe(4);
  });
});
