export * from './cloud-events.js';
export type { DomainEvent, EventPublisher } from './domain-events.js';
export {
  type DeliverFunction,
  type DeliveryOutcome,
  type DeliveryTarget,
  EventBus,
  type EventBusDeps,
  type EventBusEvents,
  type EventBusOptions,
} from './event-bus.js';
export {
  type SubscriberEvent,
  type SubscriberEventListener,
  SubscriberEventTap,
} from './subscriber-events.js';
export {
  ownerKeyOf,
  type SubscriptionOptions,
  SubscriptionService,
  type SubscriptionServiceDeps,
  type SubscriptionServiceEvents,
  toSubscription,
} from './subscription-service.js';
