import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalRedis, startRedis } from '../../../../test/support/redis.js';
import {
  EVENT_TYPES,
  type MediaSessionRecord,
  MemoryStore,
  RedisStore,
  type RegistrationRecord,
  type Store,
  type SubscriptionRecord,
} from '../../src/index.js';

/*
 * The Store contract: one table of cases, run against every implementation.
 * A case gets a fresh, empty store.
 */

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const ALICE = '+818000000001';
const BOB = '+818000000002';
const CAROL = '+818000000003';
const DEVICE_A = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
const DEVICE_B = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const DEVICE_C = '0b7a2a3e-6f4e-4f7c-9d1a-5a0c1f2e3d4c';
const SINK = 'https://asp.example.com/webhooks/webrtc';
const OTHER_SINK = 'https://asp.example.com/webhooks/other';

let serial = 0;
const nextId = (kind: string) => `${kind}-${++serial}`;

const registration = (over: Partial<RegistrationRecord> = {}): RegistrationRecord => ({
  registrationId: nextId('reg'),
  deviceId: DEVICE_A,
  phoneNumber: ALICE,
  userKey: over.phoneNumber ?? ALICE,
  createdAt: NOW,
  expiresAt: NOW + HOUR,
  ...over,
});

const session = (over: Partial<MediaSessionRecord> = {}): MediaSessionRecord => ({
  mediaSessionId: nextId('session'),
  direction: 'outbound',
  phoneNumber: ALICE,
  registrationIds: ['reg-x'],
  deviceIds: [DEVICE_A],
  originatorAddress: `tel:${ALICE}`,
  originatorName: 'Alice — 愛',
  receiverAddress: `tel:${BOB}`,
  status: 'Initial',
  offer: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n',
  callType: 'REGULAR',
  locationDetails: { shape: 'Circle', coordinates: { latitude: 35.6, longitude: 139.7, radius: 20.5 } },
  callId: 'a84b4c76e66710@gw',
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});

const subscription = (over: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
  id: nextId('sub'),
  ownerKey: `${over.phoneNumber ?? ALICE}|client-1`,
  phoneNumber: ALICE,
  clientId: 'client-1',
  protocol: 'HTTP',
  sink: SINK,
  sinkCredential: {
    credentialType: 'ACCESSTOKEN',
    accessToken: 'token-0123456789',
    accessTokenExpiresUtc: '2030-01-01T00:00:00Z',
    accessTokenType: 'bearer',
  },
  types: [EVENT_TYPES.sessionStatus, EVENT_TYPES.sessionInvitation],
  deviceId: DEVICE_A,
  config: { subscriptionMaxEvents: 5, initialEvent: false },
  startsAt: NOW,
  expiresAt: NOW + HOUR,
  ...over,
});

/** Ids, sorted: lists are compared as sets (their order is not part of the contract). */
const ids = (
  records: readonly ({ registrationId: string } | { mediaSessionId: string } | { id: string })[],
) =>
  records
    .map((r) => ('registrationId' in r ? r.registrationId : 'mediaSessionId' in r ? r.mediaSessionId : r.id))
    .sort();

type Case = [name: string, run: (store: Store) => Promise<void>];

