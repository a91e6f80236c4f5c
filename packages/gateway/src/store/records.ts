import type { SessionStatus, SubscriptionEventType } from '../api-types.js';
import type { Location } from '../location/location.js';

/** One (deviceId, phoneNumber) registration. Plain JSON: a Redis store keeps it as it is. */
export interface RegistrationRecord {
  registrationId: string;
  deviceId: string;
  phoneNumber: string;
  /** Whom "per user" limits count: the token subject, else the phone number. */
  userKey: string;
  createdAt: number;
  expiresAt: number;
}

export interface RegistrationLimits {
  maxPerUser?: number;
  maxPerMsisdn?: number;
  maxDevicesPerUser?: number;
}

export type CreateRegistrationOutcome =
  | { ok: true }
  | {
      ok: false;
      reason:
        | 'ALREADY_EXISTS'
        | 'MAX_REGISTRATION_PER_USER'
        | 'MAX_REGISTRATION_PER_MSISDN'
        | 'MAX_DEVICES_PER_USER';
      existing?: RegistrationRecord;
    };

export type CallDirection = 'outbound' | 'inbound';

/** A media session (call) as stored; the API view is derived from it. */
export interface MediaSessionRecord {
  mediaSessionId: string;
  /** `outbound`: the WebRTC side called out; `inbound`: the SIP side called the subscriber. */
  direction: CallDirection;
  /** The subscriber who owns the session (caller of outbound, callee of inbound calls). */
  phoneNumber: string;
  /** Registrations the session depends on; it ends when the last of them ends. */
  registrationIds: string[];
  /** Devices whose subscriptions get this session's events. */
  deviceIds: string[];
  originatorAddress: string;
  originatorName?: string;
  receiverAddress: string;
  receiverName?: string;
  status: SessionStatus;
  offer?: string;
  answer?: string;
  callType?: 'REGULAR' | 'EMERGENCY';
  locationDetails?: Location;
  /** SIP Call-ID of the session's dialog (internal). */
  callId: string;
  /** Id of the gateway node that handles the call (its SIP dialog and media endpoint). */
  owner?: string;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
}

export interface StoredSinkCredential {
  credentialType: 'ACCESSTOKEN';
  accessToken: string;
  accessTokenExpiresUtc: string;
  accessTokenType: 'bearer';
}

export interface SubscriptionRecord {
  id: string;
  /** `phoneNumber` plus `clientId` when the token names one: what list/get/update/delete are scoped to. */
  ownerKey: string;
  phoneNumber: string;
  clientId?: string;
  protocol: 'HTTP';
  sink: string;
  /** Kept for delivery only; never returned by the API. */
  sinkCredential?: StoredSinkCredential;
  types: SubscriptionEventType[];
  deviceId: string;
  config: {
    subscriptionExpireTime?: string;
    subscriptionMaxEvents?: number;
    initialEvent?: boolean;
  };
  startsAt: number;
  /** Granted end (requested expiry, capped by the operator's maximum lifetime). */
  expiresAt?: number;
}

/**
 * When a subscription ends by itself, and why: the earlier of its own expiry
 * and its sink token's; `undefined` when it has neither.
 */
export function subscriptionEnd(
  record: SubscriptionRecord,
): { at: number; reason: 'SUBSCRIPTION_EXPIRED' | 'ACCESS_TOKEN_EXPIRED' } | undefined {
  const token = record.sinkCredential ? Date.parse(record.sinkCredential.accessTokenExpiresUtc) : undefined;
  const own = record.expiresAt;
  if (token !== undefined && (own === undefined || token < own))
    return { at: token, reason: 'ACCESS_TOKEN_EXPIRED' };
  return own === undefined ? undefined : { at: own, reason: 'SUBSCRIPTION_EXPIRED' };
}

/** Why `createSession` stored nothing: the number's limit of unfinished calls, or the registration is no longer the one read. */
export type CreateSessionOutcome =
  | { ok: true }
  | { ok: false; reason: 'MAX_ACTIVE_SESSIONS' | 'REGISTRATION_CHANGED' };

export type CreateSubscriptionOutcome =
  | { ok: true }
  | { ok: false; reason: 'ALREADY_EXISTS' | 'QUOTA_EXCEEDED'; existing?: SubscriptionRecord };

/** Final session states: nothing changes them any more. */
export const FINAL_STATUSES: ReadonlySet<SessionStatus> = new Set<SessionStatus>([
  'Terminated',
  'SessionCancelled',
  'Declined',
  'Failed',
  'NoAnswer',
  'NotReachable',
  'Busy',
]);

export const isFinalStatus = (status: SessionStatus): boolean => FINAL_STATUSES.has(status);
