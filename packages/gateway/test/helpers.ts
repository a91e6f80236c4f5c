import { expect, vi } from 'vitest';
import {
  ALL_SCOPES,
  type AuthContext,
  EVENT_TYPES,
  Gateway,
  type GatewayOptions,
  type LoopbackNetwork,
  MemoryStore,
  type SubscriptionEventType,
} from '../src/index.js';
import {
  createRecordingSink,
  FLOW_WEBRTC_ANSWER,
  FLOW_WEBRTC_OFFER,
  type RecordingSink,
} from '../src/testing/index.js';

export { FLOW_WEBRTC_ANSWER, FLOW_WEBRTC_OFFER };

export const ALICE = '+818000000001';
export const BOB = '+818000000002';
export const CAROL = '+818000000003';
export const DEVICE = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
export const OTHER_DEVICE = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
export const SINK = 'https://asp.example.com/webhooks/webrtc';
export const ALL_TYPES: SubscriptionEventType[] = [
  EVENT_TYPES.sessionInvitation,
  EVENT_TYPES.sessionStatus,
  EVENT_TYPES.registrationEnds,
];

export const auth = (phoneNumber: string, extra: Partial<AuthContext> = {}): AuthContext => ({
  phoneNumber,
  scopes: ALL_SCOPES,
  ...extra,
});

export interface Harness {
  gw: Gateway;
  net: LoopbackNetwork;
  store: MemoryStore;
  sink: RecordingSink;
}

/** A gateway on the loopback network, a memory store and a recording sink. Use with fake timers. */
export function harness(options: GatewayOptions = {}): Harness {
  const store = new MemoryStore();
  const sink = createRecordingSink();
  const gw = new Gateway({ store, deliver: sink.deliver, ...options });
  if (gw.network === undefined) throw new Error('harness needs the loopback network');
  return { gw, net: gw.network, store, sink };
}

/** Lets timers due now and all resulting work run, and delivers the events. */
export async function settle(gw: Gateway, ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await gw.idle();
  await vi.advanceTimersByTimeAsync(0);
  await gw.idle();
}

/** Registers `DEVICE` for `phoneNumber` and subscribes it to `types`; returns the ids. */
export async function onboard(
  gw: Gateway,
  phoneNumber = ALICE,
  types: SubscriptionEventType[] = ALL_TYPES,
  deviceId = DEVICE,
): Promise<{ registrationId: string; subscriptionId: string }> {
  const registration = await gw.registrations.create(auth(phoneNumber), { deviceId });
  const subscription = await gw.subscriptions.create(auth(phoneNumber), {
    protocol: 'HTTP',
    sink: SINK,
    sinkCredential: {
      credentialType: 'ACCESSTOKEN',
      accessToken: 'eyJ2ZXIiOiIxLjAiLCJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc123',
      accessTokenExpiresUtc: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      accessTokenType: 'bearer',
    },
    types,
    config: { subscriptionDetail: { deviceId } },
  });
  return { registrationId: registration.registrationId, subscriptionId: subscription.id };
}

/** The data of the CloudEvents a subscription received, reduced to what flows assert. */
export function summary(sink: RecordingSink, subscriptionId: string) {
  return sink.eventsFor(subscriptionId).map((event) => {
    const data = event.data as Record<string, unknown>;
    return {
      type: event.type.replace('org.camaraproject.webrtc-events.v0.', ''),
      ...(data.status === undefined ? {} : { status: data.status }),
      ...(data.sequenceNumber === undefined ? {} : { seq: data.sequenceNumber }),
      ...(data.offer === undefined ? {} : { offer: true }),
      ...(data.answer === undefined ? {} : { answer: true }),
      ...(data.reason === undefined ? {} : { reason: data.reason }),
      ...(data.terminationReason === undefined ? {} : { terminationReason: data.terminationReason }),
    };
  });
}

/** Expects `promise` to reject with a CAMARA error of this status and code. */
export async function expectError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ status, code });
}

export function createBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    originatorAddress: `tel:${ALICE}`,
    originatorName: 'Alice',
    receiverAddress: `tel:${BOB}`,
    receiverName: 'Bob',
    offer: { sdp: FLOW_WEBRTC_OFFER },
    ...overrides,
  };
}
