import { PermissionDeniedError, UnauthenticatedError } from '../errors.js';
import { PHONE_NUMBER_PATTERN } from '../sip/address.js';

/** Who is calling, as established from the access token. */
export interface AuthContext {
  /** The subscriber's E.164 number: every resource belongs to one. Never taken from a request body. */
  phoneNumber: string;
  /** Granted scopes. */
  scopes: readonly string[];
  /** OAuth client (the API consumer's application). Subscriptions are scoped to it when present. */
  clientId?: string;
  /** Token subject (the user); limits "per user" count by it, else by phone number. */
  subject?: string;
  /** The device the token is bound to, when the authorization server binds tokens to one. */
  deviceId?: string;
}

/** Turns a bearer token into an `AuthContext`; throws `401` / `403` `ApiError`s. */
export interface Auth {
  authenticate(bearerToken: string): Promise<AuthContext>;
  close?(): Promise<void>;
}

/** The one scope each operation of the three specs names (`createNotificationChannelSubscription` needs one per event type). */
export const OPERATION_SCOPES = {
  getRegistrationsByDeviceId: 'webrtc-registration:sessions:read',
  createRegistration: 'webrtc-registration:sessions:create',
  getRegistrationById: 'webrtc-registration:sessions:read',
  updateRegistrationById: 'webrtc-registration:sessions:write',
  deleteRegistrationById: 'webrtc-registration:sessions:delete',
  createSession: 'webrtc-call-handling:sessions:create',
  getSessionDetailsById: 'webrtc-call-handling:sessions:read',
  deleteSessionById: 'webrtc-call-handling:sessions:delete',
  updateSessionStatus: 'webrtc-call-handling:sessions:write',
  retrieveNotificationChannelSubscriptionList: 'webrtc-events:read',
  retrieveNotificationChannelSubscription: 'webrtc-events:read',
  updateNotificationChannelSubscription: 'webrtc-events:update',
  deleteNotificationChannelSubscription: 'webrtc-events:delete',
} as const;

/** `webrtc-events:<event type>:create`, needed per requested type when subscribing. */
export const subscriptionCreateScope = (eventType: string): string => `webrtc-events:${eventType}:create`;

/** The token of an `Authorization: Bearer <token>` header; `401` when there is none. */
export function bearerToken(authorization: string | undefined): string {
  const match =
    authorization === undefined ? null : /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
  if (match === null) throw new UnauthenticatedError();
  return match[1]!;
}

/** `403 PERMISSION_DENIED` unless every scope in `required` was granted. */
export function requireScopes(context: AuthContext, required: readonly string[]): void {
  const missing = required.filter((scope) => !context.scopes.includes(scope));
  if (missing.length > 0) {
    throw new PermissionDeniedError(
      `Client does not have sufficient permissions to perform this action (missing scope ${missing.join(', ')}).`,
    );
  }
}

/**
 * Whether the token is bound to a device (`device_id`) other than any of `deviceIds`:
 * such a token may act only on its own device's registrations, sessions and subscriptions.
 */
export function boundToOtherDevice(context: AuthContext, ...deviceIds: readonly string[]): boolean {
  return context.deviceId !== undefined && !deviceIds.includes(context.deviceId.toLowerCase());
}

/**
 * Services call this first: the context must name a valid subscriber number.
 * `code` is the 403 code the API documents for it.
 */
export function assertSubscriber(
  context: AuthContext,
  code: 'INVALID_TOKEN_CONTEXT' | 'PERMISSION_DENIED' = 'INVALID_TOKEN_CONTEXT',
): void {
  if (!PHONE_NUMBER_PATTERN.test(context.phoneNumber)) {
    throw new PermissionDeniedError(
      'The access token identifies no subscriber phone number (a three-legged token is required).',
      { code },
    );
  }
}
