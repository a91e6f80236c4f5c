import type { TerminationReason } from '../api-types.js';
import { EVENT_TYPES } from '../api-types.js';
import { setNewest } from '../core/bounded-map.js';
import type { Clock } from '../core/clock.js';
import { TypedEmitter } from '../core/emitter.js';
import type { IdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { SerialQueue } from '../core/serial-queue.js';
import { eventQueueFull } from '../errors.js';
import type { StoredSinkCredential, SubscriptionRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import {
  registrationEndsEvent,
  sessionInvitationEvent,
  sessionStatusEvent,
  subscriptionEndedEvent,
  type WebRtcCloudEvent,
} from './cloud-events.js';
import type { DomainEvent } from './domain-events.js';
import type { EventQueue } from './event-queue.js';
import { type QueuedEvent, StreamDelivery, type StreamDeliveryOptions } from './stream-delivery.js';

/** Where and how one event goes: the subscription's sink and credential. */
export interface DeliveryTarget {
  subscriptionId: string;
  sink: string;
  sinkCredential?: StoredSinkCredential;
}

/**
 * The outcome of one delivery (retries included). `reason: 'gone'` (the sink
 * answered 410) ends the subscription; `credential-expired` ends it with
 * `ACCESS_TOKEN_EXPIRED`. The shape matches the runtime callback sender's
 * `DeliveryResult`, so its `postNotification` can be passed as it is.
 */
export type DeliveryOutcome = { ok: true } | { ok: false; reason: string; message?: string };

/** Sends one CloudEvent to a sink (the generated callback sender with its SSRF guard, in production). */
export type DeliverFunction = (target: DeliveryTarget, event: WebRtcCloudEvent) => Promise<DeliveryOutcome>;

export interface EventBusOptions {
  /** CloudEvents `source` of every event (a URI reference), e.g. `https://webrtc-gw.operator.com`. */
  source: string;
  /**
   * What `sequenceNumber` counts. `subscription` (default): the position in
   * the subscription's stream of session events, from 1, as webrtc-events
   * defines it. `session`: the media session's own counter, as the call-flow
   * examples number it (identical for a subscription that sees one call).
   */
  sequenceScope: 'subscription' | 'session';
  /**
   * Events waiting for delivery at most (0, the default: no limit): on this
   * node, or with shared queues in the store, every node together. Work
   * coming through the API is refused (`admit()`) once 90% of it is used; the
   * rest is headroom for what admitted work and the network (SIP, timers) still
   * raise. An event that finds the queue full is dropped (counted, logged), the
   * newest, never one already queued.
   */
  maxQueued?: number;
}

export interface EventBusDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  deliver: DeliverFunction;
  /** Ends a subscription the bus found finished (max events, sink gone, credential expired). */
  endSubscription: (subscriptionId: string, reason: TerminationReason, deliver: boolean) => Promise<void>;
  /**
   * Queues shared by several nodes (Redis streams): events are delivered from
   * there by one node at a time, and survive the node that published them.
   * Without it, each node delivers its own events from memory.
   */
  queue?: { queue: EventQueue; nodeId: string; options?: Partial<StreamDeliveryOptions> };
}

export interface EventBusEvents {
  /** Every domain event, as published. */
  published: DomainEvent;
  /** A CloudEvent queued for a subscription, in per-subscription order. */
  queued: { target: DeliveryTarget; event: WebRtcCloudEvent };
  delivered: { target: DeliveryTarget; event: WebRtcCloudEvent };
  failed: { target: DeliveryTarget; event: WebRtcCloudEvent; reason: string };
  /** An event not queued because the queue was full (CloudEvents `type`). */
  dropped: { type: string; subscriptionId?: string };
  /** API work refused because the queue was full. */
  refused: { operation: string };
}

const SESSION_EVENT_TYPE = {
  'session-invitation': EVENT_TYPES.sessionInvitation,
  'session-status': EVENT_TYPES.sessionStatus,
} as const;

const CLOUD_EVENT_TYPE: Record<DomainEvent['type'], string> = {
  ...SESSION_EVENT_TYPE,
  'registration-ends': EVENT_TYPES.registrationEnds,
  'subscription-ended': EVENT_TYPES.subscriptionEnded,
};

/** How many phone numbers' subscriptions matching keeps as last read (the oldest read dropped first). */
const NUMBERS_KEPT = 10_000;
/**
 * How long a read of a number's subscriptions serves events of its version. The version alone
 * decides; this bounds what a writer that keeps no version (a node of an earlier version
 * sharing the store during an upgrade) can leave unseen.
 */
const NUMBER_READ_MAX_AGE_MS = 10_000;

/** Share of `maxQueued` past which API work is refused; the rest is headroom for work already admitted. */
const ADMIT_SHARE = 0.9;

/**
 * Routes domain events to the subscriptions that asked for them and delivers
 * them as CloudEvents, one subscription at a time in publication order.
 * Matching is serial too (one event after the other), so a subscription that
 * ends is never sent anything after its `subscription-ended`.
 */
export class EventBus extends TypedEmitter<EventBusEvents> {
  readonly #deps: EventBusDeps;
  readonly #options: EventBusOptions;
  readonly #dispatch = new SerialQueue();
  readonly #queues = new Map<string, SerialQueue>();
  /**
   * The subscriptions of phone numbers as last read, with the version read with them: an
   * event stamped with the same version goes to them without reading the store again.
   */
  readonly #byNumber = new Map<
    string,
    { version: string; subscriptions: SubscriptionRecord[]; at: number }
  >();
  /** Subscriptions whose sink answered 410: what is still queued for them is dropped. */
  readonly #gone = new Set<string>();
  readonly #shared: StreamDelivery | undefined;
  readonly #maxQueued: number;
  readonly #admitBelow: number;
  /** CloudEvents queued in memory and not finished (without shared queues). */
  #queued = 0;
  /** Events dropped since the queue last had room (logged once per overflow). */
  #dropped = 0;
  #closed = false;

  constructor(deps: EventBusDeps, options: EventBusOptions) {
    super(deps.logger);
    this.#deps = deps;
    this.#options = options;
    this.#maxQueued = Math.max(0, Math.floor(options.maxQueued ?? 0));
    this.#admitBelow = Math.max(1, Math.floor(this.#maxQueued * ADMIT_SHARE));
    this.#shared =
      deps.queue === undefined
        ? undefined
        : new StreamDelivery(
            { nodeId: deps.queue.nodeId, queue: deps.queue.queue, clock: deps.clock, logger: deps.logger },
            deps.queue.options ?? {},
            (queued) => this.#deliverOne(queued),
          );
  }

  /** With shared queues: starts looking for queued events (a dead node's included). */
  startSharedDelivery(): void {
    this.#shared?.start();
  }

  /**
   * For API work that will raise events: throws `503 UNAVAILABLE` (with
   * `Retry-After`) when the queue is past its admission share, so the work is
   * refused before anything changes. A store that does not answer admits: the
   * work then fails or succeeds on its own.
   */
  async admit(operation: string): Promise<void> {
    if (this.#maxQueued === 0) return;
    let waiting: number;
    try {
      waiting = await this.size();
    } catch {
      return;
    }
    if (waiting < this.#admitBelow) return;
    this.emit('refused', { operation });
    throw eventQueueFull();
  }

  /** Events waiting on this node: to be matched, and (without shared queues) to be delivered. */
  get waiting(): number {
    return this.#dispatch.pending + this.#queued;
  }

  /** Events waiting for delivery: this node's, and with shared queues every node's (rejects when the store fails). */
  async size(): Promise<number> {
    return this.waiting + (this.#shared === undefined ? 0 : await this.#shared.size());
  }

  /** Queues a domain event for matching and delivery; never throws. */
  publish(event: DomainEvent): void {
    if (this.#closed) {
      this.#deps.logger.warn({ type: event.type }, 'event published after the event bus closed; dropped');
      return;
    }
    if (this.#maxQueued > 0 && this.waiting >= this.#maxQueued) {
      // Not matched, so not seen there either: what was read of its number no longer holds.
      if (event.type === 'subscription-ended') this.#byNumber.delete(event.subscription.phoneNumber);
      this.#drop(
        CLOUD_EVENT_TYPE[event.type],
        event.type === 'subscription-ended' ? event.subscription.id : undefined,
      );
      return;
    }
    this.emit('published', event);
    this.#dispatch
      .run(() => this.#route(event))
      .catch((error: unknown) => {
        this.#deps.logger.error({ err: error, type: event.type }, 'routing an event failed');
      });
  }

  /** Resolves once every published event has been delivered (or has failed). */
  async flush(): Promise<void> {
    for (;;) {
      await this.#dispatch.idle();
      await Promise.all([...this.#queues.values()].map((q) => q.idle()));
      await this.#shared?.flush();
      if (this.#dispatch.pending === 0 && [...this.#queues.values()].every((q) => q.pending === 0)) return;
    }
  }

  /** Flushes, then refuses further events. */
  async close(): Promise<void> {
    await this.flush();
    await this.#shared?.close();
    this.#closed = true;
    this.removeAllListeners();
  }

  async #matching(event: DomainEvent): Promise<SubscriptionRecord[]> {
    const now = this.#deps.clock.now();
    const live = (s: SubscriptionRecord) => s.expiresAt === undefined || s.expiresAt > now;
    switch (event.type) {
      case 'session-invitation':
      case 'session-status': {
        const type = SESSION_EVENT_TYPE[event.type];
        const all = await this.#numberSubscriptions(
          event.session.phoneNumber,
          event.type === 'session-status' ? event.subscriptionsVersion : undefined,
        );
        return all.filter(
          (s) => live(s) && s.types.includes(type) && event.session.deviceIds.includes(s.deviceId),
        );
      }
      case 'registration-ends': {
        const { phoneNumber, deviceId } = event.registration;
        const all = await this.#deps.store.findSubscriptions({ phoneNumber, deviceId });
        return all.filter((s) => live(s) && s.types.includes(EVENT_TYPES.registrationEnds));
      }
      case 'subscription-ended':
        // Its number's subscriptions as read before no longer hold: an event stamped with a
        // version from before the end must not reach the subscription after its last event.
        this.#byNumber.delete(event.subscription.phoneNumber);
        return event.deliver ? [event.subscription] : [];
    }
  }

  /**
   * The subscriptions of a number: as last read when `version` (the one the event was stamped
   * with) is the version read with them, else read now (and kept with their version).
   */
  async #numberSubscriptions(
    phoneNumber: string,
    version: string | undefined,
  ): Promise<SubscriptionRecord[]> {
    const known = this.#byNumber.get(phoneNumber);
    const now = this.#deps.clock.now();
    if (version !== undefined && known?.version === version && now - known.at <= NUMBER_READ_MAX_AGE_MS) {
      return known.subscriptions;
    }
    const read = await this.#deps.store.numberSubscriptions(phoneNumber);
    setNewest(this.#byNumber, phoneNumber, { ...read, at: now }, NUMBERS_KEPT);
    return read.subscriptions;
  }

  async #route(event: DomainEvent): Promise<void> {
    for (const subscription of await this.#matching(event)) {
      const cloudEvent = await this.#build(event, subscription);
      const target: DeliveryTarget = {
        subscriptionId: subscription.id,
        sink: subscription.sink,
        ...(subscription.sinkCredential === undefined ? {} : { sinkCredential: subscription.sinkCredential }),
      };
      await this.#enqueue(target, cloudEvent, event.type === 'subscription-ended');
      const max = subscription.config.subscriptionMaxEvents;
      if (max !== undefined && event.type !== 'subscription-ended') {
        const count = await this.#deps.store.nextSequence(`events:${subscription.id}`);
        if (count >= max) await this.#deps.endSubscription(subscription.id, 'MAX_EVENTS_REACHED', true);
      }
    }
  }

  async #build(event: DomainEvent, subscription: SubscriptionRecord): Promise<WebRtcCloudEvent> {
    const fields = {
      id: this.#deps.ids.eventId(),
      source: this.#options.source,
      at: event.at,
      subscriptionId: subscription.id,
    };
    switch (event.type) {
      case 'session-invitation':
      case 'session-status': {
        const sequenceNumber =
          this.#options.sequenceScope === 'session'
            ? event.sequenceNumber
            : await this.#deps.store.nextSequence(`subscription:${subscription.id}`);
        return event.type === 'session-invitation'
          ? sessionInvitationEvent({
              ...fields,
              session: event.session,
              sequenceNumber,
              ...(event.reason === undefined ? {} : { reason: event.reason }),
            })
          : sessionStatusEvent({
              ...fields,
              session: event.session,
              sequenceNumber,
              reason: event.reason,
              includeSdp: event.includeSdp,
            });
      }
      case 'registration-ends':
        return registrationEndsEvent({
          ...fields,
          registrationId: event.registration.registrationId,
          terminationReason: event.terminationReason,
          terminationDescription: event.terminationDescription,
        });
      case 'subscription-ended':
        return subscriptionEndedEvent({
          ...fields,
          terminationReason: event.terminationReason,
          terminationDescription: event.terminationDescription,
        });
    }
  }

  /** The newest event is not queued: counted, and logged once until the queue has room again. */
  #drop(type: string, subscriptionId: string | undefined): void {
    if (this.#dropped++ === 0) {
      this.#deps.logger.warn(
        { maxQueued: this.#maxQueued, type, subscriptionId },
        'event queue full: new events are dropped until deliveries catch up',
      );
    }
    this.emit('dropped', { type, ...(subscriptionId === undefined ? {} : { subscriptionId }) });
  }

  /** After a delivery: once the queue is back under the admission share, says how many events were lost. */
  #roomAgain(): void {
    if (this.#dropped > 0 && this.waiting < this.#admitBelow) {
      this.#deps.logger.warn({ dropped: this.#dropped }, 'event queue has room again');
      this.#dropped = 0;
    }
  }

  async #enqueue(target: DeliveryTarget, event: WebRtcCloudEvent, last: boolean): Promise<void> {
    if (this.#shared !== undefined) {
      if (await this.#shared.enqueue({ target, event, last }, this.#maxQueued)) {
        this.emit('queued', { target, event });
        if (this.#dropped > 0) this.#roomAgain();
      } else {
        this.#drop(event.type, target.subscriptionId);
      }
      return;
    }
    // The routing task of this event is still counted in `waiting`.
    if (this.#maxQueued > 0 && this.#queued >= this.#maxQueued) {
      this.#drop(event.type, target.subscriptionId);
      return;
    }
    this.emit('queued', { target, event });
    this.#queued++;
    let queue = this.#queues.get(target.subscriptionId);
    if (queue === undefined) {
      queue = new SerialQueue();
      this.#queues.set(target.subscriptionId, queue);
    }
    const owned = queue;
    owned
      .run(async () => {
        try {
          await this.#deliverOne({ target, event, last });
        } finally {
          this.#queued--;
          this.#roomAgain();
        }
        // A drained queue goes (a subscription's last event may have been dropped, never queued).
        if (owned.pending <= 1 && this.#queues.get(target.subscriptionId) === owned) {
          this.#queues.delete(target.subscriptionId);
        }
      })
      .catch((error: unknown) => this.#deps.logger.error({ err: error }, 'event delivery task failed'));
  }

  /** Sends one event (its retries included) and acts on the outcome: a sink gone or a token expired ends the subscription. */
  async #deliverOne({ target, event, last }: QueuedEvent): Promise<void> {
    if (this.#gone.has(target.subscriptionId)) {
      this.emit('failed', { target, event, reason: 'gone' });
      return;
    }
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.#deps.deliver(target, event);
    } catch (error) {
      outcome = {
        ok: false,
        reason: 'exception',
        message: error instanceof Error ? error.message : String(error),
      };
    }
    if (outcome.ok) {
      this.emit('delivered', { target, event });
      return;
    }
    this.emit('failed', { target, event, reason: outcome.reason });
    this.#deps.logger.warn(
      { subscriptionId: target.subscriptionId, eventId: event.id, type: event.type, reason: outcome.reason },
      'event delivery failed',
    );
    try {
      if (!last && outcome.reason === 'gone') {
        this.#gone.add(target.subscriptionId);
        await this.#deps.endSubscription(target.subscriptionId, 'NETWORK_TERMINATED', false);
      } else if (!last && outcome.reason === 'credential-expired') {
        await this.#deps.endSubscription(target.subscriptionId, 'ACCESS_TOKEN_EXPIRED', true);
      }
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, subscriptionId: target.subscriptionId },
        'ending a subscription failed',
      );
    }
  }
}
