/**
 * Request bodies and multi-step set-ups shared by the conformance tests, all
 * through HTTP with the typed clients.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { FLOW_WEBRTC_ANSWER, FLOW_WEBRTC_OFFER } from '../../../packages/gateway/src/testing/index.js';
import type { Events } from '../../../packages/webrtc-client/src/index.js';
import { ALICE, type ServedGateway as GatewayUnderTest } from './gateway.js';
import type { WebhookReceiver } from './receiver.js';

export { FLOW_WEBRTC_ANSWER, FLOW_WEBRTC_OFFER };

export const TYPES = {
  invitation: 'org.camaraproject.webrtc-events.v0.session-invitation',
  status: 'org.camaraproject.webrtc-events.v0.session-status',
  registrationEnds: 'org.camaraproject.webrtc-events.v0.registration-ends',
  subscriptionEnded: 'org.camaraproject.webrtc-events.v0.subscription-ended',
} as const;

export const ALL_TYPES: Events.SubscriptionEventType[] = [
  TYPES.invitation,
  TYPES.status,
  TYPES.registrationEnds,
];

export const inSeconds = (seconds: number): string => new Date(Date.now() + seconds * 1000).toISOString();

/** `POST /sessions` of webrtc-registration for a fresh device; returns its ids. */
export async function register(
  gw: GatewayUnderTest,
  phoneNumber = ALICE,
  body: { deviceId?: string; registrationExpireTime?: string } = {},
): Promise<{ registrationId: string; deviceId: string; expiresAt: string }> {
  const deviceId = body.deviceId ?? randomUUID();
  const { data, error, response } = await gw
    .registration({ token: await gw.token(phoneNumber) })
    .createRegistration({ body: { ...body, deviceId } });
  expect(error, `createRegistration ${response.status}`).toBeUndefined();
  expect(response.status).toBe(201);
  return { registrationId: data!.registrationId, deviceId, expiresAt: data!.expiresAt! };
}

export function subscriptionBody(
  sink: string,
  deviceId: string,
  options: {
    types?: Events.SubscriptionEventType[];
    accessToken?: string;
    accessTokenExpiresUtc?: string;
    subscriptionExpireTime?: string;
  } = {},
): Events.SubscriptionRequest {
  return {
    protocol: 'HTTP',
    sink,
    sinkCredential: {
      credentialType: 'ACCESSTOKEN',
      accessToken: options.accessToken ?? 'conformance-sink-token',
      accessTokenExpiresUtc: options.accessTokenExpiresUtc ?? inSeconds(3600),
      accessTokenType: 'bearer',
    } as Events.SinkCredential,
    types: options.types ?? ALL_TYPES,
    config: {
      subscriptionDetail: { deviceId },
      ...(options.subscriptionExpireTime === undefined
        ? {}
        : { subscriptionExpireTime: options.subscriptionExpireTime }),
    },
  };
}

/** `POST /subscriptions` for `deviceId` to the receiver; returns the subscription id. */
export async function subscribe(
  gw: GatewayUnderTest,
  receiver: WebhookReceiver,
  deviceId: string,
  phoneNumber = ALICE,
  options: Parameters<typeof subscriptionBody>[2] = {},
): Promise<string> {
  const { data, error, response } = await gw
    .events({ token: await gw.token(phoneNumber) })
    .createNotificationChannelSubscription({
      body: subscriptionBody(receiver.sink(), deviceId, { accessToken: receiver.token, ...options }),
    });
  expect(
    error,
    `createNotificationChannelSubscription ${response.status} ${JSON.stringify(error)}`,
  ).toBeUndefined();
  expect(response.status).toBe(201);
  return (data as Events.Subscription).id;
}

export function sessionBody(
  receiverNumber: string,
  originator = ALICE,
  overrides: Record<string, unknown> = {},
) {
  return {
    originatorAddress: `tel:${originator}`,
    originatorName: 'Alice',
    receiverAddress: `tel:${receiverNumber}`,
    receiverName: 'Bob',
    offer: { sdp: FLOW_WEBRTC_OFFER },
    ...overrides,
  };
}

/** `POST /sessions` of webrtc-call-handling from `registrationId` to `receiverNumber`. */
export async function call(
  gw: GatewayUnderTest,
  registrationId: string,
  receiverNumber: string,
  originator = ALICE,
): Promise<string> {
  const { data, error, response } = await gw
    .callHandling({ token: await gw.token(originator) })
    .createSession({
      params: { header: { registrationId } },
      body: sessionBody(receiverNumber, originator) as never,
    });
  expect(error, `createSession ${response.status} ${JSON.stringify(error)}`).toBeUndefined();
  expect(response.status).toBe(201);
  return data!.mediaSessionId;
}

/** Polls `GET /sessions/{id}` until the session has `status` (the loopback far end answers within ~100 ms). */
export async function waitForStatus(
  gw: GatewayUnderTest,
  mediaSessionId: string,
  status: string,
  phoneNumber = ALICE,
  timeoutMs = 3_000,
): Promise<void> {
  const client = gw.callHandling({ token: await gw.token(phoneNumber) });
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    const { data } = await client.getSessionDetailsById({ params: { path: { mediaSessionId } } });
    last = data?.status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`session ${mediaSessionId} did not reach ${status} within ${timeoutMs} ms (last: ${last})`);
}

/** An answering, connected outgoing call of a fresh registration. */
export async function connectedCall(
  gw: GatewayUnderTest,
  receiverNumber: string,
  phoneNumber = ALICE,
): Promise<{ registrationId: string; deviceId: string; mediaSessionId: string }> {
  const reg = await register(gw, phoneNumber);
  const mediaSessionId = await call(gw, reg.registrationId, receiverNumber, phoneNumber);
  await waitForStatus(gw, mediaSessionId, 'Connected', phoneNumber);
  return { ...reg, mediaSessionId };
}
