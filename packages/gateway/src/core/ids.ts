import { randomUUID } from 'node:crypto';
import { customAlphabet } from 'nanoid';

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

// nanoid draws from a pool of CSPRNG bytes refilled in large blocks: a `crypto.randomBytes` call per
// identifier costs about ten times more, and one call takes a dozen identifiers (ids, tags, branches).
const hex = customAlphabet('0123456789abcdef', 32);
const upperHex = customAlphabet('0123456789ABCDEF', 48);

/** `length` random lower-case hex digits (4 random bits each). */
export const randomHex = (length: number): string => hex(length);

/** `length` random upper-case hex digits (4 random bits each). */
export const randomUpperHex = (length: number): string => upperHex(length);

export const randomIds: IdGenerator = {
  registrationId: () => randomUUID(),
  mediaSessionId: () => randomUpperHex(48),
  subscriptionId: () => randomUUID(),
  eventId: () => randomUUID(),
  callId: () => randomHex(24),
};