const CONTRACT: Case[] = [
  // ------------------------------------------------------------------ registrations
  [
    'createRegistration stores a copy; getRegistration returns copies, undefined for unknown ids',
    async (store) => {
      const record = registration();
      expect(await store.createRegistration(record, {}, NOW)).toEqual({ ok: true });
      record.deviceId = DEVICE_B;
      const got = await store.getRegistration(record.registrationId);
      expect(got).toEqual({ ...record, deviceId: DEVICE_A });
      got!.expiresAt = 0;
      expect((await store.getRegistration(record.registrationId))?.expiresAt).toBe(NOW + HOUR);
      expect(await store.getRegistration('no-such-registration')).toBeUndefined();
    },
  ],
  [
    'an active registration of the same deviceId + phoneNumber: ALREADY_EXISTS with the existing record',
    async (store) => {
      const first = registration();
      await store.createRegistration(first, {}, NOW);
      const again = registration();
      expect(await store.createRegistration(again, {}, NOW)).toEqual({
        ok: false,
        reason: 'ALREADY_EXISTS',
        existing: first,
      });
      // Another user of the same number and device is the same pair too.
      expect(
        await store.createRegistration(registration({ userKey: 'someone-else' }), {}, NOW),
      ).toMatchObject({
        ok: false,
        reason: 'ALREADY_EXISTS',
      });
      expect(await store.getRegistration(again.registrationId)).toBeUndefined();
      // Another device, or the same device for another number, is a new pair.
      expect(await store.createRegistration(registration({ deviceId: DEVICE_B }), {}, NOW)).toEqual({
        ok: true,
      });
      expect(await store.createRegistration(registration({ phoneNumber: BOB }), {}, NOW)).toEqual({
        ok: true,
      });
      expect(await store.findRegistrations({})).toHaveLength(3);
    },
  ],
  [
    'a lapsed record of the same pair (timer not fired yet) is replaced: gone from get and every index',
    async (store) => {
      const lapsed = registration({ expiresAt: NOW });
      await store.createRegistration(lapsed, {}, NOW - HOUR);
      const other = registration({ deviceId: DEVICE_B, expiresAt: NOW - 1 });
      await store.createRegistration(other, {}, NOW - HOUR);
      const fresh = registration();
      // expiresAt === now counts as lapsed.
      expect(await store.createRegistration(fresh, {}, NOW)).toEqual({ ok: true });
      expect(await store.getRegistration(lapsed.registrationId)).toBeUndefined();
      expect(ids(await store.findRegistrations({ phoneNumber: ALICE }))).toEqual(
        ids([fresh, other]), // a lapsed record of another pair stays until its timer takes it
      );
      expect(ids(await store.findRegistrations({ deviceId: DEVICE_A }))).toEqual([fresh.registrationId]);
      expect(ids(await store.findRegistrations({}))).toEqual(ids([fresh, other]));
      expect(await store.takeRegistration(lapsed.registrationId)).toBeUndefined();
    },
  ],
  [
    'maxPerUser counts the user’s active registrations on every number, not lapsed ones',
    async (store) => {
      const limits = { maxPerUser: 2 };
      const user = 'subject-1';
      await store.createRegistration(registration({ userKey: user, expiresAt: NOW - 1 }), limits, NOW - HOUR);
      expect(await store.createRegistration(registration({ userKey: user }), limits, NOW)).toEqual({
        ok: true,
      });
      expect(
        await store.createRegistration(registration({ userKey: user, phoneNumber: BOB }), limits, NOW),
      ).toEqual({ ok: true });
      expect(
        await store.createRegistration(registration({ userKey: user, phoneNumber: CAROL }), limits, NOW),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_USER' });
      // Another user is not limited by it.
      expect(
        await store.createRegistration(
          registration({ userKey: 'subject-2', phoneNumber: CAROL, deviceId: DEVICE_C }),
          limits,
          NOW,
        ),
      ).toEqual({ ok: true });
    },
  ],
  [
    'maxPerMsisdn counts the number’s active registrations of every user',
    async (store) => {
      const limits = { maxPerMsisdn: 2 };
      await store.createRegistration(registration({ userKey: 'u1' }), limits, NOW);
      await store.createRegistration(registration({ userKey: 'u2', deviceId: DEVICE_B }), limits, NOW);
      expect(
        await store.createRegistration(registration({ userKey: 'u3', deviceId: DEVICE_C }), limits, NOW),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_MSISDN' });
      expect(
        await store.createRegistration(
          registration({ userKey: 'u3', deviceId: DEVICE_C, phoneNumber: BOB }),
          limits,
          NOW,
        ),
      ).toEqual({ ok: true });
    },
  ],
  [
    'maxDevicesPerUser: a known device may register another number, a new device may not',
    async (store) => {
      const limits = { maxDevicesPerUser: 2 };
      const user = 'subject-1';
      await store.createRegistration(registration({ userKey: user }), limits, NOW);
      await store.createRegistration(registration({ userKey: user, deviceId: DEVICE_B }), limits, NOW);
      expect(
        await store.createRegistration(registration({ userKey: user, phoneNumber: BOB }), limits, NOW),
      ).toEqual({ ok: true });
      expect(
        await store.createRegistration(
          registration({ userKey: user, phoneNumber: BOB, deviceId: DEVICE_C }),
          limits,
          NOW,
        ),
      ).toEqual({ ok: false, reason: 'MAX_DEVICES_PER_USER' });
    },
  ],
  [
    'checks run in order: ALREADY_EXISTS, per user, per MSISDN, devices per user',
    async (store) => {
      const first = registration({ userKey: 'u1' });
      const all = { maxPerUser: 1, maxPerMsisdn: 1, maxDevicesPerUser: 1 };
      await store.createRegistration(first, all, NOW);
      expect(await store.createRegistration(registration({ userKey: 'u1' }), all, NOW)).toMatchObject({
        reason: 'ALREADY_EXISTS',
      });
      expect(
        await store.createRegistration(registration({ userKey: 'u1', deviceId: DEVICE_B }), all, NOW),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_USER' });
      expect(
        await store.createRegistration(
          registration({ userKey: 'u2', deviceId: DEVICE_B }),
          { ...all, maxPerUser: 5 },
          NOW,
        ),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_MSISDN' });
      expect(
        await store.createRegistration(
          registration({ userKey: 'u1', deviceId: DEVICE_B, phoneNumber: BOB }),
          { ...all, maxPerUser: 5 },
          NOW,
        ),
      ).toEqual({ ok: false, reason: 'MAX_DEVICES_PER_USER' });
      expect(await store.findRegistrations({})).toEqual([first]);
    },
  ],
  [
    'a per-user limit counts the registrations written while it was set; uniqueness and the per-number limit count all',
    async (store) => {
      // Written with no limit: a per-user limit set later does not see them (each
      // store keeps its per-user indexes only for the limits that need them).
      await store.createRegistration(registration({ userKey: 'u1' }), {}, NOW);
      await store.createRegistration(registration({ userKey: 'u1', phoneNumber: BOB }), {}, NOW);
      const perUser = { maxPerUser: 1, maxDevicesPerUser: 1 };
      const third = registration({ userKey: 'u1', phoneNumber: CAROL, deviceId: DEVICE_B });
      expect(await store.createRegistration(third, perUser, NOW)).toEqual({ ok: true });
      expect(
        await store.createRegistration(registration({ userKey: 'u1', deviceId: DEVICE_C }), perUser, NOW),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_USER' });
      expect(
        await store.createRegistration(
          registration({ userKey: 'u1', deviceId: DEVICE_C }),
          { maxDevicesPerUser: 1 },
          NOW,
        ),
      ).toEqual({ ok: false, reason: 'MAX_DEVICES_PER_USER' });
      expect(await store.createRegistration(registration(), perUser, NOW)).toMatchObject({
        reason: 'ALREADY_EXISTS',
      });
      expect(
        await store.createRegistration(registration({ deviceId: DEVICE_C }), { maxPerMsisdn: 1 }, NOW),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_MSISDN' });
      // Taken, it leaves the per-user count; a refresh keeps it counted.
      expect(await store.refreshRegistration(third.registrationId, NOW + 2 * HOUR)).toBeDefined();
      expect(
        await store.createRegistration(
          registration({ userKey: 'u1', deviceId: DEVICE_C }),
          perUser,
          NOW + HOUR + 1,
        ),
      ).toEqual({ ok: false, reason: 'MAX_REGISTRATION_PER_USER' });
      await store.takeRegistration(third.registrationId);
      expect(
        await store.createRegistration(
          registration({ userKey: 'u1', phoneNumber: CAROL, deviceId: DEVICE_C }),
          perUser,
          NOW,
        ),
      ).toEqual({ ok: true });
    },
  ],
  [
    'findRegistrations by phone number, by device, by both, or all; lapsed ones included',
    async (store) => {
      const a = registration();
      const b = registration({ deviceId: DEVICE_B, expiresAt: NOW - 1 });
      const c = registration({ phoneNumber: BOB });
      for (const r of [a, b, c]) await store.createRegistration(r, {}, NOW - HOUR);
      expect(ids(await store.findRegistrations({ phoneNumber: ALICE }))).toEqual(ids([a, b]));
      expect(ids(await store.findRegistrations({ deviceId: DEVICE_A }))).toEqual(ids([a, c]));
      expect(await store.findRegistrations({ phoneNumber: BOB, deviceId: DEVICE_A })).toEqual([c]);
      expect(await store.findRegistrations({ phoneNumber: BOB, deviceId: DEVICE_B })).toEqual([]);
      expect(await store.findRegistrations({ phoneNumber: CAROL })).toEqual([]);
      expect(ids(await store.findRegistrations({}))).toEqual(ids([a, b, c]));
    },
  ],
  [
    'refreshRegistration sets a new expiry (even of a lapsed record), undefined for unknown ids',
    async (store) => {
      const record = registration({ expiresAt: NOW - 1 });
      await store.createRegistration(record, {}, NOW - HOUR);
      expect(await store.refreshRegistration(record.registrationId, NOW + 2 * HOUR)).toEqual({
        ...record,
        expiresAt: NOW + 2 * HOUR,
      });
      expect((await store.getRegistration(record.registrationId))?.expiresAt).toBe(NOW + 2 * HOUR);
      // Active again: the pair is taken.
      expect(await store.createRegistration(registration(), {}, NOW)).toMatchObject({
        reason: 'ALREADY_EXISTS',
      });
      expect(await store.refreshRegistration('no-such-registration', NOW)).toBeUndefined();
      expect(await store.getRegistration('no-such-registration')).toBeUndefined();
    },
  ],
  [
    'takeRegistration returns the record once and removes it from every index and limit',
    async (store) => {
      const limits = { maxPerUser: 1, maxPerMsisdn: 1, maxDevicesPerUser: 1 };
      const record = registration();
      await store.createRegistration(record, limits, NOW);
      expect(await store.takeRegistration(record.registrationId)).toEqual(record);
      expect(await store.takeRegistration(record.registrationId)).toBeUndefined();
      expect(await store.getRegistration(record.registrationId)).toBeUndefined();
      expect(await store.findRegistrations({ phoneNumber: ALICE })).toEqual([]);
      expect(await store.findRegistrations({ deviceId: DEVICE_A })).toEqual([]);
      expect(await store.findRegistrations({})).toEqual([]);
      expect(await store.refreshRegistration(record.registrationId, NOW + HOUR)).toBeUndefined();
      expect(await store.getRegistration(record.registrationId)).toBeUndefined();
      // Neither the pair nor the limits remember it.
      expect(await store.createRegistration(registration({ deviceId: DEVICE_B }), limits, NOW)).toEqual({
        ok: true,
      });
    },
  ],
  [
    'of concurrent takeRegistration calls exactly one gets the record',
    async (store) => {
      const record = registration();
      await store.createRegistration(record, {}, NOW);
      const taken = await Promise.all(
        Array.from({ length: 10 }, () => store.takeRegistration(record.registrationId)),
      );
      expect(taken.filter((r) => r !== undefined)).toEqual([record]);
    },
  ],
  [
    'takeRegistration with the record read before takes it only while it is unchanged',
    async (store) => {
      const record = registration({ expiresAt: NOW + HOUR });
      await store.createRegistration(record, {}, NOW);
      const read = (await store.getRegistration(record.registrationId))!;
      // Refreshed in between (by another node, say): the read record is stale, nothing is taken.
      await store.refreshRegistration(record.registrationId, NOW + 2 * HOUR);
      expect(await store.takeRegistration(record.registrationId, read)).toBeUndefined();
      const refreshed = (await store.getRegistration(record.registrationId))!;
      expect(refreshed.expiresAt).toBe(NOW + 2 * HOUR);
      expect(await store.findRegistrations({ phoneNumber: ALICE })).toEqual([refreshed]);
      // The current record is taken, once.
      expect(await store.takeRegistration(record.registrationId, refreshed)).toEqual(refreshed);
      expect(await store.takeRegistration(record.registrationId, refreshed)).toBeUndefined();
      expect(await store.findRegistrations({})).toEqual([]);
    },
  ],
  [
    'findLapsedRegistrations lists the ids lapsed by a time, following refreshes and takes',
    async (store) => {
      const early = registration({ deviceId: DEVICE_A, expiresAt: NOW + HOUR });
      const late = registration({ deviceId: DEVICE_B, expiresAt: NOW + 3 * HOUR });
      await store.createRegistration(early, {}, NOW);
      await store.createRegistration(late, {}, NOW);
      expect(await store.findLapsedRegistrations(NOW)).toEqual([]);
      expect(await store.findLapsedRegistrations(NOW + HOUR)).toEqual([early.registrationId]);
      expect((await store.findLapsedRegistrations(NOW + 3 * HOUR)).sort()).toEqual(
        [early.registrationId, late.registrationId].sort(),
      );
      // Refreshed: lapses later.
      await store.refreshRegistration(early.registrationId, NOW + 2 * HOUR);
      expect(await store.findLapsedRegistrations(NOW + HOUR)).toEqual([]);
      expect(await store.findLapsedRegistrations(NOW + 2 * HOUR)).toEqual([early.registrationId]);
      // A lapsed one replaced by a new registration of its pair, and a taken one, are gone.
      const again = registration({ deviceId: DEVICE_B, expiresAt: NOW + 8 * HOUR });
      expect(await store.createRegistration(again, {}, NOW + 4 * HOUR)).toEqual({ ok: true });
      await store.takeRegistration(early.registrationId);
      expect(await store.findLapsedRegistrations(NOW + 4 * HOUR)).toEqual([]);
      expect(await store.findLapsedRegistrations(NOW + 8 * HOUR)).toEqual([again.registrationId]);
    },
  ],
  [
    'of concurrent creates of the same pair exactly one succeeds',
    async (store) => {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.createRegistration(registration(), {}, NOW)),
      );
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(await store.findRegistrations({})).toHaveLength(1);
    },
  ],

  // ------------------------------------------------------------------ media sessions
  [
    'createSession stores a copy, getSession returns copies; an existing id is refused',
    async (store) => {
      const record = session();
      await store.createSession(record);
      record.status = 'Connected';
      const got = await store.getSession(record.mediaSessionId);
      expect(got).toEqual({ ...record, status: 'Initial' });
      got!.registrationIds.push('changed');
      expect((await store.getSession(record.mediaSessionId))?.registrationIds).toEqual(['reg-x']);
      await expect(store.createSession(session({ mediaSessionId: record.mediaSessionId }))).rejects.toThrow(
        /exists/,
      );
      expect((await store.getSession(record.mediaSessionId))?.status).toBe('Initial');
      expect(await store.getSession('no-such-session')).toBeUndefined();
    },
  ],
  [
    'saveSession replaces a session (or stores a new one); its indexes follow',
    async (store) => {
      const record = session({ registrationIds: ['reg-1', 'reg-2'] });
      await store.createSession(record);
      const updated: MediaSessionRecord = {
        ...record,
        registrationIds: ['reg-3'],
        status: 'Terminated',
        endedAt: NOW + 5,
        updatedAt: NOW + 5,
      };
      await store.saveSession(updated);
      expect(await store.getSession(record.mediaSessionId)).toEqual(updated);
      expect(await store.findSessions({ registrationId: 'reg-1' })).toEqual([]);
      expect(await store.findSessions({ registrationId: 'reg-3' })).toEqual([updated]);
      const unsaved = session({ phoneNumber: BOB, registrationIds: [] });
      await store.saveSession(unsaved);
      expect(await store.getSession(unsaved.mediaSessionId)).toEqual(unsaved);
      expect(await store.findSessions({ phoneNumber: BOB })).toEqual([unsaved]);
    },
  ],
  [
    'an ended session reads back as saved, each read a copy of its own, until it is deleted',
    async (store) => {
      const record = session({ registrationIds: ['reg-ended'] });
      await store.createSession(record);
      const ended: MediaSessionRecord = {
        ...record,
        status: 'Terminated',
        answer: 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\n',
        endedAt: NOW + 9,
        updatedAt: NOW + 9,
      };
      await store.saveSession(ended);
      const read = (await store.getSession(record.mediaSessionId))!;
      expect(read).toEqual(ended);
      read.registrationIds.push('reg-changed');
      read.locationDetails!.coordinates.latitude = 0;
      const [found] = await store.findSessions({ registrationId: 'reg-ended' });
      expect(found).toEqual(ended);
      found!.deviceIds.length = 0;
      expect(await store.getSession(record.mediaSessionId)).toEqual(ended);
      expect(await store.countActiveSessions(ALICE)).toBe(0);
      await store.deleteSession(record.mediaSessionId);
      expect(await store.getSession(record.mediaSessionId)).toBeUndefined();
      expect(await store.findSessions({ registrationId: 'reg-ended' })).toEqual([]);
    },
  ],
  [
    'findSessions by registration id, by phone number, by owning node, or any combination',
    async (store) => {
      const a = session({ registrationIds: ['reg-1', 'reg-2'], owner: 'node-1' });
      const b = session({ registrationIds: ['reg-2'], direction: 'inbound', owner: 'node-2' });
      const c = session({ phoneNumber: BOB, registrationIds: ['reg-9'], owner: 'node-1' });
      for (const s of [a, b, c]) await store.createSession(s);
      expect(await store.findSessions({ registrationId: 'reg-1' })).toEqual([a]);
      expect(ids(await store.findSessions({ registrationId: 'reg-2' }))).toEqual(ids([a, b]));
      expect(ids(await store.findSessions({ phoneNumber: ALICE }))).toEqual(ids([a, b]));
      expect(await store.findSessions({ phoneNumber: BOB, registrationId: 'reg-2' })).toEqual([]);
      expect(await store.findSessions({ phoneNumber: BOB, registrationId: 'reg-9' })).toEqual([c]);
      expect(ids(await store.findSessions({ owner: 'node-1' }))).toEqual(ids([a, c]));
      expect(await store.findSessions({ owner: 'node-2', phoneNumber: ALICE })).toEqual([b]);
      expect(await store.findSessions({ owner: 'node-3' })).toEqual([]);
    },
  ],
  [
    'a session saved with another number, owner or registrations leaves the indexes of the old ones; ended ones stay found until deleted',
    async (store) => {
      const record = session({ registrationIds: ['reg-1'], owner: 'node-1' });
      await store.createSession(record);
      const moved: MediaSessionRecord = {
        ...record,
        phoneNumber: BOB,
        owner: 'node-2',
        registrationIds: ['reg-2', 'reg-3'],
        updatedAt: NOW + 1,
      };
      await store.saveSession(moved);
      for (const query of [{ phoneNumber: ALICE }, { owner: 'node-1' }, { registrationId: 'reg-1' }]) {
        expect(await store.findSessions(query)).toEqual([]);
      }
      expect(await store.countActiveSessions(ALICE)).toBe(0);
      expect(await store.countActiveSessions(BOB)).toBe(1);
      const ended: MediaSessionRecord = {
        ...moved,
        status: 'Terminated',
        endedAt: NOW + 2,
        updatedAt: NOW + 2,
      };
      await store.saveSession(ended);
      const queries = [
        { phoneNumber: BOB },
        { owner: 'node-2' },
        { registrationId: 'reg-2' },
        { registrationId: 'reg-3' },
      ];
      for (const query of queries) expect(await store.findSessions(query)).toEqual([ended]);
      expect(await store.countActiveSessions(BOB)).toBe(0);
      // Saved again once ended (as a late event's save may): still one entry in each index.
      await store.saveSession({ ...ended, updatedAt: NOW + 3 });
      expect(await store.findSessions({ registrationId: 'reg-3' })).toHaveLength(1);
      await store.deleteSession(record.mediaSessionId);
      for (const query of queries) expect(await store.findSessions(query)).toEqual([]);
      expect(await store.findSessions({})).toEqual([]);
    },
  ],
  [
    'countActiveSessions counts the sessions of a number not ended, following saves and deletes',
    async (store) => {
      const a = session();
      const b = session();
      const c = session({ phoneNumber: BOB });
      for (const s of [a, b, c]) await store.createSession(s);
      expect(await store.countActiveSessions(ALICE)).toBe(2);
      await store.saveSession({ ...a, status: 'Terminated', endedAt: NOW + 1 });
      expect(await store.countActiveSessions(ALICE)).toBe(1);
      await store.deleteSession(b.mediaSessionId);
      expect(await store.countActiveSessions(ALICE)).toBe(0);
      expect(await store.countActiveSessions(BOB)).toBe(1);
      expect(await store.countActiveSessions(CAROL)).toBe(0);
    },
  ],
  [
    'createSession with maxActivePerNumber stores nothing once the number has as many unfinished sessions',
    async (store) => {
      const limits = { maxActivePerNumber: 2 };
      const [a, b, c] = [session(), session(), session()];
      const refused = { ok: false, reason: 'MAX_ACTIVE_SESSIONS' };
      expect(await store.createSession(a, limits)).toEqual({ ok: true });
      expect(await store.createSession(b, limits)).toEqual({ ok: true });
      expect(await store.createSession(c, limits)).toEqual(refused);
      expect(await store.getSession(c.mediaSessionId)).toBeUndefined();
      expect(ids(await store.findSessions({ phoneNumber: ALICE }))).toEqual(ids([a, b]));
      expect(await store.countActiveSessions(ALICE)).toBe(2);
      // Another number has a limit of its own; no limit given, none applies.
      expect(await store.createSession(session({ phoneNumber: BOB }), limits)).toEqual({ ok: true });
      const unlimited = session();
      expect(await store.createSession(unlimited)).toEqual({ ok: true });
      await store.deleteSession(unlimited.mediaSessionId);
      // An ended session no longer counts.
      await store.saveSession({ ...a, status: 'Terminated', endedAt: NOW + 1 });
      expect(await store.createSession(c, limits)).toEqual({ ok: true });
      expect(await store.countActiveSessions(ALICE)).toBe(2);
      // A taken id is still an error, not a refusal.
      await expect(
        store.createSession(session({ mediaSessionId: b.mediaSessionId }), limits),
      ).rejects.toThrow(/exists/);
    },
  ],
  [
    'concurrent creates under maxActivePerNumber: exactly as many succeed as the limit',
    async (store) => {
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, () => store.createSession(session(), { maxActivePerNumber: 5 })),
      );
      expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
      expect(await store.countActiveSessions(ALICE)).toBe(5);
      expect(await store.findSessions({ phoneNumber: ALICE })).toHaveLength(5);
    },
  ],
  [
    'createSession with a registration: stored only while that registration is still exactly the record given',
    async (store) => {
      const reg = registration();
      expect(await store.createRegistration(reg, {}, NOW)).toEqual({ ok: true });
      const read = (await store.getRegistration(reg.registrationId))!;
      const changed = { ok: false, reason: 'REGISTRATION_CHANGED' };
      const first = session({ registrationIds: [reg.registrationId] });
      expect(await store.createSession(first, { registration: read })).toEqual({ ok: true });
      expect(await store.getSession(first.mediaSessionId)).toEqual(first);
      // Refreshed since it was read: refused, nothing stored.
      await store.refreshRegistration(reg.registrationId, NOW + 7_200_000);
      const second = session({ registrationIds: [reg.registrationId] });
      expect(await store.createSession(second, { registration: read })).toEqual(changed);
      expect(await store.getSession(second.mediaSessionId)).toBeUndefined();
      // Read again: accepted.
      const reread = (await store.getRegistration(reg.registrationId))!;
      expect(await store.createSession(second, { registration: reread })).toEqual({ ok: true });
      // Gone: refused.
      await store.takeRegistration(reg.registrationId);
      const third = session({ registrationIds: [reg.registrationId] });
      expect(await store.createSession(third, { registration: reread })).toEqual(changed);
      expect(await store.createSession(third, { registration: registration() })).toEqual(changed);
      expect(await store.getSession(third.mediaSessionId)).toBeUndefined();
      expect(ids(await store.findSessions({ registrationId: reg.registrationId }))).toEqual(
        ids([first, second]),
      );
    },
  ],
  [
    'deleteSession removes it from get and every index; unknown ids are ignored',
    async (store) => {
      const a = session({ registrationIds: ['reg-1'], owner: 'node-1' });
      const b = session({ registrationIds: ['reg-1'], owner: 'node-1' });
      await store.createSession(a);
      await store.createSession(b);
      await store.deleteSession(a.mediaSessionId);
      await store.deleteSession('no-such-session');
      expect(await store.getSession(a.mediaSessionId)).toBeUndefined();
      expect(await store.findSessions({ registrationId: 'reg-1' })).toEqual([b]);
      expect(await store.findSessions({ phoneNumber: ALICE })).toEqual([b]);
      expect(await store.findSessions({ owner: 'node-1' })).toEqual([b]);
      // The id is free again.
      await store.createSession(a);
      expect(await store.getSession(a.mediaSessionId)).toEqual(a);
    },
  ],

  // ------------------------------------------------------------------ subscriptions
  [
    'numberSubscriptions: a number’s subscriptions with a version that changes with each of their changes and never comes back',
    async (store) => {
      const seen = new Map<string, string[]>();
      const read = async (phone = ALICE) => {
        const { subscriptions, version } = await store.numberSubscriptions(phone);
        const ids = subscriptions.map((s) => s.id);
        // The same version of a number always stands for the same set.
        const key = `${phone} ${version}`;
        if (seen.has(key)) expect(ids).toEqual(seen.get(key));
        seen.set(key, ids);
        return { ids, version };
      };
      const empty = await read();
      expect(empty.ids).toEqual([]);
      // Reads change nothing.
      expect((await read()).version).toBe(empty.version);

      const a = subscription();
      const b = subscription({ sink: OTHER_SINK });
      await store.createSubscription(a, {});
      const one = await read();
      expect(one.ids).toEqual([a.id]);
      expect(one.version).not.toBe(empty.version);
      await store.createSubscription(b, {});
      const two = await read();
      expect(two.ids.sort()).toEqual([a.id, b.id].sort());
      // Another number's changes leave this version alone.
      const bobs = subscription({ phoneNumber: BOB });
      await store.createSubscription(bobs, {});
      expect((await read()).version).toBe(two.version);
      expect((await read(BOB)).ids).toEqual([bobs.id]);
      // A refused create changes nothing.
      await store.createSubscription(subscription({ id: nextId('sub') }), { maxPerOwner: 0 });
      expect((await read()).version).toBe(two.version);

      await store.saveSubscription({ ...a, types: [EVENT_TYPES.sessionStatus] });
      const saved = await read();
      expect(saved.version).not.toBe(two.version);
      await store.takeSubscription(b.id);
      const taken = await read();
      expect(taken.ids).toEqual([a.id]);
      expect(new Set([one, two, saved, taken].map((r) => r.version)).size).toBe(4);
      // Back to the same set of ids, not to an earlier version (unless the store marks the empty set so).
      expect(taken.version).not.toBe(one.version);
      await store.takeSubscription(a.id);
      const none = await read();
      expect(none.ids).toEqual([]);
      expect([one, two, saved, taken].map((r) => r.version)).not.toContain(none.version);

      // A status change numbered with saveSession reads the same version in the same step.
      const call = session();
      await store.createSession(call);
      const numbered = await store.saveSession(
        { ...call, status: 'Ringing' },
        `session:${call.mediaSessionId}`,
      );
      expect(numbered).toEqual({ sequenceNumber: 1, subscriptionsVersion: none.version });
      const c = subscription();
      await store.createSubscription(c, {});
      const again = await store.saveSession(
        { ...call, status: 'Connected' },
        `session:${call.mediaSessionId}`,
      );
      expect(again).toEqual({ sequenceNumber: 2, subscriptionsVersion: (await read()).version });
      expect(again?.subscriptionsVersion).not.toBe(none.version);
      // Without a counter, nothing is answered.
      expect(await store.saveSession({ ...call, status: 'Connected' })).toBeUndefined();
    },
  ],
  [
    'createSubscription stores a copy; getSubscription returns copies, undefined for unknown ids',
    async (store) => {
      const record = subscription();
      expect(await store.createSubscription(record, {})).toEqual({ ok: true });
      record.sink = OTHER_SINK;
      const got = await store.getSubscription(record.id);
      expect(got).toEqual({ ...record, sink: SINK });
      got!.types.pop();
      expect((await store.getSubscription(record.id))?.types).toHaveLength(2);
      expect(await store.getSubscription('no-such-subscription')).toBeUndefined();
    },
  ],
  [
    'the same owner, device, sink and types (in any order): ALREADY_EXISTS with the existing one',
    async (store) => {
      const first = subscription();
      await store.createSubscription(first, {});
      expect(
        await store.createSubscription(
          subscription({ types: [EVENT_TYPES.sessionInvitation, EVENT_TYPES.sessionStatus] }),
          {},
        ),
      ).toEqual({ ok: false, reason: 'ALREADY_EXISTS', existing: first });
      for (const different of [
        subscription({ sink: OTHER_SINK }),
        subscription({ deviceId: DEVICE_B }),
        subscription({ types: [EVENT_TYPES.sessionStatus] }),
        subscription({ types: [EVENT_TYPES.sessionStatus, EVENT_TYPES.registrationEnds] }),
        subscription({ ownerKey: `${ALICE}|client-2`, clientId: 'client-2' }),
      ]) {
        expect(await store.createSubscription(different, {})).toEqual({ ok: true });
      }
      expect(await store.findSubscriptions({})).toHaveLength(6);
    },
  ],
  [
    'maxPerOwner: QUOTA_EXCEEDED at the limit, per owner; a take makes room',
    async (store) => {
      const limits = { maxPerOwner: 2 };
      const a = subscription();
      await store.createSubscription(a, limits);
      await store.createSubscription(subscription({ sink: OTHER_SINK }), limits);
      expect(await store.createSubscription(subscription({ deviceId: DEVICE_B }), limits)).toEqual({
        ok: false,
        reason: 'QUOTA_EXCEEDED',
      });
      // A duplicate is still reported as one, before the quota.
      expect(await store.createSubscription(subscription(), limits)).toMatchObject({
        reason: 'ALREADY_EXISTS',
      });
      expect(await store.createSubscription(subscription({ phoneNumber: BOB }), limits)).toEqual({
        ok: true,
      });
      await store.takeSubscription(a.id);
      expect(await store.createSubscription(subscription({ deviceId: DEVICE_B }), limits)).toEqual({
        ok: true,
      });
    },
  ],
  [
    'findSubscriptions by owner, phone number, device, any combination, or all',
    async (store) => {
      const a = subscription();
      const b = subscription({ deviceId: DEVICE_B, ownerKey: `${ALICE}|client-2`, clientId: 'client-2' });
      const c = subscription({ phoneNumber: BOB });
      for (const s of [a, b, c]) await store.createSubscription(s, {});
      expect(await store.findSubscriptions({ ownerKey: a.ownerKey })).toEqual([a]);
      expect(ids(await store.findSubscriptions({ phoneNumber: ALICE }))).toEqual(ids([a, b]));
      expect(ids(await store.findSubscriptions({ deviceId: DEVICE_A }))).toEqual(ids([a, c]));
      expect(await store.findSubscriptions({ phoneNumber: ALICE, deviceId: DEVICE_B })).toEqual([b]);
      expect(await store.findSubscriptions({ ownerKey: a.ownerKey, deviceId: DEVICE_B })).toEqual([]);
      expect(await store.findSubscriptions({ ownerKey: c.ownerKey, phoneNumber: BOB })).toEqual([c]);
      expect(ids(await store.findSubscriptions({}))).toEqual(ids([a, b, c]));
    },
  ],
  [
    'a subscription saved with another number, device or owner leaves the old ones’ lists and versions; a take leaves every list',
    async (store) => {
      const record = subscription();
      const other = subscription({ deviceId: DEVICE_C });
      for (const s of [record, other]) await store.createSubscription(s, {});
      const aliceBefore = (await store.numberSubscriptions(ALICE)).version;
      const moved: SubscriptionRecord = {
        ...record,
        phoneNumber: BOB,
        ownerKey: `${BOB}|client-1`,
        deviceId: DEVICE_B,
      };
      expect(await store.saveSubscription(moved)).toBe(true);
      expect(await store.findSubscriptions({ phoneNumber: ALICE })).toEqual([other]);
      expect(await store.findSubscriptions({ ownerKey: record.ownerKey })).toEqual([other]);
      expect(await store.findSubscriptions({ deviceId: DEVICE_A })).toEqual([]);
      expect(await store.findSubscriptions({ deviceId: DEVICE_B })).toEqual([moved]);
      expect(await store.findSubscriptions({ ownerKey: moved.ownerKey, phoneNumber: BOB })).toEqual([moved]);
      const alice = await store.numberSubscriptions(ALICE);
      expect(alice.subscriptions).toEqual([other]);
      expect(alice.version).not.toBe(aliceBefore);
      expect((await store.numberSubscriptions(BOB)).subscriptions).toEqual([moved]);
      // The owner's quota counts the moved one under its new owner only.
      expect(await store.createSubscription(subscription({ sink: OTHER_SINK }), { maxPerOwner: 2 })).toEqual({
        ok: true,
      });
      expect(await store.takeSubscription(moved.id)).toEqual(moved);
      for (const query of [{ phoneNumber: BOB }, { ownerKey: moved.ownerKey }, { deviceId: DEVICE_B }]) {
        expect(await store.findSubscriptions(query)).toEqual([]);
      }
      expect((await store.numberSubscriptions(BOB)).version).toBe(
        (await store.numberSubscriptions(CAROL)).version,
      );
    },
  ],
  [
    'saveSubscription replaces an existing subscription; false, and nothing stored, for an unknown one',
    async (store) => {
      const record = subscription();
      await store.createSubscription(record, {});
      const updated: SubscriptionRecord = {
        ...record,
        config: { subscriptionExpireTime: '2030-01-01T00:00:00Z' },
        expiresAt: NOW + 2 * HOUR,
      };
      expect(await store.saveSubscription(updated)).toBe(true);
      expect(await store.getSubscription(record.id)).toEqual(updated);
      expect(await store.findSubscriptions({ ownerKey: record.ownerKey })).toEqual([updated]);
      const unknown = subscription();
      expect(await store.saveSubscription(unknown)).toBe(false);
      expect(await store.getSubscription(unknown.id)).toBeUndefined();
      expect(await store.findSubscriptions({})).toEqual([updated]);
    },
  ],
  [
    'takeSubscription with the record read before takes it only while it is unchanged',
    async (store) => {
      const record = subscription();
      await store.createSubscription(record, {});
      const read = (await store.getSubscription(record.id))!;
      const updated = { ...read, expiresAt: NOW + 2 * HOUR };
      expect(await store.saveSubscription(updated)).toBe(true);
      expect(await store.takeSubscription(record.id, read)).toBeUndefined();
      expect(await store.findSubscriptions({ phoneNumber: ALICE })).toEqual([updated]);
      const current = (await store.getSubscription(record.id))!;
      expect(await store.takeSubscription(record.id, current)).toEqual(updated);
      expect(await store.takeSubscription(record.id, current)).toBeUndefined();
      expect(await store.findSubscriptions({})).toEqual([]);
    },
  ],
  [
    'findDueSubscriptions lists the ids due by a time: own expiry or sink token, whichever is first',
    async (store) => {
      const token = (ms: number) => ({
        credentialType: 'ACCESSTOKEN' as const,
        accessToken: 'token-0123456789',
        accessTokenExpiresUtc: new Date(NOW + ms).toISOString(),
        accessTokenType: 'bearer' as const,
      });
      const expiring = subscription({ expiresAt: NOW + HOUR, sinkCredential: token(5 * HOUR) });
      const tokenFirst = subscription({
        deviceId: DEVICE_B,
        expiresAt: NOW + 4 * HOUR,
        sinkCredential: token(2 * HOUR),
      });
      const {
        sinkCredential: _noToken,
        expiresAt: _noExpiry,
        ...endless
      } = subscription({ sink: 'https://other.example/hook' });
      for (const record of [expiring, tokenFirst, endless]) {
        expect(await store.createSubscription(record, {})).toEqual({ ok: true });
      }
      expect(await store.findDueSubscriptions(NOW)).toEqual([]);
      expect(await store.findDueSubscriptions(NOW + HOUR)).toEqual([expiring.id]);
      expect((await store.findDueSubscriptions(NOW + 2 * HOUR)).sort()).toEqual(
        [expiring.id, tokenFirst.id].sort(),
      );
      // Extended, and one saved without any end: the index follows.
      expect(await store.saveSubscription({ ...expiring, expiresAt: NOW + 3 * HOUR })).toBe(true);
      const { expiresAt: _gone, sinkCredential: _neither, ...noEnd } = tokenFirst;
      expect(await store.saveSubscription(noEnd)).toBe(true);
      expect(await store.findDueSubscriptions(NOW + 2 * HOUR)).toEqual([]);
      expect(await store.findDueSubscriptions(NOW + 100 * HOUR)).toEqual([expiring.id]);
      await store.takeSubscription(expiring.id);
      expect(await store.findDueSubscriptions(NOW + 100 * HOUR)).toEqual([]);
    },
  ],
  [
    'takeSubscription returns it once, removes it from every index; of concurrent takes one gets it',
    async (store) => {
      const record = subscription();
      await store.createSubscription(record, {});
      const taken = await Promise.all(Array.from({ length: 10 }, () => store.takeSubscription(record.id)));
      expect(taken.filter((s) => s !== undefined)).toEqual([record]);
      expect(await store.getSubscription(record.id)).toBeUndefined();
      expect(await store.saveSubscription(record)).toBe(false);
      for (const query of [
        { ownerKey: record.ownerKey },
        { phoneNumber: ALICE },
        { deviceId: DEVICE_A },
        {},
      ]) {
        expect(await store.findSubscriptions(query)).toEqual([]);
      }
      // No longer a duplicate.
      expect(await store.createSubscription(subscription(), { maxPerOwner: 1 })).toEqual({ ok: true });
    },
  ],
  [
    'of concurrent identical createSubscription calls exactly one succeeds',
    async (store) => {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.createSubscription(subscription(), {})),
      );
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(await store.findSubscriptions({})).toHaveLength(1);
    },
  ],

  // ------------------------------------------------------------------ sequence numbers
  [
    'nextSequence counts from 1 per key; deleteSequence starts it over',
    async (store) => {
      expect(await store.nextSequence('session:a')).toBe(1);
      expect(await store.nextSequence('session:a')).toBe(2);
      expect(await store.nextSequence('subscription:a')).toBe(1);
      expect(await store.nextSequence('session:a')).toBe(3);
      await store.deleteSequence('session:a');
      await store.deleteSequence('never-used');
      expect(await store.nextSequence('session:a')).toBe(1);
      expect(await store.nextSequence('subscription:a')).toBe(2);
    },
  ],
  [
    'countActiveRegistrations counts those expiring after a time, following takes',
    async (store) => {
      const a = registration({ expiresAt: NOW + 1000 });
      const b = registration({ deviceId: DEVICE_B, expiresAt: NOW + 2000 });
      for (const r of [a, b]) await store.createRegistration(r, {}, NOW);
      expect(await store.countActiveRegistrations(NOW)).toBe(2);
      expect(await store.countActiveRegistrations(NOW + 1000)).toBe(1);
      await store.takeRegistration(b.registrationId);
      expect(await store.countActiveRegistrations(NOW)).toBe(1);
    },
  ],

  // ------------------------------------------------------------------ gateway nodes
  [
    'heartbeat lists a node and answers one epoch; a node whose lease ended is claimed once',
    async (store) => {
      const first = await store.heartbeat('node-a', NOW + 1000);
      expect(first.listed).toBe(false);
      expect(await store.heartbeat('node-a', NOW + 2000)).toEqual({ epoch: first.epoch, listed: true });
      expect(await store.heartbeat('node-b', NOW + 5000)).toEqual({ epoch: first.epoch, listed: false });
      expect(await store.claimDeadNodes(NOW + 1999)).toEqual([]);
      const claims = await Promise.all(Array.from({ length: 5 }, () => store.claimDeadNodes(NOW + 2000)));
      expect(claims.flat()).toEqual(['node-a']);
      // A node claimed while it was alive finds out with its next heartbeat.
      expect((await store.heartbeat('node-a', NOW + 9000)).listed).toBe(false);
      await store.leave('node-b');
      expect(await store.claimDeadNodes(NOW + 10_000)).toEqual(['node-a']);
    },
  ],
  [
    'concurrent nextSequence calls get distinct consecutive numbers',
    async (store) => {
      const numbers = await Promise.all(Array.from({ length: 50 }, () => store.nextSequence('events:x')));
      expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    },
  ],
];

