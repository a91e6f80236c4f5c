import { randomBytes, randomUUID } from 'node:crypto';

/** Identifier sources, injectable so tests can predict them. */
export interface IdGenerator {
  registrationId(): string;
  /** Opaque, unguessable: it is the only handle on a call. */
  mediaSessionId(): string;
  subscriptionId(): string;
  eventId(): string;
  /** SIP Call-ID (RFC 3261 §8.1.1.4), globally unique. */
  callId(): string;
}

export const randomIds: IdGenerator = {
  registrationId: () => randomUUID(),
  mediaSessionId: () => randomBytes(24).toString('hex').toUpperCase(),
  subscriptionId: () => randomUUID(),
  eventId: () => randomUUID(),
  callId: () => randomBytes(12).toString('hex'),
};
