/**
 * Records of numbered callers for store tests and benchmarks: caller `i` has its own number,
 * device, registration, session and subscription, none shared with another caller.
 */
import {
  EVENT_TYPES,
  type MediaSessionRecord,
  type RegistrationRecord,
  type SubscriptionRecord,
} from '../../packages/gateway/src/index.js';

const HOUR = 3_600_000;

/** Caller records created at `now`, each lasting an hour. */
export function callerRecords(now: number) {
  const phone = (i: number) => `+8190${String(i).padStart(8, '0')}`;
  const device = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const session = (i: number, over: Partial<MediaSessionRecord> = {}): MediaSessionRecord => ({
    mediaSessionId: `session-${i}`,
    direction: 'outbound',
    phoneNumber: phone(i),
    registrationIds: [`reg-${i}`],
    deviceIds: [device(i)],
    originatorAddress: `tel:${phone(i)}`,
    receiverAddress: 'tel:+819099999999',
    status: 'Connected',
    offer: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n',
    callType: 'REGULAR',
    owner: `node-${i}`,
    callId: `call-${i}@gw`,
    createdAt: now,
    updatedAt: now,
    ...over,
  });
  return {
    phone,
    device,
    session,
    registration: (i: number, over: Partial<RegistrationRecord> = {}): RegistrationRecord => ({
      registrationId: `reg-${i}`,
      deviceId: device(i),
      phoneNumber: phone(i),
      userKey: phone(i),
      createdAt: now,
      expiresAt: now + HOUR,
      ...over,
    }),
    /** The session of caller `i`, ended a millisecond after it began. */
    ended: (i: number): MediaSessionRecord =>
      session(i, { status: 'Terminated', endedAt: now + 1, updatedAt: now + 1 }),
    subscription: (i: number, over: Partial<SubscriptionRecord> = {}): SubscriptionRecord => ({
      id: `sub-${i}`,
      ownerKey: `${phone(i)}|client-1`,
      phoneNumber: phone(i),
      clientId: 'client-1',
      protocol: 'HTTP',
      sink: 'https://asp.example.com/webhooks',
      types: [EVENT_TYPES.sessionStatus, EVENT_TYPES.sessionInvitation],
      deviceId: device(i),
      config: {},
      startsAt: now,
      expiresAt: now + HOUR,
      ...over,
    }),
  };
}
