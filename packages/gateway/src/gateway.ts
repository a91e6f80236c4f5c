import { randomUUID } from 'node:crypto';
import { EVENT_TYPES } from './api-types.js';
import { type Auth, type AuthContext, bearerToken, requireScopes } from './auth/auth.js';
import { DevAuth } from './auth/dev-auth.js';
import { CallService, type EmergencyOptions } from './calls/call-service.js';
import { type ClusterMessaging, NodeChannel, type NodeRequest } from './cluster/node-channel.js';
import { NodeLease, type NodeLeaseOptions } from './cluster/node-lease.js';
import { type Clock, systemClock, type TimerHandle } from './core/clock.js';
import { type IdGenerator, randomIds } from './core/ids.js';
import { type Logger, silentLogger } from './core/logger.js';
import { unavailable } from './errors.js';
import type { DomainEvent } from './events/domain-events.js';
import { type DeliverFunction, EventBus, type EventBusOptions } from './events/event-bus.js';
import type { EventQueue } from './events/event-queue.js';
import { type SubscriberEventListener, SubscriberEventTap } from './events/subscriber-events.js';
import { type SubscriptionOptions, SubscriptionService } from './events/subscription-service.js';
import type { Location } from './location/location.js';
import { LoopbackNetwork, type LoopbackNetworkOptions } from './network/loopback/loopback-network.js';
import type { MediaBackend } from './network/media-backend.js';
import type { SipBackend } from './network/sip-backend.js';
import { type RegistrationEndReason, RegistrationService } from './registrations/registration-service.js';
import { DEFAULT_SDP_LIMITS, type SdpLimits } from './sdp/parse.js';
import { sipHost } from './sip/uri.js';
import { DeferredWrites, type DeferredWritesOptions } from './store/deferred-writes.js';
import { MemoryStore } from './store/memory-store.js';
import type { Store } from './store/store.js';

export interface GatewayOptions {
  /** Shared state (default: a `MemoryStore`). */
  store?: Store;
  /** Access-token verification (default: a `DevAuth` issuing local tokens). */
  auth?: Auth;
  /** SIP and media backends; when either is missing, a `LoopbackNetwork` provides both. */
  sip?: SipBackend;
  media?: MediaBackend;
  /** Options of the loopback network created when `sip`/`media` are not given. */
  loopback?: LoopbackNetworkOptions;
  /** Sends a CloudEvent to a subscription's sink (default: drop, logged at debug level). */
  deliver?: DeliverFunction;
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
  /** Host of the gateway's SIP URIs (default `operator.com`). */
  sipDomain?: string;
  /** Host of the network's numbers in Request-URIs (default `tn.operator.com`). */
  networkDomain?: string;
  /** CloudEvents `source` (default `urn:telegate:gateway`). */
  eventSource?: string;
  registrations?: {
    defaultLifetimeMs?: number;
    minLifetimeMs?: number;
    maxLifetimeMs?: number;
    maxPerUser?: number;
    maxPerMsisdn?: number;
    maxDevicesPerUser?: number;
    sipRegister?: boolean;
    /** Registered emergency address of a subscriber; with `requireEmergencyAddress`, registration needs one. */
    requireEmergencyAddress?: boolean;
  };
  calls?: {
    noAnswerTimeoutMs?: number;
    inboundAnswerTimeoutMs?: number;
    cancelTimeoutMs?: number;
    endedSessionRetentionMs?: number;
    maxActiveSessionsPerNumber?: number;
    /** Reject (480) incoming calls nobody subscribed to `session-invitation` for (default true). */
    requireInvitationSubscriber?: boolean;
  };
  emergency?: {
    supported?: boolean;
    /** A subscriber's registered emergency address (dispatchable location). */
    lookupAddress?: (phoneNumber: string) => Promise<Location | undefined>;
  };
  subscriptions?: Partial<SubscriptionOptions>;
  /** `maxQueued`: events waiting for delivery at most (see `EventBusOptions`; default no limit). */
  events?: Partial<Pick<EventBusOptions, 'sequenceScope' | 'maxQueued'>>;
  sdpLimits?: Partial<SdpLimits>;
  /** Retrying the store writes of this node's calls that failed (a store outage). */
  storeWrites?: Partial<DeferredWritesOptions>;
  /** This node's id among the nodes sharing a store (default: a random UUID). */
  nodeId?: string;
  /** The node's lease in a shared store (see `joinCluster()`). */
  lease?: Partial<NodeLeaseOptions>;
  /**
   * Messages between the nodes sharing a store, signed with `secret`: with
   * both, any node acts on any call (the request goes to the node handling it).
   */
  cluster?: { messaging: ClusterMessaging; secret: string; prefix: string; timeoutMs?: number };
  /**
   * Per-subscription event queues shared by the nodes (Redis streams): events
   * outlive the node that published them and go out in order, one node at a time.
   */
  eventQueue?: EventQueue;
}

