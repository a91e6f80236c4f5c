/** webrtc-events subscriptions (call flow 3.1) and event delivery. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENT_TYPES, subscriptionCreateScope } from '../src/index.js';
import {
  ALICE,
  ALL_TYPES,
  auth,
  BOB,
  createBody,
  DEVICE,
  expectError,
  type Harness,
  harness,
  OTHER_DEVICE,
  onboard,
  SINK,
  settle,
  summary,
} from './helpers.js';

const NOW = new Date('2025-12-15T10:30:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const DAY = 86_400_000;

const credential = (expires = at(30 * DAY)) => ({
  credentialType: 'ACCESSTOKEN',
  accessToken: 'eyJ2ZXIiOiIxLjAiLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc123',
  accessTokenExpiresUtc: expires,
  accessTokenType: 'bearer',
});

const request = (overrides: Record<string, unknown> = {}, config: Record<string, unknown> = {}) => ({
  protocol: 'HTTP',
  sink: SINK,
  sinkCredential: credential(),
  types: ALL_TYPES,
  config: {
    subscriptionDetail: { deviceId: DEVICE },
    subscriptionExpireTime: '2025-12-31T23:59:59.999Z',
    ...config,
  },
  ...overrides,
});

let h: Harness;

beforeEach(async () => {
  vi.useFakeTimers({ now: NOW });
  h = harness();
  await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
});

afterEach(async () => {
  await h.gw.close();
  vi.useRealTimers();
});

describe('createNotificationChannelSubscription', () => {
  it('[8]/[11] creates a consolidated subscription; the sink credential is stored but never returned', async () => {
    const created = await h.gw.subscriptions.create(auth(ALICE), request());
    expect(created).toEqual({
      protocol: 'HTTP',
      sink: SINK,
      types: ALL_TYPES,
      config: {
        subscriptionDetail: { deviceId: DEVICE },
        subscriptionExpireTime: '2025-12-31T23:59:59.999Z',
      },
      id: expect.any(String),
      startsAt: '2025-12-15T10:30:00.000Z',
      expiresAt: '2025-12-31T23:59:59.999Z',
      status: 'ACTIVE',
    });
    expect(JSON.stringify(await h.gw.subscriptions.get(auth(ALICE), created.id))).not.toContain(
      'accessToken',
    );
    expect(JSON.stringify(await h.gw.subscriptions.list(auth(ALICE)))).not.toContain('accessToken');
    expect((await h.store.getSubscription(created.id))?.sinkCredential?.accessToken).toBe(
      credential().accessToken,
    );
  });

  it.each([
    ['INVALID_PROTOCOL', request({ protocol: 'MQTT3' })],
    ['INVALID_SINK', request({ sink: 'http://asp.example.com/hook' })],
    ['INVALID_SINK', request({ sink: 'https://user:pw@asp.example.com/hook' })],
    ['INVALID_SINK', request({ sink: 'https://' })],
    ['INVALID_SINK', request({ sink: 'ftp://asp.example.com/hook' })],
    ['INVALID_CREDENTIAL', request({ sinkCredential: { ...credential(), credentialType: 'PLAIN' } })],
    ['INVALID_CREDENTIAL', request({ sinkCredential: credential('2025-01-01T00:00:00Z') })],
    ['INVALID_TOKEN', request({ sinkCredential: { ...credential(), accessTokenType: 'mac' } })],
    ['OUT_OF_RANGE', request({}, { subscriptionExpireTime: '2025-12-01T00:00:00Z' })],
    ['INVALID_ARGUMENT', request({ types: [] })],
    [
      'INVALID_ARGUMENT',
      request({
        types: [
          'org.camaraproject.webrtc-events.v0.session-status',
          'org.camaraproject.webrtc-events.v0.session-status',
        ],
      }),
    ],
    ['INVALID_ARGUMENT', request({ types: [EVENT_TYPES.subscriptionEnded] })],
    ['INVALID_ARGUMENT', request({ types: ['org.camaraproject.other.v0.x'] })],
    ['INVALID_ARGUMENT', request({ config: undefined })],
    ['INVALID_ARGUMENT', request({}, { subscriptionExpireTime: 'tomorrow' })],
    ['INVALID_ARGUMENT', request({}, { subscriptionMaxEvents: 0 })],
    ['INVALID_ARGUMENT', request({}, { subscriptionDetail: { deviceId: 'abc' } })],
    ['INVALID_ARGUMENT', request({ sink: undefined })],
  ])('400 %s', async (code, body) => {
    await expectError(h.gw.subscriptions.create(auth(ALICE), body), 400, code);
    expect(h.store.counts().subscriptions).toBe(0);
  });

  it('400 INVALID_SINK when the sink check (SSRF guard) refuses it; http is accepted only when configured', async () => {
    await h.gw.close();
    h = harness({
      subscriptions: {
        allowInsecureSinks: true,
        checkSink: async (sink) => {
          if (new URL(sink).hostname === '10.0.0.1') throw new Error('sink resolves to a private address');
        },
      },
    });
    await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await expect(
      h.gw.subscriptions.create(auth(ALICE), request({ sink: 'http://10.0.0.1/hook' })),
    ).rejects.toMatchObject({
      status: 400,
      code: 'INVALID_SINK',
      message: 'sink resolves to a private address',
    });
    await h.gw.subscriptions.create(auth(ALICE), request({ sink: 'http://127.0.0.1:8080/hook' }));
  });

  it('403 PERMISSION_DENIED without the create scope of every requested type', async () => {
    const scopes = [subscriptionCreateScope(EVENT_TYPES.sessionStatus)];
    await expectError(
      h.gw.subscriptions.create(auth(ALICE, { scopes }), request()),
      403,
      'PERMISSION_DENIED',
    );
    await h.gw.subscriptions.create(auth(ALICE, { scopes }), request({ types: [EVENT_TYPES.sessionStatus] }));
  });

  it('422 identifier errors: UNNECESSARY_IDENTIFIER, UNSUPPORTED_IDENTIFIER, MISSING_IDENTIFIER', async () => {
    await expectError(
      h.gw.subscriptions.create(
        auth(ALICE),
        request({}, { subscriptionDetail: { deviceId: DEVICE, phoneNumber: ALICE } }),
      ),
      422,
      'UNNECESSARY_IDENTIFIER',
    );
    await expectError(
      h.gw.subscriptions.create(
        auth(ALICE),
        request({}, { subscriptionDetail: { deviceId: DEVICE, ipv4Address: { publicAddress: '1.2.3.4' } } }),
      ),
      422,
      'UNSUPPORTED_IDENTIFIER',
    );
    await expectError(
      h.gw.subscriptions.create(auth(ALICE), request({}, { subscriptionDetail: {} })),
      422,
      'MISSING_IDENTIFIER',
    );
    await expectError(
      h.gw.subscriptions.create(auth(ALICE), request({}, { subscriptionDetail: undefined })),
      422,
      'MISSING_IDENTIFIER',
    );
  });

  it('422 SERVICE_NOT_APPLICABLE for session events of a device without an active registration; registration-ends alone is fine', async () => {
    const body = request({}, { subscriptionDetail: { deviceId: OTHER_DEVICE } });
    await expectError(h.gw.subscriptions.create(auth(ALICE), body), 422, 'SERVICE_NOT_APPLICABLE');
    await h.gw.subscriptions.create(auth(ALICE), { ...body, types: [EVENT_TYPES.registrationEnds] });
  });

  it("403 SUBSCRIPTION_MISMATCH for a device registered only by another number, or another device than the token's", async () => {
    await h.gw.registrations.create(auth(BOB), { deviceId: OTHER_DEVICE });
    const body = request({}, { subscriptionDetail: { deviceId: OTHER_DEVICE } });
    await expectError(h.gw.subscriptions.create(auth(ALICE), body), 403, 'SUBSCRIPTION_MISMATCH');
    await expectError(
      h.gw.subscriptions.create(auth(ALICE, { deviceId: OTHER_DEVICE }), request()),
      403,
      'SUBSCRIPTION_MISMATCH',
    );
  });

  it('422 MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED / MULTIEVENT_COMBINATION_TEMPORARILY_NOT_SUPPORTED as configured', async () => {
    await h.gw.close();
    h = harness({ subscriptions: { multiEvent: false } });
    await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await expectError(
      h.gw.subscriptions.create(auth(ALICE), request()),
      422,
      'MULTIEVENT_SUBSCRIPTION_NOT_SUPPORTED',
    );
    await h.gw.subscriptions.create(auth(ALICE), request({ types: [EVENT_TYPES.sessionStatus] }));
    await h.gw.close();

    h = harness({
      subscriptions: { unavailableCombinations: [[EVENT_TYPES.registrationEnds, EVENT_TYPES.sessionStatus]] },
    });
    await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await expectError(
      h.gw.subscriptions.create(
        auth(ALICE),
        request({ types: [EVENT_TYPES.sessionStatus, EVENT_TYPES.registrationEnds] }),
      ),
      422,
      'MULTIEVENT_COMBINATION_TEMPORARILY_NOT_SUPPORTED',
    );
    await h.gw.subscriptions.create(auth(ALICE), request());
  });

  it('409 ALREADY_EXISTS for the same device, sink and types; 429 QUOTA_EXCEEDED over the per-owner maximum', async () => {
    await h.gw.close();
    h = harness({ subscriptions: { maxPerOwner: 2 } });
    await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await h.gw.subscriptions.create(auth(ALICE), request());
    await expectError(
      h.gw.subscriptions.create(auth(ALICE), request({ types: [...ALL_TYPES].reverse() })),
      409,
      'ALREADY_EXISTS',
    );
    await h.gw.subscriptions.create(auth(ALICE), request({ sink: 'https://asp.example.com/other' }));
    await expectError(
      h.gw.subscriptions.create(auth(ALICE), request({ sink: 'https://asp.example.com/third' })),
      429,
      'QUOTA_EXCEEDED',
    );
  });
});

describe('read, update, delete', () => {
  it("another owner (number or client) gets 404; list shows only the caller's", async () => {
    const mine = await h.gw.subscriptions.create(auth(ALICE), request());
    await expectError(h.gw.subscriptions.get(auth(BOB), mine.id), 404, 'NOT_FOUND');
    await expectError(
      h.gw.subscriptions.get(auth(ALICE, { clientId: 'other-app' }), mine.id),
      404,
      'NOT_FOUND',
    );
    await expectError(
      h.gw.subscriptions.update(auth(BOB), mine.id, { config: { subscriptionExpireTime: at(DAY) } }),
      404,
      'NOT_FOUND',
    );
    await expectError(h.gw.subscriptions.delete(auth(BOB), mine.id), 404, 'NOT_FOUND');
    await expectError(h.gw.subscriptions.get(auth(ALICE), ''), 400, 'INVALID_ARGUMENT');
    expect(await h.gw.subscriptions.list(auth(BOB))).toEqual([]);
    expect(await h.gw.subscriptions.list(auth(ALICE))).toEqual([mine]);
  });

  it('[18]/[21] PUT replaces the credential and the expiry only; idempotent; other fields are 400', async () => {
    const created = await h.gw.subscriptions.create(auth(ALICE), request());
    const update = {
      sinkCredential: credential('2026-01-20T23:59:59.999Z'),
      config: { subscriptionExpireTime: '2026-01-31T23:59:59.999Z' },
    };
    const first = await h.gw.subscriptions.update(auth(ALICE), created.id, update);
    const second = await h.gw.subscriptions.update(auth(ALICE), created.id, update);
    expect(first).toEqual(second);
    expect(first).toMatchObject({
      id: created.id,
      sink: SINK,
      types: ALL_TYPES,
      expiresAt: '2026-01-31T23:59:59.999Z',
    });
    expect(first.config.subscriptionExpireTime).toBe('2026-01-31T23:59:59.999Z');
    expect((await h.store.getSubscription(created.id))?.sinkCredential?.accessTokenExpiresUtc).toBe(
      '2026-01-20T23:59:59.999Z',
    );
    await expectError(
      h.gw.subscriptions.update(auth(ALICE), created.id, { sink: 'https://evil.example.com' }),
      400,
      'INVALID_ARGUMENT',
    );
    await expectError(
      h.gw.subscriptions.update(auth(ALICE), created.id, { config: { subscriptionMaxEvents: 3 } }),
      400,
      'INVALID_ARGUMENT',
    );
    await expectError(h.gw.subscriptions.update(auth(ALICE), created.id, {}), 400, 'INVALID_ARGUMENT');
    await expectError(
      h.gw.subscriptions.update(auth(ALICE), created.id, {
        sinkCredential: { ...credential(), accessTokenType: 'mac' },
      }),
      400,
      'INVALID_TOKEN',
    );
    await expectError(
      h.gw.subscriptions.update(auth(ALICE), created.id, {
        config: { subscriptionExpireTime: '2020-01-01T00:00:00Z' },
      }),
      400,
      'OUT_OF_RANGE',
    );
  });

  it('[29]-[33] DELETE answers with the id, then subscription-ended (SUBSCRIPTION_DELETED) goes to the sink with its token', async () => {
    const created = await h.gw.subscriptions.create(auth(ALICE), request());
    expect(await h.gw.subscriptions.delete(auth(ALICE), created.id)).toEqual({ id: created.id });
    await settle(h.gw);
    const [delivery] = h.sink.deliveries;
    expect(delivery?.target).toEqual({
      subscriptionId: created.id,
      sink: SINK,
      sinkCredential: credential(),
    });
    expect(delivery?.event).toMatchObject({
      type: 'org.camaraproject.webrtc-events.v0.subscription-ended',
      specversion: '1.0',
      datacontenttype: 'application/json',
      data: {
        subscriptionId: created.id,
        terminationReason: 'SUBSCRIPTION_DELETED',
        terminationDescription: 'Subscription deleted by client request',
      },
    });
    await expectError(h.gw.subscriptions.get(auth(ALICE), created.id), 404, 'NOT_FOUND');
  });
});

describe('how subscriptions end', () => {
  it('SUBSCRIPTION_EXPIRED at subscriptionExpireTime; a PUT before that extends it', async () => {
    const a = await h.gw.subscriptions.create(auth(ALICE), request({}, { subscriptionExpireTime: at(DAY) }));
    const b = await h.gw.subscriptions.create(
      auth(ALICE),
      request({ sink: 'https://asp.example.com/b' }, { subscriptionExpireTime: at(DAY) }),
    );
    await h.gw.subscriptions.update(auth(ALICE), b.id, { config: { subscriptionExpireTime: at(2 * DAY) } });
    // (The registration expiring after an hour sends registration-ends first; only the ends matter here.)
    const ended = (id: string) => summary(h.sink, id).filter((e) => e.type === 'subscription-ended');
    await settle(h.gw, DAY);
    expect(ended(a.id)).toEqual([{ type: 'subscription-ended', terminationReason: 'SUBSCRIPTION_EXPIRED' }]);
    expect(ended(b.id)).toEqual([]);
    await settle(h.gw, DAY);
    expect(ended(b.id)).toEqual([{ type: 'subscription-ended', terminationReason: 'SUBSCRIPTION_EXPIRED' }]);
  });

  it('ACCESS_TOKEN_EXPIRED when the sink credential expires first', async () => {
    const created = await h.gw.subscriptions.create(
      auth(ALICE),
      request({ sinkCredential: credential(at(1_800_000)) }),
    );
    await settle(h.gw, 1_800_000);
    expect(summary(h.sink, created.id)).toEqual([
      { type: 'subscription-ended', terminationReason: 'ACCESS_TOKEN_EXPIRED' },
    ]);
  });

  it('caps the lifetime at the operator maximum, also when none is requested', async () => {
    await h.gw.close();
    h = harness({ subscriptions: { maxLifetimeMs: DAY } });
    await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    const created = await h.gw.subscriptions.create(
      auth(ALICE),
      request({}, { subscriptionExpireTime: undefined }),
    );
    expect(created.expiresAt).toBe(at(DAY));
  });

  it('MAX_EVENTS_REACHED after subscriptionMaxEvents events; nothing after the subscription-ended', async () => {
    const { registrationId } = {
      registrationId: (await h.gw.registrations.list(auth(ALICE), DEVICE))[0]!.registrationId,
    };
    const created = await h.gw.subscriptions.create(auth(ALICE), request({}, { subscriptionMaxEvents: 2 }));
    await h.gw.calls.create(auth(ALICE), registrationId, createBody());
    await settle(h.gw, 1000);
    expect(summary(h.sink, created.id)).toEqual([
      expect.objectContaining({ status: 'InProgress', seq: 1 }),
      expect.objectContaining({ status: 'Ringing', seq: 2 }),
      { type: 'subscription-ended', terminationReason: 'MAX_EVENTS_REACHED' },
    ]);
  });

  it('a sink answering 410 ends the subscription; nothing more is sent to it', async () => {
    const registrationId = (await h.gw.registrations.list(auth(ALICE), DEVICE))[0]!.registrationId;
    const created = await h.gw.subscriptions.create(auth(ALICE), request());
    h.sink.respond(created.id, { ok: false, reason: 'gone' });
    await h.gw.calls.create(auth(ALICE), registrationId, createBody());
    await settle(h.gw, 1000);
    expect(summary(h.sink, created.id)).toEqual([expect.objectContaining({ status: 'InProgress' })]);
    expect(await h.gw.subscriptions.list(auth(ALICE))).toEqual([]);
  });
});

describe('routing and sequence numbers', () => {
  it("routes a device's events only to subscriptions of that device and number, each in its own order", async () => {
    await h.gw.close();
    h = harness();
    const alice = await onboard(h.gw, ALICE);
    const statusOnly = await h.gw.subscriptions.create(
      auth(ALICE),
      request({ sink: 'https://asp.example.com/s', types: [EVENT_TYPES.sessionStatus] }),
    );
    const bob = await onboard(h.gw, BOB);
    await h.gw.calls.create(auth(ALICE), alice.registrationId, createBody());
    await settle(h.gw, 1000);
    await h.gw.calls.create(auth(ALICE), alice.registrationId, createBody());
    await settle(h.gw, 1000);
    // Per subscription (webrtc-events): 1..6 over both calls.
    expect(summary(h.sink, alice.subscriptionId).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(summary(h.sink, statusOnly.id).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(summary(h.sink, bob.subscriptionId)).toEqual([]);
  });

  it('sequenceScope "session" numbers per media session, as the call-flow examples do', async () => {
    await h.gw.close();
    h = harness({ events: { sequenceScope: 'session' } });
    const alice = await onboard(h.gw, ALICE);
    await h.gw.calls.create(auth(ALICE), alice.registrationId, createBody());
    await settle(h.gw, 1000);
    await h.gw.calls.create(auth(ALICE), alice.registrationId, createBody());
    await settle(h.gw, 1000);
    expect(summary(h.sink, alice.subscriptionId).map((e) => e.seq)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('a session-invitation subscription only gets invitations; registration-ends subscribers get registration-ends', async () => {
    await h.gw.close();
    h = harness();
    const { registrationId } = await onboard(h.gw, ALICE, [EVENT_TYPES.sessionInvitation]);
    const ends = await h.gw.subscriptions.create(
      auth(ALICE),
      request({ sink: 'https://asp.example.com/e', types: [EVENT_TYPES.registrationEnds] }),
    );
    h.net.callIn({ from: BOB, to: ALICE });
    await settle(h.gw);
    const invitationSub = (await h.gw.subscriptions.list(auth(ALICE))).find(
      (s) => s.types.length === 1 && s.types[0] === EVENT_TYPES.sessionInvitation,
    )!;
    expect(summary(h.sink, invitationSub.id).map((e) => e.type)).toEqual(['session-invitation']);
    await h.gw.registrations.terminate(registrationId);
    await settle(h.gw);
    expect(summary(h.sink, invitationSub.id).map((e) => e.type)).toEqual(['session-invitation']);
    expect(summary(h.sink, ends.id)).toEqual([
      { type: 'registration-ends', terminationReason: 'NETWORK_TERMINATED' },
    ]);
  });
});
