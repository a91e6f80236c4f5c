import { createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useRedis } from '../../../../test/support/redis.js';
import {
  EVENT_TYPES,
  type MediaSessionRecord,
  RedisConnectError,
  RedisStore,
  type RegistrationRecord,
  StoreUnavailableError,
  type SubscriptionRecord,
} from '../../src/index.js';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const ALICE = '+818000000001';
const DEVICE = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
const OTHER_DEVICE = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

let serial = 0;
const registration = (over: Partial<RegistrationRecord> = {}): RegistrationRecord => ({
  registrationId: `reg-${++serial}`,
  deviceId: DEVICE,
  phoneNumber: ALICE,
  userKey: ALICE,
  createdAt: NOW,
  expiresAt: NOW + HOUR,
  ...over,
});
const subscription = (over: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
  id: `sub-${++serial}`,
  ownerKey: ALICE,
  phoneNumber: ALICE,
  protocol: 'HTTP',
  sink: 'https://asp.example.com/hook',
  types: [EVENT_TYPES.sessionStatus],
  deviceId: DEVICE,
  config: {},
  startsAt: NOW,
  ...over,
});

const session = (over: Partial<MediaSessionRecord> = {}): MediaSessionRecord => ({
  mediaSessionId: `sess-${++serial}`,
  direction: 'outbound',
  phoneNumber: ALICE,
  registrationIds: [],
  deviceIds: [DEVICE],
  originatorAddress: ALICE,
  receiverAddress: '+818000000099',
  status: 'Initial',
  callId: `call-${serial}`,
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const redis = useRedis();

describe('RedisStore on a real redis-server: two gateway nodes', () => {
  let nodeA: RedisStore;
  let nodeB: RedisStore;
  let prefix: string;
  beforeEach(async () => {
    prefix = `nodes${++serial}:`;
    nodeA = await RedisStore.connect(redis().url, { keyPrefix: prefix });
    nodeB = await RedisStore.connect(redis().url, { keyPrefix: prefix });
  });
  afterEach(async () => {
    await nodeA.close();
    await nodeB.close();
  });

  it('50 parallel creates of the same deviceId + phone number from two nodes: exactly one ok', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? nodeA : nodeB).createRegistration(registration(), {}, NOW),
      ),
    );
    const ok = outcomes.filter((o) => o.ok);
    expect(ok).toHaveLength(1);
    const stored = await nodeA.findRegistrations({});
    expect(stored).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => !o.ok)) {
      expect(outcome).toEqual({ ok: false, reason: 'ALREADY_EXISTS', existing: stored[0] });
    }
    expect(await nodeB.findRegistrations({ phoneNumber: ALICE, deviceId: DEVICE })).toEqual(stored);
  });

  it('limits hold under a race: 50 devices, maxPerUser 3 → exactly 3 stored', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? nodeA : nodeB).createRegistration(
          registration({ deviceId: `device-${i}` }),
          { maxPerUser: 3 },
          NOW,
        ),
      ),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(3);
    expect(outcomes.filter((o) => !o.ok && o.reason === 'MAX_REGISTRATION_PER_USER')).toHaveLength(47);
    expect(await nodeB.findRegistrations({ phoneNumber: ALICE })).toHaveLength(3);
  });

  it('subscriptions: identical creates race to one; the quota holds; one node gets each take', async () => {
    const same = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? nodeA : nodeB).createSubscription(subscription(), {}),
      ),
    );
    expect(same.filter((o) => o.ok)).toHaveLength(1);
    const quota = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? nodeA : nodeB).createSubscription(
          subscription({ sink: `https://asp.example.com/hook/${i}` }),
          { maxPerOwner: 4 },
        ),
      ),
    );
    expect(quota.filter((o) => o.ok)).toHaveLength(3);
    const [stored] = await nodeA.findSubscriptions({ ownerKey: ALICE });
    const taken = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).takeSubscription(stored!.id)),
    );
    expect(taken.filter((s) => s !== undefined)).toEqual([stored]);
  });

  it('a registration taken on one node is gone for the other; sequence numbers are shared', async () => {
    const record = registration();
    await nodeA.createRegistration(record, {}, NOW);
    expect(await nodeB.getRegistration(record.registrationId)).toEqual(record);
    const taken = await Promise.all([
      nodeA.takeRegistration(record.registrationId),
      nodeB.takeRegistration(record.registrationId),
    ]);
    expect(taken.filter((r) => r !== undefined)).toEqual([record]);
    expect(await nodeA.refreshRegistration(record.registrationId, NOW + 2 * HOUR)).toBeUndefined();
    expect(await nodeB.getRegistration(record.registrationId)).toBeUndefined();

    const numbers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).nextSequence('session:s1')),
    );
    expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('RedisStore keys and connection', () => {
  let raw: Redis;
  beforeEach(() => {
    raw = new Redis(redis().url, { lazyConnect: true });
  });
  afterEach(async () => {
    await raw.quit();
  });

  it('keeps records as JSON under telegate:… keys with TTLs, with indexes and INCR counters', async () => {
    const store = await RedisStore.connect(redis().url);
    expect(store.keyPrefix).toBe('telegate:');
    const record = registration();
    await store.createRegistration(record, {}, NOW);
    const sub = subscription({ expiresAt: NOW + 60_000 });
    await store.createSubscription(sub, {});
    await store.nextSequence('session:abc');
    expect(JSON.parse((await raw.get(`telegate:reg:${record.registrationId}`)) ?? 'null')).toEqual(record);
    expect(JSON.parse((await raw.get(`telegate:sub:${sub.id}`)) ?? 'null')).toEqual(sub);
    // Registration indexes are sorted by expiry: the limits count the active ones (ZCOUNT), no record is read.
    // With no limit set, only the number's; the per-user ones are kept for their limit. A device's
    // registrations are a hash, phone number → id: the pair's uniqueness is one field.
    expect(await raw.zrange(`telegate:regidx:phone:${ALICE}`, 0, -1)).toEqual([record.registrationId]);
    expect(await raw.hgetall(`telegate:regidx:dev:${DEVICE}`)).toEqual({ [ALICE]: record.registrationId });
    for (const index of [`user:${ALICE}`, `ud:${DEVICE}:${ALICE}`, `userdev:${ALICE}`]) {
      expect(await raw.exists(`telegate:regidx:${index}`)).toBe(0);
    }
    const limited = registration({ deviceId: OTHER_DEVICE });
    await store.createRegistration(limited, { maxPerUser: 5, maxDevicesPerUser: 5 }, NOW);
    expect(await raw.zrange(`telegate:regidx:user:${ALICE}`, 0, -1)).toEqual([limited.registrationId]);
    expect(await raw.zrange(`telegate:regidx:ud:${OTHER_DEVICE}:${ALICE}`, 0, -1)).toEqual([
      limited.registrationId,
    ]);
    expect(await raw.zrange(`telegate:regidx:userdev:${ALICE}`, 0, -1)).toEqual([OTHER_DEVICE]);
    expect(
      await raw.exists(`telegate:regidx:pair:${ALICE}:${DEVICE}`, `telegate:regidx:device:${DEVICE}`),
    ).toBe(0);
    expect(await raw.smembers(`telegate:subidx:owner:${ALICE}`)).toEqual([sub.id]);
    // Every record has a TTL (its end lies in the past here: the lapsed grace, 1 h, is left).
    for (const key of [`reg:${record.registrationId}`, `sub:${sub.id}`, 'seq:session:abc']) {
      const ttl = await raw.pttl(`telegate:${key}`);
      expect(ttl).toBeGreaterThan(3_000_000);
    }
    // The expiry indexes: sorted sets scored by when each one ends.
    expect(await raw.zrange('telegate:regidx:due', 0, -1, 'WITHSCORES')).toEqual(
      [record, limited]
        .sort((a, b) => (a.registrationId < b.registrationId ? -1 : 1))
        .flatMap((r) => [r.registrationId, String(r.expiresAt)]),
    );
    expect(await raw.zrange('telegate:subidx:due', 0, -1, 'WITHSCORES')).toEqual([
      sub.id,
      String(NOW + 60_000),
    ]);
    expect(await raw.get('telegate:seq:session:abc')).toBe('1');
    await store.takeRegistration(record.registrationId);
    await store.takeRegistration(limited.registrationId);
    await store.takeSubscription(sub.id);
    await store.deleteSequence('session:abc');
    // Nothing is left behind: no record, no empty index.
    expect((await raw.keys('telegate:*')).sort()).toEqual([]);
    await store.close();
  });

  it('a registration written by the earlier layouts (every index by user kept; pair key and device sorted set) is found, counted, refreshed and removed', async () => {
    // Earlier versions put each registration in all six indexes, a device's registrations in a
    // sorted set and the pair's id in a key of its own; this one writes the per-user indexes only
    // for their limits and a device's registrations in one hash. It reads and removes the earlier
    // keys as they are; a refresh moves the registration to the hash.
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'old:' });
    const record = registration();
    const id = record.registrationId;
    const due = String(record.expiresAt);
    const indexes = [`phone:${ALICE}`, `user:${ALICE}`, `device:${DEVICE}`, `ud:${DEVICE}:${ALICE}`, 'due'];
    await raw.set(`old:reg:${id}`, JSON.stringify(record), 'PX', 2 * HOUR);
    await raw.set(`old:regidx:pair:${ALICE}:${DEVICE}`, id, 'PX', 2 * HOUR);
    for (const index of indexes) await raw.zadd(`old:regidx:${index}`, due, id);
    await raw.zadd(`old:regidx:userdev:${ALICE}`, due, DEVICE);

    expect(await store.findRegistrations({ phoneNumber: ALICE })).toEqual([record]);
    expect(await store.findRegistrations({ deviceId: DEVICE })).toEqual([record]);
    expect(await store.createRegistration(registration(), {}, NOW)).toMatchObject({
      reason: 'ALREADY_EXISTS',
    });
    const other = registration({ deviceId: OTHER_DEVICE });
    expect(await store.createRegistration(other, { maxPerUser: 1 }, NOW)).toEqual({
      ok: false,
      reason: 'MAX_REGISTRATION_PER_USER',
    });
    expect(await store.createRegistration(other, { maxDevicesPerUser: 1 }, NOW)).toEqual({
      ok: false,
      reason: 'MAX_DEVICES_PER_USER',
    });
    // A refresh moves it in every index that holds it, the per-user ones included, and from the
    // pair key and the device's sorted set to the device's hash.
    await store.refreshRegistration(id, NOW + 2 * HOUR);
    for (const index of indexes.filter((index) => index !== `device:${DEVICE}`))
      expect(await raw.zscore(`old:regidx:${index}`, id)).toBe(String(NOW + 2 * HOUR));
    expect(await raw.zscore(`old:regidx:userdev:${ALICE}`, DEVICE)).toBe(String(NOW + 2 * HOUR));
    expect(await raw.exists(`old:regidx:pair:${ALICE}:${DEVICE}`, `old:regidx:device:${DEVICE}`)).toBe(0);
    expect(await raw.hgetall(`old:regidx:dev:${DEVICE}`)).toEqual({ [ALICE]: id });
    expect(await store.findRegistrations({ deviceId: DEVICE })).toEqual([
      { ...record, expiresAt: NOW + 2 * HOUR },
    ]);
    expect(await store.createRegistration(registration(), {}, NOW)).toMatchObject({
      reason: 'ALREADY_EXISTS',
    });
    expect(await store.takeRegistration(id)).toEqual({ ...record, expiresAt: NOW + 2 * HOUR });
    expect(await raw.keys('old:*')).toEqual([]);
    await store.close();
  });

  it("a registration Redis dropped (its TTL ran out) leaves its device's hash on the next read; its pair can register again", async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'ttl:' });
    const record = registration();
    const kept = registration({ phoneNumber: '+15550000002' });
    await store.createRegistration(record, {}, NOW);
    await store.createRegistration(kept, {}, NOW);
    await raw.del(`ttl:reg:${record.registrationId}`);
    expect(await store.findRegistrations({ deviceId: DEVICE })).toEqual([kept]);
    expect(await raw.hgetall(`ttl:regidx:dev:${DEVICE}`)).toEqual({
      [kept.phoneNumber]: kept.registrationId,
    });
    const again = registration();
    expect(await store.createRegistration(again, {}, NOW)).toEqual({ ok: true });
    expect(await raw.hget(`ttl:regidx:dev:${DEVICE}`, ALICE)).toBe(again.registrationId);
    await store.close();
  });

  it('a create costs the same number of Redis commands with 1 or 300 registrations and subscriptions of the user', async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'cost:' });
    const deviceOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    /** Commands Redis ran (scripts' own calls included) for one create of each kind. */
    const costOfCreates = async (n: number) => {
      await raw.config('RESETSTAT');
      await store.createRegistration(registration({ deviceId: deviceOf(n) }), {}, NOW);
      await store.createRegistration(
        registration({ deviceId: deviceOf(n + 1) }),
        { maxPerUser: 1000, maxPerMsisdn: 1000, maxDevicesPerUser: 1000 },
        NOW,
      );
      await store.createSubscription(subscription({ deviceId: deviceOf(n) }), { maxPerOwner: 1000 });
      const stats = (await raw.info('commandstats')) as string;
      let calls = 0;
      for (const match of stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
        if (!['config', 'info'].includes(match[1] ?? '')) calls += Number(match[2]);
      }
      return calls;
    };
    const few = await costOfCreates(1_000);
    expect(few).toBeGreaterThan(10);
    for (let n = 0; n < 300; n++) {
      await store.createRegistration(registration({ deviceId: deviceOf(n) }), {}, NOW);
      await store.createSubscription(subscription({ deviceId: deviceOf(n) }), {});
    }
    expect(await costOfCreates(2_000)).toBe(few);
    await store.close();
  });

  it('creates asked for in one turn go to Redis together (at most 32 per script call) and answer as if sent one by one', async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'batch:' });
    const limit = { maxPerUser: 3 };
    const first = registration({ deviceId: 'device-same', userKey: 'user-a' });
    const asked: [RegistrationRecord, typeof limit][] = [
      // The same pair twice: the first is stored, the second finds it.
      [first, limit],
      [registration({ deviceId: 'device-same', userKey: 'user-a' }), limit],
      // user-b reaches its limit of 3 within the batch: the fourth is refused.
      ...Array.from({ length: 4 }, (_, i): [RegistrationRecord, typeof limit] => [
        registration({ deviceId: `device-b${i}`, userKey: 'user-b' }),
        limit,
      ]),
      // Enough others that the creates need two calls.
      ...Array.from({ length: 34 }, (_, i): [RegistrationRecord, typeof limit] => [
        registration({ deviceId: `device-c${i}`, userKey: `user-c${i}` }),
        limit,
      ]),
    ];
    // Redis learns the script on the first call (EVAL); later ones run it by SHA.
    await store.createRegistration(
      registration({ deviceId: 'device-warm', phoneNumber: '+818000000002' }),
      {},
      NOW,
    );
    await raw.config('RESETSTAT');
    const outcomes = await Promise.all(
      asked.map(([record, limits]) => store.createRegistration(record, limits, NOW)),
    );
    const stats = (await raw.info('commandstats')) as string;
    expect(Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1] ?? 0)).toBe(2);

    expect(outcomes[0]).toEqual({ ok: true });
    expect(outcomes[1]).toEqual({ ok: false, reason: 'ALREADY_EXISTS', existing: first });
    expect(outcomes.slice(2, 6)).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, reason: 'MAX_REGISTRATION_PER_USER' },
    ]);
    expect(outcomes.slice(6).every((o) => o.ok)).toBe(true);
    expect(await store.findRegistrations({ phoneNumber: ALICE })).toHaveLength(1 + 3 + 34);

    // A failed call fails every create it carried, with the store's 503 error, and stores nothing.
    await store.close();
    const failed = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) =>
        store.createRegistration(registration({ deviceId: `late-${i}` }), {}, NOW),
      ),
    );
    for (const outcome of failed) {
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(StoreUnavailableError);
    }
    expect(await raw.exists(...Array.from({ length: 3 }, (_, i) => `batch:regidx:dev:late-${i}`))).toBe(0);
  });

  it('a create that fails in Redis fails alone: the others of its call are stored and answered', async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'batchfail:' });
    // A lapsed registration of the pair whose record is not JSON: replacing it raises a Lua error.
    await raw.hset(`batchfail:regidx:dev:${DEVICE}`, ALICE, 'broken');
    await raw.zadd('batchfail:regidx:due', NOW - 1, 'broken');
    await raw.set('batchfail:reg:broken', 'not json');
    const before = registration({ deviceId: 'device-before' });
    const after = registration({ deviceId: 'device-after' });
    const outcomes = await Promise.allSettled([
      store.createRegistration(before, {}, NOW),
      store.createRegistration(registration(), {}, NOW),
      store.createRegistration(after, {}, NOW),
    ]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(outcomes[1]!.status === 'rejected' && outcomes[1]!.reason).toBeInstanceOf(StoreUnavailableError);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(await store.getRegistration(before.registrationId)).toEqual(before);
    expect(await store.getRegistration(after.registrationId)).toEqual(after);
    await store.close();
  });

  it('session creates and saves asked for in one turn go to Redis together and answer as if sent one by one', async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'sessbatch:' });
    const reg = registration();
    expect(await store.createRegistration(reg, {}, NOW)).toEqual({ ok: true });
    // Redis learns the script on the first call (EVAL); later ones run it by SHA.
    const warm = session();
    await store.createSession(warm);
    await raw.config('RESETSTAT');
    const first = session({ registrationIds: [reg.registrationId] });
    const second = session();
    const third = session();
    const outcomes = await Promise.allSettled([
      store.createSession(first, { registration: reg, maxActivePerNumber: 3 }),
      // The number's third unfinished session (with the warm one) reaches the limit of 3: the next is refused.
      store.createSession(second, { maxActivePerNumber: 3 }),
      store.createSession(third, { maxActivePerNumber: 3 }),
      // The same id again, and a registration that is no longer as read.
      store.createSession(first),
      store.createSession(session(), { registration: { ...reg, expiresAt: NOW + 1 } }),
      // A save of the session created just before in the same call, numbered, then one not numbered.
      store.saveSession({ ...first, status: 'Connected', updatedAt: NOW + 1 }, `seq-${first.mediaSessionId}`),
      store.saveSession({ ...second, status: 'Terminated', endedAt: NOW + 2, updatedAt: NOW + 2 }),
    ]);
    const stats = (await raw.info('commandstats')) as string;
    expect(Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1] ?? 0)).toBe(1);
    expect(outcomes.slice(0, 3)).toEqual([
      { status: 'fulfilled', value: { ok: true } },
      { status: 'fulfilled', value: { ok: true } },
      { status: 'fulfilled', value: { ok: false, reason: 'MAX_ACTIVE_SESSIONS' } },
    ]);
    expect(outcomes[3]).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/exists/) },
    });
    expect(outcomes[4]).toEqual({
      status: 'fulfilled',
      value: { ok: false, reason: 'REGISTRATION_CHANGED' },
    });
    expect(outcomes[5]).toEqual({
      status: 'fulfilled',
      value: { sequenceNumber: 1, subscriptionsVersion: '' },
    });
    expect(outcomes[6]).toEqual({ status: 'fulfilled', value: undefined });
    expect(await store.getSession(first.mediaSessionId)).toMatchObject({ status: 'Connected' });
    expect(await store.getSession(second.mediaSessionId)).toMatchObject({ status: 'Terminated' });
    expect(await store.getSession(third.mediaSessionId)).toBeUndefined();
    await store.close();
  });

  it('a session write that fails in Redis fails alone: the others of its call are stored and answered', async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'sessfail:' });
    const broken = session();
    // A stored record that is not JSON: re-indexing it on a save raises a Lua error.
    await raw.set(`sessfail:sess:${broken.mediaSessionId}`, 'not json');
    const before = session();
    const after = session();
    const outcomes = await Promise.allSettled([
      store.createSession(before),
      store.saveSession(broken),
      store.createSession(after),
    ]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: { ok: true } });
    expect(outcomes[1]!.status === 'rejected' && outcomes[1]!.reason).toBeInstanceOf(StoreUnavailableError);
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: { ok: true } });
    // The failed save wrote nothing.
    expect(await raw.get(`sessfail:sess:${broken.mediaSessionId}`)).toBe('not json');
    expect(await store.getSession(before.mediaSessionId)).toEqual(before);
    expect(await store.getSession(after.mediaSessionId)).toEqual(after);
    await store.close();
  });

  it('another key prefix or database is another store', async () => {
    const a = await RedisStore.connect(redis().url, { keyPrefix: 'tenant-a:' });
    const b = await RedisStore.connect(redis().url, { keyPrefix: 'tenant-b:' });
    const db5 = await RedisStore.connect(`${redis().url}/5`, { keyPrefix: 'tenant-a:' });
    const record = registration();
    expect(await a.createRegistration(record, {}, NOW)).toEqual({ ok: true });
    expect(await b.getRegistration(record.registrationId)).toBeUndefined();
    expect(await db5.getRegistration(record.registrationId)).toBeUndefined();
    expect(await b.createRegistration(registration(), {}, NOW)).toEqual({ ok: true });
    expect(await db5.createRegistration(registration(), {}, NOW)).toEqual({ ok: true });
    await raw.select(5);
    expect(await raw.exists(`tenant-a:reg:reg-${serial}`)).toBe(1);
    for (const store of [a, b, db5]) await store.close();
  });

  it('close() quits the connection; closing again is harmless; later calls fail', async () => {
    const store = await RedisStore.connect(redis().url, { keyPrefix: 'closing:' });
    const clients = async () => (await raw.client('LIST')) as string;
    const before = (await clients()).split('\n').filter(Boolean).length;
    await store.close();
    await store.close();
    await expect.poll(async () => (await clients()).split('\n').filter(Boolean).length).toBe(before - 1);
    await expect(store.getRegistration('x')).rejects.toThrow();
  });

  it('a refused connection: RedisConnectError naming the server and why, without the password', async () => {
    const port = await closedPort();
    const started = Date.now();
    const failure = RedisStore.connect(`redis://:s3cret@127.0.0.1:${port}/2`);
    await expect(failure).rejects.toBeInstanceOf(RedisConnectError);
    await expect(failure).rejects.toThrow(
      `cannot connect to Redis at redis://:***@127.0.0.1:${port}/2 (ECONNREFUSED)`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('no sentinel answers: RedisConnectError naming them, without the password', async () => {
    const port = await closedPort();
    const started = Date.now();
    const url = `redis-sentinel://:s3cret@127.0.0.1:${port}/main`;
    const failure = RedisStore.connect(url);
    await expect(failure).rejects.toBeInstanceOf(RedisConnectError);
    await expect(failure).rejects.toThrow(
      `cannot connect to Redis at redis-sentinel://:***@127.0.0.1:${port}/main (`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a server that accepts and never answers: RedisConnectError after connectTimeoutMs', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await expect(
        RedisStore.connect(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 }),
      ).rejects.toThrow(`cannot connect to Redis at redis://127.0.0.1:${port} (no answer within 300 ms)`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