const REASON_TEXT: Record<RegistrationEndReason, string> = {
  REGISTRATION_EXPIRED: 'Registration expired',
  NETWORK_TERMINATED: 'Registration terminated by the network',
  DELETED: 'Registration deleted',
};

/**
 * The reference gateway's domain core: owns the store, auth, event bus,
 * SIP and media backends and the three services, and closes them in order.
 * The HTTP layer authenticates with `authenticate()` and calls the services.
 */
export class Gateway {
  readonly store: Store;
  readonly auth: Auth;
  readonly sip: SipBackend;
  readonly media: MediaBackend;
  /** The loopback network, when the gateway created one (no `sip`/`media` given). */
  readonly network: LoopbackNetwork | undefined;
  readonly events: EventBus;
  readonly registrations: RegistrationService;
  readonly calls: CallService;
  readonly subscriptions: SubscriptionService;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Store writes of this node's calls waiting for the store. */
  readonly writes: DeferredWrites;
  /** This node's id; the `owner` of the calls it handles. */
  readonly nodeId: string;
  /** The node's lease in a shared store, once `joinCluster()` ran. */
  readonly lease: NodeLease;
  /** The signed channel to the other nodes, when `cluster` was given. */
  readonly channel: NodeChannel | undefined;
  #joined = false;
  readonly #subscriberEvents: SubscriberEventTap;
  #closed: Promise<void> | undefined;
  #sweepTimer: TimerHandle | undefined;

  constructor(options: GatewayOptions = {}) {
    const clock = options.clock ?? systemClock;
    const ids = options.ids ?? randomIds;
    const logger = options.logger ?? silentLogger;
    this.clock = clock;
    this.logger = logger;
    this.store = options.store ?? new MemoryStore();
    this.writes = new DeferredWrites({ clock, logger }, options.storeWrites);
    this.nodeId = options.nodeId ?? randomUUID();
    const leaseMs = options.lease?.leaseMs ?? 15_000;
    this.channel =
      options.cluster === undefined
        ? undefined
        : new NodeChannel(
            { nodeId: this.nodeId, messaging: options.cluster.messaging, clock, logger },
            {
              secret: options.cluster.secret,
              prefix: options.cluster.prefix,
              ...(options.cluster.timeoutMs === undefined ? {} : { timeoutMs: options.cluster.timeoutMs }),
            },
          );
    const channel = this.channel;
    this.auth = options.auth ?? new DevAuth({ now: () => clock.now() });
    if (options.sip !== undefined && options.media !== undefined) {
      this.sip = options.sip;
      this.media = options.media;
      this.network = undefined;
    } else {
      this.network = new LoopbackNetwork({ clock, ...options.loopback });
      this.sip = options.sip ?? this.network.sip;
      this.media = options.media ?? this.network.media;
    }
    const sipDomain = sipHost(options.sipDomain ?? 'operator.com');
    const networkDomain = sipHost(options.networkDomain ?? 'tn.operator.com');
    const sdpLimits: SdpLimits = { ...DEFAULT_SDP_LIMITS, ...options.sdpLimits };
    const store = this.store;
    const deliver: DeliverFunction =
      options.deliver ??
      (async (target, event) => {
        logger.debug(
          { subscriptionId: target.subscriptionId, type: event.type },
          'no deliver function; event dropped',
        );
        return { ok: true };
      });

    // The services reference each other only through these closures.
    let subscriptions: SubscriptionService | undefined;
    let calls: CallService | undefined;
    this.events = new EventBus(
      {
        store,
        clock,
        ids,
        logger,
        deliver,
        endSubscription: async (id, reason, send) => {
          await subscriptions?.end(id, reason, send);
        },
        ...(options.eventQueue === undefined
          ? {}
          : {
              queue: {
                queue: options.eventQueue,
                nodeId: this.nodeId,
                options: { lockMs: leaseMs, pollMs: Math.max(100, Math.floor(leaseMs / 3)) },
              },
            }),
      },
      {
        source: options.eventSource ?? 'urn:telegate:gateway',
        sequenceScope: options.events?.sequenceScope ?? 'subscription',
        ...(options.events?.maxQueued === undefined ? {} : { maxQueued: options.events.maxQueued }),
      },
    );
    this.#subscriberEvents = new SubscriberEventTap((error) =>
      logger.error({ err: error }, 'a subscriber event listener failed'),
    );
    const subscriberEvents = this.#subscriberEvents;
    const publish = (event: DomainEvent) => {
      this.events.publish(event);
      subscriberEvents.dispatch(event);
    };

