import {
  EVENT_TYPES,
  type MediaSessionEventData,
  type RegistrationEnds,
  type SubscriptionEnded,
} from '../api-types.js';
import { toDateTime } from '../core/time.js';
import type { MediaSessionRecord } from '../store/records.js';

/** A CloudEvent (1.0, structured mode) as sent to a subscriber's sink. */
export interface CloudEventOf<Type extends string, Data> {
  id: string;
  source: string;
  type: Type;
  specversion: '1.0';
  datacontenttype: 'application/json';
  time: string;
  data: Data;
}

export type SessionInvitationEvent = CloudEventOf<
  typeof EVENT_TYPES.sessionInvitation,
  MediaSessionEventData
>;
export type SessionStatusEvent = CloudEventOf<typeof EVENT_TYPES.sessionStatus, MediaSessionEventData>;
export type RegistrationEndsEvent = CloudEventOf<
  typeof EVENT_TYPES.registrationEnds,
  RegistrationEnds & { subscriptionId?: string }
>;
export type SubscriptionEndedEvent = CloudEventOf<typeof EVENT_TYPES.subscriptionEnded, SubscriptionEnded>;

/** Every event the gateway delivers (the `postNotification` callback payload of webrtc-events). */
export type WebRtcCloudEvent =
  | SessionInvitationEvent
  | SessionStatusEvent
  | RegistrationEndsEvent
  | SubscriptionEndedEvent;

export interface EnvelopeFields {
  id: string;
  source: string;
  at: number;
}

const envelope = <T extends string>(type: T, fields: EnvelopeFields) => ({
  id: fields.id,
  source: fields.source,
  type,
  specversion: '1.0' as const,
  datacontenttype: 'application/json' as const,
  time: toDateTime(fields.at),
});

/**
 * The session part of `session-invitation` / `session-status` data, field
 * order as in the call flows. SDP only where the change carried SDP (183,
 * 200, re-INVITE) and for invitations (the offer to answer): ringing and
 * final events have none, as in call flow 3.3 [31] and [61].
 */
function sessionData(session: MediaSessionRecord, withSdp: boolean) {
  return {
    mediaSessionId: session.mediaSessionId,
    originatorAddress: session.originatorAddress,
    ...(session.originatorName === undefined ? {} : { originatorName: session.originatorName }),
    receiverAddress: session.receiverAddress,
    ...(session.receiverName === undefined ? {} : { receiverName: session.receiverName }),
    status: session.status,
    ...(withSdp && session.offer !== undefined ? { offer: { sdp: session.offer } } : {}),
    ...(withSdp && session.answer !== undefined ? { answer: { sdp: session.answer } } : {}),
  };
}

export function sessionInvitationEvent(
  fields: EnvelopeFields & {
    subscriptionId: string;
    session: MediaSessionRecord;
    sequenceNumber: number;
    reason?: string;
  },
): SessionInvitationEvent {
  const { session } = fields;
  return {
    ...envelope(EVENT_TYPES.sessionInvitation, fields),
    data: {
      subscriptionId: fields.subscriptionId,
      ...sessionData(session, true),
      originatorAddress: session.originatorAddress,
      receiverAddress: session.receiverAddress,
      status: session.status,
      ...(fields.reason === undefined ? {} : { reason: fields.reason }),
      sequenceNumber: fields.sequenceNumber,
      ...(session.locationDetails === undefined ? {} : { locationDetails: session.locationDetails }),
    },
  };
}

export function sessionStatusEvent(
  fields: EnvelopeFields & {
    subscriptionId: string;
    session: MediaSessionRecord;
    sequenceNumber: number;
    reason: string;
    includeSdp: boolean;
  },
): SessionStatusEvent {
  return {
    ...envelope(EVENT_TYPES.sessionStatus, fields),
    data: {
      subscriptionId: fields.subscriptionId,
      ...sessionData(fields.session, fields.includeSdp),
      status: fields.session.status,
      reason: fields.reason,
      sequenceNumber: fields.sequenceNumber,
    },
  };
}

export function registrationEndsEvent(
  fields: EnvelopeFields & {
    subscriptionId: string;
    registrationId: string;
    terminationReason: RegistrationEnds['terminationReason'];
    terminationDescription: string;
  },
): RegistrationEndsEvent {
  return {
    ...envelope(EVENT_TYPES.registrationEnds, fields),
    data: {
      subscriptionId: fields.subscriptionId,
      registrationId: fields.registrationId,
      terminationReason: fields.terminationReason,
      terminationDescription: fields.terminationDescription,
    },
  };
}

export function subscriptionEndedEvent(
  fields: EnvelopeFields & {
    subscriptionId: string;
    terminationReason: SubscriptionEnded['terminationReason'];
    terminationDescription: string;
  },
): SubscriptionEndedEvent {
  return {
    ...envelope(EVENT_TYPES.subscriptionEnded, fields),
    data: {
      subscriptionId: fields.subscriptionId,
      terminationReason: fields.terminationReason,
      terminationDescription: fields.terminationDescription,
    },
  };
}
