/**
 * Expiry over HTTP with a tiny lifetime configuration: a registration that is
 * not refreshed ends with `registration-ends` (REGISTRATION_EXPIRED) and takes
 * its calls down; a subscription ends with `subscription-ended` when its
 * expiry time or its sink token's expiry passes, or when its sink answers 410.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from './support/context.js';
import { call, inSeconds, register, subscribe, TYPES, waitForStatus } from './support/fixtures.js';
import { ANSWERS, expectDocumented, fromClient, type GatewayUnderTest } from './support/gateway.js';
import type { ReceivedEvent } from './support/receiver.js';

let fx: Fixture;
let gw: GatewayUnderTest;
let counter = 0;
const freshNumber = () =>
  `+8194${String(process.pid % 1000).padStart(3, '0')}${String(++counter).padStart(5, '0')}`;

beforeAll(async () => {
  // Registrations live 1 s unless refreshed (the smallest lifetime the config takes).
  fx = await startFixture({
    registrationTtlMinSeconds: 1,
    registrationTtlDefaultSeconds: 1,
    registrationTtlMaxSeconds: 3600,
  });
  gw = fx.gw;
});

afterAll(async () => {
  expect(fx?.receiver.refused.filter((r) => r.status !== 410) ?? []).toEqual([]);
  await fx?.close();
});

const dataOf = (event: ReceivedEvent) => event.data as Record<string, unknown>;

describe('registration-ends', () => {
  it.concurrent('an unrefreshed registration expires: registration-ends (REGISTRATION_EXPIRED), then 404; the subscription stays', async () => {
    const phone = freshNumber();
    const reg = await register(gw, phone);
    expect(Date.parse(reg.expiresAt) - Date.now()).toBeLessThanOrEqual(1_000);
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone, {
      types: [TYPES.registrationEnds],
    });
    const [event] = await fx.receiver.waitFor(subscriptionId, (e) => e.length > 0, 4_000);
    expect(event).toMatchObject({
      type: TYPES.registrationEnds,
      specversion: '1.0',
      data: {
        subscriptionId,
        registrationId: reg.registrationId,
        terminationReason: 'REGISTRATION_EXPIRED',
        terminationDescription: expect.any(String),
      },
    });
    // Not before the expiry it announced.
    expect(Date.parse(event!.time)).toBeGreaterThanOrEqual(Date.parse(reg.expiresAt));
    const token = await gw.token(phone);
    const read = await gw
      .registration({ token })
      .getRegistrationById({ params: { path: { registrationId: reg.registrationId } } });
    expectDocumented('getRegistrationById', fromClient(read), { status: 404, code: 'NOT_FOUND' });
    const list = await gw
      .registration({ token })
      .getRegistrationsByDeviceId({ params: { query: { deviceId: reg.deviceId } } });
    expect(list.data).toEqual([]);
    // webrtc-registration: "event subscriptions made with webrtc-events stay in place".
    const subscription = await gw
      .events({ token })
      .retrieveNotificationChannelSubscription({ params: { path: { subscriptionId } } });
    expectDocumented('retrieveNotificationChannelSubscription', fromClient(subscription), { status: 200 });
    // And a new registration of the same device is possible (no 409 from the expired one).
    await register(gw, phone, { deviceId: reg.deviceId, registrationExpireTime: inSeconds(600) });
  });

  it.concurrent('a refreshed registration does not expire at its first expiry time', async () => {
    const phone = freshNumber();
    const reg = await register(gw, phone);
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone, {
      types: [TYPES.registrationEnds],
    });
    const token = await gw.token(phone);
    const refreshed = await gw.registration({ token }).updateRegistrationById({
      params: { path: { registrationId: reg.registrationId } },
      body: { registrationExpireTime: inSeconds(600) },
    });
    expectDocumented('updateRegistrationById', fromClient(refreshed), { status: 200 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(fx.receiver.eventsFor(subscriptionId)).toEqual([]);
    const read = await gw
      .registration({ token })
      .getRegistrationById({ params: { path: { registrationId: reg.registrationId } } });
    expectDocumented('getRegistrationById', fromClient(read), { status: 200 });
  });

  it.concurrent('the calls of an expiring registration end with it: Terminated, then registration-ends, in order', async () => {
    const phone = freshNumber();
    // Long enough for the call to connect first on a busy machine (the test waits for it).
    const reg = await register(gw, phone, { registrationExpireTime: inSeconds(4) });
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone);
    const mediaSessionId = await call(gw, reg.registrationId, ANSWERS, phone);
    await waitForStatus(gw, mediaSessionId, 'Connected', phone);
    expect(Date.parse(reg.expiresAt)).toBeGreaterThan(Date.now());
    const events = await fx.receiver.waitFor(
      subscriptionId,
      (e) => e.some((x) => x.type === TYPES.registrationEnds),
      10_000,
    );
    const tail = events.slice(-2).map((e) => [e.type, dataOf(e).status ?? dataOf(e).terminationReason]);
    expect(tail).toEqual([
      [TYPES.status, 'Terminated'],
      [TYPES.registrationEnds, 'REGISTRATION_EXPIRED'],
    ]);
    const sequence = events.map((e) => dataOf(e).sequenceNumber).filter((n) => n !== undefined);
    expect(sequence).toEqual(sequence.map((_, i) => i + 1));
    const invite = gw.network
      .messages()
      .find(
        (m) =>
          m.direction === 'out' &&
          m.method === 'INVITE' &&
          m.status === undefined &&
          m.headers.From?.includes(phone),
      );
    expect(gw.network.flow(invite!.callId).slice(-2)).toEqual(['>BYE', '<200/BYE']);
  });
});

describe('subscription-ended', () => {
  it.concurrent('at subscriptionExpireTime: SUBSCRIPTION_EXPIRED, then 404', async () => {
    const phone = freshNumber();
    const reg = await register(gw, phone, { registrationExpireTime: inSeconds(600) });
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone, {
      subscriptionExpireTime: inSeconds(1),
    });
    const events = await fx.receiver.waitFor(subscriptionId, (e) => e.length > 0, 4_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: TYPES.subscriptionEnded,
      data: { subscriptionId, terminationReason: 'SUBSCRIPTION_EXPIRED' },
    });
    const token = await gw.token(phone);
    const read = await gw
      .events({ token })
      .retrieveNotificationChannelSubscription({ params: { path: { subscriptionId } } });
    expectDocumented('retrieveNotificationChannelSubscription', fromClient(read), {
      status: 404,
      code: 'NOT_FOUND',
    });
  });

  it.concurrent('when the sink token expires the subscription ends (404); nothing is delivered after it', async () => {
    const phone = freshNumber();
    const reg = await register(gw, phone, { registrationExpireTime: inSeconds(600) });
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone, {
      accessTokenExpiresUtc: inSeconds(1),
    });
    const token = await gw.token(phone);
    await new Promise((r) => setTimeout(r, 1_300));
    const read = await gw
      .events({ token })
      .retrieveNotificationChannelSubscription({ params: { path: { subscriptionId } } });
    expectDocumented('retrieveNotificationChannelSubscription', fromClient(read), {
      status: 404,
      code: 'NOT_FOUND',
    });
    // An incoming call afterwards is not offered to the ended subscription (480: nobody subscribed).
    const inbound = gw.network.callIn({ from: '+818000000002', to: phone });
    await new Promise((r) => setTimeout(r, 150));
    expect(inbound.flow().slice(-2)).toEqual(['>480', '<ACK']);
    expect(fx.receiver.eventsFor(subscriptionId).filter((e) => e.type !== TYPES.subscriptionEnded)).toEqual(
      [],
    );
  });

  it.concurrent('when the sink token expires: subscription-ended (ACCESS_TOKEN_EXPIRED) is delivered', async () => {
    // webrtc-events: subscription-ended "is sent when the subscription reaches its expiry time, is deleted,
    // its sink token expires, or the server stops it".
    const phone = freshNumber();
    const reg = await register(gw, phone, { registrationExpireTime: inSeconds(600) });
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone, {
      accessTokenExpiresUtc: inSeconds(1),
    });
    const events = await fx.receiver.waitFor(subscriptionId, (e) => e.length > 0, 3_000);
    expect(events[0]).toMatchObject({
      type: TYPES.subscriptionEnded,
      data: { subscriptionId, terminationReason: 'ACCESS_TOKEN_EXPIRED' },
    });
  });

  it.concurrent('a sink answering 410 Gone ends the subscription (404 afterwards)', async () => {
    const phone = freshNumber();
    const reg = await register(gw, phone, { registrationExpireTime: inSeconds(600) });
    const subscriptionId = await subscribe(gw, fx.receiver, reg.deviceId, phone);
    fx.receiver.reject(subscriptionId, 410);
    gw.network.callIn({ from: '+818000000002', to: phone });
    const token = await gw.token(phone);
    const deadline = Date.now() + 3_000;
    let status = 200;
    while (Date.now() < deadline && status === 200) {
      await new Promise((r) => setTimeout(r, 25));
      status = (
        await gw
          .events({ token })
          .retrieveNotificationChannelSubscription({ params: { path: { subscriptionId } } })
      ).response.status;
    }
    expect(status).toBe(404);
  });
});