interface Backend {
  name: string;
  /** Once per backend; returns a factory of empty stores and the teardown. */
  setup(): Promise<{ create(): Promise<Store>; teardown(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'MemoryStore',
    setup: async () => ({ create: async () => new MemoryStore(), teardown: async () => {} }),
  },
  {
    name: 'RedisStore',
    setup: async () => {
      const redis: LocalRedis = await startRedis();
      let n = 0;
      // Each case gets its own key prefix: an empty store in the same database.
      return {
        create: () => RedisStore.connect(redis.url, { keyPrefix: `contract${++n}:` }),
        teardown: () => redis.stop(),
      };
    },
  },
];

describe.each(BACKENDS)('Store contract: $name', (backend) => {
  let fixture: Awaited<ReturnType<Backend['setup']>> | undefined;
  let setupError: unknown;
  let store: Store | undefined;
  beforeAll(async () => {
    try {
      fixture = await backend.setup();
    } catch (error) {
      // Every case fails with it (a failing beforeAll would only mark them skipped).
      setupError = error;
    }
  });
  afterAll(async () => {
    await fixture?.teardown();
  });
  beforeEach(async () => {
    if (fixture === undefined) throw setupError;
    store = await fixture.create();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it.each(CONTRACT)('%s', async (_name, run) => {
    await run(store!);
  });
});
