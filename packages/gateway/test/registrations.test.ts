/** webrtc-registration (call flow 3.2) and what a registration's end does. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ALICE,
  auth,
  BOB,
  createBody,
  DEVICE,
  expectError,
  FLOW_WEBRTC_ANSWER,
  type Harness,
  harness,
  OTHER_DEVICE,
  onboard,
  settle,
  summary,
} from './helpers.js';

const NOW = new Date('2025-12-15T10:30:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const HOUR = 3_600_000;

let h: Harness;

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  h = harness();
});

afterEach(async () => {
  await h.gw.close();
  vi.useRealTimers();
});

describe('createRegistration', () => {
  it("registers the token phone number (never the body's) with the default lifetime", async () => {
    const created = await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE, phoneNumber: BOB });
    expect(created).toEqual({
      registrationId: expect.any(String),
      regInfo: { phoneNumber: ALICE, regStatus: 'Registered' },
      expiresAt: at(HOUR),
    });
  });

  it('grants a requested expiry within range, lowers one beyond the maximum, refuses one below the minimum', async () => {
    expect(
      (
        await h.gw.registrations.create(auth(ALICE), {
          deviceId: DEVICE,
          registrationExpireTime: at(2 * HOUR),
        })
      ).expiresAt,
    ).toBe(at(2 * HOUR));
    expect(
      (
        await h.gw.registrations.create(auth(BOB), {
          deviceId: DEVICE,
          registrationExpireTime: '2099-12-31T23:59:59.999+09:00',
        })
      ).expiresAt,
    ).toBe(at(24 * HOUR));
    await expectError(
      h.gw.registrations.create(auth(ALICE), { deviceId: OTHER_DEVICE, registrationExpireTime: at(30_000) }),
      400,
      'OUT_OF_RANGE',
    );
    await expectError(
      h.gw.registrations.create(auth(ALICE), {
        deviceId: OTHER_DEVICE,
        registrationExpireTime: '2024-01-01T00:00:00Z',
      }),
      400,
      'OUT_OF_RANGE',
    );
    await expectError(
      h.gw.registrations.create(auth(ALICE), {
        deviceId: OTHER_DEVICE,
        registrationExpireTime: '31/12/2026',
      }),
      400,
      'INVALID_ARGUMENT',
    );
  });

  it('409 ALREADY_EXISTS for a second active registration of the same device and number; other numbers may register the device', async () => {
    await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await expectError(
      h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE.toUpperCase() }),
      409,
      'ALREADY_EXISTS',
    );
    await h.gw.registrations.create(auth(BOB), { deviceId: DEVICE });
    expect(h.store.counts().registrations).toBe(2);
  });

  it('403 MAX_REGISTRATION_PER_USER / MAX_REGISTRATION_PER_MSISDN / MAX_DEVICES_PER_USER over the configured limits', async () => {
    await h.gw.close();
    h = harness({ registrations: { maxPerUser: 2 } });
    const user = auth(ALICE, { subject: 'user-1' });
    await h.gw.registrations.create(user, { deviceId: DEVICE });
    await h.gw.registrations.create(user, { deviceId: OTHER_DEVICE });
    await expectError(
      h.gw.registrations.create(user, { deviceId: crypto.randomUUID() }),
      403,
      'MAX_REGISTRATION_PER_USER',
    );
    await h.gw.close();

    h = harness({ registrations: { maxPerMsisdn: 1 } });
    await h.gw.registrations.create(auth(ALICE, { subject: 'a' }), { deviceId: DEVICE });
    await expectError(
      h.gw.registrations.create(auth(ALICE, { subject: 'b' }), { deviceId: OTHER_DEVICE }),
      403,
      'MAX_REGISTRATION_PER_MSISDN',
    );
    await h.gw.close();

    h = harness({ registrations: { maxDevicesPerUser: 1 } });
    await h.gw.registrations.create(auth(ALICE, { subject: 'u' }), { deviceId: DEVICE });
    // The same device for another number of the same user is fine, a second device is not.
    await h.gw.registrations.create(auth(BOB, { subject: 'u' }), { deviceId: DEVICE });
    await expectError(
      h.gw.registrations.create(auth(ALICE, { subject: 'u' }), { deviceId: OTHER_DEVICE }),
      403,
      'MAX_DEVICES_PER_USER',
    );
  });

  it('403 INVALID_TOKEN_CONTEXT when the token is bound to another device or names no valid number', async () => {
    await expectError(
      h.gw.registrations.create(auth(ALICE, { deviceId: OTHER_DEVICE }), { deviceId: DEVICE }),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
    await expectError(
      h.gw.registrations.list(auth(ALICE, { deviceId: OTHER_DEVICE }), DEVICE),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
    await expectError(
      h.gw.registrations.create(auth('12345'), { deviceId: DEVICE }),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
  });

  it('400 EMERGENCY_ADDRESS_MISSING when the operator requires a registered emergency address and there is none', async () => {
    await h.gw.close();
    h = harness({
      registrations: { requireEmergencyAddress: true },
      emergency: {
        supported: true,
        lookupAddress: async (phone) =>
          phone === BOB
            ? { shape: 'Circle', coordinates: { latitude: 35.68, longitude: 139.76, radius: 20 } }
            : undefined,
      },
    });
    await expectError(
      h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE }),
      400,
      'EMERGENCY_ADDRESS_MISSING',
    );
    await h.gw.registrations.create(auth(BOB), { deviceId: DEVICE });
  });

  it('400 INVALID_ARGUMENT for a missing or malformed deviceId or body', async () => {
    await expectError(h.gw.registrations.create(auth(ALICE), {}), 400, 'INVALID_ARGUMENT');
    await expectError(
      h.gw.registrations.create(auth(ALICE), { deviceId: 'not-a-uuid' }),
      400,
      'INVALID_ARGUMENT',
    );
    await expectError(h.gw.registrations.create(auth(ALICE), null), 400, 'INVALID_ARGUMENT');
    await expectError(h.gw.registrations.create(auth(ALICE), [DEVICE]), 400, 'INVALID_ARGUMENT');
    expect(h.store.counts().registrations).toBe(0);
  });

  it('sends SIP REGISTER when configured, de-registers when the last registration of the number ends', async () => {
    await h.gw.close();
    h = harness({ registrations: { sipRegister: true } });
    const reg = await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    expect(h.net.sip.bindings.get(`sip:${ALICE}@operator.com;user=phone`)).toBe(NOW.getTime() + HOUR);
    await h.gw.registrations.delete(auth(ALICE), reg.registrationId);
    expect(h.net.sip.bindings.size).toBe(0);
    expect(h.net.flow(`reg:sip:${ALICE}@operator.com;user=phone`)).toEqual([
      '>REGISTER',
      '<200/REGISTER',
      '>REGISTER',
      '<200/REGISTER',
    ]);
  });
});

describe('list, get, refresh, delete', () => {
  it("lists only the caller number's active registrations of the device", async () => {
    const mine = await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await h.gw.registrations.create(auth(BOB), { deviceId: DEVICE });
    await h.gw.registrations.create(auth(ALICE), { deviceId: OTHER_DEVICE });
    expect(await h.gw.registrations.list(auth(ALICE), DEVICE)).toEqual([mine]);
    expect(await h.gw.registrations.list(auth(ALICE), '00000000-0000-4000-8000-000000000000')).toEqual([]);
    await expectError(h.gw.registrations.list(auth(ALICE), 'nope'), 400, 'INVALID_ARGUMENT');
  });

  it("another number's registration is 404 for get, refresh and delete", async () => {
    const bobs = await h.gw.registrations.create(auth(BOB), { deviceId: DEVICE });
    await expectError(h.gw.registrations.get(auth(ALICE), bobs.registrationId), 404, 'NOT_FOUND');
    await expectError(h.gw.registrations.refresh(auth(ALICE), bobs.registrationId, {}), 404, 'NOT_FOUND');
    await expectError(h.gw.registrations.delete(auth(ALICE), bobs.registrationId), 404, 'NOT_FOUND');
    expect(await h.gw.registrations.get(auth(BOB), bobs.registrationId)).toEqual(bobs);
  });

  it('PUT counts the new lifetime from now: default when absent, requested within range, capped, 400 below the minimum', async () => {
    const reg = await h.gw.registrations.create(auth(ALICE), { deviceId: DEVICE });
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect((await h.gw.registrations.refresh(auth(ALICE), reg.registrationId)).expiresAt).toBe(
      at(30 * 60_000 + HOUR),
    );
    expect((await h.gw.registrations.refresh(auth(ALICE), reg.registrationId, {})).expiresAt).toBe(
      at(30 * 60_000 + HOUR),
    );
    expect(
      (
        await h.gw.registrations.refresh(auth(ALICE), reg.registrationId, {
          registrationExpireTime: at(3 * HOUR),
        })
      ).expiresAt,
    ).toBe(at(3 * HOUR));
    expect(
      (
        await h.gw.registrations.refresh(auth(ALICE), reg.registrationId, {
          registrationExpireTime: at(100 * HOUR),
        })
      ).expiresAt,
    ).toBe(at(30 * 60_000 + 24 * HOUR));
    await expectError(
      h.gw.registrations.refresh(auth(ALICE), reg.registrationId, {
        registrationExpireTime: at(30 * 60_000 + 1000),
      }),
      400,
      'OUT_OF_RANGE',
    );
    // The refreshed expiry is the one enforced: still there after the original hour.
    await settle(h.gw, 2 * HOUR);
    expect((await h.gw.registrations.get(auth(ALICE), reg.registrationId)).registrationId).toBe(
      reg.registrationId,
    );
  });

  it("DELETE ends it (204): later requests with the id are 404; no registration-ends for the client's own delete", async () => {
    const { registrationId, subscriptionId } = await onboard(h.gw);
    await h.gw.registrations.delete(auth(ALICE), registrationId);
    await settle(h.gw);
    await expectError(h.gw.registrations.get(auth(ALICE), registrationId), 404, 'NOT_FOUND');
    await expectError(h.gw.registrations.delete(auth(ALICE), registrationId), 404, 'NOT_FOUND');
    await expectError(
      h.gw.calls.create(auth(ALICE), registrationId, createBody()),
      403,
      'INVALID_TOKEN_CONTEXT',
    );
    expect(summary(h.sink, subscriptionId)).toEqual([]);
  });
});

describe('registration expiry (timer)', () => {
  it('ends the calls (BYE), then sends registration-ends; subscriptions stay (webrtc-registration: "stay in place")', async () => {
    const { registrationId, subscriptionId } = await onboard(h.gw);
    await h.gw.calls.create(auth(ALICE), registrationId, createBody());
    const callId = h.net.outgoingCallId(0)!;
    await settle(h.gw, 1000);
    expect(summary(h.sink, subscriptionId).at(-1)?.status).toBe('Connected');

    await settle(h.gw, HOUR - 1000 - 1);
    expect(h.net.flow(callId).at(-1)).toBe('>ACK');
    await settle(h.gw, 1);

    expect(h.net.flow(callId).slice(-2)).toEqual(['>BYE', '<200/BYE']);
    expect(summary(h.sink, subscriptionId).slice(-2)).toEqual([
      { type: 'session-status', status: 'Terminated', seq: 4, reason: 'Registration expired' },
      { type: 'registration-ends', terminationReason: 'REGISTRATION_EXPIRED' },
    ]);
    const ends = h.sink.eventsFor(subscriptionId).at(-1)!;
    expect(ends).toMatchObject({
      type: 'org.camaraproject.webrtc-events.v0.registration-ends',
      time: at(HOUR),
      data: { subscriptionId, registrationId, terminationReason: 'REGISTRATION_EXPIRED' },
    });
    await expectError(h.gw.registrations.get(auth(ALICE), registrationId), 404, 'NOT_FOUND');
    expect(await h.gw.subscriptions.list(auth(ALICE))).toHaveLength(1);
    expect(h.net.media.endpoints.size).toBe(0);
  });

  it('with endWithRegistration: registration-ends, then subscription-ended (NETWORK_TERMINATED) as the last event', async () => {
    await h.gw.close();
    h = harness({
      subscriptions: { endWithRegistration: true },
      calls: { inboundAnswerTimeoutMs: 2 * HOUR },
    });
    const { registrationId, subscriptionId } = await onboard(h.gw);
    // An incoming call ringing at expiry is released with 480 and reported NotReachable.
    const inbound = h.net.callIn({ from: BOB, to: ALICE });
    await settle(h.gw);
    const mediaSessionId = (h.sink.eventsFor(subscriptionId)[0]!.data as { mediaSessionId: string })
      .mediaSessionId;
    await h.gw.calls.updateStatus(auth(ALICE), mediaSessionId, {
      status: 'InProgress',
      answer: { sdp: FLOW_WEBRTC_ANSWER },
    });

    await settle(h.gw, HOUR);
    expect(inbound.flow().slice(-2)).toEqual(['>480', '<ACK']);
    expect(summary(h.sink, subscriptionId)).toEqual([
      { type: 'session-invitation', status: 'Initial', seq: 1, offer: true },
      { type: 'session-status', status: 'NotReachable', seq: 2, reason: 'Registration expired' },
      { type: 'registration-ends', terminationReason: 'REGISTRATION_EXPIRED' },
      { type: 'subscription-ended', terminationReason: 'NETWORK_TERMINATED' },
    ]);
    expect(await h.gw.subscriptions.list(auth(ALICE))).toEqual([]);
    expect(registrationId).toBeTruthy();
  });

  it('a registration lost on the SIP side ends as NETWORK_TERMINATED', async () => {
    await h.gw.close();
    h = harness({ registrations: { sipRegister: true } });
    const { subscriptionId } = await onboard(h.gw);
    h.net.sip.fire('registrationLost', { aor: `sip:${ALICE}@operator.com;user=phone` as never });
    await settle(h.gw);
    expect(summary(h.sink, subscriptionId)).toEqual([
      { type: 'registration-ends', terminationReason: 'NETWORK_TERMINATED' },
    ]);
  });
});