    const emergencyLookup = options.emergency?.lookupAddress;
    const r = options.registrations ?? {};
    this.registrations = new RegistrationService(
      { store, sip: this.sip, clock, ids, logger, publish },
      {
        defaultLifetimeMs: r.defaultLifetimeMs ?? 3_600_000,
        minLifetimeMs: r.minLifetimeMs ?? 60_000,
        maxLifetimeMs: r.maxLifetimeMs ?? 86_400_000,
        limits: {
          ...(r.maxPerUser === undefined ? {} : { maxPerUser: r.maxPerUser }),
          ...(r.maxPerMsisdn === undefined ? {} : { maxPerMsisdn: r.maxPerMsisdn }),
          ...(r.maxDevicesPerUser === undefined ? {} : { maxDevicesPerUser: r.maxDevicesPerUser }),
        },
        sipRegister: r.sipRegister ?? false,
        sipDomain,
        ...(r.requireEmergencyAddress
          ? { requireEmergencyAddress: async (phone: string) => emergencyLookup?.(phone) }
          : {}),
      },
      {
        onEnding: async (record, reason) => {
          await calls?.registrationEnded(record.registrationId, REASON_TEXT[reason]);
        },
        afterEnded: async (record) => {
          await subscriptions?.registrationEnded(record);
        },
      },
    );

    subscriptions = new SubscriptionService(
      { store, clock, ids, logger, publish },
      {
        allowInsecureSinks: false,
        multiEvent: true,
        checkScopes: true,
        endWithRegistration: false,
        ...options.subscriptions,
      },
    );
    this.subscriptions = subscriptions;

