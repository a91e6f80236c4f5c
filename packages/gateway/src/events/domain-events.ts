import type { RegistrationTerminationReason, TerminationReason } from '../api-types.js';
import type { MediaSessionRecord, RegistrationRecord, SubscriptionRecord } from '../store/records.js';

/**
 * What the domain services report; the `EventBus` turns each into CloudEvents
 * for the matching subscriptions. `at` is when it happened (epoch ms).
 */
export type DomainEvent =
  | {
      type: 'session-invitation';
      at: number;
      session: MediaSessionRecord;
      /** Per media session, from 1 (the invitation is always 1). */
      sequenceNumber: number;
      reason?: string;
    }
  | {
      type: 'session-status';
      at: number;
      session: MediaSessionRecord;
      /** Per media session, increasing by one per notified change. */
      sequenceNumber: number;
      /**
       * The version of the subscriptions of the session's number when the change was stored
       * (`Store.numberSubscriptions`), when known: matching may then use subscriptions read
       * at that version.
       */
      subscriptionsVersion?: string;
      reason: string;
      /** Whether the change came with SDP (183/200/re-INVITE), so the event carries `offer`/`answer`. */
      includeSdp: boolean;
    }
  | {
      type: 'registration-ends';
      at: number;
      registration: RegistrationRecord;
      terminationReason: RegistrationTerminationReason;
      terminationDescription: string;
    }
  | {
      type: 'subscription-ended';
      at: number;
      /** The subscription as it was; it is no longer stored. */
      subscription: SubscriptionRecord;
      terminationReason: TerminationReason;
      terminationDescription: string;
      /** `false` when the sink itself is gone (410): nothing is sent. */
      deliver: boolean;
    };

export type EventPublisher = (event: DomainEvent) => void;
