/**
 * Compile-time checks: every `@ts-expect-error` below must be an error, or
 * this file fails to type-check (see types.test.ts). Never executed.
 */
import { createCallHandlingClient, createEventsClient, createRegistrationClient } from '../src/index.js';

const registration = createRegistrationClient({ apiRoot: 'http://127.0.0.1:1' });
const calls = createCallHandlingClient({ apiRoot: 'http://127.0.0.1:1' });
const events = createEventsClient({ apiRoot: 'http://127.0.0.1:1' });

export async function misuse(): Promise<void> {
  // A correct call compiles.
  await registration.createRegistration({ body: { deviceId: '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10' } });

  // @ts-expect-error: wrong body field (`device` is not in RegSessionRequest)
  await registration.createRegistration({ body: { device: 'x' } });

  await registration.createRegistration({
    // @ts-expect-error: an extra, undocumented body field
    body: { deviceId: '4a6f0b0e-8d2c-4f37-9e53-2c1b9a7d5e10', phone: '+1' },
  });

  // @ts-expect-error: the required body is missing
  await registration.createRegistration({});

  // @ts-expect-error: wrong type for a body field
  await registration.createRegistration({ body: { deviceId: 42 } });

  // @ts-expect-error: the required path parameter is missing
  await registration.getRegistrationById({ params: { path: {} } });

  // @ts-expect-error: the required params object is missing
  await calls.getSessionDetailsById();

  // @ts-expect-error: the required query parameter is missing
  await registration.getRegistrationsByDeviceId({ params: { query: {} } });

  await calls.updateSessionStatus({
    params: { path: { mediaSessionId: 'm' } },
    // @ts-expect-error: not a value of the `status` enum
    body: { status: 'Answered' },
  });

  await events.createNotificationChannelSubscription({
    body: {
      // @ts-expect-error: not an event type the events API knows
      types: ['org.example.unknown'],
      protocol: 'HTTP',
      sink: 'https://a.example',
      config: { subscriptionDetail: { deviceId: 'd' } },
    },
  });

  // @ts-expect-error: no such operation
  await registration.createSession();
}

/** Fields every response carries are typed as present: no check for `undefined` needed. */
export async function alwaysReturned(): Promise<string[]> {
  const created = await events.createNotificationChannelSubscription({
    body: {
      types: ['org.camaraproject.webrtc-events.v0.session-invitation'],
      protocol: 'HTTP',
      sink: 'https://a.example',
      config: { subscriptionDetail: { deviceId: 'd' } },
    },
  });
  const registered = await registration.createRegistration({ body: { deviceId: 'd' } });
  const deleted = await events.deleteNotificationChannelSubscription({
    params: { path: { subscriptionId: 's' } },
  });
  if (!created.data || !('startsAt' in created.data) || !registered.data || !deleted.data) return [];
  const subscription = created.data;
  const id: string = subscription.id;
  const startsAt: string = subscription.startsAt;
  const status: string = subscription.status;
  const expiresAt: string = registered.data.expiresAt;
  const phoneNumber: string = registered.data.regInfo.phoneNumber;
  const asyncId: string = deleted.data.id;
  // @ts-expect-error: a subscription may never expire, so `expiresAt` stays optional
  const subscriptionEnd: string = subscription.expiresAt;
  return [id, startsAt, status, expiresAt, phoneNumber, asyncId, subscriptionEnd];
}

/** The error union holds the 5xx answers of every operation: 500 INTERNAL and 503 UNAVAILABLE. */
export async function serverErrors(): Promise<void> {
  const { error } = await calls.createSession({
    params: { header: { registrationId: 'r' } },
    body: {
      originatorAddress: 'tel:+15550100001',
      receiverAddress: 'tel:+15550100002',
      offer: { sdp: 'v=0' },
    },
  });
  if (!error) return;
  const internal: Extract<typeof error, { code: 'INTERNAL' }> = {
    status: 500,
    code: 'INTERNAL',
    message: 'Internal server error.',
  };
  const unavailable: Extract<typeof error, { code: 'UNAVAILABLE' }> = {
    status: 503,
    code: 'UNAVAILABLE',
    message: 'Service Unavailable.',
  };
  // @ts-expect-error: not a status the operation documents for INTERNAL
  const wrong: Extract<typeof error, { code: 'INTERNAL' }> = { status: 502, code: 'INTERNAL', message: 'x' };
  for (const known of [internal, unavailable, wrong]) if (known.code === error.code) return;
}