    const c = options.calls ?? {};
    const emergency: EmergencyOptions = {
      supported: options.emergency?.supported ?? false,
      ...(emergencyLookup === undefined ? {} : { lookupAddress: emergencyLookup }),
    };
    const subscriptionService = subscriptions;
    calls = new CallService(
      {
        nodeId: this.nodeId,
        store,
        writes: this.writes,
        sip: this.sip,
        media: this.media,
        clock,
        ids,
        logger,
        publish,
        registrations: this.registrations,
        ...(channel === undefined
          ? {}
          : { forward: (nodeId: string, request: NodeRequest) => channel.request(nodeId, request) }),
      },
      {
        sipDomain,
        networkDomain,
        emergency,
        timings: {
          noAnswerTimeoutMs: c.noAnswerTimeoutMs ?? 120_000,
          inboundAnswerTimeoutMs: c.inboundAnswerTimeoutMs ?? 120_000,
          cancelTimeoutMs: c.cancelTimeoutMs ?? 32_000,
        },
        endedSessionRetentionMs: c.endedSessionRetentionMs ?? 60_000,
        maxActiveSessionsPerNumber: c.maxActiveSessionsPerNumber ?? 10,
        sdpLimits,
        ...((c.requireInvitationSubscriber ?? true)
          ? {
              // A device watching its own events (the browser events bridge) is someone to ring too.
              acceptInbound: async (target: { phoneNumber: string; deviceIds: string[] }) =>
                subscriberEvents.isWatched(target.phoneNumber) ||
                subscriptionService.hasSubscriber(target, EVENT_TYPES.sessionInvitation),
            }
          : {}),
      },
    );
    this.calls = calls;
    const callService = calls;
    this.lease = new NodeLease({ nodeId: this.nodeId, store, clock, logger }, options.lease ?? {}, {
      republish: () => callService.republish(),
      takeOver: (nodeId) => callService.takeOver(nodeId),
    });
  }

  /**
   * With a store shared by several nodes: takes requests of other nodes for
   * this node's calls (with `cluster`), heartbeats this node's lease, ends the
   * calls of nodes whose lease ran out (`Failed`, with an event), and stores
   * this node's calls again when the store lost them. Until `close()`.
   */
  async joinCluster(): Promise<void> {
    if (this.#closed !== undefined || this.#joined) return;
    this.#joined = true;
    await this.channel?.listen((request) => this.calls.handleRequest(request));
    await this.lease.start();
    this.events.startSharedDelivery();
  }

  /**
   * Calls `listener` with the `session-invitation`, `session-status` and
   * `registration-ends` events of `phoneNumber` as they are published, until
   * the returned function is called or the gateway closes. While someone
   * watches a number, incoming calls to it are offered even with no CAMARA
   * `session-invitation` subscription.
   */
  watchSubscriber(phoneNumber: string, listener: SubscriberEventListener): () => void {
    if (this.#closed) throw unavailable('The gateway is shutting down.');
    return this.#subscriberEvents.watch(phoneNumber, listener);
  }

  /** How many listeners watch `phoneNumber` (for a cap on a subscriber's open event streams). */
  subscriberWatchers(phoneNumber: string): number {
    return this.#subscriberEvents.watchers(phoneNumber);
  }

  /**
   * For the HTTP layer's `authenticate` hook: verifies the bearer token of an
   * `Authorization` header and requires `scopes` (pass `[]` for
   * `createNotificationChannelSubscription`, whose per-type scopes the
   * subscription service checks).
   */
  async authenticate(authorization: string | undefined, scopes: readonly string[]): Promise<AuthContext> {
    if (this.#closed) throw unavailable('The gateway is shutting down.');
    const context = await this.auth.authenticate(bearerToken(authorization));
    requireScopes(context, scopes);
    return context;
  }

  /**
   * Arms expiry timers for the stored registrations and subscriptions this
   * node has none for (a node starting on a shared store). With `everyMs`, it
   * then looks for lapsed ones still stored at that interval until `close()`
   * (only the store's expiry index is read), so those of a node that stopped
   * still end, at most one interval late.
   */
  async resume(everyMs?: number): Promise<void> {
    await this.registrations.resume();
    await this.subscriptions.resume();
    if (everyMs !== undefined && this.#sweepTimer === undefined) this.#sweepAfter(everyMs);
  }

  #sweepAfter(everyMs: number): void {
    if (this.#closed !== undefined) return;
    this.#sweepTimer = this.clock.setTimeout(() => {
      void (async () => {
        try {
          await this.registrations.sweep();
          await this.subscriptions.sweep();
        } catch (error) {
          // A store that is briefly unreachable: the next round tries again.
          this.logger.warn({ err: error }, 'looking for lapsed registrations and subscriptions failed');
        }
        this.#sweepAfter(everyMs);
      })();
    }, everyMs);
  }

  /** Resolves once calls, timers' work and event deliveries in progress have settled (tests). */
  async idle(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      await this.calls.idle();
      await this.registrations.idle();
      await this.subscriptions.idle();
      await this.events.flush();
    }
  }

  /**
   * Ends every call (BYE / CANCEL / 480), stops all timers, delivers the
   * events that produced, then closes the backends and the store.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#sweepTimer !== undefined) this.clock.clearTimeout(this.#sweepTimer);
      await this.calls.close();
      if (this.#joined) await this.lease.close();
      await this.channel?.close();
      await this.registrations.close();
      await this.subscriptions.close();
      await this.events.close();
      await this.writes.close();
      this.#subscriberEvents.clear();
      await this.sip.close();
      await this.media.close();
      await this.network?.close();
      await this.auth.close?.();
      await this.store.close();
    })();
    return this.#closed;
  }
}
