/** The generated API types the gateway speaks, in one place. */
import type { CallHandling, Events, Registration } from '@telegate/webrtc-api';

export type RegSessionResponse = Registration.RegSessionResponse;
export type RegSessionRequest = Registration.RegSessionRequest;
export type RegSessionUpdate = Registration.RegSessionUpdate;

export type SessionStatus = CallHandling.SessionStatus;
export type MediaSessionInformation = CallHandling.MediaSessionInformation;
export type MediaSessionResponse = CallHandling.MediaSessionResponse;
export type MediaSessionStatusChange = CallHandling.MediaSessionStatusChange;
export type LocationDetails = CallHandling.LocationDetails;

export type SubscriptionRequest = Events.SubscriptionRequest;
export type SubscriptionUpdateRequest = Events.SubscriptionUpdateRequest;
export type Subscription = Events.Subscription;
export type SubscriptionAsync = Events.SubscriptionAsync;
export type SubscriptionEventType = Events.SubscriptionEventType;
export type TerminationReason = Events.TerminationReason;
export type RegistrationTerminationReason = Events.RegistrationTerminationReason;
/**
 * `data` of session-invitation / session-status. Built on `Events.MediaSession`:
 * the generated `MediaSessionInvite` / `MediaSessionStatusUpdate` come out as
 * `MediaSession & Record<string, never>` (an `allOf` branch with only
 * `required`), which no value can satisfy.
 */
export type MediaSessionEventData = Events.MediaSession &
  Required<
    Pick<
      Events.MediaSession,
      'mediaSessionId' | 'originatorAddress' | 'receiverAddress' | 'status' | 'sequenceNumber'
    >
  >;
export type RegistrationEnds = Events.RegistrationEnds;
export type SubscriptionEnded = Events.SubscriptionEnded;

export const EVENT_TYPES = {
  sessionInvitation: 'org.camaraproject.webrtc-events.v0.session-invitation',
  sessionStatus: 'org.camaraproject.webrtc-events.v0.session-status',
  registrationEnds: 'org.camaraproject.webrtc-events.v0.registration-ends',
  subscriptionEnded: 'org.camaraproject.webrtc-events.v0.subscription-ended',
} as const;

export const SUBSCRIBABLE_EVENT_TYPES: readonly SubscriptionEventType[] = [
  EVENT_TYPES.sessionStatus,
  EVENT_TYPES.sessionInvitation,
  EVENT_TYPES.registrationEnds,
];
